"""Render the Kernel Gateway's `jupyter_kernel_gateway_config.py`.

One renderer for both gateways: the dev gateway container (it does mutual TLS itself)
and the gateway on z/OS (behind AT-TLS it speaks plain HTTP on the port the policy
covers; without AT-TLS it does TLS itself like the dev one). The auth token is never
written here: the gateway reads it from the KG_AUTH_TOKEN environment variable.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayTls:
    """Paths, as the gateway sees them, of its server cert and key and the CA that
    client certificates must chain to (setting it makes client certs mandatory)."""

    certfile: str
    keyfile: str
    client_ca: str


def render_kernel_gateway_config(
    *,
    ip: str,
    port: int,
    tls: GatewayTls | None,
    list_kernels: bool = True,
    allow_origin: str | None = None,
) -> str:
    """The config file text. `tls=None` means plain HTTP (only behind AT-TLS)."""
    lines = [
        "# Configuration file for jupyter-kernelgateway, rendered by jupyterhub-zos.",
        "# The auth token is not here: the gateway reads it from $KG_AUTH_TOKEN.",
        f"c.KernelGatewayApp.ip = {ip!r}",
        f"c.KernelGatewayApp.port = {int(port)}",
        "# Fail instead of drifting to another port the clients (and AT-TLS) do not know.",
        "c.KernelGatewayApp.port_retries = 0",
        "# Notebook servers list and reconnect to their running kernels.",
        f"c.JupyterWebsocketPersonality.list_kernels = {bool(list_kernels)!r}",
    ]
    if allow_origin is not None:
        lines.append(f"c.KernelGatewayApp.allow_origin = {allow_origin!r}")
    if tls is None:
        lines.append("# TLS is terminated in front of the gateway (AT-TLS); it speaks HTTP here.")
    else:
        lines += [
            "# TLS with client certificates: only holders of a certificate from this CA connect.",
            f"c.KernelGatewayApp.certfile = {tls.certfile!r}",
            f"c.KernelGatewayApp.keyfile = {tls.keyfile!r}",
            f"c.KernelGatewayApp.client_ca = {tls.client_ca!r}",
        ]
    return "\n".join(lines) + "\n"
