"""The four project images build from images/*/ unchanged on the pinned base images (real
or stand-in), and each runs what the program relies on."""

from __future__ import annotations

import re

import pytest

from tests.e2e.base_images import core
from tests.e2e.conftest import image_config, run

# The first cold run builds a rootfs, four stand-ins and four images (minutes, not 300 s).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]


def env_of(engine, image: str) -> dict[str, str]:
    return dict(e.split("=", 1) for e in image_config(engine, image)["Env"] or [])


@pytest.mark.parametrize("standin", core.STANDINS, ids=lambda s: s.key)
def test_each_base_image_is_the_real_one_or_a_labelled_current_stand_in(
    engine, base_images, standin
):
    labels = image_config(engine, standin.image)["Labels"] or {}
    if labels.get(core.LABEL_STANDIN) == "true":
        assert labels[core.LABEL_FOR] == standin.image
        assert labels[core.LABEL_RECIPE] == core.recipe_hash(standin)


def test_all_four_project_images_build(project_images):
    assert set(project_images) == {"hub", "notebook", "gateway", "ldap"}


def test_hub_runs_jupyterhub_and_the_proxy(engine, project_images):
    image = project_images["hub"]
    assert run(engine, image, ["jupyterhub", "--version"]).splitlines()[-1] == "5.3.0"
    assert run(engine, image, ["configurable-http-proxy", "--version"]) == "4.6.3"
    modules = "import dockerspawner, ldapauthenticator, jupyterhub_idle_culler"
    assert run(engine, image, ["python3", "-c", f"{modules}; print('ok')"]) == "ok"
    config = image_config(engine, image)
    assert config["WorkingDir"] == "/srv/jupyterhub"
    assert config["Cmd"] == ["jupyterhub", "-f", "/srv/jupyterhub/jupyterhub_config.py"]


def test_notebook_is_jovyan_with_the_hubs_singleuser(engine, project_images):
    image = project_images["notebook"]
    config = image_config(engine, image)
    env = env_of(engine, image)
    assert (config["User"], config["WorkingDir"]) == ("1000", "/home/jovyan")
    assert {k: env.get(k) for k in ("NB_USER", "NB_UID", "NB_GID", "HOME")} == {
        "NB_USER": "jovyan",
        "NB_UID": "1000",
        "NB_GID": "100",
        "HOME": "/home/jovyan",
    }
    assert run(engine, image, ["id", "-un"]) == "jovyan"
    assert run(engine, image, ["sh", "-c", "id -u; id -g"]).split() == ["1000", "100"]
    assert run(engine, image, ["jupyterhub-singleuser", "--version"]).splitlines()[-1] == "5.3.0"
    # images/notebook/requirements.txt's pin, installed by jovyan over the base's.
    probe = "import jupyter_server, jupyterlab; print(jupyter_server.__version__)"
    assert run(engine, image, ["python", "-c", probe]) == "2.17.0"
    assert run(engine, image, ["stat", "-c", "%a", "/etc/jupyterpki"]) == "755"


def test_notebook_cmd_execs_singleuser_under_the_init_when_the_hub_starts_it(
    engine, project_images
):
    """DockerSpawner runs the image's CMD with its own arguments after it: with
    JUPYTERHUB_API_TOKEN set that must become jupyterhub-singleuser, exec'd (its parent
    is the init, so signals reach the server), arguments passed on."""
    image = project_images["notebook"]
    config = image_config(engine, image)
    cmd = config["Cmd"]
    # A recording jupyterhub-singleuser first on PATH, then the image's own CMD.
    fake = (
        "mkdir -p /tmp/fake && printf '%s\\n' '#!/bin/sh' "
        "'echo \"singleuser parent=$(cat /proc/$PPID/comm) args=$*\"' "
        ">/tmp/fake/jupyterhub-singleuser && chmod +x /tmp/fake/jupyterhub-singleuser && "
        'PATH=/tmp/fake:$PATH exec "$@"'
    )
    args = ["--ip=0.0.0.0", "--port=8888"]
    out = run(
        engine,
        image,
        ["sh", "-c", fake, "sh", *cmd, *args],
        environment={"JUPYTERHUB_API_TOKEN": "not-a-real-token"},
    )
    init = config["Entrypoint"][0]
    assert out == f"singleuser parent={init} args={' '.join(args)}", out
    # The real one, the same way: the hub's server, not JupyterLab on its own.
    with_token = run(engine, image, [*cmd, "--version"], environment={"JUPYTERHUB_API_TOKEN": "x"})
    without = run(engine, image, [*cmd, "--version"])
    assert with_token.splitlines()[-1] == "5.3.0"
    assert re.fullmatch(r"4\.\d+\.\d+", without.splitlines()[-1]), without  # jupyter lab


def test_gateway_runs_kernel_gateway_and_its_python3_kernels_as_their_users(engine, project_images):
    image = project_images["gateway"]
    out = run(engine, image, ["jupyter", "kernelgateway", "--version"])
    assert out.splitlines()[-1] == "3.0.1"
    probe = "import ipykernel; print(ipykernel.__version__)"
    assert run(engine, image, ["python", "-c", probe]) == "7.4.0"
    # Root in its container (to start each kernel as its user's uid); the python3 kernel
    # spec is the launcher's, not ipykernel's built-in one.
    assert run(engine, image, ["id", "-u"]) == "0"
    spec = "from jupyter_client.kernelspec import get_kernel_spec as k; print(k('python3').argv)"
    assert "/opt/jupyterhub-zos/kernel_as_user.py" in run(engine, image, ["python", "-c", spec])


def test_ldap_has_the_pinned_slapd(engine, project_images):
    out = run(engine, project_images["ldap"], ["-VV"], entrypoint=["slapd"])
    assert "slapd 2.5.13" in out, out
    assert run(engine, project_images["ldap"], [], entrypoint=["ldapsearch", "-VV"]) != ""
