#!/usr/bin/env bash
# The test jobs of `make test`, after scripts/test-services.sh has started
# PostgreSQL and found Chromium:
#   1. everything that does not need PostgreSQL (SQLite, devices, browser);
#   2. the PostgreSQL job: every test marked `postgres`.
# Both jobs run; the exit code is non-zero if either fails or collects nothing.
set -u
cd "$(dirname "$0")/.."
. var/test-services.env
export ZHICHAO_REQUIRE_SERVICES=1
PYTEST=(.venv/bin/python -m pytest -q -p no:cacheprovider "$@")

job() {
    local name=$1 marker=$2 rc
    echo "=== test job: $name ==="
    "${PYTEST[@]}" -m "$marker"
    rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "test job '$name' collected no tests"
        rc=1
    fi
    echo "=== test job: $name: exit $rc ==="
    return "$rc"
}

job "without PostgreSQL" "not postgres"
first=$?
job "PostgreSQL" "postgres"
second=$?
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]
