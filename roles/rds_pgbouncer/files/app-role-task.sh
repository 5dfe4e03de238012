#!/bin/sh
# The application role's one-off ECS task (tasks/app_role.yml): runs app_role.sql with psql as RDS's master user,
# from inside the VPC, verifying the server's certificate. Everything comes from the environment the task
# definition gives it - so tests/integration/test_app_role_task.py runs this same script, with that environment,
# against real PostgreSQL:
#   APP_ROLE_SQL      the SQL text (app_role.sql; not secret)
#   APP_SERVER_CA     PEM of the CA bundle that signs the server's certificate (not secret)
#   PGHOST PGPORT PGUSER PGDATABASE   where and as whom psql connects
#   PGSSLMODE         must be verify-full (refused otherwise)
#   APP_ROLE APP_DATABASE APP_CONNECTION_LIMIT   read by the SQL
#   PGPASSWORD APP_SCRAM_VERIFIER                ECS secrets (from Secrets Manager; never in the definition)
# Files go to a private directory under TMPDIR (a task-local volume; the root filesystem is read-only).
# psql reports errors tersely, without the statement's text: the statement that sets the role's password
# carries the SCRAM verifier, which must not reach the task's log.
set -eu

fail() {
  echo "app-role task: $*" >&2
  exit 2
}

for name in APP_ROLE_SQL APP_SERVER_CA PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD APP_ROLE APP_DATABASE \
    APP_CONNECTION_LIMIT APP_SCRAM_VERIFIER; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is not set (the task definition's environment or secrets give it)"
done
[ "${PGSSLMODE:-}" = verify-full ] || fail "PGSSLMODE is '${PGSSLMODE:-}'; accepted: verify-full only"
command -v psql >/dev/null 2>&1 || fail "psql is not in this image (accepted: an image with a PostgreSQL 16 client)"

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/app-role.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '%s\n' "$APP_ROLE_SQL" >"$work/app_role.sql"
printf '%s\n' "$APP_SERVER_CA" >"$work/server-ca.pem"
export PGSSLROOTCERT="$work/server-ca.pem"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-15}"

echo "app-role task: role $APP_ROLE and database $APP_DATABASE on $PGHOST:$PGPORT as $PGUSER ($(psql --version))"
psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse -v SHOW_CONTEXT=never -f "$work/app_role.sql"
echo "app-role task: done"
