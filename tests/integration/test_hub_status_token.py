"""`make status`'s token on a real JupyterHub running the shipped jupyterhub_config.py
with the environment the program computes: it lists users with their servers (the
`status` service with list:users and read:servers) and does nothing else: no tokens, no
server started or stopped, no admin, no proxy, no metrics.

No directory is needed (nobody logs in): LDAP points at a closed port.
"""

from __future__ import annotations

import shutil

import pytest
import requests

from tests.integration.ldap_server import world_readable_tmpdir
from tests.integration.test_hub_login import (  # noqa: F401 - pki: a fixture
    Hub,
    pki,
    program_env,
    with_test_client_ca,
)
from tests.tooling import free_port
from tools.status import hub_users

pytestmark = pytest.mark.integration

TOKEN = "status-read-token-0123456789abcdefghijklmnopq"  # noqa: S105 - a test's own


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-status-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(workdir, pki):  # noqa: F811 - fixture from test_hub_login
    env = with_test_client_ca(program_env(), pki)
    assert "HUB_STATUS_TOKEN" not in env
    env.update(
        # What hub_environment adds from the generated token (unit-tested there).
        HUB_STATUS_TOKEN=TOKEN,
        LDAP_SERVER_HOST="localhost",
        LDAP_SERVER_PORT=str(free_port()),
        SSL_CERT=str(pki["hub_cert"]),
        SSL_KEY=str(pki["hub_key"]),
    )
    server = Hub(workdir, "hub", env, pki["hub_ca"]).start()
    yield server
    server.stop()


def call(hub: Hub, method: str, path: str) -> requests.Response:
    return requests.request(
        method,
        hub.url + path,
        headers={"Authorization": f"token {TOKEN}"},
        verify=str(hub.ca),
        allow_redirects=False,
        timeout=30,
    )


def test_the_token_is_the_status_service_with_two_scopes(hub):
    me = call(hub, "GET", "hub/api/user")
    assert me.status_code == 200, hub.log_tail()
    model = me.json()
    assert (model["kind"], model["name"]) == ("service", "status")
    # read:users:name comes with read:servers (JupyterHub's scope hierarchy).
    assert set(model["scopes"]) == {"list:users", "read:servers", "read:users:name"}


def test_status_lists_the_users_and_their_servers(hub):
    got = hub_users(hub.url, str(hub.ca), TOKEN)
    assert got["error"] is None, got
    assert "admin" in got["users"]  # an admin user of the program's env, in the database
    assert got["servers"] == []  # nobody has spawned
    raw = call(hub, "GET", "hub/api/users").json()
    assert all("servers" in user for user in raw), raw  # read:servers: the servers' models
    # The name, the admin flag and the servers: no groups, roles, activity or auth state.
    assert all(set(user) <= {"kind", "name", "admin", "servers"} for user in raw), raw


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "hub/api/users/admin/tokens"),
        ("POST", "hub/api/users/admin/tokens"),
        ("POST", "hub/api/users/admin/server"),
        ("DELETE", "hub/api/users/admin/server"),
        ("POST", "hub/api/users/intruder"),
        ("DELETE", "hub/api/users/admin"),
        ("GET", "hub/api/proxy"),
        ("GET", "hub/metrics"),
        ("POST", "hub/api/shutdown"),
    ],
)
def test_the_status_token_changes_and_reads_nothing_else(hub, method, path):
    response = call(hub, method, path)
    assert response.status_code in (403, 404), (method, path, response.status_code)


def test_another_token_lists_nothing(hub):
    got = hub_users(hub.url, str(hub.ca), TOKEN[:-1] + "x")
    assert got["users"] is None and "HTTP 403" in got["error"]
