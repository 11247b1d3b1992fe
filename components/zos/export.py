"""Client certificates in RACF, exported as PKCS#12 and split into PEM.

Per entry of ZOS_USERS (hub user -> z/OS ID): a certificate owned by that ID and signed
by the CA (so AT-TLS's SAFCheck maps the notebook user's connection to the user's own
ID), exported with RACDCERT EXPORT FORMAT(PKCS12DER) and the p12 password, copied out
of the data set in binary (`cp -B`) and written to stdout base64-encoded
(`uuencode -m`): the binary survives sshd's ASCII/EBCDIC conversion that way.

The password reaches z/OS on stdin and goes to RACF in a 0600 SYSTSIN file read by an
authorized TMP (ZOAU `mvscmdauth`), never on a command line; the TMP's echo of that
command is dropped from what is shown.

In the program, `split_export` does the seed's openssl steps with cryptography: the
key, the certificate it belongs to and the CA chain as PEM, then the seed's `openssl
verify`. No resource and no openssl on the machine running Pulumi: the PEMs are an
Output of the export's (secret) stdout.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from pathlib import PurePosixPath

import pulumi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from components.cert_params import ORGANIZATION, client_spec
from components.settings import ZosSettings
from components.zos.racf import _notafter
from components.zos.script import Step, make_step

CLIENT_LABEL = "JupyterHub Client"
# RACDCERT EXPORT's command must fit 80-column SYSTSIN records.
MAX_P12_PASSWORD = 64
PEM_NAMES = ("cert.pem", "key.pem", "ca.pem")


def mvscmdauth(zos: ZosSettings) -> str:
    """ZOAU's mvscmdauth, found where ZOS_OPERCMD (ZOAU's opercmd) is."""
    if "/" in zos.opercmd:
        return str(PurePosixPath(zos.opercmd).parent / "mvscmdauth")
    return "mvscmdauth"


def export_dsn(zos: ZosSettings, tag: str) -> str:
    """The short-lived data set RACF exports to, under the SSH user's high-level qualifier."""
    return f"{zos.ssh_user}.JHZOS.{tag}.P12"


def p12_stdin(password: str) -> str:
    """What an export step reads on stdin: the password, one line."""
    if "\n" in password or not password:
        raise ValueError("the PKCS#12 password must be one non-empty line")
    return password + "\n"


# Read first: nothing else gets a chance to consume stdin.
_READ_PASSWORD = """
IFS= read -r PW || die "the PKCS#12 password was not on stdin"
[ -n "$PW" ] || die "the PKCS#12 password is empty"
if [ "${#PW}" -gt __MAX__ ]; then
  die "the PKCS#12 password is longer than __MAX__ characters (ZOS_P12_PASSWORD)"
fi
""".replace("__MAX__", str(MAX_P12_PASSWORD))

_EXPORT = """
scratch
drop_dsn "$DSN"
# The password goes to RACF through a 0600 file, not a command line.
cat >"$TMP_DIR/systsin" <<JHZOS_SYSTSIN
 RACDCERT EXPORT(LABEL('$LABEL')) ID($ID) -
 DSN('$DSN') FORMAT(PKCS12DER) -
 PASSWORD('$PW')
JHZOS_SYSTSIN
exp_rc=0
"$MVSCMDAUTH" --pgm=IKJEFT01 '--systsprt=*' --systsin=stdin \
  <"$TMP_DIR/systsin" >"$TMP_DIR/systsprt" 2>&1 || exp_rc=$?
rm -f "$TMP_DIR/systsin"
# The TMP echoes the command; that line holds the password and is not shown.
exp_out=$(grep -v 'PASSWORD(' "$TMP_DIR/systsprt" || true)
rm -f "$TMP_DIR/systsprt"
say "RC $exp_rc: RACDCERT EXPORT(LABEL('$LABEL')) ID($ID) DSN('$DSN') FORMAT(PKCS12DER)"
if [ "$exp_rc" -ne 0 ]; then
  drop_dsn "$DSN"
  die "RACDCERT EXPORT failed (RC $exp_rc):
$exp_out"
fi
cp -B "//'$DSN'" "$TMP_DIR/p12" || die "could not copy the data set $DSN"
drop_dsn "$DSN"
chtag -b "$TMP_DIR/p12"
uuencode -m "$TMP_DIR/p12" p12
say "exported '$LABEL' of $ID as PKCS#12"
"""


def user_cert_step(zos: ZosSettings, stack: str, hub_user: str, zos_id: str) -> Step:
    """A client certificate for ZOS_ID (GENCERT ID(zos_id) SIGNWITH the CA, only when
    LIST says it is not there), exported; stdout is the PKCS#12, uuencoded."""
    step = f"user-{hub_user}"
    spec = client_spec(hub_user)
    variables = {
        "ID": zos_id,
        "LABEL": CLIENT_LABEL,
        "CA": zos.ca_label,
        "CN": spec.common_name,
        "ORG": ORGANIZATION,
        "DSN": export_dsn(zos, f"U.{zos_id}"),
        "MVSCMDAUTH": mvscmdauth(zos),
    }
    create = (
        _READ_PASSWORD
        + f"""
if ! cert_there "ID($ID)" "$LABEL" "client certificate of $ID"; then
  needs_refresh DIGTCERT
  ok "RACDCERT GENCERT ID($ID) SIGNWITH(CERTAUTH LABEL('$CA')) KEYUSAGE(HANDSHAKE) \\
WITHLABEL('$LABEL') SUBJECTSDN(CN('$CN') O('$ORG')) SIZE({zos.key_size}){_notafter(zos)}"
  mark "CERT ID($ID) $LABEL"
fi
refresh_pending
"""
        + _EXPORT
    )
    delete = """
drop_cert "ID($ID)" "$LABEL" "client certificate of $ID"
drop_dsn "$DSN"
refresh_pending
"""
    purpose = f"Hub user {hub_user}: a client certificate for {zos_id}, exported as PKCS#12."
    return make_step(
        stack,
        step,
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables={k: variables[k] for k in ("ID", "LABEL", "DSN")},
        triggers=(zos_id, CLIENT_LABEL, zos.ca_label),
        stdin="password",
    )


def server_export_step(zos: ZosSettings, stack: str) -> Step:
    """ZOS_ATTLS=false: the gateway's RACF certificate and key, exported the same way,
    for the gateway's own TLS. Nothing in RACF is created, so the delete only makes sure
    no exported data set is left."""
    variables = {
        "ID": zos.kg_user,
        "LABEL": zos.server_cert_label,
        "DSN": export_dsn(zos, "SERVER"),
        "MVSCMDAUTH": mvscmdauth(zos),
    }
    create = (
        _READ_PASSWORD
        + """
tso "RACDCERT ID($ID) LIST(LABEL('$LABEL'))"
[ "$tso_rc" -eq 0 ] || fail "the server certificate must exist here"
"""
        + _EXPORT
    )
    purpose = "The gateway's certificate and key, exported for its own TLS (no AT-TLS)."
    return make_step(
        stack,
        "server-export",
        purpose,
        create=create,
        create_variables=variables,
        delete='drop_dsn "$DSN"\n',
        delete_variables={"DSN": variables["DSN"]},
        triggers=(zos.kg_user, zos.server_cert_label),
        stdin="password",
    )


# --- in the program: the seed's openssl split, done with cryptography --------------------

# What `uuencode -m` prints: "begin-base64 <mode> <name>", base64 lines, "====".
_UUENCODED = re.compile(r"^begin-base64 [0-7]+ \S+\n(.*?)^====$", re.MULTILINE | re.DOTALL)


class ExportError(pulumi.RunError):
    """An export's output is not a usable PKCS#12 (shown without a traceback)."""


def split_export(stdout: str, password: str, what: str) -> dict[str, str]:
    """The seed's split of an exported PKCS#12 into cert.pem, key.pem and ca.pem, with
    its `openssl verify`: the client certificate, the CA chain (every certificate, in
    the PKCS#12's order) and the key (PKCS#8), as PEM without Bag Attributes. The
    certificate must belong to the key and chain to a self-signed CA in ca.pem, each
    link within its dates. `what` names the export in errors, which never
    show the password or the key. cryptography reads the RC2/3DES-encrypted PKCS#12
    that older exporters (RACF among them) write, as `openssl pkcs12 -legacy` does."""
    block = _UUENCODED.search(stdout)
    if block is None:
        raise ExportError(f"{what}: no uuencoded PKCS#12 (begin-base64 ... ====) in its output")
    try:
        data = base64.b64decode("".join(block[1].split()), validate=True)
    except binascii.Error as exc:
        raise ExportError(f"{what}: the PKCS#12 is not valid base64 ({exc})") from None
    try:
        bundle = pkcs12.load_pkcs12(data, password.encode())
    except ValueError:
        raise ExportError(
            f"{what}: the PKCS#12 cannot be read (wrong ZOS_P12_PASSWORD, or a damaged export)"
        ) from None
    # load_pkcs12 pairs the key with the certificate it belongs to (or with none).
    if bundle.key is None or bundle.cert is None:
        raise ExportError(f"{what}: the PKCS#12 holds no certificate with its private key")
    cert = bundle.cert.certificate
    cas = [c.certificate for c in bundle.additional_certs]
    if not cas:
        raise ExportError(f"{what}: the PKCS#12 holds no CA certificate")
    problem = _chain_problem(cert, cas)
    if problem:
        raise ExportError(
            f"{what}: the certificate does not verify against its CA chain: {problem}"
        )
    pem = serialization.Encoding.PEM
    return {
        "cert.pem": cert.public_bytes(pem).decode(),
        "key.pem": bundle.key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "ca.pem": "".join(c.public_bytes(pem).decode() for c in cas),
    }


def _chain_problem(cert: x509.Certificate, cas: list[x509.Certificate]) -> str | None:
    """What `openssl verify -CAfile ca.pem cert.pem` would refuse, or None: each link
    within its dates and signed by the next, issuers that are CAs, up to a self-signed
    certificate of ca.pem (the trust anchor)."""
    now = datetime.now(UTC)
    current = cert
    for _ in range(len(cas) + 1):
        name = current.subject.rfc4514_string()
        if not current.not_valid_before_utc <= now <= current.not_valid_after_utc:
            return f"{name} is outside its validity dates"
        if current is not cert and _issued_by(current, current):
            return None
        issuer = next((ca for ca in cas if _issued_by(current, ca)), None)
        if issuer is None:
            return f"no CA in the chain signed {name}"
        if not _is_ca(issuer):
            return f"{issuer.subject.rfc4514_string()} is not a CA certificate"
        current = issuer
    return "the chain does not end at a self-signed CA"


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return cert.version == x509.Version.v1  # as OpenSSL: a v1 certificate may sign
