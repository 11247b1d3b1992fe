"""The stacks the benchmarks evaluate: the dev stack and a z/OS stack, with N users;
and what the z/OS exports print under the mock runtime (a real PKCS#12, so the inputs
that carry it have their real size)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from components.pki.specs import ca_spec, client_spec
from tests.support.certs import issue, ssh_keypair
from tests.zos_double.cli import uuencode_m

P12_PASSWORD = "bench-p12-password"


def user_names(count: int) -> list[str]:
    return [f"user{i:04d}" for i in range(1, count + 1)]


def stack_config(kind: str, users: int) -> tuple[str, dict, dict]:
    """(stack name, config, secrets) for `kind` in {"dev", "zos"} with `users` users
    (HUB_ALLOWED_USERS, and ZOS_USERS for z/OS). Addresses are never contacted."""
    names = user_names(users)
    if kind == "dev":
        return "dev", {"HUB_ALLOWED_USERS": names}, {}
    if kind != "zos":
        raise ValueError(kind)
    # A fixed key in PKCS#8 PEM: the same bytes every run (OpenSSH's format carries a
    # random check number, which would make two identical configs look different).
    private, public = ssh_keypair(
        ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))),
        serialization.PrivateFormat.PKCS8,
    )
    config = {
        "HUB_ADMIN_USERS": ["admin"],
        "HUB_ALLOWED_USERS": names,
        "LDAP_SERVER_HOST": "ldap.test",
        "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
        "ZOS_HOST": "127.0.0.1",
        "ZOS_SSH_USER": "IBMUSER",
        "ZOS_SSH_HOST_KEY": public,
        # Every hub user, the admin too, has a z/OS ID (refused otherwise behind AT-TLS).
        "ZOS_USERS": {"admin": "ADMIN01", **{name: f"U{i:06d}" for i, name in enumerate(names, 1)}},
    }
    secrets = {
        "ZOS_SSH_PRIVATE_KEY": private,
        "KG_AUTH_TOKEN": "bench-token-0123456789abcdef",
        "ZOS_P12_PASSWORD": P12_PASSWORD,
    }
    return "zos", config, secrets


EXPORT_STDOUT = Path(__file__).with_name(".work") / "export-stdout.txt"


@functools.cache
def export_stdout() -> str:
    """What a user's export prints on z/OS: an RSA 2048 client certificate (as RACF
    makes them) with its CA, as PKCS#12, `uuencode -m`. One for all users: making 1000
    RSA keys would measure key generation, not the program. Made once and kept in
    bench/.work (not in git), as the real one is kept in the stack's state: every
    evaluation sees the same bytes (a PKCS#12 has a random salt)."""
    if EXPORT_STDOUT.exists():
        return EXPORT_STDOUT.read_text()
    ca = issue(dataclasses.replace(ca_spec("RACF"), key_algorithm="RSA"))
    leaf = issue(dataclasses.replace(client_spec("user"), key_algorithm="RSA"), ca)
    text = uuencode_m(leaf.pkcs12([ca], P12_PASSWORD), "p12")
    EXPORT_STDOUT.parent.mkdir(parents=True, exist_ok=True)
    EXPORT_STDOUT.write_text(text)
    return text


def fake_remote_command(args) -> dict:
    """pulumi-command's outputs for a z/OS step: exports (`uuencode -m`) print the
    PKCS#12, the other steps nothing."""
    create = args.inputs.get("create") or ""
    return {"stdout": export_stdout() if "uuencode -m" in create else "", "stderr": ""}
