"""The hub's client certificate issuer (images/hub/jhz_client_certs.py): what it issues
matches the program's client spec and chains to the client CA, the files land 0600 in
that user's own directory (the one the spawner mounts), planted links redirect nothing,
renewal happens at half the validity, and the shipped config installs it."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import importlib
import os
import stat
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from dockerspawner import DockerSpawner
from tornado import web
from traitlets.utils.importstring import import_item

from components.delivery.script import NOTEBOOK_UID
from components.docker import names
from components.gateway.pki import CLIENT_CA_PURPOSE, GATEWAY_CA_PURPOSE
from components.pki.specs import ORGANIZATION, ca_spec, client_spec
from components.settings import StackConfig
from tests.hubconfig import HUB_CONFIG, configured_spawner, load_hub_config
from tests.support.certs import Issued, issue
from tests.support.notebook import hub_env

sys.path.insert(0, str(HUB_CONFIG.parent))
certs = importlib.import_module("jhz_client_certs")

# Root can give files to uid 1000 as the hub does; anyone else gives them to themselves.
UID = NOTEBOOK_UID if os.geteuid() == 0 else os.geteuid()
NAMES = ["alice", "bob.smith", "carol_x", "dave-y", "a-2eb", "a.b", "Eve", "x@example.org"]


@pytest.fixture(scope="module")
def cas(tmp_path_factory):
    root = tmp_path_factory.mktemp("cas")
    client_ca, gateway_ca = issue(ca_spec(CLIENT_CA_PURPOSE)), issue(ca_spec(GATEWAY_CA_PURPOSE))
    client_ca.write(root, "client-ca")
    gateway_ca.write(root, "gateway-ca")
    return SimpleNamespace(root=root, client=client_ca, gateway=gateway_ca)


def issuer_env(cas, pki_dir: Path, **extra: str) -> dict[str, str]:
    values = {
        "KG_URL": "https://gw:8888",
        "KG_AUTH_TOKEN": "t" * 20,
        "JUPYTERPKI_CA_KEY": str(cas.root / "client-ca.key"),
        "JUPYTERPKI_CA_CERT": str(cas.root / "client-ca.crt"),
        "JUPYTERPKI_GATEWAY_CA": str(cas.root / "gateway-ca.crt"),
        "JUPYTERPKI_HUB_DIR": str(pki_dir),
        "JUPYTERPKI_CERT_HOURS": "12",
    }
    return hub_env(**{**values, **extra})


def make_issuer(cas, pki_dir: Path, hours: int = 24):
    pki_dir.mkdir(exist_ok=True)
    return certs.ClientCertIssuer(
        ca_key_file=str(cas.root / "client-ca.key"),
        ca_cert_file=str(cas.root / "client-ca.crt"),
        gateway_ca_file=str(cas.root / "gateway-ca.crt"),
        pki_dir=str(pki_dir),
        key_name="key.pem",
        cert_name="cert.pem",
        ca_name="cacert.pem",
        hours=hours,
        uid=UID,
    )


def spawner(user: str):
    return SimpleNamespace(
        user=SimpleNamespace(name=user), name="", log=SimpleNamespace(info=print, error=print)
    )


def verify_chain(cert: x509.Certificate, ca: Issued) -> None:
    """Raises unless `cert` is signed by `ca` and valid now for client auth."""
    cert.verify_directly_issued_by(ca.cert)
    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc


# --- what is issued -------------------------------------------------------------------------


@pytest.mark.parametrize("user", NAMES)
def test_the_certificate_has_the_user_as_cn_chains_to_the_client_ca_and_follows_the_spec(cas, user):
    issued = certs.issue(user, cas.client.key, cas.client.cert, 24)
    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    verify_chain(cert, cas.client)
    with pytest.raises(Exception):  # noqa: B017, PT011 - not the gateway's CA
        cert.verify_directly_issued_by(cas.gateway.cert)
    spec = client_spec(user)
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [user]
    org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [a.value for a in org] == [spec.organization] == [ORGANIZATION]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_agreement and not usage.key_cert_sign
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert set(spec.allowed_uses) == {"digital_signature", "key_agreement", "client_auth"}
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1" and spec.ecdsa_curve == "P256"
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == dt.timedelta(hours=24) + certs.CLOCK_SKEW


def test_every_issue_makes_a_fresh_key(cas):
    one = certs.issue("alice", cas.client.key, cas.client.cert, 1)
    two = certs.issue("alice", cas.client.key, cas.client.cert, 1)
    assert one.key_pem != two.key_pem and one.cert_pem != two.cert_pem


def test_constants_agree_with_the_program():
    assert certs.NOTEBOOK_UID == NOTEBOOK_UID
    assert certs.ORGANIZATION == ORGANIZATION
    assert client_spec("x").validity_hours == certs.DEFAULT_HOURS
    assert StackConfig.model_fields["CLIENT_CERT_HOURS"].default == certs.DEFAULT_HOURS


# --- where it goes ----------------------------------------------------------------------------


@pytest.mark.parametrize("user", NAMES)
def test_the_directory_is_the_one_the_names_helper_derives_and_the_spawner_mounts(cas, user):
    assert certs.user_dir_name(user) == names.pki_dir_name(user) == user
    c = load_hub_config(hub_env(KG_URL="https://gw:8888", KG_AUTH_TOKEN="t" * 20))
    # Each of the user's servers, named or not, mounts that one directory.
    for server in ("", "lab", user):
        s = configured_spawner(c, user, server)
        mounted = [h for h, b in s.volume_binds.items() if b["bind"] == "/etc/jupyterpki"]
        assert mounted == [f"/var/lib/jupyterhub-zos/dev/pki/{names.pki_dir_name(user)}"]


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "../alice", "a\0b"])
def test_a_name_that_is_not_one_path_component_is_refused(bad):
    with pytest.raises(ValueError, match="cannot name a certificate directory"):
        certs.user_dir_name(bad)
    with pytest.raises(ValueError, match="cannot name a certificate directory"):
        names.pki_dir_name(bad)


def test_files_are_written_for_that_user_only_with_the_deliverys_modes(cas, tmp_path):
    issuer = make_issuer(cas, tmp_path / "pki")
    issuer(spawner("carol"))
    d = tmp_path / "pki" / "carol"
    assert sorted(p.name for p in d.iterdir()) == ["cacert.pem", "cert.pem", "key.pem"]
    assert [p.name for p in (tmp_path / "pki").iterdir()] == ["carol"]
    st = d.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o700, UID)
    modes = {p.name: (stat.S_IMODE(p.stat().st_mode), p.stat().st_uid) for p in d.iterdir()}
    assert modes == {"key.pem": (0o600, UID), "cert.pem": (0o644, UID), "cacert.pem": (0o644, UID)}
    cert = x509.load_pem_x509_certificate((d / "cert.pem").read_bytes())
    verify_chain(cert, cas.client)
    assert (d / "cacert.pem").read_text() == cas.gateway.cert_pem
    private = serialization.load_pem_private_key((d / "key.pem").read_bytes(), None)
    assert private.public_key().public_numbers() == cert.public_key().public_numbers()


def test_a_symlink_planted_for_the_directory_or_a_file_redirects_nothing(cas, tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (pki / "dave").symlink_to(elsewhere)  # the directory itself is a link
    mine = tmp_path / "mine.txt"
    mine.write_text("not yours\n")
    (pki / "erin").mkdir()
    (pki / "erin" / "key.pem").symlink_to(mine)  # a file name is a link
    os.link(mine, pki / "erin" / "cert.pem")  # and another a hard link
    issuer = make_issuer(cas, pki)
    issuer(spawner("dave"))
    issuer(spawner("erin"))
    assert list(elsewhere.iterdir()) == []
    assert (pki / "dave").is_dir() and not (pki / "dave").is_symlink()
    assert mine.read_text() == "not yours\n" and mine.stat().st_nlink == 1
    for user in ("dave", "erin"):
        for name in ("key.pem", "cert.pem", "cacert.pem"):
            path = pki / user / name
            assert path.is_file() and not path.is_symlink(), path
    assert stat.S_IMODE((pki / "erin" / "key.pem").stat().st_mode) == 0o600


def test_a_failed_write_refuses_the_spawn_with_a_message(cas, tmp_path):
    issuer = make_issuer(cas, tmp_path / "pki")
    (tmp_path / "pki" / "frank").write_text("a file where the directory belongs")
    with pytest.raises(web.HTTPError) as refused:
        issuer(spawner("frank"))
    assert refused.value.status_code == 500
    assert "could not write the Kernel Gateway client certificate of 'frank'" in (
        refused.value.jupyterhub_message
    )


# --- renewal ---------------------------------------------------------------------------------


def test_renewal_happens_when_half_the_validity_is_gone(cas, tmp_path):
    issuer = make_issuer(cas, tmp_path / "pki", hours=10)
    issuer(spawner("gina"))
    path = tmp_path / "pki" / "gina" / "cert.pem"
    first = path.read_bytes()
    assert issuer.renew(spawner("gina")) is False and path.read_bytes() == first
    issuer.not_after["gina"] = dt.datetime.now(dt.UTC) + dt.timedelta(hours=4, minutes=59)
    assert issuer.renew(spawner("gina")) is True
    assert path.read_bytes() != first
    verify_chain(x509.load_pem_x509_certificate(path.read_bytes()), cas.client)


def test_a_restarted_hub_reads_the_end_from_the_file_and_a_missing_file_is_rewritten(cas, tmp_path):
    make_issuer(cas, tmp_path / "pki", hours=10)(spawner("hal"))
    fresh = make_issuer(cas, tmp_path / "pki", hours=10)  # a new hub process
    assert fresh.renew(spawner("hal")) is False
    # Removed while the server runs (the hub remembers the end): written again.
    (tmp_path / "pki" / "hal" / "key.pem").unlink()
    assert "hal" in fresh.not_after
    assert fresh.renew(spawner("hal")) is True
    assert (tmp_path / "pki" / "hal" / "key.pem").is_file()
    (tmp_path / "pki" / "hal" / "cert.pem").unlink()
    fresh.not_after.clear()
    assert fresh.renew(spawner("hal")) is True


def test_the_spawner_renews_on_poll_while_the_server_runs(cas, tmp_path, monkeypatch):
    issuer = make_issuer(cas, tmp_path / "pki", hours=10)
    calls = []
    monkeypatch.setattr(issuer, "renew", lambda s: calls.append(s.user.name))
    status = {"value": None}

    async def poll(self):
        return status["value"]

    monkeypatch.setattr(DockerSpawner, "poll", poll)
    s = certs.RenewingDockerSpawner(
        user=SimpleNamespace(name="ivy", id=1, url="/"), hub=SimpleNamespace()
    )
    s.pre_spawn_hook = issuer

    assert asyncio.run(s.poll()) is None and calls == ["ivy"]
    status["value"] = 0  # stopped: nothing renewed
    assert asyncio.run(s.poll()) == 0 and calls == ["ivy"]


# --- the shipped config ---------------------------------------------------------------------


def spawner_class(c):
    configured = c.JupyterHub.spawner_class
    return import_item(configured) if isinstance(configured, str) else configured


def test_the_config_installs_the_issuer_when_the_hub_holds_the_client_ca(cas, tmp_path):
    c = load_hub_config(issuer_env(cas, tmp_path / "pki"))
    # The issuing spawner (a DockerSpawner: its config holds), under the log keeper's
    # subclass (the config's Logs section) when stopped servers' logs are kept.
    assert issubclass(spawner_class(c), certs.RenewingDockerSpawner)
    assert issubclass(certs.RenewingDockerSpawner, DockerSpawner)
    hook = c.Spawner.pre_spawn_hook
    assert isinstance(hook, certs.ClientCertIssuer) and hook.hours == 12
    (tmp_path / "pki").mkdir()
    hook.uid = UID
    hook(spawner("someone-added-in-the-admin-console"))  # in no list: gets one all the same
    cert = tmp_path / "pki" / "someone-added-in-the-admin-console" / "cert.pem"
    verify_chain(x509.load_pem_x509_certificate(cert.read_bytes()), cas.client)


def test_without_the_client_ca_the_config_refuses_users_without_a_delivered_certificate():
    c = load_hub_config(hub_env(KG_URL="https://gw:8888", KG_AUTH_TOKEN="t" * 20))
    assert issubclass(spawner_class(c), DockerSpawner)
    assert not issubclass(spawner_class(c), certs.RenewingDockerSpawner)
    with pytest.raises(web.HTTPError, match="ZOS_USERS"):
        c.Spawner.pre_spawn_hook(spawner("bob"))


@pytest.mark.parametrize("hours", ["0", "-1"])
def test_a_validity_under_an_hour_is_refused_when_the_config_loads(cas, tmp_path, hours):
    with pytest.raises(ValueError, match="at least 1 hour"):
        load_hub_config(issuer_env(cas, tmp_path, JUPYTERPKI_CERT_HOURS=hours))


def test_every_issuing_variable_the_program_sets_reaches_the_issuer(cas, tmp_path):
    """The contract of components/hub/environment.py for a hub that holds the client CA:
    each variable is read (the container paths swapped for this test's files)."""
    from tests.unit.images.hub.test_jupyterhub_config import DERIVED
    from tests.unit.images.hub.test_jupyterhub_config import env as program_env

    program = program_env(derived=dataclasses.replace(DERIVED, hub_issues_certs=True))
    issuing = {k: v for k, v in program.items() if k.startswith("JUPYTERPKI_")}
    assert set(issuing) == {
        "JUPYTERPKI_HOST_DIR",
        "JUPYTERPKI_CA_KEY",
        "JUPYTERPKI_CA_CERT",
        "JUPYTERPKI_GATEWAY_CA",
        "JUPYTERPKI_HUB_DIR",
        "JUPYTERPKI_CERT_HOURS",
    }
    local = issuer_env(
        cas, tmp_path / "pki", JUPYTERPKI_CERT_HOURS=program["JUPYTERPKI_CERT_HOURS"]
    )
    paths = {k: local[k] for k in issuing if k != "JUPYTERPKI_HOST_DIR"}
    issuer = load_hub_config({**program, **paths}).Spawner.pre_spawn_hook
    assert issuer.pki_dir == tmp_path / "pki"
    assert issuer.hours == 24
    assert issuer.gateway_ca_pem.decode() == cas.gateway.cert_pem
    assert issuer.ca_cert == cas.client.cert
    assert issuer.names == (program["CLIENT_KEY"], program["CLIENT_CERT"], program["CLIENT_CA"])
