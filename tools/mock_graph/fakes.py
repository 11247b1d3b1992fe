"""Deterministic fake provider outputs (the default): every resource echoes its inputs
plus stand-in values for what its provider would compute, derived from names and inputs
so runs are repeatable. The values are placeholders (`MOCK...` PEMs, hex "passwords"),
never real keys or secrets."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pulumi


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\nMOCK{_digest(kind, name)[:48]}\n-----END {kind}-----\n"


def _tls_key(args) -> dict:
    return {
        "privateKeyPem": _pem("PRIVATE KEY", args.name),
        "privateKeyPemPkcs8": _pem("PRIVATE KEY", args.name),
        "privateKeyOpenssh": _pem("OPENSSH PRIVATE KEY", args.name),
        "publicKeyPem": _pem("PUBLIC KEY", args.name),
        "publicKeyOpenssh": f"ecdsa-sha2-nistp256 MOCK{_digest(args.name)[:32]}",
    }


def _random_text(args) -> dict:
    length = int(args.inputs.get("length", 32))
    text = (_digest(args.typ, args.name) * 4)[:length]
    return {"result": text}


def _random_bytes(args) -> dict:
    length = int(args.inputs.get("length", 32))
    raw = bytes.fromhex((_digest(args.name) * 4)[: 2 * length])
    return {"hex": raw.hex(), "base64": base64.b64encode(raw).decode()}


def _image(args) -> dict:
    """As pulumi-docker reports them: a local build (never pushed) has the image ID as
    its repoDigest; a pulled image, repository@digest."""
    name = args.inputs.get("imageName") or args.inputs.get("name") or args.name
    digest = _digest(args.typ, args.name, json.dumps(args.inputs, sort_keys=True, default=str))
    local = args.typ == "docker:index/image:Image" and args.inputs.get("skipPush")
    repo_digest = f"sha256:{digest}" if local else f"{name.split(':')[0]}@sha256:{digest}"
    return {"repoDigest": repo_digest, "imageId": f"sha256:{digest}"}


# type token -> computed outputs. Tests may add their own with `register_fake`.
FAKES: dict[str, Callable[[Any], dict]] = {
    "tls:index/privateKey:PrivateKey": _tls_key,
    "tls:index/selfSignedCert:SelfSignedCert": lambda a: {"certPem": _pem("CERTIFICATE", a.name)},
    "tls:index/locallySignedCert:LocallySignedCert": lambda a: {
        "certPem": _pem("CERTIFICATE", a.name)
    },
    "tls:index/certRequest:CertRequest": lambda a: {
        "certRequestPem": _pem("CERTIFICATE REQUEST", a.name)
    },
    "random:index/randomPassword:RandomPassword": _random_text,
    "random:index/randomString:RandomString": _random_text,
    "random:index/randomBytes:RandomBytes": _random_bytes,
    "random:index/randomId:RandomId": lambda a: {
        "hex": _digest(a.name)[: 2 * int(a.inputs.get("byteLength", 8))]
    },
    "docker:index/image:Image": _image,
    "docker:index/remoteImage:RemoteImage": _image,
    "command:local:Command": lambda a: {"stdout": "", "stderr": ""},
    "command:remote:Command": lambda a: {"stdout": "", "stderr": ""},
}


def register_fake(type_: str, fake: Callable[[Any], dict]) -> None:
    """Outputs a type's provider would compute (e.g. a command's stdout)."""
    FAKES[type_] = fake


class FakeProviders(pulumi.runtime.Mocks):
    """Every resource echoes its inputs plus the outputs its provider would compute;
    ids and outputs derive from names and inputs, so runs are deterministic."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        fake = FAKES.get(args.typ)
        if fake is not None:
            outputs.update(fake(args))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}
