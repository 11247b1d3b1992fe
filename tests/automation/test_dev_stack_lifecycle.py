"""The real thing, where it can run: the Pulumi CLI and a Docker engine.

`pulumi up` of the dev stack (with the policy pack), the hub answering on its HTTPS
port with the certificate the stack exports, a second `pulumi preview` that has nothing
to change, then `pulumi destroy`, which keeps the hub's data volume. Runs through the
Automation API on a copy of the project, with a throwaway file backend and passphrase.

Needs the Pulumi CLI and a Docker engine that answers, and a Docker host with no other
jupyterhub-zos deployment (container and volume names are fixed). Without them this
skips, also under CI=true: CI runs the rest of the suite where no Pulumi CLI may be
installed (docs/howto/tests-and-benchmarks.md).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from components.settings import SECRET_KEYS
from tests.tooling import free_port
from tools.mock_graph import ROOT

pytestmark = pytest.mark.automation

COPY_IGNORE = shutil.ignore_patterns(
    "venv",
    ".git",
    ".pulumi-state",
    ".pki",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "Pulumi.*.yaml",
    "bench",
)


def _pulumi_cli() -> str | None:
    return shutil.which("pulumi") or shutil.which("pulumi", path=str(Path.home() / ".pulumi/bin"))


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    done = subprocess.run([docker, "info"], capture_output=True, check=False, timeout=30)
    return done.returncode == 0


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    cli = _pulumi_cli()
    if cli is None:
        pytest.skip("needs the Pulumi CLI (make up installs it); not available on this machine")
    if not _docker_answers():
        pytest.skip("needs a Docker engine that answers `docker info`")
    copy = tmp_path_factory.mktemp("project") / "jupyterhub-zos"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    (copy / "venv").symlink_to(ROOT / "venv")  # Pulumi.yaml's virtualenv: the one running us
    os.environ["PATH"] = f"{Path(cli).parent}{os.pathsep}{os.environ['PATH']}"
    return copy


def test_dev_stack_up_no_change_preview_destroy(project, tmp_path):
    from pulumi import automation as auto

    port = free_port()
    env = {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "automation-test-only",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    (tmp_path / "state").mkdir()
    stack = auto.create_or_select_stack(
        "dev", work_dir=str(project), opts=auto.LocalWorkspaceOptions(env_vars=env)
    )
    try:
        stack.set_all_config(
            {
                "jupyterhub-zos:HUB_ADMIN_USERS": auto.ConfigValue('["admin"]'),
                "jupyterhub-zos:HUB_ALLOWED_USERS": auto.ConfigValue('["alice"]'),
                "jupyterhub-zos:HUB_HTTPS_PORT": auto.ConfigValue(str(port)),
                "jupyterhub-zos:HUB_PKI_DIR": auto.ConfigValue(str(tmp_path / "pki")),
                # pulumi/pulumi#21865: unset secrets as empty secret values.
                **{f"jupyterhub-zos:{k}": auto.ConfigValue("", secret=True) for k in SECRET_KEYS},
            }
        )
        up = stack.up(policy_packs=[str(project / "policies")], on_output=print)
        assert up.summary.result == "succeeded"
        outputs = up.outputs
        assert outputs["hub_url"].value == f"https://localhost:{port}/"
        _wait_for_hub(port, outputs["hub_ca_cert"].value, tmp_path)

        again = stack.preview(expect_no_changes=True, on_output=print)
        assert set(again.change_summary) <= {"same"}, again.change_summary
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack("dev")
        volumes = subprocess.run(
            ["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=False
        ).stdout.split()
        kept = "jupyterhub-data" in volumes
        subprocess.run(["docker", "volume", "rm", "-f", "jupyterhub-data"], check=False)
    assert kept, "pulumi destroy removed the hub's data volume"


def _wait_for_hub(port: int, ca_pem: str, tmp_path: Path, timeout: float = 180) -> None:
    ca = tmp_path / "hub-ca.pem"
    ca.write_text(ca_pem)
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + timeout
    while True:
        try:
            url = f"https://localhost:{port}/hub/health"
            with urllib.request.urlopen(url, context=context, timeout=5) as answer:  # noqa: S310
                assert answer.status == 200
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
