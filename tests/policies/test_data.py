"""Data (policies/data.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

from policies.props import VOLUME
from tests.policies.support import UNKNOWN_ARRAY, UNKNOWN_STRING, options, violations

# --- hub-data-volume-kept --------------------------------------------------------------

KEPT = "hub-data-volume-kept"
VOL = VOLUME
LABEL = [{"label": "jupyterhub-zos.retain-on-delete", "value": "true"}]
STORAGE = "jupyterhub-zos:storage:Storage"


def test_kept_data_volume_passes():
    data = {"name": "jupyterhub-data"}
    assert violations(KEPT, VOL, data, opts=options(protect=True)) == []
    # The engine hides retain_on_delete: the label of the storage component's volume.
    assert violations(KEPT, VOL, {**data, "labels": LABEL}, parent_type=STORAGE) == []
    # What tools/policy_check.py can show (the engine cannot): the option itself.
    assert violations(KEPT, VOL, data, opts=options(retain_on_delete=True)) == []
    both = options(retain_on_delete=True)
    assert violations(KEPT, VOL, {**data, "labels": LABEL}, opts=both) == []
    # Per-stack names match too; other volumes are not this rule's business.
    assert violations(KEPT, VOL, {"name": "dev-jupyterhub-data"}, opts=options(protect=True)) == []
    assert violations(KEPT, VOL, {"name": "dev-ldap-data"}) == []
    # Another stack's hub data volume (jupyterhub-<stack>-data) is held to the rule; the
    # dev directory's volume (jupyterhub-ldap-data, jupyterhub-<stack>-ldap-data) is not.
    assert violations(KEPT, VOL, {"name": "jupyterhub-prod-data"}, name="hub-data")
    for directory in ("jupyterhub-ldap-data", "jupyterhub-prod-ldap-data"):
        assert violations(KEPT, VOL, {"name": directory}) == []


def test_unkept_data_volume_is_flagged():
    found = violations(KEPT, VOL, {"name": "jupyterhub-data"}, name="hub-data")
    assert len(found) == 1 and "retain_on_delete=True" in found[0] and "protect" in found[0]
    # The label must not claim what the options (when visible) deny.
    mismatch = violations(
        KEPT,
        VOL,
        {"name": "jupyterhub-data", "labels": LABEL},
        opts=options(retain_on_delete=False),
    )
    assert len(mismatch) == 1 and "labelled" in mismatch[0]
    wrong_value = [{"label": "jupyterhub-zos.retain-on-delete", "value": "no"}]
    assert violations(KEPT, VOL, {"name": "jupyterhub-data", "labels": wrong_value})


def test_volume_missing_or_unknown_props_do_not_crash():
    # The Pulumi resource name identifies the volume when the Docker name is unknown.
    found = violations(KEPT, VOL, {"name": UNKNOWN_STRING}, name="jupyterhub-data")
    assert len(found) == 1
    assert violations(KEPT, VOL, {"name": "jupyterhub-data", "labels": UNKNOWN_ARRAY})
    assert violations(KEPT, VOL, {}, name="something") == []
    unknown_label = [{"label": UNKNOWN_STRING, "value": UNKNOWN_STRING}]
    assert violations(KEPT, VOL, {"name": "jupyterhub-data", "labels": unknown_label})


def test_volume_config_pattern_and_label():
    cfg = {"dataVolumePattern": "^hubdb$", "retainLabel": "keep"}
    assert violations(KEPT, VOL, {"name": "hubdb"}, config=cfg)
    assert violations(KEPT, VOL, {"name": "jupyterhub-data"}, config=cfg) == []
    keep = [{"label": "keep", "value": "true"}]
    assert violations(KEPT, VOL, {"name": "hubdb", "labels": keep}, config=cfg) != []
    cfg["retainingComponents"] = ["acme:db:Db"]
    kept = violations(
        KEPT, VOL, {"name": "hubdb", "labels": keep}, config=cfg, parent_type="acme:db:Db"
    )
    assert kept == []


def test_the_label_alone_does_not_keep_a_volume():
    """Issue 12: the rule passed on the label alone."""
    labelled = {"name": "jupyterhub-data", "labels": LABEL}
    # Where the graph shows the options, they decide: label or not.
    for parent in (None, STORAGE):
        found = violations(
            KEPT, VOL, labelled, opts=options(retain_on_delete=False), parent_type=parent
        )
        assert len(found) == 1 and "retain_on_delete is not set" in found[0]
    kept = options(retain_on_delete=False, protect=True)
    assert violations(KEPT, VOL, labelled, opts=kept) == []
    # Where the engine hides them, a label on a volume made anywhere else proves nothing.
    found = violations(KEPT, VOL, labelled, name="planted")
    assert len(found) == 1 and "believed only on a volume of the program's storage" in found[0]
    other = "jupyterhub-zos:dev_directory:DevDirectory"
    assert violations(KEPT, VOL, labelled, parent_type=other)
