"""The dev directory's renderers: slapd.conf and the seed LDIF."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import subprocess

import pytest

from components.directory.render import (
    USERS_GROUP,
    USERS_GROUP_DN,
    DirectoryUser,
    SlapdPaths,
    derive_password,
    directory_user,
    group_dn,
    hash_password,
    password_salt,
    render_seed_ldif,
    render_slapd_conf,
    user_dn,
)
from components.settings import DEV_DIRECTORY_BASE_DN, DEV_DIRECTORY_BIND_DN
from tests.tooling import require_tool


def parse_ldif(text: str) -> list[dict[str, list[str]]]:
    entries = []
    for block in text.strip().split("\n\n"):
        entry: dict[str, list[str]] = {}
        for line in block.splitlines():
            key, value = line.split(": ", 1)
            entry.setdefault(key, []).append(value)
        entries.append(entry)
    return entries


def check_ssha512(hashed: str, password: str) -> bool:
    raw = base64.b64decode(hashed.removeprefix("{SSHA512}"))
    digest, salt = raw[:64], raw[64:]
    return hashlib.sha512(password.encode() + salt).digest() == digest


# --- passwords -----------------------------------------------------------------------------


def test_hash_is_slapd_ssha512_of_password_and_salt():
    hashed = hash_password("s3cret-password", b"12345678")
    assert hashed.startswith("{SSHA512}")
    assert check_ssha512(hashed, "s3cret-password")
    assert not check_ssha512(hashed, "s3cret-passwore")


def test_salt_is_stable_for_the_same_inputs_and_differs_otherwise():
    # Stable: the rendered seed (a container upload) does not change on every `up`.
    assert password_salt("alice", "pw-one") == password_salt("alice", "pw-one")
    assert password_salt("alice", "pw-one") != password_salt("bob", "pw-one")
    assert password_salt("alice", "pw-one") != password_salt("alice", "pw-two")
    assert len(password_salt("alice", "pw-one")) == 8


def test_directory_user_never_holds_the_password():
    user = directory_user("alice", "clear-text-password")
    assert "clear-text-password" not in repr(user)
    assert check_ssha512(user.password_hash, "clear-text-password")
    assert directory_user("alice", "clear-text-password") == user


@pytest.mark.parametrize(("password", "salt"), [("", b"12345678"), ("pw", b"123")])
def test_hash_refuses_empty_password_and_short_salt(password, salt):
    with pytest.raises(ValueError):
        hash_password(password, salt)


# --- derived passwords ---------------------------------------------------------------------

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


def spec_password(key: str, user: str) -> str:
    """The derivation as specified, written out independently of the code under test:
    HMAC-SHA256(key bytes, label NUL user), lowercase base32, first 26 characters."""
    message = b"jupyterhub-zos dev directory password v1" + b"\0" + user.encode()
    digest = hmac.new(base64.b64decode(key), message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()[:26]


def test_derived_password_matches_the_specified_hmac():
    # A change here would silently rotate every dev stack's passwords on the next `up`.
    for user in ("admin", "alice", "bob.smith"):
        assert derive_password(KEY, user) == spec_password(KEY, user)
    # Known answer, from `openssl dgst -sha256 -mac HMAC` and coreutils `base32`.
    assert derive_password(KEY, "alice") == "47vh4b4dsgqxf7roy4gz2zuuxb"


def test_derived_password_is_the_same_every_time():
    assert derive_password(KEY, "alice") == derive_password(KEY, "alice")


def test_derived_passwords_differ_per_user_and_per_key():
    users = ["admin", "alice", "bob", "alic", "alice2"]
    passwords = {derive_password(KEY, u) for u in users}
    assert len(passwords) == len(users)
    assert derive_password(KEY, "alice") != derive_password(OTHER_KEY, "alice")


def test_derived_password_is_26_lowercase_base32_characters():
    for user in ("admin", "alice", "x"):
        assert re.fullmatch(r"[a-z2-7]{26}", derive_password(KEY, user))


@pytest.mark.parametrize("key", ["", "not base64!", "YWJj*", "YWJjZA", "===="], ids=repr)
def test_derived_password_refuses_an_empty_or_undecodable_key(key):
    with pytest.raises(ValueError, match="key"):
        derive_password(key, "alice")


def test_derived_password_refuses_a_bad_user_name():
    with pytest.raises(ValueError):
        derive_password(KEY, "alice\nuserPassword: x")


def test_derived_password_logs_in_as_its_hash():
    password = derive_password(KEY, "alice")
    assert check_ssha512(directory_user("alice", password).password_hash, password)


# --- seed LDIF ---------------------------------------------------------------------------


def test_seed_has_base_people_groups_users_and_the_default_group():
    users = [directory_user("admin", "a-password"), directory_user("alice", "b-password")]
    entries = parse_ldif(render_seed_ldif(users))
    dns = [e["dn"][0] for e in entries]
    assert dns == [
        DEV_DIRECTORY_BASE_DN,
        f"ou=people,{DEV_DIRECTORY_BASE_DN}",
        f"ou=groups,{DEV_DIRECTORY_BASE_DN}",
        DEV_DIRECTORY_BIND_DN.format(username="admin"),
        DEV_DIRECTORY_BIND_DN.format(username="alice"),
        USERS_GROUP_DN,
    ]
    admin = entries[3]
    assert admin["uid"] == ["admin"] and admin["objectClass"] == ["inetOrgPerson"]
    assert check_ssha512(admin["userPassword"][0], "a-password")
    group = entries[-1]
    assert group["objectClass"] == ["groupOfNames"] and group["cn"] == [USERS_GROUP]
    assert group["member"] == [user_dn("admin"), user_dn("alice")]


def test_seed_with_explicit_groups():
    users = [directory_user(n, n + "-password") for n in ("admin", "carol", "dave")]
    entries = parse_ldif(render_seed_ldif(users, {"ops": ["carol"], "all": ["admin", "dave"]}))
    groups = {e["dn"][0]: e["member"] for e in entries if "member" in e}
    assert groups == {
        group_dn("all"): [user_dn("admin"), user_dn("dave")],
        group_dn("ops"): [user_dn("carol")],
    }


def test_seed_holds_no_clear_text_password():
    text = render_seed_ldif([directory_user("admin", "very-secret-password")])
    assert "very-secret-password" not in text


@pytest.mark.parametrize(
    "bad_name",
    ["Admin", "a,ou=x", "a\ndn: cn=evil", "a)(uid=*", "", "a b", "1abc", "a" * 65, "x=y"],
)
def test_seed_refuses_names_that_could_change_a_dn_or_the_ldif(bad_name):
    with pytest.raises(ValueError):
        render_seed_ldif([DirectoryUser(bad_name, hash_password("pw", b"12345678"))])
    with pytest.raises(ValueError):
        user_dn(bad_name)


def test_seed_refuses_bad_input():
    good = directory_user("admin", "pw-admin")
    with pytest.raises(ValueError, match="at least one user"):
        render_seed_ldif([])
    with pytest.raises(ValueError, match="unique"):
        render_seed_ldif([good, good])
    with pytest.raises(ValueError, match="not in the directory"):
        render_seed_ldif([good], {"ops": ["ghost"]})
    with pytest.raises(ValueError, match="at least one member"):
        render_seed_ldif([good], {"ops": []})
    with pytest.raises(ValueError, match="SSHA512"):
        render_seed_ldif([DirectoryUser("admin", "plain-text")])
    with pytest.raises(ValueError, match="SSHA512"):
        render_seed_ldif([DirectoryUser("admin", "{SSHA512}abc\ndn: cn=evil")])


# --- slapd.conf --------------------------------------------------------------------------


def test_conf_requires_tls_for_passwords_unless_told_otherwise():
    assert "security simple_bind=128" in render_slapd_conf()
    assert "security" not in render_slapd_conf(require_tls=False)


def test_conf_defaults_are_the_images_layout_and_protect_passwords():
    conf = render_slapd_conf()
    assert "directory /var/lib/ldap" in conf
    assert "TLSCertificateFile /etc/ldap/jupyterhub/tls.crt" in conf
    assert "TLSCertificateKeyFile /etc/ldap/jupyterhub/tls.key" in conf
    assert "TLSProtocolMin 3.3" in conf
    assert f'suffix "{DEV_DIRECTORY_BASE_DN}"' in conf
    acl = conf[conf.index("access to attrs=userPassword") :]
    assert acl.splitlines()[1:3] == ["  by anonymous auth", "  by * none"]


@pytest.mark.parametrize("bad", ["relative/dir", "/tmp/with space", "/tmp/x\ninclude /etc/passwd"])
def test_conf_refuses_paths_that_would_break_or_extend_it(bad):
    with pytest.raises(ValueError):
        render_slapd_conf(SlapdPaths(data_dir=bad))


@pytest.mark.parametrize("require_tls", [True, False])
def test_conf_is_accepted_by_slaptest(tmp_path, require_tls):
    """slapd's own config checker loads the rendered file: schemas, modules, ACLs."""
    slaptest = require_tool("slaptest")
    (tmp_path / "data").mkdir()
    conf = tmp_path / "slapd.conf"
    conf.write_text(
        render_slapd_conf(
            SlapdPaths(data_dir=str(tmp_path / "data"), run_dir=str(tmp_path)),
            require_tls=require_tls,
        )
    )
    result = subprocess.run(
        [slaptest, "-u", "-f", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_entrypoint_defaults_are_where_the_program_uploads():
    from pathlib import Path

    from components.directory.render import SEED_LDIF_PATH, SLAPD_CONF_PATH

    script = (Path(__file__).resolve().parents[4] / "images/ldap/entrypoint.sh").read_text()
    assert f"CONF=${{SLAPD_CONF:-{SLAPD_CONF_PATH}}}" in script
    assert f"SEED=${{SLAPD_SEED_LDIF:-{SEED_LDIF_PATH}}}" in script
