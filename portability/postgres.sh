#!/usr/bin/env bash
# A throwaway PostgreSQL server for the dbt `postgres` target (profiles.yml), from Debian's
# packages: data under $SEGMENTATION_DATA_DIR/postgres, listening on 127.0.0.1 only, trust
# authentication on loopback (no password; never expose it).
#   portability/postgres.sh start   # initdb on first use, start, create the user and database
#   portability/postgres.sh stop
#   portability/postgres.sh status
# Port, user and database: SEGMENTATION_PG_PORT (55432), SEGMENTATION_PG_USER (segmentation),
# SEGMENTATION_PG_DATABASE (segmentation), the same defaults as profiles.yml.
set -euo pipefail

data_dir="$(realpath -m "${SEGMENTATION_DATA_DIR:-data}")/postgres"
port="${SEGMENTATION_PG_PORT:-55432}"
user="${SEGMENTATION_PG_USER:-segmentation}"
database="${SEGMENTATION_PG_DATABASE:-segmentation}"

bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$bin_dir" ]; then
  echo "PostgreSQL is not installed: apt-get install postgresql (Debian), or point profiles.yml at your server" >&2
  exit 1
fi

# PostgreSQL refuses to run as root: as root, run the server as Debian's postgres user.
as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  mkdir -p "$data_dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$data_dir"; fi
  if [ ! -f "$data_dir/PG_VERSION" ]; then
    as_server_user "$bin_dir/initdb" --pgdata="$data_dir" --auth=trust --username=postgres \
      --encoding=UTF8 --locale=C >/dev/null
  fi
  if as_server_user "$bin_dir/pg_ctl" status --pgdata="$data_dir" >/dev/null 2>&1; then
    echo "PostgreSQL already running (data $data_dir)"
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port on 127.0.0.1 is taken by another server: choose a free one with SEGMENTATION_PG_PORT" >&2
      exit 1
    fi
    # Socket in the data folder too, so nothing outside it is touched.
    as_server_user "$bin_dir/pg_ctl" start --pgdata="$data_dir" --wait --log="$data_dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $data_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
  fi
  psql_admin() { "$bin_dir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }
  if [ -z "$(psql_admin "select 1 from pg_roles where rolname = '$user'")" ]; then
    psql_admin "create role \"$user\" login superuser"
  fi
  if [ -z "$(psql_admin "select 1 from pg_database where datname = '$database'")" ]; then
    psql_admin "create database \"$database\" owner \"$user\""
  fi
  echo "PostgreSQL on 127.0.0.1:$port, database $database, user $user (data $data_dir)"
}

stop() {
  if [ -f "$data_dir/PG_VERSION" ] && as_server_user "$bin_dir/pg_ctl" status --pgdata="$data_dir" >/dev/null 2>&1; then
    as_server_user "$bin_dir/pg_ctl" stop --pgdata="$data_dir" --mode=fast --wait >/dev/null
    echo "PostgreSQL stopped (data $data_dir)"
  else
    echo "PostgreSQL not running (data $data_dir)"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) as_server_user "$bin_dir/pg_ctl" status --pgdata="$data_dir" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
