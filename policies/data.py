"""Data: the hub's data volume (database, cookie secret) outlives `pulumi destroy`.

The engine shows policies `protect` but not `retain_on_delete`. Where the option is
visible (tools/policy_check.py on the mock graph) it decides and the label proves nothing.
Where it is not (the engine), the program's label is believed only on a volume of the
program's storage component, whose option the mock-graph check proves.
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import VOLUME, config, docker_name, elements, get, parent_type, text
from .rule import MANDATORY, Rule

VOLUME_DEFAULTS = {
    # jupyterhub-data (dev), jupyterhub-<stack>-data (any other stack: components/docker/
    # names.py), with a prefix or suffix; not the dev directory's <...>-ldap-data.
    "dataVolumePattern": r"^(?!.*-ldap-data$)(.+-)?jupyterhub(-.+)?-data(-.+)?$",
    "retainLabel": "jupyterhub-zos.retain-on-delete",
    "retainingComponents": ["jupyterhub-zos:storage:Storage"],
}
VOLUME_DESCRIPTIONS = {
    "dataVolumePattern": "Regular expression for the Docker names of volumes that must "
    "outlive `pulumi destroy` (the Pulumi name when the Docker name is not set).",
    "retainLabel": "Volume label (value 'true') that declares retain_on_delete, which the "
    "engine does not show to policies.",
    "retainingComponents": "Component types (the parent type in the volume's URN) whose "
    "retain label the rule believes where the engine hides retain_on_delete.",
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
    if retain is not None:
        # The options are visible: they decide, the label proves nothing.
        if not (retain or protect):
            claim = f" It is labelled {cfg['retainLabel']}=true, but" if labelled else ""
            report(
                f"volume {args.name!r} holds the hub database and cookie secret.{claim} the "
                "resource option retain_on_delete is not set (nor protect), so `pulumi "
                "destroy` deletes it. Set ResourceOptions(retain_on_delete=True)."
            )
        return
    # The engine hides retain_on_delete: a label is believed only on the volume of the
    # program's storage component, whose retain_on_delete tests/policies/test_graph.py
    # checks in the recorded graph (where the options are visible).
    owner = parent_type(args)
    if protect or (labelled and owner in cfg["retainingComponents"]):
        return
    if labelled:
        report(
            f"volume {args.name!r} is labelled {cfg['retainLabel']}=true, but the label is "
            "believed only on a volume of the program's storage component "
            f"({', '.join(cfg['retainingComponents'])}), which sets retain_on_delete; this "
            f"one's parent is {owner or 'the stack'}. Create it there, or set protect=True."
        )
    else:
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
