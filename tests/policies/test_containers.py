"""Containers (policies/containers.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import pytest

from policies.props import CONTAINER
from tests.policies.support import (
    UNKNOWN_ARRAY,
    UNKNOWN_BOOL,
    UNKNOWN_OBJECT,
    UNKNOWN_STRING,
    violations,
)

# --- no-privileged-containers ----------------------------------------------------------

PRIV = "no-privileged-containers"


def test_unprivileged_container_passes():
    props = {"image": "x:1", "privileged": False, "capabilities": {"adds": ["NET_BIND_SERVICE"]}}
    assert violations(PRIV, CONTAINER, props) == []


@pytest.mark.parametrize(
    "props, needle",
    [
        ({"privileged": True}, "privileged=true"),
        ({"capabilities": {"adds": ["SYS_ADMIN"]}}, "SYS_ADMIN"),
        ({"capabilities": {"adds": ["cap_sys_module"]}}, "cap_sys_module"),
        ({"capabilities": {"adds": ["ALL"]}}, "ALL"),
    ],
)
def test_privileged_container_is_flagged(props, needle):
    found = violations(PRIV, CONTAINER, props, name="gw")
    assert len(found) == 1 and needle in found[0] and "'gw'" in found[0]


def test_privileged_missing_or_unknown_props_pass():
    assert violations(PRIV, CONTAINER, {}) == []
    unknown = {"privileged": UNKNOWN_BOOL, "capabilities": {"adds": [UNKNOWN_STRING]}}
    assert violations(PRIV, CONTAINER, unknown) == []
    assert violations(PRIV, CONTAINER, {"capabilities": UNKNOWN_OBJECT}) == []


# --- docker-socket-only-in-hub ---------------------------------------------------------

SOCK = "docker-socket-only-in-hub"
SOCKET_VOLUME = {"volumes": [{"hostPath": "/var/run/docker.sock", "containerPath": "/s"}]}


def test_hub_may_mount_the_socket():
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "jupyterhub"}, name="hub") == []


@pytest.mark.parametrize(
    "mounts",
    [
        SOCKET_VOLUME,
        {"volumes": [{"hostPath": "/run/docker.sock/"}]},
        {"mounts": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]},
        {"mounts": [{"source": "/run/user/1000/docker.sock", "target": "/s"}]},
    ],
)
def test_socket_elsewhere_is_flagged(mounts):
    found = violations(SOCK, CONTAINER, {**mounts, "name": "dev-gateway"}, name="gateway")
    assert len(found) == 1 and "Docker socket" in found[0] and "remove the mount" in found[0]


def test_other_mounts_and_missing_or_unknown_props_pass():
    other = {"volumes": [{"hostPath": "/srv/pki/alice", "containerPath": "/etc/jupyterpki"}]}
    assert violations(SOCK, CONTAINER, {**other, "name": "gw"}) == []
    named_volume = {"mounts": [{"type": "volume", "source": "docker.sock", "target": "/x"}]}
    assert violations(SOCK, CONTAINER, {**named_volume, "name": "gw"}) == []
    assert violations(SOCK, CONTAINER, {}) == []
    assert violations(SOCK, CONTAINER, {"volumes": UNKNOWN_ARRAY, "name": "gw"}) == []
    assert violations(SOCK, CONTAINER, {"volumes": [{"hostPath": UNKNOWN_STRING}]}) == []


def test_the_docker_name_decides_which_container_is_the_hub():
    # A container named jupyterhub in Pulumi but not in Docker is not the hub ...
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "dev-ldap"}, name="jupyterhub")
    # ... and without a Docker name, the Pulumi name stands in for it.
    assert violations(SOCK, CONTAINER, SOCKET_VOLUME, name="jupyterhub") == []
    assert violations(SOCK, CONTAINER, SOCKET_VOLUME, name="ldap")


def test_socket_config_names_the_hub():
    cfg = {"hubContainers": ["hub-prod"]}
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "hub-prod"}, config=cfg) == []
    assert violations(SOCK, CONTAINER, {**SOCKET_VOLUME, "name": "jupyterhub"}, config=cfg)


# --- only-hub-publishes-ports ----------------------------------------------------------

PORTS = "only-hub-publishes-ports"
PUBLISHED = {"ports": [{"internal": 8443, "external": 8443}]}


def test_hub_publishes_and_unpublished_containers_pass():
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "jupyterhub"}) == []
    assert violations(PORTS, CONTAINER, {"name": "dev-gateway", "ports": []}) == []
    assert violations(PORTS, CONTAINER, {"name": "dev-gateway"}) == []


def test_gateway_or_directory_publishing_is_flagged():
    found = violations(PORTS, CONTAINER, {**PUBLISHED, "name": "dev-gateway"}, name="gateway")
    assert len(found) == 1 and "8443->8443" in found[0] and "Remove `ports`" in found[0]
    found = violations(PORTS, CONTAINER, {"name": "dev-ldap", "publishAllPorts": True})
    assert len(found) == 1 and "publishAllPorts" in found[0]
    found = violations(PORTS, CONTAINER, {"name": "dev-ldap", "ports": [{"internal": 389}]})
    assert "389->random" in found[0]


def test_ports_unknown_still_count_as_published_and_do_not_crash():
    found = violations(PORTS, CONTAINER, {"name": "gw", "ports": [UNKNOWN_OBJECT]})
    assert len(found) == 1 and "(unknown)" in found[0]
    assert violations(PORTS, CONTAINER, {"name": "gw", "ports": UNKNOWN_ARRAY}) == []


def test_ports_config_names_the_hub():
    cfg = {"hubContainers": ["edge"]}
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "edge"}, config=cfg) == []
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "jupyterhub"}, config=cfg)
