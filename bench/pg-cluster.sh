#!/usr/bin/env bash
# Starts (once) the PostgreSQL cluster the benchmarks use, installing PostgreSQL
# from Debian when missing: like the test cluster of scripts/test-services.sh but
# with fsync on, so that "committed" costs what it costs in production, and with
# memory settings a 2-core, 24 GB machine would be given. Prints the URL.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGROOT="${ZHICHAO_BENCH_PG_DIR:-/tmp/zhichao-bench-pg-$(printf %s "$PWD" | sha256sum | cut -c1-8)}"
PGDATA="$PGROOT/data"
PGPORT="${ZHICHAO_BENCH_PG_PORT:-55433}"
PGSOCK="$PGROOT/sock"
mkdir -p "$PGSOCK"
if [ "$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; chown postgres "$PGROOT" "$PGSOCK"; else RUN=; fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA"
  $RUN "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 >/dev/null
fi
if ! $RUN "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  $RUN "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/pg.log" -w \
    -o "-p $PGPORT -k $PGSOCK -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=4GB -c work_mem=32MB -c maintenance_work_mem=512MB -c max_connections=300" start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
