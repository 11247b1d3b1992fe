"""The gateway's client files in /etc/jupyterpki: three distinct names."""

from __future__ import annotations

from typing import Any

from components.settings.errors import Problem


def check(v: dict[str, Any], bad: set[str]) -> list[Problem]:
    names = [v.get(k) for k in ("CLIENT_KEY", "CLIENT_CERT", "CLIENT_CA") if v.get(k)]
    if len(set(names)) != len(names):
        return [
            Problem(
                "CLIENT_CA",
                "CLIENT_KEY, CLIENT_CERT and CLIENT_CA must be three different file names",
            )
        ]
    return []
