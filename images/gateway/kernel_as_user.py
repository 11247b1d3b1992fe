"""Start a kernel of the dev gateway as its user's own OS account (jupyterhub-zos).

The kernel spec in this image (images/gateway/kernel.json) runs this file instead of
ipykernel: Kernel Gateway (root in its container, holding only CHOWN, SETUID, SETGID and
KILL) starts it with the connection file it wrote, and KERNEL_USERNAME set by
kg_isolation from the verified client certificate's CN (never from the client's claim).

Every hub user gets one uid of their own (from FIRST_UID up, recorded in UID_MAP under a
lock, so two users never share one) and a group of the same number that only they are
in; the kernel then runs as that uid with no capabilities and no new privileges. So
code in alice's kernel cannot read bob's connection file (its HMAC key: readable by his
group only, in a directory nobody may list), his kernel's /proc, his home, or the
gateway's own environment (KG_AUTH_TOKEN), and cannot signal or trace his processes.
Nor can it reach his kernel's ZeroMQ sockets: they are Unix sockets in a directory
only his uid and the gateway may enter (kernel_ipc.py; handed over here). The kernel
runs with umask 007, so what it writes (in /tmp too) is its user's alone. The gateway's
variables do not reach the kernel.

Fails closed: no user, a user name that is not printable, or not started as root: no
kernel (the start request then fails with this message in the gateway's log).
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import sys

FIRST_UID = 20000  # above any uid of the image's own accounts
LAST_UID = 59999
UID_MAP = "/var/lib/jupyterhub-zos/kernel-uids.json"
HOMES = "/home/kernels"
# The gateway's own variables, which are not the kernel's business.
GATEWAY_ONLY = ("KG_", "JUPYTER_GATEWAY_")


def fail(message: str) -> None:
    print(f"kernel_as_user: {message}", file=sys.stderr)
    sys.exit(1)


def uid_for(user: str, map_path: str = UID_MAP) -> int:
    """The user's uid: the recorded one, else the next free one, recorded (under an
    exclusive lock, so concurrent kernel starts never hand out one uid twice)."""
    os.makedirs(os.path.dirname(map_path), mode=0o700, exist_ok=True)
    fd = os.open(map_path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        text = f.read()
        uids: dict[str, int] = json.loads(text) if text.strip() else {}
        if user not in uids:
            uid = max(uids.values(), default=FIRST_UID - 1) + 1
            if uid > LAST_UID:
                fail(f"no uid left for {user!r} ({FIRST_UID}-{LAST_UID} all taken)")
            uids[user] = uid
            f.seek(0)
            f.truncate()
            json.dump(uids, f)
            f.flush()
            os.fsync(f.fileno())
        return uids[user]


def hand_over_ipc_dir(connection_file: str, uid: int) -> None:
    """With the ipc transport (kernel_ipc.py): the kernel's socket directory, which the
    gateway made 0700, becomes `uid`'s with the group root, setgid and 2770, so the
    sockets the kernel binds there are root's group's too, and the gateway connects by
    that group (it has no DAC_OVERRIDE). Nobody else may enter it. A restarted kernel
    finds it already handed over. TCP (another kernel spec's manager): nothing to do."""
    with open(connection_file, encoding="utf-8") as f:
        info = json.load(f)
    if info.get("transport", "tcp") != "ipc":
        return
    directory = os.path.splitext(connection_file)[0] + ".ipc"
    if os.path.dirname(str(info.get("ip", ""))) != directory:
        fail(f"the connection file's ipc sockets are not in {directory}: refusing to start")
    try:
        found = os.lstat(directory)
    except FileNotFoundError:
        fail(f"{directory}: the gateway did not make the kernel's socket directory")
    if not stat.S_ISDIR(found.st_mode):
        fail(f"{directory}: not a directory")
    if found.st_uid == 0:
        # While root's (without FOWNER not after the chown); group root: the gateway.
        os.chmod(directory, 0o2770)  # noqa: S103 - owner and the gateway's group only
        os.chown(directory, uid, 0)
    elif (found.st_uid, found.st_gid, stat.S_IMODE(found.st_mode)) != (uid, 0, 0o2770):
        fail(f"{directory}: not this kernel's (owner, group or mode changed)")


def kernel_env(env: dict[str, str], user: str, home: str) -> dict[str, str]:
    kept = {k: v for k, v in env.items() if not k.startswith(GATEWAY_ONLY)}
    kept.update(HOME=home, USER=user, LOGNAME=user)
    return kept


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[1] != "-f":
        fail("usage: kernel_as_user.py -f <connection file>")
    connection_file = argv[2]
    user = os.environ.get("KERNEL_USERNAME", "")
    if not user or not user.isprintable() or "/" in user:
        fail("no verified user for this kernel (KERNEL_USERNAME unset): refusing to start it")
    if os.getuid() != 0:
        fail("must be started as root to run the kernel as its user's uid")
    uid = uid_for(user)
    home = os.path.join(HOMES, str(uid))
    os.makedirs(HOMES, mode=0o711, exist_ok=True)
    os.makedirs(home, mode=0o700, exist_ok=True)
    os.chown(home, uid, uid)
    # The connection file is the gateway's (root, 0600), which it reads again when a
    # client connects: it stays root's, and the kernel alone may read it, by its group
    # (root has no DAC_OVERRIDE to read a file it does not own).
    os.chown(connection_file, 0, uid)
    os.chmod(connection_file, 0o640)
    hand_over_ipc_dir(connection_file, uid)
    env = kernel_env(dict(os.environ), user, home)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)  # drops every capability: the kernel has none
    if os.getuid() != uid or os.geteuid() != uid:
        fail("could not drop to the user's uid")
    os.chdir(home)  # the user's own 0700 home: root without DAC_OVERRIDE may not enter it
    # Files for the user's group (theirs alone), sockets for the ipc directory's (root).
    os.umask(0o007)
    os.execve(  # noqa: S606 - the kernel, argv fixed here, no shell
        sys.executable,
        [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file],
        env,
    )


if __name__ == "__main__":
    main(sys.argv)
