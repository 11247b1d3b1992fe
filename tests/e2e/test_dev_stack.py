"""The dev stack, running for real on the local Docker engine.

The graph is applied by the local applier (`python -m tests.e2e.deploy`, a stand-in for
`pulumi up` and pulumi-docker: see tests/e2e/applier.py), on images built from the
project's own Dockerfiles over stand-in base images where no registry answers
(tests/e2e/base_images/). Users then do what users do, over HTTPS verified against the
stack's `hub_ca_cert`: log in, spawn, run code on the gateway, stop, start, and live
through hub replacements, crashes and a gateway outage.

The scenarios run in order on one deployment (module scope): each builds on the state
the one before left, as an operator's day does.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from components.directory.render import hash_password, password_salt, user_dn
from components.docker import names
from tests.e2e.dev_stack import Deployment, changes, container, deploy, remove_leftovers, up
from tests.integration.test_pki_delivery import sshd  # noqa: F401 - a fixture, for ssh://
from tests.support.notebook import KernelError
from tests.tooling import free_port, missing

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin"  # Pulumi.dev.yaml
# Names with . _ and -: DockerSpawner escapes them in container and volume names.
USERS = ["alice", "bob.smith", "carol_x"]
NEW_USER = "dave-y"
# A member of an allowed group who is in no user list: logs in, gets a certificate at spawn.
GROUP = "e2e-extra"
GROUP_DN = f"cn={GROUP},ou=groups,dc=jupyterhub,dc=local"
GROUP_MEMBER = "eve"
GROUP_MEMBER_PASSWORD = "eve-e2e-password-1"  # noqa: S105 - a test directory's user


@pytest.fixture(scope="module")
def client(engine):
    return engine


@pytest.fixture(scope="module")
def stack(client, base_images):
    state_dir = Path(tempfile.mkdtemp(prefix="jzos-e2e-state-"))
    pki_dir = Path(tempfile.mkdtemp(prefix="jzos-e2e-pki-"))
    remove_leftovers(client)
    port = free_port()
    d = Deployment({}, port, state_dir / "hub-ca.pem", state_dir, pki_dir, [])
    try:
        up(
            d,
            "--set",
            f"HUB_HTTPS_PORT={port}",
            "--set",
            f"HUB_ALLOWED_USERS={json.dumps(USERS)}",
            "--set",
            f"HUB_PKI_DIR={pki_dir}",
            "--set",
            f"LDAP_ALLOWED_GROUPS={json.dumps([GROUP_DN])}",
        )
        yield d
    finally:
        try:
            deploy("down", "--stack", "dev", state_dir=state_dir)
        finally:
            remove_leftovers(client)
            shutil.rmtree(state_dir, ignore_errors=True)
            shutil.rmtree(pki_dir, ignore_errors=True)


def wait_healthy(client, name: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = container(client, name).attrs["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(1)
    raise AssertionError(f"{name} not healthy after {timeout}s: {state}")


# --- the scenarios, in order ------------------------------------------------------------------


def test_the_four_images_are_built_from_the_projects_dockerfiles(stack, client):
    for image in ("hub", "notebook", "gateway", "ldap"):
        built = client.images.get(names.local_image_name("jupyterhub-zos", "dev", image))
        # Built here from images/<image>/ (the hub's config file is in the hub image).
        assert built.attrs["Config"], image
    hub_image = client.images.get(names.local_image_name("jupyterhub-zos", "dev", "hub"))
    assert hub_image.attrs["Config"]["Cmd"][:2] == ["jupyterhub", "-f"]


def test_the_hub_serves_https_that_verifies_against_the_hub_ca_output(stack):
    url = stack.outputs["hub_url"] + "hub/health"
    assert requests.get(url, verify=str(stack.ca_file), timeout=10).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=10)  # the system trust store does not know our CA


def test_each_user_logs_in_with_their_dev_password_and_a_wrong_one_is_refused(stack):
    for name in [ADMIN, *USERS]:
        stack.logged_in(name)
    assert not stack.user("alice").login("not-her-password")
    assert not stack.user("alice").login(stack.password("bob.smith"))


def test_a_started_server_is_the_users_container_with_only_their_certificate(stack, client):
    bob = stack.logged_in("bob.smith")
    bob.start_server()
    nb = container(client, names.notebook_container_name("bob.smith"))
    assert nb.name == "jupyter-bob-2esmith"
    assert list(nb.attrs["NetworkSettings"]["Networks"]) == [names.NETWORK]
    mounts = {m["Destination"]: m for m in nb.attrs["Mounts"]}
    assert "/var/run/docker.sock" not in mounts
    assert not any("docker.sock" in (m.get("Source") or "") for m in nb.attrs["Mounts"])
    work = mounts["/home/jovyan/work"]
    assert work["Type"] == "volume" and work["Name"] == names.user_volume_name("bob.smith")
    pki = mounts["/etc/jupyterpki"]
    assert pki["Type"] == "bind" and pki["RW"] is False
    files = nb.exec_run(["sh", "-c", "stat -c '%n %a %u' /etc/jupyterpki/*"], user="1000")
    listing = files.output.decode()
    assert "/etc/jupyterpki/key.pem 600 1000" in listing, listing
    assert "/etc/jupyterpki/cert.pem" in listing and "/etc/jupyterpki/cacert.pem" in listing
    decode = "import ssl; print(ssl._ssl._test_decode_cert('/etc/jupyterpki/cert.pem'))"
    subject = nb.exec_run(["python3", "-c", decode], user="1000").output.decode()
    assert "('commonName', 'bob.smith')" in subject, subject
    for other in (ADMIN, "alice", "carol_x"):
        assert f"'{other}'" not in subject
    # Nobody can write there, not even the user.
    wrote = nb.exec_run(["sh", "-c", "echo x > /etc/jupyterpki/cert.pem"], user="1000")
    assert wrote.exit_code != 0


def test_a_kernel_runs_on_the_gateway_over_mutual_tls(stack, client):
    bob = stack.logged_in("bob.smith")
    bob.wait_ready()
    gateway_host = container(client, names.GATEWAY_CONTAINER).attrs["Config"]["Hostname"]
    notebook_host = container(client, names.notebook_container_name("bob.smith")).attrs["Config"][
        "Hostname"
    ]
    where = bob.run_once("import socket; socket.gethostname()").strip("'")
    assert where == gateway_host and where != notebook_host
    assert bob.run_once("6 * 7") == "42"


# --- a hostile user: what alice can reach from her notebook and her kernel --------------

# The attacks, as alice would type them (tests/e2e/hostile/).
HOSTILE = Path(__file__).parent / "hostile"
FROM_HER_NOTEBOOK = (HOSTILE / "from_her_notebook.py").read_text()


FROM_HER_KERNEL = (HOSTILE / "from_her_kernel.py").read_text()
SWAP_HER_IOPUB = (HOSTILE / "swap_her_iopub.py").read_text()
PLANT_FOR_THE_LAUNCHER = (HOSTILE / "plant_for_the_launcher.py").read_text()
CHANGE_HER_SERVER = (HOSTILE / "her_template.py").read_text() + (
    HOSTILE / "change_her_server.py"
).read_text()


def at_her_gateway(script: str) -> str:
    """A script of hers that uses her_gateway.py's helpers, joined after them."""
    return (HOSTILE / "her_gateway.py").read_text() + (HOSTILE / script).read_text()


SPY_ON_HER_CHANNELS = at_her_gateway("spy_on_her_channels.py")
START_WITH_HER_ENV = at_her_gateway("start_with_her_env.py")


def test_from_her_notebook_alice_reaches_nothing_of_bobs(stack, client):
    alice, bob = stack.logged_in("alice"), stack.logged_in("bob.smith")
    alice.start_server()
    bob.wait_ready()
    bob_kernel = bob.start_kernel()
    try:
        directory = container(client, names.DIRECTORY_CONTAINER)
        (directory_ip,) = [
            n["IPAddress"] for n in directory.attrs["NetworkSettings"]["Networks"].values()
        ]
        args = {
            "directory": names.DIRECTORY_CONTAINER,
            "directory_ip": directory_ip,
            "bob_kernel": bob_kernel,
            "bob_server": f"http://{names.notebook_container_name('bob.smith')}:8888"
            "/user/bob.smith/api/contents",
        }
        nb = container(client, names.notebook_container_name("alice"))
        ran = nb.exec_run(["python3", "-c", FROM_HER_NOTEBOOK, json.dumps(args)], user="1000")
        assert ran.exit_code == 0, ran.output.decode()[-3000:]
        got = json.loads(ran.output.decode().strip().splitlines()[-1])
        # The directory is on a network she is not on: no name, no route.
        assert got["directory_resolves"] is False
        assert got["directory_ip"] in ("timeout", "TimeoutError", "OSError"), got
        # The gateway: with her certificate and the token, bob's kernel does not exist.
        assert bob_kernel not in got["listed"]
        for attempt in ("bob_kernel", "bob_interrupt", "bob_restart", "bob_channels", "bob_delete"):
            assert got[attempt] == 404, (attempt, got)
        # Bob's server, straight over the Docker network with her own hub token: refused.
        assert got["bob_server"] in (401, 403), got
        assert got["hub_bob"] in (403, 404) and got["hub_users"] == 403, got
        # No capability, no new privileges, no raw socket to sniff the shared network.
        assert got["cap_eff"] == "0000000000000000" and got["no_new_privs"] == "1", got
        assert got["raw_socket"] == "refused"
        assert got["pids_max"] == "512"
        # Bob's kernel is untouched by all that.
        assert bob.run(bob_kernel, "'still ' + 'his'") == "'still his'"
    finally:
        bob.server_api("DELETE", f"kernels/{bob_kernel}")


BOB_PIPE_PORT = "__import__('sys').stdout.pub_thread._pipe_port"


def test_from_her_kernel_on_the_gateway_alice_reaches_nothing_of_bobs(stack):
    alice, bob = stack.logged_in("alice"), stack.logged_in("bob.smith")
    alice.wait_ready()
    bob_kernel = bob.start_kernel()
    alice_kernel = alice.start_kernel()
    try:
        bob_uid = int(bob.run(bob_kernel, "__import__('os').getuid()"))
        code = FROM_HER_KERNEL.replace("BOB", bob_kernel)
        got = json.loads(ast.literal_eval(alice.run(alice_kernel, code)))  # the str's repr
        assert got["uid"] != bob_uid and got["uid"] >= 20000 and bob_uid >= 20000
        assert got["token_in_env"] is False
        for attempt in ("list_runtime", "bob_connection_file", "server_key", "gateway_environ"):
            assert got[attempt] == "denied", (attempt, got)
        assert got["uid_map"] in ("denied", "missing"), got
        assert got["cap_eff"] == "0000000000000000"
        bobs = [p for p in got["others"] if p["uid"] == bob_uid]
        assert bobs, got["others"]  # his kernel's processes are there to try
        for process in bobs:
            assert process == {"uid": bob_uid, "environ": "denied", "signal": "denied"}
        # His channels are Unix sockets she sees but cannot connect to; on TCP his uid
        # listens on nothing but ipykernel's subprocess pipe (it takes in, gives nothing).
        assert got["bob_sockets_seen"] == 5 and got["bob_sockets"] == ["denied"], got
        bob_pipe = int(bob.run(bob_kernel, BOB_PIPE_PORT))
        bob_ports = [port for uid, port in got["tcp_listening"] if uid == bob_uid]
        his_kernels = bob.server_api("GET", "kernels").json()
        assert bob_pipe in bob_ports and len(bob_ports) == len(his_kernels), got  # one each
        assert got["umask"] == 0o007  # what she writes (in /tmp too) is her group's alone
        assert bob.run(bob_kernel, "6 * 7") == "42"
    finally:
        alice.server_api("DELETE", f"kernels/{alice_kernel}")
        bob.server_api("DELETE", f"kernels/{bob_kernel}")


def test_alice_swapping_her_iopub_socket_for_a_link_to_bobs_gets_nothing_of_his_output(
    stack, client
):
    """Her kernel owns its socket directory: she replaces her IOPub socket with a symlink
    to bob's, then from her notebook container opens her kernel's channels straight at the
    gateway, asking for the v1 protocol (raw frames), so the gateway subscribes to his
    IOPub for her. It speaks only the legacy protocol, which checks each message's HMAC
    with her kernel's key: his output is dropped, not handed to her."""
    alice, bob = stack.logged_in("alice"), stack.logged_in("bob.smith")
    bob_kernel = bob.start_kernel()
    alice_kernel = alice.start_kernel()
    secret, hers = "bobs-output-5d1e", "her-own-output-9c2b"
    nb = container(client, names.notebook_container_name("alice"))
    spy_args = {"kernel": alice_kernel, "code": f"print({hers!r})", "seconds": 12}
    try:
        assert alice.run(alice_kernel, SWAP_HER_IOPUB.replace("BOB", bob_kernel)) == "'swapped'"
        with ThreadPoolExecutor(1) as pool:
            spy = pool.submit(
                nb.exec_run,
                ["python3", "-c", SPY_ON_HER_CHANNELS, json.dumps(spy_args)],
                user="1000",
            )
            printed = []  # (started, ended) of each of bob's prints, while she listens
            while not spy.done():
                started = time.time()
                assert bob.run(bob_kernel, f"print({secret!r}) or 1") == "1"
                printed.append((started, time.time()))
            ran = spy.result()
        assert ran.exit_code == 0, ran.output.decode()[-3000:]
        got = json.loads(ran.output.decode().strip().splitlines()[-1])
        listened = [p for p in printed if got["connected_at"] < p[0] and p[1] < got["closed_at"]]
        assert len(listened) >= 3, (printed, got["connected_at"], got["closed_at"])
        seen = "".join(got["frames"])
        assert secret not in seen, f"bob's output reached alice ({got['protocol'] or 'legacy'})"
        assert got["protocol"] is None  # legacy, whatever she asks for
        # The attack took: her shell answers, but her IOPub is his now (her own output no
        # longer reaches her), and nothing of his passed the gateway.
        assert got["request_id"] in seen and hers not in seen, got["frames"]
        assert bob.run(bob_kernel, "6 * 7") == "42"  # his kernel is untouched
    finally:
        alice.server_api("DELETE", f"kernels/{alice_kernel}")
        bob.server_api("DELETE", f"kernels/{bob_kernel}")


def test_a_kernel_start_with_an_environment_of_hers_runs_nothing_she_planted(stack, client):
    """The gateway starts each kernel through a launcher that runs as root
    (kernel_as_user.py) before it drops to the user's uid. Alice plants a `python3` and a
    sitecustomize.py in the gateway's /tmp from her kernel (shown to run when honoured),
    then asks for a kernel with PATH, PYTHONPATH, PYTHONSTARTUP, LD_PRELOAD pointing there
    and bob's name: it runs as her, with none of them, and nothing she planted ran."""
    alice = stack.logged_in("alice")
    evil = f"/tmp/evil-{os.urandom(4).hex()}"
    kernel = alice.start_kernel()
    try:
        uid = int(alice.run(kernel, "__import__('os').getuid()"))
        shown = alice.run(kernel, PLANT_FOR_THE_LAUNCHER.replace("EVIL", evil))
        assert shown == f"'python3-as-{uid},sitecustomize-as-{uid}'"
        asked = {
            "PATH": f"{evil}:/usr/bin:/bin",
            "PYTHONPATH": evil,
            "PYTHONSTARTUP": f"{evil}/sitecustomize.py",
            "LD_PRELOAD": f"{evil}/none.so",
            "KERNEL_USERNAME": "bob.smith",
        }
        dropped = sorted(set(asked) - {"KERNEL_USERNAME", "PATH"})
        check = (
            "import json, os; json.dumps({'uid': os.getuid(), "
            "'user': os.environ.get('KERNEL_USERNAME'), "
            f"'asked': sorted(set(os.environ) & set({dropped})), "
            "'path': os.environ['PATH'], "
            f"'markers': sorted(m for m in os.listdir({evil!r}) if '-as-' in m)}})"
        )
        nb = container(client, names.notebook_container_name("alice"))
        ran = nb.exec_run(
            ["python3", "-c", START_WITH_HER_ENV, json.dumps({"env": asked, "code": check})],
            user="1000",
        )
        assert ran.exit_code == 0, ran.output.decode()[-3000:]
        got = json.loads(ran.output.decode().strip().splitlines()[-1])
        assert got["start"] == 201, got
        seen = json.loads(ast.literal_eval(got["result"]))
        assert seen["uid"] == uid, seen
        assert seen["user"] == "alice" and seen["asked"] == [], seen
        assert evil not in seen["path"] and seen["markers"] == [], seen
    finally:
        alice.run(kernel, f"__import__('shutil').rmtree({evil!r}, ignore_errors=True)")
        alice.server_api("DELETE", f"kernels/{kernel}")


def test_from_her_terminal_alice_cannot_change_what_her_server_serves_to_bob(stack, client):
    """Her server is on the hub's origin at /user/alice/ and serves some files to anyone
    (JupyterLab's extension files, static files): a page of hers there would run in bob's
    browser as the hub's own page (his tokens, his server). From her terminal she plants
    one in every data directory and among the server's static files, plants nbconvert
    templates whose conf.json runs her code and exports a notebook, writes into the
    server's Python, and tries to trace the server and the container's init: bob gets no
    page of hers, and nothing of the running server or its init is hers to change."""
    alice, bob = stack.logged_in("alice"), stack.logged_in("bob.smith")
    alice.start_server()
    name = f"alice-page-{os.urandom(4).hex()}"
    nb = container(client, names.notebook_container_name("alice"))
    ran = nb.exec_run(["python3", "-c", CHANGE_HER_SERVER, name], user="1000")
    assert ran.exit_code == 0, ran.output.decode()[-3000:]
    got = json.loads(ran.output.decode().strip().splitlines()[-1])
    try:
        for path in (f"lab/extensions/{name}/static/page.html", f"static/{name}.html"):
            served = bob.session.get(bob.url(f"user/alice/{path}"), timeout=60)
            assert served.status_code == 404 and name not in served.text, (path, got)
        # Her own export of her notebook runs none of her templates' code in the server.
        token = {"Authorization": f"token {alice.token or alice.make_token()}"}
        export = alice.session.get(
            f"{alice.server_url()}/nbconvert/html/{name}.ipynb", headers=token, timeout=120
        )
        tmp = nb.exec_run(["ls", "/tmp"], user="1000").output.decode().split()
        assert f"{name}-ran-in-the-server" not in tmp, got["templates"]
        assert export.status_code == 200, export.text[-2000:]  # the export itself worked
    finally:
        nb.exec_run(["rm", "-rf", "/home/jovyan/work/lab", f"/home/jovyan/work/{name}.ipynb"])
    # The server's own environment is not hers: no module, no static file, no edit.
    assert [m for m, done in got["modules"].items() if done == "done"] == [], got
    assert not [p for p, done in got["pages"].items() if done == "done" and "/home/" not in p]
    # Neither the server nor the init (whose exit ends the container) can be traced or
    # have its memory written: what serves /user/alice/ stays the image's server.
    assert got["trace"] == {
        "server_ptrace": "Operation not permitted",
        "server_mem": "PermissionError",
        "init_ptrace": "Operation not permitted",
        "init_mem": "PermissionError",
    }, got
    assert alice.server_api("GET", "status").status_code == 200  # hers still works


HARDENED = {
    names.HUB_CONTAINER: (
        ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_NET_BIND_SERVICE"],
        1024,
        0,
    ),
    names.GATEWAY_CONTAINER: (["CAP_CHOWN", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"], 1024, 4096),
    names.DIRECTORY_CONTAINER: (
        [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FOWNER",
            "CAP_NET_BIND_SERVICE",
            "CAP_SETGID",
            "CAP_SETUID",
        ],
        128,
        256,
    ),
    names.notebook_container_name("alice"): ([], 512, 2048),
}


def test_an_admin_cannot_open_alices_server_where_her_pages_would_run_as_the_admin(stack):
    """Her server is on the hub's origin: what she put in it (JupyterLab's front-end
    config from her home, an exported notebook's scripts) runs in the browser of whoever
    opens it, with their rights. The admin (HUB_ADMIN_SERVER_ACCESS unset) is refused by
    the hub when her server sends them to log in, and keeps the admin page and API."""
    alice, admin = stack.logged_in("alice"), stack.logged_in(ADMIN)
    if not alice.model()["servers"]:
        alice.start_server()
    opened = admin.session.get(admin.url("user/alice/lab"), timeout=60)
    assert opened.status_code == 403, (opened.status_code, opened.url)
    assert "/hub/api/oauth2/authorize" in opened.url, opened.url  # refused by the hub
    assert admin.session.get(admin.url("hub/admin"), timeout=30).status_code == 200
    assert admin.api("GET", "users/alice").json()["servers"], "the admin API sees her server"


def test_every_container_runs_hardened_on_the_engine(stack, client):
    for name, (cap_add, pids, memory_mb) in HARDENED.items():
        host = container(client, name).attrs["HostConfig"]
        assert [c.upper() for c in host["CapDrop"]] in (["ALL"], ["CAP_ALL"]), (name, host)
        added = sorted(
            c.upper() if c.upper().startswith("CAP_") else "CAP_" + c.upper()
            for c in host.get("CapAdd") or []
        )
        assert added == cap_add, (name, host["CapAdd"])
        assert "no-new-privileges:true" in host["SecurityOpt"], name
        assert not host["Privileged"], name
        assert host["PidsLimit"] == pids, (name, host["PidsLimit"])
        assert host["Memory"] == memory_mb * 1024 * 1024, (name, host["Memory"])
    # DockerSpawner: cpu_quota = NOTEBOOK_CPU_LIMIT * cpu_period.
    nb = container(client, names.notebook_container_name("alice")).attrs["HostConfig"]
    assert nb["CpuQuota"] == 2 * nb["CpuPeriod"], nb


def test_the_hub_serves_tls_1_2_and_later_only(stack):
    host, port = "127.0.0.1", int(stack.outputs["hub_url"].rsplit(":", 1)[1].strip("/"))
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.set_ciphers("DEFAULT@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError) as refused, socket.create_connection((host, port), 10) as s:
        old.wrap_socket(s)
    # The server's alert, not this client refusing to try.
    assert "ALERT_PROTOCOL_VERSION" in str(refused.value) or "UNSUPPORTED_PROTOCOL" in str(
        refused.value
    ), refused.value
    modern = ssl.create_default_context(cafile=str(stack.ca_file))
    modern.check_hostname = False
    modern.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((host, port), 10) as s, modern.wrap_socket(s) as tls:
        assert tls.version() == "TLSv1.2"


def add_group_member(client) -> None:
    """A user in the dev directory's allowed group only (slapadd into the running
    back-mdb database, which takes concurrent writers)."""
    password = hash_password(GROUP_MEMBER_PASSWORD, password_salt(GROUP_MEMBER, "e2e"))
    ldif = "\n".join(
        [
            f"dn: {user_dn(GROUP_MEMBER)}",
            "objectClass: inetOrgPerson",
            f"uid: {GROUP_MEMBER}",
            f"cn: {GROUP_MEMBER}",
            f"sn: {GROUP_MEMBER}",
            f"userPassword: {password}",
            "",
            f"dn: {GROUP_DN}",
            "objectClass: groupOfNames",
            f"cn: {GROUP}",
            f"member: {user_dn(GROUP_MEMBER)}",
            "",
        ]
    )
    ldap = container(client, names.DIRECTORY_CONTAINER)
    proc = subprocess.run(
        [
            "docker",
            "exec",
            "-i",
            ldap.name,
            "sh",
            "-c",
            "cat > /tmp/extra.ldif && slapadd -q -f /etc/ldap/jupyterhub/slapd.conf "
            "-l /tmp/extra.ldif && chown -R openldap:openldap /var/lib/ldap",
        ],
        input=ldif,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_a_member_of_an_allowed_group_in_no_list_spawns_and_runs_a_kernel_on_the_gateway(
    stack, client
):
    """eve is in no user list, only in an allowed LDAP group of the dev directory, added
    after `up`: no `pulumi up` for her. The hub issues her client certificate at spawn
    (CN eve, from the client CA the gateway trusts) and her kernel runs on the gateway."""
    add_group_member(client)
    eve = stack.user(GROUP_MEMBER)
    assert eve.login(GROUP_MEMBER_PASSWORD), "an allowed group's member logs in"
    eve.start_server()
    nb = container(client, names.notebook_container_name(GROUP_MEMBER))
    mounts = {m["Destination"]: m for m in nb.attrs["Mounts"]}
    pki = mounts["/etc/jupyterpki"]
    assert pki["Type"] == "bind" and pki["RW"] is False
    assert pki["Source"] == f"{stack.pki_dir}/{names.pki_dir_name(GROUP_MEMBER)}"
    listing = nb.exec_run(["sh", "-c", "stat -c '%n %a %u' /etc/jupyterpki/*"], user="1000")
    assert "/etc/jupyterpki/key.pem 600 1000" in listing.output.decode(), listing.output
    decode = "import ssl; print(ssl._ssl._test_decode_cert('/etc/jupyterpki/cert.pem'))"
    subject = nb.exec_run(["python3", "-c", decode], user="1000").output.decode()
    assert "('commonName', 'eve')" in subject, subject
    assert "Kernel Gateway clients CA" in subject, subject  # the issuer: the hub's client CA
    # The hub's client CA key is in the hub only, never in a notebook.
    assert not [m for m in nb.attrs["Mounts"] if "tls" in (m.get("Source") or "")]
    assert nb.exec_run(["test", "-e", "/srv/jupyterhub/tls/client-ca.key"]).exit_code != 0
    files = nb.exec_run(["ls", "-A", "/etc/jupyterpki"], user="1000").output.decode().split()
    assert sorted(files) == ["cacert.pem", "cert.pem", "key.pem"], files
    hub = container(client, names.HUB_CONTAINER)
    assert hub.exec_run(["test", "-s", "/srv/jupyterhub/tls/client-ca.key"]).exit_code == 0
    gateway_host = container(client, names.GATEWAY_CONTAINER).attrs["Config"]["Hostname"]
    where = eve.run_once("import socket; socket.gethostname()").strip("'")
    assert where == gateway_host
    assert eve.run_once("import os; os.environ['KERNEL_USERNAME']") == "'eve'"
    eve.stop_server()


def test_a_file_the_user_wrote_survives_a_stop_and_start_of_their_server(stack):
    carol = stack.logged_in("carol_x")
    carol.start_server()
    assert carol.server_api(
        "PUT",
        "contents/kept.txt",
        json={"type": "file", "format": "text", "content": "still here"},
    ).status_code in (200, 201)
    carol.stop_server()
    carol.start_server()
    got = carol.server_api("GET", "contents/kept.txt")
    assert got.status_code == 200 and got.json()["content"] == "still here"


def test_logs_rotate_and_a_stopped_servers_log_stays_readable(stack, client):
    """json-file rotation on every container of the stack and on the notebooks; the log of
    carol's server, stopped by the test before this one, saved on the hub's data volume
    (README, Logs) and the reaper service running."""
    rotation = {"Type": "json-file", "Config": {"max-file": "5", "max-size": "10m"}}
    carol = stack.logged_in("carol_x")  # her server runs again (the test before started it)
    for name in (
        names.HUB_CONTAINER,
        names.GATEWAY_CONTAINER,
        names.DIRECTORY_CONTAINER,
        names.notebook_container_name("carol_x"),
    ):
        assert container(client, name).attrs["HostConfig"]["LogConfig"] == rotation, name
    hub = container(client, names.HUB_CONTAINER)
    listing = hub.exec_run(["sh", "-c", "ls -ln /data/notebook-logs/carol_x/"])
    assert listing.exit_code == 0, listing.output.decode()
    assert "-rw------- 1 0 0" in listing.output.decode()
    saved = hub.exec_run(["sh", "-c", "cat /data/notebook-logs/carol_x/default-*.log"])
    text = saved.output.decode(errors="replace")
    assert saved.exit_code == 0 and text.strip(), text
    # `docker logs --timestamps`: every line starts with the time it was written.
    assert all(line[:4].isdigit() and line[10] == "T" for line in text.splitlines()), text[:500]
    assert "/user/carol_x/" in text, text[-2000:]  # jupyter_server's "is running at" line
    admin = stack.logged_in(ADMIN)
    services = admin.api("GET", "services").json()
    assert services["notebook-log-reaper"]["pid"] > 0
    saved_line = f"Saved the log of {names.notebook_container_name('carol_x')}"
    assert saved_line in hub.logs().decode(errors="replace")
    assert carol.model()["servers"]  # untouched by all this


def container_ids(client) -> dict[str, str]:
    return {c.name: c.id for c in client.containers.list(all=True)}


def test_a_second_apply_of_the_unchanged_graph_replaces_nothing(stack, client):
    before = container_ids(client)
    assert changes(up(stack)) == 0
    assert container_ids(client) == before


def test_a_hub_only_change_replaces_the_hub_and_users_keep_their_session_server_and_kernel(
    stack, client
):
    bob = stack.logged_in("bob.smith")
    bob.wait_ready()
    kernel = bob.start_kernel()
    bob.run(kernel, "kept = 'from before the hub was replaced'")
    hub_before = container(client, names.HUB_CONTAINER).id
    nb_before = container(client, names.notebook_container_name("bob.smith")).id
    up(stack, "--set", "IDLE_CULL_TIMEOUT=7200")
    assert container(client, names.HUB_CONTAINER).id != hub_before
    wait_healthy(client, names.HUB_CONTAINER)
    assert container(client, names.notebook_container_name("bob.smith")).id == nb_before
    # The same browser session, no new login; the same kernel, its state intact.
    assert bob.model()["servers"][""]["ready"]
    assert bob.run(kernel, "kept") == "'from before the hub was replaced'"


def test_adding_a_user_lets_them_in_and_the_others_servers_survive(stack, client):
    running = {
        n: container(client, names.notebook_container_name(n)).id for n in ("bob.smith", "carol_x")
    }
    up(stack, "--set", f"HUB_ALLOWED_USERS={json.dumps([*USERS, NEW_USER])}")
    wait_healthy(client, names.HUB_CONTAINER)
    dave = stack.logged_in(NEW_USER)
    dave.start_server()
    assert dave.run_once("'dave' + '-y'") == "'dave-y'"
    for name, cid in running.items():
        assert container(client, names.notebook_container_name(name)).id == cid


def test_a_crashed_hub_is_brought_back_by_its_restart_policy(stack, client):
    hub = container(client, names.HUB_CONTAINER)
    restarts = hub.attrs["RestartCount"]
    pid = hub.attrs["State"]["Pid"]
    # The killed hub's proxy pid file stays in the container's layer; its number may name
    # a process of the restarted container, here the new hub itself (PID 1), which
    # JupyterHub cannot stop: without the config's clean-up, a restart loop (seen in CI).
    stale = hub.exec_run(["sh", "-c", "echo 1 > /srv/jupyterhub/jupyterhub-proxy.pid"])
    assert stale.exit_code == 0, stale.output
    os.kill(pid, 9)  # as the OOM killer would: not a `docker kill`, which counts as a stop
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        hub.reload()
        if hub.attrs["RestartCount"] > restarts and hub.attrs["State"]["Running"]:
            break
        time.sleep(1)
    assert hub.attrs["RestartCount"] > restarts
    wait_healthy(client, names.HUB_CONTAINER)
    stack.logged_in("alice")


def test_a_stopped_gateway_fails_kernel_starts_clearly_and_they_work_again_after(stack, client):
    alice = stack.logged_in("alice")
    alice.start_server()
    gateway = container(client, names.GATEWAY_CONTAINER)
    gateway.stop(timeout=10)
    try:
        with pytest.raises(KernelError) as refused:
            alice.start_kernel()
        assert any(
            word in str(refused.value).lower()
            for word in ("gateway", "connection", "timeout", "refused", "resolve")
        ), str(refused.value)
    finally:
        gateway.start()
    wait_healthy(client, names.GATEWAY_CONTAINER)
    assert alice.run_once("1 + 1") == "2"


# --- image choice and named servers (DOCKER_NOTEBOOK_IMAGES, HUB_NAMED_SERVERS) -------------

# A second notebook image: the dev notebook image with one label more (its own image ID, so
# which one a server runs shows), a stand-in for a second image from a registry.
CHOICE_IMAGE = names.local_image_name("jupyterhub-zos", "dev", "notebook") + "-e2e-choice"
NAMED_SERVER = "Lab.1"  # upper case and a dot: escaped in its container and volume names


@pytest.fixture(scope="module")
def choice_image(stack, client):
    import io

    base = names.local_image_name("jupyterhub-zos", "dev", "notebook")
    dockerfile = f"FROM {base}\nLABEL org.jupyterhub-zos.e2e=image-choice\n"
    image, _ = client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=CHOICE_IMAGE, rm=True, forcerm=True
    )
    assert image.id != client.images.get(base).id
    yield image
    # By ID: gone with its tag (a server left running it would keep it, untagged).
    client.images.remove(image.id, force=True)


def test_the_spawn_form_offers_both_images_and_a_named_server_has_its_own_container_and_volume(
    stack, client, choice_image
):
    default_label = names.local_image_name("jupyterhub-zos", "dev", "notebook")
    up(
        stack,
        "--set",
        f"HUB_ALLOWED_USERS={json.dumps([*USERS, NEW_USER])}",  # as before: runs alone too
        "--set",
        f"DOCKER_NOTEBOOK_IMAGES={json.dumps([CHOICE_IMAGE])}",
        "--set",
        "HUB_NAMED_SERVERS=2",
    )
    wait_healthy(client, names.HUB_CONTAINER)
    dave = stack.logged_in(NEW_USER)
    if "" in dave.model().get("servers", {}):
        dave.stop_server()  # started by an earlier scenario, with the only image there was
    # DockerSpawner's own form: both images, the default first.
    form = dave.spawn_form()
    options = re.findall(r'<option value="([^"]+)"', form)
    assert options == [default_label, CHOICE_IMAGE], form[-2000:]
    dave.submit_spawn_form({"image": CHOICE_IMAGE})
    default = container(client, names.notebook_container_name(NEW_USER))
    assert default.attrs["Image"] == choice_image.id

    lab = dataclasses.replace(dave, server=NAMED_SERVER)
    lab.start_server()  # no choice made: the default image
    named = container(client, names.notebook_container_name(NEW_USER, NAMED_SERVER))
    assert named.name == "jupyter-dave-2dy---4cab-2e1" and named.id != default.id
    assert named.attrs["Image"] == client.images.get(default_label).id
    mounts = {m["Destination"]: m for m in named.attrs["Mounts"]}
    work = mounts["/home/jovyan/work"]
    assert work["Type"] == "volume"
    assert work["Name"] == names.user_volume_name(NEW_USER, NAMED_SERVER)
    assert work["Name"] != names.user_volume_name(NEW_USER)
    # The user's own certificate directory, read-only, as their default server has it.
    default_mounts = {m["Destination"]: m for m in default.attrs["Mounts"]}
    assert mounts["/etc/jupyterpki"]["Source"] == default_mounts["/etc/jupyterpki"]["Source"]
    assert mounts["/etc/jupyterpki"]["RW"] is False
    # A kernel of the named server runs on the gateway, as the user.
    gateway_host = container(client, names.GATEWAY_CONTAINER).attrs["Config"]["Hostname"]
    assert lab.run_once("import socket; socket.gethostname()").strip("'") == gateway_host
    assert lab.run_once("import os; os.environ['KERNEL_USERNAME']") == f"'{NEW_USER}'"
    # A file of the named server is on its volume, not on the default server's.
    wrote = lab.server_api(
        "PUT",
        "contents/only-in-lab.txt",
        json={"type": "file", "format": "text", "content": "lab"},
    )
    assert wrote.status_code in (200, 201), wrote.text
    assert lab.server_api("GET", "contents/only-in-lab.txt").status_code == 200
    assert dave.server_api("GET", "contents/only-in-lab.txt").status_code == 404
    lab.stop_server()
    # Its log is kept under the user, by server name, like the default server's.
    hub = container(client, names.HUB_CONTAINER)
    listing = hub.exec_run(["sh", "-c", f"ls /data/notebook-logs/{NEW_USER}/"]).output.decode()
    assert f"{NAMED_SERVER}-" in listing, listing
    lab.start_server()  # left running: `down` (next) removes named servers' containers too
    dave.stop_server()  # nothing runs the second image any more when it is removed


def test_down_removes_everything_but_the_hub_data_and_a_new_up_finds_the_users(stack, client):
    deploy("down", "--stack", "dev", state_dir=stack.state_dir)
    left = [c.name for c in client.containers.list(all=True)]
    for name in (names.HUB_CONTAINER, names.GATEWAY_CONTAINER, names.DIRECTORY_CONTAINER):
        assert name not in left
    assert not [n for n in left if n.startswith(f"{names.NOTEBOOK_PREFIX}-")], left
    assert not client.networks.list(names=[names.NETWORK])
    assert client.volumes.get(names.DATA_VOLUME)
    up(stack)
    wait_healthy(client, names.HUB_CONTAINER)
    admin = stack.logged_in(ADMIN)
    known = {u["name"] for u in admin.api("GET", "users").json()}
    assert {ADMIN, *USERS, NEW_USER} <= known
    # Users' servers did not outlive `down`: the new hub finds none running.
    assert "" not in stack.logged_in("bob.smith").model().get("servers", {})


# --- day 2: status, backup and restore (make status / backup / restore) --------------------


def day2(stack, module: str, *args: str, env=None) -> subprocess.CompletedProcess:
    """The command `make status|backup|restore` runs, given the harness's outputs file
    instead of the Pulumi CLI's (there is no CLI here)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args, "--outputs", str(stack.state_dir / "outputs.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_status_json_reports_the_hub_healthy_the_running_server_and_certificate_expiries(stack):
    alice = stack.logged_in("alice")
    alice.start_server()
    done = day2(stack, "tools.status", "--stack", "dev", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["healthy"] is True and report["problems"] == [], report
    hub = report["hub"]
    assert hub["health"] == 200 and hub["version"].startswith("5.")
    assert hub["container"] == {
        "name": names.HUB_CONTAINER,
        "exists": True,
        "status": "running",
        "health": "healthy",
    }
    running = {s["user"]: s for s in report["servers"]}
    assert running["alice"]["ready"] is True and running["alice"]["server"] == ""
    assert {ADMIN, *USERS} <= set(report["users"])
    certs = {c["name"]: c for c in report["certificates"]}
    assert (
        certs["hub (served)"]["days_left"] > 300
        and "CN=localhost" in certs["hub (served)"]["subject"]
    )
    assert certs["gateway (served)"]["days_left"] > 300
    assert {"hub_ca_cert (output)", "gateway_ca_cert (output)"} <= set(certs)
    mine = certs["client alice"]
    assert mine["running"] is True and mine["kind"] == "client-hub" and mine["days_left"] > 0
    assert "CN=alice" in mine["subject"].split(",")
    gateway = report["gateway"]
    assert gateway["tcp"] and gateway["tls"] and gateway["verified"], gateway
    assert report["data_volume"]["exists"] and report["data_volume"]["size"] > 0
    text = day2(stack, "tools.status", "--stack", "dev")
    assert text.returncode == 0 and "stack dev: healthy" in text.stdout, text.stdout


def test_a_stopped_gateway_makes_status_unhealthy(stack, client):
    gateway = container(client, names.GATEWAY_CONTAINER)
    gateway.stop(timeout=10)
    try:
        done = day2(stack, "tools.status", "--stack", "dev", "--json")
        assert done.returncode == 1, done.stdout[-2000:]
        report = json.loads(done.stdout)
        assert report["healthy"] is False
        assert any("gateway" in p for p in report["problems"]), report["problems"]
    finally:
        gateway.start()
    wait_healthy(client, names.GATEWAY_CONTAINER)


@pytest.fixture(scope="module")
def ssh_docker_host(tmp_path_factory, sshd):  # noqa: F811 - the delivery tests' fixture
    """docker:host = ssh://root@127.0.0.1:PORT: a real sshd on loopback (the delivery
    tests' one) in front of this engine, `ssh` on PATH given its key and known_hosts (as
    an operator's ~/.ssh/config would), and docker's ssh transport (paramiko importable)."""
    probe = subprocess.run([sys.executable, "-c", "import paramiko"], capture_output=True)
    if probe.returncode != 0:
        missing("paramiko is not installed (requirements.txt pins it: make up installs it)")
    target, opts = sshd
    bin_dir = tmp_path_factory.mktemp("ssh-bin")
    wrapper = bin_dir / "ssh"
    wrapper.write_text(
        "#!/bin/sh\n# Test harness: the operator's ssh config, given on the command line.\n"
        f'exec {shutil.which("ssh")} {" ".join(opts)} "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return f"ssh://{target.user}@{target.host}:{target.port}", env


def test_status_and_backup_work_through_an_ssh_docker_host(stack, ssh_docker_host):
    host, env = ssh_docker_host
    bob = stack.logged_in("bob.smith")
    bob.start_server()
    put = bob.server_api(
        "PUT", "contents/remote.txt", json={"type": "file", "format": "text", "content": "over ssh"}
    )
    assert put.status_code in (200, 201), put.text
    done = day2(stack, "tools.status", "--stack", "dev", "--json", "--docker-host", host, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["docker_host"] == host and report["healthy"] is True
    assert "bob.smith" in {s["user"] for s in report["servers"]}
    folder = Path(tempfile.mkdtemp(prefix="jzos-e2e-ssh-backup-")) / "backup"
    try:
        done = day2(
            stack, "tools.backup", "backup", "--stack", "dev", "--to", str(folder),
            "--docker-host", host, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["docker_host"] == host
        volume = names.user_volume_name("bob.smith")
        with tarfile.open(folder / "volumes" / f"{volume}.tar") as tar:
            member = tar.getmember("volume/remote.txt")
            assert member.uid == 1000  # jovyan's, as on the volume
            assert tar.extractfile(member).read() == b"over ssh"
        with tarfile.open(folder / "hub-data.tar") as tar:
            assert "volume/jupyterhub.sqlite" not in tar.getnames()  # the copy is apart
        db = sqlite3.connect(folder / "hub-db.sqlite")
        try:
            users = {row[0] for row in db.execute("SELECT name FROM users")}
        finally:
            db.close()
        assert {ADMIN, *USERS} <= users
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_a_backup_restored_into_a_fresh_deployment_brings_back_users_tokens_and_files(
    stack, client
):
    alice = stack.logged_in("alice")
    alice.start_server()
    content = "written before the backup"
    put = alice.server_api(
        "PUT", "contents/backed-up.txt", json={"type": "file", "format": "text", "content": content}
    )
    assert put.status_code in (200, 201), put.text
    token = alice.make_token()  # lives in the hub's database only
    folder = Path(tempfile.mkdtemp(prefix="jzos-e2e-backup-")) / "backup"
    try:
        done = day2(stack, "tools.backup", "backup", "--stack", "dev", "--to", str(folder))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["stack"] == "dev" and manifest["versions"]["jupyterhub"].startswith("5.")
        volumes = {i["volume"] for i in manifest["items"] if i["kind"] == "user-volume"}
        assert names.user_volume_name("alice") in volumes
        assert os.stat(folder).st_mode & 0o777 == 0o700
        for path in folder.rglob("*"):
            if path.is_file():
                assert path.stat().st_mode & 0o777 == 0o600, path

        # A backup of another stack is refused before anything changes.
        refused = day2(stack, "tools.backup", "restore", "--stack", "prod", "--from", str(folder))
        assert refused.returncode == 2 and "stack 'dev', not 'prod'" in refused.stderr, refused

        old_status_token = stack.outputs["status_token"]
        deploy("down", "--stack", "dev", state_dir=stack.state_dir)
        client.volumes.get(names.DATA_VOLUME).remove()
        prefix = names.user_volume_name("")
        for volume in client.volumes.list():
            if volume.name.startswith(prefix):
                volume.remove()
        up(stack)
        wait_healthy(client, names.HUB_CONTAINER)
        fresh = requests.get(
            stack.outputs["hub_url"] + "hub/api/user",
            headers={"Authorization": f"token {token}"},
            verify=str(stack.ca_file),
            timeout=30,
        )
        assert fresh.status_code == 403  # a new database: her token is unknown

        done = day2(stack, "tools.backup", "restore", "--stack", "dev", "--from", str(folder))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        me = requests.get(
            stack.outputs["hub_url"] + "hub/api/user",
            headers={"Authorization": f"token {token}"},
            verify=str(stack.ca_file),
            timeout=30,
        )
        assert me.status_code == 200 and me.json()["name"] == "alice", me.text
        admin = stack.logged_in(ADMIN)
        known = {u["name"] for u in admin.api("GET", "users").json()}
        assert {ADMIN, *USERS} <= known
        alice = stack.logged_in("alice")  # the new stack's password
        alice.start_server()
        got = alice.server_api("GET", "contents/backed-up.txt")
        assert got.status_code == 200 and got.json()["content"] == content
        # The restored hub holds the new deployment's service tokens, not the old ones.
        assert stack.outputs["status_token"] != old_status_token
        old = requests.get(
            stack.outputs["hub_url"] + "hub/api/users",
            headers={"Authorization": f"token {old_status_token}"},
            verify=str(stack.ca_file),
            timeout=30,
        )
        assert old.status_code == 403, old.text
        status = day2(stack, "tools.status", "--stack", "dev", "--json")
        assert status.returncode == 0, status.stdout[-2000:]
        assert "alice" in {s["user"] for s in json.loads(status.stdout)["servers"]}
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
