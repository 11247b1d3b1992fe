"""The delivery script renderer: targets, quoting, and shellcheck on every variant."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from components.delivery.script import (
    FRAME,
    DeliveryFiles,
    DeliveryTarget,
    delivery_body,
    delivery_commands,
    delivery_target,
    fed_by,
    frame_stdin,
    parse_frames,
    removal_body,
    render_delivery_script,
    render_removal_script,
    ssh_command,
    ssh_options,
)
from tests.tooling import require_tool

FILES = DeliveryFiles("/var/lib/jupyterhub-zos/dev/pki", "alice", "key.pem", "cert.pem", "ca.pem")


@pytest.mark.parametrize(
    ("docker_host", "expected"),
    [
        (None, DeliveryTarget("local")),
        ("unix:///var/run/docker.sock", DeliveryTarget("local")),
        ("ssh://admin@docker.example.org", DeliveryTarget("ssh", "docker.example.org", "admin")),
        ("ssh://docker.example.org:2222", DeliveryTarget("ssh", "docker.example.org", None, 2222)),
    ],
)
def test_delivery_target(docker_host, expected):
    assert delivery_target(docker_host) == expected


@pytest.mark.parametrize("docker_host", ["tcp://docker.example.org:2376", "npipe:////./pipe/x"])
def test_delivery_target_refuses_hosts_whose_files_it_cannot_reach(docker_host):
    with pytest.raises(ValueError, match=r"cannot be used.*unix://.*ssh://"):
        delivery_target(docker_host)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ()), ("", ()), ('["-o", "Port=2222"]', ("-o", "Port=2222")), (["-4"], ("-4",))],
)
def test_ssh_options(value, expected):
    assert ssh_options(value) == expected


@pytest.mark.parametrize("value", ["-o Port=2222", '{"a": 1}', "[1, 2]"])
def test_ssh_options_must_be_a_list_of_strings(value):
    with pytest.raises(ValueError, match="docker:sshOpts must be a list of strings"):
        ssh_options(value)


def test_frame_stdin_puts_each_pem_after_its_header():
    framed = frame_stdin("KEY\n", "CERT", "CA1\nCA2\n")
    assert framed == f"{FRAME} key\nKEY\n{FRAME} cert\nCERT\n{FRAME} ca\nCA1\nCA2\n"


def test_script_holds_the_paths_and_names_quoted():
    script = render_delivery_script(
        DeliveryFiles("/srv/pki.d", "o.brien-x", "k.pem", "c.pem", "a.pem")
    )
    assert "DIR=/srv/pki.d/o.brien-x\n" in script
    assert "KEY_FILE=k.pem\n" in script
    assert "NOTEBOOK_UID=1000\n" in script
    assert "BEGIN PRIVATE KEY" not in script


def test_ssh_command_runs_the_script_remotely_with_batch_mode():
    target = DeliveryTarget("ssh", "docker.example.org", "admin", 2222)
    script = render_delivery_script(FILES)
    command = ssh_command(target, script, ["-o", "StrictHostKeyChecking=yes"])
    argv = shlex.split(command)
    assert argv[:2] == ["exec", "ssh"]
    assert "BatchMode=yes" in argv
    assert argv[argv.index("-l") + 1] == "admin" and argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("--") + 1] == "docker.example.org"
    assert argv.index("StrictHostKeyChecking=yes") < argv.index("--")
    # What the remote login shell gets is one string that it splits into sh -c SCRIPT.
    remote = shlex.split(argv[-1])
    assert remote == ["sh", "-c", script, "jupyterhub-zos"]


def test_local_commands_are_the_scripts_themselves():
    commands = delivery_commands(FILES, DeliveryTarget("local"))
    assert commands["create"].startswith("#!/bin/sh\n")
    assert "rm -f --" in commands["delete"] and "awk" not in commands["delete"]


@pytest.mark.parametrize(
    "target",
    [DeliveryTarget("local"), DeliveryTarget("ssh", "docker.example.org", "admin", 22)],
    ids=["local", "ssh"],
)
@pytest.mark.parametrize("which", ["create", "delete"])
def test_shellcheck_passes(tmp_path, target, which):
    shellcheck = require_tool("shellcheck")
    commands = delivery_commands(FILES, target, ["-o", "ServerAliveInterval=10"])
    path = tmp_path / f"{which}.sh"
    text = commands[which]
    # pulumi-command runs the text with /bin/sh -c; check it as such.
    path.write_text(text if text.startswith("#!") else "#!/bin/sh\n" + text + "\n")
    result = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=style", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
    if target.kind == "ssh":
        inner = tmp_path / f"{which}-remote.sh"
        inner.write_text(shlex.split(shlex.split(text)[-1])[2])
        result = subprocess.run(
            [shellcheck, "--shell=sh", "--severity=style", str(inner)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("body", [delivery_body, removal_body], ids=["create", "delete"])
def test_the_body_run_as_root_passes_shellcheck_and_is_what_the_script_runs(tmp_path, body):
    text = body(FILES)
    path = tmp_path / "body.sh"
    path.write_text(text)
    result = subprocess.run(
        [require_tool("shellcheck"), "--shell=sh", "--severity=style", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
    script = (render_delivery_script if body is delivery_body else render_removal_script)(FILES)
    assert f"BODY={shlex.quote(text)}\n" in script
    # One shell does the work: never a `sudo` per command, never a path into the directory
    # once inside it (only names in "."), every new file made by mktemp.
    assert script.count("sudo -n -- ") == 1
    after_cd = text.split('cd -P -- "$want"', 1)[1]
    assert '"$DIR/' not in after_cd and '"$want/' not in after_cd


@pytest.mark.parametrize(
    "target",
    [DeliveryTarget("local"), DeliveryTarget("ssh", "docker.example.org", "admin", 22)],
    ids=["local", "ssh"],
)
def test_a_producer_feeds_the_create_and_leaves_the_delete_alone(tmp_path, target):
    plain = delivery_commands(FILES, target)
    fed = delivery_commands(FILES, target, producer="printf 'made\\n'")
    assert fed["delete"] == plain["delete"]
    assert fed["create"] == fed_by("printf 'made\\n'", plain["create"])
    path = tmp_path / "create.sh"
    path.write_text(fed["create"])
    result = subprocess.run(
        [require_tool("shellcheck"), "--shell=sh", "--severity=style", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_fed_by_runs_the_producer_on_stdin_then_the_command_on_its_output():
    fed = fed_by("tr a-z A-Z", "sed 's/^/got: /'")
    done = subprocess.run(["/bin/sh", "-c", fed], input="pem\n", capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "got: PEM\n")
    # A failing producer stops it: the command never runs.
    fed = fed_by("echo partial; exit 3", "cat; touch ran")
    done = subprocess.run(["/bin/sh", "-c", fed], input="", capture_output=True, text=True)
    assert done.returncode == 3 and done.stdout == ""


def test_parse_frames_reads_what_frame_stdin_wrote():
    text = frame_stdin("K\n", "C\n", "A1\nA2\n")
    assert parse_frames(text) == {"key": "K\n", "cert": "C\n", "ca": "A1\nA2\n"}
    with pytest.raises(ValueError, match="before the first part header"):
        parse_frames("stray\n" + text)
    with pytest.raises(ValueError, match="unknown part"):
        parse_frames(text.replace(" ca\n", " other\n"))
