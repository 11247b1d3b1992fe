"""A scratch program with known secrets, parents and options, for the harness's tests."""

from __future__ import annotations

import textwrap

import pytest

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
