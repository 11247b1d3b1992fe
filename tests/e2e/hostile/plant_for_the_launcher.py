"""Run in alice's own kernel on the gateway (EVIL: a directory name, put in by the test).
Plants what would run as root if her next kernel start could choose the launcher's
environment: a `python3` first on a PATH through EVIL, and a sitecustomize.py for a
PYTHONPATH of EVIL. Each leaves a marker `<what>-as-<uid>` in EVIL when it runs (EVIL is
0777: root in the gateway has no DAC_OVERRIDE). Then it runs both once as her, to show
they work when honoured, and clears the markers. Its value: the markers that showed."""

import os
import subprocess
import sys
from pathlib import Path

evil = Path("EVIL")
evil.mkdir()
evil.chmod(0o777)
(evil / "sitecustomize.py").write_text(
    "import os\n"
    f"open(os.path.join({str(evil)!r}, f'sitecustomize-as-{{os.getuid()}}'), 'w').close()\n"
)
fake = evil / "python3"
fake.write_text(f'#!/bin/sh\n: > "{evil}/python3-as-$(id -u)"\nexec {sys.executable} "$@"\n')
for planted in evil.iterdir():
    planted.chmod(0o755)
env = {"PATH": f"{evil}:{os.environ['PATH']}", "PYTHONPATH": str(evil)}
subprocess.run(["python3", "-c", "pass"], env=env, check=True)
shown = sorted(p.name for p in evil.iterdir() if "-as-" in p.name)
for marker in shown:
    (evil / marker).unlink()
",".join(shown)
