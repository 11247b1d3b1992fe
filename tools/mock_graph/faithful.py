"""Provider-faithful outputs for pulumi-tls and pulumi-random (opt-in).

`run_program(..., providers="faithful")` runs the program with these in place of the
deterministic fakes: every `tls:` key, request and certificate is a real one made with
`cryptography` from the resource's inputs, every `random:` value comes from `secrets`
with the requested length and alphabet, and each output is named as the provider names
it (camelCase, as pulumi-tls 5.6 / pulumi-random 4.21 put them in state). Other types
(docker, command) keep the default fakes' outputs. Values differ on every run: use the
default mode where a test compares graphs.

Semantics follow the providers' sources (terraform-provider-tls and -random, which the
Pulumi providers wrap): allowed_uses split into keyUsage (critical) and extKeyUsage;
basicConstraints critical on every certificate; a CA gets a subject key id; a locally
signed certificate takes subject, DNS names, IPs and URIs from its request and an
authority key id from its CA; a random string takes min_* characters from each class
first, fills the rest from the whole alphabet, then shuffles.

An input a handler does not know raises `UnsupportedInput` naming it: nothing is
silently ignored. Known differences from the real providers:
- validityStartTime / validityEndTime are whole seconds in UTC (`...T21:00:00Z`); the
  provider prints Go's time.Now() with fractions, in the local zone. Same instants as
  the certificate's.
- subject strings are encoded as UTF8String (cryptography's default); Go writes
  PrintableString where the text allows it. The names compare equal.
- readyForRenewal is what a create gives (false); the provider's later refresh turns it
  true inside the early-renewal window, and one mock run never refreshes.
- privateKeyPemWo (write-only) is honoured like privateKeyPem and, as in the provider,
  not kept in the outputs.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from tools.mock_graph.fakes import FakeProviders


class UnsupportedInput(ValueError):
    """A resource input the faithful mode cannot honour (or an invalid value)."""


Args = Any  # pulumi.runtime.MockResourceArgs
Made = tuple[str, dict[str, Any]]  # (id, outputs)

# --- inputs --------------------------------------------------------------------------------


def _check(args: Args, accepted: set[str], required: set[str] = frozenset()) -> dict[str, Any]:
    inputs = dict(args.inputs)
    unknown = sorted(set(inputs) - accepted)
    missing = sorted(required - set(inputs))
    problems = []
    if unknown:
        problems.append(f"unsupported input(s) {', '.join(unknown)}")
    if missing:
        problems.append(f"missing required input(s) {', '.join(missing)}")
    if problems:
        raise UnsupportedInput(
            f"{args.typ} {args.name!r}: {'; '.join(problems)} (the faithful mock honours: "
            f"{', '.join(sorted(accepted))})"
        )
    return inputs


def _int(args: Args, inputs: Mapping[str, Any], key: str, default: int, minimum: int) -> int:
    value = inputs.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise UnsupportedInput(f"{args.typ} {args.name!r}: {key} must be an integer, got {value!r}")
    if value < minimum:
        raise UnsupportedInput(f"{args.typ} {args.name!r}: {key} must be at least {minimum}")
    return int(value)


def _bool(args: Args, inputs: Mapping[str, Any], key: str, default: bool) -> bool:
    value = inputs.get(key, default)
    if not isinstance(value, bool):
        raise UnsupportedInput(f"{args.typ} {args.name!r}: {key} must be a boolean, got {value!r}")
    return value


def _one_of(args: Args, key: str, value: Any, accepted: Mapping[str, Any] | set[str]) -> Any:
    if value not in accepted:
        raise UnsupportedInput(
            f"{args.typ} {args.name!r}: {key} {value!r} is not one of {', '.join(sorted(accepted))}"
        )
    return value


# --- tls: keys -----------------------------------------------------------------------------

CURVES = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
PRIVATE_KEY_INPUTS = {"algorithm", "rsaBits", "ecdsaCurve"}


def _openssh_public(public) -> tuple[str, str, str]:
    """(authorized_keys line, MD5 fingerprint, SHA256 fingerprint), or three empty strings
    where OpenSSH has no format for the key (ECDSA P-224), as the provider leaves them."""
    try:
        line = public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode()
    except ValueError:
        return "", "", ""
    blob = base64.b64decode(line.split()[1])
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    # ssh.MarshalAuthorizedKey ends the line with a newline.
    return line + "\n", ":".join(md5[i : i + 2] for i in range(0, 32, 2)), f"SHA256:{sha256}"


def _pem_private(key, fmt) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def private_key(args: Args) -> Made:
    inputs = _check(args, PRIVATE_KEY_INPUTS, {"algorithm"})
    algorithm = _one_of(args, "algorithm", inputs["algorithm"], {"RSA", "ECDSA", "ED25519"})
    # The provider's defaults, kept in state whichever algorithm is used.
    rsa_bits = _int(args, inputs, "rsaBits", 2048, 1)
    curve = _one_of(args, "ecdsaCurve", inputs.get("ecdsaCurve", "P224"), CURVES)
    if algorithm == "RSA":
        key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        traditional = serialization.PrivateFormat.TraditionalOpenSSL  # RSA PRIVATE KEY
    elif algorithm == "ECDSA":
        key = ec.generate_private_key(CURVES[curve]())
        traditional = serialization.PrivateFormat.TraditionalOpenSSL  # EC PRIVATE KEY
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        traditional = serialization.PrivateFormat.PKCS8  # the provider's PEM for ED25519
    public = key.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        openssh_private = _pem_private(key, serialization.PrivateFormat.OpenSSH)
    except ValueError:  # ECDSA P-224: no OpenSSH format, left empty by the provider too
        openssh_private = ""
    openssh, md5, sha256 = _openssh_public(public)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest(), {
        "algorithm": algorithm,
        "rsaBits": rsa_bits,
        "ecdsaCurve": curve,
        "privateKeyPem": _pem_private(key, traditional),
        "privateKeyPemPkcs8": _pem_private(key, serialization.PrivateFormat.PKCS8),
        "privateKeyOpenssh": openssh_private,
        "publicKeyPem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        "publicKeyOpenssh": openssh,
        "publicKeyFingerprintMd5": md5,
        "publicKeyFingerprintSha256": sha256,
    }


def _load_key(args: Args, key: str, pem: str):
    try:
        loaded = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise UnsupportedInput(
            f"{args.typ} {args.name!r}: {key} is not a private key: {exc}"
        ) from exc
    if isinstance(loaded, rsa.RSAPrivateKey):
        return loaded, "RSA"
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        return loaded, "ECDSA"
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        return loaded, "ED25519"
    raise UnsupportedInput(f"{args.typ} {args.name!r}: {key}: unsupported key {type(loaded)}")


def _signing_hash(key):
    """Go's choice for x509.Create*: SHA-256 for RSA and P-224/P-256, SHA-384 for P-384,
    SHA-512 for P-521, none (pure) for Ed25519."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(
            key.curve.name, hashes.SHA256()
        )
    return hashes.SHA256()


# --- tls: names ----------------------------------------------------------------------------

# pulumi-tls subject fields -> OID, in Go's pkix.Name.ToRDNSequence order.
SUBJECT_FIELDS: dict[str, ObjectIdentifier] = {
    "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "streetAddresses": NameOID.STREET_ADDRESS,
    "postalCode": NameOID.POSTAL_CODE,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "commonName": NameOID.COMMON_NAME,
    "serialNumber": NameOID.SERIAL_NUMBER,
    "emailAddress": NameOID.EMAIL_ADDRESS,
}


def _subject(args: Args, subject: Any) -> x509.Name:
    if subject is None:
        return x509.Name([])
    if not isinstance(subject, Mapping):
        raise UnsupportedInput(f"{args.typ} {args.name!r}: subject must be an object")
    unknown = sorted(set(subject) - set(SUBJECT_FIELDS))
    if unknown:
        raise UnsupportedInput(
            f"{args.typ} {args.name!r}: unsupported subject field(s) {', '.join(unknown)} "
            f"(the faithful mock honours: {', '.join(SUBJECT_FIELDS)})"
        )
    rdns = []
    for field, oid in SUBJECT_FIELDS.items():
        value = subject.get(field)
        values = value if isinstance(value, list) else [value] if value else []
        if not values:
            continue
        try:
            # Go puts a field's several values (street addresses) in one RDN.
            rdns.append(
                x509.RelativeDistinguishedName([x509.NameAttribute(oid, v) for v in values])
            )
        except (ValueError, TypeError) as exc:
            raise UnsupportedInput(f"{args.typ} {args.name!r}: subject {field}: {exc}") from exc
    return x509.Name(rdns)


def _alt_names(args: Args, inputs: Mapping[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in inputs.get("dnsNames") or []]
    for ip in inputs.get("ipAddresses") or []:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError as exc:
            raise UnsupportedInput(f"{args.typ} {args.name!r}: invalid IP address {ip!r}") from exc
    for uri in inputs.get("uris") or []:
        if not urlparse(uri).scheme:
            raise UnsupportedInput(f"{args.typ} {args.name!r}: invalid URI {uri!r}")
        names.append(x509.UniformResourceIdentifier(uri))
    return names


def cert_request(args: Args) -> Made:
    accepted = {"privateKeyPem", "privateKeyPemWo", "privateKeyPemWoVersion", "subject"}
    inputs = _check(args, accepted | {"dnsNames", "ipAddresses", "uris"})
    subject, alt = _subject(args, inputs.get("subject")), _alt_names(args, inputs)
    key, algorithm = _key_input(args, inputs, "privateKeyPem")
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    csr = builder.sign(key, _signing_hash(key))
    der = csr.public_bytes(serialization.Encoding.DER)
    outputs = _without_write_only(inputs, "privateKeyPem")
    outputs.update(
        certRequestPem=csr.public_bytes(serialization.Encoding.PEM).decode(),
        keyAlgorithm=algorithm,
    )
    return hashlib.sha1(der, usedforsecurity=False).hexdigest(), outputs


def _key_input(args: Args, inputs: Mapping[str, Any], key: str):
    """A PEM input given either as `<key>` or as its write-only `<key>Wo`."""
    given = [k for k in (key, f"{key}Wo") if inputs.get(k)]
    if len(given) != 1:
        raise UnsupportedInput(f"{args.typ} {args.name!r}: exactly one of {key}, {key}Wo is needed")
    return _load_key(args, given[0], inputs[given[0]])


def _without_write_only(inputs: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k != f"{key}Wo"}


# --- tls: certificates ----------------------------------------------------------------------

KEY_USAGES = {
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
EXTENDED_KEY_USAGES = {
    "any_extended": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec_end_system": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec_tunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec_user": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoft_server_gated_crypto": ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscape_server_gated_crypto": ObjectIdentifier("2.16.840.1.113730.4.1"),
    "microsoft_commercial_code_signing": ObjectIdentifier("1.3.6.1.4.1.311.2.1.22"),
    "microsoft_kernel_code_signing": ObjectIdentifier("1.3.6.1.4.1.311.61.1.1"),
}
CERT_INPUTS = {
    "allowedUses",
    "validityPeriodHours",
    "earlyRenewalHours",
    "isCaCertificate",
    "maxPathLength",
    "setSubjectKeyId",
}


def _subject_key_id(public) -> bytes:
    """The provider's: SHA-1 of the public key's bits (RFC 5280 method 1 for RSA and ECDSA;
    for Ed25519 Go hashes the key's ASN.1 OCTET STRING encoding)."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha1(b"\x04\x20" + raw, usedforsecurity=False).digest()
    return x509.SubjectKeyIdentifier.from_public_key(public).digest


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _certificate(
    args: Args,
    inputs: Mapping[str, Any],
    subject: x509.Name,
    alt: list,
    public,
    issuer_name: x509.Name | None,
    issuer_key,
    issuer_key_id: bytes | None,
    set_authority_key_id: bool,
) -> tuple[str, dict[str, Any]]:
    """createCertificate of the provider: validity, serial, allowed uses, CA flag and path
    length, key ids, SANs; signed by `issuer_key` (self-signed when `issuer_name` is None)."""
    uses = inputs["allowedUses"]
    if not isinstance(uses, list):
        raise UnsupportedInput(f"{args.typ} {args.name!r}: allowedUses must be a list")
    for use in uses:
        _one_of(args, "allowedUses entry", use, KEY_USAGES.keys() | EXTENDED_KEY_USAGES.keys())
    hours = _int(args, inputs, "validityPeriodHours", 0, 0)
    early = _int(args, inputs, "earlyRenewalHours", 0, 0)
    is_ca = _bool(args, inputs, "isCaCertificate", False)
    set_ski = _bool(args, inputs, "setSubjectKeyId", False)
    max_path = _int(args, inputs, "maxPathLength", 0, -1) if "maxPathLength" in inputs else None
    if is_ca and not list(subject):
        raise UnsupportedInput(
            f"{args.typ} {args.name!r}: a CA's subject must contain at least one name"
        )

    start = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    end = start + datetime.timedelta(hours=hours)
    serial = 0
    while serial == 0:  # the provider draws below 2**128; X.509 wants it positive
        serial = secrets.randbits(128)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name if issuer_name is not None else subject)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
    )
    # Go: MaxPathLen 0 without MaxPathLenZero means "no limit"; only a CA carries one.
    path_length = max_path if is_ca and max_path is not None and max_path > 0 else None
    builder = builder.add_extension(x509.BasicConstraints(is_ca, path_length), critical=True)
    flags = {name: False for name in KEY_USAGES.values()}
    for use in uses:
        if use in KEY_USAGES:
            flags[KEY_USAGES[use]] = True
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    extended = [EXTENDED_KEY_USAGES[u] for u in uses if u in EXTENDED_KEY_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    subject_key_id = _subject_key_id(public) if is_ca or set_ski else None
    if subject_key_id is not None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(subject_key_id), critical=False)
    if issuer_name is None:  # self-signed: an authority key id only when asked for
        if set_authority_key_id:
            if subject_key_id is None:
                raise UnsupportedInput(
                    f"{args.typ} {args.name!r}: setAuthorityKeyId needs a subject key id "
                    "(isCaCertificate or setSubjectKeyId)"
                )
            authority = subject_key_id
        else:
            authority = None
    else:  # Go takes the parent's subject key id, when it has one and is another name
        authority = issuer_key_id if issuer_name != subject else None
    if authority is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(authority, None, None), critical=False
        )
    if alt:
        # Go marks the SANs critical when the subject is empty (RFC 5280 4.2.1.6).
        builder = builder.add_extension(
            x509.SubjectAlternativeName(alt), critical=not list(subject)
        )
    cert = builder.sign(issuer_key, _signing_hash(issuer_key))
    return str(serial), {
        "earlyRenewalHours": early,
        "isCaCertificate": is_ca,
        "setSubjectKeyId": set_ski,
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": _rfc3339(start),
        "validityEndTime": _rfc3339(end),
        "readyForRenewal": False,
    }


def self_signed_cert(args: Args) -> Made:
    key_inputs = {"privateKeyPem", "privateKeyPemWo", "privateKeyPemWoVersion"}
    names = {"subject", "dnsNames", "ipAddresses", "uris", "setAuthorityKeyId"}
    inputs = _check(args, CERT_INPUTS | key_inputs | names, {"allowedUses", "validityPeriodHours"})
    subject, alt = _subject(args, inputs.get("subject")), _alt_names(args, inputs)
    key, algorithm = _key_input(args, inputs, "privateKeyPem")
    set_aki = _bool(args, inputs, "setAuthorityKeyId", False)
    id_, made = _certificate(
        args,
        inputs,
        subject,
        alt,
        key.public_key(),
        None,
        key,
        None,
        set_aki,
    )
    outputs = _without_write_only(inputs, "privateKeyPem")
    outputs.update(made, keyAlgorithm=algorithm, setAuthorityKeyId=set_aki)
    return id_, outputs


def locally_signed_cert(args: Args) -> Made:
    ca_key_inputs = {"caPrivateKeyPem", "caPrivateKeyPemWo", "caPrivateKeyPemWoVersion"}
    inputs = _check(
        args,
        CERT_INPUTS | ca_key_inputs | {"certRequestPem", "caCertPem"},
        {"allowedUses", "validityPeriodHours", "certRequestPem", "caCertPem"},
    )
    ca_key, ca_algorithm = _key_input(args, inputs, "caPrivateKeyPem")
    try:
        csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca_cert = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
    except ValueError as exc:
        raise UnsupportedInput(f"{args.typ} {args.name!r}: bad PEM input: {exc}") from exc
    try:
        requested = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        requested = []
    # The provider copies the request's DNS names, IPs and URIs (not e.g. e-mail names).
    kinds = (x509.DNSName, x509.IPAddress, x509.UniformResourceIdentifier)
    alt = [name for kind in kinds for name in requested if isinstance(name, kind)]
    try:
        ca_key_id = ca_cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
    except x509.ExtensionNotFound:
        ca_key_id = None
    # The request's subject, names and key only; its other extensions are not copied.
    id_, made = _certificate(
        args, inputs, csr.subject, alt, csr.public_key(), ca_cert.subject, ca_key, ca_key_id, False
    )
    outputs = _without_write_only(inputs, "caPrivateKeyPem")
    outputs.update(made, caKeyAlgorithm=ca_algorithm)
    return id_, outputs


# --- random: ------------------------------------------------------------------------------

NUMERIC = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
MIN_KEYS = ("minUpper", "minLower", "minNumeric", "minSpecial")
STRING_INPUTS = {
    "length",
    "keepers",  # only decides replacement: nothing to make from it
    "lower",
    "upper",
    "numeric",
    "number",  # the deprecated name of numeric
    "special",
    "minLower",
    "minUpper",
    "minNumeric",
    "minSpecial",
    "overrideSpecial",
}


def random_text(args: Args) -> tuple[dict[str, Any], str]:
    """random_string / random_password: (state, result)."""
    inputs = _check(args, STRING_INPUTS, {"length"})
    length = _int(args, inputs, "length", 0, 1)
    classes = {k: _bool(args, inputs, k, True) for k in ("upper", "lower", "special")}
    numeric = _bool(args, inputs, "numeric", True)
    number = _bool(args, inputs, "number", numeric)
    if "numeric" in inputs and "number" in inputs and numeric != number:
        raise UnsupportedInput(f"{args.typ} {args.name!r}: number and numeric disagree")
    numeric = numeric and number
    mins = {k: _int(args, inputs, k, 0, 0) for k in MIN_KEYS}
    if length < sum(mins.values()):
        raise UnsupportedInput(
            f"{args.typ} {args.name!r}: length must be at least min_upper + min_lower + "
            f"min_numeric + min_special, got {length}"
        )
    if not (numeric or any(classes.values())):
        raise UnsupportedInput(
            f"{args.typ} {args.name!r}: at least one of special, upper, lower, numeric must be true"
        )
    special = inputs.get("overrideSpecial") or SPECIAL
    alphabet = (
        (UPPER if classes["upper"] else "")
        + (LOWER if classes["lower"] else "")
        + (NUMERIC if numeric else "")
        + (special if classes["special"] else "")
    )
    chars = [
        secrets.choice(charset)
        for charset, count in (
            (NUMERIC, mins["minNumeric"]),
            (LOWER, mins["minLower"]),
            (UPPER, mins["minUpper"]),
            (special, mins["minSpecial"]),
        )
        for _ in range(count)
    ]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    state = dict(inputs)
    state.update(classes, numeric=numeric, number=numeric, length=length, **mins)
    return state, "".join(chars)


def random_password(args: Args) -> Made:
    import bcrypt  # a test dependency (requirements-dev.txt): `make policy-check` runs without

    state, result = random_text(args)
    # Go's bcrypt.DefaultCost, $2a$ as golang.org/x/crypto/bcrypt writes it.
    hashed = bcrypt.hashpw(result.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()
    return "none", {**state, "result": result, "bcryptHash": hashed}


def random_string(args: Args) -> Made:
    state, result = random_text(args)
    return result, {**state, "result": result}


def random_bytes(args: Args) -> Made:
    inputs = _check(args, {"length", "keepers"}, {"length"})
    raw = secrets.token_bytes(_int(args, inputs, "length", 0, 1))
    return "none", {
        **inputs,
        "length": len(raw),
        "base64": base64.b64encode(raw).decode(),
        "hex": raw.hex(),
    }


def random_id(args: Args) -> Made:
    inputs = _check(args, {"byteLength", "prefix", "keepers"}, {"byteLength"})
    raw = secrets.token_bytes(_int(args, inputs, "byteLength", 0, 1))
    prefix = inputs.get("prefix") or ""
    b64_url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return b64_url, {
        **inputs,
        "byteLength": len(raw),
        "b64Url": prefix + b64_url,
        "b64Std": prefix + base64.b64encode(raw).decode(),
        "hex": prefix + raw.hex(),
        "dec": prefix + str(int.from_bytes(raw, "big")),
    }


# type token -> (id, outputs): every output the provider computes, plus its state's inputs.
FAITHFUL: dict[str, Callable[[Args], Made]] = {
    "tls:index/privateKey:PrivateKey": private_key,
    "tls:index/selfSignedCert:SelfSignedCert": self_signed_cert,
    "tls:index/certRequest:CertRequest": cert_request,
    "tls:index/locallySignedCert:LocallySignedCert": locally_signed_cert,
    "random:index/randomPassword:RandomPassword": random_password,
    "random:index/randomString:RandomString": random_string,
    "random:index/randomBytes:RandomBytes": random_bytes,
    "random:index/randomId:RandomId": random_id,
}


class FaithfulProviders(FakeProviders):
    """tls: and random: resources as their providers would make them (see the module
    docstring); every other type as FakeProviders makes it. A `tls:` or `random:` type
    not handled here fails the run rather than passing for a real one."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        make = FAITHFUL.get(args.typ)
        if make is not None:
            return make(args)
        if args.typ.startswith(("tls:", "random:")):
            raise UnsupportedInput(
                f"{args.typ} {args.name!r}: no faithful implementation (have: "
                f"{', '.join(sorted(FAITHFUL))})"
            )
        return super().new_resource(args)
