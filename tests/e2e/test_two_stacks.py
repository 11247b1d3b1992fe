"""Two stacks on one Docker engine: `dev` and `e2e2`, up at once.

Each is applied by the local applier (`python -m tests.e2e.deploy --stack ...`, its own
state dir), with its own names (components/docker/names.py: the seed's for dev,
`jupyterhub-e2e2-...` / `jupyter-e2e2-...` for e2e2) and HUB_HTTPS_PORT. A user logs in
and runs a kernel on each; the second stack on the first one's port is refused before
anything changes; destroying e2e2 leaves dev's hub, gateway, notebook, kernel, volumes
and login as they were. Lean on purpose (one deployment each, one user).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from components.docker import names
from tests.e2e.dev_stack import Deployment, deploy, remove_leftovers, up
from tests.tooling import free_port

pytestmark = pytest.mark.e2e

OTHER = "e2e2"
USER = "alice"
DEV_NAMES = names.DEV_NAMES
OTHER_NAMES = names.stack_names(OTHER)
OTHER_LABEL = names.stack_label("jupyterhub-zos", OTHER)
DEV_LABEL = names.stack_label("jupyterhub-zos", "dev")


def _deployment(stack: str) -> Deployment:
    state_dir = Path(tempfile.mkdtemp(prefix=f"jzos-e2e-{stack}-state-"))
    pki_dir = Path(tempfile.mkdtemp(prefix=f"jzos-e2e-{stack}-pki-"))
    return Deployment({}, free_port(), state_dir / "hub-ca.pem", state_dir, pki_dir, [], stack)


def _up(d: Deployment) -> None:
    config = [
        f"HUB_HTTPS_PORT={d.port}",
        f"HUB_PKI_DIR={d.pki_dir}",
        f"HUB_ALLOWED_USERS={json.dumps([USER])}",
    ]
    if d.stack != "dev":  # not a dev stack: its dev gateway and directory are allowed here
        config += ["ALLOW_DEV_SERVICES=true", 'HUB_ADMIN_USERS=["admin"]']
    up(d, *(arg for item in config for arg in ("--set", item)))


def _down(d: Deployment) -> None:
    deploy("down", "--stack", d.stack, state_dir=d.state_dir)


@pytest.fixture(scope="module")
def stacks(engine, base_images):
    for stack_names in (DEV_NAMES, OTHER_NAMES):
        remove_leftovers(engine, stack_names)
    dev, other = _deployment("dev"), _deployment(OTHER)
    try:
        _up(dev)
        _up(other)
        yield dev, other
    finally:
        for d, stack_names in ((other, OTHER_NAMES), (dev, DEV_NAMES)):
            try:
                _down(d)
            except RuntimeError as exc:  # already down (the test destroys e2e2)
                print(exc)
            finally:
                remove_leftovers(engine, stack_names)
                shutil.rmtree(d.state_dir, ignore_errors=True)
                shutil.rmtree(d.pki_dir, ignore_errors=True)


def _labels(obj) -> dict:
    return obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}


def test_two_stacks_share_the_engine_and_destroying_one_leaves_the_other(stacks, engine):
    dev, other = stacks

    # Each stack's objects under its own names; e2e2's carry its label.
    assert dev.outputs["data_volume"] == "jupyterhub-data"
    assert other.outputs["data_volume"] == "jupyterhub-e2e2-data"
    assert other.outputs["kg_url"] == "https://jupyterhub-e2e2-gateway:8888"
    for name in (OTHER_NAMES.hub_container, OTHER_NAMES.gateway_container):
        assert _labels(engine.containers.get(name))[names.STACK_LABEL] == OTHER_LABEL
    assert _labels(engine.networks.get(OTHER_NAMES.network))[names.STACK_LABEL] == OTHER_LABEL
    assert _labels(engine.volumes.get(OTHER_NAMES.data_volume))[names.STACK_LABEL] == OTHER_LABEL

    # A user logs in on each hub (each its own directory's password) and runs a kernel.
    users = {d.stack: d.logged_in(USER) for d in (dev, other)}
    kernels = {}
    for stack, user in users.items():
        user.start_server()
        user.wait_ready()
        kernels[stack] = user.start_kernel()
        assert user.run(kernels[stack], f"where = {stack!r}; where") == repr(stack)
        assert user.server_api(
            "PUT",
            "contents/mine.txt",
            json={"type": "file", "format": "text", "content": f"written on {stack}"},
        ).status_code in (200, 201)
    dev_nb = engine.containers.get(DEV_NAMES.notebook_container_name(USER))
    other_nb = engine.containers.get(OTHER_NAMES.notebook_container_name(USER))
    assert (dev_nb.name, other_nb.name) == ("jupyter-alice", "jupyter-e2e2-alice")
    assert _labels(dev_nb)[names.STACK_LABEL] == DEV_LABEL
    assert _labels(other_nb)[names.STACK_LABEL] == OTHER_LABEL
    assert list(other_nb.attrs["NetworkSettings"]["Networks"]) == [OTHER_NAMES.network]
    # Her volume on each stack is its own, labelled by the hub that made it.
    for stack_names, owner in ((DEV_NAMES, DEV_LABEL), (OTHER_NAMES, OTHER_LABEL)):
        volume = engine.volumes.get(stack_names.user_volume_name(USER))
        assert _labels(volume)[names.STACK_LABEL] == owner
    assert users["dev"].server_api("GET", "contents/mine.txt").json()["content"] == "written on dev"

    # e2e2 on dev's port: refused before anything changes (its hub keeps running as it was).
    other_hub = engine.containers.get(OTHER_NAMES.hub_container)
    with pytest.raises(RuntimeError) as refused:
        deploy(
            "up",
            "--stack",
            OTHER,
            *other.config,
            "--set",
            f"HUB_HTTPS_PORT={dev.port}",
            state_dir=other.state_dir,
        )
    message = str(refused.value)
    assert "belong to another stack; nothing was deployed" in message, message
    assert "container 'jupyterhub' of no stack label" in message
    assert f"publishes port {dev.port}" in message
    again = engine.containers.get(OTHER_NAMES.hub_container)
    assert (again.id, again.status) == (other_hub.id, "running")

    # Destroy e2e2: its containers go, its data and her volume stay (kept on purpose).
    dev_ids = {
        name: engine.containers.get(name).id
        for name in (DEV_NAMES.hub_container, DEV_NAMES.gateway_container, dev_nb.name)
    }
    _down(other)
    left = {c.name for c in engine.containers.list(all=True)}
    assert not {OTHER_NAMES.hub_container, OTHER_NAMES.gateway_container, other_nb.name} & left
    assert engine.volumes.get(OTHER_NAMES.user_volume_name(USER))
    # dev: the same containers running, her kernel and file, and a fresh login.
    for name, container_id in dev_ids.items():
        found = engine.containers.get(name)
        assert (found.id, found.status) == (container_id, "running"), name
    assert users["dev"].run(kernels["dev"], "where") == "'dev'"
    assert dev.logged_in(USER).server_api("GET", "contents/mine.txt").status_code == 200
    for volume in (DEV_NAMES.data_volume, DEV_NAMES.user_volume_name(USER)):
        assert engine.volumes.get(volume)
