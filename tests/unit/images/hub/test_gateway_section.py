"""The hub config's Kernel Gateway section and pre-spawn hook, run as JupyterHub runs it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tornado import web

from tests.hubconfig import load_hub_config
from tests.support.notebook import hub_env, notebook_environment


def spawner(user: str):
    return SimpleNamespace(user=SimpleNamespace(name=user), name="")


def test_users_without_a_certificate_are_refused_at_spawn_with_a_reason():
    c = load_hub_config(hub_env(KG_URL="https://gw:8888", KG_AUTH_TOKEN="t" * 20))
    hook = c.Spawner.pre_spawn_hook
    hook(spawner("alice"))  # has one: no error
    with pytest.raises(web.HTTPError, match=r"client certificate .* user 'bob'.*pulumi up") as e:
        hook(spawner("bob"))
    # What JupyterHub shows on the spawn page instead of a bare 500.
    assert e.value.status_code == 403
    assert "client certificate is provisioned for user 'bob'" in e.value.jupyterhub_message


def test_no_user_has_a_certificate_when_none_were_delivered():
    env = hub_env(KG_URL="https://gw:8888", KG_AUTH_TOKEN="t" * 20, JUPYTERPKI_USERS="")
    hook = load_hub_config(env).Spawner.pre_spawn_hook
    with pytest.raises(web.HTTPError, match="alice"):
        hook(spawner("alice"))


def test_each_user_mounts_only_their_own_certificate_dir_read_only():
    c = load_hub_config(hub_env(KG_URL="https://gw:8888", KG_AUTH_TOKEN="t" * 20))
    mount = c.DockerSpawner.volumes["/var/lib/jupyterhub-zos/dev/pki/{raw_username}"]
    assert mount == {"bind": "/etc/jupyterpki", "mode": "ro"}


def test_file_names_and_timeouts_reach_the_notebook():
    env = hub_env(
        KG_URL="https://gw:8888",
        KG_AUTH_TOKEN="t" * 20,
        CLIENT_KEY="k.pem",
        CLIENT_CERT="c.pem",
        CLIENT_CA="ca.pem",
        VALIDATE_KG_CERT="false",
    )
    nb = notebook_environment(env, "carol")
    assert nb["JUPYTER_GATEWAY_CLIENT_KEY"] == "/etc/jupyterpki/k.pem"
    assert nb["JUPYTER_GATEWAY_CLIENT_CERT"] == "/etc/jupyterpki/c.pem"
    assert nb["JUPYTER_GATEWAY_CA_CERTS"] == "/etc/jupyterpki/ca.pem"
    assert nb["JUPYTER_GATEWAY_VALIDATE_CERT"] == "false"
    assert nb["KERNEL_USERNAME"] == "carol"
    # The request timeout covers the kernel launch timeout the gateway client sends.
    assert float(nb["JUPYTER_GATEWAY_REQUEST_TIMEOUT"]) >= float(nb["KERNEL_LAUNCH_TIMEOUT"])
    assert all(isinstance(v, str) for v in nb.values())
