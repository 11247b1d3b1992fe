"""The check before any resource that a stack's names and port are not another stack's
(components/docker/stack_check.py), decided on listed objects; and the program's cleanup
of notebook containers keeping to its stack (components/hub/container.py), run with a
stand-in `docker` on PATH."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from components.docker import names
from components.docker.stack_check import (
    UNLABELED,
    DockerObject,
    StackCollisionError,
    check_stack_objects,
    collisions,
    list_objects,
    wanted,
)
from components.hub.container import notebook_servers_script
from components.settings import validate
from components.settings.source import RawConfig

DEV = "jupyterhub-zos/dev"
PROD = "jupyterhub-zos/prod"


def label(owner):
    return {names.STACK_LABEL: owner}


def prod_want(port=9443):
    return wanted(names.stack_names("prod"), ["alice"], port, dev_gateway=True, dev_directory=True)


def dev_want(port=8443):
    return wanted(names.DEV_NAMES, ["alice"], port, dev_gateway=True, dev_directory=True)


# The dev stack as deployed: unlabeled Pulumi objects, a labelled notebook and volume.
DEV_HOST = [
    DockerObject("container", "jupyterhub", {}, (8443,)),
    DockerObject("container", "jupyterhub-gateway"),
    DockerObject("container", "jupyterhub-ldap"),
    DockerObject("container", "jupyter-alice", label(DEV)),
    DockerObject("volume", "jupyterhub-data", {"jupyterhub-zos.retain-on-delete": "true"}),
    DockerObject("volume", "jupyterhub-user-alice", label(DEV)),
    DockerObject("network", "jupyterhub-network"),
    DockerObject("network", "jupyterhub-network-directory"),
]
PROD_HOST = [
    DockerObject("container", "jupyterhub-prod", label(PROD), (9443,)),
    DockerObject("container", "jupyter-prod-alice", label(PROD)),
    DockerObject("volume", "jupyterhub-prod-data", label(PROD)),
    DockerObject("volume", "jupyterhub-prod-user-alice", label(PROD)),
    DockerObject("network", "jupyterhub-prod-network", label(PROD)),
]


def test_a_second_stack_beside_dev_is_free():
    assert collisions(DEV_HOST, prod_want(), PROD, keeps_unlabeled=False) == []


def test_each_stack_redeploys_over_its_own_objects():
    host = DEV_HOST + PROD_HOST
    assert collisions(host, prod_want(), PROD, keeps_unlabeled=False) == []
    assert collisions(host, dev_want(), DEV, keeps_unlabeled=True) == []


def test_the_other_stacks_port_is_refused():
    found = collisions(DEV_HOST, prod_want(port=8443), PROD, keeps_unlabeled=False)
    assert found == [
        f"container 'jupyterhub' of {UNLABELED} publishes port 8443, this stack's HUB_HTTPS_PORT"
    ]
    found = collisions(PROD_HOST, dev_want(port=9443), DEV, keeps_unlabeled=True)
    assert found == [
        f"container 'jupyterhub-prod' of stack {PROD} publishes port 9443, "
        "this stack's HUB_HTTPS_PORT"
    ]


def test_any_other_container_on_the_port_is_refused():
    mine = [DockerObject("container", "some-web-server", {}, (8443,))]
    found = collisions(mine, dev_want(), DEV, keeps_unlabeled=True)
    assert found == [
        f"container 'some-web-server' of this stack ({DEV}), yet it is not its hub "
        "publishes port 8443, this stack's HUB_HTTPS_PORT"
    ]


def test_another_stacks_objects_under_this_stacks_names_are_all_named():
    # e.g. DOCKER_NETWORK_NAME=jupyterhub-network on prod, and objects someone made by hand
    want = wanted(
        names.stack_names("prod", "jupyterhub-network"),
        ["alice"],
        9443,
        dev_gateway=False,
        dev_directory=False,
    )
    host = [
        *DEV_HOST,
        DockerObject("volume", "jupyterhub-prod-data", label("other/prod")),
        DockerObject("container", "jupyter-prod-alice"),
    ]
    found = collisions(host, want, PROD, keeps_unlabeled=False)
    assert found == [
        f"container 'jupyter-prod-alice' is this stack's name but belongs to {UNLABELED}",
        "volume 'jupyterhub-prod-data' is this stack's name but belongs to stack other/prod",
        f"network 'jupyterhub-network' is this stack's name but belongs to {UNLABELED}",
    ]


def test_dev_refuses_another_stacks_label_on_its_names():
    host = [DockerObject("volume", "jupyterhub-data", label(PROD))]
    assert collisions(host, dev_want(), DEV, keeps_unlabeled=True) == [
        f"volume 'jupyterhub-data' is this stack's name but belongs to stack {PROD}"
    ]


def test_names_the_stack_does_not_use_are_not_its_concern():
    # Without the dev gateway, another stack's container of that name is not in the way.
    want = wanted(names.DEV_NAMES, [], 8443, dev_gateway=False, dev_directory=False)
    host = [DockerObject("container", "jupyterhub-gateway", label(PROD))]
    assert collisions(host, want, DEV, keeps_unlabeled=True) == []
    # nor another stack's notebooks under the dev prefix (jupyter-prod-alice), labelled
    assert collisions(PROD_HOST, dev_want(), DEV, keeps_unlabeled=True) == []


class FakeApi:
    """The docker SDK's low-level APIClient calls list_objects makes, with engine-shaped
    answers (names with a leading slash, ports with and without a public side)."""

    def containers(self, all):
        assert all is True  # stopped containers hold their names too
        return [
            {
                "Names": ["/jupyterhub"],
                "Labels": {},
                "Ports": [{"PrivatePort": 443, "PublicPort": 8443, "Type": "tcp", "IP": "0.0.0.0"}],
            },
            {
                "Names": ["/jupyter-prod-alice"],
                "Labels": label(PROD),
                "Ports": [{"PrivatePort": 8888}],
                "Mounts": [
                    {"Type": "bind", "Source": "/srv/pki/alice", "Destination": "/etc/jupyterpki"},
                    {"Type": "volume", "Source": "/var/lib/docker/volumes/v/_data"},
                ],
            },
        ]

    def volumes(self):
        return {"Volumes": [{"Name": "jupyterhub-prod-data", "Labels": None}]}

    def networks(self):
        return [{"Name": "jupyterhub-network", "Labels": {}}]


def test_another_stacks_containers_in_this_stacks_pki_dir_are_refused():
    """Each hub writes <HUB_PKI_DIR>/<user> from its own CA: another stack's hub (the
    directory) or notebook (<dir>/<user>) mounting it is named; this stack's own mounts,
    other directories and the host's own tools (no stack label, mounting / or the
    directory) are not."""
    want = wanted(
        names.stack_names("prod"),
        ["alice"],
        9443,
        dev_gateway=False,
        dev_directory=False,
        pki_dir="/srv/jhz/pki",
    )
    host = [
        DockerObject(
            "container",
            "jupyterhub-staging",
            label("jupyterhub-zos/staging"),
            binds=("/srv/jhz/pki",),
        ),
        DockerObject(
            "container",
            "jupyter-staging-bob",
            label("jupyterhub-zos/staging"),
            binds=("/srv/jhz/pki/bob", "/var/lib/other"),
        ),
        DockerObject("container", "node-exporter", {}, binds=("/",)),
        DockerObject("container", "backup", {}, binds=("/srv/jhz/pki",)),
        DockerObject("container", "jupyterhub-prod", label(PROD), binds=("/srv/jhz/pki",)),
        DockerObject("container", "elsewhere", label(DEV), binds=("/srv/jhz/pki-dev",)),
    ]
    assert collisions(host, want, PROD, keeps_unlabeled=False) == [
        "container 'jupyter-staging-bob' of stack jupyterhub-zos/staging mounts "
        "/srv/jhz/pki/bob, in this stack's HUB_PKI_DIR /srv/jhz/pki: give each stack its "
        "own HUB_PKI_DIR",
        "container 'jupyterhub-staging' of stack jupyterhub-zos/staging mounts /srv/jhz/pki, "
        "in this stack's HUB_PKI_DIR /srv/jhz/pki: give each stack its own HUB_PKI_DIR",
    ]


def test_list_objects_reads_the_engines_answers():
    assert list_objects(FakeApi()) == [
        DockerObject("container", "jupyterhub", {}, (8443,)),
        DockerObject("container", "jupyter-prod-alice", label(PROD), (), ("/srv/pki/alice",)),
        DockerObject("volume", "jupyterhub-prod-data", {}),
        DockerObject("network", "jupyterhub-network", {}),
    ]


def settings_for(stack, **values):
    base = {"HUB_ADMIN_USERS": '["admin"]', "HUB_ALLOWED_USERS": '["alice"]'}
    base.update({k: str(v) for k, v in values.items()})
    if stack != "dev":
        base["ALLOW_DEV_SERVICES"] = "true"
    return validate(RawConfig("jupyterhub-zos", base, frozenset()), stack)


def test_the_check_raises_one_error_naming_every_object_and_stack():
    settings = settings_for("prod", HUB_HTTPS_PORT=8443)
    with pytest.raises(StackCollisionError) as caught:
        check_stack_objects(settings, client=FakeApi())
    message = str(caught.value)
    assert "stack 'prod': 2 Docker object(s)" in message and "nothing was deployed" in message
    assert "container 'jupyterhub' of no stack label" in message and "port 8443" in message
    assert "volume 'jupyterhub-prod-data' is this stack's name" in message
    check_stack_objects(
        settings_for("prod", HUB_HTTPS_PORT=9443, DOCKER_NETWORK_NAME="n"), client=NoVolumes()
    )


class NoVolumes(FakeApi):
    def volumes(self):
        return {"Volumes": None}


def test_an_unreachable_engine_stops_the_program_with_its_reason():
    class Down(FakeApi):
        def containers(self, all):
            raise ConnectionError("no such socket")

    with pytest.raises(Exception, match="cannot list the Docker host's objects.*no such socket"):
        check_stack_objects(settings_for("dev"), client=Down())


def test_the_unit_tests_mocks_skip_the_check(monkeypatch):
    # run_program (tools/mock_graph) has no Docker host behind it: no client is made.
    from components.docker import stack_check
    from tools.mock_graph import run_program

    def no_client(host):
        raise AssertionError("the check asked for a Docker client under the unit mocks")

    monkeypatch.setattr(stack_check, "docker_client", no_client)
    assert run_program("dev").resources


def test_behind_an_engine_the_program_stops_before_any_resource(monkeypatch):
    # As under the e2e applier (docker_engine True): the listing decides, and a collision
    # stops the program before it declares anything.
    from components.docker import stack_check
    from tools.mock_graph import run_program
    from tools.mock_graph.recording import RecordingMonitor

    class TakenDataVolume(FakeApi):
        def volumes(self):
            return {"Volumes": [{"Name": "jupyterhub-data", "Labels": label(PROD)}]}

    monkeypatch.setattr(RecordingMonitor, "docker_engine", True)
    monkeypatch.setattr(stack_check, "docker_client", lambda host: TakenDataVolume())
    with pytest.raises(StackCollisionError) as caught:
        run_program("dev")
    assert caught.value.problems == [
        f"volume 'jupyterhub-data' is this stack's name but belongs to stack {PROD}"
    ]
    assert caught.value.graph.resources == []
    monkeypatch.setattr(stack_check, "docker_client", lambda host: FakeApi())
    assert run_program("dev").resources  # dev's own hub on 8443, unlabeled: its own


# --- the program's cleanup of notebook containers ---------------------------------------

FAKE_DOCKER = textwrap.dedent(
    """\
    #!/bin/sh
    # Stand-in docker: `ps` prints $FAKE_PS (after checking the filters), `rm` logs.
    case "$1" in
    ps) printf '%s\\n' "$*" >> "$FAKE_LOG.ps"; printf '%s' "$FAKE_PS" ;;
    rm) printf '%s\\n' "$4" >> "$FAKE_LOG" ;;
    *) exit 3 ;;
    esac
    """
)


def run_cleanup(tmp_path: Path, script: str, listed: str, stdin: str = "") -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    log = tmp_path / "removed"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_PS": listed}
    env["FAKE_LOG"] = str(log)
    subprocess.run(["sh", "-c", script], input=stdin, env=env, check=True, text=True)
    assert "--filter network=" in (tmp_path / "removed.ps").read_text()
    return log.read_text().split() if log.exists() else []


# What `docker ps --format '{{.Names}} {{.Label "jupyterhub-zos.stack"}}'` prints on a host
# with dev (an old unlabeled notebook, a labelled one) and e2e2 (under `jupyter-`).
LISTED = (
    "jupyter-old \n"
    f"jupyter-alice {DEV}\n"
    "jupyter-e2e2-alice jupyterhub-zos/e2e2\n"
    "jupyter-e2e2-bob jupyterhub-zos/e2e2\n"
)


def test_dev_destroy_removes_its_notebooks_only(tmp_path):
    script = notebook_servers_script("jupyterhub-network", prune=False)
    assert run_cleanup(tmp_path, script, LISTED) == ["jupyter-old", "jupyter-alice"]


def test_another_stacks_destroy_removes_its_labelled_notebooks_only(tmp_path):
    script = notebook_servers_script(
        "jupyterhub-e2e2-network",
        prune=False,
        prefix="jupyter-e2e2",
        owner="jupyterhub-zos/e2e2",
        unlabeled=False,
    )
    removed = run_cleanup(tmp_path, script, LISTED + "jupyter-e2e2-carol \n")
    assert removed == ["jupyter-e2e2-alice", "jupyter-e2e2-bob"]
    assert "--filter name=^jupyter-e2e2-" in (tmp_path / "removed.ps").read_text()


def test_prune_keeps_the_listed_users_of_its_own_stack(tmp_path):
    script = notebook_servers_script("jupyterhub-network", prune=True)
    stdin = "# notebook containers to keep\njupyter-alice\n"
    assert run_cleanup(tmp_path, script, LISTED, stdin) == ["jupyter-old"]
