"""A pretend z/OS host for tests: a real OpenSSH sshd on 127.0.0.1 with its own host
key and authorized key, whose sessions run the command with /bin/sh (as z/OS's login
shell does), the z/OS double's commands first on PATH and a home of its own.

The client is the real OpenSSH ssh with StrictHostKeyChecking=yes against a
known_hosts file holding only this server's key.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.tooling import free_port, require_tool, wait_for_port
from tests.zos_double import cli, racf


@dataclass
class Session:
    rc: int
    stdout: str
    stderr: str


class ZosHost:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.user = getpass.getuser()
        self.bin = root / "zos-bin"
        self.home = root / "home"
        self.state_path = root / "racf.json"
        self.commands_log = root / "commands"
        self.proc: subprocess.Popen | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> ZosHost:
        sshd = require_tool("sshd")
        keygen = require_tool("ssh-keygen")
        self.ssh = require_tool("ssh")
        self.home.mkdir()
        self.commands_log.mkdir()
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(self.root / "host_key")], check=True
        )
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(self.root / "client_key")],
            check=True,
        )
        self.host_public_key = (self.root / "host_key.pub").read_text().split()[:2]
        self.client_private_key = (self.root / "client_key").read_text()
        (self.root / "authorized_keys").write_text((self.root / "client_key.pub").read_text())
        (self.root / "known_hosts").write_text(
            f"[127.0.0.1]:{self.port} {' '.join(self.host_public_key)}\n"
        )
        cli.install(self.bin, self.state_path)
        # The login: record the command text sshd received, then run it like z/OS does.
        login = self.root / "zos-login"
        login.write_text(
            "#!/bin/sh\n"
            f"log=$(mktemp '{self.commands_log}/cmd.XXXXXXXX')\n"
            'printf \'%s\' "$SSH_ORIGINAL_COMMAND" >"$log"\n'
            f"PATH='{self.bin}':/usr/bin:/bin HOME='{self.home}' TMPDIR='{self.root}/tmp'\n"
            "export PATH HOME TMPDIR\n"
            'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n'
        )
        login.chmod(0o755)
        (self.root / "tmp").mkdir(mode=0o700)
        config = self.root / "sshd_config"
        config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.root / 'host_key'}\n"
            f"PidFile {self.root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PermitRootLogin prohibit-password\n"
            f"AllowUsers {self.user}\n"
            f"ForceCommand {login}\n"
            # The double's home from the start: the login shell (the tester's, often bash)
            # then reads no rc files of the tester's own home (a pyenv init costs ~0.3 s).
            f"SetEnv HOME={self.home}\n"
            "LogLevel ERROR\n"
        )
        if os.geteuid() == 0:
            # sshd started by root wants its privilege-separation directory.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "sshd.log", "wb"),  # noqa: SIM115
        )
        wait_for_port(self.port, timeout=15)
        return self

    def stop(self) -> None:
        subprocess.run(
            [self.ssh, "-o", f"ControlPath={self.root / 'cm'}", "-O", "exit", "x"],
            capture_output=True,
        )
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    # -- state of the double ------------------------------------------------------------------

    def reset(self, state: dict) -> None:
        """A fresh z/OS: RACF state, an empty home, no commands recorded."""
        racf.save(self.state_path, state)
        shutil.rmtree(self.home)
        self.home.mkdir()
        shutil.rmtree(self.commands_log, ignore_errors=True)
        self.commands_log.mkdir()

    def snapshot(self, paths: list[Path]) -> dict:
        """Everything a step may change: the double's state, the home (markers) and the
        given files or directories (copied with their z/OS attributes)."""
        saved = self.root / f"snapshot-{len(list(self.root.glob('snapshot-*')))}"
        saved.mkdir()
        shutil.copytree(self.home, saved / "home", symlinks=True)
        copies = {}
        for i, path in enumerate(paths):
            if path.is_dir():
                shutil.copytree(path, saved / str(i), symlinks=True)
            elif path.exists():
                shutil.copy2(path, saved / str(i))
            copies[path] = saved / str(i)
        return {"state": self.state, "home": saved / "home", "paths": copies}

    def restore(self, snapshot: dict) -> None:
        racf.save(self.state_path, snapshot["state"])
        shutil.rmtree(self.home)
        shutil.copytree(snapshot["home"], self.home, symlinks=True)
        for path, copy in snapshot["paths"].items():
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            if copy.is_dir():
                shutil.copytree(copy, path, symlinks=True)
            elif copy.exists():
                shutil.copy2(copy, path)

    @property
    def state(self) -> dict:
        return racf.load(self.state_path)

    def update(self, **changes) -> None:
        state = self.state
        state.update(changes)
        racf.save(self.state_path, state)

    def command_texts(self) -> list[str]:
        """Every command text sshd received since the last reset."""
        return [p.read_text() for p in sorted(self.commands_log.iterdir())]

    # -- running -----------------------------------------------------------------------------

    def run(self, script: str, stdin: str = "", known_hosts: Path | None = None) -> Session:
        """Run one step script over SSH, exactly as given, with stdin. Sessions share one
        connection (the host key is checked when it is made) to keep the tests fast;
        with other known_hosts, a connection of its own."""
        if known_hosts is None:
            mux = ["-o", "ControlMaster=auto", "-o", f"ControlPath={self.root / 'cm'}"]
            mux += ["-o", "ControlPersist=300"]
        else:
            mux = ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
        started = time.monotonic()
        result = subprocess.run(
            [
                self.ssh,
                "-F",
                "/dev/null",
                "-i",
                str(self.root / "client_key"),
                "-p",
                str(self.port),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={known_hosts or self.root / 'known_hosts'}",
                "-o",
                "LogLevel=ERROR",
                *mux,
                f"{self.user}@127.0.0.1",
                script,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.last_duration = time.monotonic() - started
        return Session(result.returncode, result.stdout, result.stderr)
