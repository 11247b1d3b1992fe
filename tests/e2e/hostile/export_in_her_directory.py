"""Run inside the notebook image as its user (uid 1000, alice's), with no network: what her
server does when it exports a notebook while its working directory is one of hers. A PDF
export moves the whole server process into a temporary directory its user owns for as
long as it runs (nbconvert's `chdir(td)`, in a worker thread); an HTML export made
meanwhile looks for templates in the working directory and makes the preprocessors a
template's conf.json names. This is that second half, without the race: the image's
jupyter_server, started in a directory of hers that holds such a template, exports a
notebook through its nbconvert handler on loopback.
argv[1]: "image" (the image's server config) or "none" (an empty config in its place,
to show the plant runs when nothing stops it).
Also asks for a PDF export, which the image's config turns off.
Prints, as JSON, whether her code ran, the exports' HTTP statuses and what the server
logged of the PDF export. Joined after her_template.py."""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

hers, root = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
marker = hers / "ran-in-the-server"
(hers / "lab").mkdir()
(hers / "lab" / "conf.json").write_text(
    her_template(hers / "payload.py", marker)  # noqa: F821 - her_template.py, joined before
)
(root / "n.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
token, port = secrets.token_hex(16), 18888
command = [
    sys.executable,
    "-m",
    "jupyter_server",
    "--ServerApp.ip=127.0.0.1",
    f"--ServerApp.port={port}",
    f"--ServerApp.root_dir={root}",
    "--ServerApp.open_browser=False",
]
if sys.argv[1] == "none":
    empty = root / "empty_config.py"
    empty.write_text("")
    command.append(f"--config={empty}")
# The token in the environment, not in argv.
server = subprocess.Popen(
    command,
    cwd=hers,
    env={**os.environ, "JUPYTER_TOKEN": token},
    stdout=subprocess.DEVNULL,
    stderr=subprocess.PIPE,
)


def get(path):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


try:
    for _ in range(600):
        try:
            if get("/api/status") == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit("the server did not start")
    status = get("/nbconvert/html/n.ipynb")
    pdf = get("/nbconvert/pdf/n.ipynb")  # what moves the server into a directory of hers
finally:
    server.terminate()
    _, err = server.communicate(timeout=60)
log = err.decode(errors="replace")
print(
    json.dumps(
        {
            "ran": marker.exists(),
            "status": status,
            "pdf_status": pdf,
            "pdf_disabled": 'Exporter "pdf" disabled' in log,
            "pdf_ran": "xelatex" in log,  # it got as far as running LaTeX (none here)
        }
    )
)
