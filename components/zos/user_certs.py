"""Each notebook user's client certificate from RACF: per entry of ZOS_USERS a
remote.Command (GENCERT for the user's z/OS ID, signed by the CA, and its PKCS#12
export), giving `user_pki`, the `dict[str, UserPkcs12]` the delivery component splits
(the seed's openssl steps, on this machine) and puts in each user's /etc/jupyterpki.
One resource per user here: the split runs inside the delivery's command.

The users' steps need only the CA and not each other, so they all run at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.delivery.material import UserPkcs12
from components.settings import ZosSettings
from components.zos.commands import connection, remote_step, split_stdin, stdin_for
from components.zos.export import render_split_script
from components.zos.steps import user_steps


@dataclass(frozen=True)
class ZosUserCertsArgs:
    zos: ZosSettings  # the host, connection, labels, ZOS_USERS and key size the steps use
    stack: str  # the stack: its marker directory on z/OS and the RACF CA's name
    p12_password: pulumi.Output[str]  # secret: protects each user's PKCS#12 export
    depends_on: Sequence[pulumi.Resource]  # the CA's step


class ZosUserCerts(pulumi.ComponentResource):
    user_pki: dict[str, UserPkcs12]
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
            self.exports[user] = export
            self.user_pki[user] = UserPkcs12(
                stdin=split_stdin(export, args.p12_password), split_script=render_split_script()
            )
        self.register_outputs({"users": sorted(self.user_pki)})
