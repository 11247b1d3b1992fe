"""The notebook-servers Command's scripts, run with /bin/sh against the real Docker
engine. The hub leaves users' notebook containers running when it stops (so a hub
replacement keeps their work). So, before a hub is replaced, the create/update script
removes the servers of users who no longer have a client certificate; and since Docker
refuses to remove a network a container is on, `pulumi destroy` runs the delete script
after the hub is gone and before the network.

The containers are stand-ins for DockerSpawner's: named as it names them, on the
stack's network, running `sleep` from a two-file image imported from this machine.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from components.docker.names import STACK_LABEL, notebook_container_name
from components.hub.container import notebook_keep_list, notebook_servers_command
from tests.tooling import missing, require_tool

# Starts containers on the Docker engine: with the e2e tests, on one xdist worker.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker-engine")]

TAG = uuid.uuid4().hex[:8]  # in the name of every Docker object this test makes
PREFIX = f"e-restart-{TAG}"


def _sleep_image_tar() -> bytes:
    """A rootfs holding /bin/sleep and the libraries it loads (from ldd), nothing else."""
    sleep = Path(shutil.which("sleep") or "/bin/sleep").resolve()
    out = subprocess.run(["ldd", str(sleep)], capture_output=True, text=True, check=True)
    files = [sleep]
    for line in out.stdout.splitlines():
        path = line.split("=>")[-1].split("(")[0].strip()
        if path.startswith("/"):
            files.append(Path(path))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in files:
            tar.add(str(path.resolve()), arcname=str(path).lstrip("/"))
        tar.add(str(sleep), arcname="bin/sleep")
    return buf.getvalue()


@pytest.fixture(scope="module")
def engine():
    docker_sdk = pytest.importorskip("docker")
    require_tool("docker")
    try:
        client = docker_sdk.from_env()
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure means no usable engine
        missing(f"no Docker engine answers: {error}")
    image = f"{PREFIX}/sleep:test"
    client.images.client.api.import_image_from_data(_sleep_image_tar(), repository=image)

    def make(kind, *args, **kwargs):
        return getattr(client, kind).create(*args, **kwargs)

    yield client, image, make
    for container in client.containers.list(all=True, filters={"name": TAG}):
        container.remove(force=True)
    for network in client.networks.list(names=[f"{PREFIX}-{n}" for n in ("net", "other", "prune")]):
        network.remove()
    client.images.remove(image, force=True)


def run_container(client, image, name, network, labels=None):
    return client.containers.run(
        image, ["/bin/sleep", "600"], name=name, network=network, detach=True, labels=labels
    )


def test_destroy_removes_notebook_containers_so_the_network_can_go(engine):
    client, image, make = engine
    network = make("networks", f"{PREFIX}-net", driver="bridge")
    other = make("networks", f"{PREFIX}-other", driver="bridge")
    # DockerSpawner's names, for users whose names hold `.`, `_` and `-`, and a named server.
    users = [f"{PREFIX}.bob", f"{PREFIX}_carol"]
    notebooks = [
        run_container(client, image, notebook_container_name(u), network.name) for u in users
    ]
    notebooks.append(
        run_container(client, image, notebook_container_name(users[0], "lab"), network.name)
    )
    stopped = client.containers.create(
        image,
        ["/bin/sleep", "1"],
        name=notebook_container_name(f"{PREFIX}-dave"),
        network=network.name,
    )
    hub_like = run_container(client, image, f"{PREFIX}-hub", network.name)
    elsewhere = run_container(client, image, notebook_container_name(f"{PREFIX}-erin"), other.name)
    # The premise: with a container on it, Docker will not remove the network.
    hub_like.remove(force=True)
    with pytest.raises(Exception, match="active endpoints"):
        network.remove()

    hub_like = run_container(client, image, f"{PREFIX}-hub", network.name)
    # Another stack's notebook under the same prefix and network (DOCKER_NETWORK_NAME
    # shared): its label says whose it is, and it stays; dev's own carry dev's label.
    theirs = run_container(
        client,
        image,
        notebook_container_name(f"{PREFIX}-frank"),
        network.name,
        labels={STACK_LABEL: "jupyterhub-zos/e2e2"},
    )
    notebooks.append(
        run_container(
            client,
            image,
            notebook_container_name(f"{PREFIX}-gina"),
            network.name,
            labels={STACK_LABEL: "jupyterhub-zos/dev"},
        )
    )
    script = notebook_servers_command(network.name, None, prune=False)
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # bob, carol, bob's named server, the stopped dave and dev-labelled gina; not frank's.
    assert f"removed 5 notebook container(s) on {network.name}" in done.stdout

    names = {c.name for c in client.containers.list(all=True, filters={"name": TAG})}
    assert not {c.name for c in notebooks} & names
    assert stopped.name not in names
    # Only notebook containers on this network: the stack's own containers are Pulumi's.
    assert {hub_like.name, elsewhere.name, theirs.name} <= names

    hub_like.remove(force=True)
    theirs.remove(force=True)
    network.remove()  # what `pulumi destroy` does next: it succeeds now
    # A second run (nothing left) succeeds too, as a retried destroy would.
    again = subprocess.run(
        ["/bin/sh", "-c", notebook_servers_command(other.name, None, prune=False)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and "removed 1 notebook container(s)" in again.stdout


def test_removal_fails_loudly_when_the_engine_does_not_answer(tmp_path):
    require_tool("docker")
    for prune in (True, False):
        script = notebook_servers_command(
            "jupyterhub-network", f"unix://{tmp_path}/no.sock", prune=prune
        )
        done = subprocess.run(
            ["/bin/sh", "-c", script], input="", capture_output=True, text=True, timeout=60
        )
        assert done.returncode != 0
        assert "removed" not in done.stdout


def test_update_removes_only_the_servers_of_users_without_a_certificate(engine):
    client, image, make = engine
    network = make("networks", f"{PREFIX}-prune", driver="bridge")
    kept_users = [f"{PREFIX}-frank", f"{PREFIX}.grace"]
    kept = [
        run_container(client, image, notebook_container_name(u), network.name) for u in kept_users
    ]
    # A kept user's named server stays with them (HUB_NAMED_SERVERS).
    kept.append(
        run_container(client, image, notebook_container_name(kept_users[0], "lab"), network.name)
    )
    # Removed from config; one name is a prefix of a kept user's (no partial matches), one
    # a named server of a removed user, one a user whose escaped name begins like a kept
    # user's named server (frank-2d-2dlab is `frank--lab`, a user, not frank's server).
    gone = [
        run_container(client, image, notebook_container_name(u, server), network.name)
        for u, server in (
            (f"{PREFIX}-heidi", ""),
            (f"{PREFIX}-fran", ""),
            (f"{PREFIX}-heidi", "lab"),
            (f"{PREFIX}-frank--lab", ""),
        )
    ]
    hub_like = run_container(client, image, f"{PREFIX}-hub2", network.name)

    script = notebook_servers_command(network.name, None, prune=True)
    done = subprocess.run(
        ["/bin/sh", "-c", script],
        input=notebook_keep_list(kept_users),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "removed 4 notebook container(s) of users without a client certificate" in done.stdout
    names = {c.name for c in client.containers.list(filters={"name": TAG})}
    assert {c.name for c in kept} | {hub_like.name} <= names
    assert not {c.name for c in gone} & names
    # No user keeps a certificate: every notebook container goes, nothing else.
    again = subprocess.run(
        ["/bin/sh", "-c", script],
        input=notebook_keep_list([]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and "removed 3 " in again.stdout, again.stderr
    names = {c.name for c in client.containers.list(filters={"name": TAG})}
    assert hub_like.name in names and not {c.name for c in kept} & names
