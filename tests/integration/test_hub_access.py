"""Config is the source of truth for access, across a hub restart with changed config
(what `pulumi up` does when HUB_ADMIN_USERS, HUB_ALLOWED_USERS or LDAP_ALLOWED_GROUPS
change: the hub container is replaced, its database and cookie secret kept).

A real JupyterHub runs the shipped jupyterhub_config.py against a real slapd (fixtures
of test_hub_login). Before: admin and bob are admins, alice is allowed by name, carol by
her group; alice and carol run servers, alice holds an API token. After a restart with
bob moved to HUB_ALLOWED_USERS and alice removed: bob is no longer admin, alice's
cookie, token and server are gone while her files stay, admin and carol work on. Then
the group is dropped from the config (carol loses access) and put back (she may log in
again: the removal holds for the config, not forever).

Stand-in: the servers are real `jupyterhub-singleuser` processes started by JupyterHub's
SimpleLocalProcessSpawner (no Docker engine here), their home directories standing in
for the users' volumes. Stopping a server is the spawner's own stop, the same call that
stops and removes a DockerSpawner container.
"""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import pytest
import requests

from tests.integration.ldap_server import world_readable_tmpdir
from tests.integration.test_hub_login import (
    PASSWORDS,
    Hub,
    directory,  # noqa: F401 - fixture
    hub_env,
    logged_in,
    pki,  # noqa: F401 - fixture
)
from tests.integration.test_hub_restart import (
    alive,
    api,
    browser_login,
    proxy_pid,
    wait_gone,
    wait_ready,
)

pytestmark = pytest.mark.integration

NOTE, NOTE_TEXT = "note.txt", "alice's work, written before she was removed\n"
BEFORE = {"HUB_ADMIN_USERS": "admin,bob", "HUB_ALLOWED_USERS": "alice"}
AFTER = {"HUB_ADMIN_USERS": "admin", "HUB_ALLOWED_USERS": "bob"}


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-access-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def restart(hub: Hub, env: dict[str, str]) -> None:
    """End the hub as `pulumi up` ends a replaced container (SIGTERM; the proxy, a
    subprocess in that container, ends with it), then start it with `env`."""
    old_proxy = proxy_pid(hub)
    hub.stop()
    assert hub.proc.returncode == 0, hub.log_tail()
    if old_proxy and alive(old_proxy):
        os.kill(old_proxy, 9)
        wait_gone(old_proxy)
    hub.env = env
    hub.start()


def server_pid(hub: Hub, admin: requests.Session, user: str) -> int:
    return api(hub, admin, "GET", f"users/{user}").json()["servers"][""]["state"]["pid"]


def start_server(hub: Hub, session: requests.Session, user: str) -> None:
    started = api(hub, session, "POST", f"users/{user}/server")
    assert started.status_code in (201, 202), started.text
    wait_ready(hub, session, user)


def with_token(hub: Hub, token: str, path: str) -> requests.Response:
    return requests.get(
        hub.url + path,
        headers={"Authorization": f"token {token}"},
        verify=str(hub.ca),
        allow_redirects=False,
        timeout=30,
    )


@pytest.fixture(scope="module")
def changed(workdir, pki, directory):  # noqa: F811 - fixtures from test_hub_login
    home = workdir / "hub" / "home"
    hub = Hub(
        workdir,
        "hub",
        hub_env(pki, directory, **BEFORE),
        pki["hub_ca"],
        extra_args=[
            f"--SimpleLocalProcessSpawner.home_dir_template={home}/{{username}}",
            # The test runs as root; in the container the notebook runs as jovyan.
            "--Spawner.args=--allow-root",
        ],
    ).start()
    (home / "alice").mkdir(parents=True)
    (home / "alice" / NOTE).write_text(NOTE_TEXT)
    pids = []
    try:
        admin, bob, alice, carol = (
            browser_login(hub, u) for u in ("admin", "bob", "alice", "carol")
        )
        before = SimpleNamespace(bob_lists_users=api(hub, bob, "GET", "users").status_code)
        start_server(hub, alice, "alice")
        start_server(hub, carol, "carol")
        # alice's browser opens her file: the OAuth round trip gives it the server's cookie.
        opened = alice.get(hub.url + f"user/alice/files/{NOTE}", timeout=30)
        assert opened.status_code == 200 and opened.text == NOTE_TEXT, opened.history
        token = api(hub, alice, "POST", "users/alice/tokens", json={"note": "access test"})
        token = token.json()["token"]
        before.token_works = with_token(hub, token, "hub/api/user").status_code
        pids = [server_pid(hub, admin, "alice"), server_pid(hub, admin, "carol")]
        restart(hub, hub_env(pki, directory, **AFTER))
        yield SimpleNamespace(
            hub=hub,
            home=home,
            admin=admin,
            bob=bob,
            alice=alice,
            carol=carol,
            token=token,
            alice_pid=pids[0],
            carol_pid=pids[1],
            before=before,
        )
    finally:
        hub.stop()
        for pid in pids:  # whatever the hub did not stop: do not leave it behind
            if alive(pid):
                os.kill(pid, 9)


def test_before_the_change_bob_is_admin_and_alices_token_works(changed):
    assert changed.before.bob_lists_users == 200
    assert changed.before.token_works == 200


def test_a_user_removed_from_the_admins_is_no_longer_admin(changed):
    hub, bob = changed.hub, changed.bob
    # His session from before the restart still logs him in (he is still allowed)...
    me = api(hub, bob, "GET", "user")
    assert me.status_code == 200, me.text
    assert me.json()["admin"] is False
    # ...but every admin right is gone, on the API and the admin page.
    assert api(hub, bob, "GET", "users").status_code == 403
    # (JupyterHub answers 404 where the caller may not even see the user.)
    assert api(hub, bob, "DELETE", "users/carol/server").status_code in (403, 404)
    assert api(hub, changed.admin, "GET", "users/carol").json()["servers"][""]["ready"]
    assert bob.get(hub.url + "hub/admin", allow_redirects=False, timeout=10).status_code == 403
    # And a new login does not make him admin again.
    fresh = browser_login(hub, "bob")
    assert api(hub, fresh, "GET", "users").status_code == 403


def test_removed_users_session_cookie_is_refused(changed):
    hub, alice = changed.hub, changed.alice
    assert api(hub, alice, "GET", "user").status_code == 403
    home = alice.get(hub.url + "hub/home", allow_redirects=False, timeout=10)
    assert home.status_code == 302 and "/hub/login" in home.headers["location"]


def test_removed_users_api_token_is_refused(changed):
    assert with_token(changed.hub, changed.token, "hub/api/user").status_code == 403
    tokens = with_token(changed.hub, changed.token, "hub/api/users/alice/tokens")
    assert tokens.status_code == 403


def test_removed_users_server_is_stopped_and_her_files_stay(changed):
    hub = changed.hub
    wait_gone(changed.alice_pid)
    assert not alive(changed.alice_pid), hub.log_tail()
    assert api(hub, changed.admin, "GET", "users/alice").json()["servers"] == {}
    # Nothing of hers is reachable through the proxy, not even with her server's cookie.
    page = changed.alice.get(
        hub.url + f"user/alice/files/{NOTE}", allow_redirects=False, timeout=30
    )
    assert page.status_code != 200
    assert (changed.home / "alice" / NOTE).read_text() == NOTE_TEXT
    assert "alice is no longer allowed by the config" in hub.log.read_text()


def test_removed_user_cannot_log_in_again(changed):
    session, response = changed.hub.login("alice", PASSWORDS["alice"])
    assert not logged_in(response, session)


def test_admin_and_the_group_member_work_on(changed):
    hub = changed.hub
    assert api(hub, changed.admin, "GET", "users").status_code == 200
    assert changed.admin.get(hub.url + "hub/admin", timeout=10).status_code == 200
    # carol is allowed by her group (kept from her login): her session and server stay.
    assert api(hub, changed.carol, "GET", "user").json()["name"] == "carol"
    assert alive(changed.carol_pid)
    assert api(hub, changed.admin, "GET", "users/carol").json()["servers"][""]["ready"]


def test_dropping_the_group_removes_its_members_and_restoring_it_lets_them_back(
    changed,
    pki,  # noqa: F811 - fixture from test_hub_login
    directory,  # noqa: F811 - fixture from test_hub_login
):
    hub, carol = changed.hub, changed.carol
    restart(hub, hub_env(pki, directory, LDAP_ALLOWED_GROUPS="", **AFTER))
    assert api(hub, carol, "GET", "user").status_code == 403
    wait_gone(changed.carol_pid)
    assert not alive(changed.carol_pid)
    session, response = hub.login("carol", PASSWORDS["carol"])
    assert not logged_in(response, session)

    restart(hub, hub_env(pki, directory, **AFTER))
    assert api(hub, carol, "GET", "user").status_code == 403  # old session stays dead
    again = browser_login(hub, "carol")  # but the directory's group lets her in again
    assert api(hub, again, "GET", "user").json()["name"] == "carol"
