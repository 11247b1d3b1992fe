"""The preflight's gateway checks against real Kernel Gateway installs: the 2.x generation
IzODA's AT-TLS-aware builds belong to (a venv of requirements-kg2.txt, classic notebook
server, no jupyter_server: tests/support/kg2.py) and the 3.x the program's venv holds,
each behind the z/OS double's stand-in for IzODA's package (tests/zos_double/gateway.py:
its __init__ and native .so; every submodule the real one), over a real sshd.

ZOS_ATTLS=true is accepted with a 2.x gateway whose native .so is program-controlled and
which loads kg_isolation.py, and refused, saying what to install, otherwise.
"""

from __future__ import annotations

import kernel_gateway
import pytest

from tests.integration.test_zos_preflight import (
    preflight,
    read_only,
    ready_system,
    settings_for,
)
from tests.support.kg2 import kg2_venv, pinned
from tests.zos_double import cli, gateway, racf
from tests.zos_double.host import ZosHost
from tools.mock_graph import settled_event_loop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    with settled_event_loop():  # settings hold secrets as Outputs
        zos = ZosHost(tmp_path_factory.mktemp("zos-kg2")).start()
        yield zos
        gateway.kill_all(zos.state)
        zos.stop()


@pytest.fixture(scope="module")
def kg2():
    return kg2_venv()


def izoda_gateway(host, venv, *, native: bool = True, progctl: bool = True):
    """A system ready for AT-TLS whose gateway Python runs a real Kernel Gateway from
    `venv` (None: the program's own 3.x), with IzODA's native .so when `native`."""
    ready_system(host, native=False)
    python = gateway.install_gateway(
        host.root / "izoda",
        host.state_path,
        version=kernel_gateway.__version__,  # the real one's, when venv is None
        native=native,
        venv=venv,
    )
    if native and progctl:
        state = host.state
        cli.set_attr(state, str(gateway.native_library(host.root / "izoda")), "progctl", "yes")
        racf.save(host.state_path, state)
    return python


def test_attls_is_accepted_with_an_attls_aware_kernel_gateway_2(host, kg2):
    version = pinned("jupyter-kernel-gateway")
    python = izoda_gateway(host, kg2)
    session = preflight(host, settings_for(host, python))
    assert session.rc == 0, session.stderr
    assert f"kernel_gateway={version}" in session.stdout
    assert f"kg_isolation.py loads with Kernel Gateway {version}" in session.stderr
    assert f"AT-TLS-aware Kernel Gateway {version}, program-controlled" in session.stderr
    assert "preflight passed" in session.stderr
    read_only(host.state)


def test_a_kernel_gateway_2_without_the_native_library_is_refused(host, kg2):
    python = izoda_gateway(host, kg2, native=False)
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    assert "has no native .so: it is not IzODA's AT-TLS-aware build" in session.stderr
    assert "or set ZOS_ATTLS=false" in session.stderr
    # Without AT-TLS the same upstream 2.x is fine: it does TLS itself, kernels run as
    # the gateway's ID and are bound to the client certificate (kg_isolation).
    session = preflight(host, settings_for(host, python, attls=False))
    assert session.rc == 0, session.stderr
    assert "kg_isolation.py loads with Kernel Gateway" in session.stderr


def test_a_kernel_gateway_2_whose_native_library_is_not_program_controlled(host, kg2):
    python = izoda_gateway(host, kg2, progctl=False)
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    assert "_attls.so is not program-controlled: extattr +p" in session.stderr


def test_attls_with_kernel_gateway_3_says_what_to_install(host):
    python = izoda_gateway(host, None)  # the program's venv: Kernel Gateway 3.x
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    message = session.stderr
    assert "Kernel Gateway 3." in message and "cannot" in message
    assert "Install IzODA's AT-TLS-aware Kernel Gateway 2.x" in message
    assert "jupyter-kernel-gateway 2.1.0" in message and "ZOS_ATTLS=false" in message
    # The module itself loads on 3.x: only the AT-TLS mapping is missing.
    assert "kg_isolation.py loads with Kernel Gateway 3." in message


def test_a_gateway_whose_modules_import_but_differ_is_refused(host, kg2):
    # A Kernel Gateway whose modules import but lack what kg_isolation uses (as a release
    # with another API would): the probe loads the module itself, so it is caught.
    python = izoda_gateway(host, kg2)
    personality = host.root / "izoda" / "site" / "kernel_gateway" / "jupyter_websocket"
    personality.mkdir()
    (personality / "__init__.py").write_text('"""Stand-in: no JupyterWebsocketPersonality."""\n')
    session = preflight(host, settings_for(host, python))
    assert session.rc != 0
    assert "kg_isolation.py does not load with" in session.stderr
    assert "JupyterWebsocketPersonality" in session.stderr
    assert "2.1/2.2 (classic notebook 5.x)" in session.stderr
