"""ZOS_RACF_MODE=admin with ZOS_ATTLS=false: the gateway does TLS itself with the
certificate and key the security administrator exported (ZOS_KG_SERVER_TLS), checked
before any resource (key, chain, validity, the gateway's host, the users' CA), written to
the gateway's config dir as the program's own export is, and its CA is what the gateway
checks the users' (administrator-issued) certificates against. The script makes no key
ring, AT-TLS policy, SURROGAT or FSSEC, and exports the gateway's certificate."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from components.pki.specs import CertSpec, ca_spec, server_spec
from components.zos.admin_script import SERVER_EXPORT, render_admin_script
from components.zos.export import render_split_script
from components.zos.kg_config import TLS_FILES, kg_config_stdin
from tests.support.certs import Issued, issue
from tests.unit.components.zos.test_admin_mode import (
    LOCAL,
    PASSWORD,
    REMOTE,
    admin_config,
    assert_only_config_steps_run_over_ssh,
    p12_entry,
    pem_entry,
    problems_of,
    settings_of,
)
from tools.mock_graph import run_program

HOST = "127.0.0.1"  # zos_config's ZOS_HOST, which KG_URL defaults to
TOKEN = "a-long-enough-gateway-token"


@pytest.fixture(scope="module")
def racf_ca() -> Issued:
    return issue(ca_spec("prod"))


def server_cert(ca: Issued, *, ip: tuple[str, ...] = (HOST,), dns=(), **validity) -> Issued:
    spec = server_spec("JKG Server", dns_names=dns, ip_addresses=ip)
    return issue(CertSpec(**{**spec.__dict__, "validity_hours": 24 * 365}), ca, **validity)


def server_p12(ca: Issued, cert: Issued | None = None, password: str = PASSWORD) -> dict:
    cert = cert or server_cert(ca)
    return {"p12": base64.b64encode(cert.pkcs12([ca], password)).decode(), "password": password}


@pytest.fixture(scope="module")
def entries(racf_ca):
    return {"admin": p12_entry(racf_ca, "admin"), "alice": pem_entry(racf_ca, "alice")}


def tls_config(zos_config, entries, server: dict | None, **extra):
    config, secrets = admin_config(zos_config, entries, ZOS_ATTLS=False, **extra)
    if server is not None:
        secrets["ZOS_KG_SERVER_TLS"] = json.dumps(server)
    return config, secrets


# --- settings --------------------------------------------------------------------------------


def test_accepted_with_the_gateways_certificate(zos_config, entries, racf_ca):
    settings = settings_of(*tls_config(zos_config, entries, server_p12(racf_ca)))
    assert settings.zos.racf_mode == "admin" and not settings.zos.attls
    assert settings.zos.server_tls is not None and settings.zos.server_tls.p12_stdin is not None
    cert = server_cert(racf_ca)
    pem = {"cert": cert.cert_pem, "key": cert.key_pem, "ca": racf_ca.cert_pem}
    settings = settings_of(*tls_config(zos_config, entries, pem))
    assert settings.zos.server_tls.p12_stdin is None


def test_each_bad_server_certificate_is_named(zos_config, entries, racf_ca):
    other_ca = issue(ca_spec("elsewhere"))
    good = server_cert(racf_ca)
    wrong_key = server_cert(racf_ca)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    cases = {
        "missing": (None, "with ZOS_RACF_MODE=admin and ZOS_ATTLS=false the gateway does TLS"),
        "wrong key": (
            {"cert": good.cert_pem, "key": wrong_key.key_pem, "ca": racf_ca.cert_pem},
            "the private key does not belong to the certificate",
        ),
        "wrong CA": (
            {"cert": good.cert_pem, "key": good.key_pem, "ca": other_ca.cert_pem},
            "does not chain to the given CA",
        ),
        "expired": (
            server_p12(
                racf_ca, server_cert(racf_ca, not_before=past, not_after=past + dt.timedelta(1))
            ),
            "expired on",
        ),
        "other host": (
            server_p12(racf_ca, server_cert(racf_ca, ip=(), dns=("zos.example.com",))),
            "does not name the gateway's host '127.0.0.1'",
        ),
        "not the users' CA": (
            server_p12(other_ca, server_cert(other_ca)),
            "chains to another CA than the users' certificates of admin, alice",
        ),
        "bad password": (
            {**server_p12(racf_ca), "password": "not-the-password"},
            "does not open with this password",
        ),
    }
    for case, (server, message) in cases.items():
        found = problems_of(*tls_config(zos_config, entries, server))
        assert [p for p in found if p.startswith("ZOS_KG_SERVER_TLS: ") and message in p], (
            case,
            found,
        )
        assert len(found) == 1, (case, found)
        assert PASSWORD not in "\n".join(found) and "not-the-password" not in "\n".join(found)


def test_the_key_is_refused_where_it_is_not_used(zos_config, entries, racf_ca):
    # behind AT-TLS the gateway's certificate is the one on its ring
    config, secrets = admin_config(zos_config, entries)
    secrets["ZOS_KG_SERVER_TLS"] = json.dumps(server_p12(racf_ca))
    assert [p for p in problems_of(config, secrets) if "only used with ZOS_ATTLS=false" in p]
    # program mode makes its own
    config, secrets = tls_config(zos_config, entries, server_p12(racf_ca))
    config["ZOS_RACF_MODE"] = "program"
    secrets.pop("ZOS_USER_CERTS")
    secrets["ZOS_P12_PASSWORD"] = "p12-password-long"
    found = problems_of(config, secrets)
    assert found == [
        "ZOS_KG_SERVER_TLS: is only used with ZOS_RACF_MODE=admin (the program makes the "
        "certificates itself otherwise); set that or unset this key"
    ], found
    # a secret: refused in plain config
    config, secrets = tls_config(zos_config, entries, server_p12(racf_ca))
    config["ZOS_KG_SERVER_TLS"] = secrets.pop("ZOS_KG_SERVER_TLS")
    assert [p for p in problems_of(config, secrets) if p.startswith("ZOS_KG_SERVER_TLS: ")]


def test_every_hub_user_needs_a_certificate_from_the_administrator(zos_config, entries, racf_ca):
    """No AT-TLS, but the hub issues nothing here: a hub user without ZOS_USERS entry (and
    so without an administrator's certificate) is refused, as behind AT-TLS."""
    config, secrets = tls_config(
        zos_config, entries, server_p12(racf_ca), HUB_ALLOWED_USERS=["alice", "carol"]
    )
    (problem,) = [p for p in problems_of(config, secrets) if p.startswith("HUB_ALLOWED_USERS: ")]
    assert problem.startswith("HUB_ALLOWED_USERS: carol has no ZOS_USERS entry")
    # Kernels run as ZOS_KG_USER here: the message names the certificate, not a z/OS ID.
    assert "the hub issues no client certificate" in problem
    assert "own z/OS user ID" not in problem


# --- the graph -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(racf_ca):
    cert = server_cert(racf_ca)
    return cert, server_p12(racf_ca, cert)


@pytest.fixture(scope="module")
def graph(zos_config, entries, server):
    config, secrets = tls_config(zos_config, entries, server[1], ZOS_KG_LIFECYCLE="process")
    return run_program("dev", config=config, secrets=secrets)


def test_the_outputs_page_lists_what_this_stack_exports(graph):
    """The users' certificates are delivered (users_with_client_certs), and there is no
    client CA of the program's (gateway_client_ca_cert)."""
    from tests.unit.docs.test_reference import OUTPUTS, documented_when

    expected = {out for out, (when, *_) in OUTPUTS.items() if documented_when(when, graph.config)}
    assert set(graph.outputs) == expected
    assert "users_with_client_certs" in expected and "gateway_client_ca_cert" not in expected


def test_the_graph_runs_no_racf_and_issues_nothing(graph):
    assert_only_config_steps_run_over_ssh(graph)
    # no pulumi-tls client CA: the hub issues no certificates, it delivers the admin's
    assert not [r for r in graph.resources if "client-ca" in r.name]
    assert "gateway_client_ca_cert" not in graph.outputs
    assert graph.outputs["users_with_client_certs"] == ["admin", "alice"]
    assert sorted(graph.outputs["zos_cert_expiry"]) == [
        "supplied/admin",
        "supplied/alice",
        "supplied/gateway",
    ]


def test_the_gateways_export_is_split_and_delivered_to_its_config(graph, server, racf_ca):
    cert, entry = server
    split = graph.one(LOCAL, "jupyterhub-zos-gateway-server-pem")
    # the same split the program's own export goes through, fed the export on stdin
    assert split.inputs["create"] == render_split_script()
    assert split.is_secret("stdin")
    assert split.inputs["stdin"].startswith(f"{PASSWORD}\nbegin-base64 600 p12\n")
    assert set(split.options["additionalSecretOutputs"]) >= {"stdout", "stderr"}
    assert PASSWORD not in split.inputs["create"]
    config = graph.one(REMOTE, "jupyterhub-zos-gateway-kg-config")
    service = graph.one(REMOTE, "jupyterhub-zos-kg-service")
    for cmd in (config, service):
        assert cmd.is_secret("stdin")
        assert split.urn in cmd.dependencies or config.urn in cmd.dependencies
        for field in ("create", "delete"):
            text = cmd.inputs.get(field) or ""
            assert "PRIVATE KEY" not in text and TOKEN not in text and PASSWORD not in text
    assert split.urn in config.dependencies
    # The files the gateway reads: certfile/keyfile/client_ca in its config, PEM on stdin
    # (under mocks the split prints nothing, so the graph carries empty PEM texts).
    create = config.inputs["create"]
    for name in TLS_FILES:
        assert f"put_file {name}" in create
    assert "c.KernelGatewayApp.client_ca" in create
    assert config.inputs["stdin"] == kg_config_stdin(TOKEN, ("", "", ""))


def test_pem_material_goes_to_the_config_as_given(zos_config, entries, racf_ca):
    cert = server_cert(racf_ca)
    pem = {"cert": cert.cert_pem, "key": cert.key_pem, "ca": racf_ca.cert_pem}
    config, secrets = tls_config(zos_config, entries, pem)
    graph = run_program("dev", config=config, secrets=secrets)
    config_step = graph.one(REMOTE, "jupyterhub-zos-gateway-kg-config")
    assert config_step.is_secret("stdin")
    assert config_step.inputs["stdin"] == kg_config_stdin(
        TOKEN, (cert.cert_pem, cert.key_pem, racf_ca.cert_pem)
    )
    assert cert.key_pem.splitlines()[1] not in config_step.inputs["create"]
    assert not [r for r in graph.of_type(LOCAL) if r.name == "jupyterhub-zos-gateway-server-pem"]


# --- the script ------------------------------------------------------------------------------


def test_the_script_holds_only_what_the_gateways_own_tls_needs(zos_config, entries, racf_ca):
    settings = settings_of(*tls_config(zos_config, entries, server_p12(racf_ca)))
    script = render_admin_script(settings.zos, "prod", settings.gateway.url)
    runs = [line.split('"')[1] for line in script.splitlines() if line.startswith('  say "step ')]
    assert [r.removeprefix("step ").split(":")[0] for r in runs] == [
        "ca",
        "server-cert",
        "server-export",
        "user-admin",
        "user-alice",
    ]
    steps = script.split("# --- the steps")[1]
    header = script.split("# --- the steps")[0]
    for absent in ("ADDRING", "CONNECT(", "IRR.DIGTCERT.LISTRING", "BPX.SRV.", "FSSEC"):
        assert absent not in steps, absent
    for absent in ("TTLSRule", "PAGENT", "BPX.SERVER"):
        assert absent not in steps and absent not in header, absent
    assert f'"$EXPORTS"/{SERVER_EXPORT}' in script
    assert "RACDCERT GENCERT ID($KG) SIGNWITH(CERTAUTH LABEL('$CA'))" in script
    assert "ZOS_KG_SERVER_TLS.p12 and .password" in script
    assert "ALTNAME(IP($HOST))" in script
