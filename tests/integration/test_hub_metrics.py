"""Prometheus metrics on a real JupyterHub running the shipped jupyterhub_config.py with
the environment the program computes (a generated scrape token among it): the token
reads /hub/metrics, as Prometheus sends it ("Authorization: Bearer"), and nothing else;
no token, or another one, is refused.

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

pytestmark = pytest.mark.integration

TOKEN = "metrics-scrape-token-0123456789abcdefghijklmn"  # noqa: S105 - a test's own


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-metrics-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(workdir, pki):  # noqa: F811 - fixture from test_hub_login
    env = with_test_client_ca(program_env(), pki)
    assert "HUB_METRICS_TOKEN" not in env
    env.update(
        # What hub_environment adds from the generated token (unit-tested there).
        HUB_METRICS_TOKEN=TOKEN,
        LDAP_SERVER_HOST="localhost",
        LDAP_SERVER_PORT=str(free_port()),
        SSL_CERT=str(pki["hub_cert"]),
        SSL_KEY=str(pki["hub_key"]),
    )
    server = Hub(workdir, "hub", env, pki["hub_ca"]).start()
    yield server
    server.stop()


def get(hub: Hub, path: str, authorization: str | None = None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.get(
        hub.url + path, headers=headers, verify=str(hub.ca), allow_redirects=False, timeout=30
    )


@pytest.mark.parametrize("scheme", ["Bearer", "token"])
def test_the_scrape_token_reads_the_metrics(hub, scheme):
    response = get(hub, "hub/metrics", f"{scheme} {TOKEN}")
    assert response.status_code == 200, hub.log_tail()
    assert "text/plain" in response.headers["Content-Type"]
    assert "jupyterhub_total_users" in response.text
    assert "# TYPE jupyterhub_request_duration_seconds histogram" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "hub/api/users",
        "hub/api/users/admin",
        "hub/api/groups",
        "hub/api/services",
        "hub/api/proxy",
        "hub/api/users/admin/tokens",
    ],
)
def test_the_scrape_token_reads_nothing_else(hub, path):
    response = get(hub, path, f"Bearer {TOKEN}")
    assert response.status_code in (403, 404), (path, response.status_code, response.text)


def test_the_token_is_the_prometheus_service_with_one_scope(hub):
    me = get(hub, "hub/api/user", f"Bearer {TOKEN}")
    assert me.status_code == 200, me.text
    model = me.json()
    assert (model["kind"], model["name"]) == ("service", "prometheus")
    assert set(model["scopes"]) == {"read:metrics"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789abcdefghijklmnopq", f"Bearer {TOKEN[:-1]}"],
    ids=["no-token", "another-token", "truncated-token"],
)
def test_metrics_refused_without_the_token(hub, authorization):
    response = get(hub, "hub/metrics", authorization)
    assert response.status_code == 403, response.status_code
    assert "jupyterhub_total_users" not in response.text


def test_a_rotated_token_stops_working_at_the_next_start(hub):
    # `pulumi up --replace` of the token resource: the hub restarts with a new token on
    # the same database. JupyterHub alone keeps every token a config ever gave a service.
    rotated = "metrics-scrape-token-rotated-0123456789abcdef"  # noqa: S105 - a test's own
    hub.stop()
    hub.env["HUB_METRICS_TOKEN"] = rotated
    hub.start()
    assert get(hub, "hub/metrics", f"Bearer {rotated}").status_code == 200, hub.log_tail()
    assert get(hub, "hub/metrics", f"Bearer {TOKEN}").status_code == 403
    assert "Dropped 1 service token(s) from an earlier config" in hub.log.read_text()
    hub.stop()  # back as the module found it: the first token
    hub.env["HUB_METRICS_TOKEN"] = TOKEN
    hub.start()
    assert get(hub, "hub/metrics", f"Bearer {TOKEN}").status_code == 200
    assert get(hub, "hub/metrics", f"Bearer {rotated}").status_code == 403
