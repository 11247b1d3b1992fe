"""Containers: who runs privileged, who has the Docker socket, who publishes ports.

Only the hub container (DockerSpawner) needs the Docker socket and a published port;
the gateway and the dev directory are reached over the Docker network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import CONTAINER, UNKNOWN, config, docker_name, elements, flag, get, text
from .rule import MANDATORY, Rule

HUB_DEFAULTS = {"hubContainers": ["jupyterhub"]}
HUB_DESCRIPTIONS = {
    "hubContainers": "Docker names of the hub container(s) (the Pulumi name when the "
    "Docker name is not set).",
}


def is_hub(args: ResourceValidationArgs, cfg: Mapping[str, Any]) -> bool:
    return docker_name(args) in cfg["hubContainers"]


# no privileged containers --------------------------------------------------------------

# Capabilities that amount to root on the host as much as --privileged does.
HOST_ROOT_CAPABILITIES = {"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO"}


def validate_no_privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    props = args.props
    if flag(get(props, "privileged")):
        report(
            f"container {args.name!r} sets privileged=true, which gives it root on the Docker "
            "host. Remove `privileged`; no container of this program needs it."
        )
    for cap in elements(get(props, "capabilities", "adds")):
        name = text(cap)
        if name and name.upper().removeprefix("CAP_") in HOST_ROOT_CAPABILITIES:
            report(
                f"container {args.name!r} adds capability {name}, which is as good as root on "
                "the Docker host. Remove it from `capabilities.adds`."
            )


NO_PRIVILEGED = Rule(
    name="no-privileged-containers",
    description="Containers run unprivileged: no privileged mode, no host-root capabilities.",
    level=MANDATORY,
    validate=validate_no_privileged,
    defaults={},
    descriptions={},
    severity=Severity.CRITICAL,
    remediation="Remove privileged=True and SYS_ADMIN-class capabilities from the container.",
)


# the docker socket only in the hub -----------------------------------------------------

SOCKET_RE = re.compile(r"(^|/)docker\.sock$")


def _mounted_host_paths(props: Mapping[str, Any]) -> Iterator[str]:
    for volume in elements(get(props, "volumes")):
        path = text(get(volume, "hostPath"))
        if path:
            yield path
    for mount in elements(get(props, "mounts")):
        kind = text(get(mount, "type"))
        source = text(get(mount, "source"))
        if source and kind in (None, "bind"):
            yield source


def validate_socket_only_in_hub(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    cfg = config(args, HUB_DEFAULTS)
    if is_hub(args, cfg):
        return
    for path in _mounted_host_paths(args.props):
        if SOCKET_RE.search(path.rstrip("/")):
            report(
                f"container {args.name!r} mounts the Docker socket {path}: whoever controls "
                "it is root on the Docker host. Only the hub (DockerSpawner) may have it; "
                "remove the mount."
            )


SOCKET_ONLY_IN_HUB = Rule(
    name="docker-socket-only-in-hub",
    description="Only the hub container mounts the Docker socket (DockerSpawner needs it).",
    level=MANDATORY,
    validate=validate_socket_only_in_hub,
    defaults=HUB_DEFAULTS,
    descriptions=HUB_DESCRIPTIONS,
    severity=Severity.CRITICAL,
    remediation="Remove the /var/run/docker.sock mount from every container but the hub.",
)


# only the hub publishes a port ---------------------------------------------------------


def validate_only_hub_publishes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    cfg = config(args, HUB_DEFAULTS)
    if is_hub(args, cfg):
        return
    published = []
    for port in elements(get(args.props, "ports")):
        if port is UNKNOWN:
            published.append("(unknown)")
        elif port is not None:
            external = get(port, "external")
            internal = get(port, "internal")
            published.append(f"{internal}->{external if external is not None else 'random'}")
    if published:
        report(
            f"container {args.name!r} publishes {', '.join(map(str, published))} on the "
            "Docker host. Only the hub is reached from outside; the gateway and the "
            "directory are reached over the Docker network. Remove `ports`."
        )
    if flag(get(args.props, "publishAllPorts")):
        report(
            f"container {args.name!r} sets publishAllPorts=true. Only the hub publishes a "
            "port; remove publishAllPorts."
        )


ONLY_HUB_PUBLISHES = Rule(
    name="only-hub-publishes-ports",
    description="Only the hub publishes a port on the Docker host; the gateway and the dev "
    "directory are reached over the Docker network.",
    level=MANDATORY,
    validate=validate_only_hub_publishes,
    defaults=HUB_DEFAULTS,
    descriptions=HUB_DESCRIPTIONS,
    severity=Severity.HIGH,
    remediation="Remove `ports` from containers other than the hub.",
)

RULES = [NO_PRIVILEGED, SOCKET_ONLY_IN_HUB, ONLY_HUB_PUBLISHES]
