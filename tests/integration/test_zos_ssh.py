"""The z/OS step scripts, exactly as the component renders them, run through a real
OpenSSH sshd on 127.0.0.1 (own host key, checked by the client) against the z/OS double
(tests/zos_double): RACF state, message IDs and return codes, PAGENT, data sets.

One sshd for the module; each test starts from a fresh double state.
"""

from __future__ import annotations

import importlib
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from components.gateway.config import ISOLATION_MODULE, ISOLATION_SOURCE
from components.gateway.pki import CLIENT_CA_PURPOSE
from components.pki.specs import ca_spec
from components.settings import validate
from components.settings.source import RawConfig
from components.zos.attls import rule_name
from components.zos.export import client_label, parse_split_output, render_split_script
from components.zos.kg_config import CONFIG_FILE, MODULE_FILE, TLS_FILES, TOKEN_FILE
from components.zos.steps import step_stdin
from tests.hubconfig import HUB_CONFIG
from tests.support.certs import issue
from tests.tooling import require_tool
from tests.zos_double import cli, racf
from tests.zos_double.deploy import deploy, destroy, ordered_steps, scripts
from tests.zos_double.host import ZosHost
from tools.mock_graph import settled_event_loop

pytestmark = pytest.mark.integration

STACK = "it"
PASSWORD = "P12pw-ffd71c0e9b"  # distinctive, so any leak is found by a plain search
TOKEN = "kgtoken-5e0c2a7d41b94f3a"
USERS = {"alice": "ALICE01", "bob": "BOB01"}
RACF_USERS = ("JKGID", "ALICE01", "BOB01", "OTHER1")
LABEL = client_label(STACK)  # each user's client certificate


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with settled_event_loop():  # settings hold secrets as Outputs
        zos = ZosHost(tmp_path_factory.mktemp("zos")).start()
        yield zos
        zos.stop()


def make_settings(host: ZosHost, *, attls: bool = True, zos_host: str = "zos.example.com", **extra):
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    values = {
        # Only the z/OS steps are under test: the dev directory stands in for LDAP.
        "ALLOW_DEV_SERVICES": "true",
        "HUB_ADMIN_USERS": '["alice"]',
        "HUB_ALLOWED_USERS": '["bob"]',
        "ZOS_HOST": zos_host,
        "ZOS_SSH_USER": "IBMUSER",
        "ZOS_SSH_PRIVATE_KEY": key.decode(),
        "ZOS_SSH_HOST_KEY": " ".join(host.host_public_key),
        "ZOS_USERS": '{"alice": "ALICE01", "bob": "BOB01"}',
        "ZOS_KG_CONFIG_DIR": str(host.root / "u" / "jkgid" / ".jupyter"),
        "ZOS_ATTLS_POLICY_PATH": str(host.root / "etc" / "pagent" / "jhzos.policy"),
        "ZOS_ATTLS": "true" if attls else "false",
        **extra,
    }
    if "ZOS_USERS" in extra and not {"HUB_ADMIN_USERS", "HUB_ALLOWED_USERS"} & set(extra):
        # The hub users are exactly the mapped ones (settings refuse a mismatch).
        users = list(json.loads(extra["ZOS_USERS"]))
        values["HUB_ADMIN_USERS"] = json.dumps(users[:1])
        values["HUB_ALLOWED_USERS"] = json.dumps(users[1:])
    raw = RawConfig("jupyterhub-zos", values, frozenset({"ZOS_SSH_PRIVATE_KEY"}))
    return validate(raw, STACK)


def fresh(host: ZosHost, settings, state: dict | None = None) -> dict:
    """A fresh z/OS: the double's RACF, PAGENT reading the configured policy path."""
    import shutil

    for d in ("u", "etc"):
        shutil.rmtree(host.root / d, ignore_errors=True)
    (host.root / "u" / "jkgid").mkdir(parents=True)
    (host.root / "etc" / "pagent").mkdir(parents=True)
    state = state or racf.initial_state(users=RACF_USERS)
    state["pagent"]["ttls_config"] = settings.zos.attls_policy_path
    host.reset(state)
    return state


def up(host, settings, start: str | None = None, before_step=None, client_ca_pem=None):
    return deploy(
        host,
        settings,
        stack=STACK,
        password=PASSWORD,
        token=TOKEN,
        start=start,
        before_step=before_step,
        client_ca_pem=client_ca_pem,
    )


def mutations(state: dict, since: int = 0) -> list[str]:
    """What changed RACF, PAGENT or files, in order (the double's log)."""
    out = []
    for e in state["log"]:
        if e["n"] > since and e.get("mutates"):
            out.append(e.get("command") or " ".join([e["tool"], *e["argv"]]))
    return out


def cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def cn(name: x509.Name) -> str:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


# --- one clean deployment, a second run, and its destroy, shared by the tests below ------


@pytest.fixture(scope="module")
def clean(host):
    """A fresh z/OS: deploy (with a snapshot before each step, for the failure tests),
    deploy again, destroy. What each phase left is recorded for the tests."""
    settings = make_settings(host)
    initial = fresh(host, settings)
    directory = Path(settings.zos.kg_config_dir)
    policy = Path(settings.zos.attls_policy_path)
    snapshots = {}

    def before(step):
        snapshots[step] = host.snapshot([directory, policy])

    run = up(host, settings, before_step=before)
    assert run.ok, run.sessions[run.failed].stderr
    state = host.state
    files = {
        name: {
            "mode": (directory / name).stat().st_mode & 0o777,
            "owner": cli.get_attr(state, str(directory / name), "owner"),
            "tag": cli.get_attr(state, str(directory / name), "tag"),
            "text": (directory / name).read_text(),
            "stamp": ((directory / name).stat().st_ino, (directory / name).stat().st_mtime_ns),
        }
        for name in sorted(p.name for p in directory.iterdir())
    }
    files["policy"] = {
        "tag": cli.get_attr(state, str(policy), "tag"),
        "stamp": (policy.stat().st_ino, policy.stat().st_mtime_ns),
    }
    first = {
        "run": run,
        "state": state,
        "view": racf.racf_view(state),
        "markers": _markers(host),
        "files": files,
    }
    again = up(host, settings)
    second = {"run": again, "state": host.state}
    second["stamps"] = {
        name: ((directory / name).stat().st_ino, (directory / name).stat().st_mtime_ns)
        for name in files
        if name != "policy"
    } | {"policy": (policy.stat().st_ino, policy.stat().st_mtime_ns)}
    deleted = destroy(host, settings, stack=STACK)
    return {
        "settings": settings,
        "initial": initial,
        "first": first,
        "second": second,
        "deleted": deleted,
        "after_delete": host.state,
        "texts": host.command_texts(),
        "leftovers": {
            "markers": _markers(host),
            "config dir": directory.exists(),
            "policy": policy.exists(),
        },
        "snapshots": snapshots,
    }


def _markers(host) -> dict[str, set[str]]:
    """The step marker files and the ownership records (by the identity they hold)."""
    out = {}
    directory = host.home / ".jupyterhub-zos" / STACK
    if directory.exists():
        out = {p.name: set(p.read_text().splitlines()) for p in sorted(directory.iterdir())}
    return out | {f"record {k}": v for k, v in records(host).items()}


def records(host) -> dict[str, set[str]]:
    """The ownership records: identity -> its other lines (state, users)."""
    directory = host.home / ".jupyterhub-zos" / "records"
    if not directory.exists():
        return {}
    out = {}
    for path in sorted(directory.iterdir()):
        first, *rest = path.read_text().splitlines()
        out[first.removeprefix("ID ")] = set(rest)
    return out


def test_fresh_run_defines_everything_in_the_seed_order(clean):
    state, view = clean["first"]["state"], clean["first"]["view"]
    assert state["violations"] == []
    assert state["pending"] == {}, "a RACLISTed change was never refreshed"
    ca = ("CERTAUTH", "Jupyter Local CA")
    assert view["certs"] == sorted(
        [
            ("CERTAUTH", "Jupyter Local CA", ()),
            ("JKGID", "JKG Server Cert", ca),
            ("ALICE01", LABEL, ca),
            ("BOB01", LABEL, ca),
        ]
    )
    assert view["rings"] == {
        "JKGID/JKGRing": [
            ("CERTAUTH", "Jupyter Local CA", "CERTAUTH", False),
            ("JKGID", "JKG Server Cert", "PERSONAL", True),
        ]
    }
    assert view["profiles"] == {
        "FACILITY IRR.DIGTCERT.LISTRING": ("NONE", [("JKGID", "READ")]),
        "SURROGAT BPX.SRV.ALICE01": ("NONE", [("JKGID", "READ")]),
        "SURROGAT BPX.SRV.BOB01": ("NONE", [("JKGID", "READ")]),
    }
    for table in ("active", "raclist"):
        assert "SURROGAT" in view["classes"][table]
    assert "SURROGAT" not in view["classes"]["generic"], "no generic profile: GENERIC not needed"
    assert "FSSEC" in view["classes"]["active"]
    assert view["datasets"] == [], "an exported PKCS#12 data set was left behind"

    # The seed's order, as RACF saw it.
    changes = mutations(state)
    expected = [
        "RACDCERT GENCERT CERTAUTH",
        "RACDCERT ADDRING(JKGRing) ID(JKGID)",
        "RACDCERT GENCERT ID(JKGID)",
        "CONNECT(CERTAUTH",
        "CONNECT(ID(JKGID)",
        "PERMIT IRR.DIGTCERT.LISTRING CLASS(FACILITY) ID(JKGID) ACCESS(READ)",
        "F PAGENT,REFRESH",
        "RDEFINE SURROGAT BPX.SRV.ALICE01 UACC(NONE)",
        "PERMIT BPX.SRV.ALICE01 CLASS(SURROGAT) ID(JKGID) ACCESS(READ)",
        "PERMIT BPX.SRV.BOB01 CLASS(SURROGAT) ID(JKGID) ACCESS(READ)",
        "SETROPTS CLASSACT(FSSEC)",
    ]
    positions = [next(i for i, c in enumerate(changes) if e in c) for e in expected]
    assert positions == sorted(positions), changes
    assert "SETROPTS RACLIST(SURROGAT) REFRESH" in changes
    assert "SETROPTS RACLIST(DIGTCERT) REFRESH" in changes
    assert "SETROPTS RACLIST(DIGTRING) REFRESH" in changes
    assert "SETROPTS GENERIC(FACILITY) RACLIST(FACILITY) REFRESH" in changes

    # The server certificate names the host clients use; keys are RSA of ZOS_KEY_SIZE.
    server = cert(racf.find_cert(state, "JKGID", "JKG Server Cert")["cert_pem"])
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["zos.example.com"]
    assert server.public_key().key_size == 2048
    assert all("SIZE(2048)" in c for c in changes if "GENCERT" in c)

    # AT-TLS: installed as IBM-1047 text, and PAGENT installed the rule.
    assert clean["first"]["files"]["policy"]["tag"] == "t IBM-1047"
    assert state["pagent"]["rules"] == {
        rule_name(8099): {
            "port": "8099",
            "direction": "Inbound",
            "keyring": "JKGRing",
            "role": "ServerWithClientAuth",
        }
    }

    # Per user: the hub user's certificate signed by the CA, its key, the CA, in PEM.
    ca_cert = cert(racf.find_cert(state, "CERTAUTH", "Jupyter Local CA")["cert_pem"])
    for user, zos_id in USERS.items():
        files = clean["first"]["run"].pems[user]
        client = cert(files["cert.pem"])
        assert cn(client.subject) == user
        assert client.issuer == ca_cert.subject
        assert client == cert(racf.find_cert(state, zos_id, LABEL)["cert_pem"])
        key = serialization.load_pem_private_key(files["key.pem"].encode(), None)
        assert key.public_key().public_numbers() == client.public_key().public_numbers()
        assert "Bag Attributes" not in "".join(files.values())
        assert cert(files["ca.pem"]) == ca_cert


def test_gateway_config_is_private_loads_and_holds_no_token(clean, tmp_path, monkeypatch):
    from kernel_gateway.gatewayapp import KernelGatewayApp
    from traitlets.config import Application

    files = clean["first"]["files"]
    assert sorted(files) == sorted([CONFIG_FILE, MODULE_FILE, TOKEN_FILE, "policy"])
    for name in (CONFIG_FILE, MODULE_FILE, TOKEN_FILE):
        assert files[name]["mode"] == 0o600, name
        assert files[name]["owner"] == "JKGID", name
        assert files[name]["tag"] == "t IBM-1047", name
    assert TOKEN not in files[CONFIG_FILE]["text"]
    assert files[TOKEN_FILE]["text"].strip() == TOKEN
    # The isolation layer arrives byte for byte (the same file the dev gateway ships).
    assert files[MODULE_FILE]["text"] == ISOLATION_SOURCE.read_text()

    # The gateway loads it: plain HTTP on ZOS_KG_PORT behind AT-TLS, token from the file.
    for name in (CONFIG_FILE, MODULE_FILE, TOKEN_FILE):
        (tmp_path / name).write_text(files[name]["text"])
    monkeypatch.delenv("KG_AUTH_TOKEN", raising=False)
    # The config prepends ZOS_KG_CONFIG_DIR (a z/OS path); here the copies are in tmp_path.
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delitem(sys.modules, ISOLATION_MODULE, raising=False)
    app = KernelGatewayApp()
    Application.load_config_file(app, CONFIG_FILE, path=[str(tmp_path)])
    assert app.api == ISOLATION_MODULE and app.port == 8099 and app.ip == "0.0.0.0"
    assert app.auth_token == TOKEN
    assert not app.certfile and not app.keyfile and not app.client_ca


def test_second_run_changes_nothing(clean):
    first, second = clean["first"], clean["second"]
    assert second["run"].ok
    state = second["state"]
    assert racf.racf_view(state) == first["view"]
    assert state["pagent"]["refreshes"] == first["state"]["pagent"]["refreshes"]
    assert state["violations"] == []
    changed = [
        c
        for c in mutations(state, since=first["state"]["counter"])
        if not c.startswith(("chown ", "chtag "))
    ]
    assert changed == [], f"a second run changed RACF or PAGENT: {changed}"
    assert second["stamps"] == {name: f["stamp"] for name, f in first["files"].items()}


def test_delete_removes_what_was_created(clean):
    state = clean["after_delete"]
    assert racf.racf_view(state) == racf.racf_view(clean["initial"])
    assert state["violations"] == [] and state["pending"] == {}
    assert state["pagent"]["rules"] == {}
    assert clean["leftovers"] == {"markers": {}, "config dir": False, "policy": False}


def test_no_secret_in_any_command_line_or_output(clean):
    state = clean["after_delete"]
    secrets = [PASSWORD, TOKEN]
    # every argv the double's commands saw, every command text sshd received
    argvs = [" ".join(e["argv"]) for e in state["log"]]
    texts = clean["texts"]
    runs = 2 * len(clean["first"]["run"].sessions) + len(clean["deleted"])
    assert len(texts) == runs
    for secret in secrets:
        assert not [a for a in argvs if secret in a]
        assert not [t for t in texts if secret in t]
    # the password did reach RACF: in the SYSTSIN file the TMP read (redacted in the log)
    exports = [e for e in state["log"] if e["tool"] == "mvscmdauth"]
    assert len(exports) == 2 * len(USERS)
    assert all("PASSWORD(*)" in e["commands"][0] for e in exports)
    # nothing the scripts print holds a secret (stdout of an export is the p12 itself)
    sessions = [*clean["first"]["run"].sessions.items(), *clean["second"]["run"].sessions.items()]
    for name, session in [*sessions, *clean["deleted"].items()]:
        shown = session.stderr + ("" if name.startswith("user-") else session.stdout)
        for secret in secrets:
            assert secret not in shown, name


# --- failure at each step, then a rerun -----------------------------------------------------

STEP_NAMES = [
    "ca",
    "user-alice",
    "ring",
    "server-cert",
    "connect",
    "listring",
    "attls",
    "surrogat",
    "fssec",
    "kg-config",
]


def _failure_points(clean) -> list[tuple[str, str, int]]:
    """Per step its last change (everything else in the step is done), and for the step
    with most changes (SURROGAT: class settings, profile, permit) the middle one too."""
    run, log = clean["first"]["run"], clean["first"]["state"]["log"]
    points = []
    for step in STEP_NAMES:
        first, last = run.ranges[step]
        changes = [e["n"] for e in log if first <= e["n"] <= last and e["mutates"]]
        points.append((step, "last change", changes[-1]))
        if len(changes) >= 5:
            points.append((step, "middle change", changes[len(changes) // 2]))
    return points


def test_failure_at_each_step_then_rerun_converges(host, clean):
    """A change refused in a step; then, as Pulumi does, a new `up` runs the failed step
    and those after it. Each case starts from the snapshot the clean run took before
    that step. The result is the clean run's: RACF, PAGENT, files, and the markers that
    decide what a delete removes (test_delete_* show what a delete does with them)."""
    settings = clean["settings"]
    points = _failure_points(clean)
    assert {p[0] for p in points} == set(STEP_NAMES)
    first = clean["first"]
    for step, what, n in points:
        host.restore(clean["snapshots"][step])
        host.update(fail_at=n)
        broken = up(host, settings, start=step)
        where = f"failure at {step} ({what}, invocation {n})"
        assert broken.failed == step, where
        session = broken.sessions[step]
        assert "ERROR" in session.stderr, where
        assert "ICH408I" in session.stderr or "EDC5111I" in session.stderr, where
        host.update(fail_at=None)
        again = up(host, settings, start=step)
        assert again.ok, f"{where}: rerun failed\n{again.sessions[again.failed].stderr}"
        state = host.state
        assert state["violations"] == [], f"{where}: {state['violations']}"
        assert state["pending"] == {}, where
        assert racf.racf_view(state) == first["view"], where
        assert state["pagent"]["rules"] == first["state"]["pagent"]["rules"], where
        assert _markers(host) == first["markers"], where
        files = sorted(p.name for p in Path(settings.zos.kg_config_dir).iterdir())
        assert files == sorted([CONFIG_FILE, MODULE_FILE, TOKEN_FILE]), where


# --- a site with things of its own -------------------------------------------------------------


def test_preexisting_ca_and_site_objects_are_used_and_survive_delete(host):
    settings = make_settings(host)
    initial = fresh(host, settings)
    # The site's CA, an intermediate under its root (so the export carries a chain) ...
    racf.seed_cert(initial, owner="CERTAUTH", label="Site Root", subject="CN('Root')", ca=True)
    ca = racf.seed_cert(
        initial,
        owner="CERTAUTH",
        label="Jupyter Local CA",
        subject="CN('Site Jupyter CA') O('site')",
        ca=True,
        signer=("CERTAUTH", "Site Root"),
    )
    # ... the gateway's ring with the CA on it, another user's certificate and ring,
    # the LISTRING profile with someone else on it, SURROGAT active and RACLISTed.
    initial["rings"]["JKGID"] = {
        "JKGRing": [
            {
                "owner": "CERTAUTH",
                "label": "Jupyter Local CA",
                "usage": "CERTAUTH",
                "default": False,
            }
        ]
    }
    racf.seed_cert(
        initial,
        owner="OTHER1",
        label="Other",
        subject="CN('other')",
        ca=False,
        signer=("CERTAUTH", "Site Root"),
    )
    initial["rings"]["OTHER1"] = {"OtherRing": []}
    initial["profiles"]["FACILITY"]["IRR.DIGTCERT.LISTRING"] = {
        "uacc": "NONE",
        "acl": {"OTHER1": "READ"},
        "owner": "IBMUSER",
    }
    initial["classes"]["active"].append("SURROGAT")
    initial["classes"]["raclist"].append("SURROGAT")
    host.reset(initial)

    run = up(host, settings)
    assert run.ok, run.sessions[run.failed].stderr
    state = host.state
    changes = mutations(state)
    assert not [c for c in changes if "GENCERT CERTAUTH" in c or "ADDRING" in c]
    assert not [c for c in changes if "CONNECT(CERTAUTH" in c or "RDEFINE FACILITY" in c]
    surrogat_on = ("SETROPTS CLASSACT(SURROGAT)", "SETROPTS RACLIST(SURROGAT)")
    assert not [c for c in changes if c in surrogat_on]
    assert not [c for c in changes if "GENERIC(SURROGAT)" in c]
    assert "exists already: it is used" in run.sessions["ca"].stderr
    for files in run.pems.values():
        chain = x509.load_pem_x509_certificates(files["ca.pem"].encode())
        assert [cn(c.subject) for c in chain] == ["Site Jupyter CA", "Root"]
    assert state["violations"] == [] and state["pending"] == {}

    destroy(host, settings, stack=STACK)
    state = host.state
    assert racf.find_cert(state, "CERTAUTH", "Jupyter Local CA")["cert_pem"] == ca["cert_pem"]
    assert racf.racf_view(state) == racf.racf_view(initial)
    assert state["violations"] == [] and state["pending"] == {}


# --- secrets and the host key ---------------------------------------------------------------------


def test_host_key_is_checked(host, tmp_path):
    other = tmp_path / "other_key"
    keygen = require_tool("ssh-keygen")
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{host.port} {(tmp_path / 'other_key.pub').read_text()}")
    session = host.run("true", known_hosts=known)
    assert session.rc != 0
    assert "host key" in session.stderr.lower()


# --- refusals (one step each) ---------------------------------------------------------------


def step(settings, name):
    return next(s for s in ordered_steps(settings, STACK)[0] if s.name == name)


def test_policy_not_installed_by_pagent_fails_loudly(host):
    settings = make_settings(host)
    state = fresh(host, settings)
    state["pagent"]["ttls_config"] = str(host.root / "etc" / "pagent" / "site.policy")
    host.reset(state)
    session = host.run(scripts(step(settings, "attls"), settings)[0])
    assert session.rc != 0
    assert "PAGENT did not install TTLS rule jhzosKG8099" in session.stderr
    assert host.state["pagent"]["refreshes"] == 1


def test_existing_policy_file_is_not_overwritten(host):
    settings = make_settings(host)
    fresh(host, settings)
    policy = Path(settings.zos.attls_policy_path)
    policy.write_text("# the site's own policy\n")
    session = host.run(scripts(step(settings, "attls"), settings)[0])
    assert session.rc != 0
    assert "not written by jupyterhub-zos" in session.stderr
    assert policy.read_text() == "# the site's own policy\n"
    assert host.run(scripts(step(settings, "attls"), settings)[1]).rc == 0
    assert policy.read_text() == "# the site's own policy\n"
    assert host.state["pagent"]["refreshes"] == 0


def test_existing_gateway_config_is_kept_aside_and_put_back(host):
    settings = make_settings(host)
    fresh(host, settings)
    directory = Path(settings.zos.kg_config_dir)
    directory.mkdir()
    (directory / CONFIG_FILE).write_text("c.KernelGatewayApp.ip = '10.0.0.1'\n")
    kg = step(settings, "kg-config")
    stdin = step_stdin(kg, password=PASSWORD, token=TOKEN)
    assert host.run(scripts(kg, settings)[0], stdin).rc == 0
    assert "port = 8099" in (directory / CONFIG_FILE).read_text()
    assert host.run(scripts(kg, settings)[1]).rc == 0
    assert (directory / CONFIG_FILE).read_text() == "c.KernelGatewayApp.ip = '10.0.0.1'\n"
    assert sorted(p.name for p in directory.iterdir()) == [CONFIG_FILE]


# --- without AT-TLS: the gateway's own TLS from the RACF certificate -----------------------------


def test_without_attls_the_gateway_gets_its_racf_certificate(host):
    """The gateway's own TLS from RACF's server certificate; client certificates from the
    hub's client CA (no RACF certificate per user), as the program wires it."""
    settings = make_settings(host, attls=False, zos_host="127.0.0.1")
    fresh(host, settings)
    client_ca = issue(ca_spec(CLIENT_CA_PURPOSE))
    run = up(host, settings, client_ca_pem=client_ca.cert_pem)
    assert run.ok, run.sessions[run.failed].stderr
    assert run.order == ["ca", "server-cert", "server-export", "kg-config"]
    state = host.state
    assert state["violations"] == [] and state["pending"] == {}
    view = racf.racf_view(state)
    assert view["rings"] == {} and view["profiles"] == {}  # no ring, no SURROGAT, no FSSEC
    assert "FSSEC" not in view["classes"]["active"]
    directory = Path(settings.zos.kg_config_dir)
    paths = {name: directory / name for name in TLS_FILES}
    for path in paths.values():
        assert path.stat().st_mode & 0o777 == 0o600
    server_pem = racf.find_cert(state, "JKGID", "JKG Server Cert")["cert_pem"]
    assert cert(paths["kg_server_cert.pem"].read_text()) == cert(server_pem)
    config = (directory / CONFIG_FILE).read_text()
    assert f"c.KernelGatewayApp.certfile = {str(paths['kg_server_cert.pem'])!r}" in config
    assert f"c.KernelGatewayApp.client_ca = {str(paths['kg_client_ca.pem'])!r}" in config
    secret_key = paths["kg_server_key.pem"].read_text()
    assert not [e for e in state["log"] if _pem_body(secret_key) in " ".join(e["argv"])]
    assert not [t for t in host.command_texts() if _pem_body(secret_key) in t]

    assert cert(paths["kg_client_ca.pem"].read_text()) == client_ca.cert
    # Mutual TLS with this material works: the certificate the hub issues alice at spawn
    # (the shipped issuer) against the gateway's files, alice verifying the gateway by
    # the RACF CA the hub hands her (server name 127.0.0.1, as KG_URL names it).
    issued = hub_issuer().issue("alice", client_ca.key, client_ca.cert, 24)
    alice = {"cert.pem": issued.cert_pem.decode(), "key.pem": issued.key_pem.decode()}
    alice["ca.pem"] = run.gateway_pems["ca.pem"]
    _mutual_tls_handshake(paths, alice, host.root)

    destroy(host, settings, stack=STACK)
    assert not any(path.exists() for path in paths.values())
    assert racf.racf_view(host.state)["certs"] == []


def hub_issuer():
    """images/hub/jhz_client_certs.py, the module the hub image ships."""
    sys.path.insert(0, str(HUB_CONFIG.parent))
    return importlib.import_module("jhz_client_certs")


def _pem_body(pem: str) -> str:
    return "".join(pem.strip().splitlines()[1:-1])[:64]


def _mutual_tls_handshake(paths: dict[str, Path], client: dict[str, str], tmp: Path) -> None:
    for name, text in client.items():
        (tmp / f"client-{name}").write_text(text)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(paths["kg_server_cert.pem"], paths["kg_server_key.pem"])
    server_ctx.load_verify_locations(paths["kg_client_ca.pem"])
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=str(tmp / "client-ca.pem"))
    client_ctx.load_cert_chain(tmp / "client-cert.pem", tmp / "client-key.pem")
    a, b = socket.socketpair()
    seen = {}

    def serve():
        with server_ctx.wrap_socket(a, server_side=True) as s:
            seen["peer"] = s.getpeercert()
            s.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with client_ctx.wrap_socket(b, server_hostname="127.0.0.1") as c:
        assert c.recv(2) == b"ok"
    thread.join(timeout=10)
    subject = dict(x[0] for x in seen["peer"]["subject"])
    assert subject["commonName"] == "alice"


def test_scripts_fail_loudly_with_racf_s_message_on_an_unexpected_answer(host):
    settings = make_settings(host)
    fresh(host, settings)
    # RACF says the ring owner is unknown: the ring step must stop and show RACF's words.
    state = host.state
    state["users"].remove("JKGID")
    racf.save(host.state_path, state)
    session = host.run(scripts(step(settings, "ring"), settings)[0])
    assert session.rc != 0
    stderr = session.stderr
    assert re.search(r"RC 8 from: RACDCERT ADDRING\(JKGRing\) ID\(JKGID\)", stderr)
    assert "JKGID is not defined to RACF" in stderr


# --- the PKCS#12 -> PEM split, for real with openssl, on PKCS#12 files made here ---------------


@pytest.fixture(scope="module")
def chain():
    """root CA -> intermediate CA -> client certificate (RSA, as RACF makes them)."""
    root_key, root_pem = racf.make_cert(
        subject="CN('Root CA')", size=2048, ca=True, signer=None, notafter=None
    )
    root = {"cert_pem": root_pem, "key_pem": root_key}
    mid_key, mid_pem = racf.make_cert(
        subject="CN('Jupyter CA')", size=2048, ca=True, signer=root, notafter=None
    )
    mid = {"cert_pem": mid_pem, "key_pem": mid_key}
    key_pem, cert_pem = racf.make_cert(
        subject="CN('alice') O('jupyterhub-zos')", size=2048, ca=False, signer=mid, notafter=None
    )
    return {"key": key_pem, "cert": cert_pem, "cas": [mid_pem, root_pem]}


def _p12(chain, tmp_path, how: str, password: str = PASSWORD, with_cas: bool = True) -> bytes:
    openssl = require_tool("openssl")
    (tmp_path / "key.pem").write_text(chain["key"])
    (tmp_path / "cert.pem").write_text(chain["cert"])
    (tmp_path / "cas.pem").write_text("".join(chain["cas"]))
    (tmp_path / "pass").write_text(password + "\n")
    if how == "3des":
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.serialization import pkcs12

        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 - what older PKCS#12 writers use
            .build(password.encode())
        )
        return pkcs12.serialize_key_and_certificates(
            b"JupyterHub Client",
            serialization.load_pem_private_key(chain["key"].encode(), None),
            cert(chain["cert"]),
            [cert(c) for c in chain["cas"]] if with_cas else None,
            encryption,
        )
    args = [openssl, "pkcs12", "-export", "-in", str(tmp_path / "cert.pem")]
    args += ["-inkey", str(tmp_path / "key.pem"), "-name", "JupyterHub Client"]
    args += ["-passout", f"file:{tmp_path / 'pass'}", "-out", str(tmp_path / "out.p12")]
    if with_cas:
        args += ["-certfile", str(tmp_path / "cas.pem")]
    if how == "legacy":
        args.append("-legacy")  # RC2-40 and 3DES: OpenSSL 3 reads it only with -legacy
    subprocess.run(args, check=True, capture_output=True)
    return (tmp_path / "out.p12").read_bytes()


def _uuencoded(data: bytes) -> str:
    """What the export step prints: uuencode -m, after the step's own lines."""
    return f"some other line\n{cli.uuencode_m(data, 'p12')}"


def _split(stdout: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/sh", "-c", render_split_script()],
        input=password + "\n" + stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("how", ["modern", "3des", "legacy"])
def test_split_turns_a_pkcs12_into_pem_as_the_seed_does(how, chain, tmp_path):
    result = _split(_uuencoded(_p12(chain, tmp_path, how)))
    assert result.returncode == 0, result.stderr
    files = parse_split_output(result.stdout)
    assert cert(files["cert.pem"]) == cert(chain["cert"])
    # the chain whole, in the PKCS#12's order, without Bag Attributes
    assert [
        cert(c.public_bytes(serialization.Encoding.PEM).decode())
        for c in x509.load_pem_x509_certificates(files["ca.pem"].encode())
    ] == [cert(c) for c in chain["cas"]]
    key = serialization.load_pem_private_key(files["key.pem"].encode(), None)
    assert (
        key.private_numbers()
        == serialization.load_pem_private_key(chain["key"].encode(), None).private_numbers()
    )
    for text in files.values():
        assert "Bag Attributes" not in text and "friendlyName" not in text
        assert text.lstrip().startswith("-----BEGIN ")
    # the seed's `openssl verify` ran and passed; -legacy only where it was needed
    assert ": OK" in result.stderr
    assert ("read with -legacy" in result.stderr) == (how == "legacy")


def test_split_output_verifies_with_openssl_like_the_seed(chain, tmp_path):
    files = parse_split_output(_split(_uuencoded(_p12(chain, tmp_path, "legacy"))).stdout)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    verify = subprocess.run(
        [
            require_tool("openssl"),
            "verify",
            "-CAfile",
            str(tmp_path / "ca.pem"),
            str(tmp_path / "cert.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and verify.stdout.strip().endswith(": OK")


def test_split_fails_loudly_on_a_wrong_password(chain, tmp_path):
    result = _split(_uuencoded(_p12(chain, tmp_path, "modern")), password="not-the-password")
    assert result.returncode != 0
    assert "wrong ZOS_P12_PASSWORD?" in result.stderr
    assert result.stdout == ""


def test_split_fails_loudly_without_a_ca_or_without_a_pkcs12(chain, tmp_path):
    result = _split(_uuencoded(_p12(chain, tmp_path, "3des", with_cas=False)))
    assert result.returncode != 0 and "holds no CA certificate" in result.stderr
    result = _split("IRRD107I No matching certificate was found for this user.\n")
    assert result.returncode != 0 and "no uuencoded PKCS#12" in result.stderr


def test_split_fails_when_the_chain_does_not_verify(chain, tmp_path):
    other = dict(chain, cas=[chain["cas"][1]])  # the root only: the intermediate is missing
    result = _split(_uuencoded(_p12(other, tmp_path, "modern")))
    assert result.returncode != 0
    assert "does not verify against its CA chain" in result.stderr
