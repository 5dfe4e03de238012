-- The application role and its database, as the one-off ECS task runs it against RDS (and the tests against
-- real PostgreSQL): psql -X -v ON_ERROR_STOP=1 -f app_role.sql, as the master user, with the values in the
-- environment so that no secret is on a command line or in a task definition's command:
--   APP_ROLE              the application role (lower-case name)
--   APP_DATABASE          its database
--   APP_SCRAM_VERIFIER    SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (filter scram_sha256_verifier)
--   APP_CONNECTION_LIMIT  the role's connection limit (rds_pgbouncer_pools.app_role_connection_limit)
-- Idempotent: a second run changes nothing but re-asserts the same attributes. Works for RDS's master user,
-- which is not a superuser (rds_superuser with CREATEROLE and CREATEDB): it grants itself membership of the
-- role so that it may make the role the database's owner.
\set ON_ERROR_STOP on
\getenv app_role APP_ROLE
\getenv app_database APP_DATABASE
\getenv app_verifier APP_SCRAM_VERIFIER
\getenv app_connection_limit APP_CONNECTION_LIMIT
\if :{?app_role}
\else
DO $fail$ BEGIN RAISE EXCEPTION 'APP_ROLE is not set'; END $fail$;
\endif
\if :{?app_database}
\else
DO $fail$ BEGIN RAISE EXCEPTION 'APP_DATABASE is not set'; END $fail$;
\endif
\if :{?app_connection_limit}
\else
DO $fail$ BEGIN RAISE EXCEPTION 'APP_CONNECTION_LIMIT is not set'; END $fail$;
\endif
\if :{?app_verifier}
\else
DO $fail$ BEGIN RAISE EXCEPTION 'APP_SCRAM_VERIFIER is not set'; END $fail$;
\endif
-- PostgreSQL takes a malformed secret for a plain password and hashes it: refuse anything but a SCRAM secret
SELECT :'app_verifier' ~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$'
       AS app_verifier_ok \gset
\if :app_verifier_ok
\else
DO $fail$ BEGIN RAISE EXCEPTION 'APP_SCRAM_VERIFIER is not a SCRAM-SHA-256 secret (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)'; END $fail$;
\endif

SELECT format('CREATE ROLE %I LOGIN', :'app_role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec

-- The verifier is stored as given (PostgreSQL recognises a SCRAM secret), so PgBouncer's auth file and the
-- server hold the same secret and PgBouncer can pass the client's SCRAM login through. SUPERUSER, REPLICATION
-- and BYPASSRLS are off for a new role and only a real superuser may name them, which RDS's master is not.
SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT '
              'CONNECTION LIMIT %s PASSWORD %L', :'app_role', (:'app_connection_limit')::int, :'app_verifier') \gexec

-- RDS's master user needs to be able to SET ROLE to the role to make it a database's owner. PostgreSQL 16 gives a
-- role's creator only ADMIN on it (INHERIT and SET off), so the grant names SET there; 15 has no such options.
SELECT current_setting('server_version_num')::int >= 160000 AS app_pg16 \gset
\if :app_pg16
SELECT format('GRANT %I TO CURRENT_USER WITH INHERIT FALSE, SET TRUE', :'app_role') \gexec
\else
SELECT format('GRANT %I TO CURRENT_USER', :'app_role')
 WHERE NOT pg_has_role(current_user, :'app_role', 'MEMBER') \gexec
\endif

SELECT format('CREATE DATABASE %I OWNER %I', :'app_database', :'app_role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_database') \gexec

-- Only the role connects to its database. Done as the owner, whose right it is.
SET ROLE :"app_role";
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'app_database') \gexec
RESET ROLE;

-- pg_stat_statements (the parameter group preloads it) in the application's database: the validate phase reads the
-- average query time there as the application role (requirement 8.2; other roles' statistics are visible to it, only
-- their query text is not). RDS lets its master create the extensions RDS supports.
\connect :"app_database"
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
