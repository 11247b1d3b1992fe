"""A spawn is ready as soon as the notebook server listens, not at the hub's next poll.

After the spawner's start returns, JupyterHub polls the server's URL with exponential
backoff and full jitter (0.2 s, doubling, up to 5 s between tries): a server that comes
up after 3 s is typically found a second or more later. The spawner here waits for the
server's port itself, trying every 50 ms (a closed port on the Docker network refuses
at once, so this costs nothing), and returns once it accepts a connection; the hub's
first HTTP check then gets its answer as soon as the server serves it.
"""

from __future__ import annotations

import asyncio
import contextlib

POLL_INTERVAL = 0.05  # seconds between connection attempts
ALIVE_CHECK_EVERY = 1.0  # seconds between checks that the container still runs


async def accepts_connections(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=1)
    except (TimeoutError, OSError):
        return False
    writer.close()
    # Reset by a server still starting: it accepted, which is what counts.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def until_listening(host: str, port: int, timeout: float, still_running=None) -> bool:
    """True once host:port accepts a TCP connection; False after `timeout` seconds or as
    soon as `still_running()` (awaitable, checked about every second) says False."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_alive_check = loop.time() + ALIVE_CHECK_EVERY
    while loop.time() < deadline:
        if await accepts_connections(host, port):
            return True
        if still_running is not None and loop.time() >= next_alive_check:
            if not await still_running():
                return False
            next_alive_check = loop.time() + ALIVE_CHECK_EVERY
        await asyncio.sleep(POLL_INTERVAL)
    return False


def ready_when_listening(spawner_class: type) -> type:
    """`spawner_class` whose start returns once the server's port accepts connections
    (bounded by http_timeout). If it never does, the hub's own check fails the spawn
    with its usual message, as before."""

    class ReadyWhenListening(spawner_class):
        async def start(self):
            ip, port = await super().start()

            async def still_running() -> bool:
                return await self.poll() is None

            listening = await until_listening(ip, port, self.http_timeout, still_running)
            if not listening:
                self.log.warning("%s not listening at %s:%s", self._log_name, ip, port)
            return ip, port

    ReadyWhenListening.__name__ = f"ReadyWhenListening{spawner_class.__name__}"
    ReadyWhenListening.__qualname__ = ReadyWhenListening.__name__
    return ReadyWhenListening
