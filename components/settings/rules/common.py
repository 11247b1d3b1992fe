"""What several concerns' rules share."""

from __future__ import annotations

from typing import Any

from components.settings.contract import is_dev_stack
from components.settings.errors import Problem


def need(v: dict[str, Any], bad: set[str], key: str, why: str) -> list[Problem]:
    """A problem if `key` is unset (and not already reported bad)."""
    if key not in bad and v.get(key) in (None, "", [], {}):
        return [Problem(key, f"is required {why}")]
    return []


def dev_service(v: dict[str, Any], stack: str, key: str, service: str, why: str) -> list[Problem]:
    """A problem if `key`, unset, would run a dev service on a stack that is not a dev
    stack and ALLOW_DEV_SERVICES does not say so on purpose."""
    if is_dev_stack(stack) or v.get("ALLOW_DEV_SERVICES"):
        return []
    return [
        Problem(
            key,
            f"is unset, which runs {service} ({why}); stack '{stack}' is not a dev stack "
            f"(dev, dev-*). Set {key}, or set ALLOW_DEV_SERVICES=true to run it on purpose",
        )
    ]
