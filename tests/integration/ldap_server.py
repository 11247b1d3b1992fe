"""A real dev directory on loopback for tests: the image's entrypoint, run here.

The slapd config and the seed come from components.directory.render (what the
program uploads into the container), and slapd is started by images/ldap/entrypoint.sh
itself, so the tests exercise the shipped seeding logic, not a copy of it.
Certificates are made with `cryptography` from the program's CertSpecs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from components.directory.render import SlapdPaths, render_slapd_conf
from tests.support.certs import Issued
from tests.tooling import free_port, require_tool, wait_for_port

ENTRYPOINT = Path(__file__).resolve().parents[2] / "images" / "ldap" / "entrypoint.sh"


def world_readable_tmpdir(prefix: str) -> Path:
    """A scratch dir slapd can use after it drops root for the openldap user (pytest's
    own tmp dirs are private to the user running the tests)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


class DevDirectory:
    """slapd run by the image's entrypoint, on 127.0.0.1:<port>, StartTLS with `server`."""

    def __init__(
        self,
        base: Path,
        server: Issued,
        seed_ldif: str,
        *,
        require_tls: bool = True,
        ldaps_port: int | None = None,
    ):
        require_tool("slapd")
        require_tool("slapadd")
        self.base = base
        self.port = free_port()
        self.ldaps_port = ldaps_port
        self.paths = SlapdPaths(
            data_dir=str(base / "data"),
            tls_cert=str(base / "tls.crt"),
            tls_key=str(base / "tls.key"),
            run_dir=str(base / "run"),
        )
        server.write(base, "tls")
        self.conf = base / "slapd.conf"
        self.conf.write_text(render_slapd_conf(self.paths, require_tls=require_tls))
        self.seed = base / "seed.ldif"
        self.seed.write_text(seed_ldif)
        self.log = base / "slapd.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}/"

    @property
    def urls(self) -> str:
        if self.ldaps_port is None:
            return self.url
        return f"{self.url} ldaps://127.0.0.1:{self.ldaps_port}/"

    def start(self) -> DevDirectory:
        env = {
            "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]),
            "SLAPD_CONF": str(self.conf),
            "SLAPD_SEED_LDIF": str(self.seed),
            "SLAPD_URLS": self.urls,
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                ["sh", str(ENTRYPOINT)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.port, timeout=20)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"slapd did not start:\n{self.log.read_text()}") from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")
