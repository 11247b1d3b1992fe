"""ZOS_RACF_MODE=admin: every RACF and AT-TLS step as one script the security
administrator reviews and runs on z/OS (the `zos_admin_script` stack output, and the
file `make zos-admin-script` writes), so the program's SSH user needs no RACF authority.

The script carries the very step scripts the program runs in ZOS_RACF_MODE=program
(components/zos/racf.py, attls.py, export.py), in the seed runbook's order: CA, key ring,
server certificate, connections, LISTRING permit, AT-TLS policy, SURROGAT, FSSEC, then
each user's client certificate and its PKCS#12 export. Each lists before it defines and
keeps the same ownership records in the administrator's $HOME/.jupyterhub-zos, so running
it again changes nothing, and `down` removes only what it made. Each step's instance is a
hash of what names its objects (the program's RandomId keepers), so a rerun is the same
instance and a changed label a new one.

No secret is in it: the export password is read from the file JHZOS_P12_PASSWORD_FILE
names, or prompted without echo; each export is written to JHZOS_EXPORT_DIR as
<hub user>.p12.b64 (0600, base64 as `uuencode -m` prints it), which the operator gives the
program as ZOS_USER_CERTS.<user>.p12 (with the password). Pure: settings in, text out.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from components.settings import ZosSettings
from components.zos.script import Step, quote
from components.zos.steps import racf_gateway_steps, racf_user_steps

DELIMITER = "JHZOS_ADMIN_STEP"
# The export data sets go under the administrator's own high-level qualifier, not the
# program's SSH user's: the steps are rendered with this stand-in, replaced by $JHZOS_HLQ.
HLQ = "JHZOSHLQ"


def instance(zos: ZosSettings, step: Step) -> str:
    """A step's instance in the administrator's runs: new exactly when what names its
    objects changes (as the program's RandomId), the same on every rerun."""
    keepers = [zos.host, "admin", *step.triggers]
    return hashlib.sha256("\0".join(keepers).encode()).hexdigest()[:16]


def admin_steps(zos: ZosSettings, stack: str, kg_url: str | None) -> tuple[list[Step], dict]:
    """(gateway steps, {hub user: step}) the administrator runs: the program mode's RACF
    and AT-TLS steps for the same settings."""
    program = replace(zos, racf_mode="program", ssh_user=HLQ)
    return racf_gateway_steps(program, stack, kg_url), racf_user_steps(program, stack)


HEADER = """\
#!/bin/sh
# jupyterhub-zos, stack __STACK__: the RACF and AT-TLS steps for the security administrator
# (ZOS_RACF_MODE=admin: the program runs no RACF command). Review it, then run it under
# z/OS UNIX as a user with the authority the steps need (SPECIAL, or the FACILITY
# IRR.DIGTCERT.* profiles in docs/howto/zos-production-stack.md; write access to
# __POLICY_DIR__; READ to OPERCMDS MVS.MCSOPER.ZOAU for F PAGENT,REFRESH):
#
#   JHZOS_P12_PASSWORD_FILE=$HOME/p12pw sh __FILE__          # or: prompted
#   sh __FILE__ down                                         # remove what it made
#   JHZOS_SKIP_USERS="alice bob" ...  # users who keep a certificate they have already
#
# up (the default) runs, in the seed runbook's order: __ORDER__.
# Each step lists before it defines: running it again changes nothing. Objects that
# existed before are used as they are and never deleted (ownership records in
# $HOME/.jupyterhub-zos). Each user's certificate is exported as PKCS#12 to
# ${JHZOS_EXPORT_DIR:-./jupyterhub-zos-__STACK__-exports}/<hub user>.p12.b64 (0600); the
# operator sets it with the password as ZOS_USER_CERTS (see the how-to). No secret is in
# this file: the export password comes from JHZOS_P12_PASSWORD_FILE or a prompt.
#
# Not done here (check by hand): BPX.SERVER UPDATE for __KG__, the gateway's native .so
# program-controlled, PAGENT's TTLSConfig naming __POLICY__.
set -eu
umask 077
ACTION=${1:-up}
case $ACTION in
  up | down) ;;
  *) printf '%s\\n' "usage: sh $0 [up|down]" >&2; exit 2 ;;
esac
say() { printf '%s\\n' "jupyterhub-zos-admin: $*" >&2; }
die() { printf '%s\\n' "jupyterhub-zos-admin: ERROR: $*" >&2; exit 1; }
WORK="${TMPDIR:-/tmp}/jupyterhub-zos-admin.$$"
mkdir "$WORK" || die "cannot create $WORK"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' HUP INT TERM
EXPORTS=${JHZOS_EXPORT_DIR:-./jupyterhub-zos-__STACK__-exports}
# The exports' short-lived data sets: under this user's own high-level qualifier.
JHZOS_HLQ=${JHZOS_HLQ:-$(id -un | tr '[:lower:]' '[:upper:]')}
export JHZOS_HLQ
"""

# ZOS_ATTLS=false: no key ring, AT-TLS policy, SURROGAT or FSSEC (the gateway does TLS
# itself, kernels run as its own ID); the gateway's certificate is exported as the users'.
HEADER_NO_ATTLS = (
    HEADER.replace(
        """# IRR.DIGTCERT.* profiles in docs/howto/zos-production-stack.md; write access to
# __POLICY_DIR__; READ to OPERCMDS MVS.MCSOPER.ZOAU for F PAGENT,REFRESH):""",
        """# IRR.DIGTCERT.* profiles in docs/howto/zos-production-stack.md):""",
    )
    .replace(
        """# up (the default) runs, in the seed runbook's order: __ORDER__.""",
        """# up (the default) runs, in the seed runbook's order: __ORDER__ (ZOS_ATTLS=false:
# no key ring, AT-TLS policy, SURROGAT or FSSEC; the gateway does TLS itself).""",
    )
    .replace(
        """# ${JHZOS_EXPORT_DIR:-./jupyterhub-zos-__STACK__-exports}/<hub user>.p12.b64 (0600); the
# operator sets it with the password as ZOS_USER_CERTS (see the how-to).""",
        """# ${JHZOS_EXPORT_DIR:-./jupyterhub-zos-__STACK__-exports}/<hub user>.p12.b64 (0600), and
# the gateway's own certificate to kg-server.p12.b64 there; the operator sets them with
# the password as ZOS_USER_CERTS and ZOS_KG_SERVER_TLS (see the how-to).""",
    )
    .replace(
        """# Not done here (check by hand): BPX.SERVER UPDATE for __KG__, the gateway's native .so
# program-controlled, PAGENT's TTLSConfig naming __POLICY__.
""",
        "",
    )
)

ASK_P12 = """
# The PKCS#12 password: from a file, else prompted (never on a command line).
if [ "$ACTION" = up ]; then
  if [ -n "${JHZOS_P12_PASSWORD_FILE:-}" ]; then
    [ -r "$JHZOS_P12_PASSWORD_FILE" ] || die "cannot read $JHZOS_P12_PASSWORD_FILE"
    IFS= read -r PW <"$JHZOS_P12_PASSWORD_FILE" || [ -n "${PW:-}" ] ||
      die "$JHZOS_P12_PASSWORD_FILE holds no password line"
  else
    printf 'PKCS#12 export password (12 to 64 letters and digits): ' >&2
    stty -echo 2>/dev/null || true
    IFS= read -r PW || die "no password"
    stty echo 2>/dev/null || true
    printf '\\n' >&2
  fi
  case $PW in *\\'* | *\\"*) die "the password must hold no quote characters" ;; esac
  [ "${#PW}" -ge 12 ] || die "the password must be at least 12 characters"
  printf '%s\\n' "$PW" >"$WORK/pw"
  PW=''
  mkdir -p "$EXPORTS"
fi
"""


# Without AT-TLS: where the gateway's own certificate is exported (ZOS_KG_SERVER_TLS).
SERVER_EXPORT = "kg-server.p12.b64"


def _export(step: str, out: str, what: str) -> str:
    """Run an export step with the password on stdin; keep its uuencoded PKCS#12 (0600)."""
    return (
        f'  sh "$WORK/{step}.create" <"$WORK/pw" >"$WORK/{step}.out" ||\n'
        f'    die "step {step} failed; nothing after it ran"\n'
        f"  sed -n '/^begin-base64 /,/^====$/p' \"$WORK/{step}.out\" >{out}\n"
        f'  [ -s {out} ] || die "step {step} exported nothing"\n'
        f'  say "exported {what}: "{out}\n'
    )


def _embed(name: str, text: str) -> str:
    if DELIMITER in text:
        raise ValueError(f"step {name} contains the admin script's heredoc marker")
    # The one place the SSH user names something: the export data set's qualifier.
    text = text.replace(f'DSN="{HLQ}.', 'DSN="$JHZOS_HLQ.')
    if HLQ in text:
        raise ValueError(f"step {name} names the SSH user where the admin script cannot")
    return f"cat >\"$WORK/{name}\" <<'{DELIMITER}'\n{text}{DELIMITER}\n"


def render_admin_script(zos: ZosSettings, stack: str, kg_url: str | None) -> str:
    """The administrator's script for these settings (whatever ZOS_RACF_MODE is: it is
    what the program would run itself in program mode)."""
    gateway, users = admin_steps(zos, stack, kg_url)
    order = [s.name for s in gateway] + [f"user-<hub user> ({len(users)})"] * bool(users)
    name = f"jupyterhub-zos-admin-{stack}.sh"
    policy_dir = zos.attls_policy_path.rsplit("/", 1)[0] or "/"
    text = (
        (HEADER if zos.attls else HEADER_NO_ATTLS)
        .replace("__STACK__", stack)
        .replace("__FILE__", name)
        .replace("__ORDER__", ", ".join(order))
        .replace("__POLICY_DIR__", policy_dir)
        .replace("__POLICY__", zos.attls_policy_path)
        .replace("__KG__", zos.kg_user)
    )
    exports = bool(users) or any(step.stdin == "password" for step in gateway)
    if exports:
        text += ASK_P12
    text += "\n# --- the steps' scripts, exactly as the program would run them ---\n"
    for step in [*gateway, *users.values()]:
        create, delete = step.scripts(instance(zos, step))
        text += _embed(f"{step.name}.create", create) + _embed(f"{step.name}.delete", delete)
    text += '\nif [ "$ACTION" = up ]; then\n'
    for step in gateway:
        text += f'  say "step {step.name}"\n'
        if step.stdin == "password":
            # Without AT-TLS: the gateway's certificate and key, exported for its own TLS.
            text += _export(step.name, f'"$EXPORTS"/{SERVER_EXPORT}', "the gateway's certificate")
            continue
        text += (
            f'  sh "$WORK/{step.name}.create" ||\n'
            f'    die "step {step.name} failed; nothing after it ran"\n'
        )
    for user, step in users.items():
        out = f'"$EXPORTS"/{quote(user)}.p12.b64'
        text += (
            f'  case " ${{JHZOS_SKIP_USERS:-}} " in\n'
            f'    *" {user} "*) say "step {step.name}: skipped (JHZOS_SKIP_USERS)" ;;\n'
            "    *)\n"
            f'  say "step {step.name}: the certificate of hub user {user}"\n'
            f'  sh "$WORK/{step.name}.create" <"$WORK/pw" >"$WORK/{step.name}.out" ||\n'
            f'    die "step {step.name} failed"\n'
            f"  sed -n '/^begin-base64 /,/^====$/p' \"$WORK/{step.name}.out\" >{out}\n"
            f'  [ -s {out} ] || die "step {step.name} exported nothing"\n'
            f'  say "exported {user}: "{out}\n'
            "    ;;\n"
            "  esac\n"
        )
    if exports:
        keys = "ZOS_USER_CERTS.<user>.p12 and .password" + (
            "; ZOS_KG_SERVER_TLS.p12 and .password" if not zos.attls else ""
        )
        text += (
            '  say "done. Give the operator the files in $EXPORTS and, separately, the'
            f' password ({keys})"\n'
        )
    else:
        text += '  say "done"\n'
    text += "else\n"
    for step in reversed([*gateway, *users.values()]):
        text += f'  say "removing: step {step.name}"\n'
        text += f'  sh "$WORK/{step.name}.delete" || die "removing step {step.name} failed"\n'
    text += '  say "removed what this script made"\nfi\n'
    return text
