"""The gateway PKI and the per-user delivery in the resource graph (__main__.py under
Pulumi mocks): certificate parameters, secrecy, one delivery per user, re-delivery."""

from __future__ import annotations

import json

import pytest

from components.gateway.dev_gateway import CONTAINER_NAME
from components.gateway.pki import GATEWAY_CA_PURPOSE, gateway_server_spec
from components.pki.specs import ca_spec, client_spec
from components.settings import SettingsError
from tools import mock_graph
from tools.mock_graph import ROOT, run_program

COMMAND = "command:local:Command"
KEY = "tls:index/privateKey:PrivateKey"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CSR = "tls:index/certRequest:CertRequest"
CONTAINER = "docker:index/container:Container"
PKI = "jupyterhub-gateway-pki"
DELIVERY = "jupyterhub-pki"


@pytest.fixture(scope="module")
def dev():
    return run_program("dev")


@pytest.fixture(scope="module")
def own_gateway():
    return run_program(
        "dev",
        config={"KG_URL": "https://kg.example.org:8099", "HUB_PKI_DIR": "/srv/jhz/pki"},
        secrets={"KG_AUTH_TOKEN": "a-long-enough-gateway-token"},
    )


@pytest.fixture(scope="module")
def remote_docker():
    return run_program(
        "dev",
        config={
            "docker:host": "ssh://deploy@docker.example.org:2222",
            "docker:sshOpts": ["-o", "StrictHostKeyChecking=yes"],
        },
    )


def envs(resource) -> dict[str, str]:
    return dict(item.split("=", 1) for item in resource.inputs["envs"])


def deliveries(graph) -> dict[str, object]:
    return {
        r.name.removeprefix(f"{DELIVERY}-"): r
        for r in graph.of_type(COMMAND)
        if r.name.startswith(f"{DELIVERY}-")
    }


# --- certificates: the parameters of components/pki/specs.py ---------------------------


def test_every_key_is_ecdsa_p256(dev):
    keys = [r for r in dev.of_type(KEY) if r.name.startswith(PKI)]
    assert {r.name for r in keys} == {
        f"{PKI}-ca-key",
        f"{PKI}-server-key",
        f"{PKI}-user-admin-key",
        f"{PKI}-user-alice-key",
    }
    assert all(r.inputs["algorithm"] == "ECDSA" and r.inputs["ecdsaCurve"] == "P256" for r in keys)


def test_ca_and_certificates_follow_the_specs(dev):
    ca = dev.one(SELF_SIGNED, f"{PKI}-ca-cert")
    spec = ca_spec(GATEWAY_CA_PURPOSE)
    assert ca.inputs["isCaCertificate"] is True
    assert ca.inputs["allowedUses"] == list(spec.allowed_uses)
    assert ca.inputs["validityPeriodHours"] == spec.validity_hours
    assert ca.inputs["subject"]["commonName"] == spec.common_name
    for user in ("admin", "alice"):
        spec = client_spec(user)
        cert = dev.one(SIGNED, f"{PKI}-user-{user}-cert")
        csr = dev.one(CSR, f"{PKI}-user-{user}-csr")
        assert csr.inputs["subject"]["commonName"] == user
        assert cert.inputs["allowedUses"] == list(spec.allowed_uses)
        assert "client_auth" in cert.inputs["allowedUses"]
        assert cert.inputs["earlyRenewalHours"] == spec.early_renewal_hours
        assert cert.inputs["caCertPem"] == mock_graph._pem("CERTIFICATE", f"{PKI}-ca-cert")


def test_server_certificate_names_the_gateway_as_notebooks_reach_it(dev, own_gateway):
    dev_csr = dev.one(CSR, f"{PKI}-server-csr")
    assert dev_csr.inputs["dnsNames"] == [CONTAINER_NAME]
    assert dev_csr.inputs["subject"]["commonName"] == CONTAINER_NAME
    own_csr = own_gateway.one(CSR, f"{PKI}-server-csr")
    assert own_csr.inputs["dnsNames"] == ["kg.example.org"]
    spec = gateway_server_spec(["kg.example.org"])
    assert own_gateway.one(SIGNED, f"{PKI}-server-cert").inputs["allowedUses"] == list(
        spec.allowed_uses
    )


def test_users_are_admins_and_allowed_users_each_once():
    graph = run_program("dev", config={"HUB_ALLOWED_USERS": ["alice", "bob", "admin"]})
    assert sorted(deliveries(graph)) == ["admin", "alice", "bob"]
    csrs = [r for r in graph.of_type(CSR) if r.name.startswith(f"{PKI}-user-")]
    assert sorted(r.inputs["subject"]["commonName"] for r in csrs) == ["admin", "alice", "bob"]


# --- secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize("graph_name", ["dev", "own_gateway", "remote_docker"])
def test_no_private_key_in_any_non_secret_input_or_output(graph_name, request):
    graph = request.getfixturevalue(graph_name)
    for resource in graph.resources:
        for name, value in resource.inputs.items():
            if resource.is_secret(name):
                continue
            text = json.dumps(value, default=str)
            assert "PRIVATE KEY" not in text, f"{resource.type} {resource.name}.{name}"
    for name, value in graph.outputs.items():
        if name not in graph.secret_outputs:
            assert "PRIVATE KEY" not in json.dumps(value, default=str), name


def test_an_own_gateway_gets_its_server_key_only_as_a_secret_output(own_gateway):
    assert "gateway_server_key" in own_gateway.secret_outputs
    assert "PRIVATE KEY" in own_gateway.outputs["gateway_server_key"]
    assert "CERTIFICATE" in own_gateway.outputs["gateway_server_cert"]
    assert own_gateway.outputs["gateway_ca_cert"].startswith("-----BEGIN CERTIFICATE-----")


# --- delivery: one command per user -----------------------------------------------------


def test_one_delivery_per_user_with_its_own_pems_on_stdin(dev):
    commands = deliveries(dev)
    assert sorted(commands) == ["admin", "alice"]
    for user, cmd in commands.items():
        assert cmd.is_secret("stdin")
        stdin = cmd.inputs["stdin"]
        own_key = mock_graph._pem("PRIVATE KEY", f"{PKI}-user-{user}-key").strip()
        own_cert = mock_graph._pem("CERTIFICATE", f"{PKI}-user-{user}-cert").strip()
        ca_cert = mock_graph._pem("CERTIFICATE", f"{PKI}-ca-cert").strip()
        assert own_key in stdin and own_cert in stdin and ca_cert in stdin
        for other in (u for u in commands if u != user):
            assert mock_graph._pem("PRIVATE KEY", f"{PKI}-user-{other}-key").strip() not in stdin
        for text in (cmd.inputs["create"], cmd.inputs["delete"]):
            assert "PRIVATE KEY" not in text and "CERTIFICATE-----" not in text
            assert f"DIR={ROOT}/.pki/dev/{user}\n" in text
        assert cmd.inputs["logging"] == "none"
        assert {"stdout", "stderr"} <= set(cmd.options["additionalSecretOutputs"])
        assert cmd.options["deleteBeforeReplace"] is True
        assert "update" not in cmd.inputs  # a changed input re-runs create
        assert cmd.inputs["triggers"][1] == f"{ROOT}/.pki/dev/{user}"


def test_file_names_and_directory_come_from_config():
    graph = run_program(
        "dev",
        config={
            "HUB_PKI_DIR": "/srv/jhz/pki",
            "CLIENT_KEY": "alice.key",
            "CLIENT_CERT": "alice.crt",
            "CLIENT_CA": "gw-ca.crt",
        },
    )
    create = deliveries(graph)["alice"].inputs["create"]
    assert "DIR=/srv/jhz/pki/alice\n" in create
    assert "KEY_FILE=alice.key\nCERT_FILE=alice.crt\nCA_FILE=gw-ca.crt\n" in create
    hub = envs(graph.one(CONTAINER, "jupyterhub-container"))
    assert hub["JUPYTERPKI_HOST_DIR"] == "/srv/jhz/pki"
    assert (hub["CLIENT_KEY"], hub["CLIENT_CERT"], hub["CLIENT_CA"]) == (
        "alice.key",
        "alice.crt",
        "gw-ca.crt",
    )


def test_hub_knows_who_has_a_certificate_and_waits_for_the_files(dev):
    hub = dev.one(CONTAINER, "jupyterhub-container")
    assert envs(hub)["JUPYTERPKI_USERS"] == "admin,alice"
    hub_component = dev.by_urn(hub.parent)
    waits_for = hub.dependencies | hub_component.dependencies
    assert {c.urn for c in deliveries(dev).values()} <= waits_for
    assert dev.outputs["users_with_client_certs"] == ["admin", "alice"]


def test_remote_docker_host_gets_the_files_over_ssh(remote_docker):
    cmd = deliveries(remote_docker)["alice"]
    for text in (cmd.inputs["create"], cmd.inputs["delete"]):
        assert text.startswith("exec ssh -T -o BatchMode=yes")
        assert "-l deploy -p 2222 -o StrictHostKeyChecking=yes -- docker.example.org " in text
    assert cmd.inputs["triggers"][0] == "deploy@docker.example.org"


@pytest.mark.parametrize("host", ["tcp://docker.example.org:2376", "npipe:////./pipe/docker"])
def test_docker_host_whose_files_cannot_be_reached_is_refused_before_any_resource(host):
    with pytest.raises(SettingsError) as err:
        run_program("dev", config={"docker:host": host})
    assert "docker:host" in err.value.keys
    assert "ssh://" in str(err.value)
    assert err.value.graph.resources == []


def test_bad_ssh_opts_are_refused_before_any_resource():
    with pytest.raises(ValueError, match="docker:sshOpts") as err:
        run_program("dev", config={"docker:host": "ssh://d@h", "docker:sshOpts": "-o x"})
    assert err.value.graph.resources == []


def test_a_renewed_certificate_changes_only_stdin_so_the_files_are_rewritten(monkeypatch):
    before = deliveries(run_program("dev"))["alice"]

    def renewed(args):
        return {"certPem": mock_graph._pem("CERTIFICATE", args.name + "-renewed")}

    monkeypatch.setitem(mock_graph.FAKES, SIGNED, renewed)
    after = deliveries(run_program("dev"))["alice"]
    assert after.inputs["stdin"] != before.inputs["stdin"]
    renewed_pem = mock_graph._pem("CERTIFICATE", f"{PKI}-user-alice-cert-renewed").strip()
    assert renewed_pem in after.inputs["stdin"]
    # Same command texts and triggers: an update (create runs again, rewriting the files
    # in place), not a replacement that would delete them first.
    for field in ("create", "delete", "triggers"):
        assert after.inputs[field] == before.inputs[field]
    assert "stdin" not in after.options["ignoreChanges"]


def test_docker_host_from_the_environment_is_honoured_like_the_provider_does(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "ssh://deploy@docker.example.org")
    cmd = deliveries(run_program("dev"))["alice"]
    assert cmd.inputs["create"].startswith("exec ssh ")
    assert cmd.inputs["triggers"][0] == "deploy@docker.example.org"
