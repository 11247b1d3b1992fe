"""`make policy-check` on a stack that has been deployed: its Pulumi.<stack>.yaml holds
`secure:` entries (ciphertexts made here exactly as the passphrase secrets provider
makes them: v1:<nonce>:<AES-256-GCM ciphertext and tag>, base64). Given values are
used, empty secrets read as unset, placeholders stand in where no rule reads the value,
and a value a rule needs is asked for by name. The README's form works."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

import pytest
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tools import policy_check
from tools.mock_graph import ROOT, run_program

KEY = AESGCM.generate_key(bit_length=256)


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(KEY).encrypt(nonce, plaintext.encode(), None)
    return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"


@pytest.fixture
def deployed():
    """A dev-* stack file as `make up` leaves it: plain keys, the real token encrypted,
    the unset secret keys as empty secrets. Written where `make policy-check` reads it
    (the project directory) under a name no one uses, and removed after."""
    stack = f"dev-policy-ci-{uuid.uuid4().hex[:8]}"
    path = ROOT / f"Pulumi.{stack}.yaml"

    def write(**secure: str) -> str:
        entries = {"KG_AUTH_TOKEN": "a-real-token-0123456789abcdef", "HUB_TLS_KEY": ""}
        entries |= {"ZOS_SSH_PRIVATE_KEY": "", "ZOS_P12_PASSWORD": ""} | secure
        config = {
            "jupyterhub-zos:HUB_ADMIN_USERS": ["admin"],
            "jupyterhub-zos:HUB_ALLOWED_USERS": ["alice"],
            **{f"jupyterhub-zos:{k}": {"secure": encrypt(v)} for k, v in entries.items()},
        }
        path.write_text(yaml.safe_dump({"encryptionsalt": encrypt("salt"), "config": config}))
        return stack

    try:
        yield write
    finally:
        path.unlink(missing_ok=True)


class Spy:
    def __init__(self):
        self.secrets = None

    def __call__(self, stack, config, secrets):
        self.secrets = dict(secrets)
        return run_program(stack, config=config, secrets=secrets)


def test_empty_secrets_are_recognised_without_decrypting():
    assert policy_check.is_empty_secret(encrypt(""))
    assert not policy_check.is_empty_secret(encrypt("x"))
    assert not policy_check.is_empty_secret("AAABAcW9bnM=")  # another provider's format


def test_a_deployed_stack_is_checked_with_placeholders(deployed, capsys):
    stack = deployed()
    spy = Spy()
    assert policy_check.main(["--stack", stack], run_program=spy) == 0
    err = capsys.readouterr().err
    assert "KG_AUTH_TOKEN: encrypted in the stack file, checked with a placeholder" in err
    assert "HUB_TLS_KEY: an empty secret in the stack file, checked as unset" in err
    assert spy.secrets["HUB_TLS_KEY"] == "" and spy.secrets["ZOS_P12_PASSWORD"] == ""
    assert spy.secrets["KG_AUTH_TOKEN"].startswith("policy-check-placeholder")


def test_given_secrets_are_used(deployed, monkeypatch, capsys):
    stack = deployed()
    monkeypatch.setenv("KG_AUTH_TOKEN", "the-real-one-from-the-env")
    spy = Spy()
    assert policy_check.main(["--stack", stack, "--secret", "KG_AUTH_TOKEN"], run_program=spy) == 0
    assert spy.secrets["KG_AUTH_TOKEN"] == "the-real-one-from-the-env"
    assert "KG_AUTH_TOKEN: encrypted" not in capsys.readouterr().err


def test_a_value_a_rule_needs_is_asked_for(deployed, capsys):
    stack = deployed(HUB_TLS_KEY="-----BEGIN PRIVATE KEY-----\n...")
    assert policy_check.main(["--stack", stack], run_program=Spy()) == 2
    err = capsys.readouterr().err
    assert "jupyterhub-zos:HUB_TLS_KEY: encrypted in the stack file" in err
    assert "--secret HUB_TLS_KEY" in err and "DECRYPT=1" in err


def test_decrypt_reads_the_values_from_the_pulumi_cli(deployed, tmp_path, monkeypatch):
    """A stand-in `pulumi` (tests only) answers `config --show-secrets --json`."""
    stack = deployed()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    answer = {
        "jupyterhub-zos:KG_AUTH_TOKEN": {"value": "decrypted-token-0123456789", "secret": True},
        "jupyterhub-zos:HUB_TLS_KEY": {"value": "", "secret": True},
        "jupyterhub-zos:HUB_HTTPS_PORT": {"value": "8443", "secret": False},
    }
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n# Stand-in for the Pulumi CLI (tests only).\nimport sys\n"
        f"assert sys.argv[1:] == ['config', '--show-secrets', '--json', '--stack', {stack!r}]\n"
        f"print({__import__('json').dumps(answer)!r})\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    spy = Spy()
    assert policy_check.main(["--stack", stack, "--decrypt"], run_program=spy) == 0
    assert spy.secrets["jupyterhub-zos:KG_AUTH_TOKEN"] == "decrypted-token-0123456789"
    assert "KG_AUTH_TOKEN" not in spy.secrets  # no placeholder: the real value is there


def test_the_readme_form_works(deployed):
    """`KG_AUTH_TOKEN=... make policy-check STACK=... ARGS='--secret KG_AUTH_TOKEN'`."""
    stack = deployed()
    done = subprocess.run(
        [
            "make",
            "-s",
            "-o",
            f"{sys.prefix}/.installed",
            f"VENV={sys.prefix}",
            "policy-check",
            f"STACK={stack}",
            "ARGS=--secret KG_AUTH_TOKEN",
        ],
        cwd=ROOT,
        env={**os.environ, "KG_AUTH_TOKEN": "from-the-environment-0123"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"policy-check: stack '{stack}'" in done.stdout and "0 mandatory" in done.stdout


def test_a_map_with_encrypted_parts_is_an_encrypted_entry(deployed, tmp_path, capsys):
    """`pulumi config set --secret --path 'ZOS_USER_CERTS.alice.p12'` encrypts the leaf:
    the key is encrypted (not read as a plain map), and policy-check asks for it by name."""
    from tools.mock_graph import encrypted_entries

    stack = deployed()
    path = ROOT / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["jupyterhub-zos:ZOS_USER_CERTS"] = {
        "alice": {"p12": {"secure": encrypt("MIIK...")}, "label": "ALICE"}
    }
    path.write_text(yaml.safe_dump(document))
    assert encrypted_entries(stack)["jupyterhub-zos:ZOS_USER_CERTS"] == ""
    assert policy_check.main(["--stack", stack], run_program=Spy()) == 2
    err = capsys.readouterr().err
    assert "jupyterhub-zos:ZOS_USER_CERTS: encrypted in the stack file" in err
    assert "--secret ZOS_USER_CERTS" in err and "each entry is a JSON object" not in err
