"""docs/reference/policies.md, generated from the policy pack so the two cannot drift.

python -m tools.policy_reference          # print it
python -m tools.policy_reference --write  # rewrite docs/reference/policies.md

Everything comes from policies/pack.py's GROUPS: each group module's docstring, and each
rule's name, level, severity, description, remediation and config (the defaults and
descriptions its config schema is made from, the JSON type as the served schema says).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from policies.pack import GROUPS, PACK_NAME, RULES, group_name

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "docs" / "reference" / "policies.md"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "&#124;")


def _value(value: Any) -> str:
    return f"`{json.dumps(value)}`"


def _summary(module: Any) -> tuple[str, str]:
    """A group module's docstring: its first line, and the rest as one paragraph."""
    head, _, rest = (module.__doc__ or "").strip().partition("\n")
    return head.strip(), " ".join(rest.split())


def render() -> str:
    lines = [
        "# Policy reference",
        "",
        "<!-- Generated from policies/ by `make policy-reference` (tools/policy_reference.py):",
        "     change the policies, not this file. -->",
        "",
        f"The CrossGuard pack `{PACK_NAME}` (`policies/`) runs on every `make preview` and "
        "`make up` (`--policy-pack policies`) and, on the program's mock graph, in `make "
        "policy-check`. A mandatory violation stops the update; an advisory one is reported. "
        "Levels and config properties are changed with `--policy-pack-config` "
        '(`POLICY_CONFIG=file.json` for `make policy-check`), e.g. `{"images-pinned": '
        '"advisory", "strong-keys": {"minRsaBits": 3072}}`.',
        "",
        "| policy | group | level | severity | what it checks | config (default) |",
        "|---|---|---|---|---|---|",
    ]
    for group in GROUPS:
        for rule in group.RULES:
            config = "<br>".join(
                f"`{key}` = {_value(rule.defaults[key])}" for key in rule.descriptions
            )
            lines.append(
                f"| `{rule.name}` | [{group_name(group)}](#{group_name(group)}) | "
                f"{rule.level.value} | {rule.severity.value} | {_cell(rule.description)} | "
                f"{config or 'none'} |"
            )
    lines += [
        "",
        "## Config properties",
        "",
        "| policy | property | type | default | what it does |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES:
        schema = rule.policy().config_schema
        for key, spec in (schema.properties if schema else {}).items():
            kind = spec["type"] + (f" of {spec['items']['type']}" if "items" in spec else "")
            lines.append(
                f"| `{rule.name}` | `{key}` | {kind} | {_cell(_value(spec['default']))} | "
                f"{_cell(spec['description'])} |"
            )
    lines += ["", "## Groups"]
    for group in GROUPS:
        head, rest = _summary(group)
        lines += ["", f"### {group_name(group)}", "", f"`policies/{group_name(group)}.py`: {head}"]
        if rest:
            lines += ["", rest]
        lines += ["", "| policy | how to fix a violation |", "|---|---|"]
        lines += [f"| `{rule.name}` | {_cell(rule.remediation)} |" for rule in group.RULES]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--write" not in argv:
        print(text, end="")
        return 0
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
