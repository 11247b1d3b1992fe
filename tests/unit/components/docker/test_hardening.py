"""Every container the program runs is hardened, and the networks keep the directory
away from notebooks: the dev graph under Pulumi mocks, and the rendered commands."""

from __future__ import annotations

import subprocess

import pytest

from components.docker.hardening import (
    NO_NEW_PRIVILEGES,
    docker_host_command,
    pids_limit_script,
)
from tools.mock_graph import run_program

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
LOCAL_COMMAND = "command:local:Command"

# What each container keeps; everything else is dropped.
EXPECTED = {
    "jupyterhub-container": {
        "caps": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "NET_BIND_SERVICE"],  # + users' certs
        "memory": None,
        "pids": 1024,
    },
    "jupyterhub-gateway-container": {
        "caps": ["CHOWN", "KILL", "SETGID", "SETUID"],  # to start kernels as their users
        "memory": 4096,
        "pids": 1024,
    },
    "jupyterhub-ldap-server": {
        "caps": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "NET_BIND_SERVICE", "SETGID", "SETUID"],
        "memory": 256,
        "pids": 128,
    },
}
PIDS_COMMAND = {
    "jupyterhub-container": "jupyterhub-pids-limit",
    "jupyterhub-gateway-container": "jupyterhub-gateway-pids-limit",
    "jupyterhub-ldap-server": "jupyterhub-ldap-pids-limit",
}


@pytest.fixture(scope="module")
def dev():
    return run_program("dev")


def test_every_container_is_in_the_table(dev):
    assert {c.name for c in dev.of_type(CONTAINER)} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_containers_drop_every_capability_they_do_not_need(dev, name):
    container = dev.one(CONTAINER, name)
    want = EXPECTED[name]
    caps = container.inputs["capabilities"]
    assert caps["drops"] == ["ALL"]
    assert caps.get("adds") == want["caps"]
    assert container.inputs["securityOpts"] == [NO_NEW_PRIVILEGES]
    assert not container.inputs.get("privileged")
    assert container.inputs.get("memory") == want["memory"]
    # No swap beyond the memory limit.
    assert container.inputs.get("memorySwap") == want["memory"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_container_gets_its_pids_limit_again_when_replaced(dev, name):
    container = dev.one(CONTAINER, name)
    cmd = dev.one(LOCAL_COMMAND, PIDS_COMMAND[name])
    assert cmd.inputs["create"] == pids_limit_script(
        container.inputs["name"], EXPECTED[name]["pids"]
    )
    assert cmd.inputs["triggers"] == [f"{name}-id"]  # the container id (mock: <name>-id)
    assert container.urn in cmd.dependencies
    assert "delete" not in cmd.inputs  # the limit goes with the container


def test_the_directory_has_its_own_internal_network_only_the_hub_joins(dev):
    stack_net = dev.one(NETWORK, "jupyterhub-network")
    directory_net = dev.one(NETWORK, "jupyterhub-directory-network")
    assert directory_net.inputs["name"] == "jupyterhub-network-directory"
    assert directory_net.inputs["internal"] is True
    assert not stack_net.inputs.get("internal")

    def networks(name):
        return [n["name"] for n in dev.one(CONTAINER, name).inputs["networksAdvanced"]]

    assert networks("jupyterhub-ldap-server") == ["jupyterhub-network-directory"]
    assert networks("jupyterhub-container") == [
        "jupyterhub-network",
        "jupyterhub-network-directory",
    ]
    assert networks("jupyterhub-gateway-container") == ["jupyterhub-network"]
    # Notebooks: DockerSpawner puts them on DOCKER_NETWORK_NAME only.
    envs = dict(e.split("=", 1) for e in dev.one(CONTAINER, "jupyterhub-container").inputs["envs"])
    assert envs["DOCKER_NETWORK_NAME"] == "jupyterhub-network"


def test_no_directory_network_without_the_dev_directory():
    graph = run_program(
        "dev",
        config={
            "LDAP_SERVER_HOST": "ldap.example.org",
            "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
        },
    )
    assert [n.name for n in graph.of_type(NETWORK)] == ["jupyterhub-network"]
    hub = graph.one(CONTAINER, "jupyterhub-container")
    assert [n["name"] for n in hub.inputs["networksAdvanced"]] == ["jupyterhub-network"]


def test_pids_script_is_posix_sh_and_quotes_the_name():
    script = pids_limit_script("it's", 64)
    subprocess.run(["sh", "-n", "-c", script], check=True)
    assert "docker update --pids-limit 64 'it'\"'\"'s'" in script


def test_docker_host_command_targets_the_stack_docker_host():
    script = pids_limit_script("jupyterhub", 64)
    assert docker_host_command(script, None, ()) == script
    tcp_free = docker_host_command(script, "unix:///run/user/1000/docker.sock", ())
    assert tcp_free.startswith("export DOCKER_HOST=unix:///run/user/1000/docker.sock\n")
    over_ssh = docker_host_command(script, "ssh://ops@docker.example.org:2222", ("-i", "k"))
    assert over_ssh.startswith("exec ssh -T -o BatchMode=yes")
    assert "-l ops -p 2222 -i k -- docker.example.org" in over_ssh
