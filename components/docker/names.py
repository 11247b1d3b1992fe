"""Every Docker object name the stack uses, derived in one place.

The hub's `jupyterhub_config.py` runs inside the hub image and cannot import this
module: the names it needs (the notebook prefix, container and volume templates, the
server separator, the hub's alias) are checked against these by
tests/unit/components/docker/test_names.py.

Named servers (HUB_NAMED_SERVERS): a user's server `s` runs in `<their container>--<s>`
with the volume `<their volume>--<s>`, names escaped as DockerSpawner escapes users.
Why no two (user, server) pairs share a name: an escaped name holds only a-z, 0-9 and
`-` each followed by two hex digits, so it never holds `--` and never ends with `-`;
the first `--` after the prefix is therefore the separator, and the escaping is one to
one, so a name gives back exactly one (user, server). The default server (name "")
keeps the names it always had.
"""

from __future__ import annotations

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

_DNS_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def escaped_user(user: str) -> str:
    """A user name as DockerSpawner escapes it for `{username}` in names (each character
    outside a-z 0-9 as -<hex of its bytes>): bob.smith -> bob-2esmith."""
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
    return f"{NOTEBOOK_PREFIX}-{escaped_user(user)}{server_suffix(server)}"


def user_volume_name(user: str, server: str = "") -> str:
    """The volume DockerSpawner makes at a server's first spawn for /home/jovyan/work:
    one per user for the default server, one per named server."""
    return USER_VOLUME_TEMPLATE.format(username=escaped_user(user)) + server_suffix(server)


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
