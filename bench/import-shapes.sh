#!/usr/bin/env bash
# Event imports with a column unique per row (a session id, a URL with a query string), against
# the same file without it, in one run.
#
#   bench/import-shapes.sh [ROWS] [OUT_DIR]        (80000 rows, /tmp/lf-shapes by default)
#
# Each unknown column becomes an event property, and distinct (type, properties) are interned
# as shapes, so a unique column makes a shape per row: this measures what that costs.
# Needs: /usr/bin/time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-80000}
out=${2:-/tmp/lf-shapes}
mkdir -p "$out"
cd "$here"
cargo build --release -q -p leadflow-cli
lf=$here/target/release/leadflow
python3 - "$rows" "$out" <<'PY'
import random, sys
rows, out = int(sys.argv[1]), sys.argv[2]
random.seed(1)
with open(f"{out}/plain.csv", "w") as plain, open(f"{out}/unique.csv", "w") as unique:
    plain.write("event_id,Email,Activity Type,Activity Date,Page\n")
    unique.write("event_id,Email,Activity Type,Activity Date,Page,Session ID\n")
    for i in range(rows):
        row = f"e{i},lead{i % 5000}@x.example,page_view,2026-10-{1 + i % 28:02d}T10:00:00Z,/p{i % 7}"
        plain.write(row + "\n")
        unique.write(f"{row},s{random.getrandbits(64):016x}\n")
PY
for file in plain unique; do
    db=$out/$file.db
    rm -f "$db" "$db-wal" "$db-shm"
    $lf --db "$db" init > /dev/null
    echo "== $file.csv ($rows rows)"
    /usr/bin/time -f "  wall %e s, peak RSS %M KB" $lf --db "$db" import events "$out/$file.csv" --no-rescore
done
