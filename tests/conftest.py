"""Shared fixtures: valid key material for config values that must parse."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.support import certs

# `make test` runs the suite on several pytest-xdist workers (--dist loadgroup). Tests
# that drive the one Docker engine share a group, so one worker runs them one after
# another (their deployments, images and names never race), while the others run the
# rest. Integration modules that start containers carry this group in their pytestmark.
DOCKER_ENGINE_GROUP = "docker-engine"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(DOCKER_ENGINE_GROUP))


@pytest.fixture(scope="session")
def ssh_keypair() -> tuple[str, str]:
    """(OpenSSH private key, 'ssh-ed25519 AAAA...' public key), made fresh per run."""
    return certs.ssh_keypair(
        ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.OpenSSH
    )


@pytest.fixture(scope="session")
def zos_config(ssh_keypair) -> tuple[dict, dict]:
    """(config, secrets) of a complete z/OS stack (never contacted: mocks only)."""
    private, public = ssh_keypair
    config = {
        "ZOS_HOST": "127.0.0.1",
        "ZOS_SSH_USER": "ibmuser",
        "ZOS_SSH_HOST_KEY": public,
        # Every hub user has a z/OS ID and every ID a hub user (as Pulumi.dev.yaml's).
        "HUB_ADMIN_USERS": ["admin"],
        "HUB_ALLOWED_USERS": ["alice"],
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


@pytest.fixture(scope="session")
def cert_pairs() -> list[tuple[str, str]]:
    """Two unrelated (certificate PEM, key PEM) pairs."""
    from components.pki.specs import server_spec
    from tests.support.certs import issue

    pairs = [issue(server_spec(cn, (cn,))) for cn in ("hub.test", "other.test")]
    return [(p.cert_pem, p.key_pem) for p in pairs]
