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


HUB = "jupyterhub-zos:hub:Hub"


@pytest.mark.parametrize(
    "props, needle",
    [
        ({"privileged": True}, "privileged=true"),
        ({"capabilities": {"adds": ["SYS_ADMIN"]}}, "SYS_ADMIN"),
        ({"capabilities": {"adds": ["cap_sys_module"]}}, "cap_sys_module"),
        ({"capabilities": {"adds": ["ALL"]}}, "ALL"),
        # The bypasses of issue 12, each on its own.
        ({"networkMode": "host"}, "networkMode=host"),
        ({"pidMode": "host"}, "pidMode=host"),
        ({"ipcMode": "host"}, "ipcMode=host"),
        ({"securityOpts": ["seccomp=unconfined"]}, "seccomp=unconfined"),
        ({"securityOpts": ["seccomp:unconfined"]}, "seccomp:unconfined"),
        ({"securityOpts": ["apparmor=unconfined"]}, "apparmor=unconfined"),
        ({"securityOpts": ["label=disable"]}, "label=disable"),
        ({"capabilities": {"adds": ["DAC_READ_SEARCH"]}}, "DAC_READ_SEARCH"),
        ({"devices": [{"hostPath": "/dev/sda", "containerPath": "/dev/sda"}]}, "/dev/sda"),
        ({"volumes": [{"hostPath": "/", "containerPath": "/host"}]}, "host's /"),
        ({"mounts": [{"type": "bind", "source": "/", "target": "/host"}]}, "host's /"),
        ({"volumes": [{"hostPath": "//./", "containerPath": "/host"}]}, "host's //./"),
        ({"volumes": [{"hostPath": "/etc", "containerPath": "/host-etc"}]}, "host's /etc"),
    ],
)
def test_privileged_container_is_flagged(props, needle):
    found = violations(PRIV, CONTAINER, props, name="gw")
    assert len(found) == 1 and needle in found[0] and "'gw'" in found[0]


def test_hardened_container_with_ordinary_mounts_passes():
    props = {
        "networkMode": "bridge",
        "securityOpts": ["no-new-privileges:true", "seccomp=/etc/docker/seccomp.json"],
        "capabilities": {"drops": ["ALL"], "adds": ["CHOWN", "SETUID", "SETGID"]},
        "volumes": [
            {"hostPath": "/srv/pki/alice", "containerPath": "/etc/jupyterpki"},
            {"volumeName": "jupyterhub-data", "containerPath": "/data"},
        ],
        "mounts": [{"type": "volume", "source": "x", "target": "/"}],
    }
    assert violations(PRIV, CONTAINER, props) == []
    # Even the hub: the socket is its one privilege.
    hub = {"volumes": [{"hostPath": "/var/run/docker.sock", "containerPath": "/s"}]}
    assert violations(PRIV, CONTAINER, hub, parent_type=HUB) == []
    assert violations(PRIV, CONTAINER, {"networkMode": "host"}, parent_type=HUB)


def test_privileged_missing_or_unknown_props_pass():
    assert violations(PRIV, CONTAINER, {}) == []
    unknown = {"privileged": UNKNOWN_BOOL, "capabilities": {"adds": [UNKNOWN_STRING]}}
    assert violations(PRIV, CONTAINER, unknown) == []
    assert violations(PRIV, CONTAINER, {"capabilities": UNKNOWN_OBJECT}) == []
    unknown = {"networkMode": UNKNOWN_STRING, "securityOpts": UNKNOWN_ARRAY, "devices": []}
    assert violations(PRIV, CONTAINER, unknown) == []
    assert violations(PRIV, CONTAINER, {"securityOpts": [UNKNOWN_STRING]}) == []


# --- docker-socket-only-in-hub ---------------------------------------------------------

SOCK = "docker-socket-only-in-hub"
SOCKET_VOLUME = {"volumes": [{"hostPath": "/var/run/docker.sock", "containerPath": "/s"}]}


def test_hub_may_mount_the_socket():
    props = {**SOCKET_VOLUME, "name": "jupyterhub"}
    assert violations(SOCK, CONTAINER, props, name="hub", parent_type=HUB) == []


@pytest.mark.parametrize(
    "mounts",
    [
        SOCKET_VOLUME,
        {"volumes": [{"hostPath": "/run/docker.sock/"}]},
        {"mounts": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]},
        {"mounts": [{"source": "/run/user/1000/docker.sock", "target": "/s"}]},
        # The directories that hold it hand it over as well.
        {"volumes": [{"hostPath": "/var/run", "containerPath": "/host-run"}]},
        {"volumes": [{"hostPath": "/run/", "containerPath": "/host-run"}]},
        {"mounts": [{"type": "bind", "source": "/var", "target": "/v"}]},
        {"volumes": [{"hostPath": "/run/user/1000", "containerPath": "/r"}]},
        {"volumes": [{"hostPath": "/", "containerPath": "/host"}]},
    ],
)
def test_socket_elsewhere_is_flagged(mounts):
    found = violations(SOCK, CONTAINER, {**mounts, "name": "dev-gateway"}, name="gateway")
    assert len(found) == 1 and "Docker socket" in found[0] and "remove the mount" in found[0]


def test_other_mounts_and_missing_or_unknown_props_pass():
    other = {"volumes": [{"hostPath": "/srv/pki/alice", "containerPath": "/etc/jupyterpki"}]}
    assert violations(SOCK, CONTAINER, {**other, "name": "gw"}) == []
    run_dir = {"volumes": [{"hostPath": "/srv/run", "containerPath": "/r"}]}
    assert violations(SOCK, CONTAINER, {**run_dir, "name": "gw"}) == []
    named_volume = {"mounts": [{"type": "volume", "source": "docker.sock", "target": "/x"}]}
    assert violations(SOCK, CONTAINER, {**named_volume, "name": "gw"}) == []
    assert violations(SOCK, CONTAINER, {}) == []
    assert violations(SOCK, CONTAINER, {"volumes": UNKNOWN_ARRAY, "name": "gw"}) == []
    assert violations(SOCK, CONTAINER, {"volumes": [{"hostPath": UNKNOWN_STRING}]}) == []


def test_the_hub_is_what_the_hub_component_owns_not_what_is_named_jupyterhub():
    # Named jupyterhub, in Docker and in Pulumi, but not the hub component's: flagged.
    named = {**SOCKET_VOLUME, "name": "jupyterhub"}
    assert violations(SOCK, CONTAINER, named, name="jupyterhub")
    other = "jupyterhub-zos:dev_gateway:DevGateway"
    assert violations(SOCK, CONTAINER, named, name="jupyterhub", parent_type=other)
    # Whatever its name, the hub component's container is the hub.
    assert violations(SOCK, CONTAINER, SOCKET_VOLUME, name="edge", parent_type=HUB) == []


def test_socket_config_names_the_hub_component():
    cfg = {"hubComponents": ["acme:edge:Hub"]}
    assert violations(SOCK, CONTAINER, SOCKET_VOLUME, config=cfg, parent_type="acme:edge:Hub") == []
    assert violations(SOCK, CONTAINER, SOCKET_VOLUME, config=cfg, parent_type=HUB)


# --- only-hub-publishes-ports ----------------------------------------------------------

PORTS = "only-hub-publishes-ports"
PUBLISHED = {"ports": [{"internal": 8443, "external": 8443}]}


def test_hub_publishes_and_unpublished_containers_pass():
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "jupyterhub"}, parent_type=HUB) == []
    assert violations(PORTS, CONTAINER, {"name": "dev-gateway", "ports": []}) == []
    assert violations(PORTS, CONTAINER, {"name": "dev-gateway"}) == []
    assert violations(PORTS, CONTAINER, {"name": "gw", "networkMode": "jupyterhub-network"}) == []


def test_gateway_or_directory_publishing_is_flagged():
    found = violations(PORTS, CONTAINER, {**PUBLISHED, "name": "dev-gateway"}, name="gateway")
    assert len(found) == 1 and "8443->8443" in found[0] and "Remove `ports`" in found[0]
    found = violations(PORTS, CONTAINER, {"name": "dev-ldap", "publishAllPorts": True})
    assert len(found) == 1 and "publishAllPorts" in found[0]
    found = violations(PORTS, CONTAINER, {"name": "dev-ldap", "ports": [{"internal": 389}]})
    assert "389->random" in found[0]


def test_host_networking_publishes_everything_and_is_flagged():
    found = violations(PORTS, CONTAINER, {"name": "dev-gateway", "networkMode": "host"})
    assert len(found) == 1 and "networkMode=host" in found[0]
    found = violations(PORTS, CONTAINER, {"name": "dev-gateway", "networkMode": "HOST"})
    assert len(found) == 1


def test_a_container_named_jupyterhub_is_not_the_hub_for_ports():
    assert violations(PORTS, CONTAINER, {**PUBLISHED, "name": "jupyterhub"}, name="jupyterhub")


def test_ports_unknown_still_count_as_published_and_do_not_crash():
    found = violations(PORTS, CONTAINER, {"name": "gw", "ports": [UNKNOWN_OBJECT]})
    assert len(found) == 1 and "(unknown)" in found[0]
    assert violations(PORTS, CONTAINER, {"name": "gw", "ports": UNKNOWN_ARRAY}) == []
    assert violations(PORTS, CONTAINER, {"name": "gw", "networkMode": UNKNOWN_STRING}) == []


def test_ports_config_names_the_hub_component():
    cfg = {"hubComponents": ["acme:edge:Edge"]}
    edge = "acme:edge:Edge"
    assert violations(PORTS, CONTAINER, PUBLISHED, config=cfg, parent_type=edge) == []
    assert violations(PORTS, CONTAINER, PUBLISHED, config=cfg, parent_type=HUB)


# --- containers-hardened -------------------------------------------------------------------

HARD = "containers-hardened"
HARDENED_PROPS = {
    "image": "x:1",
    "capabilities": {"drops": ["ALL"], "adds": ["CHOWN"]},
    "securityOpts": ["no-new-privileges:true"],
    "memory": 256,
}


@pytest.mark.parametrize(
    "opt", ["no-new-privileges:true", "no-new-privileges=true", "no-new-privileges"]
)
def test_hardened_container_passes(opt):
    props = {**HARDENED_PROPS, "securityOpts": ["label=type:x", opt]}
    assert violations(HARD, CONTAINER, props) == []
    # The hub may go without a memory limit (it grows with its users).
    hub = {k: v for k, v in HARDENED_PROPS.items() if k != "memory"}
    assert violations(HARD, CONTAINER, hub, parent_type=HUB) == []


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"capabilities": None}, "capabilities.drops=['ALL']"),
        ({"capabilities": {"drops": ["NET_RAW"]}}, "capabilities.drops=['ALL']"),
        ({"securityOpts": None}, "no-new-privileges:true"),
        ({"securityOpts": ["no-new-privileges:false"]}, "no-new-privileges:true"),
        ({"memory": None}, "no memory limit"),
        ({"memory": 0}, "no memory limit"),
    ],
)
def test_unhardened_container_is_flagged(change, needle):
    props = {k: v for k, v in {**HARDENED_PROPS, **change}.items() if v is not None}
    found = violations(HARD, CONTAINER, props, name="gw")
    assert len(found) == 1 and needle in found[0] and "'gw'" in found[0], found


def test_hardened_cap_drop_spelled_cap_all_passes_and_unknowns_are_not_judged():
    props = {**HARDENED_PROPS, "capabilities": {"drops": ["cap_all"]}}
    assert violations(HARD, CONTAINER, props) == []
    unknown = {
        "capabilities": {"drops": UNKNOWN_ARRAY},
        "securityOpts": UNKNOWN_ARRAY,
        "memory": UNKNOWN_STRING,
    }
    assert violations(HARD, CONTAINER, unknown) == []


def test_a_container_named_jupyterhub_outside_the_hub_needs_a_memory_limit():
    props = {k: v for k, v in HARDENED_PROPS.items() if k != "memory"}
    assert violations(HARD, CONTAINER, {**props, "name": "jupyterhub"})


# --- notebooks-limited ---------------------------------------------------------------------

NB = "notebooks-limited"
LIMITS = ["NOTEBOOK_MEM_LIMIT=2G", "NOTEBOOK_CPU_LIMIT=2", "NOTEBOOK_PIDS_LIMIT=512"]


def test_hub_that_limits_its_notebooks_passes():
    props = {"envs": ["KG_URL=https://gw:8888", *LIMITS]}
    assert violations(NB, CONTAINER, props, parent_type=HUB) == []
    # Only the hub starts notebooks: other containers are not judged by this rule.
    assert violations(NB, CONTAINER, {"envs": []}) == []
    assert violations(NB, CONTAINER, {"envs": UNKNOWN_ARRAY}, parent_type=HUB) == []


@pytest.mark.parametrize(
    "envs, needle",
    [
        (LIMITS[1:], "without NOTEBOOK_MEM_LIMIT"),
        ([LIMITS[0], LIMITS[2]], "without NOTEBOOK_CPU_LIMIT"),
        (LIMITS[:2], "without NOTEBOOK_PIDS_LIMIT"),
        (["NOTEBOOK_MEM_LIMIT=64G", *LIMITS[1:]], "NOTEBOOK_MEM_LIMIT=64G"),
        ([LIMITS[0], "NOTEBOOK_CPU_LIMIT=32", LIMITS[2]], "maxNotebookCpus"),
        ([*LIMITS[:2], "NOTEBOOK_PIDS_LIMIT=100000"], "maxNotebookPids"),
        (["NOTEBOOK_MEM_LIMIT=lots", *LIMITS[1:]], "NOTEBOOK_MEM_LIMIT=lots"),
    ],
)
def test_hub_that_leaves_notebooks_unlimited_is_flagged(envs, needle):
    found = violations(NB, CONTAINER, {"envs": envs}, parent_type=HUB, name="jupyterhub")
    assert len(found) == 1 and needle in found[0], found


def test_notebook_maxima_are_policy_settings():
    envs = ["NOTEBOOK_MEM_LIMIT=64G", "NOTEBOOK_CPU_LIMIT=32", "NOTEBOOK_PIDS_LIMIT=100000"]
    cfg = {"maxNotebookMemory": "128G", "maxNotebookCpus": 64, "maxNotebookPids": 200000}
    assert violations(NB, CONTAINER, {"envs": envs}, parent_type=HUB, config=cfg) == []
    tight = {"maxNotebookMemory": "1G"}
    assert violations(NB, CONTAINER, {"envs": LIMITS}, parent_type=HUB, config=tight)
