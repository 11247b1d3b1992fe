"""How secrets reach a validator (policies/sdk.py): the secret marks the pack keeps."""

from __future__ import annotations

from pulumi_policy import deserialize as sdk_deserialize

from policies.sdk import deserialize_keeping_secret_marks, is_secret
from tests.policies.support import secret, string_asset

# --- how secrets reach a validator --------------------------------------------------------


def test_the_sdk_alone_hands_validators_secrets_as_plain_strings():
    """The finding the secrets rule is built on: pulumi-policy's Analyze path unwraps
    secrets (no marker), so without keep_secret_marks a secret looks like a literal."""
    wire = {"envs": [secret("KG_AUTH_TOKEN=abc")], "name": "hub"}
    plain = sdk_deserialize.deserialize_properties(wire)
    assert plain["envs"][0] == "KG_AUTH_TOKEN=abc"
    assert type(plain["envs"][0]) is str
    marked = deserialize_keeping_secret_marks(wire)
    assert marked["envs"][0] == "KG_AUTH_TOKEN=abc"
    assert is_secret(marked["envs"][0])
    assert not is_secret(marked["name"])


def test_secret_marks_reach_into_nested_secrets_and_string_assets():
    wire = {
        "connection": secret({"host": "h", "privateKey": "k", "port": 22}),
        "source": secret(string_asset("text")),
        "plain": string_asset("open"),
    }
    marked = deserialize_keeping_secret_marks(wire)
    assert is_secret(marked["connection"]["privateKey"])
    assert marked["connection"]["port"] == 22
    assert is_secret(marked["source"].text)
    assert not is_secret(marked["plain"].text)
