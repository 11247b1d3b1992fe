"""STAND-IN health check (tests only; written for tests/e2e/base_images): healthy when
the server this container runs answers GET <its url>api. The url comes from the server's
own runtime file (jpserver-<pid>.json), so base_url (the hub's /user/<name>/) is right."""

import json
import ssl
import sys
import urllib.request
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir

servers = sorted(Path(jupyter_runtime_dir()).glob("jpserver-*.json"))
if not servers:
    sys.exit("no running Jupyter server")
url = json.loads(servers[-1].read_text())["url"].rstrip("/") + "/api"
# The server's certificate (if any) is for the hub's users, not for this check.
context = ssl._create_unverified_context()  # noqa: S323
with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
    sys.exit(0 if response.status == 200 else 1)
