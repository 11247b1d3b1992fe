#!/usr/bin/env bash
# Run the Pulumi CLI for this project, with the set-up `make up` promises:
#  - the Pulumi CLI (pinned PULUMI_VERSION) installed with its official installer if missing;
#  - a local file state backend in ./.pulumi-state unless you use another backend
#    (PULUMI_BACKEND_URL set, or `pulumi login` done);
#  - for the local backend, a random passphrase file made once per stack
#    (./.pulumi-passphrase-<stack>, git-ignored, mode 0600) unless you give
#    PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE;
#  - the stack STACK (default dev) selected, created if new.
# Usage: STACK=dev tools/pulumi.sh up
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-dev}
PULUMI_VERSION=${PULUMI_VERSION:-3.272.0}
export PATH="$HOME/.pulumi/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true

if ! command -v pulumi >/dev/null 2>&1; then
  echo "Installing the Pulumi CLI $PULUMI_VERSION with its official installer (get.pulumi.com)..."
  curl -fsSL https://get.pulumi.com | sh -s -- --version "$PULUMI_VERSION"
fi

local_backend=false
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami --non-interactive >/dev/null 2>&1; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  local_backend=true
fi
case "${PULUMI_BACKEND_URL:-}" in file://*) local_backend=true ;; esac

if $local_backend && [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] \
    && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  passphrase_file=".pulumi-passphrase-$STACK"
  if [ ! -s "$passphrase_file" ]; then
    (umask 077 && openssl rand -base64 32 > "$passphrase_file")
    echo "Made a random passphrase for stack $STACK in $passphrase_file (keep it: it decrypts the stack's secrets)."
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/$passphrase_file"
fi

if ! pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  if $local_backend; then
    pulumi stack init "$STACK" --secrets-provider passphrase --non-interactive
  else
    pulumi stack init "$STACK" --non-interactive
  fi
fi

# pulumi/pulumi#21865 (CLI 3.202+): a secret key left at its Pulumi.yaml default is
# refused as "must be encrypted". Store an empty secret instead, which the program
# reads as unset (generated token, self-signed certificate, ...), like the default.
for key in KG_AUTH_TOKEN HUB_TLS_KEY ZOS_SSH_PRIVATE_KEY ZOS_P12_PASSWORD LDAP_SEARCH_BIND_PASSWORD; do
  if ! grep -q "^  jupyterhub-zos:$key:" "Pulumi.$STACK.yaml" 2>/dev/null; then
    pulumi config set --stack "$STACK" --secret -- "$key" ""
  fi
done

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
      echo "Start Docker, or point the stack at one: pulumi config set docker:host ssh://user@host" >&2
      exit 1
    fi
    ;;
esac

exec pulumi "$@"
