"""Rules that tie config keys together, one module per concern. Each `check(v, bad)`
looks only at the values that passed on their own (`v`) and skips keys already
reported bad (`bad`), so a user sees each key's real problem once."""

from __future__ import annotations

from typing import Any

from components.settings.errors import Problem
from components.settings.rules import gateway, hub, ldap, zos

CONCERNS = (ldap, hub, gateway, zos)


def check_together(v: dict[str, Any], bad: set[str]) -> list[Problem]:
    """Every cross-key rule of every concern."""
    return [problem for concern in CONCERNS for problem in concern.check(v, bad)]
