"""The benchmark's own measures: the critical path and the inputs digest."""

from __future__ import annotations

from bench.evaluate import critical_path, inputs_digest
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
