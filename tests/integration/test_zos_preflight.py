"""The preflight and the gateway's lifecycle, as the component renders them, over a real
OpenSSH sshd on 127.0.0.1 against the z/OS double (tests/zos_double): LISTUSER and RLIST's
YOUR ACCESS, `id`, `su -s`, `ls -E`, `netstat -f`, PAGENT, started tasks, and a stand-in
Kernel Gateway install (tests/zos_double/gateway.py) whose fake gateway records each
start (its user ID, the config and token it loaded) and stop.

Each test starts from a fresh double; deploys run the whole chain as the graph has it
(`whole=True`: the preflight first, the gateway's (re)start last).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from components.zos.gateway_service import LOG_FILE, PID_FILE
from tests.integration.test_zos_ssh import RACF_USERS, make_settings
from tests.zos_double import cli, gateway, racf, uss
from tests.zos_double.deploy import deploy, destroy, ordered_steps
from tests.zos_double.host import ZosHost
from tools.mock_graph import settled_event_loop

pytestmark = pytest.mark.integration

STACK = "it"
PASSWORD = "P12pw-3b1d6f0a2c"
TOKEN = "kgtoken-0f4b9e2d77a1c3e5"
NEW_TOKEN = "kgtoken-rotated-9a8b7c6d5e"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with settled_event_loop():  # settings hold secrets as Outputs
        zos = ZosHost(tmp_path_factory.mktemp("zos")).start()
        yield zos
        gateway.kill_all(zos.state)
        zos.stop()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ready_system(
    host: ZosHost,
    *,
    version: str = "2.2.0",
    native: bool = True,
    progctl=True,
    jupyter_server: bool = True,
    surrogate: bool = True,
    bpx_server="UPDATE",
):
    """A fresh z/OS that passes the preflight with AT-TLS: IBMUSER with SPECIAL,
    BPX.SERVER UPDATE for JKGID, IzODA's AT-TLS build (stand-in) program-controlled,
    SURROGAT BPX.SRV.JKGID READ for IBMUSER (su -s); PAGENT up, TTLS on."""
    for d in ("u", "etc", "izoda"):
        shutil.rmtree(host.root / d, ignore_errors=True)
    (host.root / "u" / "jkgid").mkdir(parents=True)
    (host.root / "etc" / "pagent").mkdir(parents=True)
    python = gateway.install_gateway(
        host.root / "izoda",
        host.state_path,
        version=version,
        native=native,
        jupyter_server=jupyter_server,
    )
    state = racf.initial_state(users=RACF_USERS)
    state["pagent"]["ttls_config"] = str(host.root / "etc" / "pagent" / "jhzos.policy")
    if bpx_server:
        state["profiles"]["FACILITY"]["BPX.SERVER"] = {
            "uacc": "NONE",
            "acl": {"JKGID": bpx_server},
            "owner": "IBMUSER",
        }
    if surrogate:
        state["profiles"]["SURROGAT"]["BPX.SRV.JKGID"] = {
            "uacc": "NONE",
            "acl": {"IBMUSER": "READ"},
            "owner": "IBMUSER",
        }
    uss.uss(state)
    host.reset(state)
    if native and progctl:
        st = host.state
        cli.set_attr(st, str(gateway.native_library(host.root / "izoda")), "progctl", "yes")
        racf.save(host.state_path, st)
    return python


def settings_for(host, python, **extra):
    return make_settings(host, ZOS_KG_PYTHON=str(python), **extra)


def preflight(host, settings):
    steps, _ = ordered_steps(settings, STACK, whole=True)
    assert steps[0].name == "preflight"
    return host.run(steps[0].create)


def read_only(state: dict) -> None:
    """Nothing the preflight ran changed RACF, PAGENT or a file; it kept no markers."""
    assert [e for e in state["log"] if e.get("mutates")] == []
    assert state["violations"] == []


def test_preflight_passes_on_a_ready_system_and_changes_nothing(host):
    python = ready_system(host)
    settings = settings_for(host, python, ZOS_KG_LIFECYCLE="process")
    before = racf.racf_view(host.state)
    session = preflight(host, settings)
    assert session.rc == 0, session.stderr
    assert "preflight passed" in session.stderr
    assert "kernel_gateway=2.2.0" in session.stdout
    assert "AT-TLS-aware Kernel Gateway 2.2.0, program-controlled" in session.stderr
    state = host.state
    read_only(state)
    assert racf.racf_view(state) == before
    assert not (host.home / ".jupyterhub-zos").exists()
    commands = [e.get("command") for e in state["log"] if e["tool"] == "tsocmd"]
    assert commands[0] == "LISTUSER"
    assert "RLIST FACILITY BPX.SERVER AUTHUSER" in commands


def test_preflight_lists_everything_missing_in_one_message(host):
    python = ready_system(host, version="3.0.1", bpx_server=None, surrogate=False)
    state = host.state
    view = uss.uss(state)
    view["attributes"]["IBMUSER"] = ["OPERATIONS"]  # no SPECIAL
    view["pagent"] = False
    view["ttls"] = False
    view["uids"]["JKGID"] = 1001
    view["uids"]["IBMUSER"] = 501
    racf.save(host.state_path, state)
    settings = settings_for(
        host, python, ZOS_KG_LIFECYCLE="process", ZOS_OPERCMD="zoau-opercmd-missing"
    )
    session = preflight(host, settings)
    assert session.rc != 0
    message = session.stderr
    expected = [
        # the commands the steps call
        "the command zoau-opercmd-missing is not on the PATH",
        # RACF authority: SETROPTS needs SPECIAL, RACDCERT its FACILITY profiles
        "IBMUSER lacks the SPECIAL attribute, which SETROPTS needs",
        "no FACILITY profile IRR.DIGTCERT.GENCERT",
        "no FACILITY profile IRR.DIGTCERT.EXPORT",
        # and those the renewal by rollover runs
        "no FACILITY profile IRR.DIGTCERT.REKEY",
        "no FACILITY profile IRR.DIGTCERT.GENREQ",
        "no FACILITY profile IRR.DIGTCERT.ROLLOVER",
        "no FACILITY profile IRR.DIGTCERT.ALTER",
        "FACILITY IRR.DIGTCERT.LISTRING is not defined and IBMUSER has no CLAUTH(FACILITY)",
        # one SURROGAT profile per ZOS_USERS ID, as the surrogat step makes them
        "SURROGAT BPX.SRV.ALICE01 is not defined and IBMUSER has no CLAUTH(SURROGAT)",
        "SURROGAT BPX.SRV.BOB01 is not defined and IBMUSER has no CLAUTH(SURROGAT)",
        # AT-TLS: PAGENT, TTLS, a gateway that can map identities, BPX.SERVER
        "the Policy Agent does not answer (pasearch -t",
        "TTLS is off in the TCP/IP profile",
        "Kernel Gateway 3.0.1 cannot",
        "or set ZOS_ATTLS=false",
        "FACILITY BPX.SERVER is not defined, so only a superuser",
        "JKGID has UID 1001",
        # the config step's chown to the gateway's ID
        "IBMUSER (UID 501) cannot give the gateway's config files to JKGID (chown)",
        # the lifecycle: su -s to the gateway's ID
        "needs READ to SURROGAT BPX.SRV.JKGID for IBMUSER",
    ]
    missing = [e for e in expected if e not in message]
    assert missing == [], message
    assert message.count("ERROR") == 1, "one message, not one per problem"
    assert "nothing was changed" in message
    read_only(host.state)


def test_attls_is_refused_with_a_gateway_that_cannot_map_identities(host):
    python = ready_system(host, version="3.0.1")
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    assert "Install IzODA's" in session.stderr and "ZOS_ATTLS=false" in session.stderr
    # Without AT-TLS kernels run as the gateway's ID: the same gateway is fine.
    session = preflight(host, settings_for(host, python, attls=False))
    assert session.rc == 0, session.stderr
    assert "BPX.SERVER" not in session.stderr


def test_attls_needs_the_native_library_program_controlled(host):
    python = ready_system(host, progctl=False)
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    assert "_attls.so is not program-controlled: extattr +p" in session.stderr
    python = ready_system(host, native=False)
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0 and "has no native .so" in session.stderr


def test_a_gateway_that_cannot_load_the_config_is_reported(host):
    # IzODA's 2.x runs on the classic notebook server: kg_isolation.py's imports fail.
    python = ready_system(host, jupyter_server=False)
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    assert "kg_isolation.py, whose imports fail" in session.stderr
    assert "jupyter_server" in session.stderr


def test_a_non_superuser_may_chown_through_unixpriv(host):
    python = ready_system(host)
    state = host.state
    uss.uss(state)["uids"]["IBMUSER"] = 501
    racf.save(host.state_path, state)
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0 and "cannot give the gateway's config files" in session.stderr
    state = host.state
    state["profiles"]["UNIXPRIV"] = {
        "SUPERUSER.FILESYS.CHOWN": {"uacc": "NONE", "acl": {"IBMUSER": "READ"}, "owner": "SYS1"}
    }
    racf.save(host.state_path, state)
    session = preflight(host, settings_for(host, python))
    assert session.rc == 0, session.stderr


def test_bpx_server_read_is_not_enough(host):
    python = ready_system(host, bpx_server="READ")
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0 and "JKGID has READ to FACILITY BPX.SERVER" in session.stderr


def test_without_special_each_racdcert_profile_is_checked(host):
    python = ready_system(host)
    state = host.state
    uss.uss(state)["attributes"]["IBMUSER"] = ["NONE"]
    facility = state["profiles"]["FACILITY"]
    for profile, access in (
        ("IRR.DIGTCERT.LIST", "CONTROL"),
        ("IRR.DIGTCERT.GENCERT", "UPDATE"),  # CONTROL is needed to sign with the CA
        ("IRR.DIGTCERT.LISTRING", "UPDATE"),
        ("IRR.DIGTCERT.ADDRING", "UPDATE"),
        ("IRR.DIGTCERT.CONNECT", "CONTROL"),
        ("IRR.DIGTCERT.EXPORT", "UPDATE"),
        ("IRR.DIGTCERT.REKEY", "UPDATE"),
        ("IRR.DIGTCERT.GENREQ", "UPDATE"),
        ("IRR.DIGTCERT.ROLLOVER", "READ"),  # READ is for one's own certificates only
        ("IRR.DIGTCERT.ALTER", "UPDATE"),
    ):
        facility[profile] = {"uacc": "NONE", "acl": {"IBMUSER": access}, "owner": "SYS1"}
    racf.save(host.state_path, state)
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    assert "IBMUSER has UPDATE to FACILITY IRR.DIGTCERT.GENCERT; CONTROL is needed" in (
        session.stderr
    )
    # LISTRING exists (no ALTER for IBMUSER): the listring step could not PERMIT on it.
    assert "IBMUSER has UPDATE to FACILITY IRR.DIGTCERT.LISTRING; the step listring" in (
        session.stderr
    )
    assert "IBMUSER has READ to FACILITY IRR.DIGTCERT.ROLLOVER; UPDATE is needed" in (
        session.stderr
    )
    for fine in (
        "IRR.DIGTCERT.ADDRING",
        "IRR.DIGTCERT.CONNECT",
        "IRR.DIGTCERT.EXPORT",
        "IRR.DIGTCERT.REKEY",
        "IRR.DIGTCERT.GENREQ",
        "IRR.DIGTCERT.ALTER",
    ):
        assert f"FACILITY {fine};" not in session.stderr


def test_nothing_else_runs_when_the_preflight_fails(host):
    python = ready_system(host, version="3.0.1")
    settings = settings_for(host, python, ZOS_KG_LIFECYCLE="process")
    before = racf.racf_view(host.state)
    run = deploy(host, settings, stack=STACK, password=PASSWORD, token=TOKEN, whole=True)
    assert run.failed == "preflight" and run.order == ["preflight"]
    state = host.state
    read_only(state)
    assert racf.racf_view(state) == before
    assert not Path(settings.zos.kg_config_dir).exists()
    assert gateway.runs(state) == []


def _starts(state):
    return [r for r in gateway.runs(state) if r["event"] == "start"]


def _started(host, count: int) -> dict:
    """The state once the gateway has recorded `count` starts: a started task is active
    (D A) before the gateway in it has loaded its config."""
    import time

    deadline = time.monotonic() + 20
    while len(_starts(host.state)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return host.state


def _stops(state):
    return [r for r in gateway.runs(state) if r["event"] == "stop"]


def _lifecycle(host, settings, running, stopped_at_destroy):
    """Deploy, deploy with a rotated token, deploy again unchanged (Pulumi would not run
    the step: the driver does, and it restarts), destroy: check what the gateway
    loaded each time, under which ID, and that destroy stopped it before the AT-TLS
    policy went."""
    config = Path(settings.zos.kg_config_dir) / "jupyter_kernel_gateway_config.py"
    run = deploy(host, settings, stack=STACK, password=PASSWORD, token=TOKEN, whole=True)
    assert run.ok, run.sessions[run.failed].stderr
    assert run.order[0] == "preflight" and run.order[-1] == "kg-service"
    state = _started(host, 1)
    (first,) = _starts(state)
    assert first["user"] == "JKGID"
    assert first["token_sha256"] == sha(TOKEN)
    assert first["config_sha256"] == sha(config.read_text())
    assert first["port"] == 8099 and first["config_dir"] == settings.zos.kg_config_dir
    assert running(state, first["pid"])

    run = deploy(host, settings, stack=STACK, password=PASSWORD, token=NEW_TOKEN, whole=True)
    assert run.ok, run.sessions[run.failed].stderr
    state = _started(host, 2)
    assert [s["pid"] for s in _stops(state)] == [first["pid"]]
    second = _starts(state)[-1]
    assert second["pid"] != first["pid"] and second["user"] == "JKGID"
    assert second["token_sha256"] == sha(NEW_TOKEN), "the gateway still has the old token"
    assert running(state, second["pid"]) and not gateway.alive(first["pid"])

    refreshes = host.state["pagent"]["refreshes"]
    destroy(host, settings, stack=STACK, whole=True)
    state = host.state
    stop = _stops(state)[-1]
    assert stop["pid"] == second["pid"]
    assert not gateway.alive(second["pid"])
    # The gateway stopped before the AT-TLS policy was removed and PAGENT refreshed.
    refresh = [e for e in state["log"] if e.get("command") == "F PAGENT,REFRESH"][-1]
    assert state["pagent"]["refreshes"] == refreshes + 1
    assert stop["n"] < refresh["n"], "the AT-TLS policy went while the gateway ran"
    stopped_at_destroy(state)
    no_secret = [e for e in state["log"] if TOKEN in str(e) or NEW_TOKEN in str(e)]
    assert no_secret == [], "a token was on a command line"


def test_lifecycle_process_restarts_the_gateway_under_its_id(host):
    python = ready_system(host)
    settings = settings_for(
        host, python, ZOS_KG_LIFECYCLE="process", ZOS_USERS='{"alice": "ALICE01"}'
    )
    directory = Path(settings.zos.kg_config_dir)

    def running(state, pid):
        return gateway.alive(pid) and (directory / PID_FILE).read_text().strip() == str(pid)

    def stopped(state):
        assert _starts(state)[0]["cwd"] == "/", "kernels would start beside the token file"
        assert not (directory / PID_FILE).exists() and not (directory / LOG_FILE).exists()
        assert not directory.exists(), "the config step could not remove its directory"
        su = [e for e in state["log"] if e["tool"] == "su"]
        assert su and all(e["argv"][:2] == ["-s", "JKGID"] for e in su)

    _lifecycle(host, settings, running, stopped)


def test_lifecycle_started_task_uses_operator_commands(host):
    python = ready_system(host)
    settings = settings_for(
        host,
        python,
        ZOS_KG_LIFECYCLE="started-task",
        ZOS_KG_STARTED_TASK="JKGSTC",
        ZOS_USERS='{"alice": "ALICE01"}',
    )
    state = host.state
    uss.uss(state)["started_tasks"]["JKGSTC"] = {
        "user": "JKGID",
        "config_dir": settings.zos.kg_config_dir,
        "python": str(python),
    }
    racf.save(host.state_path, state)

    def running(state, pid):
        return uss.uss(state)["started_tasks"]["JKGSTC"]["pid"] == pid

    def stopped(state):
        commands = [e["command"] for e in state["log"] if e["tool"] == "opercmd"]
        assert commands.count("S JKGSTC") == 2 and commands.count("P JKGSTC") == 2
        assert "C JKGSTC" not in commands

    _lifecycle(host, settings, running, stopped)


def test_the_service_step_fails_loudly_when_the_gateway_does_not_start(host):
    python = ready_system(host)
    settings = settings_for(
        host, python, ZOS_KG_LIFECYCLE="process", ZOS_USERS='{"alice": "ALICE01"}'
    )
    run = deploy(host, settings, stack=STACK, password=PASSWORD, token=TOKEN, whole=True)
    assert run.ok, run.sessions[run.failed].stderr
    # A broken config: the gateway dies at start; the step says so with its log.
    config = Path(settings.zos.kg_config_dir) / "jupyter_kernel_gateway_config.py"
    config.write_text("raise SystemExit('broken config (test)')\n")
    steps, _ = ordered_steps(settings, STACK, whole=True)
    service = steps[-1]
    from components.zos.steps import step_stdin

    session = host.run(service.create, step_stdin(service, password=PASSWORD, token=TOKEN))
    assert session.rc != 0
    assert "the gateway did not start under JKGID" in session.stderr
    assert "broken config (test)" in session.stderr
    destroy(host, settings, stack=STACK, whole=True)
