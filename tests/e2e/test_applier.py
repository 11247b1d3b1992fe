"""The local applier (a test harness standing in for the Pulumi engine and pulumi-docker /
pulumi-command): its input mapping as pure functions, then its mechanics on the Docker engine
with a tiny program (tests/e2e/applier_program; every object is named after the stack,
e2eapplier-<random>, unique per run).
"""

from __future__ import annotations

import contextlib
import io
import secrets
import tarfile
from pathlib import Path

import pytest

from tests.e2e import applier, docker_inputs
from tests.e2e.docker_inputs import Unsupported
from tests.tooling import missing

PROGRAM = Path(__file__).parent / "applier_program" / "__main__.py"
# Unique per run: other worktrees run these tests on the same engine at the same time.
STACK = f"e2eapplier-{secrets.token_hex(3)}"
TEST_IMAGE = "debian:bookworm-20251229-slim"


# --- pure mapping -------------------------------------------------------------------------


def test_container_inputs_map_to_the_docker_api():
    spec = docker_inputs.container_spec(
        "hub",
        {
            "name": "x-hub",
            "image": "sha256:abc",
            "envs": ["A=1"],
            "ports": [{"internal": 443.0, "external": 8443.0}],
            "networksAdvanced": [
                {"name": "net1", "aliases": ["hub"]},
                {"name": "net2", "aliases": ["other"]},
            ],
            "volumes": [
                {"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"},
                {"volumeName": "data", "containerPath": "/data", "readOnly": True},
            ],
            "healthcheck": {
                "tests": ["CMD", "true"],
                "interval": "1m30s",
                "timeout": "500ms",
                "startPeriod": "30s",
                "retries": 3.0,
            },
            "restart": "unless-stopped",
            "memory": 256.0,
            "cpus": "1.5",
            "capabilities": {"adds": ["NET_ADMIN"], "drops": ["ALL"]},
            "logDriver": "local",
            "logOpts": {"max-size": "10m"},
            "uploads": [{"file": "/a", "content": "x"}],
            "wait": True,
            "waitTimeout": 120.0,
            "destroyGraceSeconds": 60.0,
        },
        loopback_ports=True,
    )
    hc = spec.host_config
    assert hc["port_bindings"] == {"443/tcp": [("127.0.0.1", 8443)]}
    assert hc["binds"] == ["/var/run/docker.sock:/var/run/docker.sock:rw", "data:/data:ro"]
    assert hc["restart_policy"] == {"Name": "unless-stopped"}
    assert hc["mem_limit"] == 256 * 1024 * 1024
    assert hc["nano_cpus"] == 1_500_000_000
    assert (hc["cap_add"], hc["cap_drop"]) == (["NET_ADMIN"], ["ALL"])
    assert hc["log_config"] == {"Type": "local", "Config": {"max-size": "10m"}}
    assert hc["network_mode"] == "net1"
    assert spec.first_network == ("net1", ["hub"])
    assert spec.more_networks == [
        {"net_id": "net2", "aliases": ["other"], "ipv4_address": None, "ipv6_address": None}
    ]
    assert spec.create["healthcheck"] == {
        "test": ["CMD", "true"],
        "interval": 90 * 10**9,
        "timeout": 500 * 10**6,
        "start_period": 30 * 10**9,
        "retries": 3,
    }
    assert spec.create["environment"] == ["A=1"]
    assert (spec.wait, spec.wait_timeout, spec.stop_timeout) == (True, 120, 60)
    # Without the harness's loopback default, the provider's 0.0.0.0.
    wide = docker_inputs.container_spec(
        "hub", {"name": "x", "image": "i", "ports": [{"internal": 80}]}, loopback_ports=False
    )
    assert wide.host_config["port_bindings"] == {"80/tcp": [("0.0.0.0",)]}


def test_an_unsupported_input_names_type_resource_and_input():
    with pytest.raises(Unsupported) as err:
        docker_inputs.container_spec(
            "box", {"name": "x", "image": "i", "gpus": "all"}, loopback_ports=True
        )
    message = str(err.value)
    assert "docker:index/container:Container 'box'" in message
    assert "unsupported input gpus" in message
    with pytest.raises(Unsupported, match=r"uploads\[0\]\.sourceHashh"):
        docker_inputs.container_spec(
            "box",
            {
                "name": "x",
                "image": "i",
                "uploads": [{"file": "/a", "content": "", "sourceHashh": "x"}],
            },
            True,
        )
    with pytest.raises(Unsupported, match="healthcheck.startInterval"):
        docker_inputs.container_spec(
            "box",
            {
                "name": "x",
                "image": "i",
                "healthcheck": {"tests": ["CMD", "true"], "startInterval": "1s"},
            },
            True,
        )
    with pytest.raises(Unsupported, match="skipPush must be true"):
        docker_inputs.build_spec("img", {"imageName": "a:b", "build": {"context": "."}})
    with pytest.raises(Unsupported, match="archivePaths"):
        docker_inputs.check_command("c", {"create": "true", "archivePaths": ["x"]})


def test_uploads_are_tar_entries_at_absolute_paths_with_their_mode():
    uploads = [
        {
            "file": "/srv/tls/key.pem",
            "content": "KEY",
            "permissions": "0600",
            "owner": "1000",
            "group": "100",
        },
        {"file": "/usr/local/bin/run", "content": "#!/bin/sh\n", "executable": True},
        {"file": "/etc/plain", "contentBase64": "AAE="},
    ]
    with tarfile.open(fileobj=io.BytesIO(docker_inputs.upload_tar(uploads))) as tar:
        entries = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("etc/plain").read() == b"\x00\x01"
    assert sorted(entries) == ["etc/plain", "srv/tls/key.pem", "usr/local/bin/run"]
    key = entries["srv/tls/key.pem"]
    assert (key.mode, key.uid, key.gid) == (0o600, 1000, 100)
    assert entries["usr/local/bin/run"].mode == 0o744
    assert entries["etc/plain"].mode == 0o644


def test_go_durations():
    assert docker_inputs.duration_ns("30s") == 30 * 10**9
    assert docker_inputs.duration_ns("1h2m3s") == (3600 + 120 + 3) * 10**9
    with pytest.raises(ValueError, match="Go duration"):
        docker_inputs.duration_ns("30 seconds")


def test_ignore_changes_and_replace_on_changes():
    old = {"envs": ["A=1"], "build": {"args": {"X": "1"}, "context": "a"}}
    new = {"envs": ["A=2"], "build": {"args": {"X": "2"}, "context": "b"}}
    kept = applier.apply_ignore_changes(old, new, ["envs", "build.args"])
    assert kept == {"envs": ["A=1"], "build": {"args": {"X": "1"}, "context": "b"}}
    assert applier.changed_keys(old, kept) == ["build"]
    assert applier.matches_replace_on_changes(["triggers"], ["triggers[*]"])
    assert not applier.matches_replace_on_changes(["create"], ["triggers[*]"])


def _entry(name, deps=(), **options):
    return {
        "type": "random:index/randomId:RandomId",
        "name": name,
        "id": name,
        "inputs": {},
        "outputs": {},
        "dependencies": [f"urn:{d}" for d in deps],
        "options": options,
    }


def _offline_applier(tmp_path, entries, root=None):
    state = applier.State(tmp_path / "s.json", {f"urn:{e['name']}": e for e in entries})
    return applier.Applier(state, applier.fake_delegate(), root or tmp_path, log=lambda _: None)


def test_delete_order_is_reverse_dependency_order_and_retain_keeps(tmp_path):
    entries = [
        _entry("net"),
        _entry("vol", retainOnDelete=True),
        _entry("box", ["net", "vol"]),
        _entry("cmd"),
        _entry("late", ["cmd"]),
    ]
    app = _offline_applier(tmp_path, entries)
    applier.delete_in_reverse_order(app, dict(app.state.resources))
    order = [(c.action, c.name) for c in app.changes]
    assert order.index(("delete", "box")) < order.index(("delete", "net"))
    assert order.index(("delete", "box")) < order.index(("retain", "vol"))
    assert order.index(("delete", "late")) < order.index(("delete", "cmd"))
    assert app.state.resources == {}


def test_a_protected_resource_stops_the_delete_before_anything_goes(tmp_path):
    app = _offline_applier(tmp_path, [_entry("keep", protect=True), _entry("other")])
    with pytest.raises(applier.ApplyError, match="protected.*keep.*nothing was deleted"):
        applier.delete_in_reverse_order(app, dict(app.state.resources))
    assert set(app.state.resources) == {"urn:keep", "urn:other"}
    assert app.changes == []


@pytest.mark.parametrize(
    "config",
    [
        {"HUB_ALLOWED_USERS": ["bob.smith", "carol_x", "dave-y"]},
        {"DOCKER_NOTEBOOK_IMAGE": "quay.io/jupyter/base-notebook:2025-06-02"},
    ],
)
def test_every_input_of_the_dev_graph_is_supported(tmp_path, config):
    from tools.mock_graph import run_program

    graph = run_program("dev", config=config)
    app = _offline_applier(tmp_path, [], root=applier.ROOT)
    applier.preflight(app, graph.resources)  # raises Unsupported naming any it cannot apply
    types = {r.type for r in graph.resources if r.custom}
    assert types & set(applier.HANDLERS)


def test_a_zos_graph_is_refused_naming_the_remote_commands(tmp_path, zos_config):
    from tools.mock_graph import run_program

    config, secrets = zos_config
    graph = run_program("dev", config=config, secrets=secrets)
    with pytest.raises(Unsupported) as err:
        applier.preflight(_offline_applier(tmp_path, [], root=applier.ROOT), graph.resources)
    assert "command:remote:Command" in str(err.value)
    assert "has no provider for this type" in str(err.value)


@pytest.fixture(scope="module")
def applier_engine(base_images):
    """The engine as the applier reaches it (its low-level API client); base_images
    first: on a fresh engine the stand-ins are built here (this module runs before the
    ones that need them too)."""
    import docker

    try:
        client = docker.APIClient(base_url=applier.docker_base_url(), timeout=30)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
        missing(f"no Docker engine answers at {applier.docker_base_url()}: {exc}")
    try:
        client.inspect_image(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        missing(f"{TEST_IMAGE} is not on the engine (the stand-in base images build it)")
    return client


def _cleanup(client) -> None:
    import docker

    for c in client.containers(all=True, filters={"name": f"{STACK}-"}):
        client.remove_container(c["Id"], force=True)
    for n in client.networks(names=[f"{STACK}-net"]):
        client.remove_network(n["Id"])
    for image in client.images(name=f"{STACK}-img"):
        client.remove_image(image["Id"], force=True)
    for v in (f"{STACK}-data", f"{STACK}-scratch"):
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_volume(v, force=True)


@pytest.fixture
def stack(applier_engine, tmp_path):
    """Apply / destroy the test program in a fresh state dir; leave nothing behind."""
    _cleanup(applier_engine)
    state_dir = tmp_path / "state"
    base = {"OUT_DIR": str(tmp_path / "out")}

    class Stack:
        client = applier_engine
        out_dir = tmp_path / "out"

        def up(self, **config):
            return applier.up(
                STACK,
                config={**base, **config},
                program=PROGRAM,
                state_dir=state_dir,
                log=lambda _: None,
            )

        def down(self):
            return applier.down(STACK, root=PROGRAM.parent, state_dir=state_dir, log=lambda _: None)

        def container(self):
            return applier_engine.inspect_container(f"{STACK}-box")

    yield Stack()
    try:
        Stack().down()
    finally:
        _cleanup(applier_engine)


def _names(client) -> list[str]:
    containers = [c["Names"][0] for c in client.containers(all=True, filters={"name": STACK})]
    volumes = [v["Name"] for v in client.volumes(filters={"name": STACK})["Volumes"] or []]
    networks = [n["Name"] for n in client.networks(names=[f"{STACK}-net"])]
    return containers + volumes + networks


@pytest.mark.e2e
def test_unsupported_input_fails_the_run_before_anything_is_touched(stack):
    with pytest.raises(Unsupported) as err:
        stack.up(UNSUPPORTED=True)
    assert "docker:index/container:Container box: unsupported input gpus" in str(err.value)
    assert _names(stack.client) == []
    assert not stack.out_dir.exists()  # the command did not run either


@pytest.mark.e2e
def test_second_apply_of_an_unchanged_graph_changes_nothing(stack):
    first = stack.up()
    assert {c.action for c in first.changes} == {"create"}
    assert len(first.changes) == 7
    assert first.outputs["base_image_id"] == stack.client.inspect_image(TEST_IMAGE)["Id"]
    container_id = stack.container()["Id"]
    assert first.outputs["container_id"] == container_id
    second = stack.up()
    assert second.changes == []
    assert stack.container()["Id"] == container_id
    assert second.outputs["container_id"] == container_id


@pytest.mark.e2e
def test_changed_env_replaces_the_container(stack):
    import docker

    stack.up()
    old_id = stack.container()["Id"]
    result = stack.up(GREETING="bye")
    assert [(c.action, c.name) for c in result.changes] == [("replace", "box")]
    new = stack.container()
    assert new["Id"] != old_id
    assert "GREETING=bye" in new["Config"]["Env"]
    assert new["State"]["Health"]["Status"] == "healthy"  # wait=True waited for it
    with pytest.raises(docker.errors.NotFound):
        stack.client.inspect_container(old_id)


@pytest.mark.e2e
def test_a_changed_build_arg_rebuilds_the_image_and_replaces_its_container(stack):
    stack.up()
    old = stack.container()
    result = stack.up(STAMP="two")
    assert [(c.action, c.name) for c in result.changes] == [("update", "img"), ("replace", "box")]
    new = stack.container()
    assert new["Image"] != old["Image"]
    assert new["Config"]["Image"] == new["Image"]  # the container runs the repoDigest (image ID)
    assert stack.client.inspect_image(new["Image"])["Config"]["Labels"]["e2eapplier.stamp"] == "two"
    assert stack.client.inspect_image(f"{STACK}-img:{STACK}")["Id"] == new["Image"]


@pytest.mark.e2e
def test_a_changed_command_environment_updates_it_and_its_stdout_flows_on(stack):
    stack.up()
    result = stack.up(WHO="someone")
    assert [(c.action, c.name) for c in result.changes] == [
        ("update", "marker"),
        ("replace", "box"),  # its env holds the command's stdout
    ]
    assert result.outputs["marker_stdout"] == "made-by-someone"
    assert "CMD=made-by-someone" in stack.container()["Config"]["Env"]


@pytest.mark.e2e
def test_uploads_land_before_start_with_their_mode_and_outputs_feed_inputs(stack):
    stack.up()
    cid = stack.container()["Id"]
    run = stack.client.exec_create(
        cid,
        [
            "stat",
            "-c",
            "%n %a %u %g",
            "/etc/e2e/secret.txt",
            "/etc/e2e/plain.txt",
            "/usr/local/bin/probe",
        ],
    )
    stats = stack.client.exec_start(run["Id"]).decode().split("\n")
    assert stats[:3] == [
        "/etc/e2e/secret.txt 600 1000 100",
        "/etc/e2e/plain.txt 644 0 0",
        "/usr/local/bin/probe 744 0 0",
    ]
    env = stack.container()["Config"]["Env"]
    assert "CMD=made-by-command" in env  # the command's stdout, fed to the container
    assert (stack.out_dir / "marker").read_text() == "stdin-content\n"  # stdin reached it
    info = stack.container()
    assert info["HostConfig"]["CapDrop"] == ["NET_RAW"]
    assert info["HostConfig"]["Memory"] == 128 * 1024 * 1024
    assert info["NetworkSettings"]["Networks"][f"{STACK}-net"]["Aliases"][:1] == ["box"]


@pytest.mark.e2e
def test_down_removes_in_reverse_order_and_keeps_the_retained_volume(stack):
    stack.up()
    changes = stack.down()
    actions = {(c.action, c.name) for c in changes}
    assert actions == {
        ("delete", "base"),  # keepLocally: the image stays
        ("delete", "img"),  # pulumi-docker's Image delete leaves the local image
        ("delete", "box"),
        ("delete", "marker"),
        ("delete", "net"),
        ("delete", "scratch"),
        ("retain", "data"),
    }
    order = [c.name for c in changes]
    assert order.index("box") < min(order.index(n) for n in ("net", "scratch", "data", "marker"))
    assert _names(stack.client) == [f"{STACK}-data"]
    assert not (stack.out_dir / "marker").exists()  # the command's delete ran
    # A new up adopts the retained volume.
    again = stack.up()
    assert ("create", "data") in {(c.action, c.name) for c in again.changes}


@pytest.mark.e2e
def test_a_failure_halfway_reports_what_was_applied_and_down_removes_it(stack):
    with pytest.raises(applier.ApplyError) as err:
        stack.up(IMAGE="e2eapplier-missing:none")
    assert "docker:index/container:Container box" in str(err.value)
    assert "e2eapplier-missing:none" in str(err.value)
    done = {(c.action, c.name) for c in err.value.changes}
    required = {("create", n) for n in ("net", "data", "scratch", "marker")}
    # The images come alongside (the box waits for neither): done, or never started.
    assert required <= done <= required | {("create", "img"), ("create", "base")}
    stack.down()
    assert _names(stack.client) == [f"{STACK}-data"]


def test_deploy_cli_parses_values_like_the_cli_and_downs_an_empty_stack(tmp_path, capsys):
    from tests.e2e import deploy

    assert deploy.parse_value('["bob.smith", "carol"]') == ["bob.smith", "carol"]
    assert deploy.parse_value("8443") == "8443"  # the CLI hands scalars over as strings
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        deploy.main(["up", "--stack", "x", "--set", "NOEQUALS"])
    assert deploy.main(["down", "--stack", "e2eapplier-empty", "--state-dir", str(tmp_path)]) == 0
    assert "no changes" in capsys.readouterr().out
    assert deploy.main(["up", "--stack", "dev", "--secret", "E2E_APPLIER_UNSET_VAR"]) == 2
    assert "set the environment variable" in capsys.readouterr().err


def test_deploy_cli_refuses_bad_config_before_touching_anything(tmp_path, capsys):
    from tests.e2e import deploy

    code = deploy.main(
        ["up", "--stack", "dev", "--set", "HUB_HTTPS_PORT=notaport", "--state-dir", str(tmp_path)]
    )
    assert code == 2
    assert "HUB_HTTPS_PORT" in capsys.readouterr().err
    assert not (tmp_path / "dev.json").exists()
