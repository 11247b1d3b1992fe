"""Each notebook user's client certificate from RACF: per entry of ZOS_USERS a
remote.Command (GENCERT for the user's z/OS ID, signed by the CA, and its PKCS#12
export) and a local.Command (the seed's openssl split), giving `user_pki`, the
`dict[str, UserPki]` the delivery component puts in each user's /etc/jupyterpki.

The users' steps need only the CA and not each other, so they all run at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.settings import ZosSettings
from components.user_pki import UserPki
from components.zos.commands import connection, pem_split, remote_step, stdin_for
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
    splits: dict[str, command.local.Command]

    def __init__(
        self, name: str, args: ZosUserCertsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:zos:ZosUserCerts", name, None, opts)
        self.user_pki, self.exports, self.splits = {}, {}, {}
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
            split, files = pem_split(f"{name}-{user}-pem", export, args.p12_password, parent=self)
            self.exports[user], self.splits[user] = export, split
            self.user_pki[user] = UserPki(  # secret: the split's stdout is
                cert_pem=files["cert.pem"], key_pem=files["key.pem"], ca_pem=files["ca.pem"]
            )
        self.register_outputs({"users": sorted(self.user_pki)})
