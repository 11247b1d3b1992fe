"""The z/OS stack in the resource graph (__main__.py under Pulumi mocks): one
remote.Command per step in the seed's order, each user's export in parallel after the
CA, split into PEM in the program, the users' PEMs handed to the delivery;
the host key on every connection, secrets only on stdin, logs and outputs guarded."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from components.config_source import RawConfig
from components.pki_delivery_script import frame_stdin
from components.settings import validate
from components.zos.export import ExportError, split_export
from components.zos.steps import gateway_steps, user_steps
from tools import mock_graph
from tools.mock_graph import run_program, settled_event_loop

REMOTE = "command:remote:Command"
LOCAL = "command:local:Command"
PASSWORD = "RandomPassword"
GATEWAY = "jupyterhub-zos-gateway"
USERS = "jupyterhub-zos-users"
SEED_ORDER = [
    "ca",
    "ring",
    "server-cert",
    "connect",
    "listring",
    "attls",
    "surrogat",
    "fssec",
    "kg-config",
]


def _cert(subject: str, key, issuer: tuple[str, object] | None, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = (name, key) if issuer is None else issuer
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@functools.cache
def _racf_ca() -> tuple[x509.Certificate, object]:
    key = ec.generate_private_key(ec.SECP256R1())
    return _cert("RACF CA", key, None, ca=True), key


@functools.cache
def export_stdout(name: str, password: str) -> str:
    """What an export step prints for real: its lines, then the PKCS#12 (a certificate
    named after the step, signed by one CA) with `uuencode -m`."""
    ca, ca_key = _racf_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(name, key, (ca.subject, ca_key), ca=False)
    p12 = pkcs12.serialize_key_and_certificates(
        b"JupyterHub Client",
        key,
        leaf,
        [ca],
        serialization.BestAvailableEncryption(password.encode()),
    )
    return (
        f"jupyterhub-zos: exported\nbegin-base64 600 p12\n{base64.b64encode(p12).decode()}\n====\n"
    )


def _fake_remote(args) -> dict:
    """Exports (their scripts end in `uuencode -m`) print a PKCS#12 encrypted with the
    password on their stdin; the other steps print nothing."""
    if "uuencode -m" not in (args.inputs.get("create") or ""):
        return {"stdout": "", "stderr": ""}
    return {"stdout": export_stdout(args.name, args.inputs["stdin"].rstrip("\n")), "stderr": ""}


@pytest.fixture(scope="module")
def fake_exports():
    saved = mock_graph.FAKES[REMOTE]
    mock_graph.register_fake(REMOTE, _fake_remote)
    yield
    mock_graph.register_fake(REMOTE, saved)


@pytest.fixture(scope="module")
def zos(zos_config, fake_exports):
    config, secrets = zos_config
    return run_program("dev", config=config, secrets=secrets)


@pytest.fixture(scope="module")
def zos_generated_password(zos_config, fake_exports):
    config, secrets = zos_config
    secrets = {k: v for k, v in secrets.items() if k != "ZOS_P12_PASSWORD"}
    return run_program("dev", config=config, secrets=secrets)


@pytest.fixture(scope="module")
def zos_no_attls(zos_config, fake_exports):
    config, secrets = zos_config
    return run_program("dev", config={**config, "ZOS_ATTLS": False}, secrets=secrets)


def remotes(graph) -> dict[str, object]:
    return {r.name: r for r in graph.of_type(REMOTE)}


def gateway_commands(graph) -> dict[str, object]:
    prefix = f"{GATEWAY}-"
    return {
        r.name.removeprefix(prefix): r
        for r in graph.resources
        if r.type in (REMOTE, LOCAL) and r.name.startswith(prefix)
    }


def settings_of(graph):
    """The graph's config, validated as the program did (to render the scripts here)."""
    values = {
        k.split(":", 1)[1]: v for k, v in graph.config.items() if k.startswith("jupyterhub-zos:")
    }
    secret = {"ZOS_SSH_PRIVATE_KEY", "ZOS_P12_PASSWORD", "KG_AUTH_TOKEN"} & values.keys()
    with settled_event_loop():
        return validate(RawConfig("jupyterhub-zos", values, frozenset(secret)), graph.stack)


def test_no_zos_resources_without_zos_host():
    graph = run_program("dev")
    assert not graph.of_type(REMOTE)
    assert not [r for r in graph.resources if r.type.startswith("jupyterhub-zos:zos:")]


def test_gateway_steps_wait_only_for_what_they_need(zos):
    steps = gateway_commands(zos)
    assert sorted(steps) == sorted(SEED_ORDER)  # registered in any order: they are parallel
    urn = {name: r.urn for name, r in steps.items()}
    waits = {name: {n for n, u in urn.items() if u in r.dependencies} for name, r in steps.items()}
    assert waits == {
        "ca": set(),
        "ring": set(),
        "server-cert": {"ca"},
        "connect": {"ring", "server-cert"},
        "listring": set(),
        "attls": {"connect", "listring"},
        "surrogat": set(),
        "fssec": set(),
        "kg-config": set(),
    }
    assert not steps["ca"].dependencies - {r.urn for r in zos.of_type(PASSWORD)}
    component = zos.by_urn(steps["ca"].parent)
    assert component.type == "jupyterhub-zos:zos:ZosGateway"
    assert zos.by_urn(component.parent).type == "jupyterhub-zos:zos:ZosStack"


def test_each_user_export_needs_only_the_ca_and_runs_in_parallel(zos):
    ca = gateway_commands(zos)["ca"]
    exports = {n: r for n, r in remotes(zos).items() if n.startswith(f"{USERS}-")}
    assert sorted(exports) == [f"{USERS}-admin", f"{USERS}-alice"]
    urns = {r.urn for r in exports.values()}
    for export in exports.values():
        assert ca.urn in export.dependencies
        assert not export.dependencies & urns, "users' exports wait for each other"
        assert not export.dependencies & {
            r.urn for n, r in gateway_commands(zos).items() if n != "ca"
        }
    # The split is done in the program: no command of its own.
    assert not [r for r in zos.of_type(LOCAL) if r.name.startswith(f"{USERS}-")]


def test_every_connection_checks_the_host_key_and_keeps_the_key_secret(
    zos, zos_config, ssh_keypair
):
    config, secrets = zos_config
    _private, public = ssh_keypair
    commands = zos.of_type(REMOTE)
    assert len(commands) == len(SEED_ORDER) + len(config["ZOS_USERS"])
    for cmd in commands:
        conn = cmd.inputs["connection"]
        assert conn["hostKey"] == public, cmd.name
        assert conn["host"] == config["ZOS_HOST"] and conn["user"] == "IBMUSER"
        assert conn["port"] == 22
        assert conn["privateKey"] == secrets["ZOS_SSH_PRIVATE_KEY"]
        assert cmd.is_secret("connection"), cmd.name


def test_no_secret_in_command_text_only_on_secret_stdin(zos, zos_config):
    _config, secrets = zos_config
    values = [secrets["ZOS_P12_PASSWORD"], secrets["KG_AUTH_TOKEN"], "PRIVATE KEY-----"]
    for cmd in [*zos.of_type(REMOTE), *zos.of_type(LOCAL)]:
        for field in ("create", "delete", "update"):
            text = cmd.inputs.get(field) or ""
            assert not cmd.is_secret(field), (cmd.name, field)
            for value in values:
                assert value not in text, (cmd.name, field)
        assert cmd.inputs.get("addPreviousOutputInEnv") is False, cmd.name
        assert not cmd.inputs.get("environment"), cmd.name
    steps = gateway_commands(zos)
    exports = [r for n, r in remotes(zos).items() if n.startswith(f"{USERS}-")]
    for cmd in [steps["kg-config"], *exports]:
        assert cmd.is_secret("stdin"), cmd.name
    assert steps["kg-config"].inputs["stdin"] == secrets["KG_AUTH_TOKEN"] + "\n"
    for export in exports:
        assert export.inputs["stdin"] == secrets["ZOS_P12_PASSWORD"] + "\n"
    # The RACF steps read nothing.
    for name in SEED_ORDER[:-1]:
        assert "stdin" not in steps[name].inputs, name


def test_logs_and_outputs_that_can_hold_secrets_are_guarded(zos):
    steps = gateway_commands(zos)
    for name in SEED_ORDER[:-1]:
        assert steps[name].inputs["logging"] == "stdoutAndStderr", name
    exports = [r for n, r in remotes(zos).items() if n.startswith(f"{USERS}-")]
    for cmd in exports:
        # an export's stdout is the PKCS#12
        assert cmd.inputs["logging"] == "stderr", cmd.name
        assert set(cmd.options["additionalSecretOutputs"]) >= {"stdout", "stderr"}, cmd.name
    assert set(steps["kg-config"].options["additionalSecretOutputs"]) >= {"stdout", "stderr"}


def test_the_scripts_are_the_rendered_ones_and_triggers_name_what_they_make(zos):
    settings = settings_of(zos)
    rendered = {s.name: s for s in gateway_steps(settings.zos, "dev", settings.gateway.url)}
    rendered.update({f"user-{u}": s for u, s in user_steps(settings.zos, "dev").items()})
    steps = gateway_commands(zos)
    for name in SEED_ORDER:
        assert steps[name].inputs["create"] == rendered[name].create, name
        assert steps[name].inputs["delete"] == rendered[name].delete, name
        assert steps[name].inputs["triggers"] == [
            "127.0.0.1",
            "IBMUSER",
            *rendered[name].triggers,
        ], name
        assert "triggers[*]" in steps[name].options["replaceOnChanges"]
    for user in ("admin", "alice"):
        export = remotes(zos)[f"{USERS}-{user}"]
        assert export.inputs["create"] == rendered[f"user-{user}"].create
    assert rendered["user-alice"].triggers[0] == "ALICE01"


def test_users_pems_from_racf_are_what_the_delivery_writes(zos, zos_config):
    """Each export, split into PEM, becomes the user's UserPki, which the delivery puts
    in <HUB_PKI_DIR>/<user>; the pulumi-tls gateway PKI is not made."""
    _config, secrets = zos_config
    password = secrets["ZOS_P12_PASSWORD"]
    assert not [r for r in zos.resources if r.name.startswith("jupyterhub-gateway-pki")]
    deliveries = {r.name: r for r in zos.of_type(LOCAL) if r.name.startswith("jupyterhub-pki-")}
    assert sorted(deliveries) == ["jupyterhub-pki-admin", "jupyterhub-pki-alice"]
    exports = remotes(zos)
    for name, delivery in deliveries.items():
        export = exports[f"{USERS}-{name.removeprefix('jupyterhub-pki-')}"]
        files = split_export(export_stdout(export.name, password), password, "test")
        assert delivery.is_secret("stdin")
        assert delivery.inputs["stdin"] == frame_stdin(
            files["key.pem"], files["cert.pem"], files["ca.pem"]
        )
        assert export.urn in delivery.dependencies
    assert zos.outputs["users_with_client_certs"] == ["admin", "alice"]
    assert zos.outputs["zos_gateway"] == {
        "config": "/u/jkgid/.jupyter/jupyter_kernel_gateway_config.py",
        "users": {"admin": "ADMIN01", "alice": "ALICE01"},
    }
    assert zos.outputs["kg_url"] == "https://127.0.0.1:8099"


def test_a_generated_p12_password_is_a_secret_random_password(zos_generated_password):
    graph = zos_generated_password
    password = graph.one(
        "random:index/randomPassword:RandomPassword", "jupyterhub-zos-p12-password"
    )
    assert password.inputs["special"] is False and password.inputs["length"] >= 24
    exports = [r for n, r in remotes(graph).items() if n.startswith(f"{USERS}-")]
    for export in exports:
        assert export.is_secret("stdin")
        assert password.urn in export.dependencies


def test_a_given_p12_password_makes_no_random_one(zos):
    assert not [r for r in zos.resources if r.name == "jupyterhub-zos-p12-password"]


def test_without_attls_the_server_key_is_exported_for_the_gateway(zos_no_attls, zos_config):
    _config, secrets = zos_config
    steps = gateway_commands(zos_no_attls)
    assert list(steps) == ["ca", "server-cert", "server-export", "kg-config"]
    assert steps["server-export"].urn in steps["kg-config"].dependencies
    stdin = steps["kg-config"].inputs["stdin"]
    assert steps["kg-config"].is_secret("stdin")
    assert stdin.startswith(secrets["KG_AUTH_TOKEN"] + "\n#FILE kg_server_cert.pem\n")
    files = split_export(
        export_stdout(steps["server-export"].name, secrets["ZOS_P12_PASSWORD"]),
        secrets["ZOS_P12_PASSWORD"],
        "test",
    )
    assert f"#FILE kg_server_key.pem\n{files['key.pem']}" in stdin
    assert f"#FILE kg_server_cert.pem\n{files['cert.pem']}" in stdin
    assert steps["server-export"].inputs["logging"] == "stderr"


def test_the_graph_is_the_same_every_run(zos, zos_config, fake_exports):
    """Nothing in a script depends on the time or the machine: no perpetual diff."""
    config, secrets = zos_config
    again = run_program("dev", config=config, secrets=secrets)

    def scripts(graph):
        return {
            r.name: (r.inputs.get("create"), r.inputs.get("delete"), r.inputs.get("triggers"))
            for r in [*graph.of_type(REMOTE), *graph.of_type(LOCAL)]
        }

    assert scripts(again) == scripts(zos)


def test_an_export_that_cannot_be_read_fails_the_run_naming_user_and_key(zos_config):
    """An export encrypted with another password (ZOS_P12_PASSWORD changed behind the
    stack's back): the run stops with a message naming the user and the key, and no
    delivery gets a file."""
    config, secrets = zos_config
    saved = mock_graph.FAKES[REMOTE]

    def other_password(args):
        out = _fake_remote(args)
        if out["stdout"]:
            out["stdout"] = export_stdout(args.name, "another-password")
        return out

    mock_graph.register_fake(REMOTE, other_password)
    try:
        with pytest.raises(ExportError) as raised:
            run_program("dev", config=config, secrets=secrets)
    finally:
        mock_graph.register_fake(REMOTE, saved)
    message = str(raised.value)
    assert "wrong ZOS_P12_PASSWORD" in message
    assert re.search(
        r"the client certificate of hub user (admin|alice) \((ADMIN01|ALICE01)\)", message
    )
    assert secrets["ZOS_P12_PASSWORD"] not in message
    assert not [r for r in raised.value.graph.resources if r.name.startswith("jupyterhub-pki-")]
