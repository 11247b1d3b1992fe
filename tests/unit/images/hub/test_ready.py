"""The hub's spawner is ready once the server listens (images/hub/jhz_ready.py): tried
against real sockets on loopback."""

from __future__ import annotations

import asyncio
import importlib
import socket
import sys
import time
from types import SimpleNamespace

from tests.hubconfig import HUB_CONFIG

sys.path.insert(0, str(HUB_CONFIG.parent))
ready = importlib.import_module("jhz_ready")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_returns_soon_after_the_port_starts_listening():
    port = closed_port()

    async def scenario():
        async def listen_later():
            await asyncio.sleep(0.4)
            return await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)

        server_task = asyncio.create_task(listen_later())
        started = time.monotonic()
        listening = await ready.until_listening("127.0.0.1", port, timeout=10)
        waited = time.monotonic() - started
        server = await server_task
        server.close()
        await server.wait_closed()
        return listening, waited

    listening, waited = asyncio.run(scenario())
    assert listening
    # Found within a few poll intervals of listening, not at a backoff poll seconds later.
    assert 0.4 <= waited < 0.4 + 10 * ready.POLL_INTERVAL + 0.5


def test_gives_up_at_the_timeout_or_when_the_server_is_gone():
    port = closed_port()
    started = time.monotonic()
    assert asyncio.run(ready.until_listening("127.0.0.1", port, timeout=0.3)) is False
    assert time.monotonic() - started < 2

    checks = []

    async def gone():
        checks.append(1)
        return False

    started = time.monotonic()
    assert asyncio.run(ready.until_listening("127.0.0.1", port, 60, still_running=gone)) is False
    assert checks == [1] and time.monotonic() - started < 3  # not the whole 60 s


def test_the_wrapped_spawner_starts_then_waits_for_its_port():
    port = closed_port()
    calls = []

    class Base:
        http_timeout = 5
        _log_name = "alice"
        log = SimpleNamespace(warning=lambda *a: calls.append("warned"))

        async def start(self):
            calls.append("start")
            return "127.0.0.1", port

        async def poll(self):
            return None

    async def scenario():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
        try:
            return await ready.ready_when_listening(Base)().start()
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(scenario()) == ("127.0.0.1", port)
    assert calls == ["start"]

    # Never listening: the hub's own check reports it, as without the wrapper.
    Base.http_timeout = 0.2
    assert asyncio.run(ready.ready_when_listening(Base)().start()) == ("127.0.0.1", port)
    assert calls == ["start", "start", "warned"]
