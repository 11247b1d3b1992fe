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


@pytest.mark.parametrize("user", ["alice", "bob.smith", "carol_x", "dave-y", "a-2eb", "a.b"])
def test_the_spawner_mounts_the_directory_the_delivery_writes(user):
    """Real DockerSpawner code formats the shipped volume map: the certificate directory
    it binds is the one components/delivery writes, for every name the settings accept,
    and no two users share one (a.b and a-2eb escape to each other's neighbours)."""
    from components.delivery.script import DeliveryFiles

    c = load()
    pki_dir = "/var/lib/jupyterhub-zos/dev/pki"
    spawner = DockerSpawner(
        user=SimpleNamespace(name=user, id=1, url="/"), hub=SimpleNamespace(), config=c
    )
    binds = spawner.volume_binds
    mounted = [host for host, bind in binds.items() if bind["bind"] == "/etc/jupyterpki"]
    delivered = DeliveryFiles(pki_dir, user, "key.pem", "cert.pem", "cacert.pem").directory
    assert mounted == [delivered]
    volumes = [host for host, bind in binds.items() if bind["bind"] == "/home/jovyan/work"]
    assert volumes == [names.user_volume_name(user)]


def test_no_two_users_share_a_certificate_directory_or_a_volume():
    users = ["a.b", "a-2eb", "a_b", "a-b", "ab"]
    c = load()
    seen_dirs, seen_volumes = set(), set()
    for user in users:
        spawner = DockerSpawner(
            user=SimpleNamespace(name=user, id=1, url="/"), hub=SimpleNamespace(), config=c
        )
        for host, bind in spawner.volume_binds.items():
            seen = seen_dirs if bind["bind"] == "/etc/jupyterpki" else seen_volumes
            assert host not in seen, (user, host)
            seen.add(host)
    assert len(seen_dirs) == len(seen_volumes) == len(users)
