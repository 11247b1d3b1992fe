"""Keys and certificates for tests, made with `cryptography` from the program's CertSpecs.

The PKI components hand the same `components.pki.specs` specs to pulumi-tls; here they
are turned into real certificates the way pulumi-tls (Go's crypto/x509) builds them:
basic constraints always present, key usages from `allowed_uses`, a subject key id, and
the issuer's key id as authority key id. So the servers under test see what is deployed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.pki.specs import CertSpec

_CURVES = {"P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
# pulumi-tls allowed_uses -> KeyUsage argument names / extended key usage OIDs.
_KEY_USAGES = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
_EXT_USAGES = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}


@dataclass(frozen=True)
class Issued:
    key: object
    cert: x509.Certificate

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def pkcs12(self, cas: list[Issued], password: str) -> bytes:
        """This key and certificate with the CA chain, as PKCS#12 (as RACF exports it)."""
        return pkcs12.serialize_key_and_certificates(
            b"JupyterHub Client",
            self.key,
            self.cert,
            [ca.cert for ca in cas] or None,
            serialization.BestAvailableEncryption(password.encode()),
        )

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write `<stem>.crt` and `<stem>.key` (0600); return their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        cert_path.write_text(self.cert_pem)
        key_path.write_text(self.key_pem)
        key_path.chmod(0o600)
        return cert_path, key_path


def make_key(spec: CertSpec):
    if spec.key_algorithm == "ECDSA":
        return ec.generate_private_key(_CURVES[spec.ecdsa_curve]())
    if spec.key_algorithm == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unsupported key algorithm {spec.key_algorithm}")


def issue(
    spec: CertSpec,
    issuer: Issued | None = None,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Issued:
    """A key and certificate for `spec`, signed by `issuer` (self-signed when None).
    `not_before`/`not_after` override the spec's validity (e.g. to make an expired one)."""
    key = make_key(spec)
    now = dt.datetime.now(dt.UTC)
    start = not_before or now
    end = not_after or start + dt.timedelta(hours=spec.validity_hours)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization),
            x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name),
        ]
    )
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    usages = {arg: False for arg in _KEY_USAGES.values()}
    for use in spec.allowed_uses:
        if use in _KEY_USAGES:
            usages[_KEY_USAGES[use]] = True
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=spec.is_ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usages), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    ext = [_EXT_USAGES[use] for use in spec.allowed_uses if use in _EXT_USAGES]
    if ext:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext), critical=False)
    names = [x509.DNSName(n) for n in spec.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return Issued(key, builder.sign(signer_key, hashes.SHA256()))


def ssh_keypair(
    key: ed25519.Ed25519PrivateKey, private_format: serialization.PrivateFormat
) -> tuple[str, str]:
    """(private key PEM in `private_format`, 'ssh-ed25519 AAAA...' public key)."""
    private = key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public
