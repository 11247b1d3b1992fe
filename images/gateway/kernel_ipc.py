"""The dev gateway's kernels talk ZeroMQ over Unix sockets, each kernel's in a directory
of its own (jupyterhub-zos).

With jupyter_client's default transport a kernel listens on five TCP ports on
127.0.0.1, and any process in the gateway's container may connect to them: another
user's kernel included (/proc/net/tcp shows every listening port and its owner's uid).
The connection file's HMAC key only signs messages; it hides nothing. So the IOPub
channel, which carries every piece of code the kernel runs (execute_input) and all it
prints or displays, could be read by anyone who subscribes.

Here each kernel's sockets are `<runtime>/kernel-<id>.ipc/k-<n>`. The gateway (root
without DAC_OVERRIDE) makes the directory, 0700; kernel_as_user.py, before it drops to
the kernel's uid, makes it setgid root and mode 2770 and hands it to that uid. The
sockets the kernel binds there get the group root (the setgid directory) and mode 0770
(the kernel's umask 007): the gateway reaches them by that group, the kernel as their
owner, and nobody else may even enter the directory. The kernel can swap its own socket
for a symlink to another kernel's, which the gateway would follow: the gateway's config
therefore keeps the legacy websocket protocol, which drops every message not signed
with this kernel's key (components/gateway/config.py).

Loaded by the dev gateway's config only
(`c.OwnedKernelManager.kernel_manager_class = "kernel_ipc.IpcKernelManager"`); the
z/OS gateway keeps TCP (docs/reference/security.md says what that leaves open there).
"""

from __future__ import annotations

import contextlib
import os

from kernel_gateway.services.kernels.manager import KernelGatewayIOLoopKernelManager
from traitlets import default

SOCKET_PREFIX = "k"  # jupyter_client appends -<port>: short, sun_path holds 107 bytes
SUN_PATH_MAX = 107


def ipc_dir(connection_file: str) -> str:
    """The kernel's own socket directory, beside its connection file."""
    return os.path.splitext(connection_file)[0] + ".ipc"


class IpcKernelManager(KernelGatewayIOLoopKernelManager):
    """Kernel Gateway's per-kernel manager with the ipc transport, sockets in ipc_dir."""

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("ip")
    def _ip_default(self) -> str:
        # The connection file is set before anything reads ip (MultiKernelManager
        # passes it to the constructor), so each kernel gets its own directory.
        ip = os.path.join(ipc_dir(self.connection_file), SOCKET_PREFIX)
        if len(os.fsencode(ip)) + len("-99999") > SUN_PATH_MAX:
            # ZeroMQ would fail the bind inside the kernel with a less clear message.
            raise RuntimeError(
                f"{ip}-<n>: longer than a Unix socket path may be ({SUN_PATH_MAX} bytes); "
                "give the gateway a shorter JUPYTER_RUNTIME_DIR"
            )
        return ip

    def write_connection_file(self, **kwargs) -> None:
        # 0700 and the gateway's: kernel_as_user.py opens it to the kernel's uid alone.
        os.makedirs(os.path.dirname(self.ip), mode=0o700, exist_ok=True)
        super().write_connection_file(**kwargs)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:  # a restarted kernel binds in the same directory again
            # Not empty (files of the kernel's own) or gone: left as it is.
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self.ip))
