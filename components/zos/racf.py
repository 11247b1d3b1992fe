"""RACF steps for the gateway, in the seed runbook's order.

1. the CA certificate (used as is when it exists: it is never redefined or deleted),
2. the gateway's key ring, 3. its server certificate signed by the CA, 4. both connected
(the server certificate PERSONAL and DEFAULT), 5. READ to IRR.DIGTCERT.LISTRING,
then (AT-TLS only) 6. SURROGAT BPX.SRV.** READ for the gateway's ID and 7. FSSEC.

Every step lists before it defines (LIST, LISTRING, RLIST, SETROPTS LIST), acts on the
return code and message ID (RC 4 with IRRD107I, IRRD114I, ICH13003I: not there), writes
down what it created, and its delete script removes exactly that.
"""

from __future__ import annotations

import textwrap

from components.pki.specs import ORGANIZATION, ca_spec
from components.settings import ZosSettings
from components.zos.script import Step, make_step

CA_TRIGGERS = ("ca_label",)


def _notafter(zos: ZosSettings) -> str:
    """NOTAFTER for server and client certificates: the configured date, or RACF's
    default (one year from now) when none is configured, which keeps the script the
    same from one day to the next."""
    return f" NOTAFTER(DATE({zos.cert_notafter}))" if zos.cert_notafter else ""


def ca_step(zos: ZosSettings, stack: str) -> Step:
    """Seed step 1: the CA certificate, GENCERT CERTAUTH, only if the label is free."""
    spec = ca_spec(stack)
    variables = {"CA": zos.ca_label, "CA_CN": spec.common_name, "ORG": ORGANIZATION}
    # A CA outlives what it signs: the configured date, or the end of the ninth year after
    # its creation (nine to ten years: within the policy pack's ten-year bound).
    if zos.cert_notafter:
        variables["CA_UNTIL"] = zos.cert_notafter
        until = ""
    else:
        until = '  CA_UNTIL="$(( $(date +%Y) + 9 ))-12-31"\n'
    create = f"""
if ! cert_there CERTAUTH "$CA" "CA certificate"; then
{until}  needs_refresh DIGTCERT
  ok "RACDCERT GENCERT CERTAUTH SUBJECTSDN(CN('$CA_CN') O('$ORG')) WITHLABEL('$CA') \\
KEYUSAGE(CERTSIGN) SIZE({zos.key_size}) NOTAFTER(DATE($CA_UNTIL))"
  mark "CERT CERTAUTH $CA"
fi
refresh_pending
"""
    delete = """
drop_cert CERTAUTH "$CA" "CA certificate"
refresh_pending
"""
    purpose = "The CA certificate that signs the gateway's and the users' certificates."
    return make_step(
        stack,
        "ca",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables={"CA": zos.ca_label},
        triggers=(zos.ca_label,),
    )


def ring_step(zos: ZosSettings, stack: str) -> Step:
    """Seed step 2: the gateway's key ring, ADDRING, only if LISTRING says it is not there."""
    variables = {"RING": zos.keyring, "KG": zos.kg_user}
    create = """
tso "RACDCERT LISTRING($RING) ID($KG)"
if [ "$tso_rc" -eq 0 ]; then
  if marked "RING $KG $RING"; then
    say "the key ring $RING of $KG is there (added by jupyterhub-zos)"
  else
    say "the key ring $RING of $KG exists already: it is used, and never deleted"
  fi
elif absent '4 8' IRRD114I IRRD115I; then
  needs_refresh DIGTRING
  ok "RACDCERT ADDRING($RING) ID($KG)"
  mark "RING $KG $RING"
else
  fail "unexpected answer to LISTRING"
fi
refresh_pending
"""
    delete = """
if marked "RING $KG $RING"; then
  tso "RACDCERT LISTRING($RING) ID($KG)"
  if [ "$tso_rc" -eq 0 ]; then
    needs_refresh DIGTRING
    ok "RACDCERT DELRING($RING) ID($KG)"
  elif ! absent '4 8' IRRD114I IRRD115I; then
    fail "unexpected answer to LISTRING"
  fi
  unmark "RING $KG $RING"
else
  say "the key ring $RING of $KG was not added by jupyterhub-zos: left as it is"
fi
refresh_pending
"""
    purpose = "The gateway's key ring, read by AT-TLS."
    return make_step(
        stack,
        "ring",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables=variables,
        triggers=(zos.kg_user, zos.keyring),
    )


def _altname(host: str) -> str:
    """RACF ALTNAME for the name clients connect to (they check it, not the CN)."""
    if all(part.isdigit() for part in host.split(".")) or ":" in host:
        return f"ALTNAME(IP({host}))"
    return f"ALTNAME(DOMAIN('{host}'))"


def server_cert_step(zos: ZosSettings, stack: str, server_host: str) -> Step:
    """Seed step 3: the gateway's certificate, GENCERT ID(kg user) SIGNWITH the CA."""
    variables = {
        "KG": zos.kg_user,
        "SRV": zos.server_cert_label,
        "CA": zos.ca_label,
        "HOST": server_host,
        "ORG": ORGANIZATION,
    }
    altname = _altname(server_host).replace(server_host, "$HOST")
    create = f"""
if ! cert_there "ID($KG)" "$SRV" "server certificate"; then
  needs_refresh DIGTCERT
  ok "RACDCERT GENCERT ID($KG) SIGNWITH(CERTAUTH LABEL('$CA')) KEYUSAGE(HANDSHAKE) \\
WITHLABEL('$SRV') SUBJECTSDN(CN('$HOST') O('$ORG')) {altname} \\
SIZE({zos.key_size}){_notafter(zos)}"
  mark "CERT ID($KG) $SRV"
fi
refresh_pending
"""
    delete = """
drop_cert "ID($KG)" "$SRV" "server certificate"
refresh_pending
"""
    purpose = "The gateway's server certificate, signed by the CA."
    return make_step(
        stack,
        "server-cert",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables={"KG": zos.kg_user, "SRV": zos.server_cert_label},
        triggers=(zos.kg_user, zos.server_cert_label),
    )


def connect_step(zos: ZosSettings, stack: str) -> Step:
    """Seed step 4: the CA (CERTAUTH) and the server certificate (PERSONAL, DEFAULT) on
    the ring. Only missing connections are made, and only those are removed."""
    variables = {
        "RING": zos.keyring,
        "KG": zos.kg_user,
        "CA": zos.ca_label,
        "SRV": zos.server_cert_label,
    }
    create = """
tso "RACDCERT LISTRING($RING) ID($KG)"
[ "$tso_rc" -eq 0 ] || fail "the key ring $RING of $KG must exist here"
ca_on_ring=no
srv_on_ring=no
if ring_has "$CA" CERTAUTH; then ca_on_ring=yes; fi
if ring_has "$SRV" "ID($KG)"; then srv_on_ring=yes; fi
if [ "$ca_on_ring" = yes ]; then
  say "'$CA' is connected to $RING"
else
  needs_refresh DIGTRING
  ok "RACDCERT ID($KG) CONNECT(CERTAUTH LABEL('$CA') RING($RING) USAGE(CERTAUTH))"
  mark "CONNECT CERTAUTH $CA"
fi
if [ "$srv_on_ring" = yes ]; then
  say "'$SRV' is connected to $RING"
else
  needs_refresh DIGTRING
  ok "RACDCERT ID($KG) CONNECT(ID($KG) LABEL('$SRV') RING($RING) USAGE(PERSONAL) DEFAULT)"
  mark "CONNECT ID($KG) $SRV"
fi
refresh_pending
"""
    delete = """
# ring_there: LISTRING into tso_out; false when the ring is gone.
ring_there() {
  tso "RACDCERT LISTRING($RING) ID($KG)"
  if [ "$tso_rc" -eq 0 ]; then return 0; fi
  if absent '4 8' IRRD114I IRRD115I; then return 1; fi
  fail "unexpected answer to LISTRING"
}
if marked "CONNECT ID($KG) $SRV"; then
  if ring_there && ring_has "$SRV" "ID($KG)"; then
    needs_refresh DIGTRING
    ok "RACDCERT ID($KG) REMOVE(ID($KG) LABEL('$SRV') RING($RING))"
  fi
  unmark "CONNECT ID($KG) $SRV"
fi
if marked "CONNECT CERTAUTH $CA"; then
  if ring_there && ring_has "$CA" CERTAUTH; then
    needs_refresh DIGTRING
    ok "RACDCERT ID($KG) REMOVE(CERTAUTH LABEL('$CA') RING($RING))"
  fi
  unmark "CONNECT CERTAUTH $CA"
fi
refresh_pending
"""
    purpose = "The CA and the server certificate connected to the gateway's key ring."
    return make_step(
        stack,
        "connect",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables=variables,
        triggers=(zos.kg_user, zos.keyring, zos.ca_label, zos.server_cert_label),
    )


def _permit_body(klass: str, profile: str, refresh: str) -> tuple[str, str]:
    """Create and delete bodies: PROFILE in KLASS exists (RDEFINE ... UACC(NONE) if not),
    and $KG has READ on it (PERMIT if not)."""
    create = f"""
tso "RLIST {klass} {profile} AUTHUSER"
if [ "$tso_rc" -eq 0 ]; then
  say "{klass} {profile} is defined"
elif absent 4 ICH13003I; then
  needs_refresh {refresh}
  ok "RDEFINE {klass} {profile} UACC(NONE)"
  mark "RDEFINE {klass} {profile}"
  tso "RLIST {klass} {profile} AUTHUSER"
else
  fail "unexpected answer to RLIST"
fi
if rlist_permits "$KG"; then
  say "$KG has READ (or more) on {klass} {profile}"
else
  needs_refresh {refresh}
  ok "PERMIT {profile} CLASS({klass}) ID($KG) ACCESS(READ)"
  mark "PERMIT {klass} {profile} $KG"
fi
"""
    delete = f"""
tso "RLIST {klass} {profile} AUTHUSER"
if [ "$tso_rc" -eq 0 ]; then
  profile_there=yes
elif absent 4 ICH13003I; then
  profile_there=no
else
  fail "unexpected answer to RLIST"
fi
if marked "PERMIT {klass} {profile} $KG"; then
  if [ "$profile_there" = yes ] && rlist_permits "$KG"; then
    needs_refresh {refresh}
    ok "PERMIT {profile} CLASS({klass}) ID($KG) DELETE"
  fi
  unmark "PERMIT {klass} {profile} $KG"
fi
if marked "RDEFINE {klass} {profile}"; then
  if [ "$profile_there" = yes ]; then
    needs_refresh {refresh}
    ok "RDELETE {klass} {profile}"
  fi
  unmark "RDEFINE {klass} {profile}"
fi
"""
    return create, delete


def listring_step(zos: ZosSettings, stack: str) -> Step:
    """Seed step 5: READ to FACILITY IRR.DIGTCERT.LISTRING, so the gateway's ID (and
    AT-TLS on its behalf) may read its own ring and the server certificate's key."""
    create, delete = _permit_body("FACILITY", "IRR.DIGTCERT.LISTRING", "FACILITY")
    purpose = "READ access to IRR.DIGTCERT.LISTRING for the gateway's user ID."
    variables = {"KG": zos.kg_user}
    return make_step(
        stack,
        "listring",
        purpose,
        create=create + "refresh_pending\n",
        create_variables=variables,
        delete=delete + "refresh_pending\n",
        delete_variables=variables,
        triggers=(zos.kg_user,),
    )


_CLASS_OPTIONS = (
    # (SETROPTS LIST heading, keyword that turns it on, keyword that turns it off)
    ("ACTIVE CLASSES", "CLASSACT", "NOCLASSACT"),
    ("GENERIC PROFILE CLASSES", "GENERIC", "NOGENERIC"),
    ("SETR RACLIST CLASSES", "RACLIST", "NORACLIST"),
)


def _class_on(klass: str, options: tuple[tuple[str, str, str], ...]) -> str:
    """Turn class options on that are off, recording each one turned on."""
    lines = ["setr_load"]
    for heading, on, _off in options:
        lines += [
            f"if setr_has '{heading}' {klass}; then",
            f'  say "{on}({klass}) is set"',
            "else",
            f'  ok "SETROPTS {on}({klass})"',
            f'  mark "SETROPTS {on}({klass})"',
            "fi",
        ]
    return "\n".join(lines) + "\n"


def _class_off(klass: str, options: tuple[tuple[str, str, str], ...]) -> str:
    """Turn off the class options this program turned on, in reverse order."""
    lines = []
    for _heading, on, off in reversed(options):
        lines += [
            f'if marked "SETROPTS {on}({klass})"; then',
            f'  ok "SETROPTS {off}({klass})"',
            f'  unmark "SETROPTS {on}({klass})"',
            "fi",
        ]
    return "\n".join(lines) + "\n"


def surrogat_step(zos: ZosSettings, stack: str) -> Step:
    """Seed "proper authority": SURROGAT active, generic and RACLISTed, BPX.SRV.** with
    UACC(NONE), READ for the gateway's ID (so kernels run under each notebook user's own
    ID), refreshed, then checked with RLIST as the seed does."""
    permit_create, permit_delete = _permit_body("SURROGAT", "BPX.SRV.**", "SURROGAT")
    create = (
        _class_on("SURROGAT", _CLASS_OPTIONS)
        + permit_create
        + """refresh_pending
tso "RLIST SURROGAT BPX.SRV.** AUTHUSER"
if [ "$tso_rc" -ne 0 ] || ! rlist_permits "$KG"; then
  fail "after the refresh, RLIST does not show READ for $KG"
fi
say "verified: $KG may start processes as other users (BPX.SRV.**)"
"""
    )
    # The class is turned off again only when no other SURROGAT profile is left in it.
    delete = (
        permit_delete
        + """refresh_pending
tso "SEARCH CLASS(SURROGAT)"
if [ "$tso_rc" -eq 0 ]; then
  say "other SURROGAT profiles exist: the SURROGAT class settings are left on"
  unmark "SETROPTS CLASSACT(SURROGAT)"
  unmark "SETROPTS GENERIC(SURROGAT)"
  unmark "SETROPTS RACLIST(SURROGAT)"
elif absent 4 ICH31005I; then
"""
        + textwrap.indent(_class_off("SURROGAT", _CLASS_OPTIONS), "  ")
        + """else
  fail "unexpected answer to SEARCH"
fi
"""
    )
    purpose = "SURROGAT BPX.SRV.** READ for the gateway's ID: kernels run as each user."
    variables = {"KG": zos.kg_user}
    return make_step(
        stack,
        "surrogat",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables=variables,
        triggers=(zos.kg_user,),
    )


def fssec_step(zos: ZosSettings, stack: str) -> Step:
    """Seed: `SETROPTS CLASSACT(FSSEC)`, so the ACLs the gateway sets are honoured."""
    options = (_CLASS_OPTIONS[0],)
    purpose = "FSSEC active: z/OS UNIX ACLs take part in access decisions."
    return make_step(
        stack,
        "fssec",
        purpose,
        create=_class_on("FSSEC", options),
        create_variables={},
        delete=_class_off("FSSEC", options),
        delete_variables={},
        triggers=("FSSEC",),
    )
