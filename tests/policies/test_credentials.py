"""Credentials (policies/credentials.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from policies.props import (
    COMMANDS,
    CONTAINER,
    COPY_TO_REMOTE,
    IMAGE,
    LOCAL_COMMAND,
    REMOTE_COMMAND,
    SELF_SIGNED_CERT,
)
from tests.policies.support import (
    UNKNOWN_ARRAY,
    UNKNOWN_OBJECT,
    UNKNOWN_STRING,
    secret,
    string_asset,
    violations,
)


@pytest.fixture(scope="module")
def pem_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# --- no-plain-secrets ------------------------------------------------------------------

SECRETS = "no-plain-secrets"


def test_secret_outputs_in_container_env_pass(pem_key):
    # Per-element secrets (Output.concat of a secret) and a wholly secret list.
    envs = [
        "KG_URL=https://gw:8099",
        "CLIENT_KEY=key.pem",
        "SSL_KEY=/srv/hub/tls/key.pem",
        "KG_AUTH_TOKEN_FILE=/run/secrets/kg",
        "LDAP_BIND_PASSWORD=",
        secret("KG_AUTH_TOKEN=0123456789abcdef0123"),
        secret("JPY_COOKIE_SECRET=" + "ab" * 32),
        secret("CONFIGPROXY_AUTH_TOKEN=feedface"),
        secret("HUB_TLS_KEY=" + pem_key),
    ]
    assert violations(SECRETS, CONTAINER, {"name": "jupyterhub", "envs": envs}) == []
    assert violations(SECRETS, CONTAINER, {"envs": secret(["KG_AUTH_TOKEN=abc"])}) == []
    uploads = [{"file": "/srv/hub/tls/key.pem", "content": secret(pem_key)}]
    assert violations(SECRETS, CONTAINER, {"uploads": uploads}) == []


@pytest.mark.parametrize(
    "env, needle",
    [
        ("KG_AUTH_TOKEN=0123456789abcdef0123", "env KG_AUTH_TOKEN"),
        ("JPY_COOKIE_SECRET=abcdef", "env JPY_COOKIE_SECRET"),
        ("CONFIGPROXY_AUTH_TOKEN=x", "env CONFIGPROXY_AUTH_TOKEN"),
        ("ZOS_P12_PASSWORD=hunter22", "env ZOS_P12_PASSWORD"),
        ("GITHUB_API_KEY=ghp_x", "env GITHUB_API_KEY"),
    ],
)
def test_literal_secret_in_container_env_is_flagged(env, needle):
    found = violations(SECRETS, CONTAINER, {"envs": ["KG_URL=https://gw", env]}, name="hub")
    assert len(found) == 1 and needle in found[0] and "secret" in found[0]


def test_private_key_anywhere_in_plain_inputs_is_flagged(pem_key):
    found = violations(SECRETS, CONTAINER, {"envs": [f"HUB_TLS_KEY={pem_key}"]})
    assert len(found) == 1 and "input envs[0] holds a private key" in found[0]
    b64 = base64.b64encode(pem_key.encode()).decode()
    found = violations(SECRETS, CONTAINER, {"uploads": [{"file": "/k", "contentBase64": b64}]})
    assert len(found) == 1 and "uploads[0].contentBase64" in found[0]
    found = violations(SECRETS, COPY_TO_REMOTE, {"source": string_asset(pem_key)})
    assert len(found) == 1 and "source(text)" in found[0]
    assert violations(SECRETS, COPY_TO_REMOTE, {"source": secret(string_asset(pem_key))}) == []
    tls_input = {"privateKeyPem": pem_key, "validityPeriodHours": 1}
    assert len(violations(SECRETS, SELF_SIGNED_CERT, tls_input)) == 1
    tls_input["privateKeyPem"] = secret(pem_key)
    assert violations(SECRETS, SELF_SIGNED_CERT, tls_input) == []


def test_secret_on_container_command_line_is_flagged():
    found = violations(SECRETS, CONTAINER, {"command": ["kg", "--auth_token=0123456789"]})
    assert len(found) == 1 and "literal value for auth_token" in found[0]
    ok = {"command": ["jupyter", "kernelgateway", "--KernelGatewayApp.port=8888"]}
    assert violations(SECRETS, CONTAINER, ok) == []


COMMAND_OK = """\
set -eu
IFS= read -r P12_PASSWORD
tsocmd "RACDCERT ID(ALICE01) EXPORT(LABEL('alice')) DSN('ALICE01.P12') FORMAT(PKCS12DER) \
PASSWORD('$P12_PASSWORD')"
openssl pkcs12 -in a.p12 -passin stdin -nokeys -out cert.pem
KG_AUTH_TOKEN="$(cat)"
export KG_AUTH_TOKEN
# password: read from stdin, never here
"""


def test_commands_reading_secrets_from_stdin_pass():
    for kind in COMMANDS:
        props = {"create": COMMAND_OK, "stdin": secret("p12-password-long"), "delete": "rm -f x"}
        assert violations(SECRETS, kind, props) == []
        props = {"create": "run", "environment": {"KG_AUTH_TOKEN": secret("t"), "MODE": "x"}}
        assert violations(SECRETS, kind, props) == []


@pytest.mark.parametrize(
    "script, needle",
    [
        ("P12_PASSWORD=hunter22 ./export.sh", "literal value for P12_PASSWORD"),
        ("openssl pkcs12 -in a.p12 -passin pass:hunter22 -out k.pem", "openssl `pass:`"),
        ("tsocmd \"RACDCERT ID(A) EXPORT(LABEL('a')) PASSWORD('hunter22')\"", "RACF PASSWORD()"),
        ("sshpass -p hunter22 ssh zos true", "sshpass"),
        ("curl -H 'x' https://gw/api?token=0123456789", "literal value for token"),
    ],
)
def test_literal_secret_in_command_text_is_flagged(script, needle):
    for kind in COMMANDS:
        found = violations(SECRETS, kind, {"create": script}, name="export")
        assert len(found) == 1 and needle in found[0] and "stdin" in found[0]


def test_command_text_built_from_a_secret_is_flagged():
    found = violations(SECRETS, REMOTE_COMMAND, {"create": secret("echo s3cr3t > f")})
    assert len(found) == 1 and "built from a secret" in found[0]
    env = {"create": "run", "environment": {"KG_AUTH_TOKEN": "plain"}}
    found = violations(SECRETS, LOCAL_COMMAND, env)
    assert len(found) == 1 and "environment KG_AUTH_TOKEN" in found[0]


def test_secrets_never_go_into_build_args(pem_key):
    for value in ("plain", secret("even-a-secret")):
        found = violations(SECRETS, IMAGE, {"build": {"args": {"GITHUB_TOKEN": value}}})
        assert len(found) == 1 and "baked into the image" in found[0]
    assert violations(SECRETS, IMAGE, {"build": {"args": {"JUPYTERHUB_VERSION": "5"}}}) == []


def test_secrets_missing_or_unknown_props_pass():
    for kind in (CONTAINER, *COMMANDS, IMAGE, COPY_TO_REMOTE):
        assert violations(SECRETS, kind, {}) == []
    unknown = {
        "envs": [UNKNOWN_STRING, "KG_URL=https://x"],
        "command": UNKNOWN_ARRAY,
        "uploads": [{"content": UNKNOWN_STRING}],
    }
    assert violations(SECRETS, CONTAINER, unknown) == []
    assert violations(SECRETS, CONTAINER, {"envs": UNKNOWN_ARRAY}) == []
    cmd = {"create": UNKNOWN_STRING, "environment": UNKNOWN_OBJECT}
    assert violations(SECRETS, REMOTE_COMMAND, cmd) == []
    cmd = {"create": "x", "environment": {"KG_AUTH_TOKEN": UNKNOWN_STRING}}
    assert violations(SECRETS, REMOTE_COMMAND, cmd) == []
    assert violations(SECRETS, IMAGE, {"build": {"args": UNKNOWN_OBJECT}}) == []


def test_secrets_config_words_and_allow_list():
    plain = {"envs": ["KG_AUTH_TOKEN=abc", "JPY_COOKIE_SECRET=def"]}
    assert len(violations(SECRETS, CONTAINER, plain)) == 2
    allowed = violations(SECRETS, CONTAINER, plain, config={"plainAllowed": ["KG_AUTH_TOKEN"]})
    assert len(allowed) == 1 and "JPY_COOKIE_SECRET" in allowed[0]
    words = violations(
        SECRETS, CONTAINER, {"envs": ["MY_PIN=1234"]}, config={"secretWords": ["PIN"]}
    )
    assert len(words) == 1


# --- the bypasses of issue 12, each on its own -----------------------------------------


def test_a_plain_jupyterhub_crypt_key_is_flagged():
    found = violations(SECRETS, CONTAINER, {"envs": ["JUPYTERHUB_CRYPT_KEY=" + "ab" * 32]})
    assert len(found) == 1 and "env JUPYTERHUB_CRYPT_KEY" in found[0]
    ok = {"envs": [secret("JUPYTERHUB_CRYPT_KEY=" + "ab" * 32), "CLIENT_KEY=key.pem"]}
    assert violations(SECRETS, CONTAINER, ok) == []


@pytest.mark.parametrize(
    "upload, needle",
    [
        ({"file": "/etc/kg/config.py", "content": "c.KernelGatewayApp.auth_token = 'tok-0123'\n"},
         "literal value for c.KernelGatewayApp.auth_token"),
        ({"file": "/srv/hub/.env", "content": "KG_AUTH_TOKEN=tok-0123\n"},
         "literal value for KG_AUTH_TOKEN"),
        ({"file": "/srv/hub/token", "content": "tok-0123\n"}, "a secret by its name"),
        ({"file": "/run/secrets/kg_auth_token", "content": "tok-0123"}, "a secret by its name"),
        ({"file": "/etc/kg/config.json", "contentBase64": base64.b64encode(
            b'{"auth_token": "tok-0123"}').decode()}, "literal value for auth_token"),
    ],
)  # fmt: skip
def test_a_literal_token_in_an_upload_is_flagged(upload, needle):
    found = violations(SECRETS, CONTAINER, {"uploads": [upload]}, name="gw")
    assert len(found) == 1 and needle in found[0] and "upload" in found[0], found


def test_uploads_from_secrets_or_without_secrets_pass():
    uploads = [
        {"file": "/srv/hub/token", "content": secret("tok-0123")},
        {"file": "/etc/kg/config.py", "content": secret("c.KernelGatewayApp.auth_token = 'x'")},
        # Reading the secret at run time is fine.
        {"file": "/etc/kg/config.py", "content": "c.KernelGatewayApp.auth_token = "
         "os.environ['KG_AUTH_TOKEN']\nc.KernelGatewayApp.port = '8888'\n"},
        {"file": "/etc/kg/tls/server.crt", "content": "-----BEGIN CERTIFICATE-----\n"},
        {"file": "/etc/ldap/slapd.conf", "content": "rootpw {SSHA}abc\nTLSCertificateKeyFile x\n"},
    ]  # fmt: skip
    assert violations(SECRETS, CONTAINER, {"uploads": uploads}) == []
    assert violations(SECRETS, CONTAINER, {"uploads": [{"file": UNKNOWN_STRING}]}) == []


@pytest.mark.parametrize(
    "script, needle",
    [
        ("curl -H 'Authorization: token 0123456789abcdef' https://gw/api/kernels",
         "Authorization header"),
        ('curl -H "Authorization: Bearer eyJhbGciOi" https://gw', "Authorization header"),
        ("wget --header='authorization: basic YWxpY2U6cHc=' https://gw", "Authorization header"),
        ("curl -u admin:hunter22 https://gw", "curl -u"),
        ("curl --user admin:hunter22 https://gw", "curl -u"),
        ("ldapsearch -x -D cn=admin,dc=x -w hunter22 -b dc=x", "LDAP bind password"),
        ("ldapadd -x -D cn=admin -w'hunter22' -f seed.ldif", "LDAP bind password"),
    ],
)  # fmt: skip
def test_literal_credentials_in_http_and_ldap_commands_are_flagged(script, needle):
    for kind in COMMANDS:
        found = violations(SECRETS, kind, {"create": script}, name="probe")
        assert len(found) == 1 and needle in found[0], found


def test_credentials_read_at_run_time_pass():
    fine = [
        'curl -H "Authorization: token $KG_AUTH_TOKEN" https://gw/api',
        "curl -H 'Authorization: token '\"$(cat /run/token)\" https://gw",
        'curl -u "admin:$PW" https://gw',
        "curl -w '%{http_code}' https://gw",
        "ldapsearch -x -D cn=admin -y /run/ldap-pw -b dc=x",
        'ldapsearch -x -D cn=admin -w "$LDAP_PW" -b dc=x',
        "grep -w token file",
    ]
    for script in fine:
        assert violations(SECRETS, LOCAL_COMMAND, {"create": script}) == [], script


def test_a_literal_token_in_a_healthcheck_is_flagged():
    probe = ["CMD", "curl", "-fsH", "Authorization: token 0123456789abcdef", "https://127.0.0.1/"]
    found = violations(SECRETS, CONTAINER, {"healthcheck": {"tests": probe}}, name="gw")
    assert len(found) == 1 and "`healthcheck.tests`" in found[0]
    fine = ["CMD-SHELL", 'curl -fsH "Authorization: token $KG_AUTH_TOKEN" https://127.0.0.1/']
    assert violations(SECRETS, CONTAINER, {"healthcheck": {"tests": fine}}) == []
