"""Client certificates in RACF, exported as PKCS#12 and split into PEM.

Per entry of ZOS_USERS (hub user -> z/OS ID): a certificate owned by that ID and signed
by the CA (so AT-TLS's SAFCheck maps the notebook user's connection to the user's own
ID), exported with RACDCERT EXPORT FORMAT(PKCS12DER) and the p12 password, copied out
of the data set in binary (`cp -B`) and written to stdout base64-encoded
(`uuencode -m`): the binary survives sshd's ASCII/EBCDIC conversion that way.

The password reaches z/OS on stdin and goes to RACF in a 0600 SYSTSIN file read by an
authorized TMP (ZOAU `mvscmdauth`), never on a command line; the TMP's echo of that
command is dropped from what is shown.

On the machine running Pulumi, `render_split_script` does the seed's openssl steps:
client certificate (`openssl x509`, Bag Attributes gone), CA chain (every certificate
kept, Bag Attributes gone), key (`openssl pkey`), then the seed's `openssl verify`.
OpenSSL 3 reads RC2-encrypted PKCS#12 only with `-legacy`; the script retries with it.
It runs inside each user's delivery command (components/delivery/client_certs.py), and,
without AT-TLS, as the gateway's own `server-pem` command; only when the export
changed, since both are commands whose stdin is the export's output.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

from components.delivery.script import FRAME, parse_frames
from components.pki.specs import ORGANIZATION, client_spec
from components.settings import ZosSettings
from components.zos.racf import (
    SCHEDULE_SAY,
    rekey_body,
    renewal_variables,
    schedule_variables,
    until_variables,
)
from components.zos.script import Step, make_step

# RACF labels are at most 32 characters.
MAX_LABEL = 32
# RACDCERT EXPORT's command must fit 80-column SYSTSIN records.
MAX_P12_PASSWORD = 64
PEM_NAMES = ("cert.pem", "key.pem", "ca.pem")


def mvscmdauth(zos: ZosSettings) -> str:
    """ZOAU's mvscmdauth, found where ZOS_OPERCMD (ZOAU's opercmd) is."""
    if "/" in zos.opercmd:
        return str(PurePosixPath(zos.opercmd).parent / "mvscmdauth")
    return "mvscmdauth"


def stack_tag(stack: str) -> str:
    """A data set qualifier for the stack (8 characters, a letter first): S and 7 hex
    digits of the stack name's hash, so stacks do not share one."""
    digest = hashlib.sha256(stack.encode()).hexdigest()[:7].upper()
    return f"S{digest}"


def client_label(stack: str) -> str:
    """The label of each notebook user's client certificate: per stack, so two stacks
    on one z/OS give the same z/OS ID certificates of their own (each signed by that
    stack's CA, each removed with its stack)."""
    label = f"JupyterHub {stack}"
    if len(label) <= MAX_LABEL:
        return label
    return f"JupyterHub {stack[:12]} {stack_tag(stack)}"


def export_dsn(zos: ZosSettings, stack: str, tag: str) -> str:
    """The short-lived data set RACF exports to, under the SSH user's high-level qualifier,
    named per stack (two stacks exporting at once never overwrite each other's)."""
    return f"{zos.ssh_user}.JHZOS.{stack_tag(stack)}.{tag}.P12"


def request_dsn(zos: ZosSettings, stack: str, tag: str) -> str:
    """The short-lived data set of a certificate request (GENREQ) while a certificate is
    re-issued by rollover: beside the exports, per stack."""
    return f"{zos.ssh_user}.JHZOS.{stack_tag(stack)}.{tag}.CSR"


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
        "LABEL": client_label(stack),
        "CA": zos.ca_label,
        "CN": spec.common_name,
        "ORG": ORGANIZATION,
        "DSN": export_dsn(zos, stack, f"U.{zos_id}"),
        "MVSCMDAUTH": mvscmdauth(zos),
        **renewal_variables(zos, stack, client_label(stack), f"U.{zos_id}"),
        **schedule_variables(zos),
    }
    create = (
        _READ_PASSWORD
        + SCHEDULE_SAY
        + rekey_body(zos)
        + f"""
if to_sign "ID($ID)" "$LABEL" "client certificate of $ID" "$CN" "$UNTIL" "$NEW" "$REQ_DSN"; then
  ok "RACDCERT GENCERT ID($ID) SIGNWITH(CERTAUTH LABEL('$CA')) KEYUSAGE(HANDSHAKE) \\
WITHLABEL('$LABEL') SUBJECTSDN(CN('$CN') O('$ORG')) SIZE({zos.key_size}) NOTAFTER(DATE($UNTIL))"
  use "CERT ID($ID) $LABEL"
fi
refresh_pending
report_expiry "ID($ID)" "$LABEL"
"""
        + _EXPORT
    )
    delete = """
drop_cert "ID($ID)" "$NEW" "client certificate of $ID being re-issued"
drop_cert "ID($ID)" "$LABEL" "client certificate of $ID"
drop_dsn "$DSN"
drop_dsn "$REQ_DSN"
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
        delete_variables={k: variables[k] for k in ("ID", "LABEL", "DSN", "NEW", "REQ_DSN")},
        triggers=(zos_id, client_label(stack), zos.ca_label),
        stdin="password",
    )


def server_export_step(zos: ZosSettings, stack: str) -> Step:
    """ZOS_ATTLS=false: the gateway's RACF certificate and key, exported the same way,
    for the gateway's own TLS. Nothing in RACF is created, so the delete only makes sure
    no exported data set is left."""
    variables = {
        "ID": zos.kg_user,
        "LABEL": zos.server_cert_label,
        "DSN": export_dsn(zos, stack, "SERVER"),
        "MVSCMDAUTH": mvscmdauth(zos),
        # A re-issued server certificate is exported again (the dates change then).
        **until_variables(zos),
    }
    create = (
        _READ_PASSWORD
        + """
say "this period's certificates end $UNTIL, the CA's $CA_UNTIL"
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


# --- on the machine running Pulumi ------------------------------------------------------

_SPLIT_SCRIPT = r"""# jupyterhub-zos: a PKCS#12 exported by RACF, split into PEM files as the seed
# does.
# stdin: the password (one line), then the export step's output with a uuencode -m block.
# stdout: the key, the certificate and the CA chain, each after its header line
# ('__FRAME__ key', ... cert, ... ca): what the certificate delivery reads.
set -eu
umask 077
say() { printf '%s\n' "jupyterhub-zos[split]: $*" >&2; }
die() { printf '%s\n' "jupyterhub-zos[split]: ERROR: $*" >&2; exit 1; }
command -v openssl >/dev/null 2>&1 || die "openssl is not installed on the machine running Pulumi"
TMP_DIR="${TMPDIR:-/tmp}/jupyterhub-zos-split.$$"
mkdir "$TMP_DIR" || die "cannot create $TMP_DIR"
trap 'rm -rf "$TMP_DIR"' EXIT
trap 'exit 1' HUP INT TERM

IFS= read -r PW || die "no password on stdin"
cat >"$TMP_DIR/pass" <<JHZOS_PASS
$PW
JHZOS_PASS
sed -n '/^begin-base64 /,/^====$/p' >"$TMP_DIR/p12.uu"
[ -s "$TMP_DIR/p12.uu" ] || die "no uuencoded PKCS#12 (begin-base64 ... ====) on stdin"
sed '1d;$d' "$TMP_DIR/p12.uu" | openssl base64 -d -out "$TMP_DIR/p12"
[ -s "$TMP_DIR/p12" ] || die "the PKCS#12 did not decode"

LEGACY=no
p12() {
  if [ "$LEGACY" = yes ]; then
    openssl pkcs12 -legacy -in "$TMP_DIR/p12" -passin "file:$TMP_DIR/pass" "$@"
  else
    openssl pkcs12 -in "$TMP_DIR/p12" -passin "file:$TMP_DIR/pass" "$@"
  fi
}
# OpenSSL 3 needs -legacy for RC2/DES-encrypted PKCS#12 (as older exporters write it).
if ! p12 -nokeys -out "$TMP_DIR/probe" 2>"$TMP_DIR/err"; then
  LEGACY=yes
  if ! p12 -nokeys -out "$TMP_DIR/probe" 2>"$TMP_DIR/err.legacy"; then
    die "openssl cannot read the PKCS#12 (wrong ZOS_P12_PASSWORD?):
$(cat "$TMP_DIR/err")
with -legacy:
$(cat "$TMP_DIR/err.legacy")"
  fi
  say "the PKCS#12 uses legacy encryption: read with -legacy"
fi

# The client certificate, without Bag Attributes (openssl x509 keeps only the PEM).
p12 -clcerts -nokeys -out "$TMP_DIR/cert.orig.pem"
openssl x509 -in "$TMP_DIR/cert.orig.pem" -out "$TMP_DIR/cert.pem"
# The CA chain, every certificate kept (openssl x509 would keep only the first).
p12 -cacerts -nokeys -out "$TMP_DIR/ca.orig.pem"
sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' \
  "$TMP_DIR/ca.orig.pem" >"$TMP_DIR/ca.pem"
[ -s "$TMP_DIR/ca.pem" ] || die "the PKCS#12 holds no CA certificate"
# The private key, unencrypted, without Bag Attributes.
p12 -nocerts -nodes -out "$TMP_DIR/key.orig.pem"
openssl pkey -in "$TMP_DIR/key.orig.pem" -out "$TMP_DIR/key.pem"

# The seed's check, and that the key belongs to the certificate.
openssl verify -CAfile "$TMP_DIR/ca.pem" "$TMP_DIR/cert.pem" >&2 ||
  die "the certificate does not verify against its CA chain"
openssl x509 -in "$TMP_DIR/cert.pem" -noout -pubkey >"$TMP_DIR/cert.pub"
openssl pkey -in "$TMP_DIR/key.pem" -pubout >"$TMP_DIR/key.pub"
cmp -s "$TMP_DIR/cert.pub" "$TMP_DIR/key.pub" ||
  die "the private key does not belong to the certificate"
for name in key cert ca; do
  printf '%s %s\n' '__FRAME__' "$name"
  cat "$TMP_DIR/$name.pem"
done
"""


# Printed in the delivery's framing (components/delivery/script.py), so that the
# delivery can read the split's output as it is.
SPLIT_SCRIPT = _SPLIT_SCRIPT.replace("__FRAME__", FRAME)


def render_split_script() -> str:
    return SPLIT_SCRIPT


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\n[A-Za-z0-9+/=\n]+?-----END \1-----\n?")


def parse_split_output(stdout: str) -> dict[str, str]:
    """The three PEM files the split script printed (cert.pem, key.pem, ca.pem),
    checked for shape."""
    parts = parse_frames(stdout)
    files = {f"{part}.pem": text for part, text in parts.items()}
    expected = {"cert.pem": ("CERTIFICATE",), "key.pem": ("PRIVATE KEY",), "ca.pem": ()}
    if sorted(files) != sorted(expected):
        raise ValueError(f"the split printed {sorted(files)}, not {sorted(expected)}")
    for name, kinds in expected.items():
        blocks = _PEM_BLOCK.findall(files[name])
        if not blocks or (kinds and tuple(blocks) != kinds):
            raise ValueError(f"{name} from the split is not the expected PEM")
        if name == "ca.pem" and set(blocks) != {"CERTIFICATE"}:
            raise ValueError("ca.pem from the split holds something else than certificates")
    return files
