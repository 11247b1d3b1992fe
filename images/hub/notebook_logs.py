"""Users' notebook logs, kept after their server stops (shipped in the hub image).

DockerSpawner removes a user's container when the server stops (or is culled), and the
container's log goes with it. The hub saves it first (jupyterhub_config.py's spawner
calls `save_log` with what `docker logs` returns) under the data volume, one file per
stop: <root>/<user>/<server>-<UTC time>.log, 0600, root's. Run as a hub service
(`python3 notebook_logs.py --dir ... --keep-days N`), it removes those older than N
days, at start and then every hour.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_SERVER = "default"  # the user's unnamed server


def safe_part(text: str) -> str:
    """A path component: user and server names as they are, anything else as '_'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")
    return cleaned[:100] or "_"


def log_path(root: Path, user: str, server: str, when: datetime) -> Path:
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return Path(root) / safe_part(user) / f"{safe_part(server or DEFAULT_SERVER)}-{stamp}.log"


def save_log(root: Path, user: str, server: str, data: bytes, when: datetime | None = None) -> Path:
    """Write one stopped server's log; only root (the hub) reads it."""
    path = log_path(root, user, server, when or datetime.now(timezone.utc))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent.parent, 0o700)
    part = path.with_suffix(".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    part.rename(path)
    return path


def prune(root: Path, keep_seconds: float, now: float | None = None) -> list[Path]:
    """Remove saved logs older than keep_seconds (by the time they were written), and
    user directories left empty; return what was removed."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    root = Path(root)
    if not root.is_dir():
        return removed
    for user_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for path in sorted(user_dir.glob("*.log")):
            if path.is_file() and now - path.stat().st_mtime > keep_seconds:
                path.unlink()
                removed.append(path)
        if not any(user_dir.iterdir()):
            user_dir.rmdir()
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--keep-days", required=True, type=float)
    parser.add_argument("--every", type=float, default=3600, help="seconds between prunes")
    parser.add_argument("--once", action="store_true", help="prune once and exit")
    args = parser.parse_args(argv)
    if args.keep_days <= 0:
        parser.error("--keep-days must be positive")
    while True:
        for path in prune(args.dir, args.keep_days * 86400):
            print(f"notebook-logs: removed {path} (older than {args.keep_days:g} days)", flush=True)
        if args.once:
            return 0
        time.sleep(args.every)


if __name__ == "__main__":
    sys.exit(main())
