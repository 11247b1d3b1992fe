"""Images (policies/images.py).

Each policy: a compliant resource passes, a violating one is flagged with a message that says
what to change, missing or unknown properties do not crash it, and its config changes
what it accepts. Validators are called directly (pulumi-policy's own test pattern);
props are built in the engine's wire form (see support.py)."""

from __future__ import annotations

import json

import pytest

from policies.images import unpinned_reason
from policies.props import CONTAINER, IMAGE, REMOTE_IMAGE
from tests.policies.support import UNKNOWN_STRING, violations

# --- images-pinned ---------------------------------------------------------------------

PIN = "images-pinned"
DIGEST = "a" * 64


@pytest.mark.parametrize(
    "ref",
    [
        "quay.io/jupyter/base-notebook:2025-10-20",
        f"quay.io/jupyter/base-notebook@sha256:{DIGEST}",
        f"quay.io/jupyter/base-notebook:latest@sha256:{DIGEST}",
        "localhost:5000/notebook:1.0",
        f"sha256:{DIGEST}",
    ],
)
def test_pinned_references_pass(ref):
    assert unpinned_reason(ref) is None
    assert violations(PIN, REMOTE_IMAGE, {"name": ref}) == []
    assert (
        violations(PIN, CONTAINER, {"image": ref, "envs": [f"DOCKER_NOTEBOOK_IMAGE={ref}"]}) == []
    )


@pytest.mark.parametrize(
    "ref, why",
    [
        ("quay.io/jupyter/base-notebook:latest", "'latest'"),
        ("quay.io/jupyter/base-notebook", "no tag"),
        ("localhost:5000/notebook", "no tag"),
        ("", "empty"),
    ],
)
def test_unpinned_references_are_flagged(ref, why):
    found = violations(PIN, REMOTE_IMAGE, {"name": ref}, name="notebook")
    assert len(found) == 1 and why in found[0] and "Pin it" in found[0]
    found = violations(PIN, CONTAINER, {"envs": [f"DOCKER_NOTEBOOK_IMAGE={ref}"]})
    assert len(found) == 1 and "DOCKER_NOTEBOOK_IMAGE" in found[0]
    if ref:
        assert len(violations(PIN, CONTAINER, {"image": ref})) == 1


def _image(tmp_path, dockerfile: str, **build) -> dict:
    (tmp_path / "ctx").mkdir(exist_ok=True)
    (tmp_path / "ctx" / "Dockerfile").write_text(dockerfile)
    return {"imageName": "hub:dev", "build": {"context": str(tmp_path / "ctx"), **build}}


def test_built_image_with_pinned_bases_passes(tmp_path):
    dockerfile = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=quay.io/jupyterhub/jupyterhub:5.3.0\n"
        "FROM --platform=linux/amd64 ${BASE} AS build\n"
        "RUN true\n"
        "FROM build AS final\n"
        "FROM scratch\n"
        f"FROM debian@sha256:{DIGEST}\n"
    )
    assert violations(PIN, IMAGE, _image(tmp_path, dockerfile)) == []


@pytest.mark.parametrize(
    "dockerfile, build_args, needle",
    [
        ("FROM debian\n", {}, "FROM debian` is not pinned"),
        ("FROM debian:latest AS base\nFROM base\n", {}, "'latest'"),
        ("ARG BASE\nFROM $BASE\n", {}, "no value"),
        ("ARG BASE=debian:13\nFROM ${BASE}\n", {"BASE": "debian"}, "FROM debian`"),
        ("FROM \\\n  python:latest\n", {}, "python:latest"),
    ],
)
def test_built_image_with_unpinned_base_is_flagged(tmp_path, dockerfile, build_args, needle):
    props = _image(tmp_path, dockerfile, args=build_args)
    found = violations(PIN, IMAGE, props, name="hub-image")
    assert len(found) == 1 and needle in found[0] and "'hub-image'" in found[0]


def test_built_image_dockerfile_paths_and_project_dir_config(tmp_path):
    (tmp_path / "images" / "hub").mkdir(parents=True)
    (tmp_path / "images" / "hub" / "Containerfile").write_text("FROM alpine\n")
    props = {"build": {"context": "images/hub", "dockerfile": "images/hub/Containerfile"}}
    found = violations(PIN, IMAGE, props, config={"projectDir": str(tmp_path)})
    assert len(found) == 1 and "alpine" in found[0]
    # A dockerfile named relative to the context is found there too.
    props = {"build": {"context": "images/hub", "dockerfile": "Containerfile"}}
    assert violations(PIN, IMAGE, props, config={"projectDir": str(tmp_path)})
    missing = violations(PIN, IMAGE, {"build": {"context": str(tmp_path / "nope")}})
    assert len(missing) == 1 and "cannot read its Dockerfile" in missing[0]


def test_images_missing_or_unknown_props_pass():
    assert violations(PIN, IMAGE, {"imageName": "x"}) == []
    assert violations(PIN, IMAGE, {"build": {"context": UNKNOWN_STRING}}) == []
    assert violations(PIN, REMOTE_IMAGE, {}) == []
    assert violations(PIN, REMOTE_IMAGE, {"name": UNKNOWN_STRING}) == []
    assert violations(PIN, CONTAINER, {"image": UNKNOWN_STRING, "envs": [UNKNOWN_STRING]}) == []


def test_images_config_names_the_image_variables():
    props = {"envs": ["OTHER_IMAGE=busybox"]}
    assert violations(PIN, CONTAINER, props) == []
    assert violations(PIN, CONTAINER, props, config={"notebookImageEnv": ["OTHER_IMAGE"]})


def test_the_spawn_pages_choices_are_pinned_too():
    pinned = "quay.io/jupyter/scipy-notebook@sha256:" + "a" * 64
    good = json.dumps({"jupyterhub-zos-notebook:dev": "sha256:" + "b" * 64, "scipy:1": pinned})
    assert violations(PIN, CONTAINER, {"envs": [f"DOCKER_NOTEBOOK_IMAGES={good}"]}) == []
    bad = json.dumps({"jupyterhub-zos-notebook:dev": "sha256:" + "b" * 64, "x": "quay.io/x/y"})
    found = violations(PIN, CONTAINER, {"envs": [f"DOCKER_NOTEBOOK_IMAGES={bad}"]})
    assert len(found) == 1 and "'x'" in found[0] and "no tag" in found[0]
    found = violations(PIN, CONTAINER, {"envs": ["DOCKER_NOTEBOOK_IMAGES=[1, 2]"]})
    assert len(found) == 1 and "JSON object" in found[0]
