"""Run real Jupyter servers for tests: a Kernel Gateway, a notebook server (jupyter_server)
started with the environment the shipped hub config gives a notebook, and a client that
starts a kernel and runs code over the websocket, as a browser would.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import requests
import websocket

from tests.hubconfig import load_hub_config
from tests.tooling import free_port, wait_for_port

VENV_BIN = Path(sys.executable).parent
PKI_MOUNT = "/etc/jupyterpki"  # where DockerSpawner mounts the user's certificate dir
NOTEBOOK_TOKEN = "nb-test-token"  # the test notebook server's own API token

# What the hub container's environment holds besides the gateway keys; the values only
# need to let jupyterhub_config.py load.
_HUB_ENV_BASE = {
    "SSL_CERT": "/srv/jupyterhub/tls/hub.crt",
    "SSL_KEY": "/srv/jupyterhub/tls/hub.key",
    "LDAP_SERVER_HOST": "ldap.example.org",
    "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
    "HUB_ADMIN_USERS": "alice",
    "DOCKER_NOTEBOOK_IMAGE": "quay.io/jupyter/base-notebook:2025-06-02",
    "DOCKER_NETWORK_NAME": "jupyterhub-network",
    "JUPYTERPKI_HOST_DIR": "/var/lib/jupyterhub-zos/dev/pki",
    "JUPYTERPKI_USERS": "alice",
}


def hub_env(**gateway: str) -> dict[str, str]:
    """A hub container environment with the given gateway keys (KG_URL, ...)."""
    return {**_HUB_ENV_BASE, **gateway}


def notebook_environment(
    env: Mapping[str, str], user: str, pki_dir: Path | None = None
) -> dict[str, str]:
    """Exactly what DockerSpawner would set in `user`'s notebook container, from the
    shipped jupyterhub_config.py; /etc/jupyterpki paths point at `pki_dir` instead."""
    c = load_hub_config(env)
    spawner = SimpleNamespace(user=SimpleNamespace(name=user), name="")
    out = {}
    for key, value in c.DockerSpawner.environment.items():
        value = value(spawner) if callable(value) else value
        if pki_dir is not None and value.startswith(PKI_MOUNT + "/"):
            value = str(pki_dir) + value[len(PKI_MOUNT) :]
        out[key] = value
    return out


def jupyter_dirs(root: Path) -> dict[str, str]:
    """A private HOME and Jupyter dirs, so no config from the machine leaks in."""
    dirs = {
        "HOME": root / "home",
        "JUPYTER_CONFIG_DIR": root / "config",
        "JUPYTER_DATA_DIR": root / "data",
        "JUPYTER_RUNTIME_DIR": root / "runtime",
        "IPYTHONDIR": root / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}/usr/bin:/bin",
        "JUPYTER_PLATFORM_DIRS": "1",
        **{k: str(v) for k, v in dirs.items()},
    }


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    log: Path
    token: str = ""  # the notebook server's own API token

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def run_server(cmd: list[str], env: Mapping[str, str], port: int, log: Path, url: str):
    """Start `cmd`, wait until it listens on 127.0.0.1:port, stop it afterwards."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    server = Server(url, port, proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                wait_for_port(port, timeout=0.5)
                break
            except TimeoutError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError(f"{cmd[2:4]} did not start:\n{server.log_tail()}") from None
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def kernel_gateway(
    config_file: Path, token: str, root: Path, port: int, bin_dir: Path = VENV_BIN
) -> Iterator[Server]:
    """`jupyter kernelgateway` from `bin_dir` (another venv: tests/support/kg2.py), whose
    python is also the one on the kernels' PATH."""
    env = {**jupyter_dirs(root), "KG_AUTH_TOKEN": token}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    cmd = [str(bin_dir / "jupyter"), "kernelgateway", f"--config={config_file}"]
    with run_server(cmd, env, port, root / "gateway.log", f"https://127.0.0.1:{port}") as s:
        yield s


@contextlib.contextmanager
def notebook_server(
    notebook_env: Mapping[str, str], root: Path, token: str = NOTEBOOK_TOKEN
) -> Iterator[Server]:
    """jupyter_server on 127.0.0.1 with `notebook_env` (the hub-given variables) on top
    of a bare process environment."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**jupyter_dirs(root), **notebook_env}
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        # The test runs as root; in the container the notebook runs as jovyan.
        "--ServerApp.allow_root=True",
    ]
    with run_server(cmd, env, port, root / "notebook.log", f"http://127.0.0.1:{port}") as s:
        s.token = token
        yield s


def _message(msg_type: str, content: dict, channel: str = "shell") -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": "test",
            "session": uuid.uuid4().hex,
            "date": "",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": channel,
        "buffers": [],
    }


class KernelError(RuntimeError):
    pass


@dataclass
class KernelRun:
    start_seconds: float  # POST /api/kernels until the kernel answered kernel_info
    result: str  # text/plain of the execute_result


def start_kernel(server: Server, timeout: float = 90) -> str:
    """POST /api/kernels on a notebook server (a gateway, with `server.token` and its
    cert); the kernel's id. KernelError if the start is refused."""
    r = requests.post(
        f"{server.url}/api/kernels",
        json={"name": "python3"},
        headers={"Authorization": f"token {server.token}"},
        timeout=timeout,
    )
    if r.status_code != 201:
        raise KernelError(f"kernel start refused: HTTP {r.status_code} {r.text[:300]}")
    return r.json()["id"]


def channels(server: Server, kernel_id: str, sslopt: dict | None = None, timeout: float = 90):
    """The kernel's channels websocket, opened as a browser (or gateway client) does."""
    base = server.url.replace("https://", "wss://").replace("http://", "ws://")
    ws = websocket.create_connection(
        f"{base}/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {server.token}"],
        sslopt=sslopt,
        timeout=timeout,
    )
    ws.settimeout(timeout)
    return ws


def run_code(ws, code: str, started: float | None = None) -> tuple[float, str]:
    """On an open channels websocket: wait until the kernel answers kernel_info, run
    `code`; (seconds from `started` (default: now) until the kernel answered, text/plain
    of the execute_result, "" for a statement, which has none)."""
    started = time.monotonic() if started is None else started
    info = _message("kernel_info_request", {})
    ws.send(json.dumps(info))
    _wait_reply(ws, info, "kernel_info_reply")
    ready = time.monotonic() - started
    execute = _message(
        "execute_request",
        {"code": code, "silent": False, "store_history": False, "allow_stdin": False},
    )
    ws.send(json.dumps(execute))
    return ready, _collect_result(ws, execute)


def run_in_kernel(server: Server, kernel_id: str, code: str, timeout: float = 90) -> str:
    """Run `code` in a running kernel of a notebook server; its text/plain result."""
    ws = channels(server, kernel_id, timeout=timeout)
    try:
        return run_code(ws, code)[1]
    finally:
        ws.close()


def start_kernel_and_run(server: Server, code: str = "1+1", timeout: float = 90) -> KernelRun:
    """Start a python3 kernel through the notebook server, wait until it answers, run
    `code` over the websocket, return the timing and the result; delete the kernel."""
    started = time.monotonic()
    kernel_id = start_kernel(server, timeout)
    try:
        ws = channels(server, kernel_id, timeout=timeout)
        try:
            ready, result = run_code(ws, code, started)
        finally:
            ws.close()
        return KernelRun(ready, result)
    finally:
        requests.delete(
            f"{server.url}/api/kernels/{kernel_id}",
            headers={"Authorization": f"token {server.token}"},
            timeout=30,
        )


def _wait_reply(ws, request: dict, msg_type: str) -> dict:
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
            continue
        kind = msg.get("msg_type") or msg["header"]["msg_type"]
        if kind == "error" or (kind.endswith("_reply") and msg["content"].get("status") == "error"):
            raise KernelError(f"kernel error: {msg['content']}")
        if kind == msg_type:
            return msg


def _collect_result(ws, request: dict) -> str:
    """The execute_result of `request` (if any), once the kernel has replied and gone
    idle: a statement has no result, so waiting for one would wait forever."""
    result, replied, idle = "", False, False
    while not (replied and idle):
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
            continue
        kind = msg.get("msg_type") or msg["header"]["msg_type"]
        if kind == "error" or (kind == "execute_reply" and msg["content"]["status"] != "ok"):
            raise KernelError(f"kernel error: {msg['content']}")
        if kind == "execute_result":
            result = msg["content"]["data"]["text/plain"]
        elif kind == "execute_reply":
            replied = True
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    return result
