"""Replacements, interrupted runs, the users' IDs and two stacks, on the z/OS double over a
real sshd on 127.0.0.1 (tests/zos_double), with the scripts exactly as the component
renders them.

A config change makes `pulumi up` replace some steps: their new instances are created
first (a new RandomId each), then the old instances are deleted (`deploy.replace`). After
that the double must hold exactly what a fresh deployment of the new config holds, and a
destroy must leave exactly what was there before the program, on a site that has objects
of its own.

Stand-in limits: the double has one home for every SSH user, so the ownership records
of ZOS_SSH_USER's old and new IDs are in one place, as they are on z/OS only when both
IDs have the same home directory (README: "Changing ZOS_SSH_USER").
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography import x509

from components.zos.export import client_label
from tests.integration.test_zos_ssh import (
    PASSWORD,
    RACF_USERS,
    STACK,
    TOKEN,
    cert,
    make_settings,
    mutations,
    records,
)
from tests.zos_double import racf
from tests.zos_double.deploy import (
    deploy,
    destroy,
    instance_of,
    ordered_steps,
    replace,
    scripts,
)
from tests.zos_double.host import ZosHost
from tools.mock_graph import settled_event_loop

pytestmark = pytest.mark.integration

LABEL = client_label(STACK)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with settled_event_loop():
        zos = ZosHost(tmp_path_factory.mktemp("zos")).start()
        yield zos
        zos.stop()


def site_state(settings, *, more_users: tuple[str, ...] = ()) -> dict:
    """A z/OS with objects of its own: a site CA, another user's certificate and ring,
    the LISTRING profile with someone else on it."""
    state = racf.initial_state(users=RACF_USERS + ("ALICE02", "JKGID2", *more_users))
    racf.seed_cert(state, owner="CERTAUTH", label="Site Root", subject="CN('Root')", ca=True)
    racf.seed_cert(
        state,
        owner="OTHER1",
        label="Other",
        subject="CN('other')",
        ca=False,
        signer=("CERTAUTH", "Site Root"),
    )
    state["rings"]["OTHER1"] = {"OtherRing": []}
    state["profiles"]["FACILITY"]["IRR.DIGTCERT.LISTRING"] = {
        "uacc": "NONE",
        "acl": {"OTHER1": "READ"},
        "owner": "IBMUSER",
    }
    state["pagent"]["ttls_config"] = settings.zos.attls_policy_path
    return state


def reset(host: ZosHost, settings, state: dict) -> dict:
    for d in ("u", "etc"):
        shutil.rmtree(host.root / d, ignore_errors=True)
    (host.root / "u" / "jkgid").mkdir(parents=True)
    (host.root / "etc" / "pagent").mkdir(parents=True)
    host.reset(state)
    return state


def up(host, settings, stack: str = STACK):
    run = deploy(host, settings, stack=stack, password=PASSWORD, token=TOKEN)
    assert run.ok, run.sessions[run.failed].stderr
    return run


def files(settings) -> dict[str, str]:
    directory = Path(settings.zos.kg_config_dir)
    out = {p.name: p.read_text() for p in sorted(directory.iterdir())} if directory.exists() else {}
    policy = Path(settings.zos.attls_policy_path)
    if policy.exists():
        out["policy"] = policy.read_text()
    return out


def what_is_there(host, settings) -> dict:
    """What a deployment leaves that the graph describes (certificate bytes aside)."""
    state = host.state
    assert state["violations"] == [], state["violations"]
    assert state["pending"] == {}, "a RACLISTed change was never refreshed"
    return {
        "racf": racf.racf_view(state),
        "pagent": state["pagent"]["rules"],
        "files": files(settings),
    }


def instances(settings, stack: str = STACK) -> set[str]:
    return {instance_of(step, settings) for step in ordered_steps(settings, stack)[0]}


def record_users(host) -> set[str]:
    """Every step instance an ownership record names."""
    return {
        line.split()[2] for lines in records(host).values() for line in lines if line[:4] == "USE "
    }


def base(host, **extra):
    return make_settings(host, **extra)


CHANGES = {
    "ZOS_HOST alias": {"zos_host": "zos-alias.example.com"},
    "ZOS_SSH_USER": {"ZOS_SSH_USER": "AUTOUSR"},
    "ZOS_CA_LABEL": {"ZOS_CA_LABEL": "JHZOS CA 2"},
    "ZOS_KEYRING": {"ZOS_KEYRING": "JKGRing2"},
    "a user's z/OS ID": {"ZOS_USERS": '{"alice": "ALICE02", "bob": "BOB01"}'},
}


@pytest.fixture(scope="module")
def deployed_base(host):
    """The base config deployed on a fresh site, once: each replacement case restores this
    snapshot (RACF, the home's records, the files) instead of deploying it again."""
    old = base(host)
    initial = reset(host, old, site_state(old))
    first = up(host, old)
    return {
        "settings": old,
        "before": racf.racf_view(initial),
        "first": first,
        "snapshot": host.snapshot([host.root / "u", host.root / "etc"]),
    }


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_replacement_leaves_what_the_new_graph_describes(host, deployed_base, change):
    old = deployed_base["settings"]
    new = base(host, **CHANGES[change])
    # What the new config alone gives, on the same site.
    reset(host, new, site_state(new))
    up(host, new)
    expected = what_is_there(host, new)

    # The base config's deployment on that site (as a fresh `up` of it leaves it).
    host.restore(deployed_base["snapshot"])
    before, first = deployed_base["before"], deployed_base["first"]
    run, gone = replace(host, old, new, stack=STACK, password=PASSWORD, token=TOKEN)
    assert run.ok, run.sessions[run.failed].stderr
    assert gone, f"{change}: no step was replaced"
    assert what_is_there(host, new) == expected, change
    # Only the new graph's instances own anything now.
    assert record_users(host) <= instances(new), change
    state = host.state
    ca = cert(racf.find_cert(state, "CERTAUTH", new.zos.ca_label)["cert_pem"])
    server = cert(racf.find_cert(state, "JKGID", "JKG Server Cert")["cert_pem"])
    assert server.issuer == ca.subject
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [new.zos.host]
    for user, zos_id in new.zos.users.items():
        # what the users were given chains to the CA that is in RACF now
        assert cert(run.pems.get(user, first.pems[user])["ca.pem"]) == ca
        assert cert(racf.find_cert(state, zos_id, LABEL)["cert_pem"]).issuer == ca.subject

    destroy(host, new, stack=STACK)
    state = host.state
    assert racf.racf_view(state) == before, change
    assert state["violations"] == [] and state["pending"] == {}
    assert state["pagent"]["rules"] == {}
    assert records(host) == {}
    assert files(new) == {}


def test_a_replaced_user_step_keeps_the_shared_surrogat_settings(host):
    """Adding a user replaces the SURROGAT step (its profiles are what it is): the new
    instance claims the class settings and the old instance's delete leaves them."""
    old = base(host, ZOS_USERS='{"alice": "ALICE01"}')
    new = base(host)
    reset(host, old, site_state(old))
    up(host, old)
    run, gone = replace(host, old, new, stack=STACK, password=PASSWORD, token=TOKEN)
    assert run.ok and "surrogat" in gone
    view = racf.racf_view(host.state)
    assert {k for k in view["profiles"] if k.startswith("SURROGAT")} == {
        "SURROGAT BPX.SRV.ALICE01",
        "SURROGAT BPX.SRV.BOB01",
    }
    assert "SURROGAT" in view["classes"]["active"] and "SURROGAT" in view["classes"]["raclist"]
    # and back: bob's profile goes, alice's stays
    run, gone = replace(host, new, old, stack=STACK, password=PASSWORD, token=TOKEN)
    assert run.ok
    profiles = racf.racf_view(host.state)["profiles"]
    assert {k for k in profiles if k.startswith("SURROGAT")} == {"SURROGAT BPX.SRV.ALICE01"}


# --- interrupted runs -----------------------------------------------------------------------


def test_a_step_killed_after_it_made_an_object_leaves_no_orphan(host):
    """The double kills alice's step right after RACF made her certificate (before the
    script could record it): the intent written before the GENCERT makes the rerun take
    the certificate as the program's (no second GENCERT), and destroy removes it."""
    settings = base(host)
    initial = reset(host, settings, site_state(settings))
    host.update(kill_on="GENCERT ID(ALICE01)")
    broken = deploy(host, settings, stack=STACK, password=PASSWORD, token=TOKEN)
    assert broken.failed == "user-alice"
    state = host.state
    assert [e for e in state["log"] if e.get("killed")], "the double did not kill the step"
    assert racf.find_cert(state, "ALICE01", LABEL) is not None, "RACF made the certificate"
    assert records(host)[f"CERT ID(ALICE01) {LABEL}"] >= {"STATE intent"}

    again = up(host, settings)
    state = host.state
    assert state["violations"] == []  # no GENCERT of an existing label
    assert "is there (generated by jupyterhub-zos)" in again.sessions["user-alice"].stderr
    assert "STATE made" in records(host)[f"CERT ID(ALICE01) {LABEL}"]

    destroy(host, settings, stack=STACK)
    state = host.state
    assert racf.racf_view(state) == racf.racf_view(initial)  # the site's objects stay
    assert records(host) == {}


def test_a_delete_killed_after_it_removed_an_object_finishes_on_the_rerun(host):
    """Killed right after RACF deleted the CA (before its record was dropped): the next
    delete LISTs, finds it gone, and only drops the record; nothing else is touched."""
    settings = base(host)
    initial = reset(host, settings, site_state(settings))
    up(host, settings)
    host.update(kill_on="CERTAUTH DELETE(LABEL('Jupyter Local CA'))")
    with pytest.raises(AssertionError, match="delete of ca failed"):
        destroy(host, settings, stack=STACK)
    assert racf.find_cert(host.state, "CERTAUTH", "Jupyter Local CA") is None
    assert "CERT CERTAUTH Jupyter Local CA" in records(host)
    since = host.state["counter"]
    session = host.run(scripts(ordered_steps(settings, STACK)[0][0], settings)[1])
    assert session.rc == 0, session.stderr
    state = host.state
    assert [c for c in mutations(state, since) if "DELETE" in c] == []
    assert racf.racf_view(state) == racf.racf_view(initial)
    assert records(host) == {}


# --- the notebook users' IDs ------------------------------------------------------------------


def test_ids_with_authority_are_refused_before_anything_changes(host):
    settings = base(host, ZOS_USERS='{"alice": "ALICE01", "bob": "BOB01", "carol": "NOSUCH"}')
    state = site_state(settings)
    state["user_attrs"] = {
        "ALICE01": {"attributes": ["SPECIAL", "OPERATIONS"]},
        "BOB01": {"uid": 0},
    }
    reset(host, settings, state)
    run = deploy(host, settings, stack=STACK, password=PASSWORD, token=TOKEN)
    assert run.failed == "ca"
    errors = [line for line in run.sessions["ca"].stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, run.sessions["ca"].stderr
    for part in (
        "ALICE01 (SPECIAL)",
        "ALICE01 (OPERATIONS)",
        "BOB01 (UID 0)",
        "NOSUCH (not defined to RACF)",
    ):
        assert part in errors[0]
    assert "Nothing was changed" in run.sessions["ca"].stderr
    assert mutations(host.state) == []
    assert records(host) == {}


def test_ids_without_authority_pass_the_check(host):
    settings = base(host)
    state = site_state(settings)
    state["user_attrs"] = {"ALICE01": {"attributes": ["AUDITOR"]}, "BOB01": {"uid": 1001}}
    reset(host, settings, state)
    run = up(host, settings)
    assert "WARNING" not in run.sessions["ca"].stderr
    commands = [e.get("command") for e in host.state["log"] if e["tool"] == "tsocmd"]
    assert {"LISTUSER ALICE01 OMVS", "LISTUSER BOB01 OMVS"} <= set(commands)


# --- two stacks on one z/OS ---------------------------------------------------------------------


def test_two_stacks_share_one_zos_without_collisions(host):
    """Stack `it` (AT-TLS, gateway JKGID) and `it2` (its own TLS, gateway JKGID2), both
    with alice -> ALICE01 and the default CA label: their labels and export data sets do
    not collide (it2's users get hub-issued certificates, no RACF one); the CA both use
    stays until the last stack that uses it is destroyed."""
    one = base(host)
    two = make_settings(
        host,
        attls=False,
        zos_host="127.0.0.1",
        ZOS_KG_USER="JKGID2",
        ZOS_KG_PORT="8100",
        ZOS_KG_CONFIG_DIR=str(host.root / "u" / "jkgid2" / ".jupyter"),
    )
    initial = reset(host, one, site_state(one))
    first = up(host, one, STACK)
    second = up(host, two, "it2")
    state = host.state
    assert state["violations"] == []
    # `it2` without AT-TLS: the hub issues its users' certificates, RACF makes none.
    assert racf.find_cert(state, "ALICE01", client_label(STACK)) is not None
    assert racf.find_cert(state, "ALICE01", client_label("it2")) is None
    assert client_label(STACK) != client_label("it2")
    assert "alice" in first.pems and "alice" not in second.pems
    exports = [
        c.split("DSN('")[1].split("'")[0]
        for e in state["log"]
        if e["tool"] == "mvscmdauth"
        for c in e["commands"]
    ]
    by_stack = {dsn.split(".")[2] for dsn in exports}
    assert len(by_stack) == 2, exports

    destroy(host, one, stack=STACK)
    state = host.state
    assert racf.find_cert(state, "ALICE01", client_label(STACK)) is None
    assert racf.find_cert(state, "CERTAUTH", "Jupyter Local CA") is not None, "it2 uses it"
    assert racf.find_cert(state, "JKGID2", "JKG Server Cert") is not None
    destroy(host, two, stack="it2")
    state = host.state
    assert racf.racf_view(state) == racf.racf_view(initial)
    assert state["violations"] == [] and state["pending"] == {}
    assert records(host) == {}
