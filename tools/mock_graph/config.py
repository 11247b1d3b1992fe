"""Stack config, the way the Pulumi CLI delivers it to the program."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.stack_file import holds_ciphertext, is_ciphertext

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
PROJECT = "jupyterhub-zos"


def cli_string(value: Any) -> str:
    """How the CLI hands a config value to the program: strings as they are, everything
    else as JSON (so true/false, 42, ["a"], {"k": "v"})."""
    return value if isinstance(value, str) else json.dumps(value)


def full_key(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def project_defaults(root: Path = ROOT) -> dict[str, Any]:
    """`default`s of the Pulumi.yaml config block, as `<project>:<key>` -> value."""
    declared = yaml.safe_load((root / "Pulumi.yaml").read_text())["config"]
    return {full_key(k): v["default"] for k, v in declared.items() if "default" in v}


def encrypted_entries(stack: str, root: Path = ROOT) -> dict[str, str]:
    """The encrypted entries of Pulumi.<stack>.yaml: `<namespace>:<key>` -> ciphertext
    (the `secure:` value; "" for a map or list whose parts are encrypted one by one)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {
        full_key(k): v["secure"] if is_ciphertext(v) else ""
        for k, v in config.items()
        if holds_ciphertext(v)
    }


def stack_file_config(stack: str, root: Path = ROOT, given: Iterable[str] = ()) -> dict[str, Any]:
    """The plain entries of Pulumi.<stack>.yaml. Its encrypted entries cannot be read
    here: each must be in `given` (full key names; the caller passes its value as a
    secret), else ValueError names them."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    encrypted = encrypted_entries(stack, root)
    missing = sorted(set(encrypted) - {full_key(k) for k in given})
    if missing:
        raise ValueError(
            f"{path.name} holds encrypted values ({', '.join(missing)}); the mock harness "
            "cannot decrypt them: pass them as `secrets=` instead"
        )
    return {k: v for k, v in config.items() if full_key(k) not in encrypted}


def stack_config(
    stack: str,
    config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    root: Path = ROOT,
) -> tuple[dict[str, str], set[str]]:
    """Pulumi.yaml defaults, then Pulumi.<stack>.yaml, then `config`, then `secrets`.
    A value of None removes the key. Returns (key -> CLI string, secret keys)."""
    merged: dict[str, Any] = {
        **project_defaults(root),
        **stack_file_config(stack, root, given=(secrets or {}).keys()),
    }
    secret_keys: set[str] = set()
    for source, secret in ((config or {}, False), (secrets or {}, True)):
        for key, value in source.items():
            name = full_key(key)
            if value is None:
                merged.pop(name, None)
                secret_keys.discard(name)
                continue
            merged[name] = value
            if secret:
                secret_keys.add(name)
    return {k: cli_string(v) for k, v in merged.items()}, secret_keys
