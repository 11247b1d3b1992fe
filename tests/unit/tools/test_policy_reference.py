"""docs/reference/policies.md is what tools/policy_reference.py makes of the pack, and
the README points at it."""

from __future__ import annotations

from policies.pack import RULES
from tools.mock_graph import ROOT
from tools.policy_reference import PATH, render


def test_policy_reference_is_generated_from_the_pack():
    generated = render()
    assert PATH.read_text() == generated, "run `make policy-reference`"
    for rule in RULES:
        assert f"| `{rule.name}` | [" in generated
        for key in rule.defaults:
            assert f"| `{rule.name}` | `{key}` |" in generated, (rule.name, key)


def test_readme_links_the_policy_reference():
    assert "(docs/reference/policies.md)" in (ROOT / "README.md").read_text()
