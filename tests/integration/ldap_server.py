"""A real dev directory on loopback for tests: the image's entrypoint, run here.

The slapd config and the seed come from components.dev_directory_render (what the
program uploads into the container), and slapd is started by images/ldap/entrypoint.sh
itself, so the tests exercise the shipped seeding logic, not a copy of it.
Certificates are made with `cryptography` from the program's CertSpecs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.cert_params import CertSpec
from components.dev_directory_render import SlapdPaths, render_slapd_conf
from tests.tooling import free_port, require_tool, wait_for_port

ENTRYPOINT = Path(__file__).resolve().parents[2] / "images" / "ldap" / "entrypoint.sh"

_KEY_USAGE = {
    "digital_signature": "digital_signature",
    "key_encipherment": "key_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
}
_EXT_USAGE = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
}


@dataclass(frozen=True)
class Issued:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        cert, key = directory / f"{stem}.crt", directory / f"{stem}.key"
        cert.write_bytes(self.cert_pem)
        key.write_bytes(self.key_pem)
        key.chmod(0o600)
        return cert, key


def issue(spec: CertSpec, ca: Issued | None = None) -> Issued:
    """A key and certificate as pulumi-tls would make them from `spec` (ECDSA P-256)."""
    assert spec.key_algorithm == "ECDSA" and spec.ecdsa_curve == "P256"
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    usage = {v: False for v in _KEY_USAGE.values()}
    usage.update({_KEY_USAGE[u]: True for u in spec.allowed_uses if u in _KEY_USAGE})
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject if ca else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=spec.validity_hours))
        .add_extension(x509.BasicConstraints(ca=spec.is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                content_commitment=False,
                data_encipherment=False,
                encipher_only=False,
                decipher_only=False,
                **usage,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    ext = [_EXT_USAGE[u] for u in spec.allowed_uses if u in _EXT_USAGE]
    if ext:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext), critical=False)
    names = [x509.DNSName(n) for n in spec.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in spec.ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signer = ca.key if ca else key
    return Issued(key, builder.sign(signer, hashes.SHA256()))


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
