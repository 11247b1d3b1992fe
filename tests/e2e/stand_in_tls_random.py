"""STAND-IN for the mock harness's provider-faithful mode (issue 11 item 3), for the local
applier only: real keys, certificates and random values for the `tls:` and `random:` types
the program registers, computed with `cryptography` and `secrets` from the recorded inputs,
outputs named as pulumi-tls 5.x / pulumi-random 4.x name them.

The lead swaps this for the harness's faithful mode once that lands (the applier takes any
`new_resource`-shaped delegate: see applier.Applier(delegate=...)). Only what the program
uses is covered; any other input fails with the resource and input named.

Differences from the real providers (known): RandomPassword has no `bcryptHash` output
(no bcrypt here); certificates get a random 128-bit serial; the PEM encodings are the
ones the providers document (RSA/ECDSA keys as PKCS#1/SEC1 "traditional", ED25519 as PKCS#8).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import secrets
import string
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.docker_inputs import Unsupported

_CURVES = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
_SUBJECT = {
    "commonName": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "postalCode": NameOID.POSTAL_CODE,
    "serialNumber": NameOID.SERIAL_NUMBER,
}
_KEY_USAGE = {
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "cert_signing",
    "crl_signing",
    "encipher_only",
    "decipher_only",
}
_EXT_USAGE = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}


def _check(type_: str, name: str, inputs: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(inputs) - allowed)
    if unknown:
        raise Unsupported(
            type_, name, [f"the stand-in does not support input {k}" for k in unknown]
        )


def _private_key(args) -> dict:
    _check(args.typ, args.name, args.inputs, {"algorithm", "ecdsaCurve", "rsaBits"})
    algorithm = args.inputs["algorithm"]
    if algorithm == "RSA":
        key = rsa.generate_private_key(65537, int(args.inputs.get("rsaBits", 2048)))
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ECDSA":
        key = ec.generate_private_key(_CURVES[args.inputs.get("ecdsaCurve", "P224")]())
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ED25519":
        key = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.PKCS8
    else:
        raise Unsupported(args.typ, args.name, [f"algorithm {algorithm!r}"])
    enc = serialization.Encoding
    none = serialization.NoEncryption()
    public = key.public_key()
    openssh_pub = public.public_bytes(enc.OpenSSH, serialization.PublicFormat.OpenSSH)
    raw_pub = base64.b64decode(openssh_pub.split()[1])
    return {
        "privateKeyPem": key.private_bytes(enc.PEM, fmt, none).decode(),
        "privateKeyPemPkcs8": key.private_bytes(
            enc.PEM, serialization.PrivateFormat.PKCS8, none
        ).decode(),
        "privateKeyOpenssh": key.private_bytes(
            enc.PEM, serialization.PrivateFormat.OpenSSH, none
        ).decode(),
        "publicKeyPem": public.public_bytes(
            enc.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        "publicKeyOpenssh": openssh_pub.decode() + "\n",
        "publicKeyFingerprintMd5": ":".join(
            f"{b:02x}" for b in hashlib.md5(raw_pub, usedforsecurity=False).digest()
        ),
        "publicKeyFingerprintSha256": "SHA256:"
        + base64.b64encode(hashlib.sha256(raw_pub).digest()).decode().rstrip("="),
    }


def _load_key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _name(subject: Mapping[str, Any] | None) -> x509.Name:
    attrs = []
    for key, value in (subject or {}).items():
        if key == "streetAddresses":
            attrs += [x509.NameAttribute(NameOID.STREET_ADDRESS, v) for v in value]
        elif key in _SUBJECT:
            attrs.append(x509.NameAttribute(_SUBJECT[key], value))
        else:
            raise ValueError(f"subject.{key}")
    return x509.Name(attrs)


def _sans(inputs: Mapping[str, Any]) -> list[x509.GeneralName]:
    return (
        [x509.DNSName(n) for n in inputs.get("dnsNames") or []]
        + [x509.IPAddress(ipaddress.ip_address(i)) for i in inputs.get("ipAddresses") or []]
        + [x509.UniformResourceIdentifier(u) for u in inputs.get("uris") or []]
    )


def _algorithm(key) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ECDSA"
    return "ED25519"


def _hash_for(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


_CERT_INPUTS = {
    "validityPeriodHours",
    "earlyRenewalHours",
    "isCaCertificate",
    "allowedUses",
    "setSubjectKeyId",
    "setAuthorityKeyId",
    "maxPathLength",
}


def _sign(args, subject, public_key, sans, issuer_name, issuer_key, issuer_cert) -> dict:
    inputs = args.inputs
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    end = now + dt.timedelta(hours=float(inputs["validityPeriodHours"]))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(secrets.randbits(127) | 1)
        .not_valid_before(now)
        .not_valid_after(end)
    )
    uses = set(inputs.get("allowedUses") or [])
    unknown = uses - _KEY_USAGE - set(_EXT_USAGE)
    if unknown:
        raise Unsupported(args.typ, args.name, [f"allowedUses {sorted(unknown)}"])
    is_ca = bool(inputs.get("isCaCertificate", False))
    if is_ca:
        path = inputs.get("maxPathLength")
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=int(path) if path else None), True
        )
    if uses & _KEY_USAGE:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature="digital_signature" in uses,
                content_commitment="content_commitment" in uses,
                key_encipherment="key_encipherment" in uses,
                data_encipherment="data_encipherment" in uses,
                key_agreement="key_agreement" in uses,
                key_cert_sign="cert_signing" in uses,
                crl_sign="crl_signing" in uses,
                encipher_only="encipher_only" in uses,
                decipher_only="decipher_only" in uses,
            ),
            True,
        )
    if uses & set(_EXT_USAGE):
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([_EXT_USAGE[u] for u in sorted(uses & set(_EXT_USAGE))]), False
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    if inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key), False
        )
    if issuer_cert is not None or inputs.get("setAuthorityKeyId"):
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    cert = builder.sign(issuer_key, _hash_for(issuer_key))
    return {
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": now.isoformat().replace("+00:00", "Z"),
        "validityEndTime": end.isoformat().replace("+00:00", "Z"),
        "readyForRenewal": False,
    }


def _self_signed(args) -> dict:
    _check(
        args.typ,
        args.name,
        args.inputs,
        _CERT_INPUTS | {"privateKeyPem", "subject", "dnsNames", "ipAddresses", "uris"},
    )
    key = _load_key(args.inputs["privateKeyPem"])
    subject = _name(args.inputs.get("subject"))
    out = _sign(args, subject, key.public_key(), _sans(args.inputs), subject, key, None)
    return {**out, "keyAlgorithm": _algorithm(key)}


def _cert_request(args) -> dict:
    _check(
        args.typ,
        args.name,
        args.inputs,
        {"privateKeyPem", "subject", "dnsNames", "ipAddresses", "uris"},
    )
    key = _load_key(args.inputs["privateKeyPem"])
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        _name(args.inputs.get("subject"))
    )
    sans = _sans(args.inputs)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    csr = builder.sign(key, _hash_for(key))
    return {
        "certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode(),
        "keyAlgorithm": _algorithm(key),
    }


def _locally_signed(args) -> dict:
    _check(
        args.typ,
        args.name,
        args.inputs,
        _CERT_INPUTS | {"certRequestPem", "caPrivateKeyPem", "caCertPem"},
    )
    csr = x509.load_pem_x509_csr(args.inputs["certRequestPem"].encode())
    ca_key = _load_key(args.inputs["caPrivateKeyPem"])
    ca_cert = x509.load_pem_x509_certificate(args.inputs["caCertPem"].encode())
    try:
        sans = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        sans = []
    out = _sign(args, csr.subject, csr.public_key(), sans, ca_cert.subject, ca_key, ca_cert)
    return {**out, "caKeyAlgorithm": _algorithm(ca_key)}


_DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def _random_text(args) -> dict:
    inputs = args.inputs
    _check(
        args.typ,
        args.name,
        inputs,
        {
            "length",
            "special",
            "upper",
            "lower",
            "numeric",
            "number",
            "minUpper",
            "minLower",
            "minNumeric",
            "minSpecial",
            "overrideSpecial",
            "keepers",
        },
    )
    length = int(inputs["length"])
    classes = []
    for flag, chars, minimum in (
        ("upper", string.ascii_uppercase, "minUpper"),
        ("lower", string.ascii_lowercase, "minLower"),
        ("numeric", string.digits, "minNumeric"),
        ("special", inputs.get("overrideSpecial") or _DEFAULT_SPECIAL, "minSpecial"),
    ):
        enabled = inputs.get(flag, inputs.get("number", True) if flag == "numeric" else True)
        if enabled:
            classes.append((chars, int(inputs.get(minimum, 0))))
    alphabet = "".join(chars for chars, _ in classes)
    chosen = [secrets.choice(chars) for chars, minimum in classes for _ in range(minimum)]
    chosen += [secrets.choice(alphabet) for _ in range(length - len(chosen))]
    # Shuffle so the minimums are not always first.
    for i in range(len(chosen) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chosen[i], chosen[j] = chosen[j], chosen[i]
    return {"result": "".join(chosen)}


def _random_bytes(args) -> dict:
    _check(args.typ, args.name, args.inputs, {"length", "keepers"})
    raw = secrets.token_bytes(int(args.inputs["length"]))
    return {"hex": raw.hex(), "base64": base64.b64encode(raw).decode()}


def _random_id(args) -> dict:
    _check(args.typ, args.name, args.inputs, {"byteLength", "prefix", "keepers"})
    raw = secrets.token_bytes(int(args.inputs["byteLength"]))
    prefix = args.inputs.get("prefix") or ""
    return {
        "hex": prefix + raw.hex(),
        "b64Url": prefix + base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "b64Std": prefix + base64.b64encode(raw).decode(),
        "dec": prefix + str(int.from_bytes(raw, "big")),
    }


STAND_INS = {
    "tls:index/privateKey:PrivateKey": _private_key,
    "tls:index/selfSignedCert:SelfSignedCert": _self_signed,
    "tls:index/certRequest:CertRequest": _cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": _locally_signed,
    "random:index/randomPassword:RandomPassword": _random_text,
    "random:index/randomString:RandomString": _random_text,
    "random:index/randomBytes:RandomBytes": _random_bytes,
    "random:index/randomId:RandomId": _random_id,
}


def new_resource(args) -> tuple[str, dict]:
    """A `Mocks.new_resource`-shaped delegate: (id, inputs + computed outputs)."""
    make = STAND_INS.get(args.typ)
    if make is None:
        raise Unsupported(args.typ, args.name, ["no stand-in for this type"])
    try:
        outputs = make(args)
    except (KeyError, ValueError) as exc:
        raise Unsupported(args.typ, args.name, [f"bad input: {exc!r}"]) from exc
    id_ = hashlib.sha256(repr(sorted(outputs.items())).encode()).hexdigest()[:32]
    return id_, {**args.inputs, **outputs}
