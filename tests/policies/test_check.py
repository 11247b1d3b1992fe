"""tools/policy_check.py on synthetic graphs of the mock harness's own Recorded records,
so the tool's plumbing is tested apart from the program: secret marks, options, policy
config, levels, output and exit codes. tests/policies/test_graph.py runs it on graphs the
harness records."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from components.pki import specs as cert_params
from components.settings import Problem, SettingsError
from policies.pack import RULES_BY_NAME
from policies.props import (
    CONTAINER,
    IMAGE,
    LOCAL_COMMAND,
    LOCALLY_SIGNED_CERT,
    PRIVATE_KEY,
    SELF_SIGNED_CERT,
    VOLUME,
)
from tools import policy_check
from tools.mock_graph import Recorded

PREFIX = "urn:pulumi:{stack}::jupyterhub-zos::"
DIGEST = "b" * 64


def res(
    stack: str, type_: str, name: str, inputs: dict, secret=(), parent_type="", **options
) -> Recorded:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return Recorded(
        type=type_,
        name=name,
        urn=f"{PREFIX.format(stack=stack)}{qualified}::{name}",
        inputs=inputs,
        secret_paths=frozenset(secret),
        parent="",
        dependencies=frozenset(),
        custom=True,
        options={"protect": None, "retainOnDelete": None, **options},
    )


def cert(stack: str, type_: str, name: str, spec: cert_params.CertSpec) -> Recorded:
    props = {
        "validityPeriodHours": spec.validity_hours,
        "earlyRenewalHours": spec.early_renewal_hours,
        "isCaCertificate": spec.is_ca,
        "allowedUses": list(spec.allowed_uses),
        "privateKeyPem": "-----BEGIN PRIVATE KEY-----\nMOCK\n-----END PRIVATE KEY-----\n",
    }
    return res(stack, type_, name, props, secret=["privateKeyPem"])


def dev_graph(tmp_path, stack: str = "dev") -> list[Recorded]:
    """A small graph like the dev stack's: what each component issue describes."""
    context = tmp_path / "hub"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text("FROM quay.io/jupyterhub/jupyterhub:5.3.0\n")
    hub_envs = [
        "KG_URL=https://dev-gateway:8888",
        "VALIDATE_KG_CERT=true",
        "CLIENT_KEY=key.pem",
        "SSL_KEY=/srv/jupyterhub/tls/key.pem",
        f"DOCKER_NOTEBOOK_IMAGE=jupyterhub-zos-notebook@sha256:{DIGEST}",
        "KG_AUTH_TOKEN=0123456789abcdef0123456789abcdef",
        "JPY_COOKIE_SECRET=" + "cd" * 32,
        "CONFIGPROXY_AUTH_TOKEN=" + "ef" * 16,
        "NOTEBOOK_MEM_LIMIT=2G",
        "NOTEBOOK_CPU_LIMIT=2",
        "NOTEBOOK_PIDS_LIMIT=512",
    ]
    hardened = {"capabilities": {"drops": ["ALL"]}, "securityOpts": ["no-new-privileges:true"]}
    tls_upload = [{"file": "/srv/jupyterhub/tls/key.pem", "content": "-----BEGIN PRIVATE KEY-----"}]
    return [
        res(stack, "docker:index/network:Network", "jupyterhub-network", {"name": "jupyterhub"}),
        res(
            stack,
            VOLUME,
            "jupyterhub-data",
            {
                "name": "jupyterhub-data",
                "labels": [{"label": "jupyterhub-zos.retain-on-delete", "value": "true"}],
            },
            retainOnDelete=True,
        ),
        res(
            stack,
            IMAGE,
            "hub-image",
            {"imageName": "hub", "build": {"context": str(context)}},
        ),
        res(stack, PRIVATE_KEY, "ca-key", {"algorithm": "ECDSA", "ecdsaCurve": "P256"}),
        cert(stack, SELF_SIGNED_CERT, "ca-cert", cert_params.ca_spec("Gateway")),
        cert(stack, LOCALLY_SIGNED_CERT, "hub-cert", cert_params.server_spec("hub")),
        res(
            stack,
            CONTAINER,
            "jupyterhub",
            {
                "name": "jupyterhub",
                "image": f"sha256:{DIGEST}",
                "ports": [{"internal": 443, "external": 8443}],
                "volumes": [
                    {"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"},
                    {"volumeName": "jupyterhub-data", "containerPath": "/data"},
                ],
                "envs": hub_envs,
                "uploads": tls_upload,
                **hardened,
            },
            secret=["envs", "uploads"],
            parent_type="jupyterhub-zos:hub:Hub",
        ),
        res(
            stack,
            CONTAINER,
            "gateway",
            {
                "name": f"{stack}-gateway",
                "envs": ["KG_AUTH_TOKEN=0123456789abcdef"],
                "memory": 4096,
                **hardened,
            },
            secret=["envs"],
        ),
        res(
            stack,
            LOCAL_COMMAND,
            "alice-pki",
            {"create": "umask 077; cat > /srv/pki/alice/key.pem", "stdin": "-----BEGIN PRIVATE"},
            secret=["stdin"],
        ),
    ]


def names(violations) -> list[tuple[str, str, str]]:
    return sorted((v.policy, v.level, v.name) for v in violations)


def test_a_compliant_graph_has_no_violation(tmp_path):
    assert policy_check.check(dev_graph(tmp_path)) == []


def test_secretness_comes_from_secret_paths(tmp_path):
    graph = dev_graph(tmp_path)
    graph[6] = replace(graph[6], secret_paths=frozenset({"uploads"}))  # hub envs plain
    found = policy_check.check(graph)
    flagged = [v for v in found if v.name == "jupyterhub"]
    assert {v.policy for v in flagged} == {"no-plain-secrets"}
    assert len(flagged) == 3  # KG_AUTH_TOKEN, JPY_COOKIE_SECRET, CONFIGPROXY_AUTH_TOKEN
    assert all(v.level == "mandatory" for v in flagged)
    assert flagged[0].message.startswith(RULES_BY_NAME["no-plain-secrets"].description)


def test_retain_on_delete_is_read_from_the_recorded_options(tmp_path):
    graph = dev_graph(tmp_path)
    graph[1] = replace(graph[1], options={"retainOnDelete": False, "protect": None})
    found = names(policy_check.check(graph))
    assert found == [("hub-data-volume-kept", "mandatory", "jupyterhub-data")]
    graph[1] = replace(graph[1], inputs={"name": "jupyterhub-data"}, options={"protect": True})
    assert policy_check.check(graph) == []


def test_kg_url_level_follows_the_stack_in_the_urn(tmp_path):
    for stack, expected in (
        ("dev", "kg-url-https-validated-dev"),
        ("prod", "kg-url-https-validated"),
    ):
        graph = dev_graph(tmp_path, stack)
        hub = graph[6]
        envs = [e.replace("https://", "http://") for e in hub.inputs["envs"]]
        graph[6] = replace(hub, inputs={**hub.inputs, "envs": envs})
        found = names(policy_check.check(graph))
        level = "advisory" if stack == "dev" else "mandatory"
        assert found == [(expected, level, "jupyterhub")]


def test_policy_config_sets_levels_and_properties(tmp_path):
    graph = dev_graph(tmp_path)
    graph[6] = replace(graph[6], secret_paths=frozenset({"uploads"}))
    everything_advisory = policy_check.parse_policy_config({"all": "advisory"})
    assert {v.level for v in policy_check.check(graph, everything_advisory)} == {"advisory"}
    # A policy's own entry wins over "all".
    mixed = policy_check.parse_policy_config(
        {"all": {"enforcementLevel": "advisory"}, "no-plain-secrets": "mandatory"}
    )
    assert {v.level for v in policy_check.check(graph, mixed)} == {"mandatory"}
    disabled = policy_check.parse_policy_config({"no-plain-secrets": "disabled"})
    assert policy_check.check(graph, disabled) == []
    props = policy_check.parse_policy_config(
        {"only-hub-publishes-ports": {"hubComponents": ["jupyterhub-zos:dev_gateway:DevGateway"]}}
    )
    found = names(policy_check.check(dev_graph(tmp_path), props))
    assert ("only-hub-publishes-ports", "mandatory", "jupyterhub") in found


def test_bad_policy_config_is_refused_naming_each_problem():
    with pytest.raises(policy_check.PolicyConfigError) as err:
        policy_check.parse_policy_config(
            {
                "all": "strict",
                "no-such-policy": "advisory",
                "strong-keys": {"minRsaBits": "2048", "minBits": 1},
                "images-pinned": {"notebookImageEnv": "X"},
                "hub-data-volume-kept": 3,
            }
        )
    message = str(err.value)
    for needle in (
        "all: enforcementLevel 'strict'",
        "no-such-policy: no such policy",
        "strong-keys.minRsaBits: must be of type integer",
        "strong-keys: unknown property 'minBits'",
        "images-pinned.notebookImageEnv: must be of type array",
        "hub-data-volume-kept: must be an enforcement level",
    ):
        assert needle in message


class FakeHarness:
    """Stands in for tools.mock_graph.run_program; records how it was called."""

    def __init__(self, resources=None, error: Exception | None = None):
        self.resources = resources or []
        self.error = error
        self.calls: list[dict] = []

    def __call__(self, stack, config, secrets):
        self.calls.append({"stack": stack, "config": config, "secrets": secrets})
        if self.error:
            raise self.error
        return type("Graph", (), {"resources": self.resources, "stack": stack})()


def test_main_exit_status_and_report(tmp_path, capsys):
    clean = FakeHarness(dev_graph(tmp_path))
    assert policy_check.main(["--stack", "dev"], run_program=clean) == 0
    out = capsys.readouterr().out
    assert "stack 'dev', 9 resources, 15 policies" in out and "0 mandatory, 0 advisory" in out

    graph = dev_graph(tmp_path)
    graph[6] = replace(graph[6], secret_paths=frozenset({"uploads"}))
    assert policy_check.main([], run_program=FakeHarness(graph)) == 1
    out = capsys.readouterr().out
    assert "MANDATORY  no-plain-secrets  docker:index/container:Container::jupyterhub" in out
    assert "3 mandatory, 0 advisory violation(s) - fix the mandatory ones" in out

    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"no-plain-secrets": "advisory"}))
    assert policy_check.main(["--policy-config", str(config)], run_program=FakeHarness(graph)) == 0
    assert "0 mandatory, 3 advisory" in capsys.readouterr().out

    assert policy_check.main(["--json"], run_program=FakeHarness(graph)) == 1
    listed = json.loads(capsys.readouterr().out)
    assert {v["policy"] for v in listed} == {"no-plain-secrets"} and len(listed) == 3


def test_main_passes_config_and_secrets_from_the_environment(monkeypatch, capsys):
    harness = FakeHarness()
    monkeypatch.setenv("KG_AUTH_TOKEN", "from-the-environment-only")
    argv = ["--stack", "prod", "--set", "HUB_HTTPS_PORT=443", "--set", 'X=["a"]']
    assert policy_check.main([*argv, "--secret", "KG_AUTH_TOKEN"], run_program=harness) == 0
    assert harness.calls == [
        {
            "stack": "prod",
            "config": {"HUB_HTTPS_PORT": "443", "X": '["a"]'},
            "secrets": {"KG_AUTH_TOKEN": "from-the-environment-only"},
        }
    ]
    monkeypatch.delenv("KG_AUTH_TOKEN")
    assert policy_check.main(["--secret", "KG_AUTH_TOKEN"], run_program=harness) == 2
    assert "set the environment variable KG_AUTH_TOKEN" in capsys.readouterr().err


def test_main_reports_bad_stack_or_policy_config(tmp_path, capsys):
    error = SettingsError("prod", [Problem("HUB_ADMIN_USERS", "is required")])
    assert policy_check.main(["--stack", "prod"], run_program=FakeHarness(error=error)) == 2
    err = capsys.readouterr().err
    assert "the program did not run" in err and "HUB_ADMIN_USERS: is required" in err
    encrypted = ValueError("Pulumi.prod.yaml holds encrypted values (KG_AUTH_TOKEN)")
    assert policy_check.main(["--stack", "prod"], run_program=FakeHarness(error=encrypted)) == 2
    assert "--secret KEY" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"nope": "advisory"}')
    assert policy_check.main(["--policy-config", str(bad)], run_program=FakeHarness()) == 2
    assert "nope: no such policy" in capsys.readouterr().err
    bad.write_text("{")
    assert policy_check.main(["--policy-config", str(bad)], run_program=FakeHarness()) == 2
