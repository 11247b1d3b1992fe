"""Rules that tie config keys together, one module per concern. Each
`check(v, bad, stack)` looks only at the values that passed on their own (`v`) and skips
keys already reported bad (`bad`), so a user sees each key's real problem once; `stack`
is the stack's name (dev services are for dev stacks)."""

from __future__ import annotations

from typing import Any

from components.settings.errors import Problem
from components.settings.rules import gateway, hub, ldap, zos

CONCERNS = (ldap, hub, gateway, zos)


def check_together(v: dict[str, Any], bad: set[str], stack: str) -> list[Problem]:
    """Every cross-key rule of every concern."""
    return [problem for concern in CONCERNS for problem in concern.check(v, bad, stack)]
