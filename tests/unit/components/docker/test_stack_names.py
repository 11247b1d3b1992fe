"""Several stacks on one Docker host: the names scheme (components/docker/names.py), the
program's graph for a stack other than dev, and the hub's side of it (its environment,
jupyterhub_config.py and jhz_stack.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sys
from dataclasses import astuple
from pathlib import Path
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner
from tornado import web

from components.docker import names
from components.settings import SettingsError
from tests.hubconfig import configured_spawner, load_hub_config
from tests.unit.images.hub.test_jupyterhub_config import DERIVED, env
from tools.mock_graph import run_program

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "images" / "hub"))
import jhz_stack  # noqa: E402 - beside jupyterhub_config.py in the hub image

DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"


def fixed_names(n: names.StackNames) -> list[str]:
    return [
        n.network,
        n.directory_network,
        n.data_volume,
        n.directory_volume,
        n.hub_container,
        n.hub_alias,
        n.gateway_container,
        n.directory_container,
    ]


def test_the_dev_stack_keeps_the_seeds_names():
    dev = names.stack_names("dev")
    assert astuple(dev) == (
        "dev",
        "jupyterhub-network",
        "jupyterhub-data",
        "jupyterhub",
        "jupyterhub",
        "jupyterhub-gateway",
        "jupyterhub-ldap",
        "jupyter",
        "jupyterhub-user-{username}",
    )
    assert dev == names.DEV_NAMES
    assert dev.notebook_container_name("bob.smith") == names.notebook_container_name("bob.smith")
    assert dev.user_volume_name("alice") == "jupyterhub-user-alice"
    assert dev.directory_network == "jupyterhub-network-directory"


def test_another_stacks_names_carry_it_and_none_is_devs():
    prod, dev = names.stack_names("prod"), names.DEV_NAMES
    assert prod.hub_container == prod.hub_alias == "jupyterhub-prod"
    assert prod.network == "jupyterhub-prod-network"
    assert prod.data_volume == "jupyterhub-prod-data"
    assert prod.gateway_container == "jupyterhub-prod-gateway"
    assert prod.notebook_container_name("alice") == "jupyter-prod-alice"
    assert prod.user_volume_name("bob.smith") == "jupyterhub-prod-user-bob-2esmith"
    assert not set(fixed_names(prod)) & set(fixed_names(dev))
    e2e2 = names.stack_names("e2e2")
    assert not set(fixed_names(prod)) & set(fixed_names(e2e2))


def test_a_user_named_like_a_role_is_not_that_container():
    # Notebooks are `jupyter-<stack>-`, the stack's own containers `jupyterhub-<stack>-`.
    prod = names.stack_names("prod")
    for user in ("gateway", "ldap", "network", "data", "hub"):
        assert prod.notebook_container_name(user) not in prod.fixed_containers
        assert prod.user_volume_name(user) not in (prod.data_volume, prod.directory_volume)


def test_the_set_network_name_wins():
    assert names.stack_names("prod", "shared-net").network == "shared-net"
    assert names.stack_names("prod", "shared-net").directory_network == "shared-net-directory"
    assert names.stack_names("dev", "mine").network == "mine"


@pytest.mark.parametrize("stack", ["prod", "e2e2", "team-a", "a", "x" * names.MAX_STACK_LENGTH])
def test_every_fixed_name_is_a_dns_label(stack):
    for name in fixed_names(names.stack_names(stack)):
        assert DNS_LABEL.fullmatch(name), name
    assert DNS_LABEL.fullmatch(names.stack_names(stack).notebook_container_name("alice"))


def test_the_longest_stack_name_fills_a_dns_label_exactly():
    longest = names.stack_names("x" * names.MAX_STACK_LENGTH)
    assert max(len(n) for n in fixed_names(longest)) == 63
    assert names.MAX_STACK_LENGTH == 34  # docs/howto/day-2.md says so


@pytest.mark.parametrize(
    "stack", ["Prod", "my_stack", "a.b", "-a", "a-", "a--b", "x" * (names.MAX_STACK_LENGTH + 1)]
)
def test_stack_names_that_cannot_name_docker_objects_are_refused(stack):
    assert names.stack_name_problem(stack)
    with pytest.raises(ValueError):
        names.stack_names(stack)
    with pytest.raises(SettingsError) as caught:
        run_program(stack)
    assert "(stack name)" in caught.value.keys
    assert caught.value.graph.resources == []  # nothing was declared


@pytest.mark.parametrize("user", ["alice", "bob.smith", "a-2eb"])
def test_the_hub_config_names_notebooks_and_volumes_as_names_py_does(user):
    prod = names.stack_names("prod")
    derived = dataclasses.replace(DERIVED, stack_names=prod, stack_label="p/prod")
    c = load_hub_config(env(derived=derived))
    assert c.JupyterHub.hub_connect_ip == "jupyterhub-prod"
    # The configured spawner (server naming fills {server_suffix}), default and named server.
    for server in ("", "lab"):
        spawner = configured_spawner(c, user, server)
        assert isinstance(spawner, DockerSpawner)
        assert spawner.object_name == prod.notebook_container_name(user, server)
        binds = spawner.volume_binds.items()
        work = [h for h, b in binds if b["bind"] == "/home/jovyan/work"]
        assert work == [prod.user_volume_name(user, server)]
    assert c.DockerSpawner.extra_create_kwargs["labels"] == {names.STACK_LABEL: "p/prod"}
    assert c.JupyterHub.spawner_class.stack_owner == "p/prod"
    assert c.JupyterHub.spawner_class.keeps_unlabeled is False


def test_the_dev_hub_keeps_its_unlabeled_objects():
    c = load_hub_config(env())
    assert c.JupyterHub.spawner_class.stack_owner == "jupyterhub-zos/dev"
    assert c.JupyterHub.spawner_class.keeps_unlabeled is True
    assert jhz_stack.LABEL == names.STACK_LABEL


# --- the program's graph for a stack other than dev ---------------------------------------


@pytest.fixture(scope="module")
def prod():
    config = {
        "ALLOW_DEV_SERVICES": "true",
        "HUB_HTTPS_PORT": "9443",
        "HUB_ADMIN_USERS": ["admin"],
        "HUB_ALLOWED_USERS": ["alice"],
    }
    return run_program("prod", config=config)


def _labels(resource) -> dict:
    return {item["label"]: item["value"] for item in resource.inputs.get("labels") or []}


def test_another_stacks_objects_carry_its_names_and_label(prod):
    label = {names.STACK_LABEL: "jupyterhub-zos/prod"}
    made = {}
    for kind in (CONTAINER, VOLUME, NETWORK):
        for r in prod.resources:
            if r.type == kind:
                made[r.inputs["name"]] = r
                assert _labels(r).items() >= label.items(), r.name
    assert set(made) == {
        "jupyterhub-prod",
        "jupyterhub-prod-gateway",
        "jupyterhub-prod-ldap",
        "jupyterhub-prod-data",
        "jupyterhub-prod-ldap-data",
        "jupyterhub-prod-network",
        "jupyterhub-prod-network-directory",
    }
    hub = made["jupyterhub-prod"]
    aliases = [n["aliases"] for n in hub.inputs["networksAdvanced"] if n.get("aliases")]
    assert aliases == [["jupyterhub-prod"]]
    assert prod.outputs["kg_url"] == "https://jupyterhub-prod-gateway:8888"
    assert prod.outputs["docker_logs"]["alice"] == "docker logs jupyter-prod-alice"
    envs = dict(e.split("=", 1) for e in hub.inputs["envs"] if isinstance(e, str))
    assert envs["NOTEBOOK_NAME_PREFIX"] == "jupyter-prod"
    assert envs["NOTEBOOK_VOLUME_TEMPLATE"] == "jupyterhub-prod-user-{username}{server_suffix}"
    assert envs["STACK_LABEL"] == "jupyterhub-zos/prod"
    assert envs["STACK_KEEPS_UNLABELED"] == "false"
    assert envs["DOCKER_NETWORK_NAME"] == "jupyterhub-prod-network"


def test_the_dev_stacks_objects_keep_their_inputs():
    dev = run_program("dev")
    for r in dev.resources:
        if r.type in (CONTAINER, NETWORK):
            assert "labels" not in r.inputs, r.name
        if r.type == VOLUME:
            assert names.STACK_LABEL not in _labels(r), r.name


def test_the_dev_gateway_certificate_names_the_stacks_gateway(prod):
    server = [
        r
        for r in prod.resources
        if r.type == "tls:index/certRequest:CertRequest" and "gateway" in r.name
    ]
    hosts = {h for r in server for h in r.inputs.get("dnsNames") or []}
    assert "jupyterhub-prod-gateway" in hosts and "jupyterhub-gateway" not in hosts


# --- the hub's guard at spawn (jhz_stack.py) ------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "keeps", "other"),
    [
        ({names.STACK_LABEL: "p/prod"}, False, None),
        ({names.STACK_LABEL: "p/dev"}, False, "stack p/dev"),
        ({names.STACK_LABEL: "p/dev"}, True, "stack p/dev"),
        ({}, True, None),
        (None, True, None),
        ({}, False, jhz_stack.UNLABELED),
        ({"other": "x"}, False, jhz_stack.UNLABELED),
    ],
)
def test_whose_object_it_is(labels, keeps, other):
    assert jhz_stack.foreign_owner(labels, "p/prod", keeps) == other


class FakeEngine:
    """The docker SDK calls the guard makes, answered from a dict of objects."""

    def __init__(self, containers=None, volumes=None):
        self.containers, self.volumes, self.calls = containers or {}, volumes or {}, []

    async def __call__(self, method, *args, **kwargs):
        from docker.errors import NotFound

        self.calls.append((method, args, kwargs))
        if method == "inspect_container":
            if args[0] not in self.containers:
                raise NotFound("no such container")
            return {"Config": {"Labels": self.containers[args[0]]}}
        if method == "inspect_volume":
            if args[0] not in self.volumes:
                raise NotFound("no such volume")
            return {"Name": args[0], "Labels": self.volumes[args[0]]}
        if method == "create_volume":
            self.volumes[kwargs["name"]] = kwargs["labels"]
            return {}
        raise AssertionError(method)


class Started(Exception):
    """DockerSpawner.start was reached (the guard let the spawn through)."""


def guarded_spawner(engine, owner="p/prod", keeps=False, user="alice"):
    class Base(DockerSpawner):
        async def start(self):
            raise Started

    cls = jhz_stack.guarded(Base, owner=owner, keeps_unlabeled=keeps)
    spawner = cls(
        user=SimpleNamespace(name=user, id=1, url="/"),
        hub=SimpleNamespace(),
        prefix="jupyter-prod",
        volumes={"jupyterhub-prod-user-{username}": "/home/jovyan/work", "/pki/x": "/etc/x"},
    )
    spawner.docker = engine
    return spawner


def test_a_first_start_makes_the_users_volume_with_the_label():
    engine = FakeEngine()
    with pytest.raises(Started):
        asyncio.run(guarded_spawner(engine).start())
    assert engine.volumes == {"jupyterhub-prod-user-alice": {names.STACK_LABEL: "p/prod"}}
    assert ("inspect_container", ("jupyter-prod-alice",), {}) in engine.calls


def test_a_start_over_its_own_objects_goes_on():
    label = {names.STACK_LABEL: "p/prod"}
    engine = FakeEngine({"jupyter-prod-alice": label}, {"jupyterhub-prod-user-alice": label})
    with pytest.raises(Started):
        asyncio.run(guarded_spawner(engine).start())
    assert not [c for c in engine.calls if c[0] == "create_volume"]


@pytest.mark.parametrize(
    ("containers", "volumes", "named"),
    [
        (
            {"jupyter-prod-alice": {names.STACK_LABEL: "p/other"}},
            {},
            "container 'jupyter-prod-alice'",
        ),
        ({}, {"jupyterhub-prod-user-alice": {names.STACK_LABEL: "p/dev"}}, "stack p/dev"),
        ({}, {"jupyterhub-prod-user-alice": {}}, "no stack label"),
    ],
)
def test_another_stacks_container_or_volume_refuses_the_spawn(containers, volumes, named):
    engine = FakeEngine(containers, volumes)
    with pytest.raises(web.HTTPError) as caught:
        asyncio.run(guarded_spawner(engine).start())
    assert named in caught.value.jupyterhub_message
    assert not [c for c in engine.calls if c[0] in ("create_volume", "remove_container")]


def test_the_dev_hub_takes_its_unlabeled_volume():
    engine = FakeEngine({}, {"jupyterhub-prod-user-alice": {}})
    with pytest.raises(Started):
        asyncio.run(guarded_spawner(engine, owner="p/dev", keeps=True).start())
