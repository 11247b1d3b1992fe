"""The config contract stays in one shape everywhere: Pulumi.yaml declares every key of
the settings model (types, defaults, secrets), the config reference (docs/reference/config.md)
is generated from it, and the dev stack needs no edits."""

from __future__ import annotations

import json
import typing

import yaml

from components.settings import SECRET_KEYS, StackConfig, parse_value
from components.settings.load import INVALID_DEFAULTS, _default_text, _validate_keys
from components.settings.source import RawConfig
from tools.config_reference import REFERENCE, UNDECLARED, generated_block, render
from tools.mock_graph import ROOT

PULUMI_YAML = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DECLARED = PULUMI_YAML["config"]

# The keys a seed's .env already has (the config contract: names kept verbatim from the seed).
SEED_KEYS = {
    "DOCKER_NOTEBOOK_IMAGE",
    "LDAP_SERVER_HOST",
    "LDAP_SERVER_PORT",
    "LDAP_BIND_DN",
    "LDAP_TLS",
    "LDAP_CA_CERT",
    "LDAP_ALLOWED_GROUPS",
    "KG_URL",
    "KG_AUTH_TOKEN",
    "VALIDATE_KG_CERT",
    "CLIENT_KEY",
    "CLIENT_CERT",
    "CLIENT_CA",
    "HUB_HOSTNAME",
    "HUB_HTTPS_PORT",
    "HUB_TLS_CERT",
    "HUB_TLS_KEY",
    "HUB_ADMIN_USERS",
    "HUB_ALLOWED_USERS",
    "NOTEBOOK_MEM_LIMIT",
    "NOTEBOOK_CPU_LIMIT",
    "IDLE_CULL_TIMEOUT",
    "ZOS_HOST",
    "ZOS_SSH_PORT",
    "ZOS_SSH_USER",
    "ZOS_SSH_PRIVATE_KEY",
    "ZOS_SSH_HOST_KEY",
    "ZOS_KG_USER",
    "ZOS_KEYRING",
    "ZOS_CA_LABEL",
    "ZOS_SERVER_CERT_LABEL",
    "ZOS_KG_PORT",
    "ZOS_ATTLS",
    "ZOS_USERS",
    "ZOS_P12_PASSWORD",
    "ZOS_KEY_SIZE",
}


def _pulumi_type(annotation) -> str:
    for arg in (annotation, *typing.get_args(annotation)):
        origin = typing.get_origin(arg) or arg
        if origin is list:
            return "array"
        if origin is bool:
            return "boolean"
        if origin is int:
            return "integer"
    return "string"


def test_project_runs_python_from_the_venv():
    assert PULUMI_YAML["name"] == "jupyterhub-zos"
    assert PULUMI_YAML["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }


def test_every_model_key_is_declared_and_nothing_else():
    assert set(DECLARED) | set(UNDECLARED) == set(StackConfig.model_fields)
    assert set(StackConfig.model_fields) >= SEED_KEYS


def test_declared_types_match_the_model():
    for key, spec in DECLARED.items():
        assert spec["type"] == _pulumi_type(StackConfig.model_fields[key].annotation), key
        if spec["type"] == "array":
            assert spec["items"] == {"type": "string"}, key


def test_declared_defaults_are_the_model_defaults():
    for key, spec in DECLARED.items():
        field = StackConfig.model_fields[key]
        if "default" not in spec:
            assert key == "HUB_ADMIN_USERS", f"{key} has no default, so the CLI requires it"
            continue
        default = spec["default"]
        if default in ("", 0) and field.default in (None, 0):
            continue  # empty (or 0 for the LDAP port) means unset
        text = default if isinstance(default, str) else json.dumps(default)
        assert parse_value(key, text) == (field.default, []), key


def test_every_default_the_loader_takes_unvalidated_is_valid_and_parses_to_itself():
    # load.py takes a value equal to its key's default text as the default, without
    # building that key's validator: right only if validating it would give the same.
    trusted = {k: _default_text(k) for k in StackConfig.model_fields if _default_text(k)}
    assert len(trusted) > 40  # most keys: Pulumi.yaml delivers their defaults every run
    for key, text in trusted.items():
        assert parse_value(key, text) == (StackConfig.model_fields[key].default, []), key
    for key in INVALID_DEFAULTS:  # not a valid value: validated (and refused) as given
        default = StackConfig.model_fields[key].default
        assert parse_value(key, json.dumps(default))[1], key


def test_defaults_loaded_without_validation_equal_validated_ones():
    texts = {k: t for k in StackConfig.model_fields if (t := _default_text(k))}
    secret = frozenset(texts) & SECRET_KEYS
    values, problems = _validate_keys(RawConfig("jupyterhub-zos", texts, secret))
    assert problems == []
    assert values == {k: parse_value(k, t)[0] for k, t in texts.items()}
    # Each its own copy: a list or map default is never shared with the model's.
    for key, value in values.items():
        if isinstance(value, list | dict):
            assert value is not StackConfig.model_fields[key].default, key


def test_secrets_are_declared_secret():
    # Maps cannot be declared in Pulumi.yaml: their reference row says "secret".
    undeclared = {k for k, (kind, _d, _t) in UNDECLARED.items() if "secret" in kind}
    assert {k for k, spec in DECLARED.items() if spec.get("secret")} | undeclared == SECRET_KEYS


def test_every_key_is_described():
    for key, spec in DECLARED.items():
        assert len(spec.get("description", "").split()) >= 4, key


def test_config_reference_is_generated_from_pulumi_yaml():
    page = (ROOT / REFERENCE).read_text()
    assert generated_block(page) == render(), "run `make config-reference`"
    for key in StackConfig.model_fields:
        assert f"| `{key}` |" in page
    assert f"]({REFERENCE.as_posix()})" in (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("\n\n")[:3]
    assert "make up" in "\n".join(head) and "make test" in "\n".join(head)


def test_dev_stack_needs_no_edits():
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert dev["jupyterhub-zos:HUB_ADMIN_USERS"]
    assert dev["jupyterhub-zos:HUB_HTTPS_PORT"] == 8443
    assert not [k for k, v in dev.items() if isinstance(v, dict) and "secure" in v]


def test_make_up_stores_an_empty_secret_for_every_secret_key():
    # pulumi/pulumi#21865: tools/pulumi.sh sets each unset secret key to an empty secret.
    import re

    script = (ROOT / "tools" / "pulumi.sh").read_text()
    (keys,) = re.findall(r"^for key in ([A-Z0-9_ ]+); do$", script, re.MULTILINE)
    # Only declared keys have a Pulumi.yaml default to be refused (a map is set by --path).
    assert set(keys.split()) == SECRET_KEYS - set(UNDECLARED)
