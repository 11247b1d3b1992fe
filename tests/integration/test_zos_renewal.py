"""Renewal of the RACF certificates on the z/OS double over a real sshd on 127.0.0.1,
with the scripts exactly as the component renders them for a given day
(components/zos/renewal.py), and the delivery script writing the users' files.

`pulumi up` runs a step's create again only when its command text changes; `Pulumi`
below does just that (an update in place: the step's instance, its RandomId, stays), and
runs a user's delivery again only when its stdin (the export's output) changed. One
deployment is followed through the periods of the schedule: a day in the same period
(nothing runs), the next period (the server's and users' certificates are re-issued,
exported and delivered again; the CA and everything else stay), the CA's next period
(the CA and all it signed), then destroy.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from components.delivery.script import DeliveryFiles, DeliveryTarget, delivery_commands
from components.zos.export import client_label, render_split_script
from components.zos.renewal import CA_VALIDITY_DAYS, EPOCH, parse_expiry, scheduled_end
from components.zos.steps import step_stdin
from tests.integration.test_zos_ssh import (
    PASSWORD,
    RACF_USERS,
    STACK,
    TOKEN,
    cert,
    fresh,
    make_settings,
    mutations,
    records,
)
from tests.tooling import missing
from tests.zos_double import racf
from tests.zos_double.deploy import destroy, ordered_steps, scripts
from tests.zos_double.host import ZosHost
from tools.mock_graph import settled_event_loop

pytestmark = pytest.mark.integration

LABEL = client_label(STACK)
DAY = datetime.timedelta(days=1)
# Short periods keep the dates near: certificates of 40 days, renewed 10 days before.
VALIDITY, RENEW = 40, 10
PERIOD = VALIDITY - RENEW
CA_PERIOD = CA_VALIDITY_DAYS - VALIDITY


def on(settings, day: datetime.date):
    """The settings as the program has them when it runs on `day`."""
    return dataclasses.replace(settings, zos=dataclasses.replace(settings.zos, today=day))


def first_day_after(today: datetime.date, period: int) -> datetime.date:
    """The first day of the next period of `period` days counted from EPOCH."""
    return EPOCH + datetime.timedelta(days=((today - EPOCH).days // period + 1) * period)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with settled_event_loop():
        zos = ZosHost(tmp_path_factory.mktemp("zos")).start()
        yield zos
        zos.stop()


class Pulumi:
    """What `pulumi up` runs, step by step: a step whose create text changed since the
    last up (or is new), and a delivery whose stdin changed."""

    def __init__(self, host: ZosHost, pki_dir: Path):
        self.host, self.pki_dir = host, pki_dir
        self.applied: dict[str, str] = {}  # step -> the create text it last ran
        self.exports: dict[str, str] = {}  # hub user -> the export's last stdout
        self.expiry: dict[str, str] = {}  # the zos_cert_expiry output

    def up(self, settings) -> tuple[list[str], list[str]]:
        """(the steps that ran, the users whose files were delivered)."""
        ran, delivered = [], []
        steps, users = ordered_steps(settings, STACK)
        tls_pems = None
        for step in steps:
            create = scripts(step, settings)[0]
            if self.applied.get(step.name) == create:
                continue
            stdin = step_stdin(step, password=PASSWORD, token=TOKEN, tls_pems=tls_pems) or ""
            session = self.host.run(create, stdin)
            assert session.rc == 0, f"{step.name}:\n{session.stderr}"
            self.applied[step.name] = create
            ran.append(step.name)
            self.expiry.update(parse_expiry(session.stdout))
            user = users.get(step.name)
            if user is not None and self.exports.get(user) != session.stdout:
                self.exports[user] = session.stdout
                self.deliver(user, session.stdout)
                delivered.append(user)
        return ran, delivered

    def deliver(self, user: str, export: str) -> None:
        """The user's delivery command (split here, then written), as pki_delivery runs it."""
        files = DeliveryFiles(str(self.pki_dir), user, "key.pem", "cert.pem", "ca.pem")
        texts = delivery_commands(files, DeliveryTarget("local"), (), render_split_script())
        done = subprocess.run(
            ["/bin/sh", "-c", texts["create"]],
            input=f"{PASSWORD}\n{export}",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr

    def files(self, user: str) -> dict[str, str]:
        directory = self.pki_dir / user
        return {p.name: p.read_text() for p in sorted(directory.iterdir())}


def serials(state: dict) -> dict[tuple[str, str], int]:
    return {
        (c["owner"], c["label"]): x509.load_pem_x509_certificate(
            c["cert_pem"].encode()
        ).serial_number
        for c in state["certs"]
    }


def end_dates(state: dict) -> dict[str, str]:
    return {
        f"{'CERTAUTH' if c['owner'] == 'CERTAUTH' else 'ID(' + c['owner'] + ')'}/{c['label']}": (
            x509.load_pem_x509_certificate(c["cert_pem"].encode()).not_valid_after_utc.date()
        ).isoformat()
        for c in state["certs"]
    }


def settled(host) -> dict:
    """What the double holds (certificate bytes aside), checked for what RACF punishes."""
    state = host.state
    assert state["violations"] == [], state["violations"]
    assert state["pending"] == {}, "a RACLISTed change was never refreshed"
    # every record of an object the program made is confirmed (no intent left over)
    assert all("STATE made" in lines for lines in records(host).values()), records(host)
    return racf.racf_view(state)


@pytest.fixture(scope="module")
def journey(host, tmp_path_factory):
    """One deployment through the schedule; what each up ran and left, for the tests."""
    if os.geteuid() != 0:
        missing("the delivery writes files owned by uid 1000 (CI runs as root)")
    base = make_settings(host, ZOS_CERT_VALIDITY_DAYS=str(VALIDITY), ZOS_CERT_RENEW_DAYS=str(RENEW))
    today = datetime.datetime.now(datetime.UTC).date()
    # A leaf period that starts after today and holds no CA period's start, so that its
    # next period renews the leaves alone.
    start = first_day_after(today, PERIOD)
    while first_day_after(start, CA_PERIOD) <= start + 2 * PERIOD * DAY:
        start = first_day_after(start, PERIOD)
    day0 = start + 3 * DAY
    fresh(host, base, racf.initial_state(users=RACF_USERS))
    pulumi = Pulumi(host, tmp_path_factory.mktemp("pki"))
    policy = Path(base.zos.attls_policy_path)
    phases = {}

    def phase(name: str, day: datetime.date) -> None:
        before = host.state["counter"]
        ran, delivered = pulumi.up(on(base, day))
        state = host.state
        # what a TLS handshake on the gateway's ring would have found after each RACF
        # change of this up (the double checks it after every RACDCERT that changed one)
        gaps = [g for g in state.get("ring_gaps", []) if g["n"] > before]
        phases[name] = {
            "ran": ran,
            "delivered": delivered,
            "view": settled(host),
            "serials": serials(state),
            "ends": end_dates(state),
            "expiry": dict(pulumi.expiry),
            "files": {user: pulumi.files(user) for user in ("alice", "bob")},
            "changes": mutations(state, before),
            "refreshes": state["pagent"]["refreshes"],
            "ring": state["rings"]["JKGID"]["JKGRing"],
            "instance": re.search(r"EnvironmentUserInstance +(\d+)", policy.read_text())[1],
            "gaps": gaps,
            "keys": {(c["owner"], c["label"]): c.get("key_pem") for c in state["certs"]},
        }

    phase("first", day0)
    phase("same period", start + (PERIOD - 1) * DAY)
    phase("next period", start + PERIOD * DAY)
    phase("next period, again", start + (PERIOD + 2) * DAY)
    ca_start = first_day_after(start + PERIOD * DAY, CA_PERIOD)
    phase("next CA period", ca_start)
    before = host.state["counter"]
    destroy(host, on(base, ca_start), stack=STACK)
    state = host.state
    phases["destroyed"] = {
        "state": state,
        "records": records(host),
        "gaps": [g for g in state.get("ring_gaps", []) if g["n"] > before],
    }
    return {"phases": phases, "day0": day0, "start": start, "ca_start": ca_start}


def test_first_up_makes_certificates_ending_on_the_schedule(journey):
    first = journey["phases"]["first"]
    until = scheduled_end(journey["day0"], VALIDITY, RENEW).isoformat()
    ca_until = scheduled_end(journey["day0"], CA_VALIDITY_DAYS, VALIDITY).isoformat()
    expected = {
        "CERTAUTH/Jupyter Local CA": ca_until,
        "ID(JKGID)/JKG Server Cert": until,
        f"ID(ALICE01)/{LABEL}": until,
        f"ID(BOB01)/{LABEL}": until,
    }
    # the zos_cert_expiry output: what the steps printed after LISTing each certificate
    assert first["expiry"] == expected
    assert first["ends"] == expected
    assert first["delivered"] == ["alice", "bob"]


def test_an_up_in_the_same_period_changes_nothing(journey):
    phases = journey["phases"]
    same = phases["same period"]
    assert same["ran"] == [] and same["delivered"] == [] and same["changes"] == []
    assert same["serials"] == phases["first"]["serials"]


def test_the_next_period_re_issues_and_delivers_the_server_and_users_certificates(journey):
    phases = journey["phases"]
    first, nxt = phases["first"], phases["next period"]
    # What Pulumi runs again: the certificates' steps, the ring's connections, AT-TLS's
    # refresh; nothing else (every other step's text is the same).
    assert sorted(nxt["ran"]) == ["attls", "connect", "server-cert", "user-alice", "user-bob"]
    # the same objects, none added or lost: only the certificates are new
    assert nxt["view"] == first["view"]
    renewed = {k for k in first["serials"] if first["serials"][k] != nxt["serials"][k]}
    assert renewed == {("JKGID", "JKG Server Cert"), ("ALICE01", LABEL), ("BOB01", LABEL)}
    until = scheduled_end(journey["start"] + PERIOD * DAY, VALIDITY, RENEW).isoformat()
    assert nxt["expiry"]["ID(JKGID)/JKG Server Cert"] == until
    assert nxt["expiry"][f"ID(ALICE01)/{LABEL}"] == until
    assert nxt["expiry"] == nxt["ends"]
    # each certificate re-issued by IBM's rollover, in this order: a new key (REKEY, under
    # an interim label), signed by the CA (GENREQ, GENCERT of the request), ROLLOVER (the
    # old private key retired, the new certificate in its place on the ring), the old one
    # deleted, the new one given the label (ALTER NEWLABEL); no DELETE before ROLLOVER
    renewed_labels = {"ID(JKGID)": "JKG Server Cert", "ID(ALICE01)": LABEL, "ID(BOB01)": LABEL}
    for owner, label in renewed_labels.items():
        mine = [c for c in nxt["changes"] if c.startswith(f"RACDCERT {owner} ")]
        verbs = [re.match(rf"RACDCERT {re.escape(owner)} (\w+)", c)[1] for c in mine]
        assert verbs == ["REKEY", "GENREQ", "GENCERT", "ROLLOVER", "DELETE", "ALTER"], mine
        assert f"DELETE(LABEL('{label}'))" in mine[4]
        assert f"NEWLABEL('{label}')" in mine[5]
    assert not [c for c in nxt["changes"] if "GENCERT CERTAUTH" in c]
    # the ring had a usable default certificate after every RACF change of the renewal
    assert nxt["gaps"] == []
    # the server certificate is on the ring, the default; PAGENT read it again
    assert {(e["label"], e["default"]) for e in nxt["ring"]} == {
        ("Jupyter Local CA", False),
        ("JKG Server Cert", True),
    }
    # a new EnvironmentUserInstance: PAGENT's refresh rebuilds the AT-TLS environment,
    # which reads the ring again (a refresh alone would not)
    assert nxt["instance"] != first["instance"]
    assert nxt["refreshes"] == first["refreshes"] + 1
    # the users' client files on the Docker host: new certificate and key, same CA
    assert nxt["delivered"] == ["alice", "bob"]
    for user in ("alice", "bob"):
        old, new = first["files"][user], nxt["files"][user]
        assert old["cert.pem"] != new["cert.pem"] and old["key.pem"] != new["key.pem"]
        assert old["ca.pem"] == new["ca.pem"]


def test_a_second_up_in_the_renewed_period_changes_nothing(journey):
    phases = journey["phases"]
    again = phases["next period, again"]
    assert again["ran"] == [] and again["delivered"] == [] and again["changes"] == []
    assert again["serials"] == phases["next period"]["serials"]
    assert again["view"] == phases["next period"]["view"]


def test_the_ring_watch_sees_a_ring_without_its_certificate(journey):
    """The check the renewal passes is not blind: destroy takes the server certificate off
    the ring (REMOVE) before the ring goes, and the double reports that moment."""
    gaps = journey["phases"]["destroyed"]["gaps"]
    assert gaps and gaps[0]["problem"] == "JKGID/JKGRing: no default certificate", gaps


def test_the_ca_s_next_period_re_issues_the_ca_and_all_it_signed(journey):
    phases = journey["phases"]
    before, after = phases["next period"], phases["next CA period"]
    assert {k for k in before["serials"] if before["serials"][k] != after["serials"][k]} == set(
        before["serials"]
    )
    assert after["view"] == before["view"]
    ca_until = scheduled_end(journey["ca_start"], CA_VALIDITY_DAYS, VALIDITY).isoformat()
    assert after["expiry"]["CERTAUTH/Jupyter Local CA"] == ca_until
    for user in ("alice", "bob"):  # the split verified the new chain before delivering
        assert before["files"][user]["ca.pem"] != after["files"][user]["ca.pem"]


def test_destroy_after_renewals_leaves_nothing_of_the_program(journey):
    gone = journey["phases"]["destroyed"]
    state = gone["state"]
    assert state["certs"] == []
    assert state["rings"].get("JKGID", {}) == {}
    assert gone["records"] == {}
    assert state["violations"] == []


# --- certificates the program did not make --------------------------------------------


def test_a_pre_existing_certificate_is_reported_and_never_renewed(host):
    """A site's own CA and server certificate under the configured labels, both due: the
    steps use them, print their end dates, warn, and re-issue neither."""
    settings = make_settings(host, ZOS_USERS='{"alice": "ALICE01"}')
    state = racf.initial_state(users=RACF_USERS)
    soon = datetime.datetime.now(datetime.UTC) + 5 * DAY
    racf.seed_cert(
        state,
        owner="CERTAUTH",
        label="Jupyter Local CA",
        subject="CN('Site CA') O('Site')",
        ca=True,
        notafter=soon,
    )
    racf.seed_cert(
        state,
        owner="JKGID",
        label="JKG Server Cert",
        subject="CN('zos.example.com') O('Site')",
        ca=False,
        signer=("CERTAUTH", "Jupyter Local CA"),
        notafter=soon,
    )
    fresh(host, settings, state)
    before = serials(host.state)
    steps = {step.name: step for step in ordered_steps(settings, STACK)[0]}
    out = {}
    for name in ("ca", "server-cert"):
        session = host.run(scripts(steps[name], settings)[0])
        assert session.rc == 0, session.stderr
        out[name] = session
    assert serials(host.state) == before
    assert mutations(host.state) == []
    assert "was not made by jupyterhub-zos, so it is not re-issued" in out["ca"].stderr
    assert "it was not made by jupyterhub-zos, so it is not re-issued" in (
        out["server-cert"].stderr
    )
    reported = parse_expiry(out["ca"].stdout + out["server-cert"].stdout)
    assert reported == {
        "CERTAUTH/Jupyter Local CA": soon.date().isoformat(),
        "ID(JKGID)/JKG Server Cert": soon.date().isoformat(),
    }
    # and its destroy leaves them
    destroy(host, settings, stack=STACK, only={"server-cert", "ca"})
    assert serials(host.state) == before


# --- a renewal killed between its steps -------------------------------------------------

KILL_POINTS = {
    # the double kills the step right after the RACF command holding this text
    "after REKEY": "REKEY(LABEL('JKG Server Cert'))",
    "after GENCERT of the request": "ID(JKGID) GENCERT('",
    "after ROLLOVER": "ROLLOVER(LABEL('JKG Server Cert'))",
    "after DELETE of the old": "ID(JKGID) DELETE(LABEL('JKG Server Cert'))",
    "after ALTER NEWLABEL": "ALTER(LABEL('JHZOS renew",
    "a user's, after ROLLOVER": "ID(ALICE01) ROLLOVER(",
}


@pytest.fixture(scope="module")
def deployed(host):
    """One deployment in a period, and the day that renews it, kept as a snapshot."""
    base = make_settings(host, ZOS_CERT_VALIDITY_DAYS=str(VALIDITY), ZOS_CERT_RENEW_DAYS=str(RENEW))
    today = datetime.datetime.now(datetime.UTC).date()
    start = first_day_after(today, PERIOD)
    while first_day_after(start, CA_PERIOD) <= start + 2 * PERIOD * DAY:
        start = first_day_after(start, PERIOD)
    fresh(host, base, racf.initial_state(users=RACF_USERS))
    first = on(base, start + DAY)
    for step in ordered_steps(first, STACK)[0]:
        stdin = step_stdin(step, password=PASSWORD, token=TOKEN) or ""
        session = host.run(scripts(step, first)[0], stdin)
        assert session.rc == 0, f"{step.name}:\n{session.stderr}"
    snapshot = host.snapshot([host.root / "u", host.root / "etc"])
    return {"first": first, "renew": on(base, start + PERIOD * DAY), "snapshot": snapshot}


def _step(settings, name: str):
    return next(s for s in ordered_steps(settings, STACK)[0] if s.name == name)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_renewal_killed_between_its_steps_is_finished_by_the_next_run(host, deployed, point):
    host.restore(deployed["snapshot"])
    renew = deployed["renew"]
    name = "user-alice" if "user" in point else "server-cert"
    owner, label = ("ALICE01", LABEL) if name == "user-alice" else ("JKGID", "JKG Server Cert")
    step = _step(renew, name)
    stdin = step_stdin(step, password=PASSWORD, token=TOKEN) or ""
    old = serials(host.state)[(owner, label)]
    before = host.state["counter"]
    host.update(kill_on=KILL_POINTS[point])
    broken = host.run(scripts(step, renew)[0], stdin)
    state = host.state
    assert broken.rc != 0 and [e for e in state["log"] if e.get("killed")], broken.stderr
    # the interim certificate is recorded before it exists: no orphan is possible
    interim = [k for k in records(host) if k.startswith(f"CERT ID({owner}) JHZOS renew ")]
    if point != "after ALTER NEWLABEL":
        assert interim, records(host)

    again = host.run(scripts(step, renew)[0], stdin)
    assert again.rc == 0, again.stderr
    state = host.state
    assert state["violations"] == [], state["violations"]
    assert state["pending"] == {}
    # the ring had a usable default certificate all along, killed run included
    assert [g for g in state.get("ring_gaps", []) if g["n"] > before] == []
    # one certificate under the label, new, signed by the CA, with its key; nothing else
    mine = [c for c in state["certs"] if c["owner"] == owner]
    assert [c["label"] for c in mine] == [label], [c["label"] for c in mine]
    assert mine[0]["key_pem"] and serials(state)[(owner, label)] != old
    assert mine[0]["signer"] == ["CERTAUTH", "Jupyter Local CA"]
    assert cert(mine[0]["cert_pem"]).not_valid_after_utc.date().isoformat() == (
        scheduled_end(renew.zos.today, VALIDITY, RENEW).isoformat()
    )
    assert state["datasets"] == {}
    assert not [k for k in records(host) if "JHZOS renew" in k], records(host)
    assert all("STATE made" in lines for lines in records(host).values())
    if name == "server-cert":
        ring = state["rings"]["JKGID"]["JKGRing"]
        assert ("JKG Server Cert", True) in {(e["label"], e["default"]) for e in ring}
    # and the run after that changes nothing
    since = host.state["counter"]
    assert host.run(scripts(step, renew)[0], stdin).rc == 0
    assert [c for c in mutations(host.state, since) if "RACDCERT" in c and "EXPORT" not in c] == []


def test_a_destroy_after_a_killed_renewal_leaves_no_orphan(host, deployed):
    host.restore(deployed["snapshot"])
    renew = deployed["renew"]
    step = _step(renew, "server-cert")
    host.update(kill_on="ID(JKGID) GENCERT('")
    broken = host.run(scripts(step, renew)[0])
    assert broken.rc != 0
    assert len([c for c in host.state["certs"] if c["owner"] == "JKGID"]) == 2
    destroy(host, renew, stack=STACK)
    state = host.state
    assert state["certs"] == [] and state["datasets"] == {}
    assert records(host) == {}
    assert state["violations"] == []
