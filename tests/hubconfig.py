"""Load the shipped images/hub/jupyterhub_config.py the way JupyterHub does.

JupyterHub execs the file with `c` (a traitlets Config) and `get_config()` in its
globals. We do the same with a chosen environment, so tests see exactly the traits
the hub would get from that environment.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Mapping
from pathlib import Path
from unittest import mock

from traitlets.config import Config

HUB_CONFIG = Path(__file__).resolve().parents[1] / "images" / "hub" / "jupyterhub_config.py"


def load_hub_config(env: Mapping[str, str], path: Path = HUB_CONFIG) -> Config:
    """Run jupyterhub_config.py with exactly `env` as os.environ; return its Config."""
    c = Config()
    with mock.patch.dict(os.environ, dict(env), clear=True):
        runpy.run_path(str(path), init_globals={"c": c, "get_config": lambda: c})
    return c


def configured_spawner(c: Config, user: str, server: str = ""):
    """The spawner the hub would make for `user`'s server `server` ("" the default one):
    the config's spawner class (DockerSpawner under the config's subclasses), its traits."""
    from types import SimpleNamespace

    from traitlets.utils.importstring import import_item

    cls = c.JupyterHub.spawner_class
    cls = import_item(cls) if isinstance(cls, str) else cls
    return cls(
        user=SimpleNamespace(name=user, id=1, url="/"),
        hub=SimpleNamespace(),
        config=c,
        orm_spawner=SimpleNamespace(name=server, server=None) if server else None,
    )
