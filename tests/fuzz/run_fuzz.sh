#!/bin/bash
# Runs each fuzz target: first on every kept regression input (tests/fuzz/regressions/<target>/),
# then for SECONDS from a corpus seeded with a real file the target writes itself. Prints the
# executions, the coverage (libFuzzer's edge count) and the corpus size of each, and fails if any
# input crashes, leaks or times out. Usage: run_fuzz.sh SECONDS TARGET...
set -u
cd "$(dirname "$0")/../.."
seconds=$1
shift
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export COPYSWEEP_READ_TIMEOUT=5 # a results file on which libhdf5 hangs is given up after 5 s
fails=0
for t in "$@"; do
    bin=build/fuzz/fuzz_$t corpus=build/fuzz/corpus/$t kept=tests/fuzz/regressions/$t
    mkdir -p "$corpus" "$kept"
    if ls "$kept"/* > /dev/null 2>&1 && ! "$bin" -detect_leaks=$([ "$t" = results ] && echo 0 || echo 1) "$kept"/* > "build/fuzz/$t-regressions.log" 2>&1; then
        echo "  FAIL fuzz_$t: a kept regression input fails again ($(grep -m1 'ERROR\|runtime error' "build/fuzz/$t-regressions.log"))"
        fails=$((fails + 1))
        continue
    fi
    FUZZ_SEED_DIR=$corpus "$bin" -runs=0 "$corpus" > /dev/null 2>&1
    log=build/fuzz/$t.log leaks=1
    [ "$t" = results ] && leaks=0 # libhdf5's own allocations on a corrupt file; memory errors still count
    if "$bin" -detect_leaks=$leaks -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
        -artifact_prefix="build/fuzz/$t-" -print_final_stats=1 "$corpus" > "$log" 2>&1; then
        runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
        echo "  ok   fuzz_$t: $runs executions in ${seconds} s, coverage $cov edges, corpus $(ls "$corpus" | wc -l) inputs"
    else
        echo "  FAIL fuzz_$t: $(grep -m1 'ERROR\|runtime error\|Test unit written' "$log"); the input is in build/fuzz/$t-*"
        fails=$((fails + 1))
    fi
done
if [ $fails -gt 0 ]; then echo "fuzz: $fails FAILED"; exit 1; fi
echo "fuzz: passed"
