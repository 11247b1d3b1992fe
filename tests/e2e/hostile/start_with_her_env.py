"""Alice starts a kernel straight at the gateway with an environment of her choosing
(what the gateway's root launcher, kernel_as_user.py, would run under if it were passed
on), runs `code` in it, deletes it. Prints, as JSON, the HTTP status of the start and the
text/plain of the code's result. Runs in her notebook container, joined after
her_gateway.py (call, channels, execute_request, send_legacy).
argv[1]: JSON {"env": the environment she asks for, "code": what she then runs}."""
# ruff: noqa: F821 - her_gateway.py's names, joined before this

import json
import sys

args = json.loads(sys.argv[1])
status, kernel = call("POST", "/api/kernels", {"name": "python3", "env": args["env"]})
out = {"start": status, "result": None}
try:
    ws = channels(kernel["id"], 120)
    message = execute_request(args["code"])
    send_legacy(ws, message)
    idle = False
    while not idle:
        reply = json.loads(ws.recv())
        if reply["parent_header"].get("msg_id") != message["header"]["msg_id"]:
            continue
        kind = reply["header"]["msg_type"]
        if kind == "execute_result":
            out["result"] = reply["content"]["data"]["text/plain"]
        elif kind == "error":
            out["result"] = "error: " + reply["content"]["evalue"]
        idle = kind == "status" and reply["content"]["execution_state"] == "idle"
    ws.close()
finally:
    call("DELETE", f"/api/kernels/{kernel['id']}")
print(json.dumps(out))
