"""Kernel Gateway client certificates issued by the hub, at spawn (jupyterhub-zos).

The hub holds a client CA (its key uploaded 0600 into the hub container by the program,
never in an image layer, an argument or a notebook). Before a user's server starts,
`ClientCertIssuer` makes a fresh key for that user and a short-lived certificate with
CN = the hub user name, exactly what the gateway's kg_isolation binds kernels to, and
writes them, with the CA the notebook verifies the gateway by, into that user's own
directory under <HUB_PKI_DIR> (mounted read-only at /etc/jupyterpki into that user's
server only). `RenewingDockerSpawner.poll` (every poll_interval, and at hub start for
servers still running) writes a new one when less than half of the validity is left.

So every user the hub lets in (named in config, in an allowed LDAP group, added in the
admin console) gets a certificate without a `pulumi up`; nobody else's.

Files: the directory belongs to the notebook user (uid 1000) and is 0700; the key is
0600, the certificates 0644, all owned by that uid, as components/delivery writes them.
Every file is made fresh (O_EXCL, never through a link) and renamed over its name, so a
symlink or hard link planted in the directory cannot redirect a write or a chown.

This module runs inside the hub image and cannot import the program's components: the
directory name and the notebook uid are checked against components/docker/names.py and
components/delivery/script.py by tests/unit/images/hub/test_client_certs.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from dockerspawner import DockerSpawner
from tornado import web

NOTEBOOK_UID = 1000  # docker-stacks jovyan: components/delivery/script.py NOTEBOOK_UID
ORGANIZATION = "jupyterhub-zos"  # components/pki/specs.py ORGANIZATION
# Default validity, in hours: CLIENT_CERT_HOURS (Pulumi.yaml) sets it; renewed at half.
DEFAULT_HOURS = 24
# Backdated a little so a notebook or gateway clock slightly behind the hub's accepts it.
CLOCK_SKEW = dt.timedelta(minutes=5)


def user_dir_name(user: str) -> str:
    """The user's directory under <HUB_PKI_DIR>: the hub user name itself (DockerSpawner's
    {raw_username}, what the shipped volume map mounts), as components/docker/names.py
    pki_dir_name derives it. Distinct names are distinct directories; a name that is not
    one plain path component is refused."""
    if not user or user in (".", "..") or "/" in user or "\0" in user:
        raise ValueError(f"user name {user!r} cannot name a certificate directory")
    return user


@dataclass(frozen=True)
class Issued:
    key_pem: bytes
    cert_pem: bytes
    not_after: dt.datetime


def issue(user: str, ca_key, ca_cert: x509.Certificate, hours: int) -> Issued:
    """A fresh ECDSA P-256 key and a client certificate for `user`, signed by the CA:
    what components/pki/specs.py client_spec describes (CN = user, O = jupyterhub-zos,
    digital signature + key agreement, client auth), valid `hours` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    not_after = now + dt.timedelta(hours=hours)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, user),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Issued(key_pem, cert.public_bytes(serialization.Encoding.PEM), not_after)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _open_user_dir(base_fd: int, name: str) -> int:
    """The user's directory, opened without following a link (a link there is removed,
    never followed; anything else that is not a directory is refused)."""
    for _ in range(2):
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=base_fd)
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=base_fd)
        except OSError:
            st = os.lstat(name, dir_fd=base_fd)
            if not stat.S_ISLNK(st.st_mode):
                raise
            os.unlink(name, dir_fd=base_fd)
    raise OSError(f"{name}: keeps turning into a link")


def write_user_files(base: Path, user: str, files: dict[str, tuple[bytes, int]], uid: int) -> None:
    """Write `files` (name -> (content, mode)) into <base>/<user>/, link-safe: the
    directory is entered once by descriptor; while it changes it is the hub's (root,
    0700: nobody else can add, remove or rename a name in it), then given back to `uid`
    (0700). Each file is new (O_EXCL), owned by `uid`, renamed over its name."""
    base_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        dir_fd = _open_user_dir(base_fd, user_dir_name(user))
    finally:
        os.close(base_fd)
    try:
        os.fchown(dir_fd, os.geteuid(), -1)
        os.fchmod(dir_fd, 0o700)
        tag = secrets.token_hex(6)
        for name, (content, mode) in files.items():
            tmp = f".{name}.{tag}"
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd
            )
            try:
                os.write(fd, content)
                os.fchown(fd, uid, -1)
                os.fchmod(fd, mode)
                os.fsync(fd)
            except BaseException:
                os.unlink(tmp, dir_fd=dir_fd)
                raise
            finally:
                os.close(fd)
            # A rename replaces the name (a planted link included), never its target.
            os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        try:
            os.fchown(dir_fd, uid, -1)
            os.fchmod(dir_fd, 0o700)
        finally:
            os.close(dir_fd)


class ClientCertIssuer:
    """The pre-spawn hook (`c.Spawner.pre_spawn_hook`): issue and write the user's
    client certificate; `renew` rewrites it when half of its validity is gone."""

    def __init__(
        self,
        *,
        ca_key_file: str,
        ca_cert_file: str,
        gateway_ca_file: str,
        pki_dir: str,
        key_name: str,
        cert_name: str,
        ca_name: str,
        hours: int = DEFAULT_HOURS,
        uid: int = NOTEBOOK_UID,
    ) -> None:
        if hours < 1:
            raise ValueError("the client certificate validity must be at least 1 hour")
        if len({key_name, cert_name, ca_name}) != 3:
            raise ValueError("the key, certificate and CA files need three distinct names")
        self.ca_key = serialization.load_pem_private_key(Path(ca_key_file).read_bytes(), None)
        self.ca_cert = x509.load_pem_x509_certificate(Path(ca_cert_file).read_bytes())
        self.gateway_ca_pem = Path(gateway_ca_file).read_bytes()
        x509.load_pem_x509_certificates(self.gateway_ca_pem)  # fails now if it is not PEM
        self.pki_dir = Path(pki_dir)
        self.names = (key_name, cert_name, ca_name)
        self.hours = hours
        self.uid = uid
        self.not_after: dict[str, dt.datetime] = {}  # user -> their certificate's end

    @classmethod
    def from_env(cls, env) -> ClientCertIssuer:
        """The issuer the hub container's environment describes (components/hub/environment.py)."""
        return cls(
            ca_key_file=env["JUPYTERPKI_CA_KEY"],
            ca_cert_file=env["JUPYTERPKI_CA_CERT"],
            gateway_ca_file=env["JUPYTERPKI_GATEWAY_CA"],
            pki_dir=env["JUPYTERPKI_HUB_DIR"],
            key_name=env.get("CLIENT_KEY") or "key.pem",
            cert_name=env.get("CLIENT_CERT") or "cert.pem",
            ca_name=env.get("CLIENT_CA") or "cacert.pem",
            hours=int(env.get("JUPYTERPKI_CERT_HOURS") or DEFAULT_HOURS),
        )

    def write(self, user: str) -> Issued:
        issued = issue(user, self.ca_key, self.ca_cert, self.hours)
        key_name, cert_name, ca_name = self.names
        write_user_files(
            self.pki_dir,
            user,
            # The certificate first: a client reading between two renames gets the old
            # key with the new certificate only for a moment, and retries.
            {
                cert_name: (issued.cert_pem, 0o644),
                key_name: (issued.key_pem, 0o600),
                ca_name: (self.gateway_ca_pem, 0o644),
            },
            self.uid,
        )
        self.not_after[user] = issued.not_after
        return issued

    def __call__(self, spawner) -> None:
        user = spawner.user.name
        try:
            self.write(user)
        except (OSError, ValueError) as e:
            spawner.log.error("Client certificate for %s not written: %s", user, e)
            message = (
                f"The hub could not write the Kernel Gateway client certificate of '{user}' "
                f"({e.__class__.__name__}). Ask an administrator to check the hub's log."
            )
            error = web.HTTPError(500, "%s", message)
            error.jupyterhub_message = message
            raise error from e
        spawner.log.info(
            "Issued a Kernel Gateway client certificate for %s, valid until %s",
            user,
            self.not_after[user].isoformat(),
        )

    def _current_end(self, user: str) -> dt.datetime | None:
        key_name, cert_name, _ = self.names
        directory = self.pki_dir / user_dir_name(user)
        # Files removed meanwhile (by hand, or by the removal of a pre-issuing stack's
        # delivery at the upgrade's `pulumi up`) are written again at the next poll.
        if not ((directory / cert_name).is_file() and (directory / key_name).is_file()):
            return None
        end = self.not_after.get(user)
        if end is not None:
            return end
        try:  # a hub restarted while the server ran: the certificate on disk says
            path = directory / cert_name
            end = x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc
        except (OSError, ValueError):
            return None
        self.not_after[user] = end
        return end

    def renew(self, spawner) -> bool:
        """Write a new certificate if half of the current one's validity is gone (or it is
        missing). True if one was written."""
        user = spawner.user.name
        end = self._current_end(user)
        left = (end - dt.datetime.now(dt.UTC)) if end else None
        if left is not None and left > dt.timedelta(hours=self.hours) / 2:
            return False
        self.write(user)
        spawner.log.info("Renewed the Kernel Gateway client certificate of %s", user)
        return True


class RenewingDockerSpawner(DockerSpawner):
    """DockerSpawner whose poll also renews the user's client certificate while the
    server runs (when the pre-spawn hook is a ClientCertIssuer)."""

    async def poll(self):
        status = await super().poll()
        issuer = self.pre_spawn_hook
        if status is None and isinstance(issuer, ClientCertIssuer):
            try:
                issuer.renew(self)
            except (OSError, ValueError):
                self.log.exception("Client certificate of %s not renewed", self.user.name)
        return status
