"""Per-user kernels on Jupyter Kernel Gateway 3.0 (jupyterhub-zos).

Kernel Gateway has one shared token and no per-user authorization: anyone holding the
token can list, use and delete every kernel. This module, loaded by the rendered
jupyter_kernel_gateway_config.py (`c.KernelGatewayApp.api = "kg_isolation"` and
`c.KernelGatewayApp.kernel_manager_class = "kg_isolation.OwnedKernelManager"`), binds
each kernel to the identity that started it and refuses every other identity.

Identity is the subject CN of the TLS client certificate the gateway verified itself
(`client_ca` set: mutual TLS, the certificate is required and must chain to that CA; the
delivered client certificates have CN = hub user name). Nothing the client sends counts:
KERNEL_USERNAME in the start request is overwritten with that CN.

- POST /api/kernels: the new kernel belongs to the caller.
- GET /api/kernels: only the caller's kernels. Listing stays on because jupyter_server's
  gateway client (GatewayMappingKernelManager.list_kernels) uses it for its own kernels'
  state and for the kernel list the notebook UI polls; it drops ids the gateway does not
  list, so others' kernels are never needed there.
- /api/kernels/<id>, .../interrupt, .../restart, .../channels (websocket): 404, as for a
  kernel that does not exist, unless the kernel is the caller's; checked in prepare(),
  before the handler runs or a websocket is accepted.
- /api/sessions...: 403. The gateway client keeps sessions in the notebook server and
  never calls them; on the gateway they could attach a session to any kernel id.

Without client_ca (behind z/OS AT-TLS the gateway speaks plain HTTP and never sees the
certificate) there is no identity to bind to: listings are empty, sessions stay closed,
KERNEL_USERNAME is dropped, and a kernel is reachable by whoever holds the token and its
id (see docs/howto/zos-production-stack.md for that trust model).

What this layer does not do is keep code inside one kernel from the others' processes
and connection files: on the dev gateway, kernel_as_user.py (its kernel spec) runs each
kernel as its user's own uid for that; elsewhere the gateway's kernel spec decides.
"""

from __future__ import annotations

import contextvars
import json
import os

from jupyter_client.jsonutil import json_default
from jupyter_server.utils import ensure_async
from kernel_gateway.jupyter_websocket import JupyterWebsocketPersonality
from kernel_gateway.mixins import JSONErrorsMixin
from kernel_gateway.services.kernels.manager import SeedingMappingKernelManager
from tornado import web

# Who the request being handled comes from; set in prepare(). Each tornado request runs
# in its own asyncio task with its own copy of the context, so concurrent requests never
# see each other's caller while the kernel manager starts their kernels.
_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("kg_caller", default=None)


def certificate_identity(request) -> str | None:
    """The one subject CN of the client certificate the TLS layer verified, else None."""
    cert = request.get_ssl_certificate()
    if not cert:
        return None
    names = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    return names[0] if len(names) == 1 and names[0] else None


class OwnedKernelManager(SeedingMappingKernelManager):
    """Kernel Gateway's kernel manager, remembering who started each kernel."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.owners: dict[str, str | None] = {}

    async def start_kernel(self, *args, **kwargs):
        if kwargs.get("kernel_id") in self:
            # Starting "by id" returns an existing kernel: that would hand it over.
            raise web.HTTPError(403, "Kernels are only started new")
        owner = _caller.get()
        env = kwargs.get("env")
        if not isinstance(env, dict):
            # A start without "env": jupyter_client would hand the kernel the gateway's
            # whole environment (KG_AUTH_TOKEN included). Give it what Kernel Gateway
            # gives a start with an env instead: PATH and the KERNEL_ variables.
            env = kwargs["env"] = {"PATH": os.environ.get("PATH", "")}
        # The client's claim of who it is does not reach the kernel unchecked.
        env.pop("KERNEL_USERNAME", None)
        if owner is not None:
            env["KERNEL_USERNAME"] = owner
        kernel_id = await super().start_kernel(*args, **kwargs)
        self.owners.setdefault(kernel_id, owner)
        return kernel_id

    def remove_kernel(self, kernel_id):
        self.owners.pop(kernel_id, None)
        return super().remove_kernel(kernel_id)


class _Guard(JSONErrorsMixin):
    """Put in front of every kernel and session handler of the personality."""

    sessions = False  # True on the /api/sessions handlers: always refused

    async def prepare(self):
        # Kernel Gateway's token check, then jupyter_server's; either may finish the request.
        result = super().prepare()
        if result is not None:
            await result
        if self._finished:
            return
        personality = self.settings["kg_personality"]
        caller = certificate_identity(self.request) if personality.bound else None
        if personality.bound and caller is None:
            raise web.HTTPError(403, "No client certificate identity")
        if self.sessions:
            raise web.HTTPError(403, "The sessions API is closed on this gateway")
        _caller.set(caller)
        kernel_id = self.path_kwargs.get("kernel_id")
        if kernel_id is not None and not self.may_use(kernel_id):
            raise web.HTTPError(404, f"Kernel does not exist: {kernel_id}")

    def may_use(self, kernel_id: str) -> bool:
        km = self.settings["kernel_manager"]
        if not self.settings["kg_personality"].bound:
            return kernel_id in km
        owner = km.owners.get(kernel_id)
        return owner is not None and owner == _caller.get()


class _ListOwnKernels(_Guard):
    async def get(self):
        """GET /api/kernels: the caller's kernels; none without an identity."""
        if not self.settings.get("kg_list_kernels"):
            raise web.HTTPError(403, "Forbidden")
        km = self.settings["kernel_manager"]
        kernels = await ensure_async(km.list_kernels())
        bound = self.settings["kg_personality"].bound
        own = [k for k in kernels if bound and self.may_use(k["id"])]
        self.finish(json.dumps(own, default=json_default))


class IsolatingPersonality(JupyterWebsocketPersonality):
    """The jupyter-websocket personality with every kernel and session handler guarded."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(self.parent.kernel_manager, OwnedKernelManager):
            raise RuntimeError(
                "kg_isolation needs c.KernelGatewayApp.kernel_manager_class = "
                "'kg_isolation.OwnedKernelManager'"
            )
        # Kernels are bound to certificate identities only where the gateway itself
        # requires and verifies client certificates.
        self.bound = bool(self.parent.client_ca)
        self.log.info(
            "kg_isolation: kernels bound to the client certificate's CN"
            if self.bound
            else "kg_isolation: no client certificates here (TLS in front?): listings "
            "empty, sessions closed, kernels reachable by id with the token"
        )

    def create_request_handlers(self):
        base = "/" + self.parent.base_url.strip("/")
        kernels = f"{base.rstrip('/')}/api/kernels"
        sessions = f"{base.rstrip('/')}/api/sessions"
        handlers = []
        for pattern, handler, *rest in super().create_request_handlers():
            if pattern == kernels:
                handler = type(handler.__name__, (_ListOwnKernels, handler), {})
            elif pattern.startswith(kernels + "/"):
                handler = type(handler.__name__, (_Guard, handler), {})
            elif pattern == sessions or pattern.startswith(sessions + "/"):
                handler = type(handler.__name__, (_Guard, handler), {"sessions": True})
            handlers.append((pattern, handler, *rest))
        return handlers


def create_personality(*args, **kwargs):
    return IsolatingPersonality(*args, **kwargs)
