"""`make policy-check`: every policy of the pack against the program's resource graph.

No Pulumi CLI, no cloud, no Docker: the program runs under the mock harness
(tools/mock_graph/) for one stack and config, and each recorded resource is handed
to each policy the way the served pack would get it from the engine: inputs in
camelCase, secret inputs marked secret, the resource options. Violations are printed;
the exit status is 1 if any is mandatory (2 for a bad stack or policy config).

    python -m tools.policy_check --stack dev
    python -m tools.policy_check --stack prod --set ZOS_HOST=zos.example.com \\
        --secret ZOS_SSH_PRIVATE_KEY --policy-config policy-config.json
    tools/pulumi.sh --run python -m tools.policy_check --stack prod --decrypt

A deployed stack's Pulumi.<stack>.yaml holds `secure:` entries. Each is given (--secret
KEY from the environment, or --decrypt: every value from `pulumi config --show-secrets`
through tools/pulumi.sh's set-up), or else, for the secret keys whose value no rule or
policy reads (KG_AUTH_TOKEN, ZOS_P12_PASSWORD, ZOS_SSH_PRIVATE_KEY), checked with a
placeholder of the right kind, said so in the report. An empty secret (what `make up`
stores for an unset key) is recognised without decrypting in the passphrase provider's
format (AES-256-GCM: a ciphertext of exactly the 16-byte tag) and checked as unset.
HUB_TLS_KEY has to be given when it is not empty: a rule checks it against HUB_TLS_CERT.

Two things differ from a real `pulumi preview --policy-pack policies`, both in the
direction of showing more: the harness runs without unknowns (every value is known),
and it shows policies `retain_on_delete`, which the engine does not pass to them.
Secret marks are exactly where the engine would put them (the harness records each
secret value's path).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
)

from policies.pack import POLICIES
from policies.sdk import UnknownValueError, mark_secret, unknown_checking_proxy

LEVELS = {level.value: level for level in EnforcementLevel}
JSON_TYPES = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "array": list,
    "object": dict,
    "number": (int, float),
}


class PolicyConfigError(ValueError):
    """A policy config that the Pulumi CLI would refuse too."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str  # "mandatory" or "advisory"
    type: str
    name: str
    urn: str
    message: str


@dataclass(frozen=True)
class PolicySetting:
    level: EnforcementLevel
    properties: dict[str, Any]


# --- policy config, as --policy-pack-config takes it --------------------------------------


def parse_policy_config(raw: Mapping[str, Any]) -> dict[str, PolicySetting]:
    """{"all": level|{...}, "<policy>": level|{"enforcementLevel": level, prop: value}}
    -> each policy's level and properties. Refuses unknown policies, properties, levels
    and values of the wrong JSON type, naming them."""
    known = {p.name: p for p in POLICIES}
    problems: list[str] = []

    def split(key: str, value: Any) -> tuple[EnforcementLevel | None, dict[str, Any]]:
        if isinstance(value, str):
            value = {"enforcementLevel": value}
        if not isinstance(value, Mapping):
            problems.append(f"{key}: must be an enforcement level or an object")
            return None, {}
        props = dict(value)
        level_name = props.pop("enforcementLevel", None)
        level = None
        if level_name is not None:
            level = LEVELS.get(str(level_name).lower())
            if level is None:
                problems.append(
                    f"{key}: enforcementLevel {level_name!r} is not one of {', '.join(LEVELS)}"
                )
        return level, props

    default_level, all_props = split("all", raw.get("all", {}))
    if all_props:
        problems.append("all: only enforcementLevel may be set for all policies")
    settings: dict[str, PolicySetting] = {}
    for key in raw:
        if key != "all" and key not in known:
            problems.append(f"{key}: no such policy (known: {', '.join(sorted(known))})")
    for name, policy in known.items():
        level, props = split(name, raw.get(name, {}))
        schema = policy.config_schema.properties if policy.config_schema else {}
        for prop, value in props.items():
            if prop not in schema:
                hint = f"; it takes {', '.join(sorted(schema))}" if schema else ""
                problems.append(f"{name}: unknown property {prop!r}{hint}")
                continue
            expected = JSON_TYPES[schema[prop]["type"]]
            wrong_bool = isinstance(value, bool) and schema[prop]["type"] != "boolean"
            if not isinstance(value, expected) or wrong_bool:
                problems.append(f"{name}.{prop}: must be of type {schema[prop]['type']}")
        settings[name] = PolicySetting(
            level or default_level or policy.enforcement_level or EnforcementLevel.ADVISORY,
            props,
        )
    if problems:
        raise PolicyConfigError("policy config: " + "; ".join(problems))
    return settings


# --- a recorded resource, as the engine would show it to the pack -------------------------


def policy_options(options: Mapping[str, Any], parent: str | None) -> PolicyResourceOptions:
    """PolicyResourceOptions from the harness's recorded options (camelCase), plus
    retain_on_delete, which only this tool can show."""
    opts = PolicyResourceOptions(
        protect=bool(options.get("protect")),
        ignore_changes=list(options.get("ignoreChanges") or []),
        delete_before_replace=options.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(options.get("additionalSecretOutputs") or []),
        parent=parent or None,
    )
    opts.retain_on_delete = bool(options.get("retainOnDelete"))
    return opts


def _mark_at(value: Any, path: tuple) -> Any:
    """A copy of `value` with the node at `path` (keys and list indexes) marked secret."""
    if not path:
        return mark_secret(value)
    head, rest = path[0], path[1:]
    if isinstance(value, Mapping) and head in value:
        return {k: _mark_at(v, rest) if k == head else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        return [_mark_at(v, rest) if i == head else v for i, v in enumerate(value)]
    return value


def policy_props(inputs: Mapping[str, Any], secret_leaves: Iterable[tuple]) -> Mapping[str, Any]:
    """The inputs with every string of a secret value marked, behind pulumi-policy's
    unknown-checking proxy (as the pack's Analyze builds them)."""
    marked: Any = dict(inputs)
    for path in sorted(secret_leaves, key=len):
        marked = _mark_at(marked, tuple(path))
    return unknown_checking_proxy(marked)


def validation_args(resource: Any, properties: Mapping[str, Any]) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource.type,
        policy_props(
            resource.inputs,
            getattr(resource, "secret_leaves", None) or [(key,) for key in resource.secret_paths],
        ),
        resource.urn,
        resource.name,
        policy_options(getattr(resource, "options", None) or {}, resource.parent),
        None,
        dict(properties),
    )


def _reporter(found: list[Violation], policy: Any, level: str, resource: Any):
    """report_violation as the served pack builds it: description, then the message."""

    def report(message: str, urn: str | None = None) -> None:
        text = f"{policy.description}\n{message}" if message else policy.description
        found.append(
            Violation(policy.name, level, resource.type, resource.name, resource.urn, text)
        )

    return report


def check(
    resources: Iterable[Any], settings: Mapping[str, PolicySetting] | None = None
) -> list[Violation]:
    """Every enabled policy against every resource (anything with the harness's
    Recorded fields: type, name, urn, inputs, secret_paths, parent, options)."""
    settings = settings or parse_policy_config({})
    found: list[Violation] = []
    for resource in resources:
        for policy in POLICIES:
            setting = settings[policy.name]
            if setting.level == EnforcementLevel.DISABLED:
                continue
            # A remediation would run first; still violating, it is reported as mandatory.
            level = "advisory" if setting.level == EnforcementLevel.ADVISORY else "mandatory"
            report = _reporter(found, policy, level, resource)
            try:
                result = policy.validate(validation_args(resource, setting.properties), report)
                if inspect.isawaitable(result):  # none of ours is; the SDK allows it
                    asyncio.run(result)
            except UnknownValueError as exc:
                # The served pack reports these as advisory diagnostics, and so do we.
                _reporter(found, policy, "advisory", resource)(
                    f"can't run policy '{policy.name}' during preview: {exc.message}"
                )
    return found


# --- command line -------------------------------------------------------------------------


def format_report(stack: str, resources: int, violations: list[Violation]) -> str:
    lines = [f"policy-check: stack '{stack}', {resources} resources, {len(POLICIES)} policies"]
    for v in sorted(violations, key=lambda v: (v.level != "mandatory", v.policy, v.urn)):
        lines.append(f"{v.level.upper():<10} {v.policy}  {v.type}::{v.name}")
        lines.extend(f"    {line}" for line in v.message.splitlines())
    mandatory = sum(v.level == "mandatory" for v in violations)
    lines.append(
        f"policy-check: {mandatory} mandatory, {len(violations) - mandatory} advisory "
        f"violation(s){' - fix the mandatory ones before `pulumi up`' if mandatory else ''}"
    )
    return "\n".join(lines)


def _key_values(pairs: list[str], flag_name: str) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise SystemExit(f"policy-check: {flag_name} takes KEY=VALUE, got {pair!r}")
        values[key] = value
    return values


# --- a deployed stack's encrypted entries ---------------------------------------------------

# Secret keys no rule or policy reads the value of: a placeholder of the right kind keeps
# the graph's shape (a given token: no generated one) without the secret.
PLACEHOLDER_KEYS = ("KG_AUTH_TOKEN", "ZOS_P12_PASSWORD", "ZOS_SSH_PRIVATE_KEY")


def placeholder(key: str) -> str:
    if key == "ZOS_SSH_PRIVATE_KEY":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        return (
            ed25519.Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
            .decode()
        )
    return f"policy-check-placeholder-{key.lower()}"  # long enough, no quotes


def is_empty_secret(ciphertext: str) -> bool:
    """True for the passphrase provider's encryption of "" (v1:<nonce>:<ciphertext>, the
    ciphertext being the plaintext plus a 16-byte GCM tag); False when unsure."""
    parts = ciphertext.split(":")
    if len(parts) != 3 or parts[0] != "v1":
        return False
    try:
        return len(base64.b64decode(parts[2], validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def fill_encrypted(
    encrypted: dict[str, str], given: Mapping[str, str]
) -> tuple[dict[str, str], list[str], list[str]]:
    """(secrets to pass, notes for the report, problems) for the stack file's encrypted
    entries (`<namespace>:<key>` -> ciphertext) that `given` (short or full names) lacks."""
    from components.settings import PROJECT

    prefix = f"{PROJECT}:"
    given_full = {k if ":" in k else prefix + k for k in given}
    secrets: dict[str, str] = {}
    notes: list[str] = []
    problems: list[str] = []
    for full, ciphertext in sorted(encrypted.items()):
        if full in given_full:
            continue
        key = full.removeprefix(prefix)
        if is_empty_secret(ciphertext):
            secrets[key if full.startswith(prefix) else full] = ""
            notes.append(f"{key}: an empty secret in the stack file, checked as unset")
        elif full.startswith(prefix) and key in PLACEHOLDER_KEYS:
            secrets[key] = placeholder(key)
            notes.append(
                f"{key}: encrypted in the stack file, checked with a placeholder (no rule or "
                "policy reads its value; give it with --secret or DECRYPT=1 to use it)"
            )
        else:
            why = (
                "a rule checks it against HUB_TLS_CERT"
                if key == "HUB_TLS_KEY"
                else "a rule may read its value"
            )
            problems.append(
                f"{full}: encrypted in the stack file and {why}: give it with --secret {key} "
                f"(value from the environment variable {key}) or DECRYPT=1"
            )
    return secrets, notes, problems


def decrypted(stack: str) -> dict[str, str]:
    """Every secret value of the stack, from the Pulumi CLI (run through tools/pulumi.sh
    --run, so with `make up`'s backend and passphrase). Read here, never printed."""
    done = subprocess.run(
        ["pulumi", "config", "--show-secrets", "--json", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ValueError(f"pulumi config --show-secrets failed: {done.stderr.strip()}")
    values = json.loads(done.stdout)
    return {k: v["value"] for k, v in values.items() if v.get("secret")}


def main(argv: list[str] | None = None, run_program: Any = None) -> int:
    """The command line; `run_program` defaults to the mock harness's."""
    parser = argparse.ArgumentParser(
        prog="policy-check",
        description="Run the policy pack against the program's mock resource graph.",
    )
    parser.add_argument("--stack", default=os.environ.get("STACK") or "dev")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="KEY",
        help="a secret config key, its value read from the environment variable KEY",
    )
    parser.add_argument(
        "--decrypt",
        action="store_true",
        help="the stack's secret values from the Pulumi CLI (run via tools/pulumi.sh --run)",
    )
    parser.add_argument("--policy-config", type=Path, help="a --policy-pack-config JSON file")
    parser.add_argument("--json", action="store_true", help="print violations as JSON")
    args = parser.parse_args(argv)

    try:
        raw = json.loads(args.policy_config.read_text()) if args.policy_config else {}
        settings = parse_policy_config(raw)
    except (OSError, json.JSONDecodeError, PolicyConfigError) as exc:
        print(f"policy-check: {exc}", file=sys.stderr)
        return 2
    secrets = {}
    for key in args.secret:
        if key not in os.environ:
            print(
                f"policy-check: --secret {key}: set the environment variable {key}", file=sys.stderr
            )
            return 2
        secrets[key] = os.environ[key]

    from components.settings import SettingsError
    from tools.mock_graph import ROOT, encrypted_entries

    if run_program is None:
        from tools.mock_graph import run_program
    config = _key_values(args.set, "--set")
    try:
        if args.decrypt:
            secrets = {**decrypted(args.stack), **secrets}
        encrypted = encrypted_entries(args.stack, ROOT)
    except (ValueError, json.JSONDecodeError, OSError) as exc:
        print(f"policy-check: {exc}", file=sys.stderr)
        return 2
    filled, notes, problems = fill_encrypted(encrypted, secrets)
    if problems:
        print("policy-check: the program cannot run without these values:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"policy-check: {note}", file=sys.stderr)
    secrets = {**filled, **secrets}
    try:
        graph = run_program(stack=args.stack, config=config, secrets=secrets)
    except (SettingsError, ValueError) as exc:
        hint = ""
        if not isinstance(exc, SettingsError) and "encrypted" in str(exc):
            hint = "\nGive each encrypted key with --secret KEY (value from the environment)."
        print(f"policy-check: the program did not run: {exc}{hint}", file=sys.stderr)
        return 2
    violations = check(graph.resources, settings)
    if args.json:
        print(json.dumps([asdict(v) for v in violations], indent=2))
    else:
        print(format_report(args.stack, len(graph.resources), violations))
    return 1 if any(v.level == "mandatory" for v in violations) else 0


if __name__ == "__main__":
    sys.exit(main())
