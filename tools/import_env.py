"""Migrate a seed deployment (jupyterhub-deploy-docker fork) into a Pulumi stack.

    python -m tools.import_env --seed path/to/seed --stack prod [--dry-run]
    python -m tools.import_env --env .env [--userlist userlist] [--hub-cert crt --hub-key key]
        [--hostname host] --stack prod [--dry-run]

A seed folder holds `.env`, `userlist` and `secrets/jupyterhub.crt` / `.key` (the
runbook's names; `mykey.*` too). The certificate becomes HUB_TLS_CERT, its key the
secret HUB_TLS_KEY, the host name (--hostname, else the certificate's DNS name)
HUB_HOSTNAME, the userlist's admins HUB_ADMIN_USERS and its other users
HUB_ALLOWED_USERS. Arrays in the `.env`: a JSON array, or items separated by newlines or
`;` (and commas too for user names, never for DNs: a DN holds commas).

Per-user PKCS#12 files in `secrets/` (`<hub user>.p12`, the security administrator's
exports as in the seed's runbook; password from `secrets/<hub user>.p12.password`, else
`--p12-password-file` or `secrets/p12.password`) become the secret ZOS_USER_CERTS, and
ZOS_RACF_MODE=admin unless the `.env` says otherwise.

Everything is checked with the program's own rules, together, before anything is set: a
bad seed sets nothing. What will differ from the seed is printed, with why. Each key
becomes `pulumi config set`; secrets (and PEM text) go on stdin, never in argv, and
secrets are never printed. `make import-env` runs this through tools/pulumi.sh, so it
writes to the backend, passphrase and stack `make up` uses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509

from components.settings import (
    ARRAY_KEYS,
    CONFIG_KEYS,
    DN_LIST_KEYS,
    MAP_KEYS,
    PROJECT,
    SECRET_KEYS,
    find_problems,
)
from components.settings.source import RawConfig
from components.settings.values import HOSTNAME_RE, USERNAME_RE, env_list
from components.stack_file import holds_ciphertext

# Keys of the seed's (and upstream jupyterhub-deploy-docker's) .env that have no
# equivalent, with what replaced them.
OBSOLETE = {
    "JUPYTERHUB_VERSION": "the hub image pins JupyterHub in images/hub",
    "DOCKER_MACHINE_NAME": "set the Docker host with `pulumi config set docker:host ...`",
    "LOCAL_NOTEBOOK_IMAGE": "the notebook image is built from images/notebook",
    "DOCKER_NOTEBOOK_DIR": "notebooks live in /home/jovyan/work on the user's volume",
    "DOCKER_SPAWN_CMD": "the notebook image's own command starts the server",
    "DATA_VOLUME_HOST": "the hub data volume is jupyterhub-data, managed by the program",
    "DATA_VOLUME_CONTAINER": "the hub data volume is mounted at /data",
    "DB_VOLUME_HOST": "the hub uses sqlite on its data volume",
    "DB_VOLUME_CONTAINER": "the hub uses sqlite on its data volume",
    "POSTGRES_DB": "the hub uses sqlite on its data volume",
}

# The seed's runbook names the hub's files secrets/jupyterhub.{crt,key} ("the default is mykey").
HUB_FILE_STEMS = ("jupyterhub", "mykey")
KG_TOKEN_MIN = 16

_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<rest>.*)$")


class SeedError(ValueError):
    """A seed file that cannot be read as the seed wrote it; names the file and line."""


EnvFileError = SeedError  # the name earlier callers used


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _value(rest: str, where: str) -> str:
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = rest.find(quote, 1)
        while quote == '"' and end > 0 and rest[end - 1] == "\\":
            end = rest.find(quote, end + 1)
        if end < 0:
            raise SeedError(f"{where}: unterminated {quote} quote")
        tail = rest[end + 1 :].strip()
        if tail and not tail.startswith("#"):
            raise SeedError(f"{where}: unexpected text after the closing quote")
        inner = rest[1:end]
        return inner.replace('\\"', '"').replace("\\\\", "\\") if quote == '"' else inner
    # Unquoted: an inline comment starts at " #" (a # inside a value is kept).
    return re.split(r"\s+#", rest, maxsplit=1)[0].strip()


def parse_env(text: str, name: str = ".env") -> dict[str, str]:
    """KEY=VALUE lines; comments, blank lines, `export`, quotes and CRLF handled."""
    values: dict[str, str] = {}
    for number, line in enumerate(_lines(text), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise SeedError(f"{name} line {number}: expected KEY=VALUE, got {line.strip()!r}")
        values[match["key"]] = _value(match["rest"], f"{name} line {number}")
    return values


def parse_userlist(text: str, name: str = "userlist") -> tuple[list[str], list[str]]:
    """The seed's userlist: `name [admin]` per line -> (admins, other users). Names are
    lowercased as JupyterHub does at login; anything else on a line is refused, naming it."""
    admins: list[str] = []
    users: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(_lines(text), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        user, flags = fields[0].lower(), fields[1:]
        where = f"{name} line {number}"
        if flags not in ([], ["admin"]):
            problems.append(f"{where}: expected 'name' or 'name admin', got {line.strip()!r}")
        elif not re.fullmatch(USERNAME_RE, user):
            problems.append(
                f"{where}: {fields[0]!r} is not a user name JupyterHub can log in (1-64 of "
                "a-z 0-9 . _ - starting with a letter)"
            )
        elif user in admins or user in users:
            problems.append(f"{where}: {user} is listed twice")
        else:
            (admins if flags else users).append(user)
    if problems:
        raise SeedError("; ".join(problems))
    return admins, users


def lowercased(text: str) -> list[str]:
    """Userlist names that are not lowercase: JupyterHub logs them in lowercased."""
    names = [line.split("#", 1)[0].split()[:1] for line in _lines(text)]
    return [n[0] for n in names if n and n[0] != n[0].lower()]


@dataclass(frozen=True)
class Setting:
    key: str
    value: str | list[str] | dict[str, str]
    secret: bool
    source: str = ""  # where the value came from, for the report

    @property
    def on_stdin(self) -> bool:
        """Secrets (and multi-line PEM text) travel on stdin, never in argv."""
        return self.secret or (isinstance(self.value, str) and "\n" in self.value)

    def commands(self, stack: str) -> list[tuple[list[str], str | None]]:
        """(argv, stdin) pairs."""
        base = ["pulumi", "config", "set", "--stack", stack]
        if isinstance(self.value, dict) and self.secret:  # a secret map: each leaf on stdin
            secret_steps: list[tuple[list[str], str | None]] = [
                (["pulumi", "config", "rm", "--stack", stack, self.key], None)
            ]
            for name, entry in self.value.items():
                fields = entry.items() if isinstance(entry, dict) else [("", entry)]
                for field_name, text in fields:
                    path = f"{self.key}.{name}" + (f".{field_name}" if field_name else "")
                    secret_steps.append(([*base, "--secret", "--path", "--", path], str(text)))
            return secret_steps
        if isinstance(self.value, list | dict):
            steps: list[tuple[list[str], str | None]] = [
                (["pulumi", "config", "rm", "--stack", stack, self.key], None)
            ]
            items = enumerate(self.value) if isinstance(self.value, list) else self.value.items()
            for index, item in items:
                path = (
                    f"{self.key}[{index}]"
                    if isinstance(self.value, list)
                    else f"{self.key}.{index}"
                )
                steps.append(([*base, "--path", "--", path, item], None))
            return steps
        if self.on_stdin:
            return [([*base, *(["--secret"] if self.secret else []), self.key], self.value)]
        return [([*base, "--", self.key, self.value], None)]


@dataclass
class Plan:
    settings: list[Setting]
    unknown: dict[str, str]  # key -> why it is not imported
    problems: list[str]
    differences: list[str] = field(default_factory=list)  # what differs from the seed, and why


@dataclass(frozen=True)
class Seed:
    """The seed's files, each optional but the .env."""

    env: Path
    userlist: Path | None = None
    hub_cert: Path | None = None
    hub_key: Path | None = None
    hostname: str | None = None
    user_p12: tuple[Path, ...] = ()  # secrets/<hub user>.p12: the administrator's exports
    p12_password: Path | None = None  # the exports' password when no per-user file

    @classmethod
    def find(
        cls,
        folder: Path | None = None,
        env: Path | None = None,
        userlist: Path | None = None,
        hub_cert: Path | None = None,
        hub_key: Path | None = None,
        hostname: str | None = None,
        p12_password: Path | None = None,
    ) -> Seed:
        """The files of a seed folder; a file given on its own wins over the folder's."""
        user_p12: tuple[Path, ...] = ()
        if folder is not None:
            if not folder.is_dir():
                raise SeedError(f"{folder}: not a folder (expected .env, userlist, secrets/)")
            env = env or folder / ".env"
            if userlist is None and (folder / "userlist").is_file():
                userlist = folder / "userlist"
            for stem in HUB_FILE_STEMS:
                crt, key = folder / "secrets" / f"{stem}.crt", folder / "secrets" / f"{stem}.key"
                if hub_cert is None and hub_key is None and crt.is_file() and key.is_file():
                    hub_cert, hub_key = crt, key
                    break
            user_p12 = tuple(sorted((folder / "secrets").glob("*.p12")))
            if p12_password is None and (folder / "secrets" / "p12.password").is_file():
                p12_password = folder / "secrets" / "p12.password"
        if env is None:
            raise SeedError("give the seed folder (--seed) or its .env (--env)")
        if (hub_cert is None) != (hub_key is None):
            raise SeedError(
                "give the hub's certificate and its key together (--hub-cert, --hub-key)"
            )
        return cls(env, userlist, hub_cert, hub_key, hostname, user_p12, p12_password)

    def user_certs(self) -> dict[str, dict[str, str]]:
        """ZOS_USER_CERTS from the per-user PKCS#12 files: {user: {p12 (base64), password}}."""
        import base64

        certs = {}
        for path in self.user_p12:
            own = path.with_name(path.name + ".password")
            source = own if own.is_file() else self.p12_password
            if source is None:
                raise SeedError(
                    f"{path}: no password: put it in {own.name} or secrets/p12.password, or "
                    "give --p12-password-file"
                )
            password = _read(source).splitlines()[0] if _read(source).strip() else ""
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SeedError(f"{path}: {exc.strerror or exc}") from None
            certs[path.stem] = {"p12": base64.b64encode(data).decode(), "password": password}
        return certs


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise SeedError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SeedError(f"{path}: not a text file (PEM expected)") from None


def cert_hostname(pem: str) -> str | None:
    """The host a server certificate is for: its first DNS name that is no wildcard,
    else its common name if that is a host name."""
    try:
        cert = x509.load_pem_x509_certificates(pem.encode())[0]
    except ValueError:
        return None
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for name in sans.get_values_for_type(x509.DNSName):
            if not name.startswith("*"):
                return name
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    return cn if re.fullmatch(HOSTNAME_RE, cn) and "." in cn else None


def _array(key: str, raw: str) -> list[str]:
    return env_list(raw, dns=key in DN_LIST_KEYS)


def plan(
    env: dict[str, str],
    userlist: tuple[list[str], list[str]] | None = None,
    hub_cert: str | None = None,
    hub_key: str | None = None,
    hostname: str | None = None,
    stack: str = "prod",
    existing: dict[str, str] | None = None,
    existing_secret: frozenset[str] = frozenset(),
    user_certs: dict[str, dict[str, str]] | None = None,
) -> Plan:
    """What to set, what is not imported, what is wrong, and what will differ.
    `existing`: the stack's plain config already set (key -> CLI string); the rules see
    it under the seed's values, as `pulumi up` will after the import. `existing_secret`:
    keys the stack holds encrypted; they cannot be read here, so a rule about one the
    seed does not set is left to `make preview`."""
    unknown: dict[str, str] = {}
    problems: list[str] = []
    differences: list[str] = []
    values: dict[str, str | list[str] | dict[str, str]] = {}
    sources: dict[str, str] = {}
    for key, raw in env.items():
        if key not in CONFIG_KEYS:
            unknown[key] = OBSOLETE.get(key, f"not a config key of {PROJECT}")
            continue
        if raw.strip() == "":
            continue  # empty means unset, as in the seed's .env
        if key in ARRAY_KEYS:
            try:
                values[key] = _array(key, raw)
            except (ValueError, json.JSONDecodeError) as exc:
                problems.append(f"{key}: {exc}")
                continue
        elif key in MAP_KEYS:
            try:
                values[key] = json.loads(raw)
            except json.JSONDecodeError:
                problems.append(f'{key}: must be a JSON object such as {{"alice": "ALICE01"}}')
                continue
        else:
            values[key] = raw
        sources[key] = ".env"
    if userlist is not None:
        admins, users = userlist
        for key, names in (("HUB_ADMIN_USERS", admins), ("HUB_ALLOWED_USERS", users)):
            if key in values and values[key] != names:
                differences.append(
                    f"{key}: the userlist's {names} replaces the .env's {values[key]} "
                    "(the seed's hub read the userlist)"
                )
            if names:
                values[key], sources[key] = names, "userlist"
        differences.append(
            "users the seed's admins added in the admin console live in the seed hub's "
            "database, not in the userlist: add each to HUB_ALLOWED_USERS "
            "(pulumi config set --path 'HUB_ALLOWED_USERS[<next index>]' <name>)"
        )
    if hub_cert is not None:
        values["HUB_TLS_CERT"], sources["HUB_TLS_CERT"] = hub_cert, "secrets/ certificate"
        values["HUB_TLS_KEY"], sources["HUB_TLS_KEY"] = hub_key or "", "secrets/ key"
    if user_certs:
        values["ZOS_USER_CERTS"], sources["ZOS_USER_CERTS"] = user_certs, "secrets/*.p12"
        if "ZOS_RACF_MODE" not in values:
            values["ZOS_RACF_MODE"], sources["ZOS_RACF_MODE"] = "admin", "secrets/*.p12"
            differences.append(
                "ZOS_RACF_MODE: admin, as the seed's secrets/*.p12 are the security "
                "administrator's exports: the program runs no RACF command and delivers "
                "those (make zos-admin-script gives the administrator the RACF and AT-TLS "
                "steps it no longer runs)"
            )
    if hostname:
        values["HUB_HOSTNAME"], sources["HUB_HOSTNAME"] = hostname, "--hostname"
    elif "HUB_HOSTNAME" not in values and hub_cert and cert_hostname(hub_cert):
        values["HUB_HOSTNAME"] = cert_hostname(hub_cert) or ""
        sources["HUB_HOSTNAME"] = "the hub certificate's DNS name"

    differences += _differences(values, env, hub_cert is not None)
    token = values.get("KG_AUTH_TOKEN")
    if isinstance(token, str) and len(token) < KG_TOKEN_MIN:
        del values["KG_AUTH_TOKEN"]  # reported below, not a problem: the program makes one

    # Each key on its own, then every cross-key rule, exactly as `pulumi up` would run them.
    cli = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    cli = {**(existing or {}), **cli}
    raw = RawConfig(PROJECT, cli, frozenset(SECRET_KEYS & cli.keys()))
    _, found = find_problems(raw, stack)
    unread = existing_secret - values.keys()
    problems += [f"{p.key}: {p.message}" for p in found if p.key not in unread]
    settings = [
        Setting(key, value, key in SECRET_KEYS, sources.get(key, ""))
        for key, value in sorted(values.items())
    ]
    return Plan(settings, unknown, problems, differences)


def _differences(values: dict, env: dict[str, str], has_cert: bool) -> list[str]:
    """What the stack will do that the seed did not, and why."""
    found: list[str] = []
    if values.get("LDAP_SERVER_HOST") and "LDAP_TLS" not in values:
        if str(values.get("LDAP_SERVER_PORT", "")).strip() == "636":
            values["LDAP_TLS"] = "ldaps"  # what the seed's port meant
            found.append(
                "LDAP_TLS: set to ldaps, as LDAP_SERVER_PORT is 636 (the LDAPS port); the "
                "seed's hub connected without TLS"
            )
        else:
            found.append(
                "LDAP_TLS: starttls (the default): the seed's hub sent users' passwords to the "
                "LDAP server in clear text; now the connection is upgraded to TLS first. The "
                "server must offer StartTLS with a certificate the hub trusts (LDAP_CA_CERT, else "
                "the system CAs), or set LDAP_TLS=ldaps with port 636"
            )
    token = values.get("KG_AUTH_TOKEN")
    if isinstance(token, str) and len(token) < KG_TOKEN_MIN:
        found.append(
            f"KG_AUTH_TOKEN: the seed's token is {len(token)} characters, at least "
            f"{KG_TOKEN_MIN} are needed (a guessable token opens kernels): not imported. The "
            "program makes a random one; configure the gateway at KG_URL with it, or set your "
            "own: openssl rand -hex 32 | pulumi config set --secret KG_AUTH_TOKEN"
        )
    image = values.get("DOCKER_NOTEBOOK_IMAGE")
    if image:
        found.append(
            f"DOCKER_NOTEBOOK_IMAGE: {image} is checked on the Docker host before the hub uses "
            "it: it needs a jupyter_server with the gateway client (2.x) and a "
            "jupyterhub-singleuser of the hub's JupyterHub major version. Seed-era images "
            "(jupyter/*-notebook before 2023) have neither, and `make up` refuses them: unset "
            "the key to use images/notebook, or pick a current quay.io/jupyter image"
        )
    if not has_cert:
        found.append(
            "HUB_TLS_CERT/HUB_TLS_KEY: no hub certificate in the seed's secrets/: the program "
            "makes one from its own CA for HUB_HOSTNAME "
            f"({values.get('HUB_HOSTNAME', 'localhost')}); users' browsers must trust that CA "
            "(the hub_ca_cert stack output)"
        )
    if values.get("KG_URL") and not values.get("ZOS_HOST"):
        found.append(
            "KG_URL: the seed's per-user client certificates (docker cp into /etc/jupyterpki) are "
            "replaced by certificates the hub issues at spawn; the gateway at KG_URL must trust "
            "their CA (the gateway_client_ca_cert stack output) as its client_ca and serve "
            "the gateway_server_cert/gateway_server_key outputs"
        )
    for key in ("CLIENT_KEY", "CLIENT_CERT", "CLIENT_CA"):
        if key in env:
            found.append(
                f"{key}: kept as the file name in /etc/jupyterpki; the file itself is now "
                "written by the program, not copied in"
            )
            break
    return found


def existing_config(stack: str, root: Path | None = None) -> tuple[dict[str, str], frozenset[str]]:
    """(the plain values Pulumi.<stack>.yaml already holds, the keys it holds encrypted).
    Encrypted values cannot be read here; a secret key the seed does not set keeps its value."""
    path = (root or Path.cwd()) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return {}, frozenset()
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    prefix = f"{PROJECT}:"
    ours = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
    encrypted = frozenset(k for k, v in ours.items() if holds_ciphertext(v))
    plain = {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in ours.items() if k not in encrypted
    }
    return plain, encrypted


def _show(argv: list[str], setting: Setting) -> str:
    if setting.secret:
        return " ".join(argv) + " < (secret value on stdin: ********)"
    if setting.on_stdin:
        return " ".join(argv) + f" < ({setting.source or 'PEM text'} on stdin)"
    return " ".join(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=Path, help="the seed folder (.env, userlist, secrets/)")
    parser.add_argument("--env", type=Path, help="the seed's .env file")
    parser.add_argument("--userlist", type=Path, help="the seed's userlist file")
    parser.add_argument("--hub-cert", type=Path, help="the hub's certificate (chain), PEM")
    parser.add_argument("--hub-key", type=Path, help="the hub's private key, PEM")
    parser.add_argument("--hostname", help="HUB_HOSTNAME (default: the certificate's DNS name)")
    parser.add_argument(
        "--p12-password-file", type=Path, help="the password of secrets/*.p12 (one line)"
    )
    parser.add_argument("--stack", required=True, help="stack to set the config of")
    parser.add_argument("--dry-run", action="store_true", help="print everything, set nothing")
    args = parser.parse_args(argv)

    try:
        seed = Seed.find(
            args.seed,
            args.env,
            args.userlist,
            args.hub_cert,
            args.hub_key,
            args.hostname,
            args.p12_password_file,
        )
        user_certs = seed.user_certs()
        env = parse_env(_read(seed.env), seed.env.name)
        users = parse_userlist(_read(seed.userlist), seed.userlist.name) if seed.userlist else None
        cert = _read(seed.hub_cert) if seed.hub_cert else None
        key = _read(seed.hub_key) if seed.hub_key else None
    except SeedError as exc:
        print(f"import-env: {exc}", file=sys.stderr)
        return 2
    if seed.hostname and not re.fullmatch(HOSTNAME_RE, seed.hostname):
        print(f"import-env: --hostname {seed.hostname!r} is not a host name", file=sys.stderr)
        return 2
    plain, encrypted = existing_config(args.stack)
    result = plan(
        env, users, cert, key, seed.hostname, args.stack, plain, encrypted, user_certs or None
    )
    if seed.userlist:
        result.differences += [
            f"userlist: {name} becomes {name.lower()} (JupyterHub lowercases names at login)"
            for name in lowercased(_read(seed.userlist))
        ]
    for name, why in sorted(result.unknown.items()):
        print(f"not imported: {name}: {why}", file=sys.stderr)
    if result.problems:
        print("import-env: nothing was set; fix these first:", file=sys.stderr)
        for problem in result.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    if not args.dry_run:
        backend = os.environ.get("PULUMI_BACKEND_URL") or "the Pulumi CLI's current backend"
        print(f"Setting stack {args.stack} in {backend}.")
    print("What will differ from the seed, and why:")
    for line in result.differences:
        print(f"  - {line}")
    for setting in result.settings:
        for command, stdin in setting.commands(args.stack):
            print(("would run: " if args.dry_run else "running: ") + _show(command, setting))
            if args.dry_run:
                continue
            done = subprocess.run(command, input=stdin, text=True, capture_output=True)
            if done.returncode != 0 and command[2] != "rm":
                # The CLI's message, never the value (it may be a secret).
                print(
                    f"import-env: setting {setting.key} failed: {done.stderr.strip()}",
                    file=sys.stderr,
                )
                return 1
    print(
        f"{len(result.settings)} key(s) {'would be ' if args.dry_run else ''}set on stack "
        f"{args.stack}; {len(result.unknown)} not imported."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
