"""ZOS_RACF_MODE=admin with ZOS_ATTLS=false on the z/OS double, over a real sshd on
127.0.0.1: the administrator's script (as rendered) makes the CA, the gateway's server
certificate and the users' certificates, and exports each, the gateway's to
kg-server.p12.b64, with no key ring, AT-TLS policy, SURROGAT or FSSEC; the program, as the
gateway's own ID with no RACF authority, takes the exports as ZOS_KG_SERVER_TLS and
ZOS_USER_CERTS, runs no RACF command, writes the gateway's certificate, key and the
administrator's CA to its config dir (split as the program's own export is), starts it,
and alice's delivered files complete mutual TLS against exactly those files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from components.zos.export import client_label
from components.zos.kg_config import TLS_FILES
from tests.integration.test_zos_admin_mode import (
    PASSWORD,
    STACK,
    TOKEN,
    USERS,
    _base64_of,
    admin_settings,
    as_program_user,
    racf_calls,
    run_admin_script,
)
from tests.integration.test_zos_preflight import ready_system
from tests.integration.test_zos_ssh import _mutual_tls_handshake
from tests.zos_double import gateway, racf
from tests.zos_double.deploy import deploy, destroy, split
from tests.zos_double.host import ZosHost
from tools.mock_graph import settled_event_loop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with settled_event_loop():
        zos = ZosHost(tmp_path_factory.mktemp("zos")).start()
        yield zos
        gateway.kill_all(zos.state)
        zos.stop()


@pytest.fixture(scope="module")
def flow(host):
    from components.zos.admin_script import render_admin_script

    python = ready_system(host)
    before = admin_settings(host, python, None, ZOS_ATTLS="false")
    script = render_admin_script(before.zos, STACK, before.gateway.url)
    out = {"script": script}
    first = run_admin_script(host, script)
    out["first"], out["state"] = first, host.state
    exports = host.root / "exports"
    out["exports"] = {p.name: p.read_text() for p in sorted(exports.iterdir())}
    out["modes"] = {p.name: stat.S_IMODE(p.stat().st_mode) for p in exports.iterdir()}
    user_certs = {
        user: {"p12": _base64_of(out["exports"][f"{user}.p12.b64"]), "password": PASSWORD}
        for user in USERS
    }
    server_tls = {"p12": _base64_of(out["exports"]["kg-server.p12.b64"]), "password": PASSWORD}
    settings = admin_settings(host, python, user_certs, server_tls, ZOS_ATTLS="false")
    out["settings"] = settings
    # What the program's server-pem command prints: the same split as its own exports.
    pems = split(out["exports"]["kg-server.p12.b64"], PASSWORD)
    out["pems"] = pems
    since = as_program_user(host)
    run = deploy(
        host, settings, stack=STACK, password="", token=TOKEN, whole=True, gateway_pems=pems
    )
    out["run"] = run
    out["program_racf"] = racf_calls(host.state, since)
    config_dir = Path(settings.zos.kg_config_dir)
    out["config_files"] = {p.name: p.read_text() for p in config_dir.iterdir()}
    out["config_modes"] = {p.name: stat.S_IMODE(p.stat().st_mode) for p in config_dir.iterdir()}
    out["after_program"] = host.state
    out["texts"] = host.command_texts()
    destroy(host, settings, stack=STACK, whole=True)
    out["program_racf_destroy"] = racf_calls(host.state, since)
    out["after_destroy"] = {p.name for p in config_dir.iterdir()} if config_dir.exists() else set()
    return out


def test_the_script_makes_only_what_the_gateways_own_tls_needs(flow):
    assert flow["first"].rc == 0, flow["first"].stderr
    view = racf.racf_view(flow["state"])
    assert {(o, lbl) for o, lbl, _s in view["certs"]} == {
        ("CERTAUTH", "Jupyter Local CA"),
        ("JKGID", "JKG Server Cert"),
        ("ALICE01", client_label(STACK)),
        ("BOB01", client_label(STACK)),
    }
    assert view["rings"] == {}
    # (BPX.SRV.JKGID is the site's, for su -s: ready_system)
    assert not [p for p in view["profiles"] if "LISTRING" in p or "BPX.SRV.ALICE01" in p]
    assert "FSSEC" not in view["classes"]["active"]
    assert flow["state"]["pagent"]["rules"] == {}
    assert flow["state"]["violations"] == [] and flow["state"]["pending"] == {}
    assert sorted(flow["exports"]) == ["alice.p12.b64", "bob.p12.b64", "kg-server.p12.b64"]
    assert set(flow["modes"].values()) == {0o600}
    assert view["datasets"] == []


def test_the_program_runs_no_racf_and_writes_the_admins_material(flow):
    run = flow["run"]
    assert run.ok, run.sessions[run.failed].stderr
    assert run.order == ["preflight", "kg-config", "kg-service"]
    assert flow["program_racf"] == [] and flow["program_racf_destroy"] == []
    files = flow["config_files"]
    state = flow["state"]
    server = racf.find_cert(state, "JKGID", "JKG Server Cert")
    ca = racf.find_cert(state, "CERTAUTH", "Jupyter Local CA")
    assert files["kg_server_cert.pem"].strip() == server["cert_pem"].strip()
    assert files["kg_client_ca.pem"].strip() == ca["cert_pem"].strip()
    for name in TLS_FILES:
        assert flow["config_modes"][name] == 0o600
    config = files["jupyter_kernel_gateway_config.py"]
    assert "kg_client_ca.pem" in config and "kg_server_key.pem" in config
    runs = [r for r in gateway.runs(flow["after_program"]) if r["event"] == "start"]
    assert runs and runs[-1]["user"] == "JKGID"
    # the program's destroy removes its files, the administrator's RACF objects stay
    assert not set(TLS_FILES) & flow["after_destroy"]


def test_no_secret_in_any_command_text_or_argv(flow):
    key_line = flow["pems"]["key.pem"].splitlines()[1]
    for text in flow["texts"]:
        assert PASSWORD not in text and TOKEN not in text and key_line not in text
    for entry in flow["after_program"]["log"]:
        argv = " ".join(entry["argv"])
        assert PASSWORD not in argv and key_line not in argv


def test_a_users_delivered_files_do_mutual_tls_with_the_gateways(flow, tmp_path):
    state = flow["state"]
    alice = racf.find_cert(state, "ALICE01", client_label(STACK))
    ca = racf.find_cert(state, "CERTAUTH", "Jupyter Local CA")
    # alice's files as the delivery writes them: the split of her export (test_zos_admin_mode
    # runs that delivery itself); the gateway's, as the program wrote them on z/OS
    alice_pems = split(flow["exports"]["alice.p12.b64"], PASSWORD)
    assert alice_pems["cert.pem"].strip() == alice["cert_pem"].strip()
    assert alice_pems["ca.pem"].strip() == ca["cert_pem"].strip()
    paths = {}
    for name in TLS_FILES:
        paths[name] = tmp_path / name
        paths[name].write_text(flow["config_files"][name])
    _mutual_tls_handshake(paths, alice_pems, tmp_path)
