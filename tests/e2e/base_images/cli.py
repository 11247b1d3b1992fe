"""Command line: `python -m tests.e2e.base_images {ensure,status}`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from tests.e2e.base_images import core


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.e2e.base_images",
        description="Make the four pinned base images available: the real image if it is "
        "here or can be pulled, else a stand-in built from a debootstrap'd Debian bookworm "
        "(tests only; see tests/e2e/base_images/DIFFERENCES.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ens = sub.add_parser("ensure", help="pull or build what is missing or stale")
    ens.add_argument(
        "images",
        nargs="*",
        metavar="IMAGE",
        help=f"pinned names (default: all of {', '.join(core.BY_IMAGE)})",
    )
    ens.add_argument("--no-pull", action="store_true", help="do not try a registry first")
    ens.add_argument(
        "--pull-timeout",
        type=float,
        default=core.PULL_TIMEOUT,
        help="seconds to wait for the registry (default %(default)s)",
    )
    ens.add_argument("--timings", metavar="FILE", help="write the seconds per step as JSON")
    sub.add_parser("status", help="say for each pinned image: real, current, stale or missing")
    args = parser.parse_args(argv)

    unknown = [i for i in getattr(args, "images", []) if i not in core.BY_IMAGE]
    if unknown:
        parser.error(
            f"not a pinned base image: {', '.join(unknown)} (accepted: {', '.join(core.BY_IMAGE)})"
        )
    if not core.engine_answers():
        print(
            "base-images: no Docker engine answers (`docker info`); start dockerd "
            "(CI: .ci/install-system-deps does)",
            file=sys.stderr,
        )
        return 1
    if args.command == "status":
        for standin in core.STANDINS:
            print(f"{standin.image}\t{core.status(standin)}")
        return 0
    started = time.monotonic()
    try:
        timings = core.ensure(
            args.images or None, pull=not args.no_pull, pull_timeout=args.pull_timeout
        )
    except core.BaseImageError as exc:
        print(f"base-images: {exc}", file=sys.stderr)
        return 1
    timings["total"] = time.monotonic() - started
    for step, seconds in timings.items():
        print(f"{step}\t{seconds:.1f} s")
    if args.timings:
        with open(args.timings, "w") as out:
            json.dump(timings, out, indent=2)
    return 0
