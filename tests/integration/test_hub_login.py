"""A real JupyterHub, running the shipped jupyterhub_config.py with the environment the
program gives the hub container, logs users in against a real slapd (the dev directory
image's entrypoint, config and seed, all from the program's renderers).

Only what cannot work outside Docker is changed on the command line: the spawner
(no Docker engine here), loopback addresses and free ports instead of 443 and all
interfaces, and the sqlite/cookie files instead of the /data volume.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import requests

from components.directory.render import (
    derive_password,
    directory_user,
    group_dn,
    render_seed_ldif,
)
from components.gateway.pki import CLIENT_CA_PURPOSE, GATEWAY_CA_PURPOSE
from components.hub.container import healthcheck_command
from components.hub.environment import HubEnvInputs, hub_environment
from components.pki.specs import ca_spec, server_spec
from components.settings import DEV_DIRECTORY_BIND_DN, GatewaySettings, HubSettings, LdapSettings
from tests.hubconfig import HUB_CONFIG
from tests.integration.ldap_server import DevDirectory, world_readable_tmpdir
from tests.support.certs import issue
from tests.tooling import free_port, free_ports, require_tool

pytestmark = pytest.mark.integration

# Derived from one key, as the program makes the dev directory's passwords.
KEY = base64.b64encode(b"hub-login test key, 32 bytes...!").decode()
PASSWORDS = {
    user: derive_password(KEY, user)
    for user in (
        "admin",
        "alice",
        "bob",  # named in the config only by the access tests (test_hub_access)
        "carol",  # not listed; in the allowed group
        "mallory",  # in the directory, allowed nowhere
    )
}
ALLOWED_GROUP = "notebook-users"


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-login-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pki(workdir):
    ldap_ca = issue(ca_spec("dev directory"))
    other_ca = issue(ca_spec("someone else's"))
    hub_ca = issue(ca_spec("hub"))
    files = {
        "ldap_server": issue(server_spec("localhost", ("localhost",), ("127.0.0.1",)), ldap_ca),
        "ldap_ca": ldap_ca.write(workdir, "ldap-ca")[0],
        "other_ca": other_ca.write(workdir, "other-ca")[0],
        "hub_ca": hub_ca.write(workdir, "hub-ca")[0],
    }
    hub_server = issue(server_spec("localhost", ("localhost",), ("127.0.0.1",)), hub_ca)
    files["hub_cert"], files["hub_key"] = hub_server.write(workdir, "hub")
    # What a dev hub holds to issue users' gateway client certificates at spawn, and the
    # HUB_PKI_DIR it writes them to.
    client_ca, gateway_ca = issue(ca_spec(CLIENT_CA_PURPOSE)), issue(ca_spec(GATEWAY_CA_PURPOSE))
    files["client_ca_cert"], files["client_ca_key"] = client_ca.write(workdir, "client-ca")
    files["gateway_ca"] = gateway_ca.write(workdir, "gateway-ca")[0]
    files["user_pki"] = workdir / "user-pki"
    files["user_pki"].mkdir(exist_ok=True)
    return files


@pytest.fixture(scope="module")
def directory(workdir, pki):
    users = [directory_user(name, pw) for name, pw in PASSWORDS.items()]
    ldif = render_seed_ldif(
        users, {"jupyterhub-users": ["admin", "alice", "mallory"], ALLOWED_GROUP: ["carol"]}
    )
    base = workdir / "ldap"
    base.mkdir(mode=0o755)
    server = DevDirectory(base, pki["ldap_server"], ldif).start()
    yield server
    server.stop()


def program_env(**derived_changes) -> dict[str, str]:
    """The hub container's environment as the program computes it (dev directory);
    `derived_changes` replace fields of its HubEnvInputs (e.g. hub_issues_certs)."""
    hub = HubSettings(
        hostname="localhost",
        https_port=8443,
        tls_cert_pem=None,
        tls_key_pem=None,
        admin_users=("admin",),
        allowed_users=("alice",),
        notebook_image=None,
        network_name="jupyterhub-network",
        pki_dir="/var/lib/jupyterhub-zos/test/pki",
        mem_limit="2G",
        cpu_limit="1.5",
        pids_limit=512,
        idle_cull_timeout=3600,
    )
    ldap = LdapSettings(
        host=None,
        port=389,
        bind_dn_template=DEV_DIRECTORY_BIND_DN,
        tls="starttls",
        ca_cert_pem=None,
        allowed_groups=(group_dn(ALLOWED_GROUP),),
    )
    gateway = GatewaySettings(
        url=None,
        auth_token=None,
        validate_cert=True,
        client_key="key.pem",
        client_cert="cert.pem",
        client_ca="cacert.pem",
    )
    derived = HubEnvInputs(
        ldap_host="jupyterhub-ldap",
        ldap_ca=True,
        notebook_image="sha256:" + "0" * 64,
        kg_url="https://jupyterhub-gateway:8888",
        kg_auth_token="kg-token-" + "x" * 32,
        cookie_secret="ab" * 32,
        proxy_auth_token="proxy-token-" + "y" * 32,
        pki_users=(),
        hub_issues_certs=True,  # as on the dev stack: every user let in gets one at spawn
    )
    derived = dataclasses.replace(derived, **derived_changes)
    return hub_environment(hub, ldap, gateway, derived)


class Hub:
    def __init__(
        self,
        workdir: Path,
        name: str,
        env: dict[str, str],
        ca: Path,
        extra_args: Sequence[str] = (),
    ):
        require_tool("configurable-http-proxy")
        self.extra_args = list(extra_args)
        self.dir = workdir / name
        self.dir.mkdir()
        self.port, self.hub_port, self.api_port = free_ports(3)
        self.ca = ca
        self.log = self.dir / "jupyterhub.log"
        self.env = {
            **env,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            "HOME": str(self.dir),
        }
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def start(self) -> Hub:
        cmd = [
            str(Path(sys.executable).parent / "jupyterhub"),
            "-f",
            str(HUB_CONFIG),
            "--JupyterHub.spawner_class=simple",
            "--JupyterHub.ip=127.0.0.1",
            f"--JupyterHub.port={self.port}",
            "--JupyterHub.hub_ip=127.0.0.1",
            "--JupyterHub.hub_connect_ip=127.0.0.1",
            f"--JupyterHub.hub_port={self.hub_port}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{self.api_port}",
            f"--JupyterHub.db_url=sqlite:///{self.dir}/jupyterhub.sqlite",
            f"--JupyterHub.cookie_secret_file={self.dir}/cookie_secret",
            *self.extra_args,
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.dir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited:\n{self.log.read_text()}")
            try:
                if requests.get(self.url + "hub/health", verify=self.ca, timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyterhub did not come up:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def login(self, username: str, password: str) -> tuple[requests.Session, requests.Response]:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        session.verify = str(self.ca)
        page = session.get(self.url + "hub/login", timeout=10)
        assert page.status_code == 200, page.text
        response = session.post(
            self.url + "hub/login",
            data={
                "username": username,
                "password": password,
                "_xsrf": session.cookies.get("_xsrf", ""),
            },
            allow_redirects=False,
            timeout=30,
        )
        return session, response


def hub_env(pki, directory, derived: dict | None = None, **overrides) -> dict[str, str]:
    env = program_env(**(derived or {}))
    # The container's paths and names, pointed at this test's files and servers.
    env.update(
        LDAP_SERVER_HOST="localhost",
        LDAP_SERVER_PORT=str(directory.port),
        LDAP_CA_CERT_FILE=str(pki["ldap_ca"]),
        SSL_CERT=str(pki["hub_cert"]),
        SSL_KEY=str(pki["hub_key"]),
    )
    with_test_client_ca(env, pki)
    env.update(overrides)
    return env


def with_test_client_ca(env: dict[str, str], pki) -> dict[str, str]:
    """Where the hub issues users' certificates (the dev stack), its client CA files and
    the users' directory are this test's, not the container's paths."""
    if "JUPYTERPKI_CA_KEY" in env:
        env.update(
            JUPYTERPKI_CA_KEY=str(pki["client_ca_key"]),
            JUPYTERPKI_CA_CERT=str(pki["client_ca_cert"]),
            JUPYTERPKI_GATEWAY_CA=str(pki["gateway_ca"]),
            JUPYTERPKI_HUB_DIR=str(pki["user_pki"]),
        )
    return env


@pytest.fixture(scope="module")
def hub(workdir, pki, directory):
    server = Hub(workdir, "hub", hub_env(pki, directory), pki["hub_ca"]).start()
    yield server
    server.stop()


def logged_in(response: requests.Response, session: requests.Session) -> bool:
    return response.status_code == 302 and "jupyterhub-session-id" in session.cookies


def test_hub_serves_https_health_with_the_program_certificate(hub):
    # What the container healthcheck asks; verified against the hub CA.
    assert requests.get(hub.url + "hub/health", verify=str(hub.ca), timeout=5).status_code == 200


def test_container_healthcheck_command_passes_against_the_hub(hub):
    command = healthcheck_command(hub.url + "hub/health")
    assert command[0] == "python3"
    ok = subprocess.run([sys.executable, *command[1:]], capture_output=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    # And fails when nothing answers, so an unhealthy hub is reported as such.
    dead = healthcheck_command(f"https://127.0.0.1:{free_port()}/hub/health")
    failed = subprocess.run([sys.executable, *dead[1:]], capture_output=True, timeout=30)
    assert failed.returncode != 0


def test_admin_logs_in_and_reaches_the_admin_page(hub):
    session, response = hub.login("admin", PASSWORDS["admin"])
    assert logged_in(response, session), hub.log_tail()
    admin_page = session.get(hub.url + "hub/admin", allow_redirects=False, timeout=10)
    assert admin_page.status_code == 200
    assert "admin" in admin_page.text.lower()
    # JupyterHub took the stack's admin role (HUB_ADMIN_SERVER_ACCESS unset): the admin
    # scopes, but no access to any server other than the admin's own.
    me = session.get(hub.url + "hub/api/user", timeout=10).json()
    assert me["admin"] is False and "jupyterhub-zos-admin" in me["roles"], me
    assert {"admin-ui", "admin:users", "admin:servers", "servers", "tokens"} <= set(me["scopes"])
    access = [s for s in me["scopes"] if s.startswith("access:servers")]
    assert access == ["access:servers!user=admin"], me["scopes"]


def test_allowed_user_logs_in_but_is_not_admin(hub):
    session, response = hub.login("alice", PASSWORDS["alice"])
    assert logged_in(response, session), hub.log_tail()
    admin_page = session.get(hub.url + "hub/admin", allow_redirects=False, timeout=10)
    assert admin_page.status_code == 403


def test_member_of_an_allowed_group_logs_in(hub):
    session, response = hub.login("carol", PASSWORDS["carol"])
    assert logged_in(response, session), hub.log_tail()


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("admin", "wrong-password", id="wrong-password"),
        pytest.param("admin", PASSWORDS["alice"], id="another-users-password"),
        pytest.param("admin", "", id="empty-password"),
        pytest.param("admin", "   ", id="blank-password"),
        pytest.param("nobody", PASSWORDS["admin"], id="unknown-user"),
        pytest.param("mallory", PASSWORDS["mallory"], id="in-directory-not-allowed"),
        pytest.param("admin", "*", id="wildcard-password"),
        pytest.param("*", PASSWORDS["admin"], id="wildcard-user"),
        pytest.param("admin)(uid=*", PASSWORDS["admin"], id="filter-injection"),
        pytest.param("*)(|(uid=*", PASSWORDS["admin"], id="filter-or-injection"),
        pytest.param("admin,ou=people", PASSWORDS["admin"], id="dn-injection"),
        pytest.param(
            "uid=admin,ou=people,dc=jupyterhub,dc=local", PASSWORDS["admin"], id="full-dn"
        ),
        pytest.param("admin\\", PASSWORDS["admin"], id="backslash"),
        pytest.param("mallory)(cn=carol", PASSWORDS["carol"], id="group-filter-injection"),
    ],
)
def test_login_refused(hub, username, password):
    session, response = hub.login(username, password)
    assert not logged_in(response, session)
    assert response.status_code in (403, 200), response.status_code
    assert "jupyterhub-session-id" not in session.cookies


def test_idle_culler_runs_as_a_hub_service(hub):
    session, response = hub.login("admin", PASSWORDS["admin"])
    assert logged_in(response, session)
    services = session.get(
        hub.url + "hub/api/services",
        headers={"X-XSRFToken": session.cookies.get("_xsrf", "")},
        timeout=10,
    )
    assert services.status_code == 200, services.text
    culler = services.json()["jupyterhub-idle-culler"]
    assert culler["command"][-2:] == ["--timeout=3600", "--cull-every=600"]
    assert culler["pid"] > 0
    # Still alive a moment later: its command line and token were accepted.
    time.sleep(1.5)
    os.kill(culler["pid"], 0)


def test_ldap_starttls_with_a_wrong_ca_refuses_everyone(workdir, pki, directory):
    hub = Hub(
        workdir,
        "hub-wrong-ca",
        hub_env(pki, directory, LDAP_CA_CERT_FILE=str(pki["other_ca"])),
        pki["hub_ca"],
    ).start()
    try:
        session, response = hub.login("admin", PASSWORDS["admin"])
        assert not logged_in(response, session)
        assert "certificate verify failed" in hub.log.read_text()
    finally:
        hub.stop()
