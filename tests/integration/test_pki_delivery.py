"""The delivery script, run for real the way pulumi-command runs it (/bin/sh -c TEXT,
PEMs on stdin): locally as root, as other users, and over a real sshd on loopback."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from components.delivery.script import (
    NOTEBOOK_UID,
    DeliveryFiles,
    DeliveryTarget,
    delivery_commands,
    frame_stdin,
)
from components.pki.specs import ca_spec, client_spec
from components.zos.export import render_split_script
from tests.support.certs import Issued, issue
from tests.tooling import free_port, missing, require_tool, wait_for_port
from tests.zos_double.cli import uuencode_m

# Starts containers on the Docker engine: with the e2e tests, on one xdist worker.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker-engine")]

NOBODY = 65534


@pytest.fixture(scope="module")
def certs() -> dict[str, Issued]:
    ca = issue(ca_spec("Kernel Gateway"))
    return {
        "ca": ca,
        "alice": issue(client_spec("alice"), ca),
        "new": issue(client_spec("alice"), ca),
    }


def stdin_for(certs, which: str = "alice") -> str:
    return frame_stdin(certs[which].key_pem, certs[which].cert_pem, certs["ca"].cert_pem)


P12_PASSWORD = "p12-Pw-4a1c"


def export_stdin(certs, which: str = "alice", password: str = P12_PASSWORD) -> str:
    """What a z/OS user's delivery reads: the PKCS#12 password, then the export step's
    output (the PKCS#12 of the user's key, certificate and CA, `uuencode -m`)."""
    p12 = certs[which].pkcs12([certs["ca"]], P12_PASSWORD)
    return f"{password}\nRC 0\n{uuencode_m(p12, 'p12')}"


def run(command: str, stdin: str = "", user: int | None = None, env=None):
    """Run as pulumi-command's local.Command does: /bin/sh -c COMMAND, stdin piped."""
    argv = ["/bin/sh", "-c", command]
    if user is not None:
        argv = [require_tool("setpriv"), f"--reuid={user}", f"--regid={user}", "--clear-groups"]
        argv += ["/bin/sh", "-c", command]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=60)


def files_for(pki_dir: Path, user: str = "alice") -> DeliveryFiles:
    return DeliveryFiles(str(pki_dir), user, "key.pem", "cert.pem", "cacert.pem")


def assert_delivered(directory: Path, certs, which: str = "alice") -> None:
    key, cert, ca = (directory / n for n in ("key.pem", "cert.pem", "cacert.pem"))
    assert key.read_text().strip() == certs[which].key_pem.strip()
    assert cert.read_text().strip() == certs[which].cert_pem.strip()
    assert ca.read_text().strip() == certs["ca"].cert_pem.strip()
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (directory, key, cert, ca)}
    assert modes == {"alice": 0o700, "key.pem": 0o600, "cert.pem": 0o644, "cacert.pem": 0o644}
    assert {p.stat().st_uid for p in (directory, key, cert, ca)} == {NOTEBOOK_UID}
    assert sorted(p.name for p in directory.iterdir()) == ["cacert.pem", "cert.pem", "key.pem"]


@pytest.fixture
def as_root():
    if os.geteuid() != 0:
        missing("writes files owned by uid 1000 as root (CI runs as root)")


@pytest.fixture
def open_tmp():
    """A temp dir other users can traverse (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="jhz-delivery-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_writes_rewrites_and_removes_as_root(as_root, tmp_path, certs):
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"))
    done = run(commands["create"], stdin_for(certs))
    assert done.returncode == 0, done.stderr
    user_dir = tmp_path / "pki" / "alice"
    assert_delivered(user_dir, certs)
    # Nothing secret on the outputs (they are secret outputs anyway).
    assert "PRIVATE KEY" not in done.stdout + done.stderr
    assert "CERTIFICATE" not in done.stdout + done.stderr

    # A renewed certificate: the same command with new stdin replaces the files in the
    # same directory (the one a running notebook has mounted).
    inode = user_dir.stat().st_ino
    again = run(commands["create"], stdin_for(certs, "new"))
    assert again.returncode == 0, again.stderr
    assert_delivered(user_dir, certs, "new")
    assert user_dir.stat().st_ino == inode

    gone = run(commands["delete"])
    assert gone.returncode == 0, gone.stderr
    assert not user_dir.exists()
    assert (tmp_path / "pki").is_dir()


def test_malformed_stdin_changes_nothing(as_root, tmp_path, certs):
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"))
    assert run(commands["create"], stdin_for(certs)).returncode == 0
    broken = [
        "",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n",  # no frame
        stdin_for(certs).replace("::jupyterhub-zos:: ca", "::jupyterhub-zos:: other"),
        stdin_for(certs).split("::jupyterhub-zos:: ca")[0],  # no CA part
    ]
    for text in broken:
        result = run(commands["create"], text)
        assert result.returncode != 0
        assert "jupyterhub-zos:" in result.stderr
        assert_delivered(tmp_path / "pki" / "alice", certs)  # old files intact, no leftovers


def test_a_pkcs12_export_is_split_here_then_delivered(as_root, tmp_path, certs):
    """z/OS users: the delivery splits the export with the seed's openssl steps on this
    machine, then writes the same files; a bad export writes nothing."""
    split = render_split_script()
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"), (), split)
    done = run(commands["create"], export_stdin(certs))
    assert done.returncode == 0, done.stderr
    assert_delivered(tmp_path / "pki" / "alice", certs)
    assert "PRIVATE KEY" not in done.stdout + done.stderr
    for bad in (export_stdin(certs, "new", password="wrong"), f"{P12_PASSWORD}\nIRRD107I\n"):
        result = run(commands["create"], bad)
        assert result.returncode != 0
        assert "jupyterhub-zos[split]: ERROR" in result.stderr
        assert_delivered(tmp_path / "pki" / "alice", certs)  # the old files, untouched
    renewed = run(commands["create"], export_stdin(certs, "new"))
    assert renewed.returncode == 0, renewed.stderr
    assert_delivered(tmp_path / "pki" / "alice", certs, "new")


def test_delete_leaves_other_files_and_tolerates_missing_ones(as_root, tmp_path, certs):
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"))
    assert run(commands["create"], stdin_for(certs)).returncode == 0
    other = tmp_path / "pki" / "alice" / "notes.txt"
    other.write_text("not ours")
    assert run(commands["delete"]).returncode == 0
    assert other.exists() and not (tmp_path / "pki" / "alice" / "key.pem").exists()
    assert run(commands["delete"]).returncode == 0  # again: nothing left to remove


def test_another_user_without_sudo_gets_a_clear_error(as_root, open_tmp, certs):
    tmp_path = open_tmp
    pki = tmp_path / "pki"
    commands = delivery_commands(files_for(pki), DeliveryTarget("local"))
    # A `sudo` that wants a password, as on a host without NOPASSWD for this user.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "sudo").write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
    (fake / "sudo").chmod(0o755)
    for path in ("/usr/bin:/bin", f"{fake}:/usr/bin:/bin"):
        result = run(commands["create"], stdin_for(certs), user=NOBODY, env={"PATH": path})
        assert result.returncode == 1
        assert "needs root" in result.stderr and "sudo -n" in result.stderr
        assert str(pki / "alice") in result.stderr
        assert not pki.exists()


def test_with_sudo_the_whole_body_runs_as_one_root_shell(as_root, open_tmp, certs):
    """A deploy user with passwordless sudo: one `sudo -n -- sh -c BODY`, stdin passed
    through. Stand-ins: an `id` that says uid 4242 to the outer script, and a `sudo` that
    logs its call and runs it (we are root already; the body sees the real `id`)."""
    fake = open_tmp / "bin"
    fake.mkdir()
    log = open_tmp / "sudo.log"
    (fake / "id").write_text('#!/bin/sh\n[ "$1" = -u ] && { echo 4242; exit 0; }\necho deploy\n')
    (fake / "sudo").write_text(
        "#!/bin/sh\n"
        f"printf '%s|' \"$@\" >> {log}; echo >> {log}\n"
        '[ "$1" = -n ] && shift\n[ "$1" = -- ] && shift\n'
        '[ "$1" = true ] && exit 0\n'
        'PATH=/usr/bin:/bin exec "$@"\n'
    )
    for tool in ("id", "sudo"):
        (fake / tool).chmod(0o755)
    commands = delivery_commands(files_for(open_tmp / "pki"), DeliveryTarget("local"))
    env = {"PATH": f"{fake}:/usr/bin:/bin"}
    done = run(commands["create"], stdin_for(certs), env=env)
    assert done.returncode == 0, done.stderr
    assert_delivered(open_tmp / "pki" / "alice", certs)
    # One line per call starts with its options (the body's own lines follow the second).
    calls = [line for line in log.read_text().splitlines() if line.startswith("-n|")]
    assert calls[0] == "-n|true|"
    assert len(calls) == 2 and calls[1].startswith("-n|--|sh|-c|#!/bin/sh")
    gone = run(commands["delete"], env=env)
    assert gone.returncode == 0, gone.stderr
    assert not (open_tmp / "pki" / "alice").exists()


def test_the_notebook_user_itself_needs_no_root(as_root, open_tmp, certs):
    pki = open_tmp / "pki"
    pki.mkdir()
    os.chown(pki, NOTEBOOK_UID, NOTEBOOK_UID)
    commands = delivery_commands(files_for(pki), DeliveryTarget("local"))
    result = run(
        commands["create"], stdin_for(certs), user=NOTEBOOK_UID, env={"PATH": "/usr/bin:/bin"}
    )
    assert result.returncode == 0, result.stderr
    assert_delivered(pki / "alice", certs)
    assert run(commands["delete"], user=NOTEBOOK_UID, env={"PATH": "/usr/bin:/bin"}).returncode == 0
    assert not (pki / "alice").exists()


# --- links planted by whoever has uid 1000 on the host --------------------------------
# The user's directory is uid 1000's: a notebook user (or anyone with that uid on the
# host) can put symlinks and hard links in it, or a link in its place. Run as root, the
# delivery must not write, chown or chmod through any of them.

NAMES = ("key.pem", "cert.pem", "cacert.pem")


def snapshot(path: Path) -> tuple:
    """What must not change about a root-owned file or directory."""
    st = path.lstat()
    body = sorted(p.name for p in path.iterdir()) if path.is_dir() else path.read_bytes()
    return body, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


@pytest.fixture
def victim(tmp_path) -> Path:
    """A root-owned file outside the user's directory, as /etc/shadow would be."""
    path = tmp_path / "root-only"
    path.write_text("root's secret\n")
    os.chown(path, 0, 0)
    path.chmod(0o640)
    return path


def user_dir_of_uid_1000(pki: Path) -> Path:
    """The directory as an earlier delivery left it: uid 1000's, 0700."""
    user_dir = pki / "alice"
    user_dir.mkdir(parents=True)
    os.chown(user_dir, NOTEBOOK_UID, NOTEBOOK_UID)
    user_dir.chmod(0o700)
    return user_dir


def plant_symlink(link: Path, target: Path) -> None:
    link.symlink_to(target)
    os.lchown(link, NOTEBOOK_UID, NOTEBOOK_UID)


@pytest.mark.parametrize("name", NAMES)
def test_a_planted_symlink_redirects_no_write_and_no_chown(as_root, tmp_path, certs, victim, name):
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"))
    user_dir = user_dir_of_uid_1000(tmp_path / "pki")
    before = snapshot(victim)
    # The final name, and the name a delivery used for its temporary file.
    plant_symlink(user_dir / name, victim)
    plant_symlink(user_dir / f".{name}.new", victim)
    done = run(commands["create"], stdin_for(certs))
    assert done.returncode == 0, done.stderr
    assert snapshot(victim) == before
    assert_delivered(user_dir, certs)
    assert not any(p.is_symlink() for p in user_dir.iterdir())


def test_a_planted_hard_link_is_replaced_not_written(as_root, tmp_path, certs, victim):
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"))
    user_dir = user_dir_of_uid_1000(tmp_path / "pki")
    before = snapshot(victim)
    for name in NAMES:
        os.link(victim, user_dir / name)
        os.link(victim, user_dir / f".{name}.new")
    done = run(commands["create"], stdin_for(certs))
    assert done.returncode == 0, done.stderr
    assert snapshot(victim) == before
    assert victim.stat().st_nlink == 1  # every planted name is gone
    assert_delivered(user_dir, certs)


def test_a_symlinked_user_directory_is_replaced_not_followed(as_root, tmp_path, certs, victim):
    pki = tmp_path / "pki"
    pki.mkdir()
    root_dir = tmp_path / "root-dir"
    root_dir.mkdir(mode=0o755)
    (root_dir / "key.pem").write_text("root's key\n")
    before_dir, before_key = snapshot(root_dir), snapshot(root_dir / "key.pem")
    plant_symlink(pki / "alice", root_dir)
    commands = delivery_commands(files_for(pki), DeliveryTarget("local"))
    done = run(commands["create"], stdin_for(certs))
    assert done.returncode == 0, done.stderr
    assert "removed the symlink" in done.stderr
    assert (snapshot(root_dir), snapshot(root_dir / "key.pem")) == (before_dir, before_key)
    assert not (pki / "alice").is_symlink()
    assert_delivered(pki / "alice", certs)

    # The removal, likewise: a link in the directory's place loses only the link.
    gone = run(commands["delete"])
    assert gone.returncode == 0, gone.stderr
    plant_symlink(pki / "alice", root_dir)
    gone = run(commands["delete"])
    assert gone.returncode == 0, gone.stderr
    assert (snapshot(root_dir), snapshot(root_dir / "key.pem")) == (before_dir, before_key)
    assert not (pki / "alice").exists() and not (pki / "alice").is_symlink()


def test_the_removal_follows_no_planted_link(as_root, tmp_path, certs, victim):
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"))
    assert run(commands["create"], stdin_for(certs)).returncode == 0
    user_dir = tmp_path / "pki" / "alice"
    before = snapshot(victim)
    (user_dir / "key.pem").unlink()
    plant_symlink(user_dir / "key.pem", victim)
    os.link(victim, user_dir / ".cert.pem.new")
    gone = run(commands["delete"])
    assert gone.returncode == 0, gone.stderr
    assert snapshot(victim) == before and victim.stat().st_nlink == 1
    assert not user_dir.exists()


def test_a_directory_kept_for_other_files_is_given_back(as_root, tmp_path, certs):
    """The removal takes the directory while it works; what stays is uid 1000's again."""
    commands = delivery_commands(files_for(tmp_path / "pki"), DeliveryTarget("local"))
    assert run(commands["create"], stdin_for(certs)).returncode == 0
    user_dir = tmp_path / "pki" / "alice"
    (user_dir / "notes.txt").write_text("not ours")
    assert run(commands["delete"]).returncode == 0
    st = user_dir.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (NOTEBOOK_UID, 0o700)
    assert sorted(p.name for p in user_dir.iterdir()) == ["notes.txt"]
    assert (tmp_path / "pki").stat().st_uid == 0  # the parent never changes hands


def test_planted_links_over_ssh_are_not_followed(sshd, tmp_path, certs, victim):
    target, ssh_opts = sshd
    commands = delivery_commands(files_for(tmp_path / "pki"), target, ssh_opts)
    user_dir = user_dir_of_uid_1000(tmp_path / "pki")
    before = snapshot(victim)
    for name in NAMES:
        plant_symlink(user_dir / f".{name}.new", victim)
    os.link(victim, user_dir / "key.pem")
    done = run(commands["create"], stdin_for(certs))
    assert done.returncode == 0, done.stderr
    assert snapshot(victim) == before and victim.stat().st_nlink == 1
    assert_delivered(user_dir, certs)


# The attacker: uid 1000, looping while the deliveries run, swaps every temporary file
# it can see for a symlink to the victim and plants the names a delivery used to use.
ATTACKER = r"""
while :; do
    for f in "$D"/.key.pem.* "$D"/.cert.pem.* "$D"/.cacert.pem.*; do
        case $f in *'*'|*.swap) continue ;; esac
        mv -f "$f" "$f.swap" 2>/dev/null && ln -s "$V" "$f" 2>/dev/null
    done
    for n in key.pem cert.pem cacert.pem; do ln -sf "$V" "$D/.$n.new" 2>/dev/null; done
done
"""


def test_a_racing_uid_1000_cannot_redirect_the_delivery(as_root, open_tmp, certs):
    pki = open_tmp / "pki"
    pki.mkdir(mode=0o755)
    user_dir = user_dir_of_uid_1000(pki)
    victim = open_tmp / "root-only"
    victim.write_text("root's secret\n")
    victim.chmod(0o644)
    before = snapshot(victim)
    commands = delivery_commands(files_for(pki), DeliveryTarget("local"))
    attacker = subprocess.Popen(
        [require_tool("setpriv"), f"--reuid={NOTEBOOK_UID}", f"--regid={NOTEBOOK_UID}",
         "--clear-groups", "/bin/sh", "-c", ATTACKER],
        env={"PATH": "/usr/bin:/bin", "D": str(user_dir), "V": str(victim)},
    )  # fmt: skip
    try:
        for _ in range(15):
            done = run(commands["create"], stdin_for(certs))
            assert done.returncode == 0, done.stderr
            assert snapshot(victim) == before
    finally:
        attacker.kill()
        attacker.wait(timeout=10)
    assert snapshot(victim) == before
    key, cert = user_dir / "key.pem", user_dir / "cert.pem"
    assert key.read_text().strip() == certs["alice"].key_pem.strip()
    assert cert.read_text().strip() == certs["alice"].cert_pem.strip()
    assert not key.is_symlink() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_uid == NOTEBOOK_UID


# --- over SSH, as with docker:host = ssh://root@127.0.0.1:PORT --------------------------


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real OpenSSH server on 127.0.0.1 that lets in one key as root."""
    if os.geteuid() != 0:
        missing("sshd on loopback runs as root here (CI runs as root)")
    sshd_bin = require_tool("sshd")
    keygen = require_tool("ssh-keygen")
    require_tool("ssh")
    root = tmp_path_factory.mktemp("sshd")
    root.chmod(0o700)
    for name in ("host", "client"):
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True
        )
    (root / "authorized_keys").write_text((root / "client.pub").read_text())
    port = free_port()
    host_pub = (root / "host.pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPidFile {root / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
    proc = subprocess.Popen(
        [sshd_bin, "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=(root / "sshd.log").open("w"),
    )
    try:
        wait_for_port(port, timeout=20)
        opts = [
            "-F", "/dev/null",
            "-i", str(root / "client"),
            "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={root / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes",
        ]  # fmt: skip
        yield DeliveryTarget("ssh", "127.0.0.1", "root", port), opts
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_delivers_and_removes_over_ssh(sshd, tmp_path, certs):
    target, ssh_opts = sshd
    commands = delivery_commands(files_for(tmp_path / "pki"), target, ssh_opts)
    assert "PRIVATE KEY" not in commands["create"]
    done = run(commands["create"], stdin_for(certs))
    assert done.returncode == 0, done.stderr
    assert "wrote key.pem, cert.pem, cacert.pem" in done.stdout
    assert_delivered(tmp_path / "pki" / "alice", certs)
    again = run(commands["create"], stdin_for(certs, "new"))
    assert again.returncode == 0, again.stderr
    assert_delivered(tmp_path / "pki" / "alice", certs, "new")
    assert run(commands["delete"]).returncode == 0
    assert not (tmp_path / "pki" / "alice").exists()


def test_a_pkcs12_export_is_split_here_and_delivered_over_ssh(sshd, tmp_path, certs):
    target, ssh_opts = sshd
    commands = delivery_commands(
        files_for(tmp_path / "pki"), target, ssh_opts, render_split_script()
    )
    done = run(commands["create"], export_stdin(certs))
    assert done.returncode == 0, done.stderr
    assert "wrote key.pem, cert.pem, cacert.pem" in done.stdout
    assert_delivered(tmp_path / "pki" / "alice", certs)


def test_ssh_refuses_an_unknown_host_key(sshd, tmp_path, certs):
    target, ssh_opts = sshd
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    opts = [
        o if not o.startswith("UserKnownHostsFile=") else f"UserKnownHostsFile={empty}"
        for o in ssh_opts
    ]
    commands = delivery_commands(files_for(tmp_path / "pki"), target, opts)
    result = run(commands["create"], stdin_for(certs))
    assert result.returncode != 0
    assert "Host key verification failed" in result.stderr
    assert not (tmp_path / "pki").exists()
