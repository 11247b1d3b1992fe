"""A real notebook server runs kernels on a real Kernel Gateway over mutual TLS.

The gateway: jupyter_kernel_gateway on 127.0.0.1, its config rendered by
render_kernel_gateway_config, the token in KG_AUTH_TOKEN. The notebook: jupyter_server
with exactly the environment images/hub/jupyterhub_config.py gives alice's container,
reading alice's files as the delivery script wrote them. Certificates are made from the
same CertSpecs the PKI component gives pulumi-tls.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from jupyter_server.gateway.gateway_client import GatewayClient

from components.delivery.script import (
    DeliveryFiles,
    delivery_commands,
    delivery_target,
    frame_stdin,
)
from components.gateway.config import ISOLATION_SOURCE, GatewayTls, render_kernel_gateway_config
from components.gateway.pki import GATEWAY_CA_PURPOSE, gateway_server_spec, server_hosts
from components.pki.specs import ca_spec, client_spec
from tests.support.certs import Issued, issue
from tests.support.notebook import (
    KernelError,
    hub_env,
    kernel_gateway,
    notebook_environment,
    notebook_server,
    start_kernel_and_run,
)
from tests.tooling import free_port, require_tool

pytestmark = pytest.mark.integration

TOKEN = "kg-test-token-0123456789abcdef"
FILES = {"CLIENT_KEY": "key.pem", "CLIENT_CERT": "cert.pem", "CLIENT_CA": "cacert.pem"}


@dataclass
class Pki:
    ca: Issued
    server: Issued
    alice: Issued
    other_ca: Issued
    alice_other_ca: Issued
    alice_expired: Issued
    pki_dir: Path  # the host's <pki_dir>, as the delivery script wrote it

    def user_dir(self, user: str = "alice") -> Path:
        return self.pki_dir / user


def write_user_files(directory: Path, client: Issued, ca_pem: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / FILES["CLIENT_KEY"]).write_text(client.key_pem)
    (directory / FILES["CLIENT_CERT"]).write_text(client.cert_pem)
    (directory / FILES["CLIENT_CA"]).write_text(ca_pem)
    return directory


@pytest.fixture(scope="module")
def gateway_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def pki(tmp_path_factory, gateway_port) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca = issue(ca_spec(GATEWAY_CA_PURPOSE))
    # The gateway is reached at KG_URL=https://127.0.0.1:<port>: an IP SAN.
    hosts = server_hosts("dev-gateway", f"https://127.0.0.1:{gateway_port}")
    server = issue(gateway_server_spec(hosts), ca)
    alice = issue(client_spec("alice"), ca)
    other_ca = issue(ca_spec("Other"))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    expired = issue(
        client_spec("alice"), ca, not_before=past, not_after=past + dt.timedelta(days=1)
    )
    # alice's files, written by the real delivery script, run as pulumi-command runs it.
    files = DeliveryFiles(
        str(root / "host-pki"),
        "alice",
        FILES["CLIENT_KEY"],
        FILES["CLIENT_CERT"],
        FILES["CLIENT_CA"],
    )
    create = delivery_commands(files, delivery_target(None))["create"]
    subprocess.run(
        ["/bin/sh", "-c", create],
        input=frame_stdin(alice.key_pem, alice.cert_pem, ca.cert_pem),
        text=True,
        check=True,
        capture_output=True,
    )
    return Pki(
        ca,
        server,
        alice,
        other_ca,
        issue(client_spec("alice"), other_ca),
        expired,
        root / "host-pki",
    )


@pytest.fixture(scope="module")
def gateway(pki, gateway_port, tmp_path_factory):
    root = tmp_path_factory.mktemp("gateway")
    cert, key = pki.server.write(root / "tls", "server")
    client_ca = root / "tls" / "client-ca.crt"
    client_ca.write_text(pki.ca.cert_pem)
    config = root / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1",
            port=gateway_port,
            tls=GatewayTls(certfile=str(cert), keyfile=str(key), client_ca=str(client_ca)),
            module_dir=str(ISOLATION_SOURCE.parent),
        )
    )
    with kernel_gateway(config, TOKEN, root, gateway_port) as server:
        yield server


def alice_env(gateway, pki_dir: Path, **overrides: str) -> dict[str, str]:
    env = hub_env(KG_URL=gateway.url, KG_AUTH_TOKEN=TOKEN, VALIDATE_KG_CERT="true", **FILES)
    env.update(overrides)
    return notebook_environment(env, "alice", pki_dir)


# --- the files a user gets: the seed's own checks ------------------------------------


def test_delivered_files_pass_the_seeds_openssl_checks(pki):
    openssl = require_tool("openssl")
    d = pki.user_dir()
    verify = subprocess.run(
        [openssl, "verify", "-CAfile", d / "cacert.pem", d / "cert.pem"],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and verify.stdout.strip().endswith(": OK"), verify
    cert_pub = subprocess.run(
        [openssl, "x509", "-in", d / "cert.pem", "-noout", "-pubkey"],
        capture_output=True,
        check=True,
    ).stdout
    key_pub = subprocess.run(
        [openssl, "pkey", "-in", d / "key.pem", "-pubout"], capture_output=True, check=True
    ).stdout
    assert cert_pub == key_pub and b"PUBLIC KEY" in cert_pub
    subject = subprocess.run(
        [openssl, "x509", "-in", d / "cert.pem", "-noout", "-subject", "-ext", "extendedKeyUsage"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CN=alice" in subject.replace(" ", "") and "TLS Web Client Authentication" in subject


def test_openssl_verify_refuses_a_cert_from_another_ca(pki, tmp_path):
    openssl = require_tool("openssl")
    d = write_user_files(tmp_path, pki.alice_other_ca, pki.ca.cert_pem)
    verify = subprocess.run(
        [openssl, "verify", "-CAfile", d / "cacert.pem", d / "cert.pem"], capture_output=True
    )
    assert verify.returncode != 0


# --- the environment the hub gives a notebook ----------------------------------------


def test_notebook_environment_points_the_gateway_client_at_the_mounted_files(gateway, pki):
    env = alice_env(gateway, Path("/etc/jupyterpki"))
    assert env["JUPYTER_GATEWAY_URL"] == gateway.url
    assert env["JUPYTER_GATEWAY_AUTH_TOKEN"] == TOKEN
    assert env["JUPYTER_GATEWAY_CLIENT_CERT"] == "/etc/jupyterpki/cert.pem"
    assert env["JUPYTER_GATEWAY_CLIENT_KEY"] == "/etc/jupyterpki/key.pem"
    assert env["JUPYTER_GATEWAY_CA_CERTS"] == "/etc/jupyterpki/cacert.pem"
    assert env["JUPYTER_GATEWAY_VALIDATE_CERT"] == "true"
    assert env["KERNEL_USERNAME"] == "alice"


@pytest.mark.parametrize(
    ("configured", "validates"),
    [(None, True), ("true", True), ("True", True), ("false", False), ("False", False)],
)
def test_certificate_validation_is_off_only_when_configured_off(configured, validates, monkeypatch):
    env = hub_env(KG_URL="https://gw.example.org:8888", KG_AUTH_TOKEN=TOKEN, **FILES)
    if configured is not None:
        env["VALIDATE_KG_CERT"] = configured
    nb_env = notebook_environment(env, "alice")
    assert nb_env["JUPYTER_GATEWAY_VALIDATE_CERT"] in ("true", "false")
    # What jupyter_server's own gateway client makes of it.
    for key, value in nb_env.items():
        monkeypatch.setenv(key, value)
    client = GatewayClient()
    assert client.validate_cert is validates
    assert client.client_cert == "/etc/jupyterpki/cert.pem"
    assert client.ca_certs == "/etc/jupyterpki/cacert.pem"


# --- the gateway itself refuses what it must ------------------------------------------


def _get(gateway, pki: Pki, cert: Issued | None, token: str | None, tmp_path: Path):
    verify = tmp_path / "ca.crt"
    verify.write_text(pki.ca.cert_pem)
    client = cert.write(tmp_path, "client") if cert else None
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(
        f"{gateway.url}/api/kernelspecs",
        cert=client,
        verify=str(verify),
        headers=headers,
        timeout=20,
    )


def test_gateway_accepts_client_cert_and_token(gateway, pki, tmp_path):
    r = _get(gateway, pki, pki.alice, TOKEN, tmp_path)
    assert r.status_code == 200 and "python3" in r.json()["kernelspecs"]


@pytest.mark.parametrize(
    ("which", "alert"),
    [
        ("no client cert", "ALERT_HANDSHAKE_FAILURE"),
        ("cert from another CA", "ALERT_UNKNOWN_CA"),
        ("expired cert", "ALERT_CERTIFICATE_EXPIRED"),
    ],
)
def test_gateway_refuses_the_tls_handshake(gateway, pki, tmp_path, which, alert):
    cert = {
        "no client cert": None,
        "cert from another CA": pki.alice_other_ca,
        "expired cert": pki.alice_expired,
    }[which]
    with pytest.raises(requests.exceptions.SSLError) as err:
        _get(gateway, pki, cert, TOKEN, tmp_path)
    assert alert in str(err.value)


@pytest.mark.parametrize("token", ["wrong-token-0123456789", None])
def test_gateway_refuses_a_wrong_or_missing_token(gateway, pki, tmp_path, token):
    r = _get(gateway, pki, pki.alice, token, tmp_path)
    assert r.status_code in (401, 403)


# --- end to end: notebook server -> gateway ----------------------------------------------


def test_notebook_runs_a_kernel_on_the_gateway(gateway, pki, tmp_path):
    with notebook_server(alice_env(gateway, pki.user_dir()), tmp_path / "nb") as nb:
        run = start_kernel_and_run(nb)
    assert run.result == "2"
    # The kernel ran on the gateway, not in the notebook server.
    assert "Kernel started" in gateway.log.read_text()


def _expect_refused(env, tmp_path, reason: str):
    """The notebook gets no kernel, and its log (or the error) tells the reason."""
    with notebook_server(env, tmp_path / "nb") as nb:
        with pytest.raises(KernelError) as err:
            start_kernel_and_run(nb, timeout=60)
        said = str(err.value) + nb.log.read_text()
    assert reason in said, said[-2000:]


def test_notebook_with_a_wrong_token_gets_no_kernel(gateway, pki, tmp_path):
    env = alice_env(gateway, pki.user_dir(), KG_AUTH_TOKEN="wrong-0123456789abc")
    _expect_refused(env, tmp_path, "Error from Gateway: [Unauthorized]")


@pytest.mark.parametrize(
    ("which", "alert"),
    [("cert from another CA", "ALERT_UNKNOWN_CA"), ("expired cert", "ALERT_CERTIFICATE_EXPIRED")],
)
def test_notebook_with_a_bad_client_cert_gets_no_kernel(gateway, pki, tmp_path, which, alert):
    bad = pki.alice_other_ca if which == "cert from another CA" else pki.alice_expired
    d = write_user_files(tmp_path / "pki", bad, pki.ca.cert_pem)
    _expect_refused(alice_env(gateway, d), tmp_path, alert)


def test_notebook_that_cannot_verify_the_gateway_is_refused_unless_validation_is_off(
    gateway, pki, tmp_path
):
    # alice's own certificate, but a CA file the gateway's server cert does not chain to.
    d = write_user_files(tmp_path / "pki", pki.alice, pki.other_ca.cert_pem)
    _expect_refused(alice_env(gateway, d), tmp_path / "validating", "CERTIFICATE_VERIFY_FAILED")
    with notebook_server(
        alice_env(gateway, d, VALIDATE_KG_CERT="false"), tmp_path / "not-validating"
    ) as nb:
        assert start_kernel_and_run(nb).result == "2"
