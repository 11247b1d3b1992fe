"""bench/run.py's issue-14 targets for the dev stack are computed from the measured rows,
and a row that misses one is reported as missed."""

from __future__ import annotations

from bench.run import dev_scaling_checks


def row(resources: int, wall: float, rss: float, ratio: float) -> dict:
    return {
        "program": {"resources": resources, "wall_seconds": wall, "peak_rss_mb": rss},
        "program_over_floor": ratio,
    }


def test_targets_met():
    checks = dev_scaling_checks(
        {"dev/100": row(30, 2.0, 90, 1.1), "dev/1000": row(30, 2.2, 95, 1.2)}
    )
    assert [(name, ok, value) for name, ok, value in checks] == [
        ("dev: resources 100 -> 1000 users <= 1.5x", True, "1.0x"),
        ("dev: wall time 100 -> 1000 users <= 1.5x", True, "1.1x"),
        ("dev: peak RSS at 1000 users <= 200 MB", True, "95 MB"),
        ("dev: program/floor at 1000 users <= 1.25", True, "1.2"),
    ]


def test_each_target_can_be_missed():
    # Per-user resources (4 a user, as the pulumi-tls client certificates were) miss it.
    checks = dev_scaling_checks(
        {"dev/100": row(430, 4.0, 150, 1.2), "dev/1000": row(4030, 30.0, 430, 1.3)}
    )
    assert [ok for _, ok, _ in checks] == [False, False, False, False]
