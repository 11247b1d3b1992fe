"""The stack's settings: every config key validated once, before any resource exists.

`StackConfig` declares each key of the config contract (names as in the seed's `.env`
and DESIGN.md) with its type, default and rules. `load_settings()` reads the raw
strings the CLI delivers, validates every key on its own and then the rules that tie
keys together, and either returns `Settings` (grouped by concern, secrets as secret
Outputs) or raises one `SettingsError` that names every bad key.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import pulumi
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError

from components.config_source import RawConfig, read_project_config
from components.pki_delivery_script import delivery_target

PROJECT = "jupyterhub-zos"

# Keys whose values are secrets: validated here, handed on only as Output.secret, and
# refused when set without --secret (the plain value would sit in Pulumi.<stack>.yaml).
SECRET_KEYS = frozenset({"KG_AUTH_TOKEN", "HUB_TLS_KEY", "ZOS_SSH_PRIVATE_KEY", "ZOS_P12_PASSWORD"})

# --- value types -----------------------------------------------------------------------


def _parse_json(kind: type, example: str):
    """The CLI delivers arrays and objects as JSON text; accept that or the parsed value."""

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"must be a JSON {kind.__name__} such as {example}") from None
        if not isinstance(value, kind):
            raise ValueError(f"must be a JSON {kind.__name__} such as {example}")
        return value

    return parse


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError("must be true or false")


def _check(pattern: str, message: str, flags: int = 0):
    compiled = re.compile(pattern, flags)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return check


USERNAME_RE = r"[a-z][a-z0-9._-]{0,63}"
UserName = Annotated[
    str,
    AfterValidator(
        _check(
            USERNAME_RE,
            "user names are 1-64 of a-z 0-9 . _ - starting with a letter "
            "(JupyterHub lowercases names at login, so other names never match)",
        )
    ),
]


def _zos_id(value: str) -> str:
    upper = value.upper()
    if not re.fullmatch(r"[A-Z#$@][A-Z0-9#$@]{0,7}", upper):
        raise ValueError("a z/OS user ID is 1-8 of A-Z 0-9 # $ @, not starting with a digit")
    return upper


ZosId = Annotated[str, AfterValidator(_zos_id)]

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*"


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not re.fullmatch(HOSTNAME_RE, value):
        raise ValueError("must be a host name or an IP address, without scheme or port")
    return value


Host = Annotated[str, AfterValidator(_host)]
Port = Annotated[int, Field(ge=1, le=65535)]


def _loopback_refused(value: str) -> str:
    try:
        loopback = ipaddress.ip_address(value).is_loopback
    except ValueError:
        loopback = value.lower() == "localhost"
    if loopback:
        raise ValueError(
            "inside the hub container this is the container itself, not the Docker host; "
            "use an address the container can reach"
        )
    return value


ExternalHost = Annotated[Host, AfterValidator(_loopback_refused)]


def _file_name(value: str) -> str:
    if not value or "/" in value or "\\" in value or value in (".", "..") or "\0" in value:
        raise ValueError(
            "must be a plain file name (no '/', no '..'); files live in /etc/jupyterpki"
        )
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", value):
        raise ValueError("must be a file name of A-Z a-z 0-9 . _ -")
    return value


FileName = Annotated[str, AfterValidator(_file_name)]

# The Docker reference grammar (distribution/reference), with the tag or digest required.
IMAGE_RE = re.compile(
    r"(?:(?P<domain>(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
    r"(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?"
)


def _image_ref(value: str) -> str:
    match = IMAGE_RE.fullmatch(value)
    if not match:
        raise ValueError(
            "is not a valid image reference (e.g. quay.io/jupyter/base-notebook:2025-10-20)"
        )
    if not match["digest"] and (not match["tag"] or match["tag"] == "latest"):
        raise ValueError("must be pinned by a tag other than 'latest' or by a digest (@sha256:...)")
    return value


ImageRef = Annotated[str, AfterValidator(_image_ref)]


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must start with https:// or http://")
    if not parts.hostname:
        raise ValueError("must name a host, e.g. https://gateway.example.com:8099")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; the token goes in KG_AUTH_TOKEN")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return value.rstrip("/")


Url = Annotated[str, AfterValidator(_url)]

_DN_RDN = r"[A-Za-z][A-Za-z0-9-]*=[^,]+"


def _dn(value: str) -> str:
    if not re.fullmatch(rf"\s*{_DN_RDN}(\s*,\s*{_DN_RDN})*\s*", value):
        raise ValueError("must be an LDAP DN such as cn=jupyter,ou=groups,dc=example,dc=org")
    return value


Dn = Annotated[str, AfterValidator(_dn)]


def _bind_dn(value: str) -> str:
    if "{username}" not in value:
        raise ValueError("must contain {username}, e.g. uid={username},ou=people,dc=example,dc=org")
    _dn(value.replace("{username}", "user"))
    return value


def _mem_limit(value: str) -> str:
    match = re.fullmatch(r"([0-9]+)([KMGT]?)", value.strip().upper())
    if not match or int(match[1]) == 0:
        raise ValueError("must be a positive size such as 512M or 2G (units K, M, G, T)")
    return match[1] + match[2]


def _cpu_limit(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a positive number of CPUs such as 1.5") from None
    if not number > 0 or number != number or number == float("inf"):
        raise ValueError("must be a positive number of CPUs such as 1.5")
    return value.strip()


def _pem_certs(value: str) -> str:
    try:
        certs = x509.load_pem_x509_certificates(value.encode())
    except ValueError:
        raise ValueError("must be PEM certificate text (-----BEGIN CERTIFICATE-----)") from None
    if not certs:
        raise ValueError("must hold at least one PEM certificate")
    return value


def _load_private_key(value: str):
    data = value.encode()
    for loader in (serialization.load_pem_private_key, serialization.load_ssh_private_key):
        try:
            return loader(data, password=None)
        except TypeError:
            raise ValueError("is encrypted with a passphrase; give the key without one") from None
        except (ValueError, UnsupportedAlgorithm):
            continue
    raise ValueError("must be a PEM or OpenSSH private key")


def _private_key(value: str) -> str:
    _load_private_key(value)
    return value


def _ssh_host_key(value: str) -> str:
    fields = value.split()
    # Accept `type base64 [comment]` and a known_hosts line `hosts type base64`.
    if len(fields) >= 3 and not fields[0].startswith(("ssh-", "ecdsa-")):
        fields = fields[1:]
    if len(fields) < 2:
        raise ValueError("must be the server's public host key, e.g. 'ssh-ed25519 AAAA...'")
    try:
        serialization.load_ssh_public_key(f"{fields[0]} {fields[1]}".encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(
            "must be the server's public host key, e.g. 'ssh-ed25519 AAAA...'"
        ) from None
    return f"{fields[0]} {fields[1]}"


def _secret_text(min_len: int, what: str):
    def check(value: str) -> str:
        if len(value) < min_len:
            raise ValueError(f"must be at least {min_len} characters ({what})")
        if not value.isprintable() or "'" in value or '"' in value:
            raise ValueError("must be printable and hold no quote characters")
        return value

    return check


def _racf_label(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._#@-]{0,31}", value):
        raise ValueError("a RACF certificate label here is 1-32 of A-Z a-z 0-9 space . _ - # @")
    return value


def _ring_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9#@$][A-Za-z0-9#@$._-]{0,236}", value):
        raise ValueError("a key ring name here is 1-237 of A-Z a-z 0-9 # @ $ . _ -")
    return value


def _future_date(value: str) -> str:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None
    if parsed <= date.today():
        raise ValueError("must be a date in the future")
    return value


def _abs_path(value: str) -> str:
    if not value.startswith("/") or ".." in value.split("/") or not value.isprintable():
        raise ValueError("must be an absolute path without '..'")
    if re.search(r"[\s'\"`$\\;&|<>]", value):
        raise ValueError("must not contain spaces, quotes or shell characters")
    return value.rstrip("/") or "/"


def _docker_host(value: str) -> str:
    if not re.match(r"(unix|tcp|ssh|npipe)://", value):
        raise ValueError("must be unix://..., tcp://host:port or ssh://user@host")
    return value


def json_list(item):
    return Annotated[list[item], BeforeValidator(_parse_json(list, '["alice", "bob"]'))]


Bool = Annotated[bool, BeforeValidator(_parse_bool)]


# --- the config contract -----------------------------------------------------------------


class StackConfig(BaseModel):
    """One field per config key, named exactly as the key. Defaults equal Pulumi.yaml's."""

    model_config = {"extra": "forbid", "frozen": True}

    DOCKER_NOTEBOOK_IMAGE: ImageRef | None = None
    DOCKER_NETWORK_NAME: Annotated[
        str,
        AfterValidator(_check(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}", "must be a Docker network name")),
    ] = "jupyterhub-network"
    LDAP_SERVER_HOST: ExternalHost | None = None
    LDAP_SERVER_PORT: Annotated[int, Field(ge=0, le=65535)] = 0  # 0: by LDAP_TLS
    LDAP_BIND_DN: Annotated[str, AfterValidator(_bind_dn)] | None = None
    LDAP_TLS: Literal["starttls", "ldaps", "none"] = "starttls"
    LDAP_CA_CERT: Annotated[str, AfterValidator(_pem_certs)] | None = None
    LDAP_ALLOWED_GROUPS: json_list(Dn) = []
    KG_URL: Url | None = None
    KG_AUTH_TOKEN: (
        Annotated[str, AfterValidator(_secret_text(16, "a guessable token opens kernels"))] | None
    ) = None
    VALIDATE_KG_CERT: Bool = True
    CLIENT_KEY: FileName = "key.pem"
    CLIENT_CERT: FileName = "cert.pem"
    CLIENT_CA: FileName = "cacert.pem"
    HUB_HOSTNAME: Host = "localhost"
    HUB_HTTPS_PORT: Port = 443
    HUB_TLS_CERT: Annotated[str, AfterValidator(_pem_certs)] | None = None
    HUB_TLS_KEY: Annotated[str, AfterValidator(_private_key)] | None = None
    HUB_ADMIN_USERS: Annotated[json_list(UserName), Field(min_length=1)] = []
    HUB_ALLOWED_USERS: json_list(UserName) = []
    HUB_PKI_DIR: Annotated[str, AfterValidator(_abs_path)] | None = None
    NOTEBOOK_MEM_LIMIT: Annotated[str, AfterValidator(_mem_limit)] | None = None
    NOTEBOOK_CPU_LIMIT: Annotated[str, AfterValidator(_cpu_limit)] | None = None
    IDLE_CULL_TIMEOUT: Annotated[int, Field(ge=0)] = 3600
    ZOS_HOST: Host | None = None
    ZOS_SSH_PORT: Port = 22
    ZOS_SSH_USER: ZosId | None = None
    ZOS_SSH_PRIVATE_KEY: Annotated[str, AfterValidator(_private_key)] | None = None
    ZOS_SSH_HOST_KEY: Annotated[str, AfterValidator(_ssh_host_key)] | None = None
    ZOS_KG_USER: ZosId = "JKGID"
    ZOS_KEYRING: Annotated[str, AfterValidator(_ring_name)] = "JKGRing"
    ZOS_CA_LABEL: Annotated[str, AfterValidator(_racf_label)] = "Jupyter Local CA"
    ZOS_SERVER_CERT_LABEL: Annotated[str, AfterValidator(_racf_label)] = "JKG Server Cert"
    ZOS_KG_PORT: Port = 8099
    ZOS_ATTLS: Bool = True
    ZOS_ATTLS_TLSV13: Bool = False
    ZOS_ATTLS_POLICY_PATH: Annotated[str, AfterValidator(_abs_path)] = (
        "/etc/pagent/jupyter_kg_attls.policy"
    )
    ZOS_OPERCMD: Annotated[
        str,
        AfterValidator(_check(r"[A-Za-z0-9_./-]+", "must be a command name or path, e.g. opercmd")),
    ] = "opercmd"
    ZOS_KG_CONFIG_DIR: Annotated[str, AfterValidator(_abs_path)] | None = None
    ZOS_CERT_NOTAFTER: Annotated[str, AfterValidator(_future_date)] | None = None
    ZOS_USERS: Annotated[
        dict[UserName, ZosId], BeforeValidator(_parse_json(dict, '{"alice": "ALICE01"}'))
    ] = {}
    ZOS_P12_PASSWORD: (
        Annotated[str, AfterValidator(_secret_text(12, "it protects exported keys"))] | None
    ) = None
    ZOS_KEY_SIZE: Annotated[int, Field(ge=2048, le=4096)] = 2048


CONFIG_KEYS = tuple(StackConfig.model_fields)

# Rewordings of pydantic's messages into what a user can act on.
_MESSAGES = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "literal_error": None,  # pydantic's own text lists the accepted values
    "too_short": 'must list at least one user, e.g. ["admin"]',
}


# --- validated settings, grouped for the components ----------------------------------


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


# --- errors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    key: str
    message: str


class SettingsError(pulumi.RunError):
    """Every problem with the stack's config, in one message; raised before any resource."""

    def __init__(self, stack: str, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.key, p.message))
        keys = sorted({p.key for p in self.problems})
        lines = [
            f"stack '{stack}': {len(keys)} config key(s) are invalid; nothing was deployed.",
            *(f"  - {p.key}: {p.message}" for p in self.problems),
            "Fix with `pulumi config set <KEY> <value>` (secrets with --secret), "
            "then run again. The keys are described in Pulumi.yaml and README.md.",
        ]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> set[str]:
        return {p.key for p in self.problems}


# --- validation ------------------------------------------------------------------------------

_ADAPTERS = {
    name: TypeAdapter(
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    )
    for name, info in StackConfig.model_fields.items()
}


def _describe(key: str, raw: str, error: dict) -> str:
    message = _MESSAGES.get(error["type"], "") or error["msg"].removeprefix("Value error, ")
    message = message.replace("Input should be", "must be")
    where = " ".join(str(part) for part in error["loc"]).replace(" [key]", " (the name)")
    if where:
        message = f"{where}: {message}"
    if key not in SECRET_KEYS:
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        message += f" (got {shown!r})"
    return message


def parse_value(key: str, text: str) -> tuple[Any, list[str]]:
    """One key's value, as the CLI delivers it, on its own: (parsed value, []) or
    (None, what is wrong). Secret values are never quoted back."""
    try:
        return _ADAPTERS[key].validate_python(text), []
    except ValidationError as exc:
        return None, [_describe(key, text, error) for error in exc.errors()]


def _validate_keys(raw: RawConfig) -> tuple[dict[str, Any], list[Problem]]:
    """Each key on its own: the values that passed, and a problem per value that did not."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, text in sorted(raw.values.items()):
        if text.strip() == "":
            continue  # an empty value means unset, as in the seed's .env
        if key not in _ADAPTERS:
            close = difflib.get_close_matches(key, CONFIG_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(Problem(key, f"is not a config key of {PROJECT}{hint}"))
            continue
        if key in SECRET_KEYS and key not in raw.secret_keys:
            problems.append(
                Problem(
                    key,
                    f"is a secret; set it with `pulumi config set --secret {key}` "
                    "so it is stored encrypted",
                )
            )
            continue
        value, wrong = parse_value(key, text)
        if wrong:
            problems.extend(Problem(key, message) for message in wrong)
        else:
            values[key] = value
    return values, problems


def _check_together(v: dict[str, Any], bad: set[str]) -> list[Problem]:
    """Rules that tie keys together, on the values that passed on their own."""
    problems: list[Problem] = []

    def need(key: str, why: str) -> None:
        if key not in bad and v.get(key) in (None, "", [], {}):
            problems.append(Problem(key, f"is required {why}"))

    ldap_host = v.get("LDAP_SERVER_HOST")
    if ldap_host is None and "LDAP_SERVER_HOST" not in bad:
        for key in ("LDAP_BIND_DN", "LDAP_CA_CERT", "LDAP_SERVER_PORT"):
            if v.get(key):
                problems.append(
                    Problem(
                        key,
                        "is only for your own LDAP server; set LDAP_SERVER_HOST too, "
                        "or unset it to use the dev directory",
                    )
                )
    if ldap_host is not None:
        need(
            "LDAP_BIND_DN", "with LDAP_SERVER_HOST: the DN template users bind as, with {username}"
        )
        if v.get("LDAP_TLS") == "none":
            problems.append(
                Problem(
                    "LDAP_TLS",
                    "'none' sends users' passwords in clear text to the LDAP "
                    "server; it is only allowed for the dev directory on the private Docker "
                    "network. Use 'starttls' or 'ldaps'",
                )
            )

    if ("HUB_TLS_CERT" in v) != ("HUB_TLS_KEY" in v):
        missing = "HUB_TLS_KEY" if "HUB_TLS_CERT" in v else "HUB_TLS_CERT"
        if missing not in bad:
            problems.append(
                Problem(
                    missing,
                    "must be set together with "
                    f"{'HUB_TLS_CERT' if missing == 'HUB_TLS_KEY' else 'HUB_TLS_KEY'}",
                )
            )
    elif v.get("HUB_TLS_CERT") and v.get("HUB_TLS_KEY"):
        cert = x509.load_pem_x509_certificates(v["HUB_TLS_CERT"].encode())[0]
        key = _load_private_key(v["HUB_TLS_KEY"])
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(
            serialization.Encoding.DER, pub
        ) != key.public_key().public_bytes(serialization.Encoding.DER, pub):
            problems.append(
                Problem("HUB_TLS_KEY", "does not belong to the first certificate in HUB_TLS_CERT")
            )

    names = [v.get(k) for k in ("CLIENT_KEY", "CLIENT_CERT", "CLIENT_CA") if v.get(k)]
    if len(set(names)) != len(names):
        problems.append(
            Problem(
                "CLIENT_CA",
                "CLIENT_KEY, CLIENT_CERT and CLIENT_CA must be three different file names",
            )
        )

    timeout = v.get("IDLE_CULL_TIMEOUT")
    if timeout is not None and 0 < timeout < 300:
        problems.append(
            Problem(
                "IDLE_CULL_TIMEOUT",
                "must be 0 (culler off) or at least 300 "
                "seconds: JupyterHub records activity only every 5 minutes, so a "
                f"shorter timeout culls busy servers (got {timeout})",
            )
        )

    zos_only = (
        "ZOS_SSH_USER",
        "ZOS_SSH_PRIVATE_KEY",
        "ZOS_SSH_HOST_KEY",
        "ZOS_USERS",
        "ZOS_P12_PASSWORD",
        "ZOS_CERT_NOTAFTER",
        "ZOS_KG_CONFIG_DIR",
    )
    if v.get("ZOS_HOST") is None and "ZOS_HOST" not in bad:
        for key in zos_only:
            if v.get(key) not in (None, {}):
                problems.append(
                    Problem(key, "is only used with ZOS_HOST; set ZOS_HOST or unset this key")
                )
    elif v.get("ZOS_HOST") is not None:
        need("ZOS_SSH_USER", "with ZOS_HOST: the z/OS user ID the program logs in as")
        need("ZOS_SSH_PRIVATE_KEY", "with ZOS_HOST: that user's SSH private key (--secret)")
        need(
            "ZOS_SSH_HOST_KEY",
            "with ZOS_HOST: the z/OS SSH server's public host key, "
            "so the host is verified (ssh-keyscan it and check the fingerprint)",
        )
        kg_url = v.get("KG_URL")
        if kg_url is not None:
            parts = urlsplit(kg_url)
            if parts.scheme != "https":
                problems.append(
                    Problem(
                        "KG_URL",
                        "must be https:// with ZOS_HOST: the gateway on "
                        "z/OS is reached through AT-TLS or its own TLS",
                    )
                )
            elif parts.hostname == v["ZOS_HOST"] and (parts.port or 443) != v.get(
                "ZOS_KG_PORT", 8099
            ):
                problems.append(
                    Problem(
                        "KG_URL",
                        f"port {parts.port or 443} differs from "
                        f"ZOS_KG_PORT {v.get('ZOS_KG_PORT', 8099)}, the port the "
                        "gateway and its AT-TLS rule use",
                    )
                )
        ids = list(v.get("ZOS_USERS", {}).values())
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            problems.append(
                Problem(
                    "ZOS_USERS",
                    f"z/OS user IDs must be unique: {', '.join(dupes)} appears more than once",
                )
            )
    return problems


def default_pki_dir(stack: str, docker_host: str | None, project_dir: str | None) -> str:
    """Where users' client certificates go on the Docker host when HUB_PKI_DIR is unset.
    A local Docker engine: `<project>/.pki/<stack>` (git-ignored), which an operator who
    is the notebook user (uid 1000, the usual first Linux user) can write without root.
    A remote one: /var/lib/jupyterhub-zos/<stack>/pki."""
    local = docker_host is None or docker_host.startswith("unix://")
    if local and project_dir:
        candidate = f"{project_dir.rstrip('/')}/.pki/{stack}"
        try:
            return _abs_path(candidate)
        except ValueError:
            pass  # a project path with spaces or shell characters: use the system one
    return f"/var/lib/jupyterhub-zos/{stack}/pki"


def validate(
    raw: RawConfig, stack: str, docker_host: str | None = None, project_dir: str | None = None
) -> Settings:
    """All the rules, all the problems at once; Settings only if there are none."""
    values, problems = _validate_keys(raw)
    if docker_host is not None:
        try:
            _docker_host(docker_host)
            delivery_target(docker_host)  # the client certificates must reach its files
        except ValueError as exc:
            problems.append(Problem("docker:host", str(exc)))
    bad = {p.key for p in problems}
    if "HUB_ADMIN_USERS" not in raw.values:
        problems.append(
            Problem(
                "HUB_ADMIN_USERS",
                "is required: at least one admin user, e.g. "
                "pulumi config set --path 'HUB_ADMIN_USERS[0]' alice",
            )
        )
        bad.add("HUB_ADMIN_USERS")
    problems += _check_together(values, bad)
    if problems:
        raise SettingsError(stack, problems)
    return _settings(StackConfig(**values), raw, stack, docker_host, project_dir)


def _secret(value: str | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value)


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
            attls_policy_path=c.ZOS_ATTLS_POLICY_PATH,
            opercmd=c.ZOS_OPERCMD,
            kg_config_dir=c.ZOS_KG_CONFIG_DIR or f"/u/{c.ZOS_KG_USER.lower()}/.jupyter",
            cert_notafter=c.ZOS_CERT_NOTAFTER,
            users=dict(sorted(c.ZOS_USERS.items())),
            p12_password=_secret(c.ZOS_P12_PASSWORD),
            key_size=c.ZOS_KEY_SIZE,
        )
    return Settings(
        project=raw.namespace,
        stack=stack,
        docker_host=docker_host,
        ldap=LdapSettings(
            host=c.LDAP_SERVER_HOST,
            port=c.LDAP_SERVER_PORT or (636 if c.LDAP_TLS == "ldaps" else 389),
            bind_dn_template=c.LDAP_BIND_DN or DEV_DIRECTORY_BIND_DN,
            tls=c.LDAP_TLS,
            ca_cert_pem=c.LDAP_CA_CERT,
            allowed_groups=tuple(c.LDAP_ALLOWED_GROUPS),
        ),
        gateway=GatewaySettings(
            url=kg_url,
            auth_token=_secret(c.KG_AUTH_TOKEN),
            validate_cert=c.VALIDATE_KG_CERT,
            client_key=c.CLIENT_KEY,
            client_cert=c.CLIENT_CERT,
            client_ca=c.CLIENT_CA,
        ),
        hub=HubSettings(
            hostname=c.HUB_HOSTNAME,
            https_port=c.HUB_HTTPS_PORT,
            tls_cert_pem=c.HUB_TLS_CERT,
            tls_key_pem=_secret(c.HUB_TLS_KEY),
            admin_users=tuple(dict.fromkeys(c.HUB_ADMIN_USERS)),
            allowed_users=tuple(dict.fromkeys(c.HUB_ALLOWED_USERS)),
            notebook_image=c.DOCKER_NOTEBOOK_IMAGE,
            network_name=c.DOCKER_NETWORK_NAME,
            pki_dir=c.HUB_PKI_DIR or default_pki_dir(stack, docker_host, project_dir),
            mem_limit=c.NOTEBOOK_MEM_LIMIT,
            cpu_limit=c.NOTEBOOK_CPU_LIMIT,
            idle_cull_timeout=c.IDLE_CULL_TIMEOUT,
        ),
        zos=zos,
        warnings=warnings,
    )


# The dev directory's people live here (images/ldap renders the same base).
DEV_DIRECTORY_BASE_DN = "dc=jupyterhub,dc=local"
DEV_DIRECTORY_BIND_DN = f"uid={{username}},ou=people,{DEV_DIRECTORY_BASE_DN}"


def load_settings() -> Settings:
    """Read and validate the running stack's config; raise SettingsError if it is bad."""
    settings = validate(
        read_project_config(),
        pulumi.get_stack(),
        # As the Docker provider does: docker:host, else the DOCKER_HOST environment.
        docker_host=pulumi.Config("docker").get("host") or os.environ.get("DOCKER_HOST") or None,
        project_dir=os.getcwd(),  # the CLI runs the program in the project directory
    )
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
