"""The hub container's environment: settings and derived values in, env dict out.

This is the one place that knows the contract between the program and
images/hub/jupyterhub_config.py (names, formats, defaults); the config reads
these variables and nothing else. Values are strings; arrays are comma-separated,
except LDAP_ALLOWED_GROUPS, whose DNs contain commas: a JSON array; and
DOCKER_NOTEBOOK_IMAGES, a JSON object (shown as -> digest).

Pure: values that are Pulumi Outputs (image digest, gateway URL, secrets) are placed
as given, so tests call it with plain strings and the hub component with Outputs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.docker import names
from components.settings import GatewaySettings, HubSettings, LdapSettings

# Where the hub container gets its runtime files (container uploads, never image layers).
HUB_TLS_DIR = "/srv/jupyterhub/tls"
SSL_CERT_PATH = f"{HUB_TLS_DIR}/hub.crt"
SSL_KEY_PATH = f"{HUB_TLS_DIR}/hub.key"
LDAP_CA_PATH = f"{HUB_TLS_DIR}/ldap-ca.pem"
# Secrets the hub reads from files (0600 uploads), kept out of its environment and argv:
# `docker inspect` shows a container's environment to anyone with the Docker API.
HUB_SECRETS_DIR = "/srv/jupyterhub/secrets"
LDAP_SEARCH_PASSWORD_PATH = f"{HUB_SECRETS_DIR}/ldap-search-password"
# Stopped notebook servers' logs, on the hub's data volume (images/hub/notebook_logs.py).
NOTEBOOK_LOG_DIR = "/data/notebook-logs"
# The client CA the hub issues users' gateway certificates from (the key 0600), and the CA
# that signed the gateway, which each user gets as CLIENT_CA to verify the gateway by.
CLIENT_CA_KEY_PATH = f"{HUB_TLS_DIR}/client-ca.key"
CLIENT_CA_CERT_PATH = f"{HUB_TLS_DIR}/client-ca.crt"
GATEWAY_CA_PATH = f"{HUB_TLS_DIR}/gateway-ca.crt"
# Where <HUB_PKI_DIR> of the Docker host is mounted in the hub, when the hub issues.
HUB_PKI_MOUNT = "/srv/jupyterhub/pki"

# Variables whose values are secrets: the hub component keeps them secret Outputs.
SECRET_ENV = frozenset(
    {
        "KG_AUTH_TOKEN",
        "JPY_COOKIE_SECRET",
        "CONFIGPROXY_AUTH_TOKEN",
        "HUB_METRICS_TOKEN",
        "HUB_STATUS_TOKEN",
    }
)


@dataclass(frozen=True)
class HubEnvInputs:
    """What the environment needs beyond the settings; Outputs or plain strings."""

    ldap_host: str  # LDAP_SERVER_HOST, or the dev directory's name on the network
    ldap_ca: bool  # an LDAP CA certificate is uploaded to LDAP_CA_PATH
    notebook_image: Any  # the image DockerSpawner runs: a digest, so a new image rolls the hub
    kg_url: Any
    kg_auth_token: Any  # secret
    cookie_secret: Any  # secret, hex
    proxy_auth_token: Any  # secret
    pki_users: Sequence[str]  # users with a delivered certificate in <pki_dir>/<user>
    metrics_token: Any = None  # secret: the Prometheus scrape token (None: no scraping)
    status_token: Any = None  # secret: `make status`'s read-only token (None: none)
    # The images users may choose, (shown as, digest), the default first; with fewer than
    # two there is no choice (DOCKER_NOTEBOOK_IMAGE alone).
    notebook_choices: Sequence[tuple[str, Any]] = ()
    # The hub issues every user's client certificate at spawn (CA files uploaded, HUB_PKI_DIR
    # mounted); else only `pki_users` have one (RACF, delivered by the program).
    hub_issues_certs: bool = False
    # The stack's Docker names (the hub's alias, its notebooks' and volumes') and its
    # STACK_LABEL value, which the hub puts on the notebooks and volumes it makes.
    stack_names: names.StackNames = names.DEV_NAMES
    stack_label: str = names.stack_label("jupyterhub-zos", names.DEV_STACK)


def _csv(items: Sequence[str]) -> str:
    for item in items:
        if "," in item:
            raise ValueError(f"{item!r}: a comma-separated list item may not hold a comma")
    return ",".join(items)


def _json_object(pairs: Sequence[tuple[str, Any]]) -> Any:
    """A JSON object of (key, value) pairs, in order; an Output if any value is one."""
    keys = [key for key, _ in pairs]
    values = [value for _, value in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"names shown twice: {keys}")
    if any(isinstance(value, pulumi.Output) for value in values):
        return pulumi.Output.all(*values).apply(
            lambda vs: json.dumps(dict(zip(keys, vs, strict=True)))
        )
    return json.dumps(dict(zip(keys, values, strict=True)))


def _ldap_user_lookup(ldap: LdapSettings) -> dict[str, str]:
    """How a login name becomes a DN: a template, or search-then-bind. The search
    account's password is not here: it is a file (LDAP_SEARCH_PASSWORD_PATH)."""
    if not ldap.search_then_bind:
        return {"LDAP_BIND_DN": ldap.bind_dn_template}
    env = {
        "LDAP_USER_SEARCH_BASE": ldap.user_search_base,
        "LDAP_USER_ATTRIBUTE": ldap.user_attribute,
        "LDAP_USER_SEARCH_FILTER": ldap.user_search_filter,
    }
    if ldap.search_bind_dn is not None:
        env["LDAP_SEARCH_BIND_DN"] = ldap.search_bind_dn
        env["LDAP_SEARCH_BIND_PASSWORD_FILE"] = LDAP_SEARCH_PASSWORD_PATH
    return env


def hub_environment(
    hub: HubSettings, ldap: LdapSettings, gateway: GatewaySettings, derived: HubEnvInputs
) -> dict[str, Any]:
    """The hub container's environment, per the contract in images/hub/jupyterhub_config.py."""
    env: dict[str, Any] = {
        # LDAP login
        "LDAP_SERVER_HOST": derived.ldap_host,
        "LDAP_SERVER_PORT": str(ldap.port),
        "LDAP_TLS": ldap.tls,
        **_ldap_user_lookup(ldap),
        # Who may log in
        "HUB_ADMIN_USERS": _csv(hub.admin_users),
        "HUB_ALLOWED_USERS": _csv(hub.allowed_users),
        "HUB_ADMIN_SERVER_ACCESS": "true" if hub.admin_server_access else "false",
        # Kernel Gateway, for each notebook
        "KG_URL": derived.kg_url,
        "KG_AUTH_TOKEN": derived.kg_auth_token,
        "VALIDATE_KG_CERT": "true" if gateway.validate_cert else "false",
        "CLIENT_KEY": gateway.client_key,
        "CLIENT_CERT": gateway.client_cert,
        "CLIENT_CA": gateway.client_ca,
        "JUPYTERPKI_HOST_DIR": hub.pki_dir,
        "JUPYTERPKI_USERS": _csv(sorted(set(derived.pki_users))),
        # Notebook containers
        "DOCKER_NOTEBOOK_IMAGE": derived.notebook_image,
        "DOCKER_NETWORK_NAME": hub.network_name,
        # This stack's names and label (components/docker/names.py): several stacks on
        # one Docker host each touch only their own notebooks and volumes.
        "HUB_ALIAS": derived.stack_names.hub_alias,
        "NOTEBOOK_NAME_PREFIX": derived.stack_names.notebook_prefix,
        "NOTEBOOK_VOLUME_TEMPLATE": derived.stack_names.server_volume_template,
        "STACK_LABEL": derived.stack_label,
        # Unlabeled objects of its names are the dev stack's own (from a hub before labels).
        "STACK_KEEPS_UNLABELED": "true"
        if derived.stack_names.stack == names.DEV_STACK
        else "false",
        "HUB_NAMED_SERVERS": str(hub.named_servers),
        "IDLE_CULL_TIMEOUT": str(hub.idle_cull_timeout),
        "IDLE_CULL_MAX_AGE": str(hub.idle_cull_max_age),
        "IDLE_CULL_CONCURRENCY": str(hub.idle_cull_concurrency),
        # Logs: notebook containers rotate theirs as every container of the stack does;
        # a stopped server's log is saved for NOTEBOOK_LOG_RETENTION_DAYS.
        "DOCKER_LOG_MAX_SIZE": hub.logs.max_size,
        "DOCKER_LOG_MAX_FILE": str(hub.logs.max_file),
        "NOTEBOOK_LOG_RETENTION_DAYS": str(hub.logs.notebook_retention_days),
        "NOTEBOOK_LOG_DIR": NOTEBOOK_LOG_DIR,
        # The hub's own HTTPS and state
        "SSL_CERT": SSL_CERT_PATH,
        "SSL_KEY": SSL_KEY_PATH,
        # The public HTTPS is served by configurable-http-proxy (Node.js): TLS 1.2 or later
        # only, said here rather than left to the Node.js default of the hub image.
        "NODE_OPTIONS": "--tls-min-v1.2",
        "JPY_COOKIE_SECRET": derived.cookie_secret,
        "CONFIGPROXY_AUTH_TOKEN": derived.proxy_auth_token,
    }
    if derived.hub_issues_certs:
        env.update(
            JUPYTERPKI_CA_KEY=CLIENT_CA_KEY_PATH,
            JUPYTERPKI_CA_CERT=CLIENT_CA_CERT_PATH,
            JUPYTERPKI_GATEWAY_CA=GATEWAY_CA_PATH,
            JUPYTERPKI_HUB_DIR=HUB_PKI_MOUNT,
            JUPYTERPKI_CERT_HOURS=str(gateway.client_cert_hours),
        )
        del env["JUPYTERPKI_USERS"]  # everyone the hub lets in gets one
    if ldap.allowed_groups:
        env["LDAP_ALLOWED_GROUPS"] = json.dumps(list(ldap.allowed_groups))
        env["LDAP_GROUP_SEARCH_FILTER"] = ldap.group_search_filter
    if len(derived.notebook_choices) > 1:
        # The spawn page's choice: shown as -> digest (DockerSpawner.allowed_images).
        env["DOCKER_NOTEBOOK_IMAGES"] = _json_object(derived.notebook_choices)
    if derived.metrics_token is not None:
        env["HUB_METRICS_TOKEN"] = derived.metrics_token
    if derived.status_token is not None:
        env["HUB_STATUS_TOKEN"] = derived.status_token
    if derived.ldap_ca:
        env["LDAP_CA_CERT_FILE"] = LDAP_CA_PATH
    if hub.mem_limit:
        env["NOTEBOOK_MEM_LIMIT"] = hub.mem_limit
    if hub.cpu_limit:
        env["NOTEBOOK_CPU_LIMIT"] = hub.cpu_limit
    if hub.pids_limit:
        env["NOTEBOOK_PIDS_LIMIT"] = str(hub.pids_limit)
    return env
