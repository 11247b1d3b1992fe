"""One measurement in a fresh process (so peak RSS is this run's alone):

    python -m bench.evaluate --kind dev --users 100 [--floor SPEC.json]

Prints JSON: wall seconds, peak RSS, resource counts, the critical path, a digest of
every resource's inputs, and (without --floor) the graph's shape for the floor program.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from pathlib import Path

from bench.stacks import export_stdout, fake_remote_command, stack_config
from tools.mock_graph import PROGRAM, Graph, register_fake, run_program

FLOOR_PROGRAM = Path(__file__).with_name("floor_program.py")


def critical_path(graph: Graph) -> list[str]:
    """Longest chain of custom resources, each waiting for the one before: what
    `pulumi up` must do one after another, however parallel it runs."""
    custom = {r.urn: r for r in graph.resources if r.custom}
    children: dict[str, list[str]] = {}
    for r in graph.resources:
        children.setdefault(r.parent, []).append(r.urn)

    def expand(urn: str) -> set[str]:
        # A dependency on a component is a dependency on everything under it.
        if urn in custom:
            return {urn}
        return set().union(*(expand(c) for c in children.get(urn, [])), set())

    deps = {u: set().union(*(expand(d) for d in r.dependencies), set()) for u, r in custom.items()}
    longest: dict[str, list[str]] = {}

    def chain(urn: str) -> list[str]:
        if urn not in longest:
            # Sorted: of equally long chains the same one is named every run.
            best = max((chain(d) for d in sorted(deps[urn]) if d in custom), key=len, default=[])
            longest[urn] = [*best, urn]
        return longest[urn]

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000, 4 * len(custom)))
    try:
        path = max((chain(u) for u in sorted(custom)), key=len, default=[])
    finally:
        sys.setrecursionlimit(limit)  # the rest of the process keeps its own limit
    return [f"{custom[u].type.split(':')[-1]}::{custom[u].name}" for u in path]


def registered_digest(graph: Graph) -> str:
    """Types, names and inputs only: equal for the program and its floor when the floor
    registers exactly what the program does."""
    resources = sorted(graph.resources, key=lambda r: r.urn)
    text = json.dumps([(r.urn, r.inputs) for r in resources], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def inputs_digest(graph: Graph) -> str:
    # Sorted by URN: registration order follows asyncio scheduling, which the engine
    # does not care about; what must not change is each resource's inputs.
    resources = sorted(graph.resources, key=lambda r: r.urn)
    text = json.dumps(
        [(r.urn, r.inputs, sorted(r.secret_paths), sorted(r.dependencies)) for r in resources],
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["dev", "zos"], required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--floor", type=Path, help="shape JSON: run the trivial floor program")
    args = parser.parse_args(argv)

    stack, config, secrets = stack_config(args.kind, args.users)
    if args.kind == "zos":  # program and floor alike
        export_stdout()  # made before the clock starts
        register_fake("command:remote:Command", fake_remote_command)
    start = time.perf_counter()
    if args.floor:
        graph = run_program(
            stack, program=FLOOR_PROGRAM, root=PROGRAM.parent, config={"SHAPE": str(args.floor)}
        )
    else:
        graph = run_program(stack, config=config, secrets=secrets, program=PROGRAM)
    wall = time.perf_counter() - start
    result = {
        "wall_seconds": round(wall, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "resources": sum(r.custom for r in graph.resources),
        "components": sum(not r.custom for r in graph.resources),
        "registered_digest": registered_digest(graph),
    }
    if not args.floor:
        path = critical_path(graph)
        result.update(
            critical_path_length=len(path),
            critical_path=path,
            inputs_digest=inputs_digest(graph),
            shape={
                "resources": [
                    {
                        "type": r.type,
                        "name": r.name,
                        "custom": r.custom,
                        "parent": r.parent,
                        "urn": r.urn,
                        "inputs": r.inputs,
                    }
                    for r in graph.resources
                ],
                # The stack outputs too: the SDK's cost of exporting what users need
                # (per-user entries among them) is the floor's as well.
                "outputs": graph.outputs,
                "secret_outputs": sorted(graph.secret_outputs),
            },
        )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
