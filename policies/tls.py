"""TLS: AT-TLS policies keep old protocols off; certificates expire and renew in time.

AT-TLS policy text is found wherever a command resource runs or ships it (here-documents,
stdin, CopyToRemote assets, base64 blobs) and parsed statement by statement; pulumi-tls
certificates are checked for a bounded validity and an early-renewal window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import LOCALLY_SIGNED_CERT, SELF_SIGNED_CERT, UNKNOWN, config, flag, get, script_texts
from .rule import MANDATORY, Rule


@dataclass
class Stanza:
    """One AT-TLS policy statement: `Keyword args...` with an optional { block }."""

    keyword: str
    args: list[str]
    children: list[Stanza] | None
    line: int

    def key(self) -> str:
        return self.keyword.lower()

    def param(self, name: str) -> str | None:
        for child in self.children or []:
            if child.key() == name.lower() and child.args:
                return child.args[0]
        return None


def parse_attls(policy: str) -> list[Stanza]:
    """AT-TLS policy text as statements (comments dropped); braces must balance."""
    tokens: list[tuple[str, int]] = []
    for number, line in enumerate(policy.splitlines(), 1):
        line = line.split("#", 1)[0]
        for token in re.sub(r"([{}])", r" \1 ", line).split():
            tokens.append((token, number))
    pos = 0

    def block(depth: int) -> list[Stanza]:
        nonlocal pos
        stanzas: list[Stanza] = []
        while pos < len(tokens):
            word, number = tokens[pos]
            if word == "}":
                if depth == 0:
                    raise ValueError(f"line {number}: '}}' without '{{'")
                pos += 1
                return stanzas
            if word == "{":
                raise ValueError(f"line {number}: '{{' without a statement")
            pos += 1
            args = []
            while pos < len(tokens) and tokens[pos][1] == number and tokens[pos][0] not in "{}":
                args.append(tokens[pos][0])
                pos += 1
            children = None
            if pos < len(tokens) and tokens[pos][0] == "{":
                pos += 1
                children = block(depth + 1)
            stanzas.append(Stanza(word, args, children, number))
        if depth:
            raise ValueError("a '{' is never closed")
        return stanzas

    return block(0)


HEREDOC_RE = re.compile(r"<<-?\s*(['\"]?)(\w+)\1[^\n]*\n(.*?)\n[ \t]*\2[ \t]*$", re.S | re.M)
TTLS_RE = re.compile(r"^\s*TTLSRule\b", re.IGNORECASE | re.MULTILINE)
OLD_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")


def attls_policies(script: str) -> Iterator[str]:
    """AT-TLS policy texts in a script: here-documents that hold a TTLSRule, or the
    whole text when it is a policy itself."""
    found = False
    for match in HEREDOC_RE.finditer(script):
        if TTLS_RE.search(match[3]):
            found = True
            yield match[3]
    if not found and TTLS_RE.search(script):
        yield script


def attls_problems(policy: str) -> list[str]:
    """What lets TLSv1, TLSv1.1 (or SSL) in, per statement."""
    try:
        stanzas = parse_attls(policy)
    except ValueError as exc:
        return [f"the AT-TLS policy does not parse ({exc}), so Policy Agent would reject it"]
    problems: list[str] = []

    def scan(items: list[Stanza]) -> None:
        for s in items:
            if s.children is not None:
                for proto in OLD_PROTOCOLS:
                    value = s.param(proto)
                    if value is not None and value.lower() == "on":
                        problems.append(f"{s.keyword} {' '.join(s.args)} sets {proto} On")
                scan(s.children)

    scan(stanzas)
    advanced = {
        s.args[0].lower(): s
        for s in stanzas
        if s.key() == "ttlsenvironmentadvancedparms" and s.args and s.children is not None
    }
    for action in (s for s in stanzas if s.key() == "ttlsenvironmentaction"):
        label = f"TTLSEnvironmentAction {' '.join(action.args)}".strip()
        parms = [c for c in action.children or [] if c.key() == "ttlsenvironmentadvancedparms"]
        for ref in (
            c for c in action.children or [] if c.key() == "ttlsenvironmentadvancedparmsref"
        ):
            target = advanced.get(ref.args[0].lower()) if ref.args else None
            if target is None:
                problems.append(f"{label} refers to a missing TTLSEnvironmentAdvancedParms")
            else:
                parms.append(target)
        if not parms:
            problems.append(
                f"{label} has no TTLSEnvironmentAdvancedParms, so TLSv1 and TLSv1.1 take "
                "AT-TLS's defaults (On)"
            )
        for p in parms:
            for proto in ("TLSv1", "TLSv1.1"):
                value = p.param(proto)
                if value is None:
                    problems.append(
                        f"{label}: its advanced parms do not say `{proto} Off` (the default is On)"
                    )
    return sorted(set(problems))


def validate_attls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for field, script in script_texts(args):
        for policy in attls_policies(script):
            for problem in attls_problems(policy):
                report(
                    f"{args.name!r} ({field}): {problem}. Set `TLSv1 Off` and `TLSv1.1 Off` "
                    "(and TLSv1.2 On) in every TTLSEnvironmentAdvancedParms."
                )


ATTLS_OLD_PROTOCOLS_OFF = Rule(
    name="attls-old-protocols-off",
    description="AT-TLS policies turn TLSv1 and TLSv1.1 (and SSL) off explicitly.",
    level=MANDATORY,
    validate=validate_attls,
    defaults={},
    descriptions={},
    severity=Severity.HIGH,
    remediation="Add `TLSv1 Off`, `TLSv1.1 Off`, `TLSv1.2 On` to every "
    "TTLSEnvironmentAdvancedParms.",
)


# certificates: bounded validity and early renewal -------------------------------------

CERTS_DEFAULTS = {
    "maxCaValidityHours": 10 * 365 * 24,
    "maxValidityHours": 398 * 24,
    "minEarlyRenewalHours": 24,
}
CERTS_DESCRIPTIONS = {
    "maxCaValidityHours": "Longest validity of a CA certificate (hours).",
    "maxValidityHours": "Longest validity of any other certificate (hours).",
    "minEarlyRenewalHours": "Shortest renewal window before expiry (hours).",
}


def validate_certificates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (SELF_SIGNED_CERT, LOCALLY_SIGNED_CERT):
        return
    cfg = config(args, CERTS_DEFAULTS)
    validity = get(args.props, "validityPeriodHours")
    renewal = get(args.props, "earlyRenewalHours")
    is_ca = flag(get(args.props, "isCaCertificate")) or False
    limit = cfg["maxCaValidityHours"] if is_ca else cfg["maxValidityHours"]
    what = "CA certificate" if is_ca else "certificate"
    number = isinstance(validity, int | float) and not isinstance(validity, bool)
    if number and not 0 < validity <= limit:
        report(
            f"{what} {args.name!r} is valid for {int(validity)} hours; the limit is "
            f"{limit} ({limit // 24} days). A stolen key stays useful that long: shorten "
            "validity_period_hours (components/pki/specs.py)."
        )
    if renewal is UNKNOWN or validity is UNKNOWN:
        return
    renewal = 0 if renewal is None else renewal
    if not isinstance(renewal, int | float) or isinstance(renewal, bool):
        return
    if renewal < cfg["minEarlyRenewalHours"]:
        report(
            f"{what} {args.name!r} has early_renewal_hours={int(renewal)}: no `pulumi up` "
            "renews it before it expires, so TLS breaks on the expiry date. Set "
            f"early_renewal_hours to at least {cfg['minEarlyRenewalHours']} (cert_params)."
        )
    elif isinstance(validity, int | float) and renewal >= validity:
        report(
            f"{what} {args.name!r} has early_renewal_hours={int(renewal)} >= its validity "
            f"({int(validity)}): it is due for renewal as soon as it is made, so every "
            "`pulumi up` replaces it. Make the renewal window shorter than the validity."
        )


CERTIFICATES_BOUNDED_RENEWED = Rule(
    name="certificates-bounded-renewed",
    description="Certificates have a bounded validity and an early-renewal window.",
    level=MANDATORY,
    validate=validate_certificates,
    defaults=CERTS_DEFAULTS,
    descriptions=CERTS_DESCRIPTIONS,
    severity=Severity.MEDIUM,
    remediation="Set validity_period_hours within the limit and 0 < early_renewal_hours < "
    "validity.",
)

RULES = [ATTLS_OLD_PROTOCOLS_OFF, CERTIFICATES_BOUNDED_RENEWED]
