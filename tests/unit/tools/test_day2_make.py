"""The Makefile's day-2 targets: `make status|backup|restore` run tools/status.py and
tools/backup.py through tools/pulumi.sh (the stack's outputs and docker:host from the CLI
with make up's set-up), or with OUTPUTS=file from a file; the folder is required."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def make(*args: str, dry_run: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", *(["-n"] if dry_run else []), "-o", "venv/.installed", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_status_runs_through_the_pulumi_set_up_and_json_for_scripts():
    done = make("status", "STACK=prod", "JSON=1", "WARN_DAYS=10")
    assert done.returncode == 0, done.stderr
    assert (
        'STACK=prod tools/pulumi.sh --run venv/bin/python -m tools.status --stack "prod"  '
        '--json --warn-days "10"'
    ) in done.stdout


def test_outputs_from_a_file_skip_the_cli():
    done = make("status", "OUTPUTS=/tmp/o.json")
    assert done.returncode == 0, done.stderr
    assert "pulumi.sh" not in done.stdout
    assert 'venv/bin/python -m tools.status --stack "dev" --outputs "/tmp/o.json"' in done.stdout


def test_backup_and_restore_take_their_folder():
    done = make("backup", "TO=/srv/backups/today")
    assert 'tools.backup backup --stack "dev"  --to "/srv/backups/today"' in done.stdout
    done = make("restore", "FROM=/srv/backups/today", "OVERWRITE=1", "STACK=prod")
    assert (
        'STACK=prod tools/pulumi.sh --run venv/bin/python -m tools.backup restore --stack "prod"'
        '  --from "/srv/backups/today" --overwrite'
    ) in done.stdout
    for target, usage in (("backup", "make backup TO=folder"), ("restore", "make restore FROM=")):
        refused = make(target, dry_run=False)
        assert refused.returncode != 0 and usage in refused.stdout, refused


def test_make_help_lists_the_day2_targets():
    done = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    for target in ("status", "backup", "restore"):
        assert f"  make {target} " in done.stdout, done.stdout
