"""Every image's Dockerfile passes hadolint, and every shell script it ships passes
shellcheck; the images keep secrets and TLS material out of their layers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.tooling import require_tool

IMAGES = Path(__file__).resolve().parents[3] / "images"
DOCKERFILES = sorted(IMAGES.glob("*/Dockerfile"))
SCRIPTS = sorted(IMAGES.glob("*/*.sh"))


def test_there_are_dockerfiles_to_lint():
    names = {p.parent.name for p in DOCKERFILES}
    assert {"hub", "ldap"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint(dockerfile):
    hadolint = require_tool("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_base_image_pinned_by_tag(dockerfile):
    for line in dockerfile.read_text().splitlines():
        match = re.match(r"FROM\s+(\S+)", line, re.IGNORECASE)
        if match:
            image = match[1]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest" or "@sha256:" in image, line


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_no_secret_or_tls_material_copied_in(dockerfile):
    for line in dockerfile.read_text().splitlines():
        if re.match(r"\s*(COPY|ADD)\b", line, re.IGNORECASE):
            assert not re.search(r"\.(pem|key|crt|p12|env)\b|secrets?/", line), line


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shellcheck(script):
    shellcheck = require_tool("shellcheck")
    result = subprocess.run(
        [shellcheck, "--color=never", str(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hub_image_runs_the_shipped_config():
    text = (IMAGES / "hub" / "Dockerfile").read_text()
    assert re.search(r"^FROM quay\.io/jupyterhub/jupyterhub:5\.3\.0$", text, re.MULTILINE)
    assert "-r /tmp/hub-requirements.txt" in text
    assert "COPY jupyterhub_config.py /srv/jupyterhub/jupyterhub_config.py" in text
    assert 'CMD ["jupyterhub", "-f", "/srv/jupyterhub/jupyterhub_config.py"]' in text


def test_hub_requirements_are_pinned():
    for line in (IMAGES / "hub" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.]*", line), line


@pytest.mark.parametrize("image", ["gateway", "hub", "ldap", "notebook"])
def test_build_context_ships_only_what_the_image_needs(image):
    """.dockerignore allow-lists the context: a stray key or .env never reaches the daemon,
    and a __pycache__ the tests leave never changes the context's digest (a rebuild in
    the next preview)."""
    lines = [
        line
        for line in (IMAGES / image / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines[1:] if line.startswith("!")}
    copied = set()
    for copy in re.findall(r"^COPY\s+(.+)$", (IMAGES / image / "Dockerfile").read_text(), re.M):
        sources = [word for word in copy.split() if not word.startswith("--")][:-1]
        copied.update(sources)
    assert copied == allowed  # everything copied is let in, and nothing else
