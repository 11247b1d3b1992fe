"""The program's split of a RACF export (components.zos.export.split_export): the seed's
openssl steps and its `openssl verify`, on PKCS#12 files made here the ways exporters
write them (OpenSSL 3's default, 3DES, and the RC2-40 `-legacy` kind)."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from components.zos.export import ExportError, split_export
from tests.tooling import require_tool
from tests.zos_double import racf

PASSWORD = "P12pw-ffd71c0e9b"  # distinctive, so a leak into a message is found
WHAT = "the client certificate of hub user alice (ALICE01)"


def cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), None)


def issue(subject: str, *, ca: bool, signer: dict | None, notafter=None) -> dict:
    key_pem, cert_pem = racf.make_cert(
        subject=subject, size=2048, ca=ca, signer=signer, notafter=notafter
    )
    return {"cert_pem": cert_pem, "key_pem": key_pem}


@pytest.fixture(scope="module")
def chain():
    """root CA -> intermediate CA -> client certificate (RSA, as RACF makes them)."""
    root = issue("CN('Root CA')", ca=True, signer=None)
    mid = issue("CN('Jupyter CA')", ca=True, signer=root)
    leaf = issue("CN('alice') O('jupyterhub-zos')", ca=False, signer=mid)
    return {"key": leaf["key_pem"], "cert": leaf["cert_pem"], "cas": [mid, root]}


def _p12(chain, tmp_path, how: str = "modern", password: str = PASSWORD) -> bytes:
    cas = [c["cert_pem"] for c in chain["cas"]]
    if how == "3des":
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 - what older PKCS#12 writers use
            .build(password.encode())
        )
        return pkcs12.serialize_key_and_certificates(
            b"JupyterHub Client",
            key(chain["key"]),
            cert(chain["cert"]),
            [cert(c) for c in cas] or None,
            encryption,
        )
    openssl = require_tool("openssl")
    (tmp_path / "key.pem").write_text(chain["key"])
    (tmp_path / "cert.pem").write_text(chain["cert"])
    (tmp_path / "pass").write_text(password + "\n")
    args = [openssl, "pkcs12", "-export", "-in", str(tmp_path / "cert.pem")]
    args += ["-inkey", str(tmp_path / "key.pem"), "-name", "JupyterHub Client"]
    args += ["-passout", f"file:{tmp_path / 'pass'}", "-out", str(tmp_path / "out.p12")]
    if cas:
        (tmp_path / "cas.pem").write_text("".join(cas))
        args += ["-certfile", str(tmp_path / "cas.pem")]
    if how == "legacy":
        args.append("-legacy")  # RC2-40 and 3DES: OpenSSL 3 reads it only with -legacy
    subprocess.run(args, check=True, capture_output=True)
    return (tmp_path / "out.p12").read_bytes()


def _uuencoded(data: bytes) -> str:
    """What the export step prints: `uuencode -m`, after the step's own lines."""
    encoded = base64.b64encode(data).decode()
    body = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
    return f"some other line\nbegin-base64 600 p12\n{body}\n====\n"


def _refused(stdout: str, password: str = PASSWORD) -> str:
    with pytest.raises(ExportError) as raised:
        split_export(stdout, password, WHAT)
    message = str(raised.value)
    assert message.startswith(WHAT + ": ")
    assert PASSWORD not in message and "PRIVATE KEY" not in message
    return message


@pytest.mark.parametrize("how", ["modern", "3des", "legacy"])
def test_split_turns_a_pkcs12_into_pem_as_the_seed_does(how, chain, tmp_path):
    files = split_export(_uuencoded(_p12(chain, tmp_path, how)), PASSWORD, WHAT)
    assert sorted(files) == ["ca.pem", "cert.pem", "key.pem"]
    assert cert(files["cert.pem"]) == cert(chain["cert"])
    # the chain whole, in the PKCS#12's order
    assert x509.load_pem_x509_certificates(files["ca.pem"].encode()) == [
        cert(c["cert_pem"]) for c in chain["cas"]
    ]
    assert key(files["key.pem"]).private_numbers() == key(chain["key"]).private_numbers()
    assert files["key.pem"].startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8
    for text in files.values():
        assert "Bag Attributes" not in text and "friendlyName" not in text
        assert text.startswith("-----BEGIN ") and text.endswith("-----\n")


def test_split_output_verifies_with_openssl_like_the_seed(chain, tmp_path):
    files = split_export(_uuencoded(_p12(chain, tmp_path, "legacy")), PASSWORD, WHAT)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    verify = subprocess.run(
        [require_tool("openssl"), "verify", "-CAfile", str(tmp_path / "ca.pem")]
        + [str(tmp_path / "cert.pem")],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and verify.stdout.strip().endswith(": OK")


def test_split_is_the_same_for_the_same_export(chain, tmp_path):
    # A second `pulumi up` reads the export's stdout from state: same PEMs, no change.
    stdout = _uuencoded(_p12(chain, tmp_path))
    assert split_export(stdout, PASSWORD, WHAT) == split_export(stdout, PASSWORD, WHAT)


def test_a_wrong_password_is_refused_naming_the_key(chain, tmp_path):
    message = _refused(_uuencoded(_p12(chain, tmp_path)), password="not-the-password")
    assert "wrong ZOS_P12_PASSWORD" in message


def test_an_export_without_a_pkcs12_or_a_ca_is_refused(chain, tmp_path):
    assert "no uuencoded PKCS#12" in _refused(
        "IRRD107I No matching certificate was found for this user.\n"
    )
    assert "not valid base64" in _refused("begin-base64 600 p12\nnot*base64!\n====\n")
    assert "cannot be read" in _refused("begin-base64 600 p12\nAAAA\n====\n")
    no_cas = dict(chain, cas=[])
    assert "holds no CA certificate" in _refused(_uuencoded(_p12(no_cas, tmp_path, "3des")))


def test_a_chain_that_does_not_verify_is_refused(chain, tmp_path):
    no_intermediate = dict(chain, cas=[chain["cas"][1]])  # the root only
    message = _refused(_uuencoded(_p12(no_intermediate, tmp_path)))
    assert "does not verify against its CA chain" in message
    assert "no CA in the chain signed" in message
    no_root = dict(chain, cas=[chain["cas"][0]])  # the intermediate, no trust anchor
    assert "no CA in the chain signed CN=Jupyter CA" in _refused(
        _uuencoded(_p12(no_root, tmp_path))
    )


def test_an_expired_certificate_or_a_non_ca_issuer_is_refused(chain, tmp_path):
    mid = chain["cas"][0]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    expired = issue("CN('alice')", ca=False, signer=mid, notafter=past)
    message = _refused(
        _uuencoded(_p12(dict(chain, key=expired["key_pem"], cert=expired["cert_pem"]), tmp_path))
    )
    assert "CN=alice is outside its validity dates" in message

    not_ca = issue("CN('Not a CA')", ca=False, signer=chain["cas"][1])
    leaf = issue("CN('alice')", ca=False, signer=not_ca)
    bad = {"key": leaf["key_pem"], "cert": leaf["cert_pem"], "cas": [not_ca, chain["cas"][1]]}
    assert "CN=Not a CA is not a CA certificate" in _refused(
        _uuencoded(_p12(bad, tmp_path, "3des"))
    )


def test_a_key_without_its_certificate_is_refused(chain, tmp_path):
    # A key and only other certificates (openssl pkcs12 -export -nocerts -certfile).
    other = issue("CN('bob')", ca=False, signer=chain["cas"][0])
    (tmp_path / "key.pem").write_text(other["key_pem"])
    (tmp_path / "certs.pem").write_text(chain["cert"] + chain["cas"][0]["cert_pem"])
    subprocess.run(
        [require_tool("openssl"), "pkcs12", "-export", "-nocerts"]
        + ["-inkey", str(tmp_path / "key.pem"), "-certfile", str(tmp_path / "certs.pem")]
        + ["-passout", f"pass:{PASSWORD}", "-out", str(tmp_path / "key-only.p12")],
        check=True,
        capture_output=True,
    )
    message = _refused(_uuencoded((tmp_path / "key-only.p12").read_bytes()))
    assert "holds no certificate with its private key" in message
