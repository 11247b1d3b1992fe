"""Each notebook user's client certificate from RACF: per entry of ZOS_USERS a
remote.Command (GENCERT for the user's z/OS ID, signed by the CA, and its PKCS#12
export), split into PEM in the program (the seed's openssl steps, with cryptography),
giving `user_pki`, the `dict[str, UserPki]` the delivery component puts in each user's
/etc/jupyterpki. One resource per user: the split needs none.

The users' steps need only the CA and not each other, so they all run at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.settings import ZosSettings
from components.user_pki import UserPki
from components.zos.commands import connection, export_pems, remote_step, stdin_for
from components.zos.steps import user_steps


@dataclass(frozen=True)
class ZosUserCertsArgs:
    zos: ZosSettings
    stack: str
    p12_password: pulumi.Output[str]
    depends_on: Sequence[pulumi.Resource]  # the CA's step


class ZosUserCerts(pulumi.ComponentResource):
    user_pki: dict[str, UserPki]
    exports: dict[str, command.remote.Command]

    def __init__(
        self, name: str, args: ZosUserCertsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:zos:ZosUserCerts", name, None, opts)
        self.user_pki, self.exports = {}, {}
        conn = connection(args.zos)
        for user, step in sorted(user_steps(args.zos, args.stack).items()):
            export = remote_step(
                f"{name}-{user}",
                step,
                args.zos,
                conn=conn,
                stdin=stdin_for(step, password=args.p12_password),
                depends_on=args.depends_on,
                parent=self,
            )
            what = f"the client certificate of hub user {user} ({args.zos.users[user]})"
            files = export_pems(export, args.p12_password, what)
            self.exports[user] = export
            self.user_pki[user] = UserPki(  # secret, as export_pems is
                cert_pem=files["cert.pem"], key_pem=files["key.pem"], ca_pem=files["ca.pem"]
            )
        self.register_outputs({"users": sorted(self.user_pki)})
