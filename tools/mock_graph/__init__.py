"""Run the Pulumi program under Pulumi's mock runtime and record its resource graph.

No Pulumi CLI, no engine, no Docker: the program's `__main__.py` runs exactly as the
CLI would run it (config as the CLI delivers it, cwd at the project root), against a
mock monitor that records every registration: type, name, parent, dependencies,
options, the inputs the provider would get and which of them are secret.

Used by the unit tests, `make policy-check` and the benchmarks:

    graph = run_program(stack="dev", config={"HUB_ALLOWED_USERS": ["bob"]})
    graph.one("docker:index/container:Container", "jupyterhub").inputs["envs"]

By default providers' outputs are deterministic stand-ins (`MOCK...` PEMs); with
`providers="faithful"` tls: and random: resources get real keys, certificates and random
values made from their inputs (for applying the graph to a real engine).

The modules: `config` (stack config as the CLI delivers it), `graph` (Recorded, Graph),
`fakes` (the default deterministic provider outputs), `faithful` (real keys,
certificates and random values, opt-in), `recording` (the monitor),
`run` (run_program), and `sdk`, the only one that touches the Pulumi SDK's internals.
"""

from tools.mock_graph.config import (
    PROGRAM,
    PROJECT,
    ROOT,
    cli_string,
    encrypted_entries,
    full_key,
    project_defaults,
    stack_config,
    stack_file_config,
)
from tools.mock_graph.faithful import FaithfulProviders, UnsupportedInput
from tools.mock_graph.fakes import FAKES, FakeProviders, _pem, register_fake
from tools.mock_graph.graph import Graph, Recorded
from tools.mock_graph.recording import RecordingMonitor
from tools.mock_graph.run import run_program, settled_event_loop
from tools.mock_graph.sdk import SECRET_SIG, SECRET_SIG_KEY

__all__ = [
    "FAKES",
    "PROGRAM",
    "PROJECT",
    "ROOT",
    "SECRET_SIG",
    "SECRET_SIG_KEY",
    "UnsupportedInput",
    "FaithfulProviders",
    "FakeProviders",
    "Graph",
    "Recorded",
    "RecordingMonitor",
    "_pem",  # the fake PEM of a name, for tests that expect one
    "cli_string",
    "full_key",
    "project_defaults",
    "run_program",
    "settled_event_loop",
    "stack_config",
    "stack_file_config",
    "encrypted_entries",
    "register_fake",
]
