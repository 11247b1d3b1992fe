"""Where stack config comes from: the values the Pulumi CLI hands the program.

The CLI merges Pulumi.yaml defaults and Pulumi.<stack>.yaml and passes every value
as a string (arrays and objects as JSON) in PULUMI_CONFIG, with the names of the
keys that were set with --secret in PULUMI_CONFIG_SECRET_KEYS. Tests set the same
two variables (or the SDK's in-process config), so the program reads config exactly
one way.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.runtime import config as runtime_config


@dataclass(frozen=True)
class RawConfig:
    """One namespace's raw config: key -> string as delivered, plus which are secret."""

    namespace: str
    values: dict[str, str]
    secret_keys: frozenset[str]


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


def read_project_config() -> RawConfig:
    return read_namespace(pulumi.get_project())
