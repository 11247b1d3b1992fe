"""The benchmark's own measures: the critical path and the inputs digest."""

from __future__ import annotations

import ast
import importlib

from bench import evaluate
from bench.evaluate import critical_path, inputs_digest
from tests.unit.program.test_urn_snapshot import SNAPSHOTS
from tools.mock_graph import Graph, Recorded


def res(name: str, deps=(), parent="stack", custom=True, inputs=None) -> Recorded:
    return Recorded(
        type="t:index/x:X" if custom else "t:index:Comp",
        name=name,
        urn=name,
        inputs=inputs or {},
        secret_paths=frozenset(),
        parent=parent,
        dependencies=frozenset(deps),
        custom=custom,
    )


def test_critical_path_is_the_longest_chain_through_components():
    graph = Graph(
        "s",
        [
            res("a"),
            res("b", ["a"]),
            res("comp", custom=False),
            res("c", ["b"], parent="comp"),
            res("d", ["comp"]),  # waiting for a component waits for its children
            res("e", ["a"]),
        ],
        {},
        set(),
        {},
    )
    assert critical_path(graph) == ["X::a", "X::b", "X::c", "X::d"]


def test_digest_ignores_registration_order_but_not_inputs():
    one = [res("a", inputs={"k": 1}), res("b")]
    assert inputs_digest(Graph("s", one, {}, set(), {})) == inputs_digest(
        Graph("s", one[::-1], {}, set(), {})
    )
    changed = [res("a", inputs={"k": 2}), res("b")]
    assert inputs_digest(Graph("s", one, {}, set(), {})) != inputs_digest(
        Graph("s", changed, {}, set(), {})
    )


def test_z_os_exports_print_one_real_pkcs12_and_other_steps_nothing():
    import base64
    import re
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.serialization import pkcs12

    from bench.stacks import P12_PASSWORD, export_stdout, fake_remote_command

    export = fake_remote_command(SimpleNamespace(inputs={"create": 'uuencode -m "$F" p12'}))
    assert export["stdout"] == export_stdout()
    body = re.fullmatch(r"begin-base64 600 p12\n(.*)\n====\n", export["stdout"], re.DOTALL)
    loaded = pkcs12.load_pkcs12(base64.b64decode(body[1]), P12_PASSWORD.encode())
    assert loaded.key is not None and len(loaded.additional_certs) == 1
    step = fake_remote_command(SimpleNamespace(inputs={"create": "tso 'RACDCERT LIST'"}))
    assert step["stdout"] == ""


def floor_classes() -> dict[str, str]:
    """The floor program's CLASSES table, read from its source (importing the floor
    runs it)."""
    tree = ast.parse(evaluate.FLOOR_PROGRAM.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["CLASSES"]:
            return ast.literal_eval(node.value)
    raise AssertionError("no CLASSES in the floor program")


def test_the_floor_has_an_sdk_class_for_every_resource_type_the_graphs_use():
    """`make bench` runs the floor for both stacks: a type it cannot make fails there."""
    classes = floor_classes()
    used = {
        urn.rsplit("::", 1)[0].rsplit("$", 1)[-1].rsplit("::", 1)[-1]
        for snapshot in SNAPSHOTS.glob("urns_*.txt")
        for urn in snapshot.read_text().split()
    }
    custom = {t for t in used if not t.startswith(("jupyterhub-zos:", "pulumi:pulumi:"))}
    assert "docker:index/container:Container" in custom  # the snapshots were read
    assert custom <= set(classes), sorted(custom - set(classes))
    for token, path in classes.items():
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name).__name__ == name, token
