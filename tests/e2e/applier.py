"""The local applier: a TEST HARNESS standing in for the Pulumi engine, pulumi-docker and
pulumi-command (which cannot be installed here). It is not `make up`.

It runs the program under Pulumi's mock runtime with itself as the provider: each
registration (in program order, every input awaited, so every dependency is applied first;
`_check_order` asserts it) really creates, updates or replaces the Docker object or runs the
command, and the outputs it returns (an image's repoDigest, a container's id, a command's
stdout, ...) feed the resources that use them, as the engine would. `tls:` and `random:`
resources go to a pluggable delegate (a `new_resource`-shaped function): by default the
mock harness's provider-faithful mode (real keys, certificates and random values,
tools/mock_graph/faithful.py); or the harness's deterministic fakes.

State: every applied resource's inputs, outputs and options go to `.e2e-state/<stack>.json`
(git-ignored, mode 0600: it holds secrets, as a Pulumi state file does). An unchanged input
set changes nothing; a changed one is handled the way the provider would:

- Container: any change replaces it, the old one deleted first (pulumi-docker's
  deleteBeforeReplace). Differs: the Terraform provider updates restart policy and cpu /
  memory limits in place; the applier replaces for those too.
- Image: a changed input or build context (a digest of the context's files after
  .dockerignore, and the Dockerfile, like the provider's contextDigest) rebuilds it in
  place (same resource, new repoDigest). Differs: legacy builder only (no BuildKit here);
  never pushed (skipPush must be true). Delete leaves the local image, as the provider does.
- RemoteImage: uses the local image of that name, pulling it only when absent (no registry
  answers here); repoDigest is the registry digest when the image has one, else its ID.
- Network, Volume: any change replaces (delete first). A retained volume (retainOnDelete)
  is left in place and adopted again by name.
- command:local:Command: a change of `triggers` (or any replaceOnChanges path) replaces it
  (delete, then create, with deleteBeforeReplace; else create, then delete); any other
  change runs `update` (or `create` when there is none).
- tls:/random:: any input change makes new values (the providers replace them).

`ignoreChanges` keeps the old value of the named inputs; `replaceOnChanges` forces a
replace; `protect` refuses any delete or replace; `retainOnDelete` drops a resource from
state without deleting it. Resources in state that the program no longer registers are
deleted at the end of a successful run, in reverse dependency order; `down` deletes all.

Also different from the real engine: an object gone from the Docker engine is recreated on
the next `up` (like `pulumi up --refresh`); published ports without an `ip` bind 127.0.0.1,
not 0.0.0.0 (the harness binds nothing but loopback: pass loopback_ports=False for the
provider's behaviour); a resource whose create failed halfway stays in state marked failed
and is replaced on the next `up`; there is no preview, no plan, no parallelism limit beyond
one image build at a time; after a failure nothing new starts (as the engine without
--continue-on-error) and what was in flight finishes before `up` returns. Containers: the
first of `networksAdvanced` is the network mode and given at create, the others are
connected before start; upload `owner` / `group` must be numeric (the provider resolves
names on the machine running Pulumi); `healthcheck.startInterval` is refused (Docker 20.10
speaks API 1.41); a container's own logs are never printed (they may hold secrets). Only the
local engine is used: a `docker:host` config naming another one is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import os
import platform
import runpy
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pulumi
from docker.errors import APIError, BuildError, ImageNotFound, NotFound

from components.docker.stack_check import StackCollisionError
from components.settings import SettingsError
from tests.e2e import docker_inputs as di
from tests.e2e.docker_inputs import Unsupported
from tools.mock_graph import PROJECT, RecordingMonitor, stack_config

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
STATE_DIR_NAME = ".e2e-state"
DELEGATED_PREFIXES = ("tls:", "random:")

Delegate = Callable[[Any], tuple[str, dict]]


class Skipped(Exception):  # noqa: N818
    """A registration not applied because another failed first."""


class ApplyError(Exception):
    """The apply (or destroy) failed; `changes` is what it did before failing."""

    def __init__(self, message: str, changes: list[Change] | None = None):
        super().__init__(message)
        self.changes = changes or []


@dataclass
class Change:
    action: str  # create, update, replace, delete, retain, recreate
    type: str
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return (
            f"{self.action:<8} {self.type} {self.name}{f' ({self.detail})' if self.detail else ''}"
        )


# --- state -------------------------------------------------------------------------------------


@dataclass
class State:
    """Applied resources by URN, in the order they were (last) created."""

    path: Path
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        return cls(path, dict(data.get("resources", {})))

    def save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"version": 1, "resources": self.resources}, f, indent=1, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def state_path(stack: str, state_dir: Path | None = None) -> Path:
    return (state_dir or ROOT / STATE_DIR_NAME) / f"{stack}.json"


# --- helpers -----------------------------------------------------------------------------------


def _get_path(value: Any, path: list[str]) -> tuple[bool, Any]:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def apply_ignore_changes(old: Mapping[str, Any], new: dict[str, Any], paths: list[str]) -> dict:
    """New inputs with the old value kept at each ignoreChanges path (top-level or a.b.c)."""
    result = copy.deepcopy(new)
    for path in paths:
        parts = path.replace("[*]", "").split(".")
        found, old_value = _get_path(old, parts)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {}) if isinstance(target, dict) else {}
        if not isinstance(target, dict):
            continue
        if found:
            target[parts[-1]] = copy.deepcopy(old_value)
        else:
            target.pop(parts[-1], None)
    return result


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def matches_replace_on_changes(keys: list[str], patterns: list[str]) -> bool:
    heads = {p.split(".")[0].split("[")[0] for p in patterns}
    return "*" in heads or bool(heads & set(keys))


def context_digest(context: Path, dockerfile: Path) -> str:
    """sha256 over the build context's files (after .dockerignore) and the Dockerfile: what
    pulumi-docker's Check records as build.contextDigest so a changed file rebuilds."""
    from docker.utils.build import exclude_paths

    ignore = context / ".dockerignore"
    patterns = []
    if ignore.exists():
        patterns = [
            line.strip()
            for line in ignore.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
    digest = hashlib.sha256()
    for rel in sorted(exclude_paths(str(context), patterns)):
        path = context / rel
        if path.is_file():
            digest.update(f"{rel}\0{path.stat().st_mode & 0o7777:o}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"\0dockerfile\0" + dockerfile.read_bytes())
    return digest.hexdigest()


# --- the provider ---------------------------------------------------------------------------


class ApplyingMonitor(RecordingMonitor):
    """The harness's recording monitor, which also lets the provider see the registration's
    options (URN, dependencies, protect, retainOnDelete, ...) that MockResourceArgs lacks."""

    # The local engine is behind it: the program checks its objects as on `pulumi up`.
    docker_engine = True

    def __init__(self, applier: Applier):
        super().__init__(applier)
        self._local = threading.local()
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()
        applier.monitor = self

    def close_thread_loops(self) -> None:
        """Close the loops the SDK made in executor threads (else they are collected later,
        unclosed, with an 'Invalid file descriptor' warning)."""
        for loop in self.thread_loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()
        self.thread_loops.clear()

    def current_request(self):
        return getattr(self._local, "request", None)

    def RegisterResource(self, request):  # noqa: N802 - the gRPC method name
        self._local.request = request
        try:
            return super().RegisterResource(request)
        finally:
            self._local.request = None
            if threading.current_thread() is not threading.main_thread():
                with contextlib.suppress(RuntimeError):
                    self.thread_loops.add(asyncio.get_event_loop())


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    dependencies: list[str]
    options: dict[str, Any]


class Applier(pulumi.runtime.Mocks):
    """The provider for one run. See the module docstring for what each type does."""

    def __init__(
        self,
        state: State,
        delegate: Delegate,
        root: Path,
        client: docker.APIClient | None = None,
        loopback_ports: bool = True,
        log: Callable[[str], None] = print,
    ):
        self.state = state
        self.delegate = delegate
        self.root = root
        self.loopback_ports = loopback_ports
        self.log = log
        self.monitor: ApplyingMonitor | None = None
        self.changes: list[Change] = []
        self.failures: list[str] = []
        self.seen: set[str] = set()
        self.done: set[str] = set()
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._build_lock = threading.Lock()
        self._client = client
        self._local = threading.local()

    # -- docker client, one per thread (registrations run in executor threads) --
    @property
    def api(self) -> docker.APIClient:
        if self._client is not None:
            return self._client
        if getattr(self._local, "api", None) is None:
            self._local.api = docker.APIClient(base_url=docker_base_url(), timeout=600)
        return self._local.api

    def call(self, args):
        raise Unsupported("invoke", args.token, ["the local applier answers no invokes"])

    def new_resource(self, args):
        request = self.monitor.current_request() if self.monitor else None
        if request is None:
            raise RuntimeError("new_resource outside RegisterResource")
        reg = Registration(
            urn=self.monitor.make_urn(request.parent, request.type, request.name),
            type=args.typ,
            name=args.name,
            inputs=dict(args.inputs),
            dependencies=sorted(request.dependencies),
            options={
                "protect": bool(request.protect) if request.HasField("protect") else False,
                "retainOnDelete": bool(request.retainOnDelete)
                if request.HasField("retainOnDelete")
                else False,
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "ignoreChanges": list(request.ignoreChanges),
                "replaceOnChanges": list(request.replaceOnChanges),
            },
        )
        if not request.custom:  # a component: nothing to apply
            return f"{args.name}-component", dict(args.inputs)
        with self._lock:
            if self.failures:  # as the engine: nothing new starts after a failure
                raise Skipped(f"{reg.type} {reg.name}: not applied (an earlier resource failed)")
            self._inflight += 1
        try:
            self._check_order(reg)
            id_, outputs = self._apply(reg, args)
        except Exception as exc:
            message = str(exc) if isinstance(exc, Unsupported | ApplyError) else repr(exc)
            with self._lock:
                self.failures.append(f"{reg.type} {reg.name}: {message}")
            raise
        finally:
            with self._lock:
                self._inflight -= 1
                self._idle.notify_all()
        with self._lock:
            self.done.add(reg.urn)
        return id_, outputs

    def wait_idle(self) -> None:
        """Until no registration is applying: the SDK gives up on the first failure while
        others still run in executor threads, and those finish (and reach state) first."""
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0)

    def _check_order(self, reg: Registration) -> None:
        with self._lock:
            self.seen.add(reg.urn)
            missing = [d for d in reg.dependencies if d not in self.done]
        if missing:
            raise ApplyError(
                f"{reg.name} registered before its dependencies {missing} were "
                "applied: the mock runtime's ordering assumption broke"
            )

    # -- the generic create / same / update / replace step --
    def _apply(self, reg: Registration, args) -> tuple[str, dict]:
        handler = self._handler(reg.type, reg.name)
        checked = handler.check(reg)
        with self._lock:
            old = copy.deepcopy(self.state.resources.get(reg.urn))
        if old is not None and old["type"] != reg.type:
            raise ApplyError(f"state holds {old['type']} at {reg.urn}")
        if old is None:
            return self._create(handler, reg, checked, args, "create")
        checked = apply_ignore_changes(old["inputs"], checked, reg.options["ignoreChanges"])
        keys = changed_keys(old["inputs"], checked)
        if not keys and not old.get("failed"):
            if handler.exists(old):
                self._remember(reg, old, checked, old["id"], old["outputs"], old.get("extra", {}))
                return old["id"], old["outputs"]
            return self._create(
                handler, reg, checked, args, "recreate", detail="gone from the engine"
            )
        if old["options"].get("protect"):
            raise ApplyError(
                f"{reg.type} {reg.name} is protected; it would change: "
                f"{', '.join(keys) or 'failed before'}"
            )
        replace = (
            old.get("failed")
            or handler.replaces(keys)
            or matches_replace_on_changes(keys, reg.options["replaceOnChanges"])
        )
        detail = "failed before" if old.get("failed") and not keys else ", ".join(keys)
        if not replace:
            id_, outputs, extra = handler.update(reg, checked, args, old)
            self._remember(reg, old, checked, id_, outputs, extra)
            self._record(Change("update", reg.type, reg.name, detail))
            return id_, outputs
        delete_first = handler.delete_before_replace or reg.options["deleteBeforeReplace"]
        if delete_first:
            self._delete_entry(reg.urn, old, replacing=True)
            return self._create(handler, reg, checked, args, "replace", detail)
        result = self._create(handler, reg, checked, args, "replace", detail)
        self._delete_entry(None, old, replacing=True)
        return result

    def _create(self, handler, reg, checked, args, action, detail=""):
        try:
            id_, outputs, extra = handler.create(reg, checked, args)
        except _PartialCreate as partial:
            # The object exists but is not right (e.g. unhealthy): keep it, marked failed.
            self._remember(reg, None, checked, partial.id, {}, partial.extra, failed=True)
            self._record(Change(action, reg.type, reg.name, f"FAILED: {partial.cause}"))
            raise ApplyError(str(partial.cause)) from None
        self._remember(reg, None, checked, id_, outputs, extra)
        self._record(Change(action, reg.type, reg.name, detail))
        return id_, outputs

    def _remember(self, reg, old, checked, id_, outputs, extra, failed=False):
        entry = {
            "type": reg.type,
            "name": reg.name,
            "id": id_,
            "inputs": checked,
            "outputs": outputs,
            "dependencies": reg.dependencies,
            "options": reg.options,
            "extra": extra,
        }
        if failed:
            entry["failed"] = True
        with self._lock:
            # Re-inserted at the end when (re)created, so state order stays creation order.
            if old is None:
                self.state.resources.pop(reg.urn, None)
            self.state.resources[reg.urn] = entry
            self.state.save()

    def _record(self, change: Change) -> None:
        with self._lock:
            self.changes.append(change)
        self.log(f"  {change}")

    def _delete_entry(self, urn: str | None, entry: dict, replacing: bool = False) -> None:
        """Delete one state entry's object (or retain it) and drop it from state."""
        if entry["options"].get("protect"):
            raise ApplyError(f"{entry['type']} {entry['name']} is protected: not deleted")
        if entry["options"].get("retainOnDelete"):
            action = "retain"
        else:
            self._handler(entry["type"], entry["name"]).delete(entry)
            action = "delete"
        if urn is not None:
            with self._lock:
                self.state.resources.pop(urn, None)
                self.state.save()
        if not replacing:
            self._record(Change(action, entry["type"], entry["name"]))
        elif action == "retain":
            self.log(f"  retain   {entry['type']} {entry['name']} (kept while replacing)")

    def _handler(self, type_: str, name: str):
        if type_.startswith(DELEGATED_PREFIXES):
            return DelegatedHandler(self)
        handler = HANDLERS.get(type_)
        if handler is None:
            raise Unsupported(type_, name, ["the local applier has no provider for this type"])
        return handler(self)

    def delete_unseen(self) -> None:
        """After a successful run: delete what the program no longer registers."""
        with self._lock:
            gone = {u: e for u, e in self.state.resources.items() if u not in self.seen}
        delete_in_reverse_order(self, gone)


def delete_in_reverse_order(applier: Applier, entries: dict[str, dict]) -> None:
    protected = [
        f"{e['type']} {e['name']}" for e in entries.values() if e["options"].get("protect")
    ]
    if protected:
        raise ApplyError(
            f"protected resources would be deleted: {', '.join(protected)} "
            "(unprotect them first); nothing was deleted"
        )
    remaining = dict(entries)
    while remaining:
        # Anything nothing else remaining depends on, latest created first.
        needed = {d for e in remaining.values() for d in e.get("dependencies", [])}
        leaves = [u for u in reversed(list(remaining)) if u not in needed]
        if not leaves:  # a cycle cannot come from a Pulumi program; be safe anyway
            leaves = [next(reversed(list(remaining)))]
        for urn in leaves:
            applier._delete_entry(urn, remaining.pop(urn))


class _PartialCreate(Exception):  # noqa: N818
    def __init__(self, id_: str, cause: str, extra: dict | None = None):
        super().__init__(cause)
        self.id, self.cause, self.extra = id_, cause, extra or {}


def docker_base_url() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


# --- handlers ---------------------------------------------------------------------------------


class Handler:
    delete_before_replace = True

    def __init__(self, applier: Applier):
        self.applier = applier

    @property
    def api(self) -> docker.APIClient:
        return self.applier.api

    def check(self, reg: Registration) -> dict:
        return reg.inputs

    def exists(self, entry: dict) -> bool:
        return True

    def replaces(self, keys: list[str]) -> bool:
        return True

    def create(self, reg, checked, args):  # -> (id, outputs, extra)
        raise NotImplementedError

    def update(self, reg, checked, args, old):
        return self.create(reg, checked, args)

    def delete(self, entry: dict) -> None:
        pass


class DelegatedHandler(Handler):
    """tls: and random: resources: values from the delegate, kept in state like the
    providers keep them, new ones only when an input changes."""

    def create(self, reg, checked, args):
        id_, outputs = self.applier.delegate(args)
        return id_, outputs, {}


class NetworkHandler(Handler):
    def check(self, reg):
        di.network_kwargs(reg.name, reg.inputs)
        return reg.inputs

    def exists(self, entry):
        try:
            self.api.inspect_network(entry["id"])
            return True
        except NotFound:
            return False

    def create(self, reg, checked, args):
        kwargs = di.network_kwargs(reg.name, checked)
        existing = self.api.networks(names=[kwargs["name"]])
        if any(n["Name"] == kwargs["name"] for n in existing):
            raise ApplyError(
                f"network {kwargs['name']!r} already exists on the engine and is "
                "not in this stack's state (remove it, or `down` the stack)"
            )
        net = self.api.create_network(**{k: v for k, v in kwargs.items() if v is not None})
        info = self.api.inspect_network(net["Id"])
        outputs = {
            **checked,
            "name": kwargs["name"],
            "driver": info["Driver"],
            "scope": info.get("Scope", "local"),
            "ipamConfigs": [
                {"subnet": c.get("Subnet"), "gateway": c.get("Gateway")}
                for c in (info.get("IPAM") or {}).get("Config") or []
            ],
        }
        return net["Id"], outputs, {}

    def delete(self, entry):
        with contextlib.suppress(NotFound):
            self.api.remove_network(entry["id"])


class VolumeHandler(Handler):
    def check(self, reg):
        di.volume_kwargs(reg.name, reg.inputs)
        return reg.inputs

    def exists(self, entry):
        try:
            self.api.inspect_volume(entry["id"])
            return True
        except NotFound:
            return False

    def create(self, reg, checked, args):
        kwargs = di.volume_kwargs(reg.name, checked)
        try:
            info = self.api.inspect_volume(kwargs["name"])
            # Docker's create of an existing name returns it too: a retained volume comes back.
            self.applier.log(f"  (volume {kwargs['name']} exists: adopted)")
        except NotFound:
            info = self.api.create_volume(**{k: v for k, v in kwargs.items() if v is not None})
        outputs = {
            **checked,
            "name": info["Name"],
            "driver": info["Driver"],
            "mountpoint": info.get("Mountpoint", ""),
        }
        return info["Name"], outputs, {}

    def delete(self, entry):
        with contextlib.suppress(NotFound):
            self.api.remove_volume(entry["id"])


class ImageHandler(Handler):
    def check(self, reg):
        spec = di.build_spec(reg.name, reg.inputs)
        context = self.applier.root / spec.context
        dockerfile = self.applier.root / spec.dockerfile
        problems = [
            f"build.{what} {path} is missing"
            for what, path in (("context", context), ("dockerfile", dockerfile))
            if not path.exists()
        ]
        if problems:
            raise Unsupported(reg.type, reg.name, problems)
        checked = copy.deepcopy(reg.inputs)
        build = checked.setdefault("build", {})
        build["contextDigest"] = context_digest(context, dockerfile)
        build.setdefault("platform", f"linux/{_host_arch()}")
        return checked

    def exists(self, entry):
        try:
            self.api.inspect_image(entry["outputs"]["repoDigest"])
            return True
        except (NotFound, KeyError):
            return False

    def replaces(self, keys):
        return False  # the provider updates (rebuilds) an Image in place

    def create(self, reg, checked, args):
        spec = di.build_spec(reg.name, reg.inputs)
        context = (self.applier.root / spec.context).resolve()
        dockerfile = (self.applier.root / spec.dockerfile).resolve()
        rel = os.path.relpath(dockerfile, context)
        dockerfile_arg = str(dockerfile) if rel.startswith("..") else rel
        with self.applier._build_lock:
            self.applier.log(f"  building {spec.image_name} from {spec.context} ...")
            started = time.monotonic()
            log_tail: list[str] = []
            try:
                for chunk in self.api.build(
                    path=str(context),
                    dockerfile=dockerfile_arg,
                    tag=spec.image_name,
                    buildargs=spec.args or None,
                    target=spec.target,
                    platform=spec.platform,
                    extra_hosts=spec.extra_hosts or None,
                    network_mode=spec.network_mode,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    use_config_proxy=False,
                ):
                    if "stream" in chunk:
                        log_tail = (log_tail + chunk["stream"].splitlines())[-40:]
                    if "error" in chunk:
                        raise ApplyError(
                            f"docker build of {spec.image_name} failed: {chunk['error'].strip()}"
                            "\n" + "\n".join(log_tail[-25:])
                        )
            except (APIError, BuildError) as exc:
                raise ApplyError(f"docker build of {spec.image_name} failed: {exc}") from exc
            image_id = self.api.inspect_image(spec.image_name)["Id"]
            self.applier.log(
                f"  built {spec.image_name} {image_id[:19]} in {time.monotonic() - started:.0f}s"
            )
        outputs = {
            **checked,
            "imageName": spec.image_name,
            "baseImageName": spec.image_name,
            "registryServer": "",
            "context": spec.context,
            "dockerfile": rel,
            "platform": checked["build"]["platform"],
            "repoDigest": image_id,  # a local, never-pushed build: the image ID
        }
        return spec.image_name, outputs, {}

    def delete(self, entry):
        pass  # pulumi-docker's Image delete leaves the local image


class RemoteImageHandler(Handler):
    def check(self, reg):
        di.remote_image_name(reg.name, reg.inputs)
        return reg.inputs

    def exists(self, entry):
        try:
            self.api.inspect_image(entry["outputs"]["imageId"])
            return True
        except (NotFound, KeyError):
            return False

    def create(self, reg, checked, args):
        name = di.remote_image_name(reg.name, checked)
        try:
            info = self.api.inspect_image(name)
        except ImageNotFound:
            try:
                self.api.pull(name)
            except APIError as exc:
                raise ApplyError(f"{name} is not on the engine and the pull failed: {exc}") from exc
            info = self.api.inspect_image(name)
        repo_digest = (info.get("RepoDigests") or [info["Id"]])[0]
        outputs = {**checked, "imageId": info["Id"], "repoDigest": repo_digest}
        return f"{info['Id']}{name}", outputs, {}

    def delete(self, entry):
        if entry["inputs"].get("keepLocally"):
            return
        with contextlib.suppress(NotFound):
            self.api.remove_image(
                entry["outputs"]["imageId"], force=bool(entry["inputs"].get("forceRemove"))
            )


class ContainerHandler(Handler):
    def check(self, reg):
        di.container_spec(reg.name, reg.inputs, self.applier.loopback_ports)
        return reg.inputs

    def exists(self, entry):
        try:
            self.api.inspect_container(entry["id"])
            return True
        except NotFound:
            return False

    def create(self, reg, checked, args):
        spec = di.container_spec(reg.name, checked, self.applier.loopback_ports)
        api = self.api
        name = spec.create["name"]
        try:
            api.inspect_image(spec.create["image"])
        except ImageNotFound:
            raise ApplyError(
                f"image {spec.create['image']} of container {name} is not on the "
                "engine (the applier pulls only through a RemoteImage)"
            ) from None
        try:
            api.inspect_container(name)
            raise ApplyError(
                f"a container named {name!r} already exists and is not in this "
                "stack's state (remove it, or `down` the stack that made it)"
            )
        except NotFound:
            pass
        host_config = api.create_host_config(
            **{k: v for k, v in spec.host_config.items() if v is not None}
        )
        networking = None
        if spec.first_network:
            net, aliases = spec.first_network
            networking = api.create_networking_config(
                {net: api.create_endpoint_config(aliases=aliases or None)}
            )
        created = api.create_container(
            **{k: v for k, v in spec.create.items() if v is not None},
            host_config=host_config,
            networking_config=networking,
            detach=True,
            use_config_proxy=False,
        )
        cid = created["Id"]
        try:
            for connect in spec.more_networks:
                api.connect_container_to_network(
                    cid, **{k: v for k, v in connect.items() if v is not None}
                )
            if spec.uploads:
                api.put_archive(cid, "/", di.upload_tar(spec.uploads, self._read_source))
            if spec.start:
                api.start(cid)
                self._await_running(cid, name, spec)
        except (ApplyError, APIError) as exc:
            raise _PartialCreate(cid, f"container {name}: {exc}") from exc
        info = api.inspect_container(cid)
        networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
        outputs = {
            **checked,
            "name": name,
            "hostname": info["Config"].get("Hostname", ""),
            "networkDatas": [
                {
                    "networkName": n,
                    "ipAddress": d.get("IPAddress", ""),
                    "gateway": d.get("Gateway", ""),
                    "macAddress": d.get("MacAddress", ""),
                    "ipPrefixLength": d.get("IPPrefixLen", 0),
                }
                for n, d in sorted(networks.items())
            ],
        }
        return (
            cid,
            outputs,
            {"stopTimeout": spec.stop_timeout, "removeVolumes": spec.remove_volumes},
        )

    def _read_source(self, path: str) -> bytes:
        return (self.applier.root / path).read_bytes()

    def _await_running(self, cid: str, name: str, spec: di.ContainerSpec) -> None:
        deadline = time.monotonic() + (spec.wait_timeout if spec.wait else 15)
        while True:
            state = self.api.inspect_container(cid)["State"]
            health = (state.get("Health") or {}).get("Status")
            if not state.get("Running") and (spec.must_run or spec.wait):
                raise ApplyError(
                    f"exited with code {state.get('ExitCode')} ({state.get('Error') or 'no error'})"
                    f"; {self._tail(cid)}"
                )
            if not spec.wait or health in (None, "healthy"):
                return
            if health == "unhealthy":
                raise ApplyError(f"unhealthy: {self._health_log(state)}")
            if time.monotonic() > deadline:
                raise ApplyError(
                    f"not healthy within waitTimeout={spec.wait_timeout}s "
                    f"(health {health}): {self._health_log(state)}\n"
                    f"{self._tail(cid)}"
                )
            time.sleep(1)

    def _health_log(self, state: dict) -> str:
        entries = (state.get("Health") or {}).get("Log") or []
        return (entries[-1].get("Output") or "").strip()[-500:] if entries else "no probe yet"

    def _tail(self, cid: str) -> str:
        # Not the logs themselves: a service's output may hold secrets; the failed container
        # is kept (marked failed in state) for `docker logs`.
        name = self.api.inspect_container(cid)["Name"].lstrip("/")
        return f"see `docker logs {name}`"

    def delete(self, entry):
        extra = entry.get("extra") or {}
        try:
            self.api.stop(entry["id"], timeout=int(extra.get("stopTimeout", 10)))
        except NotFound:
            return
        except APIError:
            pass
        with contextlib.suppress(NotFound):
            self.api.remove_container(
                entry["id"], v=bool(extra.get("removeVolumes", True)), force=True
            )


class CommandHandler(Handler):
    delete_before_replace = False  # pulumi-command's default; the option can ask for it

    def check(self, reg):
        di.check_command(reg.name, reg.inputs)
        return reg.inputs

    def replaces(self, keys):
        return "triggers" in keys

    def create(self, reg, checked, args):
        return self._run("create", checked, checked.get("create"), reg.name, None)

    def update(self, reg, checked, args, old):
        script = checked.get("update") or checked.get("create")
        return self._run("update", checked, script, reg.name, old)

    def delete(self, entry):
        if entry["inputs"].get("delete"):
            self._run("delete", entry["inputs"], entry["inputs"]["delete"], entry["name"], entry)

    def _run(self, phase, inputs, script, name, previous):
        outputs = {**inputs, "stdout": "", "stderr": ""}
        if not script:
            return f"{name}-{phase}", outputs, {}
        env = dict(os.environ)
        env.update({k: str(v) for k, v in (inputs.get("environment") or {}).items()})
        if previous is not None and inputs.get("addPreviousOutputInEnv", True):
            env["PULUMI_COMMAND_STDOUT"] = previous["outputs"].get("stdout", "")
            env["PULUMI_COMMAND_STDERR"] = previous["outputs"].get("stderr", "")
        interpreter = list(inputs.get("interpreter") or ["/bin/sh", "-c"])
        cwd = self.applier.root / inputs["dir"] if inputs.get("dir") else self.applier.root
        done = subprocess.run(  # noqa: S603 - the program's own command, as pulumi-command runs it
            [*interpreter, script],
            input=inputs.get("stdin"),
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            shown = (
                "output withheld: logging=none"
                if inputs.get("logging") == "none"
                else done.stderr.strip()[-2000:]
            )
            raise ApplyError(
                f"command:local:Command {name} {phase} exited {done.returncode} ({shown})"
            )
        outputs["stdout"] = done.stdout.removesuffix("\n")
        outputs["stderr"] = done.stderr.removesuffix("\n")
        id_ = hashlib.sha256(f"{name}{time.time()}".encode()).hexdigest()[:16]
        return id_, outputs, {}


HANDLERS: dict[str, type[Handler]] = {
    di.NETWORK: NetworkHandler,
    di.VOLUME: VolumeHandler,
    di.IMAGE: ImageHandler,
    di.REMOTE_IMAGE: RemoteImageHandler,
    di.CONTAINER: ContainerHandler,
    di.LOCAL_COMMAND: CommandHandler,
}


def _host_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


# --- running the program --------------------------------------------------------------------


def fake_delegate() -> Delegate:
    """The harness's deterministic fakes (fake PEMs, fake random strings)."""
    from tools.mock_graph import FakeProviders

    fakes = FakeProviders()
    return fakes.new_resource


def faithful_delegate() -> Delegate:
    """Real tls/random values: the mock harness's provider-faithful mode."""
    from tools.mock_graph import FaithfulProviders

    return FaithfulProviders().new_resource


@dataclass
class Result:
    changes: list[Change]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    unchanged: int


def _check_provider_config(values: Mapping[str, str]) -> None:
    host = values.get("docker:host")
    if host and host not in ("unix:///var/run/docker.sock", docker_base_url()):
        raise Unsupported(
            "pulumi:providers:docker",
            "default",
            [f"docker:host {host!r}: the applier applies to the local engine only"],
        )


def up(
    stack: str,
    config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    program: Path = PROGRAM,
    root: Path | None = None,
    state_dir: Path | None = None,
    delegate: Delegate | None = None,
    loopback_ports: bool = True,
    log: Callable[[str], None] = print,
) -> Result:
    """Apply the stack. Raises ApplyError (with the changes made) when anything fails, the
    program's SettingsError on bad config (before anything is touched)."""
    program = program.resolve()
    root = (root or program.parent).resolve()
    state = State.load(state_path(stack, state_dir or root / STATE_DIR_NAME))
    applier = Applier(
        state, delegate or faithful_delegate(), root, loopback_ports=loopback_ports, log=log
    )
    values, secret_keys = stack_config(stack, config, secrets, root=root)
    _check_provider_config(values)
    # Every input checked on the recorded graph (fake outputs) before anything is touched.
    from tools.mock_graph import run_program

    graph = run_program(stack, config=config, secrets=secrets, program=program, root=root)
    preflight(applier, graph.resources)
    monitor = ApplyingMonitor(applier)
    try:
        outputs, secret_outputs = _run(monitor, program, root, stack, values, secret_keys)
    except Exception as exc:
        applier.wait_idle()
        if isinstance(exc, SettingsError | StackCollisionError) and not applier.changes:
            raise  # bad config, or another stack's names: nothing was touched
        reasons = applier.failures or [f"{type(exc).__name__}: {exc}"]
        raise ApplyError("; ".join(reasons), applier.changes) from exc
    if applier.failures:
        raise ApplyError("; ".join(applier.failures), applier.changes)
    try:
        applier.delete_unseen()
    except Exception as exc:
        raise ApplyError(
            f"deleting what the program no longer declares: {exc}", applier.changes
        ) from exc
    unchanged = len(applier.done) - sum(c.action != "delete" for c in applier.changes)
    return Result(applier.changes, outputs, secret_outputs, max(unchanged, 0))


def preflight(applier: Applier, resources) -> None:
    """Raise one Unsupported naming every resource and input the applier cannot apply."""
    problems = []
    for r in resources:
        if not r.custom:
            continue
        reg = Registration(r.urn, r.type, r.name, dict(r.inputs), [], {})
        try:
            handler = applier._handler(r.type, r.name)
            if not isinstance(handler, DelegatedHandler):
                handler.check(reg)
        except Unsupported as exc:
            problems += [f"{exc.type} {exc.name}: {p}" for p in exc.problems]
    if problems:
        raise Unsupported("stack", applier.state.path.stem, problems)


def down(
    stack: str,
    root: Path = ROOT,
    state_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[Change]:
    """Delete everything in the stack's state, in reverse dependency order."""
    state = State.load(state_path(stack, state_dir or root / STATE_DIR_NAME))
    applier = Applier(state, faithful_delegate(), root, log=log)
    try:
        delete_in_reverse_order(applier, dict(state.resources))
    except Exception as exc:
        raise ApplyError(str(exc), applier.changes) from exc
    return applier.changes


def _quiet_reported_failures(loop, context) -> None:
    """A failed resource's error reaches every Output that depends on it; `up` reports it
    once, so asyncio's "Future exception was never retrieved" for it is noise."""
    if isinstance(context.get("exception"), ApplyError | Unsupported | Skipped):
        return
    loop.default_exception_handler(context)


def _run(monitor, program: Path, root: Path, stack: str, values: dict, secret_keys: set):
    """The program under the mock runtime with the applier as provider: what
    tools.mock_graph.run_program does, with our monitor instead of the fakes'."""
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.settings import SETTINGS, get_root_resource, set_root_resource
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    env = {
        "PULUMI_CONFIG": json.dumps(values),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret_keys)),
    }
    saved_env = {k: os.environ.get(k) for k in env}
    old_cwd = Path.cwd()
    with SETTINGS.lock:
        for future in [f for f in SETTINGS.outputs if f.get_loop().is_closed()]:
            SETTINGS.outputs.discard(future)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_reported_failures)
    asyncio.set_event_loop(loop)
    try:
        os.environ.update(env)
        os.chdir(root)
        set_all_config(values, sorted(secret_keys))
        set_root_resource(None)
        pulumi.runtime.set_mocks(
            monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
        )
        SETTINGS.rpc_manager.clear()
        try:
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__")))
        except BaseException:
            # The SDK gives up at the first failure: end what it left pending on this loop
            # (else "Task was destroyed but it is pending!" for each, at collection).
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            raise
        outputs: dict[str, Any] = {}
        secret: set[str] = set()
        for name, value in getattr(get_root_resource(), "outputs", {}).items():
            output = pulumi.Output.from_input(value)
            outputs[name] = _sync_await(output.future())
            if _sync_await(output.is_secret()):
                secret.add(name)
        return outputs, secret
    finally:
        set_all_config({}, [])
        os.chdir(old_cwd)
        for key, old in saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        loop.close()
        asyncio.set_event_loop(None)
        monitor.close_thread_loops()
