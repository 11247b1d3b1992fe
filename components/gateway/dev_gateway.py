"""The dev Kernel Gateway container: used when KG_URL is unset, so a stack works with no
gateway of its own. Notebooks reach it at https://jupyterhub-gateway:8888 on the Docker
network with their client certificates; it is not published on the host.

Built from images/gateway (nothing secret in it). At creation the program puts in, as
container uploads: the config rendered by render_kernel_gateway_config (the renderer the
z/OS gateway uses too), the server certificate and key (the key 0400, owned by the
gateway user) and the CA client certificates must chain to. The token is the
KG_AUTH_TOKEN environment variable, which Kernel Gateway reads itself. A renewed
certificate or a new token changes an input and so replaces the container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from components.docker import names
from components.docker.hardening import (
    Hardening,
    container_labels,
    container_security,
    limit_pids,
)
from components.gateway.config import GatewayTls, render_kernel_gateway_config
from components.settings import KernelLimits, LogSettings

CONTAINER_NAME = names.GATEWAY_CONTAINER
DEFAULT_KERNELS = KernelLimits()
PORT = 8888
GATEWAY_CONTEXT = "images/gateway"
# images/gateway/Dockerfile's CMD reads this file; the directory is root's, 0700.
CONFIG_DIR = "/etc/jupyter-kg"
CONFIG_FILE = f"{CONFIG_DIR}/jupyter_kernel_gateway_config.py"
# images/gateway/Dockerfile copies kg_isolation.py, kernel_ipc.py and kernel_as_user.py
# here, root-owned: kernels cannot change the layer that guards them.
MODULE_DIR = "/opt/jupyterhub-zos"
TLS = GatewayTls(
    certfile=f"{CONFIG_DIR}/tls/server.crt",
    keyfile=f"{CONFIG_DIR}/tls/server.key",
    client_ca=f"{CONFIG_DIR}/tls/client-ca.crt",
)


# Every user's kernels run in this one container. The gateway is root in it with only
# what starting each kernel as its user's own uid takes (images/gateway/kernel_as_user.py:
# CHOWN for the connection file and home, SETUID/SETGID to drop to the uid, KILL to
# interrupt and stop kernels of other uids); the kernels have no capability at all.
# Memory and processes are capped so a runaway kernel cannot take the Docker host; the
# kernels share the cap, as they would share a z/OS gateway's region.
HARDENING = Hardening(
    cap_add=("CHOWN", "KILL", "SETGID", "SETUID"), memory_mb=4096, pids_limit=1024
)


def gateway_url(container_name: str = CONTAINER_NAME, port: int = PORT) -> str:
    """KG_URL of the dev gateway, as notebooks on the Docker network reach it."""
    return f"https://{container_name}:{port}"


def dev_gateway_config(port: int = PORT, kernels: KernelLimits = DEFAULT_KERNELS) -> str:
    """The dev gateway's jupyter_kernel_gateway_config.py: every interface of its own
    container (it is reachable only on the Docker network), mutual TLS, kernels bound to
    the client certificate that started them, their sockets out of the other kernels'
    reach, idle ones culled, at most KG_MAX_KERNELS."""
    return render_kernel_gateway_config(
        ip="0.0.0.0",  # noqa: S104
        port=port,
        tls=TLS,
        module_dir=MODULE_DIR,
        kernels=kernels,
        ipc_kernels=True,
    )


def healthcheck_command(port: int = PORT) -> list[str]:
    """Liveness without a client certificate: the TLS port accepts connections."""
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"
    return ["CMD", "python", "-c", probe]


@dataclass(frozen=True)
class DevGatewayArgs:
    project: str  # with `stack`: the gateway image's local tag
    stack: str
    network_name: pulumi.Input[str]  # the stack's Docker network; notebooks reach it there
    server_cert_pem: pulumi.Input[str]  # the gateway's server certificate (GatewayPki)
    server_key_pem: pulumi.Output[str]  # secret: its key, uploaded 0400 for root alone
    client_ca_pem: pulumi.Input[str]  # CA of the client certificates it accepts (mutual TLS)
    auth_token: pulumi.Output[str]  # secret: KG_AUTH_TOKEN (config or generated)
    container_name: str = CONTAINER_NAME  # also the host name in KG_URL
    docker_host: str | None = None  # docker:host, for the pids limit (docker update)
    ssh_opts: Sequence[str] = ()  # docker:sshOpts
    kernels: KernelLimits = DEFAULT_KERNELS  # KG_CULL_*, KG_MAX_KERNELS
    log_opts: Mapping[str, str] = field(default_factory=lambda: LogSettings().docker_log_opts)
    labels: Mapping[str, str] = field(default_factory=dict)  # STACK_LABEL (not on dev)


class DevGateway(pulumi.ComponentResource):
    """`url` is the stack's KG_URL; `container` is what the hub may wait for."""

    url: str
    container: docker.Container

    def __init__(
        self, name: str, args: DevGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:dev_gateway:DevGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.image = docker.Image(
            f"{name}-image",
            image_name=f"{args.project}-gateway:{args.stack}".lower(),
            build=docker.DockerBuildArgs(
                context=GATEWAY_CONTEXT, dockerfile=f"{GATEWAY_CONTEXT}/Dockerfile"
            ),
            skip_push=True,
            opts=child,
        )
        token_env = pulumi.Output.secret(pulumi.Output.concat("KG_AUTH_TOKEN=", args.auth_token))
        self.container = docker.Container(
            f"{name}-container",
            name=args.container_name,
            image=self.image.repo_digest,
            labels=container_labels(args.labels),
            envs=[token_env],
            uploads=[
                docker.ContainerUploadArgs(
                    file=CONFIG_FILE,
                    content=dev_gateway_config(kernels=args.kernels),
                    permissions="0444",
                ),
                docker.ContainerUploadArgs(
                    file=TLS.certfile, content=args.server_cert_pem, permissions="0444"
                ),
                docker.ContainerUploadArgs(
                    file=TLS.keyfile,
                    content=pulumi.Output.secret(args.server_key_pem),
                    permissions="0400",  # root's: kernels run as other uids
                ),
                docker.ContainerUploadArgs(
                    file=TLS.client_ca, content=args.client_ca_pem, permissions="0444"
                ),
            ],
            # Only notebooks on the Docker network reach it: no published port.
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=args.network_name, aliases=[args.container_name]
                )
            ],
            # Its log rotates (DOCKER_LOG_MAX_SIZE x DOCKER_LOG_MAX_FILE); `docker logs`
            # reads every kept file.
            log_driver="json-file",
            log_opts=dict(args.log_opts),
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=healthcheck_command(),
                interval="10s",
                timeout="6s",
                retries=3,
                start_period="20s",
            ),
            wait=True,
            wait_timeout=120,
            **container_security(HARDENING),
            opts=child,
        )
        self.pids_limit = limit_pids(
            f"{name}-pids-limit",
            self.container,
            HARDENING.pids_limit,
            args.docker_host,
            args.ssh_opts,
            parent=self,
        )
        self.url = gateway_url(args.container_name)
        self.register_outputs({"url": self.url, "container": self.container.name})
