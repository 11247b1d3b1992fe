"""The z/OS steps in the seed runbook's order: one place that decides which steps
there are, so the component and the tests render exactly the same scripts."""

from __future__ import annotations

from urllib.parse import urlsplit

from components.settings import ZosSettings
from components.zos.attls import policy_step
from components.zos.export import p12_stdin, server_export_step, user_cert_step
from components.zos.kg_config import kg_config_stdin, kg_config_step
from components.zos.racf import (
    ca_step,
    connect_step,
    fssec_step,
    listring_step,
    ring_step,
    server_cert_step,
    surrogat_step,
)
from components.zos.script import Step


def server_host(zos: ZosSettings, kg_url: str | None) -> str:
    """The name clients use for the gateway (KG_URL's host), which its certificate names."""
    host = urlsplit(kg_url).hostname if kg_url else None
    return host or zos.host


# What each gateway step needs done before it; everything else runs in parallel, so
# `pulumi up` is not one long chain of SSH round trips. The seed's order is kept where
# it matters: a certificate after the CA that signs it, the connections after the ring
# and both certificates, the AT-TLS policy (which makes the port live) after the ring is
# complete and readable. The permit, SURROGAT and FSSEC need only the CA step (which
# checks the users' IDs before anything is changed).
REQUIRES: dict[str, tuple[str, ...]] = {
    # The CA step first checks the notebook users' IDs: nothing is changed before that.
    "ring": ("ca",),
    "server-cert": ("ca",),
    "connect": ("ring", "server-cert"),
    "listring": ("ca",),
    "attls": ("connect", "listring"),
    "surrogat": ("ca",),
    "fssec": ("ca",),
    "server-export": ("server-cert",),
    "server-pem": ("server-export",),
    # without AT-TLS it carries the exported key (server-pem)
    "kg-config": ("ca", "server-pem"),
}


def requires(step: str, present: list[str]) -> tuple[str, ...]:
    """The steps among `present` that `step` waits for."""
    return tuple(name for name in REQUIRES.get(step, ()) if name in present)


def gateway_steps(zos: ZosSettings, stack: str, kg_url: str | None) -> list[Step]:
    """The gateway's steps in the seed's order (REQUIRES says which wait for which).

    With AT-TLS: CA, key ring, server certificate, connections, LISTRING permit, AT-TLS
    policy, SURROGAT, FSSEC, gateway config. Without AT-TLS nothing reads a key ring or
    switches users, so those steps are left out (no authority is granted that is not
    used) and the server certificate is exported for the gateway's own TLS instead.

    With ZOS_RACF_MODE=admin only the config step is the program's: the RACF and AT-TLS
    steps are the security administrator's script (components/zos/admin_script.py).
    """
    if zos.racf_mode == "admin":
        return [kg_config_step(zos, stack)]
    return racf_gateway_steps(zos, stack, kg_url) + [kg_config_step(zos, stack)]


def racf_gateway_steps(zos: ZosSettings, stack: str, kg_url: str | None) -> list[Step]:
    """The gateway's RACF and AT-TLS steps (all but the config), in the seed's order."""
    steps = [ca_step(zos, stack)]
    if zos.attls:
        steps.append(ring_step(zos, stack))
    steps.append(server_cert_step(zos, stack, server_host(zos, kg_url)))
    if zos.attls:
        steps += [
            connect_step(zos, stack),
            listring_step(zos, stack),
            policy_step(zos, stack),
            surrogat_step(zos, stack),
            fssec_step(zos, stack),
        ]
    else:
        steps.append(server_export_step(zos, stack))
    return steps


def user_steps(zos: ZosSettings, stack: str) -> dict[str, Step]:
    """Per hub user: the client certificate and its export (each needs only the CA).
    None with ZOS_RACF_MODE=admin: the administrator exports them (ZOS_USER_CERTS)."""
    if zos.racf_mode == "admin":
        return {}
    return racf_user_steps(zos, stack)


def racf_user_steps(zos: ZosSettings, stack: str) -> dict[str, Step]:
    """Per hub user: the RACF client certificate and its export."""
    return {user: user_cert_step(zos, stack, user, zos_id) for user, zos_id in zos.users.items()}


def step_stdin(
    step: Step, *, password: str, token: str, tls_pems: tuple[str, str, str] | None = None
) -> str | None:
    """The stdin a step's create script reads (secret), from the secrets it needs."""
    if step.stdin is None:
        return None
    if step.stdin == "password":
        return p12_stdin(password)
    if step.stdin == "token":
        return kg_config_stdin(token, None)
    if step.stdin == "token+tls":
        if tls_pems is None:
            raise ValueError(f"step {step.name} needs the gateway's PEM files")
        return kg_config_stdin(token, tls_pems)
    raise ValueError(f"step {step.name}: unknown stdin {step.stdin!r}")


def pems_for_gateway(files: dict[str, str]) -> tuple[str, str, str]:
    """The split's cert.pem, key.pem, ca.pem in the order kg_config_stdin expects."""
    return files["cert.pem"], files["key.pem"], files["ca.pem"]
