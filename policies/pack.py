"""The pack: its name and `POLICIES`, importable without starting it.

`policies/__main__.py` hands `POLICIES` to `PolicyPack` (which serves them to the Pulumi
CLI and never returns); the tests and `tools/policy_check.py` call the validators
directly, and tools/policy_reference.py renders docs/reference/policies.md from `GROUPS`.
The pack imports nothing from the program: it runs in its own process, with only
pulumi-policy (policies/requirements.txt) besides the standard library.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy

from . import containers, credentials, data, gateway, images, keys, remote, tls
from .rule import Rule

PACK_NAME = "jupyterhub-zos"
DESCRIPTION = "Guardrails for jupyterhub-zos: containers, images, keys, secrets, TLS, z/OS."

# One module per group, each with its rules beside their validators. This order is the
# order the pack serves its policies in.
GROUPS = (containers, images, keys, gateway, remote, data, credentials, tls)

RULES: list[Rule] = [rule for group in GROUPS for rule in group.RULES]
RULES_BY_NAME = {rule.name: rule for rule in RULES}
POLICIES: list[ResourceValidationPolicy] = [rule.policy() for rule in RULES]


def group_name(group) -> str:
    """A group's name: its module's, e.g. "containers" for policies/containers.py."""
    return group.__name__.rpartition(".")[2]
