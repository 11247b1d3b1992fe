"""`Rule`: one policy's validator and metadata, from which the SDK policy is made.

Each group module (containers, images, keys, gateway, remote, data, credentials, tls)
declares its rules as `Rule`s beside their validators; policies/pack.py collects them.
The metadata (description, level, severity, remediation, config defaults and their
descriptions) is what the served pack declares and what docs/reference/policies.md is
generated from (tools/policy_reference.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


def _schema(defaults: Mapping[str, Any], descriptions: Mapping[str, str]) -> PolicyConfigSchema:
    properties: dict[str, dict[str, Any]] = {}
    for key, description in descriptions.items():
        default = defaults[key]
        if isinstance(default, bool):
            kind: dict[str, Any] = {"type": "boolean"}
        elif isinstance(default, int):
            kind = {"type": "integer"}
        elif isinstance(default, list):
            kind = {"type": "array", "items": {"type": "string"}}
        else:
            kind = {"type": "string"}
        properties[key] = {**kind, "default": default, "description": description}
    return PolicyConfigSchema(properties=properties)


@dataclass(frozen=True)
class Rule:
    """One policy: the SDK object plus its config defaults (for tools and tests)."""

    name: str
    description: str
    level: EnforcementLevel
    validate: Callable[[ResourceValidationArgs, ReportViolation], None]
    defaults: Mapping[str, Any]
    descriptions: Mapping[str, str]
    severity: Severity
    remediation: str

    def policy(self) -> ResourceValidationPolicy:
        return ResourceValidationPolicy(
            name=self.name,
            description=self.description,
            validate=self.validate,
            enforcement_level=self.level,
            config_schema=_schema(self.defaults, self.descriptions) if self.descriptions else None,
            severity=self.severity,
            remediation_steps=self.remediation,
        )
