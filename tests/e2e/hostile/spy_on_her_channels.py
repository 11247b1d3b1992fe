"""Run inside alice's notebook container as her (uid 1000, with her gateway client
certificate and the gateway token), after her kernel swapped its IOPub socket for a link
to bob's (swap_her_iopub.py). Opens her kernel's channels websocket straight at the
gateway asking for the v1 protocol (raw frames, no HMAC check at the gateway), runs one
line in her kernel and reads for `seconds`. Prints, as JSON, the protocol the gateway
chose, when she was connected and every frame she got.
argv[1]: JSON {"kernel": her kernel id, "code": what she runs, "seconds": how long}."""

import json
import os
import sys
import time
import uuid

import websocket
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

args = json.loads(sys.argv[1])
gateway = os.environ["JUPYTER_GATEWAY_URL"].replace("https://", "wss://")
ws = websocket.create_connection(
    f"{gateway}/api/kernels/{args['kernel']}/channels",
    # Asked for in a header (not `subprotocols=`, which makes websocket-client give up
    # when the server picks legacy): an attacker reads on anyway.
    header=[
        "Authorization: token " + os.environ["JUPYTER_GATEWAY_AUTH_TOKEN"],
        "Sec-WebSocket-Protocol: v1.kernel.websocket.jupyter.org",
    ],
    sslopt={
        "ca_certs": os.environ["JUPYTER_GATEWAY_CA_CERTS"],
        "certfile": os.environ["JUPYTER_GATEWAY_CLIENT_CERT"],
        "keyfile": os.environ["JUPYTER_GATEWAY_CLIENT_KEY"],
    },
    timeout=args["seconds"],
)
out = {
    "protocol": (ws.getheaders() or {}).get("sec-websocket-protocol"),
    "connected_at": time.time(),
}
request_id = uuid.uuid4().hex
message = {
    "header": {
        "msg_id": request_id,
        "msg_type": "execute_request",
        "session": uuid.uuid4().hex,
        "username": "alice",
        "date": "",
        "version": "5.3",
    },
    "parent_header": {},
    "metadata": {},
    "content": {"code": args["code"], "silent": False, "store_history": False},
}
if out["protocol"]:  # v1: the frames as jupyter_server packs them
    parts = [json.dumps(message[k]).encode() for k in ("header", "parent_header", "metadata")]
    parts.append(json.dumps(message["content"]).encode())
    ws.send_binary(serialize_msg_to_ws_v1(parts, "shell"))
else:
    ws.send(json.dumps({**message, "channel": "shell", "buffers": []}))
out["request_id"] = request_id
frames = []
deadline = time.monotonic() + args["seconds"]
while time.monotonic() < deadline:
    ws.settimeout(max(deadline - time.monotonic(), 0.01))
    try:
        frame = ws.recv()
    except websocket.WebSocketTimeoutException:
        break
    except websocket.WebSocketConnectionClosedException:
        out["closed_by_gateway"] = True
        break
    frames.append(frame.decode("latin-1") if isinstance(frame, bytes) else frame)
ws.close()
out["closed_at"] = time.time()
out["frames"] = frames
print(json.dumps(out))
