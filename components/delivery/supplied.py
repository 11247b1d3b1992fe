"""Client certificates the security administrator exported (ZOS_RACF_MODE=admin): each
hub user's PKCS#12 (base64 and its password) or PEM certificate, key and CA, checked
with `cryptography` before any resource exists, then handed to the delivery in the form
the program's own RACF exports take (components/delivery/material.py): a PKCS#12 goes
through the same openssl split (components/zos/export.py) on its way to the Docker host,
PEM texts as they are. Pure: entries in, problems or PEM texts out.

What is checked, per entry: it decodes (a wrong PKCS#12 password is named as such); the
private key belongs to the certificate; the certificate chains to the CA given with it
(every signature on the way checked, the last CA self-signed); it is valid now; its
subject's common name is the one expected (the entry's `cn`, else the hub user or the
z/OS ID); it may be used for TLS client authentication. Across entries: one root CA for
all (the CA on the gateway's key ring, ZOS_CA_LABEL).

The gateway's own certificate (ZOS_KG_SERVER_TLS, admin mode without AT-TLS), `check_server`:
the same checks, but it must name the gateway's host in its subject alternative names (what
notebooks verify) and may be used for TLS server authentication."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CheckedCert:
    """One entry after the checks: the PEM texts (what the split would print), the root
    CA's fingerprint, and for a PKCS#12 its bytes and password (delivered through the
    split, as the program's own exports are)."""

    cert_pem: str
    key_pem: str
    ca_pem: str  # the CA chain, issuer first
    root_sha256: str
    not_after: datetime
    p12: bytes | None = None
    password: str | None = None


class BadEntry(ValueError):
    """What is wrong with one entry (never quoting a secret)."""


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _from_p12(entry: Mapping[str, str]) -> tuple[object, x509.Certificate, list, bytes]:
    try:
        data = base64.b64decode("".join(entry["p12"].split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadEntry("p12 is not base64 (base64 -w0 user.p12)") from None
    password = entry["password"]
    if not password or "\n" in password:
        raise BadEntry("password must be one non-empty line")
    try:
        key, cert, cas = pkcs12.load_key_and_certificates(data, password.encode())
    except ValueError:
        raise BadEntry(
            "the PKCS#12 does not open with this password (or is not a PKCS#12): check the "
            "password given to RACDCERT EXPORT"
        ) from None
    except UnsupportedAlgorithm as exc:
        raise BadEntry(f"the PKCS#12 uses an algorithm this machine cannot read: {exc}") from None
    if key is None or cert is None:
        raise BadEntry("the PKCS#12 holds no private key and certificate (export with the key)")
    if not cas:
        raise BadEntry(
            "the PKCS#12 holds no CA certificate: RACDCERT EXPORT FORMAT(PKCS12DER) includes "
            "the chain; else give cert, key and ca as PEM"
        )
    return key, cert, list(cas), data


def _from_pem(entry: Mapping[str, str]) -> tuple[object, x509.Certificate, list]:
    try:
        certs = x509.load_pem_x509_certificates(entry["cert"].encode())
    except ValueError:
        raise BadEntry("cert is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(entry["key"].encode(), password=None)
    except TypeError:
        raise BadEntry("key is encrypted: give it without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise BadEntry("key is not a PEM private key") from None
    try:
        cas = x509.load_pem_x509_certificates(entry["ca"].encode())
    except ValueError:
        raise BadEntry("ca is not PEM certificate text") from None
    return key, certs[0], cas


def _chain(cert: x509.Certificate, cas: list[x509.Certificate]) -> list[x509.Certificate]:
    """The CAs from the certificate's issuer up to a self-signed root, each signature
    checked; BadEntry when it does not get there."""
    chain: list[x509.Certificate] = []
    current = cert
    for _ in range(len(cas) + 1):
        issuer = next((ca for ca in cas if ca.subject == current.issuer and ca not in chain), None)
        if issuer is None:
            break
        try:
            current.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise BadEntry(
                f"the certificate {_cn(current)!r} does not verify against its issuer "
                f"{_cn(issuer)!r} in the given CA"
            ) from None
        chain.append(issuer)
        if issuer.subject == issuer.issuer:
            return chain
        current = issuer
    raise BadEntry(
        "the certificate does not chain to the given CA (its issuer "
        f"{current.issuer.rfc4514_string()!r} is not among the CA certificates, or the "
        "chain ends without a self-signed root)"
    )


def _opened(entry: Mapping[str, str], now: datetime):
    """(key, certificate, chain, p12 bytes or None): decoded, the key the certificate's,
    the chain up to a self-signed root checked, every certificate valid `now`."""
    p12 = None
    if "p12" in entry:
        key, cert, cas, p12 = _from_p12(entry)
    else:
        key, cert, cas = _from_pem(entry)
    public = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if (
        key.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        != public
    ):
        raise BadEntry("the private key does not belong to the certificate")
    chain = _chain(cert, cas)
    for c in (cert, *chain):
        if c.not_valid_after_utc <= now:
            raise BadEntry(
                f"the certificate {_cn(c)!r} expired on {c.not_valid_after_utc:%Y-%m-%d}: "
                "re-issue and export it"
            )
        if c.not_valid_before_utc > now:
            raise BadEntry(
                f"the certificate {_cn(c)!r} is not valid before {c.not_valid_before_utc:%Y-%m-%d}"
            )
    return key, cert, chain, p12


def _checked(entry: Mapping[str, str], key, cert, chain, p12) -> CheckedCert:
    key_pem = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return CheckedCert(
        cert_pem=_pem(cert),
        key_pem=key_pem,
        ca_pem="".join(_pem(c) for c in chain),
        root_sha256=chain[-1].fingerprint(hashes.SHA256()).hex(),
        not_after=cert.not_valid_after_utc,
        p12=p12,
        password=entry.get("password") if p12 is not None else None,
    )


def _usage(cert: x509.Certificate, purpose, what: str) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    if purpose not in usage:
        raise BadEntry(f"the certificate's extended key usage does not allow {what}")


def check_entry(
    entry: Mapping[str, str], expected_cns: tuple[str, ...], now: datetime | None = None
) -> CheckedCert:
    """One entry, every check; BadEntry naming the first thing wrong."""
    key, cert, chain, p12 = _opened(entry, now or datetime.now(UTC))
    cn = _cn(cert)
    if cn.upper() not in {e.upper() for e in expected_cns}:
        raise BadEntry(
            f"its subject's CN is {cn!r}, expected {' or '.join(repr(e) for e in expected_cns)} "
            "(another user's certificate? if this CN is right, give it as the entry's cn)"
        )
    _usage(cert, ExtendedKeyUsageOID.CLIENT_AUTH, "TLS client auth")
    return _checked(entry, key, cert, chain, p12)


def _names_host(cert: x509.Certificate, host: str) -> bool:
    """Does the certificate name `host` as TLS clients check it: in its subject
    alternative names (DNS name or IP address), or, without that extension, as its CN?"""
    import ipaddress

    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return _cn(cert).lower() == host.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower() in {name.lower() for name in sans.get_values_for_type(x509.DNSName)}
    return address in sans.get_values_for_type(x509.IPAddress)


def check_server(entry: Mapping[str, str], host: str, now: datetime | None = None) -> CheckedCert:
    """The gateway's own certificate (ZOS_KG_SERVER_TLS): the checks of a user's entry, but
    it must name `host` (the name notebooks connect to) and may serve TLS."""
    key, cert, chain, p12 = _opened(entry, now or datetime.now(UTC))
    if not _names_host(cert, host):
        raise BadEntry(
            f"it does not name the gateway's host {host!r} in its subject alternative names "
            "(notebooks check that name): issue it with ALTNAME(DOMAIN(...)) or ALTNAME(IP(...))"
        )
    _usage(cert, ExtendedKeyUsageOID.SERVER_AUTH, "TLS server auth")
    return _checked(entry, key, cert, chain, p12)


def _sharing_a_cn(good: Mapping[str, CheckedCert]) -> list[list[str]]:
    """Users whose certificates share a subject CN (case aside, as check_entry compares).
    Without AT-TLS the gateway (kg_isolation) knows a user by the CN alone, so they would
    use each other's kernels; behind AT-TLS RACF maps each certificate itself (a seed's
    were all "Spark Client")."""
    by_cn: dict[str, list[str]] = {}
    for user, c in sorted(good.items()):
        cn = _cn(x509.load_pem_x509_certificate(c.cert_pem.encode()))
        by_cn.setdefault(cn.upper(), []).append(user)
    return [users for users in by_cn.values() if len(users) > 1]


def check_all(
    entries: Mapping[str, Mapping[str, str]],
    zos_users: Mapping[str, str],
    now: datetime | None = None,
    distinct_cns: bool = False,
) -> tuple[dict[str, CheckedCert], list[str]]:
    """Every entry checked: (the good ones, one line per bad entry naming it). Entries
    must be ZOS_USERS' hub users, every ZOS_USERS user needs one, all share one root.
    `distinct_cns` (ZOS_ATTLS=false): no two entries' certificates share a subject CN."""
    good: dict[str, CheckedCert] = {}
    problems: list[str] = []
    for user, entry in sorted(entries.items()):
        if user not in zos_users:
            problems.append(f"{user}: not a ZOS_USERS hub user (whose kernels would use it?)")
            continue
        expected = (entry["cn"],) if entry.get("cn") else (user, zos_users[user])
        try:
            good[user] = check_entry(entry, expected, now)
        except BadEntry as exc:
            problems.append(f"{user}: {exc}")
    missing = sorted(set(zos_users) - set(entries))
    if missing:
        problems.append(
            f"{', '.join(missing)}: no exported certificate; the administrator's script exports "
            "one per ZOS_USERS entry. Set it with `pulumi config set --secret --path "
            f"'ZOS_USER_CERTS.{missing[0]}.p12' < {missing[0]}.p12.b64` and "
            f"`... --path 'ZOS_USER_CERTS.{missing[0]}.password'`"
        )
    if distinct_cns:
        problems += [
            f"{', '.join(users)}: their certificates have one subject CN; the gateway tells "
            "users apart by it, so each needs a certificate of their own"
            for users in _sharing_a_cn(good)
        ]
    roots = {c.root_sha256 for c in good.values()}
    if len(roots) > 1:
        by_root: dict[str, list[str]] = {}
        for user, c in sorted(good.items()):
            by_root.setdefault(c.root_sha256[:16], []).append(user)
        groups = "; ".join(f"{', '.join(u)} (root {r}...)" for r, u in sorted(by_root.items()))
        problems.append(
            "the certificates chain to different CAs: " + groups + ". AT-TLS trusts the one "
            "CA on the gateway's key ring (ZOS_CA_LABEL): issue all from it"
        )
    return good, problems


def uuencoded(p12: bytes, name: str = "p12") -> str:
    """The PKCS#12 as the program's export steps print it (uuencode -m), which the split
    script reads."""
    text = base64.b64encode(p12).decode()
    body = "\n".join(text[i : i + 60] for i in range(0, len(text), 60))
    return f"begin-base64 600 {name}\n{body}\n====\n"
