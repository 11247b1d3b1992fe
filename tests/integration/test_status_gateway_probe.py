"""`make status`'s gateway probe (tools/status.py GATEWAY_PROBE, run in a helper container
on the notebooks' network of a deployed stack) against real TLS servers on 127.0.0.1 that demand a
client certificate, as the gateways do: TLS 1.2 (the server's certificate read from the
handshake the server then ends) and TLS 1.3, verified with the right CA, refused with
another, and a closed port."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography import x509

from components.pki.specs import ca_spec, server_spec
from tests.support.certs import issue
from tests.tooling import free_port
from tools.status import GATEWAY_PROBE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe-pki")
    ca = issue(ca_spec("gateway"))
    other_ca = issue(ca_spec("other"))
    server = issue(server_spec("gateway", dns_names=("localhost",)), ca)
    (root / "ca.pem").write_text(ca.cert_pem)
    (root / "other-ca.pem").write_text(other_ca.cert_pem)
    cert, key = server.write(root, "server")
    return {"root": root, "server": server, "cert": cert, "key": key}


def serve(pki, version: ssl.TLSVersion) -> tuple[int, threading.Event]:
    """A TLS server with CERT_REQUIRED (a client CA the probe has no certificate of)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["cert"], pki["key"])
    ctx.load_verify_locations(pki["root"] / "other-ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ctx.maximum_version = version
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(20)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass
        listener.close()

    threading.Thread(target=loop, daemon=True).start()
    return port, stop


def probe(url: str, ca: Path | None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", GATEWAY_PROBE, url, ca.read_text() if ca else ""],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_a_gateway_demanding_a_client_certificate_is_reachable_and_its_certificate_read(
    pki, version
):
    port, stop = serve(pki, version)
    try:
        got = probe(f"https://localhost:{port}", pki["root"] / "ca.pem")
    finally:
        stop.set()
    assert got["tcp"] is True and got["tls"] is True and got["verified"] is True, got
    cert = x509.load_pem_x509_certificate(got["cert"].encode())
    assert cert == pki["server"].cert
    if version == ssl.TLSVersion.TLSv1_2:
        assert got["client_cert_required"] is True


def test_a_certificate_from_another_ca_is_not_reachable_tls(pki):
    port, stop = serve(pki, ssl.TLSVersion.TLSv1_2)
    try:
        got = probe(f"https://localhost:{port}", pki["root"] / "other-ca.pem")
    finally:
        stop.set()
    assert got["tcp"] is True and got["tls"] is False
    assert "CERTIFICATE_VERIFY_FAILED" in got["error"], got


def test_a_closed_port_is_not_reachable():
    got = probe(f"https://localhost:{free_port()}", None)
    assert got["tcp"] is False and got["error"], got
