"""How a z/OS step becomes a pulumi-command resource: the SSH connection (host key
always checked), the step's scripts as create/delete, secrets only on stdin, logs and
outputs that may hold a secret kept secret. Plain functions, called by the z/OS
components with their own names and `parent=self`."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_command as command
import pulumi_random as random

from components.settings import ZosSettings
from components.zos.export import parse_split_output, render_split_script
from components.zos.script import Step
from components.zos.steps import pems_for_gateway, step_stdin


def connection(zos: ZosSettings) -> command.remote.ConnectionArgs:
    """SSH to z/OS as ZOS_SSH_USER with the secret key; the server must present
    ZOS_SSH_HOST_KEY (pulumi-command accepts any host key when none is given). Each
    component makes it once and shares it between its steps."""
    return command.remote.ConnectionArgs(
        host=zos.host,
        port=zos.ssh_port,
        user=zos.ssh_user,
        private_key=pulumi.Output.secret(zos.ssh_private_key),
        host_key=zos.ssh_host_key,
    )


def stdin_for(
    step: Step,
    *,
    password: pulumi.Output[str],
    token: pulumi.Output[str] | None = None,
    tls_files: pulumi.Output[dict[str, str]] | None = None,
) -> pulumi.Output[str] | None:
    """What the step's create script reads, built by the same function the tests use."""
    if step.stdin is None:
        return None
    # Made secret where it is used (remote_step), once.
    return pulumi.Output.all(password, token or "", tls_files).apply(
        lambda v: step_stdin(
            step,
            password=v[0],
            token=v[1],
            tls_pems=pems_for_gateway(v[2]) if v[2] is not None else None,
        )
    )


def remote_step(
    name: str,
    step: Step,
    zos: ZosSettings,
    *,
    conn: command.remote.ConnectionArgs,
    stdin: pulumi.Input[str] | None,
    depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> command.remote.Command:
    """One step on z/OS. A change to what names the step's objects (its triggers, or the
    host or SSH user) replaces it with a new instance: a random ID, new exactly then,
    that the scripts write into the ownership records. The new instance is created
    first, then the old one's delete runs with the connection kept in state and removes
    only what no newer instance uses. Any other change runs the (idempotent) create
    script again, as the same instance."""
    if (step.stdin is None) != (stdin is None):
        wanted = f"needs stdin ({step.stdin})" if step.stdin else "reads no stdin"
        raise ValueError(f"z/OS step {step.name} {wanted}")
    secret_output = step.stdin is not None  # exports print the PKCS#12 on stdout
    triggers = [zos.host, zos.ssh_user, *step.triggers]
    instance = random.RandomId(
        f"{name}-instance",
        byte_length=8,
        keepers={str(i): value for i, value in enumerate(triggers)},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    scripts = instance.hex.apply(step.scripts)
    return command.remote.Command(
        name,
        connection=conn,
        create=scripts[0],
        delete=scripts[1],
        stdin=None if stdin is None else pulumi.Output.secret(stdin),
        # stdout of an export is the PKCS#12: only stderr (progress, RACF's messages) is
        # logged there; the RACF steps print nothing secret.
        logging=(
            command.remote.Logging.STDERR
            if secret_output
            else command.remote.Logging.STDOUT_AND_STDERR
        ),
        # Previous output must not travel back to z/OS (nor needs sshd's AcceptEnv).
        add_previous_output_in_env=False,
        triggers=[instance.hex, *triggers],
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            additional_secret_outputs=["stdout", "stderr"] if secret_output else [],
        ),
    )


def split_stdin(export: command.remote.Command, password: pulumi.Output[str]):
    """What the split script reads (secret): the password line, then the export's
    output."""
    return pulumi.Output.secret(
        pulumi.Output.all(password, export.stdout).apply(lambda v: f"{v[0]}\n{v[1]}")
    )


def pem_split(
    name: str,
    export: command.remote.Command,
    password: pulumi.Output[str],
    *,
    parent: pulumi.Resource,
) -> tuple[command.local.Command, pulumi.Output[dict[str, str]]]:
    """The seed's openssl split of an export, on the machine running Pulumi: a
    local.Command fed the password and the export's output on stdin. Its stdout (the
    PEM files, the key among them) is a secret output; the files, parsed, a secret."""
    return local_split(name, split_stdin(export, password), parent=parent)


def local_split(
    name: str, stdin: pulumi.Output[str], *, parent: pulumi.Resource
) -> tuple[command.local.Command, pulumi.Output[dict[str, str]]]:
    """The split of a PKCS#12 (stdin: the password line, then the export as an export step
    prints it): the program's own export, or the one the security administrator made."""
    split = command.local.Command(
        name,
        create=render_split_script(),
        stdin=pulumi.Output.secret(stdin),
        interpreter=["/bin/sh", "-c"],
        logging=command.local.Logging.STDERR,
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["stdout", "stderr"]),
    )
    # stdout is a secret output (additional_secret_outputs), so the parsed files are too.
    return split, split.stdout.apply(_files)


def _files(stdout: str) -> dict[str, str]:
    # A real split prints three files or fails the command; only the mock runtime, whose
    # commands print nothing, hands over an empty stdout.
    if stdout == "":
        return {"cert.pem": "", "key.pem": "", "ca.pem": ""}
    return parse_split_output(stdout)
