"""Users are kept apart on a real Kernel Gateway: alice and bob each run a kernel through
their own real notebook server (jupyter_server's gateway client, the environment the
shipped hub config gives them, their own client certificates); then, holding everything
alice has (her certificate, key, CA, the gateway token, her notebook server), every
attempt on bob's kernel is refused, and bob's kernel runs on untouched.

The gateway's config is the one the program renders (kg_isolation loaded from
images/gateway). With mutual TLS (the dev gateway; z/OS with ZOS_ATTLS=false) kernels are
bound to the client certificate's CN; with plain HTTP (behind z/OS AT-TLS) the gateway
knows no caller and only closes listings and sessions, as documented.
"""

from __future__ import annotations

import ast
import contextlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import websocket

from components.gateway.config import ISOLATION_SOURCE, GatewayTls, render_kernel_gateway_config
from components.gateway.pki import GATEWAY_CA_PURPOSE, gateway_server_spec, server_hosts
from components.pki.specs import ca_spec, client_spec
from tests.support.certs import Issued, issue
from tests.support.notebook import (
    KernelError,
    Server,
    channels,
    hub_env,
    kernel_gateway,
    notebook_environment,
    notebook_server,
    run_code,
    run_in_kernel,
    start_kernel,
)
from tests.tooling import free_port

pytestmark = pytest.mark.integration

TOKEN = "kg-isolation-token-0123456789abcdef"
FILES = {"CLIENT_KEY": "key.pem", "CLIENT_CERT": "cert.pem", "CLIENT_CA": "cacert.pem"}
SESSION_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Holder:
    """What a notebook user holds: their files, as the delivery lays them out."""

    name: str
    pki_dir: Path  # <HUB_PKI_DIR>; the user's files are in <pki_dir>/<name>

    @property
    def files(self) -> Path:
        return self.pki_dir / self.name

    def call(self, method: str, url: str, **kw) -> requests.Response:
        """`method url` with this user's certificate, key and CA, and the gateway token."""
        return requests.request(
            method,
            url,
            cert=(str(self.files / "cert.pem"), str(self.files / "key.pem")),
            verify=str(self.files / "cacert.pem"),
            headers={"Authorization": f"token {TOKEN}"},
            timeout=30,
            **kw,
        )

    def sslopt(self) -> dict:
        return {
            "certfile": str(self.files / "cert.pem"),
            "keyfile": str(self.files / "key.pem"),
            "ca_certs": str(self.files / "cacert.pem"),
        }


def write_user(pki_dir: Path, name: str, client: Issued, ca: Issued) -> Holder:
    d = pki_dir / name
    d.mkdir(parents=True)
    (d / "key.pem").write_text(client.key_pem)
    (d / "cert.pem").write_text(client.cert_pem)
    (d / "cacert.pem").write_text(ca.cert_pem)
    return Holder(name, pki_dir)


@pytest.fixture(scope="module")
def mtls(tmp_path_factory):
    """A gateway doing mutual TLS itself, and alice's and bob's files."""
    root = tmp_path_factory.mktemp("isolation")
    port = free_port()
    ca = issue(ca_spec(GATEWAY_CA_PURPOSE))
    server = issue(gateway_server_spec(server_hosts(None, f"https://127.0.0.1:{port}")), ca)
    cert, key = server.write(root / "tls", "server")
    (root / "tls" / "client-ca.crt").write_text(ca.cert_pem)
    config = root / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1",
            port=port,
            tls=GatewayTls(str(cert), str(key), str(root / "tls" / "client-ca.crt")),
            module_dir=str(ISOLATION_SOURCE.parent),
            ipc_kernels=True,  # as the dev gateway (kernel_ipc.py beside kg_isolation.py)
        )
    )
    users = {
        name: write_user(root / "pki", name, issue(client_spec(name), ca), ca)
        for name in ("alice", "bob")
    }
    # A short runtime directory: the kernels' Unix socket paths live under it, and a Unix
    # socket path holds 107 bytes (pytest's per-worker temporary paths are long).
    runtime_root = Path(tempfile.mkdtemp(prefix="kg-", dir="/tmp"))
    try:
        with kernel_gateway(config, TOKEN, runtime_root, port) as gateway:
            yield gateway, users
    finally:
        shutil.rmtree(runtime_root, ignore_errors=True)


def user_notebook(gateway: Server, holder: Holder, root: Path):
    env = hub_env(KG_URL=gateway.url, KG_AUTH_TOKEN=TOKEN, VALIDATE_KG_CERT="true", **FILES)
    return notebook_server(notebook_environment(env, holder.name, holder.files), root)


def gateway_ids(gateway: Server, holder: Holder) -> list[str]:
    r = holder.call("GET", f"{gateway.url}/api/kernels")
    assert r.status_code == 200, r.text
    return [k["id"] for k in r.json()]


def gateway_kernel_env(gateway: Server, holder: Holder, kernel_id: str, key: str) -> str:
    ws = channels(gateway_as(gateway), kernel_id, sslopt=holder.sslopt())
    try:
        return run_code(ws, f"str(__import__('os').environ.get({key!r}))")[1]
    finally:
        ws.close()


def gateway_as(gateway: Server) -> Server:
    """The gateway as a `Server` whose token is the gateway token (for `channels`)."""
    return Server(gateway.url, gateway.port, gateway.process, gateway.log, token=TOKEN)


def cross_user_attempts(gateway: Server, attacker: Holder, victim_kernel: str) -> dict:
    """Every REST and websocket way in, with the attacker's own files and the token:
    {attempt: HTTP status (or the websocket handshake's)}."""
    call = attacker.call
    k = f"{gateway.url}/api/kernels/{victim_kernel}"
    s = f"{gateway.url}/api/sessions"
    session = {"path": "stolen.ipynb", "type": "notebook", "kernel": {"id": victim_kernel}}
    calls = {
        "GET kernel": lambda: call("GET", k),
        "POST interrupt": lambda: call("POST", f"{k}/interrupt", json={}),
        "POST restart": lambda: call("POST", f"{k}/restart", json={}),
        "DELETE kernel": lambda: call("DELETE", k),
        "GET sessions": lambda: call("GET", s),
        "POST session on the kernel": lambda: call("POST", s, json=session),
        "GET session": lambda: call("GET", f"{s}/{SESSION_ID}"),
        "PATCH session to the kernel": lambda: call(
            "PATCH", f"{s}/{SESSION_ID}", json={"kernel": {"id": victim_kernel}}
        ),
        "DELETE session": lambda: call("DELETE", f"{s}/{SESSION_ID}"),
    }
    statuses = {name: call().status_code for name, call in calls.items()}
    try:
        ws = channels(gateway_as(gateway), victim_kernel, sslopt=attacker.sslopt(), timeout=20)
    except websocket.WebSocketBadStatusException as refused:
        statuses["websocket channels"] = refused.status_code
    else:  # connected: show what it let the attacker do
        statuses["websocket channels"] = f"connected, ran: {run_code(ws, '6*7')[1]}"
        ws.close()
    return statuses


def test_each_user_uses_only_their_own_kernels(mtls, tmp_path):
    gateway, users = mtls
    alice, bob = users["alice"], users["bob"]
    with (
        user_notebook(gateway, alice, tmp_path / "alice") as alice_nb,
        user_notebook(gateway, bob, tmp_path / "bob") as bob_nb,
    ):
        # Both users' kernels work through their own notebook servers.
        alice_kernel, bob_kernel = start_kernel(alice_nb), start_kernel(bob_nb)
        assert run_in_kernel(alice_nb, alice_kernel, "'alice ok'") == "'alice ok'"
        assert run_in_kernel(bob_nb, bob_kernel, "secret = 41; secret") == "41"

        # The gateway lists each caller's own kernels only.
        assert gateway_ids(gateway, alice) == [alice_kernel]
        assert gateway_ids(gateway, bob) == [bob_kernel]

        # Everything alice holds, tried directly on the gateway against bob's kernel.
        refused = cross_user_attempts(gateway, alice, bob_kernel)
        assert refused == {
            "GET kernel": 404,
            "POST interrupt": 404,
            "POST restart": 404,
            "DELETE kernel": 404,
            "GET sessions": 403,
            "POST session on the kernel": 403,
            "GET session": 403,
            "PATCH session to the kernel": 403,
            "DELETE session": 403,
            "websocket channels": 404,
        }
        # And the same from bob towards alice's kernel.
        assert set(cross_user_attempts(gateway, bob, alice_kernel).values()) <= {403, 404}

        # Through her own notebook server: a session asked for on bob's kernel id gets
        # her a new kernel of her own (her server does not know the id), not bob's.
        auth = {"Authorization": f"token {alice_nb.token}"}
        r = requests.post(
            f"{alice_nb.url}/api/sessions",
            json={"path": "x.ipynb", "type": "notebook", "kernel": {"id": bob_kernel}},
            headers=auth,
            timeout=60,
        )
        assert r.status_code == 201, r.text
        session_kernel = r.json()["kernel"]["id"]
        assert session_kernel != bob_kernel
        with pytest.raises(KernelError, match="NameError"):
            run_in_kernel(alice_nb, session_kernel, "secret")
        requests.delete(f"{alice_nb.url}/api/sessions/{r.json()['id']}", headers=auth, timeout=30)
        listed = requests.get(f"{alice_nb.url}/api/kernels", headers=auth, timeout=30).json()
        assert [k["id"] for k in listed] == [alice_kernel]

        # bob's kernel still runs, with its state: nothing restarted or reached it.
        assert run_in_kernel(bob_nb, bob_kernel, "secret + 1") == "42"
        # alice's own kernel answers her interrupt and restart, and is hers to delete.
        k = f"{gateway.url}/api/kernels/{alice_kernel}"
        assert alice.call("POST", f"{k}/interrupt", json={}).status_code == 204
        assert alice.call("POST", f"{k}/restart", json={}).status_code == 200
        assert run_in_kernel(alice_nb, alice_kernel, "'still mine'") == "'still mine'"
        assert alice.call("DELETE", k).status_code == 204
        assert gateway_ids(gateway, alice) == []
        assert gateway_ids(gateway, bob) == [bob_kernel]


def test_identity_comes_from_the_certificate_not_kernel_username(mtls):
    gateway, users = mtls
    alice, bob = users["alice"], users["bob"]
    r = alice.call(
        "POST",
        f"{gateway.url}/api/kernels",
        json={"name": "python3", "env": {"KERNEL_USERNAME": "bob"}},
    )
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    try:
        # It is alice's kernel: listed for her, refused to bob, and its environment says so.
        assert kernel in gateway_ids(gateway, alice)
        assert kernel not in gateway_ids(gateway, bob)
        assert bob.call("GET", f"{gateway.url}/api/kernels/{kernel}").status_code == 404
        assert gateway_kernel_env(gateway, alice, kernel, "KERNEL_USERNAME") == "'alice'"
    finally:
        alice.call("DELETE", f"{gateway.url}/api/kernels/{kernel}")


def test_a_start_without_env_gets_neither_the_gateways_environment_nor_a_claimed_name(mtls):
    # jupyter_client would give such a kernel the gateway's whole environment, token
    # included; it gets PATH and the verified KERNEL_USERNAME, as a start with env does.
    gateway, users = mtls
    alice = users["alice"]
    r = alice.call("POST", f"{gateway.url}/api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    try:
        assert gateway_kernel_env(gateway, alice, kernel, "KG_AUTH_TOKEN") == "'None'"
        assert gateway_kernel_env(gateway, alice, kernel, "KERNEL_USERNAME") == "'alice'"
    finally:
        alice.call("DELETE", f"{gateway.url}/api/kernels/{kernel}")


# What the kernel runs to find its own sockets: its fds' socket inodes, matched against
# the listening TCP sockets and the bound Unix sockets of its network namespace.
OWN_SOCKETS = """
import json, os, re
mine = set()
for fd in os.listdir("/proc/self/fd"):
    try:
        found = re.fullmatch(r"socket:\\[(\\d+)\\]", os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        continue
    if found:
        mine.add(found.group(1))
tcp = [
    f[1]
    for name in ("tcp", "tcp6")
    for f in (line.split() for line in open(f"/proc/net/{name}").read().splitlines()[1:])
    if f[3] == "0A" and f[9] in mine
]
unix = sorted({
    f[7]
    for f in (line.split() for line in open("/proc/net/unix").read().splitlines()[1:])
    if len(f) > 7 and f[6] in mine
})
# ipykernel's own PULL socket for forked subprocesses' output, on a random loopback port:
# it takes messages in (dropped unless they carry its random 16-byte id), gives none out.
pipe = getattr(getattr(__import__("sys").stdout, "pub_thread", None), "_pipe_port", None)
json.dumps({"tcp_listening": tcp, "unix": unix, "pipe": pipe})
"""


def test_a_kernels_channels_are_unix_sockets_in_a_directory_of_its_own(mtls):
    """No TCP port another process could subscribe to (IOPub carries the code and its
    output): the kernel's five channels are Unix sockets in <runtime>/kernel-<id>.ipc,
    which survives a restart and goes with the kernel."""
    gateway, users = mtls
    alice = users["alice"]
    r = alice.call("POST", f"{gateway.url}/api/kernels", json={"name": "python3", "env": {}})
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    try:
        ws = channels(gateway_as(gateway), kernel, sslopt=alice.sslopt())
        try:
            got = json.loads(ast.literal_eval(run_code(ws, OWN_SOCKETS)[1]))
        finally:
            ws.close()
        # Listening on TCP: at most ipykernel's subprocess pipe, which hands nothing out.
        assert [int(a.split(":")[1], 16) for a in got["tcp_listening"]] in ([], [got["pipe"]])
        directory = {str(Path(path).parent) for path in got["unix"]}
        assert len(got["unix"]) == 5 and len(directory) == 1, got
        ipc_dir = Path(directory.pop())
        assert ipc_dir.name == f"kernel-{kernel}.ipc" and ipc_dir.stat().st_mode & 0o077 == 0
        restarted = alice.call("POST", f"{gateway.url}/api/kernels/{kernel}/restart")
        assert restarted.status_code == 200, restarted.text
        assert gateway_kernel_env(gateway, alice, kernel, "KERNEL_USERNAME") == "'alice'"
    finally:
        alice.call("DELETE", f"{gateway.url}/api/kernels/{kernel}")
    assert not ipc_dir.exists()  # removed with the kernel


# What alice's kernel runs to swap its own IOPub socket for a symlink to bob's kernel's
# (the same attack the e2e test makes on the engine).
SWAP_IOPUB = (Path(__file__).parents[1] / "e2e" / "hostile" / "swap_her_iopub.py").read_text()
V1 = "v1.kernel.websocket.jupyter.org"


def test_a_socket_swapped_for_a_symlink_to_another_kernels_gives_nothing_of_it(mtls):
    """Alice's kernel points its IOPub socket at bob's and she opens a new channels
    websocket asking for the v1 protocol (raw frames): the gateway answers with the
    legacy protocol, whose HMAC check with her kernel's key drops his messages."""
    gateway, users = mtls
    alice, bob = users["alice"], users["bob"]
    kernels = {}
    for name, holder in (("alice", alice), ("bob", bob)):
        r = holder.call("POST", f"{gateway.url}/api/kernels", json={"name": "python3", "env": {}})
        assert r.status_code == 201, r.text
        kernels[name] = r.json()["id"]
    secret = "bobs-output-7f3a9c"
    try:
        ws = channels(gateway_as(gateway), kernels["alice"], sslopt=alice.sslopt())
        try:
            assert run_code(ws, SWAP_IOPUB.replace("BOB", kernels["bob"]))[1] == "'swapped'"
        finally:
            ws.close()
        base = gateway.url.replace("https://", "wss://")
        spy = websocket.create_connection(
            f"{base}/api/kernels/{kernels['alice']}/channels",
            # Asked for in a header (not `subprotocols=`, which makes websocket-client
            # itself give up when the server picks legacy): an attacker reads on anyway.
            header=[f"Authorization: token {TOKEN}", f"Sec-WebSocket-Protocol: {V1}"],
            sslopt=alice.sslopt(),
            timeout=30,
        )
        try:
            picked = (spy.getheaders() or {}).get("sec-websocket-protocol")
            ws = channels(gateway_as(gateway), kernels["bob"], sslopt=bob.sslopt())
            try:
                for _ in range(3):
                    run_code(ws, f"print({secret!r})")
            finally:
                ws.close()
            seen = []
            spy.settimeout(3)
            with contextlib.suppress(websocket.WebSocketTimeoutException):
                while True:
                    seen.append(spy.recv())
        finally:
            spy.close()
        leaked = [m for m in seen if secret.encode() in (m if isinstance(m, bytes) else m.encode())]
        assert not leaked, f"bob's output reached alice's websocket ({picked or 'legacy'})"
        assert picked is None  # legacy, whatever the client asks for
    finally:
        for name, holder in (("alice", alice), ("bob", bob)):
            holder.call("DELETE", f"{gateway.url}/api/kernels/{kernels[name]}")


# --- behind AT-TLS: the gateway speaks plain HTTP and sees no certificate ----------------


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    port = free_port()
    config = root / "jupyter_kernel_gateway_config.py"
    config.write_text(
        render_kernel_gateway_config(
            ip="127.0.0.1", port=port, tls=None, module_dir=str(ISOLATION_SOURCE.parent)
        )
    )
    with kernel_gateway(config, TOKEN, root / "gw", port) as gateway:
        gateway.url = f"http://127.0.0.1:{port}"
        yield gateway


def plain_call(method: str, url: str, **kw) -> requests.Response:
    """What anyone holding the token can send behind AT-TLS (plain HTTP at the gateway)."""
    return requests.request(
        method, url, headers={"Authorization": f"token {TOKEN}"}, timeout=30, **kw
    )


def test_without_certificates_listing_and_sessions_are_closed(plain):
    r = plain_call(
        "POST",
        f"{plain.url}/api/kernels",
        json={"name": "python3", "env": {"KERNEL_USERNAME": "bob"}},
    )
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    try:
        assert plain_call("GET", f"{plain.url}/api/kernels").json() == []
        assert plain_call("GET", f"{plain.url}/api/sessions").status_code == 403
        session = {"path": "x.ipynb", "type": "notebook", "kernel": {"id": kernel}}
        assert plain_call("POST", f"{plain.url}/api/sessions", json=session).status_code == 403
        # The trust model documented for AT-TLS: the token and the id reach a kernel, and
        # no unverified user name is handed to it.
        assert plain_call("GET", f"{plain.url}/api/kernels/{kernel}").status_code == 200
        ws = channels(gateway_as(plain), kernel)
        try:
            code = "str(__import__('os').environ.get('KERNEL_USERNAME'))"
            assert run_code(ws, code)[1] == "'None'"
        finally:
            ws.close()
    finally:
        plain_call("DELETE", f"{plain.url}/api/kernels/{kernel}")


def test_without_certificates_a_notebook_still_runs_and_lists_its_kernels(plain, tmp_path):
    env = hub_env(KG_URL=plain.url, KG_AUTH_TOKEN=TOKEN, **FILES)
    nb_env = {k: v for k, v in notebook_environment(env, "alice").items() if "CERT" not in k}
    nb_env.pop("JUPYTER_GATEWAY_CLIENT_KEY")
    with notebook_server(nb_env, tmp_path / "nb") as nb:
        kernel = start_kernel(nb)
        assert run_in_kernel(nb, kernel, "1+1") == "2"
        # The gateway lists nothing; the gateway client keeps its own kernel by id.
        listed = requests.get(
            f"{nb.url}/api/kernels", headers={"Authorization": f"token {nb.token}"}, timeout=30
        ).json()
        assert [k["id"] for k in listed] == [kernel], json.dumps(listed)
