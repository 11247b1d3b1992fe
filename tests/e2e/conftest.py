"""Fixtures for tests on a local Docker engine: the pinned base images (real or stand-in,
tests/e2e/base_images) and the project's four images built from images/*/ unchanged."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.base_images import core
from tests.tooling import missing

ROOT = Path(__file__).resolve().parents[2]
PROJECT_IMAGES = ("hub", "notebook", "gateway", "ldap")
# The project's images as these tests build them; recognisable, apart from `make up`'s.
TAG_PREFIX = os.environ.get("JZOS_E2E_TAG_PREFIX", "jupyterhub-zos-e2e")


# On a fresh engine the first test that needs the base images builds the stand-ins
# (minutes, tests/e2e/base_images); later ones find them built.
BASE_IMAGE_BUILD_TIMEOUT = 3600


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: the first test that runs
def pytest_collection_modifyitems(items):
    """Give the build's timeout to the first test that needs the base images, unless it
    has its own; the rest keep the suite's (a hang there is still caught in minutes). The
    engine's tests run on one xdist worker in this order (tests/conftest.py)."""
    first = next((i for i in items if "base_images" in getattr(i, "fixturenames", ())), None)
    if first is not None and not first.get_closest_marker("timeout"):
        first.add_marker(pytest.mark.timeout(BASE_IMAGE_BUILD_TIMEOUT))


def require_engine():
    if not core.engine_answers():
        missing(
            "no Docker engine answers `docker info` (e2e tests need one; "
            ".ci/install-system-deps installs and starts it)"
        )
    return core.client()


@pytest.fixture(scope="session")
def engine():
    return require_engine()


@pytest.fixture(scope="session")
def base_images(engine, tmp_path_factory) -> dict[str, float]:
    """The four pinned base images, pulled or built as stand-ins; seconds per step."""
    try:
        return core.ensure(logdir=tmp_path_factory.mktemp("base-images"))
    except core.ToolMissing as exc:
        missing(str(exc))
    except core.BaseImageError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def project_images(base_images, tmp_path_factory) -> dict[str, str]:
    """images/<name>/ built with the legacy builder; {name: tag}. Seconds in .timings."""
    logdir = tmp_path_factory.mktemp("project-images")
    tags = {}
    for name in PROJECT_IMAGES:
        tag = f"{TAG_PREFIX}/{name}:test"
        try:
            core.docker_build(ROOT / "images" / name, tag, logdir / f"{name}.log")
        except core.BaseImageError as exc:
            pytest.fail(str(exc))
        tags[name] = tag
    return tags


def run(engine, image: str, command=None, **kwargs) -> str:
    """Run a throwaway container (named for this suite), return its stdout and stderr."""
    name = f"{TAG_PREFIX.replace('/', '-')}-smoke-{uuid.uuid4().hex[:8]}"
    output = engine.containers.run(
        image, command, name=name, remove=True, stdout=True, stderr=True, **kwargs
    )
    return output.decode(errors="replace").strip()


def image_config(engine, image: str) -> dict:
    return engine.images.get(image).attrs["Config"]


def timed(func, *args, **kwargs):
    started = time.monotonic()
    result = func(*args, **kwargs)
    return result, time.monotonic() - started
