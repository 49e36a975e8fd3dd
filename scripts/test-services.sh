#!/usr/bin/env bash
# Installs (when missing) and starts what the tests need: a throw-away PostgreSQL
# cluster on 127.0.0.1:55432 and Debian's Chromium. Writes var/test-services.env.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
test -x /usr/bin/chromium || need+=(chromium)
ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing from Debian: ${need[*]}"
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# The cluster lives under /tmp, not in the checkout: the postgres user may not be
# able to enter the checkout's parent folders (a clone under /root, say).
PGROOT="${ZHICHAO_PG_DIR:-/tmp/zhichao-test-pg-$(printf %s "$PWD" | sha256sum | cut -c1-8)}"
PGDATA="$PGROOT/data"
PGPORT="${ZHICHAO_PG_PORT:-55432}"
if [ -s "$PGROOT/port" ]; then PGPORT=$(cat "$PGROOT/port"); fi
PGSOCK="$PGROOT/sock"
mkdir -p "$PGSOCK"
if [ "$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; chown postgres "$PGROOT" "$PGSOCK"; else RUN=; fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA"
  $RUN "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust --no-sync -E UTF8 >/dev/null
fi
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! $RUN "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  # Another server (another checkout's cluster, say) may hold the port.
  tries=0
  while port_busy "$PGPORT" && [ $tries -lt 50 ]; do
    PGPORT=$((PGPORT + 1)); tries=$((tries + 1))
  done
  echo "$PGPORT" > "$PGROOT/port"
  $RUN "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/pg.log" -w \
    -o "-p $PGPORT -k $PGSOCK -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
fi
cat > var/test-services.env <<ENV
export ZHICHAO_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres
export ZHICHAO_TEST_CHROMIUM=/usr/bin/chromium
ENV
echo "PostgreSQL on 127.0.0.1:$PGPORT, Chromium at /usr/bin/chromium"
