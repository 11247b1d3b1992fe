"""The pack as a whole: its table (policies/pack.py), and the pack as the Pulumi CLI
runs it (policies/__main__.py), minus the CLI.

The CLI starts `python -u -m pulumi.policy <engine> .` in the policies directory, reads
the port PolicyPack prints and talks gRPC to it (GetAnalyzerInfo, Configure, Analyze).
This test does exactly that on loopback, with requests shaped as the engine shapes them
(secrets in the secret signature, as analyzer_plugin.go marshals with KeepSecrets), so
it checks __main__.py, the secret marks hook and config plumbing end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel

from policies.pack import PACK_NAME, POLICIES, RULES, RULES_BY_NAME
from policies.props import CONTAINER, VOLUME
from tests.policies.support import secret, violations

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"


# --- the table (policies/pack.py) --------------------------------------------------------


def test_the_pack_has_every_policy_the_issue_lists_with_unique_names():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) == 15
    for p in POLICIES:
        assert p.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
        assert p.description and p.remediation_steps
        for key, schema in (p.config_schema.properties if p.config_schema else {}).items():
            assert schema["default"] == RULES_BY_NAME[p.name].defaults[key]
            assert schema["type"] in ("string", "integer", "boolean", "array")


def test_other_resource_types_are_left_alone():
    for p in POLICIES:
        assert (
            violations(p.name, "random:index/randomPassword:RandomPassword", {"length": 32}) == []
        )


# --- the served pack (policies/__main__.py) -----------------------------------------------


@pytest.fixture(scope="module")
def analyzer():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=POLICIES_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = server.stdout.readline().strip()
        if not line.isdigit():
            server.kill()
            pytest.fail(f"the pack did not start: {line!r} {server.stderr.read()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        server.kill()
        server.wait(timeout=30)


def analyze(stub, type_: str, name: str, props: dict, stack: str = "prod", protect=False):
    request = proto.AnalyzeRequest(
        type=type_,
        name=name,
        urn=f"urn:pulumi:{stack}::jupyterhub-zos::{type_}::{name}",
        properties=json_format.ParseDict(props, struct_pb2.Struct()),
        options=proto.AnalyzerResourceOptions(protect=protect),
    )
    return list(stub.Analyze(request).diagnostics)


def configure(stub, config: dict) -> None:
    """Like --policy-pack-config: {"policy": {"enforcementLevel": ..., prop: value}}."""
    levels = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED}
    request = proto.ConfigureAnalyzerRequest()
    for policy_name in (p.name for p in POLICIES):
        entry = dict(config.get(policy_name, {}))
        level = entry.pop("enforcementLevel", None)
        default = RULES_BY_NAME[policy_name].level.value
        request.policyConfig[policy_name].CopyFrom(
            proto.PolicyConfig(
                enforcementLevel=levels[level or default],
                properties=json_format.ParseDict(entry, struct_pb2.Struct()),
            )
        )
    stub.Configure(request)


def test_pack_serves_every_policy_with_its_level_and_config_schema(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and info.supportsConfig
    served = {p.name: p for p in info.policies}
    assert set(served) == {p.name for p in POLICIES}
    for rule in RULES:
        level = proto.MANDATORY if rule.level.value == "mandatory" else proto.ADVISORY
        assert served[rule.name].enforcementLevel == level
        schema = json_format.MessageToDict(served[rule.name].configSchema.properties)
        assert set(schema) == set(rule.descriptions)


# What containers-hardened asks of every container (its own tests: test_containers.py).
HARDENED = {
    "capabilities": {"drops": ["ALL"]},
    "securityOpts": ["no-new-privileges:true"],
    "memory": 512,
}


def test_served_pack_tells_secret_outputs_from_literals(analyzer):
    configure(analyzer, {})
    good = {"name": "jupyterhub", "envs": [secret("KG_AUTH_TOKEN=0123456789abcdef")], **HARDENED}
    assert analyze(analyzer, CONTAINER, "hub", good) == []
    bad = {"name": "jupyterhub", "envs": ["KG_AUTH_TOKEN=0123456789abcdef"], **HARDENED}
    found = analyze(analyzer, CONTAINER, "hub", bad)
    assert [d.policyName for d in found] == ["no-plain-secrets"]
    assert found[0].enforcementLevel == proto.MANDATORY
    assert "env KG_AUTH_TOKEN holds a plain value" in found[0].message
    # The secret's value never comes back in a message.
    assert "0123456789abcdef" not in found[0].message


def test_served_pack_sees_protect_and_survives_unknowns(analyzer):
    configure(analyzer, {})
    volume = {"name": "jupyterhub-data"}
    assert analyze(analyzer, VOLUME, "data", volume, protect=True) == []
    assert [d.policyName for d in analyze(analyzer, VOLUME, "data", volume)] == [
        "hub-data-volume-kept"
    ]
    unknown = {"envs": ["04da6b54-80e4-46f7-96ec-b56ff0331ba9"], "ports": [], **HARDENED}
    assert analyze(analyzer, CONTAINER, "hub", unknown) == []


def test_served_pack_applies_policy_config_and_levels(analyzer):
    plain = {"name": "gw", "envs": ["KG_URL=http://gw:8099"], **HARDENED}
    try:
        configure(analyzer, {})
        found = analyze(analyzer, CONTAINER, "hub", plain, stack="dev")
        assert [(d.policyName, d.enforcementLevel) for d in found] == [
            ("kg-url-https-validated-dev", proto.ADVISORY)
        ]
        found = analyze(analyzer, CONTAINER, "hub", plain, stack="prod")
        assert [(d.policyName, d.enforcementLevel) for d in found] == [
            ("kg-url-https-validated", proto.MANDATORY)
        ]
        configure(
            analyzer,
            {
                "kg-url-https-validated": {"enforcementLevel": "advisory", "devStacks": ["prod"]},
                "kg-url-https-validated-dev": {"enforcementLevel": "disabled"},
            },
        )
        assert analyze(analyzer, CONTAINER, "hub", plain, stack="prod") == []
        found = analyze(analyzer, CONTAINER, "hub", plain, stack="dev")
        assert [(d.policyName, d.enforcementLevel) for d in found] == [
            ("kg-url-https-validated", proto.ADVISORY)
        ]
    finally:
        configure(analyzer, {})


def test_pulumi_policy_yaml_runs_the_pack_in_the_project_venv():
    import yaml

    spec = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text())
    assert spec["runtime"]["name"] == "python"
    venv = POLICIES_DIR / spec["runtime"]["options"]["virtualenv"]
    assert venv.resolve() == (POLICIES_DIR.parent / "venv").resolve()
    requirements = (POLICIES_DIR / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements
    assert json.dumps(spec)  # plain data the CLI can load
