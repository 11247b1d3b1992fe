"""Renewal of the RACF certificates (components/zos/renewal.py): the schedule on its own,
the config keys that set it, and the stack output of every certificate's end date, in
the mock graph."""

from __future__ import annotations

import datetime
import re

import pytest

from components.settings import SettingsError, validate
from components.settings.source import RawConfig
from components.zos.renewal import (
    CA_VALIDITY_DAYS,
    EPOCH,
    EXPIRY_MARK,
    parse_expiry,
    scheduled_end,
)
from tools import mock_graph
from tools.mock_graph import run_program, settled_event_loop

REMOTE = "command:remote:Command"
DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize(("validity", "renew"), [(365, 30), (90, 10), (7, 1), (398, 180)])
def test_a_certificate_lasts_at_most_its_validity_and_is_due_inside_its_window(validity, renew):
    period = validity - renew
    start = EPOCH + datetime.timedelta(days=period * 37)
    for day in (start, start + DAY, start + (period - 1) * DAY):
        end = scheduled_end(day, validity, renew)
        # made on `day`: valid for at most `validity` days, at least the window
        assert renew < (end - day).days <= validity
        # all period long the same end date: the scripts do not change
        assert end == scheduled_end(start, validity, renew)
    # the next period's first day: the certificates of this one are inside their window
    # (renew days left), and the new end date is later: they are due
    after = start + period * DAY
    assert (scheduled_end(start, validity, renew) - after).days == renew
    assert scheduled_end(after, validity, renew) > scheduled_end(start, validity, renew)
    assert (scheduled_end(after, validity, renew) - after).days == validity


def test_a_window_as_long_as_the_validity_is_refused():
    with pytest.raises(ValueError, match="shorter than the validity"):
        scheduled_end(datetime.date(2030, 1, 1), 30, 30)


def test_the_ca_outlives_what_it_signs():
    for offset in range(0, CA_VALIDITY_DAYS, 97):
        day = EPOCH + datetime.timedelta(days=9000 + offset)
        ca = scheduled_end(day, CA_VALIDITY_DAYS, 365)
        assert 365 < (ca - day).days <= CA_VALIDITY_DAYS
        assert ca >= scheduled_end(day, 365, 30)


def test_expiry_lines_are_read_from_a_step_s_output():
    stdout = (
        "begin-base64 600 p12\nAAAA\n====\n"
        f"{EXPIRY_MARK} ID(ALICE01) 2031-01-02 JupyterHub dev\n"
        f"{EXPIRY_MARK} CERTAUTH 2036-05-06 Jupyter Local CA\n"
    )
    assert parse_expiry(stdout) == {
        "ID(ALICE01)/JupyterHub dev": "2031-01-02",
        "CERTAUTH/Jupyter Local CA": "2036-05-06",
    }
    assert parse_expiry("") == {}


# --- config -----------------------------------------------------------------------------


def settings_with(ssh_keypair, **extra):
    private, public = ssh_keypair
    values = {
        "ALLOW_DEV_SERVICES": "true",
        "HUB_ADMIN_USERS": '["alice"]',
        "ZOS_HOST": "zos.example.com",
        "ZOS_SSH_USER": "ibmuser",
        "ZOS_SSH_PRIVATE_KEY": private,
        "ZOS_SSH_HOST_KEY": public,
        "ZOS_USERS": '{"alice": "ALICE01"}',
        **extra,
    }
    raw = RawConfig("jupyterhub-zos", values, frozenset({"ZOS_SSH_PRIVATE_KEY"}))
    with settled_event_loop():
        return validate(raw, "unit")


def test_validity_and_window_default_to_a_year_and_a_month(ssh_keypair):
    zos = settings_with(ssh_keypair).zos
    assert (zos.cert_validity_days, zos.cert_renew_days) == (365, 30)
    assert zos.today == datetime.datetime.now(datetime.UTC).date()


@pytest.mark.parametrize(
    ("extra", "key", "says"),
    [
        ({"ZOS_CERT_VALIDITY_DAYS": "6"}, "ZOS_CERT_VALIDITY_DAYS", "7"),
        ({"ZOS_CERT_VALIDITY_DAYS": "399"}, "ZOS_CERT_VALIDITY_DAYS", "398"),
        ({"ZOS_CERT_RENEW_DAYS": "0"}, "ZOS_CERT_RENEW_DAYS", "1"),
        ({"ZOS_CERT_RENEW_DAYS": "181"}, "ZOS_CERT_RENEW_DAYS", "180"),
        (
            {"ZOS_CERT_VALIDITY_DAYS": "30", "ZOS_CERT_RENEW_DAYS": "30"},
            "ZOS_CERT_RENEW_DAYS",
            "shorter than ZOS_CERT_VALIDITY_DAYS",
        ),
        ({"ZOS_CERT_NOTAFTER": "31.12.2030"}, "ZOS_CERT_NOTAFTER", "YYYY-MM-DD"),
    ],
)
def test_bad_validity_or_window_is_refused_naming_the_key(ssh_keypair, extra, key, says):
    with pytest.raises(SettingsError) as raised:
        settings_with(ssh_keypair, **extra)
    text = str(raised.value)
    assert key in text and says in text, text


def test_a_passed_notafter_still_validates_and_is_reported_deprecated(ssh_keypair):
    settings = settings_with(ssh_keypair, ZOS_CERT_NOTAFTER="2020-01-31")
    (warning,) = [w for w in settings.warnings if "ZOS_CERT_NOTAFTER" in w]
    assert "deprecated" in warning and "ZOS_CERT_VALIDITY_DAYS" in warning


# --- the graph ---------------------------------------------------------------------------


def _reporting_step(args):
    """A step's stdout as z/OS prints it: its certificate's end date (the UNTIL of its
    script) after report_expiry, and an export's PKCS#12 block."""
    create = args.inputs["create"]
    out = ""
    if "uuencode -m" in create:
        out += "begin-base64 600 p12\nAAAA\n====\n"
    call = re.search(r'^report_expiry (\S+) "\$(\w+)"$', create, re.MULTILINE)
    if call:
        owner = re.sub(r"\$(\w+)", lambda m: _var(create, m[1]), call[1].strip('"'))
        until = _var(create, "CA_UNTIL" if owner == "CERTAUTH" else "UNTIL")
        out += f"{EXPIRY_MARK} {owner} {until} {_var(create, call[2])}\n"
    return {"stdout": out, "stderr": ""}


def _var(script: str, name: str) -> str:
    return re.search(rf'^{name}="([^"]*)"$', script, re.MULTILINE)[1]


@pytest.fixture(scope="module")
def graph(zos_config):
    saved = mock_graph.FAKES[REMOTE]
    mock_graph.register_fake(REMOTE, _reporting_step)
    try:
        config, secrets = zos_config
        config = {**config, "ZOS_CERT_VALIDITY_DAYS": 90, "ZOS_CERT_RENEW_DAYS": 15}
        yield run_program("dev", config=config, secrets=secrets)
    finally:
        mock_graph.register_fake(REMOTE, saved)


def test_every_racf_certificate_s_end_date_is_a_stack_output(graph):
    today = datetime.datetime.now(datetime.UTC).date()
    until = scheduled_end(today, 90, 15).isoformat()
    ca_until = scheduled_end(today, CA_VALIDITY_DAYS, 90).isoformat()
    assert graph.outputs["zos_cert_expiry"] == {
        "CERTAUTH/Jupyter Local CA": ca_until,
        "ID(JKGID)/JKG Server Cert": until,
        "ID(ADMIN01)/JupyterHub dev": until,
        "ID(ALICE01)/JupyterHub dev": until,
    }
    # read from the exports' secret stdout, but dates are not secret
    assert "zos_cert_expiry" not in graph.secret_outputs


def test_the_steps_carry_this_period_s_end_dates(graph):
    today = datetime.datetime.now(datetime.UTC).date()
    until = scheduled_end(today, 90, 15).isoformat()
    creates = {r.name: r.inputs["create"] for r in graph.of_type(REMOTE)}
    for suffix in ("server-cert", "connect", "users-admin", "users-alice"):
        (name,) = [n for n in creates if n.endswith(suffix)]
        assert f'UNTIL="{until}"' in creates[name], name
