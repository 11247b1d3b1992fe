"""The recorded URNs of the dev and z/OS graphs are fixed: a refactor that moves a
component or renames a type token would move existing stacks' state (every resource
replaced). Regenerate on purpose only: `python -m tests.unit.program.test_urn_snapshot`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import certs
from tools.mock_graph import run_program

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"


def _zos_config() -> tuple[dict, dict]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private, public = certs.ssh_keypair(
        ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.OpenSSH
    )
    config = {
        "ZOS_HOST": "127.0.0.1",
        "ZOS_SSH_USER": "ibmuser",
        "ZOS_SSH_HOST_KEY": public,
        "ZOS_USERS": {"admin": "ADMIN01", "alice": "ALICE01"},
        "LDAP_SERVER_HOST": "ldap.test",
        "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
    }
    secrets = {
        "ZOS_SSH_PRIVATE_KEY": private,
        "KG_AUTH_TOKEN": "a-long-enough-gateway-token",
        "ZOS_P12_PASSWORD": "p12-password-long",
    }
    return config, secrets


def urns(kind: str) -> list[str]:
    if kind == "dev":
        graph = run_program(stack="dev")
    else:
        config, secrets = _zos_config()
        graph = run_program(stack="dev", config=config, secrets=secrets)
    return sorted(r.urn for r in graph.resources)


@pytest.mark.parametrize("kind", ["dev", "zos"])
def test_urns_match_snapshot(kind):
    expected = (SNAPSHOTS / f"urns_{kind}.txt").read_text().splitlines()
    assert urns(kind) == expected


if __name__ == "__main__":  # regenerate
    for kind in ("dev", "zos"):
        (SNAPSHOTS / f"urns_{kind}.txt").write_text("\n".join(urns(kind)) + "\n")
    sys.exit(0)
