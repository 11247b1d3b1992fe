"""The mock harness records what the engine would see; its checks are only as good as
this, so it is tested on a scratch program with known secrets, parents and options."""

from __future__ import annotations

from tools.mock_graph import run_program


def test_records_types_parents_dependencies_options_and_secrets(scratch):
    graph = run_program("s", secrets={"TOKEN": "tok-123"}, program=scratch)
    box = graph.one("test:index:Box")
    password = graph.one("random:index/randomPassword:RandomPassword")
    assert password.parent == box.urn and not box.custom and password.custom
    container = graph.one("docker:index/container:Container", "app")
    # depends_on a component means its children; an input's resource is a dependency too.
    volume = graph.one("docker:index/volume:Volume")
    assert container.dependencies == {password.urn, volume.urn}
    assert container.inputs["envs"] == ["TOKEN=tok-123", "PLAIN=1"]
    assert container.is_secret("envs") and not container.is_secret("image")
    # Exactly where: the upload's content, not its neighbour.
    assert ("uploads", 0, "content") in container.secret_leaves
    assert not any(leaf[:2] == ("uploads", 1) for leaf in container.secret_leaves)
    assert volume.options["retainOnDelete"] is True
    assert graph.outputs["greeting"] == "from-stack"
    assert "password" in graph.secret_outputs and len(graph.outputs["password"]) == 20


def test_runs_are_deterministic(scratch):
    first = run_program("s", secrets={"TOKEN": "t"}, program=scratch)
    second = run_program("s", secrets={"TOKEN": "t"}, program=scratch)
    # Registration order follows asyncio scheduling; what is registered does not.
    assert sorted((r.urn, repr(r.inputs)) for r in first.resources) == sorted(
        (r.urn, repr(r.inputs)) for r in second.resources
    )
