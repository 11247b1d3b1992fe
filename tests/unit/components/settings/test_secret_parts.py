"""A secret map key set part by part: `pulumi config set --path 'ZOS_USER_CERTS.alice.p12'`
without --secret stores that part in clear in Pulumi.<stack>.yaml, and once any other
part is encrypted the CLI hands the program the whole key as secret. The stack file is
the only place that shows it; the program refuses it, naming the parts."""

from __future__ import annotations

import json

import pytest
import yaml

from components.settings import SettingsError, validate
from components.settings.source import RawConfig, plain_secret_parts

NS = "jupyterhub-zos"


def stack_file(directory, entries: dict, stack: str = "prod"):
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": {f"{NS}:{k}": v for k, v in entries.items()}}))
    return path


def test_the_parts_in_clear_of_a_secret_map_are_found(tmp_path):
    path = stack_file(
        tmp_path,
        {
            "ZOS_USER_CERTS": {
                "alice": {"p12": {"secure": "v1:AA:BB"}, "password": "hunter2-in-clear"},
                "bob": {"p12": {"secure": "v1:CC:DD"}, "password": {"secure": "v1:EE:FF"}},
            },
            "ZOS_KG_SERVER_TLS": {"secure": "v1:GG:HH"},  # the whole key encrypted: fine
        },
    )
    found = plain_secret_parts(path, NS, ["ZOS_USER_CERTS", "ZOS_KG_SERVER_TLS"])
    assert found == {"ZOS_USER_CERTS": ("ZOS_USER_CERTS.alice.password",)}
    # A user named `secure` is a user, not a ciphertext.
    path = stack_file(
        tmp_path,
        {"ZOS_USER_CERTS": {"secure": {"p12": "MIIK-in-clear"}, "bob": {"secure": "v1:A:B"}}},
    )
    found = plain_secret_parts(path, NS, ["ZOS_USER_CERTS"])
    assert found == {"ZOS_USER_CERTS": ("ZOS_USER_CERTS.secure.p12",)}
    assert plain_secret_parts(tmp_path / "Pulumi.none.yaml", NS, ["ZOS_USER_CERTS"]) == {}


def test_the_program_refuses_them_naming_the_parts_and_never_the_value():
    certs = {"alice": {"p12": "MIIK", "password": "hunter2-in-clear"}}
    raw = RawConfig(
        NS,
        {"HUB_ADMIN_USERS": '["admin"]', "ZOS_USER_CERTS": json.dumps(certs)},
        frozenset({"ZOS_USER_CERTS"}),
        {"ZOS_USER_CERTS": ("ZOS_USER_CERTS.alice.password",)},
    )
    with pytest.raises(SettingsError) as raised:
        validate(raw, "prod", None, None)
    assert "ZOS_USER_CERTS" in raised.value.keys
    message = str(raised.value)
    assert "ZOS_USER_CERTS.alice.password" in message and "--secret --path" in message
    assert "hunter2" not in message


def test_the_program_reads_the_running_stacks_file_before_any_resource():
    """Under the mock runtime, as under the CLI: cwd is the project, and
    Pulumi.<stack>.yaml there holds the map with a part in clear."""
    import uuid

    import pulumi

    from tools.mock_graph import ROOT, run_program

    stack = f"prod-parts-{uuid.uuid4().hex[:8]}"
    path = stack_file(
        ROOT,
        {"ZOS_USER_CERTS": {"alice": {"p12": {"secure": "v1:AA:BB"}, "password": "in-clear"}}},
        stack,  # a name no one uses, removed after
    )
    try:
        with pytest.raises(SettingsError) as raised:
            certs = {"alice": {"p12": "MIIK", "password": "in-clear"}}
            run_program(stack, secrets={"ZOS_USER_CERTS": certs})
    finally:
        path.unlink()
    assert isinstance(raised.value, pulumi.RunError)
    assert raised.value.graph.resources == []
    assert "ZOS_USER_CERTS.alice.password" in str(raised.value)
