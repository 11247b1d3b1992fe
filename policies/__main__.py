"""The jupyterhub-zos policy pack, as the Pulumi CLI runs it:

    pulumi preview --policy-pack policies [--policy-pack-config policy-config.json]

The CLI starts `python -m pulumi.policy <engine> .` in this directory, which runs this
file as a script (runpy.run_path). PolicyPack() serves the policies to the engine and
never returns: nothing imports this file; the rules live (and are tested) in the package
`policies` (pack.py assembles them).
"""

import sys
from pathlib import Path

# runpy puts only this directory on sys.path, where the pack's modules would be top-level
# names; their relative imports need them as the package `policies`, the same names the
# tests and tools/policy_check.py import. So put the directory above on sys.path too.
# Nothing else from there is imported: the pack needs only pulumi-policy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.pack import DESCRIPTION, PACK_NAME, POLICIES  # noqa: E402
from policies.sdk import keep_secret_marks  # noqa: E402

# Without this the SDK hands validators secret inputs as plain strings (see sdk.py).
keep_secret_marks()

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    # Each policy sets its own level; this only covers a policy that forgets to.
    enforcement_level=EnforcementLevel.MANDATORY,
    description=DESCRIPTION,
)
