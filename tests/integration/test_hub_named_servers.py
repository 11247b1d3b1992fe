"""Named servers, as a real JupyterHub with the shipped jupyterhub_config.py enforces them
(HUB_NAMED_SERVERS): each user may have that many named servers besides the default one,
no more (off by default: tests/unit/images/hub/test_jupyterhub_config.py).

Stand-in: the servers are real `jupyterhub-singleuser` processes started by JupyterHub's
SimpleLocalProcessSpawner (no Docker engine here); their containers and volumes are the
e2e test's (tests/e2e/test_dev_stack.py) and the unit tests' (test_names.py).
"""

from __future__ import annotations

import shutil
import time

import pytest

from tests.integration.ldap_server import world_readable_tmpdir
from tests.integration.test_hub_login import (
    Hub,
    directory,  # noqa: F401 - fixture
    hub_env,
    pki,  # noqa: F401 - fixture
)
from tests.integration.test_hub_restart import api, browser_login

pytestmark = pytest.mark.integration

USER = "alice"


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-named-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_hub(workdir, pki, directory, name: str, **env) -> Hub:  # noqa: F811
    hub = Hub(
        workdir,
        name,
        hub_env(pki, directory, **env),
        pki["hub_ca"],
        extra_args=[
            f"--SimpleLocalProcessSpawner.home_dir_template={workdir}/{name}/home/{{username}}",
            "--Spawner.args=--allow-root",  # the test runs as root; notebooks run as jovyan
        ],
    )
    (workdir / name / "home" / USER).mkdir(parents=True)
    return hub.start()


def wait_ready(hub: Hub, session, server: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        servers = api(hub, session, "GET", f"users/{USER}").json().get("servers", {})
        if servers.get(server, {}).get("ready"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{USER}'s server {server!r} did not become ready:\n{hub.log_tail()}")


def test_a_user_has_up_to_the_limit_of_named_servers(workdir, pki, directory):  # noqa: F811
    hub = start_hub(workdir, pki, directory, "on", HUB_NAMED_SERVERS="1")
    try:
        session = browser_login(hub, USER)
        started = api(hub, session, "POST", f"users/{USER}/servers/lab")
        assert started.status_code in (201, 202), started.text
        wait_ready(hub, session, "lab")
        second = api(hub, session, "POST", f"users/{USER}/servers/other")
        assert second.status_code == 400, second.text
        assert "maximum of 1 named servers" in second.text
        # The default server is not a named one: it starts besides the named server.
        default = api(hub, session, "POST", f"users/{USER}/server")
        assert default.status_code in (201, 202), default.text
        wait_ready(hub, session, "")
        for path in (f"users/{USER}/servers/lab", f"users/{USER}/server"):
            assert api(hub, session, "DELETE", path).status_code in (202, 204)
    finally:
        hub.stop()
