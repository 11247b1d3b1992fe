"""Docker names derived in one place (components/docker/names.py) agree with the hub's
jupyterhub_config.py, which runs in the hub image and cannot import them, and with
DockerSpawner's own escaping."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner

from components.docker import names
from tests.unit.images.hub.test_jupyterhub_config import load


def test_the_hub_config_uses_the_hub_alias_and_the_user_volume_template():
    c = load()
    assert c.JupyterHub.hub_connect_ip == names.HUB_ALIAS
    assert names.USER_VOLUME_TEMPLATE in c.DockerSpawner.volumes


@pytest.mark.parametrize("user", ["alice", "bob.smith", "carol_x", "dave-y", "a-2eb", "a.b"])
def test_names_escape_users_as_dockerspawner_does(user):
    spawner = DockerSpawner(user=SimpleNamespace(name=user, id=1, url="/"), hub=SimpleNamespace())
    assert names.escaped_user(user) == spawner.escaped_name
    assert names.notebook_container_name(user) == spawner.object_name
    assert names.user_volume_name(user) == names.USER_VOLUME_TEMPLATE.format(
        **spawner.template_namespace()
    )
