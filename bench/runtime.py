"""The running system's costs, on the local Docker engine (`make bench` adds them when an
engine answers): image builds cold and warm, apply to a healthy hub, a no-change apply,
login to the first kernel output for 1 user and for 10 at once, container memory.

The graph is applied by the local applier (tests/e2e/deploy.py), the stand-in for
`pulumi up` here; base images are real or stand-ins (tests/e2e/base_images).
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import tempfile
import time
from pathlib import Path

from components.docker import names
from tests.e2e.base_images import core
from tests.e2e.dev_stack import Deployment, changes, container, deploy, remove_leftovers, up
from tests.tooling import free_port

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ("hub", "notebook", "gateway", "ldap")
CROWD = [f"bench{i:02d}" for i in range(1, 11)]
# One at a time, each their first spawn: the 1-user figure is the median of these.
SOLO = ["alice", "bob", "carol"]


def build_seconds(logdir: Path) -> dict[str, dict[str, float]]:
    """Each project image built with no cache (cold, base images present) and again
    (warm: every layer cached), tagged apart from `make up`'s."""
    out = {}
    for image in IMAGES:
        tag = f"jupyterhub-zos-bench/{image}:build"
        timings = {}
        for kind, nocache in (("cold", True), ("warm", False)):
            started = time.monotonic()
            core.docker_build(
                ROOT / "images" / image, tag, logdir / f"{image}-{kind}.log", nocache=nocache
            )
            timings[kind] = round(time.monotonic() - started, 1)
        out[image] = timings
    return out


def first_output(d: Deployment, name: str) -> dict[str, float]:
    """Login form to the first kernel output on the gateway, and where the time goes:
    login, spawn (container start to the server answering the hub), kernel (start on
    the gateway and the first result)."""
    started = time.monotonic()
    user = d.logged_in(name)
    logged_in = time.monotonic()
    user.start_server()
    spawned = time.monotonic()
    if user.run_once("1 + 1") != "2":
        raise RuntimeError(f"{name}: wrong kernel output")
    done = time.monotonic()
    return {
        "total": round(done - started, 1),
        "login": round(logged_in - started, 1),
        "spawn": round(spawned - logged_in, 1),
        "kernel": round(done - spawned, 1),
    }


def memory_mb(client, name: str) -> float:
    stats = container(client, name).stats(stream=False)
    return round(stats["memory_stats"]["usage"] / 2**20, 1)


def measure() -> dict:
    client = core.client()
    core.ensure()
    work = Path(tempfile.mkdtemp(prefix="jzos-bench-"))
    pki_dir = Path(tempfile.mkdtemp(prefix="jzos-bench-pki-"))
    results: dict = {"build_seconds": build_seconds(work)}
    remove_leftovers(client)
    d = Deployment({}, free_port(), work / "hub-ca.pem", work, pki_dir, [])
    try:
        started = time.monotonic()
        up(
            d,
            "--set",
            f"HUB_HTTPS_PORT={d.port}",
            "--set",
            f"HUB_PKI_DIR={pki_dir}",
            "--set",
            f"HUB_ALLOWED_USERS={json.dumps([*SOLO, *CROWD])}",
        )
        results["apply_to_healthy_hub_seconds"] = round(time.monotonic() - started, 1)
        results["noop_apply_changes"] = changes(up(d))
        solo = sorted((first_output(d, name) for name in SOLO), key=lambda r: r["total"])
        median = solo[len(solo) // 2]
        results["login_to_output_1_user_seconds"] = median["total"]
        results["login_to_output_1_user_breakdown"] = median
        results["login_to_output_1_user_runs"] = [r["total"] for r in solo]
        with concurrent.futures.ThreadPoolExecutor(len(CROWD)) as pool:
            started = time.monotonic()
            each = [r["total"] for r in pool.map(lambda n: first_output(d, n), CROWD)]
        results["login_to_output_10_users"] = {
            "all_done_seconds": round(time.monotonic() - started, 1),
            "slowest_seconds": round(max(each), 1),
            "median_seconds": round(sorted(each)[len(each) // 2], 1),
        }
        results["memory_mb"] = {
            "hub": memory_mb(client, names.HUB_CONTAINER),
            "gateway": memory_mb(client, names.GATEWAY_CONTAINER),
            "notebook (one user)": memory_mb(client, names.notebook_container_name("alice")),
        }
    finally:
        try:
            deploy("down", "--stack", "dev", state_dir=work)
        finally:
            remove_leftovers(client)
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(pki_dir, ignore_errors=True)
    return results


def checks(runtime: dict) -> list[tuple[str, bool, str]]:
    one = runtime["login_to_output_1_user_seconds"]
    ten = runtime["login_to_output_10_users"]["all_done_seconds"]
    noop = runtime["noop_apply_changes"]
    return [
        ("runtime: warm login to first output, 1 user <= 5 s", one <= 5, f"{one} s"),
        ("runtime: warm login to first output, 10 at once <= 60 s", ten <= 60, f"{ten} s"),
        ("runtime: a no-change apply makes 0 Docker changes", noop == 0, str(noop)),
    ]


def markdown(runtime: dict) -> str:
    builds = runtime["build_seconds"]
    lines = [
        "",
        "## The running system (local Docker engine)",
        "",
        "Applied by the local applier (tests/e2e/deploy.py, the stand-in for `pulumi up`) on",
        "images built from the project's Dockerfiles over real or stand-in base images.",
        "",
        "| image | cold build s (no cache) | warm build s |",
        "|---|---|---|",
        *(f"| {image} | {t['cold']} | {t['warm']} |" for image, t in builds.items()),
        "",
        f"- apply to a healthy hub (images warm): {runtime['apply_to_healthy_hub_seconds']} s",
        f"- a second apply with nothing changed: {runtime['noop_apply_changes']} changes",
        "- login to the first kernel output (spawn included), 1 user, median of "
        f"{len(runtime['login_to_output_1_user_runs'])} users one after another "
        f"({', '.join(map(str, runtime['login_to_output_1_user_runs']))} s): "
        f"{runtime['login_to_output_1_user_seconds']} s ("
        + ", ".join(
            f"{k} {v} s"
            for k, v in runtime["login_to_output_1_user_breakdown"].items()
            if k != "total"
        )
        + ")",
        "- the same for 10 users at once: all done in "
        f"{runtime['login_to_output_10_users']['all_done_seconds']} s (median "
        f"{runtime['login_to_output_10_users']['median_seconds']} s, slowest "
        f"{runtime['login_to_output_10_users']['slowest_seconds']} s)",
        "- memory: " + ", ".join(f"{k} {v} MB" for k, v in runtime["memory_mb"].items()),
    ]
    return "\n".join(lines) + "\n"
