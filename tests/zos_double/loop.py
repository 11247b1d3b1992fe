"""Settings hold secrets as pulumi Outputs, which need a current event loop and are
tracked globally until they resolve. Tests that validate settings outside the mock
harness use `settled_loop()`: a loop of their own, and at the end every Output made in
it resolved, so none is left for the next `run_program` to wait on in a closed loop."""

from __future__ import annotations

import asyncio
import contextlib

from pulumi.runtime.settings import SETTINGS


@contextlib.contextmanager
def settled_loop():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        with SETTINGS.lock:
            mine = [f for f in SETTINGS.outputs if f.get_loop() is loop]
        if mine:
            loop.run_until_complete(asyncio.gather(*mine, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


def drop_stale_outputs() -> None:
    """Forget tracked Outputs whose event loop is closed (left by tests that closed their
    loop with Outputs pending); `run_program` would otherwise wait on them and fail
    with 'Event loop is closed'."""
    with SETTINGS.lock:
        stale = [f for f in SETTINGS.outputs if f.get_loop().is_closed()]
        for future in stale:
            SETTINGS.outputs.discard(future)
