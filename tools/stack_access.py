"""What the day-2 commands (`make backup`, `make restore`, `make status`) know of a
deployed stack, and how they reach its Docker host.

- The stack's outputs: from the Pulumi CLI (`pulumi stack output --json --show-secrets`,
  run under tools/pulumi.sh, so with `make up`'s backend and passphrase), or from a JSON
  file of them (`--outputs`, what the e2e harness writes).
- The Docker host: `--docker-host`, else the stack's `docker:host` config, else
  DOCKER_HOST, else the local socket. `ssh://user@host` goes through the ssh client (as
  docker's CLI and the pulumi-docker provider do: ~/.ssh/config applies). Everything
  else goes through the Docker API (archives streamed), never a path on this machine, so
  a remote host works as the local one does.
- Helper containers: made from the hub's own image (python3, sqlite3), named for the
  stack, on no network, every capability dropped but those a step needs, removed after.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.docker import names

PROJECT = "jupyterhub-zos"
ROOT = Path(__file__).resolve().parents[1]
# Where helper containers mount a volume: archives of it are `volume/...`, put back at
# the parent (Docker then also sets the volume root's owner and mode from the archive).
HELPER_PARENT = "/srv/jzos-backup"
HELPER_MOUNT = f"{HELPER_PARENT}/volume"
HELPER_LABEL = "jupyterhub-zos.helper"


class StackError(RuntimeError):
    """The stack cannot be reached or is not deployed: what to do about it."""


@dataclass
class Stack:
    name: str
    outputs: dict[str, Any]
    docker_host: str | None

    @property
    def names(self) -> names.StackNames:
        """This stack's Docker names (components/docker/names.py): dev keeps the seed's,
        any other stack's carry its name."""
        return names.stack_names(self.name)

    @property
    def label(self) -> str:
        """The STACK_LABEL value of this stack's objects (the hub's jhz_stack.py requires
        it of the user volumes it finds on a stack other than dev)."""
        return names.stack_label(PROJECT, self.name)

    @property
    def data_volume(self) -> str:
        return self.outputs.get("data_volume") or self.names.data_volume

    @property
    def hub_container(self) -> str:
        return self.names.hub_container

    @property
    def user_volume_prefix(self) -> str:
        """DockerSpawner's user volumes are this followed by the escaped user name."""
        return self.names.user_volume_name("")

    def owns(self, labels: dict | None) -> bool:
        """Whether an object with these labels may be this stack's: labelled with its
        label, or unlabeled on dev (from a hub before labels)."""
        owner = (labels or {}).get(names.STACK_LABEL)
        if owner is None:
            return self.name == names.DEV_STACK
        return owner == self.label


def _pulumi(args: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["pulumi", *args], capture_output=True, text=True, timeout=300, check=False
        )
    except FileNotFoundError:
        raise StackError(
            "the Pulumi CLI is not on PATH: run this through make (make status|backup|restore), "
            "which uses tools/pulumi.sh, or give --outputs FILE"
        ) from None


def outputs_from_pulumi(stack: str) -> dict[str, Any]:
    done = _pulumi(["stack", "output", "--stack", stack, "--json", "--show-secrets"])
    if done.returncode != 0:
        raise StackError(
            f"pulumi stack output --stack {stack} failed: {done.stderr.strip()[-500:]}"
        )
    outputs = json.loads(done.stdout or "{}")
    if not outputs:
        raise StackError(f"stack {stack} has no outputs: it is not deployed (make up)")
    return outputs


def docker_host_from_pulumi(stack: str) -> str | None:
    done = _pulumi(["config", "get", "--stack", stack, "docker:host"])
    if done.returncode != 0:  # unset: the CLI says so on stderr
        return None
    return done.stdout.strip() or None


def load_stack(
    stack: str, outputs_file: Path | None = None, docker_host: str | None = None
) -> Stack:
    if outputs_file is not None:
        try:
            outputs = json.loads(outputs_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StackError(f"--outputs {outputs_file}: {exc}") from None
        host = docker_host or os.environ.get("DOCKER_HOST") or None
    else:
        outputs = outputs_from_pulumi(stack)
        host = docker_host or docker_host_from_pulumi(stack) or os.environ.get("DOCKER_HOST")
    if "hub_url" not in outputs:
        raise StackError(f"stack {stack}'s outputs have no hub_url: is it deployed?")
    return Stack(name=stack, outputs=outputs, docker_host=host or None)


def docker_client(host: str | None):
    """The Docker API of the stack's host (the SDK's own clients for each scheme)."""
    import docker

    try:
        if host and host.startswith("ssh://"):
            return docker.DockerClient(base_url=host, use_ssh_client=True, timeout=300)
        environment = dict(os.environ)
        if host:
            environment["DOCKER_HOST"] = host
        return docker.from_env(environment=environment, timeout=300)
    except docker.errors.DockerException as exc:
        raise StackError(f"cannot reach the Docker host {host or '(local)'}: {exc}") from None


def hub_image(client, stack: Stack) -> str:
    """The hub container's image (id): what helper containers run."""
    import docker

    try:
        return client.containers.get(stack.hub_container).image.id
    except docker.errors.NotFound:
        raise StackError(
            f"no container {stack.hub_container} on the Docker host: deploy the stack "
            f"first (make up STACK={stack.name})"
        ) from None


class Helper:
    """A helper container from the hub image with one volume at HELPER_MOUNT; created
    (not started) for archive copies, or run to its end for a script."""

    def __init__(
        self,
        client,
        image: str,
        stack: Stack,
        volume: str,
        *,
        read_only: bool,
        script: str | None = None,
        args: list[str] = (),
        cap_add: list[str] = (),
    ):
        self.client = client
        kwargs: dict[str, Any] = {}
        if script is not None:
            kwargs = {"entrypoint": ["python3", "-c", script, *args]}
        else:
            kwargs = {"entrypoint": ["true"]}
        self.container = client.containers.create(
            image,
            name=f"jupyterhub-{stack.name}-helper-{uuid.uuid4().hex[:8]}",
            volumes={volume: {"bind": HELPER_MOUNT, "mode": "ro" if read_only else "rw"}},
            network_mode="none",
            user="0",
            cap_drop=["ALL"],
            cap_add=list(cap_add) or None,
            security_opt=["no-new-privileges:true"],
            labels={HELPER_LABEL: stack.name},
            **kwargs,
        )

    def run(self, timeout: float = 600) -> str:
        """Start, wait for the end; its output, or a StackError with its last lines."""
        self.container.start()
        result = self.container.wait(timeout=timeout)
        output = self.container.logs(stdout=True, stderr=True).decode(errors="replace")
        if result.get("StatusCode") != 0:
            raise StackError(f"helper container failed ({result}): {output.strip()[-2000:]}")
        return output

    def remove(self) -> None:
        self.container.remove(force=True)

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def wait_healthy(client, name: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        state = client.containers.get(name).attrs["State"]
        if state.get("Health", {}).get("Status", "healthy" if state.get("Running") else "") == (
            "healthy"
        ):
            return
        time.sleep(2)
    raise StackError(f"{name} is not healthy after {timeout:.0f}s: {state.get('Status')}")
