"""The hand-written reference pages say what the code does: the stack outputs page lists
exactly the outputs the program exports (with when and whether secret), the layout page
names only paths that exist and every module of components/, and the README's config
summary covers every key. (The config reference itself is generated: see
test_config_contract.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.settings import StackConfig
from tools.mock_graph import full_key, run_program

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
_ROW = re.compile(r"^\| `([^`]+)` \|(.*)$", re.MULTILINE)
_CLAUSE = re.compile(r"^((?:`[A-Z_]+`/?)+) (set|unset|true|false|is \w+)(?: \(.*\))?$")


def table_rows(page: Path) -> dict[str, list[str]]:
    """First-column name (in backticks) -> the row's other cells, for every table row."""
    return {
        name: [cell.strip() for cell in rest.strip().strip("|").split("|")]
        for name, rest in _ROW.findall(page.read_text())
    }


# --- docs/reference/outputs.md ---------------------------------------------------------------

OUTPUTS = table_rows(DOCS / "reference" / "outputs.md")


def documented_when(condition: str, config: dict[str, str]) -> bool:
    """Evaluate the page's "when" cell (`always`, or clauses like "`KEY` set",
    "`A`/`B` unset", "`BOOL` false", "`KEY` is value" joined by ", ", alternatives
    joined by " or ")
    against a stack's config (empty means unset; a boolean is true unless "false")."""
    if condition == "always":
        return True
    return any(_all_hold(part, config) for part in condition.split(" or "))


def _all_hold(condition: str, config: dict[str, str]) -> bool:
    holds = []
    for clause in condition.split(", "):
        match = _CLAUSE.match(clause)
        assert match, f"cannot read the condition {clause!r} in outputs.md"
        keys = re.findall(r"`([A-Z_]+)`", match.group(1))
        values = [str(config.get(full_key(k), "")).lower() for k in keys]
        kind = match.group(2)
        if kind.startswith("is "):
            holds.append(all(v == kind[3:] for v in values))
            continue
        if kind in ("true", "false"):
            holds.append(all((v == "false") == (kind == "false") for v in values))
            continue
        is_set = [v not in ("", "[]", "{}") for v in values]
        holds.append(all(is_set) if kind == "set" else not any(is_set))
    return all(holds)


@pytest.fixture(scope="module")
def graphs(zos_config, cert_pairs):
    token = {"KG_AUTH_TOKEN": "a-long-enough-gateway-token"}
    cert, key = cert_pairs[0]
    config, secrets = zos_config
    return {
        "dev": run_program("dev"),
        "own gateway": run_program("dev", config={"KG_URL": "https://kg.test:8099"}, secrets=token),
        "own hub certificate": run_program(
            "dev", config={"HUB_TLS_CERT": cert}, secrets={"HUB_TLS_KEY": key}
        ),
        "z/OS": run_program("dev", config=config, secrets=secrets),
        "z/OS without AT-TLS": run_program(
            "dev", config={**config, "ZOS_ATTLS": False}, secrets=secrets
        ),
        "z/OS, the security administrator's RACF": run_program(
            "dev", config={**config, "ZOS_RACF_MODE": "admin"}, secrets=_admin_secrets(secrets)
        ),
    }


def _admin_secrets(secrets: dict) -> dict:
    """ZOS_RACF_MODE=admin: each ZOS_USERS user's exported certificate, as PEM."""
    import json

    from components.pki.specs import ca_spec, client_spec
    from tests.support.certs import issue

    ca = issue(ca_spec("racf"))
    certs = {u: issue(client_spec(u), ca) for u in ("admin", "alice")}
    entries = {
        u: {"cert": c.cert_pem, "key": c.key_pem, "ca": ca.cert_pem} for u, c in certs.items()
    }
    return {**secrets, "ZOS_USER_CERTS": json.dumps(entries)}


def test_the_outputs_page_lists_what_each_stack_exports(graphs):
    for name, graph in graphs.items():
        expected = {
            out for out, (when, *_) in OUTPUTS.items() if documented_when(when, graph.config)
        }
        assert set(graph.outputs) == expected, name


def test_the_outputs_page_says_which_are_secret(graphs):
    documented = {out for out, (_, secret, *_) in OUTPUTS.items() if secret == "yes"}
    assert {cell[1] for cell in OUTPUTS.values()} == {"yes", "no"}
    exported = set().union(*(set(g.outputs) for g in graphs.values()))
    assert exported == set(OUTPUTS)
    assert set().union(*(g.secret_outputs for g in graphs.values())) == documented


# --- docs/reference/layout.md ----------------------------------------------------------------

LAYOUT = table_rows(DOCS / "reference" / "layout.md")


def test_the_layout_names_only_paths_that_exist():
    assert LAYOUT, "layout.md has no table rows"
    assert [path for path in LAYOUT if not (ROOT / path).exists()] == []


def test_the_layout_lists_every_component_module_and_top_level_directory():
    modules = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "components").rglob("*.py")
        if p.name != "__init__.py"
    }
    assert sorted(modules - set(LAYOUT)) == []
    top = {
        f"{p.name}/"
        for p in ROOT.iterdir()
        if p.is_dir() and p.name not in ("venv", "__pycache__") and not p.name.startswith(".")
    }
    assert sorted(d for d in top if not any(path.startswith(d) for path in LAYOUT)) == []


def test_the_layout_names_the_real_files_of_the_policy_pack_and_makes_targets():
    names = re.findall(r"`([^`]+)`", LAYOUT["policies/"][0])
    assert sorted(n for n in names if not (ROOT / "policies" / n).exists()) == []
    packaged = {p.name for p in (ROOT / "policies").glob("*.py") if p.name != "__init__.py"}
    assert sorted(packaged - set(names)) == []
    phony = re.search(r"^\.PHONY: (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    listed = {n.removeprefix("make ") for n in re.findall(r"`([^`]+)`", LAYOUT["Makefile"][0])}
    assert set(phony.group(1).split()) == listed


# --- README.md's config summary --------------------------------------------------------------


def test_the_readme_config_summary_covers_every_key():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^- (.*)$", section, re.MULTILINE)
    patterns = [n for line in names for n in re.findall(r"`([A-Z_]+\*?)`", line.split(":")[0])]
    assert patterns, "no summary list under ## Configuration"

    def covered(key: str) -> bool:
        return any(key.startswith(p[:-1]) if p.endswith("*") else key == p for p in patterns)

    assert [key for key in StackConfig.model_fields if not covered(key)] == []


# --- README.md's hub environment -------------------------------------------------------------


def test_the_readme_hub_environment_lists_exactly_what_the_hub_gets(cert_pairs, zos_config):
    """Every variable the program sets on the hub container, and no other, in the table:
    with every optional one present (own LDAP with a CA and groups, limits), with
    search-then-bind and its search account instead of a DN template, and on z/OS behind
    AT-TLS (the hub issues nothing, only the delivered users may spawn)."""
    ca_pem, _ = cert_pairs[0]
    own_ldap = {
        "LDAP_SERVER_HOST": "ldap.test",
        "LDAP_BIND_DN": "uid={username},ou=people,dc=example,dc=org",
        "LDAP_CA_CERT": ca_pem,
        "LDAP_ALLOWED_GROUPS": ["cn=jupyter,ou=groups,dc=example,dc=org"],
        "NOTEBOOK_MEM_LIMIT": "2G",
        "NOTEBOOK_CPU_LIMIT": "1.5",
        "DOCKER_NOTEBOOK_IMAGES": ["quay.io/jupyter/scipy-notebook:2025-10-20"],
    }
    search = {
        "LDAP_SERVER_HOST": "ad.example.org",
        "LDAP_USER_SEARCH_BASE": "dc=example,dc=org",
        "LDAP_USER_ATTRIBUTE": "sAMAccountName",
        "LDAP_SEARCH_BIND_DN": "cn=hub-search,ou=services,dc=example,dc=org",
    }
    config, secrets = zos_config
    graphs = {
        "optional ones": run_program("dev", config=own_ldap),
        "search-then-bind": run_program(
            "dev", config=search, secrets={"LDAP_SEARCH_BIND_PASSWORD": "search-pw-42"}
        ),
        "z/OS": run_program("dev", config=config, secrets=secrets),
    }
    per_graph = {}
    for name, graph in graphs.items():
        hub = graph.one("docker:index/container:Container", "jupyterhub-container")
        per_graph[name] = {item.split("=", 1)[0] for item in hub.inputs["envs"]}
    # Each graph adds what the others lack, so none of them is left untested.
    assert "LDAP_SEARCH_BIND_PASSWORD_FILE" in per_graph["search-then-bind"]
    assert "LDAP_BIND_DN" not in per_graph["search-then-bind"]
    assert "JUPYTERPKI_USERS" in per_graph["z/OS"]
    variables = set().union(*per_graph.values())
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Hub environment\n", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| (.*?) \|", section, re.MULTILINE)
    listed = {name for cell in first_cells for name in re.findall(r"`([A-Z_]+)`", cell)}
    assert listed == variables
