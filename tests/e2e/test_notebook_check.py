"""The notebook-image check on a real engine, exactly as `pulumi up` runs it
(components/docker/notebook_check.probe_command, the probe on stdin): the project's
notebook image passes; an image without jupyter_server or jupyterhub-singleuser (the
pinned python base, real or stand-in) fails, naming the image, what it has and what is
needed, before any hub would use it."""

from __future__ import annotations

import subprocess

import pytest

from components.docker.notebook_check import PROBE, probe_command
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
