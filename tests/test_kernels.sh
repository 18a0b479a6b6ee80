#!/bin/bash
# The kernel paths (COPYSWEEP_KERNEL = avx512, avx2, generic): the same trials on every path this CPU
# has give byte-identical weights, curves and metrics, for every cell and every kind of input (one-hot,
# embedded, stacked layers with dropout, dense vectors); a sweep whose ranks run different paths
# equals a sweep on one; a trial checkpointed on one path and resumed on another equals one that ran
# straight through; a path the CPU lacks, or an unknown one, is refused in one line with exit 2.
# A negative control (another chunk size, which changes the order of a sum) must be seen to differ.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
unset COPYSWEEP_KERNEL
MPIRUN="timeout -k 10 300 mpirun -q --oversubscribe"
scratch
cd "$work"

# the paths this CPU runs: each is tried; a refused one must say why in one line, with exit 2
paths=()
for p in avx512 avx2 generic; do
    err=$(COPYSWEEP_KERNEL=$p "$BIN" bench --hidden 4 --T 3 --batch 2 --train-size 100 --steps 1 --warmup 0 2>&1 >/dev/null)
    rc=$?
    if [ $rc = 0 ]; then
        paths+=("$p")
    elif [ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "COPYSWEEP_KERNEL '$p': this CPU cannot run it" <<<"$err"; then
        pass "a path this CPU lacks is refused in one line, exit 2: $err"
    else
        fail "COPYSWEEP_KERNEL=$p: exit $rc: $err"
    fi
done
[ "${paths[*]}" != "" ] && [ "${paths[-1]}" = generic ] && pass "paths run here: ${paths[*]}" || fail "paths: ${paths[*]}"
# with the generic path alone there is nothing to compare: said, not passed over in silence
[ ${#paths[@]} = 1 ] && echo "  skip only the generic path runs on this CPU: the comparisons below compare it with itself"
err=$(COPYSWEEP_KERNEL=sse2 "$BIN" train --T 3 2>&1)
rc=$?
[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "COPYSWEEP_KERNEL 'sse2' is not a kernel path (expected one of .*generic" <<<"$err" \
    && pass "an unknown path is refused in one line, exit 2: $err" || fail "unknown path: exit $rc: $err"
err=$(COPYSWEEP_KERNEL=sse2 "$BIN" "$ROOT/jobs/smoke.ini" -o refused.h5 2>&1)
rc=$?
[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && [ ! -e refused.h5 ] \
    && pass "a serial sweep refuses it too, writing nothing: $err" || fail "sweep with an unknown path: exit $rc: $err"
err=$(COPYSWEEP_KERNEL=sse2 $MPIRUN -n 3 "$BIN" "$ROOT/jobs/smoke.ini" -o refused.h5 2>&1)
rc=$?
[ $rc = 2 ] && [ "$(grep -c COPYSWEEP_KERNEL <<<"$err")" = 1 ] && grep -q '^copysweep: rank 0 on .*: COPYSWEEP_KERNEL' <<<"$err" \
    && [ ! -e refused.h5 ] && pass "an MPI sweep: one line from the lowest rank, exit 2, nothing written" \
    || fail "MPI sweep with an unknown path: exit $rc: $err"

# --- 1. one trial per kind of computation, on every path: identical files
common="--T 8 --hidden 20 --batch 12 --chunk 8 --epochs 2 --train-size 240 --val-size 48 --test-size 48"
trials=(
    "lstm:--model lstm --eval-T 4"                                 # one-hot rows of W, 5 panels of 16
    "mlstm:--model mlstm --chrono auto"                            # the multiplicative step on one-hot inputs
    "gru:--model gru --layers 2 --dropout 0.2"                     # a dense second layer
    "mgru:--model mgru --embed 4 --layers 2"                       # embedded inputs through the dense step
    "rnn:--model mrnn --task ntm-copy --T 4 --vocab 8"             # dense vector inputs, per-bit loss
)
for entry in "${trials[@]}"; do
    name=${entry%%:*} args=${entry#*:}
    for p in "${paths[@]}"; do
        # shellcheck disable=SC2086
        COPYSWEEP_KERNEL=$p "$BIN" train $common $args -o "$name.$p.h5" > "$name.$p.log" 2>&1 \
            || fail "$name on $p: $(tail -2 "$name.$p.log")"
        grep -q "^kernel: $p$" "$name.$p.log" || fail "$name on $p: the header does not name the path"
    done
    for p in "${paths[@]:1}"; do
        check "$name: $p = ${paths[0]}" "$PYTHON" "$ROOT/tests/compare_results.py" "$name.${paths[0]}.h5" "$name.$p.h5"
    done
done
"$PYTHON" -c "
import h5py, sys
for p in sys.argv[1:]:
    k = h5py.File(f'lstm.{p}.h5')['trials']['kernel'][0].decode()
    assert k == p, (p, k)
" "${paths[@]}" && pass "the kernel column names the path each trial ran" || fail "the kernel column"
# negative control: another chunk size sums the batch in another order; the comparison must see it
# shellcheck disable=SC2086
"$BIN" train $common --model lstm --eval-T 4 --chunk 4 -o chunk4.h5 > /dev/null 2>&1
"$PYTHON" "$ROOT/tests/compare_results.py" lstm."${paths[0]}".h5 chunk4.h5 > /dev/null \
    && fail "negative control: chunk 4 and chunk 8 compare identical" \
    || pass "negative control: another chunk size (another summation order) is seen to differ"

# --- 2. a sweep whose ranks run different paths equals one on a single path
cat > mixed.ini <<'EOF'
[settings]
model = mlstm, lstm, gru, mgru, rnn
seed = 1, 2
T = 6
hidden = 12
batch = 8
chunk = 8
epochs = 2
train-size = 96
val-size = 32
test-size = 32
EOF
"$BIN" mixed.ini -o one.h5 > one.log 2>&1 || fail "mixed.ini on one path: $(tail -2 one.log)"
# rank r runs path r mod (number of paths)
cat > by_rank.sh <<EOF
#!/bin/bash
paths=(${paths[*]})
export COPYSWEEP_KERNEL=\${paths[\$((OMPI_COMM_WORLD_RANK % \${#paths[@]}))]}
exec "$BIN" "\$@"
EOF
chmod +x by_rank.sh
n=$((${#paths[@]} + 1))
$MPIRUN -n $n ./by_rank.sh mixed.ini -o mixed.h5 > mixed.log 2>&1 || fail "mixed.ini on $n ranks: $(tail -2 mixed.log)"
check "a sweep over ranks of different paths = one path" "$PYTHON" "$ROOT/tests/compare_results.py" one.h5 mixed.h5
ran=$("$PYTHON" -c "
import h5py
print(' '.join(sorted({k.decode() for k in h5py.File('mixed.h5')['trials']['kernel']})))")
[ "$(wc -w <<<"$ran")" -ge 2 ] || [ ${#paths[@]} = 1 ] && pass "its trials ran on: $ran" || fail "the mixed sweep ran on: $ran"

# --- 3. checkpointed on one path, resumed on another: trial 1 (the costliest with trial 0, so the
# two start first, one per worker) is held after its first update; once another trial is done,
# SIGUSR1 to mpirun checkpoints it (exit 3), and the resume runs on the last path
first=${paths[0]} last=${paths[-1]}
COPYSWEEP_FAULT=hold:1 COPYSWEEP_KERNEL=$first $MPIRUN -n 3 "$BIN" mixed.ini -o moved.h5 2> moved.log &
pid=$!
for _ in $(seq 100); do mpirun_pid=$(pgrep -P $pid -x mpirun) && break; sleep 0.05; done
for _ in $(seq 600); do grep -q ') done in' moved.log 2>/dev/null && break; sleep 0.05; done
kill -USR1 "$mpirun_pid"
wait_job $pid
rc=$?
[ $rc = 3 ] && grep -q 'checkpoint written' moved.log || fail "SIGUSR1 on $first: exit $rc: $(tail -3 moved.log)"
# the resume must start from that checkpoint (a trial that cannot load it fails), which it then removes
ls moved.h5.ckpt/trial-*.ckpt > /dev/null 2>&1 || fail "no checkpoint of the held trial after SIGTERM"
COPYSWEEP_KERNEL=$last "$BIN" mixed.ini -o moved.h5 > moved2.log 2>&1 || fail "resume on $last: $(tail -2 moved2.log)"
check "checkpointed on $first, resumed on $last = straight through" "$PYTHON" "$ROOT/tests/compare_results.py" one.h5 moved.h5
[ ! -e moved.h5.ckpt ] || fail "the resumed sweep left its checkpoints"

finish test_kernels
