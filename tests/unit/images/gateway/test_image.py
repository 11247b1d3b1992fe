"""The gateway and notebook images: pinned, linted, and agreeing with the components."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from components.gateway.config import IPC_MODULE, ISOLATION_MODULE
from components.gateway.dev_gateway import (
    CONFIG_DIR,
    CONFIG_FILE,
    MODULE_DIR,
    TLS,
    dev_gateway_config,
)
from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parents[4]
IMAGES = ("gateway", "notebook")


@pytest.mark.parametrize("image", IMAGES)
def test_hadolint_passes(image):
    hadolint = require_tool("hadolint")
    result = subprocess.run(
        [hadolint, str(ROOT / "images" / image / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_base_image_and_requirements_are_pinned(image):
    dockerfile = (ROOT / "images" / image / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert bases and all(re.fullmatch(r"[\w./-]+:[\w.-]+", b) for b in bases), bases
    assert not any(b.endswith(":latest") for b in bases)
    lines = (ROOT / "images" / image / "requirements.txt").read_text().splitlines()
    reqs = [line for line in lines if line.strip() and not line.startswith("#")]
    assert reqs and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][\w.]*", r) for r in reqs), reqs


def test_gateway_image_runs_the_config_the_component_uploads():
    dockerfile = (ROOT / "images" / "gateway" / "Dockerfile").read_text()
    assert f'"--config={CONFIG_FILE}"' in dockerfile
    # Root in the container (with four capabilities) to start kernels as their users.
    assert not re.search(r"^USER\s", dockerfile, re.MULTILINE)
    assert f"install -d -m 0700 {CONFIG_DIR} {CONFIG_DIR}/tls" in dockerfile
    assert "install -d -m 0711 /var/lib/jupyterhub-zos /var/lib/jupyterhub-zos/runtime" in (
        dockerfile
    )
    assert "JUPYTER_RUNTIME_DIR=/var/lib/jupyterhub-zos/runtime" in dockerfile
    assert all(p.startswith(f"{CONFIG_DIR}/tls/") for p in (TLS.certfile, TLS.keyfile))
    # Nothing secret goes into the image: only the requirements file, the isolation
    # module, the ipc kernel manager and kernel launcher (root-owned, where the config
    # and kernel spec look for them) and the kernel spec are copied in.
    assert re.findall(r"^(?:COPY|ADD)\s.*$", dockerfile, re.MULTILINE) == [
        "COPY requirements.txt /tmp/gateway-requirements.txt",
        f"COPY {ISOLATION_MODULE}.py kernel_as_user.py {IPC_MODULE}.py {MODULE_DIR}/",
        "COPY kernel.json /usr/local/share/jupyter/kernels/python3/kernel.json",
    ]
    spec = json.loads((ROOT / "images" / "gateway" / "kernel.json").read_text())
    assert spec["argv"] == [
        "python3",
        f"{MODULE_DIR}/kernel_as_user.py",
        "-f",
        "{connection_file}",
    ]
    assert f"_sys.path.insert(0, {MODULE_DIR!r})" in dev_gateway_config()
    assert f"kernel_manager_class = '{IPC_MODULE}.IpcKernelManager'" in dev_gateway_config()
    assert "KG_AUTH_TOKEN" not in re.sub(r"#.*", "", dockerfile)


def test_notebook_image_has_the_mount_point_and_matches_the_hub():
    dockerfile = (ROOT / "images" / "notebook" / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM quay.io/jupyter/base-notebook:" in dockerfile
    assert "install -d -m 0755 /etc/jupyterpki" in dockerfile
    hub = (ROOT / "images" / "hub" / "requirements.txt").read_text()
    notebook = (ROOT / "images" / "notebook" / "requirements.txt").read_text()
    hub_version = re.search(r"^jupyterhub==(\S+)$", hub, re.MULTILINE)[1]
    assert f"jupyterhub=={hub_version}" in notebook.splitlines()
