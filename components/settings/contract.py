"""The config contract: one field per stack config key, named exactly as the key (the
seed's `.env` names), with its type and default. Defaults equal Pulumi.yaml's;
docs/reference/config.md is generated from Pulumi.yaml and checked against this."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from components.docker import names
from components.settings.values import (
    AbsPath,
    BindDn,
    Bool,
    CertHours,
    CommandName,
    CpuLimit,
    Dn,
    ExternalHost,
    FileName,
    FutureDate,
    GatewayToken,
    Host,
    ImageRef,
    LdapPort,
    MemLimit,
    NetworkName,
    P12Password,
    PemCerts,
    Port,
    PrivateKeyPem,
    RacfLabel,
    RingName,
    RsaKeySize,
    Seconds,
    SshHostKey,
    Url,
    UserName,
    ZosId,
    ZosUserMap,
    json_list,
)

PROJECT = "jupyterhub-zos"

# Keys whose values are secrets: validated here, handed on only as Output.secret, and
# refused when set without --secret (the plain value would sit in Pulumi.<stack>.yaml).
SECRET_KEYS = frozenset({"KG_AUTH_TOKEN", "HUB_TLS_KEY", "ZOS_SSH_PRIVATE_KEY", "ZOS_P12_PASSWORD"})

# The dev directory's people live here (images/ldap renders the same base); its bind DN
# template is LDAP_BIND_DN's default when the stack runs the dev directory.
DEV_DIRECTORY_BASE_DN = "dc=jupyterhub,dc=local"
DEV_DIRECTORY_BIND_DN = f"uid={{username}},ou=people,{DEV_DIRECTORY_BASE_DN}"


def is_dev_stack(stack: str) -> bool:
    """A dev stack is named `dev` or `dev-<anything>`. Only dev stacks get the dev
    gateway and the dev directory when their keys are unset, unless ALLOW_DEV_SERVICES."""
    return stack == "dev" or stack.startswith("dev-")


class StackConfig(BaseModel):
    """One field per config key, named exactly as the key. Defaults equal Pulumi.yaml's."""

    model_config = {"extra": "forbid", "frozen": True}

    DOCKER_NOTEBOOK_IMAGE: ImageRef | None = None
    DOCKER_NETWORK_NAME: NetworkName = names.NETWORK
    ALLOW_DEV_SERVICES: Bool = False
    LDAP_SERVER_HOST: ExternalHost | None = None
    LDAP_SERVER_PORT: LdapPort = 0  # 0: by LDAP_TLS
    LDAP_BIND_DN: BindDn | None = None
    LDAP_TLS: Literal["starttls", "ldaps", "none"] = "starttls"
    LDAP_CA_CERT: PemCerts | None = None
    LDAP_ALLOWED_GROUPS: json_list(Dn) = []
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
    HUB_ALLOWED_USERS: json_list(UserName) = []
    HUB_PKI_DIR: AbsPath | None = None
    NOTEBOOK_MEM_LIMIT: MemLimit | None = None
    NOTEBOOK_CPU_LIMIT: CpuLimit | None = None
    IDLE_CULL_TIMEOUT: Seconds = 3600
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
    ZOS_ATTLS_POLICY_PATH: AbsPath = "/etc/pagent/jupyter_kg_attls.policy"
    ZOS_OPERCMD: CommandName = "opercmd"
    ZOS_KG_CONFIG_DIR: AbsPath | None = None
    ZOS_CERT_NOTAFTER: FutureDate | None = None
    ZOS_USERS: ZosUserMap = {}
    ZOS_P12_PASSWORD: P12Password | None = None
    ZOS_KEY_SIZE: RsaKeySize = 2048


CONFIG_KEYS = tuple(StackConfig.model_fields)
