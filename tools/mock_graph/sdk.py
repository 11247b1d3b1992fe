"""The one module of the harness that touches the Pulumi SDK's private and internal names.

The harness stands in for the engine's resource monitor, and the SDK has no public API
for that: it needs the wire form's secret marker, the (de)serializer, the mock monitor's
base class, the runtime's settings and root stack, its event-loop helpers. Every such
name is declared in `RELIED_ON`, looked up through it, and exposed here as a small named
function; nothing else in `tools/mock_graph/` imports `pulumi.runtime.*` submodules.

When an SDK upgrade moves or changes one of them, importing this module fails with one
`SdkDrift` error naming every one of them (and tests/tools/mock_graph/test_sdk.py fails
on it), instead of some graph test failing deep inside a run.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from google.protobuf import json_format, message
from pulumi.runtime import set_all_config, set_mocks


@dataclass(frozen=True)
class Internal:
    """One SDK name the harness relies on: where it lives, what it is, and what of it
    is used (parameters passed by name, attributes read, message fields read)."""

    module: str
    name: str
    kind: str  # a key of KINDS
    uses: tuple[str, ...] = ()
    why: str = ""

    @property
    def where(self) -> str:
        return f"{self.module}.{self.name}"


def _has(obj: Any, attribute: str) -> bool:
    for part in attribute.split("."):
        if not (hasattr(obj, part) or part in getattr(obj, "__annotations__", {})):
            return False
        obj = getattr(obj, part, None)
    return True


def _params(obj: Any) -> set[str]:
    try:
        return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return set()


def _fields(obj: Any) -> set[str]:
    return set(obj.DESCRIPTOR.fields_by_name)


# kind -> (is it that kind, how to tell whether it has a used member)
KINDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any, str], bool]]] = {
    "str": (lambda o: isinstance(o, str), lambda o, u: False),
    "function": (inspect.isfunction, lambda o, u: u in _params(o)),
    "coroutine function": (inspect.iscoroutinefunction, lambda o, u: u in _params(o)),
    "class": (inspect.isclass, _has),
    "constructor": (inspect.isclass, lambda o, u: u in _params(o)),
    "object": (lambda o: not inspect.isclass(o) and not callable(o), _has),
    "context var": (lambda o: isinstance(o, ContextVar), lambda o, u: False),
    "message": (
        lambda o: inspect.isclass(o) and issubclass(o, message.Message),
        lambda o, u: u in _fields(o),
    ),
}

_RPC = "pulumi.runtime.rpc"
_MOCKS = "pulumi.runtime.mocks"
_SETTINGS = "pulumi.runtime.settings"
_PROTO = "pulumi.runtime.proto.resource_pb2"
_REQUEST_FIELDS = (
    "type",
    "name",
    "parent",
    "object",
    "custom",
    "provider",
    "importId",
    "transforms",
    "dependencies",
    "protect",
    "retainOnDelete",
    "deleteBeforeReplace",
    "additionalSecretOutputs",
    "ignoreChanges",
    "replaceOnChanges",
)

RELIED_ON: tuple[Internal, ...] = (
    Internal(_RPC, "_special_sig_key", "str", why="the wire form's marker key"),
    Internal(_RPC, "_special_secret_sig", "str", why="the wire form's secret marker"),
    Internal(_RPC, "deserialize_properties", "function", ("props_struct",)),
    Internal(_RPC, "serialize_properties", "coroutine function", ("inputs", "property_deps")),
    Internal(
        _MOCKS,
        "MockMonitor",
        "class",
        ("mocks", "resources", "make_urn", "ResourceRegistration", "RegisterResource"),
        why="the recording monitor's base class",
    ),
    Internal(_MOCKS, "_resolve_callbacks", "function", ("callbacks",), why="transforms"),
    Internal(
        _MOCKS,
        "MockResourceArgs",
        "constructor",
        ("typ", "name", "inputs", "provider", "resource_id", "custom", "transforms"),
    ),
    Internal(
        _SETTINGS,
        "SETTINGS",
        "object",
        ("lock", "outputs", "rpc_manager.clear"),
        why="tracked Outputs, outstanding RPCs",
    ),
    Internal(_SETTINGS, "get_root_resource", "function"),
    Internal(_SETTINGS, "set_root_resource", "function", ("root",)),
    Internal("pulumi.runtime.stack", "run_pulumi_func", "coroutine function", ("func",)),
    Internal("pulumi.runtime.stack", "Stack", "class", ("outputs",), why="stack outputs"),
    Internal("pulumi.runtime.sync_await", "_sync_await", "function", ("awaitable",)),
    Internal("pulumi.runtime.sync_await", "_ensure_event_loop", "function"),
    Internal(_PROTO, "RegisterResourceRequest", "message", _REQUEST_FIELDS),
    Internal(_PROTO, "RegisterResourceResponse", "message", ("urn", "id", "object")),
    # Not used here: components/settings/source.py reads the secret keys the harness sets
    # with set_all_config (the program cannot import tools/, so the check lives here).
    Internal("pulumi.runtime.config", "CONFIG", "context var", why="components/config_source"),
    Internal(
        "pulumi.runtime.config", "_SECRET_KEYS", "context var", why="components/config_source"
    ),
)


class SdkDrift(ImportError):
    """The installed Pulumi SDK no longer has what the harness relies on."""


def drift(relied_on: Iterable[Internal] = RELIED_ON) -> list[str]:
    """One line per missing or changed name (empty when the SDK is as expected)."""
    problems = []
    for need in relied_on:
        try:
            obj = getattr(importlib.import_module(need.module), need.name)
        except (ImportError, AttributeError) as exc:
            problems.append(f"{need.where}: missing ({exc})")
            continue
        is_kind, has = KINDS[need.kind]
        if not is_kind(obj):
            problems.append(f"{need.where}: expected a {need.kind}, found {type(obj).__name__}")
            continue
        lost = [use for use in need.uses if not has(obj, use)]
        if lost:
            problems.append(f"{need.where}: no longer has {', '.join(lost)}")
    return problems


def _bind() -> dict[str, Any]:
    problems = drift()
    if problems:
        raise SdkDrift(
            f"pulumi {metadata.version('pulumi')}: the mock harness (tools/mock_graph/sdk.py) "
            "relies on SDK internals that moved or changed:\n  " + "\n  ".join(problems)
        )
    return {
        need.where: getattr(importlib.import_module(need.module), need.name) for need in RELIED_ON
    }


_SDK = _bind()
_rpc_key: str = _SDK[f"{_RPC}._special_sig_key"]
_rpc_secret: str = _SDK[f"{_RPC}._special_secret_sig"]
_deserialize = _SDK[f"{_RPC}.deserialize_properties"]
_serialize = _SDK[f"{_RPC}.serialize_properties"]
_resolve_callbacks = _SDK[f"{_MOCKS}._resolve_callbacks"]
_settings = _SDK[f"{_SETTINGS}.SETTINGS"]
_set_root_resource = _SDK[f"{_SETTINGS}.set_root_resource"]
_get_root_resource = _SDK[f"{_SETTINGS}.get_root_resource"]
_run_pulumi_func = _SDK["pulumi.runtime.stack.run_pulumi_func"]
_sync_await = _SDK["pulumi.runtime.sync_await._sync_await"]
_ensure_event_loop = _SDK["pulumi.runtime.sync_await._ensure_event_loop"]

MockMonitor = _SDK[f"{_MOCKS}.MockMonitor"]
MockResourceArgs = _SDK[f"{_MOCKS}.MockResourceArgs"]
_response = _SDK[f"{_PROTO}.RegisterResourceResponse"]
SECRET_SIG_KEY = _rpc_key
SECRET_SIG = _rpc_secret


# --- the wire form -----------------------------------------------------------------------


def is_secret_marked(value: Any) -> bool:
    """A deserialized (or wire-form) value that is the SDK's secret wrapper."""
    return isinstance(value, dict) and value.get(_rpc_key) == _rpc_secret


def wire_dict(struct) -> Any:
    """A protobuf Struct (or Value) as plain JSON-like data, secret markers kept."""
    return json_format.MessageToDict(struct)


def deserialize(struct) -> Any:
    """A request's properties as the SDK deserializes them (secrets still marked)."""
    return _deserialize(struct)


def serialize(state: dict) -> Any:
    """A provider's outputs in the wire form the SDK expects back."""
    return _sync_await(_serialize(state, {}))


def mark_secret_fields(state, names: Iterable[str]) -> None:
    """As the engine does: outputs named in additionalSecretOutputs come back secret
    (pulumi-tls private keys, pulumi-random results, ...)."""
    for name in names:
        if name in state.fields:
            value = wire_dict(state.fields[name])
            if not is_secret_marked(value):
                state.fields[name].struct_value.Clear()
                state.fields[name].struct_value.update({_rpc_key: _rpc_secret, "value": value})


# --- the mock monitor --------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """A RegisterResource request, read into plain values (the wire `object` kept)."""

    type: str
    name: str
    parent: str
    object: Any  # the inputs' Struct, for `wire_dict` and `deserialize`
    custom: bool
    provider: str
    import_id: str
    transforms: Any
    dependencies: tuple[str, ...]
    protect: bool | None  # None when the program did not set it
    retain_on_delete: bool | None
    delete_before_replace: bool
    additional_secret_outputs: tuple[str, ...]
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]


def read_registration(request) -> Registration:
    return Registration(
        type=request.type,
        name=request.name,
        parent=request.parent,
        object=request.object,
        custom=request.custom,
        provider=request.provider,
        import_id=request.importId,
        transforms=request.transforms,
        dependencies=tuple(request.dependencies),
        protect=request.protect if request.HasField("protect") else None,
        retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
        delete_before_replace=request.deleteBeforeReplace,
        additional_secret_outputs=tuple(request.additionalSecretOutputs),
        ignore_changes=tuple(request.ignoreChanges),
        replace_on_changes=tuple(request.replaceOnChanges),
    )


def response(urn: str, id_: str | None = None, state=None):
    """The RegisterResource reply: the URN, and for a resource its id and outputs."""
    if id_ is None:
        return _response(urn=urn)
    return _response(urn=urn, id=id_, object=state)


def resolve_transforms(transforms) -> list:
    """The program's transform callbacks a registration names."""
    return _resolve_callbacks(transforms)


def registration(urn: str, id_: str, state: dict):
    """What MockMonitor keeps per resource (read back by the SDK's mocks)."""
    return MockMonitor.ResourceRegistration(urn, id_, state)


def ensure_event_loop():
    """A current event loop on this thread (deserializing resource references needs one)."""
    return _ensure_event_loop()


def sync_await(awaitable):
    """Wait for `awaitable` on the current loop, even from inside a running one."""
    return _sync_await(awaitable)


# --- the runtime -------------------------------------------------------------------------


def outputs_of_loop(loop) -> list:
    """The Outputs the runtime tracks that were made on `loop`."""
    with _settings.lock:
        return [f for f in _settings.outputs if f.get_loop() is loop]


def forget_outputs_of_closed_loops() -> None:
    """Stop tracking Outputs whose loop is closed (waiting on them would fail a run
    with "Event loop is closed")."""
    with _settings.lock:
        for future in [f for f in _settings.outputs if f.get_loop().is_closed()]:
            _settings.outputs.discard(future)


def start_mock_run(
    monitor, project: str, stack: str, values: dict[str, str], secret_keys: list[str]
) -> None:
    """Point the runtime at `monitor` for a fresh run with this config."""
    set_all_config(values, secret_keys)
    # set_mocks keeps an existing root stack: without this, one run's stack
    # outputs would show up in the next run's.
    _set_root_resource(None)
    set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    _settings.rpc_manager.clear()


def clear_config() -> None:
    set_all_config({}, [])


def run_program_function(function: Callable[[], Any]) -> None:
    """Run `function` as the runtime runs a program: then wait for every registration."""
    _sync_await(_run_pulumi_func(function))


def root_stack_outputs() -> dict[str, Any]:
    """The values the program exported (Outputs or plain values), by name."""
    return getattr(_get_root_resource(), "outputs", {})
