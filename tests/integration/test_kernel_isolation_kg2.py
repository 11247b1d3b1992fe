"""The isolation tests of test_kernel_isolation.py, unchanged, against a real Kernel Gateway
2.x on the classic notebook server (the generation IzODA's AT-TLS-aware builds belong to),
from a venv of the pinned versions in requirements-kg2.txt (tests/support/kg2.py).

Same config renderer, same kg_isolation.py, same notebook servers and clients: with mutual
TLS done by the gateway (z/OS with ZOS_ATTLS=false) kernels are bound to the client
certificate's CN; with plain HTTP (behind AT-TLS) listings and sessions are closed.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time

import pytest
import requests

from components.gateway.config import ISOLATION_SOURCE, GatewayTls, render_kernel_gateway_config
from components.gateway.pki import GATEWAY_CA_PURPOSE, gateway_server_spec, server_hosts
from components.pki.specs import ca_spec, client_spec
from components.settings import KernelLimits
from tests.integration.test_kernel_isolation import (
    TOKEN,
    test_a_start_without_env_gets_neither_the_gateways_environment_nor_a_claimed_name,
    test_each_user_uses_only_their_own_kernels,
    test_identity_comes_from_the_certificate_not_kernel_username,
    test_without_certificates_a_notebook_still_runs_and_lists_its_kernels,
    test_without_certificates_listing_and_sessions_are_closed,
    write_user,
)
from tests.support.certs import issue
from tests.support.kg2 import kg2_venv, pinned
from tests.support.notebook import kernel_gateway
from tests.tooling import free_port

pytestmark = pytest.mark.integration

# Collected here too, against the 2.x gateway of this module's fixtures.
__all__ = [
    "test_a_start_without_env_gets_neither_the_gateways_environment_nor_a_claimed_name",
    "test_each_user_uses_only_their_own_kernels",
    "test_identity_comes_from_the_certificate_not_kernel_username",
    "test_without_certificates_a_notebook_still_runs_and_lists_its_kernels",
    "test_without_certificates_listing_and_sessions_are_closed",
]


@pytest.fixture(scope="module")
def kg2_bin():
    return kg2_venv() / "bin"


def test_the_gateway_under_test_is_kernel_gateway_2_on_notebook_5(kg2_bin):
    code = (
        "import kernel_gateway, notebook, importlib.util as u; "
        "print(kernel_gateway.__version__, notebook.__version__, "
        "u.find_spec('jupyter_server') is None)"
    )
    out = subprocess.run(
        [str(kg2_bin / "python"), "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [pinned("jupyter-kernel-gateway"), pinned("notebook"), "True"]
    assert out[0].startswith("2.") and out[1].startswith("5.")


@pytest.fixture(scope="module")
def mtls(tmp_path_factory, kg2_bin):
    """A 2.x gateway doing mutual TLS itself, and alice's and bob's files."""
    root = tmp_path_factory.mktemp("isolation-kg2")
    port = free_port()
    ca = issue(ca_spec(GATEWAY_CA_PURPOSE))
    server = issue(gateway_server_spec(server_hosts(None, f"https://127.0.0.1:{port}")), ca)
    cert, key = server.write(root / "tls", "server")
    (root / "tls" / "client-ca.crt").write_text(ca.cert_pem)
    config = root / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1",
            port=port,
            tls=GatewayTls(str(cert), str(key), str(root / "tls" / "client-ca.crt")),
            module_dir=str(ISOLATION_SOURCE.parent),
        )
    )
    users = {
        name: write_user(root / "pki", name, issue(client_spec(name), ca), ca)
        for name in ("alice", "bob")
    }
    with kernel_gateway(config, TOKEN, root / "gw", port, bin_dir=kg2_bin) as gateway:
        yield gateway, users
    log = gateway.log.read_text()
    assert "kg_isolation: kernels bound to the client certificate's CN" in log, log[-3000:]


@pytest.fixture(scope="module")
def plain(tmp_path_factory, kg2_bin):
    """A 2.x gateway on plain HTTP, as behind AT-TLS."""
    root = tmp_path_factory.mktemp("plain-kg2")
    port = free_port()
    config = root / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1", port=port, tls=None, module_dir=str(ISOLATION_SOURCE.parent)
        )
    )
    with kernel_gateway(config, TOKEN, root / "gw", port, bin_dir=kg2_bin) as gateway:
        gateway.url = f"http://127.0.0.1:{port}"
        yield gateway


def test_the_2x_gateway_speaks_tls_1_2_or_later_only(mtls):
    # Kernel Gateway 2.x pins its own TLS to 1.0; kg_isolation raises it (TLS 1.2+).
    gateway, users = mtls
    alice = users["alice"]
    context = ssl.create_default_context(cafile=str(alice.files / "cacert.pem"))
    context.load_cert_chain(str(alice.files / "cert.pem"), str(alice.files / "key.pem"))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_the_kernel_limits_of_the_zos_config_hold_on_2x(tmp_path, kg2_bin):
    # The config z/OS renders also caps and culls kernels (KernelLimits): notebook 5's
    # MappingKernelManager and Kernel Gateway 2.x's max_kernels take the same settings.
    port = free_port()
    config = tmp_path / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1",
            port=port,
            tls=None,
            module_dir=str(ISOLATION_SOURCE.parent),
            kernels=KernelLimits(cull_idle_timeout=3, cull_interval=1, max_kernels=2),
        )
    )
    headers = {"Authorization": f"token {TOKEN}"}
    url = f"http://127.0.0.1:{port}/api/kernels"
    with kernel_gateway(config, TOKEN, tmp_path / "gw", port, bin_dir=kg2_bin) as gateway:
        started = [requests.post(url, json={"name": "python3"}, headers=headers, timeout=60)]
        started += [requests.post(url, json={"name": "python3"}, headers=headers, timeout=60)]
        refused = requests.post(url, json={"name": "python3"}, headers=headers, timeout=60)
        assert [r.status_code for r in started] == [201, 201]
        assert refused.status_code == 403  # the cap
        ids = [r.json()["id"] for r in started]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(
                requests.get(f"{url}/{k}", headers=headers, timeout=10).status_code == 404
                for k in ids
            ):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"idle kernels were not culled:\n{gateway.log_tail()}")
        assert "Culling" in gateway.log.read_text()
