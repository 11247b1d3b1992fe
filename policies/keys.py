"""Keys: every private key the program makes is strong.

pulumi-tls keys (RSA bits, ECDSA curve, with the provider's defaults filled in) and the
keys RACDCERT GENCERT and REKEY make on z/OS (SIZE() in the RACF scripts the program runs or
ships; GENCERT of a request data set signs a key made before and makes none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import PRIVATE_KEY, UNKNOWN, config, get, script_texts, text
from .rule import MANDATORY, Rule

KEYS_DEFAULTS = {
    "minRsaBits": 2048,
    "allowedEcdsaCurves": ["P256", "P384", "P521"],
    "minRacfRsaSize": 2048,
    "minRacfEccSize": 256,
}
KEYS_DESCRIPTIONS = {
    "minRsaBits": "Smallest RSA key (bits) for pulumi-tls keys.",
    "allowedEcdsaCurves": "ECDSA curves allowed for pulumi-tls keys.",
    "minRacfRsaSize": "Smallest SIZE() for RSA/DSA keys made by RACDCERT GENCERT.",
    "minRacfEccSize": "Smallest SIZE() for NISTECC/BPECC keys made by RACDCERT GENCERT.",
}


def _joined_lines(script: str) -> list[str]:
    """Lines with shell (\\) and TSO (trailing - or +) continuations joined."""
    joined = re.sub(r"\\\n", " ", script)
    joined = re.sub(r"[ \t][-+][ \t]*\n", " ", joined)
    return joined.splitlines()


# The RACDCERT commands that make a key pair: GENCERT (but GENCERT('request data set'),
# which signs the key of a request) and REKEY (a new key for an existing certificate).
GENCERT_RE = re.compile(r"\bRACDCERT\b.*\b(?:GENCERT\b(?!\s*\()|REKEY\b)", re.IGNORECASE)
SIZE_RE = re.compile(r"\bSIZE\(\s*([^)\s]*)\s*\)", re.IGNORECASE)


def racf_gencert_sizes(script: str) -> Iterator[tuple[str, str | None, bool]]:
    """(command, SIZE as written or None, whether the key is ECC) per RACDCERT GENCERT or
    REKEY that makes a key pair."""
    for line in _joined_lines(script):
        if GENCERT_RE.search(line):
            size = SIZE_RE.search(line)
            ecc = bool(re.search(r"\b(NISTECC|BPECC)\b", line, re.IGNORECASE))
            yield line.strip(), size[1] if size else None, ecc


def validate_strong_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, KEYS_DEFAULTS)
    if args.resource_type == PRIVATE_KEY:
        algorithm = text(get(args.props, "algorithm"))
        if algorithm is None:
            return
        if algorithm.upper() == "RSA":
            bits = get(args.props, "rsaBits")
            bits = 2048 if bits is None else bits  # the provider's default
            if isinstance(bits, int | float) and bits < cfg["minRsaBits"]:
                report(
                    f"key {args.name!r} is RSA {int(bits)} bits; at least "
                    f"{cfg['minRsaBits']} is required. Raise rsa_bits (or use ECDSA P256)."
                )
        elif algorithm.upper() == "ECDSA":
            curve = get(args.props, "ecdsaCurve")
            if curve is UNKNOWN:
                return
            curve = text(curve) or "P224"  # the provider's default, which is too weak
            if curve.upper() not in [c.upper() for c in cfg["allowedEcdsaCurves"]]:
                report(
                    f"key {args.name!r} uses ECDSA curve {curve}"
                    f"{' (the provider default, as none is set)' if curve == 'P224' else ''}"
                    f"; allowed: {', '.join(cfg['allowedEcdsaCurves'])}. Set ecdsa_curve."
                )
        return
    for field, script in script_texts(args):
        for command, size, ecc in racf_gencert_sizes(script):
            floor = cfg["minRacfEccSize"] if ecc else cfg["minRacfRsaSize"]
            shown = command if len(command) <= 120 else command[:117] + "..."
            if size is None:
                report(
                    f"{args.name!r} ({field}): `{shown}` has no SIZE(); the default depends "
                    f"on the z/OS release (1024 on older ones). Give SIZE({floor}) or more."
                )
            elif not size.isdigit():
                report(
                    f"{args.name!r} ({field}): `{shown}` has SIZE({size}), which cannot be "
                    "checked. Render the key size as a number."
                )
            elif int(size) < floor:
                report(
                    f"{args.name!r} ({field}): `{shown}` makes a {size}-bit key; at least "
                    f"{floor} is required (the runbook's SIZE(1024) is too weak). Raise "
                    "ZOS_KEY_SIZE / SIZE()."
                )


STRONG_KEYS = Rule(
    name="strong-keys",
    description="Keys are strong: RSA >= 2048 bits, ECDSA P-256 or better, RACDCERT GENCERT "
    "SIZE likewise.",
    level=MANDATORY,
    validate=validate_strong_keys,
    defaults=KEYS_DEFAULTS,
    descriptions=KEYS_DESCRIPTIONS,
    severity=Severity.HIGH,
    remediation="Use ECDSA P256/P384 or RSA >= 2048 (ZOS_KEY_SIZE >= 2048 for RACF).",
)

RULES = [STRONG_KEYS]
