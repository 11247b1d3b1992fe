"""The z/OS renderers on their own: every script through shellcheck (POSIX sh), the
AT-TLS validator on the rendered policy and on broken ones, and what the settings put
into the scripts (sizes, dates, names) or must keep out of them (secrets)."""

from __future__ import annotations

import dataclasses
import datetime
import re
import subprocess

import pytest

from components.settings import validate
from components.settings.source import RawConfig
from components.zos.attls import AttlsPolicyError, render_policy, validate_policy
from components.zos.export import render_split_script
from components.zos.kg_config import kg_config_stdin, render_config
from components.zos.renewal import CA_VALIDITY_DAYS, EPOCH, scheduled_end
from components.zos.steps import gateway_steps, step_stdin, user_steps
from policies.credentials import SECRETS_DEFAULTS, literal_secrets
from policies.keys import racf_gencert_sizes
from policies.tls import attls_problems
from tests.tooling import require_tool
from tools.mock_graph import settled_event_loop

STACK = "unit"


@pytest.fixture(autouse=True)
def _loop():
    with settled_event_loop():  # settings hold secrets as Outputs
        yield


def zos_settings(ssh_keypair, **extra):
    private, public = ssh_keypair
    values = {
        # Only the z/OS steps are under test: the dev directory stands in for LDAP.
        "ALLOW_DEV_SERVICES": "true",
        "HUB_ADMIN_USERS": '["alice"]',
        "HUB_ALLOWED_USERS": '["bob"]',
        "ZOS_HOST": "zos.example.com",
        "ZOS_SSH_USER": "ibmuser",
        "ZOS_SSH_PRIVATE_KEY": private,
        "ZOS_SSH_HOST_KEY": public,
        "ZOS_USERS": '{"alice": "ALICE01", "bob": "BOB01"}',
        **extra,
    }
    return validate(RawConfig("jupyterhub-zos", values, frozenset({"ZOS_SSH_PRIVATE_KEY"})), STACK)


VARIANTS = {
    "defaults": {},
    "no AT-TLS": {"ZOS_ATTLS": "false"},
    "TLS 1.3, RSA 4096, a NOTAFTER, ZOAU by path": {
        "ZOS_ATTLS_TLSV13": "true",
        "ZOS_KEY_SIZE": "4096",
        "ZOS_CERT_VALIDITY_DAYS": "90",
        "ZOS_OPERCMD": "/usr/lpp/IBM/zoautil/bin/opercmd",
    },
    "odd names": {
        "ZOS_KEYRING": "Ring$1.x",
        "ZOS_KG_USER": "K$G@1",
        "ZOS_CA_LABEL": "CA #1 it",
        "ZOS_SERVER_CERT_LABEL": "srv-1.a_b",
        "KG_URL": "https://10.1.2.3:8099",
    },
}


def all_scripts(settings) -> dict[str, str]:
    zos = settings.zos
    steps = gateway_steps(zos, STACK, settings.gateway.url) + list(user_steps(zos, STACK).values())
    scripts = {}
    for step in steps:
        scripts[f"{step.name}.create"] = step.create
        scripts[f"{step.name}.delete"] = step.delete
    return scripts


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_script_passes_shellcheck_as_posix_sh(variant, ssh_keypair, tmp_path):
    shellcheck = require_tool("shellcheck")
    scripts = all_scripts(zos_settings(ssh_keypair, **VARIANTS[variant]))
    scripts["split.local"] = render_split_script()
    paths = []
    for name, text in scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(text)
        paths.append(str(path))
    result = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=style", "--format=gcc", *paths],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_does_catch_non_posix_shell(tmp_path):
    """The check above can fail: bash-only syntax is reported under --shell=sh."""
    shellcheck = require_tool("shellcheck")
    path = tmp_path / "bashism.sh"
    path.write_text('x=(a b)\n[[ -n "${x[0]}" ]] && echo "$x"\n')
    result = subprocess.run([shellcheck, "--shell=sh", str(path)], capture_output=True, text=True)
    assert result.returncode != 0


# --- what settings put into the scripts ----------------------------------------------------------


def test_key_size_and_dates_come_from_settings(ssh_keypair):
    settings = zos_settings(
        ssh_keypair,
        ZOS_KEY_SIZE="3072",
        ZOS_CERT_VALIDITY_DAYS="100",
        ZOS_CERT_RENEW_DAYS="10",
        ZOS_CERT_NOTAFTER="2020-06-30",  # deprecated, in the past: accepted, not used
    )
    assert any("ZOS_CERT_NOTAFTER" in w and "deprecated" in w for w in settings.warnings)
    zos = dataclasses.replace(settings.zos, today=datetime.date(2030, 5, 1))
    settings = dataclasses.replace(settings, zos=zos)
    scripts = all_scripts(settings)
    gencerts = [
        (name, command, size)
        for name, text in scripts.items()
        for command, size, _ecc in racf_gencert_sizes(text)
        if "ok " in command
    ]
    # CA, server, two users; every GENCERT (and the REKEY a renewal makes the new key
    # with) with the configured SIZE (checked the way the policy pack reads scripts).
    assert sorted(n for n, c, _s in gencerts if "GENCERT" in c) == [
        "ca.create",
        "server-cert.create",
        "user-alice.create",
        "user-bob.create",
    ]
    assert sorted(n for n, c, _s in gencerts if "REKEY" in c) == [
        "server-cert.create",
        "user-alice.create",
        "user-bob.create",
    ]
    assert {s for _n, _c, s in gencerts} == {"3072"}
    until = scheduled_end(zos.today, 100, 10).isoformat()
    ca_until = scheduled_end(zos.today, CA_VALIDITY_DAYS, 100).isoformat()
    for name, command, _size in gencerts:
        if name == "ca.create":
            assert "NOTAFTER(DATE($CA_UNTIL))" in command
            assert "OU('$CA','until $CA_UNTIL')" in command
            assert f'CA_UNTIL="{ca_until}"' in scripts[name]
        elif "GENCERT" in command:
            assert "NOTAFTER(DATE($UNTIL))" in command
            assert f'UNTIL="{until}"' in scripts[name]
        else:  # REKEY: the rollover's GENCERT of its request then signs it until UNTIL
            assert 'roll_over "$1" "$2" "$6" "$5" "$7"' in scripts[name]
            assert "NOTAFTER(DATE($3))" in scripts[name]
            assert '"$UNTIL" "$NEW" "$REQ_DSN"; then' in scripts[name]
    assert "2020-06-30" not in "".join(scripts.values())


@pytest.mark.parametrize(
    ("attls", "expected"),
    [
        (
            "true",
            ["attls", "connect", "server-cert", "user-alice", "user-bob"],
        ),
        # without AT-TLS: the server's export too (its PEMs then reach kg-config on stdin)
        ("false", ["server-cert", "server-export"]),
    ],
)
def test_every_step_using_a_certificate_runs_again_in_the_next_period(ssh_keypair, attls, expected):
    """The scripts are the same all period long (no change on `up`), and those that make
    or use a certificate differ in the next one (they run again: renewal)."""
    settings = zos_settings(ssh_keypair, ZOS_ATTLS=attls)

    def on(day: datetime.date) -> dict[str, str]:
        zos = dataclasses.replace(settings.zos, today=day)
        scripts = all_scripts(dataclasses.replace(settings, zos=zos))
        # without AT-TLS there are no RACF user certificates (the hub issues them)
        return {k: v for k, v in scripts.items() if zos.attls or not k.startswith("user-")}

    period = 365 - 30
    start = EPOCH + datetime.timedelta(days=period * 40)
    first, last = on(start), on(start + datetime.timedelta(days=period - 1))
    assert first == last
    later = on(start + datetime.timedelta(days=period))
    changed = sorted(name for name in first if first[name] != later[name])
    assert changed == [f"{name}.create" for name in expected]


def test_the_steps_follow_the_seed_order(ssh_keypair):
    settings = zos_settings(ssh_keypair)
    names = [s.name for s in gateway_steps(settings.zos, STACK, settings.gateway.url)]
    assert names == [
        "ca",
        "ring",
        "server-cert",
        "connect",
        "listring",
        "attls",
        "surrogat",
        "fssec",
        "kg-config",
    ]
    settings = zos_settings(ssh_keypair, ZOS_ATTLS="false")
    names = [s.name for s in gateway_steps(settings.zos, STACK, settings.gateway.url)]
    assert names == ["ca", "server-cert", "server-export", "kg-config"]


def test_the_server_certificate_names_the_host_of_kg_url(ssh_keypair):
    settings = zos_settings(ssh_keypair, KG_URL="https://kg.example.com:8099")
    (server,) = [
        s
        for s in gateway_steps(settings.zos, STACK, settings.gateway.url)
        if s.name == "server-cert"
    ]
    assert 'HOST="kg.example.com"' in server.create and "ALTNAME(DOMAIN('$HOST'))" in server.create
    settings = zos_settings(ssh_keypair, ZOS_HOST="10.0.0.9")
    (server,) = [
        s
        for s in gateway_steps(settings.zos, STACK, settings.gateway.url)
        if s.name == "server-cert"
    ]
    assert 'HOST="10.0.0.9"' in server.create and "ALTNAME(IP($HOST))" in server.create


def test_odd_values_are_quoted_for_the_shell(ssh_keypair):
    scripts = all_scripts(zos_settings(ssh_keypair, **VARIANTS["odd names"]))
    assert 'RING="Ring\\$1.x"' in scripts["ring.create"]
    assert 'KG="K\\$G@1"' in scripts["ring.create"]


# --- secrets stay out of command text ----------------------------------------------------------

SECRET_VARS = ("PW", "TOKEN")


def _outside_heredocs(script: str) -> list[str]:
    lines, out, end = script.splitlines(), [], None
    for line in lines:
        if end is not None:
            if line == end:
                end = None
            continue
        match = re.search(r"<<-?'?([A-Z_]+)'?", line)
        if match:
            end = match[1]
        out.append(line)
    return out


@pytest.mark.parametrize("variant", ["defaults", "no AT-TLS"])
def test_secrets_are_read_from_stdin_and_used_only_in_protected_files(variant, ssh_keypair):
    """A secret read from stdin is used only inside here-documents (which the shell hands
    to a command's stdin or to a 0600 file), never as a word on a command line."""
    scripts = all_scripts(zos_settings(ssh_keypair, **VARIANTS[variant]))
    scripts["split.local"] = render_split_script()
    allowed = (
        re.compile(r"^IFS= read -r (PW|TOKEN) \|\| die "),
        re.compile(r'^\[ -n "\$(PW|TOKEN)" \] \|\| die '),
        re.compile(r'^if \[ "\$\{#PW\}" -gt \d+ \]; then$'),
    )
    reads = 0
    for name, script in scripts.items():
        for line in _outside_heredocs(script):
            stripped = line.strip()
            if not re.search(r"\$\{?#?(PW|TOKEN)\b|read -r (PW|TOKEN)\b", stripped):
                continue
            assert any(p.match(stripped) for p in allowed), f"{name}: {stripped}"
            reads += stripped.startswith("IFS= read")
    users = 2
    assert reads == users + 1 + (variant == "no AT-TLS") + 1  # exports, kg-config, split


def test_no_step_carries_a_literal_secret(ssh_keypair):
    """The policy pack's own reading of command text finds nothing in any script."""
    cfg = dict(SECRETS_DEFAULTS)
    for variant in VARIANTS:
        for name, script in all_scripts(zos_settings(ssh_keypair, **VARIANTS[variant])).items():
            assert list(literal_secrets(script, cfg)) == [], (variant, name)


def test_stdin_builders(ssh_keypair):
    settings = zos_settings(ssh_keypair, ZOS_ATTLS="false")
    steps = {s.name: s for s in gateway_steps(settings.zos, STACK, settings.gateway.url)}
    steps.update({s.name: s for s in user_steps(settings.zos, STACK).values()})
    assert step_stdin(steps["ca"], password="p" * 12, token="t" * 16) is None
    assert step_stdin(steps["user-alice"], password="p" * 12, token="t" * 16) == "p" * 12 + "\n"
    with pytest.raises(ValueError, match="PEM files"):
        step_stdin(steps["kg-config"], password="p" * 12, token="t" * 16)
    text = step_stdin(
        steps["kg-config"], password="p" * 12, token="t" * 16, tls_pems=("C\n", "K\n", "A\n")
    )
    assert text == (
        "tttttttttttttttt\n#FILE kg_server_cert.pem\nC\n#FILE kg_server_key.pem\nK\n"
        "#FILE kg_client_ca.pem\nA\n"
    )
    with pytest.raises(ValueError):
        kg_config_stdin("two\nlines", None)


def test_gateway_config_holds_no_token_and_reads_it_at_start(ssh_keypair):
    config = render_config(zos_settings(ssh_keypair).zos)
    assert "c.KernelGatewayApp.port = 8099" in config
    assert "certfile" not in config  # behind AT-TLS: plain HTTP
    assert "KG_AUTH_TOKEN" in config and "'kg_auth_token'" in config
    config = render_config(zos_settings(ssh_keypair, ZOS_ATTLS="false").zos)
    assert "c.KernelGatewayApp.certfile = '/u/jkgid/.jupyter/kg_server_cert.pem'" in config
    assert "c.KernelGatewayApp.client_ca = '/u/jkgid/.jupyter/kg_client_ca.pem'" in config


# --- the AT-TLS policy and its validator -------------------------------------------------------


@pytest.mark.parametrize("tlsv13", ["false", "true"])
def test_rendered_policy_is_valid_and_agrees_with_the_policy_pack(tlsv13, ssh_keypair):
    zos = zos_settings(ssh_keypair, ZOS_ATTLS_TLSV13=tlsv13).zos
    policy = render_policy(zos, STACK)
    validate_policy(policy, port=zos.kg_port, keyring=zos.keyring, tlsv13=zos.attls_tlsv13)
    assert attls_problems(policy) == []
    assert ("TLSv1.3                         On" in policy) == (tlsv13 == "true")
    assert ("TLS_AES_128_GCM_SHA256" in policy) == (tlsv13 == "true")
    for line in (
        "ClientAuthType                  SAFCheck",
        "Keyring                       JKGRing",
    ):
        assert line in policy


@pytest.fixture
def good_policy(ssh_keypair) -> str:
    return render_policy(zos_settings(ssh_keypair).zos, STACK)


def _broken(policy: str, old: str, new: str) -> str:
    assert old in policy
    return policy.replace(old, new, 1)


BROKEN = {
    "unbalanced braces": (
        "  TTLSEnvironmentActionRef        jhzosEnv8099\n}",
        "  TTLSEnvironmentActionRef        jhzosEnv8099\n",
        "unbalanced",
    ),
    "a stray closing brace": ("TTLSCipherParms", "}\nTTLSCipherParms", "closes nothing"),
    "an unknown statement": ("TTLSGroupAction ", "TTLSGroupActon ", "not a known AT-TLS statement"),
    "an unknown parameter": (
        "Trace                           2",
        "Trase 2",
        "not a known parameter",
    ),
    "a reference to nothing": (
        "TTLSGroupActionRef              jhzosGrp8099",
        "TTLSGroupActionRef              jhzosGroup",
        "names no TTLSGroupAction",
    ),
    "TLSv1 on": ("TLSv1                           Off", "TLSv1 On", "TLSv1 must be Off"),
    "TLSv1.1 left to the default": (
        "  TLSv1.1                         Off\n",
        "",
        "TLSv1.1 must be Off",
    ),
    "SSLv3 on": ("SSLv3                           Off", "SSLv3 On", "SSLv3 must be Off"),
    "TLSv1.2 off": ("TLSv1.2                         On", "TLSv1.2 Off", "TLSv1.2 must be On"),
    "TLSv1.3 not as configured": (
        "TLSv1.3                         Off",
        "TLSv1.3 On",
        "TLSv1.3 must be Off",
    ),
    "another port": ("LocalPortRange                  8099", "LocalPortRange 8098", "port 8099"),
    "another ring": ("Keyring                       JKGRing", "Keyring Other", "must be JKGRing"),
    "no client certificate needed": (
        "ClientAuthType                  SAFCheck",
        "ClientAuthType Required",
        "SAFCheck",
    ),
    "server without client auth": (
        "HandshakeRole                   ServerWithClientAuth",
        "HandshakeRole Server",
        "ServerWithClientAuth",
    ),
    "TLS not enabled": ("TTLSEnabled                     On", "TTLSEnabled Off", "TTLSEnabled"),
    "no direction": ("  Direction                       Inbound\n", "", "Direction is required"),
    "a bad value": ("Direction                       Inbound", "Direction Sideways", "Direction"),
    "no key ring": (
        "  TTLSKeyRingParms\n  {\n    Keyring                       JKGRing\n  }\n",
        "",
        "TTLSKeyRingParms is required",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_validator_rejects_broken_policies(case, good_policy):
    old, new, expected = BROKEN[case]
    policy = _broken(good_policy, old, new)
    with pytest.raises(AttlsPolicyError) as error:
        validate_policy(policy, port=8099, keyring="JKGRing", tlsv13=False)
    assert expected in str(error.value), str(error.value)


def test_validator_names_every_problem_at_once(good_policy):
    policy = _broken(good_policy, "TLSv1                           Off", "TLSv1 On")
    policy = _broken(policy, "TLSv1.2                         On", "TLSv1.2 Off")
    with pytest.raises(AttlsPolicyError) as error:
        validate_policy(policy, port=8099, keyring="JKGRing")
    assert len(error.value.problems) == 2


def test_duplicate_statement_names_are_refused(good_policy):
    policy = good_policy + "\nTTLSGroupAction jhzosGrp8099\n{\n  TTLSEnabled On\n}\n"
    with pytest.raises(AttlsPolicyError, match="defined twice"):
        validate_policy(policy, port=8099, keyring="JKGRing")


def test_the_policy_step_refuses_to_render_a_policy_that_fails_validation(ssh_keypair, monkeypatch):
    from components.zos import attls

    zos = zos_settings(ssh_keypair).zos
    monkeypatch.setattr(
        attls, "render_policy", lambda zos, stack: "TTLSRule r\n{\n  Direction Inbound\n"
    )
    with pytest.raises(AttlsPolicyError, match="unbalanced"):
        attls.policy_step(zos, STACK)


def test_a_due_certificate_is_re_issued_by_rollover_in_ibms_order(ssh_keypair):
    """The server's and the users' steps renew by REKEY, GENREQ, GENCERT of the request,
    ROLLOVER, DELETE, ALTER NEWLABEL (script.roll_over), each with its own interim label
    and request data set (per stack), and their deletes remove an interim certificate a
    killed renewal left."""
    from components.zos.racf import renew_label
    from components.zos.script import LIBRARY

    settings = zos_settings(ssh_keypair)
    scripts = all_scripts(settings)
    order = [
        'rekey "$1"',
        "GENREQ(",
        "GENCERT('",
        "ROLLOVER(",
        "DELETE(LABEL('$2'))",
        "NEWLABEL('$2')",
    ]
    body = LIBRARY[LIBRARY.index("roll_over() {") :]
    body = body[: body.index("\n# renewing")]
    at = [body.index(word) if word in body else -1 for word in order]
    assert at == sorted(at) and -1 not in at, at
    news = set()
    for name in ("server-cert", "user-alice", "user-bob"):
        create, delete = scripts[f"{name}.create"], scripts[f"{name}.delete"]
        assert "roll_over()" in create and "renewing()" in create
        assert "REKEY(LABEL('$2')) WITHLABEL('$3') SIZE(2048)" in create
        new = re.search(r'^NEW="(.+)"$', create, re.M)[1]
        req = re.search(r'^REQ_DSN="(.+)"$', create, re.M)[1]
        assert len(new) <= 32 and req.endswith(".CSR") and req.startswith("IBMUSER.JHZOS.")
        assert f'NEW="{new}"' in delete and 'drop_cert "ID(' in delete
        step_part = delete.split("# --- the step ---")[1]
        assert step_part.startswith('\ndrop_cert "ID($KG)" "$NEW"') or step_part.startswith(
            '\ndrop_cert "ID($ID)" "$NEW"'
        )
        assert step_part.index('"$NEW"') < step_part.index('drop_dsn "$REQ_DSN"')
        news.add((name.startswith("user"), new))
    assert renew_label(settings.zos.server_cert_label) in {n for _u, n in news}
    assert len(news) == 2  # one interim label per label (the users share theirs, per ID)
