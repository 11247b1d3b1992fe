"""Containers: who runs privileged, who has the Docker socket, who publishes ports, that
every container is hardened and that the hub limits the notebooks it starts.

Only the hub container (DockerSpawner) needs the Docker socket and a published port;
the gateway and the dev directory are reached over the Docker network.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import (
    CONTAINER,
    UNKNOWN,
    config,
    elements,
    env_map,
    flag,
    get,
    parent_type,
    text,
)
from .rule import MANDATORY, Rule

HUB_DEFAULTS = {"hubComponents": ["jupyterhub-zos:hub:Hub"]}
HUB_DESCRIPTIONS = {
    "hubComponents": "Component types whose own containers are the hub (the parent type "
    "in the container's URN). A container's name proves nothing: anyone can call one "
    "jupyterhub.",
}


def is_hub(args: ResourceValidationArgs, cfg: Mapping[str, Any]) -> bool:
    return parent_type(args) in cfg["hubComponents"]


def _host_mode(props: Mapping[str, Any], field: str) -> bool:
    return (text(get(props, field)) or "").strip().lower() == "host"


# no privileged containers --------------------------------------------------------------

# Capabilities that amount to root on the host as much as --privileged does
# (DAC_READ_SEARCH: open_by_handle_at reads any host file, the "shocker" escape).
HOST_ROOT_CAPABILITIES = {
    "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF",
}  # fmt: skip
# Host namespaces a container must not share.
HOST_NAMESPACES = {
    "networkMode": "the host's network",
    "pidMode": "the host's processes",
    "ipcMode": "the host's IPC",
    "usernsMode": "the host's user namespace",
}
# Confinement turned off: seccomp, AppArmor, SELinux labels.
UNCONFINED_RE = re.compile(
    r"^\s*(seccomp|apparmor)\s*[=:]\s*unconfined\s*$|^\s*label\s*[=:]\s*disable\s*$", re.I
)
# Host directories whose bind mount hands over the host: its root, its configuration,
# its kernel interfaces and devices, Docker's own state.
HOST_ROOT_PATHS = {
    "/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/usr", "/bin", "/sbin", "/lib",
    "/lib64", "/var", "/var/lib", "/var/lib/docker", "/run", "/var/run",
}  # fmt: skip


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
    for field, what in HOST_NAMESPACES.items():
        if _host_mode(props, field):
            report(
                f"container {args.name!r} sets {field}=host: it shares {what}, which no "
                f"container of this program needs. Remove `{field}`."
            )
    for option in elements(get(props, "securityOpts")):
        value = text(option)
        if value and UNCONFINED_RE.match(value):
            report(
                f"container {args.name!r} sets security option {value!r}, which turns off "
                "the confinement that keeps it from the host. Remove it."
            )
    for device in elements(get(props, "devices")):
        if device is None:
            continue
        path = text(get(device, "hostPath")) or "(unknown)"
        report(
            f"container {args.name!r} is given the host device {path}. No container of this "
            "program needs a host device; remove `devices`."
        )
    for path in mounted_host_paths(props):
        if posixpath.normpath(path).replace("//", "/") in HOST_ROOT_PATHS:
            report(
                f"container {args.name!r} bind-mounts the host's {path}, which hands it the "
                "host (files, devices or Docker's own state). Mount only the files it needs."
            )


NO_PRIVILEGED = Rule(
    name="no-privileged-containers",
    description="Containers run unprivileged: no privileged mode, no host-root capabilities, "
    "no host namespaces, no unconfined seccomp/AppArmor, no devices, no mount of host roots.",
    level=MANDATORY,
    validate=validate_no_privileged,
    defaults={},
    descriptions={},
    severity=Severity.CRITICAL,
    remediation="Remove privileged=True, SYS_ADMIN-class capabilities, host network/pid/ipc "
    "modes, unconfined security options, devices and bind mounts of host directories.",
)


# the docker socket only in the hub -----------------------------------------------------

SOCKET_RE = re.compile(r"(^|/)docker\.sock$")
# Where Docker's socket lives: a mount of any directory above it hands it over too.
SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")
ROOTLESS_SOCKET_DIR_RE = re.compile(r"^/run/user(/\d+)?$")


def reaches_socket(path: str) -> bool:
    path = posixpath.normpath(path).replace("//", "/")
    if SOCKET_RE.search(path) or ROOTLESS_SOCKET_DIR_RE.match(path):
        return True
    return any(sock == path or sock.startswith(path.rstrip("/") + "/") for sock in SOCKET_PATHS)


def mounted_host_paths(props: Mapping[str, Any]) -> Iterator[str]:
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
    for path in mounted_host_paths(args.props):
        if reaches_socket(path):
            report(
                f"container {args.name!r} mounts {path}, the Docker socket or a directory "
                "holding it: whoever controls "
                "it is root on the Docker host. Only the hub (DockerSpawner) may have it; "
                "remove the mount."
            )


SOCKET_ONLY_IN_HUB = Rule(
    name="docker-socket-only-in-hub",
    description="Only the hub container (a container of the hub component) mounts the Docker "
    "socket or a directory holding it (DockerSpawner needs it).",
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
    if _host_mode(args.props, "networkMode"):
        report(
            f"container {args.name!r} sets networkMode=host: every port it listens on is "
            "open on the Docker host. Only the hub publishes a port; use the Docker network."
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
    remediation="Remove `ports`, publishAllPorts and networkMode=host from containers "
    "other than the hub.",
)


# every container hardened -------------------------------------------------------------

NO_NEW_PRIVILEGES_RE = re.compile(r"^\s*no-new-privileges(\s*[=:]\s*true)?\s*$", re.I)


def validate_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    props = args.props
    drops = get(props, "capabilities", "drops")
    if drops is not UNKNOWN:
        dropped = {(text(c) or "").upper().removeprefix("CAP_") for c in elements(drops)}
        if "ALL" not in dropped:
            report(
                f"container {args.name!r} keeps Docker's default capabilities (NET_RAW, "
                "MKNOD, SETUID, ...). Set capabilities.drops=['ALL'] and add back in "
                "`capabilities.adds` only what it needs."
            )
    opts = get(props, "securityOpts")
    if opts is not UNKNOWN and not any(
        NO_NEW_PRIVILEGES_RE.match(text(o) or "") for o in elements(opts)
    ):
        report(
            f"container {args.name!r} lets its processes gain privileges (setuid binaries, "
            "file capabilities). Add 'no-new-privileges:true' to `securityOpts`."
        )
    memory = get(props, "memory")
    limited = isinstance(memory, int | float) and memory > 0
    if memory is not UNKNOWN and not limited and not is_hub(args, config(args, HUB_DEFAULTS)):
        report(
            f"container {args.name!r} has no memory limit: one runaway process takes "
            "the Docker host's memory from every user. Set `memory` (MB)."
        )


HARDENED = Rule(
    name="containers-hardened",
    description="Every container drops all capabilities it does not add back, runs with "
    "no-new-privileges, and every container but the hub has a memory limit.",
    level=MANDATORY,
    validate=validate_hardened,
    defaults=HUB_DEFAULTS,
    descriptions=HUB_DESCRIPTIONS,
    severity=Severity.HIGH,
    remediation="Set capabilities.drops=['ALL'] (adding back only what is needed), "
    "securityOpts=['no-new-privileges:true'] and `memory`.",
)


# notebooks limited ---------------------------------------------------------------------

NOTEBOOK_DEFAULTS = {
    **HUB_DEFAULTS,
    "maxNotebookMemory": "16G",
    "maxNotebookCpus": 8,
    "maxNotebookPids": 4096,
}
NOTEBOOK_DESCRIPTIONS = {
    **HUB_DESCRIPTIONS,
    "maxNotebookMemory": "The most memory one notebook server may be given "
    "(NOTEBOOK_MEM_LIMIT), units K, M, G, T.",
    "maxNotebookCpus": "The most CPUs one notebook server may be given (NOTEBOOK_CPU_LIMIT).",
    "maxNotebookPids": "The most processes one notebook server may run (NOTEBOOK_PIDS_LIMIT).",
}
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _bytes(size: str) -> int | None:
    match = re.fullmatch(r"\s*([0-9]+)\s*([KMGT]?)B?\s*", size.upper())
    return int(match[1]) * _UNITS[match[2]] if match else None


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def validate_notebooks_limited(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The hub tells DockerSpawner the notebooks' limits in its environment (the
    hardening itself, capabilities and no-new-privileges, is in the hub image's
    jupyterhub_config.py and has no switch)."""
    if args.resource_type != CONTAINER:
        return
    cfg = config(args, NOTEBOOK_DEFAULTS)
    if not is_hub(args, cfg) or get(args.props, "envs") is UNKNOWN:
        return
    env = env_map(args.props)
    checks = [  # key, how to read it, the policy setting of its maximum
        ("NOTEBOOK_MEM_LIMIT", _bytes, "maxNotebookMemory"),
        ("NOTEBOOK_CPU_LIMIT", _number, "maxNotebookCpus"),
        ("NOTEBOOK_PIDS_LIMIT", _number, "maxNotebookPids"),
    ]
    for key, parse, setting in checks:
        most = cfg[setting]
        value = env.get(key)
        if value is None or not str(value).strip():
            report(
                f"hub container {args.name!r} starts notebook servers without {key}: one "
                f"user can take the Docker host from the others. Set {key} (at most "
                f"{most}); the program's default is on unless it was set to none/0."
            )
            continue
        amount, limit = parse(str(value)), parse(str(most))
        if amount is None or amount <= 0 or (limit is not None and amount > limit):
            report(
                f"hub container {args.name!r} gives each notebook server {key}={value}; "
                f"the most this pack allows is {most} (policy setting {setting})."
            )


NOTEBOOKS_LIMITED = Rule(
    name="notebooks-limited",
    description="The hub gives every notebook server a memory, CPU and process limit, each "
    "at most the pack's maximum.",
    level=MANDATORY,
    validate=validate_notebooks_limited,
    defaults=NOTEBOOK_DEFAULTS,
    descriptions=NOTEBOOK_DESCRIPTIONS,
    severity=Severity.HIGH,
    remediation="Set NOTEBOOK_MEM_LIMIT, NOTEBOOK_CPU_LIMIT and NOTEBOOK_PIDS_LIMIT "
    "(their defaults: 2G, 2, 512) within the pack's maxima.",
)

RULES = [NO_PRIVILEGED, SOCKET_ONLY_IN_HUB, ONLY_HUB_PUBLISHES, HARDENED, NOTEBOOKS_LIMITED]
