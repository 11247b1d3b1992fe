"""The recorded graph: what the engine (and a policy pack) would see of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One registration: what the engine (and a policy pack) would see."""

    type: str
    name: str
    urn: str
    inputs: dict[str, Any]  # plain (secrets unwrapped), camelCase as providers see them
    secret_paths: frozenset[str]  # top-level input names holding a secret anywhere inside
    parent: str  # URN of the parent ("" only for the stack)
    dependencies: frozenset[str]  # URNs this resource waits for
    custom: bool  # False for ComponentResources
    options: dict[str, Any] = field(default_factory=dict)
    # Exactly which values are secret, as paths of keys and list indexes, e.g.
    # ("envs",) when the whole list is one secret, ("uploads", 0, "content") otherwise.
    secret_leaves: frozenset[tuple] = frozenset()

    def is_secret(self, input_name: str) -> bool:
        return input_name in self.secret_paths


@dataclass
class Graph:
    stack: str
    resources: list[Recorded]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    config: dict[str, str]

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Recorded:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(
                f"expected one {type_}{f' named {name}' if name else ''}, found "
                f"{[r.name for r in found]}"
            )
        return found[0]

    def names(self, type_: str | None = None) -> list[str]:
        return [r.name for r in self.resources if type_ is None or r.type == type_]

    def by_urn(self, urn: str) -> Recorded:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)
