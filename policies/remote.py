"""Remote access: every SSH connection the program makes checks the server's host key.

pulumi-command's remote resources (connection.hostKey, and its proxy's), local commands
that run ssh, and the Docker provider's ssh options.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import (
    COMMAND_TEXT_FIELDS,
    DOCKER_PROVIDER,
    LOCAL_COMMAND,
    REMOTE_RESOURCES,
    UNKNOWN,
    get,
    text,
    walk_strings,
)
from .rule import MANDATORY, Rule

# Every value OpenSSH reads as "do not check" (readconf.c: no, off, false; accept-new
# trusts a first key), quoted or not, `=` or blank between.
BLIND_SSH_RE = re.compile(
    r"StrictHostKeyChecking['\"]?\s*=?\s*['\"]?(no|off|false|accept-new)\b"
    r"|UserKnownHostsFile['\"]?\s*=?\s*['\"]?/dev/null",
    re.IGNORECASE,
)
HOST_KEY_TYPES = {
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
}  # fmt: skip


def host_key_problem(value: str) -> str | None:
    """Why a hostKey is not an SSH public key (`<type> <base64>`, what ssh-keyscan and
    known_hosts show, with a host pattern in front or not), or None."""
    words = value.split()
    while words and words[0] not in HOST_KEY_TYPES:
        words = words[1:]  # a known_hosts host pattern, e.g. [host]:22
    if len(words) < 2:
        return "names no key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...)"
    kind, blob = words[0], words[1]
    try:
        raw = base64.b64decode(blob, validate=True)
        (length,) = struct.unpack(">I", raw[:4])
        inner = raw[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        return "is not base64 of an SSH public key"
    if inner != kind or len(raw) < 4 + length + 8:
        return f"is not a {kind} key (its data says {inner!r})"
    return None


def validate_host_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in REMOTE_RESOURCES:
        connection = get(args.props, "connection")
        if connection is None or connection is UNKNOWN:
            return
        host = text(get(connection, "host")) or "?"
        for where, conn in (
            ("connection", connection),
            ("connection.proxy", get(connection, "proxy")),
        ):
            if conn is None or conn is UNKNOWN:
                continue
            key = get(conn, "hostKey")
            if key is UNKNOWN:
                continue
            if not (text(key) or "").strip():
                report(
                    f"{args.name!r} connects to {host} without `{where}.hostKey`, so the SSH "
                    "server is not verified (pulumi-command then accepts any host key) and a "
                    "man in the middle gets the login. Set host_key (ZOS_SSH_HOST_KEY)."
                )
            elif problem := host_key_problem(text(key) or ""):
                report(
                    f"{args.name!r} connects to {host} with a `{where}.hostKey` that {problem}"
                    ", so no server can match it as meant. Set host_key (ZOS_SSH_HOST_KEY) "
                    "to the server's public key line, e.g. from `ssh-keyscan`."
                )
    elif args.resource_type == LOCAL_COMMAND:
        for field in COMMAND_TEXT_FIELDS:
            script = text(get(args.props, field)) or ""
            if match := BLIND_SSH_RE.search(script):
                report(
                    f"{args.name!r} ({field}) runs ssh with `{match[0]}`, which trusts any "
                    "host key. Verify the host with a known_hosts entry instead."
                )
    elif args.resource_type == DOCKER_PROVIDER:
        for _, option in walk_strings(get(args.props, "sshOpts")):
            if match := BLIND_SSH_RE.search(option):
                report(
                    f"docker provider {args.name!r} passes `{match[0]}` to ssh, which trusts "
                    "any host key. Remove it and add the Docker host to known_hosts."
                )


VERIFY_HOST_KEY = Rule(
    name="remote-commands-verify-host-key",
    description="Remote commands verify the SSH server's host key (a real public key, no "
    "option that turns the check off).",
    level=MANDATORY,
    validate=validate_host_key,
    defaults={},
    descriptions={},
    severity=Severity.HIGH,
    remediation="Set connection.host_key (ZOS_SSH_HOST_KEY) to the server's public key line; "
    "never StrictHostKeyChecking=no/off/false/accept-new.",
)

RULES = [VERIFY_HOST_KEY]
