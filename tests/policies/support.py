"""Build what the engine hands a policy, and call validators the way the pack does.

Props are written in the engine's wire form (JSON of the protobuf Struct): a secret
is `secret(value)`, an unknown a pulumi-policy sentinel. `violations()` turns them
into ResourceValidationArgs exactly as the served pack's Analyze does (secret marks
kept, unknown-checking proxy) and calls the policy's validate, as pulumi-policy's
own tests do.
"""

from __future__ import annotations

import inspect
from typing import Any

from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from policies import sdk
from policies.pack import POLICIES
from policies.sdk import unknown_checking_proxy

UNKNOWN_STRING = sdk.UNKNOWN_STRING_VALUE
UNKNOWN_BOOL = sdk.UNKNOWN_BOOLEAN_VALUE
UNKNOWN_NUMBER = sdk.UNKNOWN_NUMBER_VALUE
UNKNOWN_ARRAY = sdk.UNKNOWN_ARRAY_VALUE
UNKNOWN_OBJECT = sdk.UNKNOWN_OBJECT_VALUE
SIG = sdk.SIG_KEY


def secret(value: Any) -> dict:
    """A secret as the engine marshals it (KeepSecrets)."""
    return {SIG: sdk.SECRET_SIG, "value": value}


def string_asset(text: str) -> dict:
    return {SIG: sdk.ASSET_SIG, "text": text}


def options(protect: bool = False, **extra: Any) -> PolicyResourceOptions:
    opts = PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )
    for key, value in extra.items():
        setattr(opts, key, value)
    return opts


def resource_args(
    type_: str,
    props: dict,
    name: str = "res",
    stack: str = "prod",
    config: dict | None = None,
    opts: PolicyResourceOptions | None = None,
    parent_type: str | None = None,
) -> ResourceValidationArgs:
    """`parent_type`: the component the resource is a child of, as its URN shows it."""
    deserialized = sdk.deserialize_keeping_secret_marks(props)
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return ResourceValidationArgs(
        type_,
        unknown_checking_proxy(deserialized),
        f"urn:pulumi:{stack}::jupyterhub-zos::{qualified}::{name}",
        name,
        opts or options(),
        None,
        config,
    )


def policy(name: str):
    return next(p for p in POLICIES if p.name == name)


def violations(policy_name: str, type_: str, props: dict, **kwargs: Any) -> list[str]:
    found: list[str] = []
    result = policy(policy_name).validate(
        resource_args(type_, props, **kwargs), lambda message, urn=None: found.append(message)
    )
    assert not inspect.isawaitable(result)
    return found
