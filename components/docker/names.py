"""Every Docker object name the stack uses, derived in one place from the stack's name.

The `dev` stack keeps the seed's names (jupyterhub, jupyterhub-network, jupyterhub-data,
jupyter-<user>, jupyterhub-user-<user>, ...): the module constants below. Any other
stack's names carry the stack (`stack_names`): the hub `jupyterhub-<stack>`, its objects
`jupyterhub-<stack>-<role>` (network, data, gateway, ldap), notebooks
`jupyter-<stack>-<user>` and users' volumes `jupyterhub-<stack>-user-<user>`, so several
stacks share one Docker host. A stack's objects also carry STACK_LABEL
(`<project>/<stack>`): the program refuses to deploy over another stack's objects
(components/docker/stack_check.py) and the hub touches only its own notebooks.
DOCKER_NETWORK_NAME, when set, still names the network.

The hub's `jupyterhub_config.py` runs inside the hub image and cannot import this
module: the names it needs (the notebook prefix, the user volume template with its
server suffix field, the hub's alias, the label) come in its environment
(components/hub/environment.py), checked against these by
tests/unit/components/docker/test_names.py.

Named servers (HUB_NAMED_SERVERS): a user's server `s` runs in `<their container>--<s>`
with the volume `<their volume>--<s>`, names escaped as DockerSpawner escapes users.
Why no two (user, server) pairs share a name: an escaped name holds only a-z, 0-9 and
`-` each followed by two hex digits, so it never holds `--` and never ends with `-`;
a stack's prefix holds no `--` either (stack_name_problem), so the first `--` after the
prefix is the separator, and the escaping is one to one, so a name gives back exactly
one (user, server). The default server (name "") keeps the names it always had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The dev stack's names: the seed's, kept so an existing dev deployment is unchanged.
DEV_STACK = "dev"
NETWORK = "jupyterhub-network"  # DOCKER_NETWORK_NAME's default (the seed's network)
DATA_VOLUME = "jupyterhub-data"  # the hub's sqlite database and state
HUB_CONTAINER = "jupyterhub"
HUB_ALIAS = "jupyterhub"  # on the network; jupyterhub_config.py: c.JupyterHub.hub_connect_ip
GATEWAY_CONTAINER = "jupyterhub-gateway"  # the dev Kernel Gateway
DIRECTORY_CONTAINER = "jupyterhub-ldap"  # the dev directory
NOTEBOOK_PREFIX = "jupyter"  # DockerSpawner's default prefix: jupyter-<user>
USER_VOLUME_TEMPLATE = "jupyterhub-user-{username}"  # DockerSpawner expands {username}
# Between the user's part and a named server's (DockerSpawner's own separator): `--`
# cannot occur in an escaped name, see above.
SERVER_SEPARATOR = "--"
# The field jupyterhub_config.py's spawner adds to DockerSpawner's template namespace:
# "" for the default server, SERVER_SEPARATOR + the escaped server name otherwise.
SERVER_SUFFIX_FIELD = "{server_suffix}"
NOTEBOOK_NAME_TEMPLATE = "{prefix}-{username}" + SERVER_SUFFIX_FIELD  # name_template
SERVER_VOLUME_TEMPLATE = USER_VOLUME_TEMPLATE + SERVER_SUFFIX_FIELD  # the volumes key

# On every container, volume and network of a stack (but the dev stack's own Pulumi
# resources, which keep their inputs): `<project>/<stack>`, the owner of the object.
STACK_LABEL = "jupyterhub-zos.stack"

# A stack name other than dev goes into DNS names (the dev gateway's certificate names
# its container; Docker's DNS resolves containers by name): one DNS label, lowercase,
# short enough that the longest name, `jupyterhub-<stack>-network-directory`, fits in
# the 63 characters of a DNS label.
MAX_STACK_LENGTH = 63 - len("jupyterhub--network-directory")
_STACK_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def stack_label(project: str, stack: str) -> str:
    """STACK_LABEL's value for a stack's objects."""
    return f"{project}/{stack}"


def stack_name_problem(stack: str) -> str | None:
    """Why `stack` cannot name Docker objects, or None."""
    if stack == DEV_STACK:
        return None
    if not _STACK_RE.fullmatch(stack) or "--" in stack:
        return (
            f"stack name {stack!r} names this stack's Docker objects "
            "(jupyterhub-<stack>-...): use lowercase letters, digits and single '-' "
            "inside, e.g. prod or team-a"
        )
    if len(stack) > MAX_STACK_LENGTH:
        return (
            f"stack name {stack!r} is {len(stack)} characters: at most {MAX_STACK_LENGTH}, "
            "so its Docker names stay DNS labels (63 characters)"
        )
    return None


@dataclass(frozen=True)
class StackNames:
    """One stack's Docker names (`stack_names`)."""

    stack: str
    network: str
    data_volume: str
    hub_container: str
    hub_alias: str
    gateway_container: str
    directory_container: str
    notebook_prefix: str
    user_volume_template: str

    @property
    def directory_network(self) -> str:
        return directory_network_name(self.network)

    @property
    def directory_volume(self) -> str:
        return f"{self.directory_container}-data"

    @property
    def fixed_containers(self) -> tuple[str, ...]:
        """The containers the program makes (the hub, the dev gateway and directory)."""
        return (self.hub_container, self.gateway_container, self.directory_container)

    @property
    def server_volume_template(self) -> str:
        """NOTEBOOK_VOLUME_TEMPLATE: the user volume template with the server suffix field
        jupyterhub_config.py's spawner fills ("" for the default server)."""
        return self.user_volume_template + SERVER_SUFFIX_FIELD

    def notebook_container_name(self, user: str, server: str = "") -> str:
        """The container DockerSpawner runs a user's notebook in: `<prefix>-<user>`, the
        name escaped as DockerSpawner does (each other character as -<hex of its bytes>),
        and `--<server>` for a named server."""
        return f"{self.notebook_prefix}-{escaped_user(user)}{server_suffix(server)}"

    def user_volume_name(self, user: str, server: str = "") -> str:
        """The volume the hub makes at a server's first spawn for /home/jovyan/work: one
        per user for the default server, one per named server."""
        return self.user_volume_template.format(username=escaped_user(user)) + server_suffix(server)


def stack_names(stack: str, network_name: str | None = None) -> StackNames:
    """The stack's names; `network_name` (DOCKER_NETWORK_NAME, when set) names the network.
    Raises ValueError for a stack name that cannot name Docker objects."""
    problem = stack_name_problem(stack)
    if problem:
        raise ValueError(problem)
    if stack == DEV_STACK:
        return StackNames(
            stack=stack,
            network=network_name or NETWORK,
            data_volume=DATA_VOLUME,
            hub_container=HUB_CONTAINER,
            hub_alias=HUB_ALIAS,
            gateway_container=GATEWAY_CONTAINER,
            directory_container=DIRECTORY_CONTAINER,
            notebook_prefix=NOTEBOOK_PREFIX,
            user_volume_template=USER_VOLUME_TEMPLATE,
        )
    base = f"jupyterhub-{stack}"
    return StackNames(
        stack=stack,
        network=network_name or f"{base}-network",
        data_volume=f"{base}-data",
        hub_container=base,
        hub_alias=base,
        gateway_container=f"{base}-gateway",
        directory_container=f"{base}-ldap",
        # `jupyter-`, not `jupyterhub-`: a user named `gateway` is not the gateway.
        notebook_prefix=f"jupyter-{stack}",
        user_volume_template=f"{base}-user-{{username}}",
    )


DEV_NAMES = stack_names(DEV_STACK)

_DNS_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def escaped_user(user: str) -> str:
    """A user name as DockerSpawner escapes it for `{username}` in names (each character
    outside a-z 0-9 as -<hex of its bytes>): bob.smith -> bob-2esmith."""
    if _DNS_SAFE.issuperset(user):
        return user  # most names: nothing to escape (names are per user, 1000s of them)
    return "".join(
        ch if ch in _DNS_SAFE else "".join(f"-{b:02x}" for b in ch.encode()) for ch in user
    ).lower()


def server_suffix(server: str) -> str:
    """What a named server adds to its user's container and volume names: "" for the
    default server, else `--<server>` escaped as users are (Foo -> --46oo: unlike
    DockerSpawner's own {servername}, not lower-cased first, so Foo and foo differ)."""
    return f"{SERVER_SEPARATOR}{escaped_user(server)}" if server else ""


def notebook_container_name(user: str, server: str = "") -> str:
    """The container DockerSpawner runs a user's notebook in: `jupyter-<user>`, the
    name escaped as DockerSpawner does (each other character as -<hex of its bytes>),
    and `--<server>` for a named server."""
    return DEV_NAMES.notebook_container_name(user, server)


def user_volume_name(user: str, server: str = "") -> str:
    """The volume DockerSpawner makes at a server's first spawn for /home/jovyan/work:
    one per user for the default server, one per named server."""
    return DEV_NAMES.user_volume_name(user, server)


def directory_network_name(network_name: str) -> str:
    """The dev directory's own network, beside the stack's: only the hub joins it, so
    notebooks can neither reach nor resolve the directory."""
    return f"{network_name}-directory"


def pki_dir_name(user: str) -> str:
    """A user's directory under HUB_PKI_DIR, mounted at /etc/jupyterpki into their server
    only: the user name itself (DockerSpawner's {raw_username}; images/hub/jhz_client_certs.py
    user_dir_name derives the same). Distinct names are distinct directories; a name that
    is not one plain path component is refused."""
    if not user or user in (".", "..") or "/" in user or "\0" in user:
        raise ValueError(f"user name {user!r} cannot name a certificate directory")
    return user


def local_image_name(project: str, stack: str, image: str) -> str:
    """A local tag per stack and image, e.g. jupyterhub-zos-hub:dev (Docker wants lowercase)."""
    return f"{project}-{image}:{stack}".lower()
