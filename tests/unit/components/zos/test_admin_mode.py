"""ZOS_RACF_MODE=admin: the program runs no RACF command. The graph has no RACF step (only
the preflight, the gateway's config and, if asked, its start), the security
administrator's script (`zos_admin_script`) holds every RACF and AT-TLS step in the seed's
order and no secret, and ZOS_USER_CERTS (the administrator's exports) is checked entry by
entry before any resource, then delivered as the program's own exports are."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest

from components.delivery.script import DeliveryFiles, DeliveryTarget, delivery_commands, fed_by
from components.delivery.supplied import check_all, uuencoded
from components.pki.specs import CertSpec, ca_spec, client_spec
from components.settings import SettingsError, validate
from components.settings.source import RawConfig
from components.zos.admin_script import render_admin_script
from components.zos.export import render_split_script
from components.zos.preflight import zos_steps
from tests.support.certs import Issued, issue
from tools.mock_graph import run_program, settled_event_loop

REMOTE = "command:remote:Command"
LOCAL = "command:local:Command"
PASSWORD = "Adm1nExportPw42"  # distinctive: any leak is found by a plain search
USERS = {"admin": "ADMIN01", "alice": "ALICE01"}


@pytest.fixture(scope="module")
def racf_ca() -> Issued:
    return issue(ca_spec("prod"))


def user_cert(ca: Issued, cn: str, **validity) -> Issued:
    spec = client_spec(cn)
    return issue(CertSpec(**{**spec.__dict__, "validity_hours": 24 * 365}), ca, **validity)


def p12_entry(ca: Issued, cn: str, password: str = PASSWORD, **validity) -> dict[str, str]:
    cert = user_cert(ca, cn, **validity)
    return {"p12": base64.b64encode(cert.pkcs12([ca], password)).decode(), "password": password}


def pem_entry(ca: Issued, cn: str) -> dict[str, str]:
    cert = user_cert(ca, cn)
    return {"cert": cert.cert_pem, "key": cert.key_pem, "ca": ca.cert_pem}


@pytest.fixture(scope="module")
def entries(racf_ca) -> dict[str, dict[str, str]]:
    # admin as a PKCS#12 (as RACDCERT EXPORT writes it), alice as PEM texts.
    return {"admin": p12_entry(racf_ca, "admin"), "alice": pem_entry(racf_ca, "alice")}


def admin_config(zos_config, entries, **extra):
    config, secrets = zos_config
    config = {**config, "ZOS_RACF_MODE": "admin", **extra}
    secrets = {**secrets, "ZOS_USER_CERTS": json.dumps(entries)}
    secrets.pop("ZOS_P12_PASSWORD")
    return config, secrets


def raw(config: dict, secrets: dict) -> RawConfig:
    merged = {**config, **secrets}
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}
    values = {k: str(v).lower() if isinstance(v, bool) else v for k, v in values.items()}
    return RawConfig("jupyterhub-zos", values, frozenset(secrets))


def problems_of(config, secrets) -> list[str]:
    with settled_event_loop(), pytest.raises(SettingsError) as caught:
        validate(raw(config, secrets), "prod")
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def settings_of(config, secrets):
    with settled_event_loop():
        return validate(raw(config, secrets), "prod")


# --- settings: every entry checked, every bad one named, before any resource ----------------


def test_good_entries_pass(zos_config, entries):
    settings = settings_of(*admin_config(zos_config, entries))
    assert settings.zos.racf_mode == "admin"
    assert sorted(settings.zos.user_certs) == ["admin", "alice"]


def test_every_bad_entry_is_named_in_one_error(zos_config, racf_ca):
    other_ca = issue(ca_spec("elsewhere"))
    alice = user_cert(racf_ca, "alice")
    bob_key = user_cert(racf_ca, "bob")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    cases = {
        # wrong key: alice's certificate with another key
        "u1": {"cert": alice.cert_pem, "key": bob_key.key_pem, "ca": racf_ca.cert_pem},
        # wrong CA: signed by racf_ca, given with another CA
        "u2": {**pem_entry(racf_ca, "u2"), "ca": other_ca.cert_pem},
        # expired
        "u3": p12_entry(racf_ca, "u3", not_before=past, not_after=past + dt.timedelta(days=1)),
        # wrong subject: another user's certificate
        "u4": p12_entry(racf_ca, "alice"),
        # bad PKCS#12 password
        "u5": {**p12_entry(racf_ca, "u5"), "password": "not-the-password"},
    }
    users = {u: f"{u.upper()}X" for u in cases}
    config, secrets = admin_config(
        zos_config,
        cases,
        ZOS_USERS=users,
        HUB_ADMIN_USERS=["u1"],
        HUB_ALLOWED_USERS=["u2", "u3", "u4", "u5"],
    )
    found = problems_of(config, secrets)
    text = "\n".join(found)
    expected = {
        "u1": "the private key does not belong to the certificate",
        "u2": "does not chain to the given CA",
        "u3": "expired on",
        "u4": "its subject's CN is 'alice', expected 'u4' or 'U4X'",
        "u5": "does not open with this password",
    }
    for user, message in expected.items():
        assert [p for p in found if p.startswith(f"ZOS_USER_CERTS: {user}: ") and message in p], (
            user,
            text,
        )
    assert len(found) == len(expected), text
    assert PASSWORD not in text and "not-the-password" not in text  # never quoted


def test_missing_and_unknown_entries_and_mixed_cas(zos_config, racf_ca):
    other_ca = issue(ca_spec("elsewhere"))
    entries = {"admin": p12_entry(racf_ca, "admin"), "carol": p12_entry(other_ca, "carol")}
    found = "\n".join(problems_of(*admin_config(zos_config, entries)))
    assert "carol: not a ZOS_USERS hub user" in found
    assert "alice: no exported certificate" in found
    entries = {"admin": p12_entry(racf_ca, "admin"), "alice": p12_entry(other_ca, "alice")}
    found = "\n".join(problems_of(*admin_config(zos_config, entries)))
    assert "the certificates chain to different CAs" in found


def test_a_seed_users_certificate_keeps_its_own_subject(racf_ca):
    # The seed's RACF certificates are named as the site chose ("Spark Client"): the
    # entry says so, and the check holds it to that name.
    entry = {**p12_entry(racf_ca, "Spark Client"), "cn": "Spark Client"}
    good, problems = check_all({"alice": entry}, {"alice": "ALICE01"})
    assert problems == [] and "alice" in good
    good, problems = check_all({"alice": {**entry, "cn": "alice"}}, {"alice": "ALICE01"})
    assert problems and "CN is 'Spark Client'" in problems[0]


def test_two_users_with_one_cn_are_refused(racf_ca):
    """The gateway knows a user by the CN alone (ZOS_ATTLS=false): alice's certificate
    named for her z/OS ID and a hub user alice01's own would share their kernels."""
    users = {"alice": "ALICE01", "alice01": "BOB01"}
    entries = {"alice": p12_entry(racf_ca, "ALICE01"), "alice01": p12_entry(racf_ca, "alice01")}
    assert check_all(entries, users)[1] == []  # behind AT-TLS RACF maps each certificate
    good, problems = check_all(entries, users, distinct_cns=True)
    assert problems == [
        "alice, alice01: their certificates have one subject CN; the gateway "
        "tells users apart by it, so each needs a certificate of their own"
    ]
    entries["alice01"] = p12_entry(racf_ca, "BOB01")
    assert check_all(entries, users, distinct_cns=True)[1] == []


def test_without_attls_the_stack_refuses_one_cn_for_two_users(zos_config, racf_ca):
    entries = {"admin": p12_entry(racf_ca, "alice"), "alice": p12_entry(racf_ca, "alice")}
    entries["admin"]["cn"] = "alice"  # the administrator named it so; the CN check passes
    one_cn = "admin, alice: their certificates have one subject CN"
    # Behind AT-TLS (with another key wrong, so there is a report to read): no such line.
    behind = problems_of(*admin_config(zos_config, entries, HUB_ALLOWED_USERS=["nobody"]))
    assert not [p for p in behind if one_cn in p]
    found = problems_of(*admin_config(zos_config, entries, ZOS_ATTLS=False))
    assert [p for p in found if p.startswith(f"ZOS_USER_CERTS: {one_cn}")], found


def test_shape_and_mode_rules(zos_config, entries):
    config, secrets = admin_config(zos_config, {"admin": {"p12": "x"}, "alice": entries["alice"]})
    assert [p for p in problems_of(config, secrets) if "either p12" in p]
    config, secrets = admin_config(zos_config, entries)
    config["ZOS_RACF_MODE"] = "program"
    assert [p for p in problems_of(config, secrets) if "only used with ZOS_RACF_MODE=admin" in p]
    # Without AT-TLS admin mode needs the gateway's own certificate too (test_admin_mode_tls).
    config, secrets = admin_config(zos_config, entries, ZOS_ATTLS=False)
    assert [p for p in problems_of(config, secrets) if p.startswith("ZOS_KG_SERVER_TLS: with")]
    config, secrets = admin_config(zos_config, entries)
    config["ZOS_USER_CERTS"] = secrets.pop("ZOS_USER_CERTS")  # not --secret
    assert [p for p in problems_of(config, secrets) if "is a secret" in p]


# --- the graph: no RACF step, the supplied certificates delivered ---------------------------


@pytest.fixture(scope="module")
def graph(zos_config, entries):
    config, secrets = admin_config(zos_config, entries, ZOS_KG_LIFECYCLE="process")
    return run_program("dev", config=config, secrets=secrets)


RACF_WORDS = ("RACDCERT", "tsocmd", "SETROPTS", "PERMIT ", "RDEFINE", "mvscmdauth", "LISTUSER")


def assert_only_config_steps_run_over_ssh(graph) -> None:
    """Admin mode: over SSH only the gateway's config and service steps and the preflight
    (its RACF checks switched off); no step's code (comments aside) calls RACF."""
    names = sorted(r.name for r in graph.of_type(REMOTE))
    assert names == [
        "jupyterhub-zos-gateway-kg-config",
        "jupyterhub-zos-kg-service",
        "jupyterhub-zos-preflight",
    ]
    # The preflight's RACF checks are switched off (run on the double: no tsocmd at all,
    # tests/integration/test_zos_admin_mode.py); the other steps call no RACF command.
    preflight = graph.one(REMOTE, "jupyterhub-zos-preflight")
    assert 'RACF="admin"' in preflight.inputs["create"]
    for cmd in graph.of_type(REMOTE):
        if cmd is preflight:
            continue
        for field in ("create", "delete"):
            code = "\n".join(
                line
                for line in (cmd.inputs.get(field) or "").splitlines()
                if not line.lstrip().startswith("#")
            )
            for word in ("RACDCERT", "SETROPTS", "RDEFINE", "mvscmdauth", "tso ", "tsocmd"):
                assert word not in code, (cmd.name, field, word)


def test_no_racf_command_over_ssh(graph):
    assert_only_config_steps_run_over_ssh(graph)
    assert not [r for r in graph.resources if r.type == "jupyterhub-zos:zos:ZosUserCerts"]
    # Nothing is exported by the program, so no export password is generated either.
    passwords = graph.of_type("random:index/randomPassword:RandomPassword")
    assert not [r for r in passwords if r.name.startswith("jupyterhub-zos-")]


def test_supplied_certificates_are_delivered_like_exports(graph, entries):
    admin = graph.one(LOCAL, "jupyterhub-pki-admin")
    alice = graph.one(LOCAL, "jupyterhub-pki-alice")
    # The PKCS#12 goes through the same split as the program's exports; PEM as given;
    # the same files in the same place (tests/unit/components/zos/test_graph.py).
    for user, cmd in (("admin", admin), ("alice", alice)):
        _target, directory, *names = cmd.inputs["triggers"]
        assert names == ["key.pem", "cert.pem", "cacert.pem"]
        files = DeliveryFiles(directory.removesuffix(f"/{user}"), user, *names)
        plain = delivery_commands(files, DeliveryTarget("local"))
        if user == "admin":
            assert cmd.inputs["create"] == fed_by(render_split_script(), plain["create"])
        else:
            assert cmd.inputs["create"] == plain["create"]
        assert cmd.inputs["delete"] == plain["delete"]
    for cmd in (admin, alice):
        assert cmd.is_secret("stdin")
        assert PASSWORD not in cmd.inputs["create"]
        assert "PRIVATE KEY" not in cmd.inputs["create"]
    p12 = base64.b64decode(entries["admin"]["p12"])
    assert admin.inputs["stdin"] == f"{PASSWORD}\n{uuencoded(p12)}"
    assert entries["alice"]["cert"].strip() in alice.inputs["stdin"]
    assert graph.outputs["users_with_client_certs"] == ["admin", "alice"]


def test_admin_script_output_and_no_secret_in_it(graph, entries):
    script = graph.outputs["zos_admin_script"]
    for secret in (PASSWORD, entries["alice"]["key"].splitlines()[1], "PRIVATE KEY-----"):
        assert secret not in script
    for value in graph.config.values():
        if isinstance(value, str) and len(value) > 16 and value in script:
            assert "PRIVATE" not in value
    assert "a-long-enough-gateway-token" not in script


# --- the script: every RACF and AT-TLS step, in the seed's order ----------------------------


def test_script_has_the_seed_steps_in_order(zos_config, entries):
    settings = settings_of(*admin_config(zos_config, entries))
    script = render_admin_script(settings.zos, "prod", settings.gateway.url)
    runs = [line.split('"')[1] for line in script.splitlines() if line.startswith('  say "step ')]
    assert [r.removeprefix("step ").split(":")[0] for r in runs] == [
        "ca",
        "ring",
        "server-cert",
        "connect",
        "listring",
        "attls",
        "surrogat",
        "fssec",
        "user-admin",
        "user-alice",
    ]
    for command in (
        "RACDCERT GENCERT CERTAUTH",
        "RACDCERT ADDRING($RING) ID($KG)",
        "RACDCERT ID($KG) CONNECT(ID($KG) LABEL('$SRV') RING($RING) USAGE(PERSONAL) DEFAULT)",
        "PERMIT {profile} CLASS".replace("{profile}", "IRR.DIGTCERT.LISTRING"),
        "PERMIT BPX.SRV.$SID1 CLASS(SURROGAT) ID($KG) ACCESS(READ)",
        "TTLSRule",
        "ClientAuthType                  SAFCheck",
        "F PAGENT,REFRESH",
        "SETROPTS CLASSACT(FSSEC)",
        "RACDCERT EXPORT(LABEL('$LABEL')) ID($ID)",
    ):
        assert command in script, command
    # The IDs the SURROGAT profiles name, and no SURROGAT generic profile.
    assert 'SID1="ADMIN01"' in script and 'SID2="ALICE01"' in script
    assert "BPX.SRV.**" not in script.split("# --- the steps")[1]
    # A seed user who keeps a certificate they have: skipped on request.
    assert 'case " ${JHZOS_SKIP_USERS:-} " in' in script and '*" alice "*)' in script
    # Idempotent instances: the same text on every render; a changed label, another one.
    assert script == render_admin_script(settings.zos, "prod", settings.gateway.url)
    relabelled = settings_of(*admin_config(zos_config, entries, ZOS_CA_LABEL="Other CA"))
    other = render_admin_script(relabelled.zos, "prod", relabelled.gateway.url)

    def instances(text):
        found = re.findall(r"^SLOT=\"prod/([a-z-]+)\"\nINSTANCE=([0-9a-f]+)$", text, re.M)
        return dict(found)

    before, after = instances(script), instances(other)
    assert before["ring"] == after["ring"] and before["ca"] != after["ca"]
    # The program's SSH steps in admin mode hold none of it.
    steps = zos_steps(settings.zos, "prod", settings.gateway.url)
    assert [s.name for s in steps.gateway] == ["kg-config"] and steps.users == {}
    preflight = steps.preflight.create
    assert 'RACF="admin"' in preflight and 'NEED=""' in preflight and 'SETR_STEPS=""' in preflight


def test_script_is_valid_sh(zos_config, entries, tmp_path):
    import subprocess

    from tests.tooling import require_tool

    settings = settings_of(*admin_config(zos_config, entries))
    path = tmp_path / "admin.sh"
    path.write_text(render_admin_script(settings.zos, "prod", settings.gateway.url))
    subprocess.run([require_tool("sh"), "-n", str(path)], check=True)


def test_the_outputs_page_lists_what_an_admin_mode_stack_exports(graph):
    from tests.unit.docs.test_reference import OUTPUTS, documented_when

    expected = {out for out, (when, *_) in OUTPUTS.items() if documented_when(when, graph.config)}
    assert set(graph.outputs) == expected
    assert "zos_admin_script" not in graph.secret_outputs
