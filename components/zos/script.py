"""The frame every z/OS step script shares: environment, helpers, bookkeeping.

Each step is one POSIX sh script for z/OS /bin/sh, sent as the command text of a
pulumi-command `remote.Command`. The frame gives it:

- the z/OS UNIX environment, exported inline (sshd's AcceptEnv is not relied on);
- `tso`/`ok`: TSO/E commands through `tsocmd` (authorized commands such as RACDCERT and
  SETROPTS need the TMP; `tso -t` cannot run them), each RC checked, RACF's own
  output shown when anything is unexpected;
- ownership records on z/OS (`$HOME/.jupyterhub-zos/records/`), one per object the
  program made, keyed by the object's identity and naming the step instances that use
  it: a delete removes only what the program made and no live step uses (a replacement
  is created before the old instance is deleted), never something that was there
  before; the intent is recorded before an object is made, so a run killed half-way
  leaves no orphan, and a LIST confirms an object before it is deleted;
- a marker file per step (`$HOME/.jupyterhub-zos/<stack>/<step>`) for what a run must
  finish (pending refreshes, the files of the AT-TLS and gateway config steps);
- pending `SETROPTS RACLIST(...) REFRESH`es, written down before the change they
  follow, refreshed only for classes that are RACLISTed (or generic).

Values from settings are assigned once, shell-quoted, at the top of the script and
used as "$VAR" below, so no value is ever parsed as shell syntax.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

# The z/OS UNIX environment of ibm_zos_core's documented setup: auto-conversion of
# tagged files, new files tagged, redirected stdio tagged as text, the C locale.
ZOS_ENV = """\
export _BPXK_AUTOCVT=ON
export _CEE_RUNOPTS='FILETAG(AUTOCVT,AUTOTAG) POSIX(ON)'
export _TAG_REDIR_IN=txt _TAG_REDIR_OUT=txt _TAG_REDIR_ERR=txt
export LANG=C LC_ALL=C
set -eu
umask 077
"""

# Shell functions shared by every step (POSIX sh; checked with shellcheck -s sh).
LIBRARY = r"""
say() { printf '%s\n' "jupyterhub-zos[$STEP]: $*" >&2; }
die() {
  printf '%s\n' "jupyterhub-zos[$STEP]: ERROR: $*" >&2
  DIED=yes
  exit 1
}
# Whatever stops the script (set -e included) is reported, and the scratch dir removed.
DIED=no
TMP_DIR=''
on_exit() {
  on_exit_rc=$?
  if [ -n "$TMP_DIR" ]; then rm -rf "$TMP_DIR"; fi
  if [ "$on_exit_rc" -ne 0 ] && [ "$DIED" = no ]; then
    printf '%s\n' "jupyterhub-zos[$STEP]: ERROR: a command failed (exit status $on_exit_rc)" >&2
  fi
  exit "$on_exit_rc"
}
trap on_exit EXIT
trap 'exit 1' HUP INT TERM

# tso CMD: one TSO/E command through tsocmd. Sets tso_rc and tso_out (stdout and
# stderr together); never exits by itself, the caller decides on RC and message IDs.
tso() {
  tso_cmd=$1
  tso_rc=0
  tso_out=$(tsocmd "$tso_cmd" 2>&1 </dev/null) || tso_rc=$?
  say "RC $tso_rc: $tso_cmd"
}
# fail WHY: stop, quoting the command, its RC and everything RACF said.
fail() {
  die "$1 (RC $tso_rc from: $tso_cmd)
$tso_out"
}
# ok CMD: a command that must end with RC 0.
ok() {
  tso "$1"
  [ "$tso_rc" -eq 0 ] || fail "the command failed"
}
# has MSGID: did the last command print this message?
has() {
  case $tso_out in *"$1"*) return 0 ;; esac
  return 1
}
# absent RCS MSGID...: the last command said "does not exist" (one of RCS, one of MSGIDs).
absent() {
  case " $1 " in *" $tso_rc "*) ;; *) return 1 ;; esac
  shift
  for absent_id in "$@"; do
    if has "$absent_id"; then return 0; fi
  done
  return 1
}

# What this program created, one line each, in this step's marker file on z/OS.
marked() { [ -f "$MARKS" ] && grep -qxF "$1" "$MARKS"; }
mark() {
  if marked "$1"; then return 0; fi
  mkdir -p "$MARKS_DIR"
  printf '%s\n' "$1" >>"$MARKS"
}
unmark() {
  if ! marked "$1"; then return 0; fi
  { grep -vxF "$1" "$MARKS" || [ $? -eq 1 ]; } >"$MARKS.new"
  mv "$MARKS.new" "$MARKS"
  if [ ! -s "$MARKS" ]; then rm -f "$MARKS"; fi
}

# Ownership records: one file per object the program made (or is about to make), in
# $RECORDS (shared by this SSH user's stacks), named by the object's identity. It holds
# the identity, whether the object is made or only intended (written before the command
# that makes it: a run killed in between leaves a record, not an orphan), and which step
# instances use it ("USE stack/step instance", newest last). A step's delete removes the
# object only when no other step uses it and no newer instance of its own step does: a
# replacement (created before the old instance is deleted) keeps what it uses.
rec_at() {
  rec_name=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
  if [ "${#rec_name}" -gt 200 ]; then
    rec_name=c$(printf '%s' "$1" | cksum | awk '{ print $1 "-" $2 }')
  fi
  rec="$RECORDS/$rec_name"
  if [ -f "$rec" ] && [ "$(sed -n 1p "$rec")" != "ID $1" ]; then
    die "$rec is not the ownership record of $1"
  fi
}
# rec_put ID STATE: write the record with the USE lines in $rec_uses (a new file, then mv).
rec_put() {
  mkdir -p "$RECORDS"
  {
    printf 'ID %s\nSTATE %s\n' "$1" "$2"
    if [ -n "$rec_uses" ]; then printf '%s\n' "$rec_uses"; fi
  } >"$rec.new"
  mv "$rec.new" "$rec"
}
# rec_others: the record's USE lines but this instance's (into rec_uses).
rec_others() {
  rec_uses=''
  if [ -f "$rec" ]; then
    rec_uses=$(grep '^USE ' "$rec" | grep -vxF "USE $SLOT $INSTANCE" || true)
  fi
}
# ours ID [LEGACY]: did the program make the object? (A record, made or intended; or
# the line LEGACY in this step's marker file, as earlier versions kept it: taken over.)
ours() {
  rec_at "$1"
  if [ -f "$rec" ]; then return 0; fi
  if marked "${2:-$1}"; then
    rec_uses=''
    rec_put "$1" made
    unmark "${2:-$1}"
    return 0
  fi
  return 1
}
# intend ID: the object is about to be made by this instance: recorded first.
intend() {
  rec_at "$1"
  rec_others
  rec_uses=$(printf '%s\n%s' "$rec_uses" "USE $SLOT $INSTANCE" | sed '/^$/d')
  rec_put "$1" intent
}
# use ID: the object (made by the program) is there and used by this instance, its
# newest user.
use() {
  rec_at "$1"
  rec_others
  rec_uses=$(printf '%s\n%s' "$rec_uses" "USE $SLOT $INSTANCE" | sed '/^$/d')
  rec_put "$1" made
}
# release ID: this instance is done with the object. True when it is to be removed (the
# program made it, and no other step and no newer instance of this step uses it); else
# this instance's use is dropped from the record and the object kept.
release() {
  rec_at "$1"
  [ -f "$rec" ] || return 1
  rel_newest=$(awk -v s="$SLOT" '$1 == "USE" && $2 == s { n = $3 } END { print n }' "$rec")
  if [ -n "$rel_newest" ] && [ "$rel_newest" != "$INSTANCE" ]; then
    rec_others
    rec_put "$1" "$(sed -n 's/^STATE //p' "$rec")"
    say "$1: a newer instance of this step uses it: kept"
    return 1
  fi
  rec_uses=$(awk -v s="$SLOT" '$1 == "USE" && $2 != s' "$rec")
  if [ -n "$rec_uses" ]; then
    rec_put "$1" "$(sed -n 's/^STATE //p' "$rec")"
    say "$1: another step uses it: kept"
    return 1
  fi
  return 0
}
# forget ID: the object is gone: its record too.
forget() {
  rec_at "$1"
  rm -f "$rec"
}

# SETROPTS LIST, read once when needed: which classes are active, RACLISTed, generic.
setr_load() {
  ok 'SETROPTS LIST'
  setr_out=$tso_out
}
# setr_has HEADING CLASS: is CLASS listed under HEADING (e.g. 'ACTIVE CLASSES')?
# Headings start in column 1 or 2; their lists continue on indented lines.
setr_has() {
  printf '%s\n' "$setr_out" | awk -v h="$1 = " -v c="$2" '
    /^ ?[A-Z]/ {
      at = index($0, h); on = (at > 0 && at <= 2)
      if (on) $0 = substr($0, at + length(h))
    }
    on { for (i = 1; i <= NF; i++) if ($i == c) found = 1 }
    END { exit !found }'
}

# A change to CLASS is made: write the refresh down first, so a run that stops
# before refreshing is refreshed by the next run.
needs_refresh() { mark "REFRESH $1"; }
# Refresh every class with a pending change, as RACF needs for that class.
refresh_pending() {
  refresh_loaded=no
  for refresh_class in DIGTCERT DIGTRING FACILITY SURROGAT; do
    if ! marked "REFRESH $refresh_class"; then continue; fi
    if [ "$refresh_loaded" = no ]; then
      setr_load
      refresh_loaded=yes
    fi
    refresh_opts=''
    if setr_has 'GENERIC PROFILE CLASSES' "$refresh_class"; then
      refresh_opts="GENERIC($refresh_class) "
    fi
    if setr_has 'SETR RACLIST CLASSES' "$refresh_class"; then
      refresh_opts="${refresh_opts}RACLIST($refresh_class) "
    fi
    if [ -n "$refresh_opts" ]; then
      ok "SETROPTS ${refresh_opts}REFRESH"
    else
      say "$refresh_class is neither RACLISTed nor generic: the change is in effect already"
    fi
    unmark "REFRESH $refresh_class"
  done
}

# rlist_permits ID: does the last RLIST ... AUTHUSER list ID with READ or more?
rlist_permits() {
  printf '%s\n' "$tso_out" | awk -v id="$1" '
    /^ *USER +ACCESS/ { on = 1; next }
    on && NF == 0 { on = 0 }
    on && $1 == id && $2 ~ /^(READ|UPDATE|CONTROL|ALTER)$/ { found = 1 }
    END { exit !found }'
}

# ring_has LABEL OWNER: does the last LISTRING show LABEL connected, owned by OWNER
# (CERTAUTH, SITE or ID(user))? Labels may hold blanks; columns are blank-separated.
ring_has() {
  printf '%s\n' "$tso_out" | awk -v l="$1" -v o="$2" '
    { s = $0; sub(/^ +/, "", s) }
    index(s, l) == 1 {
      rest = substr(s, length(l) + 1)
      if (rest ~ /^ / && split(rest, f, " ") > 0 && f[1] == o) found = 1
    }
    END { exit !found }'
}

# cert_there OWNER LABEL WHAT: is the certificate in RACF (true; cert_ours says whether
# the program made it, and this instance then uses it), or not (false, on RC 4 with
# IRRD107I)? Stops on any other answer. OWNER is CERTAUTH or ID(user).
cert_there() {
  tso "RACDCERT $1 LIST(LABEL('$2'))"
  if [ "$tso_rc" -eq 0 ]; then
    # shellcheck disable=SC2034 # read by to_sign and its helpers
    cert_list=$tso_out
    if ours "CERT $1 $2"; then
      # shellcheck disable=SC2034
      cert_ours=yes
      use "CERT $1 $2"
      say "the $3 '$2' is there (generated by jupyterhub-zos)"
    else
      # shellcheck disable=SC2034
      cert_ours=no
      say "the $3 '$2' exists already: it is used as is, and never deleted"
    fi
    return 0
  fi
  absent 4 IRRD107I || fail "unexpected answer to LIST"
  return 1
}
# dn_after HEADING: the distinguished name RACF shows under HEADING ("Issuer's Name",
# "Subject's Name") in the listing $1, between > and < (it may wrap over lines).
dn_after() {
  printf '%s\n' "$1" | awk -v h="$2:" '
    index($0, h) { on = 1; next }
    on {
      s = $0; sub(/^ *>?/, "", s); dn = dn s
      if (s ~ /<$/) { sub(/<$/, "", dn); print dn; exit }
    }'
}
# signed_by_ca: is the certificate just listed by cert_there issued by the CA $CA?
signed_by_ca() {
  ok "RACDCERT CERTAUTH LIST(LABEL('$CA'))"
  [ "$(dn_after "$cert_list" "Issuer's Name")" = "$(dn_after "$tso_out" "Subject's Name")" ]
}
# names_cn CN: does the certificate just listed by cert_there have the common name CN?
names_cn() {
  case $(dn_after "$cert_list" "Subject's Name") in
    *"CN=$1" | *"CN=$1."* | *"CN=$1,"*) return 0 ;;
  esac
  return 1
}
# to_make OWNER LABEL WHAT: the certificate is missing and is to be made now: its intent
# is recorded first, and the refresh it will need.
to_make() {
  intend "CERT $1 $2"
  needs_refresh DIGTCERT
}
# cert_end: the end date (YYYY-MM-DD) of the certificate just listed (cert_list), from
# RACF's "End Date: yyyy/mm/dd hh:mm:ss".
cert_end() {
  printf '%s\n' "$cert_list" | awk '$1 == "End" && $2 == "Date:" {
    n = split($3, d, "/"); if (n == 3) print d[1] "-" d[2] "-" d[3]; exit }'
}
# ends_before DATE: does the certificate just listed end before DATE (YYYY-MM-DD)?
ends_before() {
  end_date=$(cert_end)
  case $end_date in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) ;;
    *) fail "no End Date in RACF's LIST of the certificate" ;;
  esac
  [ "$(printf '%s' "$end_date" | tr -d -)" -lt "$(printf '%s' "$1" | tr -d -)" ]
}
# report_expiry OWNER LABEL: the certificate's end date on stdout, one line, for the
# stack's zos_cert_expiry output (LIST again: it may just have been made).
report_expiry() {
  ok "RACDCERT $1 LIST(LABEL('$2'))"
  cert_list=$tso_out
  printf 'jupyterhub-zos-expiry %s %s %s\n' "$1" "$(cert_end)" "$2"
}
# to_sign OWNER LABEL WHAT CN UNTIL NEW REQ: is a certificate for CN, signed by the CA $CA,
# to be made by the caller's GENCERT? Yes when it is missing, or when the program made it
# and it names another CN (the host changed: a new subject, which REKEY cannot give), and
# that one is deleted here. One the program made that another CA signed (ZOS_CA_LABEL
# changed) or that ends before UNTIL (renewal: this period's certificates end then,
# components/zos/renewal.py) is re-issued here by IBM's rollover (roll_over: it stays on
# every ring it is on), and the caller makes nothing. A renewal an earlier run began is
# finished first (renewing). A certificate the program did not make is never re-issued,
# only reported. NEW: the label the re-issued one has until it takes LABEL; REQ: the data
# set of its certificate request.
to_sign() {
  renewing "$1" "$2" "$6" "$7" "$5"
  if ! cert_there "$1" "$2" "$3"; then
    to_make "$1" "$2"
    return 0
  fi
  sign_roll=yes
  if ! names_cn "$4"; then
    sign_why="is not for CN $4"
    sign_roll=no
  elif ! signed_by_ca; then
    sign_why="is not signed by '$CA'"
  elif ends_before "$5"; then
    sign_why="ends $end_date, before $5 (renewal)"
  else
    say "the $3 '$2' ends $end_date: not due before $5"
    return 1
  fi
  if [ "$cert_ours" = no ]; then
    say "WARNING: the $3 '$2' $sign_why; it was not made by jupyterhub-zos, so it is not" \
      "re-issued: renew it in RACF yourself, or clients may refuse it"
    return 1
  fi
  if [ "$sign_roll" = yes ]; then
    say "the $3 '$2' $sign_why: re-issued with a new key (REKEY, signed, ROLLOVER)"
    roll_over "$1" "$2" "$6" "$5" "$7"
    return 1
  fi
  say "the $3 '$2' $sign_why: re-issued"
  to_make "$1" "$2"
  ok "RACDCERT $1 DELETE(LABEL('$2'))"
  return 0
}
# roll_over OWNER LABEL NEW UNTIL REQ: IBM's renewal with a new private key (RACF Security
# Administrator's Guide, "Renewing a certificate with a new private key"): REKEY copies
# LABEL (subject, key usage, alternate names) with a new key pair as NEW, self-signed;
# GENREQ and GENCERT sign NEW by the CA, ending UNTIL; ROLLOVER retires LABEL's private key
# and puts NEW in its place on every ring (PERSONAL connections replaced, DEFAULT kept); the
# old one is deleted and NEW takes the label LABEL (ALTER NEWLABEL), which the steps, the
# exports and the ring listing name. So a ring always holds a usable certificate. NEW's
# record is written first: a run killed on the way leaves it, and the next one finishes.
# The step defines `rekey OWNER LABEL NEW` (REKEY with the SIZE it renders: REKEY_BODY).
roll_over() {
  intend "CERT $1 $3"
  needs_refresh DIGTCERT
  needs_refresh DIGTRING
  rekey "$1" "$2" "$3"
  roll_sign "$1" "$3" "$4" "$5"
  roll_finish "$1" "$2" "$3"
}
# roll_sign OWNER NEW UNTIL REQ: NEW (self-signed by REKEY) signed by the CA: a PKCS#10
# request from it (GENREQ), which GENCERT signs in place (its key stays with NEW).
roll_sign() {
  drop_dsn "$4"
  ok "RACDCERT $1 GENREQ(LABEL('$2')) DSN('$4')"
  ok "RACDCERT $1 GENCERT('$4') SIGNWITH(CERTAUTH LABEL('$CA')) NOTAFTER(DATE($3))"
  drop_dsn "$4"
}
# roll_finish OWNER LABEL NEW: ROLLOVER (when LABEL still has its private key), DELETE of
# LABEL (when it is still there), then NEW renamed LABEL; NEW's record goes.
roll_finish() {
  tso "RACDCERT $1 LIST(LABEL('$2'))"
  if [ "$tso_rc" -eq 0 ]; then
    if ! printf '%s\n' "$tso_out" | grep -q 'Private Key Type: *None'; then
      ok "RACDCERT $1 ROLLOVER(LABEL('$2')) NEWLABEL('$3')"
    fi
    ok "RACDCERT $1 DELETE(LABEL('$2'))"
  elif ! absent 4 IRRD107I; then
    fail "unexpected answer to LIST"
  fi
  ok "RACDCERT $1 ALTER(LABEL('$3')) NEWLABEL('$2')"
  use "CERT $1 $2"
  forget "CERT $1 $3"
}
# renewing OWNER LABEL NEW REQ UNTIL: a renewal an earlier run began (NEW's record is there) is
# finished from where it stopped, as RACF's LISTs show it.
renewing() {
  rec_at "CERT $1 $3"
  [ -f "$rec" ] || return 0
  say "an earlier run began re-issuing '$2' as '$3': finishing it"
  needs_refresh DIGTCERT
  needs_refresh DIGTRING
  tso "RACDCERT $1 LIST(LABEL('$3'))"
  if [ "$tso_rc" -ne 0 ]; then
    # not made yet (killed before REKEY), or renamed already (killed after ALTER)
    absent 4 IRRD107I || fail "unexpected answer to LIST"
    forget "CERT $1 $3"
    drop_dsn "$4"
    return 0
  fi
  if [ "$(dn_after "$tso_out" "Issuer's Name")" = "$(dn_after "$tso_out" "Subject's Name")" ]; then
    roll_sign "$1" "$3" "$5" "$4"
  fi
  drop_dsn "$4"
  roll_finish "$1" "$2" "$3"
}
# drop_cert OWNER LABEL WHAT: delete a certificate the program generated, once no step
# uses it (LIST first), and leave any other alone. OWNER is CERTAUTH or ID(user).
drop_cert() {
  if release "CERT $1 $2"; then
    tso "RACDCERT $1 LIST(LABEL('$2'))"
    if [ "$tso_rc" -eq 0 ]; then
      needs_refresh DIGTCERT
      ok "RACDCERT $1 DELETE(LABEL('$2'))"
    elif ! absent 4 IRRD107I; then
      fail "unexpected answer to LIST"
    fi
    forget "CERT $1 $2"
  elif ! [ -f "$rec" ]; then
    say "the $3 '$2' was not generated by jupyterhub-zos: left as it is"
  fi
}

# drop_dsn DSN: delete a data set this step writes (the exported PKCS#12), if there.
drop_dsn() {
  tso "DELETE '$1'"
  if [ "$tso_rc" -eq 0 ] || has IDC3012I; then return 0; fi
  fail "could not delete the data set $1"
}

# A private scratch directory (0700), removed on exit. z/OS has no mktemp(1).
scratch() {
  scratch_dir="${TMPDIR:-/tmp}/jupyterhub-zos.$$"
  mkdir "$scratch_dir" || die "cannot create the scratch directory $scratch_dir"
  TMP_DIR=$scratch_dir
}
"""


_FUNCTION = re.compile(r"^([a-z_]+)\(\) \{")


def _library_chunks(library: str) -> list[tuple[str | None, str]]:
    """The library as (function name or None, text) in order; a function's comment
    lines go with it, other lines (variables, traps) are chunks of their own."""
    chunks: list[tuple[str | None, str]] = []
    comments: list[str] = []
    lines = iter(library.strip("\n").split("\n"))
    for line in lines:
        if line.startswith("#"):
            comments.append(line)
            continue
        match = _FUNCTION.match(line)
        if match is None:
            if line.strip():
                chunks.append((None, "\n".join([*comments, line])))
            comments = []
            continue
        text = [*comments, line]
        comments = []
        if not line.rstrip().endswith("}"):  # not a one-liner: up to the closing brace
            while text[-1] != "}":
                text.append(next(lines))
        chunks.append((match[1], "\n".join(text)))
    return chunks


LIBRARY_CHUNKS = _library_chunks(LIBRARY)


_WORD = re.compile(r"\w+")  # what \b delimits: a helper's name is one such word
_HEREDOC = re.compile(r"<<-?\s*'?([A-Za-z_][A-Za-z0-9_]*)'?")


def _code(text: str) -> str:
    """`text` without its comment lines and here-document bodies (words in comments or
    in data written to a file, such as the gateway's config and module, are not calls)."""
    lines, end = [], None
    for line in text.split("\n"):
        if end is not None:
            end = None if line == end else end
            continue
        if not line.lstrip().startswith("#"):
            lines.append(line)
            heredoc = _HEREDOC.search(line)
            end = heredoc[1] if heredoc else None
    return "\n".join(lines)


@functools.lru_cache(maxsize=64)  # a step's body is the same for every user
def library_for(body: str) -> str:
    """Only the helpers `body` uses (and the ones those use): every script carries the
    frame, but a step's command text stays small (it is sent, stored and diffed)."""
    # The words of the code: a helper is used where its name stands as a whole word
    # (one set, not a search of the text per helper: a step for 1000 users is long).
    used = set(
        _WORD.findall(_code("\n".join([body, *(t for n, t in LIBRARY_CHUNKS if n is None)])))
    )
    wanted: set[str] = set()
    while True:
        more = {
            name for name, _text in LIBRARY_CHUNKS if name and name not in wanted and name in used
        }
        if not more:
            break
        wanted |= more
        used |= set(_WORD.findall(_code("\n".join(t for n, t in LIBRARY_CHUNKS if n in more))))
    return "\n".join(text for name, text in LIBRARY_CHUNKS if name is None or name in wanted)


def quote(value: str | int) -> str:
    """Quote a value for sh, as a literal: in double quotes with \\ $ ` " escaped (a
    z/OS ID or ring name may hold `$`; shellcheck reads this form as intended)."""
    text = str(value)
    for char in ("\\", "$", "`", '"'):
        text = text.replace(char, "\\" + char)
    return f'"{text}"'


# Stands for the step instance's ID in a rendered script: each `remote.Command` has one
# (a random ID kept in state, new whenever the command is replaced), so its records tell
# it apart from the instance it replaces. `Step.scripts` puts it in.
INSTANCE = "@JHZOS_INSTANCE@"


@dataclass(frozen=True)
class Step:
    """One z/OS step: the scripts of one `remote.Command`.

    `triggers` are the values that name what the step creates: when one changes, the
    resource is replaced with a new instance (created first, then the old instance's
    delete runs: the ownership records keep it from removing what the new one uses).
    `stdin` says what the create script reads from stdin, if anything
    (it is always a secret: a password or a token)."""

    name: str
    create: str
    delete: str
    triggers: tuple[str, ...]
    stdin: str | None = None

    def scripts(self, instance: str) -> tuple[str, str]:
        """The create and delete scripts of the step instance `instance` (hex)."""
        if not instance or not all(c in "0123456789abcdef" for c in instance):
            raise ValueError(f"a step instance is a hex ID, not {instance!r}")
        return self.create.replace(INSTANCE, instance), self.delete.replace(INSTANCE, instance)


def render(
    *,
    stack: str,
    step: str,
    action: str,
    purpose: str,
    variables: Mapping[str, str | int],
    body: str,
) -> str:
    """A complete script: header, z/OS environment, variables, helpers, the step body."""
    header = (
        f"# jupyterhub-zos, stack {stack}: step {step!r}, {action}.\n"
        f"# {purpose}\n"
        "# Rendered by the Pulumi program; runs under z/OS /bin/sh over SSH.\n"
    )
    library = library_for(body)
    assignments = [f"STEP={quote(step)}"]
    if "$MARKS" in library + body:  # the step keeps a marker file
        assignments += [
            f'MARKS_DIR="$HOME/.jupyterhub-zos"/{quote(stack)}',
            f'MARKS="$MARKS_DIR"/{quote(step)}',
        ]
    if "$RECORDS" in library + body:  # the step keeps ownership records
        assignments += [
            'RECORDS="$HOME/.jupyterhub-zos/records"',
            f"SLOT={quote(f'{stack}/{step}')}",
            f"INSTANCE={INSTANCE}",
        ]
    assignments += [f"{name}={quote(value)}" for name, value in variables.items()]
    return (
        header
        + ZOS_ENV
        + "\n".join(assignments)
        + "\n"
        + library
        + "\n\n# --- the step ---\n"
        + body.strip("\n")
        + "\n"
    )


def make_step(
    stack: str,
    name: str,
    purpose: str,
    *,
    create: str,
    create_variables: Mapping[str, str | int],
    delete: str,
    delete_variables: Mapping[str, str | int],
    triggers: tuple[str, ...],
    stdin: str | None = None,
) -> Step:
    """A Step from its two bodies: each rendered in the same frame, with its variables."""
    return Step(
        name,
        render(
            stack=stack,
            step=name,
            action="create",
            purpose=purpose,
            variables=create_variables,
            body=create,
        ),
        render(
            stack=stack,
            step=name,
            action="delete",
            purpose=purpose,
            variables=delete_variables,
            body=delete,
        ),
        triggers,
        stdin=stdin,
    )
