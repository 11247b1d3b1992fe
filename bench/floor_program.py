"""The floor: a Pulumi program with no logic that registers the same resources (same
types, names, parents and final input values, as constants) as the measured program,
read from a shape file. What the program costs above this is its own logic: settings,
rendering, Outputs and the dependencies between resources."""

import json

import pulumi

shape = json.load(open(pulumi.Config().require("SHAPE")))  # noqa: SIM115
by_urn: dict[str, pulumi.Resource] = {}
for entry in shape:
    parent = by_urn.get(entry["parent"])
    opts = pulumi.ResourceOptions(parent=parent)
    if entry["custom"]:
        made = pulumi.CustomResource(entry["type"], entry["name"], entry["inputs"], opts)
    else:
        made = pulumi.ComponentResource(entry["type"], entry["name"], None, opts)
    by_urn[entry["urn"]] = made
