"""Run the program once under the mock runtime and return its recorded graph."""

from __future__ import annotations

import asyncio
import json
import os
import runpy
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi

from tools.mock_graph import sdk
from tools.mock_graph.config import PROGRAM, PROJECT, stack_config
from tools.mock_graph.faithful import FaithfulProviders
from tools.mock_graph.fakes import FakeProviders
from tools.mock_graph.graph import Graph
from tools.mock_graph.recording import RecordingMonitor

PROVIDERS = {"fakes": FakeProviders, "faithful": FaithfulProviders}


@contextmanager
def settled_event_loop():
    """A fresh current event loop; on exit every Output made in it is resolved first,
    so no tracked Output is left behind on a closed loop. Outputs (settings' secrets,
    for one) need a current loop when made; use this outside `run_program`."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        mine = sdk.outputs_of_loop(loop)
        if mine:
            loop.run_until_complete(asyncio.gather(*mine, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


@contextmanager
def _environment(values: Mapping[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def _cwd(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_program(
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    program: Path = PROGRAM,
    root: Path | None = None,
    providers: str = "fakes",
) -> Graph:
    """Run the program once, in a fresh event loop, and return what it registered.
    A bad config raises the program's SettingsError (and nothing is registered).
    `root` (default: the program's directory) holds Pulumi.yaml and the stack files.
    `providers`: "fakes" (deterministic stand-in outputs) or "faithful" (real keys,
    certificates and random values for tls: and random:, see faithful.py)."""
    if providers not in PROVIDERS:
        raise ValueError(f"providers={providers!r}: expected one of {', '.join(PROVIDERS)}")
    root = root or program.parent
    values, secret_keys = stack_config(stack, config, secrets, root=root)
    env = {
        "PULUMI_CONFIG": json.dumps(values),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret_keys)),
    }
    monitor = RecordingMonitor(PROVIDERS[providers]())
    # A caller that closed its loop with Outputs pending: waiting on them would fail.
    sdk.forget_outputs_of_closed_loops()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with _environment(env), _cwd(root):
            sdk.start_mock_run(monitor, PROJECT, stack, values, sorted(secret_keys))
            try:
                sdk.run_program_function(lambda: runpy.run_path(str(program), run_name="__main__"))
            except Exception as exc:
                # What was registered before the failure (for "nothing was touched" tests).
                exc.graph = Graph(stack, monitor.recorded, {}, set(), values)
                raise
            outputs, secret_outputs = _stack_outputs()
    finally:
        sdk.clear_config()
        loop.close()
        asyncio.set_event_loop(None)
    return Graph(stack, monitor.recorded, outputs, secret_outputs, values)


def _stack_outputs() -> tuple[dict[str, Any], set[str]]:
    outputs: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in sdk.root_stack_outputs().items():
        output = pulumi.Output.from_input(value)
        outputs[name] = sdk.sync_await(output.future())
        if sdk.sync_await(output.is_secret()):
            secret.add(name)
    return outputs, secret
