"""Credentials: no secret in plain text anywhere a resource's inputs put it.

A container's environment and arguments, command text and a command's environment,
image build args (baked into the image's history), and any non-secret input holding a
private key. "Secret" means the input arrived as a secret Output (see policies/sdk.py);
names (KG_AUTH_TOKEN, ...) and shapes (PEM keys, `pass:`, PASSWORD()) say what must be one.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import (
    COMMAND_TEXT_FIELDS,
    COMMANDS,
    CONTAINER,
    IMAGE,
    config,
    elements,
    env_entries,
    get,
    items,
    walk_strings,
)
from .rule import MANDATORY, Rule
from .sdk import is_secret

PEM_KEY_RE = re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")
SECRET_WORDS_DEFAULT = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIALS"]
# NAME=value in command lines and scripts, where NAME names a secret: the value is a literal
# unless it starts (after a quote) with $ (a variable, read from stdin or a file).
ASSIGNMENT_RE = re.compile(r"(?P<name>[A-Za-z_][\w.-]*)=(?P<q>['\"]?)(?P<value>(?!\$)[^\s'\"]+)")
OPENSSL_PASS_RE = re.compile(r"-pass(?:in|out)?\s+pass:(?P<q>['\"]?)(?P<value>(?!\$)[^\s'\"]+)")
RACF_PASSWORD_RE = re.compile(r"\bPASSWORD\(\s*'?(?P<value>[^)'$]+)'?\s*\)", re.IGNORECASE)
SSHPASS_RE = re.compile(r"\bsshpass\s+-p\s*(?P<value>[^\s$]\S*)")
# A literal credential in an HTTP header (curl -H, wget --header): token, bearer, basic.
AUTH_HEADER_RE = re.compile(
    r"\bAuthorization\s*:\s*(token|bearer|basic)\s+(?![\s'\"$])\S+", re.IGNORECASE
)
# curl -u user:password / --user user:password (the password part a literal).
CURL_USER_RE = re.compile(
    r"\bcurl\b[^\n;|&]*\s(?:-u\s*|--user[=\s]\s*)['\"]?[^\s:'\"$]*:(?![$'\"\s])"
)
# OpenLDAP tools' simple-bind password: -w secret (-W prompts, -y reads a file).
LDAP_BIND_PASSWORD_RE = re.compile(
    r"\bldap(?:search|add|modify|delete|passwd|whoami|compare|modrdn|exop|url)\b"
    r"[^\n;|&]*?\s-w\s*(?P<q>['\"]?)(?![$\s'\"])\S"
)
# NAME = 'value' / NAME: "value" in a config file (an upload), the value a quoted literal.
CONFIG_ASSIGNMENT_RE = re.compile(
    r"(?P<name>[A-Za-z_][\w.-]*)['\"]?\s*[:=]\s*(?P<q>['\"])(?P<value>(?![$%{])[^'\"\n]+)(?P=q)"
)

SECRETS_DEFAULTS = {
    "secretWords": SECRET_WORDS_DEFAULT,
    "plainAllowed": [],
}
SECRETS_DESCRIPTIONS = {
    "secretWords": "Words (between underscores) that mark a variable or option as a "
    "secret, e.g. TOKEN matches KG_AUTH_TOKEN.",
    "plainAllowed": "Variable names that may hold a plain value although they look secret.",
}
NOT_A_SECRET_SUFFIXES = ("FILE", "PATH", "DIR", "NAME", "ENV", "TYPE", "LENGTH")


def secret_name(name: str, cfg: Mapping[str, Any]) -> bool:
    """KG_AUTH_TOKEN yes; KG_AUTH_TOKEN_FILE, CLIENT_KEY, SSL_KEY no (they hold paths)."""
    if name in cfg["plainAllowed"]:
        return False
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if not words or words[-1] in NOT_A_SECRET_SUFFIXES:
        return False
    wanted = {w.upper() for w in cfg["secretWords"]}
    joined = "_".join(words)
    keys = ("PRIVATE_KEY", "API_KEY", "CRYPT_KEY", "SECRET_KEY", "SIGNING_KEY")
    return bool(wanted & set(words)) or any(key in joined for key in keys)


def file_secrets(path: str, content: str, cfg: Mapping[str, Any]) -> Iterator[str]:
    """What a file's plain text gives away: secret-looking literals in it, or the file
    is a secret by its name (a token, password or key file) and the text is its value."""
    yield from literal_secrets(content, cfg)
    for match in CONFIG_ASSIGNMENT_RE.finditer(content):
        if secret_name(match["name"], cfg):
            yield f"a literal value for {match['name']}"
    stem = re.sub(r"\.(txt|conf|cfg|env|secret)$", "", path.rsplit("/", 1)[-1], flags=re.I)
    if content.strip() and (secret_name(stem, cfg) or stem.upper() in {"KEY", "TOKEN"}):
        yield f"the value of {path} (a secret by its name)"


def literal_secrets(script: str, cfg: Mapping[str, Any]) -> Iterator[str]:
    """Descriptions of secret-looking literals in a script or command line."""
    if PEM_KEY_RE.search(script):
        yield "a PEM private key"
    for match in ASSIGNMENT_RE.finditer(script):
        if secret_name(match["name"], cfg):
            yield f"a literal value for {match['name']}"
    if OPENSSL_PASS_RE.search(script):
        yield "an openssl `pass:` password"
    if RACF_PASSWORD_RE.search(script):
        yield "a literal RACF PASSWORD()"
    if SSHPASS_RE.search(script):
        yield "an sshpass -p password"
    if AUTH_HEADER_RE.search(script):
        yield "a literal Authorization header"
    if CURL_USER_RE.search(script):
        yield "a curl -u user:password"
    if LDAP_BIND_PASSWORD_RE.search(script):
        yield "an LDAP bind password (-w)"


def _pem_in(value: str) -> bool:
    if PEM_KEY_RE.search(value):
        return True
    compact = value.strip()
    if len(compact) >= 64 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", compact):
        try:
            decoded = base64.b64decode(compact, validate=False).decode("utf-8", "ignore")
        except (binascii.Error, ValueError):
            return False
        return bool(PEM_KEY_RE.search(decoded))
    return False


def validate_no_plain_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, SECRETS_DEFAULTS)
    props = args.props
    kind = args.resource_type
    if kind == CONTAINER:
        for name, value in env_entries(props):
            if value and not is_secret(value) and secret_name(name, cfg):
                report(
                    f"container {args.name!r}: env {name} holds a plain value, which would be "
                    "stored unencrypted in the state and shown in diffs. Pass it from a "
                    "secret (config --secret or pulumi-random) so the input stays secret."
                )
        for field in ("command", "entrypoints", "healthcheck.tests"):
            for arg in elements(get(props, *field.split("."))):
                if isinstance(arg, str):
                    for what in set(literal_secrets(arg, cfg)):
                        report(
                            f"container {args.name!r}: `{field}` carries {what}; arguments are "
                            "visible in `docker inspect` and ps. Read it from the "
                            "environment or a file instead."
                        )
        # Files put into the container: their text is an input like any other.
        for upload in elements(get(props, "uploads")):
            path = get(upload, "file")
            path = path if isinstance(path, str) else "(a file)"
            for field in ("content", "contentBase64"):
                value = get(upload, field)
                if not isinstance(value, str) or not value or is_secret(value):
                    continue
                if field == "contentBase64":
                    try:
                        value = base64.b64decode(value).decode("utf-8")
                    except (binascii.Error, UnicodeDecodeError, ValueError):
                        continue
                # A PEM key anywhere is reported once, by the check for every input below.
                for what in sorted(set(file_secrets(path, value, cfg)) - {"a PEM private key"}):
                    report(
                        f"container {args.name!r}: the upload {path} holds {what} in plain "
                        "text (stored unencrypted in the state, shown in diffs). Build the "
                        "content from a secret Output so the input stays secret."
                    )
    if kind in COMMANDS:
        for field in COMMAND_TEXT_FIELDS:
            script = get(props, field)
            if not isinstance(script, str):
                continue
            if is_secret(script):
                report(
                    f"{args.name!r}: the `{field}` command text is built from a secret, so "
                    "the secret is on the command line (process list, shell history, logs). "
                    "Pass it on stdin and read it there."
                )
            else:
                for what in sorted(set(literal_secrets(script, cfg))):
                    report(
                        f"{args.name!r}: the `{field}` command text holds {what}. Pass "
                        "secrets on stdin (from a secret Output), never in the command."
                    )
        for name, value in items(get(props, "environment")):
            plain = isinstance(value, str) and value and not is_secret(value)
            if plain and (secret_name(name, cfg) or PEM_KEY_RE.search(value)):
                report(
                    f"{args.name!r}: environment {name} holds a plain value. Make it a "
                    "secret Output, or pass the value on stdin."
                )
    if kind == IMAGE:
        # Build args end up in the image's history: never a place for a secret.
        for name, value in items(get(props, "build", "args")):
            if isinstance(value, str) and (secret_name(name, cfg) or _pem_in(value)):
                report(
                    f"image {args.name!r}: build arg {name} would be baked into the image "
                    "(docker history shows it). Give the secret to the container at runtime."
                )
    # Anywhere in any resource: a private key in a plain (non-secret) input.
    for path, value in walk_strings(props):
        if not is_secret(value) and _pem_in(value):
            report(
                f"{args.name!r}: input {path} holds a private key in plain text. Pass it "
                "from a secret (pulumi-tls key output or config --secret) so it is "
                "encrypted in the state."
            )


NO_PLAIN_SECRETS = Rule(
    name="no-plain-secrets",
    description="No secret in plain text: not in a container's environment, arguments or "
    "uploaded files, command text (assignments, Authorization headers, curl -u, ldap* -w), "
    "build args or any non-secret input (tokens, passwords, private and crypt keys).",
    level=MANDATORY,
    validate=validate_no_plain_secrets,
    defaults=SECRETS_DEFAULTS,
    descriptions=SECRETS_DESCRIPTIONS,
    severity=Severity.CRITICAL,
    remediation="Keep secrets as secret Outputs; pass them to commands on stdin.",
)

RULES = [NO_PLAIN_SECRETS]
