"""The Docker networks: user-defined bridges, on which Docker's DNS resolves containers
by name and only containers on the same network reach each other.

- the stack's network (DOCKER_NETWORK_NAME, the seed's `jupyterhub-network`): the hub,
  the notebook containers and the dev gateway; notebooks reach the hub API
  (`jupyterhub`) and the gateway on it;
- with the dev directory, its own internal network (no route out), which only the hub
  joins: notebooks cannot reach or resolve the directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker


@dataclass(frozen=True)
class NetworkArgs:
    network_name: str  # DOCKER_NETWORK_NAME, or names.directory_network_name() of it
    internal: bool = False  # no route off the Docker host (the directory needs none)
    labels: Mapping[str, str] = field(default_factory=dict)  # STACK_LABEL (not on dev)


class Network(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jupyterhub-zos:network:Network", name, None, opts)
        self.network = docker.Network(
            f"{name}-network",
            name=args.network_name,
            driver="bridge",
            internal=args.internal or None,
            labels=[
                docker.NetworkLabelArgs(label=k, value=v) for k, v in sorted(args.labels.items())
            ]
            or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.network.name
        self.register_outputs({"name": self.name})
