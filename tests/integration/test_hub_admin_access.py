"""Who admins are, as a real JupyterHub with the shipped jupyterhub_config.py makes them
(HUB_ADMIN_SERVER_ACCESS): by default the stack's role, JupyterHub's admin scopes but no
access to other users' servers; with it, JupyterHub's admin role. The switch both ways on
one database moves them, with nothing left of the other role."""

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
    finally:
        hub.stop()
