#!/usr/bin/env bash
# Run the Pulumi CLI for this project, with the one set-up every make target uses
# (up, preview, destroy, import-env, policy-check DECRYPT=1) and the README's recipes:
#  - the Pulumi CLI, the version requirements.txt pins for the SDK, installed with its
#    official installer if missing; an installed CLI of another version is used, with a
#    warning naming both versions;
#  - the backend: PULUMI_BACKEND_URL if you set it, else a local file backend in
#    $JUPYTERHUB_ZOS_STATE_DIR/state (default ${XDG_STATE_HOME:-~/.local/state}/jupyterhub-zos),
#    outside the checkout so `git clean -xdf` cannot delete it;
#  - for a file:// backend, a random passphrase file made once per stack
#    ($JUPYTERHUB_ZOS_STATE_DIR/passphrase-<stack>, mode 0600) unless you give
#    PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE;
#  - the stack STACK (default dev) selected, created if new; with --run (the read-only
#    commands: make status, backup, restore, policy-check DECRYPT=1) it must exist: a
#    mistyped STACK exits 2 before any stack, state directory or passphrase is made,
#    and nothing is written (no passphrase file, no empty secrets in the stack file).
# Usage: STACK=dev tools/pulumi.sh up
#        STACK=prod tools/pulumi.sh --run CMD ARGS...   (CMD runs with the same set-up)
#        STACK=prod tools/pulumi.sh --run-init CMD ARGS...   (the same, the stack created
#                                                         if new: make import-env)
#        STACK=prod tools/pulumi.sh --where             (prints the set-up, changes nothing)
#        eval "$(STACK=prod tools/pulumi.sh --env)"     (this shell's pulumi gets the set-up)
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-dev}
pinned=$(sed -n 's/^pulumi==//p' requirements.txt)
PULUMI_VERSION=${PULUMI_VERSION:-$pinned}
STATE_DIR=${JUPYTERHUB_ZOS_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/jupyterhub-zos}
export PATH="$HOME/.pulumi/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true

mode=pulumi
create=true  # the stack, when it does not exist
case "${1:-}" in
  --run) mode=run; create=false; shift ;;
  --run-init) mode=run; shift ;;
  --where) mode=where; shift ;;
  --env) mode=env; shift ;;
esac

# Before 2026-12 the defaults were ./.pulumi-state and ./.pulumi-passphrase-<stack> in the
# checkout. Found there and not yet moved: keep using them (nothing is lost), say how to move.
legacy=false
if [ -z "${PULUMI_BACKEND_URL:-}" ] && [ -z "${JUPYTERHUB_ZOS_STATE_DIR:-}" ] \
    && [ -d .pulumi-state ] && [ ! -d "$STATE_DIR/state" ]; then
  legacy=true
  echo "warning: using the old state location ./.pulumi-state (a \`git clean -xdf\` deletes it)." >&2
  echo "  Move it: mkdir -p '$STATE_DIR' && mv .pulumi-state '$STATE_DIR/state', and each" \
    ".pulumi-passphrase-<stack> to '$STATE_DIR/passphrase-<stack>' (docs/howto/state-and-secrets.md)." >&2
fi

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  if $legacy; then
    PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  else
    PULUMI_BACKEND_URL="file://$STATE_DIR/state"
  fi
fi
export PULUMI_BACKEND_URL
local_backend=false
case "$PULUMI_BACKEND_URL" in file://*) local_backend=true ;; esac

passphrase_file=
if $local_backend && [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] \
    && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if $legacy; then
    passphrase_file="$PWD/.pulumi-passphrase-$STACK"
  else
    passphrase_file="$STATE_DIR/passphrase-$STACK"
  fi
fi

if [ "$mode" = where ]; then
  echo "stack: $STACK"
  echo "backend: $PULUMI_BACKEND_URL"
  if [ -n "$passphrase_file" ]; then
    echo "passphrase file: $passphrase_file"
  elif [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "passphrase file: $PULUMI_CONFIG_PASSPHRASE_FILE (PULUMI_CONFIG_PASSPHRASE_FILE)"
  elif [ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ]; then
    echo "passphrase: from PULUMI_CONFIG_PASSPHRASE"
  else
    echo "passphrase: none (the backend's own secrets provider)"
  fi
  exit 0
fi

if ! command -v pulumi >/dev/null 2>&1; then
  echo "Installing the Pulumi CLI $PULUMI_VERSION with its official installer (get.pulumi.com)..." >&2
  curl -fsSL https://get.pulumi.com | sh -s -- --version "$PULUMI_VERSION" >&2
fi
installed=$(pulumi version 2>/dev/null || true)
installed=${installed#v}
if [ -n "$installed" ] && [ "$installed" != "$PULUMI_VERSION" ]; then
  echo "warning: the installed Pulumi CLI is $installed, this project pins $PULUMI_VERSION" \
    "(requirements.txt); to use the pinned one: curl -fsSL https://get.pulumi.com | sh -s -- --version $PULUMI_VERSION" >&2
fi

# --run: only a stack that exists. Checked before anything is made (state directory,
# passphrase file, stack), so a mistyped STACK leaves no trace.
if ! $create; then
  if [ -n "$passphrase_file" ] && [ -s "$passphrase_file" ]; then
    export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase_file"
  fi
  if ! why=$(pulumi stack select "$STACK" --non-interactive 2>&1 >/dev/null); then
    why=${why#error: }
    echo "error: no stack '$STACK' in $PULUMI_BACKEND_URL${why:+ (pulumi: $why)}; nothing was made." >&2
    echo "  The stacks there: PULUMI_BACKEND_URL='$PULUMI_BACKEND_URL' pulumi stack ls" \
      "(make up STACK=$STACK makes a new one)." >&2
    exit 2
  fi
fi

if $local_backend; then
  state_path=${PULUMI_BACKEND_URL#file://}
  state_path=${state_path%%\?*}
  (umask 077 && mkdir -p "$state_path")
fi
if [ -n "$passphrase_file" ]; then
  # --run: the stack exists; a new random passphrase could not decrypt it anyway.
  if [ ! -s "$passphrase_file" ] && $create; then
    (umask 077 && mkdir -p "$(dirname "$passphrase_file")" && openssl rand -base64 32 > "$passphrase_file")
    echo "Made a random passphrase for stack $STACK in $passphrase_file (back it up: it decrypts the stack's secrets)." >&2
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase_file"
fi

if ! pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  if $local_backend; then
    pulumi stack init "$STACK" --secrets-provider passphrase --non-interactive >&2
  else
    pulumi stack init "$STACK" --non-interactive >&2
  fi
fi

# pulumi/pulumi#21865 (CLI 3.202+): a secret key left at its Pulumi.yaml default is
# refused as "must be encrypted". Store an empty secret instead, which the program
# reads as unset (generated token, self-signed certificate, ...), like the default.
# Not for --run (read-only commands: the stack file stays as it is).
for key in KG_AUTH_TOKEN HUB_TLS_KEY ZOS_SSH_PRIVATE_KEY ZOS_P12_PASSWORD LDAP_SEARCH_BIND_PASSWORD; do
  if $create && ! grep -q "^  jupyterhub-zos:$key:" "Pulumi.$STACK.yaml" 2>/dev/null; then
    pulumi config set --stack "$STACK" --secret -- "$key" "" >&2
  fi
done

if [ "$mode" = run ]; then
  exec "$@"
fi
if [ "$mode" = env ]; then
  # For `eval`: the stack is selected in the workspace, the rest are variables.
  printf 'export PATH=%q\n' "$PATH"
  printf 'export PULUMI_SKIP_UPDATE_CHECK=true\n'
  printf 'export PULUMI_BACKEND_URL=%q\n' "$PULUMI_BACKEND_URL"
  if [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    printf 'export PULUMI_CONFIG_PASSPHRASE_FILE=%q\n' "$PULUMI_CONFIG_PASSPHRASE_FILE"
  fi
  exit 0
fi

# Deploying needs a Docker engine that answers: say so now, not halfway through `up`.
case "${1:-}" in
  up | preview | refresh)
    docker_host=$(pulumi config get docker:host 2>/dev/null || true)
    docker_host=${docker_host:-${DOCKER_HOST:-}}
    if ! command -v docker >/dev/null 2>&1; then
      echo "error: the docker CLI is not installed; install Docker Engine (https://docs.docker.com/engine/install/)." >&2
      exit 1
    fi
    if ! docker ${docker_host:+-H "$docker_host"} info >/dev/null 2>&1; then
      echo "error: no Docker engine answers at ${docker_host:-the local socket} ('docker info' failed)." >&2
      echo "Start Docker, or point the stack at one: STACK=$STACK tools/pulumi.sh config set docker:host ssh://user@host" >&2
      exit 1
    fi
    ;;
esac

exec pulumi "$@"
