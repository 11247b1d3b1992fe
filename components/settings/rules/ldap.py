"""LDAP: the dev directory or your own server, and never passwords in clear text to it.
Your own server: users bind by a DN template (LDAP_BIND_DN), or are found by a search
first (LDAP_USER_SEARCH_BASE: Active Directory, or DNs that follow no one template)."""

from __future__ import annotations

from typing import Any

from components.settings.contract import StackConfig
from components.settings.errors import Problem
from components.settings.rules.common import dev_service, need

# Search-then-bind's keys besides LDAP_USER_SEARCH_BASE: they mean nothing without it.
SEARCH_KEYS = (
    "LDAP_USER_ATTRIBUTE",
    "LDAP_USER_SEARCH_FILTER",
    "LDAP_SEARCH_BIND_DN",
    "LDAP_SEARCH_BIND_PASSWORD",
)
_DEFAULTS = {key: StackConfig.model_fields[key].default for key in StackConfig.model_fields}


def _set(v: dict[str, Any], key: str) -> bool:
    """Set to something other than its default (a default spelled out changes nothing)."""
    return v.get(key) not in (None, "", [], {}) and v.get(key) != _DEFAULTS[key]


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
        own_server_keys = (
            "LDAP_BIND_DN",
            "LDAP_CA_CERT",
            "LDAP_SERVER_PORT",
            "LDAP_USER_SEARCH_BASE",
            "LDAP_GROUP_SEARCH_FILTER",
            *SEARCH_KEYS,
        )
        for key in own_server_keys:
            if _set(v, key):
                problems.append(
                    Problem(
                        key,
                        "is only for your own LDAP server; set LDAP_SERVER_HOST too, "
                        "or unset it to use the dev directory",
                    )
                )
    if ldap_host is not None:
        problems += _own_server(v, bad)
    return problems


def _own_server(v: dict[str, Any], bad: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    search = v.get("LDAP_USER_SEARCH_BASE") is not None
    if search and v.get("LDAP_BIND_DN"):
        problems.append(
            Problem(
                "LDAP_BIND_DN",
                "is set together with LDAP_USER_SEARCH_BASE: set one. LDAP_BIND_DN: users "
                "bind by a DN template; LDAP_USER_SEARCH_BASE: each user's DN is found by a "
                "search first (Active Directory, DNs in several branches)",
            )
        )
    elif not search and "LDAP_USER_SEARCH_BASE" not in bad:
        problems += need(
            v,
            bad,
            "LDAP_BIND_DN",
            "with LDAP_SERVER_HOST: the DN template users bind as, with {username} "
            "(or set LDAP_USER_SEARCH_BASE to find users by a search)",
        )
    if not search and "LDAP_USER_SEARCH_BASE" not in bad:
        for key in SEARCH_KEYS:
            if _set(v, key):
                problems.append(
                    Problem(
                        key,
                        "is only used to find users by a search; set LDAP_USER_SEARCH_BASE "
                        "(e.g. ou=people,dc=example,dc=org) too, or unset it",
                    )
                )
    elif search:
        # The search account: both or neither (neither: an anonymous search).
        dn, password = "LDAP_SEARCH_BIND_DN", "LDAP_SEARCH_BIND_PASSWORD"
        if (dn in v) != (password in v):
            missing, given = (password, dn) if dn in v else (dn, password)
            if missing not in bad and given not in bad:
                problems.append(
                    Problem(
                        missing,
                        f"must be set together with {given}: the account the hub searches "
                        f"as (unset both to search anonymously; set {password} with --secret)",
                    )
                )
    if _set(v, "LDAP_GROUP_SEARCH_FILTER") and not v.get("LDAP_ALLOWED_GROUPS"):
        problems.append(
            Problem(
                "LDAP_GROUP_SEARCH_FILTER",
                "has no effect without LDAP_ALLOWED_GROUPS (the groups whose members may "
                "log in); set that too, or unset this",
            )
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
