"""Every user the hub lets in gets a client certificate at spawn, without a `pulumi up`:
a real JupyterHub runs the shipped jupyterhub_config.py, with the environment the program
gives a hub that holds the client CA (components/hub/environment.py), against a real
slapd (fixtures of test_hub_login). carol is in no user list, only in the allowed LDAP
group; dana is in no list and not in the directory, added by the admin in the admin
console (the REST API it uses). Each spawn writes that user's key and certificate into
<HUB_PKI_DIR>/<user>, and a real Kernel Gateway running kg_isolation, trusting the
client CA, accepts them and keeps the two apart; a certificate from another CA with
the same CN is refused at the TLS handshake.

Stand-in: the servers are SimpleLocalProcessSpawner's `jupyterhub-singleuser` processes
(no Docker engine here); the pre-spawn hook is the shipped one, the same that runs
before DockerSpawner starts a container. The kernel runs through a real notebook server
(jupyter_server's gateway client) given the environment DockerSpawner would give it.
"""

from __future__ import annotations

import shutil
import stat

import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import NameOID

from components.delivery.script import NOTEBOOK_UID
from components.gateway.config import ISOLATION_SOURCE, GatewayTls, render_kernel_gateway_config
from components.gateway.pki import (
    CLIENT_CA_PURPOSE,
    GATEWAY_CA_PURPOSE,
    gateway_server_spec,
    server_hosts,
)
from components.pki.specs import ca_spec, client_spec
from tests.integration.ldap_server import world_readable_tmpdir
from tests.integration.test_hub_access import start_server
from tests.integration.test_hub_login import (
    Hub,
    directory,  # noqa: F401 - fixture
    hub_env,
    pki,  # noqa: F401 - fixture
)
from tests.integration.test_hub_restart import api, browser_login
from tests.integration.test_kernel_isolation import (
    TOKEN,
    Holder,
    cross_user_attempts,
    gateway_ids,
    user_notebook,
    write_user,
)
from tests.support.certs import issue
from tests.support.notebook import kernel_gateway, run_in_kernel, start_kernel
from tests.tooling import free_port

pytestmark = pytest.mark.integration

HOURS = 6


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-certs-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cas(workdir):
    client_ca, gateway_ca = issue(ca_spec(CLIENT_CA_PURPOSE)), issue(ca_spec(GATEWAY_CA_PURPOSE))
    client_ca.write(workdir / "cas", "client-ca")
    gateway_ca.write(workdir / "cas", "gateway-ca")
    return client_ca, gateway_ca


@pytest.fixture(scope="module")
def gateway(workdir, cas):
    """A real Kernel Gateway with kg_isolation: its server certificate from the gateway
    CA, client certificates required and checked against the hub's client CA."""
    client_ca, gateway_ca = cas
    port = free_port()
    tls = workdir / "gw-tls"
    server = issue(gateway_server_spec(server_hosts(None, f"https://127.0.0.1:{port}")), gateway_ca)
    cert, key = server.write(tls, "server")
    (tls / "client-ca.crt").write_text(client_ca.cert_pem)
    config = workdir / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1",
            port=port,
            tls=GatewayTls(str(cert), str(key), str(tls / "client-ca.crt")),
            module_dir=str(ISOLATION_SOURCE.parent),
        )
    )
    with kernel_gateway(config, TOKEN, workdir / "gw", port) as gw:
        yield gw


def issuing_env(pki, directory, workdir, gateway_url: str) -> dict[str, str]:  # noqa: F811
    """The program's environment for a hub that holds the client CA, its container paths
    (CA files, the mounted HUB_PKI_DIR) pointed at this test's files."""
    env = hub_env(
        pki,
        directory,
        derived={"hub_issues_certs": True, "kg_url": gateway_url, "kg_auth_token": TOKEN},
    )
    assert "JUPYTERPKI_USERS" not in env  # nobody is listed as having one: all get one
    assert env["JUPYTERPKI_CERT_HOURS"] == "24"
    env.update(
        JUPYTERPKI_CA_KEY=str(workdir / "cas" / "client-ca.key"),
        JUPYTERPKI_CA_CERT=str(workdir / "cas" / "client-ca.crt"),
        JUPYTERPKI_GATEWAY_CA=str(workdir / "cas" / "gateway-ca.crt"),
        JUPYTERPKI_HUB_DIR=str(workdir / "pki"),
        JUPYTERPKI_CERT_HOURS=str(HOURS),
    )
    return env


@pytest.fixture(scope="module")
def spawned(workdir, pki, directory, cas, gateway):  # noqa: F811 - fixtures
    """carol (by group) and dana (added by the admin) start their servers on a real hub."""
    (workdir / "pki").mkdir()
    home = workdir / "hub" / "home"
    hub = Hub(
        workdir,
        "hub",
        issuing_env(pki, directory, workdir, gateway.url),
        pki["hub_ca"],
        extra_args=[
            f"--SimpleLocalProcessSpawner.home_dir_template={home}/{{username}}",
            "--Spawner.args=--allow-root",  # the test runs as root; jovyan in the container
        ],
    ).start()
    try:
        admin, carol = browser_login(hub, "admin"), browser_login(hub, "carol")
        added = api(hub, admin, "POST", "users/dana")
        assert added.status_code == 201, added.text
        start_server(hub, carol, "carol")
        started = api(hub, admin, "POST", "users/dana/server")
        assert started.status_code in (201, 202), started.text
        yield hub
    finally:
        hub.stop()


def test_the_configs_lists_name_neither_user(pki, directory, workdir, gateway):  # noqa: F811
    env = issuing_env(pki, directory, workdir, gateway.url)
    listed = set(env["HUB_ADMIN_USERS"].split(",")) | set(env["HUB_ALLOWED_USERS"].split(","))
    assert not {"carol", "dana"} & listed


@pytest.mark.parametrize("user", ["carol", "dana"])
def test_a_user_in_no_list_gets_a_certificate_for_their_name_from_the_client_ca(
    spawned, workdir, cas, user
):
    client_ca, gateway_ca = cas
    d = workdir / "pki" / user
    st = d.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o700, NOTEBOOK_UID)
    key = (d / "key.pem").stat()
    assert (stat.S_IMODE(key.st_mode), key.st_uid) == (0o600, NOTEBOOK_UID)
    cert = x509.load_pem_x509_certificate((d / "cert.pem").read_bytes())
    cert.verify_directly_issued_by(client_ca.cert)
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [user]
    hours = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() / 3600
    assert HOURS <= hours <= HOURS + 0.1
    # The CA the notebook verifies the gateway by, not the client CA.
    assert (d / "cacert.pem").read_text() == gateway_ca.cert_pem
    # Only the users who spawned have a directory.
    assert sorted(p.name for p in (workdir / "pki").iterdir()) == ["carol", "dana"]
    assert "Issued a Kernel Gateway client certificate for " + user in spawned.log.read_text()


def test_the_gateway_accepts_the_hub_issued_certificate_and_runs_the_users_kernel(
    spawned, workdir, gateway, tmp_path
):
    carol = Holder("carol", workdir / "pki")
    with user_notebook(gateway, carol, tmp_path / "carol") as nb:
        kernel = start_kernel(nb)
        assert run_in_kernel(nb, kernel, "import os; os.environ['KERNEL_USERNAME']") == "'carol'"
        assert gateway_ids(gateway, carol) == [kernel]


def test_hub_issued_certificates_keep_users_apart_on_the_gateway(spawned, workdir, gateway):
    carol, dana = Holder("carol", workdir / "pki"), Holder("dana", workdir / "pki")
    r = carol.call("POST", f"{gateway.url}/api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    carols = r.json()["id"]
    try:
        assert gateway_ids(gateway, dana) == []
        refused = cross_user_attempts(gateway, dana, carols)
        assert set(refused.values()) <= {403, 404}, refused
        assert gateway_ids(gateway, carol) == [carols]  # untouched
    finally:
        carol.call("DELETE", f"{gateway.url}/api/kernels/{carols}")


def test_a_certificate_of_another_ca_with_the_same_name_is_refused(
    spawned, workdir, gateway, cas, tmp_path
):
    _, gateway_ca = cas
    other_ca = issue(ca_spec("someone else's"))
    forged = write_user(tmp_path, "carol", issue(client_spec("carol"), other_ca), gateway_ca)
    # Refused at the TLS handshake (no HTTP status at all).
    with pytest.raises(requests.exceptions.SSLError):
        forged.call("GET", f"{gateway.url}/api/kernels")
    # The hub's own, for the same name, gets in: the CA is what differs.
    assert Holder("carol", workdir / "pki").call("GET", f"{gateway.url}/api/kernels").ok
