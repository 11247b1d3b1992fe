"""The notebook-image check on a real engine, exactly as `pulumi up` runs it
(components/docker/notebook_check.probe_command, the probe on stdin): the project's
notebook image passes; an image without jupyter_server or jupyterhub-singleuser (the
pinned python base, real or stand-in) fails, naming the image, what it has and what is
needed, before any hub would use it."""

from __future__ import annotations

import json
import subprocess

import pytest

from components.docker.notebook_check import PROBE, ROOT, probe_command
from components.docker.notebook_probe import parse_report
from tests.e2e.base_images import core

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def check(image: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", probe_command(image, image, None)],
        input=PROBE.read_text(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_project_notebook_image_passes(project_images):
    done = check(project_images["notebook"])
    assert done.returncode == 0, done.stderr
    facts, problems = parse_report(done.stdout)
    assert problems == [] and facts["gateway_client"] is True


def test_an_image_without_jupyter_is_refused_with_what_is_needed(base_images):
    python = next(s.image for s in core.STANDINS if s.image.startswith("python:"))
    done = check(python)
    assert done.returncode == 1
    assert f"DOCKER_NOTEBOOK_IMAGE {python} cannot work" in done.stderr
    assert "jupyter_server none" in done.stderr and ">= 2.0" in done.stderr
    assert "jupyterhub-singleuser is not installed" in done.stderr


def test_a_stock_docker_stacks_image_is_refused_its_user_could_change_their_server(base_images):
    """base-notebook as docker-stacks ships it (the pinned one, real or stand-in): the
    user owns the conda environment and can read tini, nothing makes the server
    non-dumpable and nbconvert looks for templates in the working directory. Each is
    named: from a terminal the user could plant a page their server serves to others on
    the hub's origin (tests/e2e/hostile/change_her_server.py)."""
    stock = next(s.image for s in core.STANDINS if "base-notebook" in s.image)
    done = check(stock)
    assert done.returncode == 1
    facts, problems = parse_report(done.stdout)
    assert any(p.startswith("/opt/conda/") for p in facts["user_writable"]), facts
    assert facts["readable_init"] and facts["dumpable_after_config"] is True, facts
    assert facts["template_basedirs"] is None, facts
    assert "can change the server's environment (/opt/conda/" in done.stderr
    assert "is readable by the notebook user" in done.stderr
    assert "makes the server non-dumpable" in done.stderr
    assert "TemplateExporter.extra_template_basedirs" in done.stderr


HOSTILE = ROOT / "tests/e2e/hostile"
EXPORT_IN_HER_DIRECTORY = (HOSTILE / "her_template.py").read_text() + (
    HOSTILE / "export_in_her_directory.py"
).read_text()


def export_in_her_directory(image: str, config: str) -> dict:
    done = subprocess.run(
        ["docker", "run", "--rm", "-i", "--network", "none", "--entrypoint", "python"]
        + [image, "-", config],
        input=EXPORT_IN_HER_DIRECTORY,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_export_made_from_a_directory_of_hers_runs_none_of_her_code(project_images):
    """A PDF export would move her server into a temporary directory of hers while it
    runs; the image's server refuses PDF exports, and an HTML export made from a
    directory of hers holding her template, by the image's server on loopback, runs
    nothing of hers (TemplateExporter.extra_template_basedirs = []). With an empty
    config in place of the image's, the PDF export runs and so does her plant: the test
    can fail."""
    image = project_images["notebook"]
    hardened = export_in_her_directory(image, "image")
    assert hardened["ran"] is False and hardened["status"] == 200, hardened
    assert hardened["pdf_disabled"] and not hardened["pdf_ran"], hardened
    assert hardened["pdf_status"] >= 400, hardened
    control = export_in_her_directory(image, "none")
    assert control["ran"] is True and not control["pdf_disabled"], control
