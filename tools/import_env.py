"""Migrate a seed-style `.env` (and optionally its `userlist`) into a Pulumi stack.

    python -m tools.import_env --env .env --stack prod [--userlist userlist] [--dry-run]

Each known key becomes `pulumi config set`; secrets get `--secret` and their value on
stdin (never in argv, never printed); arrays are set item by item with `--path`.
Unknown keys are reported, not dropped silently. Values are checked with the same
rules as the program before anything is set: a bad file changes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

from components.settings import CONFIG_KEYS, SECRET_KEYS, StackConfig, parse_value

# Arrays are comma-separated in a .env, as the hub's environment has them.
ARRAY_KEYS = frozenset(
    k for k, f in StackConfig.model_fields.items() if typing.get_origin(f.annotation) is list
)

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

_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<rest>.*)$")


class EnvFileError(ValueError):
    pass


def _value(rest: str, where: str) -> str:
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = rest.find(quote, 1)
        while quote == '"' and end > 0 and rest[end - 1] == "\\":
            end = rest.find(quote, end + 1)
        if end < 0:
            raise EnvFileError(f"{where}: unterminated {quote} quote")
        tail = rest[end + 1 :].strip()
        if tail and not tail.startswith("#"):
            raise EnvFileError(f"{where}: unexpected text after the closing quote")
        inner = rest[1:end]
        return inner.replace('\\"', '"').replace("\\\\", "\\") if quote == '"' else inner
    # Unquoted: an inline comment starts at " #" (a # inside a value is kept).
    return re.split(r"\s+#", rest, maxsplit=1)[0].strip()


def parse_env(text: str, name: str = ".env") -> dict[str, str]:
    """KEY=VALUE lines; comments, blank lines, `export`, quotes and CRLF handled."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise EnvFileError(f"{name} line {number}: expected KEY=VALUE, got {line.strip()!r}")
        values[match["key"]] = _value(match["rest"], f"{name} line {number}")
    return values


def parse_userlist(text: str) -> tuple[list[str], list[str]]:
    """The seed's userlist: `name [admin]` per line -> (admins, other users)."""
    admins, users = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        (admins if "admin" in fields[1:] else users).append(fields[0])
    return admins, users


@dataclass(frozen=True)
class Setting:
    key: str
    value: str | list[str]
    secret: bool

    def commands(self, stack: str) -> list[tuple[list[str], str | None]]:
        """(argv, stdin) pairs. Secret values only ever travel on stdin."""
        base = ["pulumi", "config", "set", "--stack", stack]
        if isinstance(self.value, list):
            steps: list[tuple[list[str], str | None]] = [
                (["pulumi", "config", "rm", "--stack", stack, self.key], None)
            ]
            for index, item in enumerate(self.value):
                steps.append(([*base, "--path", "--", f"{self.key}[{index}]", item], None))
            return steps
        if self.secret:
            return [([*base, "--secret", self.key], self.value)]
        return [([*base, "--", self.key, self.value], None)]


@dataclass
class Plan:
    settings: list[Setting]
    unknown: dict[str, str]  # key -> why it is not imported
    problems: list[str]


def plan(env: dict[str, str], userlist: tuple[list[str], list[str]] | None = None) -> Plan:
    settings: list[Setting] = []
    unknown: dict[str, str] = {}
    problems: list[str] = []
    values: dict[str, str | list[str]] = {}
    for key, raw in env.items():
        if key not in CONFIG_KEYS:
            unknown[key] = OBSOLETE.get(key, "not a config key of jupyterhub-zos")
            continue
        if key in ARRAY_KEYS:
            values[key] = [item.strip() for item in raw.split(",") if item.strip()]
        else:
            values[key] = raw
    if userlist is not None:
        admins, users = userlist
        values["HUB_ADMIN_USERS"] = admins
        values["HUB_ALLOWED_USERS"] = users
    for key, value in values.items():
        if value in ("", []):
            continue  # empty means unset, as in the seed's .env
        # Checked by the program's own rule for the key, as the CLI would deliver it.
        _, wrong = parse_value(key, json.dumps(value) if isinstance(value, list) else value)
        if wrong:
            problems += [f"{key}: {message}" for message in wrong]
            continue
        settings.append(Setting(key, value, key in SECRET_KEYS))
    return Plan(sorted(settings, key=lambda s: s.key), unknown, problems)


def _show(argv: list[str], stdin: str | None) -> str:
    return " ".join(argv) + (" < (secret value on stdin: ********)" if stdin is not None else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, type=Path, help="the seed's .env file")
    parser.add_argument("--stack", required=True, help="stack to set the config of")
    parser.add_argument("--userlist", type=Path, help="the seed's userlist file (optional)")
    parser.add_argument("--dry-run", action="store_true", help="print, set nothing")
    args = parser.parse_args(argv)

    try:
        env = parse_env(args.env.read_text(), args.env.name)
        users = parse_userlist(args.userlist.read_text()) if args.userlist else None
    except (OSError, EnvFileError) as exc:
        print(f"import-env: {exc}", file=sys.stderr)
        return 2
    result = plan(env, users)
    for key, why in sorted(result.unknown.items()):
        print(f"not imported: {key}: {why}", file=sys.stderr)
    if result.problems:
        print("import-env: nothing was set; fix these first:", file=sys.stderr)
        for problem in result.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    for setting in result.settings:
        for command, stdin in setting.commands(args.stack):
            print(("would run: " if args.dry_run else "running: ") + _show(command, stdin))
            if args.dry_run:
                continue
            done = subprocess.run(command, input=stdin, text=True, capture_output=True)
            is_rm = command[2] == "rm"
            if done.returncode != 0 and not is_rm:
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
