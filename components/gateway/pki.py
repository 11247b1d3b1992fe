"""The Kernel Gateway's PKI with pulumi-tls: a CA and the gateway's server certificate, and
the client CA from which the hub issues each user's client certificate at spawn
(CN = the user name; images/hub/jhz_client_certs.py).

Used when the certificates are not RACF's (no ZOS_HOST): for the dev gateway container,
and for a gateway of one's own at KG_URL, which then installs the exported server
certificate and trusts the exported client CA. All parameters come from components.pki.specs,
the functions the tests also make their certificates with.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi

from components.pki.resources import IssuedCert, self_signed_ca, signed_cert
from components.pki.specs import CertSpec, ca_spec, server_spec


def server_hosts(dev_gateway_host: str | None, kg_url: str | None) -> tuple[str, ...]:
    """The names a notebook reaches the gateway by: the dev gateway's container name on
    the Docker network, and KG_URL's host. Each once, in that order."""
    hosts = [dev_gateway_host] if dev_gateway_host else []
    if kg_url:
        host = urlsplit(kg_url).hostname
        if host:
            hosts.append(host)
    if not hosts:
        raise ValueError("the gateway's server certificate needs a host name (KG_URL)")
    return tuple(dict.fromkeys(hosts))


def gateway_server_spec(hosts: Iterable[str]) -> CertSpec:
    """The gateway's server certificate: CN the first host, every host a SAN (IP
    addresses as IP SANs, which is what TLS clients match an IP URL against)."""
    hosts = tuple(hosts)
    if not hosts:
        raise ValueError("the gateway's server certificate needs at least one host name")
    dns, ips = [], []
    for host in hosts:
        try:
            ips.append(str(ipaddress.ip_address(host)))
        except ValueError:
            dns.append(host)
    return server_spec(hosts[0], dns_names=tuple(dns), ip_addresses=tuple(ips))


GATEWAY_CA_PURPOSE = "Kernel Gateway"
# The hub's client CA: its key goes to the hub container only, which issues each user a
# short-lived client certificate at spawn (images/hub/jhz_client_certs.py). A CA of its
# own, so the hub can make client certificates but never a gateway's server certificate.
CLIENT_CA_PURPOSE = "Kernel Gateway clients"


@dataclass(frozen=True)
class GatewayPkiArgs:
    """`server_hosts`: see `server_hosts()`."""

    server_hosts: Sequence[str]


class GatewayPki(pulumi.ComponentResource):
    """The gateway's CA and server certificate, and the client CA the hub issues users'
    certificates from. Fixed size: nothing here is per user.

    `ca` and `server` are for the dev gateway (or to install on the gateway at KG_URL),
    `client_ca` for the hub (its key) and the gateway (its certificate, as client_ca)."""

    ca: IssuedCert
    server: IssuedCert
    client_ca: IssuedCert

    def __init__(
        self, name: str, args: GatewayPkiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:pki:GatewayPki", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.ca = self_signed_ca(f"{name}-ca", ca_spec(GATEWAY_CA_PURPOSE), child)
        self.server = signed_cert(
            f"{name}-server", gateway_server_spec(args.server_hosts), self.ca, child
        )
        self.client_ca = self_signed_ca(f"{name}-client-ca", ca_spec(CLIENT_CA_PURPOSE), child)
        self.register_outputs(
            {
                "ca_cert_pem": self.ca.cert_pem,
                "server_cert_pem": self.server.cert_pem,
                "client_ca_cert_pem": self.client_ca.cert_pem,
            }
        )
