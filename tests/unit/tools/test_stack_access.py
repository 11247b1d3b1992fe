"""tools/stack_access.py: the stack's outputs and Docker host, from a file or from the
Pulumi CLI (a stand-in `pulumi` on PATH records what it is asked), and the Docker
client for each kind of host."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.tooling import free_port, missing
from tools import stack_access
from tools.stack_access import StackError, load_stack

OUTPUTS = {"hub_url": "https://localhost:8443/", "data_volume": "jupyterhub-prod-data"}


def stand_in_pulumi(tmp_path, monkeypatch, outputs: dict, docker_host: str | None):
    """A `pulumi` that answers `stack output` and `config get docker:host` as the CLI does
    (an unset key: exit 1), and logs its argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    host_answer = (
        f"echo {docker_host}"
        if docker_host
        else "echo 'error: configuration key not found' >&2; exit 1"
    )
    script = bin_dir / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$1 $2" in\n'
        f"  'stack output') printf '%s' '{json.dumps(outputs)}' ;;\n"
        f"  'config get') {host_answer} ;;\n"
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return log


def test_outputs_and_docker_host_from_the_pulumi_cli(tmp_path, monkeypatch):
    log = stand_in_pulumi(tmp_path, monkeypatch, OUTPUTS, "ssh://admin@docker.example")
    stack = load_stack("prod")
    assert stack.outputs == OUTPUTS and stack.docker_host == "ssh://admin@docker.example"
    # The stack's names (components/docker/names.py), not the dev stack's.
    assert stack.data_volume == "jupyterhub-prod-data"
    assert stack.hub_container == "jupyterhub-prod"
    assert stack.user_volume_prefix == "jupyterhub-prod-user-"
    assert stack.label == "jupyterhub-zos/prod"
    assert log.read_text().splitlines() == [
        "stack output --stack prod --json --show-secrets",
        "config get --stack prod docker:host",
    ]
    # --docker-host wins; without docker:host, DOCKER_HOST; neither: the local socket.
    assert load_stack("prod", docker_host="tcp://h:2376").docker_host == "tcp://h:2376"


def test_without_docker_host_config_docker_host_env_then_the_local_socket(tmp_path, monkeypatch):
    stand_in_pulumi(tmp_path, monkeypatch, OUTPUTS, None)
    assert load_stack("dev").docker_host is None
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    assert load_stack("dev").docker_host == "unix:///run/other.sock"


def test_a_stack_not_deployed_is_refused(tmp_path, monkeypatch):
    stand_in_pulumi(tmp_path, monkeypatch, {}, None)
    with pytest.raises(StackError, match="not deployed"):
        load_stack("dev")


def test_outputs_from_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    assert load_stack("dev", path).outputs == OUTPUTS
    path.write_text("{")
    with pytest.raises(StackError, match="--outputs"):
        load_stack("dev", path)


def test_without_the_cli_it_says_how_to_run_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match="through make"):
        load_stack("dev")


def test_an_ssh_host_goes_through_the_ssh_client(monkeypatch):
    try:
        import paramiko  # noqa: F401 - docker's ssh:// transport imports it
    except ImportError:
        missing("paramiko is not installed (requirements.txt pins it: make up installs it)")
    import docker

    # No ssh server here: the client would ask the host its API version first.
    monkeypatch.setattr(docker.api.client.APIClient, "_retrieve_server_version", lambda _: "1.41")
    client = stack_access.docker_client("ssh://admin@127.0.0.1:1")
    adapter = client.api.get_adapter("http+docker://ssh")
    assert type(adapter).__name__ == "SSHHTTPAdapter"
    # Shelled out to the ssh binary (its config and known_hosts), not paramiko's client.
    assert adapter.ssh_client is None and adapter.ssh_host == "admin@127.0.0.1:1"


def test_a_host_that_does_not_answer_is_named():
    for host in (f"tcp://127.0.0.1:{free_port()}", "unix:///run/nothing-here.sock"):
        with pytest.raises(StackError, match=f"cannot reach the Docker host {host}"):
            stack_access.docker_client(host)
