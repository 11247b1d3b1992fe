"""tools/status.py's pure parts: certificates' dates, what is unhealthy and what only a
warning, the text an operator reads, the exit status."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from components.pki.specs import ca_spec, client_spec
from tests.support.certs import issue
from tools import status

NOW = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)


def cert(days: float, kind: str = "server", name: str = "hub (served)", **extra) -> dict:
    not_after = NOW + dt.timedelta(days=days)
    return {
        "name": name,
        "kind": kind,
        "subject": "CN=localhost",
        "issuer": "CN=ca",
        "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": days,
        **extra,
    }


HEALTHY = {
    "stack": "dev",
    "time": "2026-12-02T04:00:00Z",
    "docker_host": None,
    "hub": {
        "container": {
            "name": "jupyterhub",
            "exists": True,
            "status": "running",
            "health": "healthy",
        },
        "url": "https://localhost:8443/",
        "health": 200,
        "version": "5.3.0",
        "error": None,
    },
    "users": ["admin", "alice", "bob.smith"],
    "servers": [
        {
            "user": "alice",
            "server": "",
            "ready": True,
            "pending": None,
            "started": "x",
            "last_activity": "y",
        }
    ],
    "servers_error": None,
    "gateway": {
        "url": "https://jupyterhub-gateway:8888",
        "tcp": True,
        "tls": True,
        "verified": True,
    },
    "containers": [
        {"name": "jupyterhub-gateway", "exists": True, "status": "running", "health": "healthy"}
    ],
    "certificates": [
        cert(364),
        cert(3650, "ca", "hub_ca_cert (output)"),
        cert(0.8, "client-hub", "client alice", user="alice", running=True),
        cert(-3, "client-hub", "client bob.smith", user="bob.smith", running=False),
        {
            "name": "client admin",
            "kind": "client-hub",
            "user": "admin",
            "running": False,
            "missing": True,
        },
    ],
    "data_volume": {"name": "jupyterhub-data", "exists": True, "size": 143360},
}


def changed(**paths) -> dict:
    report = copy.deepcopy(HEALTHY)
    for path, value in paths.items():
        *parents, key = path.split("__")
        target = report
        for part in parents:
            target = target[part]
        target[key] = value
    return report


def test_parse_cert_reads_subject_and_days_left():
    ca = issue(ca_spec("x"))
    mine = issue(client_spec("alice", hours=48), ca)
    got = status.parse_cert(mine.cert_pem, dt.datetime.now(dt.UTC))
    assert "CN=alice" in got["subject"].split(",") and "x CA" in got["issuer"]
    assert 1.9 < got["days_left"] <= 2.0
    assert got["not_after"].endswith("Z")


def test_a_healthy_stack_has_no_problem_and_an_old_stopped_users_certificate_is_fine():
    # bob's hub-issued certificate expired while his server was stopped: it is issued
    # afresh at his next spawn. admin never spawned: none.
    assert status.problems(HEALTHY) == ([], [])
    text = status.render_text(HEALTHY)
    assert text.startswith("stack dev: healthy (2026-12-02T04:00:00Z)\n")
    assert "JupyterHub 5.3.0, /hub/health 200, container running (healthy)" in text
    assert "servers   1 running of 3 users: alice" in text
    assert "reachable from the notebooks' network (TLS, certificate verified)" in text
    assert "volume jupyterhub-data: 140.0 KB" in text
    assert "client admin" in text and "none" in text
    assert "UNHEALTHY" not in text and "warning" not in text


@pytest.mark.parametrize(
    ("report", "problem"),
    [
        (changed(hub__container__status="exited"), "hub container jupyterhub: exited"),
        (changed(hub__container__health="unhealthy"), "hub container jupyterhub: unhealthy"),
        (changed(hub__health=503), "hub/health: HTTP 503"),
        (changed(hub__error="SSL: CERTIFICATE_VERIFY_FAILED"), "CERTIFICATE_VERIFY_FAILED"),
        (changed(servers_error="GET /hub/api/users: HTTP 403"), "HTTP 403"),
        (
            changed(gateway__tcp=False, gateway__error="refused"),
            "not reachable from the notebooks' network (refused)",
        ),
        (changed(gateway__tls=False), "gateway https://jupyterhub-gateway:8888"),
        (changed(data_volume__exists=False), "data volume jupyterhub-data: missing"),
        (
            changed(
                containers=[
                    {
                        "name": "jupyterhub-gateway",
                        "exists": True,
                        "status": "exited",
                        "health": None,
                    }
                ]
            ),
            "container jupyterhub-gateway: exited",
        ),
        (changed(certificates=[cert(-1)]), "certificate hub (served): expired"),
        (
            changed(certificates=[cert(-0.1, "client-hub", "client alice", running=True)]),
            "certificate client alice: expired",
        ),
        (
            changed(certificates=[cert(-5, "client-delivered", "client carol", running=False)]),
            "certificate client carol: expired",
        ),
        (
            changed(
                certificates=[{"name": "client carol", "kind": "client-delivered", "missing": True}]
            ),
            "certificate client carol: missing",
        ),
    ],
)
def test_each_unhealthy_part_is_named_and_fails_the_exit_status(report, problem):
    bad, _ = status.problems(report)
    assert any(problem in p for p in bad), bad
    assert status.render_text(report).startswith("stack dev: UNHEALTHY")


def test_close_expiries_and_a_stack_without_status_token_only_warn():
    report = changed(
        certificates=[
            cert(10),
            cert(20, "client-delivered", "client carol"),
            cert(0.2, "client-hub", "client alice", running=True),
        ],
        servers=None,
        users=None,
        servers_error="no status_token output (deployed before it: make up adds it)",
    )
    bad, warn = status.problems(report, warn_days=30)
    assert bad == []
    assert len(warn) == 3, warn  # hub-issued client certificates live hours: no warning
    assert status.problems(report, warn_days=5)[1] == [warn[0]]
    text = status.render_text(report)
    assert "servers   unknown: no status_token output" in text
    assert "warning: certificate hub (served): expires" in text


def test_main_exit_status_and_json(monkeypatch, capsys, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"hub_url": "https://localhost:8443/"}))
    monkeypatch.setattr(status, "gather", lambda stack, ca_file=None: copy.deepcopy(HEALTHY))
    assert status.main(["--outputs", str(outputs), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["healthy"] is True and got["problems"] == [] and got["servers"][0]["user"] == "alice"
    monkeypatch.setattr(status, "gather", lambda stack, ca_file=None: changed(hub__health=500))
    assert status.main(["--outputs", str(outputs)]) == 1
    assert "UNHEALTHY: hub https://localhost:8443/hub/health: HTTP 500" in capsys.readouterr().out
    outputs.write_text("{}")
    assert status.main(["--outputs", str(outputs)]) == 2


class FakeContainer:
    """What client_certs uses of a docker-py container: Mounts, image, get_archive."""

    def __init__(self, mounts, files: dict[str, bytes]):
        self.attrs = {"Mounts": mounts}
        self.image = type("Image", (), {"id": "sha256:hub"})()
        self.files, self.asked, self.removed = files, [], False

    def get_archive(self, path):
        import io
        import tarfile

        import docker

        self.asked.append(path)
        if path not in self.files:
            raise docker.errors.NotFound(path)
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            info = tarfile.TarInfo(path.rsplit("/", 1)[1])
            info.size = len(self.files[path])
            tar.addfile(info, io.BytesIO(self.files[path]))
        return iter([out.getvalue()]), {}

    def remove(self, force=False):
        self.removed = True


class FakeClient:
    def __init__(self, helper):
        self.helper, self.created = helper, []
        self.containers = self

    def create(self, image, **kwargs):
        self.created.append((image, kwargs))
        return self.helper


def test_client_certificates_are_read_through_the_hubs_mount_certificate_files_only():
    hub = FakeContainer(
        [{"Destination": status.HUB_PKI_MOUNT, "Source": "/srv/pki"}],
        {f"{status.HUB_PKI_MOUNT}/alice/mine.pem": b"PEM alice"},
    )
    client = FakeClient(None)
    got = status.client_certs(client, hub, {"CLIENT_CERT": "mine.pem"}, ["alice", "bob", "../x"])
    assert got == {"alice": "PEM alice", "bob": None}  # "../x" names no directory
    assert hub.asked == [
        f"{status.HUB_PKI_MOUNT}/alice/mine.pem",
        f"{status.HUB_PKI_MOUNT}/bob/mine.pem",
    ]
    assert client.created == []


def test_delivered_certificates_are_read_by_a_helper_with_the_directory_read_only():
    helper = FakeContainer([], {f"{status.PKI_HELPER_MOUNT}/carol/cert.pem": b"PEM carol"})
    client = FakeClient(helper)
    hub = FakeContainer([], {})
    got = status.client_certs(client, hub, {"JUPYTERPKI_HOST_DIR": "/srv/pki"}, ["carol"])
    assert got == {"carol": "PEM carol"}
    ((image, kwargs),) = client.created
    assert image == "sha256:hub"
    assert kwargs["volumes"] == {"/srv/pki": {"bind": status.PKI_HELPER_MOUNT, "mode": "ro"}}
    assert kwargs["network_mode"] == "none" and kwargs["cap_drop"] == ["ALL"]
    assert kwargs["labels"] == {"jupyterhub-zos.helper": "status"}
    assert helper.removed
