#!/bin/sh
# The pooler container's command (Fargate; the real-PgBouncer tests run this same script): writes the
# configuration the rds_pgbouncer role rendered from the environment into PGBOUNCER_CONFIG_DIR, makes the client
# TLS pair, and runs PgBouncer in the foreground, turning ECS's SIGTERM into PgBouncer's safe shutdown.
#   PGBOUNCER_INI        pgbouncer.ini (task definition environment: no secret in it)
#   PGBOUNCER_USERLIST   the auth file of SCRAM verifiers (an ECS secret from Secrets Manager)
#   PGBOUNCER_SERVER_CA  PEM bundle that signs the database's certificate (RDS's regional bundle)
#   PGBOUNCER_CONFIG_DIR where pgbouncer.ini points (a task-local volume: the root filesystem is read-only)
#   PGBOUNCER_TLS_NAME   subject of the self-signed client TLS certificate (default: pgbouncer)
set -eu
dir=${PGBOUNCER_CONFIG_DIR:?PGBOUNCER_CONFIG_DIR is not set}
: "${PGBOUNCER_INI:?PGBOUNCER_INI is not set}" "${PGBOUNCER_USERLIST:?PGBOUNCER_USERLIST is not set}"
: "${PGBOUNCER_SERVER_CA:?PGBOUNCER_SERVER_CA is not set}"
umask 077
mkdir -p "$dir"
printf '%s\n' "$PGBOUNCER_INI" >"$dir/pgbouncer.ini"
printf '%s\n' "$PGBOUNCER_USERLIST" >"$dir/userlist.txt"
printf '%s\n' "$PGBOUNCER_SERVER_CA" >"$dir/server-ca.pem"
# The client side's certificate is made here, per task: clients use sslmode=require (encrypted, not verified),
# so no key has to be stored, rotated or shared; a new task simply has a new pair.
if [ ! -s "$dir/client-tls.key" ] || [ ! -s "$dir/client-tls.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 397 \
    -subj "/CN=${PGBOUNCER_TLS_NAME:-pgbouncer}" -keyout "$dir/client-tls.key" -out "$dir/client-tls.crt" 2>/dev/null
fi
unset PGBOUNCER_USERLIST PGBOUNCER_INI PGBOUNCER_SERVER_CA

"${PGBOUNCER_BIN:-pgbouncer}" "$dir/pgbouncer.ini" &
pid=$!
# SIGINT is PgBouncer's safe shutdown (waits for the transactions in flight); SIGTERM's meaning changed in 1.23
trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do
  status=0
  wait "$pid" || status=$?
done
exit "$status"
