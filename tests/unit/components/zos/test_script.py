"""The script frame carries only the helpers a step uses, and their helpers."""

from __future__ import annotations

import re

from components.zos.script import LIBRARY_CHUNKS, library_for, render


def defined(text: str) -> set[str]:
    return set(re.findall(r"^([a-z_]+)\(\) \{", text, flags=re.M))


def test_a_helper_brings_the_helpers_it_calls():
    assert defined(library_for("ok 'SETROPTS LIST'")) == {
        "say",
        "die",
        "on_exit",
        "tso",
        "fail",
        "ok",
    }
    assert {"marked", "unmark", "setr_load", "setr_has", "ok"} <= defined(
        library_for("refresh_pending")
    )


def test_words_in_comments_are_not_calls():
    assert defined(library_for("# has a mark, ok?\necho done")) == {"on_exit"}


def test_the_full_library_is_all_helpers():
    every = " ".join(name for name, _ in LIBRARY_CHUNKS if name)
    assert defined(library_for(every)) == {name for name, _ in LIBRARY_CHUNKS if name}


def test_marker_variables_only_where_markers_are_kept():
    plain = render(stack="s", step="x", action="create", purpose="p", variables={}, body="ok X")
    kept = render(stack="s", step="x", action="create", purpose="p", variables={}, body='mark "X"')
    assert "MARKS=" not in plain and 'MARKS="$MARKS_DIR"/"x"' in kept
