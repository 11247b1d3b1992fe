# ruff: noqa: UP032 (str.format: this runs under the old Pythons of old images)
# What a notebook image has, and whether that is what the hub and the gateway need,
# and whether its user could change their server (what it serves, on the hub's origin).
#
# Run INSIDE the image (`docker run --rm -i --entrypoint python IMAGE - SHOWN_AS
# HUB_JUPYTERHUB MIN_JUPYTER_SERVER [KEY] < this file`) by the notebook-image check
# (notebook_check.py; KEY: the config key that names the image), so it
# is written for any Python 3 an old image may have (3.5 on: no f-strings, no annotations,
# the standard library only). Prints one JSON line {"facts": ..., "problems": [...]};
# exits 1 when there are problems, naming the image's versions and what is needed.
import contextlib
import json
import os
import stat
import sys

REPORT_PREFIX = "notebook-image-check: "


def _version(dist):
    try:
        from importlib import metadata  # Python 3.8+

        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None
    except ImportError:
        try:
            import pkg_resources

            return pkg_resources.get_distribution(dist).version
        except Exception:
            return None


def _which(name):
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _gateway_client():
    try:
        from jupyter_server.gateway.gateway_client import GatewayClient  # noqa: F401

        return True
    except Exception:
        return False


NOTEBOOK_UID = 1000  # the hub writes each user's key for it (components/delivery/script.py)
# Files looked at, at most, in all (a stock conda environment has ~50000): past it the
# image is refused, not passed unlooked-at.
WALK_LIMIT = 500000
PR_GET_DUMPABLE = 3


def _can(info, uid, gids, bits):
    """POSIX: the owner's bits for the owner (who can chmod anyway), the group's for a
    member, the others' for anyone else."""
    owner, group, other = bits
    if info.st_uid == uid:
        return True
    if info.st_gid in gids:
        return bool(info.st_mode & group)
    return bool(info.st_mode & other)


def _may(path, info, uid, gids, bits):
    """_can, and where `path` has an access ACL, whose mask the group bits then show: a
    named entry may grant the user what the mask allows (ACL entries are not read)."""
    if _can(info, uid, gids, bits):
        return True
    if not info.st_mode & bits[1]:
        return False
    try:
        return "system.posix_acl_access" in os.listxattr(path, follow_symlinks=False)
    except (OSError, AttributeError):
        return False


WRITE = (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH)
READ = (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)


def _changeable(path, uid, gids, links=None, budget=None, unlisted=None):
    """What of `path` the user can change: itself or anything under it (every file, not
    only the top), or a parent of it (renaming it away needs a parent's write). A path
    not there yet: whether they can make it (its nearest parent, or one above, is theirs
    to write). Where a symlink under it points is added to `links` (the server's file
    handlers follow links), a directory under it the user cannot list to `unlisted`;
    `budget`, a one-item list, counts down the entries looked at."""
    found = []
    links = [] if links is None else links
    budget = [WALK_LIMIT] if budget is None else budget
    unlisted = [] if unlisted is None else unlisted
    missing = not os.path.lexists(path)
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    child, parent = path, os.path.dirname(path)
    while parent and parent != child:
        info = os.lstat(parent)
        # In a sticky directory (/tmp) only an entry's owner may rename it.
        sticky = info.st_mode & stat.S_ISVTX and os.lstat(child).st_uid != uid
        if _may(parent, info, uid, gids, WRITE) and not sticky:
            found.append(parent)
        child, parent = parent, os.path.dirname(parent)
    if _may(path, os.lstat(path), uid, gids, WRITE):
        found.append(path)
    if missing:
        return found  # what is beside it in its parent is not the server's
    if os.path.islink(path):
        links.append(os.path.realpath(path))
    elif os.path.isdir(path):
        for folder, dirs, files in os.walk(path, onerror=lambda e: unlisted.append(e.filename)):
            for entry in dirs + files:
                budget[0] -= 1
                full = os.path.join(folder, entry)
                with contextlib.suppress(OSError):
                    if os.path.islink(full):
                        links.append(os.path.realpath(full))
                    elif _may(full, os.lstat(full), uid, gids, WRITE):
                        found.append(full)
            if budget[0] < 0 or len(found) > 20:
                break
    return found


def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _changeable_environment(roots, uid, gids):
    """(what the user can change of the server's environment: of each root, and of
    wherever a symlink in one points; what of it could not be looked at: "" when all
    of it was, else why)."""
    found, queue, walked, budget, unlisted = [], list(roots), [], [WALK_LIMIT], []
    while queue and len(found) <= 20:
        root = os.path.realpath(queue.pop(0))
        if any(_under(root, done) for done in walked):
            continue
        walked.append(root)
        found += [
            p for p in _changeable(root, uid, gids, queue, budget, unlisted) if p not in found
        ]
        if budget[0] < 0:
            return found, "more than {} files and directories".format(WALK_LIMIT)
    if unlisted:
        return found, "{}, which its user cannot list".format(unlisted[0])
    return found, ""


def _outside_home(paths):
    home = os.path.realpath(os.path.expanduser("~"))
    seen = []
    for path in paths:
        real = os.path.realpath(path)
        if not _under(real, home) and real not in seen:
            seen.append(real)
    return seen


def _server_environment():
    """Where the server imports from, serves files from and reads its config from: the
    import path whole (the home's too: the server imports from it); of Jupyter's data and
    config paths those outside the home (JupyterHub drops the home's:
    disable_user_config), but JUPYTER_CONFIG_DIR wherever it is (JupyterHub keeps it, and
    the server serves files from it). With the server's own script, its Python's prefix
    and /usr/local/bin."""
    imports = [p for p in sys.path if p]
    data, config = [], []
    with contextlib.suppress(Exception):  # without them, problems() says what is missing
        import jupyter_server

        imports += [os.path.dirname(jupyter_server.__file__)]
    with contextlib.suppress(Exception):
        from jupyter_core.paths import jupyter_config_path, jupyter_path

        data, config = jupyter_path(), jupyter_config_path()
    script = _which("jupyterhub-singleuser")
    if script:
        imports += [os.path.dirname(script)]
    # The environment the server runs from whole (its Python, conda's activate.d
    # hooks) and docker-stacks' start scripts and their hook directories.
    imports += [sys.prefix, "/usr/local/bin"]
    kept = [os.environ["JUPYTER_CONFIG_DIR"]] if os.environ.get("JUPYTER_CONFIG_DIR") else []
    seen = []
    for path in [os.path.realpath(p) for p in imports + kept] + _outside_home(data + config):
        if path not in seen:
            seen.append(path)
    return seen


def _server_config():
    """(the server's config, loaded as the server loads it at start: jupyter_server's
    ServerApp, the home's config dropped by JupyterHub's own code; why it did not load).
    Loading runs the image's config files, as the server's start does: the probe sees
    what they do (the process non-dumpable after them), not what they say."""
    try:
        from jupyter_server.serverapp import ServerApp
    except Exception:
        return None, None  # problems() says jupyter_server is missing
    try:
        app = ServerApp()
        app.raise_config_file_errors = True  # else traitlets logs a broken file and goes on
        with contextlib.suppress(ImportError):  # problems() says jupyterhub is missing
            from jupyterhub.singleuser._disable_user_config import _disable_user_config

            _disable_user_config(app)
        app.load_config_file(suppress_errors=False)
        return app.config, None
    except (Exception, SystemExit) as e:  # a config's SystemExit stops the server's start
        return None, "{}: {}".format(type(e).__name__, e)


def _template_basedirs(config):
    """TemplateExporter.extra_template_basedirs as the config sets it; None where it does
    not set a list (nbconvert's default: the working directory)."""
    value = (config or {}).get("TemplateExporter", {}).get("extra_template_basedirs")
    return [str(p) for p in value] if isinstance(value, (list, tuple)) else None


def _pdf_export(config):
    """Whether the config leaves nbconvert's PDF export on (None: no config loaded)."""
    if config is None:
        return None
    return (config.get("PDFExporter") or {}).get("enabled", True) is not False


def _dumpable():
    """Whether this process (the probe, after loading the server's config) is dumpable."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0


def _init(uid, gids):
    """The image's init (its entrypoint's program, else its command's, which the check
    passes in as JHZ_IMAGE_INIT) if the user can read it: then their processes can
    trace it. None if they cannot, or it is not in the image."""
    name = os.environ.get("JHZ_IMAGE_INIT") or ""
    path = name if os.path.isabs(name) else (_which(name) if name else None)
    if path and os.path.exists(path):
        real = os.path.realpath(path)  # a link's own bits and ACL say nothing
        if _may(real, os.stat(real), uid, gids, READ):
            return path
    return None


def facts():
    """What the image has (run in the image, as its user: the server's)."""
    uid, gids = os.getuid(), set(os.getgroups()) | {os.getgid()}
    environment = _server_environment()
    config, config_error = _server_config()
    basedirs = _template_basedirs(config)
    absolute = [p for p in basedirs or [] if os.path.isabs(p)]
    writable, unseen = _changeable_environment(environment + absolute, uid, gids)
    return {
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "jupyter_server": _version("jupyter_server"),
        "jupyterhub": _version("jupyterhub"),
        "notebook": _version("notebook"),
        "jupyterhub_singleuser": _which("jupyterhub-singleuser"),
        "gateway_client": _gateway_client(),
        "notebook_uid": uid,
        "user_writable": writable[:20],
        "user_writable_more": max(0, len(writable) - 20),
        "environment_not_looked_at": unseen,
        "readable_init": _init(uid, gids),
        "config_error": config_error,
        "dumpable_after_config": _dumpable() if config is not None else None,
        "template_basedirs": basedirs,
        "pdf_export": _pdf_export(config),
    }


def _release(version):
    """(major, minor) of a version string such as 2.17.0 or 5.3.0rc1; None if unreadable."""
    parts = []
    for part in (version or "").split(".")[:2]:
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            return None
        parts.append(int(digits))
    return tuple(parts) if len(parts) == 2 else None


def problems(found, hub_jupyterhub, min_server):
    """What is missing, one sentence each (pure: the facts in, the problems out)."""
    result = []
    server = found.get("jupyter_server")
    need = _release(min_server)
    have = _release(server)
    if server is None:
        old = found.get("notebook")
        result.append(
            "jupyter_server is not installed{}: the notebook server needs jupyter_server >= {} "
            "for its gateway client, which sends every kernel to the Kernel Gateway".format(
                " (only the classic notebook {}, which runs kernels locally)".format(old)
                if old
                else "",
                min_server,
            )
        )
    elif have is None or need is None or have < need:
        result.append(
            "jupyter_server {} is too old: >= {} is needed for the gateway client the hub "
            "configures (JUPYTER_GATEWAY_* with client certificates)".format(server, min_server)
        )
    elif not found.get("gateway_client"):
        result.append(
            "jupyter_server {} has no importable gateway client "
            "(jupyter_server.gateway.gateway_client)".format(server)
        )
    hub = found.get("jupyterhub")
    hub_major = _release(hub_jupyterhub)
    if not found.get("jupyterhub_singleuser") or hub is None:
        result.append(
            "jupyterhub-singleuser is not installed: DockerSpawner starts it, and it must come "
            "from JupyterHub {}.x to match the hub ({})".format(
                hub_major[0] if hub_major else "?", hub_jupyterhub
            )
        )
    else:
        have_hub = _release(hub)
        if have_hub is None or hub_major is None or have_hub[0] != hub_major[0]:
            result.append(
                "jupyterhub {} does not match the hub's {}: jupyterhub-singleuser must be from "
                "JupyterHub {}.x".format(hub, hub_jupyterhub, hub_major[0] if hub_major else "?")
            )
    # The server is on the hub's origin and serves some files to anyone: what the user can
    # change of it would run in other users' browsers as the hub's own pages.
    uid = found.get("notebook_uid")
    if uid is not None and uid != NOTEBOOK_UID:
        result.append(
            "the image runs as uid {}: DockerSpawner starts the server as the image's user, "
            "and the hub writes each user's client key for uid {} (docker-stacks' "
            "NB_UID); end the Dockerfile with USER {}".format(uid, NOTEBOOK_UID, NOTEBOOK_UID)
        )
    writable = found.get("user_writable") or []
    if writable:
        more = len(writable) > 4 or found.get("user_writable_more")
        result.append(
            "the notebook user (uid {}) can change the server's environment ({}{}): a module "
            "or page put there would be served by their server, on the hub's origin, to other "
            "users; make it root's (chown -R root:root, chmod -R go-w)".format(
                uid, ", ".join(writable[:4]), " and more" if more else ""
            )
        )
    if found.get("readable_init"):
        result.append(
            "{}, the image's init, is readable by the notebook user, so their processes can "
            "trace it and keep the container, and the server's port, after the server; make "
            "it execute-only (chmod 0711)".format(found["readable_init"])
        )
    if found.get("environment_not_looked_at"):
        result.append(
            "the check could not look at all of the server's environment ({}), so it cannot "
            "say the notebook user cannot change any of it; make it smaller or listable "
            "(kernels run on the gateway: their packages belong there)".format(
                found["environment_not_looked_at"]
            )
        )
    # The server's config is jupyter_server's: without it, the first problem says so.
    if server is not None and found.get("config_error"):
        result.append(
            "the server's config does not load ({}), so the server would start without it".format(
                found["config_error"]
            )
        )
    if server is None or found.get("config_error"):
        return result
    if found.get("dumpable_after_config") is not False:
        result.append(
            "no jupyter_server config outside the home makes the server non-dumpable "
            "(prctl(PR_SET_DUMPABLE, 0) when it loads), so the user's processes can trace it "
            "and change what it serves; add images/notebook/jupyter_server_config.py as "
            "/usr/local/etc/jupyter/jupyter_server_config.py"
        )
    if found.get("pdf_export"):
        result.append(
            "the server's config leaves nbconvert's PDF export on (PDFExporter.enabled): it "
            "moves the whole server into a temporary directory its user owns while it runs "
            "(chdir), and what the server then reads from its working directory is "
            "theirs (templates whose conf.json names code to run, nbclassic's exporters); "
            "set it to False as images/notebook/jupyter_server_config.py does"
        )
    basedirs = found.get("template_basedirs")
    if basedirs is None or not all(os.path.isabs(p) for p in basedirs):
        result.append(
            "the server's config leaves nbconvert looking for templates in the working "
            "directory (TemplateExporter.extra_template_basedirs{}): a PDF export moves the "
            "server into a directory its user owns, and an export meanwhile would run code "
            "of theirs from there (a template's conf.json); set it to [] as "
            "images/notebook/jupyter_server_config.py does".format(
                " = {}".format(basedirs) if basedirs is not None else ", not set"
            )
        )
    return result


DEFAULT_KEY = "DOCKER_NOTEBOOK_IMAGE"
CHOICES_KEY = "DOCKER_NOTEBOOK_IMAGES"


def message(image, found, found_problems, key=DEFAULT_KEY):
    """The one error the check fails with: the key and image, the versions found, what
    is needed."""
    versions = ", ".join(
        "{} {}".format(name, found.get(name) or "none")
        for name in ("python", "jupyter_server", "jupyterhub", "notebook")
    )
    if key == CHOICES_KEY:
        what = "{} entry {}".format(key, image)
        fix = "Remove it from {}".format(key)
    else:
        what = "{} {}".format(key, image)
        fix = "Unset {} to use images/notebook".format(key)
    return (
        "{} cannot work with this hub (found: {}):\n".format(what, versions)
        + "".join("  - {}\n".format(p) for p in found_problems)
        + fix
        + ", or build one that has them: FROM a current quay.io/jupyter image with the same "
        "jupyterhub, the way images/notebook/Dockerfile does (docs/howto/day-2.md)."
    )


def parse_report(stdout):
    """(facts, problems) from the probe's output (its last JSON line, after the prefix)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(REPORT_PREFIX):
            report = json.loads(line[len(REPORT_PREFIX) :])
            return report["facts"], report["problems"]
    raise ValueError("no notebook-image-check report in the output")


def main(argv):
    image, hub_jupyterhub, min_server = argv[1], argv[2], argv[3]
    key = argv[4] if len(argv) > 4 else DEFAULT_KEY
    found = facts()
    found_problems = problems(found, hub_jupyterhub, min_server)
    print(REPORT_PREFIX + json.dumps({"facts": found, "problems": found_problems}))
    if found_problems:
        sys.stderr.write(message(image, found, found_problems, key) + "\n")
        return 1
    return 0


if __name__ == "__main__" or __name__ == "<stdin>":
    sys.exit(main(sys.argv))
