"""The hub's HTTPS certificate: HUB_TLS_CERT/HUB_TLS_KEY when given, otherwise a
pulumi-tls CA and a server certificate for HUB_HOSTNAME, localhost and 127.0.0.1.

The CA certificate is a stack output, so users can trust the hub in their browser.
The key is a secret Output and goes into the hub container as an upload, never into
an image.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi

from components.pki.resources import self_signed_ca, signed_cert
from components.pki.specs import ca_spec, server_spec


def hub_server_names(hostname: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IP addresses) of the hub certificate: the hub's name, and loopback
    for a browser or health probe on the Docker host itself."""
    try:
        ipaddress.ip_address(hostname)
        return ("localhost",), (hostname, "127.0.0.1")
    except ValueError:
        return (hostname, "localhost"), ("127.0.0.1",)


@dataclass(frozen=True)
class HubTlsArgs:
    hostname: str  # HUB_HOSTNAME
    cert_pem: str | None = None  # HUB_TLS_CERT
    key_pem: pulumi.Output[str] | None = None  # HUB_TLS_KEY (secret)


class HubTls(pulumi.ComponentResource):
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    ca_cert_pem: pulumi.Output[str] | None  # None when the certificate was given

    def __init__(self, name: str, args: HubTlsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("jupyterhub-zos:hub_tls:HubTls", name, None, opts)
        if (args.cert_pem is None) != (args.key_pem is None):
            raise ValueError("HUB_TLS_CERT and HUB_TLS_KEY are given together or not at all")
        if args.cert_pem is not None and args.key_pem is not None:
            self.cert_pem = pulumi.Output.from_input(args.cert_pem)
            self.key_pem = pulumi.Output.secret(args.key_pem)
            self.ca_cert_pem = None
        else:
            child = pulumi.ResourceOptions(parent=self)
            ca = self_signed_ca(f"{name}-ca", ca_spec("hub"), child)
            dns, ips = hub_server_names(args.hostname)
            server = signed_cert(f"{name}-server", server_spec(args.hostname, dns, ips), ca, child)
            self.cert_pem = server.cert_pem
            self.key_pem = server.key_pem
            self.ca_cert_pem = ca.cert_pem
        self.register_outputs({"cert_pem": self.cert_pem, "ca_cert_pem": self.ca_cert_pem})
