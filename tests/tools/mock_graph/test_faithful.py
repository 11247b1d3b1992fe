"""The provider-faithful mode: real keys, certificates and random values, shaped as the
providers shape them, from exactly the inputs given (and an error for any other)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import re
import socket
import ssl
import string
import subprocess
import threading

import bcrypt
import pulumi
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from tests.tooling import require_tool
from tools.mock_graph import UnsupportedInput, run_program
from tools.mock_graph.faithful import FAITHFUL, SPECIAL

KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CSR = "tls:index/certRequest:CertRequest"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
PASSWORD = "random:index/randomPassword:RandomPassword"
STRING = "random:index/randomString:RandomString"
BYTES = "random:index/randomBytes:RandomBytes"
ID = "random:index/randomId:RandomId"
CONTAINER = "docker:index/container:Container"


def make(typ: str, inputs: dict, name: str = "t") -> tuple[str, dict]:
    args = pulumi.runtime.MockResourceArgs(
        typ=typ, name=name, inputs=inputs, provider="", resource_id="", custom=True
    )
    return FAITHFUL[typ](args)


def key(algorithm="ECDSA", **extra) -> dict:
    return make(KEY, {"algorithm": algorithm, **extra})[1]


def ca(subject=None, **extra) -> tuple[dict, dict]:
    """(key outputs, self-signed CA outputs)."""
    ca_key = key(ecdsaCurve="P384")
    _, cert = make(
        SELF_SIGNED,
        {
            "privateKeyPem": ca_key["privateKeyPem"],
            "subject": subject or {"commonName": "Test CA", "organization": "tests"},
            "isCaCertificate": True,
            "allowedUses": ["cert_signing", "crl_signing", "digital_signature"],
            "validityPeriodHours": 87600.0,
            "setSubjectKeyId": True,
            **extra,
        },
    )
    return ca_key, cert


def issue(ca_pair, subject, uses, hours=24.0, **names) -> tuple[dict, dict, dict]:
    """(key, csr, cert outputs) of a certificate signed by `ca_pair`."""
    ca_key, ca_cert = ca_pair
    leaf_key = key()
    _, csr = make(CSR, {"privateKeyPem": leaf_key["privateKeyPem"], "subject": subject, **names})
    _, cert = make(
        SIGNED,
        {
            "certRequestPem": csr["certRequestPem"],
            "caPrivateKeyPem": ca_key["privateKeyPem"],
            "caCertPem": ca_cert["certPem"],
            "allowedUses": uses,
            "validityPeriodHours": hours,
            "earlyRenewalHours": 1.0,
            "setSubjectKeyId": True,
        },
    )
    return leaf_key, csr, cert


def load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def ext(cert: x509.Certificate, kind):
    return cert.extensions.get_extension_for_class(kind)


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "kind", "header", "ssh_type"),
    [
        ({"algorithm": "RSA"}, rsa.RSAPrivateKey, "RSA PRIVATE KEY", "ssh-rsa"),
        (
            {"algorithm": "ECDSA", "ecdsaCurve": "P256"},
            ec.EllipticCurvePrivateKey,
            "EC",
            "nistp256",
        ),
        (
            {"algorithm": "ECDSA", "ecdsaCurve": "P384"},
            ec.EllipticCurvePrivateKey,
            "EC",
            "nistp384",
        ),
        (
            {"algorithm": "ECDSA", "ecdsaCurve": "P521"},
            ec.EllipticCurvePrivateKey,
            "EC",
            "nistp521",
        ),
        ({"algorithm": "ED25519"}, ed25519.Ed25519PrivateKey, "PRIVATE KEY", "ssh-ed25519"),
    ],
)
def test_a_private_key_is_real_in_every_format_the_provider_gives(inputs, kind, header, ssh_type):
    id_, out = make(KEY, inputs)
    private = serialization.load_pem_private_key(out["privateKeyPem"].encode(), None)
    assert isinstance(private, kind)
    assert out["privateKeyPem"].startswith(f"-----BEGIN {header}")
    pkcs8 = serialization.load_pem_private_key(out["privateKeyPemPkcs8"].encode(), None)
    assert out["privateKeyPemPkcs8"].startswith("-----BEGIN PRIVATE KEY-----")
    openssh = serialization.load_ssh_private_key(out["privateKeyOpenssh"].encode(), None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = private.public_key().public_bytes(serialization.Encoding.DER, spki)
    for other in (pkcs8, openssh):
        assert other.public_key().public_bytes(serialization.Encoding.DER, spki) == der
    assert (
        serialization.load_pem_public_key(out["publicKeyPem"].encode()).public_bytes(
            serialization.Encoding.DER, spki
        )
        == der
    )
    assert ssh_type in out["publicKeyOpenssh"] and out["publicKeyOpenssh"].endswith("\n")
    assert id_ == hashlib.sha1(der, usedforsecurity=False).hexdigest()
    # Defaults kept in state, as the provider keeps them.
    assert out["rsaBits"] == 2048 and out["ecdsaCurve"] == inputs.get("ecdsaCurve", "P224")
    if kind is rsa.RSAPrivateKey:
        assert private.key_size == 2048


def test_rsa_bits_are_honoured():
    private = serialization.load_pem_private_key(
        key("RSA", rsaBits=3072.0)["privateKeyPem"].encode(), None
    )
    assert private.key_size == 3072


def test_ssh_fingerprints_are_the_ones_ssh_keygen_prints(tmp_path):
    keygen = require_tool("ssh-keygen")
    out = key("ED25519")
    path = tmp_path / "key.pub"
    path.write_text(out["publicKeyOpenssh"])
    for algo, field in (
        ("sha256", "publicKeyFingerprintSha256"),
        ("md5", "publicKeyFingerprintMd5"),
    ):
        printed = subprocess.run(
            [keygen, "-l", "-E", algo, "-f", str(path)], capture_output=True, text=True, check=True
        ).stdout.split()[1]
        assert printed.removeprefix("MD5:") == out[field]


def test_p224_has_no_openssh_forms_as_in_the_provider():
    out = key(ecdsaCurve="P224")
    assert isinstance(
        serialization.load_pem_private_key(out["privateKeyPem"].encode(), None).curve, ec.SECP224R1
    )
    assert out["privateKeyOpenssh"] == out["publicKeyOpenssh"] == ""
    assert out["publicKeyFingerprintMd5"] == out["publicKeyFingerprintSha256"] == ""


def test_two_keys_differ():
    assert key()["privateKeyPem"] != key()["privateKeyPem"]


@pytest.mark.parametrize(
    ("typ", "inputs", "needle"),
    [
        (KEY, {"algorithm": "ECDSA", "opensshComment": "x"}, "unsupported input(s) opensshComment"),
        (KEY, {"algorithm": "DSA"}, "algorithm 'DSA' is not one of ECDSA, ED25519, RSA"),
        (KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P192"}, "ecdsaCurve 'P192'"),
        (KEY, {}, "missing required input(s) algorithm"),
        (CSR, {"privateKeyPem": "x", "subject": {"commonName": "a", "title": "b"}}, "title"),
        (PASSWORD, {"length": 8.0, "minDigits": 1.0}, "unsupported input(s) minDigits"),
        (BYTES, {"length": 0.0}, "length must be at least 1"),
        (ID, {"byteLength": 4.0, "suffix": "x"}, "unsupported input(s) suffix"),
    ],
)
def test_an_input_it_does_not_understand_fails_naming_it(typ, inputs, needle):
    with pytest.raises(UnsupportedInput) as err:
        make(typ, inputs, name="named")
    assert needle in str(err.value) and typ in str(err.value) and "'named'" in str(err.value)


# --- certificates -----------------------------------------------------------------------


def test_a_self_signed_ca_is_what_was_asked_for():
    subject = {
        "commonName": "Test CA",
        "organization": "tests",
        "organizationalUnit": "unit",
        "country": "DE",
        "province": "Bavaria",
        "locality": "Munich",
        "streetAddresses": ["Main St 1", "Floor 2"],
        "postalCode": "80331",
        "serialNumber": "42",
        "emailAddress": "ca@example.org",
    }
    _, out = ca(subject, setAuthorityKeyId=True, earlyRenewalHours=8760.0)
    cert = load(out["certPem"])
    names = {attr.oid: [] for attr in cert.subject}
    for attr in cert.subject:
        names[attr.oid].append(attr.value)
    assert names[NameOID.COMMON_NAME] == ["Test CA"]
    # Both street addresses in one RDN, as Go writes them (a DER set: sorted).
    assert sorted(names[NameOID.STREET_ADDRESS]) == ["Floor 2", "Main St 1"]
    assert len(cert.subject.rdns) == len(subject)  # one RDN per field
    assert names[NameOID.EMAIL_ADDRESS] == ["ca@example.org"]
    assert names[NameOID.COUNTRY_NAME] == ["DE"] and names[NameOID.SERIAL_NUMBER] == ["42"]
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    basic = ext(cert, x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length is None
    usage = ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert usage.value.digital_signature and not usage.value.key_encipherment
    with pytest.raises(x509.ExtensionNotFound):
        ext(cert, x509.ExtendedKeyUsage)
    ski = ext(cert, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski.digest
    assert out["keyAlgorithm"] == "ECDSA" and out["readyForRenewal"] is False
    assert out["earlyRenewalHours"] == 8760 and out["isCaCertificate"] is True


def _ca_inputs(ca_key):
    return {
        "privateKeyPem": ca_key["privateKeyPem"],
        "subject": {"commonName": "x"},
        "allowedUses": ["cert_signing"],
        "validityPeriodHours": 1.0,
    }


def test_the_id_is_the_serial_and_the_validity_is_as_requested():
    ca_key = key()
    id_, out = make(SELF_SIGNED, {**_ca_inputs(ca_key), "validityPeriodHours": 5.0})
    cert = load(out["certPem"])
    assert id_ == str(cert.serial_number)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    assert end - start == datetime.timedelta(hours=5)
    assert abs(datetime.datetime.now(datetime.UTC) - start) < datetime.timedelta(minutes=1)
    assert out["validityStartTime"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out["validityEndTime"] == end.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Not a CA, no key ids asked for: none given.
    assert not ext(cert, x509.BasicConstraints).value.ca
    with pytest.raises(x509.ExtensionNotFound):
        ext(cert, x509.SubjectKeyIdentifier)
    with pytest.raises(x509.ExtensionNotFound):
        ext(cert, x509.AuthorityKeyIdentifier)


def test_a_locally_signed_cert_verifies_against_its_ca_with_the_names_and_uses_requested():
    authority = ca()
    names = {
        "dnsNames": ["gw.test", "gw"],
        "ipAddresses": ["127.0.0.1", "::1"],
        "uris": ["spiffe://test/gw"],
    }
    _, csr, out = issue(
        authority,
        {"commonName": "gw.test", "organization": "tests"},
        ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        hours=48.0,
        **names,
    )
    cert, ca_cert = load(out["certPem"]), load(authority[1]["certPem"])
    cert.verify_directly_issued_by(ca_cert)
    with pytest.raises((ValueError, InvalidSignature)):
        cert.verify_directly_issued_by(load(ca()[1]["certPem"]))  # another CA: refused
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gw.test", "gw"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://test/gw"]
    usage = ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(hours=48)
    aki = ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == ext(ca_cert, x509.SubjectKeyIdentifier).value.digest
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gw.test"
    assert out["caKeyAlgorithm"] == "ECDSA" and csr["keyAlgorithm"] == "ECDSA"
    # A real verifier (RFC 5280 path validation) accepts it for its names.
    when = cert.not_valid_before_utc + datetime.timedelta(minutes=1)
    verifier = PolicyBuilder().store(Store([ca_cert])).time(when)
    verifier.build_server_verifier(x509.DNSName("gw.test")).verify(cert, [])
    verifier.build_server_verifier(x509.IPAddress(ipaddress.ip_address("::1"))).verify(cert, [])
    with pytest.raises(x509.verification.VerificationError):
        verifier.build_server_verifier(x509.DNSName("other.test")).verify(cert, [])


def test_max_path_length_limits_a_ca():
    ca_key = key()
    _, out = make(
        SELF_SIGNED, {**_ca_inputs(ca_key), "isCaCertificate": True, "maxPathLength": 2.0}
    )
    assert ext(load(out["certPem"]), x509.BasicConstraints).value.path_length == 2


def test_bad_certificate_inputs_fail_naming_them():
    ca_key = key()
    with pytest.raises(UnsupportedInput, match="allowedUses entry 'server'"):
        make(SELF_SIGNED, {**_ca_inputs(ca_key), "allowedUses": ["server"]})
    with pytest.raises(UnsupportedInput, match="invalid IP address '300.1.1.1'"):
        make(CSR, {"privateKeyPem": ca_key["privateKeyPem"], "ipAddresses": ["300.1.1.1"]})
    with pytest.raises(UnsupportedInput, match="setAuthorityKeyId needs a subject key id"):
        make(SELF_SIGNED, {**_ca_inputs(ca_key), "setAuthorityKeyId": True})
    with pytest.raises(UnsupportedInput, match="CA's subject must contain"):
        make(SELF_SIGNED, {**_ca_inputs(ca_key), "subject": {}, "isCaCertificate": True})


# --- random -------------------------------------------------------------------------------


def test_a_password_has_the_requested_length_alphabet_and_minimums():
    alnum = set(string.ascii_letters + string.digits)
    for _ in range(20):
        id_, out = make(PASSWORD, {"length": 48.0, "special": False})
        assert len(out["result"]) == 48 and set(out["result"]) <= alnum and id_ == "none"
        assert bcrypt.checkpw(out["result"].encode(), out["bcryptHash"].encode())
        assert out["bcryptHash"].startswith("$2a$10$")
    _, out = make(
        STRING,
        {
            "length": 12.0,
            "lower": False,
            "minUpper": 3.0,
            "minNumeric": 4.0,
            "minSpecial": 2.0,
            "overrideSpecial": "#~",
        },
    )
    result = out["result"]
    assert len(result) == 12 and set(result) <= set(string.ascii_uppercase + string.digits + "#~")
    assert sum(c.isupper() for c in result) >= 3 and sum(c.isdigit() for c in result) >= 4
    assert sum(c in "#~" for c in result) >= 2
    assert out["lower"] is False and out["special"] is True and out["minUpper"] == 3
    # The default specials, and every class honoured over many draws.
    _, out = make(STRING, {"length": 400.0})
    assert set(out["result"]) <= set(string.ascii_letters + string.digits + SPECIAL)
    assert any(c in SPECIAL for c in out["result"]) and "bcryptHash" not in out


def test_impossible_passwords_are_refused():
    with pytest.raises(UnsupportedInput, match="length must be at least min_upper"):
        make(PASSWORD, {"length": 3.0, "minUpper": 2.0, "minLower": 2.0})
    with pytest.raises(UnsupportedInput, match="at least one of special, upper, lower, numeric"):
        make(
            STRING,
            {"length": 3.0, "special": False, "upper": False, "lower": False, "number": False},
        )


def test_random_bytes_and_ids_are_real_in_every_encoding():
    _, out = make(BYTES, {"length": 32.0})
    raw = base64.b64decode(out["base64"], validate=True)
    assert len(raw) == 32 and out["hex"] == raw.hex()
    assert make(BYTES, {"length": 32.0})[1]["hex"] != out["hex"]
    id_, out = make(ID, {"byteLength": 9.0, "prefix": "p-"})
    raw = base64.urlsafe_b64decode(id_ + "=" * (-len(id_) % 4))
    assert len(raw) == 9 and "=" not in id_
    assert out["b64Url"] == "p-" + id_ and out["hex"] == "p-" + raw.hex()
    assert out["b64Std"] == "p-" + base64.b64encode(raw).decode()
    assert out["dec"] == "p-" + str(int.from_bytes(raw, "big"))


# --- the dev stack, faithfully -----------------------------------------------------------


@pytest.fixture(scope="module")
def dev():
    return run_program("dev", providers="faithful")


def uploads(graph, container: str) -> dict[str, str]:
    return {u["file"]: u["content"] for u in graph.one(CONTAINER, container).inputs["uploads"]}


def hub_issued(graph, user: str) -> dict[str, str]:
    """The key, cert and CA PEMs the hub writes for `user` at spawn: the shipped issuer
    (images/hub/jhz_client_certs.py) run on the client CA and gateway CA uploaded to the hub."""
    import importlib
    import sys

    from tests.hubconfig import HUB_CONFIG

    sys.path.insert(0, str(HUB_CONFIG.parent))
    issuer = importlib.import_module("jhz_client_certs")
    hub = uploads(graph, "jupyterhub-container")
    ca_key = serialization.load_pem_private_key(
        hub["/srv/jupyterhub/tls/client-ca.key"].encode(), None
    )
    ca_cert = load(hub["/srv/jupyterhub/tls/client-ca.crt"])
    issued = issuer.issue(user, ca_key, ca_cert, 24)
    return {
        "key": issued.key_pem.decode(),
        "cert": issued.cert_pem.decode(),
        "ca": hub["/srv/jupyterhub/tls/gateway-ca.crt"],
    }


def handshake(tmp_path, server: tuple[str, str], client_ca: str, client, ca: str, host: str):
    """A TLS handshake over a local socket pair: the server requires a client certificate
    from `client_ca`; the client verifies the server against `ca` for `host`. Returns the
    client certificate the server saw."""
    files = {}
    for name, text in {"s.crt": server[0], "s.key": server[1], "cca": client_ca, "ca": ca}.items():
        (tmp_path / name).write_text(text)
        files[name] = str(tmp_path / name)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files["s.crt"], files["s.key"])
    server_ctx.load_verify_locations(files["cca"])
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=files["ca"])
    if client is not None:
        (tmp_path / "c.crt").write_text(client[0])
        (tmp_path / "c.key").write_text(client[1])
        client_ctx.load_cert_chain(str(tmp_path / "c.crt"), str(tmp_path / "c.key"))
    a, b = socket.socketpair()
    seen: dict = {}

    def serve():
        try:
            with server_ctx.wrap_socket(a, server_side=True) as tls:
                seen["peer"] = tls.getpeercert()
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            seen["error"] = exc

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_ctx.wrap_socket(b, server_hostname=host) as tls:
            assert tls.recv(2) == b"ok"
    finally:
        b.close()
        thread.join(10)
    if "error" in seen:
        raise seen["error"]
    return seen["peer"]


def test_dev_outputs_are_real_values(dev):
    hub_ca, gateway_ca = load(dev.outputs["hub_ca_cert"]), load(dev.outputs["gateway_ca_cert"])
    for cert in (hub_ca, gateway_ca):
        cert.verify_directly_issued_by(cert)
        assert ext(cert, x509.BasicConstraints).value.ca
    assert hub_ca.public_key() != gateway_ca.public_key()
    passwords = dev.outputs["dev_passwords"]
    assert sorted(passwords) == ["admin", "alice"] and len(set(passwords.values())) == 2
    assert passwords != run_program("dev").outputs["dev_passwords"]  # not the fakes' values
    # The directory's seed holds each password's {SSHA512} hash: one key behind both.
    seed = uploads(dev, "jupyterhub-ldap-server")["/etc/ldap/jupyterhub/seed.ldif"]
    hashes = re.findall(r"^userPassword: \{SSHA512\}(\S+)$", seed, flags=re.M)
    assert len(hashes) == 2
    for password in passwords.values():
        assert any(
            hashlib.sha512(password.encode() + raw[64:]).digest() == raw[:64]
            for raw in map(base64.b64decode, hashes)
        )
    assert len(dev.outputs["admin_users"]) >= 1 and {"dev_passwords"} <= dev.secret_outputs


def test_dev_hub_cert_verifies_against_the_hub_ca_for_its_names(dev):
    files = uploads(dev, "jupyterhub-container")
    cert = load(files["/srv/jupyterhub/tls/hub.crt"])
    store = Store([load(dev.outputs["hub_ca_cert"])])
    verifier = PolicyBuilder().store(store)
    verifier.build_server_verifier(x509.DNSName("localhost")).verify(cert, [])
    verifier.build_server_verifier(x509.IPAddress(ipaddress.ip_address("127.0.0.1"))).verify(
        cert, []
    )
    key = serialization.load_pem_private_key(files["/srv/jupyterhub/tls/hub.key"].encode(), None)
    assert key.public_key() == cert.public_key()
    # The LDAP server's cert, against the CA the hub is given for it.
    ldap = load(uploads(dev, "jupyterhub-ldap-server")["/etc/ldap/jupyterhub/tls.crt"])
    ldap_ca = Store([load(files["/srv/jupyterhub/tls/ldap-ca.pem"])])
    PolicyBuilder().store(ldap_ca).build_server_verifier(x509.DNSName("jupyterhub-ldap")).verify(
        ldap, []
    )


def test_dev_gateway_and_user_certs_make_a_mutual_tls_handshake(dev, tmp_path):
    files = uploads(dev, "jupyterhub-gateway-container")
    server = (files["/etc/jupyter-kg/tls/server.crt"], files["/etc/jupyter-kg/tls/server.key"])
    client_ca = files["/etc/jupyter-kg/tls/client-ca.crt"]
    # The gateway trusts the hub's client CA, a CA of its own (not the server's).
    assert load(client_ca) == load(dev.outputs["gateway_client_ca_cert"])
    assert load(client_ca) != load(dev.outputs["gateway_ca_cert"])
    for user in ("admin", "alice", "carol-by-group"):
        pems = hub_issued(dev, user)
        assert load(pems["ca"]) == load(dev.outputs["gateway_ca_cert"])
        peer = handshake(
            tmp_path,
            server,
            client_ca,
            (pems["cert"], pems["key"]),
            pems["ca"],
            "jupyterhub-gateway",
        )
        assert (("commonName", user),) in peer["subject"], peer
    # The check is real: the hub's server certificate is no client of the gateway.
    hub = uploads(dev, "jupyterhub-container")
    with pytest.raises(ssl.SSLError):
        handshake(
            tmp_path,
            server,
            client_ca,
            (hub["/srv/jupyterhub/tls/hub.crt"], hub["/srv/jupyterhub/tls/hub.key"]),
            client_ca,
            "jupyterhub-gateway",
        )


def test_a_run_with_an_input_the_mode_does_not_know_fails_naming_it(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: jupyterhub-zos\nruntime: python\nconfig: {}\n")
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi\n"
        'pulumi.CustomResource("tls:index/privateKey:PrivateKey", "k",'
        ' {"algorithm": "ECDSA", "bogus": 1})\n'
    )
    with pytest.raises(UnsupportedInput, match="'k': unsupported input\\(s\\) bogus"):
        run_program("s", program=program, providers="faithful")
    program.write_text(
        'import pulumi\npulumi.CustomResource("random:index/randomUuid:RandomUuid", "u", {})\n'
    )
    with pytest.raises(UnsupportedInput, match="randomUuid:RandomUuid 'u': no faithful"):
        run_program("s", program=program, providers="faithful")
    with pytest.raises(ValueError, match="providers='real': expected one of fakes, faithful"):
        run_program("s", program=program, providers="real")


def test_the_zos_stack_runs_faithfully_with_a_generated_p12_password(zos_config):
    config, secrets = zos_config
    secrets = {k: v for k, v in secrets.items() if k != "ZOS_P12_PASSWORD"}
    graph = run_program("dev", config=config, secrets=secrets, providers="faithful")
    assert "jupyterhub-zos-p12-password" in graph.names(PASSWORD)
    hub_ca = load(graph.outputs["hub_ca_cert"])
    hub_ca.verify_directly_issued_by(hub_ca)
