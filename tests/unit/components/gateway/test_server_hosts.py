"""Which names the gateway's server certificate carries."""

from __future__ import annotations

import pytest

from components.gateway.pki import gateway_server_spec, server_hosts


def test_server_hosts_are_the_dev_container_and_kg_url_host_each_once():
    assert server_hosts("jupyterhub-gateway", None) == ("jupyterhub-gateway",)
    assert server_hosts(None, "https://kg.example.org:8099") == ("kg.example.org",)
    assert server_hosts("gw", "https://gw:8888") == ("gw",)
    assert server_hosts("gw", "https://10.1.2.3:8099") == ("gw", "10.1.2.3")


def test_server_hosts_need_a_name():
    with pytest.raises(ValueError, match="KG_URL"):
        server_hosts(None, None)


def test_ip_hosts_become_ip_sans_and_names_dns_sans():
    spec = gateway_server_spec(["gw", "10.1.2.3", "::1", "kg.example.org"])
    assert spec.common_name == "gw"
    assert spec.dns_names == ("gw", "kg.example.org")
    assert spec.ip_addresses == ("10.1.2.3", "::1")
    assert "server_auth" in spec.allowed_uses and not spec.is_ca
