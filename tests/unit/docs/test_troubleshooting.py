"""The troubleshooting page quotes log lines (```log blocks, `…` for names and values):
each must still be what the project's code or a pinned library writes, so an upgrade
that changes a message shows here, not at an operator's terminal."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import dockerspawner
import jupyter_server
import jupyterhub
import ldapauthenticator

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "howto" / "troubleshooting.md"
# Where the quoted lines come from: the program and the hub image's code, and the
# libraries the images pin (installed in the venv at the images' versions).
SOURCES = [
    ROOT / "components",
    ROOT / "images",
    *(Path(m.__file__).parent for m in (jupyterhub, dockerspawner, ldapauthenticator)),
    Path(jupyter_server.__file__).parent / "gateway",
]


def quoted_lines() -> list[str]:
    blocks = re.findall(r"^```log\n(.*?)^```$", PAGE.read_text(), flags=re.M | re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


# Adjacent string literals on consecutive lines (one message written over two lines).
_CONTINUED = re.compile(r"([\"'])\s*\n\s*[rbfuRBFU]*\1")


@cache
def source_texts() -> tuple[str, ...]:
    return tuple(
        _CONTINUED.sub("", path.read_text(errors="replace"))
        for root in SOURCES
        for path in sorted(root.rglob("*.py"))
    )


def written_by_the_code(line: str) -> bool:
    """Every literal piece of `line` (between `…`) in one source file, in that order."""
    pieces = [p for p in line.split("…") if p.strip()]
    for text in source_texts():
        at = 0
        for piece in pieces:
            at = text.find(piece, at)
            if at < 0:
                break
            at += len(piece)
        else:
            return True
    return False


def test_the_page_quotes_log_lines():
    assert len(quoted_lines()) >= 8


def test_every_quoted_log_line_is_what_the_code_writes():
    missing = [line for line in quoted_lines() if not written_by_the_code(line)]
    assert not missing, missing


def test_a_line_the_code_does_not_write_is_found_out():
    assert not written_by_the_code("Failed to bind user '…' to an LDAP server, sorry.")
