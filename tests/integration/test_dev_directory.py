"""The dev directory for real: images/ldap/entrypoint.sh seeding and running slapd with
the rendered config, checked over LDAP with ldap3 (the hub's LDAP client)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import ldap3
import pytest
from ldap3.core.exceptions import LDAPBindError, LDAPStartTLSError

from components.directory.render import (
    USERS_GROUP_DN,
    derive_password,
    directory_user,
    render_seed_ldif,
    user_dn,
)
from components.pki.specs import ca_spec, server_spec
from components.settings import DEV_DIRECTORY_BASE_DN
from tests.integration.ldap_server import DevDirectory, world_readable_tmpdir
from tests.support.certs import issue
from tests.tooling import free_port, require_tool

pytestmark = pytest.mark.integration

DOCKERFILE = Path(__file__).resolve().parents[2] / "images" / "ldap" / "Dockerfile"
# As the program does it: every password derived from one key (a RandomBytes' base64).
KEY = base64.b64encode(bytes(range(32))).decode()
NEW_KEY = base64.b64encode(bytes(range(100, 132))).decode()  # the key after a rotation
PASSWORDS = {user: derive_password(KEY, user) for user in ("admin", "alice")}


@pytest.fixture(scope="module")
def base():
    path = world_readable_tmpdir("dev-directory-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def ca():
    return issue(ca_spec("dev directory"))


@pytest.fixture(scope="module")
def ca_file(base, ca):
    return str(ca.write(base, "ca")[0])


@pytest.fixture(scope="module")
def directory(base, ca):
    # Named "localhost" only, so connecting as 127.0.0.1 is a name mismatch.
    server_cert = issue(server_spec("localhost", ("localhost",)), ca)
    (base / "srv").mkdir(mode=0o755)
    ldif = render_seed_ldif([directory_user(n, p) for n, p in PASSWORDS.items()])
    server = DevDirectory(base / "srv", server_cert, ldif, ldaps_port=free_port()).start()
    yield server
    server.stop()


def connect(directory, ca_file, user, password, *, tls="starttls", host="localhost"):
    tls_config = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
    if tls == "ldaps":
        server = ldap3.Server(host, port=directory.ldaps_port, use_ssl=True, tls=tls_config)
        auto_bind = ldap3.AUTO_BIND_NO_TLS
    else:
        server = ldap3.Server(host, port=directory.port, tls=tls_config)
        auto_bind = ldap3.AUTO_BIND_TLS_BEFORE_BIND if tls == "starttls" else ldap3.AUTO_BIND_NO_TLS
    return ldap3.Connection(server, user=user, password=password, auto_bind=auto_bind)


def test_user_binds_over_starttls_and_ldaps(directory, ca_file):
    for tls in ("starttls", "ldaps"):
        conn = connect(directory, ca_file, user_dn("alice"), PASSWORDS["alice"], tls=tls)
        assert conn.extend.standard.who_am_i() == f"dn:{user_dn('alice')}"
        conn.unbind()


def test_password_in_clear_text_is_refused(directory, ca_file):
    with pytest.raises(LDAPBindError, match="confidentiality"):
        connect(directory, ca_file, user_dn("alice"), PASSWORDS["alice"], tls="none")


def test_wrong_password_and_wrong_server_name_are_refused(directory, ca_file):
    with pytest.raises(LDAPBindError):
        connect(directory, ca_file, user_dn("alice"), PASSWORDS["admin"])
    # 127.0.0.1 is not a name in the certificate: ldap3 checks it.
    with pytest.raises(LDAPStartTLSError):
        connect(directory, ca_file, user_dn("alice"), PASSWORDS["alice"], host="127.0.0.1")


def test_password_hashes_are_unreadable_and_groups_readable_by_users(directory, ca_file):
    conn = connect(directory, ca_file, user_dn("alice"), PASSWORDS["alice"])
    conn.search(DEV_DIRECTORY_BASE_DN, "(uid=*)", attributes=["*"])
    assert sorted(e.uid.value for e in conn.entries) == ["admin", "alice"]
    assert all("userPassword" not in e.entry_attributes for e in conn.entries)
    conn.search(USERS_GROUP_DN, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["member"])
    assert set(conn.entries[0].member.values) == {user_dn("admin"), user_dn("alice")}
    conn.unbind()
    # Anonymous: sees nothing of the people.
    anon = ldap3.Connection(ldap3.Server("127.0.0.1", port=directory.port), auto_bind=True)
    anon.search(DEV_DIRECTORY_BASE_DN, "(objectClass=*)")
    assert anon.entries == []


def test_image_healthcheck_command_answers(directory):
    ldapsearch = require_tool("ldapsearch")
    text = DOCKERFILE.read_text()
    command = json.loads(re.search(r"CMD (\[.*\])", text.split("HEALTHCHECK", 1)[1])[1])
    assert command[0] == "ldapsearch"
    command = [ldapsearch] + [
        arg.replace("ldap://127.0.0.1:389/", directory.url) for arg in command[1:]
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert DEV_DIRECTORY_BASE_DN in result.stdout


def test_restart_keeps_the_database_and_a_new_seed_replaces_it(base, ca, ca_file):
    server_cert = issue(server_spec("localhost", ("localhost",)), ca)
    (base / "restart").mkdir(mode=0o755)
    ldif = render_seed_ldif([directory_user(n, p) for n, p in PASSWORDS.items()])
    directory = DevDirectory(base / "restart", server_cert, ldif).start()
    try:
        restart_and_reseed(directory, ca_file)
    finally:
        directory.stop()


def restart_and_reseed(directory, ca_file):
    connect(directory, ca_file, user_dn("alice"), PASSWORDS["alice"]).unbind()
    directory.stop()
    directory.start()
    assert "already seeded from this seed; keeping it" in directory.log_text()
    connect(directory, ca_file, user_dn("alice"), PASSWORDS["alice"]).unbind()

    # A replaced key (new passwords, a new seed) comes with a new container: the old go.
    directory.stop()
    rotated = derive_password(NEW_KEY, "alice")
    directory.seed.write_text(render_seed_ldif([directory_user("alice", rotated)]))
    directory.start()
    assert "the seed changed; replacing the database" in directory.log_text()
    connect(directory, ca_file, user_dn("alice"), rotated).unbind()
    with pytest.raises(LDAPBindError):
        connect(directory, ca_file, user_dn("alice"), PASSWORDS["alice"])
    with pytest.raises(LDAPBindError):
        connect(directory, ca_file, user_dn("admin"), PASSWORDS["admin"])
