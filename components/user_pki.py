"""The client TLS material one notebook user gets in /etc/jupyterpki."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class UserPki:
    """PEM texts for one hub user. All three are secret Outputs (the key for sure;
    the certificates so that the bundle is handled as one secret)."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    ca_pem: pulumi.Output[str]
