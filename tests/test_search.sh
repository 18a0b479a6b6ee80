#!/bin/bash
# Beyond the grid: zipped axes with a [when] section give the trials of the equivalent union of
# grids; [search] samples are the same in --list, on one rank and three, after a kill and when the
# search grows; successive halving makes exactly the decisions simulated from the full curves (one
# worker, serial or under mpirun), also when the sweep is run in parts or killed and resumed; under
# three ranks every pruned trial stopped at a rung; every bad input of zip, [when], [search] and
# [halving] gets one line naming file:line, exit status 2 and nothing written.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
MPIRUN="timeout -k 10 300 mpirun -q --oversubscribe"
scratch
cd "$work"
py() { "$PYTHON" -c "import sys; sys.path.insert(0, '$ROOT/analysis'); import load; $1" "${@:2}"; }
small=$'T = 5\nhidden = 8\ntrain-size = 64\nval-size = 32\ntest-size = 32\nepochs = 2'

# --- 1. zip and [when] = the union of two grids
printf '[settings]\nmodel = lstm, gru\noptimizer = adam, sgd\nlr = 0.002, 0.5\nzip = optimizer, lr\n%s\n[when optimizer = sgd]\nmomentum = 0.5\n' \
    "$small" > zip.ini
printf '[settings]\nmodel = lstm, gru\n%s\n[grid adam]\noptimizer = adam\nlr = 0.002\n[grid sgd]\noptimizer = sgd\nlr = 0.5\nmomentum = 0.5\n' \
    "$small" > grids.ini
"$BIN" zip.ini --list | grep -q "4 trials = model 2 × optimizer+lr 2" && pass "zip: optimizer and lr are one dimension of 2" \
    || fail "zip --list: $("$BIN" zip.ini --list 2>&1 | head -3)"
"$BIN" zip.ini -o zip.h5 2> zip.log && "$BIN" grids.ini -o grids.h5 2> grids.log \
    && check "zipped axes and [when optimizer = sgd] give the trials of two grids (matched by settings)" \
        "$PYTHON" "$ROOT/tests/compare_results.py" zip.h5 grids.h5 || fail "zip run: $(tail -2 zip.log grids.log)"
combos=$(py "t = load.trials(sys.argv[1]); print(sorted(set(zip(t['optimizer'], t['lr'], t['momentum']))))" zip.h5)
[ "$combos" = "[('adam', 0.002, 0.9), ('sgd', 0.5, 0.5)]" ] && pass "zip.h5 holds the pairs (adam, 0.002) and (sgd, 0.5, momentum 0.5)" \
    || fail "zip.h5 settings: $combos"

# --- 2. samples: keyed by the job, the same everywhere
cat > search.ini <<JOB
[settings]
model = lstm, gru
seed = 1, 2
$small
[search]
samples = 5
lr = log-uniform 0.0001 0.01
dropout = uniform 0 0.5
vocab = choice 4, 6, 8
JOB
listed() { "$BIN" "$1" --list | awk 'NR > 2 && $1 ~ /^[0-9]+$/ {print $1, $3, $5, $6, $7}'; }
listed search.ini > list1.txt
[ "$(listed search.ini)" = "$(cat list1.txt)" ] && [ "$(wc -l < list1.txt)" = 20 ] \
    && pass "--list shows the same 20 sampled trials twice" || fail "--list samples: $(head -3 list1.txt)"
from_file() { py "t = load.trials(sys.argv[1]).sort_values('trial')
for _, r in t.iterrows(): print(r['trial'], r['model'], r['seed'], repr(r['lr']), repr(r['dropout']), r['vocab'], r['sample'])" "$1"; }
"$BIN" search.ini -o one.h5 2> one.log || fail "search on one rank: $(tail -2 one.log)"
$MPIRUN -n 3 "$BIN" search.ini -o three.h5 2> three.log || fail "search on three ranks: $(tail -2 three.log)"
[ "$(from_file one.h5)" = "$(from_file three.h5)" ] && check "samples on one rank = on three ranks (the whole file)" \
    "$PYTHON" "$ROOT/tests/compare_results.py" one.h5 three.h5 --same-order || fail "samples differ between rank counts"
ok=$(py "t = load.trials(sys.argv[1]); import re
rows = [l.split() for l in open(sys.argv[2])]
print(all(abs(float(r[2]) - l) <= 1e-12 * l for r, l in zip(rows, t.sort_values('trial')['lr']))
      and t['lr'].between(1e-4, 1e-2).all() and t['dropout'].between(0, 0.5).all() and set(t['vocab']) <= {4, 6, 8}
      and sorted(set(t['sample'])) == [0, 1, 2, 3, 4] and t.groupby('sample')['lr'].nunique().eq(1).all())" one.h5 list1.txt)
[ "$ok" = True ] && pass "the file's lr are the listed ones, within their ranges, one value per sample across models and seeds" \
    || fail "sampled values: $ok"
sed 's/^samples = 5/samples = 8/' search.ini > grown.ini
first5=$("$BIN" grown.ini --list | awk 'NR > 2 && $2 < 5 && $1 ~ /^[0-9]+$/ {print $2, $5, $6, $7}' | sort -u)
orig=$("$BIN" search.ini --list | awk 'NR > 2 && $1 ~ /^[0-9]+$/ {print $2, $5, $6, $7}' | sort -u)
[ "$first5" = "$orig" ] && pass "8 samples begin with the 5 samples of the smaller search" || fail "grown samples: $first5 vs $orig"
cp one.h5 grow.h5
"$BIN" grown.ini -o grow.h5 2> grow.log && grep -q "12 to run" grow.log && pass "the grown search runs only its 12 new trials" \
    || fail "grown search: $(head -2 grow.log)"

# --- 3. successive halving: the decisions simulated from the full curves
cat > full.ini <<JOB
[settings]
model = lstm, gru
seed = 1, 2
T = 5
hidden = 8
train-size = 256
val-size = 32
test-size = 32
epochs = 6
[search]
samples = 6
lr = log-uniform 0.0003 0.03
JOB
{ cat full.ini; printf '[halving]\nrungs = 2, 4\nreduction = 2\n'; } > halved.ini
"$BIN" full.ini -o full.h5 2> full.log || fail "full: $(tail -2 full.log)"
known() { "$PYTHON" "$ROOT/tests/check_halving.py" full.h5 "$1" --rungs 2,4 --reduction 2 --metric val_bits --searched lr; }
"$BIN" halved.ini -o serial.h5 2> serial.log && check "halving, one rank: the known decisions" known serial.h5 \
    || fail "halved serial: $(tail -2 serial.log)"
grep -q "successive halving in this run: rung 1 (epoch 2): .* pruned; rung 2 (epoch 4)" serial.log \
    && pass "the sweep's summary counts the decisions at each rung" || fail "no rung summary: $(tail -3 serial.log)"
$MPIRUN -n 2 "$BIN" halved.ini -o worker.h5 2> worker.log && check "halving, one worker under mpirun: the known decisions" known worker.h5 \
    || fail "halved, one worker: $(tail -2 worker.log)"
# in parts: whole groups first, then the first two trials of another group, then the rest; each run
# rebuilds the rungs from the file
"$BIN" halved.ini -o parts.h5 --only seed=1 2> parts1.log && "$BIN" halved.ini -o parts.h5 --trial 6 2> parts2.log \
    && "$BIN" halved.ini -o parts.h5 --trial 7 2> parts3.log && "$BIN" halved.ini -o parts.h5 2> parts4.log \
    && check "halving run in four parts = in one run" "$PYTHON" "$ROOT/tests/compare_results.py" serial.h5 parts.h5 --same-order \
    || fail "parts: $(tail -2 parts*.log)"
# SIGKILL after every third finished trial (synchronized on the progress lines), with compactions back to back
kills=0
for round in $(seq 30); do
    : > "k$round.log" # before the background job opens it, so that the loop below never reads a missing file
    COPYSWEEP_COMPACT_S=0 "$BIN" halved.ini -o killed.h5 2> "k$round.log" &
    pid=$!
    while kill -0 $pid 2>/dev/null && [ "$(grep -c ' in [0-9.]* s on rank' "k$round.log")" -lt 3 ]; do sleep 0.01; done
    kill -KILL $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null && break
done
[ $kills -ge 3 ] && check "halving killed $kills times and resumed: equal to the uninterrupted run" \
    "$PYTHON" "$ROOT/tests/compare_results.py" serial.h5 killed.h5 --same-order || fail "kills: $kills; $(tail -2 k*.log | tail -4)"
$MPIRUN -n 3 "$BIN" halved.ini -o three-h.h5 2> three-h.log || fail "halved, 3 ranks: $(tail -2 three-h.log)"
inv=$(py "t = load.trials(sys.argv[1]); p = t[t['status'] == 'pruned']
g = t.groupby(['model', 'seed'])['status'].apply(lambda s: (s == 'done').any())
print(len(p) > 0 and p['epochs'].isin([2, 4]).all() and set(t['status']) <= {'done', 'pruned'} and g.all())" three-h.h5)
[ "$inv" = True ] && pass "three ranks: every pruned trial stopped at a rung, every group has a trial at its full budget" \
    || fail "three ranks: $inv"

# the report: the rungs as the file has them, each group at its selected sample
if "$PYTHON" "$ROOT/analysis/report.py" serial.h5 -o rep > rep.log 2>&1; then
    ok=$(py "t = load.trials(sys.argv[1]); md = open(sys.argv[2]).read()
rows = ['| %d | %d | %d | %d | %d |' % (r + 1, e, (t['epochs'] >= e).sum(), ((t['status'] == 'pruned') & (t['epochs'] == e)).sum(),
        (t['epochs'] >= e).sum() - ((t['status'] == 'pruned') & (t['epochs'] == e)).sum()) for r, e in enumerate([2, 4])]
print(all(r in md for r in rows) and '### The selected sample of each group' in md and '## 2. Search' in md)" serial.h5 rep/index.md)
    [ "$ok" = True ] && pass "report: section Search with the rungs as the file has them and each group's selected sample"         || fail "report of serial.h5: $(grep -A6 'Search' rep/index.md | head -12)"
else
    fail "report of serial.h5: $(tail -3 rep.log)"
fi

# --- 4. bad input: one line naming file:line; exit 2; nothing written
expect_user_error() { # NAME PATTERN JOBTEXT
    printf '%s\n' "$3" > bad.ini
    local before err rc
    before=$(ls | sort)
    err=$("$BIN" bad.ini -o bad.h5 2>&1 >/dev/null)
    rc=$?
    if [ $rc != 2 ]; then fail "$1: exit $rc, expected 2 ($err)"
    elif [ "$(wc -l <<<"$err")" != 1 ]; then fail "$1: expected one line, got: $err"
    elif ! grep -qE -- "$2" <<<"$err"; then fail "$1: '$err' does not match /$2/"
    elif [ "$before" != "$(ls | sort)" ]; then fail "$1: files changed"
    else pass "$1: $err"; fi
}
expect_user_error "zipped axes of different lengths" \
    "^copysweep: bad.ini:4: key 'zip': zipped axes 'model' \(2 values, line 2\) and 'T' \(3 values, line 3\) differ in length" \
    $'[settings]\nmodel = lstm, gru\nT = 5, 6, 7\nzip = model, T'
expect_user_error "overlapping zips of different lengths" \
    "^copysweep: bad.ini:6: key 'zip': zipped axes 'model' \(2 values, line 2\) and 'seed' \(3 values, line 4\)" \
    $'[settings]\nmodel = lstm, gru\nT = 5, 6\nseed = 1, 2, 3\nzip = model, T\nzip = T, seed'
expect_user_error "zip of a single value" "^copysweep: bad.ini:4: key 'zip': 'T' is not an axis" \
    $'[settings]\nmodel = lstm, gru\nT = 5\nzip = model, T'
expect_user_error "zip of an unknown setting" "^copysweep: bad.ini:3: key 'zip': unknown setting 'modle'" \
    $'[settings]\nmodel = lstm, gru\nzip = modle, T'
expect_user_error "a condition on a setting that is not an axis" \
    "^copysweep: bad.ini:4: \[when optimizer = sgd\]: 'optimizer' is not an axis of this job" \
    $'[settings]\nmodel = lstm, gru\noptimizer = adam\n[when optimizer = sgd]\nlr = 1'
expect_user_error "a condition on an unknown setting" "^copysweep: bad.ini:3: \[when optimiser = ...\]: unknown setting 'optimiser'" \
    $'[settings]\nmodel = lstm, gru\n[when optimiser = sgd]\nlr = 1'
expect_user_error "a condition that matches no trial" "^copysweep: bad.ini:3: \[when model = mlstm\] applies to no trial" \
    $'[settings]\nmodel = lstm, gru\n[when model = mlstm]\nlr = 0.01'
expect_user_error "a [when] that sets an axis" "^copysweep: bad.ini:5: key 'seed': \[when model = gru\] sets a setting that is an axis" \
    $'[settings]\nmodel = lstm, gru\nseed = 1, 2\n[when model = gru]\nseed = 3'
expect_user_error "a list in a [when]" "^copysweep: bad.ini:4: key 'lr': a list in a \[when\] section" \
    $'[settings]\nmodel = lstm, gru\n[when model = gru]\nlr = 0.1, 0.2'
expect_user_error "an empty range" "^copysweep: bad.ini:4: key 'lr': empty or inverted range 0.01 .. 0.01" \
    $'[settings]\n[search]\nsamples = 4\nlr = uniform 0.01 0.01'
expect_user_error "an inverted range" "^copysweep: bad.ini:4: key 'lr': empty or inverted range 0.1 .. 0.01" \
    $'[settings]\n[search]\nsamples = 4\nlr = log-uniform 0.1 0.01'
expect_user_error "a log-uniform range from 0" "^copysweep: bad.ini:4: key 'dropout': log-uniform range from 0 \(expected A > 0" \
    $'[settings]\n[search]\nsamples = 4\ndropout = log-uniform 0 0.5'
expect_user_error "a range outside the setting's" "^copysweep: bad.ini:4: key 'dropout': '2' is out of range" \
    $'[settings]\n[search]\nsamples = 4\ndropout = uniform 0 2'
expect_user_error "an unknown distribution" "^copysweep: bad.ini:4: key 'lr': unknown distribution 'normal'" \
    $'[settings]\n[search]\nsamples = 4\nlr = normal 0.01 0.1'
expect_user_error "a search without samples" "^copysweep: bad.ini:2: \[search\] needs samples = N" \
    $'[settings]\n[search]\nlr = uniform 0.01 0.1'
expect_user_error "a searched setting also in [settings]" "^copysweep: bad.ini:2: key 'lr' is searched in \[search\] \(line 5\)" \
    $'[settings]\nlr = 0.01\n[search]\nsamples = 4\nlr = uniform 0.01 0.1'
expect_user_error "halving without a search" "^copysweep: bad.ini:2: \[halving\] needs a \[search\] section" \
    $'[settings]\n[halving]\nrungs = 2'
expect_user_error "rungs that do not increase" "^copysweep: bad.ini:6: key 'rungs': 2 after 4 \(expected increasing epochs\)" \
    $'[settings]\n[search]\nsamples = 4\nlr = uniform 0.01 0.1\n[halving]\nrungs = 4, 2'
expect_user_error "a rung at the last epoch" "^copysweep: bad.ini:7: key 'rungs': rung 3 is not below the 3 epochs of trial 0" \
    $'[settings]\nepochs = 3\n[search]\nsamples = 4\nlr = uniform 0.01 0.1\n[halving]\nrungs = 1, 3'
expect_user_error "a reduction of 1" "^copysweep: bad.ini:7: key 'reduction': '1' is not allowed \(expected a number > 1" \
    $'[settings]\n[search]\nsamples = 4\nlr = uniform 0.01 0.1\n[halving]\nrungs = 1\nreduction = 1'
printf '[settings]\nT = 5\n%s\n' "$small" | grep -v "^T = 5$" > plain.ini; printf 'T = 5\n' >> plain.ini
"$BIN" plain.ini -o plain.h5 2>/dev/null
sum=$(md5sum < plain.h5)
err=$("$BIN" search.ini -o plain.h5 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -q "holds the trials of a job without \[search\]" <<<"$err" && [ "$sum" = "$(md5sum < plain.h5)" ] \
    && pass "a search into a file of a job without one is refused, the file as it was: $err" || fail "search into plain.h5: $rc $err"
finish "search, zip, [when], successive halving"
