"""Config reaches the program as the CLI delivers it: layered, and as CLI strings."""

from __future__ import annotations

from tools.mock_graph import cli_string, stack_config


def test_config_layers_apply_in_cli_order(scratch):
    values, secret = stack_config("s", {"GREETING": None}, {"TOKEN": "x"}, root=scratch.parent)
    assert "jupyterhub-zos:GREETING" not in values
    assert secret == {"jupyterhub-zos:TOKEN"}
    values, _ = stack_config("other", {}, {}, root=scratch.parent)
    assert values["jupyterhub-zos:GREETING"] == "hello"


def test_values_reach_the_program_as_cli_strings():
    assert cli_string(["a", "b"]) == '["a", "b"]'
    assert cli_string(True) == "true" and cli_string(8443) == "8443"
    assert cli_string({"alice": "ALICE01"}) == '{"alice": "ALICE01"}'
