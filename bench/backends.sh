#!/usr/bin/env bash
# Import and rescore on SQLite and on PostgreSQL, one after the other in one run, on the same
# workload; then checks both backends' scores against the DuckDB reference and each other.
#
#   bench/backends.sh [LEADS]        (20000 by default; 1000000 is the benchmark's workload)
#
# The PostgreSQL server is LEADFLOW_TEST_PG_URL's, or a throwaway one (scripts/test-postgres).
# Needs: numpy and duckdb (pip install numpy duckdb), psql.
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
    "$lf" "${db[@]}" export scores --out "$work/scores-$backend.csv"
    python3 ../shared/bench/compare_scores.py "$work/ref_scores.csv" "$work/scores-$backend.csv" | tail -1
}

echo "workload: $(($(wc -l <"$work/leads.csv") - 1)) leads, $events events; $(nproc) cores"
rm -f "$work/ref.duckdb" "$work/ref.duckdb.wal"
echo "duckdb reference (load the CSVs and score; then score from its own file): $(
    python3 ../shared/bench/reference_duckdb.py "$work" --db "$work/ref.duckdb" --out "$work/ref_scores.csv" | tail -1
) $(python3 ../shared/bench/reference_duckdb.py "$work" --db "$work/ref.duckdb" | tail -1)"
rm -f "$work/ref.duckdb" "$work/ref.duckdb.wal"
run sqlite
run postgres
psql "$LEADFLOW_TEST_PG_URL" -At -F ' ' -c "SELECT pg_relation_size('bench.events'), pg_indexes_size('bench.events'),
        pg_total_relation_size('bench.events'), (SELECT count(*) FROM bench.events)" |
    while read -r heap indexes total n; do
        echo "postgres events table: $((total / n)) bytes per event ($((heap / n)) heap, $((indexes / n)) indexes), $((total / 1048576)) MiB"
    done
ls -l "$work/bench.db" | awk '{printf "sqlite file: %d bytes per event, %d MiB\n", $5 / '"$events"', $5 / 1048576}'
cmp -s <(sort "$work/scores-sqlite.csv") <(sort "$work/scores-postgres.csv") \
    && echo "scores: identical on both backends" || { echo "scores differ between the backends" >&2; exit 1; }
