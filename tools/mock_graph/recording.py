"""The recording monitor: the SDK's mock monitor, keeping a `Recorded` of every
registration (inputs as the provider would get them, exactly which values are secret,
parent, dependencies, options)."""

from __future__ import annotations

from typing import Any

import pulumi

from tools.mock_graph import sdk
from tools.mock_graph.graph import Recorded


def _unwrap(value: Any) -> Any:
    """A deserialized property with its secret markers removed (the plain value)."""
    if isinstance(value, dict):
        if sdk.is_secret_marked(value):
            return _unwrap(value.get("value"))
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def _secret_leaves(value: Any, path: tuple = ()) -> set[tuple]:
    if isinstance(value, dict):
        if sdk.is_secret_marked(value):
            return {path}
        return set().union(set(), *(_secret_leaves(v, (*path, k)) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(set(), *(_secret_leaves(v, (*path, i)) for i, v in enumerate(value)))
    return set()


class RecordingMonitor(sdk.MockMonitor):
    # No Docker host behind these mocks: the program's read-only check of the Docker
    # host's objects (components/docker/stack_check.py) is skipped.
    docker_engine = False

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.recorded: list[Recorded] = []

    def RegisterResource(self, request):
        # MockMonitor.RegisterResource, with the inputs deserialized once and shared by
        # the fake provider and the record (big scripts and PEMs are not copied twice).
        request = sdk.read_registration(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return sdk.response(urn)
        sdk.ensure_event_loop()
        # Where exactly the secrets are: the wire form (deserializing marks a whole list or
        # map secret when one of its values is).
        leaves = _secret_leaves(sdk.wire_dict(request.object))
        inputs = _unwrap(sdk.deserialize(request.object))
        id_, state = self.mocks.new_resource(
            sdk.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.import_id,
                custom=request.custom or False,
                transforms=sdk.resolve_transforms(request.transforms),
            )
        )
        state_proto = sdk.serialize(state)
        sdk.mark_secret_fields(state_proto, request.additional_secret_outputs)
        self.resources[urn] = sdk.registration(urn, id_, state)
        response = sdk.response(urn, id_, state_proto)
        secret_paths = {leaf[0] for leaf in leaves}
        self.recorded.append(
            Recorded(
                type=request.type,
                name=request.name,
                urn=urn,
                inputs=inputs,
                secret_paths=frozenset(secret_paths),
                parent=request.parent,
                dependencies=frozenset(request.dependencies),
                custom=bool(request.custom),
                secret_leaves=frozenset(leaves),
                options={
                    "protect": request.protect,
                    "retainOnDelete": request.retain_on_delete,
                    "deleteBeforeReplace": request.delete_before_replace,
                    "additionalSecretOutputs": list(request.additional_secret_outputs),
                    "ignoreChanges": list(request.ignore_changes),
                    "replaceOnChanges": list(request.replace_on_changes),
                    "provider": request.provider,
                },
            )
        )
        return response
