"""The gateway's side of z/OS: RACF CA, key ring, server certificate, connections,
LISTRING permit, AT-TLS policy, SURROGAT, FSSEC and the gateway's config, one
remote.Command each; each waits for the steps it needs (steps.REQUIRES), the rest run
in parallel.

Without AT-TLS the chain is CA, server certificate, its export (split into PEM on this
machine) and the config, which then carries the gateway's own TLS material. In admin mode
without AT-TLS that material is the security administrator's export (ZOS_KG_SERVER_TLS),
split the same way, and the config is the only step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.settings import ZosSettings
from components.zos.commands import connection, local_split, pem_split, remote_step, stdin_for
from components.zos.kg_config import CONFIG_FILE
from components.zos.steps import gateway_steps, requires


@dataclass(frozen=True)
class ZosGatewayArgs:
    zos: ZosSettings  # connection, RACF labels and ring, AT-TLS, gateway ID and port
    stack: str  # the stack: its marker directory on z/OS and the RACF CA's name
    kg_url: str | None  # KG_URL (its host is the name in the server certificate)
    auth_token: pulumi.Output[str]  # KG_AUTH_TOKEN, given or generated
    p12_password: pulumi.Output[str]  # for the server's export when there is no AT-TLS
    depends_on: Sequence[pulumi.Resource] = ()  # what every step waits for (the preflight)
    # Without AT-TLS: the CA the gateway checks client certificates against (the hub's
    # client CA, pulumi-tls) instead of the RACF CA.
    client_ca_pem: pulumi.Output[str] | None = None


class ZosGateway(pulumi.ComponentResource):
    """`ca`: the CA step, which the users' certificates wait for; `commands`: each step's
    command by step name; `config_path`: the gateway's config file on z/OS; `tls_files`:
    without AT-TLS, the gateway's split PEM files (secret), else None."""

    ca: command.remote.Command | None  # None with ZOS_RACF_MODE=admin (the admin's CA)
    commands: dict[str, command.remote.Command | command.local.Command]
    config_path: str
    tls_files: pulumi.Output[dict[str, str]] | None
    server_ca_pem: pulumi.Output[str] | None  # without AT-TLS: the RACF CA, from the split

    def __init__(
        self, name: str, args: ZosGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:zos:ZosGateway", name, None, opts)
        zos = args.zos
        # Rendering validates (the AT-TLS policy among them) before any child exists.
        steps = gateway_steps(zos, args.stack, args.kg_url)
        self.commands = {}
        conn = connection(zos)
        tls_files: pulumi.Output[dict[str, str]] | None = None
        self.server_ca_pem = None
        if zos.server_tls is not None:
            # Admin mode without AT-TLS: the administrator's export of the gateway's
            # certificate, split as the program's own is, or PEM as given. Its CA is the
            # one the users' certificates chain to: the gateway checks clients against it.
            supplied = zos.server_tls
            if supplied.p12_stdin is not None:
                split, tls_files = local_split(
                    f"{name}-server-pem", supplied.p12_stdin, parent=self
                )
                self.commands["server-pem"] = split
            else:
                tls_files = pulumi.Output.secret(
                    pulumi.Output.all(supplied.cert_pem, supplied.key_pem, supplied.ca_pem).apply(
                        lambda v: {"cert.pem": v[0], "key.pem": v[1], "ca.pem": v[2]}
                    )
                )
            self.server_ca_pem = tls_files.apply(lambda files: files["ca.pem"])
        # the split of the server's export (the program's own, or the administrator's)
        splits = "server-export" in [s.name for s in steps] or "server-pem" in self.commands
        present = [step.name for step in steps] + ["server-pem"] * splits
        for step in steps:
            stdin = stdin_for(
                step, password=args.p12_password, token=args.auth_token, tls_files=tls_files
            )
            after = [*args.depends_on, *(self.commands[n] for n in requires(step.name, present))]
            cmd = remote_step(
                f"{name}-{step.name}",
                step,
                zos,
                conn=conn,
                stdin=stdin,
                depends_on=after,
                parent=self,
            )
            self.commands[step.name] = cmd
            if step.name == "server-export":
                split, tls_files = pem_split(
                    f"{name}-server-pem", cmd, args.p12_password, parent=self
                )
                self.commands["server-pem"] = split
                self.server_ca_pem = tls_files.apply(lambda files: files["ca.pem"])
                if args.client_ca_pem is not None:
                    # ca.pem goes to kg_client_ca.pem: the hub's client CA, not RACF's.
                    tls_files = pulumi.Output.all(tls_files, args.client_ca_pem).apply(
                        lambda v: {**v[0], "ca.pem": v[1]}
                    )
        self.ca = self.commands.get("ca")
        self.tls_files = tls_files
        self.config_path = f"{zos.kg_config_dir}/{CONFIG_FILE}"
        self.register_outputs({"config_path": self.config_path, "steps": list(self.commands)})
