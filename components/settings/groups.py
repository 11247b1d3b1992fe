"""Validated settings, grouped by concern for the components: plain frozen values (secrets
as secret Outputs). Built only by `components.settings.load` from a valid StackConfig."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:  # only ZOS_USER_CERTS (z/OS, admin mode) has them: loaded there
    from components.delivery.material import SuppliedCert
from components.docker.names import (
    DEV_STACK,
    STACK_LABEL,
    StackNames,
    stack_label,
    stack_names,
)
from components.settings.contract import (
    DEFAULT_GROUP_SEARCH_FILTER,
    DEFAULT_USER_ATTRIBUTE,
    DEFAULT_USER_SEARCH_FILTER,
)


@dataclass(frozen=True)
class LdapSettings:
    host: str | None  # None: the dev directory container
    port: int
    bind_dn_template: str
    tls: str
    ca_cert_pem: str | None
    allowed_groups: tuple[str, ...]
    # How membership of an allowed group is asked ({userdn}, {uid}: the user's).
    group_search_filter: str = DEFAULT_GROUP_SEARCH_FILTER
    # Search-then-bind: find the user's entry under user_search_base by a search (as
    # search_bind_dn, or anonymously), then bind as that entry. None: bind_dn_template.
    user_search_base: str | None = None
    user_attribute: str = DEFAULT_USER_ATTRIBUTE
    user_search_filter: str = DEFAULT_USER_SEARCH_FILTER
    search_bind_dn: str | None = None
    search_bind_password: pulumi.Output[str] | None = None  # secret

    @property
    def dev_directory(self) -> bool:
        return self.host is None

    @property
    def search_then_bind(self) -> bool:
        return self.user_search_base is not None


@dataclass(frozen=True)
class KernelLimits:
    """What a gateway the program configures (the dev one, the one on z/OS) does with
    kernels: cull those idle (and, unless cull_connected, without a client) for
    cull_idle_timeout seconds (0: never), checking every cull_interval, and start no more
    than max_kernels at once (0: no cap). Defaults equal Pulumi.yaml's."""

    cull_idle_timeout: int = 3600
    cull_interval: int = 300
    cull_connected: bool = False
    max_kernels: int = 0


@dataclass(frozen=True)
class GatewaySettings:
    url: str | None  # None: the dev gateway container
    auth_token: pulumi.Output[str] | None  # None: generated
    validate_cert: bool
    client_key: str
    client_cert: str
    client_ca: str
    kernels: KernelLimits = field(default_factory=KernelLimits)
    # Validity of the client certificates the hub issues at spawn (renewed at half).
    client_cert_hours: int = 24

    @property
    def dev_gateway(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class LogSettings:
    """Logs: the json-file rotation of every container the stack runs (the hub, the dev
    gateway and directory, users' notebooks), and how long a stopped notebook server's
    log is kept (0: not kept). Defaults equal Pulumi.yaml's."""

    max_size: str = "10m"
    max_file: int = 5
    notebook_retention_days: int = 7

    @property
    def docker_log_opts(self) -> dict[str, str]:
        """json-file's options, as Docker takes them (strings)."""
        return {"max-size": self.max_size, "max-file": str(self.max_file)}


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
    mem_limit: str | None  # per notebook server; None: no limit (NOTEBOOK_MEM_LIMIT=none)
    cpu_limit: str | None  # CPUs per notebook server; None: no limit
    pids_limit: int  # processes per notebook server; 0: no limit
    idle_cull_timeout: int
    idle_cull_max_age: int = 0  # 0: no maximum age
    idle_cull_concurrency: int = 10
    logs: LogSettings = field(default_factory=LogSettings)
    # DOCKER_NOTEBOOK_IMAGES without the default (notebook_image) in it: the further
    # images users may choose on the spawn page, pulled and checked like the default.
    notebook_images: tuple[str, ...] = ()
    named_servers: int = 0  # HUB_NAMED_SERVERS: named servers per user; 0: none
    # HUB_ADMIN_SERVER_ACCESS: admins may open others' servers (JupyterHub's admin role).
    admin_server_access: bool = False

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
    surrogat_generic: bool  # BPX.SRV.** instead of one BPX.SRV.<ID> per ZOS_USERS ID
    attls_policy_path: str
    opercmd: str
    kg_config_dir: str
    cert_notafter: str | None  # ZOS_CERT_NOTAFTER: deprecated, no longer used
    users: Mapping[str, str]  # hub user -> z/OS user ID
    p12_password: pulumi.Output[str] | None  # None: generated
    key_size: int
    kernels: KernelLimits = field(default_factory=KernelLimits)  # the gateway's config
    # Who (re)starts the gateway: the operator ("manual"), this program as a z/OS UNIX
    # process under kg_user ("process"), or through operator commands ("started-task").
    kg_lifecycle: str = "manual"
    kg_python: str = "python3"  # the gateway's Python (with Kernel Gateway installed)
    kg_started_task: str | None = None  # with "started-task": the procedure's name
    # "program": the program runs the RACF and AT-TLS steps; "admin": the security
    # administrator does (the rendered script), and user_certs are their exports.
    racf_mode: str = "program"
    user_certs: Mapping[str, SuppliedCert] = field(default_factory=dict)
    # admin mode without AT-TLS: the gateway's own certificate, key and CA (ZOS_KG_SERVER_TLS)
    server_tls: SuppliedCert | None = None
    # RACF certificates: valid this many days, re-issued this many days before they end
    # (components/zos/renewal.py), on the schedule of the day the program runs (`today`).
    cert_validity_days: int = 365
    cert_renew_days: int = 30
    today: datetime.date = field(default_factory=lambda: datetime.datetime.now(datetime.UTC).date())


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
    # The stack's Docker names (components/docker/names.py; DOCKER_NETWORK_NAME wins).
    names: StackNames = field(default_factory=lambda: stack_names(DEV_STACK))

    @property
    def label(self) -> str:
        """STACK_LABEL's value on this stack's Docker objects: `<project>/<stack>`."""
        return stack_label(self.project, self.stack)

    @property
    def object_labels(self) -> dict[str, str]:
        """The labels of the Docker objects the program makes: STACK_LABEL, except on the
        dev stack, whose objects keep the inputs they had before several stacks (a label
        replaces a network or volume); its names are the seed's, which no other stack
        uses, and the hub labels its notebooks and users' volumes on every stack."""
        if self.stack == DEV_STACK:
            return {}
        return {STACK_LABEL: self.label}
