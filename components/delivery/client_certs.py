"""Deliver each notebook user's client certificate, key and CA to the Docker host.

One pulumi-command `local.Command` per user runs the script that
components/delivery/script.py renders: on this machine when the Docker host is
local, or through the `ssh` binary when `docker:host` is ssh://. Why ssh and not
remote.Command: it is the transport docker itself uses for ssh:// hosts, so it needs no
second SSH key in config and verifies the host against the operator's known_hosts,
where remote.Command would need a private key as a stack secret and skips host key
checks unless given one.

The PEMs go on stdin only (a secret input, encrypted in state); the command text holds
paths and names. A z/OS user's certificate comes as a PKCS#12 export (UserPkcs12):
its stdin is the password and the export, and the command first splits it into PEM
on this machine (the seed's openssl steps), then delivers. Output logging is off
and stdout/stderr are secret outputs. A changed certificate changes stdin, which
re-runs the script (it replaces the files in place). A changed host, directory or
file name replaces the resource, deleting the old files first. PEM texts come as
UserPki, the z/OS export as UserPkcs12. The program delivers only RACF
certificates (z/OS behind AT-TLS); elsewhere the hub issues users' certificates at spawn
(images/hub/jhz_client_certs.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.delivery.material import UserPkcs12, UserPki
from components.delivery.script import (
    DeliveryFiles,
    delivery_commands,
    delivery_target,
    frame_stdin,
)


@dataclass(frozen=True)
class PkiDeliveryArgs:
    user_pki: Mapping[str, UserPki | UserPkcs12]  # hub user -> that user's certificate
    pki_dir: str  # HUB_PKI_DIR: <pki_dir>/<user>/ is mounted at /etc/jupyterpki
    client_key: str  # CLIENT_KEY: the key's file name in that directory
    client_cert: str  # CLIENT_CERT: the certificate's file name
    client_ca: str  # CLIENT_CA: the gateway CA's file name
    docker_host: str | None  # docker:host (None or unix:// is this machine)
    ssh_opts: Sequence[str] = ()  # docker:sshOpts, used the way docker uses them


class PkiDelivery(pulumi.ComponentResource):
    """`users`: who has a certificate on the host (the hub's JUPYTERPKI_USERS);
    `commands`: one per user, for resources that must wait for the files."""

    users: tuple[str, ...]
    commands: dict[str, command.local.Command]

    def __init__(
        self, name: str, args: PkiDeliveryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-zos:pki_delivery:PkiDelivery", name, None, opts)
        target = delivery_target(args.docker_host)  # ValueError before any child
        self.commands = {}
        for user, pki in sorted(args.user_pki.items()):
            files = DeliveryFiles(
                args.pki_dir, user, args.client_key, args.client_cert, args.client_ca
            )
            if isinstance(pki, UserPkcs12):  # split into PEM here, then delivered
                texts = delivery_commands(files, target, args.ssh_opts, pki.split_script)
                stdin = pulumi.Output.secret(pki.stdin)
            else:
                texts = delivery_commands(files, target, args.ssh_opts)
                stdin = pulumi.Output.secret(
                    pulumi.Output.all(pki.key_pem, pki.cert_pem, pki.ca_pem).apply(
                        lambda pems: frame_stdin(*pems)
                    )
                )
            self.commands[user] = command.local.Command(
                f"{name}-{user}",
                create=texts["create"],
                delete=texts["delete"],
                stdin=stdin,
                logging=command.local.Logging.NONE,
                add_previous_output_in_env=False,
                # Where the files are: a change moves them (old ones removed first).
                triggers=[target.label, files.directory, files.key, files.cert, files.ca],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    additional_secret_outputs=["stdout", "stderr"],
                    delete_before_replace=True,
                ),
            )
        self.users = tuple(self.commands)
        self.register_outputs({"users": list(self.users)})
