"""Finding the external tools the real-server tests need.

A missing tool skips the test with the reason, except under CI=true, where the
pipeline promised to install everything: there a missing tool fails the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Skip (locally) or fail (CI=true) because something the test needs is absent."""
    if in_ci():
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def require_tool(name: str, *extra_dirs: str) -> str:
    """Absolute path of an executable, looked up on PATH, the venv and sbin dirs."""
    search = os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", ""), *SBIN_DIRS, *extra_dirs])
    found = shutil.which(name, path=search)
    if not found:
        missing(f"{name} is not installed (run .ci/install-system-deps)")
    return found


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (tests never bind anything but loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1: each socket is held until all are chosen,
    so the kernel cannot hand out one port twice (separate free_port() calls can)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")
