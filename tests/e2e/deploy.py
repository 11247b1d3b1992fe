"""TEST HARNESS entry point: apply or destroy a stack on the local Docker engine with the local
applier (tests/e2e/applier.py), standing in for `pulumi up` / `pulumi destroy`. Not `make up`.

    python -m tests.e2e.deploy up --stack dev [--set KEY=VALUE ...] [--secret KEY ...] \
        [--outputs FILE]
    python -m tests.e2e.deploy down --stack dev

Config is merged as the CLI does: Pulumi.yaml defaults, Pulumi.<stack>.yaml, then each
--set (a JSON array or object is parsed: --set 'HUB_ALLOWED_USERS=["bob.smith"]'), then
each --secret KEY (its value from the environment variable KEY, kept secret). The outputs
file gets the stack outputs as JSON, secrets revealed (mode 0600). State is kept in
.e2e-state/<stack>.json (git-ignored, 0600: it holds the generated keys and passwords).

tls:/random: values are real (the mock harness's provider-faithful mode); --fake-pki uses
the harness's fake strings.
Several stacks: each `--stack` has its own state file (and `--state-dir` if given) and
its own Docker names (components/docker/names.py); a stack whose names or HUB_HTTPS_PORT
another stack's objects hold is refused before anything is touched.
Exit status: 0 applied, 1 failed (what was applied before the failure is listed), 2 bad
usage or config, or another stack's objects in the way (nothing touched).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.e2e import applier


def parse_value(text: str) -> Any:
    """A --set value: JSON for arrays and objects, the string itself otherwise (the CLI
    hands every other value to the program as a string)."""
    if text[:1] in "[{":
        return json.loads(text)
    return text


def _pairs(items: list[str]) -> dict[str, Any]:
    values = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise SystemExit(f"deploy: --set takes KEY=VALUE, got {item!r}")
        try:
            values[key] = parse_value(value)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"deploy: --set {key}: not valid JSON: {exc}") from None
    return values


def _print_changes(title: str, changes: list[applier.Change], out=sys.stdout) -> None:
    print(f"{title}: {len(changes)} change(s)", file=out)
    for change in changes:
        print(f"  {change}", file=out)


def summary(changes: list[applier.Change]) -> str:
    """e.g. "2 create, 1 replace" (each change was printed as it happened)."""
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{n} {action}" for action, n in counts.items()) or "no changes"


def write_outputs(path: Path, outputs: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(outputs, f, indent=2, sort_keys=True, default=str)
    os.chmod(path, 0o600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.deploy",
        description="Test harness: apply a stack to the local Docker engine (not `make up`).",
    )
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument("--stack", default=os.environ.get("STACK") or "dev")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="KEY",
        help="a secret config key, its value from the environment variable KEY",
    )
    parser.add_argument("--outputs", type=Path, help="write the stack outputs (JSON) here")
    parser.add_argument("--state-dir", type=Path, help=f"default: ./{applier.STATE_DIR_NAME}")
    parser.add_argument(
        "--fake-pki",
        action="store_true",
        help="the mock harness's fake tls/random values instead of real ones",
    )
    args = parser.parse_args(argv)

    if args.command == "down":
        if args.set or args.secret or args.outputs:
            parser.error("down takes only --stack and --state-dir")
        try:
            changes = applier.down(args.stack, state_dir=args.state_dir)
        except applier.ApplyError as exc:
            print(f"deploy down: FAILED: {exc}", file=sys.stderr)
            _print_changes("done before the failure", exc.changes, sys.stderr)
            return 1
        print(f"deploy down --stack {args.stack}: {summary(changes)}")
        return 0

    config = _pairs(args.set)
    secrets = {}
    for key in args.secret:
        if key not in os.environ:
            print(f"deploy: --secret {key}: set the environment variable {key}", file=sys.stderr)
            return 2
        secrets[key] = os.environ[key]
    from components.docker.stack_check import StackCollisionError
    from components.settings import SettingsError

    delegate = applier.fake_delegate() if args.fake_pki else applier.faithful_delegate()
    try:
        result = applier.up(
            args.stack, config=config, secrets=secrets, state_dir=args.state_dir, delegate=delegate
        )
    except (SettingsError, StackCollisionError, ValueError) as exc:
        print(f"deploy up: the program did not run (nothing was touched): {exc}", file=sys.stderr)
        return 2
    except applier.Unsupported as exc:
        print(f"deploy up: {exc} (nothing was touched)", file=sys.stderr)
        return 2
    except applier.ApplyError as exc:
        print(f"deploy up: FAILED: {exc}", file=sys.stderr)
        _print_changes(
            "applied before the failure (kept in state; `down` removes it)", exc.changes, sys.stderr
        )
        return 1
    print(
        f"deploy up --stack {args.stack}: {summary(result.changes)}; {result.unchanged} unchanged"
    )
    if args.outputs:
        write_outputs(args.outputs, result.outputs)
        print(f"outputs (secrets revealed) in {args.outputs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
