"""Remote access (policies/remote.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import pytest

from policies.props import COPY_FILE, COPY_TO_REMOTE, DOCKER_PROVIDER, LOCAL_COMMAND, REMOTE_COMMAND
from tests.policies.support import UNKNOWN_ARRAY, UNKNOWN_OBJECT, UNKNOWN_STRING, secret, violations

# --- remote-commands-verify-host-key ---------------------------------------------------

HOSTKEY = "remote-commands-verify-host-key"
KEY_LINE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1Y2t5IGtleSBmb3IgdGVzdHMgb25seSEhISEh"


def _conn(**fields) -> dict:
    # pulumi-command's SDK makes `connection` secret: policies see it through the marks.
    return {"connection": secret({"host": "zos.example.com", "user": "IBMUSER", **fields})}


def test_verified_connections_pass():
    for kind in (REMOTE_COMMAND, COPY_TO_REMOTE):
        assert violations(HOSTKEY, kind, {**_conn(hostKey=KEY_LINE), "create": "true"}) == []
    proxied = _conn(hostKey=KEY_LINE, proxy={"host": "bastion", "hostKey": KEY_LINE})
    assert violations(HOSTKEY, REMOTE_COMMAND, proxied) == []


@pytest.mark.parametrize(
    "connection, needle",
    [
        (_conn(), "`connection.hostKey`"),
        (_conn(hostKey=""), "`connection.hostKey`"),
        (_conn(hostKey="  "), "`connection.hostKey`"),
        (_conn(hostKey=KEY_LINE, proxy={"host": "bastion"}), "`connection.proxy.hostKey`"),
    ],
)
def test_unverified_connections_are_flagged(connection, needle):
    for kind in (REMOTE_COMMAND, COPY_TO_REMOTE, COPY_FILE):
        found = violations(HOSTKEY, kind, connection, name="racf")
        assert len(found) == 1 and needle in found[0] and "zos.example.com" in found[0]


def test_blind_ssh_in_local_commands_and_docker_provider_is_flagged():
    script = "ssh -o StrictHostKeyChecking=no admin@host 'mkdir -p /srv/pki'"
    found = violations(HOSTKEY, LOCAL_COMMAND, {"create": script})
    assert len(found) == 1 and "StrictHostKeyChecking=no" in found[0]
    ok = "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/jhz/known_hosts h true"
    assert violations(HOSTKEY, LOCAL_COMMAND, {"create": ok}) == []
    provider = {"host": "ssh://admin@h", "sshOpts": ["-o", "UserKnownHostsFile=/dev/null"]}
    found = violations(HOSTKEY, DOCKER_PROVIDER, provider, name="remote")
    assert len(found) == 1 and "docker provider" in found[0]


def test_host_key_missing_or_unknown_props_pass():
    for kind in (REMOTE_COMMAND, COPY_TO_REMOTE):
        assert violations(HOSTKEY, kind, {}) == []
        assert violations(HOSTKEY, kind, {"connection": UNKNOWN_OBJECT}) == []
        assert violations(HOSTKEY, kind, _conn(hostKey=UNKNOWN_STRING)) == []
    assert violations(HOSTKEY, LOCAL_COMMAND, {"create": UNKNOWN_STRING}) == []
    assert violations(HOSTKEY, DOCKER_PROVIDER, {"sshOpts": UNKNOWN_ARRAY}) == []


@pytest.mark.parametrize(
    "garbage",
    [
        "not-a-key",
        "ssh-ed25519",
        "ssh-ed25519 !!!not-base64!!!",
        "ssh-rsa " + KEY_LINE.split()[1],  # an ed25519 blob claimed as RSA
        "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ",  # truncated
        "AAAAC3NzaC1lZDI1NTE5AAAAIGx1Y2t5IGtleSBmb3IgdGVzdHMgb25seSEhISEh",  # no type
    ],
)
def test_a_garbage_host_key_is_flagged(garbage):
    for kind in (REMOTE_COMMAND, COPY_TO_REMOTE, COPY_FILE):
        found = violations(HOSTKEY, kind, _conn(hostKey=garbage), name="racf")
        assert len(found) == 1 and "ssh-keyscan" in found[0], found
    proxied = _conn(hostKey=KEY_LINE, proxy={"host": "bastion", "hostKey": garbage})
    found = violations(HOSTKEY, REMOTE_COMMAND, proxied)
    assert len(found) == 1 and "`connection.proxy.hostKey`" in found[0]


def test_a_known_hosts_line_is_a_real_host_key():
    line = f"[zos.example.com]:2222 {KEY_LINE} comment"
    assert violations(HOSTKEY, REMOTE_COMMAND, _conn(hostKey=line)) == []


@pytest.mark.parametrize(
    "option",
    [
        "StrictHostKeyChecking=false",
        "StrictHostKeyChecking=off",
        "StrictHostKeyChecking=accept-new",
        "StrictHostKeyChecking no",
        "StrictHostKeyChecking='no'",
        '"StrictHostKeyChecking=False"',
        "stricthostkeychecking=NO",
        "UserKnownHostsFile='/dev/null'",
    ],
)
def test_every_spelling_of_no_host_key_check_is_flagged(option):
    script = f"ssh -o {option} admin@host true"
    found = violations(HOSTKEY, LOCAL_COMMAND, {"create": script})
    assert len(found) == 1, option
    found = violations(HOSTKEY, DOCKER_PROVIDER, {"sshOpts": ["-o", option]})
    assert len(found) == 1, option
    for fine in ("StrictHostKeyChecking=yes", "StrictHostKeyChecking=ask"):
        assert violations(HOSTKEY, LOCAL_COMMAND, {"create": f"ssh -o {fine} h true"}) == []
