"""The hub container (`jupyterhub`, `jupyterhub-<stack>` on stacks but dev:
components/docker/names.py): HTTPS on HUB_HTTPS_PORT, LDAP login, DockerSpawner.

- on the network with its alias (`jupyterhub` on dev; notebooks call the hub API by it);
- the Docker socket mounted: DockerSpawner starts users' containers through it (this
  is the only container that gets it);
- the data volume at /data (sqlite database), restart unless-stopped, a healthcheck on
  https /hub/health that `pulumi up` waits for;
- the environment from components/hub/environment.py, secrets kept secret Outputs;
- the TLS certificate and key, the LDAP CA and the LDAP search account's password put
  in at creation as container uploads (secrets 0600, never in the environment);
- when the hub issues users' gateway client certificates (every stack but z/OS behind
  AT-TLS): the client CA's key (secret, 0600) and certificate and the gateway's CA as
  uploads too, and HUB_PKI_DIR mounted at /srv/jupyterhub/pki, where it writes them.

Every input that matters is a container input, so a changed setting, secret, image or
notebook image replaces the container on `pulumi up`: no manual restart. A replaced hub
leaves users' notebook containers and kernels running (jupyterhub_config.py:
cleanup_servers) and the new one finds them again. They are not Pulumi resources, so a
local.Command (run on the Docker host, over ssh for ssh:// hosts) looks after them:
- create/update, before the hub is replaced, with delivered (RACF) certificates only:
  remove the servers of users who no longer have one (removed from config), which the
  new hub would otherwise find running and keep. When the hub issues, it removes none:
  group members and admin-added users are in no list here, and the new hub itself stops
  the servers of users the config no longer allows;
- delete, at `pulumi destroy`, after the hub and before the network (Docker will not
  remove a network a container is on): remove them all.
Both touch only this stack's notebook containers: on its network, named with its prefix
and carrying its STACK_LABEL (the hub labels them; on the dev stack also unlabeled ones,
started by a hub from before the label), never another stack's on the same host.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.docker import names
from components.docker.hardening import (
    Hardening,
    container_labels,
    container_security,
    docker_host_command,
    limit_pids,
)
from components.hub.environment import (
    CLIENT_CA_CERT_PATH,
    CLIENT_CA_KEY_PATH,
    GATEWAY_CA_PATH,
    HUB_PKI_MOUNT,
    LDAP_CA_PATH,
    LDAP_SEARCH_PASSWORD_PATH,
    SECRET_ENV,
    SSL_CERT_PATH,
    SSL_KEY_PATH,
)
from components.settings import LogSettings

CONTAINER_NAME = names.HUB_CONTAINER
HUB_ALIAS = names.HUB_ALIAS
DOCKER_SOCKET = "/var/run/docker.sock"
DATA_DIR = "/data"
HTTPS_PORT = 443  # inside the container (jupyterhub_config.py: c.JupyterHub.port)
HEALTH_URL = f"https://127.0.0.1:{HTTPS_PORT}/hub/health"
# The hub runs as root in its container and the Docker socket's access comes from the
# socket, not from a capability. It keeps NET_BIND_SERVICE (port 443, on engines that do
# not set ip_unprivileged_port_start) and what writing users' certificates into their
# own directories (uid 1000, 0700) under HUB_PKI_DIR takes: CHOWN, FOWNER, DAC_OVERRIDE.
# Its processes (hub, proxy, services) are capped; its memory is not, as it grows with
# the number of users (docs/benchmarks.md), and an out-of-memory hub logs everyone out.
HARDENING = Hardening(
    cap_add=("CHOWN", "DAC_OVERRIDE", "FOWNER", "NET_BIND_SERVICE"), pids_limit=1024
)


_NOTEBOOK_SCRIPT = """\
#!/bin/sh
# {title} (rendered by jupyterhub-zos).
set -eu
NETWORK={network}
OWNER={owner}
# This stack's only: its network and prefix, and its label ({unlabeled}).
listed=$(docker ps -a --filter "network=$NETWORK" --filter 'name=^{prefix}-' \\
    --format '{{{{.Names}}}} {{{{.Label "{label}"}}}}')
names=$(printf '%s\\n' "$listed" | awk -v owner="$OWNER" -v unlabeled={keep_unlabeled} \\
    '$2 == owner || (unlabeled && $2 == "") {{print $1}}')
{keep}count=0
for name in $names; do
{body}done
printf 'jupyterhub-zos: removed %s notebook container(s){what} on %s\\n' "$count" "$NETWORK"
"""
_REMOVE = """\
    docker rm -f -v "$name" >/dev/null
    count=$((count + 1))
"""


def notebook_servers_script(
    network_name: str,
    *,
    prune: bool,
    prefix: str = names.NOTEBOOK_PREFIX,
    owner: str = names.stack_label("jupyterhub-zos", names.DEV_STACK),
    unlabeled: bool = True,
) -> str:
    """POSIX sh run on the Docker host against the stack's notebook containers (on its
    network, DockerSpawner's `<prefix>-` names, STACK_LABEL `owner`; `unlabeled`: also
    those without the label, on the dev stack), removing them as DockerSpawner does (with
    their anonymous volumes; users' named volumes stay).

    prune (create/update): remove those whose user's default-server name is not on stdin
    (one a line: the containers of users who have a client certificate), so a user
    removed from config loses their running servers, named ones too. Otherwise (delete,
    at `pulumi destroy`): remove all."""
    q = shlex.quote
    keep, body = "", _REMOVE
    if prune:
        keep = "keep=$(cat)\n"
        # A named server's container (<user's>--<server>) goes with its user's: the part
        # before the first `--`, which no escaped name holds (components/docker/names.py).
        body = "    owner=${name%%" + names.SERVER_SEPARATOR + "*}\n"
        body += '    if ! printf \'%s\\n\' "$keep" | grep -qxF -- "$owner"; then\n'
        body += "".join("    " + line + "\n" for line in _REMOVE.splitlines()) + "    fi\n"
    return _NOTEBOOK_SCRIPT.format(
        title="Remove the notebook servers of users without a client certificate"
        if prune
        else "Remove the notebook servers the hub left running",
        network=q(network_name),
        prefix=prefix,
        owner=q(owner),
        label=names.STACK_LABEL,
        keep_unlabeled=int(unlabeled),
        unlabeled="and unlabeled: from a hub before labels" if unlabeled else "only",
        keep=keep,
        body=body,
        what=" of users without a client certificate" if prune else "",
    )


def notebook_servers_command(
    network_name: str,
    docker_host: str | None,
    ssh_opts: Sequence[str] = (),
    *,
    prune: bool,
    stack_names: names.StackNames = names.DEV_NAMES,
    owner: str = names.stack_label("jupyterhub-zos", names.DEV_STACK),
) -> str:
    """A command text of the notebook-servers Command: the script here for a local
    Docker host (unix://), over the `ssh` binary for ssh://, as the PKI delivery does."""
    script = notebook_servers_script(
        network_name,
        prune=prune,
        prefix=stack_names.notebook_prefix,
        owner=owner,
        unlabeled=stack_names.stack == names.DEV_STACK,
    )
    return docker_host_command(script, docker_host, ssh_opts)


def notebook_keep_list(
    users: Sequence[str], stack_names: names.StackNames = names.DEV_NAMES
) -> str:
    """The prune script's stdin: the notebook container of each user with a certificate,
    after a header line (never a container name), so stdin is never empty."""
    kept = "".join(f"{stack_names.notebook_container_name(u)}\n" for u in sorted(set(users)))
    return "# notebook containers to keep\n" + kept


# The create when the hub issues every user's certificate: nobody's server is pruned here
# (a user the config no longer allows is stopped by the hub itself at its start).
KEEP_ALL_SCRIPT = (
    "printf 'jupyterhub-zos: the hub issues client certificates; it stops the servers of "
    "users the config no longer allows itself\\n'\n"
)


def healthcheck_command(url: str = HEALTH_URL) -> list[str]:
    """The probe run inside the container: liveness of the hub behind its proxy. The
    certificate is not checked (it names the public host, not 127.0.0.1)."""
    script = (
        "import ssl,urllib.request as u;"
        f"u.urlopen({url!r},context=ssl._create_unverified_context(),timeout=5)"
    )
    return ["python3", "-c", script]


def container_envs(env: Mapping[str, Any]) -> list[pulumi.Input[str]]:
    """Container.envs ("K=V" strings), sorted; secret variables stay secret Outputs."""
    result: list[pulumi.Input[str]] = []
    for key in sorted(env):
        value = env[key]
        if key in SECRET_ENV:
            result.append(pulumi.Output.secret(pulumi.Output.concat(key, "=", value)))
        elif isinstance(value, pulumi.Output):
            result.append(pulumi.Output.concat(key, "=", value))
        else:
            result.append(f"{key}={value}")
    return result


@dataclass(frozen=True)
class HubClientCa:
    """What the hub issues users' client certificates with (images/hub/jhz_client_certs.py):
    the client CA's key (secret, uploaded 0600) and certificate, the CA of the gateway's
    server certificate (each user's CLIENT_CA file), and HUB_PKI_DIR on the Docker host,
    mounted into the hub, where it writes each user's directory."""

    key_pem: pulumi.Output[str]
    cert_pem: pulumi.Input[str]
    gateway_ca_pem: pulumi.Input[str]
    pki_dir: str


@dataclass(frozen=True)
class HubArgs:
    """What the hub container is made of (container inputs: a change to any of them
    replaces the container on `pulumi up`), and where its users' notebook containers run
    and whose are kept (the last three: inputs of the notebook-servers Command only)."""

    environment: Mapping[str, Any]  # from hub_environment(); secret variables as secret Outputs
    image: pulumi.Input[str]  # the hub image's digest
    network_name: pulumi.Input[str]  # the stack's Docker network (notebooks reach the hub on it)
    extra_networks: Sequence[pulumi.Input[str]]  # e.g. the dev directory's, only the hub's
    data_volume_name: pulumi.Input[str]  # mounted at /data: sqlite database, hub state
    https_port: int  # HUB_HTTPS_PORT, published on the Docker host
    hostname: str  # HUB_HOSTNAME, for the URL output
    tls_cert_pem: pulumi.Input[str]  # the hub's certificate chain (PEM), uploaded
    tls_key_pem: pulumi.Output[str]  # secret; uploaded 0600
    ldap_ca_pem: pulumi.Input[str] | None  # CA that signed the LDAP server's certificate
    # Secret: LDAP_SEARCH_BIND_PASSWORD, uploaded 0600 (search-then-bind), else None.
    ldap_search_password: pulumi.Output[str] | None = None
    # Users with a delivered client certificate: their running notebook servers are kept
    # (others' are removed before the hub is replaced, as the hub would refuse them a new
    # one). None: the hub issues everyone's (`client_ca`), nobody's server is pruned here.
    pki_users: Sequence[str] | None = ()
    client_ca: HubClientCa | None = None
    docker_host: str | None = None  # docker:host, where the notebook containers run
    ssh_opts: Sequence[str] = ()  # docker:sshOpts
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)  # e.g. PKI delivery
    # json-file rotation of the hub's log (DOCKER_LOG_MAX_SIZE, DOCKER_LOG_MAX_FILE).
    log_opts: Mapping[str, str] = field(default_factory=lambda: LogSettings().docker_log_opts)
    # The stack's Docker names, its STACK_LABEL value (whose notebooks are its own) and the
    # labels of the hub container (none on dev: Settings.object_labels).
    stack_names: names.StackNames = names.DEV_NAMES
    owner: str = names.stack_label("jupyterhub-zos", names.DEV_STACK)
    labels: Mapping[str, str] = field(default_factory=dict)


class Hub(pulumi.ComponentResource):
    container_name: pulumi.Output[str]
    url: str

    def __init__(self, name: str, args: HubArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jupyterhub-zos:hub:Hub", name, None, opts)
        uploads = [
            docker.ContainerUploadArgs(file=SSL_CERT_PATH, content=args.tls_cert_pem),
            docker.ContainerUploadArgs(
                file=SSL_KEY_PATH,
                content=pulumi.Output.secret(args.tls_key_pem),
                permissions="0600",
            ),
        ]
        if args.ldap_ca_pem is not None:
            uploads.append(docker.ContainerUploadArgs(file=LDAP_CA_PATH, content=args.ldap_ca_pem))
        if args.ldap_search_password is not None:
            uploads.append(
                docker.ContainerUploadArgs(
                    file=LDAP_SEARCH_PASSWORD_PATH,
                    content=pulumi.Output.secret(args.ldap_search_password),
                    permissions="0600",
                )
            )
        pki_volumes = []
        if args.client_ca is not None:
            uploads += [
                docker.ContainerUploadArgs(
                    file=CLIENT_CA_KEY_PATH,
                    content=pulumi.Output.secret(args.client_ca.key_pem),
                    permissions="0600",
                ),
                docker.ContainerUploadArgs(
                    file=CLIENT_CA_CERT_PATH, content=args.client_ca.cert_pem
                ),
                docker.ContainerUploadArgs(
                    file=GATEWAY_CA_PATH, content=args.client_ca.gateway_ca_pem
                ),
            ]
            pki_volumes.append(
                docker.ContainerVolumeArgs(
                    host_path=args.client_ca.pki_dir, container_path=HUB_PKI_MOUNT
                )
            )

        def servers_command(prune: bool) -> pulumi.Output[str]:
            return pulumi.Output.from_input(args.network_name).apply(
                lambda network: notebook_servers_command(
                    network,
                    args.docker_host,
                    tuple(args.ssh_opts),
                    prune=prune,
                    stack_names=args.stack_names,
                    owner=args.owner,
                )
            )

        # Its texts hold the network's name, so on destroy it goes before the network. It
        # runs when it is created and when its stdin (who has a certificate) changes; the
        # hub depends on it, so that run comes before the hub is updated or replaced, and
        # it is deleted after the hub (no new spawns meanwhile). A hub replacement alone
        # does not run it: users' servers keep running. No triggers: replacing this
        # Command would run its delete, which removes every server. When the hub issues
        # everyone's certificates it prunes nothing (the hub stops servers of users the
        # config no longer allows when it starts).
        hub_issues = args.pki_users is None
        self.notebook_servers = command.local.Command(
            f"{name}-notebook-servers",
            create=KEEP_ALL_SCRIPT if hub_issues else servers_command(prune=True),
            stdin=None if hub_issues else notebook_keep_list(args.pki_users, args.stack_names),
            delete=servers_command(prune=False),
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.container = docker.Container(
            f"{name}-container",
            name=args.stack_names.hub_container,
            image=args.image,
            labels=container_labels(args.labels),
            envs=container_envs(args.environment),
            uploads=uploads,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=args.network_name, aliases=[args.stack_names.hub_alias]
                ),
                *(docker.ContainerNetworksAdvancedArgs(name=n) for n in args.extra_networks),
            ],
            ports=[docker.ContainerPortArgs(internal=HTTPS_PORT, external=args.https_port)],
            volumes=[
                docker.ContainerVolumeArgs(host_path=DOCKER_SOCKET, container_path=DOCKER_SOCKET),
                docker.ContainerVolumeArgs(
                    volume_name=args.data_volume_name, container_path=DATA_DIR
                ),
                *pki_volumes,
            ],
            # A hub that dies by itself (crash, OOM killer) is started again in the same
            # container and finds users' servers as a replaced hub does; `docker stop` or
            # `docker kill` is a manual stop and stays stopped. The hub restarts its own
            # proxy if that dies. Docker restarts no container for being unhealthy: the
            # healthcheck only reports, and `pulumi up` waits for it.
            # Its log rotates (DOCKER_LOG_MAX_SIZE x DOCKER_LOG_MAX_FILE); `docker logs`
            # reads every kept file.
            log_driver="json-file",
            log_opts=dict(args.log_opts),
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", *healthcheck_command()],
                interval="30s",
                timeout="10s",
                start_period="30s",
                retries=3,
            ),
            # `pulumi up` reports a hub that does not come up, instead of "created".
            wait=True,
            wait_timeout=180,
            # Time for the hub to write its database and stop its proxy and services; it
            # leaves users' notebook containers running (cleanup_servers).
            destroy_grace_seconds=60,
            **container_security(HARDENING),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*args.depends_on, self.notebook_servers]
            ),
        )
        self.pids_limit = limit_pids(
            f"{name}-pids-limit",
            self.container,
            HARDENING.pids_limit,
            args.docker_host,
            args.ssh_opts,
            parent=self,
        )
        self.container_name = self.container.name
        port = "" if args.https_port == 443 else f":{args.https_port}"
        self.url = f"https://{args.hostname}{port}/"
        self.register_outputs({"container_name": self.container_name, "url": self.url})
