"""A seed-shaped folder (.env with CRLF, quotes and a DN with commas, a userlist, and
secrets/ with a real hub certificate and key) migrates with one command, and the mock
graph of the stack it makes is the seed's deployment: same host name, certificate, LDAP
server and groups, gateway and users.

The Pulumi CLI is not installed here: a stand-in `pulumi` on PATH records each call
(argv, stdin); the stack config is rebuilt from those calls the way the CLI stores them
(`--path` items, a value on stdin with its trailing newline trimmed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from components.hub.environment import SSL_CERT_PATH, SSL_KEY_PATH
from components.pki.specs import CertSpec
from tests.support.certs import issue
from tools.import_env import Seed, SeedError, cert_hostname, parse_userlist, plan
from tools.mock_graph import ROOT, run_program

CONTAINER = "docker:index/container:Container"
HOST = "jupyter.example.org"
GROUP = "cn=jupyter,ou=groups,dc=example,dc=org"
TOKEN = "seed-token-0123456789abcdef"
BIND_DN = "cn={username},profiletype=USER,cn=example,cn=org"
SEED_ENV = (
    "# LDAP Settings\r\n"
    "# The IP of your LDAP Server (NO QUOTES!)\r\n"
    "LDAP_SERVER_HOST=ldap.example.org\r\n"
    "LDAP_SERVER_PORT=389\r\n"
    f"LDAP_BIND_DN='{BIND_DN}'  # example\r\n"
    f"LDAP_ALLOWED_GROUPS={GROUP}\r\n"
    "KG_URL=https://zos.example.org:8099\r\n"
    f'KG_AUTH_TOKEN="{TOKEN}"\r\n'
    "VALIDATE_KG_CERT=true\r\n"
    "CLIENT_KEY=key.pem\r\n"
    "CLIENT_CERT=cert.pem\r\n"
    "CLIENT_CA=cacert.pem\r\n"
    "JUPYTERHUB_VERSION=0.9.2\r\n"
)
USERLIST = "admin admin\r\nalice\r\nBob\r\n"


@pytest.fixture(scope="module")
def hub_pair():
    spec = CertSpec(
        common_name=HOST,
        allowed_uses=("digital_signature", "key_encipherment", "server_auth"),
        validity_hours=24 * 90,
        early_renewal_hours=0,
        dns_names=(HOST,),
    )
    return issue(spec)


@pytest.fixture
def seed(tmp_path, hub_pair):
    folder = tmp_path / "seed"
    (folder / "secrets").mkdir(parents=True)
    (folder / ".env").write_bytes(SEED_ENV.encode())
    (folder / "userlist").write_bytes(USERLIST.encode())
    hub_pair.write(folder / "secrets", "jupyterhub")
    return folder


@pytest.fixture
def stand_in(tmp_path):
    """A stand-in `pulumi` (tests only) that appends {"argv", "stdin"} per call."""
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "bin" / "pulumi"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\n"
        "# Stand-in for the Pulumi CLI: records argv and stdin.\n"
        "import json, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'stdin': sys.stdin.read()}) + '\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{script.parent}{os.pathsep}{os.environ['PATH']}"}

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return env, calls


def run_tool(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "tools.import_env", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def stored_config(calls) -> tuple[dict, dict]:
    """(config, secrets) as the CLI would store the recorded `config set/rm` calls."""
    config: dict = {}
    secrets: dict = {}
    for call in calls:
        argv = call["argv"]
        assert argv[:2] in (["config", "set"], ["config", "rm"]), argv
        rest = argv[argv.index("--stack") + 2 :]
        if argv[1] == "rm":
            config.pop(rest[0], None)
            continue
        secret = "--secret" in rest
        path = "--path" in rest
        words = [w for w in rest if w not in ("--secret", "--path", "--")]
        if len(words) == 1:  # the value came on stdin; the CLI trims one trailing newline
            key, value = words[0], call["stdin"].removesuffix("\n")
        else:
            key, value = words
        if path and "[" in key:
            name = key.split("[")[0]
            config.setdefault(name, []).append(value)
        elif path and "." in key:
            name, entry = key.split(".", 1)
            config.setdefault(name, {})[entry] = value
        else:
            (secrets if secret else config)[key] = value
    return config, secrets


def test_seed_folder_migrates_to_the_seed_deployment(seed, stand_in, hub_pair):
    env, calls = stand_in
    done = run_tool(env, "--seed", str(seed), "--stack", "prod")
    assert done.returncode == 0, done.stderr
    recorded = calls()
    argvs = [" ".join(c["argv"]) for c in recorded]
    # Secrets only on stdin, never in argv or output; PEM text on stdin too.
    for secret in (TOKEN, hub_pair.key_pem.strip().splitlines()[1]):
        assert not any(secret in a for a in argvs)
        assert secret not in done.stdout + done.stderr
    key_call = next(c for c in recorded if "HUB_TLS_KEY" in c["argv"])
    assert key_call["argv"] == ["config", "set", "--stack", "prod", "--secret", "HUB_TLS_KEY"]
    assert key_call["stdin"].strip() == hub_pair.key_pem.strip()
    assert "not imported: JUPYTERHUB_VERSION" in done.stderr

    config, secrets = stored_config(recorded)
    assert config["LDAP_ALLOWED_GROUPS"] == [GROUP]  # one DN, not four "groups"
    assert config["HUB_ADMIN_USERS"] == ["admin"]
    assert config["HUB_ALLOWED_USERS"] == ["alice", "bob"]
    assert config["HUB_HOSTNAME"] == HOST
    assert set(secrets) == {"HUB_TLS_KEY", "KG_AUTH_TOKEN"}

    graph = run_program("prod", config=config, secrets=secrets)
    hub = graph.one(CONTAINER, "jupyterhub-container")
    envs = dict(item.split("=", 1) for item in hub.inputs["envs"])
    files = {u["file"]: u["content"] for u in hub.inputs["uploads"]}
    # host and certificate: the seed's own, no CA of the program's
    assert graph.outputs["hub_url"] == f"https://{HOST}/"
    assert files[SSL_CERT_PATH].strip() == hub_pair.cert_pem.strip()
    assert files[SSL_KEY_PATH].strip() == hub_pair.key_pem.strip()
    assert "hub_ca_cert" not in graph.outputs
    # LDAP: the seed's server, bind DN and group, now with StartTLS
    assert envs["LDAP_SERVER_HOST"] == "ldap.example.org"
    assert envs["LDAP_SERVER_PORT"] == "389"
    assert envs["LDAP_BIND_DN"] == BIND_DN
    assert json.loads(envs["LDAP_ALLOWED_GROUPS"]) == [GROUP]
    assert envs["LDAP_TLS"] == "starttls"
    # gateway: the seed's URL, token and client file names
    assert envs["KG_URL"] == "https://zos.example.org:8099"
    assert envs["KG_AUTH_TOKEN"] == TOKEN
    assert (envs["CLIENT_KEY"], envs["CLIENT_CERT"], envs["CLIENT_CA"]) == (
        "key.pem",
        "cert.pem",
        "cacert.pem",
    )
    # users: the userlist's admin and users
    assert envs["HUB_ADMIN_USERS"] == "admin"
    assert envs["HUB_ALLOWED_USERS"] == "alice,bob"
    assert graph.outputs["admin_users"] == ["admin"]


def test_dry_run_shows_everything_and_sets_nothing(seed, stand_in):
    env, calls = stand_in
    done = run_tool(env, "--seed", str(seed), "--stack", "prod", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert calls() == []
    out = done.stdout
    assert "What will differ from the seed, and why:" in out
    assert "LDAP_TLS: starttls" in out and "clear text" in out
    assert "admin console" in out
    assert "userlist: Bob becomes bob" in out
    assert "would run: pulumi config set --stack prod --secret HUB_TLS_KEY < (secret" in out
    assert "would run: pulumi config set --stack prod HUB_TLS_CERT < (secrets/ certificate" in out
    assert (
        f"would run: pulumi config set --stack prod --path -- LDAP_ALLOWED_GROUPS[0] {GROUP}" in out
    )
    assert f"would run: pulumi config set --stack prod -- HUB_HOSTNAME {HOST}" in out
    assert TOKEN not in out + done.stderr


def test_files_one_by_one_and_an_explicit_hostname(seed, stand_in):
    env, calls = stand_in
    done = run_tool(
        env,
        "--env",
        str(seed / ".env"),
        "--userlist",
        str(seed / "userlist"),
        "--hub-cert",
        str(seed / "secrets/jupyterhub.crt"),
        "--hub-key",
        str(seed / "secrets/jupyterhub.key"),
        "--hostname",
        "hub.example.org",
        "--stack",
        "prod",
    )
    assert done.returncode == 0, done.stderr
    config, secrets = stored_config(calls())
    assert config["HUB_HOSTNAME"] == "hub.example.org"
    assert "HUB_TLS_CERT" in config and "HUB_TLS_KEY" in secrets


def test_a_key_that_is_not_the_certificates_sets_nothing(seed, stand_in, tmp_path):
    env, calls = stand_in
    other = issue(
        CertSpec(
            common_name="other",
            allowed_uses=("server_auth",),
            validity_hours=24,
            early_renewal_hours=0,
        )
    )
    (seed / "secrets/jupyterhub.key").write_text(other.key_pem)
    done = run_tool(env, "--seed", str(seed), "--stack", "prod")
    assert done.returncode == 2
    assert "HUB_TLS_KEY: does not belong to the first certificate" in done.stderr
    assert "nothing was set" in done.stderr and calls() == []


def test_a_short_seed_token_is_reported_not_imported():
    result = plan(
        {
            "KG_URL": "https://gw.example.org:8099",
            "KG_AUTH_TOKEN": "short",
            "LDAP_SERVER_HOST": "ldap.example.org",
            "LDAP_BIND_DN": "uid={username},dc=x",
        },
        (["admin"], []),
    )
    assert not result.problems, result.problems
    assert "KG_AUTH_TOKEN" not in {s.key for s in result.settings}
    assert any(
        d.startswith("KG_AUTH_TOKEN: the seed's token is 5 characters") for d in result.differences
    )


def test_seed_port_636_means_ldaps():
    result = plan(
        {
            "LDAP_SERVER_HOST": "ldap.example.org",
            "LDAP_SERVER_PORT": "636",
            "LDAP_BIND_DN": "uid={username},dc=x",
            "KG_URL": "https://gw.example.org:8099",
        },
        (["admin"], []),
    )
    assert not result.problems, result.problems
    assert {s.key: s.value for s in result.settings}["LDAP_TLS"] == "ldaps"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (GROUP, [GROUP]),
        (f"{GROUP};cn=staff,dc=example,dc=org", [GROUP, "cn=staff,dc=example,dc=org"]),
        (json.dumps([GROUP, "cn=b,dc=x"]), [GROUP, "cn=b,dc=x"]),
    ],
)
def test_dn_lists_stay_whole(raw, expected):
    result = plan(
        {
            "LDAP_ALLOWED_GROUPS": raw,
            "LDAP_SERVER_HOST": "ldap.example.org",
            "LDAP_BIND_DN": "uid={username},dc=x",
            "KG_URL": "https://gw.example.org:8099",
        },
        (["admin"], []),
    )
    assert not result.problems, result.problems
    assert {s.key: s.value for s in result.settings}["LDAP_ALLOWED_GROUPS"] == expected


def test_user_lists_in_the_env_split_on_commas():
    result = plan(
        {
            "HUB_ADMIN_USERS": "admin, carol",
            "HUB_ALLOWED_USERS": "alice;bob",
            "LDAP_SERVER_HOST": "ldap.example.org",
            "LDAP_BIND_DN": "uid={username},dc=x",
            "KG_URL": "https://gw.example.org:8099",
        }
    )
    assert not result.problems, result.problems
    values = {s.key: s.value for s in result.settings}
    assert values["HUB_ADMIN_USERS"] == ["admin", "carol"]
    assert values["HUB_ALLOWED_USERS"] == ["alice", "bob"]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("admin admin\nbob superuser\n", 2, "expected 'name' or 'name admin'"),
        ("admin admin\r\n\r\n9lives\r\n", 3, "is not a user name"),
        ("admin admin\nadmin\n", 2, "listed twice"),
    ],
)
def test_userlist_errors_name_the_line(text, line, what):
    with pytest.raises(SeedError, match=rf"userlist line {line}: .*{what}"):
        parse_userlist(text)


def test_seed_folder_needs_cert_and_key_together(tmp_path):
    (tmp_path / ".env").write_text("")
    with pytest.raises(SeedError, match="together"):
        Seed.find(env=tmp_path / ".env", hub_cert=tmp_path / "x.crt")
    assert Seed.find(tmp_path).hub_cert is None  # no secrets/: no certificate


def test_hostname_from_the_certificate(hub_pair):
    assert cert_hostname(hub_pair.cert_pem) == HOST


def test_the_stacks_existing_config_counts(tmp_path, hub_pair):
    """A .env alone into a stack that already has its admins and hub certificate (the key
    encrypted): the rules see the stack as `pulumi up` will after the import."""
    from tools.import_env import existing_config

    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n"
        "  jupyterhub-zos:HUB_ADMIN_USERS:\n    - admin\n"
        f"  jupyterhub-zos:HUB_TLS_CERT: {json.dumps(hub_pair.cert_pem)}\n"
        "  jupyterhub-zos:HUB_TLS_KEY:\n    secure: v1:AAAA:BBBB\n"
        "  docker:host: ssh://ops@docker.example.org\n"
    )
    plain, encrypted = existing_config("prod", tmp_path)
    assert plain["HUB_ADMIN_USERS"] == '["admin"]' and encrypted == {"HUB_TLS_KEY"}
    # A map set with `--secret --path` holds its ciphertexts in its leaves: encrypted too.
    with (tmp_path / "Pulumi.prod.yaml").open("a") as stack_file:
        stack_file.write(
            "  jupyterhub-zos:ZOS_USER_CERTS:\n    alice:\n      p12:\n        secure: v1:CC:DD\n"
        )
    plain, encrypted = existing_config("prod", tmp_path)
    assert encrypted == {"HUB_TLS_KEY", "ZOS_USER_CERTS"} and "ZOS_USER_CERTS" not in plain
    env = {
        "LDAP_SERVER_HOST": "ldap.example.org",
        "LDAP_BIND_DN": "uid={username},dc=x",
        "KG_URL": "https://gw.example.org:8099",
    }
    assert plan(env, existing=plain, existing_secret=encrypted).problems == []
    # Without the stack's admins the import is refused, naming the key.
    assert any(p.startswith("HUB_ADMIN_USERS: is required") for p in plan(env).problems)
