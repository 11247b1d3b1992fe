"""The jupyterhub-zos policy pack, as the Pulumi CLI runs it:

    pulumi preview --policy-pack policies [--policy-pack-config policy-config.json]

The CLI starts `python -m pulumi.policy <engine> .` in this directory, so `rules` is
imported from here. PolicyPack() serves the policies to the engine and never returns:
nothing imports this file; the rules live (and are tested) in rules.py.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import PACK_NAME, POLICIES, keep_secret_marks

# Without this the SDK hands validators secret inputs as plain strings (see rules.py).
keep_secret_marks()

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    # Each policy sets its own level; this only covers a policy that forgets to.
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Guardrails for jupyterhub-zos: containers, images, keys, secrets, TLS, z/OS.",
)
