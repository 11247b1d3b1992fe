"""`make bench`: measure, compare with the targets, write bench/results.json and
docs/benchmarks.md. Exits 1 if a target is missed (the numbers are written anyway).

Targets (issue: benchmarks):
- program/floor wall time <= 1.5 at 1000 users; growth 100 -> 1000 users <= 11x;
  peak RSS at 1000 users < 400 MB;
- critical path <= 6 resources for dev (reported for z/OS);
- two evaluations of the same config give identical resource inputs;
- a kernel start through the gateway over mutual TLS <= 1.5x a direct local start;
- with a Docker engine (bench/runtime.py): warm login to the first kernel output <= 5 s
  for 1 user and <= 60 s for 10 at once; a second apply with nothing changed makes 0
  Docker changes.

Targets of issue 14 (the hub issues client certificates, so nothing per listed user
is left in the dev graph for them), for the dev stack:
- from 100 to 1000 listed users the resources and the program's wall time grow <= 1.5x;
- at 1000 users peak RSS <= 200 MB and program/floor <= 1.25.

`python -m bench.run --dev-scaling` measures only those (dev at 100 and 1000 users, the
median of 5 runs each for the program and the floor), prints them and writes
bench/.work/dev-scaling.json; bench/results.json and
docs/benchmarks.md are left as they are.
"""

from __future__ import annotations

import compileall
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
USER_COUNTS = (1, 100, 1000)
KINDS = ("dev", "zos")


def evaluate(kind: str, users: int, floor: Path | None = None) -> dict:
    cmd = [sys.executable, "-m", "bench.evaluate", "--kind", kind, "--users", str(users)]
    if floor:
        cmd += ["--floor", str(floor)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def median_run(kind: str, users: int, repeat: int, floor: Path | None = None) -> dict:
    """The run with the median wall time of `repeat` (the machine may be shared: one
    slow run is the neighbours', not the program's); peak RSS is the highest seen."""
    runs = sorted(
        (evaluate(kind, users, floor) for _ in range(repeat)), key=lambda r: r["wall_seconds"]
    )
    chosen = runs[len(runs) // 2]
    chosen["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    if repeat > 1:
        chosen["wall_seconds_runs"] = [r["wall_seconds"] for r in runs]
    return chosen


def compile_program() -> None:
    """Compile the program's modules (and the harness's) to bytecode before measuring,
    as an operator's machine has them from the first `pulumi up` on (Python writes
    __pycache__ on import). A machine with PYTHONDONTWRITEBYTECODE=1 (this one) would
    otherwise compile them again in every measured run, while the SDKs, compiled by pip
    at install, load as bytecode in the program and the floor alike."""
    for package in ("components", "tools", "bench"):
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise RuntimeError(f"{package}: a module does not compile")


def program_cost(kinds=KINDS, user_counts=USER_COUNTS, repeat: int = 1) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    compile_program()
    results: dict = {}
    for kind in kinds:
        for users in user_counts:
            program = median_run(kind, users, repeat)
            shape = WORK / f"shape-{kind}-{users}.json"
            shape.write_text(json.dumps(program.pop("shape")))
            floor = median_run(kind, users, repeat, floor=shape)
            if floor["registered_digest"] != program["registered_digest"]:
                raise RuntimeError(
                    f"{kind}/{users}: the floor did not register what the program did"
                )
            results[f"{kind}/{users}"] = {
                "program": program,
                "floor": floor,
                "program_over_floor": round(program["wall_seconds"] / floor["wall_seconds"], 2),
            }
            print(
                f"{kind:3} {users:5} users: {program['resources']:5} resources, "
                f"{program['wall_seconds']:7.2f}s (floor {floor['wall_seconds']:.2f}s), "
                f"{program['peak_rss_mb']:.0f} MB, critical path "
                f"{program['critical_path_length']}",
                flush=True,
            )
    return results


def determinism() -> dict:
    digests = {kind: {evaluate(kind, 100)["inputs_digest"] for _ in range(2)} for kind in KINDS}
    return {kind: {"identical": len(d) == 1, "digests": sorted(d)} for kind, d in digests.items()}


def gateway_overhead() -> dict:
    from bench.gateway import measure

    return measure()


def dev_scaling_checks(cost: dict) -> list[tuple[str, bool, str]]:
    """Issue 14's targets for the dev stack, from the dev/100 and dev/1000 rows."""
    mid, big = cost["dev/100"], cost["dev/1000"]
    resources = round(big["program"]["resources"] / mid["program"]["resources"], 2)
    wall = round(big["program"]["wall_seconds"] / mid["program"]["wall_seconds"], 2)
    rss, ratio = big["program"]["peak_rss_mb"], big["program_over_floor"]
    return [
        ("dev: resources 100 -> 1000 users <= 1.5x", resources <= 1.5, f"{resources}x"),
        ("dev: wall time 100 -> 1000 users <= 1.5x", wall <= 1.5, f"{wall}x"),
        ("dev: peak RSS at 1000 users <= 200 MB", rss <= 200, f"{rss} MB"),
        ("dev: program/floor at 1000 users <= 1.25", ratio <= 1.25, f"{ratio}"),
    ]


def check(results: dict) -> list[tuple[str, bool, str]]:
    cost = results["program_cost"]
    checks = dev_scaling_checks(cost)
    for kind in KINDS:
        big, mid = cost[f"{kind}/1000"], cost[f"{kind}/100"]
        ratio = big["program_over_floor"]
        checks.append((f"{kind}: program/floor at 1000 users <= 1.5", ratio <= 1.5, f"{ratio}"))
        growth = round(big["program"]["wall_seconds"] / mid["program"]["wall_seconds"], 2)
        checks.append((f"{kind}: growth 100 -> 1000 users <= 11x", growth <= 11, f"{growth}x"))
        rss = big["program"]["peak_rss_mb"]
        checks.append((f"{kind}: peak RSS at 1000 users < 400 MB", rss < 400, f"{rss} MB"))
        same = results["determinism"][kind]["identical"]
        checks.append((f"{kind}: identical inputs on re-evaluation", same, str(same)))
    dev_path = cost["dev/1"]["program"]["critical_path_length"]
    checks.append(("dev: critical path <= 6 resources", dev_path <= 6, str(dev_path)))
    gateway = results.get("gateway")
    if gateway is not None:
        ratio = gateway["ratio"]
        checks.append(("kernel start via gateway <= 1.5x direct", ratio <= 1.5, f"{ratio}x"))
    return checks


def markdown(results: dict, checks: list[tuple[str, bool, str]]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {results['when']} ({results['machine']}). Program "
        "evaluation runs `__main__.py` under the mock harness in a fresh process per row; "
        "the floor is a program with no logic registering the same resources.",
        "",
        "| stack | users | resources | wall s | floor s | program/floor | peak RSS MB "
        "| floor RSS MB | critical path |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in results["program_cost"].items():
        kind, users = key.split("/")
        p, f = row["program"], row["floor"]
        lines.append(
            f"| {kind} | {users} | {p['resources']} | {p['wall_seconds']} | {f['wall_seconds']} "
            f"| {row['program_over_floor']} | {p['peak_rss_mb']} | {f['peak_rss_mb']} "
            f"| {p['critical_path_length']} |"
        )
    lines += ["", "Critical paths (what `pulumi up` must do one after another):", ""]
    for kind in KINDS:
        path = results["program_cost"][f"{kind}/1"]["program"]["critical_path"]
        lines.append(f"- {kind}: {' -> '.join(path) or '(no resources)'}")
    gateway = results.get("gateway")
    if gateway:
        lines += [
            "",
            f"Kernel start, median of {gateway['runs']}: through the gateway over mutual TLS "
            f"{gateway['gateway_median_s']} s, direct local {gateway['direct_median_s']} s "
            f"({gateway['ratio']}x).",
        ]
    lines += ["", "| target | met | measured |", "|---|---|---|"]
    lines += [f"| {name} | {'yes' if ok else '**no**'} | {value} |" for name, ok, value in checks]
    return "\n".join([*lines, "", FINDINGS]) + "\n"


# What profiling (pyinstrument, cProfile, tracemalloc) showed and what was done about it.
FINDINGS = """## Findings (profiled, then fixed where the cause was ours)

- Python's full garbage collections rescanned the growing heap of resources, Outputs
  and futures about 15 times per run at 1000 users and found nothing to free: about a
  third of the wall time. `__main__.py` makes full collections rare
  (`gc.set_threshold(700, 10, 1000)`); the floor program uses the same setting.
- Every z/OS step script carried the whole shell helper library; each now carries only
  the helpers it calls (`components/zos/script.py`, `library_for`), about a third less
  command text sent, stored and diffed per user.
- The floor registers the same resources through the same SDK classes with the same
  final inputs (its registered inputs hash equal to the program's, checked on every
  run), so program/floor is the cost of the program's own logic: settings, rendering,
  Output wiring, dependencies. That logic (components/*) is under 5% of the profile;
  the rest is the Pulumi SDK's per-resource registration (stack traces, Output
  resolution, serialization), the same in the floor.
- Peak RSS at 1000 users was over 400 MB (dev 432, z/OS 416), and the floor was as
  high: memory goes with the number of typed resources, each holding an Output (with
  its futures and task) per declared property until the engine has registered it, and
  with the text of their inputs, held several times over (program, request, response,
  resolved outputs). Removing a resource per user met the target:
  - dev: each directory user's password came from a RandomPassword (14 properties);
    they are now derived from one RandomBytes key (HMAC, `derive_password`), so one
    resource instead of 1000;
  - z/OS: each user's PKCS#12 was split into PEM by a local.Command of its own; the
    split now runs inside that user's delivery command (`fed_by`), still only when the
    export changes, and the private key is no longer a command output in the state.
  Splitting in the program with cryptography instead was measured and dropped: it
  validates each RSA key on load (~35 ms), on every preview and up.
- The z/OS exports print a real PKCS#12 under the benchmark (bench/stacks.py), so the
  inputs that carry it have their real size.
- Login to the first kernel output was 4.4 to 5.3 s, 3.5 s of it the spawn. The hub's
  part was 0.1 s (certificate, volume, container); the notebook server spent about 1.2 s
  of its start importing `rfc3987_syntax` (jsonschema >= 4.25, through jupyter_events),
  which builds about 35 Lark parsers at import (jupyter-server/jupyter_server#1559). The
  stand-in had resolved today's jsonschema (4.26); the non-GPL IRI checker came in July
  2025 (python-jsonschema/jsonschema#1388), after base-notebook:2025-06-02 was built, so
  the stand-in now keeps `jsonschema<4.25` like the image it stands in for. A newer
  notebook image pays that second at every server start; the project's image does not
  change it.
- The program's modules are compiled to bytecode before measuring (`compile_program`):
  this machine sets PYTHONDONTWRITEBYTECODE=1, so every run compiled them again, a cost
  an operator's machine pays once.
- z/OS at 1000 users missed its targets again after issue 13 (3039 resources: a RandomId
  instance per step; each user's step about 21.7 KB of script with the rollover
  helpers): 12.9 s, program/floor 2.21, 486 MB. Which helpers a step uses is now read
  from one set of its code's words instead of a regex search per helper over a
  1000-user step, and the preflight reads each distinct line of the steps' code once
  (inputs identical, same digest): 8.3 to 9.3 s, program/floor 1.2 to 1.6 with the
  floor's noise. Peak RSS (about 487 MB) is still over 400: it goes with the resources
  and the text of their inputs."""


def dev_scaling() -> int:
    cost = program_cost(kinds=("dev",), user_counts=(100, 1000), repeat=5)
    checks = dev_scaling_checks(cost)
    out = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "program_cost": cost,
        "targets": [{"target": n, "met": ok, "measured": v} for n, ok, v in checks],
    }
    (WORK / "dev-scaling.json").write_text(json.dumps(out, indent=2) + "\n")
    for name, ok, value in checks:
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value}")
    return 0 if all(ok for _, ok, _ in checks) else 1


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv) == ["--dev-scaling"]:
        return dev_scaling()
    results: dict = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "program_cost": program_cost(repeat=3),  # the median of 3: one run is noise
        "determinism": determinism(),
    }
    results["gateway"] = gateway_overhead()
    checks = check(results)
    page = markdown(results, checks)
    # The running system, where a Docker engine answers (else said so, not guessed).
    from tests.e2e.base_images import core

    if core.engine_answers():
        from bench import runtime

        results["runtime"] = runtime.measure()
        checks += runtime.checks(results["runtime"])
        page = markdown(results, checks) + runtime.markdown(results["runtime"])
    else:
        print("no Docker engine answers: the running system's benchmarks are skipped")
    results["targets"] = [{"target": n, "met": ok, "measured": v} for n, ok, v in checks]
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "benchmarks.md").write_text(page)
    for name, ok, value in checks:
        print(f"{'ok  ' if ok else 'MISS'} {name}: {value}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
