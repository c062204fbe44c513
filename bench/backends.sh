#!/usr/bin/env bash
# Import and rescore on SQLite and on PostgreSQL, one after the other in one run, on the same
# workload; then checks that both gave the same scores.
#
#   bench/backends.sh [LEADS]        (20000 by default)
#
# The PostgreSQL server is LEADFLOW_TEST_PG_URL's, or a throwaway one (scripts/test-postgres).
# Needs: numpy (for ../shared/bench/gen_workload.py), psql.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
leads=${1:-20000}
cd "$here"
source scripts/test-postgres
work=/tmp/lf-backends-$leads
[ -f "$work/events.csv" ] || python3 ../shared/bench/gen_workload.py "$work" --leads "$leads"
cargo build --release -q -p leadflow-cli
lf=$here/target/release/leadflow
events=$(($(wc -l <"$work/events.csv") - 1))

run() {
    local backend=$1 db
    if [ "$backend" = sqlite ]; then
        rm -f "$work"/bench.db*
        db=(--db "$work/bench.db")
    else
        psql "$LEADFLOW_TEST_PG_URL" -q -c "DROP SCHEMA IF EXISTS bench CASCADE" -c "CREATE SCHEMA bench" 2>/dev/null
        db=(--database-url "$LEADFLOW_TEST_PG_URL?options=-csearch_path%3Dbench")
    fi
    "$lf" "${db[@]}" init --model examples/reference-b2b.toml >/dev/null
    local t0 t1 t2 t3 t4
    t0=$(date +%s.%N); "$lf" "${db[@]}" import leads "$work/leads.csv" --no-rescore >/dev/null 2>&1
    t1=$(date +%s.%N); "$lf" "${db[@]}" import events "$work/events.csv" --no-rescore >/dev/null 2>&1
    t2=$(date +%s.%N); "$lf" "${db[@]}" rescore --all --as-of 2026-07-01T00:00:00Z >/dev/null 2>&1
    t3=$(date +%s.%N); "$lf" "${db[@]}" rescore --from-events --as-of 2026-07-01T00:00:00Z >/dev/null 2>&1
    t4=$(date +%s.%N)
    python3 -c 'import sys; b, n, *t = sys.argv[1:]; t = [float(x) for x in t]; n = int(n)
print(f"{b:<10} leads {t[1]-t[0]:.2f} s  events {t[2]-t[1]:.2f} s ({n/(t[2]-t[1]):,.0f}/s)  rescore {t[3]-t[2]:.2f} s  from events {t[4]-t[3]:.2f} s")' \
        "$backend" "$events" "$t0" "$t1" "$t2" "$t3" "$t4"
    "$lf" "${db[@]}" export scores | sort >"$work/scores-$backend.csv"
}

run sqlite
run postgres
cmp -s "$work/scores-sqlite.csv" "$work/scores-postgres.csv" && echo "scores: identical" || { echo "scores differ" >&2; exit 1; }
