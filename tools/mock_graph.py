"""Run the Pulumi program under Pulumi's mock runtime and record its resource graph.

No Pulumi CLI, no engine, no Docker: the program's `__main__.py` runs exactly as the
CLI would run it (config as the CLI delivers it, cwd at the project root), against a
mock monitor that records every registration: type, name, parent, dependencies,
options, the inputs the provider would get and which of them are secret.

Used by the unit tests, `make policy-check` and the benchmarks:

    graph = run_program(stack="dev", config={"HUB_ALLOWED_USERS": ["bob"]})
    graph.one("docker:index/container:Container", "jupyterhub").inputs["envs"]
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import runpy
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import SETTINGS, get_root_resource, set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "__main__.py"
PROJECT = "jupyterhub-zos"
SECRET_SIG_KEY = rpc._special_sig_key
SECRET_SIG = rpc._special_secret_sig


# --- config, the way the CLI delivers it ------------------------------------------------


def cli_string(value: Any) -> str:
    """How the CLI hands a config value to the program: strings as they are, everything
    else as JSON (so true/false, 42, ["a"], {"k": "v"})."""
    return value if isinstance(value, str) else json.dumps(value)


def full_key(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def project_defaults(root: Path = ROOT) -> dict[str, Any]:
    """`default`s of the Pulumi.yaml config block, as `<project>:<key>` -> value."""
    declared = yaml.safe_load((root / "Pulumi.yaml").read_text())["config"]
    return {full_key(k): v["default"] for k, v in declared.items() if "default" in v}


def stack_file_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    encrypted = sorted(k for k, v in config.items() if isinstance(v, dict) and "secure" in v)
    if encrypted:
        raise ValueError(
            f"{path.name} holds encrypted values ({', '.join(encrypted)}); the mock harness "
            "cannot decrypt them: pass them as `secrets=` instead"
        )
    return dict(config)


def stack_config(
    stack: str,
    config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    root: Path = ROOT,
) -> tuple[dict[str, str], set[str]]:
    """Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then `config`, then `secrets`.
    A value of None removes the key. Returns (key -> CLI string, secret keys)."""
    merged: dict[str, Any] = {**project_defaults(root), **stack_file_config(stack, root)}
    secret_keys: set[str] = set()
    for source, secret in ((config or {}, False), (secrets or {}, True)):
        for key, value in source.items():
            name = full_key(key)
            if value is None:
                merged.pop(name, None)
                secret_keys.discard(name)
                continue
            merged[name] = value
            if secret:
                secret_keys.add(name)
    return {k: cli_string(v) for k, v in merged.items()}, secret_keys


# --- the recorded graph ------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One registration: what the engine (and a policy pack) would see."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]  # plain (secrets unwrapped), camelCase as providers see them
    secret_paths: frozenset[str]  # top-level input names holding a secret anywhere inside
    parent: str  # URN of the parent ("" only for the stack)
    dependencies: frozenset[str]  # URNs this resource waits for
    custom: bool  # False for ComponentResources
    options: dict[str, Any] = field(default_factory=dict)
    # Exactly which values are secret, as paths of keys and list indexes, e.g.
    # ("envs",) when the whole list is one secret, ("uploads", 0, "content") otherwise.
    secret_leaves: frozenset[tuple] = frozenset()

    def is_secret(self, input_name: str) -> bool:
        return input_name in self.secret_paths


@dataclass
class Graph:
    stack: str
    resources: list[Recorded]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    config: dict[str, str]

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Recorded:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(
                f"expected one {type_}{f' named {name}' if name else ''}, found "
                f"{[r.name for r in found]}"
            )
        return found[0]

    def names(self, type_: str | None = None) -> list[str]:
        return [r.name for r in self.resources if type_ is None or r.type == type_]

    def by_urn(self, urn: str) -> Recorded:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)


# --- fake provider outputs -----------------------------------------------------------------


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\nMOCK{_digest(kind, name)[:48]}\n-----END {kind}-----\n"


def _tls_key(args) -> dict:
    return {
        "privateKeyPem": _pem("PRIVATE KEY", args.name),
        "privateKeyPemPkcs8": _pem("PRIVATE KEY", args.name),
        "privateKeyOpenssh": _pem("OPENSSH PRIVATE KEY", args.name),
        "publicKeyPem": _pem("PUBLIC KEY", args.name),
        "publicKeyOpenssh": f"ecdsa-sha2-nistp256 MOCK{_digest(args.name)[:32]}",
    }


def _random_text(args) -> dict:
    length = int(args.inputs.get("length", 32))
    text = (_digest(args.typ, args.name) * 4)[:length]
    return {"result": text}


def _random_bytes(args) -> dict:
    length = int(args.inputs.get("length", 32))
    raw = bytes.fromhex((_digest(args.name) * 4)[: 2 * length])
    import base64

    return {"hex": raw.hex(), "base64": base64.b64encode(raw).decode()}


def _image(args) -> dict:
    """As pulumi-docker reports them: a local build (never pushed) has the image ID as
    its repoDigest; a pulled image, repository@digest."""
    name = args.inputs.get("imageName") or args.inputs.get("name") or args.name
    digest = _digest(args.typ, args.name, json.dumps(args.inputs, sort_keys=True, default=str))
    local = args.typ == "docker:index/image:Image" and args.inputs.get("skipPush")
    repo_digest = f"sha256:{digest}" if local else f"{name.split(':')[0]}@sha256:{digest}"
    return {"repoDigest": repo_digest, "imageId": f"sha256:{digest}"}


# type token -> computed outputs. Tests may add their own with `register_fake`.
FAKES: dict[str, Callable[[Any], dict]] = {
    "tls:index/privateKey:PrivateKey": _tls_key,
    "tls:index/selfSignedCert:SelfSignedCert": lambda a: {"certPem": _pem("CERTIFICATE", a.name)},
    "tls:index/locallySignedCert:LocallySignedCert": lambda a: {
        "certPem": _pem("CERTIFICATE", a.name)
    },
    "tls:index/certRequest:CertRequest": lambda a: {
        "certRequestPem": _pem("CERTIFICATE REQUEST", a.name)
    },
    "random:index/randomPassword:RandomPassword": _random_text,
    "random:index/randomString:RandomString": _random_text,
    "random:index/randomBytes:RandomBytes": _random_bytes,
    "random:index/randomId:RandomId": lambda a: {
        "hex": _digest(a.name)[: 2 * a.inputs.get("byteLength", 8)]
    },
    "docker:index/image:Image": _image,
    "docker:index/remoteImage:RemoteImage": _image,
    "command:local:Command": lambda a: {"stdout": "", "stderr": ""},
    "command:remote:Command": lambda a: {"stdout": "", "stderr": ""},
}


def register_fake(type_: str, fake: Callable[[Any], dict]) -> None:
    """Outputs a type's provider would compute (e.g. a command's stdout)."""
    FAKES[type_] = fake


class FakeProviders(pulumi.runtime.Mocks):
    """Every resource echoes its inputs plus the outputs its provider would compute;
    ids and outputs derive from names and inputs, so runs are deterministic."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        fake = FAKES.get(args.typ)
        if fake is not None:
            outputs.update(fake(args))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


# --- recording ----------------------------------------------------------------------------


def _unwrap(value: Any) -> Any:
    """A deserialized property with its secret markers removed (the plain value)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return _unwrap(value.get("value"))
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def _secret_leaves(value: Any, path: tuple = ()) -> set[tuple]:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return {path}
        return set().union(set(), *(_secret_leaves(v, (*path, k)) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(set(), *(_secret_leaves(v, (*path, i)) for i, v in enumerate(value)))
    return set()


def _mark_secret_outputs(state, names) -> None:
    """As the engine does: outputs named in additionalSecretOutputs come back secret
    (pulumi-tls private keys, pulumi-random results, ...)."""
    for name in names:
        if name in state.fields:
            value = json_format.MessageToDict(state.fields[name])
            if not (isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG):
                state.fields[name].struct_value.Clear()
                state.fields[name].struct_value.update({SECRET_SIG_KEY: SECRET_SIG, "value": value})


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def RegisterResource(self, request):
        # MockMonitor.RegisterResource, with the inputs deserialized once and shared by
        # the fake provider and the record (big scripts and PEMs are not copied twice).
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        # Where exactly the secrets are: the wire form (deserializing marks a whole list or
        # map secret when one of its values is).
        leaves = _secret_leaves(json_format.MessageToDict(request.object))
        inputs = _unwrap(rpc.deserialize_properties(request.object))
        id_, state = self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
                transforms=pulumi_mocks._resolve_callbacks(request.transforms),
            )
        )
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        _mark_secret_outputs(state_proto, request.additionalSecretOutputs)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=state_proto)
        secret_paths = {leaf[0] for leaf in leaves}
        self.recorded.append(
            Recorded(
                type=request.type,
                name=request.name,
                urn=response.urn,
                inputs=inputs,
                secret_paths=frozenset(secret_paths),
                parent=request.parent,
                dependencies=frozenset(request.dependencies),
                custom=bool(request.custom),
                secret_leaves=frozenset(leaves),
                options={
                    "protect": request.protect if request.HasField("protect") else None,
                    "retainOnDelete": request.retainOnDelete
                    if request.HasField("retainOnDelete")
                    else None,
                    "deleteBeforeReplace": request.deleteBeforeReplace,
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    "ignoreChanges": list(request.ignoreChanges),
                    "replaceOnChanges": list(request.replaceOnChanges),
                    "provider": request.provider,
                },
            )
        )
        return response


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
        with SETTINGS.lock:
            mine = [f for f in SETTINGS.outputs if f.get_loop() is loop]
        if mine:
            loop.run_until_complete(asyncio.gather(*mine, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def _drop_stale_outputs() -> None:
    """Forget tracked Outputs of closed loops (a caller closed its loop with Outputs
    pending): waiting on them would fail this run with "Event loop is closed"."""
    with SETTINGS.lock:
        for future in [f for f in SETTINGS.outputs if f.get_loop().is_closed()]:
            SETTINGS.outputs.discard(future)


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
) -> Graph:
    """Run the program once, in a fresh event loop, and return what it registered.
    A bad config raises the program's SettingsError (and nothing is registered).
    `root` (default: the program's directory) holds Pulumi.yaml and the stack files."""
    root = root or program.parent
    values, secret_keys = stack_config(stack, config, secrets, root=root)
    env = {
        "PULUMI_CONFIG": json.dumps(values),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret_keys)),
    }
    monitor = RecordingMonitor(FakeProviders())
    _drop_stale_outputs()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with _environment(env), _cwd(root):
            set_all_config(values, sorted(secret_keys))
            # set_mocks keeps an existing root stack: without this, one run's stack
            # outputs would show up in the next run's.
            set_root_resource(None)
            pulumi.runtime.set_mocks(
                monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
            )
            SETTINGS.rpc_manager.clear()
            try:
                _sync_await(
                    run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__"))
                )
            except Exception as exc:
                # What was registered before the failure (for "nothing was touched" tests).
                exc.graph = Graph(stack, monitor.recorded, {}, set(), values)
                raise
            outputs, secret_outputs = _stack_outputs()
    finally:
        set_all_config({}, [])
        loop.close()
        asyncio.set_event_loop(None)
    return Graph(stack, monitor.recorded, outputs, secret_outputs, values)


def _stack_outputs() -> tuple[dict[str, Any], set[str]]:
    stack = get_root_resource()
    outputs: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in getattr(stack, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        outputs[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret.add(name)
    return outputs, secret
