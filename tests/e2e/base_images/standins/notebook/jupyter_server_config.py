"""STAND-IN server defaults (tests only): listen on every interface of the container on
JUPYTER_PORT and open no browser, as a container's server must. The hub's arguments win."""

import os

c = get_config()  # noqa: F821
c.ServerApp.ip = "0.0.0.0"  # noqa: S104 (inside the container; the host publishes nothing)
c.ServerApp.port = int(os.environ.get("JUPYTER_PORT", "8888"))
c.ServerApp.open_browser = False
