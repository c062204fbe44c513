#!/usr/bin/env bash
# The pipeline report benchmark, leadflow and the DuckDB reference side by side in one run.
#
#   bench/pipeline.sh LEADS [OUT_DIR]        e.g. bench/pipeline.sh 1000000 /tmp/lf-pipeline
#
# Generates the workload with ../shared/bench/pipeline/gen_pipeline.py (numpy), times the
# reference's figures (DuckDB: load the CSVs and compute them all), then leadflow's import of the
# leads and their stage history and its report (three runs each of the reference and the
# report), and checks that leadflow's figures are the reference's. Needs: pip install numpy
# duckdb; /usr/bin/time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=$here/../shared/bench/pipeline
n=${1:?number of leads}
out=${2:-/tmp/leadflow-pipeline}
w=$out/w$n
as_of=2026-07-01T00:00:00Z
mkdir -p "$out"
cd "$here"
cargo build --release -q -p leadflow-cli
lf=$here/target/release/leadflow
timed() { /usr/bin/time -f "  wall %e s, peak RSS %M KB" "$@"; }

if [ ! -f "$w/stage_changes.csv" ]; then
    python3 "$shared/gen_pipeline.py" "$w" --leads "$n"
fi
echo "workload: $(($(wc -l < "$w/leads.csv") - 1)) leads, $(($(wc -l < "$w/stage_changes.csv") - 1)) stage changes; $(nproc) cores; $(uname -m)"

db=$out/leadflow.db
rm -f "$db" "$db-wal" "$db-shm"
export LEADFLOW_DB=$db
$lf init > /dev/null
$lf pipeline apply "$here/bench/pipeline/sales.toml" > /dev/null
echo "== leadflow: import leads (placed in the pipeline as of their creation)"
timed $lf import leads "$w/leads.csv" --pipeline sales --no-rescore
echo "== leadflow: import the stage history"
timed $lf import changes "$w/stage_changes.csv"
echo "== leadflow: the history again (every row already recorded)"
timed $lf import changes "$w/stage_changes.csv"
for run in 1 2 3; do
    echo "== duckdb reference: load the CSVs and compute every figure (run $run)"
    timed python3 "$shared/reference_reports.py" "$w" --as-of "$as_of" --out "$out/reference.json"
    echo "== leadflow: the pipeline report from its database (run $run)"
    timed $lf report pipeline --as-of "$as_of" --format json > "$out/leadflow.json"
done
echo "== leadflow's figures against the reference"
python3 "$here/bench/pipeline/compare_reports.py" "$out/reference.json" "$out/leadflow.json"
ls -l "$db" | awk '{print "database: " $5 " bytes"}'
