"""The docs hold together: every relative link in README.md and docs/**/*.md points at a
file or directory of the repository (and, for a Markdown page, at a heading it has), and
every page under docs/ is reachable from docs/index.md, which the README links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[3]

# Pages another branch adds (linked here already). Once one exists, the test below fails:
# delete its entry, and it is checked like every other page.
PENDING: set[str] = set()  # pages linked before they exist (none now)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\n\n).)+?\1", re.DOTALL)
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def prose(text: str) -> str:
    """The text with fenced and indented code blocks blanked (a link there is code)."""
    lines, fence, previous_blank, in_indented = [], None, True, False
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            lines.append("")
            continue
        if match:
            fence = match.group(1)
            lines.append("")
            continue
        indented = line.startswith(("    ", "\t")) and line.strip() != ""
        in_indented = indented and (previous_blank or in_indented)
        lines.append("" if in_indented else line)
        previous_blank = line.strip() == ""
    return "\n".join(lines)


def links(text: str) -> list[str]:
    """Every link target of a Markdown text: inline links, images and reference
    definitions, outside code."""
    text = _INLINE_CODE.sub("", prose(text))
    return _INLINE_LINK.findall(text) + _REFERENCE_DEF.findall(text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation dropped,
    spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    found, seen = set(), {}
    for line in prose(text).split("\n"):
        match = _HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    found.update(_HTML_ANCHOR.findall(text))
    return found


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def resolve(root: Path, page: Path, target: str) -> tuple[Path | None, str, str | None]:
    """(file the link points at, its anchor, problem). None for an external link."""
    if _SCHEME.match(target) or target.startswith("//"):
        return None, "", None
    root, page = root.resolve(), page.resolve()
    path_part, _, anchor = target.partition("#")
    path = (page.parent / unquote(path_part)).resolve() if path_part else page
    where = f"{page.relative_to(root).as_posix()}: link {target!r}"
    if not path.is_relative_to(root):
        return None, anchor, f"{where} leaves the repository"
    rel = path.relative_to(root).as_posix()
    if not path.exists():
        if rel in PENDING:
            return None, anchor, None
        return None, anchor, f"{where}: no such file {rel}"
    if anchor and path.suffix == ".md" and unquote(anchor) not in anchors(path.read_text()):
        return None, anchor, f"{where}: {rel} has no heading #{anchor}"
    return path, anchor, None


def linked_pages(root: Path, page: Path) -> Iterator[Path]:
    for target in links(page.read_text()):
        path, _, problem = resolve(root, page, target)
        if path is not None and problem is None and path.suffix == ".md":
            yield path


def broken_links(root: Path) -> list[str]:
    problems = []
    for page in pages(root):
        for target in links(page.read_text()):
            problem = resolve(root, page, target)[2]
            if problem:
                problems.append(problem)
    return problems


def unreachable_pages(root: Path) -> list[str]:
    """Pages under docs/ that no chain of links from docs/index.md reaches."""
    root = root.resolve()
    docs = root / "docs"
    index = docs / "index.md"
    if not index.exists():
        return ["docs/index.md is missing"]
    reached, todo = {index}, [index]
    while todo:
        for path in linked_pages(root, todo.pop()):
            if path.is_relative_to(docs) and path not in reached:
                reached.add(path)
                todo.append(path)
    return [
        page.relative_to(root).as_posix()
        for page in sorted(docs.rglob("*.md"))
        if page not in reached
    ]


# --- the repository's docs ----------------------------------------------------------------


def test_every_relative_link_resolves():
    assert broken_links(ROOT) == []


def test_every_docs_page_is_reachable_from_the_index():
    assert unreachable_pages(ROOT) == []


def test_the_readme_links_the_index():
    readme = ROOT / "README.md"
    assert (ROOT / "docs" / "index.md").resolve() in set(linked_pages(ROOT, readme))


def test_pending_pages_are_still_pending():
    landed = sorted(p for p in PENDING if (ROOT / p).exists())
    assert not landed, f"{landed} exist now: remove them from PENDING in {__file__}"


# --- the checker finds what it must (so a pass above means something) ----------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_checker_finds_broken_links_and_anchors(tmp_path):
    root = _tree(
        tmp_path,
        {
            "README.md": "# Top\n\n[docs](docs/index.md) [gone](docs/gone.md)\n",
            "docs/index.md": (
                "# Index\n\n## Day-2 tasks: `make` it\n\n"
                "[ok](#day-2-tasks-make-it) [bad](#nowhere) [up](../README.md#top)\n"
                "[page](a.md#missing) [dir](../docs/) [web](https://example.org/x.md)\n"
                "\n[ref]: ../nothing.txt\n\n"
                "`[code](no.md)`\n\n    [indented](no.md)\n\n```\n[fenced](no.md)\n```\n"
            ),
            "docs/a.md": "# A\n",
        },
    )
    assert broken_links(root) == [
        "README.md: link 'docs/gone.md': no such file docs/gone.md",
        "docs/index.md: link '#nowhere': docs/index.md has no heading #nowhere",
        "docs/index.md: link 'a.md#missing': docs/a.md has no heading #missing",
        "docs/index.md: link '../nothing.txt': no such file nothing.txt",
    ]


def test_the_checker_finds_unreachable_pages(tmp_path):
    root = _tree(
        tmp_path,
        {
            "README.md": "[docs](docs/index.md)\n",
            "docs/index.md": "[how](howto/a.md)\n",
            "docs/howto/a.md": "[next](../reference/b.md) [back](../index.md)\n",
            "docs/reference/b.md": "# B\n",
            "docs/reference/orphan.md": "[b](b.md)\n",
        },
    )
    assert unreachable_pages(root) == ["docs/reference/orphan.md"]
