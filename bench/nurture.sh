#!/usr/bin/env bash
# The nurture benchmark: emails through a local SMTP sink (aiosmtpd), leadflow's durable sends
# beside the sink's raw acceptance rate in the same run, and the time to schedule the next step
# of M enrollments.
#
#   bench/nurture.sh [SENDS] [ENROLLMENTS]        e.g. bench/nurture.sh 10000 1000000
#
# Needs aiosmtpd (scripts/test installs it into target/mail-sink, or pip install aiosmtpd).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
sends=${1:-10000}
enrollments=${2:-100000}
cd "$here"
python=${LEADFLOW_MAIL_PYTHON:-$here/target/mail-sink/bin/python}
cargo build --release -q -p leadflow-bench
out=$(mktemp -d)
trap 'kill "$sink" "$held" 2>/dev/null || true; rm -rf "$out"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$out/mail"
# The sink runs until its stdin closes: held open by a sleep that the trap ends.
mkfifo "$out/stdin"
sleep infinity > "$out/stdin" &
held=$!
"$python" crates/leadflow-mail/tests/smtp_sink.py "$port" "$out/mail" < "$out/stdin" > "$out/sink.log" &
sink=$!
until grep -q ready "$out/sink.log" 2>/dev/null; do sleep 0.1; done
echo "$sends sends, $enrollments enrollments; $(nproc) cores; $(uname -m)"
/usr/bin/time -f "  wall %e s, peak RSS %M KB" \
    target/release/leadflow-bench nurture "$out/lf.db" "$port" --sends "$sends" --enrollments "$enrollments"
echo "the sink kept $(find "$out/mail" -name '*.eml' | wc -l) messages"
