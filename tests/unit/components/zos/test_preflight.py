"""The preflight and the gateway's lifecycle in the resource graph (__main__.py under
Pulumi mocks) and as rendered: the preflight first (every other z/OS command waits for
it), read-only and without stdin; the gateway's (re)start last, after every gateway step
(so destroy stops it before the AT-TLS policy goes), deleted before it is replaced, fed
the token like the config step; config rules for ZOS_KG_LIFECYCLE."""

from __future__ import annotations

import gc
import re

import pytest

from components.settings import SettingsError, validate
from components.settings.source import RawConfig
from components.zos.gateway_service import restart_note, service_step
from components.zos.preflight import commands_used, config_imports, steps_code, zos_steps
from tests.unit.components.zos.test_graph import (  # noqa: F401 - a fixture
    LOCAL,
    REMOTE,
    fake_splits,
    settings_of,
)
from tools.mock_graph import run_program, settled_event_loop

PREFLIGHT = "jupyterhub-zos-preflight"
SERVICE = "jupyterhub-zos-kg-service"
GATEWAY = "jupyterhub-zos-gateway-"


@pytest.fixture(scope="module")
def process(zos_config, fake_splits):  # noqa: F811
    config, secrets = zos_config
    return run_program("dev", config={**config, "ZOS_KG_LIFECYCLE": "process"}, secrets=secrets)


@pytest.fixture(scope="module")
def started_task_no_attls(zos_config, fake_splits):  # noqa: F811
    config, secrets = zos_config
    config = {
        **config,
        "ZOS_KG_LIFECYCLE": "started-task",
        "ZOS_KG_STARTED_TASK": "JKGSTC",
        "ZOS_ATTLS": False,
    }
    return run_program("dev", config=config, secrets=secrets)


@pytest.fixture(scope="module")
def manual(zos_config, fake_splits):  # noqa: F811
    config, secrets = zos_config
    return run_program("dev", config=config, secrets=secrets)


def _closure(graph, urn: str) -> set[str]:
    """Everything `urn` waits for, directly or not."""
    by_urn = {r.urn: r for r in graph.resources}
    seen, todo = set(), [urn]
    while todo:
        for dep in by_urn[todo.pop()].dependencies:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


@pytest.mark.parametrize("graph_name", ["process", "started_task_no_attls", "manual"])
def test_every_zos_command_waits_for_the_preflight(graph_name, request):
    graph = request.getfixturevalue(graph_name)
    (preflight,) = [r for r in graph.of_type(REMOTE) if r.name == PREFLIGHT]
    # The first z/OS step: it waits only for its own instance id (components/zos/commands.py).
    instance = {r.urn for r in graph.resources if r.name == f"{PREFLIGHT}-instance"}
    assert preflight.dependencies == instance and len(instance) == 1, "the preflight is first"
    assert "stdin" not in preflight.inputs or preflight.inputs["stdin"] in (None, "")
    others = [r for r in graph.of_type(REMOTE) if r.name != PREFLIGHT]
    assert len(others) >= 5  # without AT-TLS: ca, server-cert, export, config, service
    for cmd in others:  # directly: a failed preflight stops every one of them
        assert preflight.urn in cmd.dependencies, cmd.name
    for split in graph.of_type(LOCAL):  # the PEM splits, through their exports
        if split.name.endswith("-pem") or split.name.startswith("jupyterhub-zos-"):
            assert preflight.urn in _closure(graph, split.urn), split.name


def test_the_gateway_starts_after_every_gateway_step_and_stops_before_attls_goes(process):
    (service,) = [r for r in process.of_type(REMOTE) if r.name == SERVICE]
    gateway = {
        r.name.removeprefix(GATEWAY): r.urn
        for r in process.resources
        if r.type in (REMOTE, LOCAL) and r.name.startswith(GATEWAY)
    }
    assert "attls" in gateway and "kg-config" in gateway
    # Pulumi destroys a resource before what it depends on: the gateway stops first.
    assert set(gateway.values()) <= service.dependencies
    assert service.options["deleteBeforeReplace"] is True
    assert service.is_secret("stdin")
    settings = settings_of(process)
    step = service_step(settings.zos, "dev")
    assert service.inputs["create"] == step.create and service.inputs["delete"] == step.delete
    assert "su -s" in step.create and "stop_gateway" in step.delete
    assert process.outputs["zos_gateway"]["lifecycle"] == "process"
    assert (
        "restarts it when its config or token changes"
        in (process.outputs["zos_gateway"]["restart"])
    )


def test_without_attls_the_started_task_waits_for_the_gateways_own_tls(started_task_no_attls):
    graph = started_task_no_attls
    (service,) = [r for r in graph.of_type(REMOTE) if r.name == SERVICE]
    names = {r.urn: r.name for r in graph.resources}
    waits = {names[u].removeprefix(GATEWAY) for u in service.dependencies if u in names}
    assert {"kg-config", "server-pem", "server-export"} <= waits
    assert "attls" not in waits
    step = service_step(settings_of(graph).zos, "dev")
    assert step.stdin == "token+tls"  # the PEM files' renewal restarts it too
    assert '"$OPERCMD" "$1"' in step.create and "S $STC" in step.create


def test_manual_mode_has_no_service_and_says_what_to_restart(manual):
    assert not [r for r in manual.of_type(REMOTE) if r.name == SERVICE]
    output = manual.outputs["zos_gateway"]
    assert output["lifecycle"] == "manual"
    assert "restart it under JKGID" in output["restart"]
    assert "stop it before `pulumi destroy`" in output["restart"]


def test_the_imports_are_parsed_with_the_collector_paused(monkeypatch):
    """CPython before 3.11.8 (gh-106905): a collection inside ast.parse can make it raise
    SystemError; config_imports parses with the collector off and turns it back on."""
    from components.zos import preflight

    seen = []
    parse = preflight.ast.parse

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return parse(*args, **kwargs)

    monkeypatch.setattr(preflight.ast, "parse", spy)
    preflight.config_imports.cache_clear()
    try:
        assert gc.isenabled()
        imports = config_imports()
        assert seen == [False] and gc.isenabled()
        assert config_imports() is imports and seen == [False]  # parsed once
    finally:
        preflight.config_imports.cache_clear()


def test_preflight_renders_the_commands_and_imports_of_the_steps(process):
    settings = settings_of(process)
    steps = zos_steps(settings.zos, "dev", settings.gateway.url)
    later = [*steps.gateway, *steps.users.values(), steps.service]
    tools = commands_used(settings.zos, steps_code(later))
    assert {"tsocmd", "opercmd", "pasearch", "chtag", "uuencode", "su"} <= set(tools)
    # kg_isolation imports nothing only one Kernel Gateway generation has.
    imports = config_imports()
    assert "kernel_gateway.mixins" in imports and "tornado" in imports
    assert not [m for m in imports if m.split(".")[0] in ("jupyter_server", "notebook")]
    text = steps.preflight.create
    assert "IMPORTS=" in text and "kernel_gateway.mixins" in text
    # The probe loads the module itself: its text goes along.
    assert "MODULE=" in text and "class OwnedKernelManager" in text
    # Read-only: RACF is only listed, nothing is marked, no file is made or changed (the
    # double checks it for real: tests/integration/test_zos_preflight.py).
    body = text.split("# --- the step ---", 1)[1]
    verbs = set(re.findall(r'\btso "([A-Z]+)', body))
    assert verbs == {"LISTUSER", "RLIST"}
    for word in ('mark "', "mkdir ", "chtag ", 'chown "', "rm ", "mv "):  # as commands
        assert word not in body, word


def test_no_secret_in_the_new_scripts(process, zos_config):
    _config, secrets = zos_config
    settings = settings_of(process)
    steps = zos_steps(settings.zos, "dev", settings.gateway.url)
    for step in (steps.preflight, steps.service):
        for text in (step.create, step.delete):
            for value in secrets.values():
                assert value.strip() not in text


def _raw(**values):
    base = {
        "ALLOW_DEV_SERVICES": "true",
        "HUB_ADMIN_USERS": '["admin"]',
        "ZOS_HOST": "zos.example.com",
        "ZOS_SSH_USER": "IBMUSER",
        "ZOS_SSH_PRIVATE_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH "
        "PRIVATE KEY-----\n",
        "ZOS_SSH_HOST_KEY": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMYD9EwF6c8ZCZBiNrG8l55aHbT",
    }
    return RawConfig("jupyterhub-zos", {**base, **values}, frozenset({"ZOS_SSH_PRIVATE_KEY"}))


def _problems(**values) -> str:
    with settled_event_loop(), pytest.raises(SettingsError) as caught:
        validate(_raw(**values), "dev")
    return str(caught.value)


def test_started_task_needs_its_name_and_the_name_needs_started_task():
    assert "ZOS_KG_STARTED_TASK" in _problems(ZOS_KG_LIFECYCLE="started-task")
    message = _problems(ZOS_KG_LIFECYCLE="process", ZOS_KG_STARTED_TASK="JKGSTC")
    assert "ZOS_KG_STARTED_TASK" in message and "only used with" in message
    assert "ZOS_KG_LIFECYCLE" in _problems(ZOS_KG_LIFECYCLE="always")


def test_restart_note_by_lifecycle(process, started_task_no_attls, manual):
    for graph, words in (
        (process, "z/OS UNIX process under JKGID"),
        (started_task_no_attls, "started task JKGSTC"),
        (manual, "ZOS_KG_LIFECYCLE=manual"),
    ):
        assert words in restart_note(settings_of(graph).zos)


SHELL_VARIANTS = {
    "process": {"ZOS_KG_LIFECYCLE": "process"},
    "started task, no AT-TLS": {
        "ZOS_KG_LIFECYCLE": "started-task",
        "ZOS_KG_STARTED_TASK": "JKG$STC",
        "ZOS_ATTLS": "false",
    },
    "odd names": {
        "ZOS_KG_LIFECYCLE": "process",
        "ZOS_KG_USER": "K$G@1",
        "ZOS_KG_PYTHON": "/usr/lpp/IBM/izoda/anaconda/bin/python3",
        "ZOS_OPERCMD": "/usr/lpp/IBM/zoautil/bin/opercmd",
    },
}


@pytest.mark.parametrize("variant", SHELL_VARIANTS)
def test_new_scripts_pass_shellcheck_as_posix_sh(variant, ssh_keypair, tmp_path):
    import subprocess

    from tests.tooling import require_tool
    from tests.unit.components.zos.test_render import zos_settings

    shellcheck = require_tool("shellcheck")
    with settled_event_loop():
        settings = zos_settings(ssh_keypair, **SHELL_VARIANTS[variant])
    steps = zos_steps(settings.zos, "it", settings.gateway.url)
    paths = []
    for step in (steps.preflight, steps.service):
        for action, text in (("create", step.create), ("delete", step.delete)):
            path = tmp_path / f"{step.name}.{action}.sh"
            path.write_text(text)
            paths.append(str(path))
    result = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=style", "--format=gcc", *paths],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_the_surrogat_profiles_checked_are_the_ones_the_step_makes(process):
    import dataclasses

    from components.zos.preflight import _profile_lines
    from components.zos.racf import surrogat_profiles

    zos = settings_of(process).zos
    ids = sorted(set(zos.users.values()))
    assert ids, "the fixture maps users to z/OS IDs"
    lines = _profile_lines(zos, ["listring", "surrogat"])
    assert lines == [
        "FACILITY IRR.DIGTCERT.LISTRING listring",
        *(f"SURROGAT BPX.SRV.{zos_id} surrogat" for zos_id in ids),
    ]
    assert sorted(surrogat_profiles(zos).values()) == ids
    generic = dataclasses.replace(zos, surrogat_generic=True)
    assert _profile_lines(generic, ["surrogat"]) == ["SURROGAT BPX.SRV.** surrogat"]
    assert _profile_lines(zos, ["listring"]) == ["FACILITY IRR.DIGTCERT.LISTRING listring"]
