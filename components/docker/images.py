"""The images: the hub (images/hub), the notebook (images/notebook, or the image that
DOCKER_NOTEBOOK_IMAGE names, pulled), the further notebook images users may choose
(DOCKER_NOTEBOOK_IMAGES, pulled), and the dev directory (images/ldap) when the stack has
no LDAP server of its own.

Built on the Docker host, never pushed. Build contexts are the fixed relative paths
below (the program runs from the project directory), so nothing in a build input
changes between runs and a preview shows no perpetual diff. Containers get each
image's digest (`repo_digest`: the image ID of a local build), so a rebuilt image
changes the container's input and `pulumi up` replaces the container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker.names import local_image_name

HUB_CONTEXT = "images/hub"
NOTEBOOK_CONTEXT = "images/notebook"
LDAP_CONTEXT = "images/ldap"


def _build(name: str, image_name: str, context: str, opts: pulumi.ResourceOptions):
    return docker.Image(
        name,
        image_name=image_name,
        build=docker.DockerBuildArgs(context=context, dockerfile=f"{context}/Dockerfile"),
        skip_push=True,
        opts=opts,
    )


@dataclass(frozen=True)
class ImagesArgs:
    project: str  # with `stack`: the local image tags, e.g. jupyterhub-zos-hub:dev
    stack: str
    notebook_image: str | None  # DOCKER_NOTEBOOK_IMAGE: pull this instead of building
    dev_directory: bool  # build the dev directory image (LDAP_SERVER_HOST unset)
    # DOCKER_NOTEBOOK_IMAGES without the default: pulled too, one RemoteImage each.
    further_notebook_images: Sequence[str] = ()


class Images(pulumi.ComponentResource):
    hub_image: pulumi.Output[str]
    notebook_image: pulumi.Output[str]
    ldap_image: pulumi.Output[str] | None

    def __init__(self, name: str, args: ImagesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jupyterhub-zos:images:Images", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def tag(image: str) -> str:
            return local_image_name(args.project, args.stack, image)

        self.hub = _build(f"{name}-hub", tag("hub"), HUB_CONTEXT, child)
        self.hub_image = self.hub.repo_digest

        if args.notebook_image:
            # Kept on the host after destroy: other stacks or users may run it too.
            self.notebook = docker.RemoteImage(
                f"{name}-notebook", name=args.notebook_image, keep_locally=True, opts=child
            )
        else:
            self.notebook = _build(f"{name}-notebook", tag("notebook"), NOTEBOOK_CONTEXT, child)
        self.notebook_image = self.notebook.repo_digest
        # What the spawn page shows (the default first) -> the digest DockerSpawner runs.
        self.notebook_label = args.notebook_image or tag("notebook")
        self.further_notebooks = {
            # Named by the reference, not its place in the list: reordering replaces nothing.
            ref: docker.RemoteImage(
                f"{name}-notebook-{ref}", name=ref, keep_locally=True, opts=child
            )
            for ref in args.further_notebook_images
            if ref != self.notebook_label
        }
        self.notebook_choices: dict[str, pulumi.Output[str]] = {
            self.notebook_label: self.notebook_image,
            **{ref: image.repo_digest for ref, image in self.further_notebooks.items()},
        }

        self.ldap = None
        self.ldap_image = None
        if args.dev_directory:
            self.ldap = _build(f"{name}-ldap", tag("ldap"), LDAP_CONTEXT, child)
            self.ldap_image = self.ldap.repo_digest

        self.register_outputs(
            {
                "hub_image": self.hub_image,
                "notebook_image": self.notebook_image,
                "ldap_image": self.ldap_image,
            }
        )
