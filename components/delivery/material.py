"""The client TLS material one notebook user gets in /etc/jupyterpki, as the delivery
(components/delivery/client_certs.py) takes it: PEM texts (pulumi-tls), or a PKCS#12 export the
delivery splits into PEM on its way (RACF on z/OS)."""

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


@dataclass(frozen=True)
class UserPkcs12:
    """One hub user's certificate and key as a PKCS#12 export. `split_script` (sh, run
    on the machine running Pulumi) reads `stdin` (secret: the export's password and
    output) and prints the three PEMs framed as the delivery reads them. The split runs
    inside the delivery's command, only when the export changes: no resource of its
    own, and no private key in a resource output."""

    stdin: pulumi.Output[str]
    split_script: str


@dataclass(frozen=True)
class SuppliedCert:
    """One hub user's certificate as the security administrator exported it
    (ZOS_USER_CERTS, checked by components/delivery/supplied.py), all secret Outputs:
    `p12_stdin` (the password line and the PKCS#12 as an export step prints it) when it
    came as a PKCS#12, else None and the PEM texts are delivered as they are."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    ca_pem: pulumi.Output[str]
    p12_stdin: pulumi.Output[str] | None
    not_after: str = ""  # the certificate's end, YYYY-MM-DD (not secret): zos_cert_expiry
