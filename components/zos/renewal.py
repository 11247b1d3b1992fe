"""When the RACF certificates the program makes end, and when they are re-issued.

A Pulumi program is deterministic in its inputs: `pulumi up` runs a step again only when
its command text changes. So the end date of every certificate is put on a fixed
schedule, counted from EPOCH in periods of (validity - renewal window) days: a
certificate made during period N ends at the start of period N+1 plus the renewal
window (its validity is at most ZOS_CERT_VALIDITY_DAYS, the first one's is shorter, at
least ZOS_CERT_RENEW_DAYS). That end date is a variable of the step's script, so it
changes exactly once a period: on the first `up` of a new period the step runs again,
LISTs the certificate and re-issues it when RACF says it ends before this period's end
date, which for the program's own certificates means: inside the renewal window (or
expired). Within a period the scripts are the same from one `up` to the next (no change).

The CA has its own, longer schedule (CA_VALIDITY_DAYS); its end date is in its subject,
so a re-issued CA has another name and what it signed is re-issued too (racf.to_sign).
The steps that use a certificate (the ring's connections, the exports) carry the end
dates of the certificates they use, so they run again when one is re-issued; the AT-TLS
policy's EnvironmentUserInstance follows them, so PAGENT's refresh rebuilds the
environment that reads the ring.

`pulumi up` has to run at least once inside each renewal window (a daily or weekly
schedule is plenty): a certificate no `up` re-issued ends on its date.
"""

from __future__ import annotations

import datetime
import re

from components.settings import ZosSettings

EPOCH = datetime.date(2000, 1, 1)
# The CA: ten years at most (the policy pack's maxCaValidityHours is 87672, ~3653 days).
CA_VALIDITY_DAYS = 3650


def scheduled_end(today: datetime.date, validity_days: int, renew_days: int) -> datetime.date:
    """The end date of a certificate made `today`: the start of the next period plus the
    renewal window. A certificate ending earlier is due (the create re-issues it)."""
    if not 0 < renew_days < validity_days:
        raise ValueError(
            f"the renewal window ({renew_days} days) must be shorter than the validity "
            f"({validity_days} days)"
        )
    period = validity_days - renew_days
    index = (today - EPOCH).days // period
    return EPOCH + datetime.timedelta(days=(index + 1) * period + renew_days)


def cert_until(zos: ZosSettings) -> str:
    """NOTAFTER (YYYY-MM-DD) of the server and users' certificates made today."""
    return scheduled_end(zos.today, zos.cert_validity_days, zos.cert_renew_days).isoformat()


def ca_until(zos: ZosSettings) -> str:
    """NOTAFTER of the CA made today: renewed as early before its end as the validity of
    what it signs, so nothing it signed outlives it."""
    return scheduled_end(zos.today, CA_VALIDITY_DAYS, zos.cert_validity_days).isoformat()


def environment_instance(zos: ZosSettings) -> int:
    """The AT-TLS policy's EnvironmentUserInstance: new whenever the CA's or the server
    certificate's end date is. A PAGENT refresh alone does not rebuild an environment
    whose key ring's contents changed; "incrementing the instance number forces a
    refresh of AT-TLS" (IBM, attls_action_refresh.htm; research notes zos_anchors.md)."""
    ends = (cert_until(zos), ca_until(zos))
    return sum((datetime.date.fromisoformat(end) - EPOCH).days for end in ends)


# What each certificate step prints on stdout, once: `EXPIRY <owner> <end date> <label>`
# (owner CERTAUTH or ID(user)); stack.py gathers them into the zos_cert_expiry output.
EXPIRY_MARK = "jupyterhub-zos-expiry"
_EXPIRY = re.compile(rf"^{EXPIRY_MARK} (\S+) (\d{{4}}-\d{{2}}-\d{{2}}) (.+)$", re.MULTILINE)


def parse_expiry(stdout: str) -> dict[str, str]:
    """`{"<owner>/<label>": "YYYY-MM-DD"}` from a step's stdout (empty under mocks)."""
    return {f"{owner}/{label.strip()}": end for owner, end, label in _EXPIRY.findall(stdout)}
