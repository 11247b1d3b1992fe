"""tools/backup_manifest.py: the manifest rendered and parsed, a folder checked against
it, Docker's archives rebased and filtered (pure: no Docker)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from tools import backup_manifest as bm


def item(kind: str, file: str, data: bytes, volume: str | None = None) -> bm.Item:
    return bm.Item(kind, file, hashlib.sha256(data).hexdigest(), len(data), volume)


def folder_with(tmp_path: Path, files: dict[str, bytes], volumes=("jupyterhub-user-alice",)):
    items = [
        item("hub-db", bm.DB_FILE, files[bm.DB_FILE]),
        item("hub-data", bm.DATA_FILE, files[bm.DATA_FILE], "jupyterhub-data"),
        *(item("user-volume", bm.volume_file(v), files[bm.volume_file(v)], v) for v in volumes),
    ]
    manifest = bm.Manifest(
        project="jupyterhub-zos",
        stack="dev",
        created="2026-12-02T03:00:00Z",
        versions={"jupyterhub": "5.3.0"},
        items=tuple(items),
    )
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / bm.MANIFEST).write_text(bm.render(manifest))
    return manifest


FILES = {
    bm.DB_FILE: b"db bytes",
    bm.DATA_FILE: b"data tar",
    "volumes/jupyterhub-user-alice.tar": b"alice tar",
}


def test_a_rendered_manifest_parses_back_to_itself(tmp_path):
    manifest = folder_with(tmp_path, FILES)
    assert bm.parse(bm.render(manifest)) == manifest
    assert bm.load(tmp_path) == manifest
    raw = json.loads((tmp_path / bm.MANIFEST).read_text())
    assert raw["format"] == bm.FORMAT and raw["stack"] == "dev"
    assert [i["kind"] for i in raw["items"]] == ["hub-db", "hub-data", "user-volume"]
    assert manifest.data_volume == "jupyterhub-data"
    assert [i.volume for i in manifest.user_volumes] == ["jupyterhub-user-alice"]


def test_a_changed_or_missing_file_is_named(tmp_path):
    folder_with(tmp_path, FILES)
    (tmp_path / bm.DATA_FILE).write_bytes(b"data taR")  # same size, other bytes
    (tmp_path / "volumes/jupyterhub-user-alice.tar").unlink()
    with pytest.raises(bm.ManifestError) as error:
        bm.load(tmp_path)
    assert error.value.problems == [
        f"{bm.DATA_FILE}: sha256 {hashlib.sha256(b'data taR').hexdigest()}, the manifest says "
        f"{hashlib.sha256(b'data tar').hexdigest()}",
        "volumes/jupyterhub-user-alice.tar: missing",
    ]
    (tmp_path / bm.DATA_FILE).write_bytes(b"longer data tar")
    assert bm.verify(tmp_path, bm.parse((tmp_path / bm.MANIFEST).read_text()))[0] == (
        f"{bm.DATA_FILE}: 15 bytes, the manifest says 8"
    )


def test_a_folder_without_manifest_is_not_a_backup(tmp_path):
    with pytest.raises(bm.ManifestError, match="missing"):
        bm.load(tmp_path)
    with pytest.raises(bm.ManifestError, match="not a folder"):
        bm.load(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m.update(format="other/1"), "format 'other/1'"),
        (lambda m: m.pop("stack"), "stack: missing"),
        (lambda m: m.update(items="x"), "items: not a list"),
        (lambda m: m["items"][0].update(sha256="ABC"), "sha256 'ABC'"),
        (lambda m: m["items"][0].update(size=-1), "size -1"),
        (lambda m: m["items"][0].update(kind="other"), "kind 'other'"),
        (lambda m: m["items"][2].update(file="../../etc/passwd"), "must be 'volumes/"),
        (lambda m: m["items"][2].update(volume="../x"), "volume '../x'"),
        (lambda m: m["items"].pop(0), "0 hub-db items"),
        (lambda m: m["items"].append(dict(m["items"][2])), "listed more than once"),
    ],
)
def test_a_corrupt_manifest_is_refused_with_what_is_wrong(tmp_path, change, problem):
    manifest = folder_with(tmp_path, FILES)
    raw = json.loads(bm.render(manifest))
    change(raw)
    with pytest.raises(bm.ManifestError) as error:
        bm.parse(json.dumps(raw))
    assert any(problem in p for p in error.value.problems), error.value.problems


def test_not_json_is_refused():
    with pytest.raises(bm.ManifestError, match="not JSON"):
        bm.parse("{")
    with pytest.raises(bm.ManifestError, match="not a JSON object"):
        bm.parse("[]")


def docker_archive(top: str, entries: list[tuple[str, bytes | None, int]]) -> bytes:
    """A tar as Docker's archive API gives one: the folder's basename on top."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        root = tarfile.TarInfo(top)
        root.type, root.uid, root.mode = tarfile.DIRTYPE, 1000, 0o755
        tar.addfile(root)
        for name, data, uid in entries:
            info = tarfile.TarInfo(f"{top}/{name}")
            info.uid = uid
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def members(data: bytes) -> dict[str, tuple[bytes | None, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            m.name: (tar.extractfile(m).read() if m.isreg() else None, m.uid)
            for m in tar.getmembers()
        }


def test_rebase_names_the_top_folder_volume_and_leaves_the_raw_database_out():
    src = docker_archive(
        "volume",
        [
            (bm.DB_NAME, b"raw db", 0),
            (f"{bm.DB_NAME}-journal", b"journal", 0),
            ("jupyterhub_cookie_secret", b"secret", 0),
            ("notebook-logs", None, 0),
            ("notebook-logs/alice", None, 0),
            (f"notebook-logs/alice/{bm.DB_NAME}", b"a user's file of that name", 0),
        ],
    )
    out = io.BytesIO()
    stats = bm.rebase(bm.IterStream([src[:7], src[7:5000], src[5000:]]), out, drop=bm.DB_SIDE_FILES)
    got = members(out.getvalue())
    assert sorted(got) == [
        "volume",
        "volume/jupyterhub_cookie_secret",
        "volume/notebook-logs",
        "volume/notebook-logs/alice",
        f"volume/notebook-logs/alice/{bm.DB_NAME}",  # only the top-level database is left out
    ]
    assert got["volume"] == (None, 1000)  # the volume root's owner is kept
    assert stats.left_out == [bm.DB_NAME, f"{bm.DB_NAME}-journal"]


def test_rebase_of_another_top_folder_and_refusal_of_escapes():
    out = io.BytesIO()
    bm.rebase(io.BytesIO(docker_archive("data", [("x", b"1", 1000)])), out)
    assert sorted(members(out.getvalue())) == ["volume", "volume/x"]
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        for name in ("volume", "other/x"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
    evil.seek(0)
    with pytest.raises(ValueError, match="outside"):
        bm.rebase(evil, io.BytesIO())


def test_check_archive(tmp_path):
    good = tmp_path / "good.tar"
    good.write_bytes(docker_archive("volume", [("a", b"1", 0)]))
    assert bm.check_archive(good) == []
    bad = tmp_path / "bad.tar"
    bad.write_bytes(docker_archive("elsewhere", [("a", b"1", 0)]))
    assert "outside volume/" in bm.check_archive(bad)[0]
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    assert "not a tar archive" in bm.check_archive(junk)[0]


def test_single_file_and_iter_stream():
    data = b"x" * 3_000_000
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("hub-db.sqlite")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    raw = tar.getvalue()
    chunks = [raw[i : i + 65536] for i in range(0, len(raw), 65536)]
    out = io.BytesIO()
    assert bm.single_file(bm.IterStream(chunks), out) == len(data)
    assert out.getvalue() == data
    stream = bm.IterStream([b"ab", b"", b"cde"])
    assert (stream.read(1), stream.read(3), stream.read(), stream.read(5)) == (
        b"a",
        b"bcd",
        b"e",
        b"",
    )


def test_volume_file_refuses_what_is_no_volume_name():
    assert (
        bm.volume_file("jupyterhub-user-bob-2esmith") == "volumes/jupyterhub-user-bob-2esmith.tar"
    )
    for bad in ("../x", "", "a/b", "-x"):
        with pytest.raises(ValueError):
            bm.volume_file(bad)
