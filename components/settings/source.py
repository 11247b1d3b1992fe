"""Where stack config comes from: the values the Pulumi CLI hands the program.

The CLI merges Pulumi.yaml defaults and Pulumi.<stack>.yaml and passes every value
as a string (arrays and objects as JSON) in PULUMI_CONFIG, with the names of the
keys that were set with --secret in PULUMI_CONFIG_SECRET_KEYS. Tests set the same
two variables (or the SDK's in-process config), so the program reads config exactly
one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from pulumi.runtime import config as runtime_config

from components.stack_file import is_ciphertext, plain_leaves


@dataclass(frozen=True)
class RawConfig:
    """One namespace's raw config: key -> string as delivered, plus which are secret.
    `plain_parts`: for a map key set part by part (`--path`), the parts the stack file
    holds in clear while others are encrypted (the CLI then calls the whole key secret)."""

    namespace: str
    values: dict[str, str]
    secret_keys: frozenset[str]
    plain_parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def plain_secret_parts(
    stack_file: Path, namespace: str, keys: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Of `keys` (secret map keys), those whose entry in `stack_file` has a part that is
    not `secure:` -> the paths of those parts. `pulumi config set --path 'K.alice.p12'`
    without --secret stores that part in clear; once any part is encrypted the CLI marks
    the whole key secret, so only the stack file shows it."""
    if not stack_file.is_file():
        return {}
    import yaml  # only for a stack that sets a secret map key

    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    found: dict[str, tuple[str, ...]] = {}
    for key in keys:
        entry = config.get(f"{namespace}:{key}")
        if isinstance(entry, dict) and not is_ciphertext(entry):
            leaves = plain_leaves(entry, key)
            if leaves:
                found[key] = tuple(leaves)
    return found


def _all_config() -> dict[str, object]:
    merged: dict[str, object] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def _all_secret_keys() -> set[str]:
    keys = set(runtime_config.get_config_secret_keys_env())
    keys.update(runtime_config._SECRET_KEYS.get())  # set by set_all_config (tests, automation)
    return keys


def read_namespace(namespace: str) -> RawConfig:
    """Every `<namespace>:<key>` value, unparsed, and the subset that is secret."""
    prefix = f"{namespace}:"
    values: dict[str, str] = {}
    for full_key, value in _all_config().items():
        if full_key.startswith(prefix):
            values[full_key[len(prefix) :]] = value if isinstance(value, str) else str(value)
    secret = {k[len(prefix) :] for k in _all_secret_keys() if k.startswith(prefix)}
    return RawConfig(namespace, values, frozenset(secret & values.keys()))


def read_project_config(secret_map_keys: Iterable[str] = ()) -> RawConfig:
    """The project's config; for each of `secret_map_keys` the stack sets, the parts its
    stack file (Pulumi.<stack>.yaml in the project directory, where the CLI runs the
    program) holds in clear."""
    raw = read_namespace(pulumi.get_project())
    keys = [k for k in secret_map_keys if raw.values.get(k, "").strip()]
    if not keys:
        return raw
    stack_file = Path(f"Pulumi.{pulumi.get_stack()}.yaml")
    parts = plain_secret_parts(stack_file, raw.namespace, keys)
    return RawConfig(raw.namespace, raw.values, raw.secret_keys, parts)
