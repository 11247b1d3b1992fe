"""Run inside alice's notebook container as her (uid 1000, with her gateway client
certificate and the gateway token). Starts a kernel straight at the gateway with an
environment of her choosing (what the gateway's root launcher, kernel_as_user.py, would
run under if it were passed on), runs `code` in it, deletes it. Prints, as JSON, the
HTTP status of the start and the text/plain of the code's result.
argv[1]: JSON {"env": the environment she asks for, "code": what she then runs}."""
# ruff: noqa: S310 - the URL is the test's own gateway

import json
import os
import ssl
import sys
import urllib.request
import uuid

import websocket

args = json.loads(sys.argv[1])
gateway = os.environ["JUPYTER_GATEWAY_URL"]
auth = {"Authorization": "token " + os.environ["JUPYTER_GATEWAY_AUTH_TOKEN"]}
files = {
    "ca_certs": os.environ["JUPYTER_GATEWAY_CA_CERTS"],
    "certfile": os.environ["JUPYTER_GATEWAY_CLIENT_CERT"],
    "keyfile": os.environ["JUPYTER_GATEWAY_CLIENT_KEY"],
}
ctx = ssl.create_default_context(cafile=files["ca_certs"])
ctx.load_cert_chain(files["certfile"], files["keyfile"])


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        gateway + path,
        data=data,
        method=method,
        headers={**auth, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=ctx, timeout=120) as response:
        return response.status, json.loads(response.read() or b"null")


status, kernel = call("POST", "/api/kernels", {"name": "python3", "env": args["env"]})
out = {"start": status, "result": None}
try:
    ws = websocket.create_connection(
        gateway.replace("https://", "wss://") + f"/api/kernels/{kernel['id']}/channels",
        header=[f"Authorization: {auth['Authorization']}"],
        sslopt=files,
        timeout=120,
    )
    request_id = uuid.uuid4().hex
    header = {"msg_id": request_id, "msg_type": "execute_request", "session": uuid.uuid4().hex}
    ws.send(
        json.dumps(
            {
                "header": {**header, "username": "alice", "date": "", "version": "5.3"},
                "parent_header": {},
                "metadata": {},
                "content": {"code": args["code"], "silent": False, "store_history": False},
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    idle = False
    while not idle:
        message = json.loads(ws.recv())
        if message["parent_header"].get("msg_id") != request_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "execute_result":
            out["result"] = message["content"]["data"]["text/plain"]
        elif kind == "error":
            out["result"] = "error: " + message["content"]["evalue"]
        idle = kind == "status" and message["content"]["execution_state"] == "idle"
    ws.close()
finally:
    call("DELETE", f"/api/kernels/{kernel['id']}")
print(json.dumps(out))
