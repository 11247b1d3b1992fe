"""The z/OS commands the step scripts call that Linux lacks (or that need z/OS data sets
or RACF user IDs): tsocmd, mvscmdauth, opercmd, pasearch, cp (for //'DSN'), chtag,
chown (to RACF IDs), uuencode, sleep. Each invocation is logged with its argv, so the
tests can check that no secret was ever on a command line.

Run as `python -m tests.zos_double.cli TOOL ARGS...`; the state file is $ZOS_DOUBLE_STATE.
`install(bin_dir, state)` writes one wrapper per tool, to put first on PATH.
"""

from __future__ import annotations

import base64
import os
import re
import sys
from pathlib import Path

from tests.zos_double import racf, uss

TOOLS = ("tsocmd", "mvscmdauth", "opercmd", "pasearch", "cp", "chtag", "chown", "uuencode")
# `sleep` waits at most 0.2 s: the double's PAGENT installs policy synchronously, and the
# stand-in gateway needs a moment to start and stop. id, ls, su and netstat answer for
# z/OS where Linux cannot (RACF users, ls -E, su -s, netstat -f), else run Linux's.
FREE_TOOLS = ("sleep", "id", "ls", "su", "netstat")


def install(bin_dir: Path, state_path: Path, python: str = sys.executable) -> None:
    import compileall

    bin_dir.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[2]
    # A deploy runs these ~100 times: bytecode compiled once (PYTHONDONTWRITEBYTECODE
    # would make every run compile the double again) and -m, so cli's own is used too;
    # -P: nothing from the session's working directory is imported.
    compileall.compile_dir(Path(__file__).resolve().parent, quiet=1)
    compileall.compile_file(Path(__file__).resolve().parents[1] / "__init__.py", quiet=1)
    for tool in TOOLS + FREE_TOOLS:
        wrapper = bin_dir / tool
        wrapper.write_text(
            "#!/bin/sh\n"
            f"ZOS_DOUBLE_STATE='{state_path}' PYTHONPATH='{root}' "
            f"exec '{python}' -P -m tests.zos_double.cli {tool} \"$@\"\n"
        )
        wrapper.chmod(0o755)


# --- z/OS file attributes (tag, owner): they belong to the file, so they move with mv ---


def set_attr(state: dict, path: str, name: str, value: str) -> None:
    try:
        os.setxattr(path, f"user.zos.{name}", value.encode())
    except OSError:  # no user xattrs here: key by inode instead
        st = os.stat(path)
        state.setdefault("attrs", {}).setdefault(f"{st.st_dev}:{st.st_ino}", {})[name] = value


def get_attr(state: dict, path: str, name: str) -> str | None:
    try:
        return os.getxattr(path, f"user.zos.{name}").decode()
    except FileNotFoundError:
        return None
    except OSError:
        st = os.stat(path)
        return state.get("attrs", {}).get(f"{st.st_dev}:{st.st_ino}", {}).get(name)


# --- PAGENT and pasearch --------------------------------------------------------------------


def _pagent_parse(text: str) -> tuple[dict, list[str]]:
    """The TTLS rules of a policy file, as PAGENT would install them (or its errors)."""
    tokens = []
    for number, line in enumerate(text.splitlines(), 1):
        for token in re.findall(r"[{}]|[^\s{}]+", line.split("#", 1)[0]):
            tokens.append((number, token))
    blocks: dict[tuple[str, str], dict[str, list[str]]] = {}
    stack: list[dict[str, list[str]]] = []
    i = 0
    try:
        while i < len(tokens):
            _n, tok = tokens[i]
            if tok == "}":
                stack.pop()
                i += 1
                continue
            if not stack:
                kind, name, brace = tok, tokens[i + 1][1], tokens[i + 2][1]
                if brace != "{":
                    raise ValueError(f"line {tokens[i][0]}: {kind} {name} without '{{'")
                blocks[(kind, name)] = {}
                stack.append(blocks[(kind, name)])
                i += 3
                continue
            if i + 1 < len(tokens) and tokens[i + 1][1] == "{":
                inner: dict[str, list[str]] = {}
                stack[-1].setdefault(tok, []).append(inner)  # type: ignore[arg-type]
                stack.append(inner)
                i += 2
                continue
            line = tokens[i][0]
            values = []
            i += 1
            while i < len(tokens) and tokens[i][0] == line and tokens[i][1] not in "{}":
                values.append(tokens[i][1])
                i += 1
            stack[-1][tok] = values
        if stack:
            raise ValueError("unbalanced braces")
    except (IndexError, ValueError) as exc:
        return {}, [f"EZZ8434I PAGENT POLICY DEFINITIONS CONTAIN ERRORS FOR TCPIP : TTLS ({exc})"]
    rules = {}
    for (kind, name), params in blocks.items():
        if kind != "TTLSRule":
            continue
        env = blocks.get(("TTLSEnvironmentAction", params.get("TTLSEnvironmentActionRef", [""])[0]))
        ring = None
        if env and env.get("TTLSKeyRingParms"):
            ring = env["TTLSKeyRingParms"][0].get("Keyring", [None])[0]  # type: ignore[index]
        rules[name] = {
            "port": " ".join(params.get("LocalPortRange", [])),
            "direction": " ".join(params.get("Direction", [])),
            "keyring": ring,
            "role": " ".join(env.get("HandshakeRole", [])) if env else None,
        }
    return rules, []


def _pagent_refresh(state: dict) -> None:
    pagent = state["pagent"]
    pagent["refreshes"] += 1
    path = pagent.get("ttls_config")
    if not path or not Path(path).is_file():
        pagent["rules"] = {}
        pagent["errors"].append(f"EZZ8438I PAGENT CANNOT OPEN TTLSConfig {path}")
        return
    if get_attr(state, path, "tag") != "t IBM-1047":
        # PAGENT reads the file as IBM-1047; untagged ASCII would be read as garbage.
        pagent["rules"] = {}
        pagent["errors"].append(f"{path} is not tagged as IBM-1047 text")
        return
    rules, errors = _pagent_parse(Path(path).read_text())
    pagent["rules"], pagent["errors"] = rules, pagent["errors"] + errors


def _pasearch(state: dict) -> str:
    lines = ["TCP/IP pasearch CS V3R1                   Image Name: TCPIP"]
    lines.append("  TTLS Instance Id:  1")
    for name, rule in sorted(state["pagent"]["rules"].items()):
        lines += [
            f"TTLS Rule Name:           {name}",
            "  Version:                3           Status:             Active",
            f"  Direction:              {rule['direction']}",
            f"  LocalPortFrom:          {rule['port']}",
            f"  HandshakeRole:          {rule['role']}",
            f"  Keyring:                {rule['keyring']}",
        ]
    return "\n".join(lines)


# --- the tools ------------------------------------------------------------------------------


def _redact(command: str) -> str:
    return re.sub(r"PASSWORD\('[^']*'\)", "PASSWORD(*)", command, flags=re.I)


def run(tool: str, argv: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
    if tool == "sleep":
        import time

        time.sleep(min(float(argv[0]) if argv else 0, 0.2))
        return 0, b"", b""
    if tool in ("id", "ls", "su", "netstat"):
        return _uss_tool(tool, argv)
    if tool == "cp" and not any(a.startswith("//") for a in argv):
        # Plain UNIX files: the real cp.
        import shutil

        os.execv(shutil.which("cp", path="/usr/bin:/bin"), ["cp", *argv])  # noqa: S606

    with racf.locked_state(os.environ[racf.STATE_ENV]) as state:
        state["counter"] += 1
        entry = {"n": state["counter"], "tool": tool, "argv": argv, "mutates": False}
        state["log"].append(entry)
        if state.get("fail_at") == state["counter"]:
            command = " ".join(argv)
            entry.update(injected=True, command=_redact(command))
            if tool in ("tsocmd", "mvscmdauth"):
                result = racf.injected_failure(stdin.decode() or command, state)
                entry["rc"] = result.rc
                return result.rc, result.text.encode() + b"\n", b""
            entry["rc"] = 1
            message = f"{tool}: EDC5111I Permission denied. (failure injected by the test)\n"
            return 1, b"", message.encode()
        rc, out, err = _tool(tool, argv, stdin, state, entry)
        entry["rc"] = rc
        # kill_after: an invocation number; kill_on: text of a TSO command (the first one
        # that holds it). Either kills once.
        said = " ".join([entry.get("command") or "", *entry.get("commands", [])])
        killed = state.get("kill_after") == state["counter"] or bool(
            state.get("kill_on") and state["kill_on"] in said
        )
        if killed:
            entry["killed"] = True
            state["kill_after"] = state["kill_on"] = None
    if killed:
        # The step is killed right after this command (a lost connection, a kill -9):
        # its whole process group, nothing it could trap.
        import signal

        os.killpg(os.getpgid(0), signal.SIGKILL)
    return rc, out, err


def _tool(tool: str, argv: list[str], stdin: bytes, state: dict, entry: dict):
    if tool == "tsocmd":
        if len(argv) != 1:
            return 1, b"", b"tsocmd: give the TSO command as one argument\n"
        entry["command"] = argv[0]
        result = racf.tso(state, argv[0])
        entry["mutates"] = result.mutates
        # tsocmd echoes the command on stderr, the command's output on stdout.
        return (
            result.rc,
            (result.text + "\n").encode() if result.text else b"",
            (argv[0] + "\n").encode(),
        )

    if tool == "mvscmdauth":
        if sorted(argv) != sorted(["--pgm=IKJEFT01", "--systsprt=*", "--systsin=stdin"]):
            return 8, b"", f"mvscmdauth (double): unexpected arguments {argv}\n".encode()
        records = stdin.decode().splitlines()
        if any(len(r) > 80 for r in records):
            racf._violation(state, "a SYSTSIN record longer than 80 columns")
        commands, current = [], ""
        for record in records:
            stripped = record.rstrip()
            if stripped.endswith(("-", "+")):
                current += stripped[:-1]
                continue
            current += stripped
            if current.strip():
                commands.append(current)
            current = ""
        out, rc = ["READY"], 0
        for command in commands:
            out.append(command)  # the batch TMP echoes each command it reads
            result = racf.tso(state, command)
            entry["mutates"] = entry["mutates"] or result.mutates
            rc = result.rc
            if result.text:
                out.append(result.text)
            out.append("READY")
        out.append("END")
        entry["commands"] = [_redact(c) for c in commands]
        return rc, ("\n".join(out) + "\n").encode(), b""

    if tool == "opercmd":
        command = " ".join(argv)
        entry["command"] = command
        answer = uss.operator(state, command)
        if answer is not None:
            entry["mutates"] = not command.upper().startswith("D ")
            return answer
        if command.upper() == "F PAGENT,REFRESH":
            _pagent_refresh(state)
            entry["mutates"] = True
            return 0, b"EZZ8443I PAGENT MODIFY COMMAND ACCEPTED\n", b""
        return 0, f"IEE305I {command} COMMAND INVALID\n".encode(), b""

    if tool == "pasearch":
        if not uss.uss(state)["pagent"]:
            return 1, b"", racf.unmodelled("pasearch: the Policy Agent is not active").encode()
        if argv != ["-t"]:
            return 1, b"", f"pasearch (double): unexpected arguments {argv}\n".encode()
        return 0, (_pasearch(state) + "\n").encode(), b""

    if tool == "cp":
        args = [a for a in argv if a != "-B"]
        if "-B" not in argv or len(args) != 2:
            message = f"cp (double): only cp -B //'DSN' FILE is modelled, not {argv}\n"
            return 1, b"", message.encode()
        source, target = args
        dsn = source[2:].strip("'").upper()
        if dsn not in state["datasets"]:
            return (
                1,
                b"",
                (
                    f'cp: FSUM6258 cannot open file "{source}": EDC5049I The specified file name '
                    "could not be found.\n"
                ).encode(),
            )
        Path(target).write_bytes(base64.b64decode(state["datasets"][dsn]))
        return 0, b"", b""

    if tool == "chtag":
        if len(argv) == 2 and argv[0] == "-b":
            tag, path = "b", argv[1]
        elif len(argv) == 3 and argv[0] == "-tc":
            tag, path = f"t {argv[1]}", argv[2]
        else:
            return 1, b"", f"chtag (double): unexpected arguments {argv}\n".encode()
        if not Path(path).exists():
            return 1, b"", f"chtag: FSUM6404 {path}: no such file\n".encode()
        set_attr(state, path, "tag", tag)
        entry["mutates"] = True
        return 0, b"", b""

    if tool == "chown":
        if len(argv) < 2:
            return 1, b"", b"chown (double): chown OWNER FILE...\n"
        owner = argv[0].upper()
        if owner not in state["users"]:
            return 1, b"", f"chown: FSUM6180 {argv[0]} is not a user ID\n".encode()
        for path in argv[1:]:
            if not Path(path).exists():
                return 1, b"", f"chown: {path}: no such file\n".encode()
            set_attr(state, path, "owner", owner)
        entry["mutates"] = True
        return 0, b"", b""

    if tool == "uuencode":
        if len(argv) != 3 or argv[0] != "-m":
            return 1, b"", f"uuencode (double): only -m FILE NAME, not {argv}\n".encode()
        return 0, uuencode_m(Path(argv[1]).read_bytes(), argv[2]).encode(), b""

    return 127, b"", f"{tool}: not in the double\n".encode()


def _real(tool: str, argv: list[str]):
    import shutil

    os.execv(shutil.which(tool, path="/usr/bin:/bin"), [tool, *argv])  # noqa: S606


def _uss_tool(tool: str, argv: list[str]) -> tuple[int, bytes, bytes]:
    """id, ls, su, netstat: z/OS's answer where the double models it, else Linux's."""
    state_path = os.environ[racf.STATE_ENV]
    if tool == "id" and argv == ["-u"]:
        with racf.locked_state(state_path) as state:  # the SSH user's own UID
            return 0, f"{uss.uid(state, state['ssh_user'])}\n".encode(), b""
    if tool == "id" and (not argv or argv[-1].startswith("-")):
        _real(tool, argv)  # the caller's own name (id -un)
    if tool == "ls" and "-E" not in argv:
        _real(tool, argv)
    if tool == "su":
        if len(argv) < 2 or argv[0] != "-s":
            return 1, b"", f"su (double): only su -s USERID [sh args], not {argv}\n".encode()
        target = argv[1].upper()
        with racf.locked_state(state_path) as state:
            state["counter"] += 1
            allowed = uss.su_allowed(state, target)
            state["log"].append(
                {
                    "n": state["counter"],
                    "tool": tool,
                    "argv": argv,
                    "mutates": False,
                    "rc": 0 if allowed else 1,
                }
            )
        if not allowed:
            return (
                1,
                b"",
                (
                    f"FSUM5019 Enter the password for {argv[1]}:\n"
                    f"su: no password (stdin is not a terminal) and no READ to SURROGAT "
                    f"BPX.SRV.{target}\n"
                ).encode(),
            )
        os.environ["ZOS_DOUBLE_USER"] = target
        os.execv("/bin/sh", ["sh", *argv[2:]])  # noqa: S606
    with racf.locked_state(state_path) as state:
        if tool == "id":
            return uss.id_command(state, argv)
        if tool == "ls":
            return uss.ls_e(state, argv[-1])
        return uss.netstat(state, argv)


def uuencode_m(data: bytes, name: str) -> str:
    """What `uuencode -m FILE NAME` prints (the export steps' PKCS#12 on stdout)."""
    encoded = base64.b64encode(data).decode()
    body = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
    return f"begin-base64 600 {name}\n{body}\n====\n"


def main() -> int:
    tool, argv = sys.argv[1], sys.argv[2:]
    stdin = sys.stdin.buffer.read() if tool == "mvscmdauth" else b""
    rc, out, err = run(tool, argv, stdin)
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    return rc


if __name__ == "__main__":
    sys.exit(main())
