"""The notebook-image check: the probe's verdict on an image's facts (pure), its report
parsed back, the command that runs it on the Docker host, and where it sits in the graph
(before the hub, only for DOCKER_NOTEBOOK_IMAGE). The probe also runs for real here, with
this Python (which has the notebook image's pins); tests/e2e runs it inside images."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from components.docker import notebook_probe as probe
from components.docker.notebook_check import (
    MIN_JUPYTER_SERVER,
    PROBE,
    hub_jupyterhub,
    probe_command,
)
from tools.mock_graph import run_program

HUB = "5.3.0"
NOTEBOOK_IMAGE = Path(__file__).resolve().parents[4] / "images/notebook"
GOOD = {
    "python": "3.12.10",
    "jupyter_server": "2.17.0",
    "jupyterhub": "5.3.0",
    "notebook": "7.4.3",
    "jupyterhub_singleuser": "/opt/conda/bin/jupyterhub-singleuser",
    "gateway_client": True,
    "notebook_uid": 1000,
    "user_writable": [],
    "readable_init": None,
    "environment_not_looked_at": "",
    "config_error": None,
    "dumpable_after_config": False,
    "template_basedirs": [],
    "pdf_export": False,
}
# jupyter/scipy-notebook:2d878db5cbff, the seed's image (2018): classic notebook, hub 0.9.
SEED_ERA = {
    "python": "3.6.5",
    "jupyter_server": None,
    "jupyterhub": "0.9.2",
    "notebook": "5.6.0",
    "jupyterhub_singleuser": "/opt/conda/bin/jupyterhub-singleuser",
    "gateway_client": False,
    # (its environment as a hardened image's: what this test names is the versions)
    **{k: GOOD[k] for k in ("notebook_uid", "user_writable", "readable_init")},
    # (without jupyter_server, no server config was loaded)
    "config_error": None,
    "dumpable_after_config": None,
    "template_basedirs": None,
    "pdf_export": None,
}


def test_a_current_image_passes():
    assert probe.problems(GOOD, HUB, "2.0") == []


def test_the_seed_era_image_is_refused_naming_what_is_needed():
    found = probe.problems(SEED_ERA, HUB, "2.0")
    assert len(found) == 2
    assert "jupyter_server is not installed" in found[0] and ">= 2.0" in found[0]
    assert "classic notebook 5.6.0" in found[0]
    assert "jupyterhub 0.9.2 does not match the hub's 5.3.0" in found[1] and "5.x" in found[1]
    text = probe.message("jupyter/scipy-notebook:2d878db5cbff", SEED_ERA, found)
    assert text.startswith("DOCKER_NOTEBOOK_IMAGE jupyter/scipy-notebook:2d878db5cbff cannot")
    assert "jupyter_server none, jupyterhub 0.9.2, notebook 5.6.0" in text
    assert "Unset DOCKER_NOTEBOOK_IMAGE" in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"jupyter_server": "1.24.0"}, "jupyter_server 1.24.0 is too old"),
        ({"gateway_client": False}, "no importable gateway client"),
        ({"jupyterhub": "4.1.6"}, "jupyterhub 4.1.6 does not match the hub's 5.3.0"),
        ({"jupyterhub_singleuser": None}, "jupyterhub-singleuser is not installed"),
        ({"jupyterhub": None}, "jupyterhub-singleuser is not installed"),
        (
            {"user_writable": [f"/opt/conda/{n}" for n in "abcdef"]},
            "the notebook user (uid 1000) can change the server's environment "
            "(/opt/conda/a, /opt/conda/b, /opt/conda/c, /opt/conda/d and more)",
        ),
        (
            {"readable_init": "/usr/bin/tini"},
            "/usr/bin/tini, the image's init, is readable by the notebook user",
        ),
        (
            {"dumpable_after_config": True},
            "no jupyter_server config outside the home makes the server non-dumpable",
        ),
        (
            {"config_error": "SystemExit: prctl failed", "dumpable_after_config": None},
            "the server's config does not load (SystemExit: prctl failed)",
        ),
        (
            {"template_basedirs": None},
            "nbconvert looking for templates in the working directory "
            "(TemplateExporter.extra_template_basedirs, not set)",
        ),
        ({"template_basedirs": ["."]}, "extra_template_basedirs = ['.']"),
        ({"template_basedirs": ["/opt/templates"]}, None),
        (
            {"environment_not_looked_at": "more than 500000 files and directories"},
            "could not look at all of the server's environment (more than 500000 files",
        ),
        ({"pdf_export": True}, "leaves nbconvert's PDF export on (PDFExporter.enabled)"),
        ({"jupyter_server": "2.0.0rc1"}, None),
        ({"jupyterhub": "5.4.0"}, None),
    ],
)
def test_each_missing_piece_is_named(change, expected):
    found = probe.problems({**GOOD, **change}, HUB, "2.0")
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found


def test_the_report_is_parsed_back():
    stdout = (
        "some image banner\n" + probe.REPORT_PREFIX + '{"facts": {"a": 1}, "problems": ["x"]}\n'
    )
    assert probe.parse_report(stdout) == ({"a": 1}, ["x"])
    with pytest.raises(ValueError, match="no notebook-image-check report"):
        probe.parse_report("Traceback (most recent call last):\n")


def test_the_probe_runs_as_the_check_runs_it():
    """`python - IMAGE HUB MIN < notebook_probe.py`, with this Python: it has the
    notebook image's pins (requirements-dev installs them), so it passes; a hub of
    another major version fails it, exit 1, message on stderr."""
    script = PROBE.read_text()
    # The venv's bin/, as an image's PATH has its jupyterhub-singleuser; the
    # notebook image's server config on the config path, as the image has it.
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent),  # not the host's /usr/bin/tini
        "JUPYTER_CONFIG_PATH": str(NOTEBOOK_IMAGE),
    }

    def run(hub: str, **changes: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-", "img:1", hub, MIN_JUPYTER_SERVER],
            input=script,
            env={**env, **changes},
            capture_output=True,
            text=True,
            check=False,
        )

    ok = run(HUB)
    facts, problems = probe.parse_report(ok.stdout)
    assert facts["jupyterhub"] == HUB and facts["gateway_client"] is True
    # The image's server config was loaded as the server loads it: it ran.
    assert facts["config_error"] is None and facts["dumpable_after_config"] is False
    assert facts["template_basedirs"] == []
    # This Python is no image's: run as root, or as whoever owns the venv, its user can
    # change its environment, and only uid 1000 is the notebook's. The probe says so;
    # nothing else is wrong with it.
    mine = ("the image runs as uid", "can change the server's environment")
    assert all(p.startswith(mine) or mine[1] in p for p in problems), problems
    assert (os.getuid() != probe.NOTEBOOK_UID) == any(p.startswith(mine[0]) for p in problems)
    assert ok.returncode == (1 if problems else 0), ok.stderr
    # Without the image's config: the server would be dumpable and nbconvert would look in
    # its working directory; both are named.
    bare = run(HUB, JUPYTER_CONFIG_PATH=str(NOTEBOOK_IMAGE / "missing"))
    facts, problems = probe.parse_report(bare.stdout)
    assert facts["dumpable_after_config"] is True and facts["template_basedirs"] is None
    assert any("non-dumpable" in p for p in problems), problems
    assert any("extra_template_basedirs, not set" in p for p in problems), problems
    bad = run("6.0.0")
    assert bad.returncode == 1
    assert "DOCKER_NOTEBOOK_IMAGE img:1 cannot work" in bad.stderr and "6.x" in bad.stderr


OTHER_UID, OTHER_GIDS = 4242, {4242}  # not this test's: owns none of tmp_path


def test_what_a_user_can_change_is_every_file_under_a_path_and_its_parents(tmp_path):
    env = tmp_path / "env"
    module = env / "pkg" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text("x = 1\n")
    for path in (tmp_path, env, module.parent):
        path.chmod(0o755)
    module.chmod(0o644)
    assert probe._changeable(str(env), OTHER_UID, OTHER_GIDS) == []
    # A file deep inside, writable by others: found (not only the top is looked at).
    module.chmod(0o646)
    assert probe._changeable(str(env), OTHER_UID, OTHER_GIDS) == [str(module)]
    module.chmod(0o644)
    # A parent the user can write: they could rename the whole tree away.
    tmp_path.chmod(0o757)
    assert probe._changeable(str(env), OTHER_UID, OTHER_GIDS) == [str(tmp_path)]
    tmp_path.chmod(0o755)
    # The owner can change everything (chmod): the tree's own user is refused.
    owner = set(probe._changeable(str(env), os.getuid(), {os.getgid()}))
    assert {str(env), str(module.parent), str(module), str(tmp_path)} <= owner
    # A path not there yet: made in its nearest parent, if that is writable.
    assert probe._changeable(str(env / "new" / "x"), OTHER_UID, OTHER_GIDS) == []


def test_a_symlink_counts_where_it_points_and_the_walk_has_a_limit(tmp_path):
    env, outside = tmp_path / "env", tmp_path / "outside"
    env.mkdir()
    outside.mkdir()
    for path in (tmp_path, env, outside):
        path.chmod(0o755)
    (env / "static").symlink_to(outside)  # tornado's static handler follows it
    (env / "python").symlink_to(env / "python3.12")  # a link inside: nothing new
    assert probe._changeable_environment([str(env)], OTHER_UID, OTHER_GIDS) == ([], "")
    outside.chmod(0o757)
    found, unseen = probe._changeable_environment([str(env)], OTHER_UID, OTHER_GIDS)
    assert found == [str(outside)] and unseen == ""
    outside.chmod(0o755)
    for n in range(5):
        (env / f"f{n}").write_text("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(probe, "WALK_LIMIT", 3)
        found, unseen = probe._changeable_environment([str(env)], OTHER_UID, OTHER_GIDS)
        assert found == [] and unseen == "more than 3 files and directories"


def test_a_missing_path_counts_only_if_it_can_be_made_and_an_unlistable_one_is_named(tmp_path):
    tmp_path.chmod(0o755)
    (tmp_path / "beside").write_text("")
    (tmp_path / "beside").chmod(0o666)  # beside a missing path: not the server's
    missing = str(tmp_path / "python312.zip")
    assert probe._changeable_environment([missing], OTHER_UID, OTHER_GIDS) == ([], "")


def test_a_directory_the_user_cannot_list_is_named_not_passed():
    """The probe runs as the notebook user and can look only where they can list: a
    file in a directory they can enter but not list is unseen, so it is named."""
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # reachable by uid 65534 (not tmp_path)
    try:
        base.chmod(0o755)
        closed = base / "closed"
        closed.mkdir()
        closed.chmod(0o311)  # neither its owner nor others may list it
        code = (
            f"import sys; sys.path.insert(0, {str(PROBE.parent)!r}); import notebook_probe as p; "
            f"print(p._changeable_environment([{str(base)!r}], 65534, {{65534}})[1])"
        )
        # Root lists anything: as root, the walk runs as nobody, with the system's Python
        # (the venv's may be under root's home; the probe needs only the standard library).
        root = os.getuid() == 0
        user = {"user": 65534, "group": 65534} if root else {}
        python = shutil.which("python3", path="/usr/bin:/bin") if root else sys.executable
        assert python, "python3 in /usr/bin (.ci/install-system-deps installs it)"
        done = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, check=True, **user
        )
        assert done.stdout.strip() == f"{closed}, which its user cannot list"
    finally:
        shutil.rmtree(base)


def test_a_file_with_an_acl_counts_as_changeable_where_its_mask_allows(tmp_path, monkeypatch):
    target = tmp_path / "mod.py"
    target.write_text("")
    target.chmod(0o664)  # with an ACL, the group bits are its mask
    assert not probe._may(str(target), target.stat(), OTHER_UID, OTHER_GIDS, probe.WRITE)
    monkeypatch.setattr(probe.os, "listxattr", lambda p, **kw: ["system.posix_acl_access"])
    assert probe._may(str(target), target.stat(), OTHER_UID, OTHER_GIDS, probe.WRITE)
    target.chmod(0o644)  # a mask without write: no entry grants it
    assert not probe._may(str(target), target.stat(), OTHER_UID, OTHER_GIDS, probe.WRITE)


def test_jupyter_config_dir_counts_wherever_it_is(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("JUPYTER_CONFIG_DIR", raising=False)
    assert str(home / ".jupyter") not in probe._server_environment()  # JupyterHub drops it
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(home / ".jupyter"))
    assert str(home / ".jupyter") in probe._server_environment()  # JupyterHub keeps it


def test_group_bits_apply_to_members_only_as_posix_says(tmp_path):
    info = tmp_path.stat()
    tmp_path.chmod(0o707)  # others may write, the group may not
    assert probe._can(tmp_path.stat(), OTHER_UID, {info.st_gid}, probe.WRITE) is False
    assert probe._can(tmp_path.stat(), OTHER_UID, OTHER_GIDS, probe.WRITE) is True


@pytest.mark.parametrize(
    ("init", "mode", "readable"),
    [("tini", 0o755, True), ("tini", 0o711, False), ("", 0o755, False)],
)
def test_the_images_init_is_checked_by_its_name_on_path(
    tmp_path, monkeypatch, init, mode, readable
):
    program = tmp_path / "tini"
    program.write_text("#!/bin/sh\n")
    program.chmod(mode)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("JHZ_IMAGE_INIT", init)
    found = probe._init(OTHER_UID, OTHER_GIDS)
    assert found == (str(program) if readable else None)


def test_an_image_that_does_not_run_as_the_notebook_uid_is_refused():
    found = probe.problems({**GOOD, "notebook_uid": 0}, HUB, "2.0")
    assert len(found) == 1 and found[0].startswith("the image runs as uid 0"), found
    assert "USER 1000" in found[0]


def test_the_command_runs_the_image_without_network_on_the_docker_host():
    command = probe_command("repo@sha256:abc", "repo:tag", "ssh://ops@docker.example.org")
    assert command.startswith("DOCKER_HOST=ssh://ops@docker.example.org docker run --rm -i ")
    assert "--network none --workdir / --entrypoint python repo@sha256:abc - repo:tag" in command
    assert "-e PYTHONNOUSERSITE=1 " in command  # as the hub starts the server
    assert command.endswith(f"{hub_jupyterhub()} {MIN_JUPYTER_SERVER}")
    assert probe_command("i", "it's", None).startswith("docker run")
    assert "'it'\"'\"'s'" in probe_command("i", "it's", None)  # quoted for sh


def test_the_hub_waits_for_the_check_of_a_configured_image():
    image = "quay.io/jupyter/base-notebook:2025-10-20"
    graph = run_program("dev", config={"DOCKER_NOTEBOOK_IMAGE": image})
    check = graph.one("command:local:Command", "jupyterhub-notebook-check-probe")
    assert check.inputs["stdin"] == PROBE.read_text()
    assert f" - {image} " in check.inputs["create"]
    hub = graph.one("docker:index/container:Container", "jupyterhub-container")
    assert check.urn in hub.dependencies
    pulled = graph.one("docker:index/remoteImage:RemoteImage", "jupyterhub-notebook")
    assert pulled.urn in check.dependencies


def test_the_built_notebook_image_is_not_probed():
    graph = run_program("dev")
    assert not [r for r in graph.resources if "notebook-check" in r.name]


# --- DOCKER_NOTEBOOK_IMAGES: every choice checked, a refusal naming it ---------------------

SCIPY = "quay.io/jupyter/scipy-notebook:2025-10-20"
DATASCIENCE = "quay.io/jupyter/datascience-notebook:2025-10-20"


def test_a_refused_choice_names_its_key_and_image():
    text = probe.message(SCIPY, SEED_ERA, probe.problems(SEED_ERA, HUB, "2.0"), probe.CHOICES_KEY)
    assert text.startswith(f"DOCKER_NOTEBOOK_IMAGES entry {SCIPY} cannot work with this hub")
    assert "Remove it from DOCKER_NOTEBOOK_IMAGES" in text
    assert "Unset" not in text


def test_the_probe_names_the_key_it_is_given():
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = probe_command("ignored", SCIPY, None, probe.CHOICES_KEY)
    assert command.endswith(f"{MIN_JUPYTER_SERVER} DOCKER_NOTEBOOK_IMAGES")
    assert probe_command("i", "i", None) == probe_command("i", "i", None, probe.DEFAULT_KEY)
    bad = subprocess.run(
        [sys.executable, "-", SCIPY, "6.0.0", MIN_JUPYTER_SERVER, probe.CHOICES_KEY],
        input=PROBE.read_text(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert f"DOCKER_NOTEBOOK_IMAGES entry {SCIPY} cannot work" in bad.stderr


def test_every_choice_is_pulled_and_checked_before_the_hub():
    graph = run_program("dev", config={"DOCKER_NOTEBOOK_IMAGES": [SCIPY, DATASCIENCE]})
    hub = graph.one("docker:index/container:Container", "jupyterhub-container")
    for ref in (SCIPY, DATASCIENCE):
        pulled = graph.one("docker:index/remoteImage:RemoteImage", f"jupyterhub-notebook-{ref}")
        assert pulled.inputs["name"] == ref and pulled.inputs["keepLocally"] is True
        check = graph.one("command:local:Command", f"jupyterhub-notebook-check-{ref}-probe")
        assert f" - {ref} " in check.inputs["create"]
        assert check.inputs["create"].endswith(" DOCKER_NOTEBOOK_IMAGES")
        assert pulled.urn in check.dependencies and check.urn in hub.dependencies
    # The default is built here (DOCKER_NOTEBOOK_IMAGE unset): not probed, offered first.
    assert "jupyterhub-notebook-check-probe" not in graph.names("command:local:Command")


def test_the_default_listed_again_is_one_choice_checked_once():
    graph = run_program(
        "dev", config={"DOCKER_NOTEBOOK_IMAGE": SCIPY, "DOCKER_NOTEBOOK_IMAGES": [SCIPY]}
    )
    assert graph.names("docker:index/remoteImage:RemoteImage") == ["jupyterhub-notebook"]
    checks = [
        r for r in graph.resources if r.name.endswith("-probe") and "notebook-check" in r.name
    ]
    assert [c.name for c in checks] == ["jupyterhub-notebook-check-probe"]
