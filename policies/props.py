"""Reading a resource the way a policy sees it, one value at a time.

What a validator sees (read from pulumi-policy 1.21 and the engine):
- `args.props` are the resource's *inputs*, camelCase, wrapped in pulumi-policy's
  unknown-checking proxy: touching a value unknown during preview raises
  UnknownValueError. The helpers below read one value at a time and treat an unknown
  one as "cannot judge yet", so the other checks of the same resource still run.
- Secret strings are `SecretText` (see policies/sdk.py): read as plain strings here.
- Resource options: only protect, ignoreChanges, deleteBeforeReplace, aliases,
  customTimeouts, additionalSecretOutputs and parent reach a policy. retainOnDelete
  does not (AnalyzerResourceOptions has no such field), hence the data-volume rule's
  label (see policies/data.py).
- Policy config arrives as given in `--policy-pack-config`; each rule merges it over
  its own defaults (the same defaults its config_schema declares).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs

from .sdk import UNKNOWN_SENTINELS, SecretText, UnknownValueError, is_secret

# --- the resource types the rules look at (Pulumi type tokens) ----------------------------

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


# --- reading props safely -----------------------------------------------------------------


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()  # a value not known until the update (preview)


def _known(value: Any) -> Any:
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
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
    return value if isinstance(value, str) and value not in UNKNOWN_SENTINELS else None


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


def parent_type(args: ResourceValidationArgs) -> str | None:
    """The type of the resource's parent component, from its URN
    (urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>); None at the top."""
    parts = (args.urn or "").split("::")
    chain = parts[2].split("$") if len(parts) >= 4 else []
    return chain[-2] if len(chain) >= 2 else None


def docker_name(args: ResourceValidationArgs) -> str:
    """A container's or volume's Docker name; its Pulumi name when that is not known."""
    return text(get(args.props, "name")) or args.name or ""


# --- the shell text of command resources -------------------------------------------------

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


def script_texts(args: ResourceValidationArgs) -> Iterator[tuple[str, str]]:
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
