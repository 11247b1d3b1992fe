"""tests/e2e/base_images without an engine: the stand-ins' names match the project's FROM
lines, their recipes lint clean and keep the CA contract, the recipe hash moves with
every input, and `ensure` decides pull / build / nothing from the image's labels."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.base_images import cli, core
from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parents[3]
STANDIN_DOCKERFILES = sorted(core.RECIPES.glob("*/Dockerfile"))
STANDIN_SCRIPTS = sorted(core.RECIPES.glob("*/*.sh"))
CA_PATH = "/usr/local/share/jupyterhub-zos-standin/host-ca-bundle.crt"


def test_each_project_image_is_built_from_exactly_a_stand_in_name():
    froms = {}
    for dockerfile in sorted((ROOT / "images").glob("*/Dockerfile")):
        froms[dockerfile.parent.name] = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M)
    assert froms == {s.user: [s.image] for s in core.STANDINS}


def test_every_stand_in_has_a_recipe_and_builds_from_the_rootfs():
    assert {p.parent.name for p in STANDIN_DOCKERFILES} == {s.key for s in core.STANDINS}
    for dockerfile in STANDIN_DOCKERFILES:
        text = dockerfile.read_text()
        assert re.findall(r"^FROM\s+(\S+)", text, re.M) == [core.ROOTFS_IMAGE]
        assert "STAND-IN" in text.splitlines()[0]


@pytest.mark.parametrize("dockerfile", STANDIN_DOCKERFILES, ids=lambda p: p.parent.name)
def test_stand_in_dockerfiles_pass_hadolint(dockerfile):
    hadolint = require_tool("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", STANDIN_SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stand_in_scripts_pass_shellcheck(script):
    shellcheck = require_tool("shellcheck")
    result = subprocess.run(
        [shellcheck, "--color=never", str(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", STANDIN_DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_host_ca_goes_in_after_apt_and_every_client_is_pointed_at_it(dockerfile):
    lines = dockerfile.read_text().splitlines()
    copy = lines.index(f"COPY {core.CA_FILE_IN_CONTEXT} {CA_PATH}")
    apt = [i for i, line in enumerate(lines) if "apt-get install" in line]
    assert all(i < copy for i in apt)
    text = "\n".join(lines)
    for var in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"):
        assert f"{var}={CA_PATH}" in text, var


def test_the_project_dockerfiles_know_nothing_of_the_proxy_ca():
    for dockerfile in (ROOT / "images").glob("*/Dockerfile"):
        text = dockerfile.read_text()
        assert not re.search(r"PIP_CERT|REQUESTS_CA_BUNDLE|NODE_EXTRA_CA|standin", text)


def test_differences_are_listed_for_every_stand_in():
    text = (core.HERE / "DIFFERENCES.md").read_text()
    for standin in core.STANDINS:
        assert f"## `{standin.image}`" in text


@pytest.fixture
def recipes(tmp_path, monkeypatch):
    """A copy of the recipes and of a CA bundle that the test may change."""
    copy = tmp_path / "standins"
    shutil.copytree(core.RECIPES, copy)
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    monkeypatch.setattr(core, "RECIPES", copy)
    monkeypatch.setattr(core, "HOST_CA_BUNDLE", ca)
    return copy, ca


def test_the_recipe_hash_moves_with_each_input_and_only_then(recipes, monkeypatch):
    copy, ca = recipes
    hub, notebook = core.BY_IMAGE["quay.io/jupyterhub/jupyterhub:5.3.0"], core.STANDINS[3]
    first = core.recipe_hash(hub)
    assert core.recipe_hash(hub) == first
    assert core.recipe_hash(notebook) != first
    before_nb = core.recipe_hash(notebook)
    (copy / "notebook" / "start-notebook.py").write_text("# changed\n")
    assert core.recipe_hash(notebook) != before_nb
    assert core.recipe_hash(hub) == first  # another stand-in's files do not count
    (copy / "hub" / "Dockerfile").write_text((copy / "hub" / "Dockerfile").read_text() + "\n")
    second = core.recipe_hash(hub)
    assert second != first
    ca.write_text(ca.read_text() + "# another proxy CA\n")
    third = core.recipe_hash(hub)
    assert third != second
    monkeypatch.setitem(core.ROOTFS, "suite", "trixie")
    assert core.recipe_hash(hub) != third


def test_a_missing_ca_bundle_is_a_clear_error(recipes, monkeypatch, tmp_path):
    monkeypatch.setattr(core, "HOST_CA_BUNDLE", tmp_path / "nope.crt")
    with pytest.raises(core.BaseImageError, match="JZOS_HOST_CA_BUNDLE"):
        core.recipe_hash(core.STANDINS[0])


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (None, "missing"),
        ({}, "real"),
        ({"maintainer": "Jupyter Project"}, "real"),
        ({core.LABEL_STANDIN: "true", core.LABEL_RECIPE: "old"}, "stale"),
        ({core.LABEL_STANDIN: "true", core.LABEL_RECIPE: "CURRENT"}, "current"),
    ],
)
def test_status_reads_the_labels(recipes, monkeypatch, labels, expected):
    standin = core.STANDINS[1]
    if labels and labels.get(core.LABEL_RECIPE) == "CURRENT":
        labels = {**labels, core.LABEL_RECIPE: core.recipe_hash(standin)}
    monkeypatch.setattr(core, "labels_of", lambda image: labels)
    assert core.status(standin) == expected


class Engine:
    """What ensure() asks of the engine, recorded; states per image, pull outcome."""

    def __init__(self, monkeypatch, states, pull_works=False, rootfs=False):
        self.calls: list[tuple[str, str]] = []
        monkeypatch.setattr(core, "status", lambda s: states[s.key])
        monkeypatch.setattr(core, "try_pull", self.pull)
        monkeypatch.setattr(core, "rootfs_current", lambda: rootfs or self.rootfs_built)
        monkeypatch.setattr(core, "build_rootfs", self.build_rootfs)
        monkeypatch.setattr(core, "build_standin", self.build)
        self.pull_works = pull_works
        self.rootfs_built = False

    def pull(self, image, timeout):
        self.calls.append(("pull", image))
        return None if self.pull_works else "no such host"

    def build_rootfs(self, timings):
        self.calls.append(("rootfs", ""))
        self.rootfs_built = True

    def build(self, standin, logdir):
        self.calls.append(("build", standin.image))
        return logdir / "x.log"


def states(**overrides):
    return {s.key: overrides.get(s.key, "current") for s in core.STANDINS}


def test_ensure_does_nothing_when_every_image_is_here(monkeypatch, tmp_path):
    engine = Engine(monkeypatch, states(hub="real"))
    assert core.ensure(logdir=tmp_path) == {}
    assert engine.calls == []


def test_ensure_pulls_before_it_builds_and_builds_the_rootfs_once(monkeypatch, tmp_path):
    engine = Engine(monkeypatch, states(hub="stale", notebook="missing"))
    timings = core.ensure(logdir=tmp_path)
    hub, notebook = core.STANDINS[2].image, core.STANDINS[3].image
    assert engine.calls == [
        ("pull", hub),
        ("rootfs", ""),
        ("build", hub),
        ("pull", notebook),
        ("build", notebook),
    ]
    assert {"stand-in hub", "stand-in notebook", "pull hub"} <= set(timings)


def test_a_pulled_real_image_is_not_built(monkeypatch, tmp_path):
    engine = Engine(monkeypatch, states(python="missing"), pull_works=True)
    core.ensure(logdir=tmp_path)
    assert engine.calls == [("pull", "python:3.11.13-slim-bookworm")]


def test_no_pull_goes_straight_to_the_stand_in(monkeypatch, tmp_path):
    engine = Engine(monkeypatch, states(debian="missing"), rootfs=True)
    core.ensure(["debian:bookworm-20251229-slim"], pull=False, logdir=tmp_path)
    assert engine.calls == [("build", "debian:bookworm-20251229-slim")]


def test_build_rootfs_without_debootstrap_says_what_to_install(monkeypatch):
    monkeypatch.setattr(core, "_find", lambda name: None)
    with pytest.raises(core.ToolMissing, match="install-system-deps"):
        core.build_rootfs({})


def test_the_cli_names_an_unknown_image_and_what_is_accepted(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ensure", "python:3.12-slim"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "python:3.12-slim" in err and "quay.io/jupyterhub/jupyterhub:5.3.0" in err
