#!/usr/bin/env bash
# Event imports with a column unique per row (a session id, a URL with a query string), against
# the same file without it, in one run.
#
#   bench/import-shapes.sh [ROWS] [OUT_DIR]        (80000 rows, /tmp/lf-shapes by default)
#
# Each unknown column becomes an event property. Shapes keep only the properties a model's rules
# read, so a unique column should cost nothing; then it times what a model that starts reading a
# set-aside column (`Page`) costs to apply (its events are reshaped) against one reading `url`.
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
python3 - "$here/crates/leadflow-core/src/model/default.toml" "$out" <<'PY'
import sys
model, out = open(sys.argv[1]).read(), sys.argv[2]
careers = 'where = [{ property = "url", op = "contains", value = "/careers" }]'
for name, prop in [("reads-page", "page"), ("reads-url", "url")]:
    rule = f'where = [{{ property = "{prop}", op = "equals", value = "/p3" }}]'
    open(f"{out}/{name}.toml", "w").write(model.replace(careers, rule).replace('"default-b2b"', f'"{name}"'))
PY
for model in reads-page reads-url; do
    cp "$out/unique.db" "$out/apply.db"
    rm -f "$out/apply.db-wal" "$out/apply.db-shm"
    echo "== model apply $model.toml on unique.db"
    /usr/bin/time -f "  wall %e s, peak RSS %M KB" $lf --db "$out/apply.db" model apply "$out/$model.toml" 2>&1 | grep -v warning
done
