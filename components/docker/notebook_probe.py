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
WALK_LIMIT = 200000  # files looked at, at most (a stock conda environment has ~50000)


def _can(info, uid, gids, bits):
    """POSIX: the owner's bits for the owner (who can chmod anyway), the group's for a
    member, the others' for anyone else."""
    owner, group, other = bits
    if info.st_uid == uid:
        return True
    if info.st_gid in gids:
        return bool(info.st_mode & group)
    return bool(info.st_mode & other)


WRITE = (stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH)
READ = (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)


def _changeable(path, uid, gids):
    """What of `path` the user can change: itself or anything under it (every file, not
    only the top), or a parent of it (renaming it away needs a parent's write). A path
    not there yet: whether its nearest parent lets it be made."""
    found = []
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    child, parent = path, os.path.dirname(path)
    while parent and parent != child:
        info = os.lstat(parent)
        # In a sticky directory (/tmp) only an entry's owner may rename it.
        sticky = info.st_mode & stat.S_ISVTX and os.lstat(child).st_uid != uid
        if _can(info, uid, gids, WRITE) and not sticky:
            found.append(parent)
        child, parent = parent, os.path.dirname(parent)
    if _can(os.lstat(path), uid, gids, WRITE):
        found.append(path)
    if os.path.isdir(path) and not os.path.islink(path):
        looked = 0
        for folder, dirs, files in os.walk(path):
            for entry in dirs + files:
                looked += 1
                full = os.path.join(folder, entry)
                with contextlib.suppress(OSError):
                    if not os.path.islink(full) and _can(os.lstat(full), uid, gids, WRITE):
                        found.append(full)
            if looked > WALK_LIMIT or len(found) > 20:
                break
    return found


def _home_of(path, home):
    return path == home or path.startswith(home.rstrip("/") + "/")


def _outside_home(paths):
    home = os.path.realpath(os.path.expanduser("~"))
    seen = []
    for path in paths:
        real = os.path.realpath(path)
        if not _home_of(real, home) and real not in seen:
            seen.append(real)
    return seen


def _server_environment():
    """(where the server imports from, serves files from and reads its config from;
    its config directories). The import path whole (the home's too: the server imports
    from it); of Jupyter's data and config paths those outside the home (JupyterHub
    drops the home's: disable_user_config). With the server's own script."""
    imports = [p for p in sys.path if p]
    data, config = [], []
    with contextlib.suppress(Exception):  # without them, problems() says what is missing
        import jupyter_server

        package = os.path.dirname(jupyter_server.__file__)
        imports += [package]
    with contextlib.suppress(Exception):
        from jupyter_core.paths import jupyter_config_path, jupyter_path

        data, config = jupyter_path(), jupyter_config_path()
    script = _which("jupyterhub-singleuser")
    if script:
        imports += [os.path.dirname(script)]
    seen = []
    for path in [os.path.realpath(p) for p in imports] + _outside_home(data + config):
        if path not in seen:
            seen.append(path)
    return seen, _outside_home(config)


def _dumpable_guard(config_dirs):
    """The jupyter_server config file (outside the home) that makes the server
    non-dumpable, as images/notebook/jupyter_server_config.py does (found by its
    prctl(PR_SET_DUMPABLE, 0) call; not run); None if none has it."""
    for folder in config_dirs:
        path = os.path.join(folder, "jupyter_server_config.py")
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                if "prctl(PR_SET_DUMPABLE, 0" in file.read():
                    return path
        except OSError:
            continue
    return None


def _init(uid, gids):
    """The image's init (its entrypoint's program, else its command's, which the check
    passes in as JHZ_IMAGE_INIT) if the user can read it: then their processes can
    trace it. None if they cannot, or it is not in the image."""
    name = os.environ.get("JHZ_IMAGE_INIT") or ""
    path = name if os.path.isabs(name) else (_which(name) if name else None)
    if path and os.path.exists(path) and _can(os.stat(path), uid, gids, READ):
        return path
    return None


def facts():
    """What the image has (run in the image, as its user: the server's)."""
    uid, gids = os.getuid(), set(os.getgroups()) | {os.getgid()}
    environment, config_dirs = _server_environment()
    writable = []
    for path in environment:
        writable += [p for p in _changeable(path, uid, gids) if p not in writable]
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
        "readable_init": _init(uid, gids),
        "dumpable_guard": _dumpable_guard(config_dirs),
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
    if not found.get("dumpable_guard"):
        result.append(
            "no jupyter_server config outside the home makes the server non-dumpable, so "
            "the user's processes can trace it and change what it serves; add "
            "images/notebook/jupyter_server_config.py as "
            "/usr/local/etc/jupyter/jupyter_server_config.py"
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
