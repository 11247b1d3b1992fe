"""A user of the deployed hub, as a browser would be one: HTTPS verified against the
stack's `hub_ca_cert`, the login form, the spawn, then kernels through the proxy at
/user/<name>/ with a token the user made for themselves, code over the websocket.

Nothing here knows the hub's internals: it uses the pages and REST API a person or a
script of theirs uses, so the e2e tests see what users see.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests
import websocket
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tests.support.notebook import KernelError, run_code

XSRF_RE = re.compile(r"""name=["']?_xsrf["']?\s+value=["']([^"']+)""")


class HubError(RuntimeError):
    pass


@dataclass
class HubUser:
    hub_url: str  # https://localhost:<port>/
    ca_file: Path  # the hub_ca_cert output, written to a file
    name: str
    session: requests.Session = field(default_factory=requests.Session)
    token: str | None = None
    # The server this object drives: "" the user's default one, else a named server.
    # `dataclasses.replace(user, server="lab")` drives it with the same session and token.
    server: str = ""

    def __post_init__(self) -> None:
        self.hub_url = self.hub_url.rstrip("/") + "/"
        self.session.trust_env = False  # no proxy, no REQUESTS_CA_BUNDLE from the env
        self.session.verify = str(self.ca_file)
        # The proxy (Node.js) closes idle keep-alive connections after 5 s; a request sent
        # on one just as it closes fails with RemoteDisconnected, as a browser's would be
        # resent. Idempotent requests (GET, DELETE, ...) are resent once; POSTs never.
        retry = Retry(
            total=1, connect=1, read=1, status=0, allowed_methods=Retry.DEFAULT_ALLOWED_METHODS
        )
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    # --- pages --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.hub_url + path.lstrip("/")

    def _xsrf(self, page: str = "hub/home") -> str:
        """JupyterHub 5.3 ties the _xsrf token to the session: take a fresh one from a
        page of this session, as a browser's form would."""
        response = self.session.get(self.url(page), timeout=30)
        match = XSRF_RE.search(response.text)
        if match:
            return match.group(1)
        return self.session.cookies.get("_xsrf", "")

    def login(self, password: str) -> bool:
        """The login form; True when the hub set a session (a 302 away from the form)."""
        self.session.get(self.url("hub/login"), timeout=30)
        response = self.session.post(
            self.url("hub/login"),
            data={"username": self.name, "password": password, "_xsrf": self._xsrf("hub/login")},
            allow_redirects=False,
            timeout=60,
        )
        return response.status_code == 302 and "jupyterhub-session-id" in self.session.cookies

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API with the session cookie (and a fresh _xsrf for writes)."""
        headers = kwargs.pop("headers", {})
        if method.upper() != "GET":
            headers["X-XSRFToken"] = self._xsrf()
        return self.session.request(
            method, self.url(f"hub/api/{path.lstrip('/')}"), headers=headers, timeout=60, **kwargs
        )

    def model(self) -> dict:
        response = self.api("GET", f"users/{quote(self.name)}")
        if response.status_code != 200:
            raise HubError(f"GET user {self.name}: HTTP {response.status_code} {response.text}")
        return response.json()

    # --- the server ---------------------------------------------------------------------

    def _server_path(self) -> str:
        """The API path of this server: users/<name>/server, or .../servers/<server>."""
        base = f"users/{quote(self.name)}"
        return f"{base}/servers/{quote(self.server, safe='')}" if self.server else f"{base}/server"

    def start_server(self, timeout: float = 180, user_options: dict | None = None) -> None:
        """POST the spawn (with `user_options`, what a spawn form would give) and wait
        until the hub says the server is ready."""
        kwargs = {"json": user_options} if user_options is not None else {}
        response = self.api("POST", self._server_path(), **kwargs)
        if response.status_code not in (201, 202, 400):
            raise HubError(f"spawn for {self.name}: HTTP {response.status_code} {response.text}")
        self.wait_ready(timeout)

    def spawn_form(self) -> str:
        """The spawn page of this server, as a browser gets it (the options form, if any)."""
        path = f"hub/spawn/{quote(self.name)}"
        if self.server:
            path += f"/{quote(self.server, safe='')}"
        return self.session.get(self.url(path), timeout=60).text

    def submit_spawn_form(self, form: dict[str, str], timeout: float = 180) -> None:
        """POST the spawn page's form, as a browser does, and wait for the server."""
        path = f"hub/spawn/{quote(self.name)}"
        if self.server:
            path += f"/{quote(self.server, safe='')}"
        response = self.session.post(
            self.url(path),
            data={**form, "_xsrf": self._xsrf(path)},
            allow_redirects=False,
            timeout=120,
        )
        if response.status_code not in (200, 302):
            raise HubError(f"spawn form for {self.name}: HTTP {response.status_code}")
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 180) -> None:
        """Follow the hub's spawn progress event stream until the server is ready, as the
        spawn page does in a browser (told at once, not found by polling)."""
        deadline = time.monotonic() + timeout
        url = self.url(f"hub/api/{self._server_path()}/progress")
        last = ""
        while time.monotonic() < deadline:
            # The hub sends a keepalive comment every few seconds: a read of 30 s is dead.
            with self.session.get(url, stream=True, timeout=(30, 30)) as response:
                if response.status_code == 404:
                    raise HubError(f"no server for {self.name}: {response.text[-800:]}")
                if response.status_code != 200:
                    raise HubError(
                        f"progress of {self.name}: HTTP {response.status_code} "
                        f"{response.text[-800:]}"
                    )
                for line in response.iter_lines(decode_unicode=True):
                    if not line or not line.startswith("data:"):
                        if time.monotonic() > deadline:
                            break
                        continue
                    event = json.loads(line[len("data:") :])
                    last = event.get("message", last)
                    if event.get("ready"):
                        return
                    if event.get("failed"):
                        raise HubError(f"no server for {self.name}: {line[-800:]}")
            # The stream ended without an outcome (the spawn was not pending yet, or the
            # proxy closed it): ask the model, then follow the stream again.
            server = self.model().get("servers", {}).get(self.server)
            if server and server.get("ready"):
                return
            if server is None:
                raise HubError(f"no server for {self.name} (last progress: {last!r})")
            time.sleep(0.2)
        raise HubError(f"server of {self.name} not ready after {timeout}s (last: {last!r})")

    def stop_server(self, timeout: float = 120) -> None:
        response = self.api("DELETE", self._server_path())
        if response.status_code not in (202, 204):
            raise HubError(f"stop for {self.name}: HTTP {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server not in self.model().get("servers", {}):
                return
            time.sleep(1)
        raise HubError(f"server of {self.name} still there after {timeout}s")

    def spawn_page_error(self) -> str:
        """What the spawn page tells a user whose spawn is refused."""
        response = self.session.get(self.url(f"hub/spawn/{quote(self.name)}"), timeout=60)
        return f"HTTP {response.status_code}\n{response.text}"

    def make_token(self) -> str:
        """A token the user makes for themselves (the hub's token page does the same)."""
        response = self.api(
            "POST", f"users/{quote(self.name)}/tokens", json={"note": "e2e", "expires_in": 3600}
        )
        if response.status_code not in (200, 201):
            raise HubError(f"token for {self.name}: HTTP {response.status_code} {response.text}")
        self.token = response.json()["token"]
        return self.token

    # --- the notebook server's API, through the hub's proxy -----------------------------

    def server_url(self) -> str:
        base = self.url(f"user/{quote(self.name)}")
        return f"{base}/{quote(self.server, safe='')}" if self.server else base

    def server_api(self, method: str, path: str, **kwargs) -> requests.Response:
        token = self.token or self.make_token()
        headers = {"Authorization": f"token {token}", **kwargs.pop("headers", {})}
        return self.session.request(
            method,
            f"{self.server_url()}/api/{path.lstrip('/')}",
            headers=headers,
            timeout=kwargs.pop("timeout", 150),
            **kwargs,
        )

    def start_kernel(self) -> str:
        response = self.server_api("POST", "kernels", json={"name": "python3"})
        if response.status_code != 201:
            raise KernelError(f"kernel start refused: HTTP {response.status_code} {response.text}")
        return response.json()["id"]

    def run(self, kernel_id: str, code: str, timeout: float = 120) -> str:
        """Run `code` in the kernel over the websocket; the text/plain of its result
        ("" for a statement, which has none)."""
        token = self.token or self.make_token()
        ws_url = self.server_url().replace("https://", "wss://") + f"/api/kernels/{kernel_id}"
        ws = websocket.create_connection(
            ws_url + "/channels",
            header=[f"Authorization: token {token}"],
            sslopt={"ca_certs": str(self.ca_file)},
            timeout=timeout,
        )
        try:
            return run_code(ws, code)[1]
        finally:
            ws.close()

    def run_once(self, code: str) -> str:
        """A fresh kernel, `code` run in it, the kernel deleted."""
        kernel_id = self.start_kernel()
        try:
            return self.run(kernel_id, code)
        finally:
            self.server_api("DELETE", f"kernels/{kernel_id}")
