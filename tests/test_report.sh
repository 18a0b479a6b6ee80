#!/bin/bash
# The report: on a real smoke sweep every table cell equals its recomputation from /trials and the
# figures exist; an interrupted sweep's file is reported with its missing trials; load.py's frames
# have the expected rows; a file that is not a copysweep results file, or of another format
# version, gets one line and exit status 2.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, fails
ROOT=$PWD
BIN=${COPYSWEEP:-$ROOT/copysweep}
PYTHON=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$BIN" "$ROOT/jobs/smoke.ini" -o smoke.h5 2> smoke.log || fail "smoke sweep: $(tail -2 smoke.log)"
check "report of the smoke sweep" "$PYTHON" "$ROOT/analysis/report.py" smoke.h5 -o rep
# 2 lengths × (curves, per-position, gradient flow)
check "tables and figures of a complete file" "$PYTHON" "$ROOT/tests/check_report.py" smoke.h5 rep --figures 6

ROOT=$ROOT check "load.py frames" "$PYTHON" -c "
import sys, os, h5py, numpy as np
sys.path.insert(0, os.environ['ROOT'] + '/analysis')
import load
t, c, pp, gf = load.trials('smoke.h5'), load.curves('smoke.h5'), load.per_position('smoke.h5'), load.grad_flow('smoke.h5')
f = h5py.File('smoke.h5')
assert len(t) == 16 and list(t['model'].unique()) == ['lstm', 'mlstm', 'gru', 'mgru'], t
assert len(c) == int(t['epochs'].sum()) and {'model', 'T', 'seed', 'val_acc'} <= set(c.columns)
assert len(pp) == int(t['T'].sum()) and np.allclose(pp.groupby('trial')['acc'].mean(), t['test_acc'])
assert len(gf) == 2 * int((2 * t['T'] + 1).sum())
assert load.axes(t) == ['model', 'T'] and load.constants(t)['hidden'] == 16
print(f'{len(t)} trials, {len(c)} curve rows, {len(pp)} positions, {len(gf)} gradient-flow points')
"

# an interrupted sweep: one rank, stopped after its first trial
cat > slow.ini <<'JOB'
[settings]
model = lstm, gru
seed = 1, 2
T = 24
hidden = 48
batch = 16
epochs = 4
train-size = 3200
val-size = 64
test-size = 64
JOB
"$BIN" slow.ini -o part.h5 2> part.log &
pid=$!
for _ in $(seq 600); do grep -q ') done in' part.log && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc=$?
missing=$("$PYTHON" -c "
import h5py
t = h5py.File('part.h5')['trials'][...]
print(' '.join(str(r['trial']) for r in t if r['status'] not in (b'done', b'diverged')))")
[ $rc = 3 ] && [ -n "$missing" ] || fail "interrupting the slow sweep: exit $rc, missing '$missing'"
check "report of an interrupted sweep" "$PYTHON" "$ROOT/analysis/report.py" part.h5 -o part
check "missing trials ($missing) listed and never averaged" \
    "$PYTHON" "$ROOT/tests/check_report.py" part.h5 part --figures 3 --missing $missing

# sweep NAME.ini into NAME.h5, report it into NAME-report/, and check the report with
# check_tasks_report.py [MODE]: sweep_and_check NAME WHAT CHECK_WHAT [MODE]
sweep_and_check() {
    local name=$1 what=$2 checked=$3
    shift 3
    "$BIN" "$name.ini" -o "$name.h5" 2> "$name.log" || fail "$what sweep: $(tail -2 "$name.log")"
    check "report of $what" "$PYTHON" "$ROOT/analysis/report.py" "$name.h5" -o "$name-report"
    check "$checked" "$PYTHON" "$ROOT/tests/check_tasks_report.py" "$name.h5" "$name-report" "$@"
}

# the other tasks in one sweep, each selected model also tested at other lengths
cat > tasks.ini <<'JOB'
[settings]
task = copy-delay, temporal-order, ntm-copy
model = lstm, mgru
T = 10
seed = 1, 2
eval-T = 12 20
hidden = 16
batch = 16
chunk = 8
epochs = 3
train-size = 160
val-size = 32
test-size = 32
JOB
sweep_and_check tasks "copy-delay, temporal-order and ntm-copy with eval-T" \
    "task sections, chance per task, length-generalization table equals /trial/<n>/eval"

# charlm on a text the test writes: optimizers and dropout as axes, perplexity in the report
for i in $(seq 400); do echo "line $i: $(printf '%*s' $((i % 37)) '' | tr ' ' 'abcdefgh'[$((i % 8))])"; done > text.txt
cat > lm.ini <<'JOB'
[settings]
task = charlm
text = text.txt
model = lstm, gru
optimizer = sgd, adam
dropout = 0, 0.3
seed = 1, 2
T = 30
layers = 2
hidden = 16
batch = 16
chunk = 8
epochs = 2
lr = 0.01
train-size = 160
val-size = 32
test-size = 32
JOB
sweep_and_check lm "a charlm sweep" "charlm perplexity table equals exp(test_loss) over seeds" --charlm

# a small capacity sweep: a capacity value per model, equal to its recomputation from /trials
cat > cap.ini <<'JOB'
[settings]
model = lstm, gru
T = 3, 4, 6, 9
seed = 1, 2
hidden = 32
batch = 16
chunk = 8
epochs = 12
lr = 0.01
train-size = 1600
val-size = 64
test-size = 64
JOB
sweep_and_check cap "a capacity sweep" "capacity per model equals its recomputation" --capacity

# the aids as axes: a table per model and T of plain, chrono, curriculum and both
cat > aid.ini <<'JOB'
[settings]
model = lstm, gru
T = 6, 8
chrono = 0, 20
curriculum = 0, 4
hidden = 16
batch = 16
chunk = 8
epochs = 3
train-size = 320
val-size = 32
test-size = 32
JOB
sweep_and_check aid "an ablation sweep" "ablation cells and differences equal their recomputation" --ablation

# not a results file, and another format version
"$PYTHON" -c "import h5py; h5py.File('other.h5', 'w')['x'] = [1, 2, 3]"
cp smoke.h5 future.h5
"$PYTHON" -c "import h5py; h5py.File('future.h5', 'r+').attrs['format_version'] = 99"
echo "plain text" > text.h5
for f in other.h5 future.h5 text.h5; do
    err=$("$PYTHON" "$ROOT/analysis/report.py" $f -o bad 2>&1); rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && [ ! -e bad ]; then pass "$f refused: $err"
    else fail "$f: exit $rc: $err"; fi
done

if [ $fails -gt 0 ]; then echo "report: $fails FAILED"; exit 1; fi
echo "report: passed"
