"""LDAP: the dev directory or your own server, and never passwords in clear text to it."""

from __future__ import annotations

from typing import Any

from components.settings.errors import Problem
from components.settings.rules.common import dev_service, need


def check(v: dict[str, Any], bad: set[str], stack: str) -> list[Problem]:
    problems: list[Problem] = []
    ldap_host = v.get("LDAP_SERVER_HOST")
    if ldap_host is None and "LDAP_SERVER_HOST" not in bad:
        problems += dev_service(
            v,
            stack,
            "LDAP_SERVER_HOST",
            "the dev directory",
            "its users' passwords are derived from one stack secret and its data is not managed",
        )
        for key in ("LDAP_BIND_DN", "LDAP_CA_CERT", "LDAP_SERVER_PORT"):
            if v.get(key):
                problems.append(
                    Problem(
                        key,
                        "is only for your own LDAP server; set LDAP_SERVER_HOST too, "
                        "or unset it to use the dev directory",
                    )
                )
    if ldap_host is not None:
        problems += need(
            v,
            bad,
            "LDAP_BIND_DN",
            "with LDAP_SERVER_HOST: the DN template users bind as, with {username}",
        )
        if v.get("LDAP_SERVER_PORT") == 636 and v.get("LDAP_TLS", "starttls") == "starttls":
            problems.append(
                Problem(
                    "LDAP_TLS",
                    "is starttls, but LDAP_SERVER_PORT is 636, the LDAPS port: a server there "
                    "expects TLS from the first byte, so StartTLS (plain LDAP, then an upgrade) "
                    "cannot connect. Set LDAP_TLS=ldaps (pulumi config set LDAP_TLS ldaps), or "
                    "use the server's StartTLS port (usually 389)",
                )
            )
        if v.get("LDAP_TLS") == "none":
            problems.append(
                Problem(
                    "LDAP_TLS",
                    "'none' sends users' passwords in clear text to the LDAP "
                    "server; it is only allowed for the dev directory on the private Docker "
                    "network. Use 'starttls' or 'ldaps'",
                )
            )
    return problems
