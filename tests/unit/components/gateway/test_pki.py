"""The gateway PKI in the resource graph (__main__.py under Pulumi mocks): the gateway CA,
its server certificate and the client CA the hub issues users' certificates from;
nothing per user (the hub issues at spawn); the hub gets the client CA's key as a secret
upload and HUB_PKI_DIR mounted; the delivery is only for RACF certificates (ZOS_HOST)."""

from __future__ import annotations

import json

import pytest

from components.gateway.dev_gateway import CONTAINER_NAME
from components.gateway.pki import CLIENT_CA_PURPOSE, GATEWAY_CA_PURPOSE, gateway_server_spec
from components.hub.environment import (
    CLIENT_CA_CERT_PATH,
    CLIENT_CA_KEY_PATH,
    GATEWAY_CA_PATH,
    HUB_PKI_MOUNT,
)
from components.pki.specs import ca_spec
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
TLS_TYPES = (KEY, SIGNED, SELF_SIGNED, CSR)


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


def uploads(resource) -> dict[str, dict]:
    return {u["file"]: u for u in resource.inputs["uploads"]}


# --- certificates: the parameters of components/pki/specs.py ---------------------------


def test_every_key_is_ecdsa_p256_and_none_is_a_users(dev):
    keys = [r for r in dev.of_type(KEY) if r.name.startswith(PKI)]
    assert {r.name for r in keys} == {
        f"{PKI}-ca-key",
        f"{PKI}-server-key",
        f"{PKI}-client-ca-key",
    }
    assert all(r.inputs["algorithm"] == "ECDSA" and r.inputs["ecdsaCurve"] == "P256" for r in keys)


def test_the_cas_follow_the_specs_and_are_two(dev):
    for name, purpose in (
        (f"{PKI}-ca-cert", GATEWAY_CA_PURPOSE),
        (f"{PKI}-client-ca-cert", CLIENT_CA_PURPOSE),
    ):
        ca = dev.one(SELF_SIGNED, name)
        spec = ca_spec(purpose)
        assert ca.inputs["isCaCertificate"] is True
        assert ca.inputs["allowedUses"] == list(spec.allowed_uses)
        assert ca.inputs["validityPeriodHours"] == spec.validity_hours
        assert ca.inputs["subject"]["commonName"] == spec.common_name
    # The client CA signs nothing in the graph: the hub signs with it, at spawn.
    for cert in dev.of_type(SIGNED):
        assert cert.inputs["caCertPem"] != mock_graph._pem("CERTIFICATE", f"{PKI}-client-ca-cert")


@pytest.mark.parametrize("users", [1, 40])
def test_no_resource_per_listed_user_for_client_certificates(users):
    """The graph does not grow with users for certificates: the same TLS resources and no
    delivery commands for 2 users and for 41."""
    listed = [f"user{i}" for i in range(users)]
    graph = run_program("dev", config={"HUB_ALLOWED_USERS": listed})
    tls = sorted(r.name for r in graph.resources if r.type in TLS_TYPES)
    baseline = sorted(r.name for r in run_program("dev").resources if r.type in TLS_TYPES)
    assert tls == baseline
    assert not any(r.name.startswith(f"{DELIVERY}-") for r in graph.of_type(COMMAND))
    assert not any("user" in r.name for r in graph.resources if r.type in TLS_TYPES)


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
    # What the gateway at KG_URL must trust for client certificates: the hub's client CA.
    assert own_gateway.outputs["gateway_client_ca_cert"] == mock_graph._pem(
        "CERTIFICATE", f"{PKI}-client-ca-cert"
    )


# --- the hub issues: the client CA and the directory it writes -----------------------------


@pytest.mark.parametrize("graph_name", ["dev", "own_gateway", "remote_docker"])
def test_the_hub_gets_the_client_cas_key_as_a_secret_0600_upload(graph_name, request):
    graph = request.getfixturevalue(graph_name)
    hub = graph.one(CONTAINER, "jupyterhub-container")
    files = uploads(hub)
    key = files[CLIENT_CA_KEY_PATH]
    assert key["content"] == mock_graph._pem("PRIVATE KEY", f"{PKI}-client-ca-key")
    assert key["permissions"] == "0600"
    assert hub.is_secret("uploads")
    assert files[CLIENT_CA_CERT_PATH]["content"] == mock_graph._pem(
        "CERTIFICATE", f"{PKI}-client-ca-cert"
    )
    # Users get the CA of the gateway's server certificate, to verify the gateway by.
    assert files[GATEWAY_CA_PATH]["content"] == mock_graph._pem("CERTIFICATE", f"{PKI}-ca-cert")
    env = envs(hub)
    assert env["JUPYTERPKI_CA_KEY"] == CLIENT_CA_KEY_PATH
    assert env["JUPYTERPKI_CA_CERT"] == CLIENT_CA_CERT_PATH
    assert env["JUPYTERPKI_GATEWAY_CA"] == GATEWAY_CA_PATH
    assert env["JUPYTERPKI_HUB_DIR"] == HUB_PKI_MOUNT
    assert env["JUPYTERPKI_CERT_HOURS"] == "24"
    assert "JUPYTERPKI_USERS" not in env
    # No other container gets the client CA's key.
    for other in graph.of_type(CONTAINER):
        if other.name != "jupyterhub-container":
            text = json.dumps(other.inputs, default=str)
            assert mock_graph._pem("PRIVATE KEY", f"{PKI}-client-ca-key").strip() not in text


def test_the_hub_mounts_hub_pki_dir_where_it_writes_and_the_notebooks_mount_from(own_gateway, dev):
    hub = own_gateway.one(CONTAINER, "jupyterhub-container")
    mounts = {v.get("containerPath"): v for v in hub.inputs["volumes"]}
    assert mounts[HUB_PKI_MOUNT]["hostPath"] == "/srv/jhz/pki"
    assert envs(hub)["JUPYTERPKI_HOST_DIR"] == "/srv/jhz/pki"  # the notebooks' bind source
    dev_hub = dev.one(CONTAINER, "jupyterhub-container")
    dev_mounts = {v.get("containerPath"): v for v in dev_hub.inputs["volumes"]}
    assert dev_mounts[HUB_PKI_MOUNT]["hostPath"] == f"{ROOT}/.pki/dev"


def test_the_validity_comes_from_config_and_is_bounded():
    graph = run_program("dev", config={"CLIENT_CERT_HOURS": 6})
    assert envs(graph.one(CONTAINER, "jupyterhub-container"))["JUPYTERPKI_CERT_HOURS"] == "6"
    for bad in (0, 721):
        with pytest.raises(SettingsError, match="CLIENT_CERT_HOURS") as err:
            run_program("dev", config={"CLIENT_CERT_HOURS": bad})
        assert err.value.graph.resources == []


def test_file_names_come_from_config():
    graph = run_program(
        "dev",
        config={"CLIENT_KEY": "alice.key", "CLIENT_CERT": "alice.crt", "CLIENT_CA": "gw-ca.crt"},
    )
    hub = envs(graph.one(CONTAINER, "jupyterhub-container"))
    assert (hub["CLIENT_KEY"], hub["CLIENT_CERT"], hub["CLIENT_CA"]) == (
        "alice.key",
        "alice.crt",
        "gw-ca.crt",
    )


def test_no_server_is_pruned_before_a_hub_replacement_when_the_hub_issues(dev):
    """Group members and admin-added users are in no list the program knows: the
    notebook-servers command must not remove their servers (the hub itself stops those of
    users the config no longer allows)."""
    cmd = dev.one(COMMAND, "jupyterhub-notebook-servers")
    assert "docker rm" not in cmd.inputs["create"]
    assert "docker rm" in cmd.inputs["delete"]  # `pulumi destroy` still removes them all
    assert "users_with_client_certs" not in dev.outputs
