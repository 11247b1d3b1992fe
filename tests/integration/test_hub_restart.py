"""A hub replacement keeps users' work: a real JupyterHub with the shipped
jupyterhub_config.py is stopped the way `pulumi up` stops a replaced hub container
(SIGTERM; its proxy, a subprocess in the same container, ends with it) and a new hub
starts on the same database, cookie secret and ports with one setting changed
(IDLE_CULL_TIMEOUT), as the next container would. The same after a crash (SIGKILL),
after which the restart policy starts the container again.

Stand-in: the user's server is a real `jupyterhub-singleuser` started by JupyterHub's
SimpleLocalProcessSpawner (there is no Docker engine in this test), so the state the new
hub finds in the database is a pid, where DockerSpawner keeps the container's id and
name. The end-to-end tests on a Docker engine prove the same with DockerSpawner.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from types import SimpleNamespace

import pytest
import requests
import websocket

from tests.integration.ldap_server import world_readable_tmpdir
from tests.integration.test_hub_login import (
    PASSWORDS,
    Hub,
    directory,  # noqa: F401 - fixture
    hub_env,
    logged_in,
    pki,  # noqa: F401 - fixture
)
from tests.support.notebook import _message, _wait_reply

pytestmark = pytest.mark.integration

USER = "alice"
NOTE, NOTE_TEXT = "note.txt", "written before the restart\n"


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-restart-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def api(hub: Hub, session: requests.Session, method: str, path: str, **kwargs):
    """The hub's REST API with the session's cookie, as the browser's pages call it."""
    headers = {"X-XSRFToken": session.cookies.get("_xsrf", path="/hub/") or ""}
    return session.request(
        method, hub.url + "hub/api/" + path, headers=headers, timeout=30, **kwargs
    )


def browser_login(hub: Hub, user: str) -> requests.Session:
    session, response = hub.login(user, PASSWORDS[user])
    assert logged_in(response, session), hub.log_tail()
    # JupyterHub signs _xsrf with the session: take the fresh one a page sets.
    assert session.get(hub.url + "hub/home", timeout=10).status_code == 200
    return session


def wait_ready(hub: Hub, session: requests.Session, user: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = api(hub, session, "GET", f"users/{user}").json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return model
        time.sleep(0.5)
    raise AssertionError(f"{user}'s server did not become ready:\n{hub.log_tail()}")


def run_code(hub: Hub, token: str, kernel_id: str, code: str) -> str:
    """Run `code` in a kernel over its websocket, through the hub's proxy."""
    url = hub.url.replace("https://", "wss://") + f"user/{USER}/api/kernels/{kernel_id}/channels"
    ws = websocket.create_connection(
        url,
        header=[f"Authorization: token {token}"],
        sslopt={"ca_certs": str(hub.ca)},
        timeout=60,
    )
    try:
        request = _message(
            "execute_request",
            {"code": code, "silent": False, "store_history": False, "allow_stdin": False},
        )
        ws.send(json.dumps(request))
        return _wait_reply(ws, request, "execute_result")["content"]["data"]["text/plain"]
    finally:
        ws.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def proxy_pid(hub: Hub) -> int | None:
    pid_file = hub.dir / "jupyterhub-proxy.pid"
    return int(pid_file.read_text()) if pid_file.exists() else None


@pytest.fixture(scope="module", params=["replacement", "crash"])
def restart(request, workdir, pki, directory):  # noqa: F811 - fixtures from test_hub_login
    """The hub ends as in `pulumi up` replacing its container (SIGTERM), or as in a crash
    or the OOM killer (SIGKILL; the container's end takes the proxy with it, and the
    restart policy starts the container again); then a new hub starts."""
    how = request.param
    hub = Hub(
        workdir,
        how,
        hub_env(pki, directory, IDLE_CULL_TIMEOUT="3600"),
        pki["hub_ca"],
        extra_args=[
            f"--SimpleLocalProcessSpawner.home_dir_template={workdir}/{how}/home/{{username}}",
            # The test runs as root; in the container the notebook runs as jovyan.
            "--Spawner.args=--allow-root",
        ],
    ).start()
    home = workdir / how / "home" / USER
    home.mkdir(parents=True)
    (home / NOTE).write_text(NOTE_TEXT)
    pid = None
    try:
        user = browser_login(hub, USER)
        admin = browser_login(hub, "admin")
        started = api(hub, user, "POST", f"users/{USER}/server")
        assert started.status_code in (201, 202), started.text
        wait_ready(hub, user, USER)
        # The browser opens a file on the server: the OAuth round trip with the hub
        # gives it the server's own cookie.
        opened = user.get(hub.url + f"user/{USER}/files/{NOTE}", timeout=30)
        assert opened.status_code == 200 and opened.text == NOTE_TEXT, opened.history
        assert f"jupyterhub-user-{USER}" in user.cookies
        pid = api(hub, admin, "GET", f"users/{USER}").json()["servers"][""]["state"]["pid"]
        token = api(
            hub, user, "POST", f"users/{USER}/tokens", json={"note": "restart test"}
        ).json()["token"]
        kernel = requests.post(
            hub.url + f"user/{USER}/api/kernels",
            json={"name": "python3"},
            headers={"Authorization": f"token {token}"},
            verify=str(hub.ca),
            timeout=60,
        )
        assert kernel.status_code == 201, kernel.text
        kernel_id = kernel.json()["id"]
        assert run_code(hub, token, kernel_id, "answer = 6 * 7; answer") == "42"
        old_proxy = proxy_pid(hub)
        assert old_proxy and alive(old_proxy)

        if how == "replacement":  # the old hub gets SIGTERM; nothing else is signalled
            hub.stop()
            assert hub.proc.returncode == 0, hub.log_tail()
        else:
            hub.proc.kill()
            hub.proc.wait()
        proxy_outlived_hub = alive(old_proxy)
        if proxy_outlived_hub:
            os.kill(old_proxy, 9)  # what the end of the hub's container does to it
            wait_gone(old_proxy)
        during = SimpleNamespace(
            server_alive=alive(pid), proxy_alive=proxy_outlived_hub, log=hub.log.read_text()
        )
        hub.env = hub_env(pki, directory, IDLE_CULL_TIMEOUT="7200")
        hub.start()
        yield SimpleNamespace(
            how=how,
            hub=hub,
            user=user,
            admin=admin,
            pid=pid,
            token=token,
            kernel_id=kernel_id,
            old_proxy=old_proxy,
            during=during,
        )
    finally:
        if hub.proc and hub.proc.poll() is None:
            try:
                admin = browser_login(hub, "admin")
                api(hub, admin, "DELETE", f"users/{USER}/server")
                if pid:
                    wait_gone(pid)
            finally:
                hub.stop()
        if pid and alive(pid):  # the hub did not stop it: do not leave it behind
            os.kill(pid, 9)


def test_the_hubs_end_leaves_the_users_server_running(restart):
    assert restart.during.server_alive
    if restart.how == "replacement":
        assert "Leaving single-user servers running" in restart.during.log


def test_the_new_hub_runs_a_new_proxy(restart):
    # The proxy lives in the hub container, ending with it; a stopped hub ends it itself.
    # The new hub starts its own on the same port (then adds the routes it finds).
    if restart.how == "replacement":
        assert not restart.during.proxy_alive
    assert not alive(restart.old_proxy)
    new_proxy = proxy_pid(restart.hub)
    assert new_proxy and new_proxy != restart.old_proxy and alive(new_proxy)


def test_new_hub_finds_the_server_running(restart):
    hub = restart.hub
    assert alive(restart.pid)
    assert f"{USER} still running" in hub.log.read_text(), hub.log_tail()
    model = api(hub, restart.admin, "GET", f"users/{USER}").json()
    server = model["servers"][""]
    assert server["ready"] is True
    assert server["state"]["pid"] == restart.pid


def test_users_old_cookie_still_logs_them_in(restart):
    # No new login: the session from before the restart is accepted by the new hub.
    hub = restart.hub
    me = api(hub, restart.user, "GET", "user")
    assert me.status_code == 200, me.text
    assert me.json()["name"] == USER
    home = restart.user.get(hub.url + "hub/home", allow_redirects=False, timeout=10)
    assert home.status_code == 200


def test_request_through_the_new_proxy_reaches_the_users_server(restart):
    # The browser's own path: its cookies, through the proxy's rebuilt route, to the
    # server, with no redirect to a login.
    hub = restart.hub
    page = restart.user.get(
        hub.url + f"user/{USER}/files/{NOTE}", allow_redirects=False, timeout=30
    )
    assert page.status_code == 200, (page.status_code, page.headers.get("location"))
    assert page.text == NOTE_TEXT
    status = restart.user.get(hub.url + f"user/{USER}/api/status", timeout=30)
    assert status.status_code == 200, status.text[:300]
    assert status.json()["kernels"] == 1


def test_kernel_keeps_its_state_across_the_restart(restart):
    # The same kernel, not a new one: a variable set before the restart is still there.
    assert run_code(restart.hub, restart.token, restart.kernel_id, "answer") == "42"


def test_new_hub_runs_with_the_changed_setting(restart):
    services = api(restart.hub, restart.admin, "GET", "services").json()
    assert "--timeout=7200" in services["jupyterhub-idle-culler"]["command"]


def test_the_hub_restarts_a_proxy_that_dies_with_the_routes(restart):
    # A crash of the proxy alone (the hub lives on): the hub starts it again within
    # seconds (its check every 5 s) and puts every route back.
    hub = restart.hub
    proxy = proxy_pid(hub)
    os.kill(proxy, 9)
    wait_gone(proxy)
    deadline = time.monotonic() + 30
    page = None
    while time.monotonic() < deadline:
        try:
            page = restart.user.get(
                hub.url + f"user/{USER}/files/{NOTE}", allow_redirects=False, timeout=5
            )
            if page.status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    assert page is not None and page.status_code == 200, hub.log_tail()
    assert page.text == NOTE_TEXT
    assert proxy_pid(hub) not in (None, proxy)
