"""pulumi-tls resources from a CertSpec: the one mapping of cert_params to resources.

Plain functions (not a component): each PKI component calls them with its own name
prefix and `parent=self`, so its keys and certificates sit under it in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.pki.specs import CertSpec


@dataclass(frozen=True)
class IssuedCert:
    """A key and its certificate. `key_pem` is always a secret Output."""

    key_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]


def private_key(name: str, spec: CertSpec, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The PEM of a new private key: secret, because pulumi-tls lists it in
    additional_secret_outputs (the engine, and the mock harness, honour that), so it is
    secret in every input it flows into."""
    key = tls.PrivateKey(
        name,
        algorithm=spec.key_algorithm,
        ecdsa_curve=spec.ecdsa_curve if spec.key_algorithm == "ECDSA" else None,
        rsa_bits=2048 if spec.key_algorithm == "RSA" else None,
        opts=opts,
    )
    return key.private_key_pem


def self_signed_ca(name: str, spec: CertSpec, opts: pulumi.ResourceOptions) -> IssuedCert:
    """A CA: `<name>-key` and `<name>-cert`."""
    key = private_key(f"{name}-key", spec, opts)
    cert = tls.SelfSignedCert(
        f"{name}-cert",
        private_key_pem=key,
        is_ca_certificate=spec.is_ca,
        allowed_uses=list(spec.allowed_uses),
        validity_period_hours=spec.validity_hours,
        early_renewal_hours=spec.early_renewal_hours,
        set_subject_key_id=True,
        subject=tls.SelfSignedCertSubjectArgs(
            common_name=spec.common_name, organization=spec.organization
        ),
        dns_names=list(spec.dns_names) or None,
        ip_addresses=list(spec.ip_addresses) or None,
        opts=opts,
    )
    return IssuedCert(key, cert.cert_pem)


def signed_cert(
    name: str, spec: CertSpec, ca: IssuedCert, opts: pulumi.ResourceOptions
) -> IssuedCert:
    """A certificate signed by `ca`: `<name>-key`, `<name>-csr`, `<name>-cert`."""
    key = private_key(f"{name}-key", spec, opts)
    csr = tls.CertRequest(
        f"{name}-csr",
        private_key_pem=key,
        subject=tls.CertRequestSubjectArgs(
            common_name=spec.common_name, organization=spec.organization
        ),
        dns_names=list(spec.dns_names) or None,
        ip_addresses=list(spec.ip_addresses) or None,
        opts=opts,
    )
    cert = tls.LocallySignedCert(
        f"{name}-cert",
        cert_request_pem=csr.cert_request_pem,
        ca_private_key_pem=ca.key_pem,
        ca_cert_pem=ca.cert_pem,
        is_ca_certificate=spec.is_ca,
        allowed_uses=list(spec.allowed_uses),
        validity_period_hours=spec.validity_hours,
        early_renewal_hours=spec.early_renewal_hours,
        set_subject_key_id=True,
        opts=opts,
    )
    return IssuedCert(key, cert.cert_pem)
