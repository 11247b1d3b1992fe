"""`make backup` / `make restore`: the hub's data and every user's volume, to a folder and
back into a fresh deployment of the same stack.

    python -m tools.backup backup --stack dev --to FOLDER [--outputs FILE] [--docker-host H]
    python -m tools.backup restore --stack dev --from FOLDER [--overwrite] [...]

Backup: the hub's sqlite database copied by sqlite's online backup API in a helper
container beside the running hub (a consistent copy, not the file as it is being
written), the rest of the data volume, and each DockerSpawner volume (jupyterhub-user-*),
all streamed through the Docker API (works with a remote docker:host), then
manifest.json, written last. The folder is made 0700, its files 0600: it holds the hub's
database, with its tokens and cookie ids.

Restore: the manifest and every file are checked first (stack, format, sha256, size, the
database's integrity, the target hub's JupyterHub not older than the backup's, no user
volume already there unless --overwrite); nothing is changed before that passes. Then
the hub is stopped, its data volume emptied and refilled, the database put back, the user
volumes made and filled, and the hub started again.

Exit status: 0 done, 1 failed, 2 refused before anything changed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import docker

from components.docker.names import STACK_LABEL
from tools import backup_manifest as bm
from tools.stack_access import (
    HELPER_MOUNT,
    HELPER_PARENT,
    PROJECT,
    ROOT,
    Helper,
    Stack,
    StackError,
    docker_client,
    hub_image,
    load_stack,
    wait_healthy,
)

# Run in a helper container beside the hub (its image: python3 with sqlite3): sqlite's
# online backup of the live database (read-only, takes the readers' lock page by page,
# so a write by the hub meanwhile restarts it: the copy is one consistent state), the
# copy's integrity checked, versions printed as JSON. No secret in it or its argv.
BACKUP_DB_SCRIPT = f"""
import json, sqlite3, sys
import jupyterhub
src = sqlite3.connect("file:{HELPER_MOUNT}/{bm.DB_NAME}?mode=ro", uri=True, timeout=60)
dst = sqlite3.connect("{HELPER_PARENT}/{bm.DB_FILE}")
src.backup(dst)
src.close()
check = dst.execute("PRAGMA integrity_check").fetchone()[0]
if check != "ok":
    sys.exit("the copy failed its integrity check: " + check)
try:
    revision = dst.execute("SELECT version_num FROM alembic_version").fetchone()[0]
except sqlite3.Error:
    revision = ""
dst.close()
print(json.dumps({{"jupyterhub": jupyterhub.__version__, "db_revision": revision,
                  "sqlite": sqlite3.sqlite_version}}))
"""  # noqa: S608 - constant paths and queries, no input

VERSION_SCRIPT = "import jupyterhub; print(jupyterhub.__version__)"

# Empties the hub's data volume (the hub is stopped) before the backup's is put back.
EMPTY_SCRIPT = f"""
import os, shutil
root = "{HELPER_MOUNT}"
for entry in os.scandir(root):
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)
print("emptied")
"""


def _private_folder(folder: Path) -> None:
    """A new or empty folder, 0700."""
    if folder.exists():
        if not folder.is_dir():
            raise StackError(f"{folder} exists and is not a folder")
        if any(folder.iterdir()):
            raise StackError(f"{folder} is not empty: back up into a new folder")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)


def _private_file(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _tool_version() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def user_volumes(client, stack: Stack) -> list[str]:
    """The stack's user volumes: its names, and not another stack's label (a stack's
    name may make its prefix another's, e.g. dev's jupyterhub-user- and stack user-x's)."""
    prefix = stack.user_volume_prefix
    return sorted(
        v.name
        for v in client.volumes.list()
        if v.name.startswith(prefix) and stack.owns(v.attrs.get("Labels"))
    )


def create_user_volume(client, stack: Stack, name: str):
    """A restored user volume, labelled as the hub labels the volumes it makes
    (images/hub/jhz_stack.py refuses, on a stack other than dev, one without the label)."""
    return client.volumes.create(name=name, driver="local", labels={STACK_LABEL: stack.label})


def _archive_volume(client, image, stack, volume, out: Path, drop=()) -> tuple[str, int]:
    """A volume's archive, streamed from the Docker host into `out`: (sha256, size)."""
    with Helper(client, image, stack, volume, read_only=True) as helper:
        chunks, _ = helper.container.get_archive(HELPER_MOUNT)
        with _private_file(out) as f:
            bm.rebase(bm.IterStream(chunks), f, drop=drop)
    return bm.file_digest(out)


def backup(stack: Stack, folder: Path, log=print) -> bm.Manifest:
    client = docker_client(stack.docker_host)
    image = hub_image(client, stack)
    try:
        client.volumes.get(stack.data_volume)
    except Exception:
        raise StackError(f"the hub's data volume {stack.data_volume} is not there") from None
    _private_folder(folder)
    items: list[bm.Item] = []

    log(f"hub database: sqlite backup of {stack.data_volume}/{bm.DB_NAME} beside the hub")
    with Helper(
        client, image, stack, stack.data_volume, read_only=True, script=BACKUP_DB_SCRIPT
    ) as helper:
        versions = json.loads(helper.run().strip().splitlines()[-1])
        chunks, _ = helper.container.get_archive(f"{HELPER_PARENT}/{bm.DB_FILE}")
        with _private_file(folder / bm.DB_FILE) as f:
            bm.single_file(bm.IterStream(chunks), f)
    sha, size = bm.file_digest(folder / bm.DB_FILE)
    items.append(bm.Item(kind="hub-db", file=bm.DB_FILE, sha256=sha, size=size))

    log(f"hub data: the rest of {stack.data_volume}")
    sha, size = _archive_volume(
        client, image, stack, stack.data_volume, folder / bm.DATA_FILE, drop=bm.DB_SIDE_FILES
    )
    items.append(bm.Item("hub-data", bm.DATA_FILE, sha, size, volume=stack.data_volume))

    for volume in user_volumes(client, stack):
        log(f"user volume: {volume}")
        rel = bm.volume_file(volume)
        sha, size = _archive_volume(client, image, stack, volume, folder / rel)
        items.append(bm.Item("user-volume", rel, sha, size, volume=volume))

    manifest = bm.Manifest(
        project=PROJECT,
        stack=stack.name,
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        versions={
            **{k: str(v) for k, v in versions.items()},
            "hub_image": image,
            "jupyterhub_zos": _tool_version(),
        },
        items=tuple(items),
        docker_host=stack.docker_host,
    )
    with _private_file(folder / bm.MANIFEST) as f:  # last: a backup cut short has none
        f.write(bm.render(manifest).encode())
    log(f"backup of stack {stack.name}: {len(items)} items in {folder} (0700; it holds secrets)")
    return manifest


# --- restore ------------------------------------------------------------------------------


class Refused(StackError):
    """Restore refused before anything changed."""


def db_problems(path: Path) -> list[str]:
    """The backup's database opens and passes sqlite's integrity check."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = db.execute("PRAGMA integrity_check").fetchone()[0]
            db.execute("SELECT count(*) FROM users").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        return [f"{path.name}: not a JupyterHub sqlite database ({exc})"]
    return [] if check == "ok" else [f"{path.name}: integrity check: {check}"]


def release(version: str) -> tuple[int, ...]:
    """The release numbers of a JupyterHub version: 5.3.0 -> (5, 3, 0); 5.4.0b1 -> (5, 4, 0)."""
    match = re.match(r"^v?(\d+(?:\.\d+)*)", version.strip())
    if not match:
        raise ValueError(version)
    return tuple(int(n) for n in match.group(1).split("."))


def version_problems(backup: str | None, target: str) -> list[str]:
    """A database from a newer JupyterHub cannot be opened by an older one (upgrade_db
    only goes forward)."""
    if not backup:
        return []
    try:
        if release(target) < release(backup):
            return [
                f"the backup is from JupyterHub {backup}, the stack's hub runs {target}: "
                "an older JupyterHub cannot open a newer database; deploy the hub image of "
                "the backup's version or later"
            ]
    except ValueError:
        return [f"cannot compare JupyterHub versions {backup!r} and {target!r}"]
    return []


def _other_stack(manifest: bm.Manifest, stack: Stack) -> str:
    return (
        f"the backup is of stack {manifest.stack!r}, not {stack.name!r}: restore it into "
        f"a deployment of {manifest.stack!r} (STACK={manifest.stack})"
    )


def refusals(stack: Stack, folder: Path, client, image: str, overwrite: bool) -> bm.Manifest:
    """Everything checked before anything changes: the manifest and its files, the
    stack, the database, the versions, the target's volumes. One StackError with all."""
    try:
        manifest = bm.load(folder)
    except bm.ManifestError as exc:
        raise Refused(f"{folder} cannot be restored (nothing was changed):\n{exc}") from None
    problems = []
    if manifest.project != PROJECT:
        problems.append(f"the backup is of project {manifest.project!r}, not {PROJECT!r}")
    if manifest.stack != stack.name:
        problems.append(_other_stack(manifest, stack))
    problems += db_problems(folder / bm.DB_FILE)
    for item in manifest.items:
        if item.kind != "hub-db":
            problems += bm.check_archive(folder / item.file)
    if manifest.data_volume != stack.data_volume:
        problems.append(
            f"the backup's data volume is {manifest.data_volume}, the stack's {stack.data_volume}"
        )
    try:
        client.volumes.get(stack.data_volume)
    except Exception:
        problems.append(f"the stack's data volume {stack.data_volume} is not there (make up)")
    with Helper(
        client, image, stack, stack.data_volume, read_only=True, script=VERSION_SCRIPT
    ) as helper:
        target_version = helper.run().strip().splitlines()[-1]
    problems += version_problems(manifest.versions.get("jupyterhub"), target_version)
    existing = set(user_volumes(client, stack))
    there = sorted(existing & {i.volume for i in manifest.user_volumes})
    if there and not overwrite:
        problems.append(
            "these user volumes exist already: "
            + ", ".join(there)
            + " (restore into a fresh deployment, or --overwrite / OVERWRITE=1 to replace them)"
        )
    elif there:
        users_of = {
            m.get("Name")
            for c in client.containers.list(all=True)
            for m in c.attrs.get("Mounts", [])
            if m.get("Type") == "volume"
        }
        busy = sorted(set(there) & users_of)
        if busy:
            problems.append(
                "these user volumes are in use by a container (stop the users' servers "
                "first): " + ", ".join(busy)
            )
    if problems:
        raise Refused(
            f"{folder} is not restored (nothing was changed):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return manifest


def drop_config_service_tokens(db_file: Path) -> int:
    """Delete the tokens the backed-up hub's config gave its services (the metrics and
    status tokens, the culler's): the restored hub adds its own stack's at start, and
    JupyterHub never removes a config token it no longer has, so the old deployment's
    would keep working. Users' own tokens stay. How many were deleted."""
    db = sqlite3.connect(db_file)
    try:
        with db:
            cursor = db.execute(
                "DELETE FROM api_tokens WHERE service_id IS NOT NULL AND note = 'from config'"
            )
        return cursor.rowcount
    finally:
        db.close()


def _db_archive(db_file: Path, workdir: Path) -> Path:
    """A tar holding the database to restore at volume/jupyterhub.sqlite, root's and
    0600: a copy of the backup's, without its services' config tokens."""
    copy = workdir / bm.DB_NAME
    src, dst = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True), sqlite3.connect(copy)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    drop_config_service_tokens(copy)
    archive = workdir / "db.tar"
    with tarfile.open(archive, "w") as tar:
        info = tar.gettarinfo(str(copy), arcname=f"{bm.ARCHIVE_ROOT}/{bm.DB_NAME}")
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o600
        with copy.open("rb") as f:
            tar.addfile(info, f)
    return archive


def _put(client, image, stack, volume, archive: Path) -> None:
    with Helper(client, image, stack, volume, read_only=False) as helper, archive.open("rb") as f:
        if not helper.container.put_archive(HELPER_PARENT, f):
            raise StackError(f"the Docker host refused the archive {archive.name} for {volume}")


def restore(stack: Stack, folder: Path, overwrite: bool = False, log=print) -> bm.Manifest:
    client = docker_client(stack.docker_host)
    try:
        image = hub_image(client, stack)
    except StackError as exc:
        # No deployment to ask: say what the backup alone shows is wrong as well.
        problems = [str(exc)]
        try:
            manifest = bm.load(folder)
            if manifest.stack != stack.name:
                problems.insert(0, _other_stack(manifest, stack))
        except bm.ManifestError as bad:
            problems.insert(0, str(bad))
        raise Refused(
            f"{folder} is not restored (nothing was changed):\n"
            + "\n".join(f"  - {p}" for p in problems)
        ) from None
    manifest = refusals(stack, folder, client, image, overwrite)
    hub = client.containers.get(stack.hub_container)

    log(f"stopping {stack.hub_container}")
    hub.stop(timeout=60)
    try:
        log(f"hub data: emptying {stack.data_volume}, then the backup's")
        with Helper(
            client,
            image,
            stack,
            stack.data_volume,
            read_only=False,
            script=EMPTY_SCRIPT,
            cap_add=["DAC_OVERRIDE"],
        ) as helper:
            helper.run()
        _put(client, image, stack, stack.data_volume, folder / bm.DATA_FILE)
        with tempfile.TemporaryDirectory(prefix="jzos-restore-") as workdir:
            log(f"hub database: {bm.DB_NAME}")
            db_tar = _db_archive(folder / bm.DB_FILE, Path(workdir))
            _put(client, image, stack, stack.data_volume, db_tar)
        for item in manifest.user_volumes:
            log(f"user volume: {item.volume}")
            with contextlib.suppress(docker.errors.NotFound):  # there only with --overwrite
                client.volumes.get(item.volume).remove()
            create_user_volume(client, stack, item.volume)
            _put(client, image, stack, item.volume, folder / item.file)
    finally:
        log(f"starting {stack.hub_container}")
        hub.start()
    wait_healthy(client, stack.hub_container)
    log(f"restored {folder} into stack {stack.name}: {len(manifest.items)} items")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.backup", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", choices=("backup", "restore"))
    parser.add_argument("--stack", default=os.environ.get("STACK") or "dev")
    parser.add_argument("--to", type=Path, help="backup: a new or empty folder")
    parser.add_argument("--from", dest="source", type=Path, help="restore: a backup folder")
    parser.add_argument("--overwrite", action="store_true", help="restore over user volumes")
    parser.add_argument("--outputs", type=Path, help="the stack outputs as JSON (not the CLI)")
    parser.add_argument("--docker-host", help="default: the stack's docker:host, DOCKER_HOST")
    args = parser.parse_args(argv)
    if args.command == "backup" and not args.to:
        parser.error("backup needs --to FOLDER")
    if args.command == "restore" and not args.source:
        parser.error("restore needs --from FOLDER")
    try:
        stack = load_stack(args.stack, args.outputs, args.docker_host)
        if args.command == "backup":
            backup(stack, args.to)
        else:
            restore(stack, args.source, overwrite=args.overwrite)
    except Refused as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    except StackError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
