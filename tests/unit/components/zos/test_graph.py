"""The z/OS stack in the resource graph (__main__.py under Pulumi mocks): one
remote.Command per step in the seed's order, each user's export in parallel after the
CA, handed to the delivery, which splits it on this machine (the seed's openssl steps);
the host key on every connection, secrets only on stdin, logs and outputs guarded."""

from __future__ import annotations

import pytest

from components.delivery.script import (
    DeliveryFiles,
    DeliveryTarget,
    delivery_commands,
    fed_by,
    frame_stdin,
)
from components.settings import validate
from components.settings.source import RawConfig
from components.zos.export import render_split_script
from components.zos.steps import gateway_steps, user_steps
from tools import mock_graph
from tools.mock_graph import run_program, settled_event_loop

REMOTE = "command:remote:Command"
LOCAL = "command:local:Command"
PASSWORD = "RandomPassword"
INSTANCE = "random:index/randomId:RandomId"
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


def _split_stdout(name: str) -> str:
    """What a split prints, for the mock runtime (whose commands print nothing)."""
    tag = name.replace("-", "")
    return frame_stdin(
        f"-----BEGIN PRIVATE KEY-----\nKEY{tag}\n-----END PRIVATE KEY-----\n",
        f"-----BEGIN CERTIFICATE-----\nCERT{tag}\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nRACFCA\n-----END CERTIFICATE-----\n",
    )


def export_stdout(name: str) -> str:
    """What an export prints, for the mock runtime (the delivery's split is not run)."""
    return f"exported\nbegin-base64 600 p12\nP12{name.replace('-', '')}\n====\n"


@pytest.fixture(scope="module")
def fake_splits():
    """Local commands named *-pem print PEM files, as the split does for real; exports
    (remote commands ending in uuencode -m) print a PKCS#12 block."""
    saved = {t: mock_graph.FAKES[t] for t in (LOCAL, REMOTE)}
    mock_graph.register_fake(
        LOCAL,
        lambda a: {
            "stdout": _split_stdout(a.name) if a.name.endswith("-pem") else "",
            "stderr": "",
        },
    )
    mock_graph.register_fake(
        REMOTE,
        lambda a: {
            "stdout": export_stdout(a.name) if "uuencode -m" in a.inputs["create"] else "",
            "stderr": "",
        },
    )
    yield
    for type_, fake in saved.items():
        mock_graph.register_fake(type_, fake)


@pytest.fixture(scope="module")
def zos(zos_config, fake_splits):
    config, secrets = zos_config
    return run_program("dev", config=config, secrets=secrets)


@pytest.fixture(scope="module")
def zos_generated_password(zos_config, fake_splits):
    config, secrets = zos_config
    secrets = {k: v for k, v in secrets.items() if k != "ZOS_P12_PASSWORD"}
    return run_program("dev", config=config, secrets=secrets)


@pytest.fixture(scope="module")
def zos_no_attls(zos_config, fake_splits):
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
    # The CA step checks the users' IDs first: nothing changes before it has run.
    assert waits == {
        "ca": set(),
        "ring": {"ca"},
        "server-cert": {"ca"},
        "connect": {"ring", "server-cert"},
        "listring": {"ca"},
        "attls": {"connect", "listring"},
        "surrogat": {"ca"},
        "fssec": {"ca"},
        "kg-config": {"ca"},
    }
    preflight = {r.urn for r in zos.of_type(REMOTE) if r.name == "jupyterhub-zos-preflight"}
    instances = {r.urn for r in zos.of_type(INSTANCE)}
    allowed = {r.urn for r in zos.of_type(PASSWORD)} | preflight | instances
    assert not steps["ca"].dependencies - allowed
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
    # No split command of its own: each user's delivery splits the export it waits for.
    assert not [r for r in zos.of_type(LOCAL) if r.name.startswith(f"{USERS}-")]
    for user in ("admin", "alice"):
        delivery = zos.one(LOCAL, f"jupyterhub-pki-{user}")
        assert exports[f"{USERS}-{user}"].urn in delivery.dependencies


def test_every_connection_checks_the_host_key_and_keeps_the_key_secret(
    zos, zos_config, ssh_keypair
):
    config, secrets = zos_config
    _private, public = ssh_keypair
    commands = zos.of_type(REMOTE)
    assert len(commands) == 1 + len(SEED_ORDER) + len(config["ZOS_USERS"])  # 1: the preflight
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
    not_deliveries = {"jupyterhub-notebook-servers", "jupyterhub-pids-limit"}
    deliveries = [r for r in zos.of_type(LOCAL) if r.name not in not_deliveries]
    for delivery in deliveries:  # the split reads the password first
        assert delivery.is_secret("stdin"), delivery.name
        assert delivery.inputs["stdin"].startswith(secrets["ZOS_P12_PASSWORD"] + "\n")
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
        instance = instance_of(zos, steps[name])
        create, delete = rendered[name].scripts(instance)
        assert steps[name].inputs["create"] == create, name
        assert steps[name].inputs["delete"] == delete, name
        assert steps[name].inputs["triggers"] == [
            instance,
            "127.0.0.1",
            "IBMUSER",
            *rendered[name].triggers,
        ], name
        assert "triggers[*]" in steps[name].options["replaceOnChanges"]
    for user in ("admin", "alice"):
        export = remotes(zos)[f"{USERS}-{user}"]
        instance = instance_of(zos, export)
        assert export.inputs["create"] == rendered[f"user-{user}"].scripts(instance)[0]
    assert rendered["user-alice"].triggers[0] == "ALICE01"


def instance_of(graph, cmd) -> str:
    """The step instance's ID: its RandomId, a child beside it, kept by the command's
    triggers (so it is new exactly when the command is replaced)."""
    rid = graph.one(INSTANCE, f"{cmd.name}-instance")
    assert rid.parent == cmd.parent and rid.urn in cmd.dependencies
    keepers = rid.inputs["keepers"]
    assert [keepers[str(i)] for i in range(len(keepers))] == cmd.inputs["triggers"][1:]
    instance = cmd.inputs["triggers"][0]  # the RandomId's hex (the mock's is its name's)
    assert all(c in "0123456789abcdef" for c in instance)
    return instance


def test_each_step_instance_names_itself_in_its_records(zos):
    """Create and delete name the same instance (the RandomId's), which differs from
    step to step; the records are shared by the stack's steps, kept per stack/step."""
    seen = set()
    for cmd in zos.of_type(REMOTE):
        instance = instance_of(zos, cmd)
        assert len(instance) == 16 and instance not in seen
        seen.add(instance)
        for field in ("create", "delete"):
            text = cmd.inputs[field]
            if "RECORDS=" in text:
                assert f"INSTANCE={instance}\n" in text, (cmd.name, field)
                assert 'RECORDS="$HOME/.jupyterhub-zos/records"' in text
            assert "@JHZOS_INSTANCE@" not in text


def test_users_pems_from_racf_are_what_the_delivery_writes(zos, zos_config):
    """Each user's export (password, then the PKCS#12) is the stdin of that user's
    delivery, which splits it here with the seed's openssl steps before writing
    <HUB_PKI_DIR>/<user>; the pulumi-tls gateway PKI is not made."""
    _config, secrets = zos_config
    assert not [r for r in zos.resources if r.name.startswith("jupyterhub-gateway-pki")]
    deliveries = {r.name: r for r in zos.of_type(LOCAL) if r.name.startswith("jupyterhub-pki-")}
    assert sorted(deliveries) == ["jupyterhub-pki-admin", "jupyterhub-pki-alice"]
    for name, delivery in deliveries.items():
        user = name.removeprefix("jupyterhub-pki-")
        _target, directory, *names = delivery.inputs["triggers"]  # where the files go
        assert directory.endswith(f"/{user}") and names == ["key.pem", "cert.pem", "cacert.pem"]
        files = DeliveryFiles(directory.removesuffix(f"/{user}"), user, *names)
        plain = delivery_commands(files, DeliveryTarget("local"))
        assert delivery.inputs["create"] == fed_by(render_split_script(), plain["create"])
        assert delivery.inputs["delete"] == plain["delete"]
        assert delivery.is_secret("stdin")
        assert delivery.inputs["stdin"] == (
            f"{secrets['ZOS_P12_PASSWORD']}\n{export_stdout(f'{USERS}-{user}')}"
        )
    assert zos.outputs["users_with_client_certs"] == ["admin", "alice"]
    assert zos.outputs["zos_gateway"] == {
        "config": "/u/jkgid/.jupyter/jupyter_kernel_gateway_config.py",
        "users": {"admin": "ADMIN01", "alice": "ALICE01"},
        "lifecycle": "manual",
        "restart": zos.outputs["zos_gateway"]["restart"],
    }
    assert "restart it under JKGID" in zos.outputs["zos_gateway"]["restart"]
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
    assert list(steps) == ["ca", "server-cert", "server-export", "server-pem", "kg-config"]
    assert steps["server-export"].urn in steps["server-pem"].dependencies
    assert steps["server-pem"].urn in steps["kg-config"].dependencies
    stdin = steps["kg-config"].inputs["stdin"]
    assert steps["kg-config"].is_secret("stdin")
    assert stdin.startswith(secrets["KG_AUTH_TOKEN"] + "\n#FILE kg_server_cert.pem\n")
    assert "#FILE kg_server_key.pem\n-----BEGIN PRIVATE KEY-----" in stdin
    assert steps["server-export"].inputs["logging"] == "stderr"


def test_the_graph_is_the_same_every_run(zos, zos_config, fake_splits):
    """Nothing in a script depends on the time or the machine: no perpetual diff."""
    config, secrets = zos_config
    again = run_program("dev", config=config, secrets=secrets)

    def scripts(graph):
        return {
            r.name: (r.inputs.get("create"), r.inputs.get("delete"), r.inputs.get("triggers"))
            for r in [*graph.of_type(REMOTE), *graph.of_type(LOCAL)]
        }

    assert scripts(again) == scripts(zos)


def test_racf_certificates_reach_a_remote_docker_host_over_ssh_in_the_configured_files(
    zos_config, fake_splits
):
    """The delivery's transport and layout, now that only RACF certificates are delivered:
    ssh as docker's own ssh:// transport, <HUB_PKI_DIR>/<user>, CLIENT_* file names."""
    config, secrets = zos_config
    graph = run_program(
        "dev",
        config={
            **config,
            "docker:host": "ssh://deploy@docker.example.org:2222",
            "docker:sshOpts": ["-o", "StrictHostKeyChecking=yes"],
            "HUB_PKI_DIR": "/srv/jhz/pki",
            "CLIENT_KEY": "alice.key",
            "CLIENT_CERT": "alice.crt",
            "CLIENT_CA": "gw-ca.crt",
        },
        secrets=secrets,
    )
    cmd = graph.one(LOCAL, "jupyterhub-pki-alice")
    assert "exec ssh -T -o BatchMode=yes" in cmd.inputs["create"]
    for text in (cmd.inputs["create"], cmd.inputs["delete"]):
        assert "-l deploy -p 2222 -o StrictHostKeyChecking=yes -- docker.example.org " in text
    assert cmd.inputs["triggers"] == [
        "deploy@docker.example.org",
        "/srv/jhz/pki/alice",
        "alice.key",
        "alice.crt",
        "gw-ca.crt",
    ]
    hub = graph.one("docker:index/container:Container", "jupyterhub-container")
    env = dict(item.split("=", 1) for item in hub.inputs["envs"])
    assert env["JUPYTERPKI_USERS"] == "admin,alice"
    assert "JUPYTERPKI_CA_KEY" not in env  # behind AT-TLS RACF maps certificates: no issuing
    assert not any(u["file"].endswith("client-ca.key") for u in hub.inputs["uploads"])


def test_without_attls_the_gateway_trusts_the_hubs_client_ca_and_the_hub_issues(zos_no_attls):
    """ZOS_ATTLS=false: the gateway does TLS itself and runs kernels as its own ID, so no
    RACF certificate per user; it trusts the pulumi-tls client CA whose key only the hub
    gets, and notebooks verify the gateway by the RACF CA from the server's export."""
    graph = zos_no_attls
    assert not [n for n in remotes(graph) if n.startswith(f"{USERS}-")]
    assert not [r for r in graph.of_type(LOCAL) if r.name.startswith("jupyterhub-pki-")]
    client_ca = mock_graph._pem("CERTIFICATE", "jupyterhub-zos-client-ca-cert")
    stdin = gateway_commands(graph)["kg-config"].inputs["stdin"]
    assert f"#FILE kg_client_ca.pem\n{client_ca.strip()}\n" in stdin
    assert "RACFCA" not in stdin.split("#FILE kg_client_ca.pem", 1)[1]
    hub = graph.one("docker:index/container:Container", "jupyterhub-container")
    env = dict(item.split("=", 1) for item in hub.inputs["envs"])
    assert env["JUPYTERPKI_CA_KEY"].endswith("client-ca.key") and "JUPYTERPKI_USERS" not in env
    files = {u["file"]: u for u in hub.inputs["uploads"]}
    key = files[env["JUPYTERPKI_CA_KEY"]]
    assert key["content"] == mock_graph._pem("PRIVATE KEY", "jupyterhub-zos-client-ca-key")
    assert key["permissions"] == "0600" and hub.is_secret("uploads")
    assert files[env["JUPYTERPKI_CA_CERT"]]["content"] == client_ca
    assert "RACFCA" in files[env["JUPYTERPKI_GATEWAY_CA"]]["content"]
    assert graph.outputs["gateway_client_ca_cert"] == client_ca
    assert "users_with_client_certs" not in graph.outputs
    # The client CA's key reaches no z/OS command.
    ca_key = mock_graph._pem("PRIVATE KEY", "jupyterhub-zos-client-ca-key").strip()
    for cmd in [*graph.of_type(REMOTE), *graph.of_type(LOCAL)]:
        assert ca_key not in str(cmd.inputs), cmd.name
