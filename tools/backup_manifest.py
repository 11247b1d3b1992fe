"""A backup folder's manifest and archives, as pure functions (no Docker): the manifest
rendered and parsed, the folder checked against it, volume archives filtered.

A backup folder (`make backup`) holds:

    manifest.json           what is here: stack, time, versions, each item's sha256 and size
    hub-db.sqlite           a consistent copy of the hub's sqlite database (sqlite's backup API)
    hub-data.tar            the rest of the hub's data volume (cookie secret, saved logs, ...)
    volumes/<volume>.tar    one archive per user volume (DockerSpawner's jupyterhub-user-*)

Every archive holds one top folder, `volume/`, which is the volume's root (its owner and
mode included): what Docker's archive API gives for a volume mounted at .../volume, and
what it takes back at the parent folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

FORMAT = "jupyterhub-zos-backup/1"
MANIFEST = "manifest.json"
DB_FILE = "hub-db.sqlite"
DATA_FILE = "hub-data.tar"
VOLUMES_DIR = "volumes"
ARCHIVE_ROOT = "volume"  # the top folder of every archive: the volume's root
# The hub's database on its data volume (jupyterhub_config.py: db_url) and sqlite's side
# files: never copied raw (the consistent copy is DB_FILE), never restored from the tar.
DB_NAME = "jupyterhub.sqlite"
DB_SIDE_FILES = (DB_NAME, f"{DB_NAME}-journal", f"{DB_NAME}-wal", f"{DB_NAME}-shm")
KINDS = ("hub-db", "hub-data", "user-volume")
# Docker's volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]*; so also a safe file name.
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class ManifestError(ValueError):
    """A manifest or folder that cannot be restored: every problem, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Item:
    kind: str  # hub-db, hub-data or user-volume
    file: str  # relative to the folder
    sha256: str
    size: int
    volume: str | None = None  # the Docker volume it came from / goes to

    def as_json(self) -> dict[str, Any]:
        item = {"kind": self.kind, "file": self.file, "sha256": self.sha256, "size": self.size}
        if self.volume is not None:
            item["volume"] = self.volume
        return item


@dataclass(frozen=True)
class Manifest:
    project: str
    stack: str
    created: str  # UTC, ISO 8601
    versions: dict[str, str]
    items: tuple[Item, ...]
    docker_host: str | None = None
    format: str = FORMAT

    def item(self, kind: str) -> Item:
        (found,) = [i for i in self.items if i.kind == kind]
        return found

    @property
    def user_volumes(self) -> list[Item]:
        return [i for i in self.items if i.kind == "user-volume"]

    @property
    def data_volume(self) -> str:
        return self.item("hub-data").volume or ""


def volume_file(volume: str) -> str:
    """Where a user volume's archive goes in the folder."""
    if not _VOLUME_NAME.match(volume):
        raise ValueError(f"not a Docker volume name: {volume!r}")
    return f"{VOLUMES_DIR}/{volume}.tar"


def render(manifest: Manifest) -> str:
    return (
        json.dumps(
            {
                "format": manifest.format,
                "project": manifest.project,
                "stack": manifest.stack,
                "created": manifest.created,
                "docker_host": manifest.docker_host,
                "versions": dict(sorted(manifest.versions.items())),
                "items": [i.as_json() for i in manifest.items],
            },
            indent=2,
        )
        + "\n"
    )


def _item(raw: Any, where: str, problems: list[str]) -> Item | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: not an object")
        return None
    kind, file, sha, size, volume = (
        raw.get("kind"),
        raw.get("file"),
        raw.get("sha256"),
        raw.get("size"),
        raw.get("volume"),
    )
    bad = len(problems)
    if kind not in KINDS:
        problems.append(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    expected = {"hub-db": DB_FILE, "hub-data": DATA_FILE}.get(kind)
    if kind == "user-volume":
        if not isinstance(volume, str) or not _VOLUME_NAME.match(volume):
            problems.append(f"{where}: volume {volume!r} is not a Docker volume name")
        else:
            expected = volume_file(volume)
    elif kind == "hub-data" and (not isinstance(volume, str) or not _VOLUME_NAME.match(volume)):
        problems.append(f"{where}: volume {volume!r} is not a Docker volume name")
    if expected is not None and file != expected:
        problems.append(f"{where}: file {file!r} must be {expected!r}")
    if not isinstance(sha, str) or not _SHA256.match(sha):
        problems.append(f"{where}: sha256 {sha!r} is not 64 lowercase hex digits")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        problems.append(f"{where}: size {size!r} is not a byte count")
    if len(problems) > bad:
        return None
    return Item(kind=kind, file=file, sha256=sha, size=size, volume=volume)


def parse(text: str) -> Manifest:
    """The manifest, or a ManifestError naming every problem."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError([f"{MANIFEST} is not JSON: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ManifestError([f"{MANIFEST} is not a JSON object"])
    problems: list[str] = []
    if raw.get("format") != FORMAT:
        problems.append(f"format {raw.get('format')!r}: this tool reads {FORMAT!r}")
    for key in ("project", "stack", "created"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            problems.append(f"{key}: missing or not a string")
    versions = raw.get("versions")
    if not isinstance(versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
    ):
        problems.append("versions: not an object of strings")
        versions = {}
    raw_items = raw.get("items")
    items: list[Item] = []
    if not isinstance(raw_items, list):
        problems.append("items: not a list")
        raw_items = []
    for n, raw_item in enumerate(raw_items):
        item = _item(raw_item, f"items[{n}]", problems)
        if item is not None:
            items.append(item)
    for kind in ("hub-db", "hub-data"):
        count = sum(1 for i in items if i.kind == kind)
        if count != 1 and not any(p.startswith("items[") for p in problems):
            problems.append(f"items: {count} {kind} items, exactly one needed")
    files = [i.file for i in items]
    for dup in sorted({f for f in files if files.count(f) > 1}):
        problems.append(f"items: {dup} listed more than once")
    if problems:
        raise ManifestError(problems)
    return Manifest(
        project=raw["project"],
        stack=raw["stack"],
        created=raw["created"],
        versions=dict(versions),
        items=tuple(items),
        docker_host=raw.get("docker_host") if isinstance(raw.get("docker_host"), str) else None,
        format=raw["format"],
    )


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 (hex) and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def verify(folder: Path, manifest: Manifest) -> list[str]:
    """Every item's file present with its size and sha256; what is wrong, one line each."""
    problems = []
    for item in manifest.items:
        path = folder / item.file
        if not path.is_file():
            problems.append(f"{item.file}: missing")
            continue
        sha, size = file_digest(path)
        if size != item.size:
            problems.append(f"{item.file}: {size} bytes, the manifest says {item.size}")
        elif sha != item.sha256:
            problems.append(f"{item.file}: sha256 {sha}, the manifest says {item.sha256}")
    return problems


def load(folder: Path) -> Manifest:
    """A backup folder's manifest, its files checked: or one ManifestError with all."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ManifestError([f"{folder}: not a folder"])
    if not path.is_file():
        raise ManifestError([f"{path}: missing (not a backup folder, or the backup did not end)"])
    manifest = parse(path.read_text(encoding="utf-8"))
    problems = verify(folder, manifest)
    if problems:
        raise ManifestError(problems)
    return manifest


# --- archives -----------------------------------------------------------------------------


@dataclass
class ArchiveStats:
    members: int = 0
    left_out: list[str] = field(default_factory=list)


def rebase(
    src: IO[bytes], dst: IO[bytes], *, drop: Iterable[str] = (), root: str = ARCHIVE_ROOT
) -> ArchiveStats:
    """Copy a tar stream (Docker's archive of a folder) to `dst` with its top folder named
    `root`, leaving out the top-level entries named in `drop` (the database's raw files).
    Streams: neither side is held in memory. Refuses members outside the top folder."""
    stats = ArchiveStats()
    drop = set(drop)
    top: str | None = None
    with (
        tarfile.open(fileobj=src, mode="r|") as tin,
        tarfile.open(fileobj=dst, mode="w|", format=tarfile.PAX_FORMAT) as tout,
    ):
        for member in tin:
            parts = member.name.strip("/").split("/")
            if top is None:
                top = parts[0]
            if parts[0] != top or ".." in parts:
                raise ValueError(f"archive member {member.name!r} is outside {top!r}/")
            if len(parts) >= 2 and parts[1] in drop:
                stats.left_out.append("/".join(parts[1:]))
                continue
            member.name = "/".join([root, *parts[1:]])
            if member.islnk():  # hard links name their target by path too
                target = member.linkname.strip("/").split("/")
                member.linkname = "/".join([root, *target[1:]])
            data = tin.extractfile(member) if member.isreg() else None
            tout.addfile(member, data)
            stats.members += 1
    return stats


def check_archive(path: Path, root: str = ARCHIVE_ROOT) -> list[str]:
    """A stored archive's members all under `root`/ and none escaping it; the problems."""
    problems = []
    try:
        with tarfile.open(path, mode="r|") as tar:
            for member in tar:
                parts = member.name.strip("/").split("/")
                if parts[0] != root or ".." in parts or member.name.startswith("/"):
                    problems.append(f"{path.name}: member {member.name!r} is outside {root}/")
                    break
    except tarfile.TarError as exc:
        problems.append(f"{path.name}: not a tar archive ({exc})")
    return problems


def single_file(src: IO[bytes], dst: IO[bytes]) -> int:
    """The one regular file of a tar stream (Docker's archive of a file) into `dst`."""
    with tarfile.open(fileobj=src, mode="r|") as tar:
        for member in tar:
            if member.isreg():
                data = tar.extractfile(member)
                size = 0
                while chunk := data.read(CHUNK):
                    dst.write(chunk)
                    size += len(chunk)
                return size
    raise ValueError("the archive holds no file")


class IterStream:
    """A read-only file over an iterator of byte chunks (docker-py's get_archive)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._chunk = b""
        self._at = 0  # read up to here in _chunk

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts = []
        want = size
        while want != 0:
            if self._at >= len(self._chunk):
                try:
                    self._chunk, self._at = next(self._chunks), 0
                except StopIteration:
                    break
                continue
            end = len(self._chunk) if want < 0 else min(len(self._chunk), self._at + want)
            parts.append(self._chunk[self._at : end])
            if want > 0:
                want -= end - self._at
            self._at = end
        return b"".join(parts)
