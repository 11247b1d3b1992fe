"""The check that DOCKER_NOTEBOOK_IMAGE, and each DOCKER_NOTEBOOK_IMAGES entry, can work, on
the Docker host, before the hub uses it.

A notebook image needs jupyter_server's gateway client (else kernels run inside the
notebook container, bypassing the gateway) and a jupyterhub-singleuser from the hub's
JupyterHub major version (else the spawn fails). A seed-era image
(jupyter/scipy-notebook:2d878db5cbff: the classic notebook, JupyterHub 0.9) has neither.
It also needs the server out of its user's reach (docs/reference/security.md, "A user's
own server"): to run as uid 1000, an environment the user cannot change, an init they
cannot read (so not trace), a server config that makes the server non-dumpable and keeps
nbconvert's templates out of the working directory; a stock docker-stacks image has none
of the last three.
A local Command runs notebook_probe.py inside the pulled image (`docker run --rm`, no
network) and fails `pulumi up`, naming the key and the image, the versions found and
what is needed; the hub container depends on it. The image built from images/notebook is not
checked: its pins are the hub's (tests/unit/images check that).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command

from components.docker.notebook_probe import DEFAULT_KEY

PROBE = Path(__file__).with_name("notebook_probe.py")
ROOT = Path(__file__).resolve().parents[2]
# jupyter_server 2 is the gateway client the hub's JUPYTER_GATEWAY_* settings are for.
MIN_JUPYTER_SERVER = "2.0"
INIT_FORMAT = (
    "{{if .Config.Entrypoint}}{{index .Config.Entrypoint 0}}"
    "{{else}}{{if .Config.Cmd}}{{index .Config.Cmd 0}}{{end}}{{end}}"
)


def pinned(requirements: Path, dist: str) -> str:
    """The version `dist` is pinned to (`dist==X`) in a requirements file."""
    match = re.search(rf"^{re.escape(dist)}==(\S+)", requirements.read_text(), re.M)
    if not match:
        raise ValueError(f"{requirements}: {dist} is not pinned")
    return match[1]


def hub_jupyterhub() -> str:
    return pinned(ROOT / "images/hub/requirements.txt", "jupyterhub")


def probe_command(
    image_ref: str, shown_as: str, docker_host: str | None, key: str = DEFAULT_KEY
) -> str:
    """The sh command: the probe (on stdin) run by the image's own python, no network.
    `key`: the config key that names the image, for the message."""
    q = shlex.quote
    host = f"DOCKER_HOST={q(docker_host)} " if docker_host else ""
    # The image's init (its entrypoint's program, else its command's): the probe runs
    # with another entrypoint, so it is told which one to check. In /, with no user
    # site-packages, as the hub starts the server.
    init = f"{host}docker image inspect --format {q(INIT_FORMAT)} {q(image_ref)}"
    command = (
        f'{host}docker run --rm -i -e JHZ_IMAGE_INIT="$({init})" -e PYTHONNOUSERSITE=1 '
        f"--network none --workdir / --entrypoint python {q(image_ref)} - "
        f"{q(shown_as)} {q(hub_jupyterhub())} {q(MIN_JUPYTER_SERVER)}"
    )
    return command if key == DEFAULT_KEY else f"{command} {q(key)}"


@dataclass(frozen=True)
class NotebookCheckArgs:
    image: pulumi.Input[str]  # what to run: the pulled image's digest
    shown_as: str  # the image as configured, for the message
    docker_host: str | None
    key: str = DEFAULT_KEY  # DOCKER_NOTEBOOK_IMAGE, or DOCKER_NOTEBOOK_IMAGES for a choice


class NotebookCheck(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: NotebookCheckArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("jupyterhub-zos:notebook_check:NotebookCheck", name, None, opts)
        self.command = command.local.Command(
            f"{name}-probe",
            create=pulumi.Output.from_input(args.image).apply(
                lambda ref: probe_command(ref, args.shown_as, args.docker_host, args.key)
            ),
            stdin=PROBE.read_text(),
            add_previous_output_in_env=False,
            # A new image (digest) or a new hub (its JupyterHub pin) is checked again.
            triggers=[args.image, hub_jupyterhub()],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"report": self.command.stdout})
