"""The local applier's test program: a network, a retained volume, a locally built image, a
local command whose stdout feeds a container's env, and a container with uploads,
healthcheck and wait."""

import pulumi
import pulumi_command as command
import pulumi_docker as docker

config = pulumi.Config()
stack = pulumi.get_stack()
out_dir = config.require("OUT_DIR")

network = docker.Network("net", name=f"{stack}-net", driver="bridge")
volume = docker.Volume(
    "data",
    name=f"{stack}-data",
    labels=[docker.VolumeLabelArgs(label="e2eapplier", value="true")],
    opts=pulumi.ResourceOptions(retain_on_delete=True),
)
scratch = docker.Volume("scratch", name=f"{stack}-scratch")
marker = command.local.Command(
    "marker",
    create=f'mkdir -p {out_dir} && cat > {out_dir}/marker && echo "made-by-$WHO"',
    delete=f"rm -f {out_dir}/marker",
    stdin=pulumi.Output.secret("stdin-content\n"),
    environment={"WHO": config.require("WHO")},
    triggers=[out_dir],
    opts=pulumi.ResourceOptions(additional_secret_outputs=["stdout"]),
)
base = docker.RemoteImage(
    "base", name="debian:bookworm-20251229-slim", keep_locally=True
)  # on the engine already: used as it is, never pulled
image = docker.Image(
    "img",
    image_name=f"{stack}-img:{stack}",
    build=docker.DockerBuildArgs(
        context="image", dockerfile="image/Dockerfile", args={"STAMP": config.require("STAMP")}
    ),
    skip_push=True,
)
if config.require_bool("WITH_CONTAINER"):
    extra = {"gpus": "all"} if config.require_bool("UNSUPPORTED") else {}
    container = docker.Container(
        "box",
        name=f"{stack}-box",
        image=config.get("IMAGE") or image.repo_digest,
        command=["sleep", "infinity"],
        envs=[f"GREETING={config.require('GREETING')}", marker.stdout.apply(lambda s: f"CMD={s}")],
        labels=[docker.ContainerLabelArgs(label="e2eapplier", value="true")],
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=["box"])
        ],
        volumes=[
            docker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data"),
            docker.ContainerVolumeArgs(volume_name=scratch.name, container_path="/scratch"),
        ],
        uploads=[
            docker.ContainerUploadArgs(
                file="/etc/e2e/secret.txt",
                content="s3cret\n",
                permissions="0600",
                owner="1000",
                group="100",
            ),
            docker.ContainerUploadArgs(
                file="/usr/local/bin/probe", content="#!/bin/sh\nexit 0\n", executable=True
            ),
            docker.ContainerUploadArgs(file="/etc/e2e/plain.txt", content="plain\n"),
        ],
        capabilities=docker.ContainerCapabilitiesArgs(drops=["NET_RAW"]),
        restart="unless-stopped",
        memory=128,
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=["CMD", "/usr/local/bin/probe"], interval="1s", timeout="2s", retries=3
        ),
        wait=True,
        wait_timeout=60,
        destroy_grace_seconds=1,
        opts=pulumi.ResourceOptions(depends_on=[marker]),
        **extra,
    )
    pulumi.export("container_id", container.id)
pulumi.export("marker_stdout", marker.stdout)
pulumi.export("base_image_id", base.image_id)
pulumi.export("network", network.name)
