"""What several concerns' rules share."""

from __future__ import annotations

from typing import Any

from components.settings.errors import Problem


def need(v: dict[str, Any], bad: set[str], key: str, why: str) -> list[Problem]:
    """A problem if `key` is unset (and not already reported bad)."""
    if key not in bad and v.get(key) in (None, "", [], {}):
        return [Problem(key, f"is required {why}")]
    return []
