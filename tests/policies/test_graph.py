"""All policies against resource graphs recorded by the mock harness (tools/mock_graph/).

1. A scratch program that registers real pulumi-docker / pulumi-command / pulumi-tls
   resources, some compliant and some not: the exact violations found prove that the
   policies read the inputs the real SDKs send (camelCase names, secrets the SDKs
   make secret, resource options), independently of the program's components.
2. The program itself, dev stack and a full z/OS stack: no mandatory violation. These
   grow with the program: every component that lands on main is checked here.
"""

from __future__ import annotations

import textwrap

import pytest

from tools import policy_check
from tools.mock_graph import Recorded, run_program

SCRATCH = """
import pulumi
import pulumi_command as command
import pulumi_docker as docker
import pulumi_tls as tls

token = pulumi.Config().require_secret("TOKEN")
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1Y2t5IGtleSBmb3IgdGVzdHMgb25seSEhISEh"
SOCKET = docker.ContainerVolumeArgs(
    host_path="/var/run/docker.sock", container_path="/var/run/docker.sock"
)

# --- compliant -------------------------------------------------------------------------
key = tls.PrivateKey("good-key", algorithm="ECDSA", ecdsa_curve="P256")
tls.SelfSignedCert(
    "good-cert",
    private_key_pem=key.private_key_pem,
    allowed_uses=["server_auth"],
    validity_period_hours=8760,
    early_renewal_hours=720,
)
docker.Volume(
    "jupyterhub-data",
    name="jupyterhub-data",
    labels=[docker.VolumeLabelArgs(label="jupyterhub-zos.retain-on-delete", value="true")],
    opts=pulumi.ResourceOptions(retain_on_delete=True),
)
# The hub is the hub component's container (not whatever is named jupyterhub).
hub = pulumi.ComponentResource("jupyterhub-zos:hub:Hub", "jupyterhub")
docker.Container(
    "jupyterhub",
    name="jupyterhub",
    opts=pulumi.ResourceOptions(parent=hub),
    image="quay.io/jupyterhub/jupyterhub:5.3.0",
    ports=[docker.ContainerPortArgs(internal=443, external=8443)],
    volumes=[SOCKET],
    envs=[
        "KG_URL=https://gateway:8888",
        "DOCKER_NOTEBOOK_IMAGE=quay.io/jupyter/base-notebook:2025-10-20",
        "NOTEBOOK_MEM_LIMIT=2G",
        "NOTEBOOK_CPU_LIMIT=2",
        "NOTEBOOK_PIDS_LIMIT=512",
        token.apply(lambda t: f"KG_AUTH_TOKEN={t}"),
    ],
    capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=["NET_BIND_SERVICE"]),
    security_opts=["no-new-privileges:true"],
)
command.remote.Command(
    "good-remote",
    connection=command.remote.ConnectionArgs(
        host="127.0.0.1", user="IBMUSER", private_key=token, host_key=HOST_KEY
    ),
    create="IFS= read -r P12; printf '%s' \\"$P12\\" > /dev/null",
    stdin=token,
)

# --- violating ---------------------------------------------------------------------------
tls.PrivateKey("weak-key", algorithm="ECDSA")  # the provider's P224
docker.Volume("scratch-jupyterhub-data", name="scratch-jupyterhub-data")
docker.Container(
    "gateway",
    name="dev-gateway",
    image="busybox",
    privileged=True,
    ports=[docker.ContainerPortArgs(internal=8888, external=8888)],
    volumes=[SOCKET],
    envs=["KG_AUTH_TOKEN=a-literal-token-in-the-program"],
)
command.remote.Command(
    "blind-remote",
    connection=command.remote.ConnectionArgs(host="127.0.0.1", user="IBMUSER"),
    create="true",
)
command.local.Command("leaky", create=token.apply(lambda t: f"echo {t} > token"))
docker.Container(
    "impostor",
    name="jupyterhub",  # a name proves nothing: not the hub component's
    image="busybox:1.36",
    network_mode="host",
    volumes=[docker.ContainerVolumeArgs(host_path="/var/run", container_path="/host-run")],
)
"""


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(
        "name: jupyterhub-zos\nruntime: python\nconfig:\n  TOKEN:\n    type: string\n"
        "    secret: true\n"
    )
    (tmp_path / "__main__.py").write_text(textwrap.dedent(SCRATCH))
    return tmp_path / "__main__.py"


def test_policies_read_what_the_real_sdks_send(scratch):
    graph = run_program("scratch", secrets={"TOKEN": "tok-0123456789"}, program=scratch)
    found = {(v.policy, v.level, v.name) for v in policy_check.check(graph.resources)}
    assert found == {
        ("strong-keys", "mandatory", "weak-key"),
        ("hub-data-volume-kept", "mandatory", "scratch-jupyterhub-data"),
        ("no-privileged-containers", "mandatory", "gateway"),
        ("docker-socket-only-in-hub", "mandatory", "gateway"),
        ("only-hub-publishes-ports", "mandatory", "gateway"),
        ("images-pinned", "mandatory", "gateway"),
        ("no-plain-secrets", "mandatory", "gateway"),
        ("remote-commands-verify-host-key", "mandatory", "blind-remote"),
        ("no-plain-secrets", "mandatory", "leaky"),
        ("no-privileged-containers", "mandatory", "impostor"),
        ("docker-socket-only-in-hub", "mandatory", "impostor"),
        ("only-hub-publishes-ports", "mandatory", "impostor"),
        ("containers-hardened", "mandatory", "gateway"),
        ("containers-hardened", "mandatory", "impostor"),
    }


def mandatory(graph) -> list[str]:
    return [
        f"{v.policy} {v.type}::{v.name}: {v.message}"
        for v in policy_check.check(graph.resources)
        if v.level == "mandatory"
    ]


def test_dev_stack_has_no_mandatory_violation():
    graph = run_program("dev")
    assert mandatory(graph) == []


@pytest.fixture
def zos_graph(zos_config):
    config, secrets = zos_config
    config = {**config, "HUB_ADMIN_USERS": ["admin"], "HUB_ALLOWED_USERS": ["alice"]}
    return run_program("prod", config=config, secrets=secrets)


def test_full_zos_stack_has_no_mandatory_violation(zos_graph):
    assert mandatory(zos_graph) == []


def test_a_violation_added_to_the_real_graph_is_found(zos_graph):
    """The program's own graph goes through the same path as the planted resource."""
    urn = "urn:pulumi:prod::jupyterhub-zos::docker:index/container:Container::planted"
    planted = Recorded(
        type="docker:index/container:Container",
        name="planted",
        urn=urn,
        inputs={"name": "planted", "image": "busybox:1.36", "envs": ["KG_URL=http://gw:8099"]},
        secret_paths=frozenset(),
        parent="",
        dependencies=frozenset(),
        custom=True,
        options={"protect": None, "retainOnDelete": None},
    )
    found = [v.policy for v in policy_check.check([*zos_graph.resources, planted])]
    assert "kg-url-https-validated" in found and len(mandatory(zos_graph)) == 0


def test_make_policy_check_entry_point_passes_on_the_dev_stack(capsys):
    assert policy_check.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "policy-check: stack 'dev'" in out and "0 mandatory" in out


def test_racf_certificates_of_the_real_graph_are_judged(zos_config):
    """The RACF GENCERT commands' end dates (this period's, renewal.py) reach the rule;
    a pack stricter than ZOS_CERT_VALIDITY_DAYS flags them there."""
    config, secrets = zos_config
    config = {**config, "HUB_ADMIN_USERS": ["admin"], "ZOS_CERT_VALIDITY_DAYS": 300}
    graph = run_program("prod", config=config, secrets=secrets)
    rule = "certificates-bounded-renewed"
    assert [v for v in policy_check.check(graph.resources) if v.policy == rule] == []
    strict = policy_check.parse_policy_config({rule: {"maxValidityHours": 24 * 100}})
    flagged = {v.name for v in policy_check.check(graph.resources, strict) if v.policy == rule}
    # the server's and each user's RACF certificate (the hub's own TLS certificate too)
    assert {name for name in flagged if "zos" in name} == {
        "jupyterhub-zos-gateway-server-cert",
        "jupyterhub-zos-users-admin",
        "jupyterhub-zos-users-alice",
    }, flagged
