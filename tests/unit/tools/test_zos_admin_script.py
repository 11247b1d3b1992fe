"""`make zos-admin-script`: the administrator's script from Pulumi.<stack>.yaml alone,
before any deployment and before the exports exist (ZOS_USER_CERTS unset), the same text
as the program's `zos_admin_script` output; a stack that cannot be rendered is refused
with the settings' one message."""

from __future__ import annotations

import shutil

import yaml

from components.settings import validate
from components.settings.source import RawConfig
from components.zos.admin_script import render_admin_script
from tools import zos_admin_script
from tools.mock_graph import settled_event_loop
from tools.mock_graph.config import ROOT


def stack_file(tmp_path, ssh_keypair, **extra):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    _private, public = ssh_keypair
    config = {
        "jupyterhub-zos:ZOS_HOST": "zos.example.com",
        "jupyterhub-zos:ZOS_SSH_USER": "JKGID",
        "jupyterhub-zos:ZOS_SSH_HOST_KEY": public,
        "jupyterhub-zos:ZOS_SSH_PRIVATE_KEY": {"secure": "v1:abc:def"},
        "jupyterhub-zos:ZOS_RACF_MODE": "admin",
        "jupyterhub-zos:ZOS_USERS": {"alice": "ALICE01"},
        "jupyterhub-zos:HUB_ADMIN_USERS": ["alice"],
        "jupyterhub-zos:LDAP_SERVER_HOST": "ldap.test",
        "jupyterhub-zos:LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
        **extra,
    }
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": config}))


def test_writes_the_script_before_the_exports_exist(tmp_path, ssh_keypair, capsys):
    stack_file(tmp_path, ssh_keypair)
    out = tmp_path / "admin.sh"
    assert zos_admin_script.main(["--stack", "prod", "--out", str(out)], root=tmp_path) == 0
    text = out.read_text()
    assert out.stat().st_mode & 0o777 == 0o644
    private, public = ssh_keypair
    values = {
        "ZOS_HOST": "zos.example.com",
        "ZOS_SSH_USER": "JKGID",
        "ZOS_SSH_HOST_KEY": public,
        "ZOS_SSH_PRIVATE_KEY": private,
        "ZOS_RACF_MODE": "admin",
        "ZOS_USERS": '{"alice": "ALICE01"}',
        "HUB_ADMIN_USERS": '["alice"]',
        "LDAP_SERVER_HOST": "ldap.test",
        "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
    }
    with settled_event_loop():
        settings = validate(
            RawConfig("jupyterhub-zos", values, frozenset({"ZOS_SSH_PRIVATE_KEY"})),
            "prod",
            skip=frozenset({"ZOS_USER_CERTS"}),
        )
    assert text == render_admin_script(settings.zos, "prod", settings.gateway.url)
    assert "RACDCERT EXPORT" in text and "user-alice" in text
    assert "wrote" in capsys.readouterr().out


def test_a_bad_stack_is_refused_with_every_problem(tmp_path, ssh_keypair, capsys):
    stack_file(tmp_path, ssh_keypair, **{"jupyterhub-zos:ZOS_KG_PORT": "x"})
    assert zos_admin_script.main(["--stack", "prod", "--out", str(tmp_path / "o")], tmp_path) == 2
    assert "ZOS_KG_PORT" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
