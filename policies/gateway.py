"""Gateway: the hub reaches the Kernel Gateway over https, with its certificate checked.

Read from containers' environment (KG_URL, VALIDATE_KG_CERT and the jupyter_server
gateway client's names). Mandatory on every stack but the dev ones (`devStacks`), where
the advisory twin rule says the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import CONTAINER, config, env_map, stack_of
from .rule import ADVISORY, MANDATORY, Rule

KG_DEFAULTS = {
    "devStacks": ["dev"],
    "stack": "",
    "urlEnv": ["KG_URL", "JUPYTER_GATEWAY_URL"],
    "validateEnv": ["VALIDATE_KG_CERT", "JUPYTER_GATEWAY_VALIDATE_CERT"],
}
KG_DESCRIPTIONS = {
    "devStacks": "Stacks where a plain-HTTP or unvalidated gateway is only advisory.",
    "stack": "The stack name, when it cannot be read from resource URNs.",
    "urlEnv": "Container environment variables holding the Kernel Gateway URL.",
    "validateEnv": "Container environment variables that turn certificate validation off "
    "when 'false'.",
}


def _kg_violations(args: ResourceValidationArgs, cfg: Mapping[str, Any]) -> Iterator[str]:
    if args.resource_type != CONTAINER:
        return
    envs = env_map(args.props)
    for name in cfg["urlEnv"]:
        url = envs.get(name)
        if url is not None and not url.strip().lower().startswith("https://"):
            yield (
                f"container {args.name!r} sets {name}={url!r}: kernels' code, output and the "
                "gateway token would cross the network in clear text. Use an https:// "
                "KG_URL (AT-TLS or the gateway's own TLS)."
            )
    for name in cfg["validateEnv"]:
        value = envs.get(name)
        # The hub config and the gateway client turn validation off only for 'false'/'no'.
        if value is not None and value.strip().lower() in ("false", "no"):
            yield (
                f"container {args.name!r} sets {name}={value}: the gateway's certificate "
                "is not checked, so anyone on the path can pose as the gateway. Set "
                "VALIDATE_KG_CERT to true and give the gateway's CA."
            )


def validate_kg_url(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, KG_DEFAULTS)
    if stack_of(args, cfg) in cfg["devStacks"]:
        return  # the dev stack's own rule (advisory) covers it
    for message in _kg_violations(args, cfg):
        report(message)


def validate_kg_url_dev(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, KG_DEFAULTS)
    if stack_of(args, cfg) not in cfg["devStacks"]:
        return
    for message in _kg_violations(args, cfg):
        report(message + " (advisory on the dev stack)")


KG_URL_HTTPS_VALIDATED = Rule(
    name="kg-url-https-validated",
    description="The hub reaches the Kernel Gateway over https with its certificate validated.",
    level=MANDATORY,
    validate=validate_kg_url,
    defaults=KG_DEFAULTS,
    descriptions=KG_DESCRIPTIONS,
    severity=Severity.HIGH,
    remediation="Set KG_URL to https://... and VALIDATE_KG_CERT to true.",
)

KG_URL_HTTPS_VALIDATED_DEV = Rule(
    name="kg-url-https-validated-dev",
    description="On dev stacks: the hub should reach the Kernel Gateway over https with its "
    "certificate validated.",
    level=ADVISORY,
    validate=validate_kg_url_dev,
    defaults=KG_DEFAULTS,
    descriptions=KG_DESCRIPTIONS,
    severity=Severity.LOW,
    remediation="Set KG_URL to https://... and VALIDATE_KG_CERT to true.",
)

RULES = [KG_URL_HTTPS_VALIDATED, KG_URL_HTTPS_VALIDATED_DEV]
