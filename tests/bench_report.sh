#!/bin/bash
# Benchmark of the report at scale (not a test): a sweep of 10,000 one-epoch trials (an LSTM with
# hidden = 8 at T = 4; 1,000 seeds × 10 learning rates, the job of tests/bench_store.sh), then the
# report of the finished file, and of the same job stopped by SIGTERM part-way (trials missing),
# each timed. OLD_ANALYSIS (optional): another analysis/ folder whose report.py runs the finished
# file too, one after the other. Prints the CPU, each wall time and the trials missing.
# Usage: tests/bench_report.sh    (from the repository root, on an idle machine; about 3 minutes)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$(realpath "${COPYSWEEP:-$ROOT/copysweep}")
PYTHON=${PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
{
    printf '[settings]\nmodel = lstm\nT = 4\nvocab = 4\nhidden = 8\n'
    echo "seed = $(seq -s ', ' 1 1000)"
    echo "lr = $(seq 1 10 | awk '{printf "%s%g", (NR > 1 ? ", " : ""), $1 / 10000}')"
    printf 'epochs = 1\ntrain-size = 32\nval-size = 16\ntest-size = 16\nbatch = 16\n'
} > big.ini
echo "copysweep report benchmark, $(date -u +%Y-%m-%dT%H:%MZ); CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc --all) cores"
mpirun -q --oversubscribe -n 3 "$BIN" big.ini -o big.h5 2> big.log > /dev/null || { echo "sweep: $(tail -2 big.log)"; exit 1; }
timed() { # LABEL ANALYSIS FILE: one report, its wall time
    local t0=$(date +%s%N)
    "$PYTHON" "$2/report.py" "$3" -o "rep-$1" > "rep-$1.log" 2>&1 || { echo "$1: $(tail -2 "rep-$1.log")"; return; }
    echo "$1: $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(tail -1 "rep-$1.log")"
}
timed finished "$ROOT/analysis" big.h5
[ -n "${OLD_ANALYSIS:-}" ] && timed finished-old "$OLD_ANALYSIS" big.h5
mpirun -q --oversubscribe -n 3 "$BIN" big.ini -o part.h5 2> part.log > /dev/null &
job=$!
for _ in $(seq 600); do [ "$("$BIN" status part.h5 2> /dev/null | grep -o '[0-9]* done' | grep -o '[0-9]*')" -ge 4000 ] 2> /dev/null && break; sleep 0.1; done
pkill -TERM -P "$job" -x copysweep # to the ranks, as Slurm does
wait $job
timed part-way "$ROOT/analysis" part.h5
