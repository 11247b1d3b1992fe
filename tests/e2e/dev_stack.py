"""The dev stack deployed by the local applier, as the e2e tests and `make bench` drive it:
`python -m tests.e2e.deploy up|down` in a subprocess (an operator's command, and a fresh
mock runtime each time), outputs read back, users as browsers (hub_client.HubUser)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from components.docker import names
from tests.e2e.hub_client import HubUser

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Deployment:
    outputs: dict
    port: int
    ca_file: Path
    state_dir: Path
    pki_dir: Path
    config: list[str]  # the --set arguments of the last `up`
    stack: str = "dev"  # another stack beside dev: tests/e2e/test_two_stacks.py

    def user(self, name: str) -> HubUser:
        return HubUser(self.outputs["hub_url"], self.ca_file, name)

    def password(self, name: str) -> str:
        return self.outputs["dev_passwords"][name]

    def logged_in(self, name: str) -> HubUser:
        user = self.user(name)
        if not user.login(self.password(name)):
            raise RuntimeError(f"{name} could not log in")
        return user


def deploy(*args: str, state_dir: Path, outputs: Path | None = None) -> str:
    cmd = [sys.executable, "-m", "tests.e2e.deploy", *args, "--state-dir", str(state_dir)]
    if outputs is not None:
        cmd += ["--outputs", str(outputs)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3000)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def changes(stdout: str) -> int:
    """How many changes `deploy up` reports: its summary line is
    'deploy up --stack S: 2 create, 1 replace; 40 unchanged' or '...: no changes; ...'."""
    for line in stdout.splitlines():
        if line.startswith("deploy up --stack "):
            summary = line.split(": ", 1)[1].split(";")[0]
            if summary == "no changes":
                return 0
            return sum(int(part.split()[0]) for part in summary.split(", "))
    raise RuntimeError(f"no summary line in:\n{stdout}")


def up(d: Deployment, *extra: str) -> str:
    d.config = [*d.config, *extra]
    out_file = d.state_dir / "outputs.json"
    stdout = deploy("up", "--stack", d.stack, *d.config, state_dir=d.state_dir, outputs=out_file)
    d.outputs = json.loads(out_file.read_text())
    # After a `down` the next `up` makes a new hub CA (destroy removed the old one).
    d.ca_file.write_text(d.outputs["hub_ca_cert"])
    return stdout


def container(client, name: str):
    return client.containers.get(name)


def remove_leftovers(client, stack_names: names.StackNames = names.DEV_NAMES) -> None:
    """What a test run leaves that `down` keeps on purpose (the data volume, users'
    volumes) or that the hub made (notebook containers), and everything of a run that
    was killed before its `down`: gone before and after. Only the stack's own names and
    label (on dev also unlabeled): another stack's notebooks under `jupyter-` stay."""
    n = stack_names
    owner = names.stack_label("jupyterhub-zos", n.stack)

    def ours(labels) -> bool:
        found = (labels or {}).get(names.STACK_LABEL)
        return found == owner or (not found and n.stack == names.DEV_STACK)

    for c in client.containers.list(all=True):
        named = c.name in n.fixed_containers or c.name.startswith(f"{n.notebook_prefix}-")
        if named and ours(c.labels):
            c.remove(force=True)
    stack_networks = {n.network, n.directory_network}
    for net in client.networks.list(names=sorted(stack_networks)):
        if net.name in stack_networks and ours(net.attrs.get("Labels")):
            net.remove()
    user_volumes = n.user_volume_template.split("{", 1)[0]
    for v in client.volumes.list():
        named = v.name in (n.data_volume, n.directory_volume) or v.name.startswith(user_volumes)
        if named and ours(v.attrs.get("Labels")):
            v.remove(force=True)
