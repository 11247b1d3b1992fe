"""The hub's link to the gateway (policies/gateway.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import pytest
from pulumi_policy import EnforcementLevel

from policies.props import CONTAINER
from tests.policies.support import UNKNOWN_ARRAY, UNKNOWN_STRING, policy, violations

# --- kg-url-https-validated (+ -dev) ---------------------------------------------------

KG, KG_DEV = "kg-url-https-validated", "kg-url-https-validated-dev"
GOOD_KG = {"envs": ["KG_URL=https://gw.example.com:8099", "VALIDATE_KG_CERT=true"]}


def test_https_and_validation_pass_on_every_stack():
    for stack in ("prod", "dev"):
        assert violations(KG, CONTAINER, GOOD_KG, stack=stack) == []
        assert violations(KG_DEV, CONTAINER, GOOD_KG, stack=stack) == []
    assert violations(KG, CONTAINER, {"envs": ["KG_URL=HTTPS://gw:8099"]}) == []


@pytest.mark.parametrize(
    "envs, needle",
    [
        (["KG_URL=http://gw.example.com:8099"], "clear text"),
        (["KG_URL=https://gw:8099", "VALIDATE_KG_CERT=false"], "not checked"),
        (["KG_URL=https://gw:8099", "VALIDATE_KG_CERT=False"], "not checked"),
        (["JUPYTER_GATEWAY_URL=http://gw:8888"], "clear text"),
    ],
)
def test_plain_or_unvalidated_gateway(envs, needle):
    # Mandatory everywhere but dev ...
    found = violations(KG, CONTAINER, {"envs": envs}, stack="prod", name="hub")
    assert len(found) == 1 and needle in found[0]
    assert violations(KG_DEV, CONTAINER, {"envs": envs}, stack="prod") == []
    # ... advisory (the other policy) on dev.
    assert violations(KG, CONTAINER, {"envs": envs}, stack="dev") == []
    found = violations(KG_DEV, CONTAINER, {"envs": envs}, stack="dev")
    assert len(found) == 1 and needle in found[0] and "advisory on the dev stack" in found[0]
    assert policy(KG).enforcement_level == EnforcementLevel.MANDATORY
    assert policy(KG_DEV).enforcement_level == EnforcementLevel.ADVISORY


def test_kg_stack_comes_from_config_when_given():
    plain = {"envs": ["KG_URL=http://gw:8099"]}
    assert violations(KG, CONTAINER, plain, stack="prod", config={"stack": "dev"}) == []
    assert violations(KG_DEV, CONTAINER, plain, stack="prod", config={"stack": "dev"})
    # A team may name its own throwaway stacks.
    sandbox = {"devStacks": ["sandbox"]}
    assert violations(KG, CONTAINER, plain, stack="dev", config=sandbox)
    assert violations(KG, CONTAINER, plain, stack="sandbox", config=sandbox) == []


def test_kg_missing_or_unknown_props_pass():
    for props in ({}, {"envs": UNKNOWN_ARRAY}, {"envs": [UNKNOWN_STRING, "VALIDATE_KG_CERT"]}):
        assert violations(KG, CONTAINER, props) == []
        assert violations(KG_DEV, CONTAINER, props, stack="dev") == []
