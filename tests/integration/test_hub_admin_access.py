"""Who admins are, as a real JupyterHub with the shipped jupyterhub_config.py makes them
(HUB_ADMIN_SERVER_ACCESS): by default the stack's role, JupyterHub's admin scopes but no
access to other users' servers; with it, JupyterHub's admin role. Switched off on a
database from a hub where admins could share users' servers, they hold the stack's role
alone and no share or share code is left."""

from __future__ import annotations

import shutil

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


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("hub-admins-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def admins_view(hub: Hub) -> tuple[dict, list[str]]:
    """(the admin's own model with its scopes, the roles of the hub's admin user as
    the admin API lists them)."""
    session = browser_login(hub, "admin")
    me = api(hub, session, "GET", "user").json()
    return me, sorted(api(hub, session, "GET", "users/admin").json()["roles"])


def test_admins_open_others_servers_only_when_the_config_says_so(workdir, pki, directory):  # noqa: F811
    hub = Hub(
        workdir, "switch", hub_env(pki, directory, HUB_ADMIN_SERVER_ACCESS="true"), pki["hub_ca"]
    )
    try:
        hub.start()
        me, roles = admins_view(hub)
        assert me["admin"] is True and "admin" in roles and "jupyterhub-zos-admin" not in roles
        assert "access:servers" in me["scopes"], me["scopes"]
        # An admin then may share alice's server (with himself) and make a share code.
        browser_login(hub, "alice")  # the hub knows her server from her first login
        session = browser_login(hub, "admin")
        shared = api(hub, session, "POST", "shares/alice/", json={"user": "admin"})
        assert shared.status_code in (200, 201), shared.text
        code = api(hub, session, "POST", "share-codes/alice/", json={"expires_in": 86400})
        assert code.status_code in (200, 201), code.text
        hub.stop()
        hub.env["HUB_ADMIN_SERVER_ACCESS"] = "false"
        hub.start()
        me, roles = admins_view(hub)
        assert me["admin"] is False, me
        assert "jupyterhub-zos-admin" in roles and "admin" not in roles, roles
        assert [s for s in me["scopes"] if s.startswith("access:servers")] == [
            "access:servers!user=admin"
        ]
        assert {"admin-ui", "admin:users", "admin:servers"} <= set(me["scopes"])
        # Nobody may share now: what was shared while admins could is gone.
        session = browser_login(hub, "admin")
        assert api(hub, session, "GET", "users/admin/shared").json()["items"] == []
        assert api(hub, session, "GET", "shares/alice/").json()["items"] == []
        assert "Deleted 1 share(s) and 1 share code(s)" in hub.log.read_text()
    finally:
        hub.stop()
