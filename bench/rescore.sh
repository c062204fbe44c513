#!/usr/bin/env bash
# The rescoring benchmark, leadflow and the DuckDB reference side by side in one run.
#
#   bench/rescore.sh LEADS [OUT_DIR]        e.g. bench/rescore.sh 1000000 /tmp/lf-bench
#
# Generates the workload with ../shared/bench/gen_workload.py (numpy), then for each system:
# load the CSVs, score, and rescore from its own store; checks that leadflow's scores match the
# reference; measures durable single-event ingest. Needs: pip install numpy duckdb; /usr/bin/time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=$here/../shared/bench
n=${1:?number of leads}
out=${2:-/tmp/leadflow-bench}
w=$out/w$n
mkdir -p "$out"
cd "$here"
cargo build --release -q -p leadflow-cli -p leadflow-bench
lf=$here/target/release/leadflow
timed() { /usr/bin/time -f "  wall %e s, peak RSS %M KB" "$@"; }

if [ ! -f "$w/events.csv" ]; then
    python3 "$shared/gen_workload.py" "$w" --leads "$n"
fi
echo "workload: $(($(wc -l < "$w/leads.csv") - 1)) leads, $(($(wc -l < "$w/events.csv") - 1)) events; $(nproc) cores; $(uname -m)"

echo "== duckdb: load CSVs + score (first run), then score from its own file (second run)"
rm -f "$out/ref.duckdb" "$out/ref.duckdb.wal"
timed python3 "$shared/reference_duckdb.py" "$w" --db "$out/ref.duckdb" --out "$out/ref_scores.csv"
timed python3 "$shared/reference_duckdb.py" "$w" --db "$out/ref.duckdb"

db=$out/leadflow.db
rm -f "$db" "$db-wal" "$db-shm"
export LEADFLOW_DB=$db
$lf init --model "$here/examples/reference-b2b.toml" > /dev/null
echo "== leadflow: import leads"
timed $lf import leads "$w/leads.csv" --no-rescore
echo "== leadflow: import events"
timed $lf import events "$w/events.csv" --no-rescore
echo "== leadflow: first scoring of every lead (from events)"
timed $lf rescore --as-of 2026-07-01T00:00:00Z
echo "== leadflow: score every lead from its own store, writing nothing (what DuckDB's score_s measures)"
timed $lf rescore --from-events --dry-run --as-of 2026-07-01T00:00:00Z
echo "== leadflow: full rescore from its own store, written durably (as after a model change)"
timed $lf rescore --from-events --as-of 2026-07-01T00:00:00Z
echo "== leadflow: scheduled rescore a day later (decay and inactivity move scores; history for changes)"
timed $lf rescore --all --as-of 2026-07-02T00:00:00Z
$lf rescore --from-events --as-of 2026-07-01T00:00:00Z > /dev/null
$lf export scores --out "$out/leadflow_scores.csv"
echo "== scores against the reference"
python3 "$shared/compare_scores.py" "$out/ref_scores.csv" "$out/leadflow_scores.csv"
ls -l "$db"*

echo "== leadflow: durable single-event ingest (Engine::track, one committed transaction per event)"
tail -n 20000 "$w/events.csv" | sed 's/^\([0-9]*\),/t\1,/' | { echo "event_id,lead_id,type,url,ts"; cat; } > "$out/track.csv"
timed "$here/target/release/leadflow-bench" track "$db" "$out/track.csv" --count 20000
