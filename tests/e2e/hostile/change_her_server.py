"""Run inside alice's notebook container as her (uid 1000), as a terminal of her notebook
server would: try to change what her server serves. Anyone on the hub's origin reaches
her server at /user/alice/, and some of what it serves it serves without asking who asks
(JupyterLab's extension files, static files): a page of hers there, or code of hers in
the server (run by an export of hers, or put into it or into the container's init, which
outlives it), would run in bob's browser as the hub's own page. Prints, as JSON, what
each attempt got.
argv[1]: the name her page and files go by. Joined after her_template.py."""

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

name = sys.argv[1]
page = f"<script>/* {name} */</script>{name}"
out = {"pages": {}, "modules": {}, "trace": {}}


def attempt(action):
    try:
        action()
        return "done"
    except OSError as e:
        return type(e).__name__


def plant(path: Path, text: str = page):
    def write():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return write


# A page in every data directory Jupyter looks in: JupyterLab serves any
# <data>/labextensions/<extension>/static/ file to anyone at /lab/extensions/.
paths = json.loads(subprocess.check_output(["jupyter", "--paths", "--json"]))
for data in paths["data"]:
    target = Path(data) / "labextensions" / name / "static" / "page.html"
    out["pages"][str(target)] = attempt(plant(target))

# Code in the server's Python: a new module on its import path (imported later, lazily),
# an existing module of the server opened for writing (nothing written), and a page among
# jupyter_server's static files (served to anyone at /static/).
server_python = subprocess.check_output(
    [
        sys.executable,
        "-c",
        "import json, sys, jupyter_server; print(json.dumps([sys.path, jupyter_server.__file__]))",
    ]
)
import_path, server_module = json.loads(server_python)
for entry in [p for p in import_path if p and os.path.isdir(p)]:
    out["modules"][entry] = attempt(plant(Path(entry) / f"{name}.py"))
out["modules"][server_module] = attempt(lambda: open(server_module, "r+b").close())  # noqa: SIM115
static = Path(server_module).parent / "static" / f"{name}.html"
out["pages"][str(static)] = attempt(plant(static))

# Code the server runs when she exports a notebook of hers (her own right): nbconvert
# looks for templates in the server's working directory first, and makes the
# preprocessors their conf.json names. She cannot see the server's working directory
# (it is not dumpable), so she plants in each place it could be. The test then exports
# work/<name>.ipynb through her server and looks for the marker.
notebook = Path.home() / "work" / f"{name}.ipynb"
notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
conf = her_template(  # noqa: F821 - her_template.py, joined before this script
    Path("/tmp") / f"{name}-payload.py", Path("/tmp") / f"{name}-ran-in-the-server"
)
out["templates"] = {}
for folder in sorted({str(Path.home()), str(Path.home() / "work"), os.getcwd(), "/"}):
    target = Path(folder) / "lab" / "conf.json"
    out["templates"][str(target)] = attempt(plant(target, conf))

# The running server and the container's init (tini: the server's exit ends the container
# only while it is the init's child): traced, or their memory opened for writing.
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
server_pid = next(
    int(p.name)
    for p in Path("/proc").iterdir()
    if p.name.isdigit()
    and int(p.name) != os.getpid()
    and any(
        a.endswith(b"/jupyterhub-singleuser") for a in (p / "cmdline").read_bytes().split(b"\0")
    )
)
for who, pid in (("server", server_pid), ("init", 1)):
    if libc.ptrace(PTRACE_ATTACH, pid, 0, 0) == 0:
        os.waitpid(pid, 0)
        libc.ptrace(PTRACE_DETACH, pid, 0, 0)
        out["trace"][f"{who}_ptrace"] = "done"
    else:
        out["trace"][f"{who}_ptrace"] = os.strerror(ctypes.get_errno())
    out["trace"][f"{who}_mem"] = attempt(lambda: open(f"/proc/{pid}/mem", "r+b").close())  # noqa: B023, SIM115
print(json.dumps(out))
