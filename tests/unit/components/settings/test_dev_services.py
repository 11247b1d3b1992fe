"""Dev services only on dev stacks: the dev gateway (KG_URL and ZOS_HOST unset) and the
dev directory (LDAP_SERVER_HOST unset) are refused, before any resource, on a stack not
named `dev` or `dev-*`, unless ALLOW_DEV_SERVICES says so on purpose."""

from __future__ import annotations

import pytest

from components.settings import SettingsError, is_dev_stack
from tools.mock_graph import run_program

OWN_LDAP = {
    "LDAP_SERVER_HOST": "ldap.test",  # reserved TLD: never resolves
    "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
}
OWN_GATEWAY = {"KG_URL": "https://gateway.test:8099"}
TOKEN = {"KG_AUTH_TOKEN": "a-long-enough-gateway-token"}
ADMINS = {"HUB_ADMIN_USERS": ["admin"]}  # what Pulumi.dev.yaml gives the dev stack


def refused(stack: str, config: dict) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        run_program(stack, config={**ADMINS, **config}, secrets=TOKEN)
    assert caught.value.graph.resources == [], "a resource was registered before validation"
    return caught.value


DEV_CONTAINERS = {"jupyterhub-gateway-container", "jupyterhub-ldap-server"}


def containers(graph) -> set[str]:
    return {r.name for r in graph.resources if r.type == "docker:index/container:Container"}


@pytest.mark.parametrize("stack", ["dev", "dev-alice", "dev-2"])
def test_dev_stacks_are_named_dev_or_dev_dash(stack):
    assert is_dev_stack(stack)


@pytest.mark.parametrize("stack", ["prod", "staging", "devel", "mydev", "test", "Dev", "dev_x"])
def test_other_names_are_not_dev_stacks(stack):
    assert not is_dev_stack(stack)


def test_the_dev_gateway_is_refused_on_prod():
    error = refused("prod", OWN_LDAP)
    assert error.keys == {"KG_URL"}
    message = str(error)
    assert "the dev gateway" in message and "ALLOW_DEV_SERVICES=true" in message
    assert "share its one container" in message  # says why


def test_the_dev_directory_is_refused_on_prod():
    error = refused("prod", OWN_GATEWAY)
    assert error.keys == {"LDAP_SERVER_HOST"}
    message = str(error)
    assert "the dev directory" in message and "ALLOW_DEV_SERVICES=true" in message
    assert "stack 'prod' is not a dev stack (dev, dev-*)" in message


def test_both_are_named_in_one_error():
    error = refused("staging", {})
    assert error.keys == {"KG_URL", "LDAP_SERVER_HOST"}
    assert str(error).count("ALLOW_DEV_SERVICES") == 2


def test_a_bad_allow_value_does_not_allow():
    error = refused("prod", {"ALLOW_DEV_SERVICES": "yes"})
    assert error.keys == {"ALLOW_DEV_SERVICES", "KG_URL", "LDAP_SERVER_HOST"}


def test_prod_with_its_own_services_needs_no_key():
    graph = run_program("prod", config={**ADMINS, **OWN_LDAP, **OWN_GATEWAY}, secrets=TOKEN)
    assert graph.resources
    assert containers(graph) == {"jupyterhub-container"}  # no dev service


def test_the_gateway_on_zos_is_not_the_dev_gateway(zos_config):
    config, secrets = zos_config  # KG_URL unset, ZOS_HOST set, its own LDAP
    assert run_program("prod", config={**ADMINS, **config}, secrets=secrets).resources


def test_accepted_on_purpose_with_the_key():
    graph = run_program("prod", config={**ADMINS, "ALLOW_DEV_SERVICES": True})
    assert graph.outputs["hub_url"] == "https://localhost/"
    assert containers(graph) > DEV_CONTAINERS  # the dev services, as on a dev stack


@pytest.mark.parametrize("stack", ["dev", "dev-alice"])
def test_accepted_on_dev_stacks_with_no_key(stack):
    assert containers(run_program(stack, config=ADMINS)) > DEV_CONTAINERS
