"""Render the shell that writes one user's client certificate files on the Docker host.

Pure functions, settings in, text out. `components/delivery/client_certs.py` runs the text with
pulumi-command; the tests run the very same text with /bin/sh (and over a real sshd).

The PEM texts never appear in a command: they arrive on stdin, framed by header lines
(`frame_stdin`), and an awk program splits them into files. On the host, under
`<pki_dir>/<user>/`, the key is 0600 and everything is owned by the notebook user
(uid 1000, jovyan), so DockerSpawner's read-only mount at /etc/jupyterpki is readable
by the notebook and by no other user of the host. Files are replaced by rename, so a
running notebook sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from components.docker.names import pki_dir_name

# The notebook image's user (docker-stacks jovyan). The mount is read-only, so the
# notebook can read its files but not change them.
NOTEBOOK_UID = 1000

# One header line before each part on stdin. No PEM line starts like this.
FRAME = "::jupyterhub-zos::"
PARTS = ("key", "cert", "ca")


@dataclass(frozen=True)
class DeliveryFiles:
    """Where one user's files go: `<pki_dir>/<user>/<name>` (names from CLIENT_*)."""

    pki_dir: str
    user: str
    key: str
    cert: str
    ca: str

    @property
    def directory(self) -> str:
        return f"{self.pki_dir.rstrip('/')}/{pki_dir_name(self.user)}"


@dataclass(frozen=True)
class DeliveryTarget:
    """The Docker host, as the files are reached: this machine, or over SSH."""

    kind: str  # "local" or "ssh"
    host: str | None = None
    user: str | None = None
    port: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "local":
            return "this machine"
        return f"{self.user + '@' if self.user else ''}{self.host}"


def delivery_target(docker_host: str | None) -> DeliveryTarget:
    """The delivery target for the `docker:host` value. Raises ValueError naming the key
    for Docker hosts whose file system this program cannot write (tcp://, npipe://)."""
    if docker_host is None or docker_host.startswith("unix://"):
        return DeliveryTarget("local")
    if docker_host.startswith("ssh://"):
        parts = urlsplit(docker_host)
        if not parts.hostname:
            raise ValueError(f"{docker_host!r} names no host (ssh://user@host)")
        return DeliveryTarget("ssh", host=parts.hostname, user=parts.username, port=parts.port)
    raise ValueError(
        f"{docker_host!r} cannot be used: the users' client certificates are written to "
        "the Docker host's file system, which the program reaches only locally (unix://) "
        "or over SSH (ssh://user@host)"
    )


def ssh_options(value: object) -> tuple[str, ...]:
    """`docker:sshOpts` (a list of strings, as the CLI delivers it: JSON text), used for
    the delivery's ssh exactly as docker uses it. Raises ValueError naming the key."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError('docker:sshOpts must be a list of strings, e.g. ["-o", "Port=2222"]')
    return tuple(value)


def frame_stdin(key_pem: str, cert_pem: str, ca_pem: str) -> str:
    """The stdin of the delivery script: each PEM after its header line."""
    out = []
    for part, text in zip(PARTS, (key_pem, cert_pem, ca_pem), strict=True):
        out.append(f"{FRAME} {part}\n{text.rstrip()}\n")
    return "".join(out)


def parse_frames(text: str) -> dict[str, str]:
    """What frame_stdin framed (also what a producer feeding the delivery prints):
    part -> text. Raises ValueError on text before the first header or an unknown part."""
    parts: dict[str, str] = {}
    current = None
    for line in text.splitlines(keepends=True):
        header = line.rstrip("\n").split(" ")
        if header[0] == FRAME:
            if len(header) != 2 or header[1] not in PARTS:
                raise ValueError(f"unknown part in {line.strip()!r}")
            current = header[1]
            parts[current] = ""
        elif current is None:
            raise ValueError("text before the first part header")
        else:
            parts[current] += line
    return parts


# Splits stdin into the three temporary files. A missing or unknown part fails.
_SPLIT_AWK = f"""\
$1 == "{FRAME}" {{
    if ($2 == "key") out = key
    else if ($2 == "cert") out = cert
    else if ($2 == "ca") out = ca
    else {{ bad = 1; exit 3 }}
    seen[$2] = 1
    next
}}
out == "" {{ bad = 1; exit 4 }}
{{ print > out }}
END {{ if (!bad && !(("key" in seen) && ("cert" in seen) && ("ca" in seen))) exit 5 }}
"""


def _header(files: DeliveryFiles, purpose: str, names: bool = True) -> str:
    q = shlex.quote
    file_names = (
        f"KEY_FILE={q(files.key)}\nCERT_FILE={q(files.cert)}\nCA_FILE={q(files.ca)}\n"
        if names
        else ""
    )
    return f"""\
#!/bin/sh
# {purpose} (rendered by jupyterhub-zos; no secret is in this text).
set -eu
umask 077
DIR={q(files.directory)}
{file_names}NOTEBOOK_UID={NOTEBOOK_UID}

fail() {{
    printf 'jupyterhub-zos: %s\\n' "$*" >&2
    exit 1
}}

"""


# Who runs the body: root, the notebook user itself (its files are its own), or root by
# passwordless sudo. The body runs as one shell (not sudo per command), so that it can
# enter the user's directory once and work inside it, immune to links swapped in later.
_PRIVILEGE = """\
if [ "$(id -u)" -eq 0 ] || [ "$(id -u)" -eq "$NOTEBOOK_UID" ]; then
    exec sh -c "$BODY" jupyterhub-zos
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n -- sh -c "$BODY" jupyterhub-zos
fi
fail "changing $DIR on $(hostname) needs root, because the files must belong to \\
the notebook user (uid $NOTEBOOK_UID) and be unreadable to others. Run pulumi as root, \\
or allow $(id -un) passwordless sudo there (sudo -n), or run as uid $NOTEBOOK_UID with \\
HUB_PKI_DIR set to a directory it owns."
"""

# The user's directory belongs to the notebook user, who can plant symlinks and hard links
# in it (and replace it by a link, if HUB_PKI_DIR is theirs too). So the body enters it
# with `cd -P`, checks that it is the real <pki_dir>/<user>, and from then on works only
# on names in "." (that inode, whatever happens to the path). As root it takes the
# directory for the time of the change (owner root, 0755: nobody else can add, remove or
# rename a name in it; the notebook can still read its files), creates every new file
# itself with mktemp (O_EXCL: never an existing name, never through a link), sets owner
# and mode on that fresh file, and renames it over the final name: a rename replaces
# the name itself, be it a symlink or a hard link, never what it points to.
_ENTER = """\
AS_ROOT=''
if [ "$(id -u)" -eq 0 ]; then AS_ROOT=1; fi

mkdir -p -- "$PKI_DIR" || fail "cannot create $PKI_DIR on $(hostname)"
parent=$(cd -P -- "$PKI_DIR" && pwd -P) || fail "cannot enter $PKI_DIR on $(hostname)"
want="${parent%/}/$USER_DIR"
if [ -L "$want" ]; then
    # A link where the user's directory belongs: remove the link (never its target).
    rm -f -- "$want" || fail "cannot remove the symlink $want"
    printf 'jupyterhub-zos: removed the symlink %s (not a directory of ours)\\n' "$want" >&2
fi
"""

_CHECK_HERE = """\
[ "$(pwd -P)" = "$want" ] || fail "$DIR is not a directory of its own (it resolves to \\
$(pwd -P)); refusing to write there"
if [ -n "$AS_ROOT" ]; then
    # Take the directory for the time of the change; give it back on the way out.
    chown 0 . || fail "cannot take $DIR for the change"
    chmod 0755 . || fail "cannot take $DIR for the change"
    locked=1
fi
"""


def _body(files: DeliveryFiles, purpose: str, text: str) -> str:
    q = shlex.quote
    return (
        _header(files, purpose)
        + f"PKI_DIR={q(files.pki_dir.rstrip('/') or '/')}\n"
        + f"USER_DIR={q(pki_dir_name(files.user))}\n\n"
        + _ENTER
        + text
    )


def delivery_body(files: DeliveryFiles) -> str:
    """The part of the delivery that runs as root (or as the notebook user): reads the
    framed PEMs on stdin, writes them into `<pki_dir>/<user>/`."""
    split = shlex.quote(_SPLIT_AWK)
    return _body(
        files,
        f"Write the Kernel Gateway client certificate of user {files.user}",
        f"""\
if [ ! -d "$want" ]; then
    mkdir -- "$want" || fail "cannot create $DIR on $(hostname)"
fi
cd -P -- "$want" || fail "cannot enter $DIR on $(hostname)"
new_key='' new_cert='' new_ca='' locked=''
done_() {{
    rm -f -- ${{new_key:+"$new_key"}} ${{new_cert:+"$new_cert"}} ${{new_ca:+"$new_ca"}}
    # The directory: only the notebook user may enter it.
    if [ -n "$locked" ]; then chown "$NOTEBOOK_UID" . && chmod 0700 .; fi
}}
# Whatever happens, no half-written file stays behind and the directory is given back.
trap done_ EXIT
{_CHECK_HERE}[ -n "$AS_ROOT" ] || chmod 0700 .

# Leftovers of earlier deliveries (names only: rm never follows a link).
rm -f -- "./.$KEY_FILE.new" "./.$CERT_FILE.new" "./.$CA_FILE.new"
# Fresh files, made here and now (umask 077: 0600), never an existing name.
new_key=$(mktemp "./.$KEY_FILE.XXXXXX") || fail "cannot create a file in $DIR"
new_cert=$(mktemp "./.$CERT_FILE.XXXXXX") || fail "cannot create a file in $DIR"
new_ca=$(mktemp "./.$CA_FILE.XXXXXX") || fail "cannot create a file in $DIR"

# The PEMs come on stdin only.
status=0
# shellcheck disable=SC2016 # the $ are awk's fields, not the shell's
awk -v key="$new_key" -v cert="$new_cert" -v ca="$new_ca" {split} || status=$?
[ "$status" -eq 0 ] || fail "the certificate data on stdin is malformed (awk exit $status)"
for new in "$new_key" "$new_cert" "$new_ca"; do
    grep -q -e '-----BEGIN ' "$new" || fail "no PEM data for ${{new##*/}}"
done

chown "$NOTEBOOK_UID" "$new_key" "$new_cert" "$new_ca"
chmod 0600 "$new_key"
chmod 0644 "$new_cert" "$new_ca"
# Rename within the directory: atomic, and seen at once through the notebook's mount.
mv -f -- "$new_cert" "./$CERT_FILE" && new_cert=
mv -f -- "$new_key" "./$KEY_FILE" && new_key=
mv -f -- "$new_ca" "./$CA_FILE" && new_ca=
printf 'jupyterhub-zos: wrote %s, %s, %s in %s\\n' "$KEY_FILE" "$CERT_FILE" "$CA_FILE" "$DIR"
""",
    )


def removal_body(files: DeliveryFiles) -> str:
    """The part of the removal that runs as root (or as the notebook user)."""
    return _body(
        files,
        f"Remove the Kernel Gateway client certificate of user {files.user}",
        f"""\
if [ ! -d "$want" ]; then
    printf 'jupyterhub-zos: no client certificate files in %s\\n' "$DIR"
    exit 0
fi
cd -P -- "$want" || fail "cannot enter $DIR on $(hostname)"
locked=''
trap 'if [ -n "$locked" ]; then chown "$NOTEBOOK_UID" . && chmod 0700 .; fi' EXIT
{_CHECK_HERE}
# rm removes names (a planted link goes, its target stays). Ours and our leftovers only.
rm -f -- "./$KEY_FILE" "./$CERT_FILE" "./$CA_FILE" "./.$KEY_FILE.new" "./.$CERT_FILE.new" \\
    "./.$CA_FILE.new"
for left in "./.$KEY_FILE".?????? "./.$CERT_FILE".?????? "./.$CA_FILE".??????; do
    if [ -f "$left" ] || [ -L "$left" ]; then rm -f -- "$left"; fi
done
# Give the directory back, then remove it unless someone put other files in it.
if [ -n "$locked" ]; then chown "$NOTEBOOK_UID" . && chmod 0700 . && locked=; fi
cd ..
rmdir -- "$USER_DIR" 2>/dev/null || true
printf 'jupyterhub-zos: removed the client certificate files of %s\\n' "$DIR"
""",
    )


def _outer(files: DeliveryFiles, purpose: str, body: str) -> str:
    return (
        _header(files, purpose, names=False)
        + "# What runs as root (or as the notebook user); its $ are its own.\n"
        + "# shellcheck disable=SC2016\n"
        + f"BODY={shlex.quote(body)}\n"
        + _PRIVILEGE
    )


def render_delivery_script(files: DeliveryFiles) -> str:
    """POSIX sh: read the framed PEMs on stdin, write them into `<pki_dir>/<user>/`
    (`delivery_body`, as root or the notebook user)."""
    purpose = f"Write the Kernel Gateway client certificate of user {files.user}"
    return _outer(files, purpose, delivery_body(files))


def render_removal_script(files: DeliveryFiles) -> str:
    """POSIX sh: remove the user's files (and the directory, if nothing else is in it)."""
    purpose = f"Remove the Kernel Gateway client certificate of user {files.user}"
    return _outer(files, purpose, removal_body(files))


def ssh_command(target: DeliveryTarget, script: str, ssh_opts: Sequence[str] = ()) -> str:
    """A local sh command that runs `script` on the target over the `ssh` binary, the
    way docker's own ssh:// transport does: same ~/.ssh/config, agent, known_hosts,
    and `docker:sshOpts`. BatchMode: fail instead of asking for a password."""
    if target.kind != "ssh":
        raise ValueError("ssh_command needs an ssh target")
    args = ["ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30"]
    if target.user:
        args += ["-l", target.user]
    if target.port:
        args += ["-p", str(target.port)]
    args += [*ssh_opts, "--", target.host]
    # ssh joins its remote arguments into one string for the login shell: quote once
    # for that shell (sh -c SCRIPT), once more as that single argument here.
    remote = f"sh -c {shlex.quote(script)} jupyterhub-zos"
    return "exec " + " ".join(shlex.quote(a) for a in [*args, remote])


def fed_by(producer: str, command: str) -> str:
    """A local sh command: `producer` (an sh script reading this command's stdin, e.g.
    the z/OS export's openssl split) prints the framed PEMs on this machine, then
    `command` (the delivery) reads them. A failing producer stops it before anything
    is written. The PEMs stay in the shell's memory: printf is a builtin, so they are
    never in a process's arguments."""
    q = shlex.quote
    return f"""\
#!/bin/sh
# Make the client certificate files here, then deliver them (rendered by jupyterhub-zos).
set -eu
frames=$(sh -c {q(producer)} jupyterhub-zos-producer)
printf '%s\\n' "$frames" | sh -c {q(command)} jupyterhub-zos-delivery
"""


def delivery_commands(
    files: DeliveryFiles,
    target: DeliveryTarget,
    ssh_opts: Sequence[str] = (),
    producer: str | None = None,
) -> Mapping[str, str]:
    """The `create` and `delete` command texts for pulumi-command's local.Command
    (which runs them with /bin/sh -c). With a `producer`, stdin is what the producer
    reads, and the create makes the framed PEMs from it first (fed_by)."""
    create, delete = render_delivery_script(files), render_removal_script(files)
    if target.kind == "ssh":
        create, delete = (
            ssh_command(target, create, ssh_opts),
            ssh_command(target, delete, ssh_opts),
        )
    if producer is not None:
        create = fed_by(producer, create)
    return {"create": create, "delete": delete}
