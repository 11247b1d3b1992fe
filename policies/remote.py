"""Remote access: every SSH connection the program makes checks the server's host key.

pulumi-command's remote resources (connection.hostKey, and its proxy's), local commands
that run ssh, and the Docker provider's ssh options.
"""

from __future__ import annotations

import re

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

BLIND_SSH_RE = re.compile(
    r"StrictHostKeyChecking\s*=?\s*(no|off|accept-new)\b|UserKnownHostsFile\s*=?\s*/dev/null",
    re.IGNORECASE,
)


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
    description="Remote commands verify the SSH server's host key.",
    level=MANDATORY,
    validate=validate_host_key,
    defaults={},
    descriptions={},
    severity=Severity.HIGH,
    remediation="Set connection.host_key (ZOS_SSH_HOST_KEY); never StrictHostKeyChecking=no.",
)

RULES = [VERIFY_HOST_KEY]
