"""The dev gateway's per-kernel manager: ipc transport, each kernel's sockets beside its
connection file in a directory of its own, and a clear error where a Unix socket path
would be too long. (Kernels on it, and another user refused at its sockets, are tested
on loopback, tests/integration/test_kernel_isolation.py, and on the engine.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
spec = importlib.util.spec_from_file_location(
    "kernel_ipc", ROOT / "images" / "gateway" / "kernel_ipc.py"
)
kernel_ipc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernel_ipc)


def test_a_kernels_sockets_are_in_its_own_directory():
    runtime = "/var/lib/jupyterhub-zos/runtime"  # the dev gateway image's
    manager = kernel_ipc.IpcKernelManager(
        connection_file=f"{runtime}/kernel-3f2a8c1e-0000-4000-8000-000000000000.json"
    )
    assert manager.transport == "ipc"
    assert manager.ip == f"{runtime}/kernel-3f2a8c1e-0000-4000-8000-000000000000.ipc/k"


def test_a_path_too_long_for_a_unix_socket_is_refused_clearly():
    manager = kernel_ipc.IpcKernelManager(connection_file="/" + "d" * 90 + "/kernel-x.json")
    with pytest.raises(RuntimeError, match="shorter JUPYTER_RUNTIME_DIR"):
        _ = manager.ip
