#!/bin/bash
# The report of exec trials (a job with [exec]: tests/exec_prog.py per trial): on a grid of 2 lr × 2
# width × 3 seeds, every cell of the section "Metrics by setting" and the paired difference along lr
# equal their recomputation from /trials with h5py alone (on the file as written, and on a copy whose
# metrics differ by trial, so that the SEs are not 0); the curves are PNG files; a copy of the file with
# one test_acc changed fails the same check (negative control). A search with successive halving: the
# search and halving sections, and each width's cell over its selected samples (recomputed from the
# curves). A job with a failing trial: its exit code and last stderr line. No built-in section appears.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMP_NUM_THREADS=1 PYTHONPATH=$ROOT/analysis:$ROOT/tests # load.py, report_md.py
scratch
cd "$work"

# the check: check.py RESULTS REPORT AXES [--searched]. Every row of "Metrics by setting" against
# the mean ± SE over seeds of its trials' /trials values (the selected sample of each (width, seed)
# with --searched: the best val_acc over its curve, the lowest trial on a tie), within half a unit of
# the last digit shown; the rows are the combinations of AXES; the figures of "Curves" are PNG files.
cat > check.py <<'EOF'
import argparse, math, os, re
import h5py
import numpy as np
from report_md import section

p = argparse.ArgumentParser()
for name in ("results", "report", "axes"):
    p.add_argument(name)
p.add_argument("--searched", action="store_true")
a = p.parse_args()
axes = a.axes.split(",")
METRICS = ["val_loss", "test_acc"]

with h5py.File(a.results, "r") as f:
    t = f["trials"][...]
    best = {int(k): float(np.nanmax(f[f"trial/{k}/curves"]["val_acc"])) for k in f["trial"]}
text = lambda r, k: r[k].decode()
done = [r for r in t if r["status"] in (b"done", b"diverged")]
if a.searched:  # per (axes, seed) group the counted searched trial with the best val_acc
    chosen = {}
    for r in sorted(done, key=lambda r: r["trial"]):
        g = tuple(text(r, k) for k in axes + ["seed"])
        if g not in chosen or best[int(r["trial"])] > best[int(chosen[g]["trial"])]:
            chosen[g] = r
    done = list(chosen.values())

def table(md):
    lines = [line for line in md.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return cells[0], cells[1:]

def close(shown, value):
    """shown (a number as printed) equals value within half a unit of its last digit."""
    dec = len(shown.split(".")[1]) if "." in shown else 0
    return abs(float(shown) - value) <= 0.5 * 10 ** -dec + 1e-12

def agrees(shown, values, what):
    m = re.fullmatch(r"([-+]?[\d.]+) ± ([\d.]+) \(n=(\d+)\)", shown)
    mean, se = float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values)))
    assert m and close(m.group(1), mean) and close(m.group(2), se) and int(m.group(3)) == len(values), \
        f"{what}: the report says {shown!r}, /trials gives {mean!r} ± {se!r} (n={len(values)})"

md = open(os.path.join(a.report, "index.md")).read()
header, rows = table(section(md, "Metrics by setting"))
assert header[:len(axes)] == axes and header[len(axes):len(axes) + 2] == METRICS, header
cells = sorted({tuple(float(text(r, k)) for k in axes) for r in t})
assert len(rows) == len(cells), f"{len(rows)} rows of metrics, {len(cells)} combinations of {axes} in /trials"
for row in rows:
    values = tuple(float(v) for v in row[:len(axes)])
    assert values in cells, row
    of = [r for r in done if tuple(float(text(r, k)) for k in axes) == values]
    for j, metric in enumerate(METRICS):
        agrees(row[len(axes) + j], [float(r[metric]) for r in of], f"{metric} at {dict(zip(axes, values))}")
example = f"{dict(zip(axes, rows[-1][:len(axes)]))}: test_acc {rows[-1][len(axes) + 1]}"

if "lr" in axes:  # lr 0.3 − 0.1 in test_acc, pairs equal in width and seed
    base = {(text(r, "width"), text(r, "seed")): float(r["test_acc"]) for r in done if text(r, "lr") == "0.1"}
    diffs = [float(r["test_acc"]) - base[text(r, "width"), text(r, "seed")] for r in done if text(r, "lr") == "0.3"]
    _, rows_lr = table(section(md, "lr: each value against 0.1", level=3))
    row = next(r for r in rows_lr if r[0] == "test_acc")
    agrees(row[2] + f" (n={row[3]})", diffs, "paired lr 0.3 − 0.1, test_acc")
    example += f"; paired lr 0.3 − 0.1: {row[2]} (n={row[3]})"

figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", section(md, "Curves"))
assert figures == [f"exec_curves_{k}.png" for k in axes], figures
for name in figures:
    with open(os.path.join(a.report, name), "rb") as png:
        head = png.read(8)
    assert head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(os.path.join(a.report, name)) > 1000, name
print(f"{len(rows)} rows × {len(METRICS)} metrics equal /trials ({example}); figures {', '.join(figures)}")
EOF

# the job file of a search (lr drawn) with successive halving, or of a grid: job KIND EPOCHS
job() {
    printf '[sweep]\noutput = %s.h5\n[settings]\n' "$1"
    [ "$1" = grid ] && printf 'lr = 0.1, 0.3\n'
    printf 'seed = 1, 2, 3\nwidth = 8, 16\n'
    [ "$1" = search ] && printf '[search]\nsamples = 4\nlr = log-uniform 0.01 1\n' &&
        printf '[halving]\nrungs = 2\nmetric = val-acc\nreduction = 2\n'
    printf '[exec]\ncommand = %s %s/tests/exec_prog.py --lr {lr} --epochs %s --sleep 0.01 w{width} s{seed}\n' \
        "$PYTHON" "$ROOT" "$2"
    printf 'metrics = val_loss, test_acc\n'
}
job grid 4 > grid.ini
job search 6 > search.ini
for kind in grid search; do
    "$BIN" $kind.ini 2> $kind.log || fail "the $kind sweep: $(tail -2 $kind.log)"
    check "report of the exec $kind" "$PYTHON" "$ROOT/analysis/report.py" $kind.h5 -o $kind-report
done
[ ! -e grid.h5.ckpt ] || fail "grid.h5 still has a journal: the copies below would not be what the report reads"

check "grid: 4 rows (lr × width), each cell and the paired lr difference equal /trials; 2 PNG figures" \
    "$PYTHON" check.py grid.h5 grid-report lr,width
# the program's values depend on lr alone, so every SE above is 0: a copy whose metrics differ by trial
"$PYTHON" - <<'EOF'
import shutil, h5py
shutil.copy("grid.h5", "jitter.h5")
with h5py.File("jitter.h5", "r+") as f:
    t = f["trials"][...]
    t["test_acc"] -= 0.0037 * t["trial"] ** 1.5
    t["val_loss"] += 0.00021 * t["trial"] ** 2
    f["trials"][...] = t
EOF
check "report of the copy with metrics that differ by trial" \
    "$PYTHON" "$ROOT/analysis/report.py" jitter.h5 -o jitter-report
check "the same check on it: SEs not 0" "$PYTHON" check.py jitter.h5 jitter-report lr,width
# negative control: one test_acc changed by 0.004 in the file, the report left as it was
"$PYTHON" - <<'EOF'
import shutil, h5py
shutil.copy("jitter.h5", "changed.h5")
with h5py.File("changed.h5", "r+") as f:
    t = f["trials"][...]
    t["test_acc"][7] += 0.004
    f["trials"][...] = t
EOF
if "$PYTHON" check.py changed.h5 jitter-report lr,width > changed.log 2>&1; then
    fail "a test_acc changed in the file passes the check: $(tail -1 changed.log)"
else
    pass "negative control: one test_acc changed fails the check: $(grep -o 'Assert.*' changed.log | head -c 200)"
fi

check "search: the selected sample of each width, 2 rows, equal /trials and the curves; 1 PNG figure" \
    "$PYTHON" check.py search.h5 search-report width --searched
check "search: the sections Search (its rungs) and no built-in section" "$PYTHON" -c "
from report_md import has, section
md = open('search-report/index.md').read()
rungs = [l for l in section(md, 'Search').splitlines() if l.startswith('| 1 | 2 |')]
assert len(rungs) == 1 and rungs[0].split('|')[3].strip() == '24', rungs
for title in ('Summary', 'Memory in bits', 'Final test metrics', 'Stability', 'Cost per update'):
    assert not has(md, title), title
print('rung 1 at epoch 2 reached by 24 trials; no built-in section')
"

# a failing trial: its exit status and the last line of its stderr
cat > failing.ini <<JOB
[sweep]
output = failing.h5
[settings]
mode = ok, fail
seed = 1
[exec]
command = $PYTHON $ROOT/tests/exec_prog.py --mode {mode} --epochs 2 --sleep 0.01
metrics = val_loss, test_acc
JOB
"$BIN" failing.ini 2> failing.log || true # a failed trial: the sweep's exit status says so
check "report of a job with a failed trial" "$PYTHON" "$ROOT/analysis/report.py" failing.h5 -o failing-report
check "the failed trial: exit code 3, its message and last stderr line" "$PYTHON" -c "
from report_md import section
md = section(open('failing-report/index.md').read(), 'Failed trials')
rows = [line for line in md.splitlines() if line.startswith('| 1 |')]
cells = [c.strip() for c in rows[0].strip('|').split('|')]
assert cells == ['1', 'fail', '1', '3', '0', '', 'exited with status 3', 'exec_prog: giving up'], cells
print(' | '.join(cells))
"

finish "report of exec trials"
