"""The floor: a Pulumi program with no logic that registers the same resources as the
measured program — same SDK classes, names, parents and final input values, given as
constants — and exports the same stack outputs (their final values, secret where the
program's are), read from a shape file. What the program costs above this is its own
logic: settings, rendering, Outputs and the dependencies between resources."""

import gc
import importlib
import json
import re

import pulumi

gc.set_threshold(700, 10, 1000)  # the same runtime tuning as __main__.py: a true floor

# type token -> the SDK class the program uses for it
CLASSES = {
    "command:local:Command": "pulumi_command.local.Command",
    "command:remote:Command": "pulumi_command.remote.Command",
    "command:remote:CopyToRemote": "pulumi_command.remote.CopyToRemote",
    "docker:index/container:Container": "pulumi_docker.Container",
    "docker:index/image:Image": "pulumi_docker.Image",
    "docker:index/network:Network": "pulumi_docker.Network",
    "docker:index/remoteImage:RemoteImage": "pulumi_docker.RemoteImage",
    "docker:index/volume:Volume": "pulumi_docker.Volume",
    "random:index/randomBytes:RandomBytes": "pulumi_random.RandomBytes",
    "random:index/randomId:RandomId": "pulumi_random.RandomId",
    "random:index/randomPassword:RandomPassword": "pulumi_random.RandomPassword",
    "tls:index/certRequest:CertRequest": "pulumi_tls.CertRequest",
    "tls:index/locallySignedCert:LocallySignedCert": "pulumi_tls.LocallySignedCert",
    "tls:index/privateKey:PrivateKey": "pulumi_tls.PrivateKey",
    "tls:index/selfSignedCert:SelfSignedCert": "pulumi_tls.SelfSignedCert",
}


def sdk_class(type_token: str):
    module, _, name = CLASSES[type_token].rpartition(".")
    return getattr(importlib.import_module(module), name)


def snake(value):
    """camelCase keys (as providers see inputs) back to the SDK's snake_case args."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


shape = json.load(open(pulumi.Config().require("SHAPE")))  # noqa: SIM115
by_urn: dict[str, pulumi.Resource] = {}
for entry in shape["resources"]:
    opts = pulumi.ResourceOptions(parent=by_urn.get(entry["parent"]))
    if entry["custom"]:
        made = sdk_class(entry["type"])(entry["name"], opts=opts, **snake(entry["inputs"]))
    else:
        made = pulumi.ComponentResource(entry["type"], entry["name"], None, opts)
    by_urn[entry["urn"]] = made
for name, value in shape["outputs"].items():
    secret = name in shape["secret_outputs"]
    pulumi.export(name, pulumi.Output.secret(value) if secret else value)
