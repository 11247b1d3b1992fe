"""The AT-TLS policy for the gateway's port: renderer, validator, install step.

AT-TLS terminates TLS in the TCP/IP stack in front of the gateway, which itself speaks
plain HTTP on the port. `ServerWithClientAuth` with `ClientAuthType SAFCheck` means a
client must present a certificate that RACF maps to a user ID: that ID is who the
gateway runs the user's kernels as (via BPX.SRV.<id>).

The validator is pure and strict: it runs on the rendered text before anything is sent,
so a policy PAGENT would reject (or one that is weaker than intended) never leaves the
machine running Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from components.settings import ZosSettings
from components.zos.renewal import environment_instance
from components.zos.script import Step, make_step

# TLS 1.2 suites for an RSA server key (RACF GENCERT's default key type), forward
# secret AEAD only; TLS 1.3 suites are added when TLS 1.3 is switched on.
TLS12_SUITES = (
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
)
TLS13_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256")


class AttlsPolicyError(ValueError):
    """The policy text would not do what the settings ask; names every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "AT-TLS policy rejected before it was sent:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def rule_name(port: int) -> str:
    """The TTLSRule's name; pasearch is asked for it after PAGENT's refresh."""
    return f"jhzosKG{port}"


def render_policy(zos: ZosSettings, stack: str) -> str:
    """The policy file, one parameter per line as PAGENT's samples write it."""
    p = zos.kg_port
    names = {
        "rule": rule_name(p),
        "group": f"jhzosGrp{p}",
        "env": f"jhzosEnv{p}",
        "adv": f"jhzosAdv{p}",
        "ciphers": f"jhzosCiph{p}",
    }
    suites = TLS12_SUITES + (TLS13_SUITES if zos.attls_tlsv13 else ())
    tls13 = "On" if zos.attls_tlsv13 else "Off"
    cipher_lines = "\n".join(f"  V3CipherSuites                  {s}" for s in suites)
    return f"""\
# AT-TLS policy for the Jupyter Kernel Gateway on port {p} (jupyterhub-zos, stack {stack}).
# Written by the Pulumi program: edits are overwritten by the next `pulumi up`.
# PAGENT's image file must name this file in its TTLSConfig statement.

# Every inbound connection to the gateway's port is TLS.
TTLSRule                          {names["rule"]}
{{
  Direction                       Inbound
  LocalPortRange                  {p}
  TTLSGroupActionRef              {names["group"]}
  TTLSEnvironmentActionRef        {names["env"]}
}}

TTLSGroupAction                   {names["group"]}
{{
  TTLSEnabled                     On
  Trace                           2
}}

# The gateway is the server; clients must present a certificate, checked against the
# key ring {zos.keyring} of {zos.kg_user}.
TTLSEnvironmentAction             {names["env"]}
{{
  HandshakeRole                   ServerWithClientAuth
  EnvironmentUserInstance         {environment_instance(zos)}
  TTLSKeyRingParms
  {{
    Keyring                       {zos.keyring}
  }}
  TTLSEnvironmentAdvancedParmsRef {names["adv"]}
  TTLSCipherParmsRef              {names["ciphers"]}
}}

# SAFCheck: the client certificate must map to a RACF user ID; TLS 1.2 or newer only.
TTLSEnvironmentAdvancedParms      {names["adv"]}
{{
  ClientAuthType                  SAFCheck
  SSLv2                           Off
  SSLv3                           Off
  TLSv1                           Off
  TLSv1.1                         Off
  TLSv1.2                         On
  TLSv1.3                         {tls13}
}}

TTLSCipherParms                   {names["ciphers"]}
{{
{cipher_lines}
}}
"""


# --- validator -----------------------------------------------------------------------

# Statement -> parameters it may hold here. Values: "ref:<Statement>" must name a
# statement of that type; "onoff" is On/Off; "nested" opens an unnamed block; a tuple
# lists the allowed words; "int", "port" and "text" are checked for form.
_SCHEMA: dict[str, dict[str, object]] = {
    "TTLSRule": {
        "Direction": ("Inbound", "Outbound", "Both"),
        "LocalPortRange": "portrange",
        "RemotePortRange": "portrange",
        "LocalAddr": "text",
        "RemoteAddr": "text",
        "Jobname": "text",
        "Userid": "text",
        "Priority": "int",
        "TTLSGroupActionRef": "ref:TTLSGroupAction",
        "TTLSEnvironmentActionRef": "ref:TTLSEnvironmentAction",
        "TTLSConnectionActionRef": "ref:TTLSConnectionAction",
    },
    "TTLSGroupAction": {
        "TTLSEnabled": "onoff",
        "Trace": "int",
        "CtraceClearText": "onoff",
        "FIPS140": "onoff",
        "GroupUserInstance": "int",
    },
    "TTLSEnvironmentAction": {
        "HandshakeRole": ("Client", "Server", "ServerWithClientAuth"),
        "EnvironmentUserInstance": "int",
        "Trace": "int",
        "TTLSKeyRingParms": "nested",
        "TTLSKeyRingParmsRef": "ref:TTLSKeyRingParms",
        "TTLSEnvironmentAdvancedParmsRef": "ref:TTLSEnvironmentAdvancedParms",
        "TTLSCipherParmsRef": "ref:TTLSCipherParms",
    },
    "TTLSConnectionAction": {
        "HandshakeRole": ("Client", "Server", "ServerWithClientAuth"),
        "Trace": "int",
        "TTLSCipherParmsRef": "ref:TTLSCipherParms",
    },
    "TTLSEnvironmentAdvancedParms": {
        "ClientAuthType": ("PassThru", "Full", "Required", "SAFCheck"),
        "SSLv2": "onoff",
        "SSLv3": "onoff",
        "TLSv1": "onoff",
        "TLSv1.1": "onoff",
        "TLSv1.2": "onoff",
        "TLSv1.3": "onoff",
        "ApplicationControlled": "onoff",
        "HandshakeTimeout": "int",
        "Renegotiation": ("Default", "Disabled", "All"),
    },
    "TTLSKeyRingParms": {"Keyring": "text"},
    "TTLSCipherParms": {"V3CipherSuites": "text", "V3CipherSuites4Char": "text"},
}
_REPEATABLE = {"V3CipherSuites", "V3CipherSuites4Char"}
# Protocols that must be switched off explicitly (older z/OS levels default TLSv1 and
# TLSv1.1 to On), and the one that must be on.
_MUST_BE_OFF = ("TLSv1", "TLSv1.1")


@dataclass
class _Block:
    kind: str
    name: str | None
    line: int
    params: dict[str, list[str]] = field(default_factory=dict)
    nested: list[_Block] = field(default_factory=list)


def _tokens(text: str) -> list[tuple[int, str]]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0]
        for token in re.findall(r"[{}]|[^\s{}]+", line):
            out.append((number, token))
    return out


def _parse(text: str, problems: list[str]) -> list[_Block]:
    """Statements `Kind name { Param value ... }` with unnamed nested blocks."""
    tokens = _tokens(text)
    depth = 0
    for number, tok in tokens:
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth < 0:
                problems.append(f"line {number}: '}}' closes nothing (braces are unbalanced)")
                return []
    if depth != 0:
        problems.append(f"braces are unbalanced: {depth} '{{' never closed")
        return []

    blocks: list[_Block] = []
    i = 0

    def block_body(block: _Block, i: int) -> int:
        schema = _SCHEMA.get(block.kind, {})
        while i < len(tokens) and tokens[i][1] != "}":
            number, key = tokens[i]
            if key == "{":
                problems.append(f"line {number}: '{{' without a statement in {block.kind}")
                i += 1
                continue
            kind = schema.get(key)
            if kind is None:
                problems.append(f"line {number}: {key!r} is not a known parameter of {block.kind}")
            if kind == "nested":
                if i + 1 >= len(tokens) or tokens[i + 1][1] != "{":
                    problems.append(f"line {number}: {key} must be followed by '{{'")
                    i += 1
                    continue
                inner = _Block(key, None, number)
                i = block_body(inner, i + 2)
                block.nested.append(inner)
                continue
            values = []
            i += 1
            while i < len(tokens) and tokens[i][0] == number and tokens[i][1] not in "{}":
                values.append(tokens[i][1])
                i += 1
            if not values:
                problems.append(f"line {number}: {key} has no value")
            elif key in block.params and key not in _REPEATABLE:
                problems.append(f"line {number}: {key} is given twice in {block.kind}")
            block.params.setdefault(key, []).extend(values)
        return i + 1  # past '}'

    while i < len(tokens):
        number, kind = tokens[i]
        if kind not in _SCHEMA:
            problems.append(f"line {number}: {kind!r} is not a known AT-TLS statement")
            # skip to the end of its block, if any
            while i < len(tokens) and tokens[i][1] != "{":
                i += 1
            depth = 0
            while i < len(tokens):
                depth += {"{": 1, "}": -1}.get(tokens[i][1], 0)
                i += 1
                if depth == 0:
                    break
            continue
        if i + 2 >= len(tokens) or tokens[i + 1][1] in "{}" or tokens[i + 2][1] != "{":
            problems.append(f"line {number}: {kind} must be followed by a name and '{{'")
            return blocks
        block = _Block(kind, tokens[i + 1][1], number)
        i = block_body(block, i + 3)
        blocks.append(block)
    return blocks


def _check_value(block: _Block, key: str, values: list[str], problems: list[str]) -> None:
    kind = _SCHEMA[block.kind].get(key)
    where = f"{block.kind} {block.name or ''}".strip() + f": {key}"
    if kind == "onoff" and values != ["On"] and values != ["Off"]:
        problems.append(f"{where} must be On or Off, not {' '.join(values)!r}")
    elif isinstance(kind, tuple) and (len(values) != 1 or values[0] not in kind):
        problems.append(f"{where} must be one of {', '.join(kind)}, not {' '.join(values)!r}")
    elif kind == "int" and (len(values) != 1 or not values[0].isdigit()):
        problems.append(f"{where} must be a whole number, not {' '.join(values)!r}")
    elif kind == "portrange":
        text = " ".join(values)
        parts = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", text)
        if not parts or not all(0 < int(x) < 65536 for x in parts.groups() if x is not None):
            problems.append(f"{where} must be a port or a port range, not {text!r}")


def validate_policy(text: str, *, port: int, keyring: str, tlsv13: bool | None = None) -> None:
    """Raise AttlsPolicyError unless the policy is well formed, every reference
    resolves, and some inbound rule on `port` gives ServerWithClientAuth + SAFCheck on
    `keyring` with TLSv1 and TLSv1.1 Off and TLSv1.2 On (and TLSv1.3 as asked)."""
    problems: list[str] = []
    blocks = _parse(text, problems)
    by_kind: dict[str, dict[str, _Block]] = {}
    for block in blocks:
        named = by_kind.setdefault(block.kind, {})
        if block.name in named:
            problems.append(f"line {block.line}: {block.kind} {block.name} is defined twice")
        named[block.name] = block
        for inner in [block, *block.nested]:
            for key, values in inner.params.items():
                if key in _SCHEMA.get(inner.kind, {}):
                    _check_value(inner, key, values, problems)

    def ref(block: _Block, key: str) -> _Block | None:
        kind = _SCHEMA[block.kind].get(key)
        if not isinstance(kind, str) or not kind.startswith("ref:"):
            return None
        values = block.params.get(key)
        if not values:
            return None
        target = by_kind.get(kind[4:], {}).get(values[0])
        if target is None:
            problems.append(
                f"{block.kind} {block.name}: {key} {values[0]} names no {kind[4:]} statement"
            )
        return target

    for block in blocks:
        for key in block.params:
            ref(block, key)

    matches = []
    for rule in by_kind.get("TTLSRule", {}).values():
        if "Direction" not in rule.params:
            problems.append(f"TTLSRule {rule.name}: Direction is required")
        conditions = {"LocalPortRange", "RemotePortRange", "LocalAddr", "RemoteAddr", "Jobname"}
        if not conditions & rule.params.keys() and "Userid" not in rule.params:
            problems.append(f"TTLSRule {rule.name}: needs a condition besides Direction")
        if "TTLSGroupActionRef" not in rule.params:
            problems.append(f"TTLSRule {rule.name}: TTLSGroupActionRef is required")
        group = ref(rule, "TTLSGroupActionRef")
        env = ref(rule, "TTLSEnvironmentActionRef")
        if group and group.params.get("TTLSEnabled") == ["On"] and env is None:
            problems.append(
                f"TTLSRule {rule.name}: TLS is enabled but no TTLSEnvironmentActionRef resolves"
            )
        if rule.params.get("LocalPortRange") in (
            [str(port)],
            [str(port), "-", str(port)],
        ) and rule.params.get("Direction") in (["Inbound"], ["Both"]):
            matches.append((rule, group, env))

    for env in by_kind.get("TTLSEnvironmentAction", {}).values():
        if "HandshakeRole" not in env.params:
            problems.append(f"TTLSEnvironmentAction {env.name}: HandshakeRole is required")
        rings = [n for n in env.nested if n.kind == "TTLSKeyRingParms"]
        if not rings and "TTLSKeyRingParmsRef" not in env.params:
            problems.append(f"TTLSEnvironmentAction {env.name}: TTLSKeyRingParms is required")

    for adv in by_kind.get("TTLSEnvironmentAdvancedParms", {}).values():
        for proto in _MUST_BE_OFF:
            if adv.params.get(proto) != ["Off"]:
                problems.append(f"TTLSEnvironmentAdvancedParms {adv.name}: {proto} must be Off")
        for proto in ("SSLv2", "SSLv3"):
            if adv.params.get(proto, ["Off"]) != ["Off"]:
                problems.append(f"TTLSEnvironmentAdvancedParms {adv.name}: {proto} must be Off")
        if adv.params.get("TLSv1.2") != ["On"]:
            problems.append(f"TTLSEnvironmentAdvancedParms {adv.name}: TLSv1.2 must be On")
        if tlsv13 is not None and adv.params.get("TLSv1.3", ["Off"]) != ["On" if tlsv13 else "Off"]:
            problems.append(
                f"TTLSEnvironmentAdvancedParms {adv.name}: TLSv1.3 must be "
                f"{'On' if tlsv13 else 'Off'} (ZOS_ATTLS_TLSV13)"
            )

    if not problems:
        if not matches:
            problems.append(f"no inbound TTLSRule covers the gateway's port {port} (ZOS_KG_PORT)")
        for rule, group, env in matches:
            if not group or group.params.get("TTLSEnabled") != ["On"]:
                problems.append(f"TTLSRule {rule.name}: TTLSEnabled must be On")
            if not env:
                continue
            if env.params.get("HandshakeRole") != ["ServerWithClientAuth"]:
                problems.append(
                    f"TTLSEnvironmentAction {env.name}: HandshakeRole must be ServerWithClientAuth"
                )
            rings = [n.params.get("Keyring") for n in env.nested if n.kind == "TTLSKeyRingParms"]
            if [keyring] not in rings:
                problems.append(
                    f"TTLSEnvironmentAction {env.name}: Keyring must be {keyring} (ZOS_KEYRING)"
                )
            adv = ref(env, "TTLSEnvironmentAdvancedParmsRef")
            if adv is None or adv.params.get("ClientAuthType") != ["SAFCheck"]:
                problems.append(
                    f"TTLSEnvironmentAction {env.name}: ClientAuthType must be SAFCheck "
                    "(client certificates map to the users' own IDs)"
                )
    if problems:
        raise AttlsPolicyError(list(dict.fromkeys(problems)))


# --- install step ------------------------------------------------------------------------


def policy_step(zos: ZosSettings, stack: str) -> Step:
    """Install the policy where PAGENT reads it (tagged IBM-1047: sshd has already turned
    the command text into EBCDIC), refresh PAGENT when the file changed, and check with
    pasearch that the rule is installed. A file at that path that this program did not
    write is never overwritten."""
    policy = render_policy(zos, stack)
    validate_policy(policy, port=zos.kg_port, keyring=zos.keyring, tlsv13=zos.attls_tlsv13)
    if "JHZOS_POLICY" in policy:  # the heredoc's end marker must not occur in the text
        raise AttlsPolicyError(["the policy text contains the heredoc marker JHZOS_POLICY"])
    variables = {
        "POLICY": zos.attls_policy_path,
        "RULE": rule_name(zos.kg_port),
        "OPERCMD": zos.opercmd,
    }
    check = """
# pa_has_rule: is the rule among the AT-TLS policies pasearch reports?
pa_has_rule() {
  pa_rc=0
  pa_out=$(pasearch -t 2>&1 </dev/null) || pa_rc=$?
  [ "$pa_rc" -eq 0 ] || die "pasearch -t failed (RC $pa_rc): $pa_out"
  printf '%s\\n' "$pa_out" | grep -q "TTLS Rule Name: *$RULE *\\$"
}
pagent_refresh() {
  op_rc=0
  op_out=$("$OPERCMD" 'F PAGENT,REFRESH' 2>&1 </dev/null) || op_rc=$?
  say "RC $op_rc: F PAGENT,REFRESH"
  [ "$op_rc" -eq 0 ] || die "F PAGENT,REFRESH failed (RC $op_rc):
$op_out"
}
"""
    create = (
        check
        + f"""
NEW="$POLICY.jupyterhub-zos.new"
if [ ! -d "$(dirname "$POLICY")" ]; then
  die "the directory of $POLICY does not exist (ZOS_ATTLS_POLICY_PATH)"
fi
if [ -e "$POLICY" ] && ! ours "FILE $POLICY"; then
  die "$POLICY exists and was not written by jupyterhub-zos: it is not overwritten." \
    "Set ZOS_ATTLS_POLICY_PATH to a new file, and PAGENT's TTLSConfig to it"
fi
cat >"$NEW" <<'JHZOS_POLICY'
{policy}JHZOS_POLICY
chtag -tc IBM-1047 "$NEW"
chmod 644 "$NEW"
intend "FILE $POLICY"
if [ -f "$POLICY" ] && cmp -s "$NEW" "$POLICY"; then
  rm -f "$NEW"
  say "the policy in $POLICY is up to date"
else
  mark "REFRESH PAGENT"
  mv "$NEW" "$POLICY"
  say "wrote $POLICY"
fi
use "FILE $POLICY"
if marked "REFRESH PAGENT"; then
  pagent_refresh
  unmark "REFRESH PAGENT"
fi
# PAGENT installs policy asynchronously: ask pasearch until the rule shows up.
tries=0
until pa_has_rule; do
  tries=$((tries + 1))
  if [ "$tries" -ge 15 ]; then
    die "PAGENT did not install TTLS rule $RULE from $POLICY: is that the TTLSConfig" \
      "file of the TCP/IP image, and is PAGENT running? pasearch -t said:
$pa_out"
  fi
  sleep 2
done
say "pasearch shows TTLS rule $RULE"
"""
    )
    delete = (
        check
        + """
if release "FILE $POLICY"; then
  rm -f "$POLICY" "$POLICY.jupyterhub-zos.new"
  pagent_refresh
  unmark "REFRESH PAGENT"
  forget "FILE $POLICY"
  if pa_has_rule; then
    say "pasearch still shows $RULE: remove $POLICY from PAGENT's TTLSConfig and refresh PAGENT"
  fi
elif ! [ -f "$rec" ]; then
  say "$POLICY was not written by jupyterhub-zos: left as it is"
fi
"""
    )
    purpose = "The AT-TLS policy for the gateway's port, installed for PAGENT."
    return make_step(
        stack,
        "attls",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables=variables,
        triggers=(zos.attls_policy_path,),
    )
