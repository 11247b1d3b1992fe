"""Ownership records, least privilege and per-stack names in the rendered z/OS steps, and
in the graph under mocks. The records' helpers also run here, in a POSIX sh, on files
(the z/OS double runs the whole steps: tests/integration/test_zos_replace.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from components.zos.export import client_label, export_dsn, stack_tag
from components.zos.racf import surrogat_profiles
from components.zos.script import INSTANCE, LIBRARY_CHUNKS, quote
from components.zos.steps import gateway_steps, server_host, user_steps
from tests.unit.components.zos.test_render import STACK, VARIANTS, zos_settings
from tools.mock_graph import run_program, settled_event_loop

REMOTE = "command:remote:Command"


@pytest.fixture(autouse=True)
def _loop():
    with settled_event_loop():
        yield


# --- the records' helpers, run for real ------------------------------------------------------


def _sh(tmp_path, body: str, *, instance: str, slot: str = "s/step") -> subprocess.CompletedProcess:
    library = "\n".join(
        text
        for name, text in LIBRARY_CHUNKS
        if name in {"say", "die", "marked", "unmark", "rec_at", "rec_put", "rec_others"}
        or name in {"ours", "intend", "use", "release", "forget"}
    )
    script = "\n".join(
        [
            "set -eu",
            "STEP=t",
            f"RECORDS={quote(str(tmp_path / 'records'))}",
            f"MARKS={quote(str(tmp_path / 'marks'))}",
            f"MARKS_DIR={quote(str(tmp_path))}",
            f"SLOT={quote(slot)}",
            f"INSTANCE={instance}",
            library,
            body,
        ]
    )
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30)


def _release(tmp_path, what: str, instance: str, slot: str = "s/step") -> bool:
    done = _sh(
        tmp_path,
        f"if release {quote(what)}; then echo remove; forget {quote(what)}; else echo keep; fi",
        instance=instance,
        slot=slot,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "remove"


def test_a_replacing_instance_keeps_the_object_the_old_one_releases(tmp_path):
    what = "CERT CERTAUTH Jupyter Local CA"
    assert _sh(tmp_path, f'intend "{what}"; use "{what}"', instance="aa").returncode == 0
    # the replacement (created first) finds it the program's and uses it
    found = _sh(tmp_path, f'ours "{what}" && use "{what}" && echo ours', instance="bb")
    assert found.stdout.strip() == "ours"
    assert not _release(tmp_path, what, "aa"), "the old instance removed what the new one uses"
    assert _release(tmp_path, what, "bb")
    assert not (tmp_path / "records").exists() or not list((tmp_path / "records").iterdir())


def test_another_step_s_use_keeps_the_object(tmp_path):
    what = "SETROPTS CLASSACT(FSSEC)"
    _sh(tmp_path, f'intend "{what}"; use "{what}"', instance="aa", slot="one/fssec")
    _sh(tmp_path, f'ours "{what}" && use "{what}"', instance="cc", slot="two/fssec")
    assert not _release(tmp_path, what, "aa", slot="one/fssec")
    assert _release(tmp_path, what, "cc", slot="two/fssec")


def test_an_intent_counts_as_the_program_s_and_a_stale_user_does_not_pin_it(tmp_path):
    """A step killed after its intent: the next instance takes the object over (it is
    the program's), and is its newest user, so its delete removes it."""
    what = "RING JKGID JKGRing"
    _sh(tmp_path, f'intend "{what}"', instance="dead")
    assert _sh(tmp_path, f'ours "{what}" && use "{what}"', instance="live").returncode == 0
    assert _release(tmp_path, what, "live")


def test_what_the_program_did_not_make_is_never_its_own(tmp_path):
    what = "CERT ID(JKGID) JKG Server Cert"
    assert _sh(tmp_path, f'ours "{what}"', instance="aa").returncode == 1
    assert not _release(tmp_path, what, "aa")


def test_marks_of_earlier_versions_are_taken_over(tmp_path):
    (tmp_path / "marks").write_text("CERT CERTAUTH Jupyter Local CA\nREFRESH DIGTCERT\n")
    what = "CERT CERTAUTH Jupyter Local CA"
    assert _sh(tmp_path, f'ours "{what}" && use "{what}"', instance="aa").returncode == 0
    # the old instance's delete (which reads its marker file) now leaves it alone
    assert (tmp_path / "marks").read_text() == "REFRESH DIGTCERT\n"
    assert _release(tmp_path, what, "aa")


def test_records_of_long_identities_and_odd_characters(tmp_path):
    long = "FILE /u/" + "x" * 200 + "/jupyter_kernel_gateway_config.py"
    odd = "PERMIT SURROGAT BPX.SRV.K$G@1 K$G@1"
    for what in (long, odd):
        made = _sh(tmp_path, f"intend {quote(what)}; use {quote(what)}", instance="aa")
        assert made.returncode == 0, made.stderr
        assert _release(tmp_path, what, "aa")


# --- the rendered steps ---------------------------------------------------------------------

# A command that makes something in RACF, and the record its intent goes in first.
MAKES = re.compile(
    r'ok "RACDCERT (GENCERT|ADDRING|ID\(\$KG\) CONNECT)|ok "RDEFINE |ok "PERMIT [^"]*ACCESS'
    r'|ok "SETROPTS (CLASSACT|RACLIST|GENERIC)\('
)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_racf_object_s_intent_is_recorded_before_it_is_made(ssh_keypair, variant):
    settings = zos_settings(ssh_keypair, **VARIANTS[variant])
    zos = settings.zos
    steps = gateway_steps(zos, STACK, settings.gateway.url) + list(user_steps(zos, STACK).values())
    seen = 0
    for step in steps:
        lines = step.create.splitlines()
        for i, line in enumerate(lines):
            if MAKES.search(line):
                seen += 1
                before = "\n".join(lines[max(0, i - 3) : i])
                assert re.search(r"\b(intend|to_make|to_sign)\b", before), (step.name, line)
        # create and delete name the instance; nothing else in the text does
        create, delete = step.scripts("0123456789abcdef")
        for text in (create, delete):
            assert INSTANCE not in text
            if "RECORDS=" in text:
                assert "\nINSTANCE=0123456789abcdef\n" in text
                assert f"\nSLOT={quote(f'{STACK}/{step.name}')}\n" in text
    assert seen >= (6 if zos.attls else 3)


def test_an_instance_is_a_hex_id(ssh_keypair):
    step = gateway_steps(zos_settings(ssh_keypair).zos, STACK, None)[0]
    for bad in ("", "xyz", '"; rm -rf /'):
        with pytest.raises(ValueError, match="hex ID"):
            step.scripts(bad)


def test_the_server_certificate_is_replaced_with_its_ca_and_host(ssh_keypair):
    settings = zos_settings(ssh_keypair)
    server = next(s for s in gateway_steps(settings.zos, STACK, None) if s.name == "server-cert")
    assert settings.zos.ca_label in server.triggers
    assert server_host(settings.zos, None) in server.triggers


def test_one_surrogat_profile_per_user_id_unless_asked_for_the_generic_one(ssh_keypair):
    zos = zos_settings(ssh_keypair).zos
    assert surrogat_profiles(zos) == {"SID1": "ALICE01", "SID2": "BOB01"}
    surrogat = next(s for s in gateway_steps(zos, STACK, None) if s.name == "surrogat")
    assert "BPX.SRV.**" not in surrogat.create and "GENERIC(SURROGAT)" not in surrogat.create
    assert 'ok "PERMIT BPX.SRV.$SID1 CLASS(SURROGAT) ID($KG) ACCESS(READ)"' in surrogat.create
    assert {"ALICE01", "BOB01"} <= set(surrogat.triggers)

    generic = zos_settings(ssh_keypair, ZOS_SURROGAT_GENERIC="true").zos
    assert surrogat_profiles(generic) == {"": "BPX.SRV.**"}
    surrogat = next(s for s in gateway_steps(generic, STACK, None) if s.name == "surrogat")
    assert 'ok "PERMIT BPX.SRV.** CLASS(SURROGAT) ID($KG) ACCESS(READ)"' in surrogat.create
    assert "SETROPTS GENERIC(SURROGAT)" in surrogat.create
    assert "BPX.SRV.$SID" not in surrogat.create


def test_the_users_ids_are_checked_first_in_one_message(ssh_keypair):
    ca = gateway_steps(zos_settings(ssh_keypair).zos, STACK, None)[0]
    assert ca.name == "ca"
    body = ca.create.split("# --- the step ---", 1)[1]
    assert body.index('tso "LISTUSER $zid OMVS"') < body.index("cert_there CERTAUTH")
    assert 'ZID1="ALICE01"' in ca.create and 'ZID2="BOB01"' in ca.create
    assert body.count("die ") == 1


def test_labels_and_data_sets_are_per_stack(ssh_keypair):
    zos = zos_settings(ssh_keypair).zos
    assert client_label("prod") == "JupyterHub prod"
    long = client_label("a-very-long-stack-name-for-tests")
    assert len(long) <= 32 and long != client_label("a-very-long-stack-name-for-testz")
    assert stack_tag("prod") != stack_tag("prod2")
    assert re.fullmatch(r"S[0-9A-F]{7}", stack_tag("prod"))
    for stack in ("prod", "a-very-long-stack-name-for-tests"):
        dsn = export_dsn(zos, stack, "U.ALICE01")
        assert len(dsn) <= 44 and all(1 <= len(q) <= 8 for q in dsn.split("."))
    a, b = (user_steps(zos, s)["alice"] for s in ("prod-a", "prod-b"))
    assert a.triggers != b.triggers
    assert client_label("prod-a") in a.create and client_label("prod-b") not in a.create


# --- the graph ------------------------------------------------------------------------------


def _exports(graph) -> dict[str, str]:
    return {
        r.name: r.inputs["create"]
        for r in graph.of_type(REMOTE)
        if r.name.startswith("jupyterhub-zos-users-")
    }


def test_two_stacks_graphs_name_their_own_labels_and_data_sets(zos_config):
    config, secrets = zos_config
    # stacks other than dev: their admins, and the dev directory allowed on purpose
    config = {"HUB_ADMIN_USERS": ["admin"], "ALLOW_DEV_SERVICES": True, **config}
    one = _exports(run_program("prod-a", config=config, secrets=secrets))
    two = _exports(run_program("prod-b", config=config, secrets=secrets))
    assert sorted(one) == sorted(two)
    for name in one:
        assert f"LABEL={quote(client_label('prod-a'))}" in one[name]
        assert f"LABEL={quote(client_label('prod-b'))}" in two[name]
        assert f".JHZOS.{stack_tag('prod-a')}." in one[name]
        assert f".JHZOS.{stack_tag('prod-b')}." in two[name]


def test_the_generic_surrogat_profile_only_when_asked(zos_config):
    config, secrets = zos_config
    for generic, profile in ((False, "BPX.SRV.$SID1"), (True, "BPX.SRV.**")):
        graph = run_program(
            "dev", config={**config, "ZOS_SURROGAT_GENERIC": generic}, secrets=secrets
        )
        surrogat = graph.one(REMOTE, "jupyterhub-zos-gateway-surrogat")
        assert f'ok "PERMIT {profile} CLASS(SURROGAT)' in surrogat.inputs["create"]
        assert ("BPX.SRV.**" in surrogat.inputs["create"]) is generic
