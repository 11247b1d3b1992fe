"""The stacks the benchmarks evaluate: the dev stack and a z/OS stack, with N users."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def user_names(count: int) -> list[str]:
    return [f"user{i:04d}" for i in range(1, count + 1)]


def _ssh_keypair() -> tuple[str, str]:
    # A fixed key in PKCS#8 PEM: the same bytes every run (OpenSSH's format carries a
    # random check number, which would make two identical configs look different).
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public


def stack_config(kind: str, users: int) -> tuple[str, dict, dict]:
    """(stack name, config, secrets) for `kind` in {"dev", "zos"} with `users` users
    (HUB_ALLOWED_USERS, and ZOS_USERS for z/OS). Addresses are never contacted."""
    names = user_names(users)
    if kind == "dev":
        return "dev", {"HUB_ALLOWED_USERS": names}, {}
    if kind != "zos":
        raise ValueError(kind)
    private, public = _ssh_keypair()
    config = {
        "HUB_ADMIN_USERS": ["admin"],
        "HUB_ALLOWED_USERS": names,
        "LDAP_SERVER_HOST": "ldap.test",
        "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
        "ZOS_HOST": "127.0.0.1",
        "ZOS_SSH_USER": "IBMUSER",
        "ZOS_SSH_HOST_KEY": public,
        "ZOS_USERS": {name: f"U{i:06d}" for i, name in enumerate(names, 1)},
    }
    secrets = {
        "ZOS_SSH_PRIVATE_KEY": private,
        "KG_AUTH_TOKEN": "bench-token-0123456789abcdef",
        "ZOS_P12_PASSWORD": "bench-p12-password",
    }
    return "zos", config, secrets
