"""Keys (policies/keys.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import base64

import pytest

from policies.props import COPY_TO_REMOTE, PRIVATE_KEY, REMOTE_COMMAND
from tests.policies.support import UNKNOWN_NUMBER, UNKNOWN_STRING, string_asset, violations

# --- strong-keys -----------------------------------------------------------------------

KEYS = "strong-keys"
PK = PRIVATE_KEY


@pytest.mark.parametrize(
    "props",
    [
        {"algorithm": "ECDSA", "ecdsaCurve": "P256"},
        {"algorithm": "ECDSA", "ecdsaCurve": "P384"},
        {"algorithm": "RSA", "rsaBits": 4096},
        {"algorithm": "RSA", "rsaBits": 2048.0},  # numbers arrive as floats
        {"algorithm": "RSA"},  # the provider default is 2048
        {"algorithm": "ED25519"},
    ],
)
def test_strong_keys_pass(props):
    assert violations(KEYS, PK, props) == []


@pytest.mark.parametrize(
    "props, needle",
    [
        ({"algorithm": "ECDSA"}, "P224 (the provider default"),
        ({"algorithm": "ECDSA", "ecdsaCurve": "P224"}, "curve P224"),
        ({"algorithm": "RSA", "rsaBits": 1024}, "RSA 1024 bits"),
    ],
)
def test_weak_keys_are_flagged(props, needle):
    found = violations(KEYS, PK, props, name="ca-key")
    assert len(found) == 1 and needle in found[0]


def test_key_config_raises_the_bar():
    cfg = {"minRsaBits": 3072, "allowedEcdsaCurves": ["P384"]}
    assert violations(KEYS, PK, {"algorithm": "RSA", "rsaBits": 2048}, config=cfg)
    assert violations(KEYS, PK, {"algorithm": "ECDSA", "ecdsaCurve": "P256"}, config=cfg)
    assert violations(KEYS, PK, {"algorithm": "ECDSA", "ecdsaCurve": "P384"}, config=cfg) == []


def test_keys_missing_or_unknown_props_pass():
    assert violations(KEYS, PK, {}) == []
    assert violations(KEYS, PK, {"algorithm": UNKNOWN_STRING}) == []
    assert violations(KEYS, PK, {"algorithm": "ECDSA", "ecdsaCurve": UNKNOWN_STRING}) == []
    assert violations(KEYS, PK, {"algorithm": "RSA", "rsaBits": UNKNOWN_NUMBER}) == []
    assert violations(KEYS, REMOTE_COMMAND, {"create": UNKNOWN_STRING}) == []


RACF_GOOD = (
    "set -eu\n"
    "tsocmd \"RACDCERT GENCERT CERTAUTH SUBJECTSDN(OU('Local CA')) "
    "WITHLABEL('Jupyter Local CA') NOTAFTER(DATE(2030/01/01)) SIZE(2048)\"\n"
    "tsocmd \"RACDCERT GENCERT ID(JKGID) NISTECC SIZE(256) WITHLABEL('x')\"\n"
    # a rollover: REKEY makes the new key (its SIZE checked); GENCERT of the request data
    # set signs that key and makes none
    "tsocmd \"RACDCERT ID(JKGID) REKEY(LABEL('s')) WITHLABEL('n') SIZE(2048)\"\n"
    "tsocmd \"RACDCERT ID(JKGID) GENCERT('IBMUSER.REQ') SIGNWITH(CERTAUTH LABEL('CA'))\"\n"
)


def test_racf_gencert_sizes_pass_when_strong():
    assert violations(KEYS, REMOTE_COMMAND, {"create": RACF_GOOD}) == []
    assert violations(KEYS, REMOTE_COMMAND, {"stdin": RACF_GOOD}) == []


@pytest.mark.parametrize(
    "script, needle",
    [
        (
            # The runbook's command, with its TSO continuation.
            "RACDCERT GENCERT CERTAUTH SUBJECTSDN(OU('Local CA') O('IBM') C('US')) -\n"
            "     WITHLABEL('My Local CA') NOTAFTER(DATE(2030/01/01)) SIZE(1024)\n",
            "1024-bit",
        ),
        ("tsocmd \"RACDCERT GENCERT ID(JKGID) WITHLABEL('s')\"\n", "no SIZE()"),
        ('tsocmd "RACDCERT GENCERT ID(JKGID) SIZE(${KEY_SIZE})"\n', "cannot be checked"),
        ('tsocmd "RACDCERT GENCERT ID(U) NISTECC SIZE(192)"\n', "192-bit"),
        ("tsocmd \"RACDCERT ID(U) REKEY(LABEL('s')) WITHLABEL('n')\"\n", "no SIZE()"),
        ("tsocmd \"RACDCERT ID(U) REKEY(LABEL('s')) WITHLABEL('n') SIZE(1024)\"\n", "1024-bit"),
    ],
)
def test_racf_gencert_weak_sizes_are_flagged(script, needle):
    found = violations(KEYS, REMOTE_COMMAND, {"create": script}, name="racf-ca")
    assert len(found) == 1 and needle in found[0]
    found = violations(KEYS, COPY_TO_REMOTE, {"source": string_asset(script)})
    assert len(found) == 1 and needle in found[0]


def test_racf_script_shipped_base64_encoded_is_checked_too():
    weak = "tsocmd \"RACDCERT GENCERT CERTAUTH WITHLABEL('CA') SIZE(1024)\"\n"
    script = f"echo {base64.b64encode(weak.encode()).decode()} | base64 -d | sh"
    found = violations(KEYS, REMOTE_COMMAND, {"create": script})
    assert len(found) == 1 and "1024-bit" in found[0]


def test_racf_size_config():
    cfg = {"minRacfRsaSize": 4096}
    assert violations(KEYS, REMOTE_COMMAND, {"create": RACF_GOOD}, config=cfg)
