"""The stacks the benchmarks evaluate: the dev stack and a z/OS stack, with N users;
and what the z/OS exports print under the mock runtime (a real PKCS#12, so the
program's split of each export is measured, not skipped)."""

from __future__ import annotations

import base64
import datetime as dt
import functools
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

P12_PASSWORD = "bench-p12-password"


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
        "ZOS_P12_PASSWORD": P12_PASSWORD,
    }
    return "zos", config, secrets


def _cert(subject: str, key, issuer: tuple[x509.Name, object] | None, ca: bool):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


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
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _cert("Jupyter Local CA", ca_key, None, ca=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _cert("user", key, (ca.subject, ca_key), ca=False)
    p12 = pkcs12.serialize_key_and_certificates(
        b"JupyterHub Client",
        key,
        leaf,
        [ca],
        serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
    )
    encoded = base64.b64encode(p12).decode()
    body = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
    text = f"begin-base64 600 p12\n{body}\n====\n"
    EXPORT_STDOUT.parent.mkdir(parents=True, exist_ok=True)
    EXPORT_STDOUT.write_text(text)
    return text


def fake_remote_command(args) -> dict:
    """pulumi-command's outputs for a z/OS step: exports (`uuencode -m`) print the
    PKCS#12, the other steps nothing."""
    create = args.inputs.get("create") or ""
    return {"stdout": export_stdout() if "uuencode -m" in create else "", "stderr": ""}
