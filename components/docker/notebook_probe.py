# ruff: noqa: UP032 (str.format: this runs under the old Pythons of old images)
# What a notebook image has, and whether that is what the hub and the gateway need.
#
# Run INSIDE the image (`docker run --rm -i --entrypoint python IMAGE - SHOWN_AS
# HUB_JUPYTERHUB MIN_JUPYTER_SERVER [KEY] < this file`) by the notebook-image check
# (notebook_check.py; KEY: the config key that names the image), so it
# is written for any Python 3 an old image may have (3.5 on: no f-strings, no annotations,
# the standard library only). Prints one JSON line {"facts": ..., "problems": [...]};
# exits 1 when there are problems, naming the image's versions and what is needed.
import json
import os
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


def facts():
    """What the image has (run in the image)."""
    return {
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "jupyter_server": _version("jupyter_server"),
        "jupyterhub": _version("jupyterhub"),
        "notebook": _version("notebook"),
        "jupyterhub_singleuser": _which("jupyterhub-singleuser"),
        "gateway_client": _gateway_client(),
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
        + ", or choose an image that has them (e.g. a current quay.io/jupyter/base-notebook "
        "with the same jupyterhub)."
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
