"""The hub's part of the resource graph, from running __main__.py under Pulumi mocks:
network, volumes, images, hub TLS, generated secrets, dev directory, hub container."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from components.directory.render import (
    SEED_LDIF_PATH,
    SLAPD_CONF_PATH,
    derive_password,
    directory_user,
    render_seed_ldif,
    render_slapd_conf,
)
from components.docker import names
from components.docker.names import notebook_container_name
from components.hub.container import (
    KEEP_ALL_SCRIPT,
    notebook_keep_list,
    notebook_servers_command,
)
from components.hub.environment import (
    CLIENT_CA_CERT_PATH,
    CLIENT_CA_KEY_PATH,
    GATEWAY_CA_PATH,
    HUB_PKI_MOUNT,
    LDAP_CA_PATH,
    LDAP_SEARCH_PASSWORD_PATH,
    SSL_CERT_PATH,
    SSL_KEY_PATH,
)
from tools.mock_graph import FAKES, run_program

ROOT = Path(__file__).resolve().parents[4]
CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
LOCAL_COMMAND = "command:local:Command"
RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
DOCKER_SOCKET = "/var/run/docker.sock"
HUB_COMPONENTS = {
    f"jupyterhub-zos:{module}:{type_}"
    for module, type_ in [
        ("network", "Network"),
        ("storage", "Storage"),
        ("images", "Images"),
        ("hub_tls", "HubTls"),
        ("generated_secrets", "GeneratedSecrets"),
        ("dev_directory", "DevDirectory"),
        ("hub", "Hub"),
    ]
}
NOTEBOOK = "quay.io/jupyter/base-notebook:2025-10-20"


@pytest.fixture(scope="module")
def dev():
    return run_program("dev")


@pytest.fixture(scope="module")
def zos(zos_config):
    config, secrets = zos_config
    return run_program("dev", config=config, secrets=secrets)


def hub_container(graph):
    return graph.one(CONTAINER, "jupyterhub-container")


def envs(resource) -> dict[str, str]:
    return dict(item.split("=", 1) for item in resource.inputs["envs"])


def uploads(resource) -> dict[str, dict]:
    return {u["file"]: u for u in resource.inputs["uploads"]}


def resource_urn(graph, type_, name):
    return graph.one(type_, name).urn


# --- each resource and its wiring (dev stack) ----------------------------------------------


def test_network_is_a_user_defined_bridge(dev):
    network = dev.one(NETWORK, "jupyterhub-network")
    assert network.inputs["name"] == "jupyterhub-network"
    assert network.inputs["driver"] == "bridge"
    assert dev.by_urn(network.parent).type == "jupyterhub-zos:network:Network"


def test_hub_data_volume_is_kept_on_destroy(dev):
    volume = dev.one(VOLUME, "jupyterhub-data")
    assert volume.inputs["name"] == "jupyterhub-data"
    assert volume.options["retainOnDelete"] is True
    # Not protect: that would make `pulumi destroy` fail as a whole.
    assert not volume.options["protect"]
    # The dev directory's data is derived from config: it goes with the stack.
    assert not dev.one(VOLUME, "jupyterhub-ldap-data").options["retainOnDelete"]


@pytest.mark.parametrize(
    ("name", "context"),
    [("jupyterhub-hub", "images/hub"), ("jupyterhub-notebook", "images/notebook")]
    + [("jupyterhub-ldap", "images/ldap")],
)
def test_images_are_built_locally_from_stable_contexts(dev, name, context):
    image = dev.one(IMAGE, name)
    build = image.inputs["build"]
    assert build["context"] == context  # relative: the same on every machine and run
    assert build["dockerfile"] == f"{context}/Dockerfile"
    if name != "jupyterhub-notebook":  # images/notebook/Dockerfile comes with issue 4
        assert (ROOT / build["dockerfile"]).is_file()
    assert image.inputs["skipPush"] is True
    assert image.inputs["imageName"] == f"jupyterhub-zos-{name.split('-')[1]}:dev"
    assert dev.of_type(REMOTE_IMAGE) == []


def test_hub_container_wiring(dev):
    hub = hub_container(dev)
    assert hub.inputs["name"] == "jupyterhub"
    assert hub.inputs["image"].startswith("sha256:")  # the local build's image ID
    assert resource_urn(dev, IMAGE, "jupyterhub-hub") in hub.dependencies
    assert hub.inputs["networksAdvanced"] == [
        {"name": "jupyterhub-network", "aliases": ["jupyterhub"]},
        {"name": "jupyterhub-network-directory"},  # the dev directory's own network
    ]
    assert hub.inputs["ports"] == [{"internal": 443, "external": 8443}]
    assert sorted(hub.inputs["volumes"], key=lambda v: v["containerPath"]) == [
        {"volumeName": "jupyterhub-data", "containerPath": "/data"},
        # HUB_PKI_DIR, where the hub writes each user's client certificate at spawn.
        {"hostPath": f"{ROOT}/.pki/dev", "containerPath": HUB_PKI_MOUNT},
        {"hostPath": DOCKER_SOCKET, "containerPath": DOCKER_SOCKET},
    ]
    assert hub.inputs["restart"] == "unless-stopped"
    health = hub.inputs["healthcheck"]["tests"]
    assert health[:2] == ["CMD", "python3"] and "/hub/health" in health[-1]
    assert hub.inputs["wait"] is True
    assert dev.by_urn(hub.parent).type == "jupyterhub-zos:hub:Hub"


def test_hub_environment_points_at_the_dev_directory_and_built_notebook(dev):
    env = envs(hub_container(dev))
    assert env["LDAP_SERVER_HOST"] == "jupyterhub-ldap"
    assert env["LDAP_SERVER_PORT"] == "389"
    assert env["LDAP_BIND_DN"] == "uid={username},ou=people,dc=jupyterhub,dc=local"
    assert env["LDAP_TLS"] == "starttls"
    assert env["LDAP_CA_CERT_FILE"] == LDAP_CA_PATH
    assert env["HUB_ADMIN_USERS"] == "admin" and env["HUB_ALLOWED_USERS"] == "alice"
    assert env["DOCKER_NOTEBOOK_IMAGE"].startswith("sha256:")
    assert env["DOCKER_NETWORK_NAME"] == "jupyterhub-network"
    assert env["IDLE_CULL_TIMEOUT"] == "3600"
    assert (env["SSL_CERT"], env["SSL_KEY"]) == (SSL_CERT_PATH, SSL_KEY_PATH)
    assert env["JUPYTERPKI_HOST_DIR"] == f"{ROOT}/.pki/dev"  # local Docker: in the project
    assert len(env["JPY_COOKIE_SECRET"]) == 64
    bytes.fromhex(env["JPY_COOKIE_SECRET"])  # JupyterHub reads it as hex


def test_hub_uploads_its_tls_material_and_the_ldap_ca(dev):
    hub = hub_container(dev)
    files = uploads(hub)
    assert set(files) == {
        SSL_CERT_PATH,
        SSL_KEY_PATH,
        LDAP_CA_PATH,
        CLIENT_CA_KEY_PATH,
        CLIENT_CA_CERT_PATH,
        GATEWAY_CA_PATH,
    }
    assert files[SSL_KEY_PATH]["permissions"] == "0600"
    assert files[CLIENT_CA_KEY_PATH]["permissions"] == "0600"
    assert "PRIVATE KEY" in files[CLIENT_CA_KEY_PATH]["content"]
    assert "PRIVATE KEY" in files[SSL_KEY_PATH]["content"]
    assert hub.is_secret("uploads")
    # The hub trusts exactly the dev directory's CA, and waits for the directory.
    assert resource_urn(dev, CONTAINER, "jupyterhub-ldap-server") in hub.dependencies


def test_hub_certificate_names_the_hub_host_and_loopback(dev):
    csr = dev.one("tls:index/certRequest:CertRequest", "jupyterhub-tls-server-csr")
    assert csr.inputs["dnsNames"] == ["localhost"]
    assert csr.inputs["ipAddresses"] == ["127.0.0.1"]
    cert = dev.one("tls:index/locallySignedCert:LocallySignedCert", "jupyterhub-tls-server-cert")
    assert "server_auth" in cert.inputs["allowedUses"]
    assert dev.outputs["hub_ca_cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert "hub_ca_cert" not in dev.secret_outputs


def check_ssha512(hashed: str, password: str) -> bool:
    raw = base64.b64decode(hashed.removeprefix("{SSHA512}"))
    return hashlib.sha512(password.encode() + raw[64:]).digest() == raw[:64]


def test_dev_directory_container(dev):
    ldap = dev.one(CONTAINER, "jupyterhub-ldap-server")
    assert ldap.inputs["name"] == "jupyterhub-ldap"
    assert ldap.inputs["image"].startswith("sha256:")
    assert "ports" not in ldap.inputs  # only on the Docker network
    assert ldap.inputs["networksAdvanced"] == [
        {"name": "jupyterhub-network-directory", "aliases": ["jupyterhub-ldap"]}
    ]
    assert ldap.inputs["volumes"] == [
        {"volumeName": "jupyterhub-ldap-data", "containerPath": "/var/lib/ldap"}
    ]
    files = uploads(ldap)
    assert files[SLAPD_CONF_PATH]["content"] == render_slapd_conf()
    assert files["/etc/ldap/jupyterhub/tls.key"]["permissions"] == "0600"
    seed = files[SEED_LDIF_PATH]["content"]
    seed_index = [u["file"] for u in ldap.inputs["uploads"]].index(SEED_LDIF_PATH)
    assert ("uploads", seed_index, "content") in ldap.secret_leaves
    # The seed holds hashes of exactly the exported (secret) passwords, never the passwords.
    passwords = dev.outputs["dev_passwords"]
    assert set(passwords) == {"admin", "alice"} and "dev_passwords" in dev.secret_outputs
    hashes = dict(
        zip(
            [
                line.split(",")[0].removeprefix("dn: uid=")
                for line in seed.splitlines()
                if line.startswith("dn: uid=")
            ],
            [
                line.removeprefix("userPassword: ")
                for line in seed.splitlines()
                if line.startswith("userPassword: ")
            ],
            strict=True,
        )
    )
    for user, password in passwords.items():
        assert password not in seed
        assert check_ssha512(hashes[user], password)
    server_csr = dev.one("tls:index/certRequest:CertRequest", "jupyterhub-ldap-server-csr")
    assert server_csr.inputs["dnsNames"] == ["jupyterhub-ldap"]


def fake_key_base64(key) -> str:
    """The base64 the mock harness's fake RandomBytes gave the password key."""
    fake = FAKES[RANDOM_BYTES](SimpleNamespace(typ=key.type, name=key.name, inputs=key.inputs))
    return fake["base64"]


def test_dev_passwords_are_derived_from_one_key(dev):
    # One RandomBytes for the whole directory, no RandomPassword per user: each typed
    # resource costs the program memory, per user that was too much at 1000 users.
    key = dev.one(RANDOM_BYTES, "jupyterhub-ldap-password-key")
    assert key.inputs["length"] == 32
    assert dev.by_urn(key.parent).type == "jupyterhub-zos:dev_directory:DevDirectory"
    assert key.urn == (
        "urn:pulumi:dev::jupyterhub-zos::jupyterhub-zos:dev_directory:DevDirectory"
        "$random:index/randomBytes:RandomBytes::jupyterhub-ldap-password-key"
    )
    assert not [r.name for r in dev.of_type(RANDOM_PASSWORD) if "ldap" in r.name]

    derived = {u: derive_password(fake_key_base64(key), u) for u in ("admin", "alice")}
    assert dev.outputs["dev_passwords"] == derived
    assert "dev_passwords" in dev.secret_outputs
    # The seed, exactly: {SSHA512} hashes of the derived passwords (the salt is derived
    # too, so the LDIF is reproducible).
    ldap = dev.one(CONTAINER, "jupyterhub-ldap-server")
    seed = uploads(ldap)[SEED_LDIF_PATH]["content"]
    assert seed == render_seed_ldif([directory_user(u, p) for u, p in derived.items()])
    assert seed.count("userPassword: {SSHA512}") == 2


def test_readme_rotation_command_names_the_real_key(dev):
    # The documented rotation must name the key's exact URN, or it rotates nothing.
    urn = dev.one(RANDOM_BYTES, "jupyterhub-ldap-password-key").urn
    assert f"pulumi up --replace '{urn}'" in (ROOT / "docs" / "howto" / "day-2.md").read_text()


def test_only_the_hub_gets_the_docker_socket(dev, zos):
    for graph in (dev, zos):
        with_socket = [
            c.inputs["name"]
            for c in graph.of_type(CONTAINER)
            if any(v.get("hostPath") == DOCKER_SOCKET for v in c.inputs.get("volumes", []))
            or any(DOCKER_SOCKET in json.dumps(m) for m in c.inputs.get("mounts", []))
        ]
        assert with_socket == ["jupyterhub"]


def secret_values(graph) -> set[str]:
    env = envs(hub_container(graph))
    values = {
        env[k]
        for k in (
            "KG_AUTH_TOKEN",
            "JPY_COOKIE_SECRET",
            "CONFIGPROXY_AUTH_TOKEN",
            "HUB_METRICS_TOKEN",
            "HUB_STATUS_TOKEN",
        )
    }
    for container in graph.of_type(CONTAINER):
        for upload in container.inputs.get("uploads", []):
            if "PRIVATE KEY" in upload["content"] or upload["file"].endswith(".ldif"):
                values.add(upload["content"])
    values.update((graph.outputs.get("dev_passwords") or {}).values())
    return values


@pytest.mark.parametrize("stack", ["dev", "zos"])
def test_no_secret_in_any_non_secret_input(stack, dev, zos, zos_config):
    graph = {"dev": dev, "zos": zos}[stack]
    secrets = secret_values(graph)
    if stack == "zos":
        secrets.update(zos_config[1].values())  # configured with --secret
    assert len(secrets) >= 6
    for resource in graph.resources:
        for name, value in resource.inputs.items():
            if resource.is_secret(name):
                continue
            text = json.dumps(value)
            for secret in secrets:
                # Compare on the JSON-escaped form: PEMs hold newlines.
                assert json.dumps(secret)[1:-1] not in text, (resource.name, name)


def test_env_secrets_are_secret_inputs(dev):
    assert hub_container(dev).is_secret("envs")


def test_children_are_parented_and_named_after_their_component(dev):
    components = {r.urn: r for r in dev.resources if not r.custom}
    for resource in dev.resources:
        if not resource.custom:
            assert resource.type.startswith("jupyterhub-zos:")
            continue
        assert resource.parent in components, resource.name
        assert resource.name.startswith(components[resource.parent].name), resource.name


def test_stack_outputs(dev):
    assert dev.outputs["hub_url"] == "https://localhost:8443/"
    assert dev.outputs["admin_users"] == ["admin"]
    assert dev.outputs["data_volume"] == "jupyterhub-data"
    assert dev.outputs["docker_logs"] == {
        "hub": "docker logs jupyterhub",
        "admin": "docker logs jupyter-admin",
        "alice": "docker logs jupyter-alice",
    }


def test_metrics_token_is_generated_once_and_a_secret_output(dev):
    token = dev.one(RANDOM_PASSWORD, "jupyterhub-metrics-token")
    assert token.inputs["length"] == 48 and token.inputs["special"] is False
    env = envs(hub_container(dev))
    assert env["HUB_METRICS_TOKEN"] == dev.outputs["metrics_token"]
    assert len(env["HUB_METRICS_TOKEN"]) == 48
    assert "metrics_token" in dev.secret_outputs


def test_status_token_is_generated_once_and_a_secret_output(dev):
    token = dev.one(RANDOM_PASSWORD, "jupyterhub-status-token")
    assert token.inputs["length"] == 48 and token.inputs["special"] is False
    env = envs(hub_container(dev))
    assert env["HUB_STATUS_TOKEN"] == dev.outputs["status_token"]
    assert env["HUB_STATUS_TOKEN"] != env["HUB_METRICS_TOKEN"]
    assert "status_token" in dev.secret_outputs


def test_notebook_container_names_match_dockerspawner():
    from dockerspawner import DockerSpawner

    for user in ("alice", "a.b", "x_y", "dash-ed", "u1"):
        assert notebook_container_name(user) == f"jupyter-{DockerSpawner._escape(user)}"
    # The prune script takes a container's user from the part before the first `--`.
    assert "--" not in names.NOTEBOOK_PREFIX
    assert notebook_container_name("a-b", "c").split("--")[0] == notebook_container_name("a-b")


# --- changes roll the hub ------------------------------------------------------------------


def test_a_named_notebook_image_is_pulled_and_changes_the_hub_container(dev):
    pulled = run_program("dev", config={"DOCKER_NOTEBOOK_IMAGE": NOTEBOOK})
    remote = pulled.one(REMOTE_IMAGE)
    assert remote.inputs["name"] == NOTEBOOK
    assert remote.inputs["keepLocally"] is True
    assert "jupyterhub-notebook" not in pulled.names(IMAGE)
    image = envs(hub_container(pulled))["DOCKER_NOTEBOOK_IMAGE"]
    assert image.startswith("quay.io/jupyter/base-notebook@sha256:")
    assert remote.urn in hub_container(pulled).dependencies
    # Another tag: another digest, so the container's env (a replace-on-change input) differs.
    other = run_program("dev", config={"DOCKER_NOTEBOOK_IMAGE": NOTEBOOK.replace("10-20", "11-03")})
    assert envs(hub_container(other))["DOCKER_NOTEBOOK_IMAGE"] != image
    assert hub_container(other).inputs["envs"] != hub_container(pulled).inputs["envs"]
    assert hub_container(dev).inputs["envs"] != hub_container(pulled).inputs["envs"]


def test_image_choices_reach_the_hub_as_digests_the_default_first(dev):
    scipy = NOTEBOOK.replace("base-notebook", "scipy-notebook")
    graph = run_program("dev", config={"DOCKER_NOTEBOOK_IMAGES": [scipy, NOTEBOOK]})
    env = envs(hub_container(graph))
    choices = json.loads(env["DOCKER_NOTEBOOK_IMAGES"])
    assert list(choices) == ["jupyterhub-zos-notebook:dev", scipy, NOTEBOOK]
    assert choices["jupyterhub-zos-notebook:dev"] == env["DOCKER_NOTEBOOK_IMAGE"]
    assert choices[scipy].startswith("quay.io/jupyter/scipy-notebook@sha256:")
    assert len(set(choices.values())) == 3
    assert "DOCKER_NOTEBOOK_IMAGES" not in envs(hub_container(dev))  # one image: no choice


def test_named_servers_reach_the_hub(dev):
    assert envs(hub_container(dev))["HUB_NAMED_SERVERS"] == "0"
    graph = run_program("dev", config={"HUB_NAMED_SERVERS": 2})
    assert envs(hub_container(graph))["HUB_NAMED_SERVERS"] == "2"


def test_admin_server_access_reaches_the_hub_off_unless_set(dev):
    assert envs(hub_container(dev))["HUB_ADMIN_SERVER_ACCESS"] == "false"
    graph = run_program("dev", config={"HUB_ADMIN_SERVER_ACCESS": True})
    assert envs(hub_container(graph))["HUB_ADMIN_SERVER_ACCESS"] == "true"


def test_a_changed_hub_setting_changes_the_hub_container(dev):
    changed = run_program("dev", config={"IDLE_CULL_TIMEOUT": 7200})
    assert envs(hub_container(changed))["IDLE_CULL_TIMEOUT"] == "7200"
    assert hub_container(changed).inputs["envs"] != hub_container(dev).inputs["envs"]


# --- other stacks ----------------------------------------------------------------------------


def test_zos_style_stack_uses_its_own_ldap_and_gateway(zos, zos_config):
    config, secrets = zos_config
    assert not any("ldap" in name for name in zos.names(CONTAINER) + zos.names(IMAGE))
    assert "dev_passwords" not in zos.outputs
    env = envs(hub_container(zos))
    assert env["LDAP_SERVER_HOST"] == config["LDAP_SERVER_HOST"]
    assert env["LDAP_BIND_DN"] == config["LDAP_BIND_DN"]
    assert "LDAP_CA_CERT_FILE" not in env
    assert env["KG_URL"] == "https://127.0.0.1:8099"
    # The configured token is used; none is generated.
    assert env["KG_AUTH_TOKEN"] == secrets["KG_AUTH_TOKEN"]
    assert "jupyterhub-kg-token" not in zos.names()
    assert env["HUB_ADMIN_USERS"] == "admin"
    assert "LDAP_TLS=none" not in hub_container(zos).inputs["envs"]
    assert uploads(hub_container(zos)).keys() == {SSL_CERT_PATH, SSL_KEY_PATH}


def test_own_ldap_ca_and_groups_reach_the_hub(cert_pairs):
    ca_pem, _ = cert_pairs[0]
    groups = ["cn=jupyter,ou=groups,dc=example,dc=org"]
    graph = run_program(
        "dev",
        config={
            "LDAP_SERVER_HOST": "ldap.test",
            "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
            "LDAP_CA_CERT": ca_pem,
            "LDAP_TLS": "ldaps",
            "LDAP_ALLOWED_GROUPS": groups,
        },
    )
    hub = hub_container(graph)
    env = envs(hub)
    assert env["LDAP_TLS"] == "ldaps" and env["LDAP_SERVER_PORT"] == "636"
    assert json.loads(env["LDAP_ALLOWED_GROUPS"]) == groups
    assert uploads(hub)[LDAP_CA_PATH]["content"] == ca_pem


def test_given_hub_certificate_is_used_instead_of_a_generated_one(cert_pairs):
    cert_pem, key_pem = cert_pairs[0]
    graph = run_program(
        "dev",
        config={"HUB_TLS_CERT": cert_pem, "HUB_HOSTNAME": "hub.test"},
        secrets={"HUB_TLS_KEY": key_pem},
    )
    assert not any(r.name.startswith("jupyterhub-tls-") for r in graph.resources if r.custom)
    files = uploads(hub_container(graph))
    assert files[SSL_CERT_PATH]["content"] == cert_pem
    assert files[SSL_KEY_PATH]["content"] == key_pem
    assert hub_container(graph).is_secret("uploads")
    assert "hub_ca_cert" not in graph.outputs
    assert graph.outputs["hub_url"] == "https://hub.test:8443/"


def test_dev_directory_without_tls_takes_clear_text_binds():
    graph = run_program("dev", config={"LDAP_TLS": "none"})
    conf = uploads(graph.one(CONTAINER, "jupyterhub-ldap-server"))[SLAPD_CONF_PATH]["content"]
    assert conf == render_slapd_conf(require_tls=False)
    assert envs(hub_container(graph))["LDAP_TLS"] == "none"


def test_first_up_of_the_dev_stack_creates(dev):
    """What `pulumi up` of a fresh dev stack creates (this part of the program)."""
    created = sorted(
        (r.type, r.name)
        for r in dev.resources
        if r.custom and dev.by_urn(r.parent).type in HUB_COMPONENTS
    )
    assert created == sorted(
        [
            (NETWORK, "jupyterhub-network"),
            (NETWORK, "jupyterhub-directory-network"),
            (VOLUME, "jupyterhub-data"),
            (VOLUME, "jupyterhub-ldap-data"),
            (IMAGE, "jupyterhub-hub"),
            (IMAGE, "jupyterhub-notebook"),
            (IMAGE, "jupyterhub-ldap"),
            ("random:index/randomBytes:RandomBytes", "jupyterhub-cookie-secret"),
            ("random:index/randomPassword:RandomPassword", "jupyterhub-proxy-token"),
            ("random:index/randomPassword:RandomPassword", "jupyterhub-kg-token"),
            ("random:index/randomPassword:RandomPassword", "jupyterhub-metrics-token"),
            ("random:index/randomPassword:RandomPassword", "jupyterhub-status-token"),
            ("random:index/randomBytes:RandomBytes", "jupyterhub-ldap-password-key"),
            ("tls:index/privateKey:PrivateKey", "jupyterhub-tls-ca-key"),
            ("tls:index/selfSignedCert:SelfSignedCert", "jupyterhub-tls-ca-cert"),
            ("tls:index/privateKey:PrivateKey", "jupyterhub-tls-server-key"),
            ("tls:index/certRequest:CertRequest", "jupyterhub-tls-server-csr"),
            ("tls:index/locallySignedCert:LocallySignedCert", "jupyterhub-tls-server-cert"),
            ("tls:index/privateKey:PrivateKey", "jupyterhub-ldap-ca-key"),
            ("tls:index/selfSignedCert:SelfSignedCert", "jupyterhub-ldap-ca-cert"),
            ("tls:index/privateKey:PrivateKey", "jupyterhub-ldap-server-key"),
            ("tls:index/certRequest:CertRequest", "jupyterhub-ldap-server-csr"),
            ("tls:index/locallySignedCert:LocallySignedCert", "jupyterhub-ldap-server-cert"),
            (CONTAINER, "jupyterhub-ldap-server"),
            (CONTAINER, "jupyterhub-container"),
            (LOCAL_COMMAND, "jupyterhub-notebook-servers"),
            (LOCAL_COMMAND, "jupyterhub-pids-limit"),
            (LOCAL_COMMAND, "jupyterhub-ldap-pids-limit"),
        ]
    )


def test_destroy_removes_notebook_containers_after_the_hub_and_before_the_network(dev):
    # The hub leaves users' notebook containers running when it stops (a replacement
    # keeps their work), and Docker will not remove a network a container is on.
    servers = dev.one(LOCAL_COMMAND, "jupyterhub-notebook-servers")
    assert servers.inputs["delete"] == notebook_servers_command(
        "jupyterhub-network", None, prune=False
    )
    # Pulumi deletes dependents first: the hub, then this, then the network.
    assert servers.urn in hub_container(dev).dependencies
    assert resource_urn(dev, NETWORK, "jupyterhub-network") in servers.dependencies


def test_notebook_containers_are_removed_over_ssh_on_an_ssh_docker_host():
    graph = run_program("dev", config={"docker:host": "ssh://ops@dockerhost:2222"})
    delete = graph.one(LOCAL_COMMAND, "jupyterhub-notebook-servers").inputs["delete"]
    assert delete.startswith("exec ssh ")
    assert "-l ops -p 2222" in delete and "-- dockerhost" in delete
    assert "docker ps -a " in delete and "DOCKER_HOST" not in delete


def test_servers_of_users_without_a_certificate_are_removed_before_the_hub_is_replaced(
    zos_config,
):
    # With RACF certificates (ZOS_HOST) only delivered users can work: the new hub would
    # find the others' servers running and keep them; the config no longer has them.
    config, secrets = zos_config
    zos = run_program("dev", config=config, secrets=secrets)
    servers = zos.one(LOCAL_COMMAND, "jupyterhub-notebook-servers")
    assert servers.inputs["create"] == notebook_servers_command(
        "jupyterhub-network", None, prune=True
    )
    assert "update" not in servers.inputs  # an input change runs `create` again
    assert "triggers" not in servers.inputs  # a trigger would replace it: delete removes all
    assert servers.inputs["stdin"] == notebook_keep_list(["admin", "alice"])
    assert servers.inputs["stdin"].splitlines()[1:] == ["jupyter-admin", "jupyter-alice"]
    users = {k: v for k, v in config["ZOS_USERS"].items() if k != "alice"}
    removed = run_program(
        "dev", config={**config, "HUB_ALLOWED_USERS": [], "ZOS_USERS": users}, secrets=secrets
    )
    kept = removed.one(LOCAL_COMMAND, "jupyterhub-notebook-servers").inputs["stdin"]
    assert kept.splitlines()[1:] == ["jupyter-admin"]


def test_when_the_hub_issues_certificates_no_server_is_pruned_before_a_replacement(dev):
    # Group members and users added in the admin console are in no list the program has.
    servers = dev.one(LOCAL_COMMAND, "jupyterhub-notebook-servers")
    assert servers.inputs["create"] == KEEP_ALL_SCRIPT
    assert "stdin" not in servers.inputs
    assert servers.inputs["delete"] == notebook_servers_command(
        "jupyterhub-network", None, prune=False
    )


def test_hub_certificate_for_an_ip_address_hostname():
    graph = run_program("dev", config={"HUB_HOSTNAME": "192.0.2.10"})
    csr = graph.one("tls:index/certRequest:CertRequest", "jupyterhub-tls-server-csr")
    assert csr.inputs["dnsNames"] == ["localhost"]
    assert csr.inputs["ipAddresses"] == ["192.0.2.10", "127.0.0.1"]
    assert graph.outputs["hub_url"] == "https://192.0.2.10:8443/"


def test_search_then_bind_password_is_a_secret_file_not_an_env_variable():
    password = "search-account-password-42"
    graph = run_program(
        "dev",
        config={
            "LDAP_SERVER_HOST": "ad.example.org",
            "LDAP_USER_SEARCH_BASE": "dc=example,dc=org",
            "LDAP_USER_ATTRIBUTE": "sAMAccountName",
            "LDAP_SEARCH_BIND_DN": "cn=hub-search,ou=services,dc=example,dc=org",
        },
        secrets={"LDAP_SEARCH_BIND_PASSWORD": password},
    )
    hub = hub_container(graph)
    env = envs(hub)
    assert "LDAP_BIND_DN" not in env
    assert env["LDAP_USER_SEARCH_BASE"] == "dc=example,dc=org"
    assert env["LDAP_SEARCH_BIND_PASSWORD_FILE"] == LDAP_SEARCH_PASSWORD_PATH
    assert password not in json.dumps(hub.inputs["envs"])
    upload = uploads(hub)[LDAP_SEARCH_PASSWORD_PATH]
    assert upload["content"] == password and upload["permissions"] == "0600"
    index = [u["file"] for u in hub.inputs["uploads"]].index(LDAP_SEARCH_PASSWORD_PATH)
    assert ("uploads", index, "content") in hub.secret_leaves
    # Nowhere else in the graph, secret or not.
    for resource in graph.resources:
        if resource is not hub:
            assert password not in json.dumps(resource.inputs), resource.name


def test_the_stacks_containers_rotate_their_logs(dev):
    names_ = ("jupyterhub-container", "jupyterhub-ldap-server", "jupyterhub-gateway-container")
    for name in names_:
        container = dev.one(CONTAINER, name)
        assert container.inputs["logDriver"] == "json-file", name
        assert container.inputs["logOpts"] == {"max-size": "10m", "max-file": "5"}, name
    env = envs(hub_container(dev))
    assert (env["DOCKER_LOG_MAX_SIZE"], env["DOCKER_LOG_MAX_FILE"]) == ("10m", "5")
    assert env["NOTEBOOK_LOG_RETENTION_DAYS"] == "7"
    assert env["NOTEBOOK_LOG_DIR"] == "/data/notebook-logs"  # on the data volume
    changed = run_program(
        "dev",
        config={
            "DOCKER_LOG_MAX_SIZE": "50m",
            "DOCKER_LOG_MAX_FILE": 2,
            "NOTEBOOK_LOG_RETENTION_DAYS": 30,
        },
    )
    for name in names_:
        assert changed.one(CONTAINER, name).inputs["logOpts"] == {
            "max-size": "50m",
            "max-file": "2",
        }
    assert envs(hub_container(changed))["NOTEBOOK_LOG_RETENTION_DAYS"] == "30"
