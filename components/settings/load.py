"""Loading: the raw strings the CLI delivers in, validated `Settings` (grouped by concern,
secrets as secret Outputs) out, or one `SettingsError` that names every bad key. Each
key is checked on its own first (value types), then the rules that tie keys together."""

from __future__ import annotations

import copy
import functools
import json
import os
from typing import TYPE_CHECKING, Annotated, Any

import pulumi
from pydantic import TypeAdapter, ValidationError

from components.delivery.script import delivery_target
from components.docker import names
from components.settings.contract import (
    ARRAY_KEYS,
    CONFIG_KEYS,
    DEV_DIRECTORY_BIND_DN,
    MAP_KEYS,
    PROJECT,
    SECRET_KEYS,
    StackConfig,
    set_hint,
)
from components.settings.errors import Problem, SettingsError
from components.settings.groups import (
    GatewaySettings,
    HubSettings,
    KernelLimits,
    LdapSettings,
    LogSettings,
    Settings,
    ZosSettings,
)
from components.settings.rules import check_together
from components.settings.source import RawConfig, read_project_config
from components.settings.values import NO_LIMIT, abs_path, docker_host_url

if TYPE_CHECKING:
    from components.delivery.material import SuppliedCert

_MESSAGES = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "literal_error": None,  # pydantic's own text lists the accepted values
    "too_short": 'must list at least one user, e.g. ["admin"]',
}


@functools.cache
def _adapter(key: str) -> TypeAdapter:
    """The validator of one key, built the first time that key is set: building one costs
    about a millisecond and a stack sets a few of the many keys (docs/benchmarks.md)."""
    info = StackConfig.model_fields[key]
    return TypeAdapter(
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    )


# Keys whose model default only stands for "unset" and is not a valid value (at least
# one admin is required): their default text is validated like any other value.
INVALID_DEFAULTS = frozenset({"HUB_ADMIN_USERS"})


@functools.cache
def _default_text(key: str) -> str | None:
    """The key's default as the CLI delivers it (Pulumi.yaml's defaults arrive with every
    stack), or None if it has none to compare (None, "" which means unset anyway, or a
    default that is not a valid value)."""
    default = StackConfig.model_fields[key].default
    if default is None or default == "" or key in INVALID_DEFAULTS:
        return None
    return default if isinstance(default, str) else json.dumps(default)


def _describe(key: str, raw: str, error: dict) -> str:
    message = _MESSAGES.get(error["type"], "") or error["msg"].removeprefix("Value error, ")
    message = message.replace("Input should be", "must be")
    where = " ".join(str(part) for part in error["loc"]).replace(" [key]", " (the name)")
    if where:
        message = f"{where}: {message}"
    if key not in SECRET_KEYS:
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        message += f" (got {shown!r})"
    if (key in ARRAY_KEYS or key in MAP_KEYS) and "must be a JSON" in message:
        message += f"; set it with `{set_hint(key)}`"
    return message


def parse_value(key: str, text: str) -> tuple[Any, list[str]]:
    """One key's value, as the CLI delivers it, on its own: (parsed value, []) or
    (None, what is wrong). Secret values are never quoted back."""
    try:
        return _adapter(key).validate_python(text), []
    except ValidationError as exc:
        return None, [_describe(key, text, error) for error in exc.errors()]


def _validate_keys(raw: RawConfig) -> tuple[dict[str, Any], list[Problem]]:
    """Each key on its own: the values that passed, and a problem per value that did not."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, text in sorted(raw.values.items()):
        if text.strip() == "":
            continue  # an empty value means unset, as in the seed's .env
        if key not in StackConfig.model_fields:
            import difflib  # only for a misspelt key

            close = difflib.get_close_matches(key, CONFIG_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(Problem(key, f"is not a config key of {PROJECT}{hint}"))
            continue
        if key in SECRET_KEYS and key not in raw.secret_keys:
            problems.append(
                Problem(
                    key,
                    f"is a secret; set it with `{set_hint(key)}` so it is stored encrypted",
                )
            )
            continue
        if key in raw.plain_parts:
            problems.append(
                Problem(
                    key,
                    f"has parts set without --secret ({', '.join(raw.plain_parts[key])}), "
                    f"which the stack file holds in clear; set each again with "
                    f"`{set_hint(key)}`",
                )
            )
            continue
        if text == _default_text(key):
            # The default, as Pulumi.yaml delivers it for every key the stack leaves
            # unset: valid and parsed to itself (test_config_contract checks both), so no
            # validator is built for it (most of a stack's keys are these).
            values[key] = copy.copy(StackConfig.model_fields[key].default)
            continue
        value, wrong = parse_value(key, text)
        if wrong:
            problems.extend(Problem(key, message) for message in wrong)
        else:
            values[key] = value
    return values, problems


def default_pki_dir(stack: str, docker_host: str | None, project_dir: str | None) -> str:
    """Where users' client certificates go on the Docker host when HUB_PKI_DIR is unset.
    A local Docker engine: `<project>/.pki/<stack>` (git-ignored), which an operator who
    is the notebook user (uid 1000, the usual first Linux user) can write without root.
    A remote one: /var/lib/jupyterhub-zos/<stack>/pki."""
    local = docker_host is None or docker_host.startswith("unix://")
    if local and project_dir:
        candidate = f"{project_dir.rstrip('/')}/.pki/{stack}"
        try:
            return abs_path(candidate)
        except ValueError:
            pass  # a project path with spaces or shell characters: use the system one
    return f"/var/lib/jupyterhub-zos/{stack}/pki"


def find_problems(
    raw: RawConfig, stack: str, docker_host: str | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """All the rules, all the problems at once: (the values that passed on their own,
    every problem). Pure: `make import-env` checks a seed with it before setting anything."""
    values, problems = _validate_keys(raw)
    if docker_host is not None:
        try:
            docker_host_url(docker_host)
            delivery_target(docker_host)  # the client certificates must reach its files
        except ValueError as exc:
            problems.append(Problem("docker:host", str(exc)))
    bad = {p.key for p in problems}
    if "HUB_ADMIN_USERS" not in raw.values:
        problems.append(
            Problem(
                "HUB_ADMIN_USERS",
                "is required: at least one admin user; set it with "
                f"`{set_hint('HUB_ADMIN_USERS')}`",
            )
        )
        bad.add("HUB_ADMIN_USERS")
    stack_problem = names.stack_name_problem(stack)
    if stack_problem:  # the stack's Docker names carry it (components/docker/names.py)
        problems.append(Problem("(stack name)", stack_problem))
    problems += check_together(values, bad, stack)
    return values, problems


def validate(
    raw: RawConfig,
    stack: str,
    docker_host: str | None = None,
    project_dir: str | None = None,
    skip: frozenset[str] = frozenset(),
) -> Settings:
    """All the rules, all the problems at once; Settings only if there are none.
    `skip`: keys whose problems are not counted (the admin-script tool renders the
    script before the exports it asks for exist: ZOS_USER_CERTS)."""
    values, problems = find_problems(raw, stack, docker_host)
    problems = [p for p in problems if p.key not in skip]
    if problems:
        raise SettingsError(stack, problems)
    # Every value was validated by its key's own adapter above (the same type and
    # metadata as the field): constructing skips validating 1000-user lists again.
    return _settings(StackConfig.model_construct(**values), raw, stack, docker_host, project_dir)


def _secret(value: str | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value)


def _supplied_certs(c: StackConfig) -> dict[str, SuppliedCert]:
    """ZOS_USER_CERTS, checked again (the rules did, before any resource) and made secret
    Outputs: a PKCS#12 as the split reads the program's own exports, PEM texts as given."""
    if c.ZOS_RACF_MODE != "admin" or not c.ZOS_USER_CERTS:
        return {}
    # Imported here: only z/OS stacks in admin mode have them (and checking them loads
    # cryptography), every other stack does without.
    from components.delivery.supplied import check_all

    good, _problems = check_all(c.ZOS_USER_CERTS, c.ZOS_USERS)
    return {user: _as_supplied(checked) for user, checked in good.items()}


def _as_supplied(checked) -> SuppliedCert:
    """A checked entry as secret Outputs: a PKCS#12 as the split reads the program's own
    exports (the password line, then the uuencoded export), PEM texts as they are."""
    from components.delivery.material import SuppliedCert
    from components.delivery.supplied import uuencoded

    stdin = None
    if checked.p12 is not None and checked.password is not None:
        stdin = pulumi.Output.secret(f"{checked.password}\n{uuencoded(checked.p12)}")
    return SuppliedCert(
        cert_pem=pulumi.Output.secret(checked.cert_pem),
        key_pem=pulumi.Output.secret(checked.key_pem),
        ca_pem=pulumi.Output.secret(checked.ca_pem),
        p12_stdin=stdin,
        not_after=f"{checked.not_after:%Y-%m-%d}",
    )


def _supplied_server(c: StackConfig, kg_url: str | None) -> SuppliedCert | None:
    """ZOS_KG_SERVER_TLS (admin mode without AT-TLS), checked again, as secret Outputs."""
    if c.ZOS_RACF_MODE != "admin" or c.ZOS_ATTLS or not c.ZOS_KG_SERVER_TLS:
        return None
    from urllib.parse import urlsplit

    from components.delivery.supplied import BadEntry, check_server

    host = (urlsplit(kg_url).hostname if kg_url else None) or c.ZOS_HOST
    try:
        return _as_supplied(check_server(c.ZOS_KG_SERVER_TLS, host))
    except BadEntry:  # refused by the rules, unless skipped (the admin-script tool)
        return None


def _settings(
    c: StackConfig, raw: RawConfig, stack: str, docker_host: str | None, project_dir: str | None
) -> Settings:
    warnings = tuple(
        f"{key} was set with --secret, but it is not secret data; it is used in plain resource "
        "inputs"
        for key in sorted(raw.secret_keys - SECRET_KEYS)
    )
    kg_url = c.KG_URL
    if kg_url is None and c.ZOS_HOST is not None:
        kg_url = f"https://{c.ZOS_HOST}:{c.ZOS_KG_PORT}"  # the gateway on z/OS
    kernels = KernelLimits(
        cull_idle_timeout=c.KG_CULL_IDLE_TIMEOUT,
        cull_interval=c.KG_CULL_INTERVAL,
        cull_connected=c.KG_CULL_CONNECTED,
        max_kernels=c.KG_MAX_KERNELS,
    )
    zos = None
    if c.ZOS_HOST is not None:
        zos = ZosSettings(
            host=c.ZOS_HOST,
            ssh_port=c.ZOS_SSH_PORT,
            ssh_user=c.ZOS_SSH_USER,
            ssh_private_key=_secret(c.ZOS_SSH_PRIVATE_KEY),
            ssh_host_key=c.ZOS_SSH_HOST_KEY,
            kg_user=c.ZOS_KG_USER,
            keyring=c.ZOS_KEYRING,
            ca_label=c.ZOS_CA_LABEL,
            server_cert_label=c.ZOS_SERVER_CERT_LABEL,
            kg_port=c.ZOS_KG_PORT,
            attls=c.ZOS_ATTLS,
            attls_tlsv13=c.ZOS_ATTLS_TLSV13,
            surrogat_generic=c.ZOS_SURROGAT_GENERIC,
            attls_policy_path=c.ZOS_ATTLS_POLICY_PATH,
            opercmd=c.ZOS_OPERCMD,
            kg_config_dir=c.ZOS_KG_CONFIG_DIR or f"/u/{c.ZOS_KG_USER.lower()}/.jupyter",
            cert_notafter=c.ZOS_CERT_NOTAFTER,
            users=dict(sorted(c.ZOS_USERS.items())),
            p12_password=_secret(c.ZOS_P12_PASSWORD),
            key_size=c.ZOS_KEY_SIZE,
            kernels=kernels,
            kg_lifecycle=c.ZOS_KG_LIFECYCLE,
            kg_python=c.ZOS_KG_PYTHON,
            kg_started_task=c.ZOS_KG_STARTED_TASK,
            racf_mode=c.ZOS_RACF_MODE,
            user_certs=_supplied_certs(c),
            server_tls=_supplied_server(c, kg_url),
            cert_validity_days=c.ZOS_CERT_VALIDITY_DAYS,
            cert_renew_days=c.ZOS_CERT_RENEW_DAYS,
        )
        if c.ZOS_CERT_NOTAFTER is not None:
            warnings += (
                f"ZOS_CERT_NOTAFTER ({c.ZOS_CERT_NOTAFTER}) is deprecated and no longer used: "
                "RACF certificates are valid ZOS_CERT_VALIDITY_DAYS "
                f"({c.ZOS_CERT_VALIDITY_DAYS}) and re-issued ZOS_CERT_RENEW_DAYS "
                f"({c.ZOS_CERT_RENEW_DAYS}) days before they end. "
                "Remove it: pulumi config rm ZOS_CERT_NOTAFTER",
            )
    docker_names = names.stack_names(stack, c.DOCKER_NETWORK_NAME)
    return Settings(
        project=raw.namespace,
        stack=stack,
        docker_host=docker_host,
        names=docker_names,
        ldap=LdapSettings(
            host=c.LDAP_SERVER_HOST,
            port=c.LDAP_SERVER_PORT or (636 if c.LDAP_TLS == "ldaps" else 389),
            # Search-then-bind binds as the DN the search found: no template.
            bind_dn_template=""
            if c.LDAP_USER_SEARCH_BASE
            else c.LDAP_BIND_DN or DEV_DIRECTORY_BIND_DN,
            tls=c.LDAP_TLS,
            ca_cert_pem=c.LDAP_CA_CERT,
            allowed_groups=tuple(c.LDAP_ALLOWED_GROUPS),
            group_search_filter=c.LDAP_GROUP_SEARCH_FILTER,
            user_search_base=c.LDAP_USER_SEARCH_BASE,
            user_attribute=c.LDAP_USER_ATTRIBUTE,
            user_search_filter=c.LDAP_USER_SEARCH_FILTER,
            search_bind_dn=c.LDAP_SEARCH_BIND_DN,
            search_bind_password=_secret(c.LDAP_SEARCH_BIND_PASSWORD),
        ),
        gateway=GatewaySettings(
            url=kg_url,
            auth_token=_secret(c.KG_AUTH_TOKEN),
            validate_cert=c.VALIDATE_KG_CERT,
            client_key=c.CLIENT_KEY,
            client_cert=c.CLIENT_CERT,
            client_ca=c.CLIENT_CA,
            kernels=kernels,
            client_cert_hours=c.CLIENT_CERT_HOURS,
        ),
        hub=HubSettings(
            hostname=c.HUB_HOSTNAME,
            https_port=c.HUB_HTTPS_PORT,
            tls_cert_pem=c.HUB_TLS_CERT,
            tls_key_pem=_secret(c.HUB_TLS_KEY),
            admin_users=tuple(dict.fromkeys(c.HUB_ADMIN_USERS)),
            allowed_users=tuple(dict.fromkeys(c.HUB_ALLOWED_USERS)),
            notebook_image=c.DOCKER_NOTEBOOK_IMAGE,
            network_name=docker_names.network,
            notebook_images=tuple(
                image for image in c.DOCKER_NOTEBOOK_IMAGES if image != c.DOCKER_NOTEBOOK_IMAGE
            ),
            named_servers=c.HUB_NAMED_SERVERS,
            admin_server_access=c.HUB_ADMIN_SERVER_ACCESS,
            pki_dir=c.HUB_PKI_DIR or default_pki_dir(stack, docker_host, project_dir),
            mem_limit=None if c.NOTEBOOK_MEM_LIMIT == NO_LIMIT else c.NOTEBOOK_MEM_LIMIT,
            cpu_limit=None if c.NOTEBOOK_CPU_LIMIT == NO_LIMIT else c.NOTEBOOK_CPU_LIMIT,
            pids_limit=c.NOTEBOOK_PIDS_LIMIT,
            idle_cull_timeout=c.IDLE_CULL_TIMEOUT,
            idle_cull_max_age=c.IDLE_CULL_MAX_AGE,
            idle_cull_concurrency=c.IDLE_CULL_CONCURRENCY,
            logs=LogSettings(
                max_size=c.DOCKER_LOG_MAX_SIZE,
                max_file=c.DOCKER_LOG_MAX_FILE,
                notebook_retention_days=c.NOTEBOOK_LOG_RETENTION_DAYS,
            ),
        ),
        zos=zos,
        warnings=warnings,
    )


def load_settings() -> Settings:
    """Read and validate the running stack's config; raise SettingsError if it is bad."""
    settings = validate(
        read_project_config(SECRET_KEYS & MAP_KEYS),
        pulumi.get_stack(),
        # As the Docker provider does: docker:host, else the DOCKER_HOST environment.
        docker_host=pulumi.Config("docker").get("host") or os.environ.get("DOCKER_HOST") or None,
        project_dir=os.getcwd(),  # the CLI runs the program in the project directory
    )
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
