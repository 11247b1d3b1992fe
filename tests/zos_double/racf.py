"""A small RACF, for tests only: certificates, key rings, general resource profiles,
permits, class settings and data sets, kept in a JSON state file.

It answers TSO commands the way RACF does where that is documented (message IDs and
return codes from IBM's messages and the public samples: IRRD107I and RC 4 for a
certificate LIST that finds nothing, IRRD114I for a missing ring, IRRD122I for an
existing one, ICH13003I for RLIST of a missing profile, ICH10102I for RDEFINE of an
existing one, ICH10006I/ICH06011I/ICH12002I/IRRD175I when a RACLISTed class needs a
refresh, ICH14063I for SETROPTS, ICH31005I for an empty SEARCH, IDC3012I for DELETE of
a missing data set) and it keeps track of what a real system would punish quietly:
defining something twice, connecting twice, refreshing a class that is not RACLISTed,
or leaving a RACLISTed change unrefreshed. Those are `violations` the tests check.

Certificates are real (cryptography), and EXPORT writes a real PKCS#12.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import json
import os
import re
from pathlib import Path

# (subprocess, tempfile, ipaddress and cryptography are imported where needed: every
# double command is a new process, and most never need them.)

STATE_ENV = "ZOS_DOUBLE_STATE"

DEFAULT_CLASSES = {
    # What a typical system has on: the certificate classes and FACILITY RACLISTed.
    "active": ["DATASET", "USER", "GROUP", "FACILITY", "DIGTCERT", "DIGTRING", "DIGTNMAP"],
    "generic": ["DATASET", "FACILITY"],
    "raclist": ["DIGTCERT", "DIGTRING", "FACILITY"],
}


def initial_state(
    *, ssh_user: str = "IBMUSER", users: tuple[str, ...] = (), p12: str = "legacy"
) -> dict:
    return {
        "ssh_user": ssh_user,
        "users": sorted({ssh_user, *users}),
        "certs": [],
        "rings": {},
        "profiles": {"FACILITY": {}, "SURROGAT": {}},
        "classes": json.loads(json.dumps(DEFAULT_CLASSES)),
        "pending": {},
        "datasets": {},
        "pagent": {"ttls_config": None, "rules": {}, "refreshes": 0, "errors": []},
        "log": [],
        "violations": [],
        "counter": 0,
        "fail_at": None,
        "kill_after": None,
        "kill_on": None,
        # LISTUSER's view of an ID: {"attributes": [...], "uid": n}; others: none, UID 1xx
        "user_attrs": {},
        "p12": p12,
    }


@contextlib.contextmanager
def locked_state(path: str | os.PathLike):
    """Load, yield and save the state under an exclusive lock (steps may run in parallel)."""
    path = Path(path)
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text())
        yield state
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        tmp.replace(path)


def save(path: str | os.PathLike, state: dict) -> None:
    Path(path).write_text(json.dumps(state, indent=1, sort_keys=True))


def load(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text())


# --- parsing TSO operands ------------------------------------------------------------------


class SyntaxErr(Exception):
    pass


def operands(text: str) -> list[tuple[str, str | None]]:
    """`KEY(value) WORD KEY2('q') ...` -> [(KEY, 'value'), (WORD, None), ...] at top level."""
    out: list[tuple[str, str | None]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " ,":
            i += 1
            continue
        m = re.match(r"[A-Za-z0-9.*$#@_-]+", text[i:])
        if not m:
            raise SyntaxErr(f"unexpected {text[i:]!r}")
        key = m.group(0)
        i += len(key)
        if i < n and text[i] == "(":
            depth, j, quoted = 0, i, False
            while j < n:
                c = text[j]
                if c == "'":
                    quoted = not quoted
                elif not quoted and c == "(":
                    depth += 1
                elif not quoted and c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if depth != 0:
                raise SyntaxErr(f"unbalanced parentheses after {key}")
            out.append((key.upper(), text[i + 1 : j]))
            i = j + 1
        else:
            out.append((key.upper(), None))
    return out


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def opmap(text: str) -> dict[str, str | None]:
    return dict(operands(text))


# --- certificates ------------------------------------------------------------------------


def _crypto():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    return x509, hashes, serialization, rsa, NameOID


def _name(subjectsdn: str):
    x509, _h, _s, _r, oid = _crypto()
    attrs = {
        "CN": oid.COMMON_NAME,
        "O": oid.ORGANIZATION_NAME,
        "OU": oid.ORGANIZATIONAL_UNIT_NAME,
        "C": oid.COUNTRY_NAME,
        "L": oid.LOCALITY_NAME,
        "SP": oid.STATE_OR_PROVINCE_NAME,
    }
    parts = []
    for key, value in operands(subjectsdn):
        if key not in attrs or value is None:
            raise SyntaxErr(f"SUBJECTSDN: {key}")
        # OU('a','b'): RACF's list of organizational units, each one an attribute.
        values = re.findall(r"'((?:[^']|'')*)'", value) if "','" in value else [unquote(value)]
        for one in values:
            parts.append(x509.NameAttribute(attrs[key], one.replace("''", "'")))
    return x509.Name(parts)


def rsa_key(size: int, state: dict | None):
    """A fresh RSA key, or (to keep tests fast) the next unused one of a pool kept beside
    the state file: keys are distinct within a state, and reused across tests."""
    _x, _h, serialization, rsa, _o = _crypto()
    if state is None or not os.environ.get(STATE_ENV):
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    pool_path = Path(f"{os.environ[STATE_ENV]}.keys-{size}.json")
    pool = json.loads(pool_path.read_text()) if pool_path.exists() else []
    index = state.setdefault("keys_used", {}).get(str(size), 0)
    state["keys_used"][str(size)] = index + 1
    if index >= len(pool):
        key = rsa.generate_private_key(public_exponent=65537, key_size=size)
        pool.append(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        )
        pool_path.write_text(json.dumps(pool))
        return key
    return serialization.load_pem_private_key(pool[index].encode(), None)


def make_cert(
    *,
    subject: str,
    size: int,
    ca: bool,
    signer: dict | None,
    notafter: dt.datetime | None,
    altname: str | None = None,
    state: dict | None = None,
) -> tuple[str, str]:
    """A key and certificate as RACF GENCERT makes them (RSA, SHA-256)."""
    x509, hashes, serialization, _rsa, _oid = _crypto()
    key = rsa_key(size, state)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    name = _name(subject)
    if signer is None:
        issuer, signing_key = name, key
    else:
        signer_cert = x509.load_pem_x509_certificate(signer["cert_pem"].encode())
        issuer = signer_cert.subject
        signing_key = serialization.load_pem_private_key(signer["key_pem"].encode(), None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(notafter or now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if signer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), False
        )
    if ca:
        usage = dict(key_cert_sign=True, crl_sign=True, digital_signature=False)
    else:
        usage = dict(key_cert_sign=False, crl_sign=False, digital_signature=True)
    builder = builder.add_extension(
        x509.KeyUsage(
            content_commitment=False,
            key_encipherment=not ca,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
            **usage,
        ),
        critical=True,
    )
    if altname:
        sans = []
        for key_name, value in operands(altname):
            if key_name == "DOMAIN":
                sans.append(x509.DNSName(unquote(value)))
            elif key_name == "IP":
                import ipaddress

                sans.append(x509.IPAddress(ipaddress.ip_address(unquote(value))))
            else:
                raise SyntaxErr(f"ALTNAME: {key_name}")
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def find_cert(state: dict, owner: str, label: str) -> dict | None:
    for cert in state["certs"]:
        if cert["owner"] == owner and cert["label"] == label:
            return cert
    return None


def chain(state: dict, cert: dict) -> list[dict]:
    """The certificate's signers, nearest first, as far as RACF holds them."""
    out, seen = [], set()
    while cert.get("signer"):
        owner, label = cert["signer"]
        cert = find_cert(state, owner, label)
        if cert is None or (owner, label) in seen:
            break
        seen.add((owner, label))
        out.append(cert)
    return out


def seed_cert(
    state: dict,
    *,
    owner: str,
    label: str,
    subject: str,
    ca: bool,
    signer: tuple[str, str] | None = None,
    size: int = 2048,
    notafter: dt.datetime | None = None,
) -> dict:
    """Put a certificate in RACF as if an administrator had made it before (valid for a
    year, or until `notafter`)."""
    signer_cert = find_cert(state, *signer) if signer else None
    key_pem, cert_pem = make_cert(
        subject=subject, size=size, ca=ca, signer=signer_cert, notafter=notafter
    )
    record = {
        "owner": owner,
        "label": label,
        "cert_pem": cert_pem,
        "key_pem": key_pem,
        "signer": list(signer) if signer else None,
        "usage": "CERTAUTH" if owner == "CERTAUTH" else "PERSONAL",
        "size": size,
    }
    state["certs"].append(record)
    return record


def make_p12(state: dict, cert: dict, password: str, mode: str) -> bytes:
    """The PKCS#12 RACDCERT EXPORT FORMAT(PKCS12DER) writes: key, certificate, chain."""
    x509, _h, serialization, _r, _o = _crypto()
    from cryptography.hazmat.primitives.serialization import pkcs12

    cas = [x509.load_pem_x509_certificate(c["cert_pem"].encode()) for c in chain(state, cert)]
    if mode == "legacy":
        import subprocess
        import tempfile

        # RC2-40 for the certificates, 3DES for the key: OpenSSL 3 reads it only with -legacy.
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "key.pem").write_text(cert["key_pem"])
            Path(tmp, "cert.pem").write_text(cert["cert_pem"])
            Path(tmp, "chain.pem").write_text("".join(c["cert_pem"] for c in chain(state, cert)))
            Path(tmp, "pass").write_text(password + "\n")
            args = ["openssl", "pkcs12", "-export", "-legacy", "-in", f"{tmp}/cert.pem"]
            args += ["-inkey", f"{tmp}/key.pem", "-name", cert["label"]]
            args += ["-passout", f"file:{tmp}/pass", "-out", f"{tmp}/out.p12"]
            if cas:
                args += ["-certfile", f"{tmp}/chain.pem"]
            subprocess.run(args, check=True, capture_output=True)
            return Path(tmp, "out.p12").read_bytes()
    key = serialization.load_pem_private_key(cert["key_pem"].encode(), None)
    leaf = x509.load_pem_x509_certificate(cert["cert_pem"].encode())
    builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
    if mode == "3des":
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        builder = builder.hmac_hash(_h.SHA1())
    else:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
    return pkcs12.serialize_key_and_certificates(
        cert["label"].encode(), key, leaf, cas, builder.build(password.encode())
    )


# --- the TSO command processor -------------------------------------------------------------


class Result:
    def __init__(self, rc: int, text: str, mutates: bool = False):
        self.rc, self.text, self.mutates = rc, text, mutates


def unmodelled(text: str) -> str:
    """For answers whose RACF message ID is not confirmed from IBM's documentation: a
    message that cannot be mistaken for RACF's (the scripts never match on it)."""
    return f"ZDBL001E (test double, message ID not modelled) {text}"


def _violation(state: dict, what: str) -> None:
    state["violations"].append(what)


def _changed(state: dict, klass: str) -> str:
    """Note a change to a profile of KLASS; the message RACF prints when it is RACLISTed."""
    if klass in state["classes"]["raclist"]:
        state["pending"][klass] = state["pending"].get(klass, 0) + 1
        return ""
    return ""


def _raclisted_note(state: dict, klass: str, what: str) -> str:
    if klass not in state["classes"]["raclist"]:
        return ""
    if klass in ("DIGTCERT", "DIGTRING"):
        return (
            f"IRRD175I The new profile for {klass} will not be in effect until a "
            "SETROPTS REFRESH has been issued."
        )
    ids = {"ADDITION": "ICH10006I", "UPDATE": "ICH06011I", "DELETION": "ICH12002I"}
    return (
        f"{ids[what]} RACLISTED PROFILES FOR {klass} WILL NOT REFLECT THE {what}(S) UNTIL A "
        "SETROPTS REFRESH IS ISSUED."
    )


def _owner(ops: dict) -> str | None:
    if "CERTAUTH" in ops:
        return "CERTAUTH"
    if ops.get("ID"):
        return ops["ID"].strip().upper()
    return None


def _cert_listing(cert: dict) -> str:
    x509 = _crypto()[0]
    c = x509.load_pem_x509_certificate(cert["cert_pem"].encode())
    who = "CERTAUTH" if cert["owner"] == "CERTAUTH" else f"user {cert['owner']}"
    return "\n".join(
        [
            f"Digital certificate information for {who}:",
            "",
            f"  Label: {cert['label']}",
            f"  Certificate ID: {base64.b64encode(cert['label'].encode()).decode()}",
            "  Status: TRUST",
            f"  Start Date: {c.not_valid_before_utc:%Y/%m/%d %H:%M:%S}",
            f"  End Date:   {c.not_valid_after_utc:%Y/%m/%d %H:%M:%S}",
            f"  Serial Number:\n       >{c.serial_number:X}<",
            f"  Issuer's Name:\n       >{c.issuer.rfc4514_string()}<",
            f"  Subject's Name:\n       >{c.subject.rfc4514_string()}<",
            *(
                ["  Private Key Type: Non-ICSF", f"  Private Key Size: {cert['size']}"]
                if cert.get("key_pem")
                else ["  Private Key Type: None"]
            ),
            "  Ring Associations:",
        ]
    )


def _ring_listing(owner: str, ring: str, entries: list[dict]) -> str:
    lines = [
        f"Digital ring information for user {owner}:",
        "",
        "  Ring:",
        f"       >{ring}<",
        "  Certificate Label Name             Cert Owner     USAGE      DEFAULT",
        "  --------------------------------   ------------   --------   -------",
    ]
    for e in entries:
        who = "CERTAUTH" if e["owner"] == "CERTAUTH" else f"ID({e['owner']})"
        default = "YES" if e["default"] else "NO"
        lines.append(f"  {e['label']:<32}   {who:<12}   {e['usage']:<8}     {default}")
    return "\n".join(lines)


def racdcert(state: dict, text: str) -> Result:
    ops = opmap(text)
    owner = _owner(ops)
    if "LIST" in ops and ops["LIST"] is not None:
        label = unquote(opmap(ops["LIST"])["LABEL"])
        cert = find_cert(state, owner or state["ssh_user"], label)
        if cert is None:
            return Result(4, "IRRD107I No matching certificate was found for this user.")
        return Result(0, _cert_listing(cert))

    if "GENCERT" in ops and ops["GENCERT"] is not None:
        return _gencert_request(state, owner or state["ssh_user"], ops)

    if "REKEY" in ops and ops["REKEY"] is not None:
        return _rekey(state, owner or state["ssh_user"], ops)

    if "GENREQ" in ops and ops["GENREQ"] is not None:
        return _genreq(state, owner or state["ssh_user"], ops)

    if "ROLLOVER" in ops and ops["ROLLOVER"] is not None:
        return _rollover(state, owner or state["ssh_user"], ops)

    if "ALTER" in ops and ops["ALTER"] is not None:
        return _alter(state, owner or state["ssh_user"], ops)

    if "GENCERT" in ops:
        owner = owner or state["ssh_user"]
        if owner != "CERTAUTH" and owner not in state["users"]:
            return Result(8, unmodelled(f"user ID {owner} is not defined to RACF"))
        label = unquote(ops["WITHLABEL"])
        if find_cert(state, owner, label):
            _violation(state, f"GENCERT of an existing label {owner}/{label}")
            return Result(8, unmodelled(f"label {label} is already in use for {owner}"))
        size = int(ops.get("SIZE") or 2048)
        if size < 512:
            return Result(8, unmodelled(f"SIZE({size}) is too small"))
        signer = None
        if ops.get("SIGNWITH"):
            s = opmap(ops["SIGNWITH"])
            signer_owner = "CERTAUTH" if "CERTAUTH" in s else (s.get("ID") or "").upper()
            signer = find_cert(state, signer_owner, unquote(s["LABEL"]))
            if signer is None or not signer.get("key_pem"):
                return Result(4, "IRRD107I No matching certificate was found for this user.")
        notafter = None
        if ops.get("NOTAFTER"):
            date = opmap(ops["NOTAFTER"])["DATE"].replace("/", "-")
            notafter = dt.datetime.fromisoformat(date).replace(tzinfo=dt.UTC)
        usage = (ops.get("KEYUSAGE") or "").upper()
        key_pem, cert_pem = make_cert(
            subject=ops["SUBJECTSDN"],
            size=size,
            ca=owner == "CERTAUTH" and "CERTSIGN" in usage,
            signer=signer,
            notafter=notafter,
            altname=ops.get("ALTNAME"),
            state=state,
        )
        state["certs"].append(
            {
                "owner": owner,
                "label": label,
                "cert_pem": cert_pem,
                "key_pem": key_pem,
                "signer": [signer["owner"], signer["label"]] if signer else None,
                "usage": "CERTAUTH" if owner == "CERTAUTH" else "PERSONAL",
                "size": size,
                "keyusage": usage,
            }
        )
        _changed(state, "DIGTCERT")
        return Result(0, _raclisted_note(state, "DIGTCERT", "ADDITION"), True)

    if "DELETE" in ops and ops["DELETE"] is not None:
        owner = owner or state["ssh_user"]
        label = unquote(opmap(ops["DELETE"])["LABEL"])
        cert = find_cert(state, owner, label)
        if cert is None:
            return Result(4, "IRRD107I No matching certificate was found for this user.")
        state["certs"].remove(cert)
        for rings in state["rings"].values():
            for entries in rings.values():
                entries[:] = [e for e in entries if (e["owner"], e["label"]) != (owner, label)]
        _changed(state, "DIGTCERT")
        return Result(0, _raclisted_note(state, "DIGTCERT", "DELETION"), True)

    for verb in ("LISTRING", "ADDRING", "DELRING"):
        if verb in ops:
            ring = ops[verb].strip()
            owner = owner or state["ssh_user"]
            rings = state["rings"].get(owner, {})
            if verb == "LISTRING":
                if not rings:
                    return Result(4, f"IRRD115I User {owner} has no rings.")
                if ring not in rings:
                    return Result(4, f"IRRD114I Ring {ring} does not exist.")
                return Result(0, _ring_listing(owner, ring, rings[ring]))
            if verb == "ADDRING":
                if owner not in state["users"]:
                    return Result(8, unmodelled(f"user ID {owner} is not defined to RACF"))
                if ring in rings:
                    _violation(state, f"ADDRING of an existing ring {owner}/{ring}")
                    return Result(4, f"IRRD122I Ring {ring} already exists. Command ignored.")
                state["rings"].setdefault(owner, {})[ring] = []
                _changed(state, "DIGTRING")
                return Result(0, _raclisted_note(state, "DIGTRING", "ADDITION"), True)
            if ring not in rings:
                return Result(4, f"IRRD114I Ring {ring} does not exist.")
            del state["rings"][owner][ring]
            _changed(state, "DIGTRING")
            return Result(0, _raclisted_note(state, "DIGTRING", "DELETION"), True)

    for verb in ("CONNECT", "REMOVE"):
        if verb in ops:
            ring_owner = owner or state["ssh_user"]
            c = opmap(ops[verb])
            cert_owner = "CERTAUTH" if "CERTAUTH" in c else (c.get("ID") or ring_owner).upper()
            label = unquote(c["LABEL"])
            ring = c["RING"].strip()
            entries = state["rings"].get(ring_owner, {}).get(ring)
            if entries is None:
                return Result(4, f"IRRD114I Ring {ring} does not exist.")
            if find_cert(state, cert_owner, label) is None:
                return Result(4, "IRRD107I No matching certificate was found for this user.")
            present = [e for e in entries if (e["owner"], e["label"]) == (cert_owner, label)]
            if verb == "CONNECT":
                if present:
                    _violation(state, f"CONNECT of a connected certificate {label} to {ring}")
                    return Result(0, "", True)
                default = "DEFAULT" in c
                if default:
                    for e in entries:
                        e["default"] = False
                usage = (c.get("USAGE") or "PERSONAL").upper()
                entries.append(
                    {"owner": cert_owner, "label": label, "usage": usage, "default": default}
                )
            else:
                if not present:
                    return Result(
                        4,
                        f"IRRD116I Label {label} does not exist in ring {ring} "
                        f"for user {ring_owner}.",
                    )
                entries.remove(present[0])
            _changed(state, "DIGTRING")
            return Result(0, _raclisted_note(state, "DIGTRING", "UPDATE"), True)

    if "EXPORT" in ops:
        owner = owner or state["ssh_user"]
        label = unquote(opmap(ops["EXPORT"])["LABEL"])
        cert = find_cert(state, owner, label)
        if cert is None:
            return Result(4, "IRRD107I No matching certificate was found for this user.")
        if not cert.get("key_pem"):
            return Result(8, unmodelled("a PKCS#12 export needs the certificate's private key"))
        fmt = (ops.get("FORMAT") or "CERTB64").upper()
        if fmt != "PKCS12DER" or not ops.get("PASSWORD"):
            return Result(8, unmodelled("PKCS12DER with a PASSWORD is what the double exports"))
        dsn = unquote(ops["DSN"]).upper()
        if dsn in state["datasets"]:
            _violation(state, f"EXPORT to an existing data set {dsn}")
            return Result(8, unmodelled(f"data set {dsn} exists"))
        data = make_p12(state, cert, unquote(ops["PASSWORD"]), state["p12"])
        state["datasets"][dsn] = base64.b64encode(data).decode()
        return Result(0, "", False)

    return Result(12, unmodelled(f"RACDCERT function not in the double: {text}"))


# --- renewal with a new key: REKEY, GENREQ, GENCERT of a request, ROLLOVER, ALTER --------
# As IBM's RACF Command Language Reference describes them (le-rekey, le-genreq, le-gencert,
# le-rollover, le-alter): REKEY copies the subject, key usage and alternate names with a
# new key pair, self-signed, under a new label; GENREQ writes a PKCS#10 request of a
# certificate that has its private key; GENCERT('dsn') signs a request, and a request
# whose public key is a certificate's in RACF (the rekeyed one) replaces that certificate
# in place (label and private key kept); ROLLOVER deletes the source's private key and puts
# the target in its place on every ring (PERSONAL: replaced; CERTAUTH/SITE: added beside);
# ALTER NEWLABEL renames. IRRD128I when a private key is needed and missing.

_NO_KEY = (
    "IRRD128I {f} requires a certificate with an associated private key. "
    "The request is not processed."
)


def _key_of(cert: dict):
    serialization = _crypto()[2]
    return serialization.load_pem_private_key(cert["key_pem"].encode(), None)


def _rekey(state: dict, owner: str, ops: dict) -> Result:
    x509, hashes, serialization, _r, _o = _crypto()
    label = unquote(opmap(ops["REKEY"])["LABEL"])
    new_label = unquote(ops["WITHLABEL"])
    source = find_cert(state, owner, label)
    if source is None:
        return Result(4, "IRRD107I No matching certificate was found for this user.")
    if not source.get("key_pem"):
        return Result(8, _NO_KEY.format(f="REKEY"))
    if find_cert(state, owner, new_label):
        _violation(state, f"REKEY to an existing label {owner}/{new_label}")
        return Result(8, unmodelled(f"label {new_label} is already in use for {owner}"))
    size = int(ops.get("SIZE") or source["size"])
    old = x509.load_pem_x509_certificate(source["cert_pem"].encode())
    key = rsa_key(size, state)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(old.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    for ext in old.extensions:
        if isinstance(
            ext.value, (x509.KeyUsage, x509.SubjectAlternativeName, x509.BasicConstraints)
        ):
            builder = builder.add_extension(ext.value, ext.critical)
    cert = builder.sign(key, hashes.SHA256())
    state["certs"].append(
        {
            **{k: v for k, v in source.items() if k not in ("cert_pem", "key_pem", "label")},
            "label": new_label,
            "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
            "key_pem": key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
            "signer": None,
            "size": size,
        }
    )
    _changed(state, "DIGTCERT")
    return Result(0, _raclisted_note(state, "DIGTCERT", "ADDITION"), True)


def _genreq(state: dict, owner: str, ops: dict) -> Result:
    x509, hashes, serialization, _r, _o = _crypto()
    label = unquote(opmap(ops["GENREQ"])["LABEL"])
    cert = find_cert(state, owner, label)
    if cert is None:
        return Result(4, "IRRD107I No matching certificate was found for this user.")
    if not cert.get("key_pem"):
        return Result(8, _NO_KEY.format(f="GENREQ"))
    dsn = unquote(ops["DSN"]).upper()
    if dsn in state["datasets"]:
        _violation(state, f"GENREQ to an existing data set {dsn}")
        return Result(8, unmodelled(f"data set {dsn} exists"))
    c = x509.load_pem_x509_certificate(cert["cert_pem"].encode())
    builder = x509.CertificateSigningRequestBuilder().subject_name(c.subject)
    for ext in c.extensions:
        if isinstance(
            ext.value, (x509.KeyUsage, x509.SubjectAlternativeName, x509.BasicConstraints)
        ):
            builder = builder.add_extension(ext.value, ext.critical)
    csr = builder.sign(_key_of(cert), hashes.SHA256())
    pem = csr.public_bytes(serialization.Encoding.PEM)
    state["datasets"][dsn] = base64.b64encode(pem).decode()
    return Result(0, "", True)


def _gencert_request(state: dict, owner: str, ops: dict) -> Result:
    x509, hashes, serialization, _r, _o = _crypto()
    dsn = unquote(ops["GENCERT"]).upper()
    if dsn not in state["datasets"]:
        return Result(8, unmodelled(f"the request data set {dsn} cannot be read"))
    csr = x509.load_pem_x509_csr(base64.b64decode(state["datasets"][dsn]))
    public = csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    target = None
    for cert in state["certs"]:
        if cert["owner"] != owner or not cert.get("key_pem"):
            continue
        key = (
            _key_of(cert)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        if key == public:
            target = cert
    if target is None:
        return Result(8, unmodelled("GENCERT of a request for a key RACF does not hold"))
    s = opmap(ops.get("SIGNWITH") or "")
    signer_owner = "CERTAUTH" if "CERTAUTH" in s else (s.get("ID") or "").upper()
    signer = find_cert(state, signer_owner, unquote(s.get("LABEL") or "''"))
    if signer is None:
        return Result(4, "IRRD107I No matching certificate was found for this user.")
    if not signer.get("key_pem"):
        return Result(8, _NO_KEY.format(f="GENCERT"))
    signer_cert = x509.load_pem_x509_certificate(signer["cert_pem"].encode())
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    notafter = now + dt.timedelta(days=365)
    if ops.get("NOTAFTER"):
        date = opmap(ops["NOTAFTER"])["DATE"].replace("/", "-")
        notafter = dt.datetime.fromisoformat(date).replace(tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(signer_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(notafter)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_key_of(signer).public_key()),
            False,
        )
    )
    for ext in csr.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    cert = builder.sign(_key_of(signer), hashes.SHA256())
    target["cert_pem"] = cert.public_bytes(serialization.Encoding.PEM).decode()
    target["signer"] = [signer["owner"], signer["label"]]
    _changed(state, "DIGTCERT")
    return Result(0, _raclisted_note(state, "DIGTCERT", "UPDATE"), True)


def _rollover(state: dict, owner: str, ops: dict) -> Result:
    label = unquote(opmap(ops["ROLLOVER"])["LABEL"])
    new_label = unquote(ops["NEWLABEL"])
    source, target = find_cert(state, owner, label), find_cert(state, owner, new_label)
    if source is None or target is None:
        return Result(4, "IRRD107I No matching certificate was found for this user.")
    if not target.get("key_pem"):
        return Result(8, _NO_KEY.format(f="ROLLOVER"))
    if not source.get("key_pem"):
        _violation(state, f"ROLLOVER of {owner}/{label}, whose private key is gone already")
        return Result(8, unmodelled(f"{label} has no private key to retire"))
    source["key_pem"] = None
    for rings in state["rings"].values():
        for entries in rings.values():
            for i, e in enumerate(list(entries)):
                if (e["owner"], e["label"]) != (owner, label):
                    continue
                if any((x["owner"], x["label"]) == (owner, new_label) for x in entries):
                    continue
                moved = {**e, "label": new_label}
                if e["usage"] == "PERSONAL":
                    entries[entries.index(e)] = moved
                else:
                    entries.insert(i + 1, {**moved, "default": False})
    _changed(state, "DIGTCERT")
    _changed(state, "DIGTRING")
    return Result(0, _raclisted_note(state, "DIGTCERT", "UPDATE"), True)


def _alter(state: dict, owner: str, ops: dict) -> Result:
    label = unquote(opmap(ops["ALTER"])["LABEL"])
    cert = find_cert(state, owner, label)
    if cert is None:
        return Result(4, "IRRD107I No matching certificate was found for this user.")
    if not ops.get("NEWLABEL"):
        return Result(8, unmodelled("ALTER: only NEWLABEL is in the double"))
    new_label = unquote(ops["NEWLABEL"])
    if find_cert(state, owner, new_label):
        _violation(state, f"ALTER NEWLABEL to a label in use {owner}/{new_label}")
        return Result(8, unmodelled(f"label {new_label} is already in use for {owner}"))
    cert["label"] = new_label
    for rings in state["rings"].values():
        for entries in rings.values():
            for e in entries:
                if (e["owner"], e["label"]) == (owner, label):
                    e["label"] = new_label
    _changed(state, "DIGTCERT")
    return Result(0, _raclisted_note(state, "DIGTCERT", "UPDATE"), True)


def ring_problems(state: dict) -> list[str]:
    """Each key ring that has a DEFAULT connection but no usable default certificate (as
    AT-TLS picks it): the default PERSONAL certificate with its private key, valid now,
    signed by a CA certificate connected to the same ring."""
    x509 = _crypto()[0]
    now = dt.datetime.now(dt.UTC)
    problems = []
    for ring_owner, rings in state["rings"].items():
        for ring, entries in rings.items():
            watched = state.setdefault("ring_watch", [])
            name = f"{ring_owner}/{ring}"
            defaults = [e for e in entries if e["default"] and e["usage"] == "PERSONAL"]
            if defaults and name not in watched:
                watched.append(name)
            if name not in watched:
                continue
            why = "no default certificate"
            for e in defaults:
                cert = find_cert(state, e["owner"], e["label"])
                if cert is None or not cert.get("key_pem"):
                    why = f"the default {e['label']!r} has no private key"
                    continue
                c = x509.load_pem_x509_certificate(cert["cert_pem"].encode())
                if not c.not_valid_before_utc <= now < c.not_valid_after_utc:
                    why = f"the default {e['label']!r} is not valid now"
                    continue
                cas = [
                    find_cert(state, x["owner"], x["label"])
                    for x in entries
                    if x["usage"] == "CERTAUTH"
                ]
                if not any(
                    ca
                    and x509.load_pem_x509_certificate(ca["cert_pem"].encode()).subject == c.issuer
                    for ca in cas
                ):
                    why = f"no CA of the default {e['label']!r} is on the ring"
                    continue
                why = ""
                break
            if why:
                problems.append(f"{name}: {why}")
    return problems


def _profile_listing(klass: str, name: str, profile: dict, your: str = "ALTER") -> str:
    generic = " (G)" if "*" in name else ""
    acl = profile["acl"]
    lines = [
        "CLASS      NAME",
        "-----      ----",
        f"{klass:<10} {name}{generic}",
        "",
        "LEVEL  OWNER      UNIVERSAL ACCESS  YOUR ACCESS  WARNING",
        "-----  --------   ----------------  -----------  -------",
        f" 00    {profile['owner']:<8}         {profile['uacc']:<8}          {your:<8} NO",
        "",
        "USER      ACCESS   ACCESS COUNT",
        "----      ------   ------ -----",
    ]
    if acl:
        lines += [f"{user:<8}  {access:<7}   000000" for user, access in sorted(acl.items())]
    else:
        lines.append("NO USERS IN ACCESS LIST")
    lines += ["", "ID        ACCESS   ACCESS COUNT   CLASS       ENTITY NAME"]
    lines += ["------    -------  ------------   --------    ---------------------"]
    lines += ["NO ENTRIES IN CONDITIONAL ACCESS LIST"]
    return "\n".join(lines)


def _setr_list(state: dict) -> str:
    def wrap(heading: str, classes: list[str]) -> list[str]:
        words = classes or ["NONE"]
        lines, line = [], f"{heading} = "
        indent = " " * len(line)
        for w in words:
            if len(line) + len(w) > 70 and line.strip() != f"{heading} =":
                lines.append(line.rstrip())
                line = indent
            line += w + " "
        lines.append(line.rstrip())
        return lines

    c = state["classes"]
    lines = ["ATTRIBUTES = INITSTATS WHEN(PROGRAM -- BASIC) SAUDIT CMDVIOL OPERAUDIT"]
    lines += ["STATISTICS = NONE", "AUDIT CLASSES = NONE"]
    lines += wrap("ACTIVE CLASSES", c["active"] + ["APPL", "PROGRAM", "STARTED", "OPERCMDS"])
    lines += wrap("GENERIC PROFILE CLASSES", c["generic"])
    lines += wrap("GENERIC COMMAND CLASSES", c["generic"])
    lines += ["GENLIST CLASSES = NONE", "GLOBAL CHECKING CLASSES = NONE"]
    lines += wrap("SETR RACLIST CLASSES", c["raclist"])
    lines += ["GLOBAL=YES RACLIST ONLY = NONE", 'LOGOPTIONS "ALWAYS" CLASSES = NONE']
    return "\n".join(lines)


def setropts(state: dict, text: str) -> Result:
    ops = operands(text)
    keys = [k for k, _ in ops]
    if keys == ["LIST"]:
        return Result(0, _setr_list(state))
    classes = state["classes"]
    done = "ICH14063I SETROPTS COMMAND COMPLETE."
    if "REFRESH" in keys:
        for key, value in ops:
            if key == "REFRESH":
                continue
            for klass in (value or "").split():
                table = {"RACLIST": "raclist", "GENERIC": "generic"}.get(key)
                if table is None:
                    return Result(8, f"IKJ56701I INVALID KEYWORD {key}")
                if klass not in classes[table]:
                    _violation(state, f"REFRESH of {key}({klass}), which is not in effect")
                    return Result(
                        4, f"ICH14070I SETROPTS RACLIST REFRESH had no effect on class {klass}."
                    )
                state["pending"].pop(klass, None)
        return Result(0, done, True)
    table = {
        "CLASSACT": ("active", True),
        "NOCLASSACT": ("active", False),
        "RACLIST": ("raclist", True),
        "NORACLIST": ("raclist", False),
        "GENERIC": ("generic", True),
        "NOGENERIC": ("generic", False),
    }
    for key, value in ops:
        if key not in table or not value:
            return Result(8, f"IKJ56701I INVALID KEYWORD {key}")
        name, on = table[key]
        for klass in value.split():
            listed = klass in classes[name]
            if on and listed:
                _violation(state, f"SETROPTS {key}({klass}), already in effect")
            elif on:
                classes[name].append(klass)
            elif listed:
                classes[name].remove(klass)
                if name == "raclist":
                    state["pending"].pop(klass, None)
            else:
                _violation(state, f"SETROPTS {key}({klass}), not in effect")
    return Result(0, done, True)


def resource_command(state: dict, verb: str, text: str) -> Result:
    ops = operands(text)
    if verb in ("RLIST", "RDEFINE", "RDELETE"):
        klass, name = ops[0][0], ops[1][0]
        profiles = state["profiles"].setdefault(klass, {})
        if verb == "RLIST":
            if name not in profiles:
                return Result(4, f"ICH13003I {name} NOT FOUND")
            from tests.zos_double import uss

            your = uss.access_of(state, state["ssh_user"], profiles[name])
            return Result(0, _profile_listing(klass, name, profiles[name], your))
        if verb == "RDEFINE":
            if name in profiles:
                _violation(state, f"RDEFINE of an existing profile {klass} {name}")
                return Result(4, f"ICH10102I {name} ALREADY DEFINED TO CLASS {klass}.")
            uacc = (dict(ops).get("UACC") or "NONE").upper()
            profiles[name] = {"uacc": uacc, "acl": {}, "owner": state["ssh_user"]}
            _changed(state, klass)
            return Result(0, _raclisted_note(state, klass, "ADDITION"), True)
        if name not in profiles:
            return Result(4, f"ICH12102I {name} NOT FOUND")
        del profiles[name]
        _changed(state, klass)
        return Result(0, _raclisted_note(state, klass, "DELETION"), True)
    # PERMIT profile CLASS(c) ID(u) ACCESS(a) | DELETE
    name = ops[0][0]
    rest = dict(ops[1:])
    klass = (rest.get("CLASS") or "").upper()
    user = (rest.get("ID") or "").upper()
    profile = state["profiles"].get(klass, {}).get(name)
    if profile is None:
        return Result(8, unmodelled(f"{name} is not defined to class {klass}"))
    if user not in state["users"]:
        return Result(8, unmodelled(f"{user} is not defined to RACF"))
    if "DELETE" in rest:
        if user not in profile["acl"]:
            return Result(4, unmodelled(f"{user} is not in the access list of {name}"))
        del profile["acl"][user]
    else:
        if user in profile["acl"]:
            _violation(state, f"PERMIT of {user} already in the access list of {name}")
        profile["acl"][user] = (rest.get("ACCESS") or "READ").upper()
    _changed(state, klass)
    return Result(0, _raclisted_note(state, klass, "UPDATE"), True)


def listuser(state: dict, text: str) -> Result:
    """LISTUSER ID [OMVS]: the base segment's ATTRIBUTES line and, with OMVS, the UID
    (ICH30001I for an ID RACF does not know)."""
    ops = operands(text)
    user = ops[0][0].strip("()").upper()
    if user not in state["users"]:
        return Result(4, f"ICH30001I UNABLE TO LOCATE USER ENTRY {user}")
    attrs = state.get("user_attrs", {}).get(user, {})
    uid = attrs.get("uid", 100 + state["users"].index(user))
    lines = [
        f"USER={user}  NAME=TEST DOUBLE  OWNER=SYS1  CREATED=24.001",
        " DEFAULT-GROUP=SYS1  PASSDATE=24.001 PASS-INTERVAL= 90",
        f" ATTRIBUTES={' '.join(attrs.get('attributes', [])) or 'NONE'}",
        " REVOKE DATE=NONE   RESUME DATE=NONE",
        " GROUP=SYS1  AUTH=USE  CONNECT-OWNER=SYS1  CONNECT-DATE=24.001",
        "   CONNECT ATTRIBUTES=NONE",
    ]
    if any(k == "OMVS" for k, _ in ops[1:]):
        lines += ["", "OMVS INFORMATION", "----------------", f"UID= {uid:010d}"]
        lines += [f"HOME= /u/{user.lower()}", "PROGRAM= /bin/sh"]
    return Result(0, "\n".join(lines))


def tso(state: dict, command: str) -> Result:
    """One TSO command, as tsocmd or a batch TMP would run it."""
    command = command.strip()
    verb, _, rest = command.partition(" ")
    verb = verb.upper()
    try:
        if verb == "RACDCERT":
            result = racdcert(state, rest)
            if result.mutates:
                # what a TLS handshake on each watched ring would find, after each change
                for problem in ring_problems(state):
                    state.setdefault("ring_gaps", []).append(
                        {"n": state["counter"], "after": command, "problem": problem}
                    )
            return result
        if verb in ("SETROPTS", "SETR"):
            return setropts(state, rest)
        if verb in ("RLIST", "RDEFINE", "RDELETE", "PERMIT"):
            return resource_command(state, verb, rest)
        if verb in ("LISTUSER", "LU"):
            # With OMVS: the UID check before mapping users (racf.listuser); the base
            # segment alone: the preflight's look at the SSH user's authority (uss).
            if any(k == "OMVS" for k, _ in operands(rest)[1:]):
                return listuser(state, rest)
            from tests.zos_double import uss

            return uss.listuser(state, rest)
        if verb == "SEARCH":
            klass = (opmap(rest).get("CLASS") or "").upper()
            names = sorted(state["profiles"].get(klass, {}))
            if not names:
                return Result(4, "ICH31005I NO ENTRIES MEET SEARCH CRITERIA")
            return Result(0, "\n".join(names))
        if verb == "DELETE":
            dsn = unquote(rest).upper()
            if dsn not in state["datasets"]:
                return Result(
                    8, f"IDC3012I ENTRY {dsn} NOT FOUND\nIDC0551I ** ENTRY {dsn} NOT DELETED"
                )
            del state["datasets"][dsn]
            return Result(0, f"IDC0550I ENTRY (A) {dsn} DELETED")
    except (SyntaxErr, KeyError, TypeError, IndexError, AttributeError) as exc:
        return Result(12, f"IKJ56702I INVALID COMMAND SYNTAX ({exc}): {command}")
    return Result(12, f"IKJ56500I COMMAND {verb} NOT FOUND")


def injected_failure(command: str, state: dict) -> Result:
    """What a TSO command refused by RACF authority checking looks like."""
    verb = command.split()[0].upper() if command.split() else "?"
    function = next(
        (
            f
            for f in ("GENCERT", "CONNECT", "ADDRING", "EXPORT", "LISTRING", "LIST", "DELETE")
            if f in command.upper()
        ),
        verb,
    )
    return Result(
        8,
        f"ICH408I USER({state['ssh_user']:<8}) GROUP(SYS1    ) NAME(TEST DOUBLE)\n"
        f"  IRR.DIGTCERT.{function} CL(FACILITY)\n"
        "  INSUFFICIENT ACCESS AUTHORITY\n"
        "  FROM IRR.DIGTCERT.* (G)\n"
        "  ACCESS INTENT(READ   )  ACCESS ALLOWED(NONE   )",
    )


def racf_view(state: dict) -> dict:
    """RACF's content without certificate bytes: what a rerun must leave unchanged."""
    return {
        "certs": sorted((c["owner"], c["label"], tuple(c["signer"] or ())) for c in state["certs"]),
        "rings": {
            f"{owner}/{ring}": sorted(
                (e["owner"], e["label"], e["usage"], e["default"]) for e in entries
            )
            for owner, rings in state["rings"].items()
            for ring, entries in rings.items()
        },
        "profiles": {
            f"{klass} {name}": (p["uacc"], sorted(p["acl"].items()))
            for klass, profiles in state["profiles"].items()
            for name, p in profiles.items()
        },
        "classes": {k: sorted(v) for k, v in state["classes"].items()},
        "datasets": sorted(state["datasets"]),
    }
