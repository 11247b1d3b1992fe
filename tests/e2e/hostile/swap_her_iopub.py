"""Run in alice's own kernel (BOB: his kernel id, put in by the test): her kernel owns
its socket directory, so it swaps its IOPub socket for a symlink to bob's kernel's. The
gateway (group root, which may enter every kernel's directory) follows the link when it
next connects her IOPub: for a new channels websocket."""

import json
import os
from pathlib import Path

from ipykernel import get_connection_file

info = json.loads(Path(get_connection_file()).read_text())
mine = f"{info['ip']}-{info['iopub_port']}"
runtime = os.path.dirname(os.path.dirname(info["ip"]))
os.unlink(mine)
os.symlink(os.path.join(runtime, "kernel-BOB.ipc", f"k-{info['iopub_port']}"), mine)
"swapped"
