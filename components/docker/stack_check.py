"""Before anything changes: the stack's Docker names and its HTTPS port are free, or its own.

Several stacks share one Docker host by their names (components/docker/names.py) and
their label (STACK_LABEL, `<project>/<stack>`). A stack must not take over another
one's objects: Docker would refuse a container or network of a taken name halfway
through `pulumi up`, and would hand over a volume of a taken name silently (volume
create is idempotent) - another stack's hub database or a user's files. The program
therefore lists the Docker host's containers, volumes and networks (read-only, with the
docker SDK on docker:host / DOCKER_HOST) before it declares any resource, and stops with
one error naming every object that carries one of this stack's names but another
stack's label, every container of another stack publishing HUB_HTTPS_PORT, and every
container of another stack with a bind mount in this stack's HUB_PKI_DIR (each hub
writes <dir>/<user> from its own CA: two stacks there would overwrite each other's
users' certificates, and a user name on both would read the other's key).

What is this stack's: an object with its label; on the dev stack also an unlabeled one
(the dev stack's objects have no label: they keep the inputs they had before several
stacks). On any other stack an unlabeled object of its names is refused too: its names
are new with the label, so someone else made it.

Under the unit tests' Pulumi mocks there is no Docker host: the check is skipped there
(tools/mock_graph says so); the e2e applier and the real engine run it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pulumi

from components.docker import names

KINDS = ("container", "volume", "network")
UNLABELED = "no stack label (the dev stack's objects have none, or it was made by hand)"


@dataclass(frozen=True)
class DockerObject:
    """One object the Docker host lists, as the check needs it."""

    kind: str  # container, volume or network
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    published: tuple[int, ...] = ()  # host ports a container publishes
    binds: tuple[str, ...] = ()  # host paths a container bind-mounts


@dataclass(frozen=True)
class Wanted:
    """What this stack will make or use, by kind, and the host port its hub publishes."""

    names: Mapping[str, frozenset[str]]
    port: int
    hub_container: str
    pki_dir: str | None = None  # HUB_PKI_DIR on the Docker host


class StackCollisionError(pulumi.RunError):
    """The stack's names or port are another stack's; nothing was deployed."""

    def __init__(self, stack: str, problems: list[str]):
        self.problems = problems
        lines = [
            f"stack '{stack}': {len(problems)} Docker object(s) on the Docker host belong to "
            "another stack; nothing was deployed.",
            *(f"  - {p}" for p in problems),
            "Each stack on one Docker host needs its own names (they derive from the stack's "
            "name; DOCKER_NETWORK_NAME, when set, names the network), its own "
            "HUB_HTTPS_PORT and its own HUB_PKI_DIR. See docs/howto/day-2.md, several stacks "
            "on one host.",
        ]
        super().__init__("\n".join(lines))


def wanted(
    stack_names: names.StackNames,
    users: Iterable[str],
    port: int,
    *,
    dev_gateway: bool,
    dev_directory: bool,
    pki_dir: str | None = None,
) -> Wanted:
    """The names the stack's resources and its users' notebooks take."""
    users = sorted(set(users))
    containers = {stack_names.hub_container}
    volumes = {stack_names.data_volume}
    networks = {stack_names.network}
    if dev_gateway:
        containers.add(stack_names.gateway_container)
    if dev_directory:
        containers.add(stack_names.directory_container)
        volumes.add(stack_names.directory_volume)
        networks.add(stack_names.directory_network)
    containers.update(stack_names.notebook_container_name(u) for u in users)
    volumes.update(stack_names.user_volume_name(u) for u in users)
    return Wanted(
        names={
            "container": frozenset(containers),
            "volume": frozenset(volumes),
            "network": frozenset(networks),
        },
        port=port,
        hub_container=stack_names.hub_container,
        pki_dir=pki_dir,
    )


def _within(path: str, directory: str) -> bool:
    """`path` is `directory` or inside it."""
    a, b = path.rstrip("/"), directory.rstrip("/")
    return a == b or a.startswith(b + "/")


def _owner_of(obj: DockerObject, owner: str, keeps_unlabeled: bool) -> str | None:
    """The other owner, or None when `obj` is this stack's."""
    found = obj.labels.get(names.STACK_LABEL) or ""
    if found == owner or (not found and keeps_unlabeled):
        return None
    return f"stack {found}" if found else UNLABELED


def collisions(
    found: Iterable[DockerObject], want: Wanted, owner: str, keeps_unlabeled: bool
) -> list[str]:
    """Every problem, one line each: pure, so the decision is tested on listed objects."""
    problems = []
    for obj in sorted(found, key=lambda o: (KINDS.index(o.kind), o.name)):
        other = _owner_of(obj, owner, keeps_unlabeled)
        if obj.name in want.names[obj.kind] and other:
            problems.append(f"{obj.kind} '{obj.name}' is this stack's name but belongs to {other}")
        if obj.kind == "container" and want.port in obj.published:
            ours = obj.name == want.hub_container and other is None
            if not ours:
                whose = other or f"this stack ({owner}), yet it is not its hub"
                problems.append(
                    f"container '{obj.name}' of {whose} publishes port {want.port}, "
                    "this stack's HUB_HTTPS_PORT"
                )
        # Only another stack's (labelled) containers: a host's own tools may mount / or
        # the directory (node-exporter, backups), and are not a second hub writing there.
        labelled = bool(obj.labels.get(names.STACK_LABEL))
        if obj.kind == "container" and other and labelled and want.pki_dir:
            shared = sorted(b for b in obj.binds if _within(b, want.pki_dir))
            if shared:
                problems.append(
                    f"container '{obj.name}' of {other} mounts {shared[0]}, in this stack's "
                    f"HUB_PKI_DIR {want.pki_dir}: give each stack its own HUB_PKI_DIR"
                )
    return problems


def list_objects(client) -> list[DockerObject]:
    """The Docker host's containers (running or not), volumes and networks: read-only
    calls of the docker SDK's low-level API."""
    found = []
    for c in client.containers(all=True):
        ports = tuple(
            sorted({p["PublicPort"] for p in c.get("Ports") or [] if p.get("PublicPort")})
        )
        binds = tuple(
            sorted({m["Source"] for m in c.get("Mounts") or [] if m.get("Type") == "bind"})
        )
        for name in c.get("Names") or []:
            labels = c.get("Labels") or {}
            found.append(DockerObject("container", name.lstrip("/"), labels, ports, binds))
    for v in client.volumes().get("Volumes") or []:
        found.append(DockerObject("volume", v["Name"], v.get("Labels") or {}))
    for n in client.networks():
        found.append(DockerObject("network", n["Name"], n.get("Labels") or {}))
    return found


def docker_client(docker_host: str | None):
    """The docker SDK's client for docker:host (else DOCKER_HOST, else the local socket):
    ssh:// through the `ssh` binary, as the docker CLI and the program's commands do."""
    import docker

    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    host = env.get("DOCKER_HOST", "")
    return docker.from_env(
        environment=env, use_ssh_client=host.startswith("ssh://"), timeout=60
    ).api


def engine_is_mocked() -> bool:
    """True under the unit tests' mocks (no Docker host behind them): their monitor says
    so (tools/mock_graph RecordingMonitor.docker_engine)."""
    from pulumi.runtime.settings import get_monitor

    return getattr(get_monitor(), "docker_engine", True) is False


def check_stack_objects(settings, client=None) -> None:
    """Raise StackCollisionError when the stack's names or port are another stack's.
    `settings`: components.settings.Settings; `client`: a docker SDK APIClient (default:
    the stack's Docker host)."""
    if client is None and engine_is_mocked():
        return
    want = wanted(
        settings.names,
        settings.hub.users,
        settings.hub.https_port,
        dev_gateway=settings.gateway.dev_gateway,
        dev_directory=settings.ldap.dev_directory,
        pki_dir=settings.hub.pki_dir,
    )
    try:
        found = list_objects(client or docker_client(settings.docker_host))
    except Exception as exc:  # the engine's own words: unreachable, refused, ...
        raise pulumi.RunError(
            f"stack '{settings.stack}': cannot list the Docker host's objects to check that "
            f"this stack's names are free ({type(exc).__name__}: {exc}); nothing was deployed."
        ) from exc
    keeps_unlabeled = settings.stack == names.DEV_STACK
    problems = collisions(found, want, settings.label, keeps_unlabeled)
    if problems:
        raise StackCollisionError(settings.stack, problems)
