"""Pure mapping of pulumi-docker inputs (camelCase, as the provider gets them) to docker SDK
(`docker==7.2.0`, low-level `APIClient`) arguments, for the local applier (tests/e2e/applier.py).

Nothing here talks to an engine: every function takes recorded inputs and returns plain
kwargs, so the mapping is unit-tested on its own. An input with no mapping raises
`Unsupported` naming the type, the resource and the input: nothing is dropped silently.

Units and defaults follow pulumi-docker 5.x (the Terraform docker provider underneath):
`memory`, `memorySwap`, `memoryReservation` and `shmSize` are MB; durations are Go
durations ("30s", "1m30s"); `restart` defaults to "no", `mustRun` and `start` to true,
`waitTimeout` to 60 s, `logDriver` to json-file, port `ip` to 0.0.0.0 and `protocol` to tcp.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
LOCAL_COMMAND = "command:local:Command"


class Unsupported(Exception):  # noqa: N818 - the applier's one "cannot apply this" error
    """An input (or a value of it) the applier cannot apply."""

    def __init__(self, type_: str, name: str, problems: Iterable[str]):
        self.type, self.name, self.problems = type_, name, list(problems)
        super().__init__(
            f"the local applier cannot apply {type_} {name!r}: " + "; ".join(self.problems)
        )


def _check_keys(
    type_: str, name: str, inputs: Mapping[str, Any], supported: Iterable[str], where: str = ""
) -> None:
    unknown = sorted(set(inputs) - set(supported))
    if unknown:
        raise Unsupported(
            type_,
            name,
            [
                f"unsupported input {where}{k} (supported: {', '.join(sorted(supported))})"
                for k in unknown
            ],
        )


def _int(value: Any) -> int:
    """Numbers arrive as floats from the wire (48.0): back to ints, refusing fractions."""
    number = float(value)
    if number != int(number):
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


def duration_ns(text: str) -> int:
    """A Go duration ("30s", "1m30s", "500ms", "0s") in nanoseconds, as the Docker API wants."""
    if text in ("0", ""):
        return 0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a Go duration such as 30s or 1m30s")
    return int(sum(float(n) * _UNIT_NS[u] for n, u in parts))


def _labels(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """pulumi-docker labels are a list of {label, value}."""
    return {item["label"]: item["value"] for item in items or []}


# --- networks and volumes --------------------------------------------------------------------

NETWORK_INPUTS = (
    "name",
    "driver",
    "internal",
    "attachable",
    "ingress",
    "ipv6",
    "labels",
    "options",
    "ipamConfigs",
    "ipamDriver",
    "ipamOptions",
    "checkDuplicate",
)


def network_kwargs(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`APIClient.create_network` kwargs. A name is required (the program always gives one)."""
    _check_keys(NETWORK, name, inputs, NETWORK_INPUTS)
    if not inputs.get("name"):
        raise Unsupported(NETWORK, name, ["input name is required by the applier"])
    ipam = None
    if inputs.get("ipamConfigs") or inputs.get("ipamDriver") or inputs.get("ipamOptions"):
        from docker.types import IPAMConfig, IPAMPool

        pools = []
        for i, cfg in enumerate(inputs.get("ipamConfigs") or []):
            _check_keys(
                NETWORK,
                name,
                cfg,
                ("subnet", "ipRange", "gateway", "auxAddress"),
                f"ipamConfigs[{i}].",
            )
            pools.append(
                IPAMPool(
                    subnet=cfg.get("subnet"),
                    iprange=cfg.get("ipRange"),
                    gateway=cfg.get("gateway"),
                    aux_addresses=cfg.get("auxAddress"),
                )
            )
        ipam = IPAMConfig(
            driver=inputs.get("ipamDriver") or "default",
            pool_configs=pools,
            options=inputs.get("ipamOptions"),
        )
    return {
        "name": inputs["name"],
        "driver": inputs.get("driver") or "bridge",
        "options": dict(inputs.get("options") or {}) or None,
        "ipam": ipam,
        "internal": bool(inputs.get("internal", False)),
        "labels": _labels(inputs.get("labels")) or None,
        "enable_ipv6": bool(inputs.get("ipv6", False)),
        "attachable": bool(inputs.get("attachable", False)),
        "ingress": bool(inputs.get("ingress", False)),
    }


VOLUME_INPUTS = ("name", "driver", "driverOpts", "labels")


def volume_kwargs(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """`APIClient.create_volume` kwargs (cluster volumes are not supported)."""
    _check_keys(VOLUME, name, inputs, VOLUME_INPUTS)
    if not inputs.get("name"):
        raise Unsupported(VOLUME, name, ["input name is required by the applier"])
    return {
        "name": inputs["name"],
        "driver": inputs.get("driver") or "local",
        "driver_opts": dict(inputs.get("driverOpts") or {}) or None,
        "labels": _labels(inputs.get("labels")) or None,
    }


# --- images -------------------------------------------------------------------------------------

IMAGE_INPUTS = ("imageName", "build", "buildOnPreview", "skipPush", "registry")
BUILD_INPUTS = (
    "context",
    "dockerfile",
    "args",
    "target",
    "platform",
    "builderVersion",
    "addHosts",
    "network",
)


@dataclass(frozen=True)
class BuildSpec:
    """What `docker build` gets: context and Dockerfile as pulumi-docker resolves them
    (both relative to the program's directory; defaults `.` and `<context>/Dockerfile`)."""

    image_name: str
    context: str
    dockerfile: str
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None
    extra_hosts: dict[str, str] = field(default_factory=dict)
    network_mode: str | None = None


def build_spec(name: str, inputs: Mapping[str, Any]) -> BuildSpec:
    _check_keys(IMAGE, name, inputs, IMAGE_INPUTS)
    problems = []
    if not inputs.get("skipPush"):
        problems.append("skipPush must be true: the applier builds locally and never pushes")
    if inputs.get("registry"):
        problems.append("input registry is not supported (nothing is pushed)")
    if not inputs.get("imageName"):
        problems.append("input imageName is required")
    build = inputs.get("build") or {}
    unknown = sorted(set(build) - set(BUILD_INPUTS))
    problems += [
        f"unsupported input build.{k} (supported: {', '.join(BUILD_INPUTS)})" for k in unknown
    ]
    if build.get("builderVersion") not in (None, "BuilderV1", "BuilderBuildKit"):
        problems.append(f"build.builderVersion {build['builderVersion']!r} is not a builder")
    if problems:
        raise Unsupported(IMAGE, name, problems)
    context = build.get("context") or "."
    hosts = {}
    for entry in build.get("addHosts") or []:
        host, _, ip = entry.partition(":")
        hosts[host] = ip
    return BuildSpec(
        image_name=inputs["imageName"],
        context=context,
        dockerfile=build.get("dockerfile") or f"{context}/Dockerfile",
        args={k: str(v) for k, v in (build.get("args") or {}).items()},
        target=build.get("target") or None,
        platform=build.get("platform") or None,
        extra_hosts=hosts,
        network_mode=build.get("network") or None,
    )


REMOTE_IMAGE_INPUTS = ("name", "keepLocally", "forceRemove", "pullTriggers", "triggers", "platform")


def remote_image_name(name: str, inputs: Mapping[str, Any]) -> str:
    _check_keys(REMOTE_IMAGE, name, inputs, REMOTE_IMAGE_INPUTS)
    if not inputs.get("name"):
        raise Unsupported(REMOTE_IMAGE, name, ["input name is required"])
    return inputs["name"]


# --- containers ---------------------------------------------------------------------------------

# Inputs that only steer the provider (or a refresh), with no Docker API counterpart.
CONTAINER_PROVIDER_ONLY = (
    "destroyGraceSeconds",
    "containerReadRefreshTimeoutMilliseconds",
    "wait",
    "waitTimeout",
    "mustRun",
    "start",
    "removeVolumes",
    "rm",
)

CONTAINER_INPUTS = (
    "name",
    "image",
    "envs",
    "command",
    "entrypoints",
    "user",
    "workingDir",
    "hostname",
    "domainname",
    "labels",
    "healthcheck",
    "restart",
    "maxRetryCount",
    "networksAdvanced",
    "networkMode",
    "ports",
    "publishAllPorts",
    "volumes",
    "mounts",
    "tmpfs",
    "uploads",
    "capabilities",
    "securityOpts",
    "logDriver",
    "logOpts",
    "memory",
    "memorySwap",
    "memoryReservation",
    "cpuShares",
    "cpus",
    "cpuSet",
    "cpuPeriod",
    "cpuQuota",
    "privileged",
    "readOnly",
    "init",
    "ipcMode",
    "pidMode",
    "usernsMode",
    "cgroupnsMode",
    "cgroupParent",
    "shmSize",
    "sysctls",
    "ulimits",
    "groupAdds",
    "dns",
    "dnsOpts",
    "dnsSearches",
    "hosts",
    "stopSignal",
    "stopTimeout",
    "tty",
    "stdinOpen",
    "runtime",
    "storageOpts",
    "devices",
    "attach",
    "logs",
    *CONTAINER_PROVIDER_ONLY,
)

UPLOAD_INPUTS = (
    "file",
    "content",
    "contentBase64",
    "source",
    "sourceHash",
    "executable",
    "permissions",
    "owner",
    "group",
)


@dataclass(frozen=True)
class ContainerSpec:
    """Everything the applier needs to create, fill, start and check one container."""

    create: dict[str, Any]  # APIClient.create_container kwargs, without host_config
    host_config: dict[str, Any]  # APIClient.create_host_config kwargs
    first_network: tuple[str, list[str]] | None  # (network, aliases) given at create
    more_networks: list[dict[str, Any]]  # APIClient.connect_container_to_network kwargs
    uploads: list[dict[str, Any]]  # checked upload inputs (see upload_tar)
    start: bool
    must_run: bool
    wait: bool
    wait_timeout: int
    stop_timeout: int  # destroyGraceSeconds: seconds `docker stop` waits on delete
    remove_volumes: bool


def _memory_mb(value: Any) -> int:
    return _int(value) * 1024 * 1024


def _port_bindings(name: str, ports: list[Mapping[str, Any]], loopback: bool):
    exposed, bindings = [], {}
    for i, port in enumerate(ports):
        _check_keys(
            CONTAINER, name, port, ("internal", "external", "ip", "protocol"), f"ports[{i}]."
        )
        key = f"{_int(port['internal'])}/{port.get('protocol') or 'tcp'}"
        exposed.append((_int(port["internal"]), port.get("protocol") or "tcp"))
        ip = port.get("ip") or ("127.0.0.1" if loopback else "0.0.0.0")  # noqa: S104
        external = _int(port["external"]) if port.get("external") is not None else None
        bindings.setdefault(key, []).append((ip, external) if external else (ip,))
    return exposed, bindings


def _healthcheck(name: str, hc: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(
        CONTAINER,
        name,
        hc,
        ("tests", "interval", "timeout", "startPeriod", "retries"),
        "healthcheck.",
    )  # startInterval needs API 1.44; Docker 20.10 speaks 1.41
    result: dict[str, Any] = {"test": list(hc["tests"])}
    for key, api in (
        ("interval", "interval"),
        ("timeout", "timeout"),
        ("startPeriod", "start_period"),
    ):
        if hc.get(key):
            result[api] = duration_ns(hc[key])
    if hc.get("retries") is not None:
        result["retries"] = _int(hc["retries"])
    return result


def _mount(name: str, i: int, m: Mapping[str, Any]):
    from docker.types import Mount

    _check_keys(
        CONTAINER,
        name,
        m,
        ("target", "type", "source", "readOnly", "bindOptions", "volumeOptions", "tmpfsOptions"),
        f"mounts[{i}].",
    )
    bind = m.get("bindOptions") or {}
    vol = m.get("volumeOptions") or {}
    tmpfs = m.get("tmpfsOptions") or {}
    _check_keys(CONTAINER, name, bind, ("propagation",), f"mounts[{i}].bindOptions.")
    _check_keys(
        CONTAINER,
        name,
        vol,
        ("noCopy", "labels", "driverName", "driverOptions"),
        f"mounts[{i}].volumeOptions.",
    )
    _check_keys(CONTAINER, name, tmpfs, ("sizeBytes", "mode"), f"mounts[{i}].tmpfsOptions.")
    return Mount(
        target=m["target"],
        source=m.get("source"),
        type=m.get("type") or "volume",
        read_only=bool(m.get("readOnly", False)),
        propagation=bind.get("propagation"),
        no_copy=bool(vol.get("noCopy", False)),
        labels=_labels(vol.get("labels")) or None,
        driver_config=(
            {"Name": vol["driverName"], "Options": vol.get("driverOptions") or {}}
            if vol.get("driverName")
            else None
        ),
        tmpfs_size=_int(tmpfs["sizeBytes"]) if tmpfs.get("sizeBytes") is not None else None,
        tmpfs_mode=_int(tmpfs["mode"]) if tmpfs.get("mode") is not None else None,
    )


def _binds(name: str, volumes: list[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    binds, volumes_from = [], []
    for i, v in enumerate(volumes):
        _check_keys(
            CONTAINER,
            name,
            v,
            ("containerPath", "hostPath", "volumeName", "readOnly", "fromContainer"),
            f"volumes[{i}].",
        )
        if v.get("fromContainer"):
            volumes_from.append(v["fromContainer"])
            continue
        source = v.get("hostPath") or v.get("volumeName")
        if not source or not v.get("containerPath"):
            raise Unsupported(
                CONTAINER, name, [f"volumes[{i}] needs containerPath and hostPath or volumeName"]
            )
        binds.append(f"{source}:{v['containerPath']}:{'ro' if v.get('readOnly') else 'rw'}")
    return binds, volumes_from


def _restart_policy(name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    restart = inputs.get("restart") or "no"
    if restart not in ("no", "always", "unless-stopped", "on-failure"):
        raise Unsupported(CONTAINER, name, [f"restart {restart!r} is not a restart policy"])
    if restart == "no":
        return None
    policy: dict[str, Any] = {"Name": restart}
    if restart == "on-failure" and inputs.get("maxRetryCount"):
        policy["MaximumRetryCount"] = _int(inputs["maxRetryCount"])
    return policy


def _capabilities(name: str, caps: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    _check_keys(CONTAINER, name, caps, ("adds", "drops"), "capabilities.")
    return list(caps.get("adds") or []), list(caps.get("drops") or [])


def container_spec(name: str, inputs: Mapping[str, Any], loopback_ports: bool) -> ContainerSpec:
    """Map a Container's inputs. `loopback_ports`: publish ports without an `ip` on 127.0.0.1
    instead of pulumi-docker's 0.0.0.0 (the harness binds nothing but loopback)."""
    _check_keys(CONTAINER, name, inputs, CONTAINER_INPUTS)
    problems = []
    for key in ("attach", "logs", "rm"):
        if inputs.get(key):
            problems.append(f"input {key}=true is not supported (a long-running service only)")
    if not inputs.get("image"):
        problems.append("input image is required")
    if not inputs.get("name"):
        problems.append("input name is required by the applier (it names the container)")
    if problems:
        raise Unsupported(CONTAINER, name, problems)
    try:
        exposed, port_bindings = _port_bindings(name, inputs.get("ports") or [], loopback_ports)
        binds, volumes_from = _binds(name, inputs.get("volumes") or [])
        cap_add, cap_drop = _capabilities(name, inputs.get("capabilities") or {})
        networks = list(inputs.get("networksAdvanced") or [])
        for i, net in enumerate(networks):
            _check_keys(
                CONTAINER,
                name,
                net,
                ("name", "aliases", "ipv4Address", "ipv6Address"),
                f"networksAdvanced[{i}].",
            )
        network_mode = inputs.get("networkMode") or (networks[0]["name"] if networks else None)
        host_config: dict[str, Any] = {
            "binds": binds or None,
            "volumes_from": volumes_from or None,
            "mounts": [_mount(name, i, m) for i, m in enumerate(inputs.get("mounts") or [])]
            or None,
            "tmpfs": dict(inputs.get("tmpfs") or {}) or None,
            "port_bindings": port_bindings or None,
            "publish_all_ports": bool(inputs.get("publishAllPorts", False)),
            "restart_policy": _restart_policy(name, inputs),
            "cap_add": cap_add or None,
            "cap_drop": cap_drop or None,
            "security_opt": list(inputs.get("securityOpts") or []) or None,
            "log_config": {
                "Type": inputs.get("logDriver") or "json-file",
                "Config": {k: str(v) for k, v in (inputs.get("logOpts") or {}).items()},
            },
            "mem_limit": _memory_mb(inputs["memory"]) if inputs.get("memory") else None,
            "memswap_limit": _memory_mb(inputs["memorySwap"]) if inputs.get("memorySwap") else None,
            "mem_reservation": _memory_mb(inputs["memoryReservation"])
            if inputs.get("memoryReservation")
            else None,
            "cpu_shares": _int(inputs["cpuShares"]) if inputs.get("cpuShares") else None,
            "nano_cpus": int(float(inputs["cpus"]) * 1e9) if inputs.get("cpus") else None,
            "cpuset_cpus": inputs.get("cpuSet") or None,
            "cpu_period": _int(inputs["cpuPeriod"]) if inputs.get("cpuPeriod") else None,
            "cpu_quota": _int(inputs["cpuQuota"]) if inputs.get("cpuQuota") else None,
            "privileged": bool(inputs.get("privileged", False)),
            "read_only": bool(inputs.get("readOnly", False)),
            "init": inputs.get("init"),
            "ipc_mode": inputs.get("ipcMode") or None,
            "pid_mode": inputs.get("pidMode") or None,
            "userns_mode": inputs.get("usernsMode") or None,
            "cgroupns": inputs.get("cgroupnsMode") or None,
            "cgroup_parent": inputs.get("cgroupParent") or None,
            "shm_size": _memory_mb(inputs["shmSize"]) if inputs.get("shmSize") else None,
            "sysctls": dict(inputs.get("sysctls") or {}) or None,
            "ulimits": _ulimits(name, inputs.get("ulimits") or []) or None,
            "group_add": list(inputs.get("groupAdds") or []) or None,
            "dns": list(inputs.get("dns") or []) or None,
            "dns_opt": list(inputs.get("dnsOpts") or []) or None,
            "dns_search": list(inputs.get("dnsSearches") or []) or None,
            "extra_hosts": {h["host"]: h["ip"] for h in inputs.get("hosts") or []} or None,
            "runtime": inputs.get("runtime") or None,
            "storage_opt": dict(inputs.get("storageOpts") or {}) or None,
            "devices": [
                f"{d['hostPath']}:{d.get('containerPath') or d['hostPath']}:"
                f"{d.get('permissions') or 'rwm'}"
                for d in inputs.get("devices") or []
            ]
            or None,
            "network_mode": network_mode,
        }
        create: dict[str, Any] = {
            "image": inputs["image"],
            "name": inputs["name"],
            "environment": list(inputs.get("envs") or []) or None,
            "command": list(inputs["command"]) if inputs.get("command") else None,
            "entrypoint": list(inputs["entrypoints"]) if inputs.get("entrypoints") else None,
            "user": inputs.get("user") or None,
            "working_dir": inputs.get("workingDir") or None,
            "hostname": inputs.get("hostname") or None,
            "domainname": inputs.get("domainname") or None,
            "labels": _labels(inputs.get("labels")) or None,
            "healthcheck": _healthcheck(name, inputs["healthcheck"])
            if inputs.get("healthcheck")
            else None,
            "ports": exposed or None,
            "stop_signal": inputs.get("stopSignal") or None,
            "stop_timeout": _int(inputs["stopTimeout"]) if inputs.get("stopTimeout") else None,
            "tty": bool(inputs.get("tty", False)),
            "stdin_open": bool(inputs.get("stdinOpen", False)),
        }
        uploads = [_upload(name, i, u) for i, u in enumerate(inputs.get("uploads") or [])]
    except (KeyError, ValueError, TypeError) as exc:
        raise Unsupported(CONTAINER, name, [f"bad input value: {exc!r}"]) from exc

    first = None
    more = []
    for net in networks:
        aliases = list(net.get("aliases") or [])
        if first is None and net["name"] == network_mode:
            if net.get("ipv4Address") or net.get("ipv6Address"):
                # Given at connect time below, where the SDK takes them.
                more.append(_connect_kwargs(net))
                continue
            first = (net["name"], aliases)
        else:
            more.append(_connect_kwargs(net))
    return ContainerSpec(
        create=create,
        host_config=host_config,
        first_network=first,
        more_networks=more,
        uploads=uploads,
        start=bool(inputs.get("start", True)),
        must_run=bool(inputs.get("mustRun", True)),
        wait=bool(inputs.get("wait", False)),
        wait_timeout=_int(inputs.get("waitTimeout", 60)),
        stop_timeout=_int(inputs.get("destroyGraceSeconds") or 10),
        remove_volumes=bool(inputs.get("removeVolumes", True)),
    )


def _connect_kwargs(net: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "net_id": net["name"],
        "aliases": list(net.get("aliases") or []) or None,
        "ipv4_address": net.get("ipv4Address") or None,
        "ipv6_address": net.get("ipv6Address") or None,
    }


def _ulimits(name: str, items: list[Mapping[str, Any]]):
    from docker.types import Ulimit

    result = []
    for i, u in enumerate(items):
        _check_keys(CONTAINER, name, u, ("name", "soft", "hard"), f"ulimits[{i}].")
        result.append(Ulimit(name=u["name"], soft=_int(u["soft"]), hard=_int(u["hard"])))
    return result


def _upload(name: str, i: int, u: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(CONTAINER, name, u, UPLOAD_INPUTS, f"uploads[{i}].")
    given = [k for k in ("content", "contentBase64", "source") if u.get(k) is not None]
    if len(given) != 1:
        raise Unsupported(
            CONTAINER,
            name,
            [
                f"uploads[{i}] needs exactly one of content, "
                f"contentBase64, source (got {given or 'none'})"
            ],
        )
    if not str(u.get("file", "")).startswith("/"):
        raise Unsupported(CONTAINER, name, [f"uploads[{i}].file must be an absolute path"])
    for key in ("owner", "group"):
        if u.get(key) is not None and not str(u[key]).isdigit():
            # The provider resolves names on the machine running Pulumi; so would we, but a
            # name there need not match the container's: only numeric IDs are unambiguous.
            raise Unsupported(
                CONTAINER, name, [f"uploads[{i}].{key} {u[key]!r}: only numeric IDs are supported"]
            )
    return dict(u)


def upload_mode(upload: Mapping[str, Any]) -> int:
    """As the provider: `permissions` (octal string) wins, else 0744 if executable, else 0644."""
    if upload.get("permissions"):
        return int(str(upload["permissions"]), 8)
    return 0o744 if upload.get("executable") else 0o644


def upload_tar(uploads: list[Mapping[str, Any]], read_source=None) -> bytes:
    """One tar of every upload, entries named by their absolute path (as pulumi-docker writes
    them), to be put at `/` of the created container before it starts."""
    import base64

    read_source = read_source or (lambda path: open(path, "rb").read())  # noqa: SIM115
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for u in uploads:
            if u.get("content") is not None:
                data = str(u["content"]).encode()
            elif u.get("contentBase64") is not None:
                data = base64.b64decode(u["contentBase64"])
            else:
                data = read_source(u["source"])
            info = tarfile.TarInfo(name=str(u["file"]).lstrip("/"))
            info.size = len(data)
            info.mode = upload_mode(u)
            info.uid = int(u.get("owner") or 0)
            info.gid = int(u.get("group") or 0)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- command:local:Command ------------------------------------------------------------------

COMMAND_INPUTS = (
    "create",
    "update",
    "delete",
    "dir",
    "environment",
    "interpreter",
    "stdin",
    "triggers",
    "logging",
    "addPreviousOutputInEnv",
    "archivePaths",
    "assetPaths",
)


def check_command(name: str, inputs: Mapping[str, Any]) -> None:
    _check_keys(LOCAL_COMMAND, name, inputs, COMMAND_INPUTS)
    problems = [
        f"input {k} is not supported" for k in ("archivePaths", "assetPaths") if inputs.get(k)
    ]
    if inputs.get("logging") not in (None, "stdout", "stderr", "stdoutAndStderr", "none"):
        problems.append(f"logging {inputs['logging']!r} is not a logging mode")
    if problems:
        raise Unsupported(LOCAL_COMMAND, name, problems)
