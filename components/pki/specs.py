"""Certificate parameters, in one place: what every key and certificate the program
makes looks like (algorithm, usages, names, validity, renewal).

The PKI components turn these into pulumi-tls resources; the tests turn the very same
specs into certificates with `cryptography`, so what is tested is what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass

# ECDSA P-256: as strong as RSA-3072, fast to make, understood by browsers, OpenSSL,
# Python's ssl and tornado. pulumi-tls would default to P224, so it is always named.
KEY_ALGORITHM = "ECDSA"
ECDSA_CURVE = "P256"

HOURS_PER_DAY = 24
ORGANIZATION = "jupyterhub-zos"


@dataclass(frozen=True)
class CertSpec:
    """One certificate. `allowed_uses` are pulumi-tls names (key_usage + ext_key_usage)."""

    common_name: str
    allowed_uses: tuple[str, ...]
    validity_hours: int
    early_renewal_hours: int
    is_ca: bool = False
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    organization: str = ORGANIZATION
    key_algorithm: str = KEY_ALGORITHM
    ecdsa_curve: str = ECDSA_CURVE


def ca_spec(purpose: str) -> CertSpec:
    """A private CA. Ten years, renewed in its last year: a renewed CA re-issues every
    certificate it signed on the same `pulumi up`, so nothing is left on the old one."""
    return CertSpec(
        common_name=f"{ORGANIZATION} {purpose} CA",
        allowed_uses=("cert_signing", "crl_signing", "digital_signature"),
        validity_hours=10 * 365 * HOURS_PER_DAY,
        early_renewal_hours=365 * HOURS_PER_DAY,
        is_ca=True,
    )


def server_spec(
    common_name: str, dns_names: tuple[str, ...] = (), ip_addresses: tuple[str, ...] = ()
) -> CertSpec:
    """A TLS server certificate: one year, renewed by any `pulumi up` in its last 30 days."""
    return CertSpec(
        common_name=common_name,
        allowed_uses=("digital_signature", "key_agreement", "server_auth"),
        validity_hours=365 * HOURS_PER_DAY,
        early_renewal_hours=30 * HOURS_PER_DAY,
        dns_names=tuple(dict.fromkeys(dns_names)),
        ip_addresses=tuple(dict.fromkeys(ip_addresses)),
    )


# CLIENT_CERT_HOURS' default: a client certificate the hub issues lives a day, renewed at half.
CLIENT_CERT_HOURS = 24


def client_spec(username: str, hours: int = CLIENT_CERT_HOURS) -> CertSpec:
    """A notebook user's client certificate for mutual TLS to the gateway; CN = hub user.
    The hub issues these at spawn with `cryptography` (images/hub/jhz_client_certs.py,
    checked against this spec by its tests), valid `hours` and renewed at half."""
    return CertSpec(
        common_name=username,
        allowed_uses=("digital_signature", "key_agreement", "client_auth"),
        validity_hours=hours,
        early_renewal_hours=hours // 2,
    )
