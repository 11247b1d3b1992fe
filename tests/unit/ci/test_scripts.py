""".ci/ scripts: shellcheck-clean, and .ci/start-docker-engine's paths run against stub
`docker`, `dpkg`, `apt-get` and `dockerd` commands (the machine's own engine, packages
and daemons are never touched)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parents[3]
CI_SCRIPTS = sorted(p for p in (ROOT / ".ci").iterdir() if p.is_file())
START_ENGINE = ROOT / ".ci" / "start-docker-engine"


def stub_daemon_name() -> str:
    """A name no other daemon has, fresh per test (pgrep -x also sees unreaped zombies of
    earlier stubs); at most 15 characters, as pgrep matches the kernel's short name."""
    return f"jzs-dockd-{secrets.token_hex(2)}"


def test_install_system_deps_starts_the_engine():
    text = (ROOT / ".ci" / "install-system-deps").read_text()
    assert 'bash "$(dirname "$0")/start-docker-engine"' in text


@pytest.mark.parametrize("script", CI_SCRIPTS, ids=lambda p: p.name)
def test_shellcheck(script):
    shellcheck = require_tool("shellcheck")
    result = subprocess.run(
        [shellcheck, "--color=never", "--severity=style", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def stub(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def host(tmp_path):
    """A bin dir of stubs. `docker info` answers once the file `up` exists; dpkg knows
    the packages named in `installed`; apt-get appends its arguments to `apt.log`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir / "docker", f'[ "$1" = info ] && [ -e "{tmp_path}/up" ]\n')
    stub(bin_dir / "dpkg", f'grep -qx "$2" "{tmp_path}/installed" 2>/dev/null\n')
    stub(bin_dir / "apt-get", f'echo "$*" >>"{tmp_path}/apt.log"\n')
    (tmp_path / "installed").write_text("")
    started: list[int] = []
    yield tmp_path, bin_dir, started
    pid_file = tmp_path / "daemon.pid"
    if pid_file.exists():  # the stub daemon this test started, by its pid only
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)


def run(tmp_path: Path, bin_dir: Path, daemon_body: str, wait: int = 10):
    name = stub_daemon_name()
    stub(bin_dir / name, f'echo $$ >"{tmp_path}/daemon.pid"\n' + daemon_body)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "DOCKERD": name,
        "DOCKERD_LOG": str(tmp_path / "dockerd.log"),
        "DOCKERD_WAIT": str(wait),
    }
    return subprocess.run(
        ["bash", str(START_ENGINE)], env=env, capture_output=True, text=True, timeout=60
    )


def test_an_answering_engine_means_nothing_is_installed_or_started(host):
    tmp_path, bin_dir, _ = host
    (tmp_path / "up").touch()
    result = run(tmp_path, bin_dir, "exit 0\n")
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert not (tmp_path / "apt.log").exists()
    assert not (tmp_path / "daemon.pid").exists()


def test_no_engine_installs_docker_and_debootstrap_then_starts_the_daemon(host):
    tmp_path, bin_dir, _ = host
    result = run(tmp_path, bin_dir, f'echo "daemon up"\ntouch "{tmp_path}/up"\nsleep 60\n')
    assert result.returncode == 0, result.stdout + result.stderr
    apt = (tmp_path / "apt.log").read_text().splitlines()
    assert apt[0] == "update -q"
    assert apt[1].split()[-3:] == ["docker.io", "debootstrap", "procps"]
    assert "daemon up" in (tmp_path / "dockerd.log").read_text()
    assert "the Docker engine answers" in result.stdout
    # Left running for `make test`.
    os.kill(int((tmp_path / "daemon.pid").read_text()), 0)


def test_installed_packages_are_not_installed_again(host):
    tmp_path, bin_dir, _ = host
    (tmp_path / "installed").write_text("docker.io\ndebootstrap\nprocps\n")
    result = run(tmp_path, bin_dir, f'touch "{tmp_path}/up"\nsleep 60\n')
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "apt.log").exists()


def test_a_daemon_that_exits_fails_with_its_log(host):
    tmp_path, bin_dir, _ = host
    result = run(tmp_path, bin_dir, 'echo "failed to start daemon: iptables missing"\nexit 1\n')
    assert result.returncode == 1
    assert "dockerd exited" in result.stderr
    assert "failed to start daemon: iptables missing" in result.stderr


def test_a_daemon_that_never_answers_fails_after_the_bounded_wait(host):
    tmp_path, bin_dir, _ = host
    result = run(tmp_path, bin_dir, 'echo "still starting"\nsleep 60\n', wait=2)
    assert result.returncode == 1
    assert "did not answer `docker info` within 2s" in result.stderr
    assert "still starting" in result.stderr
