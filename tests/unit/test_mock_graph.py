"""The mock harness records what the engine would see; its checks are only as good as
this, so it is tested on a scratch program with known secrets, parents and options."""

from __future__ import annotations

import textwrap

import pytest

from tools.mock_graph import cli_string, run_program, stack_config

PROGRAM = """
import pulumi
import pulumi_docker as docker
import pulumi_random as random

config = pulumi.Config()
token = config.require_secret("TOKEN")

class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Box", name, None, opts)
        self.password = random.RandomPassword(f"{name}-pw", length=20,
                                              opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})

box = Box("box")
volume = docker.Volume("data", name="data", opts=pulumi.ResourceOptions(retain_on_delete=True))
container = docker.Container(
    "app",
    image="busybox:1.36",
    envs=[token.apply(lambda t: f"TOKEN={t}"), "PLAIN=1"],
    uploads=[docker.ContainerUploadArgs(file="/etc/token", content=token),
             docker.ContainerUploadArgs(file="/etc/motd", content="hello")],
    volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data")],
    opts=pulumi.ResourceOptions(depends_on=[box]),
)
pulumi.export("password", box.password.result)
pulumi.export("greeting", config.get("GREETING") or "hi")
"""


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(
        textwrap.dedent("""\
        name: jupyterhub-zos
        runtime: python
        config:
          GREETING:
            type: string
            default: hello
          TOKEN:
            type: string
            secret: true
    """)
    )
    (tmp_path / "Pulumi.s.yaml").write_text("config:\n  jupyterhub-zos:GREETING: from-stack\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    return tmp_path / "__main__.py"


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


def test_config_layers_apply_in_cli_order(scratch):
    values, secret = stack_config("s", {"GREETING": None}, {"TOKEN": "x"}, root=scratch.parent)
    assert "jupyterhub-zos:GREETING" not in values
    assert secret == {"jupyterhub-zos:TOKEN"}
    values, _ = stack_config("other", {}, {}, root=scratch.parent)
    assert values["jupyterhub-zos:GREETING"] == "hello"


def test_values_reach_the_program_as_cli_strings():
    assert cli_string(["a", "b"]) == '["a", "b"]'
    assert cli_string(True) == "true" and cli_string(8443) == "8443"
    assert cli_string({"alice": "ALICE01"}) == '{"alice": "ALICE01"}'


def test_runs_are_deterministic(scratch):
    first = run_program("s", secrets={"TOKEN": "t"}, program=scratch)
    second = run_program("s", secrets={"TOKEN": "t"}, program=scratch)
    # Registration order follows asyncio scheduling; what is registered does not.
    assert sorted((r.urn, repr(r.inputs)) for r in first.resources) == sorted(
        (r.urn, repr(r.inputs)) for r in second.resources
    )
