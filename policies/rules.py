"""The jupyterhub-zos policy pack's rules: `POLICIES`, importable without starting the pack.

`policies/__main__.py` hands `POLICIES` to `PolicyPack` (which serves them to the Pulumi
CLI and never returns); the tests and `tools/policy_check.py` call the validators
directly. This module imports nothing from the program: the pack runs in its own
process, with the policies directory as its only import path.

What a validator sees (read from pulumi-policy 1.21 and the engine):
- `args.props` are the resource's *inputs*, camelCase, wrapped in pulumi-policy's
  unknown-checking proxy: touching a value unknown during preview raises
  UnknownValueError. The helpers below read one value at a time and treat an unknown
  one as "cannot judge yet", so the other checks of the same resource still run.
- Secrets: the engine sends secret inputs wrapped in the secret signature
  (analyzer_plugin.go marshals with KeepSecrets), but pulumi-policy's Analyze path
  unwraps them (`deserialize_properties(..., proxy_secrets=False)`): a validator gets
  the plaintext and cannot tell a secret Output from a literal. `keep_secret_marks()`
  (called by `__main__.py` before the pack starts) makes every string that arrived
  inside a secret a `SecretText`, a `str` subclass: every rule reads it as a plain
  string, and the secrets rule can ask `is_secret()`.
- Resource options: only protect, ignoreChanges, deleteBeforeReplace, aliases,
  customTimeouts, additionalSecretOutputs and parent reach a policy. retainOnDelete
  does not (AnalyzerResourceOptions has no such field), hence the data-volume rule's
  label (see there).
- Policy config arrives as given in `--policy-pack-config`; each rule merges it over
  its own defaults (the same defaults its config_schema declares).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi_policy.policy as _sdk_policy
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)
from pulumi_policy import deserialize as _sdk_deserialize
from pulumi_policy import proxy as _sdk_proxy
from pulumi_policy.proxy import UnknownValueError

PACK_NAME = "jupyterhub-zos"
DEFAULT_PROJECT_DIR = Path(__file__).resolve().parent.parent

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
DOCKER_PROVIDER = "pulumi:providers:docker"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"
REMOTE_COMMAND = "command:remote:Command"
LOCAL_COMMAND = "command:local:Command"
COPY_TO_REMOTE = "command:remote:CopyToRemote"
COPY_FILE = "command:remote:CopyFile"
COMMANDS = (REMOTE_COMMAND, LOCAL_COMMAND)
REMOTE_RESOURCES = (REMOTE_COMMAND, COPY_TO_REMOTE, COPY_FILE)
COMMAND_TEXT_FIELDS = ("create", "update", "delete")


# --- secret marks -------------------------------------------------------------------------


class SecretText(str):
    """A string that reached the policy inside a secret. Behaves exactly like `str`."""

    __slots__ = ()


def is_secret(value: Any) -> bool:
    return isinstance(value, SecretText)


def mark_secret(value: Any) -> Any:
    """`value` with every string inside it a SecretText (lists and mappings copied)."""
    if isinstance(value, str):
        return SecretText(value)
    if isinstance(value, Mapping):
        return {k: mark_secret(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [mark_secret(v) for v in value]
    return value


_SIG = _sdk_deserialize.SPECIAL_SIG_KEY
_SECRET_SIG = _sdk_deserialize.SPECIAL_SECRET_SIG
_ASSET_SIG = _sdk_deserialize.SPECIAL_ASSET_SIG


def _mark_wire_secrets(raw: Any, inside: bool = False) -> Any:
    """The engine's JSON form of a property with each secret's strings made SecretText
    and the secret wrappers removed; assets and archives are left for the SDK."""
    if isinstance(raw, dict):
        sig = raw.get(_SIG)
        if sig == _SECRET_SIG:
            return _mark_wire_secrets(raw.get("value"), True)
        if sig == _ASSET_SIG and inside and isinstance(raw.get("text"), str):
            return {**raw, "text": SecretText(raw["text"])}
        if sig is not None:
            return raw
        return {k: _mark_wire_secrets(v, inside) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_mark_wire_secrets(v, inside) for v in raw]
    if inside and isinstance(raw, str):
        return SecretText(raw)
    return raw


_original_deserialize = _sdk_deserialize.deserialize_properties


def deserialize_keeping_secret_marks(props: dict[str, Any], proxy_secrets: bool = False):
    """Drop-in for pulumi-policy's deserialize_properties that keeps secretness."""
    if proxy_secrets:  # the remediation path has its own Secret wrappers
        return _original_deserialize(props, proxy_secrets)
    return _original_deserialize(_mark_wire_secrets(props), False)


def keep_secret_marks() -> None:
    """Make the pack's Analyze path hand validators SecretText for secret strings.

    pulumi-policy 1.21's Analyze calls the module-level `deserialize_properties` of
    pulumi_policy.policy per request; replacing that name is enough. The pack test
    drives a real AnalyzeRequest through the served pack to prove it still works."""
    _sdk_policy.deserialize_properties = deserialize_keeping_secret_marks


# --- reading props safely -----------------------------------------------------------------


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()  # a value not known until the update (preview)

_UNKNOWN_SENTINELS = frozenset(
    {
        _sdk_proxy.UNKNOWN_BOOLEAN_VALUE,
        _sdk_proxy.UNKNOWN_NUMBER_VALUE,
        _sdk_proxy.UNKNOWN_STRING_VALUE,
        _sdk_proxy.UNKNOWN_ARRAY_VALUE,
        _sdk_proxy.UNKNOWN_ASSET_VALUE,
        _sdk_proxy.UNKNOWN_ARCHIVE_VALUE,
        _sdk_proxy.UNKNOWN_OBJECT_VALUE,
    }
)


def _known(value: Any) -> Any:
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def get(obj: Any, *path: str | int) -> Any:
    """obj[path0][path1]...: None when absent or of the wrong shape, UNKNOWN when unknown."""
    for key in path:
        if obj is None or obj is UNKNOWN:
            return obj
        try:
            if isinstance(key, int):
                if not _is_list(obj) or not -len(obj) <= key < len(obj):
                    return None
            elif not isinstance(obj, Mapping) or key not in obj:
                return None
            obj = _known(obj[key])
        except UnknownValueError:
            return UNKNOWN
    return obj


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def elements(value: Any) -> Iterator[Any]:
    """The items of a list input (UNKNOWN for each unknown one); nothing if not a list."""
    if not _is_list(value):
        return
    for i in range(len(value)):
        yield get(value, i)


def items(value: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) of a map input (UNKNOWN for unknown values); nothing if not a map."""
    if isinstance(value, Mapping):
        for key in list(value):
            yield str(key), get(value, key)


def text(value: Any) -> str | None:
    """A known string, or None."""
    return value if isinstance(value, str) and value not in _UNKNOWN_SENTINELS else None


def flag(value: Any) -> bool | None:
    """A known boolean (accepting the strings true/false), or None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every known string inside an input, with its path; a StringAsset's text included."""
    value = _known(value)
    if value is UNKNOWN or value is None:
        return
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in items(value):
            yield from walk_strings(item, f"{path}.{key}" if path else key)
    elif _is_list(value):
        for i, item in enumerate(elements(value)):
            yield from walk_strings(item, f"{path}[{i}]")
    else:
        asset_text = getattr(value, "text", None)
        if isinstance(asset_text, str):
            yield f"{path}(text)", asset_text


def env_entries(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(NAME, value) of a container's known `envs` entries ("NAME=value" strings)."""
    for entry in elements(get(props, "envs")):
        if isinstance(entry, str) and "=" in entry:
            name, _, value = entry.partition("=")
            # Slicing drops the str subclass: keep the secret mark on the value.
            yield name, SecretText(value) if is_secret(entry) else value


def env_map(props: Mapping[str, Any]) -> dict[str, str]:
    return dict(env_entries(props))


def config(args: ResourceValidationArgs, defaults: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    merged.update(args.get_config() or {})
    return merged


def stack_of(args: ResourceValidationArgs, cfg: Mapping[str, Any]) -> str | None:
    """The stack: policy config `stack` if set, else the one in the resource's URN
    (urn:pulumi:<stack>::<project>::<type>::<name>)."""
    if cfg.get("stack"):
        return str(cfg["stack"])
    match = re.match(r"urn:pulumi:([^:]+)::", args.urn or "")
    return match[1] if match else None


def docker_name(args: ResourceValidationArgs) -> str:
    """A container's or volume's Docker name; its Pulumi name when that is not known."""
    return text(get(args.props, "name")) or args.name or ""


def _schema(defaults: Mapping[str, Any], descriptions: Mapping[str, str]) -> PolicyConfigSchema:
    properties: dict[str, dict[str, Any]] = {}
    for key, description in descriptions.items():
        default = defaults[key]
        if isinstance(default, bool):
            kind: dict[str, Any] = {"type": "boolean"}
        elif isinstance(default, int):
            kind = {"type": "integer"}
        elif isinstance(default, list):
            kind = {"type": "array", "items": {"type": "string"}}
        else:
            kind = {"type": "string"}
        properties[key] = {**kind, "default": default, "description": description}
    return PolicyConfigSchema(properties=properties)


# --- the policies -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One policy: the SDK object plus its config defaults (for tools and tests)."""

    name: str
    description: str
    level: EnforcementLevel
    validate: Callable[[ResourceValidationArgs, ReportViolation], None]
    defaults: Mapping[str, Any]
    descriptions: Mapping[str, str]
    severity: Severity
    remediation: str

    def policy(self) -> ResourceValidationPolicy:
        return ResourceValidationPolicy(
            name=self.name,
            description=self.description,
            validate=self.validate,
            enforcement_level=self.level,
            config_schema=_schema(self.defaults, self.descriptions) if self.descriptions else None,
            severity=self.severity,
            remediation_steps=self.remediation,
        )


HUB_DEFAULTS = {"hubContainers": ["jupyterhub"]}
HUB_DESCRIPTIONS = {
    "hubContainers": "Docker names of the hub container(s) (the Pulumi name when the "
    "Docker name is not set).",
}


def is_hub(args: ResourceValidationArgs, cfg: Mapping[str, Any]) -> bool:
    return docker_name(args) in cfg["hubContainers"]


# 1. no privileged containers --------------------------------------------------------------

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


# 2. the docker socket only in the hub -----------------------------------------------------

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


# 3. only the hub publishes a port ---------------------------------------------------------


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


# 4. images pinned -------------------------------------------------------------------------

IMAGE_ID_RE = re.compile(r"(sha256:)?[a-f0-9]{64}")
DIGEST_RE = re.compile(r"@sha256:[a-f0-9]{64}$")


def unpinned_reason(ref: str) -> str | None:
    """Why an image reference is not pinned, or None if it is (a tag other than latest,
    a digest, or an image ID)."""
    ref = ref.strip()
    if not ref:
        return "it is empty"
    if IMAGE_ID_RE.fullmatch(ref) or DIGEST_RE.search(ref):
        return None
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return "it has no tag (Docker uses 'latest')"
    if last.rsplit(":", 1)[1] == "latest":
        return "its tag is 'latest'"
    return None


_ARG_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}?")


def dockerfile_bases(text_: str, build_args: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """(line, reference as written, reference resolved) of each FROM that names an
    image: `FROM scratch` and FROMs of earlier build stages are left out."""
    lines = re.sub(r"\\\n", " ", text_).splitlines()
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases = []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        keyword = words[0].upper()
        if keyword == "ARG" and len(words) > 1:
            for item in words[1:]:
                name, eq, default = item.partition("=")
                if name in build_args:
                    args[name] = build_args[name]
                elif eq:
                    args[name] = default.strip("\"'")
        elif keyword == "FROM":
            rest = [w for w in words[1:] if not w.startswith("--")]
            if not rest:
                continue
            written = rest[0]
            resolved = _ARG_RE.sub(lambda m: args.get(m[1], m[0]), written)
            if resolved.lower() not in stages | {"scratch"}:
                bases.append((number, written, resolved))
            if len(rest) >= 3 and rest[1].upper() == "AS":
                stages.add(rest[2].lower())
    return bases


IMAGES_DEFAULTS = {
    "projectDir": "",
    "notebookImageEnv": ["DOCKER_NOTEBOOK_IMAGE"],
}
IMAGES_DESCRIPTIONS = {
    "projectDir": "Directory relative build contexts are resolved against (default: the "
    "directory above the policy pack, i.e. the project).",
    "notebookImageEnv": "Container environment variables that name an image to run.",
}


def _resolve(base: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def validate_images_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, IMAGES_DEFAULTS)
    props = args.props
    if args.resource_type == REMOTE_IMAGE:
        ref = text(get(props, "name"))
        if ref is not None and (why := unpinned_reason(ref)):
            report(
                f"remote image {args.name!r} pulls {ref!r}, but {why}: every deploy could "
                "get a different image. Pin it with a version tag or @sha256: digest."
            )
    elif args.resource_type == CONTAINER:
        image = text(get(props, "image"))
        if image is not None and (why := unpinned_reason(image)):
            report(
                f"container {args.name!r} runs image {image!r}, but {why}. Use the built "
                "image's repo digest or a pinned tag."
            )
        envs = env_map(props)
        for name in cfg["notebookImageEnv"]:
            ref = envs.get(name)
            if ref is not None and (why := unpinned_reason(ref)):
                report(
                    f"container {args.name!r} sets {name}={ref!r}, but {why}: notebook "
                    "servers would start whatever that tag is today. Pin it (a version tag "
                    "or @sha256: digest) in DOCKER_NOTEBOOK_IMAGE."
                )
    elif args.resource_type == IMAGE:
        _check_built_image(args, cfg, report)


def _check_built_image(args, cfg, report: ReportViolation) -> None:
    context = text(get(args.props, "build", "context"))
    if context is None:
        return  # no local build context (or not known yet): nothing to read
    project = Path(cfg["projectDir"]) if cfg["projectDir"] else DEFAULT_PROJECT_DIR
    context_dir = _resolve(project, context)
    dockerfile = text(get(args.props, "build", "dockerfile"))
    if dockerfile is None:
        path = context_dir / "Dockerfile"
    else:
        path = _resolve(project, dockerfile)
        if not path.exists() and not Path(dockerfile).is_absolute():
            path = context_dir / dockerfile
    try:
        content = path.read_text()
    except OSError as exc:
        report(
            f"image {args.name!r}: cannot read its Dockerfile {path} ({exc.strerror}), so its "
            "base images cannot be checked. Fix build.context/build.dockerfile."
        )
        return
    build_args = {k: v for k, v in items(get(args.props, "build", "args")) if text(v)}
    for line, written, resolved in dockerfile_bases(content, build_args):
        if "$" in resolved:
            report(
                f"image {args.name!r}: {path.name}:{line} `FROM {written}` uses a build "
                "argument with no value, so the base is not pinned. Give the ARG a pinned "
                "default."
            )
        elif why := unpinned_reason(resolved):
            report(
                f"image {args.name!r}: {path.name}:{line} `FROM {resolved}` is not pinned: "
                f"{why}. Pin the base image by version tag or digest."
            )


# 5. strong keys ---------------------------------------------------------------------------

KEYS_DEFAULTS = {
    "minRsaBits": 2048,
    "allowedEcdsaCurves": ["P256", "P384", "P521"],
    "minRacfRsaSize": 2048,
    "minRacfEccSize": 256,
}
KEYS_DESCRIPTIONS = {
    "minRsaBits": "Smallest RSA key (bits) for pulumi-tls keys.",
    "allowedEcdsaCurves": "ECDSA curves allowed for pulumi-tls keys.",
    "minRacfRsaSize": "Smallest SIZE() for RSA/DSA keys made by RACDCERT GENCERT.",
    "minRacfEccSize": "Smallest SIZE() for NISTECC/BPECC keys made by RACDCERT GENCERT.",
}


BASE64_RUN_RE = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


def decoded_blobs(script: str) -> Iterator[str]:
    """Text hidden in base64 runs of a script (`echo <b64> | base64 -d > file`)."""
    for run in BASE64_RUN_RE.findall(script):
        try:
            decoded = base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
        if decoded.isprintable() or "\n" in decoded:
            yield decoded


def _script_texts(args: ResourceValidationArgs) -> Iterator[tuple[str, str]]:
    """The shell text a command resource runs or ships: create/update/delete, stdin, a
    CopyToRemote's StringAsset, and text base64-encoded in any of them."""
    found: list[tuple[str, str]] = []
    if args.resource_type in COMMANDS:
        for field in (*COMMAND_TEXT_FIELDS, "stdin"):
            value = text(get(args.props, field))
            if value:
                found.append((field, value))
    elif args.resource_type == COPY_TO_REMOTE:
        found.extend(walk_strings(get(args.props, "source"), "source"))
    for field, value in found:
        yield field, value
        for decoded in decoded_blobs(value):
            yield f"{field}, base64-decoded", decoded


def _joined_lines(script: str) -> list[str]:
    """Lines with shell (\\) and TSO (trailing - or +) continuations joined."""
    joined = re.sub(r"\\\n", " ", script)
    joined = re.sub(r"[ \t][-+][ \t]*\n", " ", joined)
    return joined.splitlines()


GENCERT_RE = re.compile(r"\bRACDCERT\b.*\bGENCERT\b", re.IGNORECASE)
SIZE_RE = re.compile(r"\bSIZE\(\s*([^)\s]*)\s*\)", re.IGNORECASE)


def racf_gencert_sizes(script: str) -> Iterator[tuple[str, str | None, bool]]:
    """(command, SIZE as written or None, whether the key is ECC) per RACDCERT GENCERT."""
    for line in _joined_lines(script):
        if GENCERT_RE.search(line):
            size = SIZE_RE.search(line)
            ecc = bool(re.search(r"\b(NISTECC|BPECC)\b", line, re.IGNORECASE))
            yield line.strip(), size[1] if size else None, ecc


def validate_strong_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, KEYS_DEFAULTS)
    if args.resource_type == PRIVATE_KEY:
        algorithm = text(get(args.props, "algorithm"))
        if algorithm is None:
            return
        if algorithm.upper() == "RSA":
            bits = get(args.props, "rsaBits")
            bits = 2048 if bits is None else bits  # the provider's default
            if isinstance(bits, int | float) and bits < cfg["minRsaBits"]:
                report(
                    f"key {args.name!r} is RSA {int(bits)} bits; at least "
                    f"{cfg['minRsaBits']} is required. Raise rsa_bits (or use ECDSA P256)."
                )
        elif algorithm.upper() == "ECDSA":
            curve = get(args.props, "ecdsaCurve")
            if curve is UNKNOWN:
                return
            curve = text(curve) or "P224"  # the provider's default, which is too weak
            if curve.upper() not in [c.upper() for c in cfg["allowedEcdsaCurves"]]:
                report(
                    f"key {args.name!r} uses ECDSA curve {curve}"
                    f"{' (the provider default, as none is set)' if curve == 'P224' else ''}"
                    f"; allowed: {', '.join(cfg['allowedEcdsaCurves'])}. Set ecdsa_curve."
                )
        return
    for field, script in _script_texts(args):
        for command, size, ecc in racf_gencert_sizes(script):
            floor = cfg["minRacfEccSize"] if ecc else cfg["minRacfRsaSize"]
            shown = command if len(command) <= 120 else command[:117] + "..."
            if size is None:
                report(
                    f"{args.name!r} ({field}): `{shown}` has no SIZE(); the default depends "
                    f"on the z/OS release (1024 on older ones). Give SIZE({floor}) or more."
                )
            elif not size.isdigit():
                report(
                    f"{args.name!r} ({field}): `{shown}` has SIZE({size}), which cannot be "
                    "checked. Render the key size as a number."
                )
            elif int(size) < floor:
                report(
                    f"{args.name!r} ({field}): `{shown}` makes a {size}-bit key; at least "
                    f"{floor} is required (the runbook's SIZE(1024) is too weak). Raise "
                    "ZOS_KEY_SIZE / SIZE()."
                )


# 6. KG_URL https and certificate validation -----------------------------------------------

KG_DEFAULTS = {
    "devStacks": ["dev"],
    "stack": "",
    "urlEnv": ["KG_URL", "JUPYTER_GATEWAY_URL"],
    "validateEnv": ["VALIDATE_KG_CERT", "JUPYTER_GATEWAY_VALIDATE_CERT"],
}
KG_DESCRIPTIONS = {
    "devStacks": "Stacks where a plain-HTTP or unvalidated gateway is only advisory.",
    "stack": "The stack name, when it cannot be read from resource URNs.",
    "urlEnv": "Container environment variables holding the Kernel Gateway URL.",
    "validateEnv": "Container environment variables that turn certificate validation off "
    "when 'false'.",
}


def _kg_violations(args: ResourceValidationArgs, cfg: Mapping[str, Any]) -> Iterator[str]:
    if args.resource_type != CONTAINER:
        return
    envs = env_map(args.props)
    for name in cfg["urlEnv"]:
        url = envs.get(name)
        if url is not None and not url.strip().lower().startswith("https://"):
            yield (
                f"container {args.name!r} sets {name}={url!r}: kernels' code, output and the "
                "gateway token would cross the network in clear text. Use an https:// "
                "KG_URL (AT-TLS or the gateway's own TLS)."
            )
    for name in cfg["validateEnv"]:
        value = envs.get(name)
        # The hub config and the gateway client turn validation off only for 'false'/'no'.
        if value is not None and value.strip().lower() in ("false", "no"):
            yield (
                f"container {args.name!r} sets {name}={value}: the gateway's certificate "
                "is not checked, so anyone on the path can pose as the gateway. Set "
                "VALIDATE_KG_CERT to true and give the gateway's CA."
            )


def validate_kg_url(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, KG_DEFAULTS)
    if stack_of(args, cfg) in cfg["devStacks"]:
        return  # the dev stack's own rule (advisory) covers it
    for message in _kg_violations(args, cfg):
        report(message)


def validate_kg_url_dev(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, KG_DEFAULTS)
    if stack_of(args, cfg) not in cfg["devStacks"]:
        return
    for message in _kg_violations(args, cfg):
        report(message + " (advisory on the dev stack)")


# 7. remote commands verify the host key ---------------------------------------------------

BLIND_SSH_RE = re.compile(
    r"StrictHostKeyChecking\s*=?\s*(no|off|accept-new)\b|UserKnownHostsFile\s*=?\s*/dev/null",
    re.IGNORECASE,
)


def validate_host_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in REMOTE_RESOURCES:
        connection = get(args.props, "connection")
        if connection is None or connection is UNKNOWN:
            return
        host = text(get(connection, "host")) or "?"
        for where, conn in (
            ("connection", connection),
            ("connection.proxy", get(connection, "proxy")),
        ):
            if conn is None or conn is UNKNOWN:
                continue
            key = get(conn, "hostKey")
            if key is UNKNOWN:
                continue
            if not (text(key) or "").strip():
                report(
                    f"{args.name!r} connects to {host} without `{where}.hostKey`, so the SSH "
                    "server is not verified (pulumi-command then accepts any host key) and a "
                    "man in the middle gets the login. Set host_key (ZOS_SSH_HOST_KEY)."
                )
    elif args.resource_type == LOCAL_COMMAND:
        for field in COMMAND_TEXT_FIELDS:
            script = text(get(args.props, field)) or ""
            if match := BLIND_SSH_RE.search(script):
                report(
                    f"{args.name!r} ({field}) runs ssh with `{match[0]}`, which trusts any "
                    "host key. Verify the host with a known_hosts entry instead."
                )
    elif args.resource_type == DOCKER_PROVIDER:
        for _, option in walk_strings(get(args.props, "sshOpts")):
            if match := BLIND_SSH_RE.search(option):
                report(
                    f"docker provider {args.name!r} passes `{match[0]}` to ssh, which trusts "
                    "any host key. Remove it and add the Docker host to known_hosts."
                )


# 8. the hub data volume is kept on destroy ------------------------------------------------

VOLUME_DEFAULTS = {
    "dataVolumePattern": r"^(.+-)?jupyterhub-data(-.+)?$",
    "retainLabel": "jupyterhub-zos.retain-on-delete",
}
VOLUME_DESCRIPTIONS = {
    "dataVolumePattern": "Regular expression for the Docker names of volumes that must "
    "outlive `pulumi destroy` (the Pulumi name when the Docker name is not set).",
    "retainLabel": "Volume label (value 'true') that declares retain_on_delete, which the "
    "engine does not show to policies.",
}


def validate_data_volume_kept(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != VOLUME:
        return
    cfg = config(args, VOLUME_DEFAULTS)
    if not re.search(cfg["dataVolumePattern"], docker_name(args)):
        return
    labels = {
        text(get(label, "label")): text(get(label, "value"))
        for label in elements(get(args.props, "labels"))
    }
    labelled = (labels.get(cfg["retainLabel"]) or "").lower() == "true"
    protect = bool(getattr(args.opts, "protect", False))
    # Only tools/policy_check.py (the mock graph) can show this; the engine cannot.
    retain = getattr(args.opts, "retain_on_delete", None)
    if labelled and retain is False and not protect:
        report(
            f"volume {args.name!r} is labelled {cfg['retainLabel']}=true but the resource "
            "option retain_on_delete is not set, so `pulumi destroy` deletes it. Set "
            "ResourceOptions(retain_on_delete=True)."
        )
    elif not (protect or retain or labelled):
        report(
            f"volume {args.name!r} holds the hub database and cookie secret, and `pulumi "
            "destroy` would delete it. Set ResourceOptions(retain_on_delete=True) and label "
            f"it {cfg['retainLabel']}=true (the engine shows policies `protect` but not "
            "retain_on_delete), or set protect=True."
        )


# 9. no secret in plain container environment or command text ------------------------------

PEM_KEY_RE = re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")
SECRET_WORDS_DEFAULT = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIALS"]
# NAME=value in command lines and scripts, where NAME names a secret: the value is a literal
# unless it starts (after a quote) with $ (a variable, read from stdin or a file).
ASSIGNMENT_RE = re.compile(r"(?P<name>[A-Za-z_][\w.-]*)=(?P<q>['\"]?)(?P<value>(?!\$)[^\s'\"]+)")
OPENSSL_PASS_RE = re.compile(r"-pass(?:in|out)?\s+pass:(?P<q>['\"]?)(?P<value>(?!\$)[^\s'\"]+)")
RACF_PASSWORD_RE = re.compile(r"\bPASSWORD\(\s*'?(?P<value>[^)'$]+)'?\s*\)", re.IGNORECASE)
SSHPASS_RE = re.compile(r"\bsshpass\s+-p\s*(?P<value>[^\s$]\S*)")

SECRETS_DEFAULTS = {
    "secretWords": SECRET_WORDS_DEFAULT,
    "plainAllowed": [],
}
SECRETS_DESCRIPTIONS = {
    "secretWords": "Words (between underscores) that mark a variable or option as a "
    "secret, e.g. TOKEN matches KG_AUTH_TOKEN.",
    "plainAllowed": "Variable names that may hold a plain value although they look secret.",
}
NOT_A_SECRET_SUFFIXES = ("FILE", "PATH", "DIR", "NAME", "ENV", "TYPE", "LENGTH")


def secret_name(name: str, cfg: Mapping[str, Any]) -> bool:
    """KG_AUTH_TOKEN yes; KG_AUTH_TOKEN_FILE, CLIENT_KEY, SSL_KEY no (they hold paths)."""
    if name in cfg["plainAllowed"]:
        return False
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if not words or words[-1] in NOT_A_SECRET_SUFFIXES:
        return False
    wanted = {w.upper() for w in cfg["secretWords"]}
    joined = "_".join(words)
    return bool(wanted & set(words)) or "PRIVATE_KEY" in joined or "API_KEY" in joined


def literal_secrets(script: str, cfg: Mapping[str, Any]) -> Iterator[str]:
    """Descriptions of secret-looking literals in a script or command line."""
    if PEM_KEY_RE.search(script):
        yield "a PEM private key"
    for match in ASSIGNMENT_RE.finditer(script):
        if secret_name(match["name"], cfg):
            yield f"a literal value for {match['name']}"
    if OPENSSL_PASS_RE.search(script):
        yield "an openssl `pass:` password"
    if RACF_PASSWORD_RE.search(script):
        yield "a literal RACF PASSWORD()"
    if SSHPASS_RE.search(script):
        yield "an sshpass -p password"


def _pem_in(value: str) -> bool:
    if PEM_KEY_RE.search(value):
        return True
    compact = value.strip()
    if len(compact) >= 64 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", compact):
        try:
            decoded = base64.b64decode(compact, validate=False).decode("utf-8", "ignore")
        except (binascii.Error, ValueError):
            return False
        return bool(PEM_KEY_RE.search(decoded))
    return False


def validate_no_plain_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, SECRETS_DEFAULTS)
    props = args.props
    kind = args.resource_type
    if kind == CONTAINER:
        for name, value in env_entries(props):
            if value and not is_secret(value) and secret_name(name, cfg):
                report(
                    f"container {args.name!r}: env {name} holds a plain value, which would be "
                    "stored unencrypted in the state and shown in diffs. Pass it from a "
                    "secret (config --secret or pulumi-random) so the input stays secret."
                )
        for field in ("command", "entrypoints"):
            for arg in elements(get(props, field)):
                if isinstance(arg, str):
                    for what in set(literal_secrets(arg, cfg)):
                        report(
                            f"container {args.name!r}: `{field}` carries {what}; arguments are "
                            "visible in `docker inspect` and ps. Read it from the "
                            "environment or a file instead."
                        )
    if kind in COMMANDS:
        for field in COMMAND_TEXT_FIELDS:
            script = get(props, field)
            if not isinstance(script, str):
                continue
            if is_secret(script):
                report(
                    f"{args.name!r}: the `{field}` command text is built from a secret, so "
                    "the secret is on the command line (process list, shell history, logs). "
                    "Pass it on stdin and read it there."
                )
            else:
                for what in sorted(set(literal_secrets(script, cfg))):
                    report(
                        f"{args.name!r}: the `{field}` command text holds {what}. Pass "
                        "secrets on stdin (from a secret Output), never in the command."
                    )
        for name, value in items(get(props, "environment")):
            plain = isinstance(value, str) and value and not is_secret(value)
            if plain and (secret_name(name, cfg) or PEM_KEY_RE.search(value)):
                report(
                    f"{args.name!r}: environment {name} holds a plain value. Make it a "
                    "secret Output, or pass the value on stdin."
                )
    if kind == IMAGE:
        # Build args end up in the image's history: never a place for a secret.
        for name, value in items(get(props, "build", "args")):
            if isinstance(value, str) and (secret_name(name, cfg) or _pem_in(value)):
                report(
                    f"image {args.name!r}: build arg {name} would be baked into the image "
                    "(docker history shows it). Give the secret to the container at runtime."
                )
    # Anywhere in any resource: a private key in a plain (non-secret) input.
    for path, value in walk_strings(props):
        if not is_secret(value) and _pem_in(value):
            report(
                f"{args.name!r}: input {path} holds a private key in plain text. Pass it "
                "from a secret (pulumi-tls key output or config --secret) so it is "
                "encrypted in the state."
            )


# 10. AT-TLS keeps TLSv1 and TLSv1.1 off ---------------------------------------------------


@dataclass
class Stanza:
    """One AT-TLS policy statement: `Keyword args...` with an optional { block }."""

    keyword: str
    args: list[str]
    children: list[Stanza] | None
    line: int

    def key(self) -> str:
        return self.keyword.lower()

    def param(self, name: str) -> str | None:
        for child in self.children or []:
            if child.key() == name.lower() and child.args:
                return child.args[0]
        return None


def parse_attls(policy: str) -> list[Stanza]:
    """AT-TLS policy text as statements (comments dropped); braces must balance."""
    tokens: list[tuple[str, int]] = []
    for number, line in enumerate(policy.splitlines(), 1):
        line = line.split("#", 1)[0]
        for token in re.sub(r"([{}])", r" \1 ", line).split():
            tokens.append((token, number))
    pos = 0

    def block(depth: int) -> list[Stanza]:
        nonlocal pos
        stanzas: list[Stanza] = []
        while pos < len(tokens):
            word, number = tokens[pos]
            if word == "}":
                if depth == 0:
                    raise ValueError(f"line {number}: '}}' without '{{'")
                pos += 1
                return stanzas
            if word == "{":
                raise ValueError(f"line {number}: '{{' without a statement")
            pos += 1
            args = []
            while pos < len(tokens) and tokens[pos][1] == number and tokens[pos][0] not in "{}":
                args.append(tokens[pos][0])
                pos += 1
            children = None
            if pos < len(tokens) and tokens[pos][0] == "{":
                pos += 1
                children = block(depth + 1)
            stanzas.append(Stanza(word, args, children, number))
        if depth:
            raise ValueError("a '{' is never closed")
        return stanzas

    return block(0)


HEREDOC_RE = re.compile(r"<<-?\s*(['\"]?)(\w+)\1[^\n]*\n(.*?)\n[ \t]*\2[ \t]*$", re.S | re.M)
TTLS_RE = re.compile(r"^\s*TTLSRule\b", re.IGNORECASE | re.MULTILINE)
OLD_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")


def attls_policies(script: str) -> Iterator[str]:
    """AT-TLS policy texts in a script: here-documents that hold a TTLSRule, or the
    whole text when it is a policy itself."""
    found = False
    for match in HEREDOC_RE.finditer(script):
        if TTLS_RE.search(match[3]):
            found = True
            yield match[3]
    if not found and TTLS_RE.search(script):
        yield script


def attls_problems(policy: str) -> list[str]:
    """What lets TLSv1, TLSv1.1 (or SSL) in, per statement."""
    try:
        stanzas = parse_attls(policy)
    except ValueError as exc:
        return [f"the AT-TLS policy does not parse ({exc}), so Policy Agent would reject it"]
    problems: list[str] = []

    def scan(items: list[Stanza]) -> None:
        for s in items:
            if s.children is not None:
                for proto in OLD_PROTOCOLS:
                    value = s.param(proto)
                    if value is not None and value.lower() == "on":
                        problems.append(f"{s.keyword} {' '.join(s.args)} sets {proto} On")
                scan(s.children)

    scan(stanzas)
    advanced = {
        s.args[0].lower(): s
        for s in stanzas
        if s.key() == "ttlsenvironmentadvancedparms" and s.args and s.children is not None
    }
    for action in (s for s in stanzas if s.key() == "ttlsenvironmentaction"):
        label = f"TTLSEnvironmentAction {' '.join(action.args)}".strip()
        parms = [c for c in action.children or [] if c.key() == "ttlsenvironmentadvancedparms"]
        for ref in (
            c for c in action.children or [] if c.key() == "ttlsenvironmentadvancedparmsref"
        ):
            target = advanced.get(ref.args[0].lower()) if ref.args else None
            if target is None:
                problems.append(f"{label} refers to a missing TTLSEnvironmentAdvancedParms")
            else:
                parms.append(target)
        if not parms:
            problems.append(
                f"{label} has no TTLSEnvironmentAdvancedParms, so TLSv1 and TLSv1.1 take "
                "AT-TLS's defaults (On)"
            )
        for p in parms:
            for proto in ("TLSv1", "TLSv1.1"):
                value = p.param(proto)
                if value is None:
                    problems.append(
                        f"{label}: its advanced parms do not say `{proto} Off` (the default is On)"
                    )
    return sorted(set(problems))


def validate_attls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for field, script in _script_texts(args):
        for policy in attls_policies(script):
            for problem in attls_problems(policy):
                report(
                    f"{args.name!r} ({field}): {problem}. Set `TLSv1 Off` and `TLSv1.1 Off` "
                    "(and TLSv1.2 On) in every TTLSEnvironmentAdvancedParms."
                )


# 11. certificates: bounded validity and early renewal -------------------------------------

CERTS_DEFAULTS = {
    "maxCaValidityHours": 10 * 365 * 24,
    "maxValidityHours": 398 * 24,
    "minEarlyRenewalHours": 24,
}
CERTS_DESCRIPTIONS = {
    "maxCaValidityHours": "Longest validity of a CA certificate (hours).",
    "maxValidityHours": "Longest validity of any other certificate (hours).",
    "minEarlyRenewalHours": "Shortest renewal window before expiry (hours).",
}


def validate_certificates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT):
        return
    cfg = config(args, CERTS_DEFAULTS)
    validity = get(args.props, "validityPeriodHours")
    renewal = get(args.props, "earlyRenewalHours")
    is_ca = flag(get(args.props, "isCaCertificate")) or False
    limit = cfg["maxCaValidityHours"] if is_ca else cfg["maxValidityHours"]
    what = "CA certificate" if is_ca else "certificate"
    number = isinstance(validity, int | float) and not isinstance(validity, bool)
    if number and not 0 < validity <= limit:
        report(
            f"{what} {args.name!r} is valid for {int(validity)} hours; the limit is "
            f"{limit} ({limit // 24} days). A stolen key stays useful that long: shorten "
            "validity_period_hours (cert_params)."
        )
    if renewal is UNKNOWN or validity is UNKNOWN:
        return
    renewal = 0 if renewal is None else renewal
    if not isinstance(renewal, int | float) or isinstance(renewal, bool):
        return
    if renewal < cfg["minEarlyRenewalHours"]:
        report(
            f"{what} {args.name!r} has early_renewal_hours={int(renewal)}: no `pulumi up` "
            "renews it before it expires, so TLS breaks on the expiry date. Set "
            f"early_renewal_hours to at least {cfg['minEarlyRenewalHours']} (cert_params)."
        )
    elif isinstance(validity, int | float) and renewal >= validity:
        report(
            f"{what} {args.name!r} has early_renewal_hours={int(renewal)} >= its validity "
            f"({int(validity)}): it is due for renewal as soon as it is made, so every "
            "`pulumi up` replaces it. Make the renewal window shorter than the validity."
        )


# --- the pack -----------------------------------------------------------------------------

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

RULES: list[Rule] = [
    Rule(
        "no-privileged-containers",
        "Containers run unprivileged: no privileged mode, no host-root capabilities.",
        MANDATORY,
        validate_no_privileged,
        {},
        {},
        Severity.CRITICAL,
        "Remove privileged=True and SYS_ADMIN-class capabilities from the container.",
    ),
    Rule(
        "docker-socket-only-in-hub",
        "Only the hub container mounts the Docker socket (DockerSpawner needs it).",
        MANDATORY,
        validate_socket_only_in_hub,
        HUB_DEFAULTS,
        HUB_DESCRIPTIONS,
        Severity.CRITICAL,
        "Remove the /var/run/docker.sock mount from every container but the hub.",
    ),
    Rule(
        "only-hub-publishes-ports",
        "Only the hub publishes a port on the Docker host; the gateway and the dev "
        "directory are reached over the Docker network.",
        MANDATORY,
        validate_only_hub_publishes,
        HUB_DEFAULTS,
        HUB_DESCRIPTIONS,
        Severity.HIGH,
        "Remove `ports` from containers other than the hub.",
    ),
    Rule(
        "images-pinned",
        "Images are pinned (a version tag or digest, never 'latest' or untagged): built "
        "images' bases, remote images and the notebook image.",
        MANDATORY,
        validate_images_pinned,
        IMAGES_DEFAULTS,
        IMAGES_DESCRIPTIONS,
        Severity.MEDIUM,
        "Pin FROM lines, RemoteImage names and DOCKER_NOTEBOOK_IMAGE by tag or digest.",
    ),
    Rule(
        "strong-keys",
        "Keys are strong: RSA >= 2048 bits, ECDSA P-256 or better, RACDCERT GENCERT SIZE likewise.",
        MANDATORY,
        validate_strong_keys,
        KEYS_DEFAULTS,
        KEYS_DESCRIPTIONS,
        Severity.HIGH,
        "Use ECDSA P256/P384 or RSA >= 2048 (ZOS_KEY_SIZE >= 2048 for RACF).",
    ),
    Rule(
        "kg-url-https-validated",
        "The hub reaches the Kernel Gateway over https with its certificate validated.",
        MANDATORY,
        validate_kg_url,
        KG_DEFAULTS,
        KG_DESCRIPTIONS,
        Severity.HIGH,
        "Set KG_URL to https://... and VALIDATE_KG_CERT to true.",
    ),
    Rule(
        "kg-url-https-validated-dev",
        "On dev stacks: the hub should reach the Kernel Gateway over https with its "
        "certificate validated.",
        ADVISORY,
        validate_kg_url_dev,
        KG_DEFAULTS,
        KG_DESCRIPTIONS,
        Severity.LOW,
        "Set KG_URL to https://... and VALIDATE_KG_CERT to true.",
    ),
    Rule(
        "remote-commands-verify-host-key",
        "Remote commands verify the SSH server's host key.",
        MANDATORY,
        validate_host_key,
        {},
        {},
        Severity.HIGH,
        "Set connection.host_key (ZOS_SSH_HOST_KEY); never StrictHostKeyChecking=no.",
    ),
    Rule(
        "hub-data-volume-kept",
        "The hub data volume (database, cookie secret) survives `pulumi destroy`.",
        MANDATORY,
        validate_data_volume_kept,
        VOLUME_DEFAULTS,
        VOLUME_DESCRIPTIONS,
        Severity.HIGH,
        "Set retain_on_delete=True (and the retain label) or protect=True on the volume.",
    ),
    Rule(
        "no-plain-secrets",
        "No secret in plain text: not in a container's environment or arguments, command "
        "text, build args or any non-secret input (tokens, passwords, private keys).",
        MANDATORY,
        validate_no_plain_secrets,
        SECRETS_DEFAULTS,
        SECRETS_DESCRIPTIONS,
        Severity.CRITICAL,
        "Keep secrets as secret Outputs; pass them to commands on stdin.",
    ),
    Rule(
        "attls-old-protocols-off",
        "AT-TLS policies turn TLSv1 and TLSv1.1 (and SSL) off explicitly.",
        MANDATORY,
        validate_attls,
        {},
        {},
        Severity.HIGH,
        "Add `TLSv1 Off`, `TLSv1.1 Off`, `TLSv1.2 On` to every TTLSEnvironmentAdvancedParms.",
    ),
    Rule(
        "certificates-bounded-renewed",
        "Certificates have a bounded validity and an early-renewal window.",
        MANDATORY,
        validate_certificates,
        CERTS_DEFAULTS,
        CERTS_DESCRIPTIONS,
        Severity.MEDIUM,
        "Set validity_period_hours within the limit and 0 < early_renewal_hours < validity.",
    ),
]

RULES_BY_NAME = {rule.name: rule for rule in RULES}
POLICIES: list[ResourceValidationPolicy] = [rule.policy() for rule in RULES]
