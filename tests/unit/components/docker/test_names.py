"""Docker names derived in one place (components/docker/names.py) agree with the hub's
jupyterhub_config.py, which runs in the hub image and cannot import them, and with
DockerSpawner's own escaping; no two (user, server) pairs share a container or volume."""

from __future__ import annotations

import itertools
import random
import re
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner

from components.docker import names
from tests.hubconfig import configured_spawner
from tests.unit.images.hub.test_jupyterhub_config import load

USERS = ["alice", "bob.smith", "carol_x", "dave-y", "a-2eb", "a.b", "Zed"]
WORK = "/home/jovyan/work"
PKI = "/etc/jupyterpki"


def test_the_hub_config_uses_the_hub_alias_and_the_name_templates():
    c = load()
    assert c.JupyterHub.hub_connect_ip == names.HUB_ALIAS
    assert c.DockerSpawner.name_template == names.NOTEBOOK_NAME_TEMPLATE
    assert names.SERVER_VOLUME_TEMPLATE in c.DockerSpawner.volumes
    assert names.SERVER_VOLUME_TEMPLATE.startswith(names.USER_VOLUME_TEMPLATE)


@pytest.mark.parametrize("user", USERS)
def test_names_escape_users_as_dockerspawner_does(user):
    spawner = DockerSpawner(user=SimpleNamespace(name=user, id=1, url="/"), hub=SimpleNamespace())
    assert names.escaped_user(user) == spawner.escaped_name
    assert names.notebook_container_name(user) == spawner.object_name
    assert names.user_volume_name(user) == names.USER_VOLUME_TEMPLATE.format(
        **spawner.template_namespace()
    )


def volume_of(spawner) -> str:
    (volume,) = [host for host, bind in spawner.volume_binds.items() if bind["bind"] == WORK]
    return volume


@pytest.mark.parametrize("server", ["", "lab", "My Lab", "a-b", "x.y", "2024"])
@pytest.mark.parametrize("user", USERS)
def test_the_hubs_spawner_names_what_names_py_derives(user, server):
    """The configured spawner (the hub's class, config and template namespace): container
    and volume of each (user, server) are names.py's; the default server's are unchanged."""
    spawner = configured_spawner(load(), user, server)
    assert spawner.object_name == names.notebook_container_name(user, server)
    assert volume_of(spawner) == names.user_volume_name(user, server)
    if not server:
        assert spawner.object_name == f"{names.NOTEBOOK_PREFIX}-{names.escaped_user(user)}"
        assert volume_of(spawner) == names.USER_VOLUME_TEMPLATE.format(
            username=names.escaped_user(user)
        )


@pytest.mark.parametrize("user", USERS)
def test_the_spawner_mounts_the_directory_the_delivery_writes(user):
    """Real DockerSpawner code formats the shipped volume map: the certificate directory
    it binds is the one components/delivery writes, for every name the settings accept,
    for the default server and named ones alike, and no two users share one (a.b and a-2eb
    escape to each other's neighbours)."""
    from components.delivery.script import DeliveryFiles

    c = load()
    pki_dir = "/var/lib/jupyterhub-zos/dev/pki"
    delivered = DeliveryFiles(pki_dir, user, "key.pem", "cert.pem", "cacert.pem").directory
    for server in ("", "lab", "a-b"):
        binds = configured_spawner(c, user, server).volume_binds
        mounted = [host for host, bind in binds.items() if bind["bind"] == PKI]
        assert mounted == [delivered]
        assert bind_modes(binds)[delivered] == "ro"


def bind_modes(binds) -> dict[str, str]:
    return {host: bind["mode"] for host, bind in binds.items()}


def test_no_two_users_share_a_certificate_directory_or_a_volume():
    users = ["a.b", "a-2eb", "a_b", "a-b", "ab"]
    c = load()
    seen_dirs, seen_volumes = set(), set()
    for user in users:
        for host, bind in configured_spawner(c, user).volume_binds.items():
            seen = seen_dirs if bind["bind"] == PKI else seen_volumes
            assert host not in seen, (user, host)
            seen.add(host)
    assert len(seen_dirs) == len(seen_volumes) == len(users)


# --- named servers: no two (user, server) pairs map to one name -------------------------

# The cases a naive `<user>-<server>` join would merge: a-b + c, a + b-c; the separator
# itself in names; case (DockerSpawner lower-cases {servername} before escaping it).
TRICKY = [
    ("a-b", "c"),
    ("a", "b-c"),
    ("a", "b--c"),
    ("a--b", "c"),
    ("a-", "-b"),
    ("a", "-b"),
    ("a-", "b"),
    ("a", ""),
    ("a--", ""),
    ("a", "2d"),
    ("a-2d", ""),
    ("a", "Foo"),
    ("a", "foo"),
    ("a", "-46oo"),
    ("a.b", "c"),
    ("a", "b.c"),
    ("a-2eb", "c"),
    ("ü", ""),
    ("-c3-bc", ""),
]


def test_the_tricky_pairs_get_distinct_containers_and_volumes():
    c = load()
    containers, volumes = {}, {}
    for user, server in TRICKY:
        spawner = configured_spawner(c, user, server)
        assert spawner.object_name not in containers, (
            (user, server),
            containers.get(spawner.object_name),
        )
        containers[spawner.object_name] = (user, server)
        volume = volume_of(spawner)
        assert volume not in volumes, ((user, server), volumes.get(volume))
        volumes[volume] = (user, server)
    assert names.notebook_container_name("a-b", "c") == "jupyter-a-2db--c"
    assert names.notebook_container_name("a", "b-c") == "jupyter-a--b-2dc"


ESCAPED = re.compile(r"(?:[a-z0-9]|-[0-9a-f]{2})*")


def decode(container: str) -> tuple[str, str]:
    """(user, server) back from a container name: the proof that the naming is one to
    one. After the prefix, the first `--` is the separator: an escaped name is a-z 0-9
    and `-` + two hex digits, so it holds no `--` and does not end in `-`."""
    rest = container.removeprefix(f"{names.NOTEBOOK_PREFIX}-")
    user, sep, server = rest.partition(names.SERVER_SEPARATOR)
    assert ESCAPED.fullmatch(user) and ESCAPED.fullmatch(server), container
    assert not sep or server, container

    def unescape(text: str) -> str:
        raw = re.sub(r"-([0-9a-f]{2})", lambda m: f"%{m[1]}", text)
        from urllib.parse import unquote_to_bytes

        return unquote_to_bytes(raw).decode()

    return unescape(user), unescape(server)


def test_every_name_decodes_to_its_one_user_and_server():
    rng = random.Random(15)  # noqa: S311 - test data, seeded to be repeatable
    alphabet = "ab-_.A2dé-"
    pairs = set(TRICKY)
    for _ in range(3000):
        user = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
        server = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5)))
        pairs.add((user, server))
    for user, server in pairs:
        container = names.notebook_container_name(user, server)
        assert decode(container) == (user, server)
        volume = names.user_volume_name(user, server)
        assert volume == names.USER_VOLUME_TEMPLATE.format(
            username=container.removeprefix(f"{names.NOTEBOOK_PREFIX}-")
        )
    # Distinct pairs, distinct names (what decoding implies, checked outright).
    built = [names.notebook_container_name(u, s) for u, s in pairs]
    assert len(set(built)) == len(pairs)
    assert len({names.user_volume_name(u, s) for u, s in pairs}) == len(pairs)


def test_every_short_name_over_the_hard_alphabet_is_distinct():
    """Exhaustive over a small alphabet holding the escape character and the separator."""
    words = ["".join(p) for n in range(0, 4) for p in itertools.product("a-2", repeat=n)]
    pairs = [(u, s) for u in words if u for s in words]
    assert len({names.notebook_container_name(u, s) for u, s in pairs}) == len(pairs)
