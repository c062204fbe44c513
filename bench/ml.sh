#!/usr/bin/env bash
# Learned scoring beside the peers, in one run: ../shared/ml/ml_peers.py (scikit-learn logistic
# regression, scikit-learn histogram gradient boosting, LightGBM), then `leadflow-bench ml`, on the
# same tasks and folds.
#
#   bench/ml.sh [TASK ...]       (x_education x_education_noleak bank_full by default)
#
# Needs: pip install scikit-learn lightgbm "pandas<3" (ml_peers.py reads text columns as
# pandas' object dtype, which pandas 3 no longer gives).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
cargo build --release -q -p leadflow-bench
echo "# peers"
python3 ../shared/ml/ml_peers.py "$@"
echo "# leadflow"
target/release/leadflow-bench ml "$@"
