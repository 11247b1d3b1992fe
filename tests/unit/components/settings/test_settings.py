"""The settings model: every rule a user can get wrong is refused before any resource,
with the key named; good stacks pass; secrets stay secret."""

from __future__ import annotations

import pulumi
import pytest

from components.settings import SECRET_KEYS, KernelLimits, SettingsError, validate
from components.settings.source import RawConfig
from tools.mock_graph import run_program

CERT_TEXT = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"

# Your own LDAP server; with users found by a search.
_OWN_LDAP = {"LDAP_SERVER_HOST": "ldap.test"}
_SEARCH = {**_OWN_LDAP, "LDAP_USER_SEARCH_BASE": "dc=example,dc=org"}

# (name, config overrides, secret overrides, the key that must be named)
BAD = [
    ("port zero", {"HUB_HTTPS_PORT": 0}, {}, "HUB_HTTPS_PORT"),
    ("port too big", {"HUB_HTTPS_PORT": 70000}, {}, "HUB_HTTPS_PORT"),
    ("port not a number", {"HUB_HTTPS_PORT": "https"}, {}, "HUB_HTTPS_PORT"),
    (
        "ldap port too big",
        {
            "LDAP_SERVER_HOST": "ldap.test",
            "LDAP_BIND_DN": "uid={username},dc=x",
            "LDAP_SERVER_PORT": 99999,
        },
        {},
        "LDAP_SERVER_PORT",
    ),
    ("negative cull timeout", {"IDLE_CULL_TIMEOUT": -5}, {}, "IDLE_CULL_TIMEOUT"),
    ("cull timeout too short", {"IDLE_CULL_TIMEOUT": 60}, {}, "IDLE_CULL_TIMEOUT"),
    ("memory unit", {"NOTEBOOK_MEM_LIMIT": "2X"}, {}, "NOTEBOOK_MEM_LIMIT"),
    ("memory zero", {"NOTEBOOK_MEM_LIMIT": "0G"}, {}, "NOTEBOOK_MEM_LIMIT"),
    # The hub would make /home/<user> uid 1000's and 0700.
    ("pki dir /home", {"HUB_PKI_DIR": "/home"}, {}, "HUB_PKI_DIR"),
    ("pki dir /", {"HUB_PKI_DIR": "/"}, {}, "HUB_PKI_DIR"),
    ("pki dir /var/lib", {"HUB_PKI_DIR": "/var/lib/"}, {}, "HUB_PKI_DIR"),
    # Bytes to Docker, which refuses less than 6 MB: every spawn would fail.
    ("memory in bytes, too few", {"NOTEBOOK_MEM_LIMIT": "2048"}, {}, "NOTEBOOK_MEM_LIMIT"),
    ("pki dir /var/lib/docker", {"HUB_PKI_DIR": "/var//lib/docker"}, {}, "HUB_PKI_DIR"),
    ("pki dir double slash", {"HUB_PKI_DIR": "//etc"}, {}, "HUB_PKI_DIR"),
    ("pki dir in /proc", {"HUB_PKI_DIR": "/proc/self/pki"}, {}, "HUB_PKI_DIR"),
    ("memory under docker's least", {"NOTEBOOK_MEM_LIMIT": "5M"}, {}, "NOTEBOOK_MEM_LIMIT"),
    ("cpu under docker's least", {"NOTEBOOK_CPU_LIMIT": "0.005"}, {}, "NOTEBOOK_CPU_LIMIT"),
    ("cpu nan", {"NOTEBOOK_CPU_LIMIT": "nan"}, {}, "NOTEBOOK_CPU_LIMIT"),
    ("cpu negative", {"NOTEBOOK_CPU_LIMIT": "-1"}, {}, "NOTEBOOK_CPU_LIMIT"),
    ("cpu words", {"NOTEBOOK_CPU_LIMIT": "lots"}, {}, "NOTEBOOK_CPU_LIMIT"),
    ("kg url scheme", {"KG_URL": "ftp://gateway.test:8099"}, {}, "KG_URL"),
    ("kg url in clear text", {"KG_URL": "http://gateway.test:8099"}, {}, "KG_URL"),
    ("kg url credentials", {"KG_URL": "https://u:p@gateway.test"}, {}, "KG_URL"),
    ("kg url no host", {"KG_URL": "https://"}, {}, "KG_URL"),
    (
        "bind dn without {username}",
        {"LDAP_SERVER_HOST": "ldap.test", "LDAP_BIND_DN": "uid=admin,dc=example,dc=org"},
        {},
        "LDAP_BIND_DN",
    ),
    ("no admin", {"HUB_ADMIN_USERS": []}, {}, "HUB_ADMIN_USERS"),
    ("admin missing", {"HUB_ADMIN_USERS": None}, {}, "HUB_ADMIN_USERS"),
    ("upper-case user", {"HUB_ADMIN_USERS": ["Alice"]}, {}, "HUB_ADMIN_USERS"),
    ("path in user name", {"HUB_ALLOWED_USERS": ["bob/../root"]}, {}, "HUB_ALLOWED_USERS"),
    ("users not JSON", {"HUB_ALLOWED_USERS": "bob,carol"}, {}, "HUB_ALLOWED_USERS"),
    ("client key path", {"CLIENT_KEY": "../key.pem"}, {}, "CLIENT_KEY"),
    ("client cert subdir", {"CLIENT_CERT": "sub/cert.pem"}, {}, "CLIENT_CERT"),
    ("client files clash", {"CLIENT_CA": "cert.pem"}, {}, "CLIENT_CA"),
    (
        "image untagged",
        {"DOCKER_NOTEBOOK_IMAGE": "jupyter/base-notebook"},
        {},
        "DOCKER_NOTEBOOK_IMAGE",
    ),
    (
        "image latest",
        {"DOCKER_NOTEBOOK_IMAGE": "quay.io/jupyter/base-notebook:latest"},
        {},
        "DOCKER_NOTEBOOK_IMAGE",
    ),
    ("image garbage", {"DOCKER_NOTEBOOK_IMAGE": "Bad Image!"}, {}, "DOCKER_NOTEBOOK_IMAGE"),
    ("ldap tls unknown", {"LDAP_TLS": "ssl"}, {}, "LDAP_TLS"),
    (
        "ldap tls none for a real server",
        {
            "LDAP_SERVER_HOST": "ldap.test",
            "LDAP_TLS": "none",
            "LDAP_BIND_DN": "uid={username},dc=x",
        },
        {},
        "LDAP_TLS",
    ),
    (
        "ldap host loopback",
        {"LDAP_SERVER_HOST": "127.0.0.1", "LDAP_BIND_DN": "uid={username},dc=x"},
        {},
        "LDAP_SERVER_HOST",
    ),
    ("ldap host without bind dn", {"LDAP_SERVER_HOST": "ldap.test"}, {}, "LDAP_BIND_DN"),
    ("bind dn without ldap host", {"LDAP_BIND_DN": "uid={username},dc=x"}, {}, "LDAP_BIND_DN"),
    ("ldap group not a DN", {"LDAP_ALLOWED_GROUPS": ["jupyter users"]}, {}, "LDAP_ALLOWED_GROUPS"),
    ("validate not boolean", {"VALIDATE_KG_CERT": "yes"}, {}, "VALIDATE_KG_CERT"),
    ("token too short", {}, {"KG_AUTH_TOKEN": "short"}, "KG_AUTH_TOKEN"),
    ("token not secret", {"KG_AUTH_TOKEN": "a-long-enough-gateway-token"}, {}, "KG_AUTH_TOKEN"),
    ("hub cert garbage", {"HUB_TLS_CERT": CERT_TEXT}, {}, "HUB_TLS_CERT"),
    ("hub key garbage", {}, {"HUB_TLS_KEY": "not a key"}, "HUB_TLS_KEY"),
    ("hub host with scheme", {"HUB_HOSTNAME": "https://hub.test"}, {}, "HUB_HOSTNAME"),
    ("zos users not a map", {"ZOS_USERS": ["alice"]}, {}, "ZOS_USERS"),
    ("zos users without zos host", {"ZOS_USERS": {"alice": "ALICE01"}}, {}, "ZOS_USERS"),
    ("key size 1024", {"ZOS_KEY_SIZE": 1024}, {}, "ZOS_KEY_SIZE"),
    ("notafter in the past", {"ZOS_CERT_NOTAFTER": "2020-01-01"}, {}, "ZOS_CERT_NOTAFTER"),
    ("notafter not a date", {"ZOS_CERT_NOTAFTER": "next year"}, {}, "ZOS_CERT_NOTAFTER"),
    ("typo in a key", {"KG_URl": "https://gateway.test"}, {}, "KG_URl"),
    ("docker host scheme", {"docker:host": "ftp://docker.test"}, {}, "docker:host"),
    ("network name", {"DOCKER_NETWORK_NAME": "my network"}, {}, "DOCKER_NETWORK_NAME"),
    ("pki dir relative", {"HUB_PKI_DIR": "pki"}, {}, "HUB_PKI_DIR"),
    # Logs
    ("log size unit", {"DOCKER_LOG_MAX_SIZE": "10MB"}, {}, "DOCKER_LOG_MAX_SIZE"),
    ("log size zero", {"DOCKER_LOG_MAX_SIZE": "0m"}, {}, "DOCKER_LOG_MAX_SIZE"),
    ("log files zero", {"DOCKER_LOG_MAX_FILE": 0}, {}, "DOCKER_LOG_MAX_FILE"),
    (
        "log retention negative",
        {"NOTEBOOK_LOG_RETENTION_DAYS": -1},
        {},
        "NOTEBOOK_LOG_RETENTION_DAYS",
    ),
    # Culling and the kernel cap
    (
        "max age without culler",
        {"IDLE_CULL_TIMEOUT": 0, "IDLE_CULL_MAX_AGE": 86400},
        {},
        "IDLE_CULL_MAX_AGE",
    ),
    ("max age negative", {"IDLE_CULL_MAX_AGE": -1}, {}, "IDLE_CULL_MAX_AGE"),
    ("culler concurrency zero", {"IDLE_CULL_CONCURRENCY": 0}, {}, "IDLE_CULL_CONCURRENCY"),
    ("culler concurrency huge", {"IDLE_CULL_CONCURRENCY": 1000}, {}, "IDLE_CULL_CONCURRENCY"),
    ("kernel cull negative", {"KG_CULL_IDLE_TIMEOUT": -1}, {}, "KG_CULL_IDLE_TIMEOUT"),
    ("kernel cull interval zero", {"KG_CULL_INTERVAL": 0}, {}, "KG_CULL_INTERVAL"),
    ("kernel cull connected yes", {"KG_CULL_CONNECTED": "yes"}, {}, "KG_CULL_CONNECTED"),
    ("max kernels negative", {"KG_MAX_KERNELS": -2}, {}, "KG_MAX_KERNELS"),
    (
        "max kernels for a gateway at KG_URL",
        {"KG_URL": "https://gateway.test:8099", "KG_MAX_KERNELS": 20},
        {},
        "KG_MAX_KERNELS",
    ),
    # Search-then-bind LDAP
    (
        "search base not a DN",
        {**_OWN_LDAP, "LDAP_USER_SEARCH_BASE": "people"},
        {},
        "LDAP_USER_SEARCH_BASE",
    ),
    (
        "search base with the dev directory",
        {"LDAP_USER_SEARCH_BASE": "dc=x"},
        {},
        "LDAP_USER_SEARCH_BASE",
    ),
    (
        "search base and bind dn both",
        {**_OWN_LDAP, "LDAP_USER_SEARCH_BASE": "dc=x", "LDAP_BIND_DN": "uid={username},dc=x"},
        {},
        "LDAP_BIND_DN",
    ),
    (
        "search account without search base",
        {**_OWN_LDAP, "LDAP_BIND_DN": "uid={username},dc=x", "LDAP_SEARCH_BIND_DN": "cn=s,dc=x"},
        {"LDAP_SEARCH_BIND_PASSWORD": "pw"},
        "LDAP_SEARCH_BIND_DN",
    ),
    (
        "user attribute without search base",
        {**_OWN_LDAP, "LDAP_BIND_DN": "uid={username},dc=x", "LDAP_USER_ATTRIBUTE": "cn"},
        {},
        "LDAP_USER_ATTRIBUTE",
    ),
    (
        "search dn without password",
        {**_SEARCH, "LDAP_SEARCH_BIND_DN": "cn=s,dc=x"},
        {},
        "LDAP_SEARCH_BIND_PASSWORD",
    ),
    (
        "search password without dn",
        _SEARCH,
        {"LDAP_SEARCH_BIND_PASSWORD": "pw"},
        "LDAP_SEARCH_BIND_DN",
    ),
    (
        "search password not secret",
        {**_SEARCH, "LDAP_SEARCH_BIND_DN": "cn=s,dc=x", "LDAP_SEARCH_BIND_PASSWORD": "pw"},
        {},
        "LDAP_SEARCH_BIND_PASSWORD",
    ),
    (
        "search password two lines",
        {**_SEARCH, "LDAP_SEARCH_BIND_DN": "cn=s,dc=x"},
        {"LDAP_SEARCH_BIND_PASSWORD": "pw\nmore"},
        "LDAP_SEARCH_BIND_PASSWORD",
    ),
    (
        "user attribute garbage",
        {**_SEARCH, "LDAP_USER_ATTRIBUTE": "uid=x"},
        {},
        "LDAP_USER_ATTRIBUTE",
    ),
    (
        "user filter without login",
        {**_SEARCH, "LDAP_USER_SEARCH_FILTER": "(uid=x)"},
        {},
        "LDAP_USER_SEARCH_FILTER",
    ),
    (
        "user filter unknown field",
        {**_SEARCH, "LDAP_USER_SEARCH_FILTER": "(uid={user})"},
        {},
        "LDAP_USER_SEARCH_FILTER",
    ),
    (
        "user filter unbalanced",
        {**_SEARCH, "LDAP_USER_SEARCH_FILTER": "(&(uid={login})"},
        {},
        "LDAP_USER_SEARCH_FILTER",
    ),
    (
        "user filter bare",
        {**_SEARCH, "LDAP_USER_SEARCH_FILTER": "uid={login}"},
        {},
        "LDAP_USER_SEARCH_FILTER",
    ),
    (
        "group filter without user",
        {**_SEARCH, "LDAP_ALLOWED_GROUPS": ["cn=g,dc=x"], "LDAP_GROUP_SEARCH_FILTER": "(member=x)"},
        {},
        "LDAP_GROUP_SEARCH_FILTER",
    ),
    (
        "group filter without allowed groups",
        {**_SEARCH, "LDAP_GROUP_SEARCH_FILTER": "(member:1.2.840.113556.1.4.1941:={userdn})"},
        {},
        "LDAP_GROUP_SEARCH_FILTER",
    ),
    (
        "image list not a list",
        {"DOCKER_NOTEBOOK_IMAGES": "quay.io/x/y:1"},
        {},
        "DOCKER_NOTEBOOK_IMAGES",
    ),
    (
        "image list unpinned",
        {"DOCKER_NOTEBOOK_IMAGES": ["quay.io/x/y"]},
        {},
        "DOCKER_NOTEBOOK_IMAGES",
    ),
    (
        "image list latest",
        {"DOCKER_NOTEBOOK_IMAGES": ["quay.io/x/y:1", "quay.io/x/z:latest"]},
        {},
        "DOCKER_NOTEBOOK_IMAGES",
    ),
    (
        "image listed twice",
        {"DOCKER_NOTEBOOK_IMAGES": ["quay.io/x/y:1", "quay.io/x/y:1"]},
        {},
        "DOCKER_NOTEBOOK_IMAGES",
    ),
    ("named servers negative", {"HUB_NAMED_SERVERS": -1}, {}, "HUB_NAMED_SERVERS"),
    ("named servers too many", {"HUB_NAMED_SERVERS": 101}, {}, "HUB_NAMED_SERVERS"),
    ("named servers words", {"HUB_NAMED_SERVERS": "some"}, {}, "HUB_NAMED_SERVERS"),
]

# Rules that need a z/OS stack around them: (name, config, secrets, key).
BAD_ZOS = [
    ("zos ssh port", {"ZOS_SSH_PORT": -1}, {}, "ZOS_SSH_PORT"),
    ("zos user id too long", {"ZOS_USERS": {"alice": "ALICE0001"}}, {}, "ZOS_USERS"),
    ("zos user id digit", {"ZOS_USERS": {"alice": "1ALICE"}}, {}, "ZOS_USERS"),
    ("zos duplicate ids", {"ZOS_USERS": {"alice": "ALICE01", "bob": "ALICE01"}}, {}, "ZOS_USERS"),
    ("zos user is the ssh user", {"ZOS_USERS": {"alice": "ibmuser"}}, {}, "ZOS_USERS"),
    ("zos user is the gateway", {"ZOS_USERS": {"alice": "JKGID"}}, {}, "ZOS_USERS"),
    ("zos kg url http", {"KG_URL": "http://127.0.0.1:8099"}, {}, "KG_URL"),
    ("zos kg url port", {"KG_URL": "https://127.0.0.1:9000"}, {}, "KG_URL"),
    ("zos host key garbage", {"ZOS_SSH_HOST_KEY": "ssh-ed25519 nonsense"}, {}, "ZOS_SSH_HOST_KEY"),
    (
        "zos private key garbage",
        {},
        {"ZOS_SSH_PRIVATE_KEY": "-----BEGIN nope"},
        "ZOS_SSH_PRIVATE_KEY",
    ),
    (
        "zos p12 password quote",
        {},
        {"ZOS_P12_PASSWORD": "it's-a-long-password"},
        "ZOS_P12_PASSWORD",
    ),
    ("zos ring name", {"ZOS_KEYRING": "JKG Ring"}, {}, "ZOS_KEYRING"),
    ("zos label quote", {"ZOS_CA_LABEL": "My 'CA'"}, {}, "ZOS_CA_LABEL"),
    ("zos kg user", {"ZOS_KG_USER": "JUPYTERKG1"}, {}, "ZOS_KG_USER"),
    ("zos ssh user missing", {"ZOS_SSH_USER": None}, {}, "ZOS_SSH_USER"),
    ("zos host key missing", {"ZOS_SSH_HOST_KEY": None}, {}, "ZOS_SSH_HOST_KEY"),
    ("zos private key missing", {}, {"ZOS_SSH_PRIVATE_KEY": None}, "ZOS_SSH_PRIVATE_KEY"),
]


def refused(config, secrets, stack="dev") -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        run_program(stack, config=config, secrets=secrets)
    error = caught.value
    assert isinstance(error, pulumi.RunError)  # shown as a message, not a stack trace
    assert error.graph.resources == [], "a resource was registered before validation"
    return error


@pytest.mark.parametrize(
    ("config", "secrets", "key"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input_is_refused_naming_the_key(config, secrets, key):
    error = refused(config, secrets)
    assert key in error.keys
    assert f"  - {key}: " in str(error)
    assert "nothing was deployed" in str(error)


@pytest.mark.parametrize(
    ("config", "secrets", "key"), [b[1:] for b in BAD_ZOS], ids=[b[0] for b in BAD_ZOS]
)
def test_bad_zos_input_is_refused_naming_the_key(zos_config, config, secrets, key):
    base_config, base_secrets = zos_config
    error = refused({**base_config, **config}, {**base_secrets, **secrets})
    assert key in error.keys


def test_there_are_many_distinct_rules():
    assert len({b[3] for b in BAD + BAD_ZOS}) >= 25
    assert len(BAD) + len(BAD_ZOS) >= 50


def test_hub_certificate_and_key_go_together(cert_pairs):
    (cert, key), (_, other_key) = cert_pairs
    assert "HUB_TLS_KEY" in refused({"HUB_TLS_CERT": cert}, {}).keys
    assert "HUB_TLS_CERT" in refused({}, {"HUB_TLS_KEY": key}).keys
    mismatch = refused({"HUB_TLS_CERT": cert}, {"HUB_TLS_KEY": other_key})
    assert "does not belong" in str(mismatch) and other_key not in str(mismatch)
    assert run_program("dev", config={"HUB_TLS_CERT": cert}, secrets={"HUB_TLS_KEY": key})


def test_several_bad_keys_are_reported_together():
    error = refused(
        {
            "HUB_HTTPS_PORT": 0,
            "KG_URL": "ftp://x",
            "NOTEBOOK_MEM_LIMIT": "lots",
            "ZOS_USERS": {"alice": "ALICE01"},
            "HUB_ADMIN_USERS": ["Admin"],
        },
        {"KG_AUTH_TOKEN": "short"},
    )
    assert error.keys == {
        "HUB_HTTPS_PORT",
        "KG_URL",
        "NOTEBOOK_MEM_LIMIT",
        "ZOS_USERS",
        "HUB_ADMIN_USERS",
        "KG_AUTH_TOKEN",
    }
    assert str(error).count("\n  - ") == len(error.problems)


def test_zos_required_keys_are_all_named_at_once():
    error = refused({"ZOS_HOST": "127.0.0.1"}, {})
    assert {"ZOS_SSH_USER", "ZOS_SSH_PRIVATE_KEY", "ZOS_SSH_HOST_KEY"} <= error.keys


def test_messages_say_what_is_accepted():
    message = str(
        refused(
            {
                "LDAP_SERVER_HOST": "ldap.test",
                "LDAP_TLS": "none",
                "LDAP_BIND_DN": "uid={username},dc=x",
            },
            {},
        )
    )
    assert "clear text" in message and "starttls" in message
    assert "did you mean KG_URL" in str(refused({"KG_URl": "https://gateway.test"}, {}))
    assert "at least 300" in str(refused({"IDLE_CULL_TIMEOUT": 60}, {}))


def test_secret_values_are_never_echoed():
    secret = "tiny'secret"  # too short and quoted: refused twice over
    message = str(refused({}, {"KG_AUTH_TOKEN": secret, "ZOS_P12_PASSWORD": "x"}))
    assert secret not in message
    plain = str(refused({"KG_AUTH_TOKEN": "plain-token-0123456789"}, {}))
    assert "plain-token-0123456789" not in plain and "--secret" in plain


def test_dev_stack_is_valid_with_no_edits():
    graph = run_program("dev")
    assert graph.outputs["hub_url"] == "https://localhost:8443/"


def test_full_zos_stack_is_valid(zos_config, event_loop_set):
    config, secrets = zos_config
    settings = validate(_raw(config, secrets), "prod")
    assert settings.zos is not None
    assert settings.zos.users == {"admin": "ADMIN01", "alice": "ALICE01"}
    assert settings.gateway.url == "https://127.0.0.1:8099"  # derived from ZOS_HOST
    assert settings.ldap.port == 389 and settings.ldap.tls == "starttls"


def test_secrets_are_handed_on_as_secret_outputs(zos_config, event_loop_set):
    config, secrets = zos_config
    settings = validate(_raw(config, secrets), "prod")
    for output in (
        settings.gateway.auth_token,
        settings.zos.ssh_private_key,
        settings.zos.p12_password,
    ):
        assert isinstance(output, pulumi.Output)
        assert _is_secret(output)


def test_empty_values_mean_unset_and_defaults_apply(event_loop_set):
    settings = validate(
        _raw(
            {
                "HUB_ADMIN_USERS": '["admin"]',
                "KG_URL": "",
                "LDAP_TLS": "ldaps",
                "NOTEBOOK_MEM_LIMIT": "512m",
            },
            {},
        ),
        "dev",
    )
    assert settings.gateway.dev_gateway and settings.ldap.dev_directory
    assert settings.ldap.port == 636
    assert settings.hub.mem_limit == "512M"
    assert settings.hub.pki_dir == "/var/lib/jupyterhub-zos/dev/pki"
    assert settings.gateway.auth_token is None  # generated by the program


def test_secret_keys_are_the_contract():
    assert {
        "KG_AUTH_TOKEN",
        "HUB_TLS_KEY",
        "ZOS_SSH_PRIVATE_KEY",
        "ZOS_P12_PASSWORD",
        "LDAP_SEARCH_BIND_PASSWORD",
        "ZOS_USER_CERTS",
        "ZOS_KG_SERVER_TLS",
    } == SECRET_KEYS


def _raw(config: dict, secrets: dict) -> RawConfig:
    import json

    def text(value):
        return value if isinstance(value, str) else json.dumps(value)

    values = {k: text(v) for k, v in {**config, **secrets}.items()}
    values.setdefault("HUB_ADMIN_USERS", '["admin"]')
    return RawConfig("jupyterhub-zos", values, frozenset(secrets))


def _is_secret(output: pulumi.Output) -> bool:
    import asyncio

    return asyncio.get_event_loop().run_until_complete(output.is_secret())


def test_pki_dir_default_follows_the_docker_host(event_loop_set):
    raw = _raw({}, {})
    local = validate(raw, "dev", None, project_dir="/home/op/jupyterhub-zos")
    assert local.hub.pki_dir == "/home/op/jupyterhub-zos/.pki/dev"
    prod = _raw({"ALLOW_DEV_SERVICES": "true"}, {})  # a stack not named dev, dev-*
    remote = validate(prod, "prod", "ssh://op@docker.test", project_dir="/home/op/jhz")
    assert remote.hub.pki_dir == "/var/lib/jupyterhub-zos/prod/pki"
    odd = validate(raw, "dev", "unix:///var/run/docker.sock", project_dir="/home/op/my stack")
    assert odd.hub.pki_dir == "/var/lib/jupyterhub-zos/dev/pki"  # no spaces in mount paths
    given = validate(_raw({"HUB_PKI_DIR": "/srv/pki"}, {}), "dev", None, "/home/op/jhz")
    assert given.hub.pki_dir == "/srv/pki"


def test_search_then_bind_settings(event_loop_set):
    config = {
        **_SEARCH,
        "LDAP_USER_ATTRIBUTE": "sAMAccountName",
        "LDAP_USER_SEARCH_FILTER": "(&(objectClass=user)({login_attr}={login}))",
        "LDAP_SEARCH_BIND_DN": "cn=hub-search,ou=services,dc=example,dc=org",
        "LDAP_ALLOWED_GROUPS": ["cn=jupyter,ou=groups,dc=example,dc=org"],
        "LDAP_GROUP_SEARCH_FILTER": "(member:1.2.840.113556.1.4.1941:={userdn})",
    }
    settings = validate(_raw(config, {"LDAP_SEARCH_BIND_PASSWORD": "s3cret 'quoted'"}), "dev")
    ldap = settings.ldap
    assert ldap.search_then_bind and ldap.bind_dn_template == ""
    assert ldap.user_search_base == "dc=example,dc=org"
    assert ldap.user_attribute == "sAMAccountName"
    assert ldap.user_search_filter == config["LDAP_USER_SEARCH_FILTER"]
    assert ldap.search_bind_dn == config["LDAP_SEARCH_BIND_DN"]
    assert ldap.group_search_filter == config["LDAP_GROUP_SEARCH_FILTER"]
    assert _is_secret(ldap.search_bind_password)
    # An anonymous search: neither the account nor its password.
    anonymous = validate(_raw(_SEARCH, {}), "dev").ldap
    assert anonymous.search_then_bind and anonymous.search_bind_dn is None
    assert anonymous.search_bind_password is None
    # Without a search base nothing changes: the template, LDAPAuthenticator's filters.
    template = validate(_raw({**_OWN_LDAP, "LDAP_BIND_DN": "uid={username},dc=x"}, {}), "dev")
    assert not template.ldap.search_then_bind
    assert template.ldap.bind_dn_template == "uid={username},dc=x"
    assert template.ldap.group_search_filter.startswith("(|(member={userdn})")


def test_search_password_is_never_echoed():
    error = refused(
        {**_SEARCH, "LDAP_SEARCH_BIND_DN": "cn=s,dc=x"},
        {"LDAP_SEARCH_BIND_PASSWORD": "line-one-secret\nline-two-secret"},
    )
    assert "LDAP_SEARCH_BIND_PASSWORD" in str(error)
    assert "line-one-secret" not in str(error)


def test_kernel_limits_reach_the_dev_and_zos_gateways(zos_config, event_loop_set):
    values = {"KG_CULL_IDLE_TIMEOUT": 600, "KG_CULL_INTERVAL": 30, "KG_CULL_CONNECTED": True}
    values["KG_MAX_KERNELS"] = 40
    dev = validate(_raw(values, {}), "dev")
    assert dev.gateway.kernels == KernelLimits(600, 30, True, 40)
    config, secrets = zos_config
    zos = validate(_raw({**config, **values}, secrets), "dev")
    assert zos.zos.kernels == KernelLimits(600, 30, True, 40)
    defaults = validate(_raw({}, {}), "dev")
    assert defaults.gateway.kernels == KernelLimits() == KernelLimits(3600, 300, False, 0)
    assert (defaults.hub.idle_cull_max_age, defaults.hub.idle_cull_concurrency) == (0, 10)


def test_image_choices_and_named_servers_settings(event_loop_set):
    scipy, base = "quay.io/jupyter/scipy-notebook:1", "quay.io/jupyter/base-notebook:1"
    plain = validate(_raw({}, {}), "dev", None, "/home/op/jhz").hub
    assert plain.notebook_images == () and plain.named_servers == 0
    hub = validate(
        _raw(
            {
                "DOCKER_NOTEBOOK_IMAGE": base,
                "DOCKER_NOTEBOOK_IMAGES": [scipy, base],
                "HUB_NAMED_SERVERS": 3,
            },
            {},
        ),
        "dev",
        None,
        "/home/op/jhz",
    ).hub
    # The default is the default, whether listed or not; the others keep their order.
    assert hub.notebook_image == base and hub.notebook_images == (scipy,)
    assert hub.named_servers == 3


def test_an_image_listed_twice_is_named_in_the_message():
    message = str(refused({"DOCKER_NOTEBOOK_IMAGES": ["a/b:1", "c/d:2", "a/b:1"]}, {}))
    assert "DOCKER_NOTEBOOK_IMAGES: lists a/b:1 more than once" in message
    unpinned = str(refused({"DOCKER_NOTEBOOK_IMAGES": ["a/b:1", "c/d"]}, {}))
    assert "DOCKER_NOTEBOOK_IMAGES" in unpinned and "pinned" in unpinned


@pytest.mark.parametrize(
    ("mem", "cpu"), [("6M", "0.01"), ("6144k", "0.5"), ("1073741824", "2"), ("none", "none")]
)
def test_docker_s_least_notebook_limits_are_accepted(mem, cpu):
    from components.settings.values import _cpu_limit, _mem_limit

    assert _mem_limit(mem) == mem.upper().replace("NONE", "none")
    assert _cpu_limit(cpu) == cpu


@pytest.mark.parametrize(
    "path",
    [
        "/etc/jupyterhub-zos/pki",
        "/usr/local/jhz/pki",
        "/var/lib/jupyterhub-zos/pki",
        "/home/op/pki",
        "/opt/jhz/pki",
    ],
)
def test_a_pki_dir_of_its_own_below_a_system_directory_is_accepted(path):
    from components.settings.values import _pki_dir

    assert _pki_dir(path) == path
