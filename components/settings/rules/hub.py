"""The hub: its own certificate and key belong together, the culler's settings, and the
notebook images users choose from."""

from __future__ import annotations

from typing import Any

from components.settings.errors import Problem
from components.settings.values import load_private_key


def check(v: dict[str, Any], bad: set[str], stack: str) -> list[Problem]:
    problems: list[Problem] = []
    if ("HUB_TLS_CERT" in v) != ("HUB_TLS_KEY" in v):
        missing = "HUB_TLS_KEY" if "HUB_TLS_CERT" in v else "HUB_TLS_CERT"
        if missing not in bad:
            problems.append(
                Problem(
                    missing,
                    "must be set together with "
                    f"{'HUB_TLS_CERT' if missing == 'HUB_TLS_KEY' else 'HUB_TLS_KEY'}",
                )
            )
    elif v.get("HUB_TLS_CERT") and v.get("HUB_TLS_KEY"):
        # Imported only when both are given (values.py says why).
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = x509.load_pem_x509_certificates(v["HUB_TLS_CERT"].encode())[0]
        key = load_private_key(v["HUB_TLS_KEY"])
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(
            serialization.Encoding.DER, pub
        ) != key.public_key().public_bytes(serialization.Encoding.DER, pub):
            problems.append(
                Problem("HUB_TLS_KEY", "does not belong to the first certificate in HUB_TLS_CERT")
            )

    timeout = v.get("IDLE_CULL_TIMEOUT")
    if timeout is not None and 0 < timeout < 300:
        problems.append(
            Problem(
                "IDLE_CULL_TIMEOUT",
                "must be 0 (culler off) or at least 300 "
                "seconds: JupyterHub records activity only every 5 minutes, so a "
                f"shorter timeout culls busy servers (got {timeout})",
            )
        )
    if v.get("IDLE_CULL_MAX_AGE") and timeout == 0:
        problems.append(
            Problem(
                "IDLE_CULL_MAX_AGE",
                "needs the idle culler, which IDLE_CULL_TIMEOUT=0 turns off; set "
                "IDLE_CULL_TIMEOUT (300 or more) too, or unset this",
            )
        )
    images = v.get("DOCKER_NOTEBOOK_IMAGES") or []
    twice = sorted({image for image in images if images.count(image) > 1})
    if twice:
        problems.append(
            Problem(
                "DOCKER_NOTEBOOK_IMAGES",
                f"lists {', '.join(twice)} more than once: each image is one choice on the "
                "spawn page; list each once",
            )
        )
    return problems
