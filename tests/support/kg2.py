"""A real Kernel Gateway 2.x (on the classic notebook server) for tests: a virtualenv built
from tests/integration/requirements-kg2.txt (every version pinned), cached under
~/.cache/jupyterhub-zos/kg2-venv-<hash of that file> so the suite pays the install once.

A missing `venv` module or a failed install skips the test with the reason, and fails it
under CI=true (tests/tooling.py). The venv is built under a lock and marked complete last, so a
killed build is rebuilt and two test runs at once build it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.tooling import missing

REQUIREMENTS = Path(__file__).resolve().parents[1] / "integration" / "requirements-kg2.txt"
CACHE_ENV = "JHZOS_KG2_VENV_CACHE"  # another cache directory (default ~/.cache/jupyterhub-zos)


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "jupyterhub-zos"
    return Path(os.environ.get(CACHE_ENV) or default)


def venv_path() -> Path:
    """Where the venv for the pinned versions lives (keyed by the requirements' content)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    return cache_dir() / f"kg2-venv-{digest}"


def pinned(name: str) -> str:
    """The version requirements-kg2.txt pins for package `name`."""
    for line in REQUIREMENTS.read_text().splitlines():
        package, sep, version = line.partition("==")
        if sep and package.strip().lower().replace("_", "-") == name.lower().replace("_", "-"):
            return version.strip()
    raise KeyError(name)


def kg2_venv() -> Path:
    """The cached venv's root (bin/jupyter, bin/python), built first if it is not there."""
    target = venv_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built in place (a venv's scripts name its path), under a lock, marked complete last.
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(target)], capture_output=True, text=True
        )
        if made.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            missing(f"python3 -m venv failed (install python3-venv): {made.stderr.strip()}")
        pip = [str(target / "bin" / "python"), "-m", "pip"]
        install = subprocess.run(
            [*pip, "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if install.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            missing(f"pip install -r {REQUIREMENTS.name} failed: {install.stderr[-2000:]}")
        (target / ".complete").write_text(REQUIREMENTS.read_text())
    return target
