#!/bin/bash
# Benchmark of the results store (not a test): many tiny trials, so that the cost of recording
# dominates. Each trial is an LSTM with hidden = H (default 256: 1.1 MB of weights) trained for one
# epoch at T = 4 (about 0.1 s at H = 256; near nothing at H = 1). For each RANKS:TRIALS[:H] (default
# "3:200 3:2000 16:2000 64:2000") it runs the sweep with OMP_NUM_THREADS=1 and reports, from the
# master's own summary: the makespan against the lower bound from the trials' own compute, the time
# workers waited for the master, the master's time to record a trial (first and last 100; 1,000 from
# 10,000 trials on), the writer thread's time to append and sync a finished trial (the same), the
# bytes written against the final file's size, the final compaction and the master's peak resident
# memory.
# OLD_BIN (optional): another copysweep binary to run the first pair with, side by side.
# Usage: tests/bench_store.sh [RANKS:TRIALS[:H] ...]     (run from the repository root, on an idle machine)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$(realpath "${COPYSWEEP:-$ROOT/copysweep}")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
work=$(mktemp -d -p "${BENCH_DIR:-$ROOT}" bench_store.XXXXXX)
trap 'rm -rf "$work"' EXIT
pairs=("$@")
[ ${#pairs[@]} = 0 ] && pairs=(3:200 3:2000 16:2000 64:2000)

axes() { # TRIALS: seeds, and from 4,000 trials on (an axis holds at most 4,096 values) 1,000 seeds × learning rates
    if [ "$1" -le 4000 ]; then echo "seed = $(seq -s ', ' 1 "$1")"; return; fi
    echo "seed = $(seq -s ', ' 1 1000)"
    echo "lr = $(seq 1 $(($1 / 1000)) | awk '{printf "%s%g", (NR > 1 ? ", " : ""), $1 / 10000}')"
}

job() { # TRIALS H: the job file
    cat <<JOB
[settings]
model = lstm
T = 4
vocab = 4
hidden = $2
$(axes "$1")
epochs = 1
train-size = 32
val-size = 16
test-size = 16
batch = 16
JOB
}

echo "copysweep results-store benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc --all) cores; $("$BIN" -V); $(df -hT "$work" | awk 'NR == 2 {print "filesystem " $2 " on " $1}')"
run() { # BIN RANKS TRIALS H LABEL
    local bin=$1 ranks=$2 trials=$3 hidden=$4 label=$5
    local log=$work/$label-$ranks-$trials.log
    job "$trials" "$hidden" > "$work/job$trials.ini"
    rm -rf "$work/out.h5" "$work/out.h5.ckpt"
    local t0=$(date +%s%N)
    mpirun -q --oversubscribe -n "$ranks" "$bin" "$work/job$trials.ini" -o "$work/out.h5" 2> "$log" > /dev/null ||
        { echo "$label: exit $?: $(tail -2 "$log")"; return; }
    local wall=$(( ($(date +%s%N) - t0) / 1000000 )) size=$(stat -c %s "$work/out.h5")
    local ms=$(grep -o 'makespan [0-9.]* s' "$log" | grep -o '[0-9.]*' | head -1)
    local bound=$(grep -o '/ [0-9]* workers) = [0-9.]* s' "$log" | grep -o '= [0-9.]*' | tr -d '= ')
    local ratio=$(grep -o 'makespan / bound = [0-9.]*' "$log" | grep -o '[0-9.]*$')
    local rec=$(grep -o 'record a trial: first [0-9]* mean [0-9.]* ms, last [0-9]* mean [0-9.]* ms' "$log" | grep -o 'mean [0-9.]*' | tr -d 'mean ' | paste -sd/)
    local wait=$(grep -o 'workers waited for the master [0-9.]* s in all (mean [0-9.]* ms, max [0-9.]* ms' "$log" | sed 's/workers waited for the master //; s/ in all (mean/; mean/')
    local sync=$(grep -o 'sync per finished trial: first [0-9]* mean [0-9.]* ms, last [0-9]* mean [0-9.]* ms' "$log" | grep -o 'mean [0-9.]*' | tr -d 'mean ' | paste -sd/)
    local written=$(grep -o '[0-9.]* MB written for it in this run (journal and [0-9]* compactions)' "$log" | sed 's/ written for it in this run (journal and/,/; s/)//')
    local last=$(grep -o 'the last compaction took [0-9.]* s' "$log" | grep -o '[0-9.]* s')
    local rss=$(grep -o "master's peak resident memory [0-9.]* MB" "$log" | grep -o '[0-9.]* MB')
    printf '| %s | %d | %d | %d | %s s | %s s | %s | %s | %s ms | %s ms | %s | %.1f MB | %s | %s |\n' "$label" "$ranks" "$trials" \
        "$hidden" "${ms:-?}" "${bound:-?}" "${ratio:-?}" "${wait:-?}" "${rec:-?}" "${sync:-?}" "${written:-?}" \
        "$(echo "$size / 1000000" | bc -l)" "${last:-?}" "${rss:-?}"
}
echo
echo "| binary | ranks | trials | H | makespan | bound | ratio | workers waited for the master (all; mean, max) | master: record a trial, first/last K | writer: append+sync, first/last K | written (journal and compactions) | final file | last compaction | master's peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
spec() { # RANKS:TRIALS[:H] -> "RANKS TRIALS H"
    local r t h
    IFS=: read -r r t h <<<"$1"
    echo "$r $t ${h:-256}"
}
if [ -n "${OLD_BIN:-}" ]; then
    run "$(realpath "$OLD_BIN")" $(spec "${pairs[0]}") old
fi
for pair in "${pairs[@]}"; do run "$BIN" $(spec "$pair") new; done
