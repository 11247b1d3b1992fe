"""The rendered jupyter_kernel_gateway_config.py, for the dev gateway and the z/OS one,
loads kg_isolation: loaded by traitlets as Kernel Gateway loads it, and a real
KernelGatewayApp (no HTTP server) built from it guards every kernel and session route."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
from traitlets.config.loader import PyFileConfigLoader

from components.gateway.config import (
    ISOLATION_MODULE,
    ISOLATION_SOURCE,
    GatewayTls,
    render_kernel_gateway_config,
)
from components.gateway.dev_gateway import MODULE_DIR, dev_gateway_config
from components.settings import KernelLimits
from components.zos.kg_config import MODULE_FILE, kg_config_step, render_config
from tests.unit.components.zos.test_render import zos_settings
from tools.mock_graph import settled_event_loop

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
    with settled_event_loop():  # settings hold secrets as Outputs
        _check_dev_and_zos(ssh_keypair, tmp_path, monkeypatch)


def _check_dev_and_zos(ssh_keypair, tmp_path, monkeypatch):
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


# Run in a child process: a KernelGatewayApp takes over the process's event loop and
# traitlets singletons, which the Pulumi mock tests in this process need for themselves.
_APP_PROBE = """
import json, sys
from kernel_gateway.gatewayapp import KernelGatewayApp
app = KernelGatewayApp()
app.init_signal = lambda: None
app.initialize(["--config=" + sys.argv[1]], new_httpserver=False)
import kg_isolation
print(json.dumps({
    "personality": type(app.personality).__name__,
    "kernel_manager": type(app.kernel_manager).__name__,
    "bound": app.personality.bound,
    "routes": {
        rule.matcher.regex.pattern: issubclass(rule.target, kg_isolation._Guard)
        for rule in app.web_app.wildcard_router.rules
    },
}))
"""


def app_from(tls, tmp_path) -> dict:
    """A real KernelGatewayApp initialised from a rendered config (no HTTP server)."""
    config = tmp_path / "kg_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1", port=8888, tls=tls, module_dir=str(ISOLATION_SOURCE.parent)
        )
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KG_AUTH_TOKEN": "t" * 20,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "HOME": str(tmp_path),
    }
    probe = subprocess.run(
        [sys.executable, "-c", _APP_PROBE, str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("tls", [TLS, None], ids=["mutual TLS", "behind AT-TLS"])
def test_every_kernel_and_session_route_is_guarded(tls, tmp_path):
    app = app_from(tls, tmp_path)
    assert app["personality"] == "IsolatingPersonality"
    assert app["kernel_manager"] == "OwnedKernelManager"
    assert app["bound"] is (tls is not None)
    routes = app["routes"]
    guarded = {p for p, is_guarded in routes.items() if is_guarded}
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


# --- culling idle kernels and the kernel cap ---------------------------------------------------


def test_kernel_limits_are_rendered_for_the_dev_and_zos_gateways(
    ssh_keypair, tmp_path, monkeypatch
):
    limits = KernelLimits(
        cull_idle_timeout=900, cull_interval=60, cull_connected=True, max_kernels=25
    )
    dev, _ = load(dev_gateway_config(kernels=limits), tmp_path, monkeypatch)
    with settled_event_loop():
        zos_stack = zos_settings(
            ssh_keypair,
            KG_CULL_IDLE_TIMEOUT="900",
            KG_CULL_INTERVAL="60",
            KG_CULL_CONNECTED="true",
            KG_MAX_KERNELS="25",
        ).zos
        zos, _ = load(render_config(zos_stack), tmp_path, monkeypatch)
    for config in (dev, zos):
        manager = config.MappingKernelManager
        assert manager.cull_idle_timeout == 900
        assert manager.cull_interval == 60
        assert manager.cull_connected is True
        assert manager.cull_busy is False  # a running cell is never cut off
        assert config.KernelGatewayApp.max_kernels == 25


def test_default_kernel_limits_cull_idle_disconnected_kernels_without_a_cap(tmp_path, monkeypatch):
    config, _ = load(dev_gateway_config(), tmp_path, monkeypatch)
    assert config.MappingKernelManager.cull_idle_timeout == 3600
    assert config.MappingKernelManager.cull_interval == 300
    assert config.MappingKernelManager.cull_connected is False
    # Kernel Gateway reads max_kernels=0 as "no kernel at all": no cap means not set.
    assert "max_kernels" not in config.KernelGatewayApp
    off = render_kernel_gateway_config(
        ip="127.0.0.1", port=1, tls=None, module_dir="/m", kernels=KernelLimits(cull_idle_timeout=0)
    )
    assert "cull_idle_timeout = 0" in off
    assert "MappingKernelManager" not in render_kernel_gateway_config(
        ip="127.0.0.1", port=1, tls=None, module_dir="/m"
    )
