"""After her kernel swapped its IOPub socket for a link to bob's (swap_her_iopub.py),
alice opens her kernel's channels websocket straight at the gateway asking for the v1
protocol (raw frames, no HMAC check at the gateway), runs one line in her kernel and
reads for `seconds`. Prints, as JSON, the protocol the gateway chose, when she was
connected and every frame she got. Runs in her notebook container, joined after
her_gateway.py (channels, execute_request, send_legacy).
argv[1]: JSON {"kernel": her kernel id, "code": what she runs, "seconds": how long}."""
# ruff: noqa: F821 - her_gateway.py's names, joined before this

import json
import sys
import time

import websocket
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

args = json.loads(sys.argv[1])
# Asked for in a header (not `subprotocols=`, which makes websocket-client give up when
# the server picks legacy): an attacker reads on anyway.
ws = channels(
    args["kernel"], args["seconds"], ["Sec-WebSocket-Protocol: v1.kernel.websocket.jupyter.org"]
)
out = {
    "protocol": (ws.getheaders() or {}).get("sec-websocket-protocol"),
    "connected_at": time.time(),
}
message = execute_request(args["code"])
if out["protocol"]:  # v1: the frames as jupyter_server packs them
    parts = [json.dumps(message[k]).encode() for k in ("header", "parent_header", "metadata")]
    parts.append(json.dumps(message["content"]).encode())
    ws.send_binary(serialize_msg_to_ws_v1(parts, "shell"))
else:
    send_legacy(ws, message)
out["request_id"] = message["header"]["msg_id"]
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
