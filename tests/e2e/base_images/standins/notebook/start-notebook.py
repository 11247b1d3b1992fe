#!/usr/bin/env python
"""STAND-IN start command (tests only; written for tests/e2e/base_images, not the
docker-stacks script): the hub's single-user server when JupyterHub started the
container (JUPYTERHUB_API_TOKEN set), else JupyterLab. Arguments (DockerSpawner's) and
NOTEBOOK_ARGS are passed on; exec, so tini's child is the server itself."""

import os
import shlex
import sys

if "JUPYTERHUB_API_TOKEN" in os.environ:
    command = ["jupyterhub-singleuser"]
else:
    command = ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", "")) + sys.argv[1:]
sys.stdout.flush()
os.execvp(command[0], command)  # noqa: S606 (exec: the server replaces this process)
