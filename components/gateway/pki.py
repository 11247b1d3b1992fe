"""The Kernel Gateway's PKI with pulumi-tls: a CA, the gateway's server certificate and
one client certificate per hub user (CN = the user name).

Used when the certificates are not RACF's (no ZOS_HOST): for the dev gateway container,
and for a gateway of one's own at KG_URL, which then installs the exported server
certificate and trusts the exported CA. All parameters come from components.pki.specs,
the functions the tests also make their certificates with.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi

from components.delivery.material import UserPki
from components.pki.resources import IssuedCert, self_signed_ca, signed_cert
from components.pki.specs import CertSpec, ca_spec, client_spec, server_spec


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


@dataclass(frozen=True)
class GatewayPkiArgs:
    """`users`: every hub user (admins and allowed users); `server_hosts`: see
    `server_hosts()`."""

    users: Sequence[str]
    server_hosts: Sequence[str]


class GatewayPki(pulumi.ComponentResource):
    """CA, gateway server certificate, and a client certificate for every user.

    `user_pki` is what the delivery writes to each user's /etc/jupyterpki; `ca` and
    `server` are for the dev gateway (or to install on the gateway at KG_URL)."""

    ca: IssuedCert
    server: IssuedCert
    user_pki: dict[str, UserPki]

    def __init__(
        self, name: str, args: GatewayPkiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:pki:GatewayPki", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if not args.users:
            raise ValueError("GatewayPki needs at least one user (HUB_ADMIN_USERS)")

        self.ca = self_signed_ca(f"{name}-ca", ca_spec(GATEWAY_CA_PURPOSE), child)
        self.server = signed_cert(
            f"{name}-server", gateway_server_spec(args.server_hosts), self.ca, child
        )
        # The CA certificate is public, but each user's bundle is handled as one secret.
        ca_pem = pulumi.Output.secret(self.ca.cert_pem)
        self.user_pki = {}
        for user in dict.fromkeys(args.users):
            issued = signed_cert(f"{name}-user-{user}", client_spec(user), self.ca, child)
            self.user_pki[user] = UserPki(
                cert_pem=pulumi.Output.secret(issued.cert_pem),
                key_pem=issued.key_pem,
                ca_pem=ca_pem,
            )

        self.register_outputs(
            {
                "ca_cert_pem": self.ca.cert_pem,
                "server_cert_pem": self.server.cert_pem,
                "users": sorted(self.user_pki),
            }
        )
