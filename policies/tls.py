"""TLS: AT-TLS policies keep old protocols off; certificates expire and renew in time.

AT-TLS policy text is found wherever a command resource runs or ships it (here-documents,
stdin, CopyToRemote assets, base64 blobs) and parsed statement by statement; pulumi-tls
certificates are checked for a bounded validity and an early-renewal window.
"""

from __future__ import annotations

import datetime
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import (
    COMMANDS,
    LOCALLY_SIGNED_CERT,
    SELF_SIGNED_CERT,
    UNKNOWN,
    config,
    flag,
    get,
    script_texts,
)
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


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "r": "", "'": "'", '"': '"', "a": "", "v": "\v"}


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), value, flags=re.S)


_CONVERSION_RE = re.compile(r"%(?:[-+ #0]*\d*(?:\.\d+)?)([sbdi%])")


def _printf_once(fmt: str, args: list[str]) -> tuple[str, int]:
    """One pass of printf's format: the text, and how many arguments it used."""
    out, used, pos = [], 0, 0
    for match in _CONVERSION_RE.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        if match[1] == "%":
            out.append("%")
            continue
        value = args[used] if used < len(args) else ""
        used += 1
        out.append(_unescape(value) if match[1] == "b" else value)
    out.append(fmt[pos:])
    return "".join(out), used


def _printf(words: list[str]) -> str:
    """What `printf FORMAT ARGS...` prints (%s, %b, %d and %%; the format reused until
    the arguments are used up, as printf does)."""
    if not words:
        return ""
    fmt, args = _unescape(words[0]), words[1:]
    out: list[str] = []
    while True:
        text_, used = _printf_once(fmt, args)
        out.append(text_)
        args = args[used:]
        if not args or not used:
            return "".join(out)


def _shell_words(script: str) -> list[str] | None:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return None


def printed_text(script: str) -> str:
    """What the script's printf and echo commands print, all of it in order: a policy
    can be written line by line (printf '%s\\n' 'TTLSRule x' '{' ...) or appended
    command by command (printf ... >> file)."""
    script = script.replace("\\\n", " ")
    words = _shell_words(script)
    if words is None:  # unbalanced quotes somewhere: line by line, skipping what fails
        words = [w for line in script.splitlines() for w in (_shell_words(line) or []) + ["\n"]]
    command: list[str] = []
    printed: list[str] = []

    def flush() -> None:
        if command and command[0] == "printf":
            printed.append(_printf(command[1:]))
        elif command and command[0] == "echo":
            args = command[1:]
            escapes = bool(args) and args[0] == "-e"
            args = args[1:] if args and args[0] in ("-e", "-n", "-E") else args
            line = " ".join(args)
            printed.append((_unescape(line) if escapes else line) + "\n")
        command.clear()

    redirected = False
    for word in words:
        if word and set(word) <= set(";&|()<>\n") and ("<" in word or ">" in word):
            if command and command[-1].isdigit():
                command.pop()  # 2>file: the descriptor, not an argument
            redirected = True  # the next word is where it goes, not what it prints
        elif word and set(word) <= set(";&|()\n"):
            flush()
            redirected = False
        elif redirected:
            redirected = False
        else:
            command.append(word)
    flush()
    return "".join(printed)


def attls_policies(script: str) -> Iterator[str]:
    """AT-TLS policy texts in a script: here-documents that hold a TTLSRule, what its
    printf/echo commands print, or the whole text when it is a policy itself."""
    found = False
    for match in HEREDOC_RE.finditer(script):
        if TTLS_RE.search(match[3]):
            found = True
            yield match[3]
    if found:
        return
    printed = printed_text(HEREDOC_RE.sub("", script))
    if TTLS_RE.search(printed):
        found = True
        yield printed
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
    "maxCaValidityHours": 3653 * 24,  # ten calendar years, leap days included
    "maxValidityHours": 398 * 24,
    "minEarlyRenewalHours": 24,
}
CERTS_DESCRIPTIONS = {
    "maxCaValidityHours": "Longest validity of a CA certificate (hours).",
    "maxValidityHours": "Longest validity of any other certificate (hours).",
    "minEarlyRenewalHours": "Shortest renewal window before expiry (hours).",
}


# RACF: `RACDCERT ... GENCERT ...` in a command's text. Without NOTAFTER a certificate
# is valid for one year from NOTBEFORE (default: now), per the RACDCERT GENCERT reference.
GENCERT_RE = re.compile(r"\bRACDCERT\b[^\n]*?\bGENCERT\b[^\n]*", re.IGNORECASE)
RACF_DATE_RE = r"{}\(\s*DATE\(\s*([^)\s]+)\s*\)"
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# VAR="$(( $(date +%Y) + N ))-MM-DD": a date computed on z/OS when the script runs.
COMPUTED_YEAR_RE = r"^\$\(\(\s*\$\(date \+%Y\)\s*\+\s*(\d+)\s*\)\)-(\d{2})-(\d{2})$"
RACF_DEFAULT_VALIDITY_DAYS = 365


def _racf_date(value: str, script: str, today: datetime.date) -> datetime.date | None:
    """A GENCERT DATE(...) value as a date: a literal, or a variable the script sets to a
    literal or to a year computed from `date +%Y`. None when it cannot be told."""
    name = re.fullmatch(r"\$\{?(\w+)\}?", value)
    if name:
        assigned = re.findall(
            rf"(?:^|[\s;]){name[1]}=(['\"]?)([^'\"\s;]+(?:\s*[^'\"\n;]*)?)\1", script
        )
        if not assigned:
            return None
        value = assigned[-1][1].strip()
    value = value.strip("'\"")
    try:
        if match := DATE_RE.match(value):
            return datetime.date(int(match[1]), int(match[2]), int(match[3]))
        if match := re.match(COMPUTED_YEAR_RE, value):
            return datetime.date(today.year + int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return None


def racf_certificates(script: str, today: datetime.date) -> Iterator[tuple[str, bool, int | None]]:
    """(the GENCERT command, is a CA, validity in days or None when it cannot be told) of
    each RACF certificate the script makes."""
    joined = re.sub(r"\\\n", "", script)
    for match in GENCERT_RE.finditer(joined):
        command = match[0]
        is_ca = re.search(r"\bGENCERT\s+CERTAUTH\b", command, re.IGNORECASE) is not None
        start = today
        if before := re.search(RACF_DATE_RE.format("NOTBEFORE"), command, re.IGNORECASE):
            start = _racf_date(before[1], joined, today) or today
        after = re.search(RACF_DATE_RE.format("NOTAFTER"), command, re.IGNORECASE)
        if after is None:
            yield command, is_ca, RACF_DEFAULT_VALIDITY_DAYS
            continue
        until = _racf_date(after[1], joined, today)
        yield command, is_ca, None if until is None else (until - start).days


def validate_racf_certificates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, CERTS_DEFAULTS)
    today = datetime.datetime.now(datetime.UTC).date()
    seen: set[str] = set()
    for field, script in script_texts(args):
        for command, is_ca, days in racf_certificates(script, today):
            if days is None or command in seen:
                continue
            seen.add(command)
            limit = (cfg["maxCaValidityHours"] if is_ca else cfg["maxValidityHours"]) // 24
            what = "RACF CA certificate" if is_ca else "RACF certificate"
            default = "" if "NOTAFTER" in command.upper() else " (RACF's default: no NOTAFTER)"
            if days <= 0:
                report(
                    f"{args.name!r} ({field}): a {what} expires before it is valid "
                    f"(NOTAFTER {-days} days before its start). Set NOTAFTER in the future "
                    "(ZOS_CERT_VALIDITY_DAYS)."
                )
            elif days > limit:
                report(
                    f"{args.name!r} ({field}): a {what} is valid for {days} days{default}; "
                    f"the limit is {limit}. A stolen key stays useful that long: lower "
                    "ZOS_CERT_VALIDITY_DAYS (RACDCERT GENCERT NOTAFTER)."
                )


def validate_certificates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in COMMANDS:
        validate_racf_certificates(args, report)
        return
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
    description="Certificates have a bounded validity and an early-renewal window; RACF "
    "certificates (RACDCERT GENCERT, with NOTAFTER or RACF's one-year default) a bounded "
    "validity.",
    level=MANDATORY,
    validate=validate_certificates,
    defaults=CERTS_DEFAULTS,
    descriptions=CERTS_DESCRIPTIONS,
    severity=Severity.MEDIUM,
    remediation="Set validity_period_hours within the limit and 0 < early_renewal_hours < "
    "validity.",
)

# --- RACF certificates: a validity length and a renewal window ---------------------------

RACF_RENEWAL_DEFAULTS = {"maxValidityDays": 398, "maxCaValidityDays": 3653, "minRenewalDays": 1}
RACF_RENEWAL_DESCRIPTIONS = {
    "maxValidityDays": "Longest validity of a RACF server or client certificate (days).",
    "maxCaValidityDays": "Longest validity of a RACF CA certificate (days).",
    "minRenewalDays": "Shortest renewal window before a RACF certificate ends (days).",
}
# VALIDITY_DAYS=365 / RENEW_DAYS=30 (or CA_...): the schedule a z/OS step renders
# (components/zos/renewal.py); `ends_before` is its check of RACF's end date.
_DAYS_RE = r"(?:^|[\s;]){}=['\"]?(\d+)['\"]?(?:\s|;|$)"


def _days(script: str, name: str) -> int | None:
    found = re.findall(_DAYS_RE.format(name), script, re.MULTILINE)
    return int(found[-1]) if found else None


def validate_racf_renewal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in COMMANDS:
        return
    cfg = config(args, RACF_RENEWAL_DEFAULTS)
    for field, script in script_texts(args):
        joined = re.sub(r"\\\n", "", script)
        kinds = {
            re.search(r"\bGENCERT\s+CERTAUTH\b", m[0], re.IGNORECASE) is not None
            for m in GENCERT_RE.finditer(joined)
        }
        for is_ca in sorted(kinds):
            prefix, what = ("CA_", "RACF CA certificate") if is_ca else ("", "RACF certificate")
            validity = _days(joined, f"{prefix}VALIDITY_DAYS")
            renew = _days(joined, f"{prefix}RENEW_DAYS")
            limit = cfg["maxCaValidityDays"] if is_ca else cfg["maxValidityDays"]
            where = f"{args.name!r} ({field})"
            if validity is None or renew is None or "ends_before" not in joined:
                report(
                    f"{where}: a {what} is made (RACDCERT GENCERT) without a renewal: no "
                    f"{prefix}VALIDITY_DAYS and {prefix}RENEW_DAYS, or no check of its end "
                    "date, so no `pulumi up` re-issues it and TLS breaks on its end date."
                )
                continue
            if validity > limit:
                report(
                    f"{where}: a {what} is valid up to {validity} days; the limit is "
                    f"{limit}. Lower ZOS_CERT_VALIDITY_DAYS."
                )
            if renew < cfg["minRenewalDays"] or renew >= validity:
                report(
                    f"{where}: a {what} is renewed {renew} days before it ends; the window "
                    f"must be at least {cfg['minRenewalDays']} days and shorter than its "
                    f"validity ({validity} days). Set ZOS_CERT_RENEW_DAYS accordingly."
                )


RACF_CERTIFICATES_RENEWED = Rule(
    name="racf-certificates-renewed",
    description="RACF certificates the program makes have a bounded validity and are "
    "re-issued inside a renewal window shorter than it.",
    level=MANDATORY,
    validate=validate_racf_renewal,
    defaults=RACF_RENEWAL_DEFAULTS,
    descriptions=RACF_RENEWAL_DESCRIPTIONS,
    severity=Severity.MEDIUM,
    remediation="Set ZOS_CERT_VALIDITY_DAYS within the limit and "
    "minRenewalDays <= ZOS_CERT_RENEW_DAYS < ZOS_CERT_VALIDITY_DAYS.",
)

RULES = [ATTLS_OLD_PROTOCOLS_OFF, CERTIFICATES_BOUNDED_RENEWED, RACF_CERTIFICATES_RENEWED]
