#!/bin/bash
# Runs every test of `make test` and fails loudly: a summary line per test, exit 1 if any failed.
# COPYSWEEP (default ./copysweep) and TEST_BINS (default build/tests) choose the binaries under test:
# `make test-asan` points them at the AddressSanitizer build.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
export PYTHON
export COPYSWEEP=$(realpath "${COPYSWEEP:-copysweep}")
bins=${TEST_BINS:-build/tests}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summary=()
passed=0 failed=0
run() { # NAME COMMAND...
    local name=$1 start=$SECONDS
    shift
    echo "== $name"
    if "$@"; then
        summary+=("ok    $name ($((SECONDS - start)) s)")
        passed=$((passed + 1))
    else
        summary+=("FAIL  $name ($((SECONDS - start)) s)")
        failed=$((failed + 1))
    fi
}

# SANITIZED=1 (make test-asan) leaves out what does not change under it: the double-precision tests,
# built with ASan and UBSan in `make test` already, and the analysis tests, whose C paths (a sweep
# writing its file) the sweep and store tests cover.
sanitized_skip() { # NAME
    summary+=("skip  $1 (in make test; SANITIZED=1)")
}
run "layers: every include to the same or a lower layer, no circle" "$PYTHON" tests/check_layers.py
run "docs: the reference text in README.md and docs/usage.md is the program's help" tests/test_docs.sh
if [ -z "${SANITIZED:-}" ]; then
    run "gradient check, double, ASan+UBSan" build/tests/test_gradcheck_f64
    run "PyTorch cross-check, double" \
        bash -c "build/tests/xcheck_dump_f64 '$work/xcheck.h5' && '$PYTHON' tests/xcheck.py '$work/xcheck.h5'"
else
    sanitized_skip "the gradient check and the PyTorch cross-check, double"
fi
run "data, splits and metrics" "$bins/test_data"
run "memory in bits, its SE and temperature; the decay per step" "$bins/test_info"
run "training: determinism across threads, learning at T=5" "$bins/test_train"
run "exec trials: the command template, the metrics protocol, every outcome of a program" "$bins/test_exec"
run "TPE: values within range, the same from the same stream, nearer the good observations than uniform" "$bins/test_tpe"
run "command line" tests/test_cli.sh
run "kernel paths: the same bits on avx512, avx2 and generic; mixed ranks; resumed on another path" tests/test_kernels.sh
run "MPI sweep: ranks, signals, resume, faults, bad input" tests/test_sweep.sh
run "results store: kills while recording and compacting, journal damage, grown grids, merge, status" tests/test_store.sh
run "beyond the grid: zip, [when], [search] samples, successive halving, bad input" tests/test_search.sh
run "TPE in generations: ranks, SIGTERM and resume, growth, halving, status, bad input" tests/test_tpe.sh
run "sweeps of a program ([exec]): ranks, every outcome, no shell, SIGTERM and resume, halving, bad input" \
    tests/test_exec_sweep.sh
if [ -z "${SANITIZED:-}" ]; then
    run "analysis: report tables, figures, partial and foreign files" tests/test_report.sh
    run "analysis of a program's trials: metrics by key with mean ± SE, paired differences, curves" \
        tests/test_report_exec.sh
    run "the report to explore in headless Chromium: every figure drawn, no script error, not blank" \
        tests/test_explore.sh
else
    sanitized_skip "the analysis tests"
fi
# mounting a small tmpfs and running a sweep as another user need root
if [ "$(id -u)" = 0 ]; then
    # one round of the five faults under the sanitizers, whose sweeps run several times slower
    ROUNDS=${ROUNDS:-$([ -n "${SANITIZED:-}" ] && echo 1 || echo 3)} \
        run "fault injection at random moments: kills, SIGTERM, full disk, unwritable folder" tests/test_faults.sh
else
    summary+=("skip  fault injection (needs root to mount a tmpfs and to run a sweep as another user)")
fi
# valgrind cannot run an AddressSanitizer build
[ -z "${SANITIZED:-}" ] && run "valgrind memcheck: trials, data, a serial sweep, bad input" tests/test_valgrind.sh

echo
echo "test summary:"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] || exit 1
