"""The one module of the pack that touches pulumi-policy's internals.

pulumi-policy exports its public API from `pulumi_policy`; what the pack needs beyond it
lives in the SDK's modules `deserialize`, `proxy` and `policy` (read from pulumi-policy
1.21). Every such name is imported here, at import time, so an SDK upgrade that moves one
fails loudly when the pack starts (and in every test), not silently in a validator.

Secrets: the engine sends secret inputs wrapped in the secret signature
(analyzer_plugin.go marshals with KeepSecrets), but pulumi-policy's Analyze path unwraps
them (`deserialize_properties(..., proxy_secrets=False)`): a validator gets the plaintext
and cannot tell a secret Output from a literal. `keep_secret_marks()` (called by
`__main__.py` before the pack starts) makes every string that arrived inside a secret a
`SecretText`, a `str` subclass: every rule reads it as a plain string, and the secrets
rule can ask `is_secret()`.

Unknowns: during preview a value not known yet arrives as one of the SDK's sentinel
strings, and the SDK's unknown-checking proxy raises UnknownValueError when a validator
touches one; `UNKNOWN_SENTINELS` and `UnknownValueError` let policies/props.py read around
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi_policy.policy as _sdk_policy
from pulumi_policy import deserialize as _sdk_deserialize
from pulumi_policy import proxy as _sdk_proxy
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

__all__ = [
    "ASSET_SIG",
    "SECRET_SIG",
    "SIG_KEY",
    "UNKNOWN_ARRAY_VALUE",
    "UNKNOWN_BOOLEAN_VALUE",
    "UNKNOWN_NUMBER_VALUE",
    "UNKNOWN_OBJECT_VALUE",
    "UNKNOWN_SENTINELS",
    "UNKNOWN_STRING_VALUE",
    "SecretText",
    "UnknownValueError",
    "deserialize_keeping_secret_marks",
    "is_secret",
    "keep_secret_marks",
    "mark_secret",
    "unknown_checking_proxy",
]

# The engine's wire form: a secret is {SIG_KEY: SECRET_SIG, "value": ...}, an asset
# {SIG_KEY: ASSET_SIG, "text": ...}.
SIG_KEY = _sdk_deserialize.SPECIAL_SIG_KEY
SECRET_SIG = _sdk_deserialize.SPECIAL_SECRET_SIG
ASSET_SIG = _sdk_deserialize.SPECIAL_ASSET_SIG

# What a value not known until the update (preview) arrives as, per kind.
UNKNOWN_BOOLEAN_VALUE = _sdk_proxy.UNKNOWN_BOOLEAN_VALUE
UNKNOWN_NUMBER_VALUE = _sdk_proxy.UNKNOWN_NUMBER_VALUE
UNKNOWN_STRING_VALUE = _sdk_proxy.UNKNOWN_STRING_VALUE
UNKNOWN_ARRAY_VALUE = _sdk_proxy.UNKNOWN_ARRAY_VALUE
UNKNOWN_OBJECT_VALUE = _sdk_proxy.UNKNOWN_OBJECT_VALUE
UNKNOWN_SENTINELS = frozenset(
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


def _mark_wire_secrets(raw: Any, inside: bool = False) -> Any:
    """The engine's JSON form of a property with each secret's strings made SecretText
    and the secret wrappers removed; assets and archives are left for the SDK."""
    if isinstance(raw, dict):
        sig = raw.get(SIG_KEY)
        if sig == SECRET_SIG:
            return _mark_wire_secrets(raw.get("value"), True)
        if sig == ASSET_SIG and inside and isinstance(raw.get("text"), str):
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
