"""What the Pulumi CLI writes in a stack file (Pulumi.<stack>.yaml) for an encrypted
value. Its own module, outside components.settings, so the mock harness and the tools
read the format without loading the settings model (pydantic)."""

from __future__ import annotations

from typing import Any


def is_ciphertext(value: Any) -> bool:
    """What the CLI writes for an encrypted value: exactly {secure: <ciphertext>} (a map
    with a user named `secure` in it is not one)."""
    return (
        isinstance(value, dict) and value.keys() == {"secure"} and isinstance(value["secure"], str)
    )


def holds_ciphertext(value: Any) -> bool:
    """Whether a stack file's value is encrypted or has encrypted parts: `pulumi config
    set --secret --path 'MAP.user.p12'` encrypts the leaf, not the whole map."""
    if is_ciphertext(value):
        return True
    if isinstance(value, dict):
        return any(holds_ciphertext(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_ciphertext(v) for v in value)
    return False


def plain_leaves(value: Any, path: str) -> list[str]:
    """The paths (`KEY.alice.p12`, `KEY[0]`) of the parts of `value` held in clear."""
    if is_ciphertext(value):
        return []
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in plain_leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in plain_leaves(v, f"{path}[{i}]")]
    return [path]
