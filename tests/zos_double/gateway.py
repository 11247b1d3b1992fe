"""A stand-in for the Kernel Gateway installed on z/OS (tests only): a Python (a wrapper
around this interpreter) whose `kernel_gateway` package is a stand-in of the version
asked for, with or without a native .so, and which can be made unable to import
jupyter_server (as IzODA's Kernel Gateway 2.x, built on the classic notebook server).

Its submodules are upstream's (installed here), so the gateway's config and
kg_isolation.py load for real. `python -m kernel_gateway` is a fake gateway: it loads
the config from $JUPYTER_CONFIG_DIR with traitlets, as the real one does, records the
start (its user ID, pid, the config's sha256, the token's sha256, ip and port) in the
double's state, logs Kernel Gateway's "is available at" line, and records its stop on
SIGTERM. It does not listen on the port.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import kernel_gateway

from tests.zos_double.racf import STATE_ENV

UPSTREAM = Path(kernel_gateway.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]

MAIN = '''\
"""The stand-in gateway (tests/zos_double/gateway.py)."""
import hashlib, os, signal, sys, time
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from tests.zos_double import racf, uss

directory = os.environ["JUPYTER_CONFIG_DIR"]
name = "jupyter_kernel_gateway_config.py"
text = Path(directory, name).read_text()
config = PyFileConfigLoader(name, path=directory).load_config()
app = config.KernelGatewayApp
token = app.auth_token if "auth_token" in app else ""


def record(event, **extra):
    with racf.locked_state(os.environ[racf.STATE_ENV]) as state:
        uss.uss(state)["gateway_runs"].append(
            {"event": event, "pid": os.getpid(), "user": os.environ.get("ZOS_DOUBLE_USER"),
             "n": state["counter"], "time": time.time(), **extra}
        )


record(
    "start",
    config_sha256=hashlib.sha256(text.encode()).hexdigest(),
    token_sha256=hashlib.sha256(token.encode()).hexdigest(),
    ip=app.ip if "ip" in app else None,
    port=app.port if "port" in app else None,
    config_dir=directory,
    cwd=os.getcwd(),
)


def stop(signum, frame):
    record("stop", signal=signum)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
print(f"[KernelGatewayApp] Jupyter Kernel Gateway __VERSION__ is available at "
      f"http://{app.ip}:{app.port}", flush=True)
while True:
    time.sleep(0.2)
'''


def install_gateway(
    root: Path,
    state_path: Path,
    *,
    version: str = "2.2.0",
    native: bool = True,
    jupyter_server: bool = True,
) -> Path:
    """Install the stand-in under root (bin/python, site/kernel_gateway); the python's
    path. Its .so (if any) is not program-controlled until the test marks it."""
    site = root / "site"
    package = site / "kernel_gateway"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(
        '"""Stand-in for a Kernel Gateway build on z/OS (tests/zos_double/gateway.py)."""\n'
        f"__version__ = {version!r}\n"
        f"__path__.append({str(UPSTREAM)!r})  # the submodules are upstream's\n"
    )
    (package / "__main__.py").write_text(MAIN.replace("__VERSION__", version))
    so = package / "_attls.so"
    if native:
        so.write_bytes(b"\x7fELF stand-in")
    elif so.exists():
        so.unlink()
    blocker = site / "jupyter_server"
    if not jupyter_server:
        blocker.mkdir(exist_ok=True)
        (blocker / "__init__.py").write_text(
            "raise ImportError('No module named jupyter_server (stand-in: Kernel Gateway 2.x "
            "runs on the classic notebook server)')\n"
        )
    elif blocker.exists():
        (blocker / "__init__.py").unlink()
        blocker.rmdir()
    python = root / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text(
        "#!/bin/sh\n"
        f"{STATE_ENV}='{state_path}' PYTHONPATH='{site}:{ROOT}' "
        f"exec '{sys.executable}' \"$@\"\n"
    )
    python.chmod(0o755)
    return python


def native_library(root: Path) -> Path:
    return root / "site" / "kernel_gateway" / "_attls.so"


def runs(state: dict) -> list[dict]:
    return state.get("uss", {}).get("gateway_runs", [])


def alive(pid: int) -> bool:
    from tests.zos_double.uss import _alive

    return _alive(pid)


def kill_all(state: dict) -> None:
    """Stop every stand-in gateway a test left running."""
    import signal

    started = {r["pid"] for r in runs(state) if r["event"] == "start"}
    stopped = {r["pid"] for r in runs(state) if r["event"] == "stop"}
    for pid in started - stopped:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
