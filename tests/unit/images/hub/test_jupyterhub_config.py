"""The hub's jupyterhub_config.py, loaded the way JupyterHub loads it, with the
environment components/hub/environment.py computes for the hub container."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest
from ldapauthenticator import LDAPAuthenticator
from tornado import web

from components.hub.environment import (
    LDAP_CA_PATH,
    LDAP_SEARCH_PASSWORD_PATH,
    SECRET_ENV,
    SSL_CERT_PATH,
    SSL_KEY_PATH,
    HubEnvInputs,
    hub_environment,
)
from components.settings import (
    DEV_DIRECTORY_BIND_DN,
    GatewaySettings,
    HubSettings,
    LdapSettings,
    LogSettings,
)
from tests.hubconfig import load_hub_config

HUB = HubSettings(
    hostname="hub.example.org",
    https_port=8443,
    tls_cert_pem=None,
    tls_key_pem=None,
    admin_users=("admin",),
    allowed_users=("alice", "bob"),
    notebook_image=None,
    network_name="jupyterhub-network",
    pki_dir="/var/lib/jupyterhub-zos/dev/pki",
    mem_limit=None,
    cpu_limit=None,
    pids_limit=0,
    idle_cull_timeout=3600,
)
LDAP = LdapSettings(
    host=None,
    port=389,
    bind_dn_template=DEV_DIRECTORY_BIND_DN,
    tls="starttls",
    ca_cert_pem=None,
    allowed_groups=(),
)
GATEWAY = GatewaySettings(
    url=None,
    auth_token=None,
    validate_cert=True,
    client_key="key.pem",
    client_cert="cert.pem",
    client_ca="cacert.pem",
)
DERIVED = HubEnvInputs(
    ldap_host="jupyterhub-ldap",
    ldap_ca=True,
    notebook_image="sha256:" + "1" * 64,
    kg_url="https://jupyterhub-gateway:8888",
    kg_auth_token="kg-token-0123456789abcdef",
    cookie_secret="0f" * 32,
    proxy_auth_token="proxy-token-0123456789",
    pki_users=("bob", "admin", "alice"),
)


def env(hub=HUB, ldap=LDAP, gateway=GATEWAY, derived=DERIVED, **changes) -> dict[str, str]:
    result = hub_environment(hub, ldap, gateway, derived)
    result.update(changes)
    return {k: v for k, v in result.items() if v is not None}


def load(**kwargs):
    return load_hub_config(env(**kwargs))


def snapshot(value):
    """A Config as plain data; callables by name (each load makes new function objects)."""
    if callable(value):
        return f"<callable {getattr(value, '__qualname__', type(value).__name__)}>"
    if isinstance(value, dict):
        return {str(k): snapshot(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [snapshot(v) for v in value]
    if isinstance(value, set):
        return sorted(snapshot(v) for v in value)
    return value


def spawn_allowed(values: dict[str, str], user: str) -> bool:
    hook = load_hub_config(values).Spawner.pre_spawn_hook
    spawner = SimpleNamespace(user=SimpleNamespace(name=user))
    try:
        hook(spawner)
    except web.HTTPError:
        return False
    return True


# --- hub_env: the contract ---------------------------------------------------------------


def test_env_holds_the_contract_keys_as_strings():
    result = env()
    assert set(result) == {
        "LDAP_SERVER_HOST",
        "LDAP_SERVER_PORT",
        "LDAP_BIND_DN",
        "LDAP_TLS",
        "LDAP_CA_CERT_FILE",
        "HUB_ADMIN_USERS",
        "HUB_ALLOWED_USERS",
        "HUB_ADMIN_SERVER_ACCESS",
        "KG_URL",
        "KG_AUTH_TOKEN",
        "VALIDATE_KG_CERT",
        "CLIENT_KEY",
        "CLIENT_CERT",
        "CLIENT_CA",
        "JUPYTERPKI_HOST_DIR",
        "JUPYTERPKI_USERS",
        "DOCKER_NOTEBOOK_IMAGE",
        "DOCKER_NETWORK_NAME",
        "HUB_ALIAS",
        "NOTEBOOK_NAME_PREFIX",
        "NOTEBOOK_VOLUME_TEMPLATE",
        "STACK_LABEL",
        "STACK_KEEPS_UNLABELED",
        "HUB_NAMED_SERVERS",
        "IDLE_CULL_TIMEOUT",
        "IDLE_CULL_MAX_AGE",
        "IDLE_CULL_CONCURRENCY",
        "DOCKER_LOG_MAX_SIZE",
        "DOCKER_LOG_MAX_FILE",
        "NOTEBOOK_LOG_RETENTION_DAYS",
        "NOTEBOOK_LOG_DIR",
        "SSL_CERT",
        "SSL_KEY",
        "NODE_OPTIONS",
        "JPY_COOKIE_SECRET",
        "CONFIGPROXY_AUTH_TOKEN",
    }
    assert all(isinstance(v, str) for v in result.values())
    assert result["JUPYTERPKI_USERS"] == "admin,alice,bob"
    assert result["HUB_ALLOWED_USERS"] == "alice,bob"
    assert (result["SSL_CERT"], result["SSL_KEY"]) == (SSL_CERT_PATH, SSL_KEY_PATH)
    assert result["LDAP_CA_CERT_FILE"] == LDAP_CA_PATH
    assert {
        "KG_AUTH_TOKEN",
        "JPY_COOKIE_SECRET",
        "CONFIGPROXY_AUTH_TOKEN",
        "HUB_METRICS_TOKEN",
        "HUB_STATUS_TOKEN",
    } == SECRET_ENV


def test_env_optional_keys():
    result = env(
        hub=dataclasses.replace(HUB, mem_limit="2G", cpu_limit="1.5", pids_limit=256),
        ldap=dataclasses.replace(LDAP, allowed_groups=("cn=a,ou=groups,dc=x", "cn=b,dc=x")),
        derived=dataclasses.replace(DERIVED, ldap_ca=False),
        gateway=dataclasses.replace(GATEWAY, validate_cert=False),
    )
    assert result["NOTEBOOK_MEM_LIMIT"] == "2G" and result["NOTEBOOK_CPU_LIMIT"] == "1.5"
    assert result["NOTEBOOK_PIDS_LIMIT"] == "256"
    assert json.loads(result["LDAP_ALLOWED_GROUPS"]) == ["cn=a,ou=groups,dc=x", "cn=b,dc=x"]
    assert "LDAP_CA_CERT_FILE" not in result
    assert result["VALIDATE_KG_CERT"] == "false"


def test_every_variable_the_program_sets_changes_the_config():
    """No dead variable: each one (bar the two JupyterHub reads itself) reaches a trait."""
    base = snapshot(load_hub_config(env()))
    for key, value in env().items():
        if key in ("JPY_COOKIE_SECRET", "CONFIGPROXY_AUTH_TOKEN"):
            continue
        if key == "NODE_OPTIONS":  # read by configurable-http-proxy (Node.js), not a trait
            assert value == "--tls-min-v1.2"
            continue
        if key == "STACK_KEEPS_UNLABELED":  # read by the spawner class, not a trait
            spawner = load_hub_config(env()).JupyterHub.spawner_class
            assert spawner.keeps_unlabeled is True
            spawner = load_hub_config(env(STACK_KEEPS_UNLABELED="false")).JupyterHub.spawner_class
            assert spawner.keeps_unlabeled is False
            continue
        if key == "JUPYTERPKI_USERS":  # read by the pre-spawn hook, not a trait
            assert spawn_allowed(env(), "bob")
            assert not spawn_allowed(env(JUPYTERPKI_USERS="admin,alice"), "bob")
            continue
        changed = {
            "LDAP_SERVER_PORT": "636",
            "IDLE_CULL_TIMEOUT": "7200",
            "IDLE_CULL_MAX_AGE": "86400",
            "IDLE_CULL_CONCURRENCY": "3",
            "DOCKER_LOG_MAX_FILE": "9",
            "NOTEBOOK_LOG_RETENTION_DAYS": "30",
            "HUB_NAMED_SERVERS": "3",
            "HUB_ADMIN_SERVER_ACCESS": "true",
        }.get(key)
        if key == "LDAP_TLS":
            changed = "ldaps"
        if key == "VALIDATE_KG_CERT":
            changed = "false"
        changed = changed or value + "x"
        assert snapshot(load_hub_config(env(**{key: changed}))) != base, key


# --- the hub itself ------------------------------------------------------------------------


def test_https_with_the_uploaded_certificate_and_state_on_the_data_volume():
    c = load()
    assert c.JupyterHub.port == 443
    assert (c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key) == (SSL_CERT_PATH, SSL_KEY_PATH)
    assert c.JupyterHub.hub_ip == "0.0.0.0"
    assert c.JupyterHub.hub_connect_ip == "jupyterhub"
    assert c.JupyterHub.db_url == "sqlite:////data/jupyterhub.sqlite"
    assert c.JupyterHub.cookie_secret_file == "/data/jupyterhub_cookie_secret"
    assert c.JupyterHub.upgrade_db is True


def test_hub_replacement_leaves_users_servers_and_kernels_running():
    # Any `pulumi up` that changes the hub replaces its container; JupyterHub's default
    # (cleanup_servers=True) would stop every user's notebook container and kernels then.
    c = load()
    assert c.JupyterHub.cleanup_servers is False
    # The proxy is the hub's subprocess and ends with its container either way; the new
    # hub starts its own and adds the routes of the servers it finds running.
    assert "cleanup_proxy" not in c.JupyterHub
    assert "proxy_class" not in c.JupyterHub


def test_secrets_are_not_copied_into_traits():
    # JupyterHub reads JPY_COOKIE_SECRET / CONFIGPROXY_AUTH_TOKEN from its environment.
    text = json.dumps(snapshot(load()))
    assert DERIVED.cookie_secret not in text
    assert DERIVED.proxy_auth_token not in text


@pytest.mark.parametrize("missing", ["SSL_CERT", "SSL_KEY", "LDAP_SERVER_HOST", "LDAP_BIND_DN"])
def test_required_variable_missing_names_it(missing):
    values = env()
    del values[missing]
    with pytest.raises(KeyError, match=missing):
        load_hub_config(values)


# --- who may log in ------------------------------------------------------------------------


def test_ldap_login_settings():
    c = load()
    authenticator = c.JupyterHub.authenticator_class
    assert issubclass(authenticator, LDAPAuthenticator)
    assert c.Authenticator.manage_groups is True
    assert c.LDAPAuthenticator.server_address == "jupyterhub-ldap"
    assert c.LDAPAuthenticator.server_port == 389
    assert c.LDAPAuthenticator.bind_dn_template == [DEV_DIRECTORY_BIND_DN]
    assert c.LDAPAuthenticator.tls_strategy == "before_bind"
    assert c.LDAPAuthenticator.tls_kwargs == {"validate": 2, "ca_certs_file": LDAP_CA_PATH}
    assert c.LDAPAuthenticator.allowed_groups == []


@pytest.mark.parametrize(
    ("tls", "strategy"),
    [("starttls", "before_bind"), ("ldaps", "on_connect"), ("none", "insecure")],
)
def test_ldap_tls_strategy(tls, strategy):
    assert load(ldap=dataclasses.replace(LDAP, tls=tls)).LDAPAuthenticator.tls_strategy == strategy


def test_ldap_certificate_is_verified_even_without_a_ca_file():
    c = load(derived=dataclasses.replace(DERIVED, ldap_ca=False))
    assert c.LDAPAuthenticator.tls_kwargs == {"validate": 2}


def test_allowed_groups_keep_the_commas_of_their_dns():
    groups = ("cn=jupyter,ou=groups,dc=example,dc=org", "cn=ops,dc=example,dc=org")
    c = load(ldap=dataclasses.replace(LDAP, allowed_groups=groups))
    assert c.LDAPAuthenticator.allowed_groups == list(groups)
    # One DN given by hand, not as a JSON array, is one group.
    single = load(LDAP_ALLOWED_GROUPS="cn=jupyter,ou=groups,dc=example,dc=org")
    assert single.LDAPAuthenticator.allowed_groups == ["cn=jupyter,ou=groups,dc=example,dc=org"]


@pytest.mark.parametrize("bad", ["[1, 2]", '[""]', "[not json"])
def test_bad_allowed_groups_fail_loudly(bad):
    with pytest.raises(ValueError):
        load(LDAP_ALLOWED_GROUPS=bad)


def test_only_admins_and_allowed_users_are_allowed():
    c = load()
    assert c.Authenticator.allowed_users == {"admin", "alice", "bob"}
    assert c.Authenticator.allow_existing_users is False
    assert "allow_all" not in c.Authenticator


def test_admins_are_exactly_the_admin_roles_members():
    # An explicit member list makes JupyterHub sync each role at start (removals too);
    # admin_users alongside it would only ever add.
    c = load()
    assert "admin_users" not in c.Authenticator
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["admin"] == {"name": "admin", "users": []}
    assert roles["jupyterhub-zos-admin"]["users"] == ["admin"]
    off = load(hub=dataclasses.replace(HUB, idle_cull_timeout=0))
    assert [r["name"] for r in off.JupyterHub.load_roles] == ["admin", "jupyterhub-zos-admin"]


def test_admins_get_no_access_to_other_users_servers_unless_the_config_says_so():
    """Every server is on the hub's origin: what a user put in theirs runs in the
    browser of whoever opens it. By default admins hold JupyterHub's admin scopes but
    access:servers and shares (which grants it), however the scopes expand."""
    from jupyterhub.roles import get_default_roles
    from jupyterhub.scopes import expand_scopes

    admin = next(r for r in get_default_roles() if r["name"] == "admin")
    roles = {r["name"]: r for r in load().JupyterHub.load_roles}
    scopes = expand_scopes(set(roles["jupyterhub-zos-admin"]["scopes"]))
    assert not [s for s in scopes if s.startswith("access:servers")], scopes
    assert "shares" not in scopes and "read:shares" in scopes and "users:shares" in scopes
    # The rest of the admin's scopes: the admin page, users, servers, groups, tokens.
    assert expand_scopes(set(admin["scopes"])) - scopes == {"access:servers", "shares"}
    on = load(hub=dataclasses.replace(HUB, admin_server_access=True)).JupyterHub.load_roles
    on = {r["name"]: r for r in on}
    assert on["admin"] == {"name": "admin", "users": ["admin"]}
    assert on["jupyterhub-zos-admin"]["users"] == []


def test_an_admin_scope_that_grants_access_to_servers_stops_the_hub(monkeypatch):
    """The stack's role drops scopes by name: one a later JupyterHub adds that grants
    access:servers stops the hub at its start instead of reaching admins."""
    import jupyterhub.roles

    real = jupyterhub.roles.get_default_roles

    def with_another_scope():
        roles = real()
        admin = next(r for r in roles if r["name"] == "admin")
        admin["scopes"] = [*admin["scopes"], "access:servers!group=everyone"]
        return roles

    monkeypatch.setattr(jupyterhub.roles, "get_default_roles", with_another_scope)
    with pytest.raises(SystemExit, match="role's scopes grant access:servers"):
        load()


# --- notebook servers ----------------------------------------------------------------------


def test_docker_spawner():
    from dockerspawner import DockerSpawner

    c = load()
    # DockerSpawner itself, naming servers (image choice and named servers, below), saving
    # the container's log before it removes it (logs below), touching only this stack's
    # containers and volumes (jhz_stack.py), ready as soon as the server listens
    # (jhz_ready.py).
    mro = c.JupyterHub.spawner_class.__mro__
    assert mro[0].__name__.startswith("ReadyWhenListening")
    assert [k.__name__ for k in mro[1:5]] == [
        "StackGuardedLogKeepingSpawner",
        "LogKeepingSpawner",
        "ServerNamingSpawner",
        "DockerSpawner",
    ]
    assert mro[4] is DockerSpawner
    no_logs = load(hub=dataclasses.replace(HUB, logs=LogSettings(notebook_retention_days=0)))
    no_logs_mro = no_logs.JupyterHub.spawner_class.__mro__
    assert [k.__name__ for k in no_logs_mro[1:3]] == [
        "StackGuardedServerNamingSpawner",
        "ServerNamingSpawner",
    ]
    assert no_logs_mro[3] is DockerSpawner  # no log keeper
    assert c.DockerSpawner.image == DERIVED.notebook_image
    assert c.DockerSpawner.network_name == "jupyterhub-network"
    assert c.DockerSpawner.use_internal_ip is True
    assert c.DockerSpawner.remove is True
    assert c.DockerSpawner.notebook_dir == "/home/jovyan/work"
    assert c.DockerSpawner.name_template == "{prefix}-{username}{server_suffix}"
    assert c.DockerSpawner.volumes == {
        "jupyterhub-user-{username}{server_suffix}": "/home/jovyan/work",
        "/var/lib/jupyterhub-zos/dev/pki/{raw_username}": {"bind": "/etc/jupyterpki", "mode": "ro"},
    }
    assert "mem_limit" not in c.DockerSpawner and "cpu_limit" not in c.DockerSpawner


def test_notebook_limits():
    c = load(hub=dataclasses.replace(HUB, mem_limit="2G", cpu_limit="1.5", pids_limit=256))
    assert c.DockerSpawner.mem_limit == "2G"
    assert c.DockerSpawner.cpu_limit == 1.5
    assert c.DockerSpawner.extra_host_config["pids_limit"] == 256


def test_notebooks_are_hardened_whatever_the_limits():
    for hub in (HUB, dataclasses.replace(HUB, pids_limit=300)):
        host_config = load(hub=hub).DockerSpawner.extra_host_config
        assert host_config["cap_drop"] == ["ALL"]
        assert host_config["security_opt"] == ["no-new-privileges:true"]
        assert "cap_add" not in host_config and "privileged" not in host_config
    # No limit configured (NOTEBOOK_PIDS_LIMIT=0): Docker's -1, not a limit of 0.
    assert load().DockerSpawner.extra_host_config["pids_limit"] == -1


def test_nothing_in_a_users_home_decides_what_their_server_loads_or_serves():
    # (the notebook image keeps the rest of the server's environment root's: e2e)
    c = load()
    assert c.Spawner.disable_user_config is True
    # nbconvert's templates (and the code their conf.json names) from the working dir
    assert c.DockerSpawner.extra_create_kwargs["working_dir"] == "/"
    assert c.DockerSpawner.environment["PYTHONNOUSERSITE"] == "1"


# --- idle culler ---------------------------------------------------------------------------


@pytest.mark.parametrize(("timeout", "every"), [(3600, 600), (300, 60), (86400, 600), (1200, 240)])
def test_idle_culler_is_a_managed_service_with_its_role(timeout, every):
    c = load(hub=dataclasses.replace(HUB, idle_cull_timeout=timeout))
    (service,) = [s for s in c.JupyterHub.services if s["name"] == "jupyterhub-idle-culler"]
    assert service["name"] == "jupyterhub-idle-culler"
    assert service["command"][1:] == [
        "-m",
        "jupyterhub_idle_culler",
        "--concurrency=10",
        f"--timeout={timeout}",
        f"--cull-every={every}",
    ]
    admin, admins, role = c.JupyterHub.load_roles
    assert admin["name"] == "admin" and admins["name"] == "jupyterhub-zos-admin"
    assert role["services"] == ["jupyterhub-idle-culler"]
    assert set(role["scopes"]) == {
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    }


def test_idle_culler_max_age_and_concurrency():
    c = load(hub=dataclasses.replace(HUB, idle_cull_max_age=86400, idle_cull_concurrency=3))
    (service,) = [s for s in c.JupyterHub.services if s["name"] == "jupyterhub-idle-culler"]
    assert service["command"][3:] == [
        "--concurrency=3",
        "--max-age=86400",
        "--timeout=3600",
        "--cull-every=600",
    ]


def test_idle_culler_off_with_zero():
    c = load(hub=dataclasses.replace(HUB, idle_cull_timeout=0))
    assert [s["name"] for s in c.JupyterHub.services] == ["notebook-log-reaper"]
    assert [role["name"] for role in c.JupyterHub.load_roles] == ["admin", "jupyterhub-zos-admin"]


# --- search-then-bind LDAP -------------------------------------------------------------------

SEARCH_LDAP = dataclasses.replace(
    LDAP,
    host="ad.example.org",
    bind_dn_template="",
    user_search_base="dc=example,dc=org",
    user_attribute="sAMAccountName",
    user_search_filter="(&(objectClass=user)({login_attr}={login}))",
    search_bind_dn="cn=hub-search,ou=services,dc=example,dc=org",
    search_bind_password="not-in-the-env",
    allowed_groups=("cn=jupyter,ou=groups,dc=example,dc=org",),
    group_search_filter="(member:1.2.840.113556.1.4.1941:={userdn})",
)


def test_search_then_bind_env_holds_no_password_and_no_template():
    result = env(ldap=SEARCH_LDAP)
    assert "LDAP_BIND_DN" not in result
    assert result["LDAP_USER_SEARCH_BASE"] == "dc=example,dc=org"
    assert result["LDAP_USER_ATTRIBUTE"] == "sAMAccountName"
    assert result["LDAP_USER_SEARCH_FILTER"] == SEARCH_LDAP.user_search_filter
    assert result["LDAP_SEARCH_BIND_DN"] == SEARCH_LDAP.search_bind_dn
    assert result["LDAP_SEARCH_BIND_PASSWORD_FILE"] == LDAP_SEARCH_PASSWORD_PATH
    assert result["LDAP_GROUP_SEARCH_FILTER"] == SEARCH_LDAP.group_search_filter
    assert "not-in-the-env" not in json.dumps(result)
    # An anonymous search: no account, no password file.
    anonymous = env(ldap=dataclasses.replace(SEARCH_LDAP, search_bind_dn=None))
    assert "LDAP_SEARCH_BIND_DN" not in anonymous
    assert "LDAP_SEARCH_BIND_PASSWORD_FILE" not in anonymous


def test_search_then_bind_config(tmp_path):
    password = tmp_path / "pw"
    password.write_text("s3cret with 'quotes' and spaces\n")
    values = env(ldap=SEARCH_LDAP, LDAP_SEARCH_BIND_PASSWORD_FILE=str(password))
    c = load_hub_config(values)
    ldap = c.LDAPAuthenticator
    assert ldap.lookup_dn is True
    assert "bind_dn_template" not in ldap  # bind as the DN the search found
    assert ldap.user_search_base == "dc=example,dc=org"
    assert ldap.user_attribute == ldap.lookup_dn_user_dn_attribute == "sAMAccountName"
    assert ldap.lookup_dn_search_filter == SEARCH_LDAP.user_search_filter
    assert ldap.lookup_dn_search_user == SEARCH_LDAP.search_bind_dn
    assert ldap.use_lookup_dn_username is False  # the hub's name is the login name
    assert ldap.group_search_filter == SEARCH_LDAP.group_search_filter
    assert ldap.allowed_groups == list(SEARCH_LDAP.allowed_groups)
    # The password is not in the config: the authenticator reads the file itself.
    assert "s3cret" not in json.dumps(snapshot(c))
    authenticator = c.JupyterHub.authenticator_class(config=c)
    assert authenticator.lookup_dn_search_password == "s3cret with 'quotes' and spaces"
    assert authenticator.bind_dn_template == []


def test_template_bind_config_is_unchanged_by_search_keys():
    c = load()
    assert c.LDAPAuthenticator.bind_dn_template == [DEV_DIRECTORY_BIND_DN]
    assert "lookup_dn" not in c.LDAPAuthenticator
    assert "group_search_filter" not in c.LDAPAuthenticator  # no allowed groups
    authenticator = c.JupyterHub.authenticator_class(config=c)
    assert authenticator.lookup_dn_search_password is None


# --- Prometheus metrics --------------------------------------------------------------------


def test_metrics_token_belongs_to_a_service_with_read_metrics_only():
    token = "metrics-token-0123456789abcdef"
    result = env(derived=dataclasses.replace(DERIVED, metrics_token=token))
    assert result["HUB_METRICS_TOKEN"] == token and "HUB_METRICS_TOKEN" in SECRET_ENV
    for culler in (3600, 0):  # with the culler's service, and alone
        c = load_hub_config({**result, "IDLE_CULL_TIMEOUT": str(culler)})
        assert c.JupyterHub.authenticate_prometheus is True
        services = {s["name"]: s for s in c.JupyterHub.services}
        assert services["prometheus"] == {"name": "prometheus", "api_token": token}
        assert ("jupyterhub-idle-culler" in services) == (culler > 0)
        (role,) = [r for r in c.JupyterHub.load_roles if "prometheus" in r.get("services", [])]
        assert role == {
            "name": "prometheus-scraper",
            "scopes": ["read:metrics"],
            "services": ["prometheus"],
        }


def test_status_token_belongs_to_a_service_that_lists_users_and_reads_servers_only():
    token = "status-token-0123456789abcdef"
    result = env(derived=dataclasses.replace(DERIVED, status_token=token))
    assert result["HUB_STATUS_TOKEN"] == token and "HUB_STATUS_TOKEN" in SECRET_ENV
    c = load_hub_config({**result, "HUB_METRICS_TOKEN": "m" * 30})
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["status"] == {"name": "status", "api_token": token}
    assert "prometheus" in services  # both kept
    (role,) = [r for r in c.JupyterHub.load_roles if "status" in r.get("services", [])]
    assert role == {
        "name": "status-reader",
        "scopes": ["list:users", "read:servers"],
        "services": ["status"],
    }
    assert "status" not in {s["name"] for s in load().JupyterHub.services or []}


def test_without_a_metrics_token_metrics_still_need_authentication():
    c = load()
    assert c.JupyterHub.authenticate_prometheus is True
    assert all(s["name"] != "prometheus" for s in c.JupyterHub.services)


# --- image choice and named servers ---------------------------------------------------------

CHOICES = (
    ("jupyterhub-zos-notebook:dev", DERIVED.notebook_image),
    (
        "quay.io/jupyter/scipy-notebook:2025-10-20",
        "quay.io/jupyter/scipy-notebook@sha256:" + "2" * 64,
    ),
)


def test_one_image_offers_no_choice():
    c = load()
    assert "DOCKER_NOTEBOOK_IMAGES" not in env()
    assert "allowed_images" not in c.DockerSpawner
    alone = env(derived=dataclasses.replace(DERIVED, notebook_choices=CHOICES[:1]))
    assert "DOCKER_NOTEBOOK_IMAGES" not in alone


def test_several_images_are_the_spawn_pages_choice_default_first():
    from tests.hubconfig import configured_spawner

    values = env(derived=dataclasses.replace(DERIVED, notebook_choices=CHOICES))
    assert json.loads(values["DOCKER_NOTEBOOK_IMAGES"]) == dict(CHOICES)
    assert list(json.loads(values["DOCKER_NOTEBOOK_IMAGES"])) == [label for label, _ in CHOICES]
    c = load_hub_config(values)
    assert c.DockerSpawner.allowed_images == dict(CHOICES)
    assert c.DockerSpawner.image == DERIVED.notebook_image  # no choice made: the default
    # DockerSpawner's own form: one option per label, in order; the choice resolves to the
    # digest, and an image not in the list is refused.
    spawner = configured_spawner(c, "alice")
    form = spawner.options_form
    assert form.index(CHOICES[0][0]) < form.index(CHOICES[1][0])
    assert 'name="image"' in form
    assert spawner.options_from_form({"image": [CHOICES[1][0]]}) == {"image": CHOICES[1][0]}
    import asyncio

    assert asyncio.run(spawner.check_allowed(CHOICES[1][0])) == CHOICES[1][1]
    with pytest.raises(web.HTTPError, match="not in allowed list"):
        asyncio.run(spawner.check_allowed("quay.io/evil/miner:1"))


def test_the_choice_of_digests_stays_an_output_until_known():
    import asyncio

    import pulumi

    async def resolve():
        digest = pulumi.Output.from_input("sha256:" + "3" * 64)
        result = hub_environment(
            HUB,
            LDAP,
            GATEWAY,
            dataclasses.replace(
                DERIVED, notebook_choices=(("a:1", "sha256:" + "4" * 64), ("b:1", digest))
            ),
        )["DOCKER_NOTEBOOK_IMAGES"]
        assert isinstance(result, pulumi.Output)
        return await result.future()

    assert json.loads(asyncio.run(resolve())) == {
        "a:1": "sha256:" + "4" * 64,
        "b:1": "sha256:" + "3" * 64,
    }


@pytest.mark.parametrize(
    "bad",
    ['["a:1", "b:1"]', '{"a:1": ""}', "{}x"],
)
def test_a_malformed_image_choice_fails_loudly(bad):
    with pytest.raises(ValueError):
        load_hub_config(env(DOCKER_NOTEBOOK_IMAGES=bad))


def test_an_image_choice_without_the_default_is_refused():
    with pytest.raises(ValueError, match="must hold DOCKER_NOTEBOOK_IMAGE"):
        load_hub_config(env(DOCKER_NOTEBOOK_IMAGES='{"b:1": "sha256:' + "5" * 64 + '"}'))


def test_named_servers_off_by_default_and_limited_when_on():
    c = load()
    assert "allow_named_servers" not in c.JupyterHub
    on = load(hub=dataclasses.replace(HUB, named_servers=3))
    assert on.JupyterHub.allow_named_servers is True
    # JupyterHub reads 0 as "no limit": the setting is never 0 when named servers are on.
    assert on.JupyterHub.named_server_limit_per_user == 3
