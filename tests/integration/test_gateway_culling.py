"""Idle kernels culled and the kernel cap, on a real Kernel Gateway on loopback running the
config the program renders (kg_isolation loaded, plain HTTP as behind AT-TLS) with short
timeouts: KG_CULL_IDLE_TIMEOUT=3, KG_CULL_INTERVAL=1, KG_MAX_KERNELS=2.

- a third kernel is refused while two run ("Resource Limit"), and starts once the
  culler has made room;
- an idle kernel with no client connected is shut down within seconds;
- with KG_CULL_CONNECTED=false a kernel whose client stays connected (an open notebook)
  is kept, however idle.
"""

from __future__ import annotations

import time

import pytest
import requests

from components.gateway.config import ISOLATION_SOURCE, render_kernel_gateway_config
from components.settings import KernelLimits
from tests.support.notebook import channels, kernel_gateway, run_code
from tests.tooling import free_port

pytestmark = pytest.mark.integration

TOKEN = "kg-culling-token-0123456789abcdef"  # noqa: S105 - a test's own
LIMITS = KernelLimits(cull_idle_timeout=3, cull_interval=1, cull_connected=False, max_kernels=2)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    root = tmp_path_factory.mktemp("culling")
    port = free_port()
    config = root / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1",
            port=port,
            tls=None,
            module_dir=str(ISOLATION_SOURCE.parent),
            kernels=LIMITS,
        )
    )
    with kernel_gateway(config, TOKEN, root / "gw", port) as server:
        server.url = f"http://127.0.0.1:{port}"
        server.token = TOKEN
        yield server


def call(gateway, method: str, path: str, **kw) -> requests.Response:
    return requests.request(
        method,
        f"{gateway.url}/api/kernels{path}",
        headers={"Authorization": f"token {TOKEN}"},
        timeout=90,
        **kw,
    )


def start(gateway) -> requests.Response:
    return call(gateway, "POST", "", json={"name": "python3"})


def exists(gateway, kernel_id: str) -> bool:
    status = call(gateway, "GET", f"/{kernel_id}").status_code
    assert status in (200, 404), status
    return status == 200


def wait_gone(gateway, kernel_id: str, timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not exists(gateway, kernel_id):
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"kernel {kernel_id} was not culled in {timeout}s:\n{gateway.log_tail()}")


def test_the_cap_refuses_a_kernel_past_it_and_culling_makes_room(gateway):
    first, second = start(gateway), start(gateway)
    assert first.status_code == second.status_code == 201, gateway.log_tail()
    refused = start(gateway)
    assert refused.status_code == 403, refused.text
    assert "Resource Limit" in refused.text
    # Neither is used: both are culled within seconds, and a new kernel fits again.
    for kernel in (first.json()["id"], second.json()["id"]):
        wait_gone(gateway, kernel)
        assert f"kernel 'python3' ({kernel}) with 0 connections" in gateway.log.read_text()
    assert "Culling kernels with idle durations > 3 seconds at 1 second intervals" in (
        gateway.log.read_text()
    )
    again = start(gateway)
    assert again.status_code == 201, again.text
    wait_gone(gateway, again.json()["id"])


def test_an_idle_kernel_is_culled_after_it_ran_something(gateway):
    kernel = start(gateway).json()["id"]
    ws = channels(gateway, kernel)
    try:
        assert run_code(ws, "6 * 7")[1] == "42"
    finally:
        ws.close()
    waited = wait_gone(gateway, kernel)
    assert waited < 15


def test_a_kernel_with_a_client_connected_is_kept(gateway):
    kernel = start(gateway).json()["id"]
    ws = channels(gateway, kernel)
    try:
        assert run_code(ws, "1 + 1")[1] == "2"
        time.sleep(LIMITS.cull_idle_timeout + 4 * LIMITS.cull_interval)
        assert exists(gateway, kernel), gateway.log_tail()
        assert run_code(ws, "2 + 2")[1] == "4"  # and still works
    finally:
        ws.close()
    wait_gone(gateway, kernel)  # once the client is gone, it is culled
