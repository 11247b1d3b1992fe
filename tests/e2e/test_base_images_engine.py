"""tests/e2e/base_images' engine calls on their own: the rootfs import (labels and
changes as given; a failed tar leaves no image) and a pull that cannot succeed."""

from __future__ import annotations

import contextlib
import uuid

import docker.errors
import pytest

from tests.e2e.base_images import core

pytestmark = pytest.mark.e2e


@pytest.fixture
def probe_tag(engine):
    tag = f"jupyterhub-zos-e2e/import-probe:{uuid.uuid4().hex[:8]}"
    yield tag
    with contextlib.suppress(docker.errors.ImageNotFound):
        engine.images.remove(tag, force=True)


def test_import_rootfs_tags_the_tree_with_labels_and_changes(engine, tmp_path, probe_tag):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "probe").write_text("probe\n")
    changes = [f"LABEL {core.LABEL_STANDIN}=true {core.LABEL_RECIPE}=abc", "ENV PATH=/bin"]
    core.import_rootfs(tmp_path, probe_tag, changes)
    config = engine.images.get(probe_tag).attrs["Config"]
    assert config["Labels"] == {core.LABEL_STANDIN: "true", core.LABEL_RECIPE: "abc"}
    assert config["Env"] == ["PATH=/bin"]


def test_a_failed_import_leaves_no_image(engine, tmp_path, probe_tag):
    with pytest.raises(core.BaseImageError, match="tar failed"):
        core.import_rootfs(tmp_path / "missing", probe_tag, [])
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(probe_tag)


def test_a_pull_that_cannot_succeed_returns_the_reason(engine):
    why = core.try_pull("jupyterhub-zos-e2e/no-such-image:never", timeout=20)
    assert why and isinstance(why, str)
