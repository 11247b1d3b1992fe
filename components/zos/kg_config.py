"""The gateway's `jupyter_kernel_gateway_config.py` on z/OS, and the step that puts it in
ZOS_KG_CONFIG_DIR (0600, owned by the gateway's user ID).

The config comes from the renderer the dev gateway uses. Behind AT-TLS the gateway
speaks plain HTTP on ZOS_KG_PORT. With ZOS_ATTLS=false the gateway does TLS itself:
its certificate and key are the RACF server certificate, exported as PKCS#12 and split
(notebooks check it against that RACF CA, which the hub gives them), and `client_ca` is
the hub's client CA (pulumi-tls; components/zos/stack.py), so only holders of a
certificate the hub issued get in. Kernels then run as the gateway's ID (per-user IDs
need AT-TLS's SAFCheck, where RACF certificates are mapped to each user's z/OS ID).

Beside the config goes kg_isolation.py, the layer the dev gateway runs too: with
ZOS_ATTLS=false the gateway sees the client certificate and binds each kernel to its CN;
behind AT-TLS it sees none and only closes listings and sessions (the trust model is in
docs/howto/zos-production-stack.md).

The token is not in the config: it arrives on stdin, goes to a 0600 file beside it,
and the config reads $KG_AUTH_TOKEN or that file when the gateway starts.
"""

from __future__ import annotations

from components.gateway.config import (
    ISOLATION_MODULE,
    ISOLATION_SOURCE,
    GatewayTls,
    render_kernel_gateway_config,
)
from components.settings import ZosSettings
from components.zos.script import Step, make_step

CONFIG_FILE = "jupyter_kernel_gateway_config.py"
TOKEN_FILE = "kg_auth_token"  # noqa: S105 - a file name, not a token
MODULE_FILE = f"{ISOLATION_MODULE}.py"  # loaded by the config from the same directory
# Without AT-TLS: the gateway's own TLS material, in this order on stdin.
TLS_FILES = ("kg_server_cert.pem", "kg_server_key.pem", "kg_client_ca.pem")
# Behind AT-TLS the rule covers the port on every local address.
LISTEN_IP = "0.0.0.0"  # noqa: S104 - the gateway's port on z/OS, covered by AT-TLS or TLS


def gateway_tls(zos: ZosSettings) -> GatewayTls | None:
    if zos.attls:
        return None
    cert, key, ca = (f"{zos.kg_config_dir}/{name}" for name in TLS_FILES)
    return GatewayTls(certfile=cert, keyfile=key, client_ca=ca)


def render_config(zos: ZosSettings) -> str:
    text = render_kernel_gateway_config(
        ip=LISTEN_IP,
        port=zos.kg_port,
        tls=gateway_tls(zos),
        module_dir=zos.kg_config_dir,
        kernels=zos.kernels,
    )
    return text + (
        "# jupyterhub-zos: the token is $KG_AUTH_TOKEN, or else the 0600 file beside this one.\n"
        "import os as _os\n"
        "c.KernelGatewayApp.auth_token = _os.environ.get('KG_AUTH_TOKEN') or open(\n"
        f"    _os.path.join(_os.path.dirname(__file__), {TOKEN_FILE!r})\n"
        ").read().strip()\n"
    )


def kg_config_stdin(token: str, tls_pems: tuple[str, str, str] | None) -> str:
    """What the create script reads: the token line, then (without AT-TLS) each PEM
    file after a `#FILE name` line."""
    if "\n" in token.strip() or not token.strip():
        raise ValueError("the gateway token must be one non-empty line")
    text = token.strip() + "\n"
    if tls_pems is not None:
        for name, pem in zip(TLS_FILES, tls_pems, strict=True):
            text += f"#FILE {name}\n{pem.strip()}\n"
    return text


def kg_config_step(zos: ZosSettings, stack: str) -> Step:
    """Seed "Setup Jupyter Kernel Gateway": the config file in the gateway user's
    ~/.jupyter. An existing file this program did not write is kept aside and put back
    by the delete."""
    config = render_config(zos)
    module = ISOLATION_SOURCE.read_text()
    if "JHZOS_CONFIG" in config or "JHZOS_MODULE" in module:
        raise ValueError("the gateway config or module contains its heredoc marker")
    wanted = [CONFIG_FILE, MODULE_FILE, TOKEN_FILE] + ([] if zos.attls else list(TLS_FILES))
    unwanted = [] if not zos.attls else list(TLS_FILES)
    variables = {"DIR": zos.kg_config_dir, "KG": zos.kg_user}
    helpers = """
ME=$(id -un | tr '[:lower:]' '[:upper:]')
# own FILE: what the gateway reads belongs to its user ID (0600 keeps others out)
own() {
  if [ "$ME" != "$KG" ]; then chown "$KG" "$1"; fi
}
"""
    create = (
        helpers
        + f"""
IFS= read -r TOKEN || die "the gateway token was not on stdin"
[ -n "$TOKEN" ] || die "the gateway token is empty"
if [ ! -d "$DIR" ]; then
  intend "DIR $DIR"
  mkdir -p "$DIR"
  own "$DIR"
  use "DIR $DIR"
elif ours "DIR $DIR"; then
  use "DIR $DIR"
fi
# put_file NAME: move NAME.jupyterhub-zos.new into place (0600), keeping aside a file
# this program did not write.
put_file() {{
  new="$DIR/$1.jupyterhub-zos.new"
  dest="$DIR/$1"
  [ -f "$new" ] || die "$1 was not received"
  chmod 600 "$new"
  chtag -tc IBM-1047 "$new"
  if [ -e "$dest" ] && ! ours "FILE $dest"; then
    if [ -e "$dest.jupyterhub-zos.orig" ] && ! ours "BACKUP $dest"; then
      die "$dest and $dest.jupyterhub-zos.orig exist and were not written by jupyterhub-zos"
    fi
    intend "BACKUP $dest"
    mv "$dest" "$dest.jupyterhub-zos.orig"
    say "kept the earlier $dest as $dest.jupyterhub-zos.orig"
  fi
  if ours "BACKUP $dest"; then use "BACKUP $dest"; fi
  intend "FILE $dest"
  if [ -f "$dest" ] && cmp -s "$new" "$dest"; then
    rm -f "$new"
  else
    mv "$new" "$dest"
    say "wrote $dest"
  fi
  own "$dest"
  use "FILE $dest"
}}
cat >"$DIR/{CONFIG_FILE}.jupyterhub-zos.new" <<'JHZOS_CONFIG'
{config}JHZOS_CONFIG
cat >"$DIR/{MODULE_FILE}.jupyterhub-zos.new" <<'JHZOS_MODULE'
{module}JHZOS_MODULE
cat >"$DIR/{TOKEN_FILE}.jupyterhub-zos.new" <<JHZOS_TOKEN
$TOKEN
JHZOS_TOKEN
# Without AT-TLS the gateway's PEM files follow on stdin, each after '#FILE name'.
awk -v d="$DIR" '
  /^#FILE [A-Za-z0-9_.-]+$/ {{ f = d "/" $2 ".jupyterhub-zos.new"; next }}
  f != "" {{ print > f }}'
"""
        + "".join(f"put_file {name}\n" for name in wanted)
        + "".join(
            f'if ours "FILE $DIR/{name}" && release "FILE $DIR/{name}"; then\n'
            f'  rm -f "$DIR/{name}"\n'
            f'  forget "FILE $DIR/{name}"\n'
            "fi\n"
            for name in unwanted
        )
    )
    delete = """
for name in __FILES__; do
  dest="$DIR/$name"
  if release "FILE $dest"; then
    rm -f "$dest"
    forget "FILE $dest"
  fi
  if release "BACKUP $dest"; then
    if [ -e "$dest.jupyterhub-zos.orig" ]; then mv "$dest.jupyterhub-zos.orig" "$dest"; fi
    forget "BACKUP $dest"
    say "put the earlier $dest back"
  fi
done
if release "DIR $DIR"; then
  rmdir "$DIR" 2>/dev/null || say "$DIR is not empty: left in place"
  forget "DIR $DIR"
fi
""".replace("__FILES__", " ".join([CONFIG_FILE, MODULE_FILE, TOKEN_FILE, *TLS_FILES]))
    purpose = "The Kernel Gateway's config (and token file) for the gateway's user ID."
    return make_step(
        stack,
        "kg-config",
        purpose,
        create=create,
        create_variables=variables,
        delete=delete,
        delete_variables={"DIR": zos.kg_config_dir},
        triggers=(zos.kg_config_dir,),
        stdin="token" if zos.attls else "token+tls",
    )
