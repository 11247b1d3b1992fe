"""tools/backup.py without Docker: what restore checks before it changes anything (the
database, the versions), the service tokens it drops from the restored database, the
folder's modes, the command line."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import stat
import tarfile

import pytest
from jupyterhub import orm

from tools import backup
from tools.stack_access import StackError


@pytest.fixture
def hub_db(tmp_path):
    """A real JupyterHub database (its own schema): a user with a token of their own, a
    service with a token from the config."""
    path = tmp_path / "hub-db.sqlite"
    session = orm.new_session_factory(f"sqlite:///{path}")()
    user = orm.User(name="alice")
    service = orm.Service(name="status")
    session.add_all([user, service])
    session.commit()
    session.add_all(
        [
            orm.APIToken(user_id=user.id, hashed="h1", prefix="p1", note="alice's own"),
            orm.APIToken(service_id=service.id, hashed="h2", prefix="p2", note="from config"),
        ]
    )
    session.commit()
    session.close()
    return path


def tokens(path):
    db = sqlite3.connect(path)
    try:
        return sorted(
            (note, user is not None, service is not None)
            for note, user, service in db.execute(
                "SELECT note, user_id, service_id FROM api_tokens"
            )
        )
    finally:
        db.close()


def test_a_jupyterhub_database_passes_and_anything_else_is_named(hub_db, tmp_path):
    assert backup.db_problems(hub_db) == []
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not sqlite" * 200)
    assert "not a JupyterHub sqlite database" in backup.db_problems(junk)[0]
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert "no such table: users" in backup.db_problems(other)[0]


def test_the_restored_database_loses_the_old_config_tokens_of_services_only(hub_db, tmp_path):
    assert tokens(hub_db) == [("alice's own", True, False), ("from config", False, True)]
    work = tmp_path / "work"
    work.mkdir()
    archive = backup._db_archive(hub_db, work)
    # The backup's own file is untouched; the copy in the archive has only alice's token.
    assert tokens(hub_db) == [("alice's own", True, False), ("from config", False, True)]
    with tarfile.open(archive) as tar:
        (member,) = tar.getmembers()
        assert member.name == "volume/jupyterhub.sqlite"
        assert (member.uid, member.gid, member.mode) == (0, 0, 0o600)
        tar.extract(member, tmp_path / "out", filter="data")
    assert tokens(tmp_path / "out/volume/jupyterhub.sqlite") == [("alice's own", True, False)]


@pytest.mark.parametrize(
    ("saved", "running", "refused"),
    [
        ("5.3.0", "5.3.0", False),
        ("5.3.0", "5.4.0b1", False),
        ("5.3.0", "5.2.1", True),
        ("5.3.0", "4.1.6", True),
        (None, "5.3.0", False),
    ],
)
def test_an_older_hub_is_refused_a_newer_database(saved, running, refused):
    problems = backup.version_problems(saved, running)
    assert bool(problems) == refused, problems
    if refused:
        assert f"JupyterHub {saved}" in problems[0] and running in problems[0]


def test_the_backup_folder_is_new_or_empty_and_private(tmp_path):
    folder = tmp_path / "b"
    backup._private_folder(folder)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    with backup._private_file(folder / "volumes" / "x.tar") as f:
        f.write(b"x")
    assert stat.S_IMODE(os.stat(folder / "volumes" / "x.tar").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder / "volumes").st_mode) == 0o700
    with pytest.raises(StackError, match="not empty"):
        backup._private_folder(folder)
    with pytest.raises(FileExistsError):  # never over an existing file
        backup._private_file(folder / "volumes" / "x.tar")


def test_the_command_line_needs_its_folder(capsys):
    with pytest.raises(SystemExit):
        backup.main(["backup", "--stack", "dev"])
    assert "backup needs --to FOLDER" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        backup.main(["restore", "--stack", "dev"])
    assert "restore needs --from FOLDER" in capsys.readouterr().err


def test_outputs_that_are_no_deployment_are_refused(tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    assert backup.main(["backup", "--to", str(tmp_path / "b"), "--outputs", str(outputs)]) == 1
    assert "no hub_url" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


class _Volume:
    def __init__(self, name, labels=None):
        self.name = name
        self.attrs = {"Labels": labels}


class _Volumes:
    def __init__(self, volumes=()):
        self.volumes = list(volumes)
        self.created = []

    def list(self):
        return self.volumes

    def create(self, **kwargs):
        self.created.append(kwargs)
        return _Volume(kwargs["name"], kwargs.get("labels"))


class _Client:
    def __init__(self, volumes=()):
        self.volumes = _Volumes(volumes)


@pytest.mark.parametrize(
    ("stack_name", "volume"),
    [("prod", "jupyterhub-prod-user-alice--lab"), ("dev", "jupyterhub-user-alice")],
)
def test_a_restored_user_volume_carries_the_stack_label_the_hub_requires(stack_name, volume):
    from components.docker import names
    from tools.stack_access import Stack

    stack = Stack(name=stack_name, outputs={}, docker_host=None)
    client = _Client()
    backup.create_user_volume(client, stack, volume)
    [created] = client.volumes.created
    assert created["name"] == volume
    # What the hub's spawn guard (images/hub/jhz_stack.py) requires of a volume it finds.
    label = created["labels"][names.STACK_LABEL]
    assert label == f"jupyterhub-zos/{stack_name}"
    spec = importlib.util.spec_from_file_location(
        "jhz_stack", backup.ROOT / "images" / "hub" / "jhz_stack.py"
    )
    jhz_stack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(jhz_stack)
    assert jhz_stack.LABEL == names.STACK_LABEL
    assert jhz_stack.foreign_owner(created["labels"], label, keeps_unlabeled=False) is None


def test_a_backup_takes_the_stack_s_user_volumes_only():
    from components.docker import names
    from tools.stack_access import Stack

    dev = Stack(name="dev", outputs={}, docker_host=None)
    prod = Stack(name="prod", outputs={}, docker_host=None)
    other = Stack(name="user-x", outputs={}, docker_host=None)
    volumes = [
        _Volume("jupyterhub-user-alice"),  # dev's, from a hub before labels
        _Volume("jupyterhub-user-bob--lab", {names.STACK_LABEL: dev.label}),
        _Volume("jupyterhub-prod-user-alice", {names.STACK_LABEL: prod.label}),
        # Stack user-x's volume starts with dev's prefix; its label tells them apart.
        _Volume("jupyterhub-user-x-user-carol", {names.STACK_LABEL: other.label}),
        _Volume("jupyterhub-prod-user-mallory"),  # unlabeled: not prod's
    ]
    client = _Client(volumes)
    assert backup.user_volumes(client, dev) == [
        "jupyterhub-user-alice",
        "jupyterhub-user-bob--lab",
    ]
    assert backup.user_volumes(client, prod) == ["jupyterhub-prod-user-alice"]
    assert prod.hub_container == "jupyterhub-prod" and prod.data_volume == "jupyterhub-prod-data"
    assert dev.hub_container == "jupyterhub" and dev.data_volume == "jupyterhub-data"
