"""Shared fixtures: valid key material for config values that must parse."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


@pytest.fixture(scope="session")
def ssh_keypair() -> tuple[str, str]:
    """(OpenSSH private key, 'ssh-ed25519 AAAA...' public key), made fresh per run."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public


@pytest.fixture(scope="session")
def zos_config(ssh_keypair) -> tuple[dict, dict]:
    """(config, secrets) of a complete z/OS stack (never contacted: mocks only)."""
    private, public = ssh_keypair
    config = {
        "ZOS_HOST": "127.0.0.1",
        "ZOS_SSH_USER": "ibmuser",
        "ZOS_SSH_HOST_KEY": public,
        "ZOS_USERS": {"admin": "ADMIN01", "alice": "ALICE01"},
        "LDAP_SERVER_HOST": "ldap.test",  # reserved TLD: never resolves
        "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
    }
    secrets = {
        "ZOS_SSH_PRIVATE_KEY": private,
        "KG_AUTH_TOKEN": "a-long-enough-gateway-token",
        "ZOS_P12_PASSWORD": "p12-password-long",
    }
    return config, secrets


@pytest.fixture
def event_loop_set():
    """A fresh current event loop (Outputs need one when made), settled on exit."""
    from tools.mock_graph import settled_event_loop

    with settled_event_loop() as loop:
        yield loop


def _self_signed(cn: str) -> tuple[str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


@pytest.fixture(scope="session")
def cert_pairs() -> list[tuple[str, str]]:
    """Two unrelated (certificate PEM, key PEM) pairs."""
    return [_self_signed("hub.test"), _self_signed("other.test")]
