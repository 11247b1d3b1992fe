"""The local applier (a test harness standing in for the Pulumi engine and pulumi-docker /
pulumi-command): its input mapping as pure functions, then its mechanics on the Docker engine
with a tiny program (tests/e2e/applier_program, every object named after stack e2eapplier).
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from pathlib import Path

import pytest

from tests.e2e import applier, docker_inputs, stand_in_tls_random
from tests.e2e.docker_inputs import Unsupported
from tests.tooling import missing

PROGRAM = Path(__file__).parent / "applier_program" / "__main__.py"
STACK = "e2eapplier"
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


def test_stand_in_pki_is_real_and_chains():
    from cryptography import x509

    class Args:
        def __init__(self, typ, inputs):
            self.typ, self.name, self.inputs = typ, "t", inputs

    def make(typ, **inputs):
        return stand_in_tls_random.new_resource(Args(typ, inputs))[1]

    ca_key = make("tls:index/privateKey:PrivateKey", algorithm="ECDSA", ecdsaCurve="P256")
    ca = make(
        "tls:index/selfSignedCert:SelfSignedCert",
        privateKeyPem=ca_key["privateKeyPem"],
        subject={"commonName": "ca"},
        isCaCertificate=True,
        validityPeriodHours=24.0,
        allowedUses=["cert_signing"],
    )
    key = make("tls:index/privateKey:PrivateKey", algorithm="RSA", rsaBits=2048.0)
    csr = make(
        "tls:index/certRequest:CertRequest",
        privateKeyPem=key["privateKeyPem"],
        subject={"commonName": "srv"},
        dnsNames=["srv"],
        ipAddresses=["127.0.0.1"],
    )
    cert = make(
        "tls:index/locallySignedCert:LocallySignedCert",
        certRequestPem=csr["certRequestPem"],
        caPrivateKeyPem=ca_key["privateKeyPem"],
        caCertPem=ca["certPem"],
        validityPeriodHours=24.0,
        allowedUses=["digital_signature", "server_auth"],
    )
    leaf = x509.load_pem_x509_certificate(cert["certPem"].encode())
    root = x509.load_pem_x509_certificate(ca["certPem"].encode())
    leaf.verify_directly_issued_by(root)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["srv"]
    password = make("random:index/randomPassword:RandomPassword", length=48.0, special=False)
    assert len(password["result"]) == 48 and password["result"].isalnum()
    other = make("random:index/randomPassword:RandomPassword", length=48.0, special=False)
    assert other["result"] != password["result"]


# --- on the engine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine():
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
    for v in (f"{STACK}-data", f"{STACK}-scratch"):
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_volume(v, force=True)


@pytest.fixture
def stack(engine, tmp_path):
    """Apply / destroy the test program in a fresh state dir; leave nothing behind."""
    _cleanup(engine)
    state_dir = tmp_path / "state"
    base = {"OUT_DIR": str(tmp_path / "out")}

    class Stack:
        client = engine
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
            return engine.inspect_container(f"{STACK}-box")

    yield Stack()
    try:
        Stack().down()
    finally:
        _cleanup(engine)


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
    assert len(first.changes) == 5
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
