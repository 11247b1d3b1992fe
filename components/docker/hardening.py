"""What every container the program runs is held to: no capability it does not need,
no new privileges (setuid binaries stay unprivileged), a cap on its processes and,
where its load is known, on its memory.

The notebook containers get the same from DockerSpawner (images/hub/jupyterhub_config.py,
NOTEBOOK_*_LIMIT); this module is for the containers that are Pulumi resources.

The Docker provider has no pids limit for containers (terraform-provider-docker's
docker_container does not model HostConfig.PidsLimit), so a local.Command sets it with
`docker update --pids-limit` after each container is made (again whenever the container
is replaced); Docker keeps it in the container's config across restarts.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.delivery.script import delivery_target, ssh_command

NO_NEW_PRIVILEGES = "no-new-privileges:true"


@dataclass(frozen=True)
class Hardening:
    """One container's share of the host."""

    cap_add: tuple[str, ...] = ()  # the only capabilities it keeps (all others dropped)
    memory_mb: int | None = None  # None: no memory limit (said why where it is used)
    pids_limit: int = 256


def container_security(hardening: Hardening) -> dict:
    """docker.Container keyword arguments: capabilities and security options."""
    caps = docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=list(hardening.cap_add) or None)
    args: dict = {"capabilities": caps, "security_opts": [NO_NEW_PRIVILEGES]}
    if hardening.memory_mb is not None:
        # memory_swap equal to memory: no swap beyond the limit.
        args.update(memory=hardening.memory_mb, memory_swap=hardening.memory_mb)
    return args


def container_labels(labels: Mapping[str, str]) -> list[docker.ContainerLabelArgs] | None:
    """docker.Container labels (STACK_LABEL); None when there are none, so a stack without
    labels (dev) keeps the inputs it had."""
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(labels.items())] or None


def docker_host_command(script: str, docker_host: str | None, ssh_opts: Sequence[str]) -> str:
    """A command text that runs the `docker` CLI script against the stack's Docker host:
    here for a local engine (unix://), over the `ssh` binary for ssh:// (as the PKI
    delivery does, so the same ~/.ssh/config, agent and `docker:sshOpts` apply)."""
    target = delivery_target(docker_host)
    if target.kind == "ssh":
        return ssh_command(target, script, ssh_opts)
    if docker_host:
        return f"export DOCKER_HOST={shlex.quote(docker_host)}\n{script}"
    return script


def pids_limit_script(container_name: str, limit: int) -> str:
    q = shlex.quote
    return (
        "#!/bin/sh\n# Cap the container's processes (rendered by jupyterhub-zos).\nset -eu\n"
        f"docker update --pids-limit {int(limit)} {q(container_name)} >/dev/null\n"
        f"printf 'jupyterhub-zos: %s may run at most %s processes\\n' {q(container_name)} "
        f"{int(limit)}\n"
    )


def limit_pids(
    name: str,
    container: docker.Container,
    limit: int,
    docker_host: str | None,
    ssh_opts: Sequence[str],
    parent: pulumi.Resource,
) -> command.local.Command:
    """The command that caps `container`'s processes; it runs again when the container
    is replaced (its id is a trigger). Nothing to undo on delete: the limit goes with
    the container."""
    return command.local.Command(
        name,
        create=container.name.apply(
            lambda n: docker_host_command(pids_limit_script(n, limit), docker_host, ssh_opts)
        ),
        triggers=[container.id],
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[container]),
    )
