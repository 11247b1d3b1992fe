"""Write the security administrator's script for a stack in ZOS_RACF_MODE=admin (the same
text as the `zos_admin_script` stack output), before anything is deployed: the exports it
makes are what ZOS_USER_CERTS (and, without AT-TLS, ZOS_KG_SERVER_TLS) then holds.

python -m tools.zos_admin_script --stack prod [--out jupyterhub-zos-admin-prod.sh]

Reads Pulumi.yaml and Pulumi.<stack>.yaml as the CLI would hand them to the program (no
backend, no passphrase: the script holds no secret). Encrypted entries are not decrypted:
the SSH key gets a placeholder (nothing in the script depends on it), others are left out
and their problems, and ZOS_USER_CERTS' and ZOS_KG_SERVER_TLS' (not exported yet), are not
counted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tools.mock_graph.config import ROOT, encrypted_entries, full_key, stack_config
from tools.policy_check import PLACEHOLDER_KEYS, placeholder


def render(stack: str, root: Path = ROOT) -> str:
    """The script for the stack; ValueError (every problem) when it cannot be rendered."""
    from components.settings import SettingsError, validate
    from components.settings.source import RawConfig
    from components.zos.admin_script import render_admin_script
    from tools.mock_graph import settled_event_loop

    prefix = full_key("")
    encrypted = [k.removeprefix(prefix) for k in encrypted_entries(stack, root)]
    secrets = {k: placeholder(k) for k in encrypted if k in PLACEHOLDER_KEYS}
    left_out = {k for k in encrypted if k not in PLACEHOLDER_KEYS}
    values, secret_keys = stack_config(
        stack, secrets={**secrets, **dict.fromkeys(left_out)}, root=root
    )
    short = {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
    raw = RawConfig(
        prefix.rstrip(":"),
        short,
        frozenset(k.removeprefix(prefix) for k in secret_keys),
    )
    skip = frozenset({"ZOS_USER_CERTS", "ZOS_KG_SERVER_TLS", *left_out})
    with settled_event_loop():
        try:
            settings = validate(raw, stack, skip=skip)
        except SettingsError as exc:
            raise ValueError(str(exc)) from None
        if settings.zos is None:
            raise ValueError(f"stack {stack!r} has no ZOS_HOST: there is no z/OS to script")
        if settings.zos.racf_mode != "admin":
            print(
                f"zos-admin-script: note: stack {stack!r} has ZOS_RACF_MODE=program, so the "
                "program runs these steps itself; the script is what it would run",
                file=sys.stderr,
            )
        return render_admin_script(settings.zos, stack, settings.gateway.url)


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="zos-admin-script", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default=os.environ.get("STACK") or "dev")
    parser.add_argument("--out", type=Path, help="default: jupyterhub-zos-admin-<stack>.sh")
    args = parser.parse_args(argv)
    try:
        text = render(args.stack, root)
    except ValueError as exc:
        print(f"zos-admin-script: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path(f"jupyterhub-zos-admin-{args.stack}.sh")
    out.write_text(text)
    out.chmod(0o644)  # nothing secret in it: for review
    print(f"zos-admin-script: wrote {out}: review it, then run it on z/OS as the administrator")
    return 0


if __name__ == "__main__":
    sys.exit(main())
