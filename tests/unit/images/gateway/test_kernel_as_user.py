"""The dev gateway's kernel launcher: one uid per user, never shared, fails closed.
(That a kernel really runs as that uid and cannot reach another's is checked on the
real engine: tests/e2e/test_dev_stack.py.)"""

from __future__ import annotations

import importlib.util
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tests.tooling import missing

ROOT = Path(__file__).resolve().parents[4]
SOURCE = ROOT / "images" / "gateway" / "kernel_as_user.py"


def load():
    spec = importlib.util.spec_from_file_location("kernel_as_user", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kau = load()


def _uid(args):
    user, path = args
    return user, load().uid_for(user, path)


def test_each_user_gets_a_uid_of_their_own_and_keeps_it(tmp_path):
    path = str(tmp_path / "state" / "uids.json")
    alice = kau.uid_for("alice", path)
    bob = kau.uid_for("bob", path)
    assert alice == kau.FIRST_UID and bob == kau.FIRST_UID + 1
    assert kau.uid_for("alice", path) == alice  # recorded, not recomputed
    assert json.loads(Path(path).read_text()) == {"alice": alice, "bob": bob}
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_concurrent_starts_never_share_a_uid(tmp_path):
    path = str(tmp_path / "uids.json")
    users = [f"user{i}" for i in range(40)]
    with ProcessPoolExecutor(4) as pool:
        got = dict(pool.map(_uid, [(u, path) for u in users * 2]))
    assert sorted(got.values()) == list(range(kau.FIRST_UID, kau.FIRST_UID + len(users)))


def test_the_kernel_gets_none_of_the_gateways_variables():
    env = {
        "PATH": "/usr/bin",
        "KG_AUTH_TOKEN": "secret-token",
        "KG_PORT": "8888",
        "JUPYTER_GATEWAY_URL": "https://x",
        "KERNEL_USERNAME": "alice",
        "LANG": "C.UTF-8",
    }
    assert kau.kernel_env(env, "alice", "/home/kernels/20000") == {
        "PATH": "/usr/bin",
        "KERNEL_USERNAME": "alice",
        "LANG": "C.UTF-8",
        "HOME": "/home/kernels/20000",
        "USER": "alice",
        "LOGNAME": "alice",
    }


@pytest.mark.parametrize(
    ("user", "needle"),
    [
        (None, "no verified user"),
        ("", "no verified user"),
        ("a/../b", "no verified user"),
        ("alice", "must be started as root"),
    ],
)
def test_it_fails_closed(tmp_path, monkeypatch, capsys, user, needle):
    monkeypatch.delenv("KERNEL_USERNAME", raising=False)
    if user is not None:
        monkeypatch.setenv("KERNEL_USERNAME", user)
    monkeypatch.setattr(kau.os, "getuid", lambda: 1000)  # as the tests may run as root
    monkeypatch.setattr(kau, "UID_MAP", str(tmp_path / "uids.json"))
    monkeypatch.setattr(kau.os, "execve", lambda *a: pytest.fail("the kernel was started"))
    connection = tmp_path / "kernel.json"
    connection.write_text("{}")
    with pytest.raises(SystemExit) as exited:
        kau.main(["kernel_as_user.py", "-f", str(connection)])
    assert exited.value.code == 1 and needle in capsys.readouterr().err
    assert not (tmp_path / "uids.json").exists()  # nothing was handed out


def test_usage_is_checked():
    with pytest.raises(SystemExit):
        kau.main(["kernel_as_user.py", "kernel.json"])


def ipc_connection(tmp_path, **info) -> Path:
    connection = tmp_path / "kernel-abc.json"
    connection.write_text(json.dumps(info))
    return connection


def test_a_tcp_kernel_has_no_socket_directory_to_hand_over(tmp_path):
    connection = ipc_connection(tmp_path, transport="tcp", ip="127.0.0.1")
    kau.hand_over_ipc_dir(str(connection), 20000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel-abc.json"]


def test_the_socket_directory_becomes_the_kernels_with_the_gateways_group(tmp_path):
    """As root (the gateway in its container): the 0700 directory the gateway made is
    the kernel uid's, group root, setgid, 2770; a restart finds it handed over."""
    if os.geteuid() != 0:
        missing("chown to another uid needs root (CI runs as root)")
    directory = tmp_path / "kernel-abc.ipc"
    directory.mkdir(mode=0o700)
    connection = ipc_connection(tmp_path, transport="ipc", ip=str(directory / "k"))
    kau.hand_over_ipc_dir(str(connection), 20000)
    found = directory.lstat()
    assert (found.st_uid, found.st_gid, found.st_mode & 0o7777) == (20000, 0, 0o2770)
    kau.hand_over_ipc_dir(str(connection), 20000)  # a restart of the same kernel
    with pytest.raises(SystemExit):  # another uid's kernel may not take it
        kau.hand_over_ipc_dir(str(connection), 20001)


@pytest.mark.parametrize(
    ("layout", "needle"),
    [
        ("elsewhere", "are not in"),
        ("missing", "did not make"),
        ("symlink", "not a directory"),
    ],
)
def test_a_socket_directory_that_is_not_the_kernels_own_is_refused(
    tmp_path, capsys, layout, needle
):
    directory = tmp_path / "kernel-abc.ipc"
    ip = str(tmp_path / "other.ipc" / "k") if layout == "elsewhere" else str(directory / "k")
    if layout == "symlink":
        (tmp_path / "target").mkdir()
        directory.symlink_to(tmp_path / "target")
    connection = ipc_connection(tmp_path, transport="ipc", ip=ip)
    with pytest.raises(SystemExit):
        kau.hand_over_ipc_dir(str(connection), 20000)
    assert needle in capsys.readouterr().err
