#!/usr/bin/env bash
# CI: make sure a local PostgreSQL cluster is up with the role and database the store tests use,
# then print their TEST_DATABASE_URL on stdout (everything else goes to stderr). Idempotent: run
# it on a fresh install (where the package may have left the cluster down, or made none) or twice.
# Needs root (pg_createcluster, runuser).
set -euo pipefail

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$version" ]; then
  echo "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi

# The Debian package creates "<version> main" on install; an image built with
# create_main_cluster=false has none.
cluster=$(pg_lsclusters --no-header | awk -v v="$version" '$1 == v { print $2; exit }')
if [ -z "$cluster" ]; then
  cluster=main
  pg_createcluster "$version" "$cluster" >&2
fi
read -r port status < <(pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $3, $4 }')
# Inside a container the package's postinst usually cannot start services, so it may be down.
[[ $status == online* ]] || pg_ctlcluster "$version" "$cluster" start >&2

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
if ! pg_isready -h 127.0.0.1 -p "$port" >&2; then
  tail -n 20 "/var/log/postgresql/postgresql-$version-$cluster.log" >&2 || true
  exit 1
fi

# As the postgres superuser over the local socket (peer authentication); cd / because psql
# warns when it cannot read the working directory. \gexec runs the CREATE only when missing,
# and ALTER ROLE resets the password and rights in case the role existed with others.
(cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres) >&2 <<'SQL'
SELECT 'CREATE ROLE capserve' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'capserve')\gexec
ALTER ROLE capserve WITH LOGIN CREATEDB PASSWORD 'capserve';
SELECT 'CREATE DATABASE capserve_test OWNER capserve' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'capserve_test')\gexec
-- The tests create a schema of their own per run.
GRANT CREATE ON DATABASE capserve_test TO capserve;
SQL

echo "PostgreSQL $version/$cluster on port $port" >&2
echo "postgres://capserve:capserve@127.0.0.1:$port/capserve_test"
