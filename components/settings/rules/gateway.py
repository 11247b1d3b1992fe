"""The gateway: the dev gateway only on dev stacks (or on purpose); its client files in
/etc/jupyterpki have three distinct names."""

from __future__ import annotations

from typing import Any

from components.settings.errors import Problem
from components.settings.rules.common import dev_service


def check(v: dict[str, Any], bad: set[str], stack: str) -> list[Problem]:
    problems: list[Problem] = []
    if not {"KG_URL", "ZOS_HOST"} & bad and v.get("KG_URL") is None and v.get("ZOS_HOST") is None:
        problems += dev_service(
            v,
            stack,
            "KG_URL",
            "the dev gateway",
            "every kernel on it runs as the uid that owns the gateway's server key and "
            "can read its token",
        )
    names = [v.get(k) for k in ("CLIENT_KEY", "CLIENT_CERT", "CLIENT_CA") if v.get(k)]
    if len(set(names)) != len(names):
        problems.append(
            Problem(
                "CLIENT_CA",
                "CLIENT_KEY, CLIENT_CERT and CLIENT_CA must be three different file names",
            )
        )
    return problems
