"""The GitHub workflows: actionlint (pinned, from PyPI) passes on them, with shellcheck
checking their `run:` scripts, and they do what the project promises: `make test` on
every push and pull request; a policy-checked preview diff commented on each pull
request, from the state backend and passphrase in repository secrets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.tooling import require_tool

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+|[0-9a-f]{40})$")


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def actionlint(workdir: Path) -> subprocess.CompletedProcess:
    binary = require_tool("actionlint")
    shellcheck = require_tool("shellcheck")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(shellcheck).parent), os.environ["PATH"]]),
    }
    return subprocess.run(
        [binary, "-no-color"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )


def test_actionlint_passes_on_the_workflows():
    result = actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_is_really_checking(tmp_path):
    """A copy with planted mistakes must fail, so a pass above means something."""
    (tmp_path / ".git").mkdir()
    target = tmp_path / ".github" / "workflows"
    shutil.copytree(WORKFLOWS, target)
    preview = (target / "preview.yml").read_text()
    preview = preview.replace("policyPacks: policies", "policy-packs: policies")
    preview = preview.replace("${{ matrix.stack }}", "${{ matrix.stacks }}")
    (target / "preview.yml").write_text(preview)
    test = (target / "test.yml").read_text().replace("run: make test", "run: make $TARGET test")
    (target / "test.yml").write_text(test)
    result = actionlint(tmp_path)
    assert result.returncode == 1
    assert 'property "stacks" is not defined' in result.stdout
    assert "SC2086" in result.stdout  # shellcheck runs on `run:` scripts


def test_every_action_is_pinned_by_major_version_or_commit():
    for name in ("test.yml", "preview.yml"):
        for step in steps(load(name)):
            if "uses" in step:
                assert PINNED_ACTION.match(step["uses"]), f"{name}: {step['uses']}"


def test_test_workflow_runs_make_test_on_push_and_pull_request():
    workflow = load("test.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    runs = [step.get("run", "") for step in steps(workflow)]
    assert "make test" in runs
    assert any(".ci/install-system-deps" in run for run in runs)
    assert workflow["permissions"] == {"contents": "read"}
    python = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/setup-python@")]
    assert python and python[0]["with"]["python-version"] == "3.11"


def test_preview_workflow_comments_a_policy_checked_diff_per_stack():
    workflow = load("preview.yml")
    assert set(workflow["on"]) == {"pull_request"}
    # A PR comment needs write access to pull requests; nothing else is granted.
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["stack"]
    assert job["env"]["PULUMI_BACKEND_URL"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert job["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    runs = [step.get("run", "") for step in job["steps"]]
    assert any("make venv/.installed" in run for run in runs)
    assert any("venv/bin/pip install -q -r policies/requirements.txt" in run for run in runs)
    # The stack is prepared as `make preview` prepares it, before the action previews it.
    (prepare,) = [s for s in job["steps"] if s.get("run", "").startswith("tools/pulumi.sh ")]
    assert prepare["env"]["STACK"] == "${{ matrix.stack }}"
    install, pulumi = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert "command" not in install["with"]
    assert job["steps"].index(install) < job["steps"].index(prepare) < job["steps"].index(pulumi)
    assert install["uses"] == pulumi["uses"]
    assert install["with"]["pulumi-version"] == pulumi["with"]["pulumi-version"]
    options = pulumi["with"]
    assert options["command"] == "preview"
    assert options["stack-name"] == "${{ matrix.stack }}"
    assert options["diff"] is True and options["comment-on-pr"] is True
    assert options["policyPacks"] == "policies"
    assert options["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    # The CLI is pinned to the SDK the program pins.
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert str(options["pulumi-version"]) == pinned[1]
    # The passphrase never appears in a command line.
    assert all("PASSPHRASE }}" not in run for run in runs)


@pytest.mark.parametrize("name", ["test.yml", "preview.yml"])
def test_make_targets_the_workflows_use_exist(name):
    makefile = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+)\s*[:?]?=\s*(\S+)\s*$", makefile, re.M))
    makefile = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), makefile)
    declared = set(re.findall(r"^([A-Za-z][\w./-]*)\s*:(?!=)", makefile, re.M))
    for step in steps(load(name)):
        for target in re.findall(r"\bmake ([A-Za-z][\w./-]*)", step.get("run", "")):
            assert target in declared, f"{name}: `make {target}`: no such target in the Makefile"


@pytest.mark.parametrize("name", ["test.yml", "preview.yml"])
def test_workflows_have_time_limits(name):
    for job in load(name)["jobs"].values():
        assert 0 < job["timeout-minutes"] <= 60


# --- who can get the stacks' secrets ---------------------------------------------------

SECRET = re.compile(r"\$\{\{\s*secrets\.(\w+)\s*\}\}")


def secrets_used(job: dict) -> set[str]:
    """The secrets a job reads (anywhere in it), the job's own GITHUB_TOKEN aside."""
    return set(SECRET.findall(yaml.safe_dump(job))) - {"GITHUB_TOKEN"}


@pytest.mark.parametrize("name", ["test.yml", "preview.yml"])
def test_no_workflow_runs_pull_request_code_with_the_base_repositorys_rights(name):
    """`pull_request_target` and `workflow_run` run with the repository's secrets even for a
    fork's pull request: none here."""
    assert not {"pull_request_target", "workflow_run"} & set(load(name)["on"])


@pytest.mark.parametrize("name", ["test.yml", "preview.yml"])
def test_every_job_holding_secrets_waits_for_a_reviewer_in_an_environment(name):
    """Secrets that reach pull-request code sit in an environment (with required reviewers,
    docs/howto/day-2.md): a job reading them names it, per stack, and skips forks."""
    for job_name, job in load(name)["jobs"].items():
        if not secrets_used(job):
            continue
        environment = job.get("environment")
        if isinstance(environment, dict):
            environment = environment.get("name")
        assert environment, f"{name}: job {job_name} reads secrets outside an environment"
        assert environment == "preview-${{ matrix.stack }}"
        assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_the_preview_gives_the_pull_requests_code_no_git_token():
    (job,) = load("preview.yml")["jobs"].values()
    (checkout,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["persist-credentials"] is False


def test_the_default_preview_matrix_holds_dev_stacks_only():
    """A production stack's passphrase decrypts real secrets: it is previewed only when an
    operator adds it on purpose. A dev stack uses only the embedded parts."""
    (job,) = load("preview.yml")["jobs"].values()
    stacks = job["strategy"]["matrix"]["stack"]
    assert stacks
    for stack in stacks:
        assert "prod" not in stack.lower()
        config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()).get("config", {})
        real = {"ZOS_HOST", "KG_URL", "LDAP_SERVER_HOST", "HUB_TLS_KEY", "ZOS_SSH_PRIVATE_KEY"}
        assert not {k.split(":")[-1] for k in config} & real, f"{stack} is not a dev stack"
        assert "docker:host" not in config
