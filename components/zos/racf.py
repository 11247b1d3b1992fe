"""RACF steps for the gateway, in the seed runbook's order.

0. (in the CA step, before anything changes) the notebook users' IDs: none with SPECIAL,
OPERATIONS or UID 0, 1. the CA certificate (used as is when it exists and the program
did not make it: then it is never redefined or deleted), 2. the gateway's key ring,
3. its server certificate signed by the CA, 4. both connected (the server certificate
PERSONAL and DEFAULT), 5. READ to IRR.DIGTCERT.LISTRING, then (AT-TLS only) 6. SURROGAT
BPX.SRV.<ID> READ for the gateway's ID, one profile per notebook user's ID (BPX.SRV.**
only with ZOS_SURROGAT_GENERIC), and 7. FSSEC.

Every step lists before it defines (LIST, LISTRING, RLIST, SETROPTS LIST), acts on the
return code and message ID (RC 4 with IRRD107I, IRRD114I, ICH13003I: not there), records
its intent before it makes an object and itself as the object's user after, and its
delete script removes an object only when the records say the program made it and no
other step and no newer instance of this step uses it (script.py).
"""

from __future__ import annotations

import hashlib

from components.pki.specs import ORGANIZATION, ca_spec
from components.settings import ZosSettings
from components.zos.renewal import CA_VALIDITY_DAYS, ca_until, cert_until
from components.zos.script import Step, make_step

CA_TRIGGERS = ("ca_label",)


def users_check(zos: ZosSettings) -> tuple[str, dict[str, str]]:
    """A body (and its variables) that refuses, in one message and before anything is
    changed, notebook users' z/OS IDs with SPECIAL or OPERATIONS or UID 0, as far as
    the SSH user may see them (LISTUSER); an ID it may not list is reported, not refused."""
    ids = sorted(set(zos.users.values()))
    if not ids:
        return "", {}
    variables = {f"ZID{i}": zos_id for i, zos_id in enumerate(ids, 1)}
    listed = " ".join(f'"${var}"' for var in variables)
    body = f"""
# Kernels run under these IDs: none may hold RACF or operator authority, or be a superuser.
id_problems=''
for zid in {listed}; do
  tso "LISTUSER $zid OMVS"
  if [ "$tso_rc" -eq 0 ]; then
    zid_attrs=$(printf '%s\n' "$tso_out" | sed -n 's/^ *ATTRIBUTES=//p' | tr '\n' ' ')
    for zid_attr in SPECIAL OPERATIONS; do
      case " $zid_attrs " in *" $zid_attr "*) id_problems="$id_problems $zid ($zid_attr)," ;; esac
    done
    zid_uid=$(printf '%s\n' "$tso_out" | awk '$1 == "UID=" {{ print $2; exit }}')
    case $zid_uid in
      '' | *[!0-9]*) ;;
      *) if [ "$zid_uid" -eq 0 ]; then id_problems="$id_problems $zid (UID 0),"; fi ;;
    esac
  elif has ICH30001I; then
    id_problems="$id_problems $zid (not defined to RACF),"
  else
    say "WARNING: LISTUSER $zid answered RC $tso_rc: its attributes are not checked"
  fi
done
if [ -n "$id_problems" ]; then
  die "ZOS_USERS: these z/OS IDs must not run notebook kernels:${{id_problems%,}}. \
Map those hub users to IDs without SPECIAL, OPERATIONS and UID 0. Nothing was changed."
fi
"""
    return body, variables


def ca_step(zos: ZosSettings, stack: str) -> Step:
    """Seed step 1: the CA certificate, GENCERT CERTAUTH, only if the label is free.
    Every other step waits for this one, so it first checks the notebook users' IDs.
    The label is in the CA's subject (OU): a CA made for another ZOS_CA_LABEL has another
    name, so what it signed is told apart (and re-issued) by its issuer."""
    spec = ca_spec(stack)
    check, check_variables = users_check(zos)
    # A CA outlives what it signs (renewal.ca_until); its end date is in its subject, so a
    # re-issued CA has another name and the certificates it signed are re-issued after it.
    variables = {
        "CA": zos.ca_label,
        "CA_CN": spec.common_name,
        "ORG": ORGANIZATION,
        "CA_UNTIL": ca_until(zos),
        "CA_VALIDITY_DAYS": CA_VALIDITY_DAYS,
        "CA_RENEW_DAYS": zos.cert_validity_days,
    }
    variables.update(check_variables)
    create = (
        check
        + f"""
say "the CA: valid up to $CA_VALIDITY_DAYS days, re-issued $CA_RENEW_DAYS days before it ends"
ca_make=no
if ! cert_there CERTAUTH "$CA" "CA certificate"; then
  ca_make=new
elif ends_before "$CA_UNTIL"; then
  if [ "$cert_ours" = yes ]; then
    say "the CA certificate '$CA' ends $end_date, before $CA_UNTIL (renewal): re-issued," \\
      "and what it signed after it"
    ca_make=renew
  else
    say "WARNING: the CA certificate '$CA' ends $end_date; it was not made by" \\
      "jupyterhub-zos, so it is not re-issued: renew it (and what it signed) in RACF yourself"
  fi
else
  say "the CA certificate '$CA' ends $end_date: not due before $CA_UNTIL"
fi
if [ "$ca_make" != no ]; then
  to_make CERTAUTH "$CA"
  if [ "$ca_make" = renew ]; then ok "RACDCERT CERTAUTH DELETE(LABEL('$CA'))"; fi
  ok "RACDCERT GENCERT CERTAUTH SUBJECTSDN(CN('$CA_CN') OU('$CA','until $CA_UNTIL') O('$ORG')) \\
WITHLABEL('$CA') KEYUSAGE(CERTSIGN) SIZE({zos.key_size}) NOTAFTER(DATE($CA_UNTIL))"
  use "CERT CERTAUTH $CA"
fi
refresh_pending
report_expiry CERTAUTH "$CA"
"""
    )
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
  if ours "RING $KG $RING"; then
    use "RING $KG $RING"
    say "the key ring $RING of $KG is there (added by jupyterhub-zos)"
  else
    say "the key ring $RING of $KG exists already: it is used, and never deleted"
  fi
elif absent '4 8' IRRD114I IRRD115I; then
  intend "RING $KG $RING"
  needs_refresh DIGTRING
  ok "RACDCERT ADDRING($RING) ID($KG)"
  use "RING $KG $RING"
else
  fail "unexpected answer to LISTRING"
fi
refresh_pending
"""
    delete = """
if release "RING $KG $RING"; then
  tso "RACDCERT LISTRING($RING) ID($KG)"
  if [ "$tso_rc" -eq 0 ]; then
    needs_refresh DIGTRING
    ok "RACDCERT DELRING($RING) ID($KG)"
  elif ! absent '4 8' IRRD114I IRRD115I; then
    fail "unexpected answer to LISTRING"
  fi
  forget "RING $KG $RING"
elif ! [ -f "$rec" ]; then
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


def until_variables(zos: ZosSettings) -> dict[str, str]:
    """The end dates of this period's certificates and CA (renewal.py): in every step
    that makes or uses a certificate, so it runs again when one is due."""
    return {"UNTIL": cert_until(zos), "CA_UNTIL": ca_until(zos)}


# Said by the steps that make a server or client certificate; the policy pack reads the
# validity and window from these variables (racf-certificates-renewed).
SCHEDULE_SAY = (
    'say "certificates: valid up to $VALIDITY_DAYS days, re-issued $RENEW_DAYS days before'
    " they end; this period's end $UNTIL, the CA's $CA_UNTIL\"\n"
)


def schedule_variables(zos: ZosSettings) -> dict[str, str | int]:
    """until_variables, and the validity and window they come from (for SCHEDULE_SAY)."""
    return {
        "VALIDITY_DAYS": zos.cert_validity_days,
        "RENEW_DAYS": zos.cert_renew_days,
        **until_variables(zos),
    }


def renew_label(label: str) -> str:
    """The label a certificate re-issued by rollover has until it takes `label` (RACF
    labels: 32 characters at most): one per label, so steps never share one."""
    return f"JHZOS renew {hashlib.sha256(label.encode()).hexdigest()[:8]}"


def renewal_variables(zos: ZosSettings, stack: str, label: str, tag: str) -> dict[str, str]:
    """What a certificate step's rollover needs (script.to_sign): the interim label, and the
    data set of the certificate request (under the SSH user's HLQ, per stack)."""
    from components.zos.export import request_dsn

    return {"NEW": renew_label(label), "REQ_DSN": request_dsn(zos, stack, tag)}


def rekey_body(zos: ZosSettings) -> str:
    """The REKEY a rollover starts with (script.roll_over calls it), with the key size
    written out, as every RACF command that makes a key has it (policy strong-keys)."""
    return (
        "rekey() {\n"
        f"  ok \"RACDCERT $1 REKEY(LABEL('$2')) WITHLABEL('$3') SIZE({zos.key_size})\"\n"
        "}\n"
    )


def server_cert_step(zos: ZosSettings, stack: str, server_host: str) -> Step:
    """Seed step 3: the gateway's certificate, GENCERT ID(kg user) SIGNWITH the CA; when
    due, re-issued by REKEY and ROLLOVER (script.to_sign), so the ring keeps it."""
    renewing = renewal_variables(zos, stack, zos.server_cert_label, "SERVER")
    variables = {
        "KG": zos.kg_user,
        "SRV": zos.server_cert_label,
        "CA": zos.ca_label,
        "HOST": server_host,
        "ORG": ORGANIZATION,
        **renewing,
        **schedule_variables(zos),
    }
    altname = _altname(server_host).replace(server_host, "$HOST")
    create = (
        SCHEDULE_SAY
        + rekey_body(zos)
        + f"""
if to_sign "ID($KG)" "$SRV" "server certificate" "$HOST" "$UNTIL" "$NEW" "$REQ_DSN"; then
  ok "RACDCERT GENCERT ID($KG) SIGNWITH(CERTAUTH LABEL('$CA')) KEYUSAGE(HANDSHAKE) \\
WITHLABEL('$SRV') SUBJECTSDN(CN('$HOST') O('$ORG')) {altname} \\
SIZE({zos.key_size}) NOTAFTER(DATE($UNTIL))"
  use "CERT ID($KG) $SRV"
fi
refresh_pending
report_expiry "ID($KG)" "$SRV"
"""
    )
    delete = """
drop_cert "ID($KG)" "$NEW" "server certificate being re-issued"
drop_cert "ID($KG)" "$SRV" "server certificate"
drop_dsn "$REQ_DSN"
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
        delete_variables={
            "KG": zos.kg_user,
            "SRV": zos.server_cert_label,
            "NEW": renewing["NEW"],
            "REQ_DSN": renewing["REQ_DSN"],
        },
        # The CA and the host it names are part of what the certificate is: a change
        # re-issues it (the create sees another signer) in a new instance.
        triggers=(zos.kg_user, zos.server_cert_label, zos.ca_label, server_host),
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
    # A certificate renewed by rollover stays on the ring (ROLLOVER moves the connection);
    # one deleted and generated again (the CA, a new subject) is off it: the schedule's
    # dates make this step run again, and connect it again.
    create_variables = {**variables, **until_variables(zos)}
    create = """
say "certificates of this period: until $UNTIL, the CA until $CA_UNTIL"
tso "RACDCERT LISTRING($RING) ID($KG)"
[ "$tso_rc" -eq 0 ] || fail "the key ring $RING of $KG must exist here"
ca_on_ring=no
srv_on_ring=no
if ring_has "$CA" CERTAUTH; then ca_on_ring=yes; fi
if ring_has "$SRV" "ID($KG)"; then srv_on_ring=yes; fi
if [ "$ca_on_ring" = yes ]; then
  if ours "CONNECT $KG/$RING CERTAUTH $CA" "CONNECT CERTAUTH $CA"; then
    use "CONNECT $KG/$RING CERTAUTH $CA"
  fi
  say "'$CA' is connected to $RING"
else
  intend "CONNECT $KG/$RING CERTAUTH $CA"
  needs_refresh DIGTRING
  ok "RACDCERT ID($KG) CONNECT(CERTAUTH LABEL('$CA') RING($RING) USAGE(CERTAUTH))"
  use "CONNECT $KG/$RING CERTAUTH $CA"
fi
if [ "$srv_on_ring" = yes ]; then
  if ours "CONNECT $KG/$RING ID($KG) $SRV" "CONNECT ID($KG) $SRV"; then
    use "CONNECT $KG/$RING ID($KG) $SRV"
  fi
  say "'$SRV' is connected to $RING"
else
  intend "CONNECT $KG/$RING ID($KG) $SRV"
  needs_refresh DIGTRING
  ok "RACDCERT ID($KG) CONNECT(ID($KG) LABEL('$SRV') RING($RING) USAGE(PERSONAL) DEFAULT)"
  use "CONNECT $KG/$RING ID($KG) $SRV"
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
if release "CONNECT $KG/$RING ID($KG) $SRV"; then
  if ring_there && ring_has "$SRV" "ID($KG)"; then
    needs_refresh DIGTRING
    ok "RACDCERT ID($KG) REMOVE(ID($KG) LABEL('$SRV') RING($RING))"
  fi
  forget "CONNECT $KG/$RING ID($KG) $SRV"
fi
if release "CONNECT $KG/$RING CERTAUTH $CA"; then
  if ring_there && ring_has "$CA" CERTAUTH; then
    needs_refresh DIGTRING
    ok "RACDCERT ID($KG) REMOVE(CERTAUTH LABEL('$CA') RING($RING))"
  fi
  forget "CONNECT $KG/$RING CERTAUTH $CA"
fi
refresh_pending
"""
    purpose = "The CA and the server certificate connected to the gateway's key ring."
    return make_step(
        stack,
        "connect",
        purpose,
        create=create,
        create_variables=create_variables,
        delete=delete,
        delete_variables=variables,
        triggers=(zos.kg_user, zos.keyring, zos.ca_label, zos.server_cert_label),
    )


def _permit_body(klass: str, profile: str, refresh: str) -> tuple[str, str]:
    """Create and delete bodies: PROFILE in KLASS exists (RDEFINE ... UACC(NONE) if not),
    and $KG has READ on it (PERMIT if not). PROFILE may name a shell variable ($SID1)."""
    create = f"""
tso "RLIST {klass} {profile} AUTHUSER"
if [ "$tso_rc" -eq 0 ]; then
  if ours "RDEFINE {klass} {profile}"; then use "RDEFINE {klass} {profile}"; fi
  say "{klass} {profile} is defined"
elif absent 4 ICH13003I; then
  intend "RDEFINE {klass} {profile}"
  needs_refresh {refresh}
  ok "RDEFINE {klass} {profile} UACC(NONE)"
  use "RDEFINE {klass} {profile}"
  tso "RLIST {klass} {profile} AUTHUSER"
else
  fail "unexpected answer to RLIST"
fi
if rlist_permits "$KG"; then
  if ours "PERMIT {klass} {profile} $KG"; then use "PERMIT {klass} {profile} $KG"; fi
  say "$KG has READ (or more) on {klass} {profile}"
else
  intend "PERMIT {klass} {profile} $KG"
  needs_refresh {refresh}
  ok "PERMIT {profile} CLASS({klass}) ID($KG) ACCESS(READ)"
  use "PERMIT {klass} {profile} $KG"
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
if release "PERMIT {klass} {profile} $KG"; then
  if [ "$profile_there" = yes ] && rlist_permits "$KG"; then
    needs_refresh {refresh}
    ok "PERMIT {profile} CLASS({klass}) ID($KG) DELETE"
  fi
  forget "PERMIT {klass} {profile} $KG"
fi
if release "RDEFINE {klass} {profile}"; then
  if [ "$profile_there" = yes ]; then
    needs_refresh {refresh}
    ok "RDELETE {klass} {profile}"
  fi
  forget "RDEFINE {klass} {profile}"
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
    """Turn class options on that are off, each one's intent recorded first."""
    lines = ["setr_load"]
    for heading, on, _off in options:
        lines += [
            f"if setr_has '{heading}' {klass}; then",
            f'  if ours "SETROPTS {on}({klass})"; then use "SETROPTS {on}({klass})"; fi',
            f'  say "{on}({klass}) is set"',
            "else",
            f'  intend "SETROPTS {on}({klass})"',
            f'  ok "SETROPTS {on}({klass})"',
            f'  use "SETROPTS {on}({klass})"',
            "fi",
        ]
    return "\n".join(lines) + "\n"


def _class_off(klass: str, options: tuple[tuple[str, str, str], ...], keep: str = "") -> str:
    """Turn off, in reverse order, the class options the program turned on and no step
    uses any more (SETROPTS LIST first); with KEEP (a shell test) true, they stay on and
    are the program's no more."""
    lines = ["class_listed=no"]
    for heading, on, off in reversed(options):
        lines += [
            f'if release "SETROPTS {on}({klass})"; then',
        ]
        if keep:
            lines += [
                f"  if {keep}; then",
                f'    say "{on}({klass}) is left on"',
                "  else",
            ]
        inner = [
            '  if [ "$class_listed" = no ]; then setr_load; class_listed=yes; fi',
            f"  if setr_has '{heading}' {klass}; then ok \"SETROPTS {off}({klass})\"; fi",
        ]
        lines += [("  " + x if keep else x) for x in inner]
        if keep:
            lines += ["  fi"]
        lines += [f'  forget "SETROPTS {on}({klass})"', "fi"]
    return "\n".join(lines) + "\n"


def surrogat_profiles(zos: ZosSettings) -> dict[str, str]:
    """The SURROGAT profiles the gateway's ID gets READ on, by shell variable: one
    BPX.SRV.<ID> per ZOS_USERS ID (it may start processes as those users only), or the
    generic BPX.SRV.** (as any user) when ZOS_SURROGAT_GENERIC asks for it."""
    if zos.surrogat_generic:
        return {"": "BPX.SRV.**"}
    ids = sorted(set(zos.users.values()))
    return {f"SID{i}": zos_id for i, zos_id in enumerate(ids, 1)}


def surrogat_step(zos: ZosSettings, stack: str) -> Step:
    """Seed "proper authority", narrowed: SURROGAT active and RACLISTed (and generic for
    BPX.SRV.**), one BPX.SRV.<ID> profile per notebook user's z/OS ID with UACC(NONE) and
    READ for the gateway's ID (so kernels run under each user's own ID, and no other),
    refreshed, then checked with RLIST as the seed does."""
    profiles = surrogat_profiles(zos)
    generic = zos.surrogat_generic
    options = _CLASS_OPTIONS if generic else (_CLASS_OPTIONS[0], _CLASS_OPTIONS[2])
    names = ["BPX.SRV.**"] if generic else [f"BPX.SRV.${var}" for var in profiles]
    create = _class_on("SURROGAT", options)
    delete = ""
    for name in names:
        permit_create, permit_delete = _permit_body("SURROGAT", name, "SURROGAT")
        create += permit_create
        delete += permit_delete
    create += "refresh_pending\n"
    for name in names:
        create += f"""tso "RLIST SURROGAT {name} AUTHUSER"
if [ "$tso_rc" -ne 0 ] || ! rlist_permits "$KG"; then
  fail "after the refresh, RLIST does not show READ for $KG on {name}"
fi
say "verified: $KG may start processes as {name.removeprefix("BPX.SRV.")}"
"""
    # The class is turned off again only when no other SURROGAT profile is left in it.
    delete += """refresh_pending
tso "SEARCH CLASS(SURROGAT)"
if [ "$tso_rc" -eq 0 ]; then
  others=yes
elif absent 4 ICH31005I; then
  others=no
else
  fail "unexpected answer to SEARCH"
fi
""" + _class_off("SURROGAT", options, keep='[ "$others" = yes ]')
    what = "BPX.SRV.** (any user)" if generic else "BPX.SRV.<ID> per notebook user"
    purpose = f"SURROGAT {what} READ for the gateway's ID: kernels run as each user."
    variables: dict[str, str | int] = {"KG": zos.kg_user}
    variables.update({var: zos_id for var, zos_id in profiles.items() if var})
    return make_step(
        stack,
        "surrogat",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables=variables,
        # Which profiles there are is part of the step: a user added or removed makes a
        # new instance (the records keep the shared ones), so the old one's delete
        # removes exactly the profiles no longer wanted.
        triggers=(zos.kg_user, "generic" if generic else "per-user", *sorted(profiles.values())),
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
