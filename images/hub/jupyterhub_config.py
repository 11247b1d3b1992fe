# JupyterHub configuration of jupyterhub-zos.
#
# Environment in, traits out: this file reads only the environment variables the
# Pulumi program sets on the hub container (see README, "Hub environment"), so it can
# be run and tested outside Docker. Arrays are comma-separated, except
# LDAP_ALLOWED_GROUPS: DNs hold commas, so it is a JSON array; DOCKER_NOTEBOOK_IMAGES is
# a JSON object (what the spawn page shows -> the image's digest).
import json
import os
import sys

from jupyterhub import orm
from jupyterhub.roles import get_default_roles
from jupyterhub.scopes import expand_scopes
from jupyterhub.utils import new_token
from ldapauthenticator import LDAPAuthenticator
from tornado import web
from traitlets import default

c = get_config()  # noqa: F821


def env_list(name):
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def env_dn_list(name):
    """A list of DNs: DNs contain commas, so this one is a JSON array (or a single DN)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return []
    items = json.loads(value) if value.startswith("[") else [value]
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise ValueError(f"{name} must be a JSON array of DN strings")
    return [item.strip() for item in items]


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# --- The hub itself -------------------------------------------------------------------

# HTTPS on 443 inside the container; the program publishes HUB_HTTPS_PORT to it. The
# certificate and key are put in at runtime (never in an image layer).
c.JupyterHub.port = 443
c.JupyterHub.ssl_cert = os.environ["SSL_CERT"]
c.JupyterHub.ssl_key = os.environ["SSL_KEY"]

# Notebook containers reach the hub API over the Docker network, by the hub's alias
# (`jupyterhub` on the dev stack, `jupyterhub-<stack>` on another: components/docker/names.py).
c.JupyterHub.hub_ip = "0.0.0.0"  # noqa: S104 - the container's own interfaces
c.JupyterHub.hub_connect_ip = os.environ.get("HUB_ALIAS", "jupyterhub")

# State lives on the data volume, which survives the container and `pulumi destroy`.
c.JupyterHub.db_url = "sqlite:////data/jupyterhub.sqlite"
# Used only if JPY_COOKIE_SECRET is missing (the program always sets it).
c.JupyterHub.cookie_secret_file = "/data/jupyterhub_cookie_secret"  # noqa: S105 - a path
# A newer image upgrades the schema on start; JupyterHub backs the sqlite file up first.
c.JupyterHub.upgrade_db = True
# JPY_COOKIE_SECRET and CONFIGPROXY_AUTH_TOKEN are read from the environment by
# JupyterHub itself; both are generated once per stack, so a replaced hub keeps sessions.
# Stopping the hub leaves users' notebook containers and their kernels running. A
# replaced hub (any `pulumi up` that changes it) finds them again: the database on the
# data volume holds each server's container and API token, the notebooks reach the new
# hub by the same alias, and the hub rebuilds the routes of its new proxy (a subprocess
# that ends with the old container) to every server still running. Users stay logged in
# and reconnect to their kernels with a browser refresh; a server gets a new notebook
# image or settings at its next start.
c.JupyterHub.cleanup_servers = False
# The proxy is this hub's own child and dies with it. A pid file found at start is from a
# hub that was killed (the restart policy restarts the container in the same writable
# layer), and its number may now name another process or a thread of the hub itself in
# the new PID namespace: JupyterHub would signal it, fail to stop it and exit, and the
# restart policy would loop. So the stale file goes before JupyterHub looks for it.
# JupyterHub's default: in the working directory (/srv/jupyterhub in the image).
PROXY_PID_FILE = "jupyterhub-proxy.pid"
c.ConfigurableHTTPProxy.pid_file = PROXY_PID_FILE
if os.path.exists(PROXY_PID_FILE):
    os.remove(PROXY_PID_FILE)

# --- Who may log in ---------------------------------------------------------------------


SEARCH_PASSWORD_FILE = os.environ.get("LDAP_SEARCH_BIND_PASSWORD_FILE")


class ConfiguredAccessAuthenticator(LDAPAuthenticator):
    """LDAP login whose access follows the config across hub restarts (every config
    change restarts the hub). JupyterHub itself checks who is allowed only at login."""

    def check_allow_config(self):
        """Runs once at hub start, before the hub serves anything. A user the database
        knows but the config no longer allows (not named, and not in an allowed group
        at their last login) loses their API and OAuth tokens and their sessions (the
        cookie's id changes), and is blocked for this start, so JupyterHub strips their
        roles and stops their server itself (their volume stays). Services' tokens from
        the config are re-made from the config: a rotated one stops working. Without
        HUB_ADMIN_SERVER_ACCESS (ADMIN_SERVER_ACCESS, below) nobody may share a server,
        so shares and share codes made while admins could (access to another's server)
        are deleted."""
        super().check_allow_config()
        db = self.parent.db
        allowed = {self.normalize_username(name) for name in self.allowed_users}
        groups = set(self.allowed_groups or ())
        for user in db.query(orm.User):
            if user.name in allowed or {group.name for group in user.groups} & groups:
                continue
            self.log.warning("%s is no longer allowed by the config: access revoked", user.name)
            for token in user.api_tokens:
                db.delete(token)
            user.cookie_id = new_token()
            self.blocked_users.add(user.name)
        # Services' config tokens (metrics, status, the culler's) are the config's alone:
        # JupyterHub adds the configured ones after this at every start but never removes
        # one the config no longer has, so a token rotated with `pulumi up --replace`
        # would keep working. Dropped here, the current ones are added back right after.
        stale = db.query(orm.APIToken).filter(
            orm.APIToken.service_id.isnot(None), orm.APIToken.note == "from config"
        )
        dropped = stale.delete(synchronize_session=False)
        if dropped:
            self.log.info("Dropped %d service token(s) from an earlier config", dropped)
        if not ADMIN_SERVER_ACCESS:
            shares = db.query(orm.Share).delete(synchronize_session=False)
            codes = db.query(orm.ShareCode).delete(synchronize_session=False)
            if shares or codes:
                self.log.warning(
                    "Deleted %d share(s) and %d share code(s): without "
                    "HUB_ADMIN_SERVER_ACCESS nobody opens another user's server",
                    shares,
                    codes,
                )
        db.commit()

    def check_blocked_users(self, username, authentication=None):
        # The block above is for the start only; at login check_allowed decides, asking
        # the directory for the user's groups afresh.
        return True

    @default("lookup_dn_search_password")
    def _search_password_from_file(self):
        # Search-then-bind: the search account's password is a 0600 file the program
        # uploads, read at the first search (never in env, argv or the config).
        if not SEARCH_PASSWORD_FILE:
            return None
        with open(SEARCH_PASSWORD_FILE, encoding="utf-8") as file:
            return file.read().rstrip("\n")

    async def authenticate(self, handler, data):
        # The allowed groups the user is in, kept by JupyterHub as the user's groups
        # (manage_groups), so the check at the next start knows them.
        auth = await super().authenticate(handler, data)
        if auth:
            auth["groups"] = auth["auth_state"]["ldap_groups"]
        return auth


c.JupyterHub.authenticator_class = ConfiguredAccessAuthenticator
c.Authenticator.manage_groups = True
c.LDAPAuthenticator.server_address = os.environ["LDAP_SERVER_HOST"]
c.LDAPAuthenticator.server_port = env_int("LDAP_SERVER_PORT", 389)
if os.environ.get("LDAP_USER_SEARCH_BASE"):
    # Search-then-bind (Active Directory, DNs in several branches): the hub searches the
    # subtree for exactly one entry whose LDAP_USER_ATTRIBUTE is the login name (escaped
    # by the authenticator), as LDAP_SEARCH_BIND_DN or anonymously, then the user binds
    # as that entry's DN with their password. The hub's user name stays the login name.
    c.LDAPAuthenticator.lookup_dn = True
    c.LDAPAuthenticator.user_search_base = os.environ["LDAP_USER_SEARCH_BASE"]
    c.LDAPAuthenticator.user_attribute = os.environ["LDAP_USER_ATTRIBUTE"]
    c.LDAPAuthenticator.lookup_dn_user_dn_attribute = os.environ["LDAP_USER_ATTRIBUTE"]
    c.LDAPAuthenticator.lookup_dn_search_filter = os.environ["LDAP_USER_SEARCH_FILTER"]
    c.LDAPAuthenticator.lookup_dn_search_user = os.environ.get("LDAP_SEARCH_BIND_DN") or None
    c.LDAPAuthenticator.use_lookup_dn_username = False
else:
    # Users bind as themselves; the user name is DN-escaped by the authenticator.
    c.LDAPAuthenticator.bind_dn_template = [os.environ["LDAP_BIND_DN"]]
# starttls: upgrade before sending the password; ldaps: TLS from the first byte;
# none: only for the dev directory on the private Docker network.
c.LDAPAuthenticator.tls_strategy = {
    "starttls": "before_bind",
    "ldaps": "on_connect",
    "none": "insecure",
}[os.environ.get("LDAP_TLS", "starttls")]
# ldap3 does not verify the server's certificate unless told to.
_ldap_tls = {"validate": 2}  # ssl.CERT_REQUIRED
if os.environ.get("LDAP_CA_CERT_FILE"):
    _ldap_tls["ca_certs_file"] = os.environ["LDAP_CA_CERT_FILE"]
c.LDAPAuthenticator.tls_kwargs = _ldap_tls
c.LDAPAuthenticator.allowed_groups = env_dn_list("LDAP_ALLOWED_GROUPS")
# Membership asked the directory's way: a filter searched on each allowed group's entry
# as the user (after their bind), e.g. Active Directory's nested-group rule.
if os.environ.get("LDAP_GROUP_SEARCH_FILTER"):
    c.LDAPAuthenticator.group_search_filter = os.environ["LDAP_GROUP_SEARCH_FILTER"]

# Nobody logs in unless named here or in an allowed group (JupyterHub 5 denies by
# default); users the database keeps from earlier logins are not allowed for that.
ADMIN_USERS = env_list("HUB_ADMIN_USERS")
c.Authenticator.allowed_users = set(ADMIN_USERS + env_list("HUB_ALLOWED_USERS"))
c.Authenticator.allow_existing_users = False
# Admins are exactly these: each role's member list is synced at every start, so a user
# removed here stops being admin (Authenticator.admin_users only ever adds, and would
# give the full admin role back at login: never set it).
# Every server is on the hub's one origin: what a user put in theirs (JupyterLab's
# front-end config from their home, an exported notebook's scripts) runs in the browser
# of whoever opens it, with their rights. JupyterHub's answer is that no user has
# access:servers to servers but their own, unless servers have subdomains. So by default
# admins hold a role of their own: JupyterHub's admin scopes (it follows upgrades) but
# access:servers and shares (which grants it); they may still read and revoke shares.
# HUB_ADMIN_SERVER_ACCESS=true makes them JupyterHub admins. The admin role cannot be
# given other scopes, so it is kept, with members or empty.
ADMIN_ROLE = "jupyterhub-zos-admin"
ADMIN_SERVER_ACCESS = os.environ.get("HUB_ADMIN_SERVER_ACCESS", "false").lower() == "true"
_admin_scopes = next(r["scopes"] for r in get_default_roles() if r["name"] == "admin")
ADMIN_SCOPES = sorted(
    (set(_admin_scopes) - {"access:servers", "shares"})
    | {"read:shares", "users:shares", "groups:shares"}
)
# Scopes are removed by name: one a later JupyterHub adds that grants access:servers (as
# shares does) stops the hub rather than giving admins others' servers again.
if any(scope.startswith("access:servers") for scope in expand_scopes(set(ADMIN_SCOPES))):
    raise SystemExit(f"jupyterhub-zos: the {ADMIN_ROLE} role's scopes grant access:servers")
c.JupyterHub.load_roles = [
    {"name": "admin", "users": ADMIN_USERS if ADMIN_SERVER_ACCESS else []},
    {
        "name": ADMIN_ROLE,
        "description": "Hub administrators without access to other users' servers",
        "scopes": ADMIN_SCOPES,
        "users": [] if ADMIN_SERVER_ACCESS else ADMIN_USERS,
    },
]

# --- Notebook servers -----------------------------------------------------------------

# (a subclass that renews client certificates, below, when the hub issues them)
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = os.environ["DOCKER_NOTEBOOK_IMAGE"]
c.DockerSpawner.network_name = os.environ["DOCKER_NETWORK_NAME"]
# The stack's names: jupyter-<user> and jupyterhub-user-<user> on the dev stack, the
# stack's name in them on another (several stacks on one Docker host).
c.DockerSpawner.prefix = os.environ.get("NOTEBOOK_NAME_PREFIX", "jupyter")
USER_VOLUME_TEMPLATE = os.environ.get(
    "NOTEBOOK_VOLUME_TEMPLATE", "jupyterhub-user-{username}{server_suffix}"
)
c.DockerSpawner.use_internal_ip = True
# Removed on stop, so a changed image or environment applies at the next start; the
# user's files are on their own volume, which outlives the container.
c.DockerSpawner.remove = True
notebook_dir = "/home/jovyan/work"
c.DockerSpawner.notebook_dir = notebook_dir
PKI_DIR = "/etc/jupyterpki"
# Container and volume names (components/docker/names.py derives the same): the user's
# escaped name, and for a named server `--` and the server's escaped name ({server_suffix},
# "" for the default server, added by ServerNamingSpawner below). `--` cannot occur in an
# escaped name, so no two (user, server) pairs share a container or a volume.
c.DockerSpawner.name_template = "{prefix}-{username}{server_suffix}"
c.DockerSpawner.volumes = {
    # One volume per server: a named server's files are not its user's default server's.
    # The stack's template (NOTEBOOK_VOLUME_TEMPLATE) carries {server_suffix}.
    USER_VOLUME_TEMPLATE: notebook_dir,
    # That user's client certificate, key and CA, written on the Docker host into
    # <HUB_PKI_DIR>/<user name> (by the hub at spawn, or by the program for z/OS behind
    # AT-TLS); read-only for the notebook, and only that user's directory. A user's
    # named servers share it: the gateway binds kernels to the user (the certificate's
    # CN), not to a server, so a directory per server would separate nothing.
    # {raw_username}, not {username}: DockerSpawner escapes the latter (bob.smith ->
    # bob-2esmith), which is not the directory the program wrote.
    os.environ["JUPYTERPKI_HOST_DIR"] + "/{raw_username}": {"bind": PKI_DIR, "mode": "ro"},
}
# Limits (NOTEBOOK_*_LIMIT; the program sets them by default, unset means none): one
# user cannot take the Docker host's memory, CPUs or process table from the others.
if os.environ.get("NOTEBOOK_MEM_LIMIT"):
    c.DockerSpawner.mem_limit = os.environ["NOTEBOOK_MEM_LIMIT"]
if os.environ.get("NOTEBOOK_CPU_LIMIT"):
    c.DockerSpawner.cpu_limit = float(os.environ["NOTEBOOK_CPU_LIMIT"])
# Hardening: the server starts as jovyan (uid 1000) and needs no capability. Without
# NET_RAW / NET_ADMIN a notebook can neither sniff nor spoof (ARP) the hub API traffic
# of other notebooks on the shared network; no-new-privileges stops setuid binaries.
c.DockerSpawner.extra_host_config = {
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "pids_limit": env_int("NOTEBOOK_PIDS_LIMIT", 0) or -1,  # -1: Docker's "no limit"
}
# Every server is on the hub's origin (/user/<name>/) and serves some files to anyone
# (JupyterLab's extension files, static files): a page a user put there, or code of
# theirs run by the server, would run in another user's browser as the hub's own page.
# So what the server loads and serves is not the user's: JupyterHub drops the home's
# config files and data directories (extensions, templates); the server starts in /,
# root's, not in the home (nbconvert looks for templates, and runs what their conf.json
# names, in the working directory); no user site-packages; the notebook image keeps the
# rest of the server's environment out of the user's reach (images/notebook/Dockerfile).
c.Spawner.disable_user_config = True
SERVER_WORKING_DIR = "/"

# --- Kernels on the Kernel Gateway --------------------------------------------------------

# jupyter_server's gateway client (the successor of nb2kg) sends every kernel to the
# gateway over mutual TLS. DockerSpawner passes no hub environment on, so it is all here.
c.DockerSpawner.environment = {
    "JUPYTER_GATEWAY_URL": os.environ["KG_URL"],
    "JUPYTER_GATEWAY_AUTH_TOKEN": os.environ["KG_AUTH_TOKEN"],
    # The gateway client turns validation off only for the exact strings no/false.
    "JUPYTER_GATEWAY_VALIDATE_CERT": (
        "false" if os.environ.get("VALIDATE_KG_CERT", "true").lower() == "false" else "true"
    ),
    "JUPYTER_GATEWAY_CLIENT_CERT": f"{PKI_DIR}/{os.environ.get('CLIENT_CERT', 'cert.pem')}",
    "JUPYTER_GATEWAY_CLIENT_KEY": f"{PKI_DIR}/{os.environ.get('CLIENT_KEY', 'key.pem')}",
    "JUPYTER_GATEWAY_CA_CERTS": f"{PKI_DIR}/{os.environ.get('CLIENT_CA', 'cacert.pem')}",
    # Fail a dead gateway in seconds, but give a kernel (z/OS ones are slow) time to start.
    "JUPYTER_GATEWAY_CONNECT_TIMEOUT": "30",
    "JUPYTER_GATEWAY_REQUEST_TIMEOUT": "120",
    "KERNEL_LAUNCH_TIMEOUT": "118",
    # The server imports nothing from the user's ~/.local (disable_user_config, above).
    "PYTHONNOUSERSITE": "1",
    # Sent with each kernel start for the kernel's environment only. The gateway does not
    # take identity from it: where it verifies client certificates it overwrites it with
    # the certificate's CN and binds the kernel to that (images/gateway/kg_isolation.py).
    "KERNEL_USERNAME": lambda spawner: spawner.user.name,
}

# Client certificates. With JUPYTERPKI_CA_KEY (every stack but z/OS behind AT-TLS or with
# ZOS_RACF_MODE=admin) the hub
# issues them: before each spawn, a fresh key and a certificate with CN = the user name,
# valid JUPYTERPKI_CERT_HOURS and renewed by the spawner's poll, written into that user's
# <HUB_PKI_DIR>/<user> (jhz_client_certs.py). So every user the hub lets in (by name, by
# LDAP group, added in the admin console) has one, and only their own. Otherwise the
# program delivered them (RACF, one per ZOS_USERS entry) and a user without one is
# refused at spawn, with the reason.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jhz_client_certs import ClientCertIssuer  # noqa: E402 - beside this file in the image

USERS_WITH_CERTS = set(env_list("JUPYTERPKI_USERS"))


def refuse_users_without_certificate(spawner):
    """Without a client certificate every kernel would fail at the gateway; say so now.
    An HTTPError with `jupyterhub_message` is what JupyterHub shows on the spawn page
    (any other exception becomes a bare "Unhandled error starting server")."""
    name = spawner.user.name
    if name not in USERS_WITH_CERTS:
        message = (
            f"No Kernel Gateway client certificate is provisioned for user '{name}'. "
            "On this stack the certificates are RACF's, delivered by the program (z/OS "
            "behind AT-TLS, or exported by the security administrator with "
            "ZOS_RACF_MODE=admin): ask an administrator to add the user to ZOS_USERS (in "
            "admin mode with their export in ZOS_USER_CERTS) and run `pulumi up`."
        )
        error = web.HTTPError(403, "%s", message)
        error.jupyterhub_message = message
        raise error


if os.environ.get("JUPYTERPKI_CA_KEY"):
    c.JupyterHub.spawner_class = "jhz_client_certs.RenewingDockerSpawner"
    c.Spawner.pre_spawn_hook = ClientCertIssuer.from_env(os.environ)
else:
    c.Spawner.pre_spawn_hook = refuse_users_without_certificate

# --- Image choice and named servers -------------------------------------------------------

# DOCKER_NOTEBOOK_IMAGES (only set when there is a choice): the images a user may pick on
# the spawn page, the default (DOCKER_NOTEBOOK_IMAGE) first. DockerSpawner renders the
# form from allowed_images and refuses any other image a spawn request names; each image
# was checked on the Docker host like the default (notebook_check.py).
if os.environ.get("DOCKER_NOTEBOOK_IMAGES"):
    _images = json.loads(os.environ["DOCKER_NOTEBOOK_IMAGES"])
    if not isinstance(_images, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in _images.items()
    ):
        raise ValueError("DOCKER_NOTEBOOK_IMAGES must be a JSON object of image names")
    if c.DockerSpawner.image not in _images.values():
        raise ValueError("DOCKER_NOTEBOOK_IMAGES must hold DOCKER_NOTEBOOK_IMAGE")
    c.DockerSpawner.allowed_images = _images

# HUB_NAMED_SERVERS (0: off): each user may have that many named servers besides their
# default one, each its own container and volume (names above).
named_servers = env_int("HUB_NAMED_SERVERS", 0)
if named_servers > 0:
    c.JupyterHub.allow_named_servers = True
    c.JupyterHub.named_server_limit_per_user = named_servers

from traitlets.utils.importstring import import_item  # noqa: E402


def _spawner_class():
    configured = c.JupyterHub.spawner_class
    return import_item(configured) if isinstance(configured, str) else configured


class ServerNamingSpawner(_spawner_class()):
    """The configured spawner, with {server_suffix} in its name templates. DockerSpawner's
    own {servername} is lower-cased before it is escaped, so servers Foo and foo of one
    user would share a container and a volume; here it is escaped as user names are."""

    def template_namespace(self):
        namespace = super().template_namespace()
        server = self.name or ""
        namespace["servername"] = self.escape(server)
        namespace["server_suffix"] = "--" + self.escape(server) if server else ""
        return namespace


c.JupyterHub.spawner_class = ServerNamingSpawner

# --- Idle culler ----------------------------------------------------------------------------

# Stops notebook servers idle for IDLE_CULL_TIMEOUT seconds (0 turns it off), so idle
# users do not hold memory and kernels on the gateway; IDLE_CULL_MAX_AGE (0: none) also
# stops servers older than that, busy or not; IDLE_CULL_CONCURRENCY bounds its parallel
# calls to the hub API. Kernels the gateway holds without a server are culled by the
# gateway itself (KG_CULL_*, in its own config).
idle_timeout = env_int("IDLE_CULL_TIMEOUT", 3600)
idle_max_age = env_int("IDLE_CULL_MAX_AGE", 0)
if idle_timeout > 0:
    c.JupyterHub.services = [
        {
            "name": "jupyterhub-idle-culler",
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--concurrency={env_int('IDLE_CULL_CONCURRENCY', 10)}",
                *([f"--max-age={idle_max_age}"] if idle_max_age > 0 else []),
                f"--timeout={idle_timeout}",
                f"--cull-every={max(60, min(600, idle_timeout // 5))}",
            ],
        }
    ]
    c.JupyterHub.load_roles.append(
        {
            "name": "jupyterhub-idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["jupyterhub-idle-culler"],
        }
    )

# --- Prometheus metrics -----------------------------------------------------------------

# /hub/metrics answers only a token with the read:metrics scope (authenticate_prometheus,
# JupyterHub's default, kept on: the metrics name users and servers). The program makes
# one such token (the `metrics_token` stack output) for an external `prometheus` service
# that has that one scope: it can read no user, server or token.
c.JupyterHub.authenticate_prometheus = True
if os.environ.get("HUB_METRICS_TOKEN"):
    c.JupyterHub.services = [
        *(c.JupyterHub.services if "services" in c.JupyterHub else []),
        {"name": "prometheus", "api_token": os.environ["HUB_METRICS_TOKEN"]},
    ]
    c.JupyterHub.load_roles.append(
        {"name": "prometheus-scraper", "scopes": ["read:metrics"], "services": ["prometheus"]}
    )

# `make status` asks who has a running server with a token of its own (the `status_token`
# stack output) held by a `status` service that may list users and read their servers'
# models and nothing else: no tokens, no state, no starting or stopping.
if os.environ.get("HUB_STATUS_TOKEN"):
    c.JupyterHub.services = [
        *(c.JupyterHub.services if "services" in c.JupyterHub else []),
        {"name": "status", "api_token": os.environ["HUB_STATUS_TOKEN"]},
    ]
    c.JupyterHub.load_roles.append(
        {"name": "status-reader", "scopes": ["list:users", "read:servers"], "services": ["status"]}
    )

# --- Logs -------------------------------------------------------------------------------

# Users' notebook containers rotate their logs like the stack's own containers (json-file,
# DOCKER_LOG_MAX_SIZE x DOCKER_LOG_MAX_FILE). Merged into extra_host_config, not set.
c.DockerSpawner.extra_host_config = {
    **(c.DockerSpawner.extra_host_config if "extra_host_config" in c.DockerSpawner else {}),
    "log_config": {
        "type": "json-file",
        "config": {
            "max-size": os.environ.get("DOCKER_LOG_MAX_SIZE", "10m"),
            "max-file": str(env_int("DOCKER_LOG_MAX_FILE", 5)),
        },
    },
}

# DockerSpawner removes a stopped (or culled) server's container, and its log with it:
# the hub saves the log first, to NOTEBOOK_LOG_DIR/<user>/ on its data volume, and a
# service (notebook_logs.py, beside this file) removes saved logs after
# NOTEBOOK_LOG_RETENTION_DAYS (0: nothing is saved).
log_keep_days = env_int("NOTEBOOK_LOG_RETENTION_DAYS", 7)
if log_keep_days > 0:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import notebook_logs

    NOTEBOOK_LOG_DIR = os.environ.get("NOTEBOOK_LOG_DIR", "/data/notebook-logs")
    # DockerSpawner creates its containers with auto_remove when `remove` is on: Docker
    # then deletes a stopped container, log and all, before the hub can read it. Without
    # it DockerSpawner still removes the container on stop (remove_object, below), and
    # any one left over at the user's next start.
    c.DockerSpawner.extra_host_config = {**c.DockerSpawner.extra_host_config, "auto_remove": False}
    _spawner_base = c.JupyterHub.spawner_class
    if isinstance(_spawner_base, str):
        _spawner_base = import_item(_spawner_base)

    class LogKeepingSpawner(_spawner_base):
        """The configured spawner, saving the container's log before removing it."""

        async def remove_object(self):
            try:
                data = await self.docker(
                    "logs", self.object_id, stdout=True, stderr=True, timestamps=True
                )
                path = notebook_logs.save_log(NOTEBOOK_LOG_DIR, self.user.name, self.name, data)
                self.log.info("Saved the log of %s to %s", self.object_name, path)
            except Exception:
                # A log that cannot be read or written must not keep the server running.
                self.log.exception("Could not save the log of %s", self.object_name)
            await super().remove_object()

    c.JupyterHub.spawner_class = LogKeepingSpawner
    c.JupyterHub.services = [
        *(c.JupyterHub.services if "services" in c.JupyterHub else []),
        {
            "name": "notebook-log-reaper",
            "command": [
                sys.executable,
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "notebook_logs.py"),
                f"--dir={NOTEBOOK_LOG_DIR}",
                f"--keep-days={log_keep_days}",
            ],
        },
    ]

# --- This stack's objects only, and spawn readiness -------------------------------------

# Several stacks may share the Docker host: the hub labels the notebook containers and
# users' volumes it makes with STACK_LABEL and refuses a spawn whose container or volume
# name is another stack's (jhz_stack.py, beside this file). The leftovers the program
# removes are chosen by the same label (components/hub/container.py).
# Then the configured spawner, guarded, is ready as soon as the server's port listens
# instead of at the hub's next backoff poll (jhz_ready.py, beside this file): the final
# class is ready_when_listening(guarded(<the spawner above>)), every layer applied.
# Timeouts: a 2-core Docker host starting ten servers at once needs more than the 30 s
# JupyterHub allows by default for a server to answer.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jhz_stack  # noqa: E402 - beside this file in the image
from jhz_ready import ready_when_listening  # noqa: E402
from traitlets.utils.importstring import import_item as _import_item  # noqa: E402

STACK_LABEL = os.environ.get("STACK_LABEL", "jupyterhub-zos/dev")
c.DockerSpawner.extra_create_kwargs = {
    "labels": {jhz_stack.LABEL: STACK_LABEL},
    "working_dir": SERVER_WORKING_DIR,  # not the image's (the user's home): above
}
_spawner = c.JupyterHub.spawner_class
c.JupyterHub.spawner_class = ready_when_listening(
    jhz_stack.guarded(
        _import_item(_spawner) if isinstance(_spawner, str) else _spawner,
        owner=STACK_LABEL,
        keeps_unlabeled=os.environ.get("STACK_KEEPS_UNLABELED", "true").lower() == "true",
    )
)
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
