"""Run in alice's own kernel on the gateway, next to bob's kernel (BOB: his kernel id,
put in by the test). Its value is a JSON string of what each attempt got."""

import json
import os
import socket
from pathlib import Path


def attempt(action):
    try:
        action()
        return "done"
    except PermissionError:
        return "denied"
    except FileNotFoundError:
        return "missing"


def read(path):
    return lambda: Path(path).read_bytes()


def connect_unix(path):
    def connect():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)

    return connect


def proc_net(name):
    return [line.split() for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]]


def status_field(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split()[1]
    raise KeyError(field)


out = {"uid": os.getuid(), "token_in_env": "KG_AUTH_TOKEN" in os.environ}
out["list_runtime"] = attempt(lambda: os.listdir("/var/lib/jupyterhub-zos/runtime"))
out["bob_connection_file"] = attempt(read("/var/lib/jupyterhub-zos/runtime/kernel-BOB.json"))
out["server_key"] = attempt(read("/etc/jupyter-kg/tls/server.key"))
out["gateway_environ"] = attempt(read("/proc/1/environ"))
out["uid_map"] = attempt(read("/var/lib/jupyterhub-zos/kernel-uids.json"))
others = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        uid = int(status_field(pid, "Uid"))
    except (OSError, KeyError):
        continue
    if uid not in (0, os.getuid()):
        others.append(
            {
                "uid": uid,
                "environ": attempt(read(f"/proc/{pid}/environ")),
                "signal": attempt(lambda pid=pid: os.kill(int(pid), 0)),
            }
        )
out["others"] = others
out["cap_eff"] = status_field("self", "CapEff")
# His kernel's ZeroMQ channels: the Unix sockets anyone may see in /proc/net/unix, and
# every TCP port some other uid listens on (a SUB on IOPub would read his code and output).
bob_ipc = "/var/lib/jupyterhub-zos/runtime/kernel-BOB.ipc/"
bob_sockets = sorted({f[7] for f in proc_net("unix") if len(f) > 7 and f[7].startswith(bob_ipc)})
out["bob_sockets_seen"] = len(bob_sockets)
out["bob_sockets"] = sorted({attempt(connect_unix(path)) for path in bob_sockets})
out["tcp_listening"] = sorted(
    {
        (int(f[7]), int(f[1].split(":")[1], 16))
        for f in proc_net("tcp") + proc_net("tcp6")
        if f[3] == "0A"
    }
)
out["umask"] = os.umask(0o007)  # what the kernel runs with (set back to the same)
json.dumps(out)
