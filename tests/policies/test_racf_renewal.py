"""racf-certificates-renewed: RACF certificates the program makes carry a validity
length and a renewal window shorter than it, and a check of RACF's end date; judged on
hand-written scripts and on the scripts the program renders."""

from __future__ import annotations

import pytest

from policies.props import REMOTE_COMMAND
from tests.policies.support import violations
from tools import policy_check
from tools.mock_graph import run_program

RULE = "racf-certificates-renewed"
USER = (
    "VALIDITY_DAYS={validity}\nRENEW_DAYS={renew}\n"
    'if to_sign "ID($ID)" "$LABEL" "c" "$CN" "$UNTIL"; then\n'
    "  ok \"RACDCERT GENCERT ID($ID) SIGNWITH(CERTAUTH LABEL('$CA')) \\\n"
    "WITHLABEL('$LABEL') SUBJECTSDN(CN('$CN')) NOTAFTER(DATE($UNTIL))\"\n"
    'fi\nends_before "$UNTIL" || true\n'
)
CA = (
    'CA_VALIDITY_DAYS="{validity}"\nCA_RENEW_DAYS="{renew}"\n'
    'elif ends_before "$CA_UNTIL"; then\n'
    "  ok \"RACDCERT GENCERT CERTAUTH SUBJECTSDN(CN('x')) WITHLABEL('$CA') "
    'NOTAFTER(DATE($CA_UNTIL))"\n'
)


def test_certificates_with_a_window_shorter_than_their_validity_pass():
    for script in (
        USER.format(validity=365, renew=30),
        USER.format(validity=7, renew=1),
        CA.format(validity=3650, renew=365),
        "echo no certificate here",
    ):
        assert violations(RULE, REMOTE_COMMAND, {"create": script}) == [], script


@pytest.mark.parametrize(
    "script, needle",
    [
        (USER.format(validity=400, renew=30), "valid up to 400 days; the limit is 398"),
        (CA.format(validity=4000, renew=365), "CA certificate is valid up to 4000 days"),
        (USER.format(validity=30, renew=30), "renewed 30 days before it ends"),
        (USER.format(validity=30, renew=0), "at least 1 days"),
        (USER.format(validity=30, renew=10).replace("ends_before", "x"), "without a renewal"),
        (USER.format(validity=30, renew=10).replace("RENEW_DAYS=10\n", ""), "without a renewal"),
        ("tsocmd \"RACDCERT ID(A) GENCERT SUBJECTSDN(CN('a'))\"", "without a renewal"),
    ],
)
def test_certificates_without_a_bounded_validity_and_window_are_flagged(script, needle):
    found = violations(RULE, REMOTE_COMMAND, {"create": script}, name="racf")
    assert len(found) == 1 and needle in found[0], found


def test_the_limits_are_configurable():
    script = USER.format(validity=90, renew=5)
    config = {"maxValidityDays": 60, "minRenewalDays": 7}
    found = violations(RULE, REMOTE_COMMAND, {"create": script}, config=config)
    assert len(found) == 2, found


def test_the_rendered_racf_steps_pass_and_a_stricter_pack_flags_them(zos_config):
    config, secrets = zos_config
    config = {**config, "ZOS_CERT_VALIDITY_DAYS": 200, "ZOS_CERT_RENEW_DAYS": 20}
    graph = run_program("prod", config=config, secrets=secrets)
    assert [v for v in policy_check.check(graph.resources) if v.policy == RULE] == []
    strict = policy_check.parse_policy_config({RULE: {"maxValidityDays": 100}})
    flagged = {v.name for v in policy_check.check(graph.resources, strict) if v.policy == RULE}
    # the server's and each user's certificate steps (the CA has its own bound)
    assert len(flagged) == 3 and all("zos" in name for name in flagged), flagged
