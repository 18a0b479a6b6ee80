#!/bin/bash
# The report: on a real smoke sweep every table cell equals its recomputation from /trials and the
# figures exist; an interrupted sweep's file is reported with its missing trials; load.py's frames
# have the expected rows; a file that is not a copysweep results file, or of another format
# version, gets one line and exit status 2.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMP_NUM_THREADS=1 PYTHONPATH=$ROOT/analysis:$ROOT/tests # load.py, report_md.py
scratch
cd "$work"

check "statistics against worked examples" "$PYTHON" "$ROOT/tests/check_stats.py"

"$BIN" "$ROOT/jobs/smoke.ini" -o smoke.h5 2> smoke.log || fail "smoke sweep: $(tail -2 smoke.log)"
check "report of the smoke sweep" "$PYTHON" "$ROOT/analysis/report.py" smoke.h5 -o rep
# bits against T, and 2 lengths × (per-position bits, curves, per-position accuracy, gradient flow)
check "tables, summary and figures of a complete file" "$PYTHON" "$ROOT/tests/check_report.py" smoke.h5 rep --figures 9
# negative controls: a report with one bits cell changed in its last digit, or made nan, fails the check
for bad in digit nan; do
    rm -rf "bad-$bad" && cp -r rep "bad-$bad"
    "$PYTHON" - "bad-$bad/index.md" $bad <<'EOF'
import re, sys
path, how = sys.argv[1], sys.argv[2]
md = open(path).read()
head = md.index("### Test memory, bits")
m = re.compile(r"\| (-?\d+\.\d\d) ± ").search(md, head)
new = "nan" if how == "nan" else f"{float(m.group(1)) + 0.01:.2f}"
open(path, "w").write(md[:m.start(1)] + new + md[m.end(1):])
EOF
    if "$PYTHON" "$ROOT/tests/check_report.py" smoke.h5 "bad-$bad" --figures 9 > "bad-$bad.log" 2>&1; then
        fail "a bits cell changed ($bad) passes check_report: $(tail -1 "bad-$bad.log")"
    else
        pass "negative control: a bits cell changed ($bad) fails check_report: $(grep -o 'FAIL.*' "bad-$bad.log" | head -c 160)"
    fi
done
check "the report opens with the summary; its sections are numbered 1, 2, ... as rendered" "$PYTHON" -c "
from report_md import headings
h = [(n, t) for level, n, t in headings(open('rep/index.md').read()) if level == 2]
assert h[0] == (1, 'Summary'), h[0]
numbered = [n for n, _ in h if n is not None]
assert numbered == list(range(1, len(numbered) + 1)), h
print(f'{len(numbered)} sections, the first the summary')
"

# geometric means: seeds whose gradients differ by 10^6 average to 10^-6, not to 5·10^-4
cp smoke.h5 geo.h5
"$PYTHON" -c "
import h5py
with h5py.File('geo.h5', 'r+') as f:
    for r in f['trials'][...]:
        f[f'trial/{r[\"trial\"]}/grad_flow'][0, 0] = 1e-3 if r['seed'] == 1 else 1e-9
"
"$PYTHON" "$ROOT/analysis/report.py" geo.h5 -o geo > /dev/null
check "geometric means of log-scale quantities (seeds 10^6 apart)" "$PYTHON" -c "
import pandas as pd
from report_md import section
md = section(open('geo/index.md').read(), \"The gradient's decay per step\")
rows = [r for r in md.splitlines() if r.startswith('| ') and not r.startswith('| model')]
cells = [r.split('|')[7].strip() for r in rows]
assert len(cells) == 8 and all(c == '1.00e-06 ×/÷ 1e+03 (n=2)' for c in cells), cells
s = pd.read_csv('geo/summary.csv')
g = s[s['metric'] == 'grad_h0_initial_geomean']['mean']
assert len(g) == 8 and (abs(g / 1e-6 - 1) < 1e-9).all(), g
print(f'{len(cells)} cells of ‖∂L/∂h_0‖ read 1.00e-06 (the arithmetic mean would be 5.0e-04)')
"

# a file of the previous format (2): no bits, no ρ; it loads, and the report says what is missing
"$PYTHON" -c "
import h5py, numpy as np
with h5py.File('smoke.h5') as src, h5py.File('v2.h5', 'w') as dst:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    dst.attrs['format_version'] = 2
    new = ('test_bits', 'test_bits_se', 'bits_ceiling', 'test_bits_cal', 'test_bits_cal_se', 'temperature',
           'rho_initial', 'rho_final', 'rho_linear')
    t = src['trials'][...]
    keep = [n for n in t.dtype.names if n not in new]
    dst.create_dataset('trials', data=np.array(t[keep].tolist(), dtype=[(n, t.dtype[n]) for n in keep]))
    src.copy('runs', dst)
    for k in src['trial']:
        g = dst.create_group(f'trial/{k}')
        for n in ('per_position', 'grad_flow', 'weights'):
            src.copy(f'trial/{k}/{n}', g)
        c = src[f'trial/{k}/curves'][...]
        names = [n for n in c.dtype.names if n != 'val_bits']
        g['curves'] = np.array(c[names].tolist(), dtype=[(n, c.dtype[n]) for n in names])
"
check "report of a format-2 file" "$PYTHON" "$ROOT/analysis/report.py" v2.h5 -o v2
check "format-2 file: a note, accuracy summary, no bits sections" "$PYTHON" -c "
import load
from report_md import has, section
md = open('v2/index.md').read()
assert 'Note: this file has results format version 2' in md and not has(md, 'Memory in bits'), md[:600]
assert 'test accuracy (chance 0.1250)' in section(md, 'Summary')
pp = load.per_position('v2.h5')
assert pp['ce'].isna().all() and pp['acc'].notna().all() and not load.has_bits(load.trials('v2.h5'))
print('note present, ranking by accuracy, per-position ce missing as NaN')
"

check "load.py frames" "$PYTHON" -c "
import h5py, numpy as np
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

# an interrupted sweep: one rank, stopped after its first trial (its second, held until the signal
# by COPYSWEEP_FAULT=hold:1, cannot finish first)
COPYSWEEP_FAULT=hold:1 "$BIN" "$ROOT/tests/jobs/mid.ini" -o part.h5 2> part.log &
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
    "$PYTHON" "$ROOT/tests/check_report.py" part.h5 part --figures 5 --missing $missing

# sweep tests/jobs/NAME.ini into NAME.h5, report it into NAME-report/, and check the report with
# check_tasks_report.py [MODE]: sweep_and_check NAME WHAT CHECK_WHAT [MODE]
sweep_and_check() {
    local name=$1 what=$2 checked=$3
    shift 3
    "$BIN" "$ROOT/tests/jobs/$name.ini" -o "$name.h5" 2> "$name.log" || fail "$what sweep: $(tail -2 "$name.log")"
    check "report of $what" "$PYTHON" "$ROOT/analysis/report.py" "$name.h5" -o "$name-report"
    check "$checked" "$PYTHON" "$ROOT/tests/check_tasks_report.py" "$name.h5" "$name-report" "$@"
}

# the other tasks in one sweep, each selected model also tested at other lengths
sweep_and_check tasks "copy-delay, temporal-order and ntm-copy with eval-T" \
    "task sections, chance per task, length-generalization table equals /trial/<n>/eval"

# charlm on a text the test writes: optimizers and dropout as axes, perplexity in the report
for i in $(seq 400); do echo "line $i: $(printf '%*s' $((i % 37)) '' | tr ' ' 'abcdefgh'[$((i % 8))])"; done > text.txt
sweep_and_check lm "a charlm sweep" "charlm perplexity table equals exp(test_loss) over seeds" --charlm

# a small capacity sweep: a capacity value per model, equal to its recomputation from /trials
sweep_and_check cap "a capacity sweep" "capacity per model equals its recomputation" --capacity
check "bits table, capacity in bits, summary ranking and paired differences of the capacity sweep" \
    "$PYTHON" "$ROOT/tests/check_report.py" cap.h5 cap-report --figures 18 --carrying

# the capacity sweep with holes: every trial at T = 9 and the GRU's at T = 6 made pending (their groups
# removed), as in a sweep still running: no "nan" anywhere, no figure of T = 9 (nothing to draw), the
# holes "missing", the Fano ceiling and the missing trials' counts still there
"$PYTHON" - <<'EOF'
import shutil, h5py
shutil.copy("cap.h5", "holes.h5")
with h5py.File("holes.h5", "r+") as f:
    t = f["trials"][...]
    for i, r in enumerate(t):
        if r["T"] == 9 or (r["model"] == b"gru" and r["T"] == 6):
            t[i]["status"] = b"pending"
            if str(r["trial"]) in f["trial"]:
                del f["trial"][str(r["trial"])]
    f["trials"][...] = t
EOF
"$PYTHON" "$ROOT/analysis/report.py" holes.h5 -o holes > holes.log 2>&1 || fail "report of a file with holes: $(tail -2 holes.log)"
nans=$(grep -ciw nan holes/index.md)
empty=$(ls holes | grep -c '_T9\.png')
if [ "$nans" = 0 ] && [ "$empty" = 0 ] && grep -q 'missing' holes/index.md && grep -q '(ceiling 0\.' holes/index.md \
    && grep -q '6 of 16 trials have no result yet' holes/index.md; then
    pass "a file with empty lengths and cells: no nan, no empty figure, the holes missing, Fano ceilings shown"
else
    fail "a file with holes: $nans lines with nan, $empty figures of T = 9: $(grep -iwm3 nan holes/index.md)"
fi

# memory against lag and load (copy-delay at two lags tested at each other's, and a second load),
# the gate statistics over the hold and the final ρ of each cell against its multiplicative variant
sweep_and_check lag "a sweep over lags and loads" \
    "bits(S, D), capacity(D), holding, gate statistics and final ρ ratios equal their recomputation" --lag

# a sweep that has finished no trial yet (its first held after one update): the report has no
# figure, no nan, and every trial missing (trial 6, the costliest, runs first on the one rank)
COPYSWEEP_FAULT=hold:6 "$BIN" "$ROOT/jobs/smoke.ini" -o none.h5 2> none.log &
pid=$!
for _ in $(seq 600); do grep -q 'expected wall time' none.log && break; sleep 0.05; done
sleep 0.5
"$PYTHON" "$ROOT/analysis/report.py" none.h5 -o none > none-report.log 2>&1; rc=$?
kill -TERM $pid
wait $pid
if [ $rc = 0 ] && [ "$(ls none | grep -c '\.png$')" = 0 ] && ! grep -qiw nan none/index.md &&
    grep -q '16 of 16 trials have no result yet' none/index.md; then
    pass "a file without any finished trial: its report has every trial missing, no figure, no nan"
else
    fail "a file without any finished trial: exit $rc: $(tail -2 none-report.log)"
fi

# the aids as axes: a table per model and T of plain, chrono, curriculum and both
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
# a Python without the packages (-S: no site-packages) is told what to use, in one line
err=$("$PYTHON" -S "$ROOT/analysis/report.py" smoke.h5 -o bad 2>&1); rc=$?
if [ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "has no module" <<<"$err" && [ ! -e bad ]; then
    pass "a Python without h5py is refused: $err"
else fail "a Python without h5py: exit $rc: $err"; fi

finish report
