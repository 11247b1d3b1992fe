"""tools/pulumi.sh: one set-up (backend, passphrase, stack) for every make target.

The Pulumi CLI cannot be installed here, so a stand-in `pulumi` on PATH (a Python
script, named as such) records each call's argv and the environment the CLI would see;
`stack select` fails until `stack init` ran, as with the real CLI. A stand-in `docker`
answers `docker info`."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tooling import missing
from tools.mock_graph import ROOT

PINNED = next(
    line.split("==")[1]
    for line in (ROOT / "requirements.txt").read_text().splitlines()
    if line.startswith("pulumi==")
)

STAND_IN_PULUMI = """#!{python}
# Stand-in for the Pulumi CLI (tests only): records argv and the set-up's environment.
import json, os, sys
from pathlib import Path
log = Path({log!r})
stacks = Path({stacks!r})
args = sys.argv[1:]
with log.open("a") as f:
    f.write(json.dumps({{
        "argv": args,
        "backend": os.environ.get("PULUMI_BACKEND_URL"),
        "passphrase_file": os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"),
        "stdin": "" if sys.stdin.isatty() else sys.stdin.read(),
    }}) + "\\n")
if args[:1] == ["version"]:
    print({version!r})
elif args[:2] == ["stack", "select"]:
    sys.exit(0 if (stacks / args[2]).exists() else 255)
elif args[:2] == ["stack", "init"]:
    stacks.mkdir(exist_ok=True)
    (stacks / args[2]).touch()
elif args[:2] == ["config", "--show-secrets"]:
    print(json.dumps({{"jupyterhub-zos:KG_AUTH_TOKEN": {{"value": "x" * 20, "secret": True}}}}))
"""


@pytest.fixture
def stand_in(tmp_path):
    """(env, calls()) with a stand-in pulumi and docker first on PATH and a fresh HOME."""
    if shutil.which("openssl") is None:
        missing("needs openssl (tools/pulumi.sh makes the passphrase with it)")
    log = tmp_path / "calls.jsonl"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def make(version: str = f"v{PINNED}") -> None:
        script = bin_dir / "pulumi"
        script.write_text(
            STAND_IN_PULUMI.format(
                python=sys.executable,
                log=str(log),
                stacks=str(tmp_path / "stacks"),
                version=version,
            )
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)

    make()
    docker = bin_dir / "docker"
    docker.write_text("#!/bin/sh\n# stand-in docker (tests only): `docker info` answers\nexit 0\n")
    docker.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
    }

    def calls() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return env, calls, make, home


def run(env, *args, stack="ci-stand-in", **extra):
    return subprocess.run(
        ["tools/pulumi.sh", *args],
        cwd=ROOT,
        env={**env, "STACK": stack, **extra},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def test_state_and_passphrase_live_outside_the_checkout(stand_in):
    env, calls, _, home = stand_in
    done = run(env, "preview", "--diff")
    assert done.returncode == 0, done.stderr
    state = home / ".local/state/jupyterhub-zos"
    recorded = calls()
    assert {c["backend"] for c in recorded} == {f"file://{state}/state"}
    assert {c["passphrase_file"] for c in recorded if c["argv"][0] != "version"} == {
        str(state / "passphrase-ci-stand-in")
    }
    passphrase = state / "passphrase-ci-stand-in"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert len(passphrase.read_text().strip()) >= 32
    argvs = [c["argv"] for c in recorded]
    assert [
        "stack",
        "init",
        "ci-stand-in",
        "--secrets-provider",
        "passphrase",
        "--non-interactive",
    ] in argvs
    assert argvs[-1] == ["preview", "--diff"]
    assert not (ROOT / ".pulumi-passphrase-ci-stand-in").exists()
    # A second command: same backend and passphrase, the stack selected, not made again.
    first = passphrase.read_text()
    assert run(env, "destroy").returncode == 0
    again = calls()[len(recorded) :]
    assert not any(c["argv"][:2] == ["stack", "init"] for c in again)
    assert {c["backend"] for c in again} == {f"file://{state}/state"}
    assert passphrase.read_text() == first


def test_xdg_state_home_and_an_explicit_directory_are_honoured(stand_in, tmp_path):
    env, calls, _, _ = stand_in
    assert run(env, "stack", XDG_STATE_HOME=str(tmp_path / "xdg")).returncode == 0
    assert calls()[-1]["backend"] == f"file://{tmp_path}/xdg/jupyterhub-zos/state"
    mine = tmp_path / "mine"
    assert run(env, "stack", JUPYTERHUB_ZOS_STATE_DIR=str(mine)).returncode == 0
    assert calls()[-1]["backend"] == f"file://{mine}/state"
    assert calls()[-1]["passphrase_file"] == str(mine / "passphrase-ci-stand-in")


def test_a_shared_backend_gets_no_passphrase_file(stand_in):
    env, calls, _, home = stand_in
    done = run(env, "stack", PULUMI_BACKEND_URL="s3://bucket/jupyterhub-zos")
    assert done.returncode == 0, done.stderr
    last = calls()[-1]
    assert last["backend"] == "s3://bucket/jupyterhub-zos" and last["passphrase_file"] is None
    init = [c["argv"] for c in calls() if c["argv"][:2] == ["stack", "init"]]
    assert init == [["stack", "init", "ci-stand-in", "--non-interactive"]]
    assert not (home / ".local/state/jupyterhub-zos").exists()


def test_run_gives_another_command_the_same_set_up(stand_in, tmp_path):
    env, calls, _, home = stand_in
    assert run(env, "stack").returncode == 0  # the stack exists: --run makes none
    out = tmp_path / "seen.json"
    done = run(
        env,
        "--run",
        sys.executable,
        "-c",
        "import json, os, sys; json.dump({k: os.environ.get(k) for k in "
        "('PULUMI_BACKEND_URL', 'PULUMI_CONFIG_PASSPHRASE_FILE')}, open(sys.argv[1], 'w'))",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    state = home / ".local/state/jupyterhub-zos"
    assert json.loads(out.read_text()) == {
        "PULUMI_BACKEND_URL": f"file://{state}/state",
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(state / "passphrase-ci-stand-in"),
    }
    assert sum(c["argv"][:2] == ["stack", "init"] for c in calls()) == 1  # by `stack` alone


def test_run_on_a_stack_that_does_not_exist_makes_nothing(stand_in, tmp_path):
    """--run is what the read-only commands use (make status, backup, restore,
    policy-check DECRYPT=1): a mistyped STACK stops with exit 2 and its name, with no
    stack, state directory, passphrase file or Pulumi.<stack>.yaml made."""
    env, calls, _, home = stand_in
    out = tmp_path / "ran"
    done = run(env, "--run", "touch", str(out), stack="ci-stand-in-typo")
    assert done.returncode == 2, done.stderr
    assert "no stack 'ci-stand-in-typo'" in done.stderr and "pulumi stack ls" in done.stderr
    assert not out.exists(), "the command must not run"
    argvs = [c["argv"] for c in calls()]
    assert not [a for a in argvs if a[:2] in (["stack", "init"], ["config", "set"])]
    assert not (tmp_path / "stacks").exists()
    assert not (home / ".local").exists()
    assert not (ROOT / "Pulumi.ci-stand-in-typo.yaml").exists()


def test_run_on_an_existing_stack_writes_nothing(stand_in, tmp_path):
    """The read-only commands' --run neither stores the empty secrets make up stores
    (`config set`) nor makes a passphrase file for a stack that has none."""
    env, calls, _, home = stand_in
    assert run(env, "stack").returncode == 0
    passphrase = home / ".local/state/jupyterhub-zos/passphrase-ci-stand-in"
    passphrase.unlink()
    before = len(calls())
    done = run(env, "--run", "true")
    assert done.returncode == 0, done.stderr
    assert not [c for c in calls()[before:] if c["argv"][:2] == ["config", "set"]]
    assert not passphrase.exists()


def test_run_init_makes_the_stack_when_missing(stand_in, tmp_path):
    """--run-init (make import-env) creates the stack, as make up does."""
    env, calls, _, home = stand_in
    out = tmp_path / "ran"
    done = run(env, "--run-init", "touch", str(out))
    assert done.returncode == 0, done.stderr
    assert out.exists()
    assert [c["argv"][:3] for c in calls() if c["argv"][:2] == ["stack", "init"]] == [
        ["stack", "init", "ci-stand-in"]
    ]
    assert (home / ".local/state/jupyterhub-zos/passphrase-ci-stand-in").exists()


def test_where_changes_nothing(stand_in):
    env, calls, _, home = stand_in
    done = run(env, "--where")
    assert done.returncode == 0, done.stderr
    assert f"backend: file://{home}/.local/state/jupyterhub-zos/state" in done.stdout
    assert "passphrase file: " in done.stdout
    assert calls() == [] and not (home / ".local").exists()


def test_a_cli_of_another_version_is_named(stand_in):
    env, calls, make, _ = stand_in
    make(version="v3.100.0")
    done = run(env, "stack")
    assert done.returncode == 0, done.stderr
    assert f"installed Pulumi CLI is 3.100.0, this project pins {PINNED}" in done.stderr
    make()
    assert "installed Pulumi CLI" not in run(env, "stack").stderr


def test_import_env_and_up_use_the_same_set_up(stand_in, tmp_path):
    """`make import-env` then `make up`: one backend, one passphrase, one stack."""
    env, calls, _, home = stand_in
    (tmp_path / ".env").write_text(
        "HUB_ADMIN_USERS=admin\nLDAP_SERVER_HOST=ldap.test\nLDAP_BIND_DN=uid={username},dc=test\n"
        "KG_URL=https://gateway.test:8099\n"
    )
    venv = Path(sys.prefix)
    common = ["make", "-s", "-o", f"{venv}/.installed", f"VENV={venv}", "STACK=ci-stand-in"]
    done = subprocess.run(
        [*common, "import-env", f"ENV={tmp_path / '.env'}"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*common, "up"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    recorded = [c for c in calls() if c["argv"][0] != "version"]
    state = home / ".local/state/jupyterhub-zos"
    assert {(c["backend"], c["passphrase_file"]) for c in recorded} == {
        (f"file://{state}/state", str(state / "passphrase-ci-stand-in"))
    }
    argvs = [c["argv"] for c in recorded]
    assert [
        "config",
        "set",
        "--stack",
        "ci-stand-in",
        "--",
        "KG_URL",
        "https://gateway.test:8099",
    ] in argvs
    assert argvs[-1][:1] == ["up"]
    assert sum(a[:2] == ["stack", "init"] for a in argvs) == 1


def test_env_gives_a_shell_the_same_set_up(stand_in):
    """`eval "$(tools/pulumi.sh --env)"`, then plain `pulumi config set` (the README's
    recipes) reaches the backend and passphrase `make up` uses."""
    env, calls, _, home = stand_in
    done = subprocess.run(
        ["bash", "-c", 'eval "$(tools/pulumi.sh --env)" && pulumi config set --stack x K v'],
        cwd=ROOT,
        env={**env, "STACK": "ci-stand-in"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    state = home / ".local/state/jupyterhub-zos"
    last = calls()[-1]
    assert last["argv"] == ["config", "set", "--stack", "x", "K", "v"]
    assert last["backend"] == f"file://{state}/state"
    assert last["passphrase_file"] == str(state / "passphrase-ci-stand-in")
    assert any(c["argv"][:2] == ["stack", "init"] for c in calls())


def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY: (.*)$", makefile, re.M)[1].split())
    done = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    listed = set(re.findall(r"^  make (\S+)", done.stdout, re.M))
    assert listed == phony


def test_policy_check_decrypt_uses_the_same_set_up(stand_in):
    env, calls, _, home = stand_in
    assert run(env, "stack", stack="dev-ci-stand-in").returncode == 0  # --run makes none
    venv = Path(sys.prefix)
    done = subprocess.run(
        [
            "make",
            "-s",
            "-o",
            f"{venv}/.installed",
            f"VENV={venv}",
            "policy-check",
            "STACK=dev-ci-stand-in",
            "DECRYPT=1",
            "ARGS=--set 'HUB_ADMIN_USERS=[\"admin\"]'",  # make hands ARGS to sh as written
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "policy-check: stack 'dev-ci-stand-in'" in done.stdout
    (show,) = [c for c in calls() if c["argv"][:2] == ["config", "--show-secrets"]]
    state = home / ".local/state/jupyterhub-zos"
    assert show["backend"] == f"file://{state}/state"
    assert show["passphrase_file"] == str(state / "passphrase-dev-ci-stand-in")


def test_no_docker_engine_is_said_with_the_set_up_to_point_the_stack_elsewhere(stand_in):
    env, calls, _, _ = stand_in
    docker = Path(env["PATH"].split(os.pathsep)[0]) / "docker"
    docker.write_text("#!/bin/sh\n# stand-in docker (tests only): no engine answers\nexit 1\n")
    done = run(env, "preview")
    assert done.returncode == 1
    hint = "STACK=ci-stand-in tools/pulumi.sh config set docker:host ssh://user@host"
    assert hint in done.stderr, done.stderr
    assert not [c for c in calls() if c["argv"][:1] == ["preview"]]
