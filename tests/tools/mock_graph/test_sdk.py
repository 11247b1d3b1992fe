"""The Pulumi SDK internals the harness relies on are all still there, as expected.

After an SDK upgrade this is the test that fails first, naming every name in
tools/mock_graph/sdk.py's RELIED_ON that moved or changed (and what of it is gone)."""

from __future__ import annotations

import importlib


def test_every_sdk_internal_the_harness_relies_on_is_there_with_its_kind():
    # Importing the module checks them too, and raises SdkDrift naming every problem.
    sdk = importlib.import_module("tools.mock_graph.sdk")
    problems = sdk.drift()
    assert not problems, "Pulumi SDK internals moved or changed:\n" + "\n".join(problems)
    # The check itself can fail: a name that does not exist, a wrong kind, a lost
    # parameter and a lost message field are each reported by name.
    broken = (
        sdk.Internal("pulumi.runtime.rpc", "_no_such_name", "str"),
        sdk.Internal("pulumi.runtime.rpc", "_special_sig_key", "function"),
        sdk.Internal("pulumi.runtime.sync_await", "_sync_await", "function", ("gone",)),
        sdk.Internal(
            "pulumi.runtime.proto.resource_pb2", "RegisterResourceRequest", "message", ("nope",)
        ),
        sdk.Internal("pulumi.runtime.nowhere", "x", "str"),
    )
    found = sdk.drift(broken)
    assert [line.split(":")[0] for line in found] == [b.where for b in broken]
    assert "expected a function, found str" in found[1]
    assert found[2].endswith("no longer has gone") and found[3].endswith("no longer has nope")
