"""Render the Kernel Gateway's `jupyter_kernel_gateway_config.py`.

One renderer for both gateways: the dev gateway container (it does mutual TLS itself)
and the gateway on z/OS (behind AT-TLS it speaks plain HTTP on the port the policy
covers; without AT-TLS it does TLS itself like the dev one). The auth token is never
written here: the gateway reads it from the KG_AUTH_TOKEN environment variable.

Both load images/gateway/kg_isolation.py (shipped beside the gateway: in the dev image,
in ZOS_KG_CONFIG_DIR on z/OS) as the gateway's personality and kernel manager: each
kernel belongs to the client certificate (CN) that started it and no one else can list,
use or delete it. Behind AT-TLS the gateway sees no certificate: the module then closes
listings and sessions only (the trust model in docs/howto/zos-production-stack.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.settings import KernelLimits

# The authorizing layer, one file for every gateway; its module name is what the config
# imports, so keep the two together.
ISOLATION_MODULE = "kg_isolation"
ISOLATION_SOURCE = Path(__file__).resolve().parents[2] / "images" / "gateway" / "kg_isolation.py"
# The dev gateway's per-kernel manager (Unix sockets), beside kg_isolation.py.
IPC_MODULE = "kernel_ipc"


@dataclass(frozen=True)
class GatewayTls:
    """Paths, as the gateway sees them, of its server cert and key and the CA that
    client certificates must chain to (setting it makes client certs mandatory)."""

    certfile: str
    keyfile: str
    client_ca: str


def kernel_limit_lines(kernels: KernelLimits) -> list[str]:
    """Culling of idle kernels and the cap on kernels, as config lines. The hub's culler
    stops idle notebook servers (and so their kernels); this catches kernels left on the
    gateway without a server (a notebook container that died, a client that vanished)."""
    lines = [
        "# Idle kernels are shut down (0: never); unless cull_connected, only those with",
        "# no client connected (an open notebook keeps its kernel).",
        f"c.MappingKernelManager.cull_idle_timeout = {int(kernels.cull_idle_timeout)}",
        f"c.MappingKernelManager.cull_interval = {int(kernels.cull_interval)}",
        f"c.MappingKernelManager.cull_connected = {bool(kernels.cull_connected)!r}",
        "c.MappingKernelManager.cull_busy = False",
    ]
    if kernels.max_kernels > 0:  # Kernel Gateway reads 0 as a cap of none at all
        lines += [
            "# At most this many kernels at once: a new one past it is refused (403).",
            f"c.KernelGatewayApp.max_kernels = {int(kernels.max_kernels)}",
        ]
    return lines


def render_kernel_gateway_config(
    *,
    ip: str,
    port: int,
    tls: GatewayTls | None,
    module_dir: str,
    allow_origin: str | None = None,
    kernels: KernelLimits | None = None,
    ipc_kernels: bool = False,
) -> str:
    """The config file text. `tls=None` means plain HTTP (only behind AT-TLS).
    `module_dir` is the directory, as the gateway sees it, holding kg_isolation.py.
    `kernels`: idle-kernel culling and the kernel cap (None: Kernel Gateway's defaults).
    `ipc_kernels`: kernels' ZeroMQ sockets are Unix sockets, each kernel's in a directory
    of its own (kernel_ipc.py in `module_dir`; the dev gateway, Kernel Gateway 3)."""
    lines = [
        "# Configuration file for jupyter-kernelgateway, rendered by jupyterhub-zos.",
        "# The auth token is not here: the gateway reads it from $KG_AUTH_TOKEN.",
        f"c.KernelGatewayApp.ip = {ip!r}",
        f"c.KernelGatewayApp.port = {int(port)}",
        "# Fail instead of drifting to another port the clients (and AT-TLS) do not know.",
        "c.KernelGatewayApp.port_retries = 0",
        "# Kernels belong to whoever started them: kg_isolation guards every kernel and",
        "# session endpoint (websocket included) and takes identity from the client",
        "# certificate only. Importing it fails the start rather than run unguarded.",
        "import sys as _sys",
        f"_sys.path.insert(0, {module_dir!r})",
        f"c.KernelGatewayApp.api = {ISOLATION_MODULE!r}",
        f"c.KernelGatewayApp.kernel_manager_class = '{ISOLATION_MODULE}.OwnedKernelManager'",
        "# Listing shows each caller only their own kernels (none behind AT-TLS); it stays",
        "# on because the notebook server's gateway client refreshes its kernels and the",
        "# UI's kernel list from it (a 403 there would break that list).",
        "c.JupyterWebsocketPersonality.list_kernels = True",
    ]
    if ipc_kernels:
        lines += [
            "# Each kernel's ZeroMQ channels are Unix sockets in a directory only that kernel",
            "# and the gateway may enter, not loopback TCP ports that every process here could",
            "# connect to (IOPub, the code run and its output, has no access check of its own).",
            f"c.OwnedKernelManager.kernel_manager_class = '{IPC_MODULE}.IpcKernelManager'",
            "# A kernel owns its socket directory, so it can swap a socket for a symlink to",
            "# another kernel's, which the gateway (group root) then follows. The legacy",
            "# websocket protocol checks every message's HMAC with the kernel's own key, so",
            "# what such a socket gives is dropped; v1 would pass raw frames on unchecked.",
            "c.ZMQChannelsWebsocketConnection.kernel_ws_protocol = ''",
        ]
    if kernels is not None:
        lines += kernel_limit_lines(kernels)
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
