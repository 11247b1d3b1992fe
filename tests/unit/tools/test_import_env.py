"""Migrating a seed `.env`: parsed the way the seed wrote it, set with `pulumi config set`,
secrets only on stdin. A stand-in `pulumi` on PATH records what it was given."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from tools.import_env import EnvFileError, parse_env, parse_userlist, plan
from tools.mock_graph import ROOT

SEED_ENV = (
    "# LDAP Settings\r\n"
    "# The IP of your LDAP Server (NO QUOTES!)\r\n"
    "LDAP_SERVER_HOST=ldap.test\r\n"
    "LDAP_SERVER_PORT=389  # the port\r\n"
    "LDAP_BIND_DN='cn={username},profiletype=USER,cn=example,cn=org'\r\n"
    "\r\n"
    "KG_URL=https://gateway.test:8099\r\n"
    'KG_AUTH_TOKEN="s3cret-token-#-0123456789"\r\n'
    "VALIDATE_KG_CERT=true\r\n"
    "CLIENT_KEY=key.pem\r\n"
    "export CLIENT_CERT=cert.pem\r\n"
    "CLIENT_CA=cacert.pem\r\n"
    "DOCKER_NOTEBOOK_IMAGE=quay.io/jupyter/base-notebook:2025-10-20\r\n"
    "JUPYTERHUB_VERSION=0.9.2\r\n"
    "SOMETHING_ELSE=1\r\n"
    "LDAP_ALLOWED_GROUPS=cn=jupyter,ou=groups,dc=test\r\n"
    "HUB_ADMIN_USERS=admin\r\n"
)
# The least a .env needs for a stack that is not a dev stack: admins, LDAP, a gateway.
MINIMAL_ENV = (
    "HUB_ADMIN_USERS=admin\n"
    "LDAP_SERVER_HOST=ldap.test\n"
    "LDAP_BIND_DN=uid={username},dc=test\n"
    "KG_URL=https://gateway.test:8099\n"
)
SECRET = "s3cret-token-#-0123456789"


def test_parse_handles_comments_quotes_export_and_crlf():
    env = parse_env(SEED_ENV)
    assert env["LDAP_SERVER_PORT"] == "389"
    assert env["LDAP_BIND_DN"] == "cn={username},profiletype=USER,cn=example,cn=org"
    assert env["KG_AUTH_TOKEN"] == SECRET  # a # inside quotes is kept
    assert env["CLIENT_CERT"] == "cert.pem"
    assert env["LDAP_ALLOWED_GROUPS"] == "cn=jupyter,ou=groups,dc=test"
    assert parse_env('A=x#y\nB="a \\"q\\""\n') == {"A": "x#y", "B": 'a "q"'}


@pytest.mark.parametrize("bad", ["just words", "KEY='unterminated", 'K="v" trailing'])
def test_parse_refuses_malformed_lines_naming_the_line(bad):
    with pytest.raises(EnvFileError, match=r"line 2"):
        parse_env(f"# ok\n{bad}\n")


def test_userlist_gives_admins_and_users():
    assert parse_userlist("alice admin\nbob\n# comment\n\ncarol  admin\n") == (
        ["alice", "carol"],
        ["bob"],
    )


def test_plan_reports_unknown_keys_and_why():
    result = plan(parse_env(SEED_ENV))
    assert "replaced" not in result.unknown  # sanity
    assert "pins JupyterHub" in result.unknown["JUPYTERHUB_VERSION"]
    assert "not a config key" in result.unknown["SOMETHING_ELSE"]
    keys = {s.key for s in result.settings}
    assert {"LDAP_SERVER_HOST", "KG_AUTH_TOKEN", "LDAP_ALLOWED_GROUPS"} <= keys
    assert not result.problems


def test_plan_refuses_bad_values_without_echoing_secrets():
    bad_token = "a-long-enough-token-'quoted'"
    result = plan({"HUB_HTTPS_PORT": "http", "KG_AUTH_TOKEN": bad_token})
    assert any(p.startswith("HUB_HTTPS_PORT") for p in result.problems)
    assert any(p.startswith("KG_AUTH_TOKEN") for p in result.problems)
    assert not any(bad_token in p for p in result.problems)


@pytest.fixture
def fake_pulumi(tmp_path):
    """A `pulumi` that appends {"argv": [...], "stdin": "..."} per call to calls.jsonl."""
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "bin" / "pulumi"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'stdin': sys.stdin.read()}) + '\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{script.parent}{os.pathsep}{os.environ['PATH']}"}
    return env, log


def run_tool(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "tools.import_env", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_import_sets_each_key_secrets_on_stdin(tmp_path, fake_pulumi):
    env, log = fake_pulumi
    (tmp_path / ".env").write_text(SEED_ENV)
    (tmp_path / "userlist").write_text("alice admin\nbob\n")
    done = run_tool(
        env,
        "--env",
        str(tmp_path / ".env"),
        "--stack",
        "prod",
        "--userlist",
        str(tmp_path / "userlist"),
    )
    assert done.returncode == 0, done.stderr
    recorded = calls(log)
    argvs = [c["argv"] for c in recorded]
    assert ["config", "set", "--stack", "prod", "--secret", "KG_AUTH_TOKEN"] in argvs
    assert {
        "argv": ["config", "set", "--stack", "prod", "--secret", "KG_AUTH_TOKEN"],
        "stdin": SECRET,
    } in recorded
    assert ["config", "set", "--stack", "prod", "--", "LDAP_SERVER_HOST", "ldap.test"] in argvs
    assert [
        "config",
        "set",
        "--stack",
        "prod",
        "--path",
        "--",
        "HUB_ADMIN_USERS[0]",
        "alice",
    ] in argvs
    assert [
        "config",
        "set",
        "--stack",
        "prod",
        "--path",
        "--",
        "HUB_ALLOWED_USERS[0]",
        "bob",
    ] in argvs
    assert all(SECRET not in " ".join(a) for a in argvs)
    assert SECRET not in done.stdout + done.stderr
    assert "not imported: JUPYTERHUB_VERSION" in done.stderr


def test_dry_run_sets_nothing_and_masks_secrets(tmp_path, fake_pulumi):
    env, log = fake_pulumi
    (tmp_path / ".env").write_text(SEED_ENV)
    done = run_tool(env, "--env", str(tmp_path / ".env"), "--stack", "prod", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert calls(log) == []
    assert "would run: pulumi config set --stack prod --secret KG_AUTH_TOKEN" in done.stdout
    assert "********" in done.stdout and SECRET not in done.stdout


def test_bad_file_sets_nothing(tmp_path, fake_pulumi):
    env, log = fake_pulumi
    (tmp_path / ".env").write_text(SEED_ENV + "HUB_HTTPS_PORT=https\n")
    done = run_tool(env, "--env", str(tmp_path / ".env"), "--stack", "prod")
    assert done.returncode == 2
    assert "HUB_HTTPS_PORT" in done.stderr and "nothing was set" in done.stderr
    assert calls(log) == []


def test_make_target_passes_the_arguments(tmp_path, fake_pulumi):
    env, log = fake_pulumi
    (tmp_path / ".env").write_text(MINIMAL_ENV)
    done = subprocess.run(
        # -o: the venv running this test is the one to use; do not (re)build it.
        [
            "make",
            "-s",
            "-o",
            f"{sys.prefix}/.installed",
            "import-env",
            f"ENV={tmp_path / '.env'}",
            "STACK=staging",
            "DRY_RUN=1",
            f"VENV={sys.prefix}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "would run: pulumi config set --stack staging -- KG_URL https://gateway.test:8099"
        in done.stdout
    )
