#!/bin/bash
# tests/repeat.sh [N]: `make test` and `make test-slurm` N times in a row (default 10) on a clean clone
# of this checkout's HEAD, a line per run; exit 1 if any run failed. Logs in $REPEAT_LOGS (default
# /tmp/copysweep-repeat). A flaky test shows here; commit first: the clone takes HEAD.
set -u
N=${1:-10}
src=$(cd "$(dirname "$0")/.." && pwd)
logs=${REPEAT_LOGS:-/tmp/copysweep-repeat}
rm -rf "$logs" && mkdir -p "$logs" && git clone -q "$src" "$logs/tree" && cd "$logs/tree" || exit 1
echo "commit $(git log --oneline -1 | cut -c1-70)"
bad=0
for i in $(seq "$N"); do
    s=$SECONDS
    make test > "$logs/test-$i.log" 2>&1; t=$?
    m=$SECONDS
    make test-slurm > "$logs/slurm-$i.log" 2>&1; sl=$?
    [ $t = 0 ] && [ $sl = 0 ] || bad=$((bad + 1))
    echo "run $i: make test exit $t ($((m - s)) s; $(tail -1 "$logs/test-$i.log")), make test-slurm exit $sl" \
         "($((SECONDS - m)) s; $(grep -c '^  ok' "$logs/slurm-$i.log") ok, $(grep -c '^  FAIL' "$logs/slurm-$i.log") FAIL)"
done
echo "$((N - bad)) of $N runs passed"
[ $bad = 0 ]
