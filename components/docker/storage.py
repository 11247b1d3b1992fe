"""The hub's data volume: the sqlite database (users, servers, tokens) and hub state.

Kept on `pulumi destroy`: the volume has `retain_on_delete`, so destroy (or a
replacement) drops it from the stack's state and leaves it, with its data, in Docker;
the next `pulumi up` adopts it again by name (Docker's volume create is idempotent).
`protect` was not chosen because it makes `pulumi destroy` fail as a whole.

To remove it on purpose, after `pulumi destroy`:

    docker volume rm jupyterhub-data

Users' notebook volumes (`jupyterhub-user-<name>`; names carry the stack but on dev:
components/docker/names.py) are made by the hub at the first spawn (labelled with the
stack, images/hub/jhz_stack.py) and are not Pulumi resources: they outlive the hub, its
containers and the stack alike, and are removed the same way
(`docker volume rm jupyterhub-user-alice`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from components.docker import names

DATA_VOLUME = names.DATA_VOLUME
# The engine does not show retain_on_delete to policy packs; this label declares it, so
# the hub-data-volume-kept policy can check it in a real `pulumi preview` (policies/data.py).
RETAIN_LABEL = "jupyterhub-zos.retain-on-delete"


@dataclass(frozen=True)
class StorageArgs:
    data_volume_name: str = DATA_VOLUME  # the hub data volume's Docker name
    labels: Mapping[str, str] = field(default_factory=dict)  # STACK_LABEL (not on dev)


class Storage(pulumi.ComponentResource):
    data_volume_name: pulumi.Output[str]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jupyterhub-zos:storage:Storage", name, None, opts)
        self.data_volume = docker.Volume(
            f"{name}-data",
            name=args.data_volume_name,
            driver="local",
            labels=[
                docker.VolumeLabelArgs(label=RETAIN_LABEL, value="true"),
                *(docker.VolumeLabelArgs(label=k, value=v) for k, v in sorted(args.labels.items())),
            ],
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.data_volume_name = self.data_volume.name
        self.register_outputs({"data_volume_name": self.data_volume_name})
