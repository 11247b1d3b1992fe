"""Config that is valid key by key but cannot work is refused before any resource,
naming the keys: hub users and ZOS_USERS that do not match behind AT-TLS, and LDAPS's
port with StartTLS."""

from __future__ import annotations

import pytest

from components.settings import SettingsError
from tools.mock_graph import run_program


def refused(config, secrets=None) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        run_program("prod", config=config, secrets=secrets)
    assert caught.value.graph.resources == [] or all(
        not r.custom for r in caught.value.graph.resources
    ), "nothing may be registered before the config is refused"
    return caught.value


def test_a_hub_user_without_a_zos_id_is_refused(zos_config):
    config, secrets = zos_config
    error = refused({**config, "HUB_ALLOWED_USERS": ["alice", "carol"]}, secrets)
    assert error.keys == {"HUB_ALLOWED_USERS"}
    (problem,) = error.problems
    assert problem.message.startswith("carol has no ZOS_USERS entry")
    assert "kernels run under their own z/OS user ID" in problem.message
    assert "pulumi config set --path 'ZOS_USERS.carol'" in problem.message


def test_an_admin_without_a_zos_id_is_refused(zos_config):
    config, secrets = zos_config
    error = refused({**config, "HUB_ADMIN_USERS": ["admin", "root"]}, secrets)
    assert error.keys == {"HUB_ADMIN_USERS"}
    assert "root has no ZOS_USERS entry" in str(error)


def test_a_zos_id_for_no_hub_user_is_refused(zos_config):
    config, secrets = zos_config
    users = {**config["ZOS_USERS"], "dave": "DAVE01", "erin": "ERIN01"}
    error = refused({**config, "ZOS_USERS": users}, secrets)
    assert error.keys == {"ZOS_USERS"}
    assert "dave, erin are not in HUB_ADMIN_USERS or HUB_ALLOWED_USERS" in str(error)
    assert "pulumi config rm --path 'ZOS_USERS.dave'" in str(error)


def test_both_ways_at_once(zos_config):
    config, secrets = zos_config
    error = refused({**config, "ZOS_USERS": {"admin": "ADMIN01", "bob": "BOB01"}}, secrets)
    assert error.keys == {"HUB_ALLOWED_USERS", "ZOS_USERS"}


def test_without_attls_users_need_no_zos_id(zos_config):
    """ZOS_ATTLS=false: the gateway runs kernels under ZOS_KG_USER, not per user."""
    config, secrets = zos_config
    graph = run_program(
        "prod",
        config={**config, "ZOS_ATTLS": False, "HUB_ALLOWED_USERS": ["alice", "carol"]},
        secrets=secrets,
    )
    assert graph.resources


def test_the_matching_zos_stack_is_accepted(zos_config):
    config, secrets = zos_config
    assert run_program("prod", config=config, secrets=secrets).resources


OWN_LDAP = {
    "HUB_ADMIN_USERS": ["admin"],
    "LDAP_SERVER_HOST": "ldap.test",
    "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
    "ALLOW_DEV_SERVICES": True,  # the dev gateway: only LDAP is under test
}


@pytest.mark.parametrize("tls", [None, "starttls"])
def test_ldaps_port_with_starttls_is_refused_suggesting_ldaps(tls):
    config = {**OWN_LDAP, "LDAP_SERVER_PORT": 636}
    if tls:
        config["LDAP_TLS"] = tls
    error = refused(config)
    assert error.keys == {"LDAP_TLS"}
    assert "LDAP_SERVER_PORT is 636" in str(error) and "LDAP_TLS=ldaps" in str(error)


@pytest.mark.parametrize(("port", "tls"), [(636, "ldaps"), (389, "starttls"), (3389, "starttls")])
def test_other_ports_and_modes_pass(port, tls):
    assert run_program("prod", config={**OWN_LDAP, "LDAP_SERVER_PORT": port, "LDAP_TLS": tls})


# --- "set it with" hints, right for each key's kind -------------------------------------------


def test_each_hint_fits_its_keys_kind():
    from components.settings import ARRAY_KEYS, CONFIG_KEYS, MAP_KEYS, SECRET_KEYS, set_hint

    assert sorted(ARRAY_KEYS) == [
        "DOCKER_NOTEBOOK_IMAGES",
        "HUB_ADMIN_USERS",
        "HUB_ALLOWED_USERS",
        "LDAP_ALLOWED_GROUPS",
    ]
    assert sorted(MAP_KEYS) == ["ZOS_KG_SERVER_TLS", "ZOS_USERS", "ZOS_USER_CERTS"]
    for key in CONFIG_KEYS:
        hint = set_hint(key)
        assert hint.startswith("pulumi config set ")
        if key == "ZOS_KG_SERVER_TLS":  # one entry, not one per user
            assert f"--secret --path '{key}.p12' <" in hint
        elif key in MAP_KEYS and key in SECRET_KEYS:
            assert f"--secret --path '{key}.alice." in hint
        elif key in ARRAY_KEYS:
            assert f"--path '{key}[0]'" in hint
        elif key in MAP_KEYS:
            assert f"--path '{key}.alice'" in hint
        elif key in SECRET_KEYS:
            assert f"--secret {key} <" in hint
        else:
            assert hint == f"pulumi config set {key} <value>"


@pytest.mark.parametrize(
    ("key", "raw", "hint"),
    [
        ("LDAP_ALLOWED_GROUPS", "cn=a,dc=x", "--path 'LDAP_ALLOWED_GROUPS[0]'"),
        ("HUB_ALLOWED_USERS", "alice", "--path 'HUB_ALLOWED_USERS[0]'"),
        ("ZOS_USERS", "alice=ALICE01", "--path 'ZOS_USERS.alice'"),
    ],
)
def test_an_array_or_map_set_whole_is_told_to_use_path(key, raw, hint):
    error = refused({"HUB_ADMIN_USERS": ["admin"], "ALLOW_DEV_SERVICES": True, key: raw})
    (problem,) = [p for p in error.problems if p.key == key]
    assert hint in problem.message


def test_a_secret_set_plain_is_told_to_use_secret():
    error = refused(
        {"HUB_ADMIN_USERS": ["admin"], "ALLOW_DEV_SERVICES": True, "KG_AUTH_TOKEN": "x" * 20}
    )
    (problem,) = error.problems
    assert "pulumi config set --secret KG_AUTH_TOKEN < file" in problem.message
