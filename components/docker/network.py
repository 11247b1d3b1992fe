"""The Docker network the hub, its notebook containers and the dev servers share.

A user-defined bridge (the seed's `docker network create jupyterhub-network`): only
containers on it reach each other, and Docker's DNS resolves them by name, which is
how notebooks reach the hub (`jupyterhub`) and the hub the dev directory.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker


@dataclass(frozen=True)
class NetworkArgs:
    network_name: str  # DOCKER_NETWORK_NAME


class Network(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jupyterhub-zos:network:Network", name, None, opts)
        self.network = docker.Network(
            f"{name}-network",
            name=args.network_name,
            driver="bridge",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.network.name
        self.register_outputs({"name": self.name})
