"""ZOS_RACF_MODE=admin on the z/OS double (tests/zos_double), over a real sshd on
127.0.0.1: the security administrator's script, as the program renders it, runs as the
administrator (IBMUSER, SPECIAL) and leaves RACF and PAGENT as the program-mode steps
would, plus one PKCS#12 export per user; then the program, as the gateway's own ID with
no RACF authority, runs its steps (preflight, the gateway's config and start) without a
single RACF command, takes those exports as ZOS_USER_CERTS, and delivers them on this
machine with the same split and files as its own exports; the delivered certificate
completes mutual TLS against the RACF server certificate the script made, trusted by the
CA the script connected to the gateway's ring (what AT-TLS's SAFCheck is configured by).
"""

from __future__ import annotations

import base64
import json
import re
import stat
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from components.delivery.script import (
    NOTEBOOK_UID,
    DeliveryFiles,
    DeliveryTarget,
    delivery_commands,
    fed_by,
)
from components.delivery.supplied import uuencoded
from components.settings import validate
from components.settings.source import RawConfig
from components.zos.admin_script import render_admin_script
from components.zos.attls import rule_name
from components.zos.export import client_label, render_split_script
from tests.integration.test_zos_preflight import ready_system
from tests.integration.test_zos_ssh import _mutual_tls_handshake
from tests.tooling import missing
from tests.zos_double import gateway, racf, uss
from tests.zos_double.deploy import deploy, destroy
from tests.zos_double.host import ZosHost
from tools.mock_graph import settled_event_loop

pytestmark = pytest.mark.integration

STACK = "it"
PASSWORD = "AdminExport7Pw3x"  # distinctive: any leak is found by a plain search
TOKEN = "kgtoken-admin-mode-41c9e2"
USERS = {"alice": "ALICE01", "bob": "BOB01"}


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with settled_event_loop():  # settings hold secrets as Outputs
        zos = ZosHost(tmp_path_factory.mktemp("zos")).start()
        yield zos
        gateway.kill_all(zos.state)
        zos.stop()


def admin_settings(
    host: ZosHost, python, user_certs: dict | None, server_tls: dict | None = None, **extra
):
    """The stack's settings in admin mode: the program logs in as the gateway's own ID.
    Without user_certs: as `make zos-admin-script` validates, the exports not yet made."""
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    values = {
        "ALLOW_DEV_SERVICES": "true",
        "HUB_ADMIN_USERS": '["alice"]',
        "HUB_ALLOWED_USERS": '["bob"]',
        "ZOS_HOST": "127.0.0.1",
        "ZOS_SSH_USER": "JKGID",
        "ZOS_SSH_PRIVATE_KEY": key.decode(),
        "ZOS_SSH_HOST_KEY": " ".join(host.host_public_key),
        "ZOS_USERS": json.dumps(USERS),
        "ZOS_KG_CONFIG_DIR": str(host.root / "u" / "jkgid" / ".jupyter"),
        "ZOS_ATTLS_POLICY_PATH": str(host.root / "etc" / "pagent" / "jhzos.policy"),
        "ZOS_KG_PYTHON": str(python),
        "ZOS_KG_LIFECYCLE": "process",
        "ZOS_RACF_MODE": "admin",
        **extra,
    }
    secret = {"ZOS_SSH_PRIVATE_KEY"}
    if user_certs is not None:
        values["ZOS_USER_CERTS"] = json.dumps(user_certs)
        secret.add("ZOS_USER_CERTS")
    if server_tls is not None:
        values["ZOS_KG_SERVER_TLS"] = json.dumps(server_tls)
        secret.add("ZOS_KG_SERVER_TLS")
    raw = RawConfig("jupyterhub-zos", values, frozenset(secret))
    skip = (
        frozenset()
        if user_certs is not None
        else frozenset({"ZOS_USER_CERTS", "ZOS_KG_SERVER_TLS"})
    )
    return validate(raw, STACK, skip=skip)


def as_program_user(host: ZosHost) -> int:
    """From now on the SSH user is JKGID: no SPECIAL, no CLAUTH, UID 1001. Returns the
    double's invocation counter, to look at what ran after it."""
    state = host.state
    state["ssh_user"] = "JKGID"
    view = uss.uss(state)
    view["uids"]["JKGID"] = 1001
    view["attributes"].pop("JKGID", None)
    racf.save(host.state_path, state)
    return state["counter"]


def run_admin_script(host: ZosHost, script: str, action: str = "up"):
    path = host.root / "jupyterhub-zos-admin-it.sh"
    path.write_text(script)
    (host.root / "p12pw").write_text(PASSWORD + "\n")
    (host.root / "p12pw").chmod(0o600)
    env = (
        f"JHZOS_P12_PASSWORD_FILE='{host.root / 'p12pw'}' "
        f"JHZOS_EXPORT_DIR='{host.root / 'exports'}' JHZOS_HLQ=SECADM"
    )
    return host.run(f"{env} sh '{path}' {action}")


def racf_calls(state: dict, since: int) -> list[str]:
    return [
        e.get("command") or " ".join([e["tool"], *e["argv"]])
        for e in state["log"]
        if e["n"] > since and e["tool"] in ("tsocmd", "mvscmdauth")
    ]


@pytest.fixture(scope="module")
def admin_run(host):
    """The whole flow once: the program's preflight refuses to start the gateway before
    the script ran; the script (twice: the second changes nothing); the program with the
    exports; its destroy; the script's `down`."""
    python = ready_system(host)
    before_script = admin_settings(host, python, None)
    script = render_admin_script(before_script.zos, STACK, before_script.gateway.url)
    out = {"script": script, "python": python}

    # Before the administrator ran it: no RACF call, and no gateway on a plain port.
    since = as_program_user(host)
    early = deploy(host, before_script, stack=STACK, password="", token=TOKEN, whole=True)
    out["early"] = early
    out["early_racf"] = racf_calls(host.state, since)
    state = host.state
    state["ssh_user"] = "IBMUSER"
    racf.save(host.state_path, state)

    # The administrator runs it (SPECIAL), then again.
    first = run_admin_script(host, script)
    out["first"] = first
    out["view"] = racf.racf_view(host.state)
    out["state"] = host.state
    exports = host.root / "exports"
    out["exports"] = {p.name: p.read_text() for p in sorted(exports.iterdir())}
    out["export_modes"] = {p.name: stat.S_IMODE(p.stat().st_mode) for p in exports.iterdir()}
    counter = host.state["counter"]
    again = run_admin_script(host, script)
    out["again"] = again
    out["again_mutations"] = [
        e.get("command") or e["tool"]
        for e in host.state["log"]
        if e["n"] > counter and e.get("mutates")
    ]
    out["view_again"] = racf.racf_view(host.state)

    # The operator's part: the exports as ZOS_USER_CERTS, the program as JKGID.
    user_certs = {
        user: {"p12": _base64_of(out["exports"][f"{user}.p12.b64"]), "password": PASSWORD}
        for user in USERS
    }
    settings = admin_settings(host, python, user_certs)
    out["settings"], out["user_certs"] = settings, user_certs
    since = as_program_user(host)
    run = deploy(host, settings, stack=STACK, password="", token=TOKEN, whole=True)
    out["run"] = run
    out["program_racf"] = racf_calls(host.state, since)
    out["after_program"] = host.state
    out["texts"] = host.command_texts()
    destroy(host, settings, stack=STACK, whole=True)
    out["program_racf_destroy"] = racf_calls(host.state, since)
    out["after_destroy_view"] = racf.racf_view(host.state)
    state = host.state
    state["ssh_user"] = "IBMUSER"
    racf.save(host.state_path, state)
    out["down"] = run_admin_script(host, script, "down")
    out["after_down"] = host.state
    return out


def _base64_of(uuencoded: str) -> str:
    lines = uuencoded.strip().splitlines()
    assert lines[0].startswith("begin-base64 ") and lines[-1] == "===="
    return "".join(lines[1:-1])


def test_the_script_does_the_racf_and_attls_steps_as_the_administrator(admin_run):
    first = admin_run["first"]
    assert first.rc == 0, first.stderr
    view = admin_run["view"]
    label = client_label(STACK)
    assert {(o, lbl) for o, lbl, _s in view["certs"]} == {
        ("CERTAUTH", "Jupyter Local CA"),
        ("JKGID", "JKG Server Cert"),
        ("ALICE01", label),
        ("BOB01", label),
    }
    assert view["rings"]["JKGID/JKGRing"] == [
        ("CERTAUTH", "Jupyter Local CA", "CERTAUTH", False),
        ("JKGID", "JKG Server Cert", "PERSONAL", True),
    ]
    profiles = view["profiles"]
    assert profiles["FACILITY IRR.DIGTCERT.LISTRING"] == ("NONE", [("JKGID", "READ")])
    for zos_id in USERS.values():
        assert profiles[f"SURROGAT BPX.SRV.{zos_id}"] == ("NONE", [("JKGID", "READ")])
    assert "SURROGAT BPX.SRV.**" not in profiles
    assert "FSSEC" in view["classes"]["active"]
    state = admin_run["state"]
    assert rule_name(8099) in state["pagent"]["rules"]
    assert state["pending"] == {} and state["violations"] == []
    assert view["datasets"] == []  # the export data sets are gone again
    # The exports: one per user, 0600, under the administrator's HLQ on the way.
    assert sorted(admin_run["exports"]) == ["alice.p12.b64", "bob.p12.b64"]
    assert set(admin_run["export_modes"].values()) == {0o600}
    dsns = {e["command"] for e in state["log"] if (e.get("command") or "").startswith("DELETE '")}
    assert dsns and all(d.startswith("DELETE 'SECADM.JHZOS.") for d in dsns), dsns
    # The seed's order.
    steps = re.findall(r"jupyterhub-zos-admin: step ([a-z-]+)", first.stderr)
    assert steps == [
        "ca",
        "ring",
        "server-cert",
        "connect",
        "listring",
        "attls",
        "surrogat",
        "fssec",
        "user-alice",
        "user-bob",
    ]


def test_the_script_run_again_changes_nothing(admin_run):
    assert admin_run["again"].rc == 0, admin_run["again"].stderr
    # Lists and re-exports only: no RACF object defined, deleted or changed.
    assert admin_run["view_again"] == admin_run["view"]
    changed = [
        m
        for m in admin_run["again_mutations"]
        if not re.match(r"(RACDCERT EXPORT|DELETE |mvscmdauth|chtag)", m or "")
    ]
    assert changed == [], changed


def test_no_secret_in_the_script_or_any_command_text(admin_run):
    assert PASSWORD not in admin_run["script"] and TOKEN not in admin_run["script"]
    for text in admin_run["texts"]:
        assert PASSWORD not in text and TOKEN not in text
    for entry in admin_run["after_program"]["log"]:
        assert PASSWORD not in " ".join(entry["argv"])


def test_the_program_runs_no_racf_command(admin_run):
    # Before the script: the preflight (no RACF call) refuses to start a gateway whose
    # port no AT-TLS rule covers yet.
    early = admin_run["early"]
    assert early.failed == "preflight"
    assert f"the AT-TLS rule {rule_name(8099)} is not installed" in (
        early.sessions["preflight"].stderr
    )
    assert admin_run["early_racf"] == []
    run = admin_run["run"]
    assert run.ok, run.sessions[run.failed].stderr
    assert run.order == ["preflight", "kg-config", "kg-service"]
    assert "ZOS_RACF_MODE=admin: no RACF command is run" in run.sessions["preflight"].stderr
    assert "preflight passed" in run.sessions["preflight"].stderr
    assert admin_run["program_racf"] == [] and admin_run["program_racf_destroy"] == []
    # The gateway started under its own ID, with the config the program wrote.
    runs = [r for r in gateway.runs(admin_run["after_program"]) if r["event"] == "start"]
    assert runs and runs[-1]["user"] == "JKGID"
    # The program's destroy left the administrator's RACF objects alone.
    assert admin_run["after_destroy_view"]["certs"] == admin_run["view"]["certs"]


def test_the_script_down_removes_what_it_made(admin_run):
    down = admin_run["down"]
    assert down.rc == 0, down.stderr
    view = racf.racf_view(admin_run["after_down"])
    assert view["certs"] == [] and view["rings"] == {}
    assert not [p for p in view["profiles"] if "LISTRING" in p or "BPX.SRV.ALICE01" in p]
    assert rule_name(8099) not in admin_run["after_down"]["pagent"]["rules"]


def test_the_exports_are_delivered_like_the_programs_own_and_do_mutual_tls(admin_run, tmp_path):
    import os

    if os.geteuid() != 0:
        missing("the delivery writes files owned by uid 1000 as root (CI runs as root)")
    state = admin_run["state"]
    # What the program feeds alice's delivery (the graph's stdin, test_admin_mode.py):
    # the password line and the PKCS#12 as an export step prints it.
    entry = admin_run["user_certs"]["alice"]
    stdin = f"{entry['password']}\n{uuencoded(base64.b64decode(entry['p12']))}"
    files = DeliveryFiles(str(tmp_path / "pki"), "alice", "key.pem", "cert.pem", "cacert.pem")
    plain = delivery_commands(files, DeliveryTarget("local"))
    create = fed_by(render_split_script(), plain["create"])
    done = subprocess.run(
        ["/bin/sh", "-c", create], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    directory = tmp_path / "pki" / "alice"
    paths = {n: directory / n for n in ("key.pem", "cert.pem", "cacert.pem")}
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (directory, *paths.values())}
    assert modes == {"alice": 0o700, "key.pem": 0o600, "cert.pem": 0o644, "cacert.pem": 0o644}
    assert {p.stat().st_uid for p in (directory, *paths.values())} == {NOTEBOOK_UID}
    racf_cert = racf.find_cert(state, "ALICE01", client_label(STACK))
    assert paths["cert.pem"].read_text().strip() == racf_cert["cert_pem"].strip()

    # Mutual TLS as the ring sets it up: the server certificate the script made, clients
    # checked against the CA connected to the ring; alice with the delivered files.
    server = racf.find_cert(state, "JKGID", "JKG Server Cert")
    ca = racf.find_cert(state, "CERTAUTH", "Jupyter Local CA")
    side = {
        "kg_server_cert.pem": server["cert_pem"],
        "kg_server_key.pem": server["key_pem"],
        "kg_client_ca.pem": ca["cert_pem"],
    }
    for name, text in side.items():
        (tmp_path / name).write_text(text)
    client = {
        "cert.pem": paths["cert.pem"].read_text(),
        "key.pem": paths["key.pem"].read_text(),
        "ca.pem": paths["cacert.pem"].read_text(),
    }
    _mutual_tls_handshake({n: tmp_path / n for n in side}, client, tmp_path)
