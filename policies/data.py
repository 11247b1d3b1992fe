"""Data: the hub's data volume (database, cookie secret) outlives `pulumi destroy`.

The engine shows policies `protect` but not `retain_on_delete`, so the program also
labels a retained volume; tools/policy_check.py (the mock graph) can show the option
itself, and then the label must not claim what the option denies.
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import VOLUME, config, docker_name, elements, get, text
from .rule import MANDATORY, Rule

VOLUME_DEFAULTS = {
    "dataVolumePattern": r"^(.+-)?jupyterhub-data(-.+)?$",
    "retainLabel": "jupyterhub-zos.retain-on-delete",
}
VOLUME_DESCRIPTIONS = {
    "dataVolumePattern": "Regular expression for the Docker names of volumes that must "
    "outlive `pulumi destroy` (the Pulumi name when the Docker name is not set).",
    "retainLabel": "Volume label (value 'true') that declares retain_on_delete, which the "
    "engine does not show to policies.",
}


def validate_data_volume_kept(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != VOLUME:
        return
    cfg = config(args, VOLUME_DEFAULTS)
    if not re.search(cfg["dataVolumePattern"], docker_name(args)):
        return
    labels = {
        text(get(label, "label")): text(get(label, "value"))
        for label in elements(get(args.props, "labels"))
    }
    labelled = (labels.get(cfg["retainLabel"]) or "").lower() == "true"
    protect = bool(getattr(args.opts, "protect", False))
    # Only tools/policy_check.py (the mock graph) can show this; the engine cannot.
    retain = getattr(args.opts, "retain_on_delete", None)
    if labelled and retain is False and not protect:
        report(
            f"volume {args.name!r} is labelled {cfg['retainLabel']}=true but the resource "
            "option retain_on_delete is not set, so `pulumi destroy` deletes it. Set "
            "ResourceOptions(retain_on_delete=True)."
        )
    elif not (protect or retain or labelled):
        report(
            f"volume {args.name!r} holds the hub database and cookie secret, and `pulumi "
            "destroy` would delete it. Set ResourceOptions(retain_on_delete=True) and label "
            f"it {cfg['retainLabel']}=true (the engine shows policies `protect` but not "
            "retain_on_delete), or set protect=True."
        )


DATA_VOLUME_KEPT = Rule(
    name="hub-data-volume-kept",
    description="The hub data volume (database, cookie secret) survives `pulumi destroy`.",
    level=MANDATORY,
    validate=validate_data_volume_kept,
    defaults=VOLUME_DEFAULTS,
    descriptions=VOLUME_DESCRIPTIONS,
    severity=Severity.HIGH,
    remediation="Set retain_on_delete=True (and the retain label) or protect=True on the volume.",
)

RULES = [DATA_VOLUME_KEPT]
