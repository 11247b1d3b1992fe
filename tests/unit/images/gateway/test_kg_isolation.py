"""kg_isolation.py keeps to what every gateway it loads on has: the Python of IzODA's
Kernel Gateway 2.x (3.7) and no module only one Kernel Gateway generation brings."""

from __future__ import annotations

import ast

from components.gateway.config import ISOLATION_SOURCE


def test_it_parses_as_python_3_7():
    # feature_version refuses syntax newer than 3.7 (walrus, match, parenthesized with...).
    ast.parse(ISOLATION_SOURCE.read_text(), feature_version=(3, 7))


def test_it_imports_neither_jupyter_server_nor_notebook_nor_jupyter_client():
    tree = ast.parse(ISOLATION_SOURCE.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    assert roots & {"jupyter_server", "notebook", "jupyter_client"} == set()
    assert {"kernel_gateway", "tornado"} <= roots
