"""The config contract: one field per stack config key, named exactly as the key (the
seed's `.env` names), with its type and default. Defaults equal Pulumi.yaml's;
docs/reference/config.md is generated from Pulumi.yaml and checked against this.

No `from __future__ import annotations` here: the field types are built as the class
body runs, instead of pydantic evaluating 60-odd annotation strings on every run."""

import typing
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from components.settings.values import (
    AbsPath,
    BindDn,
    Bool,
    CertHours,
    CertRenewDays,
    CertValidityDays,
    CommandName,
    Concurrency,
    Count,
    CpuLimit,
    Dn,
    ExternalHost,
    FileName,
    GatewayToken,
    GroupSearchFilter,
    Host,
    ImageRef,
    IsoDate,
    LdapAttribute,
    LdapPassword,
    LdapPort,
    LogFiles,
    LogSize,
    MemLimit,
    NamedServers,
    NetworkName,
    P12Password,
    PemCerts,
    PidsLimit,
    PkiDir,
    Port,
    PositiveSeconds,
    PrivateKeyPem,
    RacfLabel,
    RetentionDays,
    RingName,
    RsaKeySize,
    Seconds,
    SshHostKey,
    Url,
    UserName,
    UserSearchFilter,
    ZosId,
    ZosServerTls,
    ZosUserCertMap,
    ZosUserMap,
    json_list,
)

PROJECT = "jupyterhub-zos"

# Keys whose values are secrets: validated here, handed on only as Output.secret, and
# refused when set without --secret (the plain value would sit in Pulumi.<stack>.yaml).
SECRET_KEYS = frozenset(
    {
        "KG_AUTH_TOKEN",
        "HUB_TLS_KEY",
        "ZOS_SSH_PRIVATE_KEY",
        "ZOS_P12_PASSWORD",
        "LDAP_SEARCH_BIND_PASSWORD",
        "ZOS_USER_CERTS",
        "ZOS_KG_SERVER_TLS",
    }
)

# The dev directory's people live here (images/ldap renders the same base); its bind DN
# template is LDAP_BIND_DN's default when the stack runs the dev directory.
DEV_DIRECTORY_BASE_DN = "dc=jupyterhub,dc=local"
DEV_DIRECTORY_BIND_DN = f"uid={{username}},ou=people,{DEV_DIRECTORY_BASE_DN}"

# Search-then-bind (LDAP_USER_SEARCH_BASE set): LDAPAuthenticator's own defaults.
DEFAULT_USER_ATTRIBUTE = "uid"
DEFAULT_USER_SEARCH_FILTER = "({login_attr}={login})"
DEFAULT_GROUP_SEARCH_FILTER = "(|(member={userdn})(uniqueMember={userdn})(memberUid={uid}))"


def is_dev_stack(stack: str) -> bool:
    """A dev stack is named `dev` or `dev-<anything>`. Only dev stacks get the dev
    gateway and the dev directory when their keys are unset, unless ALLOW_DEV_SERVICES."""
    return stack == "dev" or stack.startswith("dev-")


class StackConfig(BaseModel):
    """One field per config key, named exactly as the key. Defaults equal Pulumi.yaml's."""

    # defer_build: the program validates key by key (load.py) and constructs this from
    # validated values, so the whole model's validator is built only if something asks.
    model_config = {"extra": "forbid", "frozen": True, "defer_build": True}

    DOCKER_NOTEBOOK_IMAGE: ImageRef | None = None
    DOCKER_NETWORK_NAME: NetworkName | None = None  # None: the stack's (names.stack_names)
    DOCKER_NOTEBOOK_IMAGES: json_list(ImageRef) = []
    DOCKER_LOG_MAX_SIZE: LogSize = "10m"
    DOCKER_LOG_MAX_FILE: LogFiles = 5
    ALLOW_DEV_SERVICES: Bool = False
    LDAP_SERVER_HOST: ExternalHost | None = None
    LDAP_SERVER_PORT: LdapPort = 0  # 0: by LDAP_TLS
    LDAP_BIND_DN: BindDn | None = None
    LDAP_TLS: Literal["starttls", "ldaps", "none"] = "starttls"
    LDAP_CA_CERT: PemCerts | None = None
    LDAP_ALLOWED_GROUPS: json_list(Dn) = []
    LDAP_GROUP_SEARCH_FILTER: GroupSearchFilter = DEFAULT_GROUP_SEARCH_FILTER
    LDAP_USER_SEARCH_BASE: Dn | None = None
    LDAP_USER_ATTRIBUTE: LdapAttribute = DEFAULT_USER_ATTRIBUTE
    LDAP_USER_SEARCH_FILTER: UserSearchFilter = DEFAULT_USER_SEARCH_FILTER
    LDAP_SEARCH_BIND_DN: Dn | None = None
    LDAP_SEARCH_BIND_PASSWORD: LdapPassword | None = None
    KG_URL: Url | None = None
    KG_AUTH_TOKEN: GatewayToken | None = None
    VALIDATE_KG_CERT: Bool = True
    CLIENT_KEY: FileName = "key.pem"
    CLIENT_CERT: FileName = "cert.pem"
    CLIENT_CA: FileName = "cacert.pem"
    CLIENT_CERT_HOURS: CertHours = 24
    HUB_HOSTNAME: Host = "localhost"
    HUB_HTTPS_PORT: Port = 443
    HUB_TLS_CERT: PemCerts | None = None
    HUB_TLS_KEY: PrivateKeyPem | None = None
    HUB_ADMIN_USERS: Annotated[json_list(UserName), Field(min_length=1)] = []
    HUB_ADMIN_SERVER_ACCESS: Bool = False
    HUB_ALLOWED_USERS: json_list(UserName) = []
    HUB_PKI_DIR: PkiDir | None = None
    HUB_NAMED_SERVERS: NamedServers = 0
    NOTEBOOK_MEM_LIMIT: MemLimit = "2G"
    NOTEBOOK_CPU_LIMIT: CpuLimit = "2"
    NOTEBOOK_PIDS_LIMIT: PidsLimit = 512
    NOTEBOOK_LOG_RETENTION_DAYS: RetentionDays = 7
    IDLE_CULL_TIMEOUT: Seconds = 3600
    IDLE_CULL_MAX_AGE: Seconds = 0
    IDLE_CULL_CONCURRENCY: Concurrency = 10
    KG_CULL_IDLE_TIMEOUT: Seconds = 3600
    KG_CULL_INTERVAL: PositiveSeconds = 300
    KG_CULL_CONNECTED: Bool = False
    KG_MAX_KERNELS: Count = 0
    ZOS_HOST: Host | None = None
    ZOS_SSH_PORT: Port = 22
    ZOS_SSH_USER: ZosId | None = None
    ZOS_SSH_PRIVATE_KEY: PrivateKeyPem | None = None
    ZOS_SSH_HOST_KEY: SshHostKey | None = None
    ZOS_KG_USER: ZosId = "JKGID"
    ZOS_KEYRING: RingName = "JKGRing"
    ZOS_CA_LABEL: RacfLabel = "Jupyter Local CA"
    ZOS_SERVER_CERT_LABEL: RacfLabel = "JKG Server Cert"
    ZOS_KG_PORT: Port = 8099
    ZOS_ATTLS: Bool = True
    ZOS_ATTLS_TLSV13: Bool = False
    ZOS_SURROGAT_GENERIC: Bool = False
    ZOS_ATTLS_POLICY_PATH: AbsPath = "/etc/pagent/jupyter_kg_attls.policy"
    ZOS_OPERCMD: CommandName = "opercmd"
    ZOS_KG_CONFIG_DIR: AbsPath | None = None
    ZOS_CERT_NOTAFTER: IsoDate | None = None  # deprecated: warned about, not used
    ZOS_CERT_VALIDITY_DAYS: CertValidityDays = 365
    ZOS_CERT_RENEW_DAYS: CertRenewDays = 30
    ZOS_USERS: ZosUserMap = {}
    ZOS_P12_PASSWORD: P12Password | None = None
    ZOS_KEY_SIZE: RsaKeySize = 2048
    ZOS_KG_LIFECYCLE: Literal["manual", "process", "started-task"] = "manual"
    ZOS_KG_PYTHON: CommandName = "python3"
    ZOS_KG_STARTED_TASK: ZosId | None = None
    # "admin": the program runs no RACF command; the security administrator runs the
    # rendered script and hands over each user's exported certificate (ZOS_USER_CERTS).
    ZOS_RACF_MODE: Literal["program", "admin"] = "program"
    ZOS_USER_CERTS: ZosUserCertMap = {}
    # admin mode without AT-TLS: the gateway's own certificate, key and CA, exported by the
    # security administrator (the gateway does TLS itself then).
    ZOS_KG_SERVER_TLS: ZosServerTls = {}


CONFIG_KEYS = tuple(StackConfig.model_fields)


def _kind(key: str) -> str:
    origin = typing.get_origin(StackConfig.model_fields[key].annotation)
    while origin is Annotated:  # json_list(...) and ZosUserMap are Annotated[list|dict, ...]
        origin = typing.get_origin(typing.get_args(StackConfig.model_fields[key].annotation)[0])
    return {list: "array", dict: "map"}.get(origin, "value")


# Arrays and maps are set item by item with --path; everything else whole.
ARRAY_KEYS = frozenset(k for k in CONFIG_KEYS if _kind(k) == "array")
MAP_KEYS = frozenset(k for k in CONFIG_KEYS if _kind(k) == "map")
# Arrays of LDAP DNs: a DN holds commas, so a `.env` lists them one per line or `;`-separated.
DN_LIST_KEYS = frozenset({"LDAP_ALLOWED_GROUPS"})


def set_hint(key: str) -> str:
    """The `pulumi config set` command that sets `key`, right for its kind."""
    if key == "ZOS_KG_SERVER_TLS":
        return (
            f"pulumi config set --secret --path '{key}.p12' < kg-server.p12.b64 and "
            f"--path '{key}.password' (or .cert, .key, .ca as PEM), each on stdin"
        )
    if key in SECRET_KEYS and key in MAP_KEYS:
        return (
            f"pulumi config set --secret --path '{key}.alice.p12' < alice.p12.b64 "
            "(one entry per user, each field on stdin)"
        )
    if key in SECRET_KEYS:
        return f"pulumi config set --secret {key} < file (the value on stdin)"
    if key in ARRAY_KEYS:
        example = (
            "cn=jupyter,ou=groups,dc=example,dc=org"
            if key in DN_LIST_KEYS
            else "quay.io/jupyter/scipy-notebook:2025-10-20"
            if key == "DOCKER_NOTEBOOK_IMAGES"
            else "alice"
        )
        return f"pulumi config set --path '{key}[0]' '{example}' (one item per index)"
    if key in MAP_KEYS:
        return f"pulumi config set --path '{key}.alice' ALICE01 (one entry per user)"
    return f"pulumi config set {key} <value>"
