"""Each policy: a compliant resource passes, a violating one is flagged with a message
that says what to change, missing or unknown properties do not crash it, and its
config changes what it accepts. Validators are called directly (pulumi-policy's own
test pattern); props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pulumi_policy import EnforcementLevel
from pulumi_policy import deserialize as sdk_deserialize

from components.pki import specs as cert_params
from policies import rules
from tests.policies.support import (
    UNKNOWN_ARRAY,
    UNKNOWN_BOOL,
    UNKNOWN_NUMBER,
    UNKNOWN_OBJECT,
    UNKNOWN_STRING,
    options,
    policy,
    secret,
    string_asset,
    violations,
)

CONTAINER = rules.CONTAINER
SEED_ATTLS = """\
# Sample AT-TLS policy for Jupyter Kernel Gateway on z/OS (the runbook's)
TTLSRule                          JKG_Server
{
  Direction                       Inbound
  LocalPortRange                  8099
  TTLSGroupActionRef              gAction1
  TTLSEnvironmentActionRef        serverEnv
}
TTLSGroupAction                   gAction1
{
  TTLSEnabled                     On
}
TTLSEnvironmentAction             serverEnv
{
  HandshakeRole                   ServerWithClientAuth
  EnvironmentUserInstance         0
  TTLSKeyRingParms
  {
    Keyring                       JKGRing
  }
  TTLSEnvironmentAdvancedParmsRef gAdvAction1
}
TTLSEnvironmentAdvancedParms      gAdvAction1
{
 ClientAuthType\t\tSAFCheck
 TLSv1 Off
 TLSv1.1 Off
 TLSv1.2 On
}
"""


@pytest.fixture(scope="module")
def pem_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_the_pack_has_every_policy_the_issue_lists_with_unique_names():
    names = [p.name for p in rules.POLICIES]
    assert len(names) == len(set(names)) == 12
    for p in rules.POLICIES:
        assert p.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
        assert p.description and p.remediation_steps
        for key, schema in (p.config_schema.properties if p.config_schema else {}).items():
            assert schema["default"] == rules.RULES_BY_NAME[p.name].defaults[key]
            assert schema["type"] in ("string", "integer", "boolean", "array")


def test_other_resource_types_are_left_alone():
    for p in rules.POLICIES:
        assert (
            violations(p.name, "random:index/randomPassword:RandomPassword", {"length": 32}) == []
        )


# --- how secrets reach a validator --------------------------------------------------------


def test_the_sdk_alone_hands_validators_secrets_as_plain_strings():
    """The finding the secrets rule is built on: pulumi-policy's Analyze path unwraps
    secrets (no marker), so without keep_secret_marks a secret looks like a literal."""
    wire = {"envs": [secret("KG_AUTH_TOKEN=abc")], "name": "hub"}
    plain = sdk_deserialize.deserialize_properties(wire)
    assert plain["envs"][0] == "KG_AUTH_TOKEN=abc"
    assert type(plain["envs"][0]) is str
    marked = rules.deserialize_keeping_secret_marks(wire)
    assert marked["envs"][0] == "KG_AUTH_TOKEN=abc"
    assert rules.is_secret(marked["envs"][0])
    assert not rules.is_secret(marked["name"])


def test_secret_marks_reach_into_nested_secrets_and_string_assets():
    wire = {
        "connection": secret({"host": "h", "privateKey": "k", "port": 22}),
        "source": secret(string_asset("text")),
        "plain": string_asset("open"),
    }
    marked = rules.deserialize_keeping_secret_marks(wire)
    assert rules.is_secret(marked["connection"]["privateKey"])
    assert marked["connection"]["port"] == 22
    assert rules.is_secret(marked["source"].text)
    assert not rules.is_secret(marked["plain"].text)


# --- 1. no-privileged-containers ----------------------------------------------------------

PRIV = "no-privileged-containers"


def test_unprivileged_container_passes():
    props = {"image": "x:1", "privileged": False, "capabilities": {"adds": ["NET_BIND_SERVICE"]}}
    assert violations(PRIV, CONTAINER, props) == []


@pytest.mark.parametrize(
    "props, needle",
    [
        ({"privileged": True}, "privileged=true"),
        ({"capabilities": {"adds": ["SYS_ADMIN"]}}, "SYS_ADMIN"),
        ({"capabilities": {"adds": ["cap_sys_module"]}}, "cap_sys_module"),
        ({"capabilities": {"adds": ["ALL"]}}, "ALL"),
    ],
)
def test_privileged_container_is_flagged(props, needle):
    found = violations(PRIV, CONTAINER, props, name="gw")
    assert len(found) == 1 and needle in found[0] and "'gw'" in found[0]


def test_privileged_missing_or_unknown_props_pass():
    assert violations(PRIV, CONTAINER, {}) == []
    unknown = {"privileged": UNKNOWN_BOOL, "capabilities": {"adds": [UNKNOWN_STRING]}}
    assert violations(PRIV, CONTAINER, unknown) == []
    assert violations(PRIV, CONTAINER, {"capabilities": UNKNOWN_OBJECT}) == []


# --- 2. docker-socket-only-in-hub ---------------------------------------------------------

SOCK = "docker-socket-only-in-hub"
SOCKET_VOLUME = {"volumes": [{"hostPath": "/var/run/docker.sock", "containerPath": "/s"}]}


def test_hub_may_mount_the_socket():
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "jupyterhub"}, name="hub") == []


@pytest.mark.parametrize(
    "mounts",
    [
        SOCKET_VOLUME,
        {"volumes": [{"hostPath": "/run/docker.sock/"}]},
        {"mounts": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]},
        {"mounts": [{"source": "/run/user/1000/docker.sock", "target": "/s"}]},
    ],
)
def test_socket_elsewhere_is_flagged(mounts):
    found = violations(SOCK, CONTAINER, {**mounts, "name": "dev-gateway"}, name="gateway")
    assert len(found) == 1 and "Docker socket" in found[0] and "remove the mount" in found[0]


def test_other_mounts_and_missing_or_unknown_props_pass():
    other = {"volumes": [{"hostPath": "/srv/pki/alice", "containerPath": "/etc/jupyterpki"}]}
    assert violations(SOCK, CONTAINER, {**other, "name": "gw"}) == []
    named_volume = {"mounts": [{"type": "volume", "source": "docker.sock", "target": "/x"}]}
    assert violations(SOCK, CONTAINER, {**named_volume, "name": "gw"}) == []
    assert violations(SOCK, CONTAINER, {}) == []
    assert violations(SOCK, CONTAINER, {"volumes": UNKNOWN_ARRAY, "name": "gw"}) == []
    assert violations(SOCK, CONTAINER, {"volumes": [{"hostPath": UNKNOWN_STRING}]}) == []


def test_the_docker_name_decides_which_container_is_the_hub():
    # A container named jupyterhub in Pulumi but not in Docker is not the hub ...
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "dev-ldap"}, name="jupyterhub")
    # ... and without a Docker name, the Pulumi name stands in for it.
    assert violations(SOCK, CONTAINER, SOCKET_VOLUME, name="jupyterhub") == []
    assert violations(SOCK, CONTAINER, SOCKET_VOLUME, name="ldap")


def test_socket_config_names_the_hub():
    cfg = {"hubContainers": ["hub-prod"]}
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "hub-prod"}, config=cfg) == []
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "jupyterhub"}, config=cfg)


# --- 3. only-hub-publishes-ports ----------------------------------------------------------

PORTS = "only-hub-publishes-ports"
PUBLISHED = {"ports": [{"internal": 8443, "external": 8443}]}


def test_hub_publishes_and_unpublished_containers_pass():
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "jupyterhub"}) == []
    assert violations(PORTS, CONTAINER, {"name": "dev-gateway", "ports": []}) == []
    assert violations(PORTS, CONTAINER, {"name": "dev-gateway"}) == []


def test_gateway_or_directory_publishing_is_flagged():
    found = violations(PORTS, CONTAINER, {**PUBLISHED, "name": "dev-gateway"}, name="gateway")
    assert len(found) == 1 and "8443->8443" in found[0] and "Remove `ports`" in found[0]
    found = violations(PORTS, CONTAINER, {"name": "dev-ldap", "publishAllPorts": True})
    assert len(found) == 1 and "publishAllPorts" in found[0]
    found = violations(PORTS, CONTAINER, {"name": "dev-ldap", "ports": [{"internal": 389}]})
    assert "389->random" in found[0]


def test_ports_unknown_still_count_as_published_and_do_not_crash():
    found = violations(PORTS, CONTAINER, {"name": "gw", "ports": [UNKNOWN_OBJECT]})
    assert len(found) == 1 and "(unknown)" in found[0]
    assert violations(PORTS, CONTAINER, {"name": "gw", "ports": UNKNOWN_ARRAY}) == []


def test_ports_config_names_the_hub():
    cfg = {"hubContainers": ["edge"]}
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "edge"}, config=cfg) == []
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "jupyterhub"}, config=cfg)


# --- 4. images-pinned ---------------------------------------------------------------------

PIN = "images-pinned"
DIGEST = "a" * 64


@pytest.mark.parametrize(
    "ref",
    [
        "quay.io/jupyter/base-notebook:2025-10-20",
        f"quay.io/jupyter/base-notebook@sha256:{DIGEST}",
        f"quay.io/jupyter/base-notebook:latest@sha256:{DIGEST}",
        "localhost:5000/notebook:1.0",
        f"sha256:{DIGEST}",
    ],
)
def test_pinned_references_pass(ref):
    assert rules.unpinned_reason(ref) is None
    assert violations(PIN, rules.REMOTE_IMAGE, {"name": ref}) == []
    assert (
        violations(PIN, CONTAINER, {"image": ref, "envs": [f"DOCKER_NOTEBOOK_IMAGE={ref}"]}) == []
    )


@pytest.mark.parametrize(
    "ref, why",
    [
        ("quay.io/jupyter/base-notebook:latest", "'latest'"),
        ("quay.io/jupyter/base-notebook", "no tag"),
        ("localhost:5000/notebook", "no tag"),
        ("", "empty"),
    ],
)
def test_unpinned_references_are_flagged(ref, why):
    found = violations(PIN, rules.REMOTE_IMAGE, {"name": ref}, name="notebook")
    assert len(found) == 1 and why in found[0] and "Pin it" in found[0]
    found = violations(PIN, CONTAINER, {"envs": [f"DOCKER_NOTEBOOK_IMAGE={ref}"]})
    assert len(found) == 1 and "DOCKER_NOTEBOOK_IMAGE" in found[0]
    if ref:
        assert len(violations(PIN, CONTAINER, {"image": ref})) == 1


def _image(tmp_path, dockerfile: str, **build) -> dict:
    (tmp_path / "ctx").mkdir(exist_ok=True)
    (tmp_path / "ctx" / "Dockerfile").write_text(dockerfile)
    return {"imageName": "hub:dev", "build": {"context": str(tmp_path / "ctx"), **build}}


def test_built_image_with_pinned_bases_passes(tmp_path):
    dockerfile = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=quay.io/jupyterhub/jupyterhub:5.3.0\n"
        "FROM --platform=linux/amd64 ${BASE} AS build\n"
        "RUN true\n"
        "FROM build AS final\n"
        "FROM scratch\n"
        f"FROM debian@sha256:{DIGEST}\n"
    )
    assert violations(PIN, rules.IMAGE, _image(tmp_path, dockerfile)) == []


@pytest.mark.parametrize(
    "dockerfile, build_args, needle",
    [
        ("FROM debian\n", {}, "FROM debian` is not pinned"),
        ("FROM debian:latest AS base\nFROM base\n", {}, "'latest'"),
        ("ARG BASE\nFROM $BASE\n", {}, "no value"),
        ("ARG BASE=debian:13\nFROM ${BASE}\n", {"BASE": "debian"}, "FROM debian`"),
        ("FROM \\\n  python:latest\n", {}, "python:latest"),
    ],
)
def test_built_image_with_unpinned_base_is_flagged(tmp_path, dockerfile, build_args, needle):
    props = _image(tmp_path, dockerfile, args=build_args)
    found = violations(PIN, rules.IMAGE, props, name="hub-image")
    assert len(found) == 1 and needle in found[0] and "'hub-image'" in found[0]


def test_built_image_dockerfile_paths_and_project_dir_config(tmp_path):
    (tmp_path / "images" / "hub").mkdir(parents=True)
    (tmp_path / "images" / "hub" / "Containerfile").write_text("FROM alpine\n")
    props = {"build": {"context": "images/hub", "dockerfile": "images/hub/Containerfile"}}
    found = violations(PIN, rules.IMAGE, props, config={"projectDir": str(tmp_path)})
    assert len(found) == 1 and "alpine" in found[0]
    # A dockerfile named relative to the context is found there too.
    props = {"build": {"context": "images/hub", "dockerfile": "Containerfile"}}
    assert violations(PIN, rules.IMAGE, props, config={"projectDir": str(tmp_path)})
    missing = violations(PIN, rules.IMAGE, {"build": {"context": str(tmp_path / "nope")}})
    assert len(missing) == 1 and "cannot read its Dockerfile" in missing[0]


def test_images_missing_or_unknown_props_pass():
    assert violations(PIN, rules.IMAGE, {"imageName": "x"}) == []
    assert violations(PIN, rules.IMAGE, {"build": {"context": UNKNOWN_STRING}}) == []
    assert violations(PIN, rules.REMOTE_IMAGE, {}) == []
    assert violations(PIN, rules.REMOTE_IMAGE, {"name": UNKNOWN_STRING}) == []
    assert violations(PIN, CONTAINER, {"image": UNKNOWN_STRING, "envs": [UNKNOWN_STRING]}) == []


def test_images_config_names_the_image_variables():
    props = {"envs": ["OTHER_IMAGE=busybox"]}
    assert violations(PIN, CONTAINER, props) == []
    assert violations(PIN, CONTAINER, props, config={"notebookImageEnv": ["OTHER_IMAGE"]})


# --- 5. strong-keys -----------------------------------------------------------------------

KEYS = "strong-keys"
PK = rules.PRIVATE_KEY


@pytest.mark.parametrize(
    "props",
    [
        {"algorithm": "ECDSA", "ecdsaCurve": "P256"},
        {"algorithm": "ECDSA", "ecdsaCurve": "P384"},
        {"algorithm": "RSA", "rsaBits": 4096},
        {"algorithm": "RSA", "rsaBits": 2048.0},  # numbers arrive as floats
        {"algorithm": "RSA"},  # the provider default is 2048
        {"algorithm": "ED25519"},
    ],
)
def test_strong_keys_pass(props):
    assert violations(KEYS, PK, props) == []


@pytest.mark.parametrize(
    "props, needle",
    [
        ({"algorithm": "ECDSA"}, "P224 (the provider default"),
        ({"algorithm": "ECDSA", "ecdsaCurve": "P224"}, "curve P224"),
        ({"algorithm": "RSA", "rsaBits": 1024}, "RSA 1024 bits"),
    ],
)
def test_weak_keys_are_flagged(props, needle):
    found = violations(KEYS, PK, props, name="ca-key")
    assert len(found) == 1 and needle in found[0]


def test_key_config_raises_the_bar():
    cfg = {"minRsaBits": 3072, "allowedEcdsaCurves": ["P384"]}
    assert violations(KEYS, PK, {"algorithm": "RSA", "rsaBits": 2048}, config=cfg)
    assert violations(KEYS, PK, {"algorithm": "ECDSA", "ecdsaCurve": "P256"}, config=cfg)
    assert violations(KEYS, PK, {"algorithm": "ECDSA", "ecdsaCurve": "P384"}, config=cfg) == []


def test_keys_missing_or_unknown_props_pass():
    assert violations(KEYS, PK, {}) == []
    assert violations(KEYS, PK, {"algorithm": UNKNOWN_STRING}) == []
    assert violations(KEYS, PK, {"algorithm": "ECDSA", "ecdsaCurve": UNKNOWN_STRING}) == []
    assert violations(KEYS, PK, {"algorithm": "RSA", "rsaBits": UNKNOWN_NUMBER}) == []
    assert violations(KEYS, rules.REMOTE_COMMAND, {"create": UNKNOWN_STRING}) == []


RACF_GOOD = (
    "set -eu\n"
    "tsocmd \"RACDCERT GENCERT CERTAUTH SUBJECTSDN(OU('Local CA')) "
    "WITHLABEL('Jupyter Local CA') NOTAFTER(DATE(2030/01/01)) SIZE(2048)\"\n"
    "tsocmd \"RACDCERT GENCERT ID(JKGID) NISTECC SIZE(256) WITHLABEL('x')\"\n"
)


def test_racf_gencert_sizes_pass_when_strong():
    assert violations(KEYS, rules.REMOTE_COMMAND, {"create": RACF_GOOD}) == []
    assert violations(KEYS, rules.REMOTE_COMMAND, {"stdin": RACF_GOOD}) == []


@pytest.mark.parametrize(
    "script, needle",
    [
        (
            # The runbook's command, with its TSO continuation.
            "RACDCERT GENCERT CERTAUTH SUBJECTSDN(OU('Local CA') O('IBM') C('US')) -\n"
            "     WITHLABEL('My Local CA') NOTAFTER(DATE(2030/01/01)) SIZE(1024)\n",
            "1024-bit",
        ),
        ("tsocmd \"RACDCERT GENCERT ID(JKGID) WITHLABEL('s')\"\n", "no SIZE()"),
        ('tsocmd "RACDCERT GENCERT ID(JKGID) SIZE(${KEY_SIZE})"\n', "cannot be checked"),
        ('tsocmd "RACDCERT GENCERT ID(U) NISTECC SIZE(192)"\n', "192-bit"),
    ],
)
def test_racf_gencert_weak_sizes_are_flagged(script, needle):
    found = violations(KEYS, rules.REMOTE_COMMAND, {"create": script}, name="racf-ca")
    assert len(found) == 1 and needle in found[0]
    found = violations(KEYS, rules.COPY_TO_REMOTE, {"source": string_asset(script)})
    assert len(found) == 1 and needle in found[0]


def test_racf_script_shipped_base64_encoded_is_checked_too():
    weak = "tsocmd \"RACDCERT GENCERT CERTAUTH WITHLABEL('CA') SIZE(1024)\"\n"
    script = f"echo {base64.b64encode(weak.encode()).decode()} | base64 -d | sh"
    found = violations(KEYS, rules.REMOTE_COMMAND, {"create": script})
    assert len(found) == 1 and "1024-bit" in found[0]


def test_racf_size_config():
    cfg = {"minRacfRsaSize": 4096}
    assert violations(KEYS, rules.REMOTE_COMMAND, {"create": RACF_GOOD}, config=cfg)


# --- 6. kg-url-https-validated (+ -dev) ---------------------------------------------------

KG, KG_DEV = "kg-url-https-validated", "kg-url-https-validated-dev"
GOOD_KG = {"envs": ["KG_URL=https://gw.example.com:8099", "VALIDATE_KG_CERT=true"]}


def test_https_and_validation_pass_on_every_stack():
    for stack in ("prod", "dev"):
        assert violations(KG, CONTAINER, GOOD_KG, stack=stack) == []
        assert violations(KG_DEV, CONTAINER, GOOD_KG, stack=stack) == []
    assert violations(KG, CONTAINER, {"envs": ["KG_URL=HTTPS://gw:8099"]}) == []


@pytest.mark.parametrize(
    "envs, needle",
    [
        (["KG_URL=http://gw.example.com:8099"], "clear text"),
        (["KG_URL=https://gw:8099", "VALIDATE_KG_CERT=false"], "not checked"),
        (["KG_URL=https://gw:8099", "VALIDATE_KG_CERT=False"], "not checked"),
        (["JUPYTER_GATEWAY_URL=http://gw:8888"], "clear text"),
    ],
)
def test_plain_or_unvalidated_gateway(envs, needle):
    # Mandatory everywhere but dev ...
    found = violations(KG, CONTAINER, {"envs": envs}, stack="prod", name="hub")
    assert len(found) == 1 and needle in found[0]
    assert violations(KG_DEV, CONTAINER, {"envs": envs}, stack="prod") == []
    # ... advisory (the other policy) on dev.
    assert violations(KG, CONTAINER, {"envs": envs}, stack="dev") == []
    found = violations(KG_DEV, CONTAINER, {"envs": envs}, stack="dev")
    assert len(found) == 1 and needle in found[0] and "advisory on the dev stack" in found[0]
    assert policy(KG).enforcement_level == EnforcementLevel.MANDATORY
    assert policy(KG_DEV).enforcement_level == EnforcementLevel.ADVISORY


def test_kg_stack_comes_from_config_when_given():
    plain = {"envs": ["KG_URL=http://gw:8099"]}
    assert violations(KG, CONTAINER, plain, stack="prod", config={"stack": "dev"}) == []
    assert violations(KG_DEV, CONTAINER, plain, stack="prod", config={"stack": "dev"})
    # A team may name its own throwaway stacks.
    sandbox = {"devStacks": ["sandbox"]}
    assert violations(KG, CONTAINER, plain, stack="dev", config=sandbox)
    assert violations(KG, CONTAINER, plain, stack="sandbox", config=sandbox) == []


def test_kg_missing_or_unknown_props_pass():
    for props in ({}, {"envs": UNKNOWN_ARRAY}, {"envs": [UNKNOWN_STRING, "VALIDATE_KG_CERT"]}):
        assert violations(KG, CONTAINER, props) == []
        assert violations(KG_DEV, CONTAINER, props, stack="dev") == []


# --- 7. remote-commands-verify-host-key ---------------------------------------------------

HOSTKEY = "remote-commands-verify-host-key"
KEY_LINE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1Y2t5IGtleSBmb3IgdGVzdHMgb25seSEhISEh"


def _conn(**fields) -> dict:
    # pulumi-command's SDK makes `connection` secret: policies see it through the marks.
    return {"connection": secret({"host": "zos.example.com", "user": "IBMUSER", **fields})}


def test_verified_connections_pass():
    for kind in (rules.REMOTE_COMMAND, rules.COPY_TO_REMOTE):
        assert violations(HOSTKEY, kind, {**_conn(hostKey=KEY_LINE), "create": "true"}) == []
    proxied = _conn(hostKey=KEY_LINE, proxy={"host": "bastion", "hostKey": KEY_LINE})
    assert violations(HOSTKEY, rules.REMOTE_COMMAND, proxied) == []


@pytest.mark.parametrize(
    "connection, needle",
    [
        (_conn(), "`connection.hostKey`"),
        (_conn(hostKey=""), "`connection.hostKey`"),
        (_conn(hostKey="  "), "`connection.hostKey`"),
        (_conn(hostKey=KEY_LINE, proxy={"host": "bastion"}), "`connection.proxy.hostKey`"),
    ],
)
def test_unverified_connections_are_flagged(connection, needle):
    for kind in (rules.REMOTE_COMMAND, rules.COPY_TO_REMOTE, rules.COPY_FILE):
        found = violations(HOSTKEY, kind, connection, name="racf")
        assert len(found) == 1 and needle in found[0] and "zos.example.com" in found[0]


def test_blind_ssh_in_local_commands_and_docker_provider_is_flagged():
    script = "ssh -o StrictHostKeyChecking=no admin@host 'mkdir -p /srv/pki'"
    found = violations(HOSTKEY, rules.LOCAL_COMMAND, {"create": script})
    assert len(found) == 1 and "StrictHostKeyChecking=no" in found[0]
    ok = "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/jhz/known_hosts h true"
    assert violations(HOSTKEY, rules.LOCAL_COMMAND, {"create": ok}) == []
    provider = {"host": "ssh://admin@h", "sshOpts": ["-o", "UserKnownHostsFile=/dev/null"]}
    found = violations(HOSTKEY, rules.DOCKER_PROVIDER, provider, name="remote")
    assert len(found) == 1 and "docker provider" in found[0]


def test_host_key_missing_or_unknown_props_pass():
    for kind in (rules.REMOTE_COMMAND, rules.COPY_TO_REMOTE):
        assert violations(HOSTKEY, kind, {}) == []
        assert violations(HOSTKEY, kind, {"connection": UNKNOWN_OBJECT}) == []
        assert violations(HOSTKEY, kind, _conn(hostKey=UNKNOWN_STRING)) == []
    assert violations(HOSTKEY, rules.LOCAL_COMMAND, {"create": UNKNOWN_STRING}) == []
    assert violations(HOSTKEY, rules.DOCKER_PROVIDER, {"sshOpts": UNKNOWN_ARRAY}) == []


# --- 8. hub-data-volume-kept --------------------------------------------------------------

KEPT = "hub-data-volume-kept"
VOL = rules.VOLUME
LABEL = [{"label": "jupyterhub-zos.retain-on-delete", "value": "true"}]


def test_kept_data_volume_passes():
    data = {"name": "jupyterhub-data"}
    assert violations(KEPT, VOL, data, opts=options(protect=True)) == []
    assert violations(KEPT, VOL, {**data, "labels": LABEL}) == []
    # What tools/policy_check.py can show (the engine cannot): the option itself.
    assert violations(KEPT, VOL, data, opts=options(retain_on_delete=True)) == []
    both = options(retain_on_delete=True)
    assert violations(KEPT, VOL, {**data, "labels": LABEL}, opts=both) == []
    # Per-stack names match too; other volumes are not this rule's business.
    assert violations(KEPT, VOL, {"name": "dev-jupyterhub-data"}, opts=options(protect=True)) == []
    assert violations(KEPT, VOL, {"name": "dev-ldap-data"}) == []


def test_unkept_data_volume_is_flagged():
    found = violations(KEPT, VOL, {"name": "jupyterhub-data"}, name="hub-data")
    assert len(found) == 1 and "retain_on_delete=True" in found[0] and "protect" in found[0]
    # The label must not claim what the options (when visible) deny.
    mismatch = violations(
        KEPT,
        VOL,
        {"name": "jupyterhub-data", "labels": LABEL},
        opts=options(retain_on_delete=False),
    )
    assert len(mismatch) == 1 and "labelled" in mismatch[0]
    wrong_value = [{"label": "jupyterhub-zos.retain-on-delete", "value": "no"}]
    assert violations(KEPT, VOL, {"name": "jupyterhub-data", "labels": wrong_value})


def test_volume_missing_or_unknown_props_do_not_crash():
    # The Pulumi resource name identifies the volume when the Docker name is unknown.
    found = violations(KEPT, VOL, {"name": UNKNOWN_STRING}, name="jupyterhub-data")
    assert len(found) == 1
    assert violations(KEPT, VOL, {"name": "jupyterhub-data", "labels": UNKNOWN_ARRAY})
    assert violations(KEPT, VOL, {}, name="something") == []
    unknown_label = [{"label": UNKNOWN_STRING, "value": UNKNOWN_STRING}]
    assert violations(KEPT, VOL, {"name": "jupyterhub-data", "labels": unknown_label})


def test_volume_config_pattern_and_label():
    cfg = {"dataVolumePattern": "^hubdb$", "retainLabel": "keep"}
    assert violations(KEPT, VOL, {"name": "hubdb"}, config=cfg)
    assert violations(KEPT, VOL, {"name": "jupyterhub-data"}, config=cfg) == []
    keep = [{"label": "keep", "value": "true"}]
    assert violations(KEPT, VOL, {"name": "hubdb", "labels": keep}, config=cfg) == []


# --- 9. no-plain-secrets ------------------------------------------------------------------

SECRETS = "no-plain-secrets"


def test_secret_outputs_in_container_env_pass(pem_key):
    # Per-element secrets (Output.concat of a secret) and a wholly secret list.
    envs = [
        "KG_URL=https://gw:8099",
        "CLIENT_KEY=key.pem",
        "SSL_KEY=/srv/hub/tls/key.pem",
        "KG_AUTH_TOKEN_FILE=/run/secrets/kg",
        "LDAP_BIND_PASSWORD=",
        secret("KG_AUTH_TOKEN=0123456789abcdef0123"),
        secret("JPY_COOKIE_SECRET=" + "ab" * 32),
        secret("CONFIGPROXY_AUTH_TOKEN=feedface"),
        secret("HUB_TLS_KEY=" + pem_key),
    ]
    assert violations(SECRETS, CONTAINER, {"name": "jupyterhub", "envs": envs}) == []
    assert violations(SECRETS, CONTAINER, {"envs": secret(["KG_AUTH_TOKEN=abc"])}) == []
    uploads = [{"file": "/srv/hub/tls/key.pem", "content": secret(pem_key)}]
    assert violations(SECRETS, CONTAINER, {"uploads": uploads}) == []


@pytest.mark.parametrize(
    "env, needle",
    [
        ("KG_AUTH_TOKEN=0123456789abcdef0123", "env KG_AUTH_TOKEN"),
        ("JPY_COOKIE_SECRET=abcdef", "env JPY_COOKIE_SECRET"),
        ("CONFIGPROXY_AUTH_TOKEN=x", "env CONFIGPROXY_AUTH_TOKEN"),
        ("ZOS_P12_PASSWORD=hunter22", "env ZOS_P12_PASSWORD"),
        ("GITHUB_API_KEY=ghp_x", "env GITHUB_API_KEY"),
    ],
)
def test_literal_secret_in_container_env_is_flagged(env, needle):
    found = violations(SECRETS, CONTAINER, {"envs": ["KG_URL=https://gw", env]}, name="hub")
    assert len(found) == 1 and needle in found[0] and "secret" in found[0]


def test_private_key_anywhere_in_plain_inputs_is_flagged(pem_key):
    found = violations(SECRETS, CONTAINER, {"envs": [f"HUB_TLS_KEY={pem_key}"]})
    assert len(found) == 1 and "input envs[0] holds a private key" in found[0]
    b64 = base64.b64encode(pem_key.encode()).decode()
    found = violations(SECRETS, CONTAINER, {"uploads": [{"file": "/k", "contentBase64": b64}]})
    assert len(found) == 1 and "uploads[0].contentBase64" in found[0]
    found = violations(SECRETS, rules.COPY_TO_REMOTE, {"source": string_asset(pem_key)})
    assert len(found) == 1 and "source(text)" in found[0]
    assert (
        violations(SECRETS, rules.COPY_TO_REMOTE, {"source": secret(string_asset(pem_key))}) == []
    )
    tls_input = {"privateKeyPem": pem_key, "validityPeriodHours": 1}
    assert len(violations(SECRETS, rules.SELF_SIGNED_CERT, tls_input)) == 1
    tls_input["privateKeyPem"] = secret(pem_key)
    assert violations(SECRETS, rules.SELF_SIGNED_CERT, tls_input) == []


def test_secret_on_container_command_line_is_flagged():
    found = violations(SECRETS, CONTAINER, {"command": ["kg", "--auth_token=0123456789"]})
    assert len(found) == 1 and "literal value for auth_token" in found[0]
    ok = {"command": ["jupyter", "kernelgateway", "--KernelGatewayApp.port=8888"]}
    assert violations(SECRETS, CONTAINER, ok) == []


COMMAND_OK = """\
set -eu
IFS= read -r P12_PASSWORD
tsocmd "RACDCERT ID(ALICE01) EXPORT(LABEL('alice')) DSN('ALICE01.P12') FORMAT(PKCS12DER) \
PASSWORD('$P12_PASSWORD')"
openssl pkcs12 -in a.p12 -passin stdin -nokeys -out cert.pem
KG_AUTH_TOKEN="$(cat)"
export KG_AUTH_TOKEN
# password: read from stdin, never here
"""


def test_commands_reading_secrets_from_stdin_pass():
    for kind in rules.COMMANDS:
        props = {"create": COMMAND_OK, "stdin": secret("p12-password-long"), "delete": "rm -f x"}
        assert violations(SECRETS, kind, props) == []
        props = {"create": "run", "environment": {"KG_AUTH_TOKEN": secret("t"), "MODE": "x"}}
        assert violations(SECRETS, kind, props) == []


@pytest.mark.parametrize(
    "script, needle",
    [
        ("P12_PASSWORD=hunter22 ./export.sh", "literal value for P12_PASSWORD"),
        ("openssl pkcs12 -in a.p12 -passin pass:hunter22 -out k.pem", "openssl `pass:`"),
        ("tsocmd \"RACDCERT ID(A) EXPORT(LABEL('a')) PASSWORD('hunter22')\"", "RACF PASSWORD()"),
        ("sshpass -p hunter22 ssh zos true", "sshpass"),
        ("curl -H 'x' https://gw/api?token=0123456789", "literal value for token"),
    ],
)
def test_literal_secret_in_command_text_is_flagged(script, needle):
    for kind in rules.COMMANDS:
        found = violations(SECRETS, kind, {"create": script}, name="export")
        assert len(found) == 1 and needle in found[0] and "stdin" in found[0]


def test_command_text_built_from_a_secret_is_flagged():
    found = violations(SECRETS, rules.REMOTE_COMMAND, {"create": secret("echo s3cr3t > f")})
    assert len(found) == 1 and "built from a secret" in found[0]
    env = {"create": "run", "environment": {"KG_AUTH_TOKEN": "plain"}}
    found = violations(SECRETS, rules.LOCAL_COMMAND, env)
    assert len(found) == 1 and "environment KG_AUTH_TOKEN" in found[0]


def test_secrets_never_go_into_build_args(pem_key):
    for value in ("plain", secret("even-a-secret")):
        found = violations(SECRETS, rules.IMAGE, {"build": {"args": {"GITHUB_TOKEN": value}}})
        assert len(found) == 1 and "baked into the image" in found[0]
    assert violations(SECRETS, rules.IMAGE, {"build": {"args": {"JUPYTERHUB_VERSION": "5"}}}) == []


def test_secrets_missing_or_unknown_props_pass():
    for kind in (CONTAINER, *rules.COMMANDS, rules.IMAGE, rules.COPY_TO_REMOTE):
        assert violations(SECRETS, kind, {}) == []
    unknown = {
        "envs": [UNKNOWN_STRING, "KG_URL=https://x"],
        "command": UNKNOWN_ARRAY,
        "uploads": [{"content": UNKNOWN_STRING}],
    }
    assert violations(SECRETS, CONTAINER, unknown) == []
    assert violations(SECRETS, CONTAINER, {"envs": UNKNOWN_ARRAY}) == []
    cmd = {"create": UNKNOWN_STRING, "environment": UNKNOWN_OBJECT}
    assert violations(SECRETS, rules.REMOTE_COMMAND, cmd) == []
    cmd = {"create": "x", "environment": {"KG_AUTH_TOKEN": UNKNOWN_STRING}}
    assert violations(SECRETS, rules.REMOTE_COMMAND, cmd) == []
    assert violations(SECRETS, rules.IMAGE, {"build": {"args": UNKNOWN_OBJECT}}) == []


def test_secrets_config_words_and_allow_list():
    plain = {"envs": ["KG_AUTH_TOKEN=abc", "JPY_COOKIE_SECRET=def"]}
    assert len(violations(SECRETS, CONTAINER, plain)) == 2
    allowed = violations(SECRETS, CONTAINER, plain, config={"plainAllowed": ["KG_AUTH_TOKEN"]})
    assert len(allowed) == 1 and "JPY_COOKIE_SECRET" in allowed[0]
    words = violations(
        SECRETS, CONTAINER, {"envs": ["MY_PIN=1234"]}, config={"secretWords": ["PIN"]}
    )
    assert len(words) == 1


# --- 10. attls-old-protocols-off ----------------------------------------------------------

ATTLS = "attls-old-protocols-off"


def test_the_runbook_policy_passes_wherever_it_is_shipped():
    heredoc = f"set -eu\ncat > /tmp/p <<'EOF'\n{SEED_ATTLS}EOF\niconv -t IBM-1047 /tmp/p > x\n"
    assert violations(ATTLS, rules.REMOTE_COMMAND, {"create": heredoc}) == []
    assert violations(ATTLS, rules.REMOTE_COMMAND, {"stdin": SEED_ATTLS}) == []
    assert violations(ATTLS, rules.COPY_TO_REMOTE, {"source": string_asset(SEED_ATTLS)}) == []
    inline = SEED_ATTLS.replace(
        "  TTLSEnvironmentAdvancedParmsRef gAdvAction1\n",
        "  TTLSEnvironmentAdvancedParms\n  {\n    TLSv1 Off\n    TLSv1.1 Off\n  }\n",
    )
    assert violations(ATTLS, rules.REMOTE_COMMAND, {"stdin": inline}) == []


@pytest.mark.parametrize(
    "policy_text, needle",
    [
        (SEED_ATTLS.replace("TLSv1 Off", "TLSv1 On"), "sets TLSv1 On"),
        (SEED_ATTLS.replace(" TLSv1.1 Off\n", ""), "do not say `TLSv1.1 Off`"),
        (SEED_ATTLS.replace(" TLSv1.2 On\n", " TLSv1.2 On\n SSLv3 On\n"), "sets SSLv3 On"),
        (
            SEED_ATTLS.replace("  TTLSEnvironmentAdvancedParmsRef gAdvAction1\n", ""),
            "has no TTLSEnvironmentAdvancedParms",
        ),
        (SEED_ATTLS.replace("Ref gAdvAction1", "Ref typo"), "refers to a missing"),
        (
            SEED_ATTLS + "TTLSConnectionAdvancedParms c1\n{\n  TLSv1.1 On\n}\n",
            "TTLSConnectionAdvancedParms c1 sets TLSv1.1 On",
        ),
        (SEED_ATTLS.replace("TLSv1.2 On\n}", "TLSv1.2 On\n"), "does not parse"),
    ],
)
def test_attls_policies_letting_old_protocols_in_are_flagged(policy_text, needle):
    found = violations(ATTLS, rules.REMOTE_COMMAND, {"stdin": policy_text}, name="attls")
    assert any(needle in f for f in found), found
    assert all("TLSv1 Off" in f for f in found)


def test_attls_policy_shipped_base64_encoded_is_checked_too():
    for policy_text, expected in (
        (SEED_ATTLS, 0),
        (SEED_ATTLS.replace("TLSv1 Off", "TLSv1 On"), 1),
    ):
        blob = base64.b64encode(policy_text.encode()).decode()
        script = f"echo {blob} | base64 -d | iconv -t IBM-1047 > /etc/pagent/jkg.policy"
        found = violations(ATTLS, rules.REMOTE_COMMAND, {"create": script})
        assert len(found) == expected
        assert all("create, base64-decoded" in f for f in found)


def test_attls_missing_or_unknown_props_pass():
    assert violations(ATTLS, rules.REMOTE_COMMAND, {}) == []
    assert violations(ATTLS, rules.REMOTE_COMMAND, {"create": UNKNOWN_STRING}) == []
    assert violations(ATTLS, rules.COPY_TO_REMOTE, {"source": UNKNOWN_STRING}) == []
    assert violations(ATTLS, rules.REMOTE_COMMAND, {"create": "echo no policy here"}) == []


# --- 11. certificates-bounded-renewed -----------------------------------------------------

CERTS = "certificates-bounded-renewed"


@pytest.mark.parametrize(
    "spec",
    [cert_params.ca_spec("Gateway"), cert_params.server_spec("hub"), cert_params.client_spec("al")],
)
def test_the_programs_certificate_parameters_pass(spec):
    props = {
        "validityPeriodHours": spec.validity_hours,
        "earlyRenewalHours": spec.early_renewal_hours,
        "isCaCertificate": spec.is_ca,
    }
    kind = rules.SELF_SIGNED_CERT if spec.is_ca else rules.LOCALLY_SIGNED_CERT
    assert violations(CERTS, kind, props) == []


@pytest.mark.parametrize(
    "props, needle",
    [
        ({"validityPeriodHours": 87600, "earlyRenewalHours": 720}, "the limit is 9552"),
        ({"validityPeriodHours": 0, "earlyRenewalHours": 0}, "valid for 0 hours"),
        ({"validityPeriodHours": 8760, "earlyRenewalHours": 0}, "early_renewal_hours=0"),
        ({"validityPeriodHours": 8760}, "early_renewal_hours=0"),
        ({"validityPeriodHours": 48, "earlyRenewalHours": 48}, "every `pulumi up` replaces"),
        (
            {"validityPeriodHours": 200000, "earlyRenewalHours": 720, "isCaCertificate": True},
            "CA certificate",
        ),
    ],
)
def test_unbounded_or_unrenewed_certificates_are_flagged(props, needle):
    for kind in (rules.SELF_SIGNED_CERT, rules.LOCALLY_SIGNED_CERT):
        found = violations(CERTS, kind, props, name="hub-cert")
        assert any(needle in f for f in found), found


def test_certificate_config_moves_the_bounds():
    props = {"validityPeriodHours": 87600, "earlyRenewalHours": 0}
    cfg = {"maxValidityHours": 100000, "minEarlyRenewalHours": 0}
    assert violations(CERTS, rules.LOCALLY_SIGNED_CERT, props, config=cfg) == []


def test_certificates_missing_or_unknown_props_do_not_crash():
    kind = rules.LOCALLY_SIGNED_CERT
    assert violations(CERTS, kind, {"validityPeriodHours": UNKNOWN_NUMBER}) == []
    unknown_renewal = {"validityPeriodHours": 8760, "earlyRenewalHours": UNKNOWN_NUMBER}
    assert violations(CERTS, kind, unknown_renewal) == []
    # No validity at all: nothing to bound; no renewal window: still reported.
    assert len(violations(CERTS, kind, {})) == 1
    assert violations(CERTS, kind, {"isCaCertificate": UNKNOWN_BOOL, "earlyRenewalHours": 24}) == []
