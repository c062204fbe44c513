#!/usr/bin/env bash
# HTTP ingest on SQLite (one server) and on PostgreSQL (one server, then two on one database),
# in one run, with leadflow-bench http: single events closed loop, open loop at --rate, batches.
#
#   bench/http-backends.sh [SECONDS] [RATE]        (10 s per phase, 5000/s by default)
#
# The PostgreSQL server is LEADFLOW_TEST_PG_URL's, or a throwaway one (scripts/test-postgres).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
rate=${2:-5000}
cd "$here"
source scripts/test-postgres
cargo build --release -q -p leadflow-cli -p leadflow-bench
lf=$here/target/release/leadflow
bench=$here/target/release/leadflow-bench
work=$(mktemp -d)
export LEADFLOW_SERVER__RATE_LIMIT__PER_SECOND=0 LEADFLOW_LOG__LEVEL=warn
servers=()
trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# A fresh database and an admin key: prints the key.
fresh() {
    "$lf" "$@" init >/dev/null
    "$lf" "$@" keys create --name bench --role admin | grep '^lf_'
}

serve() {
    local port=$1
    shift
    "$lf" "$@" serve --addr "127.0.0.1:$port" >/dev/null 2>&1 &
    servers+=($!)
    until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done
}

# The open loop last, in a run of its own: a rate the server cannot keep up with leaves a
# backlog that would slow whatever phase came next.
load() {
    "$bench" http "$1" "$2" --seconds "$seconds" --leads 50000 --rate "$rate" --phases closed,batch
    "$bench" http "$1" "$2" --seconds "$seconds" --leads 50000 --rate "$rate" --phases open
}

echo "# SQLite, one server"
db=(--db "$work/lb.db")
key=$(fresh "${db[@]}")
serve 7801 "${db[@]}"
load http://127.0.0.1:7801 "$key"
kill "${servers[@]}"; servers=()

echo "# PostgreSQL, one server"
psql "$LEADFLOW_TEST_PG_URL" -q -c "DROP SCHEMA IF EXISTS httpbench CASCADE" -c "CREATE SCHEMA httpbench" 2>/dev/null
db=(--database-url "$LEADFLOW_TEST_PG_URL?options=-csearch_path%3Dhttpbench")
key=$(fresh "${db[@]}")
serve 7802 "${db[@]}"
load http://127.0.0.1:7802 "$key"

echo "# PostgreSQL, one server with four writers (server.writers = 4)"
kill "${servers[@]}"; servers=()
psql "$LEADFLOW_TEST_PG_URL" -q -c "DROP SCHEMA IF EXISTS httpbench CASCADE" -c "CREATE SCHEMA httpbench" 2>/dev/null
key=$(fresh "${db[@]}")
LEADFLOW_SERVER__WRITERS=4 serve 7802 "${db[@]}"
load http://127.0.0.1:7802 "$key"

echo "# PostgreSQL, two servers (four writers each) on the same database, a load generator each (the figures add up)"
kill "${servers[@]}"; servers=()
psql "$LEADFLOW_TEST_PG_URL" -q -c "DROP SCHEMA IF EXISTS httpbench CASCADE" -c "CREATE SCHEMA httpbench" 2>/dev/null
key=$(fresh "${db[@]}")
export LEADFLOW_SERVER__WRITERS=4
serve 7802 "${db[@]}"
serve 7803 "${db[@]}"
load http://127.0.0.1:7802 "$key" >"$work/a.txt" &
first=$!
load http://127.0.0.1:7803 "$key" >"$work/b.txt"
wait "$first"
echo "## server 1"; cat "$work/a.txt"
echo "## server 2"; cat "$work/b.txt"
