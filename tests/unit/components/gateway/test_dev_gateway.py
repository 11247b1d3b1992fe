"""The dev Kernel Gateway in the resource graph (__main__.py under Pulumi mocks): present
only without KG_URL, on the network and unpublished, config and TLS put in at runtime,
the token from the environment; the hub's notebooks pointed at it."""

from __future__ import annotations

import pytest

from components.gateway.dev_gateway import (
    CONFIG_FILE,
    CONTAINER_NAME,
    GATEWAY_CONTEXT,
    PORT,
    TLS,
    dev_gateway_config,
)
from tools import mock_graph
from tools.mock_graph import run_program

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
DEV_GATEWAY = "jupyterhub-zos:dev_gateway:DevGateway"
PKI = "jupyterhub-gateway-pki"
TOKEN = "a-long-enough-gateway-token"


@pytest.fixture(scope="module")
def dev():
    return run_program("dev")


@pytest.fixture(scope="module")
def own_gateway():
    return run_program(
        "dev", config={"KG_URL": "https://kg.example.org:8099"}, secrets={"KG_AUTH_TOKEN": TOKEN}
    )


def envs(resource) -> dict[str, str]:
    return dict(item.split("=", 1) for item in resource.inputs["envs"])


def uploads(resource) -> dict[str, dict]:
    return {u["file"]: u for u in resource.inputs["uploads"]}


def gateway_container(graph):
    return graph.one(CONTAINER, "jupyterhub-gateway-container")


def test_dev_gateway_is_on_the_network_and_not_published(dev):
    gw = gateway_container(dev)
    assert gw.inputs["name"] == CONTAINER_NAME and "gateway" in CONTAINER_NAME
    assert not gw.inputs.get("ports")
    network = dev.one("docker:index/network:Network", "jupyterhub-network")
    assert gw.inputs["networksAdvanced"] == [
        {"name": network.inputs["name"], "aliases": [CONTAINER_NAME]}
    ]
    assert network.urn in gw.dependencies
    assert gw.inputs["restart"] == "unless-stopped"
    assert dev.by_urn(gw.parent).type == DEV_GATEWAY


def test_dev_gateway_runs_the_gateway_image_built_here(dev):
    gw = gateway_container(dev)
    image = dev.one(IMAGE, "jupyterhub-gateway-image")
    assert image.inputs["build"]["context"] == GATEWAY_CONTEXT
    assert image.inputs["skipPush"] is True
    assert image.inputs["imageName"] == "jupyterhub-zos-gateway:dev"
    assert gw.inputs["image"].startswith("sha256:")  # the local build's image ID


def test_config_and_tls_material_are_put_in_at_runtime(dev):
    gw = gateway_container(dev)
    files = uploads(gw)
    assert set(files) == {CONFIG_FILE, TLS.certfile, TLS.keyfile, TLS.client_ca}
    config = files[CONFIG_FILE]["content"]
    assert config == dev_gateway_config()
    assert f"c.KernelGatewayApp.client_ca = '{TLS.client_ca}'" in config
    assert f"c.KernelGatewayApp.port = {PORT}" in config
    assert "token" not in config.replace("auth token", "").replace("$KG_AUTH_TOKEN", "")
    key = files[TLS.keyfile]
    assert key["content"] == mock_graph._pem("PRIVATE KEY", f"{PKI}-server-key")
    # Root's: the gateway runs as root in its container, kernels as other uids.
    assert key["permissions"] == "0400" and "owner" not in key and "group" not in key
    assert files[TLS.certfile]["content"] == mock_graph._pem("CERTIFICATE", f"{PKI}-server-cert")
    # Client certificates are checked against the hub's client CA (the one it issues users'
    # certificates from), not the CA of the gateway's own certificate.
    assert files[TLS.client_ca]["content"] == mock_graph._pem(
        "CERTIFICATE", f"{PKI}-client-ca-cert"
    )
    assert gw.is_secret("uploads")
    # The gateway never gets the client CA's key.
    text = str(gw.inputs)
    assert mock_graph._pem("PRIVATE KEY", f"{PKI}-client-ca-key").strip() not in text


def test_token_comes_by_environment_and_is_secret(dev):
    gw = gateway_container(dev)
    token = envs(gw)["KG_AUTH_TOKEN"]
    assert list(envs(gw)) == ["KG_AUTH_TOKEN"] and gw.is_secret("envs")
    # Generated (KG_AUTH_TOKEN unset), and the one the hub hands the notebooks.
    assert "jupyterhub-kg-token" in dev.names() and len(token) == 48
    assert envs(dev.one(CONTAINER, "jupyterhub-container"))["KG_AUTH_TOKEN"] == token


def test_configured_token_is_used_and_none_is_generated():
    graph = run_program("dev", secrets={"KG_AUTH_TOKEN": TOKEN})
    assert envs(gateway_container(graph)) == {"KG_AUTH_TOKEN": TOKEN}
    assert "jupyterhub-kg-token" not in graph.names()


def test_dev_notebooks_reach_the_dev_gateway_over_https(dev):
    hub = envs(dev.one(CONTAINER, "jupyterhub-container"))
    assert hub["KG_URL"] == f"https://{CONTAINER_NAME}:{PORT}"
    assert hub["VALIDATE_KG_CERT"] == "true"
    assert dev.outputs["kg_url"] == hub["KG_URL"]
    hub_container = dev.one(CONTAINER, "jupyterhub-container")
    waits_for = hub_container.dependencies | dev.by_urn(hub_container.parent).dependencies
    assert gateway_container(dev).urn in waits_for


def test_no_dev_gateway_when_kg_url_is_set(own_gateway):
    assert own_gateway.of_type(DEV_GATEWAY) == []
    assert "jupyterhub-gateway-container" not in own_gateway.names()
    assert "jupyterhub-gateway-image" not in own_gateway.names()
    hub = envs(own_gateway.one(CONTAINER, "jupyterhub-container"))
    assert hub["KG_URL"] == "https://kg.example.org:8099"
    assert hub["KG_AUTH_TOKEN"] == TOKEN
    # Users still get client certificates: the hub issues them from the client CA,
    # exported (gateway_client_ca_cert) for that gateway to trust.
    assert hub["JUPYTERPKI_CA_KEY"] and "JUPYTERPKI_USERS" not in hub


def test_no_pulumi_tls_gateway_pki_and_no_dev_gateway_with_zos(zos_config):
    config, secrets = zos_config
    graph = run_program("dev", config=config, secrets=secrets)
    assert graph.of_type(DEV_GATEWAY) == []
    assert not [n for n in graph.names() if n.startswith(PKI)]
    hub = envs(graph.one(CONTAINER, "jupyterhub-container"))
    assert hub["KG_URL"] == "https://127.0.0.1:8099"
