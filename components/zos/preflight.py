"""The first z/OS step: a read-only preflight that reports, in one message, everything
the other steps would stumble on, before any of them changes anything.

It checks:

- the commands the other steps call (tsocmd, ZOAU's opercmd and mvscmdauth, pasearch,
  chtag, ...), found by reading the rendered scripts themselves;
- the SSH user's RACF authority: LISTUSER (own profile) for SPECIAL and CLASS
  AUTHORIZATIONS; without SPECIAL, `RLIST <class> <profile>` and its YOUR ACCESS column
  for each FACILITY IRR.DIGTCERT.* profile a step needs (AUTHORITY below), and SPECIAL
  for SETROPTS ("You can refresh these profiles if you have the SPECIAL attribute",
  RACF Security Administrator's Guide, refrac.htm);
- with ZOS_ATTLS: the Policy Agent answers (`pasearch -t`), TTLS is on in the TCP/IP
  profile (`netstat -f`, the CONFIG report), the gateway is an AT-TLS-aware build (IzODA:
  "The above ATTLS support is only in versions of Jupyter Kernel Gateway before 2.3.x",
  with its native .so program-controlled, docs/anaconda/jkg2at-migration.md; `ls -E`
  shows the p flag), and BPX.SERVER: defined, the gateway's ID needs UPDATE to act as
  its clients with their own identity; undefined, only a superuser may create
  thread-level security (z/OS UNIX Planning, srvdef.htm; pthread_security_np, tls.htm);
- the gateway's Python and Kernel Gateway versions (ZOS_KG_PYTHON), and that it can
  import what the gateway's config loads and then load kg_isolation.py itself (its text is
  passed to the probe and run as the module: Kernel Gateway 2.1/2.2 on the classic
  notebook server and 3.0 on jupyter_server are what it is written and tested for);
- what the gateway's lifecycle needs: `su -s` to the gateway's ID needs READ to SURROGAT
  BPX.SRV.<id> (z/OS UNIX Command Reference, su); ZOAU opercmd needs READ to OPERCMDS
  MVS.MCSOPER.ZOAU (ibm_zos_core's sample, research notes §1.2).

With ZOS_RACF_MODE=admin it runs no RACF command at all (the SSH user may have no RACF
authority; the RACF checks are the administrator's), and when the program starts the
gateway it requires the AT-TLS rule the administrator's script installs (`pasearch`), so
the gateway never serves its port as plain HTTP.

What it cannot see (an access list the SSH user may not list, group permits) is printed
as a note, not counted as missing. Nothing here writes a file or a marker: the delete
script does nothing.
"""

from __future__ import annotations

import ast
import functools
import gc
import re
from collections.abc import Sequence
from dataclasses import dataclass

from components.gateway.config import ISOLATION_SOURCE
from components.settings import ZosSettings
from components.zos.attls import rule_name
from components.zos.racf import surrogat_profiles
from components.zos.script import Step, _code, make_step

# Commands the steps may call, and where they come from (for the message).
KNOWN_COMMANDS = {
    "tsocmd": "TSO/E, from the z/OS UNIX shell",
    "mvscmdauth": "ZOAU",
    "opercmd": "ZOAU",
    "pasearch": "z/OS Communications Server",
    "chtag": "z/OS UNIX",
    "uuencode": "z/OS UNIX",
    "su": "z/OS UNIX",
    "cmp": "z/OS UNIX",
}

# RACDCERT authority by step, without SPECIAL: FACILITY profile -> access. READ is for
# one's own objects, UPDATE for another user's, CONTROL for CERTAUTH (RACF Command
# Language Reference, RACDCERT "Authorization required"; SIGNWITH a CERTAUTH certificate
# needs CONTROL to GENCERT). Key: step name, or "users" for every user's certificate.
# The renewal of another user's certificate by rollover (script.to_sign): REKEY, GENREQ,
# ROLLOVER and ALTER (NEWLABEL) of that user's certificates, UPDATE as for its other
# RACDCERT functions (GENCERT of the request, SIGNWITH the CA, is GENCERT's CONTROL).
RENEWAL = (
    ("IRR.DIGTCERT.REKEY", "UPDATE"),
    ("IRR.DIGTCERT.GENREQ", "UPDATE"),
    ("IRR.DIGTCERT.ROLLOVER", "UPDATE"),
    ("IRR.DIGTCERT.ALTER", "UPDATE"),
)
AUTHORITY: dict[str, tuple[tuple[str, str], ...]] = {
    "ca": (("IRR.DIGTCERT.LIST", "CONTROL"), ("IRR.DIGTCERT.GENCERT", "CONTROL")),
    "ring": (("IRR.DIGTCERT.LISTRING", "UPDATE"), ("IRR.DIGTCERT.ADDRING", "UPDATE")),
    "server-cert": (
        ("IRR.DIGTCERT.LIST", "UPDATE"),
        ("IRR.DIGTCERT.GENCERT", "CONTROL"),
        *RENEWAL,
    ),
    "connect": (("IRR.DIGTCERT.LISTRING", "UPDATE"), ("IRR.DIGTCERT.CONNECT", "CONTROL")),
    "server-export": (("IRR.DIGTCERT.EXPORT", "UPDATE"),),
    "users": (
        ("IRR.DIGTCERT.LIST", "UPDATE"),
        ("IRR.DIGTCERT.GENCERT", "CONTROL"),
        ("IRR.DIGTCERT.EXPORT", "UPDATE"),
        *RENEWAL,
    ),
}
# Steps that run SETROPTS (class options, RACLIST REFRESH): SPECIAL.
SETROPTS_STEPS = ("ca", "ring", "server-cert", "connect", "listring", "surrogat", "fssec", "users")
# Steps that RDEFINE and PERMIT a profile: CLAUTH of its class when it is not defined yet.
PROFILE_STEPS = {
    "listring": ("FACILITY", "IRR.DIGTCERT.LISTRING"),
    "surrogat": ("SURROGAT", None),  # the step's own: one BPX.SRV.<ID> per user, or **
}

# IzODA: AT-TLS identity mapping only in Kernel Gateway builds before this version.
ATTLS_KG_BEFORE = (2, 3)


def _profile_lines(zos: ZosSettings, step_names: Sequence[str]) -> list[str]:
    """`CLASS PROFILE STEP` for each profile a step RDEFINEs and PERMITs on: SURROGAT as
    the surrogat step makes them (BPX.SRV.<ID> per ZOS_USERS ID, or BPX.SRV.**)."""
    lines = []
    for step, (klass, profile) in PROFILE_STEPS.items():
        if step not in step_names:
            continue
        if profile is None:
            wanted = [
                name if name.startswith("BPX.") else f"BPX.SRV.{name}"
                for name in surrogat_profiles(zos).values()
            ]
        else:
            wanted = [profile]
        lines += [f"{klass} {name} {step}" for name in wanted]
    return lines


@functools.cache  # a file of this repository: one parse per process
def config_imports() -> tuple[str, ...]:
    """The modules kg_isolation.py (loaded by the gateway's config) imports at its top."""
    # CPython 3.11.0-3.11.7 keep ast.parse's depth counter per interpreter: a garbage
    # collection inside it can run finalizers or switch threads, and a parse there raises
    # "SystemError: AST constructor recursion depth mismatch" (gh-106905, fixed in
    # 3.11.8). With the collector paused the parse runs through, holding the GIL.
    enabled = gc.isenabled()
    gc.disable()
    try:
        tree = ast.parse(ISOLATION_SOURCE.read_text())
    finally:
        if enabled:
            gc.enable()
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return tuple(dict.fromkeys(n for n in names if n != "__future__"))


def steps_code(steps: Sequence[Step]) -> str:
    """The code (not comments, not here-document data) of the steps' scripts, each
    distinct line once: the steps share their frame and helpers, and a search for a
    command reads line by line, so this is all it needs (a user's step adds only its
    variables)."""
    lines = dict.fromkeys(
        line
        for step in steps
        for text in (step.create, step.delete)
        for line in _code(text).split("\n")
    )
    return "\n".join(lines)


def commands_used(zos: ZosSettings, code: str) -> tuple[str, ...]:
    """The known z/OS commands the steps' code (steps_code) calls."""
    wanted = dict(KNOWN_COMMANDS)
    if zos.opercmd != "opercmd":
        wanted[zos.opercmd] = wanted.pop("opercmd")
    found = [
        name
        for name in wanted
        if re.search(rf"(?<![\w$./-]){re.escape(name)}(?![\w./-])", code)
        or (name == zos.opercmd and '"$OPERCMD"' in code)
    ]
    return tuple(found)


def _authority_lines(step_names: Sequence[str], users: bool) -> str:
    """`PROFILE LEVEL STEPS` per FACILITY profile, the highest level any step needs."""
    needed: dict[str, tuple[str, list[str]]] = {}
    rank = {"READ": 1, "UPDATE": 2, "CONTROL": 3, "ALTER": 4}
    keys = [name for name in step_names if name in AUTHORITY] + (["users"] if users else [])
    for key in keys:
        for profile, level in AUTHORITY[key]:
            old_level, who = needed.get(profile, ("READ", []))
            best = level if rank[level] > rank[old_level] else old_level
            needed[profile] = (best, [*who, key])
    return "\n".join(f"{p} {lvl} {','.join(who)}" for p, (lvl, who) in sorted(needed.items()))


PROBE = """\
import importlib, os, sys
print("python=" + sys.version.split()[0])
try:
    import kernel_gateway as kg
except Exception as exc:
    print("kg=none " + type(exc).__name__ + ": " + str(exc).replace(chr(10), " "))
    sys.exit(0)
version = getattr(kg, "__version__", None)
if version is None:
    try:
        from importlib import metadata
        version = metadata.version("jupyter_kernel_gateway")
    except Exception:
        version = "unknown"
print("kg=" + version)
print("kgdir=" + os.path.dirname(os.path.abspath(kg.__file__)))
parts = [int(p) for p in (version.split(".") + ["0", "0"])[:2] if p.isdigit()]
print("kg_attls_era=" + ("yes" if len(parts) == 2 and tuple(parts) < BEFORE else "no"))
failed = False
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed = True
        why = type(exc).__name__ + ": " + str(exc).replace(chr(10), " ")
        print("missing=" + name + " (" + why + ")")
if not failed:
    # Load the isolation module itself, as the gateway's config will (its text is argv[1]).
    import types
    module = types.ModuleType("kg_isolation")
    module.__file__ = "kg_isolation.py"
    sys.modules["kg_isolation"] = module
    try:
        exec(compile(sys.argv[1], "kg_isolation.py", "exec"), module.__dict__)
        print("isolation=loads")
    except Exception as exc:
        why = type(exc).__name__ + ": " + str(exc).replace(chr(10), " ")
        print("isolation=fails " + why)
"""


@dataclass(frozen=True)
class ZosSteps:
    """Every z/OS step of a stack, rendered once: what the graph and the tests run."""

    preflight: Step
    gateway: list[Step]
    users: dict[str, Step]  # hub user -> the user's certificate step
    service: Step | None  # None: the operator runs the gateway


def zos_steps(zos: ZosSettings, stack: str, kg_url: str | None) -> ZosSteps:
    """The preflight, rendered from the steps after it, and those steps."""
    from components.zos.gateway_service import service_step
    from components.zos.steps import gateway_steps, user_steps

    gateway = gateway_steps(zos, stack, kg_url)
    users = user_steps(zos, stack)
    service = service_step(zos, stack)
    later = [*gateway, *users.values(), *([service] if service else [])]
    return ZosSteps(preflight_step(zos, stack, later, bool(users)), gateway, users, service)


def preflight_step(zos: ZosSettings, stack: str, steps: Sequence[Step], users: bool) -> Step:
    """The read-only first step, given the steps that follow it (their scripts say which
    commands they call; their names which RACF authority they need)."""
    names = [step.name for step in steps]
    code = steps_code(steps)
    uses_opercmd = '"$OPERCMD"' in code
    probe = PROBE.replace("BEFORE", repr(ATTLS_KG_BEFORE))
    variables: dict[str, str | int] = {
        "SSH_ID": zos.ssh_user,
        "KG": zos.kg_user,
        "PY": zos.kg_python,
        "ATTLS": "yes" if zos.attls else "no",
        "LIFECYCLE": zos.kg_lifecycle,
        "STC": zos.kg_started_task or "",
        "OPERCMD": zos.opercmd,
        "OPERCMD_USED": "yes" if uses_opercmd else "no",
        "TOOLS": " ".join(commands_used(zos, code)),
        "NEED": _authority_lines(names, users),
        "SETR_STEPS": " ".join(n for n in SETROPTS_STEPS if n in names or (n == "users" and users)),
        "PROFILES": "\n".join(_profile_lines(zos, names)),
        "PROBE": probe,
        "IMPORTS": " ".join(config_imports()),
        "RACF": zos.racf_mode,
        "RULE": rule_name(zos.kg_port),
        "MODULE": ISOLATION_SOURCE.read_text(),
    }
    create = r"""
PROBLEMS=''
NOTES=''
problem() {
  PROBLEMS="$PROBLEMS
  - $*"
}
note() {
  NOTES="$NOTES
  - $*"
}
# rank LEVEL: RACF access levels in order (anything else is -1).
rank() {
  case $1 in
    NONE) echo 0 ;; READ) echo 1 ;; UPDATE) echo 2 ;; CONTROL) echo 3 ;; ALTER) echo 4 ;;
    *) echo -1 ;;
  esac
}
# your_access CLASS PROFILE: the YOUR ACCESS column of RLIST (ABSENT without a profile,
# '?' when RACF does not list it to this user).
your_access() {
  tso "RLIST $1 $2"
  if [ "$tso_rc" -eq 0 ]; then
    printf '%s\n' "$tso_out" | awk '
      /YOUR ACCESS/ { head = 1; next }
      head && /^ *-+/ { next }
      head && NF >= 4 { print $4; found = 1; exit }
      END { if (!found) print "?" }'
  elif absent 4 ICH13003I; then
    echo ABSENT
  else
    echo '?'
  fi
}
# listed_access ID: ID's access in the last RLIST ... AUTHUSER ('' if not listed, '?'
# if the listing shows no access list at all).
listed_access() {
  printf '%s\n' "$tso_out" | awk -v id="$1" '
    /^ *USER +ACCESS/ { on = 1; seen = 1; next }
    on && NF == 0 { on = 0 }
    on && $1 == id { print $2; exit }
    END { if (!seen) print "?" }'
}

# 1. The commands the steps call.
have_tso=yes
for tool in $TOOLS; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    problem "the command $tool is not on the PATH of $SSH_ID's SSH sessions (the steps call it)"
    if [ "$tool" = tsocmd ]; then have_tso=no; fi
  fi
done

# ZOS_RACF_MODE=admin: no RACF command here, not even a LIST (the SSH user may have no
# RACF authority at all); the security administrator's script does the RACF steps.
if [ "$RACF" = admin ]; then
  have_tso=no
  say "ZOS_RACF_MODE=admin: no RACF command is run; RACF and AT-TLS are the security" \
    "administrator's script (the zos_admin_script output)"
  note "BPX.SERVER (UPDATE for $KG) and SURROGAT for the gateway's lifecycle are not" \
    "listed in admin mode: the security administrator checks them"
fi

# 2. The SSH user's RACF authority for the steps it will run.
if [ "$have_tso" = yes ]; then
  tso "LISTUSER"
  if [ "$tso_rc" -ne 0 ]; then
    problem "LISTUSER (its own profile) failed for $SSH_ID (RC $tso_rc): $tso_out"
  else
    attributes=$(printf '%s\n' "$tso_out" | sed -n 's/^ *ATTRIBUTES=//p' | head -n 1)
    clauth=$(printf '%s\n' "$tso_out" | sed -n 's/^ *CLASS AUTHORIZATIONS=//p' | head -n 1)
    case " $attributes " in
      *" SPECIAL "*) special=yes ;;
      *) special=no ;;
    esac
    say "$SSH_ID: ATTRIBUTES=$attributes; CLASS AUTHORIZATIONS=$clauth"
    if [ "$special" = yes ]; then
      say "$SSH_ID has SPECIAL: every RACF command of the steps is authorized"
    else
      if [ -n "$SETR_STEPS" ]; then
        problem "$SSH_ID lacks the SPECIAL attribute, which SETROPTS needs (class" \
          "options and RACLIST REFRESH) in the steps: $SETR_STEPS"
      fi
      while read -r profile level who; do
        [ -n "$profile" ] || continue
        have=$(your_access FACILITY "$profile")
        case $have in
          '?') note "RLIST FACILITY $profile is not listed to $SSH_ID: check that it has $level" ;;
          ABSENT) problem "no FACILITY profile $profile: without SPECIAL, RACDCERT needs" \
              "one that gives $SSH_ID $level (for the steps: $who)" ;;
          *)
            if [ "$(rank "$have")" -lt "$(rank "$level")" ]; then
              problem "$SSH_ID has $have to FACILITY $profile; $level is needed (for the" \
                "steps: $who)"
            fi ;;
        esac
      done <<JHZOS_NEED
$NEED
JHZOS_NEED
      while read -r klass profile step; do
        [ -n "$klass" ] || continue
        have=$(your_access "$klass" "$profile")
        case $have in
          '?') note "RLIST $klass $profile is not listed to $SSH_ID (the step $step PERMITs)" ;;
          ABSENT)
            case " $clauth " in
              *" $klass "*) ;;
              *) problem "$klass $profile is not defined and $SSH_ID has no CLAUTH($klass)" \
                   "to RDEFINE it (the step $step)" ;;
            esac ;;
          ALTER) ;;
          *) problem "$SSH_ID has $have to $klass $profile; the step $step PERMITs on it" \
               "(ALTER, or owning it)" ;;
        esac
      done <<JHZOS_PROFILES
$PROFILES
JHZOS_PROFILES
    fi
  fi
fi

# The config step gives its files to the gateway's ID (chown): a superuser may, or a
# user with READ to UNIXPRIV SUPERUSER.FILESYS.CHOWN, or anyone while the UNIXPRIV
# profile CHOWN.UNRESTRICTED exists (z/OS UNIX Planning, UNIXPRIV class profiles).
if [ "$SSH_ID" != "$KG" ] && [ "$have_tso" = yes ]; then
  my_uid=$(id -u)
  if [ "$my_uid" != 0 ]; then
    have=$(your_access UNIXPRIV SUPERUSER.FILESYS.CHOWN)
    case $have in
      READ|UPDATE|CONTROL|ALTER) ;;
      '?') note "UNIXPRIV SUPERUSER.FILESYS.CHOWN is not listed to $SSH_ID: check that it" \
             "may chown the gateway's files to $KG" ;;
      *)
        if [ "$(your_access UNIXPRIV CHOWN.UNRESTRICTED)" = ABSENT ]; then
          problem "$SSH_ID (UID $my_uid) cannot give the gateway's config files to $KG" \
            "(chown): it needs UID 0, READ to UNIXPRIV SUPERUSER.FILESYS.CHOWN, or" \
            "ZOS_SSH_USER=$KG"
        fi ;;
    esac
  fi
fi

# 3. The gateway's ID, its Python and Kernel Gateway.
kg_uid=$(id -u "$KG" 2>/dev/null) || kg_uid=''
if [ -z "$kg_uid" ]; then
  problem "$KG (ZOS_KG_USER) has no z/OS UNIX identity: it needs an OMVS segment (UID, HOME)"
fi
if ! command -v "$PY" >/dev/null 2>&1; then
  problem "the gateway's Python $PY (ZOS_KG_PYTHON) is not found"
  kg_version=''
else
  probe_rc=0
  # shellcheck disable=SC2086 # IMPORTS is a list of module names
  probe=$("$PY" -c "$PROBE" "$MODULE" $IMPORTS 2>&1 </dev/null) || probe_rc=$?
  if [ "$probe_rc" -ne 0 ]; then
    problem "$PY (ZOS_KG_PYTHON) did not run (RC $probe_rc): $probe"
  fi
  value() { printf '%s\n' "$probe" | sed -n "s/^$1=//p" | head -n 1; }
  py_version=$(value python)
  kg_version=$(value kg)
  kg_dir=$(value kgdir)
  say "the gateway's Python: $PY $py_version; Kernel Gateway: $kg_version"
  printf '%s\n' "gateway python=$py_version kernel_gateway=$kg_version"
  case $kg_version in
    none*|'')
      problem "$PY cannot import kernel_gateway: install Jupyter Kernel Gateway for it" \
        "($kg_version)"
      kg_version='' ;;
    *)
      missing=$(printf '%s\n' "$probe" | sed -n 's/^missing=//p')
      isolation=$(value isolation)
      if [ -n "$missing" ]; then
        problem "the gateway's config loads kg_isolation.py, whose imports fail with" \
          "$PY (Kernel Gateway $kg_version): $(printf '%s' "$missing" | tr '\n' ';')." \
          "It runs on Kernel Gateway 2.1/2.2 (classic notebook 5.x) and 3.0 (jupyter_server)"
      elif [ "$isolation" != loads ]; then
        problem "kg_isolation.py does not load with $PY (Kernel Gateway $kg_version):" \
          "${isolation#fails }. It runs on Kernel Gateway 2.1/2.2 (classic notebook 5.x)" \
          "and 3.0 (jupyter_server)"
      else
        say "kg_isolation.py loads with Kernel Gateway $kg_version"
      fi ;;
  esac
fi

# 4. AT-TLS: the Policy Agent, TTLS in the TCP/IP profile, an AT-TLS-aware gateway,
# BPX.SERVER for the switch to each user's ID.
if [ "$ATTLS" = yes ]; then
  pa_rc=0
  pa_out=$(pasearch -t 2>&1 </dev/null) || pa_rc=$?
  if [ "$pa_rc" -ne 0 ]; then
    problem "the Policy Agent does not answer (pasearch -t RC $pa_rc): start PAGENT" \
      "(AUTOLOG PAGENT in the TCP/IP profile). pasearch said: $pa_out"
  elif [ "$RACF" = admin ]; then
    # The administrator's script installs the rule; without it the gateway's port is
    # plain HTTP, so a gateway this program starts must wait for it.
    if printf '%s\n' "$pa_out" | grep -q "TTLS Rule Name: *$RULE *\$"; then
      say "pasearch shows the AT-TLS rule $RULE (installed by the administrator's script)"
    elif [ "$LIFECYCLE" != manual ]; then
      problem "the AT-TLS rule $RULE is not installed, so the gateway would serve plain" \
        "HTTP: the security administrator runs the zos_admin_script first (make" \
        "zos-admin-script), then run this again"
    else
      note "the AT-TLS rule $RULE is not installed yet: start the gateway only after the" \
        "security administrator's script has run"
    fi
  fi
  ns_rc=0
  ns_out=$(netstat -f 2>&1 </dev/null) || ns_rc=$?
  if [ "$ns_rc" -ne 0 ]; then
    note "netstat -f failed (RC $ns_rc): check TCPCONFIG TTLS in the TCP/IP profile"
  elif printf '%s\n' "$ns_out" | grep -qi 'TTLS: *Yes'; then
    say "TTLS is on in the TCP/IP profile"
  elif printf '%s\n' "$ns_out" | grep -qi 'TTLS: *No'; then
    problem "TTLS is off in the TCP/IP profile: add TCPCONFIG TTLS (and VARY TCPIP,,OBEYFILE)"
  else
    note "netstat -f shows no TTLS setting: check TCPCONFIG TTLS in the TCP/IP profile"
  fi
  if [ -n "$kg_version" ]; then
    era=$(value kg_attls_era)
    if [ "$era" != yes ]; then
      problem "ZOS_ATTLS=true runs each user's kernels under that user's own ID, which" \
        "needs a gateway that maps the AT-TLS client certificate to it; Kernel Gateway" \
        "$kg_version cannot (upstream has no AT-TLS code; IzODA's AT-TLS support is only" \
        "in versions before 2.3, its native .so program-controlled). Install IzODA's" \
        "AT-TLS-aware Kernel Gateway 2.x for $PY (IzODA's channel ships" \
        "jupyter-kernel-gateway 2.1.0), or set ZOS_ATTLS=false (kernels then run as $KG)"
    else
      controlled=no
      libs=''
      for so in "$kg_dir"/*.so "$kg_dir"/../kernelgateway/*.so; do
        [ -f "$so" ] || continue
        libs="$libs $so"
        # ls -E: z/OS's extended attributes column (a p: program-controlled)
        # shellcheck disable=SC2012 # find(1) does not show z/OS extended attributes
        flags=$(ls -E "$so" 2>/dev/null | awk '{ print $2 }')
        case $flags in
          *p*) controlled=yes ;;
          *) problem "$so is not program-controlled: extattr +p $so (needs READ to" \
               "FACILITY BPX.FILEATTR.PROGCTL), as IzODA's AT-TLS support requires" ;;
        esac
      done
      if [ -z "$libs" ]; then
        problem "Kernel Gateway $kg_version in $kg_dir has no native .so: it is not" \
          "IzODA's AT-TLS-aware build. Install that for $PY, or set ZOS_ATTLS=false"
      elif [ "$controlled" = yes ]; then
        say "AT-TLS-aware Kernel Gateway $kg_version, program-controlled:$libs"
      fi
    fi
  fi
  if [ "$have_tso" = yes ]; then
    tso "RLIST FACILITY BPX.SERVER AUTHUSER"
    if [ "$tso_rc" -eq 0 ]; then
      got=$(listed_access "$KG")
      if [ "$got" = '?' ]; then
        note "BPX.SERVER's access list is not shown to $SSH_ID: check that $KG has UPDATE"
      elif [ -z "$got" ]; then
        problem "FACILITY BPX.SERVER is defined and $KG is not on its access list (group" \
          "permits are not checked): PERMIT BPX.SERVER CLASS(FACILITY) ID($KG)" \
          "ACCESS(UPDATE), so kernels run with each user's own identity"
      elif [ "$(rank "$got")" -lt 2 ]; then
        problem "$KG has $got to FACILITY BPX.SERVER: with READ, kernels could use only" \
          "what both $KG and the user may; grant UPDATE"
      else
        say "$KG has $got to FACILITY BPX.SERVER"
      fi
    elif absent 4 ICH13003I; then
      if [ -n "$kg_uid" ] && [ "$kg_uid" != 0 ]; then
        problem "FACILITY BPX.SERVER is not defined, so only a superuser may switch to a" \
          "user's identity, and $KG has UID $kg_uid: RDEFINE FACILITY BPX.SERVER UACC(NONE)" \
          "and PERMIT it to $KG with ACCESS(UPDATE)"
      fi
    else
      problem "RLIST FACILITY BPX.SERVER failed (RC $tso_rc): $tso_out"
    fi
  fi
fi

# 5. What the gateway's lifecycle needs.
case $LIFECYCLE in
  process)
    if [ "$SSH_ID" != "$KG" ] && [ "$have_tso" = yes ]; then
      have=$(your_access SURROGAT "BPX.SRV.$KG")
      if [ "$have" = '?' ]; then
        note "SURROGAT BPX.SRV.$KG is not listed to $SSH_ID: check that it has READ"
      elif [ "$(rank "$have")" -lt 1 ]; then
        if [ "$have" = ABSENT ]; then have="no access: the profile is not defined"; fi
        problem "ZOS_KG_LIFECYCLE=process starts the gateway as $KG with su -s, which" \
          "needs READ to SURROGAT BPX.SRV.$KG for $SSH_ID (it has $have)"
      fi
    fi ;;
  started-task)
    say "the gateway is the started task $STC (its STARTED profile must assign $KG)" ;;
esac
if [ "$OPERCMD_USED" = yes ] && [ "$have_tso" = yes ]; then
  have=$(your_access OPERCMDS MVS.MCSOPER.ZOAU)
  case $have in
    '?') note "OPERCMDS MVS.MCSOPER.ZOAU is not listed to $SSH_ID: check that it has READ" ;;
    ABSENT) say "no OPERCMDS profile MVS.MCSOPER.ZOAU: ZOAU's operator console is not protected" ;;
    *)
      if [ "$(rank "$have")" -lt 1 ]; then
        problem "$OPERCMD (ZOAU) needs READ to OPERCMDS MVS.MCSOPER.ZOAU for $SSH_ID" \
          "(it has $have); the steps issue operator commands with it"
      fi ;;
  esac
fi

if [ -n "$NOTES" ]; then
  say "not checked (RACF does not show it to $SSH_ID; verify by hand):$NOTES"
fi
if [ -n "$PROBLEMS" ]; then
  die "preflight: z/OS is not ready for this stack; nothing was changed. Missing:$PROBLEMS"
fi
say "preflight passed: nothing is missing"
"""
    purpose = "Read-only checks: everything the other steps need, reported at once."
    return make_step(
        stack,
        "preflight",
        purpose,
        create=create,
        create_variables=variables,
        delete='say "the preflight changed nothing: nothing to remove"\n',
        delete_variables={},
        triggers=(),
    )
