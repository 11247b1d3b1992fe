"""`make status`: a deployed stack at a glance, `--json` for scripts.

    python -m tools.status --stack dev [--json] [--warn-days 30] [--outputs FILE]
        [--docker-host H] [--ca-file PEM]

What it asks, and of whom (nothing is changed):
- the hub: its container's state and healthcheck, `/hub/health` and `/hub/api/` (the
  JupyterHub version) over HTTPS verified with the stack's `hub_ca_cert` (or --ca-file,
  or the system's CAs for a stack with its own HUB_TLS_CERT);
- users and their running servers: the hub API with the `status_token` output (a hub
  service with list:users and read:servers only);
- certificates and their expiry: the one the hub serves, the gateway's (from a TLS
  handshake made by a helper container on the notebooks' network), the CAs in the stack
  outputs, each user's client certificate under HUB_PKI_DIR (issued by the hub, or
  RACF's delivered by the program: read through the Docker API, keys never read);
- the gateway: reachable from the notebooks' network (TCP, and the TLS handshake verified
  with the gateway's CA when the hub has it);
- the hub's data volume: there, and its size.

Exit status: 0 healthy (warnings allowed), 1 something is unhealthy, 2 not asked (the
stack's outputs or its Docker host could not be reached).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cryptography import x509

from components.docker import names
from tools.backup_manifest import IterStream, single_file
from tools.stack_access import HELPER_LABEL, Stack, StackError, docker_client, load_stack

HUB_PKI_MOUNT = "/srv/jupyterhub/pki"  # components/hub/container.py: HUB_PKI_DIR in the hub
PKI_HELPER_MOUNT = "/srv/jzos-status/pki"
CERT_OUTPUTS = ("hub_ca_cert", "gateway_ca_cert", "gateway_client_ca_cert", "gateway_server_cert")
PAGINATION = "application/jupyterhub-pagination+json"

# Run in a helper container from the hub image on the notebooks' network (argv: KG_URL,
# the gateway's CA as PEM or ""): where notebooks reach the gateway from. TCP, then the
# TLS handshake, verified with the CA.
# The gateway asks for a client certificate, which this does not send, so a TLS 1.2
# gateway ends the handshake with an alert after its certificate was received and checked
# (the client checks it before it answers): the certificate is then read from the
# handshake's bytes, which TLS 1.2 sends in clear. With TLS 1.3 the handshake ends on
# this side first and the certificate is the session's.
GATEWAY_PROBE = r"""
import json, socket, ssl, sys
from urllib.parse import urlparse


def tls12_leaf(raw):
    handshake, i = b"", 0
    while i + 5 <= len(raw):
        kind, length = raw[i], int.from_bytes(raw[i + 3:i + 5], "big")
        if kind == 22:
            handshake += raw[i + 5:i + 5 + length]
        elif kind != 21:
            break
        i += 5 + length
    j = 0
    while j + 4 <= len(handshake):
        kind, length = handshake[j], int.from_bytes(handshake[j + 1:j + 4], "big")
        body = handshake[j + 4:j + 4 + length]
        if kind == 11 and len(body) >= 6:
            return body[6:6 + int.from_bytes(body[3:6], "big")]
        j += 4 + length
    return None


url, ca = sys.argv[1], sys.argv[2]
u = urlparse(url)
port = u.port or (443 if u.scheme == "https" else 80)
out = {"tcp": False, "tls": None, "verified": None, "client_cert_required": None,
       "cert": None, "error": None}
try:
    sock = socket.create_connection((u.hostname, port), timeout=10)
    out["tcp"] = True
    if u.scheme == "https":
        ctx = ssl.create_default_context(cadata=ca) if ca else ssl._create_unverified_context()
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname=u.hostname)
        raw, error, done = b"", None, False
        while True:
            try:
                tls.do_handshake()
                done = True
                break
            except ssl.SSLWantReadError:
                pending = outgoing.read()
                if pending:
                    sock.sendall(pending)
                chunk = sock.recv(65536)
                if not chunk:
                    error = "the gateway closed the connection in the handshake"
                    break
                raw += chunk
                incoming.write(chunk)
            except ssl.SSLError as exc:
                error = exc
                break
        der = tls.getpeercert(True) if done else tls12_leaf(raw)
        if der:
            out["cert"] = ssl.DER_cert_to_PEM_cert(der)
        if done:
            out["tls"], out["verified"] = True, bool(ca)
        elif der and not isinstance(error, ssl.SSLCertVerificationError) and (
            "ALERT" in str(error).upper()
        ):
            # Our certificate check passed; the gateway refused a client without one.
            out["tls"], out["verified"], out["client_cert_required"] = True, bool(ca), True
        else:
            out["tls"], out["error"] = False, str(error)
    sock.close()
except OSError as exc:
    out["error"] = str(exc)
print(json.dumps(out))
"""


def parse_cert(pem: str | bytes, now: dt.datetime) -> dict[str, Any]:
    """Subject, issuer, expiry and days left of a PEM certificate."""
    if isinstance(pem, str):
        pem = pem.encode()
    cert = x509.load_pem_x509_certificate(pem)
    not_after = cert.not_valid_after_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": round((not_after - now).total_seconds() / 86400, 2),
    }


def _env(container) -> dict[str, str]:
    """The container's non-secret variables this needs (values of others are not kept)."""
    wanted = {
        "KG_URL",
        "CLIENT_CERT",
        "JUPYTERPKI_HOST_DIR",
        "JUPYTERPKI_GATEWAY_CA",
        "DOCKER_NETWORK_NAME",
    }
    env = {}
    for item in container.attrs["Config"].get("Env") or []:
        key, _, value = item.partition("=")
        if key in wanted:
            env[key] = value
        elif key == "JUPYTERPKI_CA_KEY":
            env[key] = "set"  # a path, but only whether it is there matters
    return env


def container_state(client, name: str) -> dict[str, Any]:
    import docker

    try:
        state = client.containers.get(name).attrs["State"]
    except docker.errors.NotFound:
        return {"name": name, "exists": False, "status": "missing", "health": None}
    return {
        "name": name,
        "exists": True,
        "status": state.get("Status"),
        "health": (state.get("Health") or {}).get("Status"),
    }


def _session(ca_file: str | bool):
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file
    return session


def hub_http(hub_url: str, ca_file: str | bool) -> dict[str, Any]:
    import requests

    base = hub_url.rstrip("/") + "/"
    result: dict[str, Any] = {"url": base, "health": None, "version": None, "error": None}
    session = _session(ca_file)
    try:
        result["health"] = session.get(base + "hub/health", timeout=15).status_code
        api = session.get(base + "hub/api/", timeout=15)
        if api.status_code == 200:
            result["version"] = api.json().get("version")
    except requests.RequestException as exc:
        result["error"] = str(exc)
    return result


def served_cert(hub_url: str) -> str | None:
    """The certificate the hub serves (fetched unverified: for its dates; whether it is
    trusted is what the HTTPS requests above tell)."""
    u = urlparse(hub_url)
    try:
        return ssl.get_server_certificate((u.hostname, u.port or 443), timeout=15)
    except (OSError, ssl.SSLError):
        return None


def hub_users(hub_url: str, ca_file: str | bool, token: str | None) -> dict[str, Any]:
    """Every user and their servers, page by page, with the status token."""
    import requests

    result: dict[str, Any] = {"users": None, "servers": None, "error": None}
    if not token:
        result["error"] = "no status_token output (deployed before it: make up adds it)"
        return result
    session = _session(ca_file)
    headers = {"Authorization": f"token {token}", "Accept": PAGINATION}
    base = hub_url.rstrip("/") + "/hub/api/users"
    users, offset = [], 0
    try:
        while True:
            response = session.get(
                base, params={"offset": offset, "limit": 200}, headers=headers, timeout=30
            )
            if response.status_code != 200:
                result["error"] = f"GET /hub/api/users: HTTP {response.status_code}"
                return result
            page = response.json()
            items = page["items"] if isinstance(page, dict) else page
            users += items
            following = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
            if not following or not items:
                break
            offset = following["offset"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        result["error"] = str(exc)
        return result
    result["users"] = sorted(u["name"] for u in users)
    servers = []
    for user in users:
        for server_name, server in (user.get("servers") or {}).items():
            servers.append(
                {
                    "user": user["name"],
                    "server": server_name,
                    "ready": bool(server.get("ready")),
                    "pending": server.get("pending"),
                    "started": server.get("started"),
                    "last_activity": server.get("last_activity"),
                }
            )
    result["servers"] = sorted(servers, key=lambda s: (s["user"], s["server"]))
    return result


def gateway_probe(
    client, hub, env: dict[str, str], outputs: dict, network: str = names.NETWORK
) -> dict[str, Any]:
    """The probe in a helper container on the notebooks' network (no exec in the hub:
    the Docker API's exec streams do not survive docker's ssh:// transport). The CA: the
    hub's copy of the gateway's (read through the Docker API), else the stack output."""
    import docker

    url = env.get("KG_URL", "")
    result: dict[str, Any] = {"url": url or None}
    if not url:
        return {**result, "tcp": False, "tls": None, "error": "the hub has no KG_URL"}
    ca = None
    if env.get("JUPYTERPKI_GATEWAY_CA"):
        ca = _read_file(hub, env["JUPYTERPKI_GATEWAY_CA"])
    ca = ca or outputs.get("gateway_ca_cert") or ""
    network = env.get("DOCKER_NETWORK_NAME") or network
    helper = client.containers.create(
        hub.image.id,
        entrypoint=["python3", "-c", GATEWAY_PROBE, url, ca],
        network=network,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        user="65534",
        labels={HELPER_LABEL: "status"},
    )
    try:
        helper.start()
        helper.wait(timeout=60)
        output = helper.logs(stdout=True, stderr=True).decode(errors="replace")
    except docker.errors.DockerException as exc:
        return {**result, "tcp": False, "tls": None, "error": f"the probe did not run: {exc}"}
    finally:
        helper.remove(force=True)
    try:
        return {**result, **json.loads(output.strip().splitlines()[-1])}
    except (ValueError, IndexError):
        return {**result, "tcp": False, "tls": None, "error": output[-500:]}


def _read_file(container, path: str) -> str | None:
    import docker

    try:
        chunks, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    out = io.BytesIO()
    single_file(IterStream(chunks), out)
    return out.getvalue().decode()


def client_certs(client, hub, env: dict[str, str], users: list[str]) -> dict[str, str | None]:
    """Each user's client certificate under HUB_PKI_DIR: {user: PEM or None}. Through the
    hub's mount of it, or (certificates the program delivered, not mounted in the hub) a
    helper container with it mounted read-only; only the certificate file is read."""
    cert_file = env.get("CLIENT_CERT", "cert.pem")
    mounts = {m.get("Destination"): m for m in hub.attrs.get("Mounts", [])}
    found: dict[str, str | None] = {}
    if HUB_PKI_MOUNT in mounts:
        reader, root, helper = hub, HUB_PKI_MOUNT, None
    elif env.get("JUPYTERPKI_HOST_DIR"):
        helper = client.containers.create(
            hub.image.id,
            entrypoint=["true"],
            volumes={env["JUPYTERPKI_HOST_DIR"]: {"bind": PKI_HELPER_MOUNT, "mode": "ro"}},
            network_mode="none",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            labels={HELPER_LABEL: "status"},
        )
        reader, root = helper, PKI_HELPER_MOUNT
    else:
        return found
    try:
        for user in users:
            try:
                directory = names.pki_dir_name(user)
            except ValueError:
                continue
            found[user] = _read_file(reader, f"{root}/{directory}/{cert_file}")
    finally:
        if helper is not None:
            helper.remove(force=True)
    return found


def data_volume(client, name: str) -> dict[str, Any]:
    import docker

    try:
        client.volumes.get(name)
    except docker.errors.NotFound:
        return {"name": name, "exists": False, "size": None}
    size = None
    for volume in client.df().get("Volumes") or []:
        if volume.get("Name") == name:
            size = (volume.get("UsageData") or {}).get("Size")
    return {"name": name, "exists": True, "size": size if size is not None and size >= 0 else None}


def gather(stack: Stack, ca_file: str | None = None, now: dt.datetime | None = None) -> dict:
    """Ask everything; the report (plain data, JSON-ready)."""
    now = now or dt.datetime.now(dt.UTC)
    client = docker_client(stack.docker_host)
    outputs = stack.outputs
    tmp = None
    if ca_file is None and outputs.get("hub_ca_cert"):
        tmp = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)  # noqa: SIM115
        tmp.write(outputs["hub_ca_cert"])
        tmp.close()
        ca_file = tmp.name
    verify: str | bool = ca_file or True
    try:
        report: dict[str, Any] = {
            "stack": stack.name,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "docker_host": stack.docker_host,
        }
        report["hub"] = {
            "container": container_state(client, stack.hub_container),
            **hub_http(outputs["hub_url"], verify),
        }
        asked = hub_users(outputs["hub_url"], verify, outputs.get("status_token"))
        report["users"] = asked["users"]
        report["servers"] = asked["servers"]
        report["servers_error"] = asked["error"]
        certs: list[dict[str, Any]] = []
        pem = served_cert(outputs["hub_url"])
        if pem:
            certs.append({"name": "hub (served)", "kind": "server", **parse_cert(pem, now)})
        for key in CERT_OUTPUTS:
            if outputs.get(key):
                certs.append(
                    {"name": f"{key} (output)", "kind": "ca", **parse_cert(outputs[key], now)}
                )
        report["gateway"] = {
            "url": outputs.get("kg_url"),
            "tcp": False,
            "tls": None,
            "error": "not asked: the hub container is not running",
        }
        report["containers"] = []
        report["client_certs_issued_by_hub"] = None
        if report["hub"]["container"]["status"] == "running":
            hub = client.containers.get(stack.hub_container)
            env = _env(hub)
            issued = "JUPYTERPKI_CA_KEY" in env
            report["client_certs_issued_by_hub"] = issued
            probe = gateway_probe(client, hub, env, outputs, stack.names.network)
            if probe.get("cert"):
                certs.append(
                    {"name": "gateway (served)", "kind": "server", **parse_cert(probe["cert"], now)}
                )
            report["gateway"] = {k: v for k, v in probe.items() if k != "cert"}
            users = sorted(
                set(report["users"] or []) | set(outputs.get("users_with_client_certs") or [])
            )
            running = {s["user"] for s in report["servers"] or []}
            for user, cert in client_certs(client, hub, env, users).items():
                entry: dict[str, Any] = {
                    "name": f"client {user}",
                    "kind": "client-hub" if issued else "client-delivered",
                    "user": user,
                    "running": user in running,
                }
                if cert is None:
                    entry["missing"] = True
                else:
                    entry.update(parse_cert(cert, now))
                certs.append(entry)
        for name in (stack.names.gateway_container, stack.names.directory_container):
            state = container_state(client, name)
            if state["exists"]:
                report["containers"].append(state)
        report["certificates"] = certs
        report["data_volume"] = data_volume(client, stack.data_volume)
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    return report


# --- judging and rendering: pure --------------------------------------------------------


def problems(report: dict, warn_days: float = 30) -> tuple[list[str], list[str]]:
    """(unhealthy, warnings) of a report."""
    bad, warn = [], []
    hub = report["hub"]
    container = hub["container"]
    if container["status"] != "running":
        bad.append(f"hub container {container['name']}: {container['status']}")
    elif container["health"] not in (None, "healthy"):
        bad.append(f"hub container {container['name']}: {container['health']}")
    if hub.get("error"):
        bad.append(f"hub {hub['url']}: {hub['error']}")
    elif hub.get("health") != 200:
        bad.append(f"hub {hub['url']}hub/health: HTTP {hub.get('health')}")
    if report.get("servers_error"):
        if "no status_token" in report["servers_error"]:
            warn.append(f"users' servers: {report['servers_error']}")
        else:
            bad.append(f"users' servers: {report['servers_error']}")
    gateway = report.get("gateway") or {}
    if not gateway.get("tcp") or gateway.get("tls") is False:
        bad.append(
            f"gateway {gateway.get('url')}: not reachable from the notebooks' network"
            + (f" ({gateway['error']})" if gateway.get("error") else "")
        )
    for state in report.get("containers", []):
        if state["status"] != "running" or state["health"] not in (None, "healthy"):
            bad.append(
                f"container {state['name']}: {state['status']} {state['health'] or ''}".strip()
            )
    volume = report.get("data_volume") or {}
    if not volume.get("exists"):
        bad.append(f"data volume {volume.get('name')}: missing")
    for cert in report.get("certificates", []):
        name = cert["name"]
        hub_issued = cert["kind"] == "client-hub"
        if cert.get("missing"):
            if cert.get("running") or cert["kind"] == "client-delivered":
                bad.append(f"certificate {name}: missing")
            continue
        days = cert["days_left"]
        if days <= 0:
            # The hub issues at spawn and renews while a server runs: a stopped user's
            # expired certificate is expected, a running one's is not.
            if not hub_issued or cert.get("running"):
                bad.append(f"certificate {name}: expired {cert['not_after']}")
        elif days <= warn_days and not hub_issued:
            warn.append(f"certificate {name}: expires {cert['not_after']} ({days:.0f} days)")
    return bad, warn


def _size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def render_text(report: dict, warn_days: float = 30) -> str:
    bad, warn = problems(report, warn_days)
    hub = report["hub"]
    c = hub["container"]
    lines = [
        f"stack {report['stack']}: {'UNHEALTHY' if bad else 'healthy'} ({report['time']})",
        f"hub       {hub['url']}  JupyterHub {hub.get('version') or '?'}, /hub/health "
        f"{hub.get('health') or hub.get('error')}, container {c['status']}"
        + (f" ({c['health']})" if c["health"] else ""),
    ]
    servers = report.get("servers")
    if servers is None:
        lines.append(f"servers   unknown: {report.get('servers_error')}")
    else:
        running = ", ".join(
            s["user"]
            + (f"/{s['server']}" if s["server"] else "")
            + ("" if s["ready"] else " (starting)")
            for s in servers
        )
        lines.append(
            f"servers   {len(servers)} running of {len(report.get('users') or [])} users"
            + (f": {running}" if running else "")
        )
    g = report.get("gateway") or {}
    reach = (
        "reachable from the notebooks' network"
        if g.get("tcp") and g.get("tls") is not False
        else "NOT reachable"
    )
    how = "TLS, certificate verified" if g.get("verified") else ("TLS" if g.get("tls") else "TCP")
    lines.append(
        f"gateway   {g.get('url')}  {reach} ({how})"
        + (f": {g['error']}" if g.get("error") and not g.get("tls") else "")
    )
    for state in report.get("containers", []):
        lines.append(
            f"container {state['name']}: {state['status']}"
            + (f" ({state['health']})" if state["health"] else "")
        )
    v = report.get("data_volume") or {}
    lines.append(
        f"data      volume {v.get('name')}: "
        + (_size(v.get("size")) if v.get("exists") else "MISSING")
    )
    lines.append("certificates")
    for cert in report.get("certificates", []):
        if cert.get("missing"):
            lines.append(f"  {cert['name']:<34} none")
            continue
        lines.append(
            f"  {cert['name']:<34} expires {cert['not_after']} "
            f"({cert['days_left']:.1f} days)  {cert['subject']}"
        )
    for p in bad:
        lines.append(f"UNHEALTHY: {p}")
    for p in warn:
        lines.append(f"warning: {p}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.status", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--stack", default=os.environ.get("STACK") or "dev")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    parser.add_argument("--warn-days", type=float, default=30, help="warn this close to an expiry")
    parser.add_argument("--outputs", type=Path, help="the stack outputs as JSON (not the CLI)")
    parser.add_argument("--docker-host", help="default: the stack's docker:host, DOCKER_HOST")
    parser.add_argument("--ca-file", help="the hub certificate's CA (default: hub_ca_cert)")
    args = parser.parse_args(argv)
    try:
        stack = load_stack(args.stack, args.outputs, args.docker_host)
        report = gather(stack, args.ca_file)
    except StackError as exc:
        print(f"status: {exc}", file=sys.stderr)
        return 2
    bad, warn = problems(report, args.warn_days)
    if args.json:
        print(
            json.dumps({**report, "healthy": not bad, "problems": bad, "warnings": warn}, indent=2)
        )
    else:
        print(render_text(report, args.warn_days), end="")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
