"""Gateway overhead: a kernel start through the Kernel Gateway over mutual TLS vs a
direct local kernel start, same notebook server software, same run, median of several.

The gateway, its config, the certificates (from the PKI's own CertSpecs) and the
notebook environment (from the shipped jupyterhub_config.py) are built exactly as the
integration tests build them; the timer runs from POST /api/kernels until the kernel
answers its first kernel_info_request.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from components.gateway.config import ISOLATION_SOURCE, GatewayTls, render_kernel_gateway_config
from components.gateway.pki import GATEWAY_CA_PURPOSE, gateway_server_spec, server_hosts
from components.pki.specs import ca_spec, client_spec
from tests.support.certs import issue
from tests.support.notebook import (
    hub_env,
    kernel_gateway,
    notebook_environment,
    notebook_server,
    start_kernel_and_run,
)
from tests.tooling import free_port

RUNS = 9
TOKEN = "bench-gateway-token-0123456789"
FILES = {"CLIENT_KEY": "key.pem", "CLIENT_CERT": "cert.pem", "CLIENT_CA": "cacert.pem"}


def _gateway_root(root: Path, port: int) -> tuple[Path, Path]:
    """Certificates and the gateway config; returns (config file, alice's pki dir)."""
    ca = issue(ca_spec(GATEWAY_CA_PURPOSE))
    server = issue(gateway_server_spec(server_hosts(None, f"https://127.0.0.1:{port}")), ca)
    alice = issue(client_spec("alice"), ca)
    cert, key = server.write(root / "tls", "server")
    client_ca = root / "tls" / "client-ca.crt"
    client_ca.write_text(ca.cert_pem)
    user_dir = root / "pki" / "alice"
    user_dir.mkdir(parents=True)
    (user_dir / FILES["CLIENT_KEY"]).write_text(alice.key_pem)
    (user_dir / FILES["CLIENT_CERT"]).write_text(alice.cert_pem)
    (user_dir / FILES["CLIENT_CA"]).write_text(ca.cert_pem)
    config = root / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1",
            port=port,
            tls=GatewayTls(certfile=str(cert), keyfile=str(key), client_ca=str(client_ca)),
            module_dir=str(ISOLATION_SOURCE.parent),
        )
    )
    return config, user_dir


def measure(runs: int = RUNS) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        root = Path(tmp)
        port = free_port()
        config, user_dir = _gateway_root(root, port)
        with kernel_gateway(config, TOKEN, root / "gw", port) as gateway:
            env = hub_env(KG_URL=gateway.url, KG_AUTH_TOKEN=TOKEN, **FILES)
            with notebook_server(notebook_environment(env, "alice", user_dir), root / "via") as nb:
                start_kernel_and_run(nb)  # warm-up: imports, TLS session, first spawn
                via = [start_kernel_and_run(nb).start_seconds for _ in range(runs)]
        with notebook_server({}, root / "local") as nb:
            start_kernel_and_run(nb)
            local = [start_kernel_and_run(nb).start_seconds for _ in range(runs)]
    gw, lo = statistics.median(via), statistics.median(local)
    return {
        "runs": runs,
        "gateway_median_s": round(gw, 3),
        "direct_median_s": round(lo, 3),
        "ratio": round(gw / lo, 2),
        "gateway_s": [round(t, 3) for t in via],
        "direct_s": [round(t, 3) for t in local],
    }


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
