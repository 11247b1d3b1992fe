"""What alice's notebook container gives her to reach the gateway with (her client
certificate, the gateway token): put before the scripts that use it (the test joins
them), run as her (uid 1000) inside that container."""
# ruff: noqa: S310 - the URL is the test's own gateway

import json
import os
import ssl
import urllib.request
import uuid

import websocket

GATEWAY = os.environ["JUPYTER_GATEWAY_URL"]
AUTH = "token " + os.environ["JUPYTER_GATEWAY_AUTH_TOKEN"]
FILES = {
    "ca_certs": os.environ["JUPYTER_GATEWAY_CA_CERTS"],
    "certfile": os.environ["JUPYTER_GATEWAY_CLIENT_CERT"],
    "keyfile": os.environ["JUPYTER_GATEWAY_CLIENT_KEY"],
}


def call(method, path, body=None):
    """The gateway's REST API with her certificate: (status, JSON body)."""
    ctx = ssl.create_default_context(cafile=FILES["ca_certs"])
    ctx.load_cert_chain(FILES["certfile"], FILES["keyfile"])
    request = urllib.request.Request(
        GATEWAY + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": AUTH, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=ctx, timeout=120) as response:
        return response.status, json.loads(response.read() or b"null")


def channels(kernel_id, timeout, header=()):
    """Her kernel's channels websocket, straight at the gateway."""
    return websocket.create_connection(
        GATEWAY.replace("https://", "wss://") + f"/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: {AUTH}", *header],
        sslopt=FILES,
        timeout=timeout,
    )


def execute_request(code):
    """An execute_request message for `code` (a dict, without channel)."""
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": "execute_request",
        "session": uuid.uuid4().hex,
        "username": "alice",
        "date": "",
        "version": "5.3",
    }
    return {
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False},
    }


def send_legacy(ws, message, channel="shell"):
    ws.send(json.dumps({**message, "channel": channel, "buffers": []}))
