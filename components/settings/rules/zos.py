"""z/OS: its keys only with ZOS_HOST, what it needs with it, a gateway URL that matches
the AT-TLS rule's port, and one z/OS ID per hub user."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from components.settings.errors import Problem
from components.settings.rules.common import need

ZOS_ONLY = (
    "ZOS_SSH_USER",
    "ZOS_SSH_PRIVATE_KEY",
    "ZOS_SSH_HOST_KEY",
    "ZOS_USERS",
    "ZOS_P12_PASSWORD",
    "ZOS_CERT_NOTAFTER",
    "ZOS_KG_CONFIG_DIR",
    "ZOS_KG_STARTED_TASK",
    "ZOS_USER_CERTS",
    "ZOS_KG_SERVER_TLS",
)


def check(v: dict[str, Any], bad: set[str], stack: str) -> list[Problem]:
    problems: list[Problem] = []
    if v.get("ZOS_HOST") is None and "ZOS_HOST" not in bad:
        for key in ZOS_ONLY:
            if v.get(key) not in (None, {}):
                problems.append(
                    Problem(key, "is only used with ZOS_HOST; set ZOS_HOST or unset this key")
                )
        return problems
    if v.get("ZOS_HOST") is None:
        return problems
    problems += need(
        v, bad, "ZOS_SSH_USER", "with ZOS_HOST: the z/OS user ID the program logs in as"
    )
    problems += need(
        v, bad, "ZOS_SSH_PRIVATE_KEY", "with ZOS_HOST: that user's SSH private key (--secret)"
    )
    problems += need(
        v,
        bad,
        "ZOS_SSH_HOST_KEY",
        "with ZOS_HOST: the z/OS SSH server's public host key, "
        "so the host is verified (ssh-keyscan it and check the fingerprint)",
    )
    kg_url = v.get("KG_URL")
    if kg_url is not None:  # https:// (values.py refuses anything else)
        parts = urlsplit(kg_url)
        if parts.hostname == v["ZOS_HOST"] and (parts.port or 443) != v.get("ZOS_KG_PORT", 8099):
            problems.append(
                Problem(
                    "KG_URL",
                    f"port {parts.port or 443} differs from "
                    f"ZOS_KG_PORT {v.get('ZOS_KG_PORT', 8099)}, the port the "
                    "gateway and its AT-TLS rule use",
                )
            )
    lifecycle = v.get("ZOS_KG_LIFECYCLE", "manual")
    if lifecycle == "started-task" and "ZOS_KG_LIFECYCLE" not in bad:
        problems += need(
            v,
            bad,
            "ZOS_KG_STARTED_TASK",
            "with ZOS_KG_LIFECYCLE=started-task: the gateway's started procedure "
            "(S/P operator commands start and stop it)",
        )
    elif v.get("ZOS_KG_STARTED_TASK") is not None and "ZOS_KG_LIFECYCLE" not in bad:
        problems.append(
            Problem(
                "ZOS_KG_STARTED_TASK",
                "is only used with ZOS_KG_LIFECYCLE=started-task; set that or unset this key",
            )
        )
    # A notebook user's kernels run under the mapped ID: never the program's own login
    # (RACF authority) nor the gateway's (it can switch to every notebook user).
    privileged = {
        str(v[key]).upper(): key
        for key in ("ZOS_SSH_USER", "ZOS_KG_USER")
        if v.get(key) is not None and key not in bad
    }
    mapped = sorted(
        f"{user} -> {zos_id} (the {privileged[str(zos_id).upper()]})"
        for user, zos_id in v.get("ZOS_USERS", {}).items()
        if str(zos_id).upper() in privileged
    )
    if mapped:
        problems.append(
            Problem(
                "ZOS_USERS",
                "maps hub users to an ID the program or the gateway runs as: "
                + ", ".join(mapped)
                + "; give each notebook user a z/OS ID of their own",
            )
        )
    problems += _users_match(v, bad)
    problems += _admin_mode(v, bad)
    validity, renew = v.get("ZOS_CERT_VALIDITY_DAYS", 365), v.get("ZOS_CERT_RENEW_DAYS", 30)
    if not bad & {"ZOS_CERT_VALIDITY_DAYS", "ZOS_CERT_RENEW_DAYS"} and renew >= validity:
        problems.append(
            Problem(
                "ZOS_CERT_RENEW_DAYS",
                f"({renew}) must be shorter than ZOS_CERT_VALIDITY_DAYS ({validity}): a "
                "certificate is re-issued that many days before it ends, so it would be due "
                "again as soon as it is made",
            )
        )
    ids = list(v.get("ZOS_USERS", {}).values())
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(
            Problem(
                "ZOS_USERS",
                f"z/OS user IDs must be unique: {', '.join(dupes)} appears more than once",
            )
        )
    return problems


def _users_match(v: dict[str, Any], bad: set[str]) -> list[Problem]:
    """Behind AT-TLS a kernel runs under the z/OS ID RACF maps the client certificate to,
    and RACF makes that certificate per ZOS_USERS entry: a hub user without an entry can
    log in but never start a kernel, and an entry that is no hub user is a RACF
    certificate nobody can use."""
    # Without AT-TLS in admin mode the hub issues no certificates either: every hub user
    # needs the administrator's (ZOS_USER_CERTS, one per ZOS_USERS entry).
    admin = v.get("ZOS_RACF_MODE", "program") == "admin"
    if not (v.get("ZOS_ATTLS", True) or admin) or bad & {
        "ZOS_USERS",
        "HUB_ADMIN_USERS",
        "HUB_ALLOWED_USERS",
    }:
        return []
    mapped = set(v.get("ZOS_USERS", {}))
    hub_users = set(v.get("HUB_ADMIN_USERS", [])) | set(v.get("HUB_ALLOWED_USERS", []))
    if v.get("ZOS_ATTLS", True):
        why = "with ZOS_HOST and ZOS_ATTLS each hub user's kernels run under their own z/OS user ID"
    else:  # admin mode: kernels run as ZOS_KG_USER, but the hub issues no certificate
        why = (
            "with ZOS_RACF_MODE=admin the hub issues no client certificate, so each hub user "
            "needs the administrator's (ZOS_USER_CERTS, one per ZOS_USERS entry)"
        )
    problems = []
    for key in ("HUB_ADMIN_USERS", "HUB_ALLOWED_USERS"):
        missing = sorted(set(v.get(key, [])) - mapped)
        if missing:
            problems.append(
                Problem(
                    key,
                    f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no ZOS_USERS "
                    f"entry: {why}, so without one they can log in but never start a kernel. "
                    f"Add it: pulumi config set --path 'ZOS_USERS.{missing[0]}' <z/OS ID>",
                )
            )
    extra = sorted(mapped - hub_users)
    if extra:
        problems.append(
            Problem(
                "ZOS_USERS",
                f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not in HUB_ADMIN_USERS "
                "or HUB_ALLOWED_USERS: the RACF client certificate made for "
                f"{'it' if len(extra) == 1 else 'them'} could not be used by anyone. Add the user "
                f"with pulumi config set --path 'HUB_ALLOWED_USERS[<next index>]' {extra[0]}, or "
                f"remove the entry with pulumi config rm --path 'ZOS_USERS.{extra[0]}'",
            )
        )
    return problems


def _admin_mode(v: dict[str, Any], bad: set[str]) -> list[Problem]:
    """ZOS_RACF_MODE=admin: the security administrator runs every RACF and AT-TLS command
    (the rendered script) and exports each user's certificate; ZOS_USER_CERTS carries
    those, each checked here (components/delivery/supplied.py) before any resource."""
    from components.delivery.supplied import check_all

    admin = v.get("ZOS_RACF_MODE", "program") == "admin"
    if "ZOS_RACF_MODE" in bad:
        return []
    if not admin:
        return [
            Problem(
                key,
                "is only used with ZOS_RACF_MODE=admin (the program makes the certificates "
                "itself otherwise); set that or unset this key",
            )
            for key in ("ZOS_USER_CERTS", "ZOS_KG_SERVER_TLS")
            if v.get(key)
        ]
    problems = []
    if bad & {"ZOS_USER_CERTS", "ZOS_USERS"}:
        good = {}
    else:
        good, lines = check_all(
            v.get("ZOS_USER_CERTS", {}),
            v.get("ZOS_USERS", {}),
            distinct_cns=not v.get("ZOS_ATTLS", True),  # the gateway knows users by CN
        )
        problems += [Problem("ZOS_USER_CERTS", line) for line in lines]
    if "ZOS_ATTLS" not in bad and "ZOS_KG_SERVER_TLS" not in bad:
        problems += _server_tls(v, bad, good)
    return problems


def _server_tls(v: dict[str, Any], bad: set[str], users: dict) -> list[Problem]:
    """Admin mode: behind AT-TLS the gateway's certificate stays in RACF (on its ring);
    without it the gateway does TLS itself with the certificate and key the administrator
    exported (ZOS_KG_SERVER_TLS), checked here: it names the gateway's host, and its CA is
    the one the users' certificates chain to (the gateway checks them against it, and the
    notebooks check the gateway against the CA delivered with theirs)."""
    from components.delivery.supplied import BadEntry, check_server

    entry = v.get("ZOS_KG_SERVER_TLS") or {}
    key = "ZOS_KG_SERVER_TLS"
    if v.get("ZOS_ATTLS", True):
        if entry:
            return [
                Problem(
                    key,
                    "is only used with ZOS_ATTLS=false: behind AT-TLS the gateway's certificate "
                    "is the one on its key ring (the administrator's script makes it); unset it",
                )
            ]
        return []
    if not entry:
        return [
            Problem(
                key,
                "with ZOS_RACF_MODE=admin and ZOS_ATTLS=false the gateway does TLS itself with "
                "a certificate and key the security administrator exports (the script writes "
                "kg-server.p12.b64): pulumi config set --secret --path 'ZOS_KG_SERVER_TLS.p12' "
                "< kg-server.p12.b64, and --path 'ZOS_KG_SERVER_TLS.password'",
            )
        ]
    if "KG_URL" in bad or "ZOS_HOST" in bad:
        return []
    host = urlsplit(v["KG_URL"]).hostname if v.get("KG_URL") else None
    try:
        checked = check_server(entry, host or v["ZOS_HOST"])
    except BadEntry as exc:
        return [Problem(key, f"the gateway's certificate: {exc}")]
    others = sorted(u for u, c in users.items() if c.root_sha256 != checked.root_sha256)
    if others:
        return [
            Problem(
                key,
                "the gateway's certificate chains to another CA than the users' certificates of "
                f"{', '.join(others)}: the gateway checks clients against its own CA and the "
                "notebooks check the gateway against theirs, so issue all from one CA",
            )
        ]
    return []
