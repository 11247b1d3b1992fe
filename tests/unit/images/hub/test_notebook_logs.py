"""Logs of users' notebook servers: rotated like every container's, and kept after the
server stops for NOTEBOOK_LOG_RETENTION_DAYS. images/hub/notebook_logs.py on its own,
and the hub config's spawner under a fake Docker API (no engine: the e2e tests run the
real one)."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner

from components.hub.environment import NOTEBOOK_LOG_DIR
from components.settings import LogSettings
from tests.hubconfig import HUB_CONFIG, load_hub_config
from tests.unit.images.hub.test_jupyterhub_config import HUB, env, load

MODULE = HUB_CONFIG.parent / "notebook_logs.py"
_spec = importlib.util.spec_from_file_location("notebook_logs", MODULE)
notebook_logs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebook_logs)


# --- the module ----------------------------------------------------------------------------


def test_a_saved_log_is_one_file_per_stop_readable_only_by_the_hub(tmp_path):
    when = datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC)
    path = notebook_logs.save_log(tmp_path, "bob.smith", "", b"line 1\nline 2\n", when)
    assert path == tmp_path / "bob.smith" / "default-20261202T010203.456789Z.log"
    assert path.read_bytes() == b"line 1\nline 2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    named = notebook_logs.save_log(tmp_path, "bob.smith", "gpu/../x", b"", when)
    assert named.parent == path.parent and named.name.startswith("gpu_.._x-")
    assert not list(tmp_path.rglob("*.part"))


def test_names_cannot_leave_the_log_directory(tmp_path):
    for user in ("..", "../etc", "a/b", ".hidden", ""):
        path = notebook_logs.log_path(tmp_path, user, "", datetime.now(UTC))
        assert path.parent.parent == tmp_path, user
        assert not path.parent.name.startswith("."), user


def test_prune_removes_logs_older_than_the_retention_only(tmp_path):
    now = time.time()
    old = notebook_logs.save_log(tmp_path, "alice", "", b"old")
    new = notebook_logs.save_log(tmp_path, "alice", "", b"new", datetime(2030, 1, 1, tzinfo=UTC))
    gone_user = notebook_logs.save_log(tmp_path, "carol", "", b"old")
    for path in (old, gone_user):
        os.utime(path, (now - 8 * 86400, now - 8 * 86400))
    other = tmp_path / "alice" / "notes.txt"  # not a saved log: left alone
    other.write_text("x")
    os.utime(other, (now - 90 * 86400,) * 2)
    removed = notebook_logs.prune(tmp_path, 7 * 86400, now=now)
    assert sorted(removed) == sorted([old, gone_user])
    assert new.exists() and other.exists()
    assert not (tmp_path / "carol").exists()  # empty user directories go too
    assert notebook_logs.prune(tmp_path / "missing", 1) == []


def test_the_reaper_runs_as_a_command(tmp_path):
    path = notebook_logs.save_log(tmp_path, "alice", "", b"old")
    os.utime(path, (time.time() - 3 * 86400,) * 2)
    ran = subprocess.run(
        [sys.executable, str(MODULE), f"--dir={tmp_path}", "--keep-days=2", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert f"removed {path}" in ran.stdout and not path.exists()
    bad = subprocess.run(
        [sys.executable, str(MODULE), f"--dir={tmp_path}", "--keep-days=0", "--once"],
        capture_output=True,
        timeout=60,
    )
    assert bad.returncode != 0


def test_the_module_runs_on_the_hub_images_python():
    # quay.io/jupyterhub/jupyterhub:5.3.0 has python 3.10: no datetime.UTC there.
    assert "datetime import UTC" not in MODULE.read_text()
    assert "timezone.utc" in MODULE.read_text()


# --- the hub config ------------------------------------------------------------------------


def test_notebook_containers_rotate_their_logs():
    c = load(hub=dataclasses.replace(HUB, logs=LogSettings(max_size="20m", max_file=3)))
    assert c.DockerSpawner.extra_host_config["log_config"] == {
        "type": "json-file",
        "config": {"max-size": "20m", "max-file": "3"},
    }


def test_log_rotation_is_merged_into_extra_host_config():
    # Another section of the config (hardening) may set extra_host_config before this one.
    from traitlets.config import Config

    c = Config()
    c.DockerSpawner.extra_host_config = {"cap_drop": ["ALL"]}
    import runpy
    from unittest import mock

    with mock.patch.dict(os.environ, env(), clear=True):
        runpy.run_path(str(HUB_CONFIG), init_globals={"c": c, "get_config": lambda: c})
    assert c.DockerSpawner.extra_host_config["cap_drop"] == ["ALL"]
    assert c.DockerSpawner.extra_host_config["log_config"]["type"] == "json-file"


def test_the_reaper_is_a_hub_service_with_the_retention():
    c = load(hub=dataclasses.replace(HUB, logs=LogSettings(notebook_retention_days=14)))
    (reaper,) = [s for s in c.JupyterHub.services if s["name"] == "notebook-log-reaper"]
    assert reaper["command"] == [
        sys.executable,
        str(MODULE),
        f"--dir={NOTEBOOK_LOG_DIR}",
        "--keep-days=14",
    ]
    # It needs no hub API: no role names it.
    assert all("notebook-log-reaper" not in r.get("services", []) for r in c.JupyterHub.load_roles)


def test_retention_zero_keeps_nothing():
    c = load(hub=dataclasses.replace(HUB, logs=LogSettings(notebook_retention_days=0)))
    # The configured spawner (stack guard over server naming) without the log keeper's
    # subclass.
    mro = c.JupyterHub.spawner_class.__mro__
    assert [k.__name__ for k in mro[1:4]] == [
        "StackGuardedServerNamingSpawner",
        "ServerNamingSpawner",
        "DockerSpawner",
    ]
    assert all("remove_object" not in vars(k) for k in mro[:3])
    assert all(s["name"] != "notebook-log-reaper" for s in c.JupyterHub.services)
    assert "log_config" in c.DockerSpawner.extra_host_config  # rotation still applies
    assert "auto_remove" not in c.DockerSpawner.extra_host_config  # Docker's removal


def test_kept_logs_outlive_the_container_until_the_hub_read_them():
    # With auto_remove Docker deletes a stopped container, log and all, before the hub
    # reads it ("can not get logs from container which is dead or marked for removal").
    assert load().DockerSpawner.extra_host_config["auto_remove"] is False


class FakeDocker:
    """The calls DockerSpawner makes to remove a container, answered as the engine would."""

    def __init__(self, logs: bytes | Exception):
        self.logs, self.calls = logs, []

    async def __call__(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        if method == "logs":
            if isinstance(self.logs, Exception):
                raise self.logs
            return self.logs
        return None


def spawner(log_dir: Path, fake: FakeDocker, user: str = "bob.smith", server: str = ""):
    c = load_hub_config({**env(), "NOTEBOOK_LOG_DIR": str(log_dir)})
    cls = c.JupyterHub.spawner_class
    assert issubclass(cls, DockerSpawner)
    made = cls(
        config=c,
        user=SimpleNamespace(name=user, id=1, url=f"/user/{user}/"),
        orm_spawner=SimpleNamespace(name=server, server=None) if server else None,
    )
    made.object_id = "c0ffee"
    made.docker = fake
    return made


def test_a_stopped_servers_log_is_saved_before_its_container_is_removed(tmp_path):
    fake = FakeDocker(b"2026-12-02T01:00:00Z [I] Jupyter Server is running\n")
    asyncio.run(spawner(tmp_path, fake).remove_object())
    assert [call[0] for call in fake.calls] == ["logs", "remove_container"]
    assert fake.calls[0][1:] == (("c0ffee",), {"stdout": True, "stderr": True, "timestamps": True})
    assert fake.calls[1][1:] == (("c0ffee",), {"v": True})  # DockerSpawner's own removal
    (saved,) = (tmp_path / "bob.smith").glob("default-*.log")
    assert saved.read_bytes() == fake.logs


def test_a_named_servers_log_is_saved_under_its_user_by_server_name(tmp_path):
    fake = FakeDocker(b"2026-12-02T01:00:00Z [I] named\n")
    named = spawner(tmp_path, fake, server="gpu")
    assert named.object_name == "jupyter-bob-2esmith--gpu"
    asyncio.run(named.remove_object())
    assert [call[0] for call in fake.calls] == ["logs", "remove_container"]
    (saved,) = (tmp_path / "bob.smith").glob("gpu-*.log")
    assert saved.read_bytes() == fake.logs
    assert not list((tmp_path / "bob.smith").glob("default-*.log"))


@pytest.mark.parametrize("failure", ["engine", "disk"])
def test_a_log_that_cannot_be_saved_does_not_keep_the_container(tmp_path, failure):
    fake = FakeDocker(RuntimeError("engine gone") if failure == "engine" else b"log\n")
    log_dir = tmp_path / "logs"
    if failure == "disk":
        log_dir.write_text("not a directory")  # the save fails
    asyncio.run(spawner(log_dir, fake).remove_object())
    assert [call[0] for call in fake.calls] == ["logs", "remove_container"]
