"""TLS (policies/tls.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import base64

import pytest

from components.pki import specs as cert_params
from policies.props import COPY_TO_REMOTE, LOCALLY_SIGNED_CERT, REMOTE_COMMAND, SELF_SIGNED_CERT
from tests.policies.support import (
    UNKNOWN_BOOL,
    UNKNOWN_NUMBER,
    UNKNOWN_STRING,
    string_asset,
    violations,
)

SEED_ATTLS = """\
# Sample AT-TLS policy for Jupyter Kernel Gateway on z/OS (the runbook's)
TTLSRule                          JKG_Server
{
  Direction                       Inbound
  LocalPortRange                  8099
  TTLSGroupActionRef              gAction1
  TTLSEnvironmentActionRef        serverEnv
}
TTLSGroupAction                   gAction1
{
  TTLSEnabled                     On
}
TTLSEnvironmentAction             serverEnv
{
  HandshakeRole                   ServerWithClientAuth
  EnvironmentUserInstance         0
  TTLSKeyRingParms
  {
    Keyring                       JKGRing
  }
  TTLSEnvironmentAdvancedParmsRef gAdvAction1
}
TTLSEnvironmentAdvancedParms      gAdvAction1
{
 ClientAuthType\t\tSAFCheck
 TLSv1 Off
 TLSv1.1 Off
 TLSv1.2 On
}
"""


# --- attls-old-protocols-off ----------------------------------------------------------

ATTLS = "attls-old-protocols-off"


def test_the_runbook_policy_passes_wherever_it_is_shipped():
    heredoc = f"set -eu\ncat > /tmp/p <<'EOF'\n{SEED_ATTLS}EOF\niconv -t IBM-1047 /tmp/p > x\n"
    assert violations(ATTLS, REMOTE_COMMAND, {"create": heredoc}) == []
    assert violations(ATTLS, REMOTE_COMMAND, {"stdin": SEED_ATTLS}) == []
    assert violations(ATTLS, COPY_TO_REMOTE, {"source": string_asset(SEED_ATTLS)}) == []
    inline = SEED_ATTLS.replace(
        "  TTLSEnvironmentAdvancedParmsRef gAdvAction1\n",
        "  TTLSEnvironmentAdvancedParms\n  {\n    TLSv1 Off\n    TLSv1.1 Off\n  }\n",
    )
    assert violations(ATTLS, REMOTE_COMMAND, {"stdin": inline}) == []


@pytest.mark.parametrize(
    "policy_text, needle",
    [
        (SEED_ATTLS.replace("TLSv1 Off", "TLSv1 On"), "sets TLSv1 On"),
        (SEED_ATTLS.replace(" TLSv1.1 Off\n", ""), "do not say `TLSv1.1 Off`"),
        (SEED_ATTLS.replace(" TLSv1.2 On\n", " TLSv1.2 On\n SSLv3 On\n"), "sets SSLv3 On"),
        (
            SEED_ATTLS.replace("  TTLSEnvironmentAdvancedParmsRef gAdvAction1\n", ""),
            "has no TTLSEnvironmentAdvancedParms",
        ),
        (SEED_ATTLS.replace("Ref gAdvAction1", "Ref typo"), "refers to a missing"),
        (
            SEED_ATTLS + "TTLSConnectionAdvancedParms c1\n{\n  TLSv1.1 On\n}\n",
            "TTLSConnectionAdvancedParms c1 sets TLSv1.1 On",
        ),
        (SEED_ATTLS.replace("TLSv1.2 On\n}", "TLSv1.2 On\n"), "does not parse"),
    ],
)
def test_attls_policies_letting_old_protocols_in_are_flagged(policy_text, needle):
    found = violations(ATTLS, REMOTE_COMMAND, {"stdin": policy_text}, name="attls")
    assert any(needle in f for f in found), found
    assert all("TLSv1 Off" in f for f in found)


def test_attls_policy_shipped_base64_encoded_is_checked_too():
    for policy_text, expected in (
        (SEED_ATTLS, 0),
        (SEED_ATTLS.replace("TLSv1 Off", "TLSv1 On"), 1),
    ):
        blob = base64.b64encode(policy_text.encode()).decode()
        script = f"echo {blob} | base64 -d | iconv -t IBM-1047 > /etc/pagent/jkg.policy"
        found = violations(ATTLS, REMOTE_COMMAND, {"create": script})
        assert len(found) == expected
        assert all("create, base64-decoded" in f for f in found)


def test_attls_missing_or_unknown_props_pass():
    assert violations(ATTLS, REMOTE_COMMAND, {}) == []
    assert violations(ATTLS, REMOTE_COMMAND, {"create": UNKNOWN_STRING}) == []
    assert violations(ATTLS, COPY_TO_REMOTE, {"source": UNKNOWN_STRING}) == []
    assert violations(ATTLS, REMOTE_COMMAND, {"create": "echo no policy here"}) == []


# --- certificates-bounded-renewed -----------------------------------------------------

CERTS = "certificates-bounded-renewed"


# The pulumi-tls certificates. Users' client certificates are not resources: the hub
# issues them at spawn, for hours, and renews them itself (images/hub/jhz_client_certs.py).
@pytest.mark.parametrize("spec", [cert_params.ca_spec("Gateway"), cert_params.server_spec("hub")])
def test_the_programs_certificate_parameters_pass(spec):
    props = {
        "validityPeriodHours": spec.validity_hours,
        "earlyRenewalHours": spec.early_renewal_hours,
        "isCaCertificate": spec.is_ca,
    }
    kind = SELF_SIGNED_CERT if spec.is_ca else LOCALLY_SIGNED_CERT
    assert violations(CERTS, kind, props) == []


@pytest.mark.parametrize(
    "props, needle",
    [
        ({"validityPeriodHours": 87600, "earlyRenewalHours": 720}, "the limit is 9552"),
        ({"validityPeriodHours": 0, "earlyRenewalHours": 0}, "valid for 0 hours"),
        ({"validityPeriodHours": 8760, "earlyRenewalHours": 0}, "early_renewal_hours=0"),
        ({"validityPeriodHours": 8760}, "early_renewal_hours=0"),
        ({"validityPeriodHours": 48, "earlyRenewalHours": 48}, "every `pulumi up` replaces"),
        (
            {"validityPeriodHours": 200000, "earlyRenewalHours": 720, "isCaCertificate": True},
            "CA certificate",
        ),
    ],
)
def test_unbounded_or_unrenewed_certificates_are_flagged(props, needle):
    for kind in (SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT):
        found = violations(CERTS, kind, props, name="hub-cert")
        assert any(needle in f for f in found), found


def test_certificate_config_moves_the_bounds():
    props = {"validityPeriodHours": 87600, "earlyRenewalHours": 0}
    cfg = {"maxValidityHours": 100000, "minEarlyRenewalHours": 0}
    assert violations(CERTS, LOCALLY_SIGNED_CERT, props, config=cfg) == []


def test_certificates_missing_or_unknown_props_do_not_crash():
    kind = LOCALLY_SIGNED_CERT
    assert violations(CERTS, kind, {"validityPeriodHours": UNKNOWN_NUMBER}) == []
    unknown_renewal = {"validityPeriodHours": 8760, "earlyRenewalHours": UNKNOWN_NUMBER}
    assert violations(CERTS, kind, unknown_renewal) == []
    # No validity at all: nothing to bound; no renewal window: still reported.
    assert len(violations(CERTS, kind, {})) == 1
    assert violations(CERTS, kind, {"isCaCertificate": UNKNOWN_BOOL, "earlyRenewalHours": 24}) == []


# --- the bypasses of issue 12: a policy written with printf, RACF certificates ---------


def printf_lines(policy_text: str) -> str:
    """The policy as printf '%s\\n' 'line' 'line' ... > file (each line quoted)."""
    lines = " ".join("'" + line.replace("'", "'\\''") + "'" for line in policy_text.splitlines())
    return f"set -eu\nprintf '%s\\n' {lines} > /etc/pagent/jkg.conf\n"


def printf_escapes(policy_text: str) -> str:
    """The policy as one printf format with \\n escapes, then appended piece by piece."""
    head, tail = policy_text.split("TTLSEnvironmentAdvancedParms      gAdvAction1")
    first = head.replace("\n", "\\n").replace("\t", "\\t").replace("'", "'\\''")
    second = ("TTLSEnvironmentAdvancedParms gAdvAction1" + tail).replace("\n", "\\n")
    return (
        f"printf '{first}' > /tmp/p; echo 'first half' >&2\n"
        f'printf "{second}" >> /tmp/p 2>/dev/null && iconv -t IBM-1047 /tmp/p > x\n'
    )


@pytest.mark.parametrize("write", [printf_lines, printf_escapes], ids=["lines", "escapes"])
def test_a_policy_written_with_printf_is_read(write):
    assert violations(ATTLS, REMOTE_COMMAND, {"create": write(SEED_ATTLS)}) == []
    for bad, needle in (
        (SEED_ATTLS.replace("TLSv1 Off", "TLSv1 On"), "sets TLSv1 On"),
        (SEED_ATTLS.replace(" TLSv1.1 Off\n", ""), "do not say `TLSv1.1 Off`"),
    ):
        found = violations(ATTLS, REMOTE_COMMAND, {"create": write(bad)}, name="attls")
        assert any(needle in f for f in found), found


def test_echo_written_policy_is_read_too():
    quoted = (line.replace("'", "'\\''") for line in SEED_ATTLS.splitlines())
    lines = "\n".join(f"echo '{line}' >> /tmp/p" for line in quoted)
    assert violations(ATTLS, REMOTE_COMMAND, {"create": lines}) == []
    bad = lines.replace("TLSv1 Off", "TLSv1 On")
    assert violations(ATTLS, REMOTE_COMMAND, {"create": bad})


RACF_CA = (
    'CA_UNTIL="$(( $(date +%Y) + 9 ))-12-31"\n'
    "ok \"RACDCERT GENCERT CERTAUTH SUBJECTSDN(CN('CA')) WITHLABEL('$CA') \\\n"
    'KEYUSAGE(CERTSIGN) SIZE(2048) NOTAFTER(DATE($CA_UNTIL))"\n'
)
RACF_USER = (
    "ok \"RACDCERT GENCERT ID($ID) SIGNWITH(CERTAUTH LABEL('$CA')) KEYUSAGE(HANDSHAKE) \\\n"
    "WITHLABEL('$LABEL') SUBJECTSDN(CN('$CN')) SIZE(2048){notafter}\"\n"
)


def _date_in(days: int) -> str:
    import datetime

    return (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=days)).isoformat()


def test_racf_certificates_within_bounds_pass():
    for script in (
        RACF_CA,
        RACF_USER.format(notafter=""),  # RACF's default: one year
        RACF_USER.format(notafter=f" NOTAFTER(DATE({_date_in(300)}))"),
        f"UNTIL={_date_in(398)}\n" + RACF_USER.format(notafter=" NOTAFTER(DATE($UNTIL))"),
        RACF_USER.format(notafter=" NOTAFTER(DATE($SET_ELSEWHERE))"),  # cannot be told
    ):
        assert violations(CERTS, REMOTE_COMMAND, {"create": script}) == [], script


@pytest.mark.parametrize(
    "script, needle",
    [
        (RACF_USER.format(notafter=" NOTAFTER(DATE(2099-12-31))"), "RACF certificate is valid"),
        (RACF_CA.replace("+ 9 ))", "+ 10 ))"), "RACF CA certificate is valid"),
        (RACF_CA.replace("$CA_UNTIL", "2080-01-01"), "RACF CA certificate is valid"),
        (RACF_USER.format(notafter=" NOTAFTER(DATE(2001-01-01))"), "expires before"),
        (
            "tsocmd \"RACDCERT ID(ALICE01) GENCERT SUBJECTSDN(CN('a')) "
            f'NOTBEFORE(DATE({_date_in(1)})) NOTAFTER(DATE({_date_in(900)}))"',
            "valid for 899 days",
        ),
    ],
)
def test_racf_certificates_unbounded_are_flagged(script, needle):
    found = violations(CERTS, REMOTE_COMMAND, {"create": script}, name="racf")
    assert len(found) == 1 and needle in found[0] and "NOTAFTER" in found[0], found


def test_racf_validity_is_counted_from_today():
    # The date is made here, not at collection: a run that crosses midnight
    # would otherwise count one day less than the needle says.
    script = f"UNTIL='{_date_in(500)}'\n" + RACF_USER.format(notafter=" NOTAFTER(DATE($UNTIL))")
    found = violations(CERTS, REMOTE_COMMAND, {"create": script}, name="racf")
    assert len(found) == 1 and "RACF certificate is valid for 500 days" in found[0], found


def test_racf_default_validity_is_judged_too():
    """No NOTAFTER: RACF's one year, held to the configured bound like any other."""
    script = RACF_USER.format(notafter="")
    found = violations(
        CERTS, REMOTE_COMMAND, {"create": script}, config={"maxValidityHours": 24 * 90}
    )
    assert len(found) == 1 and "RACF's default" in found[0] and "365 days" in found[0]
