"""z/OS, when ZOS_HOST is set: first a read-only preflight that every other step waits
for, then the gateway's RACF, AT-TLS and config, the users' client certificates, and
last the gateway's (re)start (ZOS_KG_LIFECYCLE), which destroy stops before the steps it
waits for go.

Behind AT-TLS (ZOS_ATTLS, the default) RACF maps each client certificate to a z/OS user
ID, so each ZOS_USERS entry gets a RACF certificate (`user_pki`, for the delivery).
With ZOS_ATTLS=false the gateway does TLS itself and kernels run as its own ID: it trusts
a pulumi-tls client CA (`client_ca`) whose key goes to the hub, which issues each user's
certificate at spawn as on the dev stack; `server_ca_pem` is the RACF CA that signed the
gateway's certificate, which notebooks verify it by. No RACF certificate per user then.

With ZOS_RACF_MODE=admin no step here runs a RACF command: the RACF and AT-TLS steps are
`admin_script` (components/zos/admin_script.py) for the security administrator, and
`user_pki` comes from ZOS_USER_CERTS, the administrator's exports, delivered as the
program's own exports are. Over SSH run only the preflight (no RACF), the gateway's config
and its (re)start. Without AT-TLS there the gateway's own certificate and key are the
administrator's too (ZOS_KG_SERVER_TLS, `zos.server_tls`), and its CA, the one the users'
certificates chain to, is what the gateway checks clients against: no pulumi-tls client CA,
the hub issues nothing and delivers the users' files as behind AT-TLS."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_random as random

from components.delivery.material import SuppliedCert, UserPkcs12, UserPki
from components.gateway.pki import CLIENT_CA_PURPOSE
from components.pki.resources import IssuedCert, self_signed_ca
from components.pki.specs import ca_spec
from components.settings import ZosSettings
from components.zos.admin_script import render_admin_script
from components.zos.commands import connection, remote_step, stdin_for
from components.zos.export import render_split_script
from components.zos.gateway import ZosGateway, ZosGatewayArgs
from components.zos.gateway_service import restart_note, service_command
from components.zos.preflight import zos_steps
from components.zos.renewal import parse_expiry
from components.zos.user_certs import ZosUserCerts, ZosUserCertsArgs


@dataclass(frozen=True)
class ZosStackArgs:
    zos: ZosSettings  # every z/OS key: each step renders from its own part of them
    stack: str  # the stack: its marker directory on z/OS and the RACF CA's name
    kg_url: str | None  # KG_URL, or https://ZOS_HOST:ZOS_KG_PORT
    auth_token: pulumi.Output[str]  # KG_AUTH_TOKEN, given or generated


class ZosStack(pulumi.ComponentResource):
    preflight: command.remote.Command
    gateway: ZosGateway
    users: ZosUserCerts | None  # behind AT-TLS only
    service: command.remote.Command | None  # None: the operator runs the gateway
    restart_note: str  # what runs the gateway and what must be restarted, for the output
    user_pki: dict[str, UserPkcs12 | UserPki]
    admin_script: str | None  # ZOS_RACF_MODE=admin: the security administrator's script
    client_ca: IssuedCert | None  # ZOS_ATTLS=false in program mode only
    server_ca_pem: pulumi.Output[str] | None  # ZOS_ATTLS=false only
    # "<owner>/<label>" -> end date (YYYY-MM-DD) of every RACF certificate, as the steps
    # LISTed it after making or renewing it (renewal.parse_expiry)
    cert_expiry: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: ZosStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:zos:ZosStack", name, None, opts)
        # Render (and so validate, the AT-TLS policy among it) every script before any
        # child exists; the children render the same again.
        zos = args.zos
        steps = zos_steps(zos, args.stack, args.kg_url)
        service = steps.service
        child = pulumi.ResourceOptions(parent=self)
        # Read-only, first: nothing else runs when it fails.
        self.preflight = remote_step(
            f"{name}-preflight",
            steps.preflight,
            zos,
            conn=connection(zos),
            stdin=None,
            depends_on=[],
            parent=self,
        )
        self.client_ca = None
        # Admin mode without AT-TLS: the users' certificates are the administrator's, from
        # the CA the gateway trusts (ZOS_KG_SERVER_TLS's): the hub issues none.
        if not args.zos.attls and zos.racf_mode == "program":
            self.client_ca = self_signed_ca(f"{name}-client-ca", ca_spec(CLIENT_CA_PURPOSE), child)
        # The PKCS#12 password: ZOS_P12_PASSWORD, or one generated and kept in state.
        # Letters and digits only: it goes into a TSO PASSWORD('...') operand.
        if zos.racf_mode == "admin":  # the program exports nothing: no password
            password = pulumi.Output.secret("")
        elif args.zos.p12_password is not None:
            password = pulumi.Output.secret(args.zos.p12_password)
        else:
            generated = random.RandomPassword(
                f"{name}-p12-password", length=32, special=False, opts=child
            )
            password = pulumi.Output.secret(generated.result)
        self.gateway = ZosGateway(
            f"{name}-gateway",
            ZosGatewayArgs(
                zos=args.zos,
                stack=args.stack,
                kg_url=args.kg_url,
                auth_token=args.auth_token,
                p12_password=password,
                depends_on=[self.preflight],
                client_ca_pem=None if self.client_ca is None else self.client_ca.cert_pem,
            ),
            child,
        )
        self.server_ca_pem = self.gateway.server_ca_pem
        self.users, self.user_pki = None, {}
        self.admin_script = None
        if zos.racf_mode == "admin":
            self.admin_script = render_admin_script(zos, args.stack, args.kg_url)
            self.user_pki = {user: supplied_pki(c) for user, c in sorted(zos.user_certs.items())}
        elif zos.attls:
            self.users = ZosUserCerts(
                f"{name}-users",
                ZosUserCertsArgs(
                    zos=zos,
                    stack=args.stack,
                    p12_password=password,
                    depends_on=[self.preflight, self.gateway.ca],
                ),
                child,
            )
            self.user_pki = self.users.user_pki
        # The gateway starts once all its steps are done, so destroy stops it before any
        # of them (the AT-TLS policy among them) is removed.
        self.service = None
        if service is not None:
            self.service = service_command(
                f"{name}-kg-service",
                service,
                zos,
                conn=connection(zos),
                stdin=stdin_for(
                    service,
                    password=password,
                    token=args.auth_token,
                    tls_files=self.gateway.tls_files,
                ),
                depends_on=[self.preflight, *self.gateway.commands.values()],
                parent=self,
            )
        self.restart_note = restart_note(zos)
        # The exports' stdout is secret (the PKCS#12); the end dates in it are not.
        # Admin mode: no step LISTs a certificate; the supplied ones' ends are known.
        reporting = [
            cmd
            for cmd in (self.gateway.commands.get("ca"), self.gateway.commands.get("server-cert"))
            if cmd is not None
        ]
        reporting += [] if self.users is None else list(self.users.exports.values())
        supplied = {f"supplied/{user}": c.not_after for user, c in zos.user_certs.items()}
        if zos.server_tls is not None:
            supplied["supplied/gateway"] = zos.server_tls.not_after
        self.cert_expiry = pulumi.Output.unsecret(
            pulumi.Output.all(*(cmd.stdout for cmd in reporting)).apply(
                lambda stdouts: dict(sorted({**_expiry(stdouts), **supplied}.items()))
            )
        )
        self.register_outputs(
            {
                "config_path": self.gateway.config_path,
                "users": sorted(self.user_pki),
                "lifecycle": zos.kg_lifecycle,
            }
        )


def supplied_pki(cert: SuppliedCert) -> UserPkcs12 | UserPki:
    """An administrator's export as the delivery takes the program's own: a PKCS#12
    through the same split (the seed's openssl steps), PEM texts as they are."""
    if cert.p12_stdin is not None:
        return UserPkcs12(stdin=cert.p12_stdin, split_script=render_split_script())
    return UserPki(cert_pem=cert.cert_pem, key_pem=cert.key_pem, ca_pem=cert.ca_pem)


def _expiry(stdouts: list[str]) -> dict[str, str]:
    expiry: dict[str, str] = {}
    for stdout in stdouts:
        expiry.update(parse_expiry(stdout or ""))
    return dict(sorted(expiry.items()))
