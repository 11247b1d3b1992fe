"""The z/OS double's user and system view, for the preflight and the gateway's lifecycle:
LISTUSER, the YOUR ACCESS column of RLIST, z/OS UNIX identities (`id`), `su -s`
(SURROGAT BPX.SRV.<id>), `ls -E` (the program-controlled flag), `netstat -f` (TTLS in the
TCP/IP profile), whether PAGENT runs, and started tasks (S, P, C, D A).

Kept in `state["uss"]`; a state without it is a typical system: the SSH user has SPECIAL
and UID 0, TTLS is on, PAGENT runs, no started task is defined.

Output shapes, from the research notes (/work/shared/research/zos_anchors.md) and the
sources they cite: LISTUSER as ibm_zos_core's zos_user reads it (§1.3: `LISTUSER` RC 0
means the profile exists, attributes and connects found by matching its lines) and as
pyracf's RacfUser slices it (an `ATTRIBUTES=` line, a `CLASS AUTHORIZATIONS=` line, one
block per group connect); RLIST as in racf.py (§2: ICH13003I NOT FOUND, RC 4), its
YOUR ACCESS column now the SSH user's access rather than a fixed ALTER; `ls -E` as IBM's
"Establishing program control in HFS" example (`-rwxr-xr-x -ps 2 ROOT SYS1 ...
ibmoceptp.so`, the p flag); `su -s` as the z/OS UNIX Command Reference's su (READ to
SURROGAT BPX.SRV.<id> or a password prompt, FSUM5019). `netstat -f`'s "TTLS: Yes", D A's
layout and pasearch's answer without PAGENT are not confirmed from IBM's documentation:
messages use racf.unmodelled where an ID would be guessed (the scripts never match on
one).
"""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
from pathlib import Path

from tests.zos_double import racf

LEVELS = ("NONE", "READ", "UPDATE", "CONTROL", "ALTER")


def uss(state: dict) -> dict:
    """The double's user/system view, with a typical system's defaults."""
    view = state.setdefault("uss", {})
    view.setdefault("attributes", {state["ssh_user"]: ["SPECIAL", "OPERATIONS"]})
    view.setdefault("clauth", {})
    view.setdefault("uids", {})
    view.setdefault("ttls", True)
    view.setdefault("pagent", True)
    view.setdefault("started_tasks", {})
    view.setdefault("gateway_runs", [])
    return view


def uid(state: dict, user: str) -> int | None:
    """The user's UID: the SSH user 0 unless set, every other RACF user 1000 + its index."""
    view = uss(state)
    user = user.upper()
    if user in view["uids"]:
        return view["uids"][user]
    if user == state["ssh_user"]:
        return 0
    if user in state["users"]:
        return 1000 + state["users"].index(user)
    return None


# --- RACF: LISTUSER and YOUR ACCESS ---------------------------------------------------------


def listuser(state: dict, operands: str) -> racf.Result:
    """LISTUSER [(id)]: the base segment of the user's profile."""
    names = [n for n, _v in racf.operands(operands.replace("(", " ").replace(")", " "))]
    user = (names[0] if names else state["ssh_user"]).upper()
    if user not in state["users"]:
        return racf.Result(4, f"ICH30001I UNABLE TO LOCATE USER    ENTRY {user}")
    view = uss(state)
    attrs = view["attributes"].get(user) or ["NONE"]
    clauth = view["clauth"].get(user) or ["NONE"]
    return racf.Result(
        0,
        "\n".join(
            [
                f"USER={user}  NAME=TEST DOUBLE  OWNER=SYS1      CREATED=26.001",
                " DEFAULT-GROUP=SYS1     PASSDATE=26.001 PASS-INTERVAL= 90 PHRASEDATE=N/A",
                f" ATTRIBUTES={' '.join(attrs)}",
                " REVOKE DATE=NONE   RESUME DATE=NONE",
                " LAST-ACCESS=26.001/00:00:00",
                f" CLASS AUTHORIZATIONS={' '.join(clauth)}",
                " NO-INSTALLATION-DATA",
                " NO-MODEL-NAME",
                " LOGON ALLOWED   (DAYS)          (TIME)",
                " ---------------------------------------------",
                " ANYDAY                          ANYTIME",
                "  GROUP=SYS1      AUTH=USE      CONNECT-OWNER=SYS1     CONNECT-DATE=26.001",
                "    CONNECTS=    00  UACC=NONE     LAST-CONNECT=UNKNOWN",
                "    CONNECT ATTRIBUTES=NONE",
                "    REVOKE DATE=NONE   RESUME DATE=NONE",
                " SECURITY-LEVEL=NONE SPECIFIED",
                " CATEGORY-AUTHORIZATION",
                "  NONE SPECIFIED",
                " SECURITY-LABEL=NONE SPECIFIED",
            ]
        ),
    )


def access_of(state: dict, user: str, profile: dict) -> str:
    """A user's access to a profile: its access list entry, else UACC (no groups here)."""
    return profile["acl"].get(user.upper(), profile["uacc"])


def best_profile(state: dict, klass: str, name: str) -> dict | None:
    """The discrete profile, else the most specific generic one that matches (`**` any
    qualifiers, `*` one): for the double's own checks (su), not for RLIST."""
    profiles = state["profiles"].get(klass, {})
    if name in profiles:
        return profiles[name]
    matches = [p for p in profiles if "*" in p and fnmatch.fnmatchcase(name, p.replace("**", "*"))]
    return profiles[max(matches, key=len)] if matches else None


def has_access(state: dict, user: str, klass: str, name: str, level: str) -> bool:
    profile = best_profile(state, klass, name)
    if profile is None:
        return False
    return LEVELS.index(access_of(state, user, profile)) >= LEVELS.index(level)


# --- z/OS UNIX --------------------------------------------------------------------------------


def id_command(state: dict, argv: list[str]) -> tuple[int, bytes, bytes]:
    """`id NAME` / `id -u NAME` for RACF users; None: the caller runs the real id."""
    user = argv[-1].upper()
    number = uid(state, user) if user in state["users"] else None
    if number is None:
        return 1, b"", f"id: FSUM6137 {argv[-1]}: user not found\n".encode()
    if argv[:-1] == ["-u"]:
        return 0, f"{number}\n".encode(), b""
    return 0, f"uid={number}({user}) gid=0(SYS1)\n".encode(), b""


def su_allowed(state: dict, target: str) -> bool:
    """`su -s TARGET` without a password: READ to SURROGAT BPX.SRV.<TARGET> (z/OS UNIX
    Command Reference, su), or the SSH user is TARGET."""
    ssh = state["ssh_user"]
    return target == ssh or has_access(state, ssh, "SURROGAT", f"BPX.SRV.{target}", "READ")


def ls_e(state: dict, path: str) -> tuple[int, bytes, bytes]:
    from tests.zos_double.cli import get_attr

    if not Path(path).exists():
        return 1, b"", f"ls: FSUM6785 File or directory {path} is not found\n".encode()
    flags = "-" + ("p" if get_attr(state, path, "progctl") == "yes" else "-") + "s-"
    owner = get_attr(state, path, "owner") or state["ssh_user"]
    size = Path(path).stat().st_size
    line = f"-rwxr-xr-x  {flags}  1 {owner:<8} SYS1     {size:>8} Dec  1 00:00 {path}\n"
    return 0, line.encode(), b""


def netstat(state: dict, argv: list[str]) -> tuple[int, bytes, bytes]:
    if argv != ["-f"]:
        return 1, b"", f"netstat (double): only -f (CONFIG) is modelled, not {argv}\n".encode()
    ttls = "Yes" if uss(state)["ttls"] else "No"
    text = "\n".join(
        [
            "MVS TCP/IP NETSTAT CS V2R5       TCPIP Name: TCPIP           00:00:00",
            "TCP Configuration Table:",
            "DefaultRcvBufSize:  00065536  DefaultSndBufSize: 00065536",
            "DefltMaxRcvBufSize: 00262144  SoMaxConn:         0000000010",
            "Global Configuration Information:",
            f"TcpIpStats: No    ECSALimit: 0000000K ECSAPermit:  0000000K  TTLS: {ttls}",
        ]
    )
    return 0, (text + "\n").encode(), b""


# --- started tasks: S, P, C, D A ------------------------------------------------------------


def _alive(pid: int | None) -> bool:
    """The process runs (a zombie whose parent has not reaped it does not)."""
    if not pid:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def operator(state: dict, command: str) -> tuple[int, bytes, bytes] | None:
    """S/P/C/D A for the started tasks in uss["started_tasks"]; None: not one of these."""
    verb, _, operand = command.strip().partition(" ")
    verb = verb.upper()
    tasks = uss(state)["started_tasks"]
    if verb in ("D", "DISPLAY") and operand.upper().startswith("A,"):
        name = operand[2:].upper()
        lines = ["IEE115I 00.00.00 2026.336 ACTIVITY 001"]
        lines += [" JOBS     M/S    TS USERS    SYSAS    INITS   ACTIVE/MAX VTAM     OAS"]
        lines += [" 00000    00001  00000       00032    00010   00000/00030       00001"]
        task = tasks.get(name)
        if task and _alive(task.get("pid")):
            lines.append(f" {name:<8} {name:<8} {name:<8} OWT  SO  A=0045   PER=NO   SMC=000")
            lines.append(f"           USERID={task['user']}")
        else:
            lines.append(f" {name} NOT FOUND")
        return 0, ("\n".join(lines) + "\n").encode(), b""
    if verb not in ("S", "START", "P", "STOP", "C", "CANCEL"):
        return None
    name = operand.split(",")[0].upper()
    task = tasks.get(name)
    if task is None:
        return 0, racf.unmodelled(f"no procedure {name} in the double").encode() + b"\n", b""
    if verb in ("S", "START"):
        if _alive(task.get("pid")):
            return 0, racf.unmodelled(f"{name} is active already").encode() + b"\n", b""
        log = open(Path(task["config_dir"]) / "stc.log", "ab")  # noqa: SIM115
        env = dict(os.environ, JUPYTER_CONFIG_DIR=task["config_dir"], ZOS_DOUBLE_USER=task["user"])
        env.pop("KG_AUTH_TOKEN", None)
        proc = subprocess.Popen(
            [task["python"], "-m", "kernel_gateway"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
        )
        task["pid"] = proc.pid
        task.setdefault("starts", 0)
        task["starts"] += 1
        return 0, f"$HASP100 {name} ON STCINRDR\n".encode(), b""
    if _alive(task.get("pid")):
        os.kill(task["pid"], signal.SIGTERM if verb in ("P", "STOP") else signal.SIGKILL)
    return 0, f"{verb} {name} ACCEPTED\n".encode(), b""
