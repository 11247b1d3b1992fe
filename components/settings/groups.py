"""Validated settings, grouped by concern for the components: plain frozen values (secrets
as secret Outputs). Built only by `components.settings.load` from a valid StackConfig."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class LdapSettings:
    host: str | None  # None: the dev directory container
    port: int
    bind_dn_template: str
    tls: str
    ca_cert_pem: str | None
    allowed_groups: tuple[str, ...]

    @property
    def dev_directory(self) -> bool:
        return self.host is None


@dataclass(frozen=True)
class GatewaySettings:
    url: str | None  # None: the dev gateway container
    auth_token: pulumi.Output[str] | None  # None: generated
    validate_cert: bool
    client_key: str
    client_cert: str
    client_ca: str
    # Validity of the client certificates the hub issues at spawn (renewed at half).
    client_cert_hours: int = 24

    @property
    def dev_gateway(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class HubSettings:
    hostname: str
    https_port: int
    tls_cert_pem: str | None  # None (with the key): a pulumi-tls certificate
    tls_key_pem: pulumi.Output[str] | None
    admin_users: tuple[str, ...]
    allowed_users: tuple[str, ...]
    notebook_image: str | None  # None: built from images/notebook
    network_name: str
    pki_dir: str
    mem_limit: str | None
    cpu_limit: str | None
    idle_cull_timeout: int

    @property
    def users(self) -> tuple[str, ...]:
        """Every user named in config (admins first), each once."""
        return tuple(dict.fromkeys(self.admin_users + self.allowed_users))


@dataclass(frozen=True)
class ZosSettings:
    host: str
    ssh_port: int
    ssh_user: str
    ssh_private_key: pulumi.Output[str]
    ssh_host_key: str
    kg_user: str
    keyring: str
    ca_label: str
    server_cert_label: str
    kg_port: int
    attls: bool
    attls_tlsv13: bool
    attls_policy_path: str
    opercmd: str
    kg_config_dir: str
    cert_notafter: str | None
    users: Mapping[str, str]  # hub user -> z/OS user ID
    p12_password: pulumi.Output[str] | None  # None: generated
    key_size: int


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    docker_host: str | None
    ldap: LdapSettings
    gateway: GatewaySettings
    hub: HubSettings
    zos: ZosSettings | None
    warnings: tuple[str, ...] = field(default=())
