"""Per-user kernels on Jupyter Kernel Gateway (jupyterhub-zos): 3.0 on jupyter_server, and
2.1/2.2 on the classic notebook server (IzODA's AT-TLS-aware builds are 2.x, before 2.3).

Kernel Gateway has one shared token and no per-user authorization: anyone holding the
token can list, use and delete every kernel. This module, loaded by the rendered
jupyter_kernel_gateway_config.py (`c.KernelGatewayApp.api = "kg_isolation"` and
`c.KernelGatewayApp.kernel_manager_class = "kg_isolation.OwnedKernelManager"`), binds
each kernel to the identity that started it and refuses every other identity. It
imports only what both generations have (kernel_gateway, tornado, the standard library),
so the same file loads on either; tests/integration/test_kernel_isolation_kg2.py runs
the isolation tests against a real 2.x. Before 2.5 (no `ssl_version` setting, TLS pinned to
1.0) it also makes the gateway's own TLS 1.2 or later, same certificate and client CA.

Identity is the subject CN of the TLS client certificate the gateway verified itself
(`client_ca` set: mutual TLS, the certificate is required and must chain to that CA; the
delivered client certificates have CN = hub user name), read from the connection's TLS
session (tornado's get_ssl_certificate). Nothing the client sends counts: no header, and
KERNEL_USERNAME in the start request is overwritten with that CN.

- POST /api/kernels: the new kernel belongs to the caller. Its environment is built here
  from this request alone (PATH, the process whitelist, KERNEL_* and the whitelist from
  the request's env), never from the kernel manager's shared `start_kernel` partial
  Kernel Gateway sets per request, which a concurrent start could otherwise pick up.
- GET /api/kernels: only the caller's kernels. Listing stays on because jupyter_server's
  gateway client (GatewayMappingKernelManager.list_kernels) uses it for its own kernels'
  state and for the kernel list the notebook UI polls; it drops ids the gateway does not
  list, so others' kernels are never needed there.
- /api/kernels/<id>, .../interrupt, .../restart, .../channels (websocket): 404, as for a
  kernel that does not exist, unless the kernel is the caller's; checked in prepare(),
  before the handler runs or a websocket is accepted.
- /api/sessions...: 403. The gateway client keeps sessions in the notebook server and
  never calls them; on the gateway they could attach a session to any kernel id.

Without client_ca there is no identity to bind to: behind z/OS AT-TLS the gateway speaks
plain HTTP and never sees the certificate (AT-TLS's SAFCheck has verified it and mapped
it to a RACF user ID before the first byte reaches the gateway; IzODA's AT-TLS-aware
build starts each kernel under that ID through its native library; this module does not
query the AT-TLS socket itself). Then listings are empty, sessions stay closed,
KERNEL_USERNAME is dropped, and a kernel is reachable by whoever holds the token and its
id (see docs/howto/zos-production-stack.md for that trust model).

What this layer does not do is keep code inside one kernel from the others' processes
and connection files: on the dev gateway, kernel_as_user.py (its kernel spec) runs each
kernel as its user's own uid for that; elsewhere the gateway's kernel spec decides.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import inspect
import json
import os

from kernel_gateway.jupyter_websocket import JupyterWebsocketPersonality
from kernel_gateway.mixins import JSONErrorsMixin
from kernel_gateway.services.kernels.manager import SeedingMappingKernelManager
from tornado import web

# Who the request being handled comes from, and the environment its kernel start asked
# for; set in prepare(). Each tornado request runs in its own context (an asyncio task on
# tornado 6; on 2.x a synchronous prepare() sets them in the handler's own coroutine), so
# concurrent requests never see each other's caller while their kernels start.
_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("kg_caller", default=None)
_start_env: contextvars.ContextVar[dict | None] = contextvars.ContextVar("kg_env", default=None)


def certificate_identity(request) -> str | None:
    """The one subject CN of the client certificate the TLS layer verified, else None."""
    cert = request.get_ssl_certificate()
    if not cert:
        return None
    names = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    return names[0] if len(names) == 1 and names[0] else None


def _json_default(obj):
    """Kernel models' datetimes as jupyter_client writes them (ISO 8601, Z for UTC)."""
    if isinstance(obj, datetime.datetime):
        if obj.tzinfo is None:
            obj = obj.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017 - 3.7 on IzODA
        return obj.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


async def _result(value):
    """`value`, awaited if the kernel manager returned an awaitable (3.x) or not (2.x)."""
    return (await value) if inspect.isawaitable(value) else value


class OwnedKernelManager(SeedingMappingKernelManager):
    """Kernel Gateway's kernel manager, remembering who started each kernel."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.owners: dict[str, str | None] = {}

    def start_kernel(self, *args, **kwargs):
        # Plain def returning a future: 2.x's handlers wrap the result with tornado's
        # gen.maybe_future, which passes futures through; 3.x's await it.
        if kwargs.get("kernel_id") in self:
            # Starting "by id" returns an existing kernel: that would hand it over.
            raise web.HTTPError(403, "Kernels are only started new")
        owner = _caller.get()
        env = _start_env.get()
        if env is None:  # not a request (a prespawned or seeded kernel)
            env = kwargs.get("env")
        if not isinstance(env, dict):
            # A start without "env": jupyter_client would hand the kernel the gateway's
            # whole environment (KG_AUTH_TOKEN included). Give it what Kernel Gateway
            # gives a start with an env instead: PATH and the KERNEL_ variables.
            env = {"PATH": os.environ.get("PATH", "")}
        env = dict(env)
        # The client's claim of who it is does not reach the kernel unchecked.
        env.pop("KERNEL_USERNAME", None)
        if owner is not None:
            env["KERNEL_USERNAME"] = owner
        kwargs["env"] = env
        return asyncio.ensure_future(self._start_owned(owner, args, kwargs))

    async def _start_owned(self, owner, args, kwargs):
        kernel_id = await _result(super().start_kernel(*args, **kwargs))
        self.owners.setdefault(kernel_id, owner)
        return kernel_id

    def remove_kernel(self, kernel_id):
        self.owners.pop(kernel_id, None)
        return super().remove_kernel(kernel_id)


class _Guard(JSONErrorsMixin):
    """Put in front of every kernel and session handler of the personality."""

    sessions = False  # True on the /api/sessions handlers: always refused

    def prepare(self):
        # Kernel Gateway's token check, then the server's (jupyter_server's is a
        # coroutine, notebook 5's is not); either may finish the request. The guard
        # runs synchronously after a synchronous check, so what it sets stays in the
        # handler's context on tornado 5 as on 6.
        result = super().prepare()
        if inspect.isawaitable(result):

            async def then():
                await result
                self._guard()

            return then()
        self._guard()
        return None

    def _guard(self):
        if self._finished:
            return
        personality = self.settings["kg_personality"]
        caller = certificate_identity(self.request) if personality.bound else None
        if personality.bound and caller is None:
            raise web.HTTPError(403, "No client certificate identity")
        if self.sessions:
            raise web.HTTPError(403, "The sessions API is closed on this gateway")
        _caller.set(caller)
        _start_env.set(None)
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
    def _guard(self):
        super()._guard()
        if self._finished or self.request.method != "POST":
            return
        # The kernel's environment, from this request only (as Kernel Gateway builds it).
        model = self.get_json_body() or {}
        asked = model.get("env", {})
        if not isinstance(asked, dict):
            raise web.HTTPError(400, "env must be an object")
        env = {"PATH": os.environ.get("PATH", "")}
        env.update({k: v for k, v in os.environ.items() if k in self.env_process_whitelist})
        env.update(
            {k: v for k, v in asked.items() if k.startswith("KERNEL_") or k in self.env_whitelist}
        )
        _start_env.set(env)

    async def get(self):
        """GET /api/kernels: the caller's kernels; none without an identity."""
        if not self.settings.get("kg_list_kernels"):
            raise web.HTTPError(403, "Forbidden")
        km = self.settings["kernel_manager"]
        kernels = await _result(km.list_kernels())
        bound = self.settings["kg_personality"].bound
        own = [k for k in kernels if bound and self.may_use(k["id"])]
        self.finish(json.dumps(own, default=_json_default))


def _tls12_or_later(build):
    """Kernel Gateway 2.x's ssl options as a context that speaks TLS 1.2 or later only,
    with the same certificate, key and client CA (client certificates required)."""

    def build_context():
        options = build()
        if not isinstance(options, dict):
            return options  # no TLS here (behind AT-TLS)
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(options.get("certfile"), options.get("keyfile"))
        if options.get("ca_certs"):
            context.load_verify_locations(options["ca_certs"])
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    return build_context


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
        if not self.parent.has_trait("ssl_version"):
            # Kernel Gateway before 2.5 pins its own TLS to TLS 1.0 (ssl.PROTOCOL_TLSv1)
            # with no setting to change it; behind AT-TLS it does no TLS at all.
            app = self.parent
            app._build_ssl_options = _tls12_or_later(app._build_ssl_options)
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
