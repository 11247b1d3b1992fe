"""`make import-env` with the security administrator's exports in the seed's secrets/
(`<hub user>.p12`, as the seed's runbook exported them): they become the secret
ZOS_USER_CERTS (every leaf with --secret on stdin, never in argv) and ZOS_RACF_MODE=admin,
after the same checks `pulumi up` runs; a bad export sets nothing."""

from __future__ import annotations

import json

from components.pki.specs import ca_spec, client_spec
from tests.support.certs import issue
from tests.unit.tools.test_import_seed import run_tool, stand_in, stored_config  # noqa: F401
from tools.import_env import Seed, plan

PASSWORD = "SeedP12pw-77c1e0"


def zos_env(ssh_keypair) -> str:
    _private, public = ssh_keypair
    return (
        "LDAP_SERVER_HOST=ldap.example.org\n"
        "LDAP_BIND_DN=uid={username},ou=people,dc=example,dc=org\n"
        "ZOS_HOST=zos.example.org\n"
        "ZOS_SSH_USER=JKGID\n"
        f"ZOS_SSH_HOST_KEY={public}\n"
        'ZOS_USERS={"admin": "ADMIN01", "alice": "ALICE01"}\n'
    )


def make_seed(tmp_path, ssh_keypair, password_for_alice: str = PASSWORD):
    folder = tmp_path / "seed"
    (folder / "secrets").mkdir(parents=True)
    (folder / ".env").write_text(zos_env(ssh_keypair))
    (folder / "userlist").write_text("admin admin\nalice\n")
    ca = issue(ca_spec("racf"))
    for user in ("admin", "alice"):
        cert = issue(client_spec(user), ca)
        (folder / "secrets" / f"{user}.p12").write_bytes(cert.pkcs12([ca], PASSWORD))
    (folder / "secrets" / "p12.password").write_text(PASSWORD + "\n")
    (folder / "secrets" / "alice.p12.password").write_text(password_for_alice + "\n")
    return folder


def test_the_exports_become_zos_user_certs(tmp_path, ssh_keypair, stand_in):  # noqa: F811
    env, calls = stand_in
    folder = make_seed(tmp_path, ssh_keypair)
    private, _public = ssh_keypair
    done = run_tool(env, "--seed", str(folder), "--stack", "prod")
    assert done.returncode != 0  # the SSH key is not in the seed: reported, nothing set
    assert "ZOS_SSH_PRIVATE_KEY" in done.stderr and not calls()

    seed = Seed.find(folder)
    certs = seed.user_certs()
    assert sorted(certs) == ["admin", "alice"] and certs["alice"]["password"] == PASSWORD
    env_values = {
        line.split("=", 1)[0]: line.split("=", 1)[1] for line in zos_env(ssh_keypair).splitlines()
    }
    env_values["ZOS_SSH_PRIVATE_KEY"] = private
    result = plan(env_values, (["admin"], ["alice"]), user_certs=certs)
    assert result.problems == [], result.problems
    setting = next(s for s in result.settings if s.key == "ZOS_USER_CERTS")
    assert setting.secret
    commands = setting.commands("prod")
    assert commands[0][0][:3] == ["pulumi", "config", "rm"]
    leaves = {argv[-1]: stdin for argv, stdin in commands[1:]}
    assert sorted(leaves) == [
        "ZOS_USER_CERTS.admin.p12",
        "ZOS_USER_CERTS.admin.password",
        "ZOS_USER_CERTS.alice.p12",
        "ZOS_USER_CERTS.alice.password",
    ]
    for argv, stdin in commands[1:]:
        assert "--secret" in argv and "--path" in argv
        assert PASSWORD not in " ".join(argv) and stdin
    mode = next(s for s in result.settings if s.key == "ZOS_RACF_MODE")
    assert mode.value == "admin"
    assert [d for d in result.differences if d.startswith("ZOS_RACF_MODE: admin")]


def test_a_wrong_export_password_is_named_and_sets_nothing(tmp_path, ssh_keypair):
    folder = make_seed(tmp_path, ssh_keypair, password_for_alice="not-the-password-1")
    private, _public = ssh_keypair
    env_values = {
        line.split("=", 1)[0]: line.split("=", 1)[1] for line in zos_env(ssh_keypair).splitlines()
    }
    env_values["ZOS_SSH_PRIVATE_KEY"] = private
    result = plan(env_values, (["admin"], ["alice"]), user_certs=Seed.find(folder).user_certs())
    assert [p for p in result.problems if "alice: the PKCS#12 does not open" in p]
    assert not [p for p in result.problems if "admin:" in p]
    assert "not-the-password-1" not in json.dumps(result.problems)
