"""The rendered jupyter_kernel_gateway_config.py, for the dev gateway and the z/OS one,
loads kg_isolation: loaded by traitlets as Kernel Gateway loads it, and a real
KernelGatewayApp (no HTTP server) built from it guards every kernel and session route."""

from __future__ import annotations

import asyncio
import re
import sys
from types import SimpleNamespace

import pytest
from kernel_gateway.gatewayapp import KernelGatewayApp
from traitlets.config.loader import PyFileConfigLoader

from components.gateway.config import (
    ISOLATION_MODULE,
    ISOLATION_SOURCE,
    GatewayTls,
    render_kernel_gateway_config,
)
from components.gateway.dev_gateway import MODULE_DIR, dev_gateway_config
from components.zos.kg_config import MODULE_FILE, kg_config_step, render_config
from tests.unit.components.zos.test_render import zos_settings

TLS = GatewayTls("/tls/server.crt", "/tls/server.key", "/tls/client-ca.crt")


def load(text: str, tmp_path, monkeypatch):
    """The config as Kernel Gateway reads it (a traitlets Python config file)."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the config prepends its module dir
    monkeypatch.setenv("KG_AUTH_TOKEN", "t" * 20)  # the z/OS config reads it at load
    path = tmp_path / "jupyter_kernel_gateway_config.py"
    path.write_text(text)
    return PyFileConfigLoader(path.name, str(tmp_path)).load_config(), list(sys.path)


@pytest.mark.parametrize("tls", [TLS, None], ids=["mutual TLS", "behind AT-TLS"])
def test_rendered_config_loads_the_isolation_layer(tls, tmp_path, monkeypatch):
    text = render_kernel_gateway_config(ip="127.0.0.1", port=8888, tls=tls, module_dir="/opt/m")
    config, path = load(text, tmp_path, monkeypatch)
    assert path[0] == "/opt/m"
    assert config.KernelGatewayApp.api == ISOLATION_MODULE == ISOLATION_SOURCE.stem
    assert config.KernelGatewayApp.kernel_manager_class == "kg_isolation.OwnedKernelManager"
    # On: the gateway client needs the list; kg_isolation filters it per caller.
    assert config.JupyterWebsocketPersonality.list_kernels is True
    assert ("client_ca" in config.KernelGatewayApp) == (tls is not None)


def test_dev_and_zos_gateways_load_the_same_module(ssh_keypair, tmp_path, monkeypatch):
    dev, _ = load(dev_gateway_config(), tmp_path, monkeypatch)
    assert dev.KernelGatewayApp.api == ISOLATION_MODULE
    assert sys.path[0] == MODULE_DIR
    for attls in ("true", "false"):
        zos = zos_settings(ssh_keypair, ZOS_ATTLS=attls).zos
        config, path = load(render_config(zos), tmp_path, monkeypatch)
        assert config.KernelGatewayApp.api == ISOLATION_MODULE
        assert path[0] == zos.kg_config_dir  # the step writes the module beside the config
        step = kg_config_step(zos, "dev")
        heredoc = re.search(
            rf'cat >"\$DIR/{MODULE_FILE}\.jupyterhub-zos\.new" <<\'JHZOS_MODULE\'\n'
            r"(.*?)JHZOS_MODULE\n",
            step.create,
            re.DOTALL,
        )
        assert heredoc and heredoc[1] == ISOLATION_SOURCE.read_text()
        assert f"put_file {MODULE_FILE}" in step.create and MODULE_FILE in step.delete


@pytest.fixture
def app_from(tmp_path, monkeypatch):
    """A real KernelGatewayApp initialised from a rendered config (no HTTP server)."""
    apps = []

    def make(tls):
        monkeypatch.setattr(sys, "path", list(sys.path))
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
        monkeypatch.setenv("KG_AUTH_TOKEN", "t" * 20)
        config = tmp_path / "kg_config.py"
        config.write_text(
            render_kernel_gateway_config(
                ip="127.0.0.1", port=8888, tls=tls, module_dir=str(ISOLATION_SOURCE.parent)
            )
        )
        asyncio.set_event_loop(asyncio.new_event_loop())  # the app's IOLoop.current()
        app = KernelGatewayApp()
        app.init_signal = lambda: None  # leave the test process's signal handlers alone
        app.initialize([f"--config={config}"], new_httpserver=False)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.io_loop.close(all_fds=True)
    asyncio.set_event_loop(None)
    KernelGatewayApp.clear_instance()


@pytest.mark.parametrize("tls", [TLS, None], ids=["mutual TLS", "behind AT-TLS"])
def test_every_kernel_and_session_route_is_guarded(app_from, tls):
    app = app_from(tls)
    kg_isolation = sys.modules[ISOLATION_MODULE]
    assert isinstance(app.personality, kg_isolation.IsolatingPersonality)
    assert isinstance(app.kernel_manager, kg_isolation.OwnedKernelManager)
    assert app.personality.bound is (tls is not None)
    routes = {rule.matcher.regex.pattern: rule.target for rule in app.web_app.wildcard_router.rules}
    guarded = {p for p, h in routes.items() if issubclass(h, kg_isolation._Guard)}
    # Anything naming a kernel or a session is guarded; the rest serves no kernel.
    naming = re.compile("kernel_id|session_id|kernels\\$|sessions")
    assert {p for p in routes if naming.search(p)} <= guarded
    assert {p.rstrip("$") for p in set(routes) - guarded} == {
        "/api",
        "/api/kernelspecs",
        "/api/kernelspecs/(?P<kernel_name>[\\w\\.\\-%]+)",
        "/kernelspecs/(?P<kernel_name>[\\w\\.\\-%]+)/(?P<path>.*)",
        "/api/swagger.json",
        "/api/swagger.yaml",
        "/(.*)",
    }
    assert len(guarded) == 6  # 4 kernel routes (channels included) and 2 session routes


def test_identity_is_the_one_common_name_of_the_verified_certificate():
    sys.path.insert(0, str(ISOLATION_SOURCE.parent))
    try:
        import kg_isolation
    finally:
        sys.path.remove(str(ISOLATION_SOURCE.parent))

    def request(cert):
        return SimpleNamespace(get_ssl_certificate=lambda: cert)

    subject = ((("organizationName", "jupyterhub-zos"),), (("commonName", "alice"),))
    assert kg_isolation.certificate_identity(request({"subject": subject})) == "alice"
    two = ((("commonName", "alice"),), (("commonName", "bob"),))
    assert kg_isolation.certificate_identity(request({"subject": two})) is None
    assert kg_isolation.certificate_identity(request({"subject": ()})) is None
    assert kg_isolation.certificate_identity(request(None)) is None
