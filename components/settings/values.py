"""Value types of the config contract: each a pydantic-annotated type with the check
and the message a user can act on. Pure: no Pulumi, no other key."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import string
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field


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
    if parts.scheme != "https":
        # The gateway token and every user's code and output cross this connection, and
        # without TLS the gateway cannot tell users apart (it binds kernels to the client
        # certificate). Behind AT-TLS too the URL is https: AT-TLS is the TLS.
        raise ValueError(
            "must start with https:// (the gateway token and users' code and output cross "
            "it; http is refused)"
        )
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


NO_LIMIT = "none"  # the word that turns a notebook limit off on purpose


# Docker refuses a memory limit under 6 MB and a CPU quota under 1000 us per 100000 us
# period (DockerSpawner's cpu_limit * 100000): the spawn would fail, not `pulumi up`.
_MEM_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_DOCKER_MIN_MEMORY = 6 << 20
_DOCKER_MIN_CPUS = 0.01


def _mem_limit(value: str) -> str:
    if value.strip().lower() == NO_LIMIT:
        return NO_LIMIT
    # A bare number is bytes (DockerSpawner's reading): 2048 would be 2 KB.
    match = re.fullmatch(r"([0-9]+)([KMGT]?)", value.strip().upper())
    if not match or int(match[1]) * _MEM_UNITS.get(match[2], 1) < _DOCKER_MIN_MEMORY:
        raise ValueError(
            "must be a size of at least 6M (Docker's least), such as 512M or 2G (units K, M, "
            "G, T; a bare number is bytes), or none for no limit"
        )
    return match[1] + match[2]


def _cpu_limit(value: str) -> str:
    if value.strip().lower() == NO_LIMIT:
        return NO_LIMIT
    message = (
        "must be a number of CPUs of at least 0.01 (Docker's least) such as 1.5, or none for "
        "no limit"
    )
    try:
        number = float(value)
    except ValueError:
        raise ValueError(message) from None
    if not number >= _DOCKER_MIN_CPUS or number == float("inf"):  # NaN fails >= too
        raise ValueError(message)
    return value.strip()


# cryptography is imported where a PEM or SSH key is checked: most stacks set none, and
# loading it costs the program more than all its other settings work (docs/benchmarks.md).


def _pem_certs(value: str) -> str:
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(value.encode())
    except ValueError:
        raise ValueError("must be PEM certificate text (-----BEGIN CERTIFICATE-----)") from None
    if not certs:
        raise ValueError("must hold at least one PEM certificate")
    return value


def load_private_key(value: str):
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

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
    load_private_key(value)
    return value


def _ssh_host_key(value: str) -> str:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

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


def abs_path(value: str) -> str:
    if not value.startswith("/") or ".." in value.split("/") or not value.isprintable():
        raise ValueError("must be an absolute path without '..'")
    if re.search(r"[\s'\"`$\\;&|<>]", value):
        raise ValueError("must not contain spaces, quotes or shell characters")
    return value.rstrip("/") or "/"


# The hub makes <dir>/<user> for every user who spawns, owned by uid 1000 and 0700: in a
# system directory itself that would take over what is there (/home/<user>, /etc/<user>,
# /var/lib/docker/volumes, ...). A directory of one's own below most of them is fine.
_SYSTEM_DIRS = frozenset(
    {"/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/lib/docker", "/usr/local"}
    | {"/usr/lib", "/usr/share", "/usr/bin", "/opt/local", "/etc/ssl", "/etc/docker"}
)
_SYSTEM_DIRS |= {"/var/tmp"}  # noqa: S108 - refused as a place, not used as one
_KERNEL_TREES = ("/proc", "/sys", "/dev", "/run")  # not the host's disk at all


def _pki_dir(value: str) -> str:
    path = abs_path(value)
    path = "/" + os.path.normpath(path).lstrip("/")  # //etc/x, /./etc and /var//lib too
    top_level = path.count("/") < 2
    in_kernel = any(path == t or path.startswith(t + "/") for t in _KERNEL_TREES)
    if top_level or in_kernel or path in _SYSTEM_DIRS:
        raise ValueError(
            "must be a directory of its own such as /srv/jupyterhub-zos/pki, not / , a "
            "top-level or a system directory, nor under /proc, /sys, /dev or /run (the hub "
            "makes <dir>/<user> for each user, owned by uid 1000 and 0700)"
        )
    return path


def docker_host_url(value: str) -> str:
    if not re.match(r"(unix|tcp|ssh|npipe)://", value):
        raise ValueError("must be unix://..., tcp://host:port or ssh://user@host")
    return value


def json_list(item):
    return Annotated[list[item], BeforeValidator(_parse_json(list, '["alice", "bob"]'))]


Bool = Annotated[bool, BeforeValidator(_parse_bool)]


# The types StackConfig declares with (one per kind of value, named for what it holds).
NetworkName = Annotated[
    str,
    AfterValidator(_check(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}", "must be a Docker network name")),
]
LdapPort = Annotated[int, Field(ge=0, le=65535)]  # 0: by LDAP_TLS
BindDn = Annotated[str, AfterValidator(_bind_dn)]
PemCerts = Annotated[str, AfterValidator(_pem_certs)]
PrivateKeyPem = Annotated[str, AfterValidator(_private_key)]
GatewayToken = Annotated[str, AfterValidator(_secret_text(16, "a guessable token opens kernels"))]
P12Password = Annotated[str, AfterValidator(_secret_text(12, "it protects exported keys"))]
AbsPath = Annotated[str, AfterValidator(abs_path)]
PkiDir = Annotated[str, AfterValidator(_pki_dir)]
MemLimit = Annotated[str, AfterValidator(_mem_limit)]
CpuLimit = Annotated[str, AfterValidator(_cpu_limit)]
PidsLimit = Annotated[int, Field(ge=0, le=4_194_304)]  # 0: no limit; the kernel's pid_max cap
Seconds = Annotated[int, Field(ge=0)]
PositiveSeconds = Annotated[int, Field(ge=1)]
Concurrency = Annotated[int, Field(ge=1, le=100)]
Count = Annotated[int, Field(ge=0)]
# Named servers per user (HUB_NAMED_SERVERS): each is a container and a volume.
NamedServers = Annotated[int, Field(ge=0, le=100)]
# Docker's json-file log driver: max-size is a number with k, m or g; max-file a count.
LogSize = Annotated[
    str,
    AfterValidator(
        _check(r"[1-9][0-9]*[kmg]", "must be a size such as 10m: a number and k, m or g")
    ),
]
LogFiles = Annotated[int, Field(ge=1, le=100)]
RetentionDays = Annotated[int, Field(ge=0, le=3650)]
SshHostKey = Annotated[str, AfterValidator(_ssh_host_key)]
RingName = Annotated[str, AfterValidator(_ring_name)]
RacfLabel = Annotated[str, AfterValidator(_racf_label)]
CommandName = Annotated[
    str,
    AfterValidator(_check(r"[A-Za-z0-9_./-]+", "must be a command name or path, e.g. opercmd")),
]


def _iso_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None
    return value


# Any date, past ones too: ZOS_CERT_NOTAFTER is deprecated and only warned about, so a
# date that has passed never makes the stack stop validating.
IsoDate = Annotated[str, AfterValidator(_iso_date)]
# RACF certificates' validity (days): a week at least, at most the CA/Browser Forum's
# 398 days (the policy pack's maxValidityHours); the renewal window: 1 to 180 days, and
# shorter than the validity (rules/zos.py).
CertValidityDays = Annotated[int, Field(ge=7, le=398)]
CertRenewDays = Annotated[int, Field(ge=1, le=180)]
ZosUserMap = Annotated[
    dict[UserName, ZosId], BeforeValidator(_parse_json(dict, '{"alice": "ALICE01"}'))
]
RsaKeySize = Annotated[int, Field(ge=2048, le=4096)]

# One exported certificate per hub user: a PKCS#12 ({"p12": base64, "password": ...}) or
# PEM texts ({"cert", "key", "ca"}); "cn" optionally names the subject's common name.
USER_CERT_FIELDS = {"p12": ("p12", "password"), "pem": ("cert", "key", "ca")}
USER_CERT_OPTIONAL = ("cn",)


def _user_cert_entry(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(
            'each entry is a JSON object of strings, e.g. {"p12": ..., "password": ...}'
        )
    keys = set(value) - set(USER_CERT_OPTIONAL)
    if keys not in ({*fields} for fields in USER_CERT_FIELDS.values()):
        raise ValueError(
            "each entry holds either p12 (base64) and password, or cert, key and ca (PEM), "
            f"and optionally cn; not {sorted(value)}"
        )
    return value


ZosUserCertMap = Annotated[
    dict[UserName, Annotated[dict[str, str], BeforeValidator(_user_cert_entry)]],
    BeforeValidator(_parse_json(dict, '{"alice": {"p12": "MIIK...", "password": "..."}}')),
]


def _server_tls_entry(value: Any) -> dict[str, str]:
    """ZOS_KG_SERVER_TLS: unset ({}), or one entry as a ZOS_USER_CERTS entry holds (no cn:
    the gateway's certificate must name the gateway's host)."""
    if value == {}:
        return {}
    if isinstance(value, dict) and "cn" in value:
        raise ValueError("holds p12 and password, or cert, key and ca; no cn (the host is checked)")
    return _user_cert_entry(value)


# The gateway's own certificate and key (ZOS_RACF_MODE=admin with ZOS_ATTLS=false), as the
# security administrator exported it: {"p12", "password"} or {"cert", "key", "ca"}.
ZosServerTls = Annotated[
    dict[str, str],
    BeforeValidator(_server_tls_entry),
    BeforeValidator(_parse_json(dict, '{"p12": "MIIK...", "password": "..."}')),
]


# --- Search-then-bind LDAP -------------------------------------------------------------------

LdapAttribute = Annotated[
    str,
    AfterValidator(
        _check(
            r"[A-Za-z][A-Za-z0-9-]{0,63}|[0-9]+(\.[0-9]+)+",
            "must be an LDAP attribute name such as uid or sAMAccountName",
        )
    ),
]


# An item is attr[;options][:dn][:rule]:=value, or attr op value (op = ~= >= <=);
# values may not hold unescaped parentheses (RFC 4515 escapes them as \\28 and \\29).
_FILTER_ITEM = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9.;-]*(:dn)?(:[A-Za-z0-9.]+)?:?(=|~=|>=|<=)[^()]*"
    r"|(:dn)?:[A-Za-z0-9.]+:=[^()]*"
)


def _is_ldap_filter(text: str) -> bool:
    """The shape of an RFC 4515 filter: (item), (&f f...), (|f f...), (!f)."""

    def parse(i: int) -> int:  # index after the filter starting at i, or -1
        if i >= len(text) or text[i] != "(":
            return -1
        i += 1
        if i < len(text) and text[i] in "&|!":
            op, i, count = text[i], i + 1, 0
            while i < len(text) and text[i] == "(":
                i = parse(i)
                if i < 0:
                    return -1
                count += 1
            if count == 0 or (op == "!" and count != 1):
                return -1
        else:
            end = text.find(")", i)
            if end < 0 or not _FILTER_ITEM.fullmatch(text[i:end]):
                return -1
            i = end
        return i + 1 if i < len(text) and text[i] == ")" else -1

    return parse(0) == len(text)


def _ldap_filter_template(fields: tuple[str, ...], needs_one_of: tuple[str, ...], example: str):
    """An LDAP search filter (RFC 4515) with LDAPAuthenticator's {placeholders}: only
    `fields`, at least one of `needs_one_of`, and a filter ldap3 parses once they are
    filled in (the authenticator fills them in escaped)."""

    def check(value: str) -> str:
        allowed = ", ".join("{" + f + "}" for f in fields)
        try:
            parsed = list(string.Formatter().parse(value))
        except ValueError:
            raise ValueError(
                f"has an unbalanced {{ or }}; the placeholders are {allowed}"
            ) from None
        used = {name for _, name, spec, conv in parsed if name is not None}
        if any(spec or conv for _, name, spec, conv in parsed if name is not None):
            raise ValueError(f"placeholders take no format spec; use {allowed}")
        unknown = sorted(used - set(fields))
        if unknown:
            raise ValueError(
                f"has unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                f"the placeholders are {allowed}"
            )
        if not used & set(needs_one_of):
            need = " or ".join("{" + f + "}" for f in needs_one_of)
            raise ValueError(f"must contain {need}, e.g. {example}")
        if not _is_ldap_filter(value.format(**{f: "x" for f in fields})):
            raise ValueError(f"is not an LDAP search filter (RFC 4515), e.g. {example}")
        return value

    return check


UserSearchFilter = Annotated[
    str,
    AfterValidator(
        _ldap_filter_template(
            ("login_attr", "login"),
            ("login",),
            "(&(objectClass=person)({login_attr}={login}))",
        )
    ),
]
GroupSearchFilter = Annotated[
    str,
    AfterValidator(
        _ldap_filter_template(
            ("userdn", "uid"),
            ("userdn", "uid"),
            "(member:1.2.840.113556.1.4.1941:={userdn})",
        )
    ),
]


def _ldap_password(value: str) -> str:
    if not value or "\n" in value or "\r" in value or "\0" in value:
        raise ValueError("must be one non-empty line (the search account's password)")
    return value


LdapPassword = Annotated[str, AfterValidator(_ldap_password)]


def env_list(text: str, dns: bool) -> list[str]:
    """An array as a seed's `.env` writes it: a JSON array (`["a", "b"]`), else items
    separated by newlines or `;`, and, for lists of names (not of DNs), also by commas.
    A DN holds commas (cn=jupyter,ou=groups,dc=example,dc=org is one DN), so in a DN list
    a comma never separates items."""
    text = text.strip()
    if text.startswith("["):
        items = json.loads(text)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError('must be a JSON array of strings such as ["a", "b"]')
    else:
        items = re.split(r"[;\n]" if dns else r"[;\n,]", text)
    return [item.strip() for item in items if item.strip()]


# A client certificate's validity: at least an hour, at most 30 days.
CertHours = Annotated[int, Field(ge=1, le=720)]
