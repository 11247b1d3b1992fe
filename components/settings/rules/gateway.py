"""The gateway: the dev gateway only on dev stacks (or on purpose); its client files in
/etc/jupyterpki have three distinct names."""

from __future__ import annotations

from typing import Any

from components.settings.contract import StackConfig
from components.settings.errors import Problem
from components.settings.rules.common import dev_service

# What the program writes into the gateway's config: meaningless for a gateway it does
# not configure (KG_URL without ZOS_HOST).
KERNEL_KEYS = ("KG_CULL_IDLE_TIMEOUT", "KG_CULL_INTERVAL", "KG_CULL_CONNECTED", "KG_MAX_KERNELS")


def check(v: dict[str, Any], bad: set[str], stack: str) -> list[Problem]:
    problems: list[Problem] = []
    if not {"KG_URL", "ZOS_HOST"} & bad and v.get("KG_URL") is None and v.get("ZOS_HOST") is None:
        problems += dev_service(
            v,
            stack,
            "KG_URL",
            "the dev gateway",
            "all users' kernels share its one container and its memory and process caps, "
            "and its certificates come from the stack's own CAs",
        )
    if v.get("KG_URL") is not None and v.get("ZOS_HOST") is None:
        for key in KERNEL_KEYS:
            if key in v and v[key] != StackConfig.model_fields[key].default:
                problems.append(
                    Problem(
                        key,
                        "is written into the config of a gateway the program runs (the dev "
                        "gateway, or the one on z/OS with ZOS_HOST); the gateway at KG_URL "
                        "has its own config. Unset it, or set the same option there",
                    )
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
