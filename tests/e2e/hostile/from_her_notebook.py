"""Run inside alice's notebook container as her (uid 1000, with the container's
environment: her gateway client certificate, the gateway token, her hub API token), as a
terminal of her notebook server would. Prints, as JSON, what each attempt got.
argv[1]: JSON with the targets (see tests/e2e/test_dev_stack.py)."""
# ruff: noqa: S310 - the URLs are the test's own containers

import json
import os
import socket
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

args = json.loads(sys.argv[1])
out = {}


def status(url, ctx=None, headers=None, method="GET"):
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:  # noqa: BLE001 - what failed is the answer
        return type(e).__name__


# The dev directory: another network.
try:
    socket.getaddrinfo(args["directory"], 389)
    out["directory_resolves"] = True
except socket.gaierror:
    out["directory_resolves"] = False
probe = socket.socket()
probe.settimeout(3)
try:
    probe.connect((args["directory_ip"], 389))
    out["directory_ip"] = "connected"
except OSError as e:
    out["directory_ip"] = type(e).__name__

# The gateway, with her certificate and the shared token.
ctx = ssl.create_default_context(cafile=os.environ["JUPYTER_GATEWAY_CA_CERTS"])
ctx.load_cert_chain(
    os.environ["JUPYTER_GATEWAY_CLIENT_CERT"], os.environ["JUPYTER_GATEWAY_CLIENT_KEY"]
)
gw = os.environ["JUPYTER_GATEWAY_URL"]
auth = {"Authorization": "token " + os.environ["JUPYTER_GATEWAY_AUTH_TOKEN"]}
listing = urllib.request.Request(gw + "/api/kernels", headers=auth)
with urllib.request.urlopen(listing, context=ctx, timeout=10) as r:
    out["listed"] = [k["id"] for k in json.load(r)]
kernel = gw + "/api/kernels/" + args["bob_kernel"]
out["bob_kernel"] = status(kernel, ctx, auth)
out["bob_interrupt"] = status(kernel + "/interrupt", ctx, auth, "POST")
out["bob_restart"] = status(kernel + "/restart", ctx, auth, "POST")
upgrade = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}
out["bob_channels"] = status(kernel + "/channels", ctx, {**auth, **upgrade})
out["bob_delete"] = status(kernel, ctx, auth, "DELETE")

# Bob's notebook server and the hub API, with her own hub token.
mine = {"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}
out["bob_server"] = status(args["bob_server"], headers=mine)
out["hub_bob"] = status(os.environ["JUPYTERHUB_API_URL"] + "/users/bob.smith", headers=mine)
out["hub_users"] = status(os.environ["JUPYTERHUB_API_URL"] + "/users", headers=mine)

# What her processes may do.
fields = dict(
    line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
)
out["cap_eff"] = fields["CapEff"].strip()
out["no_new_privs"] = fields["NoNewPrivs"].strip()
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    out["raw_socket"] = "opened"
except PermissionError:
    out["raw_socket"] = "refused"
for pids_max in ("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"):  # cgroup v1, v2
    if os.path.exists(pids_max):
        out["pids_max"] = Path(pids_max).read_text().strip()
print(json.dumps(out))
