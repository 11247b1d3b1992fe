"""Search-then-bind LDAP for real: a real JupyterHub runs the shipped jupyterhub_config.py
with the environment the program computes for LDAP_USER_SEARCH_BASE, against a real
slapd (the dev directory image's entrypoint and slapd config) whose users sit in two
branches, as in Active Directory or any directory whose DNs follow no one template:

    dc=jupyterhub,dc=local
      ou=people       admin, alice (allowed group), mallory (in no group), twin
      ou=contractors  dave (allowed group), twin (same uid twice: ambiguous)
      ou=services     cn=hub-search (the search account: no uid, cannot log in)
      ou=groups       cn=notebook-users: alice and dave

The hub searches as cn=hub-search, whose password reaches it only as a file (the
container's 0600 upload); the directory lets only bound users read entries, so an
anonymous search would find nobody.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from components.directory.render import hash_password, password_salt, render_slapd_conf
from components.hub.environment import HubEnvInputs, hub_environment
from components.pki.specs import ca_spec, server_spec
from components.settings import (
    DEV_DIRECTORY_BASE_DN,
    GatewaySettings,
    HubSettings,
    LdapSettings,
)
from tests.integration.ldap_server import DevDirectory, world_readable_tmpdir
from tests.integration.test_hub_login import Hub, logged_in, program_env
from tests.integration.test_hub_restart import api
from tests.support.certs import issue

pytestmark = pytest.mark.integration

BASE = DEV_DIRECTORY_BASE_DN
SEARCH_DN = f"cn=hub-search,ou=services,{BASE}"
SEARCH_PASSWORD = "search-account: 'quoted' & spaced $HOME"  # noqa: S105 - a test's own
GROUP_DN = f"cn=notebook-users,ou=groups,{BASE}"
PASSWORDS = {
    "admin": "admin-password-1",
    "alice": "alice-password-2",
    "mallory": "mallory-password-3",
    "dave": "dave-password-4",
    "twin": "twin-password-5",
}
BRANCH = {"admin": "people", "alice": "people", "mallory": "people", "dave": "contractors"}


def _entry(dn: str, *lines: str) -> str:
    return "\n".join([f"dn: {dn}", *lines])


def _person(uid: str, branch: str) -> str:
    secret = hash_password(PASSWORDS[uid], password_salt(uid + branch, PASSWORDS[uid]))
    return _entry(
        f"uid={uid},ou={branch},{BASE}",
        "objectClass: inetOrgPerson",
        f"uid: {uid}",
        f"cn: {uid} of {branch}",
        f"sn: {uid}",
        f"userPassword: {secret}",
    )


def seed_ldif() -> str:
    entries = [
        _entry(
            BASE,
            "objectClass: top",
            "objectClass: dcObject",
            "objectClass: organization",
            "dc: jupyterhub",
            "o: search-then-bind test",
        ),
        *(
            _entry(f"ou={ou},{BASE}", "objectClass: organizationalUnit", f"ou: {ou}")
            for ou in ("people", "contractors", "services", "groups")
        ),
        *(_person(uid, branch) for uid, branch in BRANCH.items()),
        _person("twin", "people"),
        _person("twin", "contractors"),
        _entry(
            SEARCH_DN,
            "objectClass: organizationalRole",
            "objectClass: simpleSecurityObject",
            "cn: hub-search",
            f"userPassword: {hash_password(SEARCH_PASSWORD, b'searchsalt')}",
        ),
        _entry(
            GROUP_DN,
            "objectClass: groupOfNames",
            "cn: notebook-users",
            f"member: uid=alice,ou=people,{BASE}",
            f"member: uid=dave,ou=contractors,{BASE}",
        ),
    ]
    return "\n\n".join(entries) + "\n"


@pytest.fixture(scope="module")
def workdir():
    path = world_readable_tmpdir("ldap-search-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pki(workdir):
    ldap_ca, hub_ca = issue(ca_spec("directory")), issue(ca_spec("hub"))
    files = {
        "ldap_server": issue(server_spec("localhost", ("localhost",), ("127.0.0.1",)), ldap_ca),
        "ldap_ca": ldap_ca.write(workdir, "ldap-ca")[0],
        "hub_ca": hub_ca.write(workdir, "hub-ca")[0],
    }
    hub_server = issue(server_spec("localhost", ("localhost",), ("127.0.0.1",)), hub_ca)
    files["hub_cert"], files["hub_key"] = hub_server.write(workdir, "hub")
    return files


@pytest.fixture(scope="module")
def directory(workdir, pki):
    base = workdir / "ldap"
    base.mkdir(mode=0o755)
    server = DevDirectory(base, pki["ldap_server"], seed_ldif()).start()
    assert "dc=jupyterhub,dc=local" in render_slapd_conf()  # the suffix the seed uses
    yield server
    server.stop()


def search_env(pki, directory, password_file: Path) -> dict[str, str]:
    """The hub's environment as the program computes it for search-then-bind, with the
    container's paths pointed at this test's files and servers."""
    ldap = LdapSettings(
        host="ldap.example.org",
        port=389,
        bind_dn_template="",
        tls="starttls",
        ca_cert_pem="(uploaded)",
        allowed_groups=(GROUP_DN,),
        user_search_base=BASE,
        user_attribute="uid",
        user_search_filter="(&(objectClass=inetOrgPerson)({login_attr}={login}))",
        search_bind_dn=SEARCH_DN,
        search_bind_password="(a secret Output in the program)",
    )
    base = program_env()
    env = hub_environment(
        _hub_settings(),
        ldap,
        _gateway_settings(),
        HubEnvInputs(
            ldap_host="ldap.example.org",
            ldap_ca=True,
            notebook_image=base["DOCKER_NOTEBOOK_IMAGE"],
            kg_url=base["KG_URL"],
            kg_auth_token=base["KG_AUTH_TOKEN"],
            cookie_secret=base["JPY_COOKIE_SECRET"],
            proxy_auth_token=base["CONFIGPROXY_AUTH_TOKEN"],
            pki_users=("admin", "alice", "dave"),
        ),
    )
    env.update(
        LDAP_SERVER_HOST="localhost",
        LDAP_SERVER_PORT=str(directory.port),
        LDAP_CA_CERT_FILE=str(pki["ldap_ca"]),
        LDAP_SEARCH_BIND_PASSWORD_FILE=str(password_file),
        SSL_CERT=str(pki["hub_cert"]),
        SSL_KEY=str(pki["hub_key"]),
    )
    return env


def _hub_settings() -> HubSettings:
    return HubSettings(
        hostname="localhost",
        https_port=8443,
        tls_cert_pem=None,
        tls_key_pem=None,
        admin_users=("admin",),
        allowed_users=(),  # everyone else by the group
        notebook_image=None,
        network_name="jupyterhub-network",
        pki_dir="/var/lib/jupyterhub-zos/test/pki",
        mem_limit=None,
        pids_limit=0,
        cpu_limit=None,
        idle_cull_timeout=3600,
    )


def _gateway_settings() -> GatewaySettings:
    return GatewaySettings(
        url=None,
        auth_token=None,
        validate_cert=True,
        client_key="key.pem",
        client_cert="cert.pem",
        client_ca="cacert.pem",
    )


@pytest.fixture(scope="module")
def hub(workdir, pki, directory):
    password_file = workdir / "ldap-search-password"
    password_file.write_text(SEARCH_PASSWORD)  # as the container upload: the value alone
    password_file.chmod(0o600)
    env = search_env(pki, directory, password_file)
    server = Hub(workdir, "hub", env, pki["hub_ca"], extra_args=["--log-level=DEBUG"])
    server.start()
    yield server
    server.stop()


def login(hub: Hub, user: str, password: str | None = None) -> bool:
    session, response = hub.login(user, PASSWORDS[user] if password is None else password)
    return logged_in(response, session)


def test_the_program_env_carries_no_password(pki, directory, tmp_path):
    env = search_env(pki, directory, tmp_path / "pw")
    assert "LDAP_BIND_DN" not in env
    assert all(SEARCH_PASSWORD not in value for value in env.values())


@pytest.mark.parametrize("user", ["alice", "dave"])
def test_members_of_the_allowed_group_in_either_branch_log_in(hub, user):
    assert login(hub, user), hub.log_tail()


def test_the_hub_user_is_the_login_name_and_keeps_the_group(hub):
    session, response = hub.login("admin", PASSWORDS["admin"])
    assert logged_in(response, session), hub.log_tail()
    assert login(hub, "dave"), hub.log_tail()
    dave = api(hub, session, "GET", "users/dave")
    assert dave.status_code == 200, dave.text
    assert dave.json()["name"] == "dave"
    assert dave.json()["groups"] == [GROUP_DN]


def test_an_admin_named_in_config_logs_in_without_the_group(hub):
    assert login(hub, "admin"), hub.log_tail()


@pytest.mark.parametrize(
    ("user", "password"),
    [
        pytest.param("alice", "wrong-password", id="wrong-password"),
        pytest.param("dave", PASSWORDS["alice"], id="another-users-password"),
        pytest.param("mallory", None, id="not-in-the-allowed-group"),
        pytest.param("twin", None, id="two-entries-for-one-name"),
    ],
)
def test_login_refused(hub, user, password):
    assert not login(hub, user, password)


@pytest.mark.parametrize(
    ("name", "password"),
    [
        pytest.param("hub-search", SEARCH_PASSWORD, id="the-search-account"),
        pytest.param("*", PASSWORDS["alice"], id="wildcard"),
        pytest.param("alice)(uid=*", PASSWORDS["alice"], id="filter-injection"),
    ],
)
def test_other_names_are_refused(hub, name, password):
    session, response = hub.login(name, password)
    assert not logged_in(response, session)


def test_refusals_are_logged_the_way_the_troubleshooter_reads_them(hub):
    assert not login(hub, "twin")
    log = hub.log.read_text(errors="replace")
    assert "Looking up 'twin' gave multiple entries" in log
    assert f"Successfully bound {SEARCH_DN}" in log


def _tree(pid: int) -> list[int]:
    """The hub and every process under it (proxy, culler)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def test_the_search_password_is_in_no_argv_env_or_log(hub):
    assert login(hub, "alice"), hub.log_tail()  # the authenticator has read its file
    pids = _tree(hub.proc.pid)
    assert len(pids) >= 2, "the proxy runs under the hub"
    needle = SEARCH_PASSWORD.encode()
    for pid in pids:
        for name in ("cmdline", "environ"):
            try:
                data = Path(f"/proc/{pid}/{name}").read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            assert needle not in data, (pid, name)
    assert SEARCH_PASSWORD not in hub.log.read_text(errors="replace")  # debug logging on
    assert os.stat(hub.env["LDAP_SEARCH_BIND_PASSWORD_FILE"]).st_mode & 0o077 == 0
