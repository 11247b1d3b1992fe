"""The dev directory's slapd config and seed LDIF: settings in, text out.

The dev stack (LDAP_SERVER_HOST unset) runs a small Debian slapd container
(images/ldap) so that `make up` gives a working login with no LDAP server of one's
own. The program renders both files below and puts them into that container at
runtime; the integration tests start a real slapd from the very same renderers.

Each user's password is derived from one generated key (derive_password), and never
reaches slapd in clear text: the seed holds salted SHA-512 hashes ({SSHA512}, slapd's
pw-sha2 module), computed here from those passwords.
The salt is derived from the password itself (HMAC), so the same password gives the
same LDIF on every `pulumi up` (no perpetual diff, no needless container replacement)
while two users, or two stacks, never share a salt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from components.settings import DEV_DIRECTORY_BASE_DN, DEV_DIRECTORY_BIND_DN

PEOPLE_OU = "people"
GROUPS_OU = "groups"
# The group every configured user is in: lets a dev stack try LDAP_ALLOWED_GROUPS.
USERS_GROUP = "jupyterhub-users"
USERS_GROUP_DN = f"cn={USERS_GROUP},ou={GROUPS_OU},{DEV_DIRECTORY_BASE_DN}"

# What the image expects (images/ldap/entrypoint.sh); tests render with their own paths.
IMAGE_CONFIG_DIR = "/etc/ldap/jupyterhub"
SLAPD_CONF_PATH = f"{IMAGE_CONFIG_DIR}/slapd.conf"
SEED_LDIF_PATH = f"{IMAGE_CONFIG_DIR}/seed.ldif"


@dataclass(frozen=True)
class SlapdPaths:
    """Where slapd finds its files. Defaults are the image's layout."""

    data_dir: str = "/var/lib/ldap"
    tls_cert: str = f"{IMAGE_CONFIG_DIR}/tls.crt"
    tls_key: str = f"{IMAGE_CONFIG_DIR}/tls.key"
    run_dir: str = "/run/slapd"
    module_dir: str = "/usr/lib/ldap"
    schema_dir: str = "/etc/ldap/schema"


@dataclass(frozen=True)
class DirectoryUser:
    name: str
    password_hash: str  # "{SSHA512}...", never the password


# Names end up in DNs and LDIF lines: allow only what JupyterHub user names may be
# (settings enforce the same), so nothing here needs escaping.
_NAME_RE = re.compile(r"[a-z][a-z0-9._-]{0,63}")
_PATH_RE = re.compile(r"/[A-Za-z0-9._/-]*")


def _name(value: str) -> str:
    if not _NAME_RE.fullmatch(value):
        raise ValueError(f"dev directory name {value!r}: use 1-64 of a-z 0-9 . _ -")
    return value


def user_dn(name: str) -> str:
    return DEV_DIRECTORY_BIND_DN.format(username=_name(name))


def group_dn(name: str) -> str:
    return f"cn={_name(name)},ou={GROUPS_OU},{DEV_DIRECTORY_BASE_DN}"


# Domain separation: a key made for these passwords gives nothing usable elsewhere, and
# bumping the version would give every user a new password from the same key.
PASSWORD_LABEL = b"jupyterhub-zos dev directory password v1"
PASSWORD_LENGTH = 26  # base32 characters: 130 bits


def derive_password(key: str, user: str) -> str:
    """The dev directory password of `user`: HMAC-SHA256 keyed by `key` (the base64 text
    of the component's one RandomBytes), over PASSWORD_LABEL, a NUL and the user name;
    the first 26 characters of its lowercase base32 (about 130 bits, only a-z and 2-7,
    easy to type).

    Derived rather than generated: one key resource for the whole directory, not one
    RandomPassword per user (each typed resource costs the program memory, which at
    1000 users was most of its budget). The same key and user always give the same
    password, so a second `pulumi up` changes nothing. Rotating means replacing the key
    resource (`pulumi up --replace <urn of the key>`), which rotates every user's
    password at once; one user's password alone cannot be rotated.
    """
    return derive_passwords(key, (user,))[user]


def derive_passwords(key: str, users: Sequence[str]) -> dict[str, str]:
    """derive_password for each of `users` (user -> password), the key decoded once."""
    if not key:
        raise ValueError("the dev directory password key must not be empty")
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"the dev directory password key is not base64: {error}") from None
    if not raw:
        raise ValueError("the dev directory password key must not be empty")
    prefix = PASSWORD_LABEL + b"\0"
    return {
        # hmac.digest: one call into OpenSSL. 20 bytes are the first 32 base32 characters
        # of the whole digest (base32 encodes 5 bytes at a time), enough for 26: the
        # pure-Python base32 of all 32 bytes cost more than the HMAC.
        user: base64.b32encode(hmac.digest(raw, prefix + _name(user).encode(), "sha256")[:20])
        .decode()
        .lower()[:PASSWORD_LENGTH]
        for user in users
    }


def password_salt(username: str, password: str) -> bytes:
    """8 bytes, unpredictable without the password, the same for the same inputs."""
    message = f"jupyterhub-zos dev directory salt:{username}".encode()
    return hmac.digest(password.encode(), message, "sha256")[:8]


def hash_password(password: str, salt: bytes) -> str:
    """slapd's {SSHA512}: base64(SHA-512(password + salt) + salt)."""
    if not password:
        raise ValueError("a dev directory password must not be empty")
    if len(salt) < 4:
        raise ValueError("the salt must be at least 4 bytes")
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def directory_user(name: str, password: str) -> DirectoryUser:
    return DirectoryUser(_name(name), hash_password(password, password_salt(name, password)))


def render_slapd_conf(paths: SlapdPaths = SlapdPaths(), *, require_tls: bool = True) -> str:
    """slapd.conf for the dev directory.

    require_tls: refuse simple binds (passwords) on a connection without TLS, so a
    password can only cross StartTLS or LDAPS. Off only for LDAP_TLS=none.
    """
    for value in vars(paths).values():
        if not _PATH_RE.fullmatch(value):
            raise ValueError(f"slapd path {value!r}: absolute, no spaces or quotes")
    base = DEV_DIRECTORY_BASE_DN
    lines = [
        "# slapd.conf of the jupyterhub-zos dev directory.",
        "# Rendered by components/dev_directory_render.py; do not edit by hand.",
        f"include {paths.schema_dir}/core.schema",
        f"include {paths.schema_dir}/cosine.schema",
        f"include {paths.schema_dir}/inetorgperson.schema",
        "# LDAPAuthenticator's group filter names memberUid and uniqueMember; ldap3 refuses",
        "# a filter with an attribute the server's schema does not define.",
        f"include {paths.schema_dir}/nis.schema",
        f"modulepath {paths.module_dir}",
        "moduleload back_mdb",
        "# {SSHA512} password hashes",
        "moduleload pw-sha2",
        f"pidfile {paths.run_dir}/slapd.pid",
        f"argsfile {paths.run_dir}/slapd.args",
        "",
        "# StartTLS (and LDAPS) with a certificate the program issues; TLS 1.2 or newer.",
        f"TLSCertificateFile {paths.tls_cert}",
        f"TLSCertificateKeyFile {paths.tls_key}",
        "TLSProtocolMin 3.3",
    ]
    if require_tls:
        lines += [
            "# A password is only accepted over an encrypted connection.",
            "security simple_bind=128",
        ]
    lines += [
        "password-hash {SSHA512}",
        "",
        "database mdb",
        f'suffix "{base}"',
        f"directory {paths.data_dir}",
        "maxsize 67108864",
        "index objectClass eq",
        "index uid eq",
        "index member eq",
        "",
        "# Passwords: usable to log in, readable by nobody (not even their owner).",
        "access to attrs=userPassword",
        "  by anonymous auth",
        "  by * none",
        "# The rest (people, groups): readable by a logged-in user, which is how the",
        "# hub's LDAPAuthenticator checks group membership after the user's bind.",
        f'access to dn.subtree="{base}"',
        "  by users read",
        "  by * none",
        "",
    ]
    return "\n".join(lines)


def render_seed_ldif(
    users: Sequence[DirectoryUser], groups: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The directory's content: the base, ou=people with `users`, ou=groups.

    groups: group name -> member user names; by default one group, USERS_GROUP, with
    every user in it.
    """
    if not users:
        raise ValueError("the dev directory needs at least one user")
    names = [_name(u.name) for u in users]
    if len(set(names)) != len(names):
        raise ValueError("dev directory user names must be unique")
    if groups is None:
        groups = {USERS_GROUP: names}
    dc = DEV_DIRECTORY_BASE_DN.split(",")[0].split("=")[1]
    entries = [
        [
            f"dn: {DEV_DIRECTORY_BASE_DN}",
            "objectClass: top",
            "objectClass: dcObject",
            "objectClass: organization",
            f"dc: {dc}",
            "o: jupyterhub-zos dev directory",
        ],
        [
            f"dn: ou={PEOPLE_OU},{DEV_DIRECTORY_BASE_DN}",
            "objectClass: organizationalUnit",
            f"ou: {PEOPLE_OU}",
        ],
        [
            f"dn: ou={GROUPS_OU},{DEV_DIRECTORY_BASE_DN}",
            "objectClass: organizationalUnit",
            f"ou: {GROUPS_OU}",
        ],
    ]
    for user in users:
        if not user.password_hash.startswith("{SSHA512}") or "\n" in user.password_hash:
            raise ValueError(f"user {user.name!r}: password_hash must be an {{SSHA512}} hash")
        entries.append(
            [
                f"dn: {user_dn(user.name)}",
                "objectClass: inetOrgPerson",
                f"uid: {user.name}",
                f"cn: {user.name}",
                f"sn: {user.name}",
                f"userPassword: {user.password_hash}",
            ]
        )
    for group, members in sorted(groups.items()):
        unknown = sorted(set(members) - set(names))
        if unknown:
            raise ValueError(f"group {group!r}: members not in the directory: {unknown}")
        if not members:
            raise ValueError(f"group {group!r} needs at least one member (groupOfNames)")
        entries.append(
            [
                f"dn: {group_dn(group)}",
                "objectClass: groupOfNames",
                f"cn: {group}",
                *(f"member: {user_dn(m)}" for m in dict.fromkeys(members)),
            ]
        )
    return "\n\n".join("\n".join(entry) for entry in entries) + "\n"
