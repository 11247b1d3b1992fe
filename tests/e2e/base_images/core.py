"""Make the project's four pinned base images available on the local Docker engine.

For each pinned `FROM` image: if it is there already (the real image, or a stand-in built
from the current recipe), nothing happens; otherwise it is pulled (bounded wait); if no
registry answers, a *stand-in* is built from a debootstrap'd Debian bookworm rootfs and
tagged with exactly the pinned name, so images/*/Dockerfile build unchanged.

Stand-ins are test fixtures, not the real images: every one carries the label
`org.jupyterhub-zos.standin=true` and the hash of its recipe (its Dockerfile and files,
the host CA bundle copied in, the rootfs recipe), and is rebuilt only when that hash
changes. DIFFERENCES.md beside this file lists how they differ from the real images.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests

HERE = Path(__file__).resolve().parent
RECIPES = HERE / "standins"

LABEL_STANDIN = "org.jupyterhub-zos.standin"
LABEL_RECIPE = "org.jupyterhub-zos.standin.recipe"
LABEL_FOR = "org.jupyterhub-zos.standin.for"

# The CA bundle of the host: it trusts the TLS-inspecting proxy in front of PyPI and npm.
HOST_CA_BUNDLE = Path(os.environ.get("JZOS_HOST_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
CA_FILE_IN_CONTEXT = "host-ca-bundle.crt"

ROOTFS_IMAGE = "jupyterhub-zos-standin/bookworm-rootfs:minbase"
ROOTFS = {
    "suite": "bookworm",
    "variant": "minbase",
    "mirror": "http://deb.debian.org/debian",
    # What debian:bookworm-slim's apt sees: the release, its updates and security.
    "sources.list": (
        "deb http://deb.debian.org/debian bookworm main\n"
        "deb http://deb.debian.org/debian bookworm-updates main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n"
    ),
    # Left by debootstrap; not in a slim image (the host's resolver and name included).
    "remove": [
        "var/cache/apt/archives/*.deb",
        "var/lib/apt/lists/*",
        "etc/resolv.conf",
        "etc/hostname",
    ],
    "changes": [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["bash"]',
    ],
}
ROOTFS_IDENTITY = "jupyterhub-zos stand-in rootfs v1"

PULL_TIMEOUT = float(os.environ.get("JZOS_PULL_TIMEOUT", "20"))
BUILD_TIMEOUT = 3600
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


@dataclass(frozen=True)
class StandIn:
    key: str  # directory under standins/
    image: str  # the pinned name, exactly as images/<user>/Dockerfile says FROM
    user: str  # the project image built FROM it

    @property
    def recipe_dir(self) -> Path:
        return RECIPES / self.key


STANDINS: tuple[StandIn, ...] = (
    StandIn("debian", "debian:bookworm-20251229-slim", "ldap"),
    StandIn("python", "python:3.11.13-slim-bookworm", "gateway"),
    StandIn("hub", "quay.io/jupyterhub/jupyterhub:5.3.0", "hub"),
    StandIn("notebook", "quay.io/jupyter/base-notebook:2025-06-02", "notebook"),
)
BY_IMAGE = {s.image: s for s in STANDINS}


class BaseImageError(RuntimeError):
    """A base image could not be made available; the message says why and what to do."""


class ToolMissing(BaseImageError):
    """Building a stand-in needs something this machine lacks (debootstrap, root)."""


def log(message: str) -> None:
    print(f"base-images: {message}", file=sys.stderr, flush=True)


def client(timeout: float = BUILD_TIMEOUT) -> docker.DockerClient:
    return docker.from_env(timeout=timeout)


def engine_answers() -> bool:
    try:
        return bool(client(timeout=5).ping())
    except (docker.errors.DockerException, requests.RequestException):
        return False


# ---------------------------------------------------------------- recipe hashes


def rootfs_hash() -> str:
    text = json.dumps({"id": ROOTFS_IDENTITY, **ROOTFS}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def recipe_hash(standin: StandIn) -> str:
    """sha256 over the stand-in's files, the host CA bundle and the rootfs recipe."""
    h = hashlib.sha256()
    h.update(f"image={standin.image}\nrootfs={rootfs_hash()}\n".encode())
    for path in sorted(p for p in standin.recipe_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(standin.recipe_dir).as_posix()
        h.update(f"file={rel}\n".encode() + path.read_bytes() + b"\n")
    h.update(b"ca=" + host_ca_bundle().read_bytes())
    return h.hexdigest()


def host_ca_bundle() -> Path:
    if not HOST_CA_BUNDLE.is_file():
        raise BaseImageError(
            f"no CA bundle at {HOST_CA_BUNDLE} (install ca-certificates, or set "
            "JZOS_HOST_CA_BUNDLE to the bundle that trusts this network's proxy)"
        )
    return HOST_CA_BUNDLE


# ---------------------------------------------------------------- local state


def labels_of(image: str) -> dict[str, str] | None:
    """The image's labels, or None when no image has that name locally."""
    try:
        found = client(timeout=30).images.get(image)
    except docker.errors.ImageNotFound:
        return None
    return dict(found.attrs.get("Config", {}).get("Labels") or {})


def status(standin: StandIn) -> str:
    """'real' (a non-stand-in image has the name), 'current', 'stale' or 'missing'."""
    labels = labels_of(standin.image)
    if labels is None:
        return "missing"
    if labels.get(LABEL_STANDIN) != "true":
        return "real"
    return "current" if labels.get(LABEL_RECIPE) == recipe_hash(standin) else "stale"


# ---------------------------------------------------------------- pull


def try_pull(image: str, timeout: float = PULL_TIMEOUT) -> str | None:
    """Pull the real image. None on success, else why not. `timeout` bounds each wait
    for the daemon (a registry that never answers), not a download that makes progress."""
    repo, _, tag = image.rpartition(":")
    try:
        api = docker.APIClient(timeout=timeout, version="auto")
        for event in api.pull(repo, tag=tag, stream=True, decode=True):
            if "error" in event:
                return str(event["error"]).strip()
    except docker.errors.APIError as exc:
        return str(exc.explanation or exc).strip()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


# ---------------------------------------------------------------- rootfs


def _find(name: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))


def rootfs_current() -> bool:
    labels = labels_of(ROOTFS_IMAGE)
    return labels is not None and labels.get(LABEL_RECIPE) == rootfs_hash()


def build_rootfs(timings: dict[str, float]) -> None:
    """debootstrap a minbase bookworm and `docker import` it as ROOTFS_IMAGE."""
    debootstrap = _find("debootstrap")
    if not debootstrap:
        raise ToolMissing(
            "debootstrap is not installed; stand-in base images are built from a debootstrap'd "
            "Debian (run .ci/install-system-deps, or apt-get install debootstrap)"
        )
    if os.geteuid() != 0:
        raise ToolMissing("debootstrap needs root to build the stand-ins' rootfs (run as root)")
    workdir = Path(tempfile.mkdtemp(prefix="jupyterhub-zos-rootfs-", dir="/var/tmp"))
    target = workdir / "rootfs"
    logfile = workdir / "debootstrap.log"
    try:
        log(f"debootstrap {ROOTFS['variant']} {ROOTFS['suite']} from {ROOTFS['mirror']} ...")
        started = time.monotonic()
        with logfile.open("wb") as out:
            done = subprocess.run(
                [
                    debootstrap,
                    f"--variant={ROOTFS['variant']}",
                    ROOTFS["suite"],
                    str(target),
                    ROOTFS["mirror"],
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            raise BaseImageError(
                f"debootstrap failed (exit {done.returncode}); its log ends:\n{_tail(logfile)}"
            )
        timings["debootstrap"] = time.monotonic() - started
        _tidy_rootfs(target)
        started = time.monotonic()
        changes = [
            *ROOTFS["changes"],
            f"LABEL {LABEL_STANDIN}=true {LABEL_RECIPE}={rootfs_hash()}",
        ]
        import_rootfs(target, ROOTFS_IMAGE, changes)
        timings["rootfs import"] = time.monotonic() - started
        log(f"imported {ROOTFS_IMAGE}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def import_rootfs(target: Path, image: str, changes: list[str]) -> None:
    """`tar -C target -c . | docker import --change ... - image`, through the API."""
    repo, _, tag = image.rpartition(":")
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(target), "-c", "."], stdout=subprocess.PIPE
    )
    error = None
    try:
        api = docker.APIClient(timeout=BUILD_TIMEOUT, version="auto")
        out = api.import_image(
            src=tar.stdout, repository=repo, tag=tag, changes=changes, stream_src=True
        )
        for line in out.splitlines() if isinstance(out, str) else [str(out)]:
            if '"error"' in line:
                error = line
    except docker.errors.APIError as exc:
        error = str(exc.explanation or exc)
    finally:
        tar.stdout.close()
    if tar.wait() != 0 or error:
        # A failed tar still imports (an empty image): never leave that under the tag.
        with contextlib.suppress(docker.errors.APIError):
            api.remove_image(image)
        raise BaseImageError(f"docker import of {target} failed: {error or 'tar failed'}")


def _tidy_rootfs(target: Path) -> None:
    for pattern in ROOTFS["remove"]:
        for path in target.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                if path.name not in ("partial", "auxfiles"):
                    shutil.rmtree(path)
            elif path.name != "lock":
                path.unlink()
    (target / "etc/apt/sources.list").write_text(ROOTFS["sources.list"])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------- stand-in build


@contextlib.contextmanager
def build_context(standin: StandIn) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"jupyterhub-zos-standin-{standin.key}-") as tmp:
        ctx = Path(tmp)
        shutil.copytree(standin.recipe_dir, ctx, dirs_exist_ok=True)
        shutil.copyfile(host_ca_bundle(), ctx / CA_FILE_IN_CONTEXT)
        yield ctx


def build_standin(standin: StandIn, logdir: Path) -> Path:
    """Build the stand-in tagged with the pinned name; returns the build log's path."""
    logdir.mkdir(parents=True, exist_ok=True)
    logfile = logdir / f"standin-{standin.key}.log"
    labels = {
        LABEL_STANDIN: "true",
        LABEL_RECIPE: recipe_hash(standin),
        LABEL_FOR: standin.image,
    }
    with build_context(standin) as ctx:
        docker_build(ctx, standin.image, logfile, labels=labels)
    return logfile


def docker_build(
    context: Path,
    tag: str,
    logfile: Path,
    *,
    labels: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    nocache: bool = False,
) -> None:
    """The legacy builder (what `DOCKER_BUILDKIT=0 docker build` uses), via the API;
    `nocache` rebuilds every layer (a cold build on present base images)."""
    api = docker.APIClient(timeout=BUILD_TIMEOUT, version="auto")
    error = None
    with logfile.open("w") as out:
        for event in api.build(
            path=str(context),
            tag=tag,
            rm=True,
            forcerm=True,
            decode=True,
            labels=labels,
            nocache=nocache,
        ):
            text = event.get("stream") or event.get("status") or ""
            if text:
                out.write(text if text.endswith("\n") else text + "\n")
                if on_line and text.startswith("Step "):
                    on_line(text.strip())
            if "error" in event:
                error = str(event["error"]).strip()
                out.write(f"ERROR: {error}\n")
    if error:
        raise BaseImageError(f"building {tag} failed: {error}\n{_tail(logfile)}")


# ---------------------------------------------------------------- ensure


def default_logdir() -> Path:
    return Path(tempfile.gettempdir()) / "jupyterhub-zos-base-images"


def ensure(
    images: list[str] | None = None,
    *,
    pull: bool = True,
    pull_timeout: float = PULL_TIMEOUT,
    logdir: Path | None = None,
) -> dict[str, float]:
    """Make each pinned base image available; returns seconds spent per step. One
    `ensure` at a time per machine (a second waits), so parallel runs build once."""
    logdir = logdir or default_logdir()
    wanted = [BY_IMAGE[i] for i in images] if images else list(STANDINS)
    with machine_lock():
        return _ensure(wanted, pull, pull_timeout, logdir)


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / "jupyterhub-zos-base-images.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure(
    wanted: list[StandIn], pull: bool, pull_timeout: float, logdir: Path
) -> dict[str, float]:
    timings: dict[str, float] = {}
    for standin in wanted:
        state = status(standin)
        if state in ("real", "current"):
            log(f"{standin.image}: {'the real image' if state == 'real' else 'stand-in'} is here")
            continue
        if pull:
            started = time.monotonic()
            why = try_pull(standin.image, pull_timeout)
            timings[f"pull {standin.key}"] = time.monotonic() - started
            if why is None:
                log(f"{standin.image}: pulled the real image")
                continue
            log(f"{standin.image}: no pull ({why.splitlines()[0][:200]}); building a stand-in")
        if not rootfs_current():
            build_rootfs(timings)
        started = time.monotonic()
        logfile = build_standin(standin, logdir)
        timings[f"stand-in {standin.key}"] = time.monotonic() - started
        seconds = timings[f"stand-in {standin.key}"]
        log(f"{standin.image}: stand-in built ({seconds:.0f} s, log {logfile})")
    return timings
