"""A stand-in for the Kernel Gateway installed on z/OS (tests only): a Python (a wrapper
around this interpreter) whose `kernel_gateway` package is a stand-in of the version
asked for, with or without a native .so, and which can be made unable to import
jupyter_server (as IzODA's Kernel Gateway 2.x, built on the classic notebook server).

Its submodules are upstream's (installed here, or a real Kernel Gateway 2.x venv's on
the classic notebook server: tests/support/kg2.py), so the gateway's config and
kg_isolation.py load for real. `python -m kernel_gateway` is a fake gateway: it loads
the config from $JUPYTER_CONFIG_DIR with traitlets, as the real one does, records the
start (its user ID, pid, the config's sha256, the token's sha256, ip and port) in the
double's state, logs Kernel Gateway's "is available at" line, and records its stop on
SIGTERM. It does not listen on the port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import kernel_gateway

from tests.zos_double.racf import STATE_ENV

UPSTREAM = Path(kernel_gateway.__file__).resolve().parent
# Run by another venv's python: its Kernel Gateway's version and package directory.
_REAL_KG = (
    "import importlib.util as u, importlib.metadata as m, os; "
    "s = u.find_spec('kernel_gateway'); "
    "print(m.version('jupyter_kernel_gateway'), os.path.dirname(s.origin))"
)
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
    venv: Path | None = None,
) -> Path:
    """Install the stand-in under root (bin/python, site/kernel_gateway); the python's
    path. Its .so (if any) is not program-controlled until the test marks it.

    `venv`: a real Kernel Gateway install (tests/support/kg2.py's 2.x venv): the python
    is that venv's, the submodules and version its real ones (on the classic notebook
    server), only the package's __init__ (and the .so) stand in for IzODA's build."""
    site = root / "site"
    package = site / "kernel_gateway"
    package.mkdir(parents=True, exist_ok=True)
    interpreter = sys.executable
    upstream = UPSTREAM
    if venv is not None:
        interpreter = str(venv / "bin" / "python")
        found = subprocess.run(
            [interpreter, "-c", _REAL_KG], capture_output=True, text=True, check=True
        ).stdout.split()
        version, upstream = found[0], Path(found[1])
    (package / "__init__.py").write_text(
        '"""Stand-in for a Kernel Gateway build on z/OS (tests/zos_double/gateway.py)."""\n'
        f"__version__ = {version!r}\n"
        f"__path__.append({str(upstream)!r})  # the submodules are upstream's\n"
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
        f"exec '{interpreter}' \"$@\"\n"
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
