#!/bin/sh
# Dev directory entrypoint: load the seed the program rendered into slapd's database
# (first start, or when the seed changed), then run slapd in the foreground.
#
# The program uploads slapd.conf, seed.ldif and the TLS certificate/key at container
# creation; nothing of that is in the image. The database lives on a volume, so a
# restart keeps it. A new seed (users or generated passwords changed) arrives with a
# new container and replaces the database: the directory holds nothing but the seed.
set -eu

CONF=${SLAPD_CONF:-/etc/ldap/jupyterhub/slapd.conf}
SEED=${SLAPD_SEED_LDIF:-/etc/ldap/jupyterhub/seed.ldif}
URLS=${SLAPD_URLS:-ldap:/// ldaps:///}
DEBUG_LEVEL=${SLAPD_DEBUG_LEVEL:-stats}

log() { echo "dev-directory: $*" >&2; }

# Paths come from the rendered config, so there is one source for them.
conf_value() { sed -n "s/^$1[[:space:]]\{1,\}//p" "$CONF" | head -n 1; }

for f in "$CONF" "$SEED"; do
  [ -r "$f" ] || { log "missing $f (the program uploads it at container creation)"; exit 1; }
done
DATA_DIR=$(conf_value directory)
TLS_KEY=$(conf_value TLSCertificateKeyFile)
PID_FILE=$(conf_value pidfile)
[ -n "$DATA_DIR" ] || { log "no 'directory' in $CONF"; exit 1; }

mkdir -p "$DATA_DIR" "$(dirname "$PID_FILE")"
MARKER="$DATA_DIR/.seed-sha256"
want=$(sha256sum "$SEED" | cut -d ' ' -f 1)
have=$(cat "$MARKER" 2>/dev/null || true)

if [ -f "$DATA_DIR/data.mdb" ] && [ "$want" = "$have" ]; then
  log "database already seeded from this seed; keeping it"
else
  if [ -f "$DATA_DIR/data.mdb" ]; then
    log "the seed changed; replacing the database"
    rm -f "$DATA_DIR/data.mdb" "$DATA_DIR/lock.mdb"
  fi
  slapadd -q -f "$CONF" -l "$SEED"
  echo "$want" >"$MARKER"
  log "database seeded"
fi

set --
if [ "$(id -u)" = 0 ]; then
  # slapd binds its ports as root, then runs as openldap, which must own what it
  # reads after that: the database, the run dir and the TLS key.
  chown -R openldap:openldap "$DATA_DIR" "$(dirname "$PID_FILE")"
  if [ -n "$TLS_KEY" ]; then
    chown openldap:openldap "$TLS_KEY"
    chmod 0600 "$TLS_KEY"
  fi
  set -- -u openldap -g openldap
fi

log "starting slapd on $URLS"
exec slapd -d "$DEBUG_LEVEL" -h "$URLS" -f "$CONF" "$@"
