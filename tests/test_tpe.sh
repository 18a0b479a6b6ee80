#!/bin/bash
# [search] sampler = tpe, in generations: --list shows generation 1 (the random draws of sampler =
# random); the samples are the same on one rank and three, after SIGTERM and a resume, when grown
# by a generation, and with successive halving on one worker; later generations are drawn per group,
# within their ranges; status names the generation in progress; a later generation whose earlier
# ones were not chosen waits; failed trials are final for TPE (only --rerun runs them); a choice
# written as 1e-3; resuming a file of another sampler is refused; every bad input gets one line
# with file:line, exit 2, nothing written.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch, wait_job; ROOT, BIN, PYTHON
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
MPIRUN="timeout -k 10 300 mpirun -q --oversubscribe"
scratch
cd "$work"
py() { "$PYTHON" -c "import sys; sys.path.insert(0, '$ROOT/analysis'); import load; $1" "${@:2}"; }
SYN="$PYTHON $ROOT/tests/synthetic.py"
small=$'T = 5\ntrain-size = 64\nval-size = 32\ntest-size = 32'

# --- 1. the built-in engine: --list, ranks, values
cat > tpe.ini <<JOB
[settings]
model = lstm, gru
seed = 1, 2
$small
epochs = 3
[search]
sampler = tpe
generations = 3
per-generation = 3
metric = val-bits
lr = log-uniform 0.001 0.1
hidden = uniform-int 4 12
JOB
sed -e '/^sampler\|^generations\|^per-generation\|^metric/d' -e 's/^\[search\]$/[search]\nsamples = 3/' tpe.ini > random.ini
listed() { "$BIN" "$1" --list | awk 'NR > 2 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ {print $2, $3, $4, $5, $6}' | sort; }
"$BIN" tpe.ini --list > list.txt
[ "$(listed tpe.ini)" = "$(listed random.ini)" ] && [ "$(listed tpe.ini | wc -l)" = 12 ] \
    && grep -q "^24 trials of generations 2 to 3: 3 per generation in each group, drawn by TPE" list.txt \
    && pass "--list: generation 1 is sampler = random's 12 trials; 24 later ones drawn from results" \
    || fail "--list: $(head -5 list.txt; tail -2 list.txt)"
"$BIN" tpe.ini -o one.h5 2> one.log || fail "tpe on one rank: $(tail -2 one.log)"
$MPIRUN -n 3 "$BIN" tpe.ini -o three.h5 2> three.log || fail "tpe on three ranks: $(tail -2 three.log)"
check "TPE's samples and results on one rank = on three ranks" "$PYTHON" "$ROOT/tests/compare_results.py" one.h5 three.h5 --same-order
grep -q "TPE drew generation 3 of trial" one.log && pass "the sweep says when it draws a generation" \
    || fail "no draw line: $(grep -c TPE one.log)"
ok=$(py "t = load.trials(sys.argv[1])
g = t['sample'] // 3
late = t[g > 0]
groups = late.groupby(['model', 'seed'])['lr'].apply(tuple)
print((t['status'] == 'done').all(), t['lr'].between(1e-3, 0.1).all(), t['hidden'].between(4, 12).all(),
      (t['hidden'] == t['hidden'].round()).all(), groups.nunique() == len(groups), len(t) == 36)" one.h5)
[ "$ok" = "True True True True True True" ] \
    && pass "36 trials done; lr and hidden within their ranges; each (model, seed) drew its own later generations" \
    || fail "values: $ok"

# --- 2. a program's objective (minimized): SIGTERM and resume, status, growth by a generation
cat > syn.ini <<JOB
[exec]
command = $SYN --x {x} --y {y} --sleep 0.3
metrics = loss
[settings]
seed = 1, 2
[search]
sampler = tpe
generations = 3
per-generation = 3
metric = loss
direction = minimize
x = uniform -5 10
y = uniform 0 15
JOB
"$BIN" syn.ini -o ref.h5 2> ref.log || fail "uninterrupted: $(tail -2 ref.log)"
$MPIRUN -n 3 "$BIN" syn.ini -o cut.h5 2> cut.log &
job=$!
for _ in $(seq 200); do "$BIN" status cut.h5 > status.txt 2>&1; grep -q "generation 2 of 3 in progress" status.txt && break; sleep 0.1; done
pkill -TERM -P "$(pgrep -P $job -x mpirun)" -x copysweep # to the ranks, as Slurm does
wait_job $job
grep -q "^TPE: generation 2 of 3 in progress; 1: 6/6 final, 2: [0-5]/6 final, 3: 0/6 final" status.txt \
    && pass "status: generation 2 of 3 in progress, with each generation's final trials" || fail "status: $(cat status.txt)"
left=$(py "t = load.trials(sys.argv[1]); print((t['status'] != 'done').sum())" cut.h5)
[ "${left:-0}" -gt 0 ] && pass "SIGTERM in generation 2 left $left trials to run" || fail "nothing left to resume: $(tail -3 cut.log)"
blank=$(py "t = load.trials(sys.argv[1]); p = t[(t['status'] == 'pending') & (t['sample'] >= 6)]
print(len(p) > 0 and (p['x'] == '').all())" cut.h5)
[ "$blank" = True ] && pass "a trial of a generation not drawn yet holds blank values, not its placeholder" \
    || fail "pending rows of generation 3: $blank"
$MPIRUN -n 3 "$BIN" syn.ini -o cut.h5 2> cut2.log || fail "resume: $(tail -2 cut2.log)"
check "stopped in generation 2 and resumed on three ranks: the uninterrupted run's samples and results" \
    "$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 cut.h5
sed 's/^generations = 3/generations = 2/' syn.ini > syn2.ini
"$BIN" syn2.ini -o grown.h5 2> grown.log && "$BIN" syn.ini -o grown.h5 2>> grown.log || fail "grown: $(tail -2 grown.log)"
check "two generations grown to three: the samples of a sweep run with three" \
    "$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 grown.h5
better=$(py "t = load.trials(sys.argv[1]); g = t['sample'] // 3
print(t[g == 2]['loss'].median() < t[g == 0]['loss'].median())" ref.h5)
[ "$better" = True ] && pass "on the Branin function generation 3's median loss is below generation 1's" \
    || fail "TPE did not move toward the minimum: $better"

# --- 3. with successive halving: a pruned trial counts as its last rung's value; one worker = serial
cat > halve.ini <<JOB
[settings]
model = gru
seed = 1
$small
epochs = 4
[search]
sampler = tpe
generations = 3
per-generation = 4
metric = val-bits
lr = log-uniform 0.001 0.1
[halving]
rungs = 1
reduction = 2
JOB
"$BIN" halve.ini -o h1.h5 2> h1.log || fail "halving, serial: $(tail -2 h1.log)"
$MPIRUN -n 2 "$BIN" halve.ini -o h2.h5 2> h2.log || fail "halving, one worker: $(tail -2 h2.log)"
check "TPE with halving: one worker under mpirun = serial" "$PYTHON" "$ROOT/tests/compare_results.py" h1.h5 h2.h5 --same-order
pruned=$(py "t = load.trials(sys.argv[1]); print(((t['status'] == 'pruned') & (t['sample'] < 8)).sum())" h1.h5)
[ "${pruned:-0}" -gt 0 ] && grep -q "TPE drew generation 3" h1.log \
    && pass "$pruned trials of generations 1-2 pruned, and generation 3 drawn after them" || fail "pruned: $pruned"

# a result column as the objective (test-acc): read back from the file when the search grows
sed 's/^metric = val-bits/metric = test-acc/' halve.ini > col.ini
sed 's/^generations = 3/generations = 2/' col.ini > col2.ini
"$BIN" col.ini -o col.h5 2> col.log && "$BIN" col2.ini -o colg.h5 2> colg.log && "$BIN" col.ini -o colg.h5 2>> colg.log \
    && check "metric = test-acc: 2 generations grown to 3 = 3 at once" "$PYTHON" "$ROOT/tests/compare_results.py" col.h5 colg.h5 \
    || fail "test-acc: $(tail -2 col.log colg.log)"

# --- 4. a later generation whose earlier ones are not chosen waits
"$BIN" syn.ini -o only.h5 --trial 7 2> only.log
rc=$?
[ $rc = 3 ] && grep -q "1 trial of later generations wait for trials of earlier ones that this run did not choose" only.log \
    && pass "--trial of generation 3 alone: it waits (exit 3, one line)" || fail "--trial 7: exit $rc: $(tail -2 only.log)"

# --- 5. failed trials: final for TPE (the next run does not run them again unasked), --rerun runs them;
# a choice of numbers written unusually; resuming with another sampler is refused
sed -e 's/--sleep 0.3/--fail-above 5/' syn.ini > fails.ini
"$BIN" fails.ini -o fails.h5 2> fails.log
rc=$?
nfail=$(py "t = load.trials(sys.argv[1]); print((t['status'] == 'failed').sum())" fails.h5)
cp fails.h5 fails-before.h5
"$BIN" fails.ini -o fails.h5 2> fails2.log
rc2=$?
[ $rc = 4 ] && [ $rc2 = 4 ] && [ "${nfail:-0}" -gt 0 ] && grep -q "18 trials, 0 to run" fails2.log \
    && "$PYTHON" "$ROOT/tests/compare_results.py" fails-before.h5 fails.h5 > /dev/null \
    && pass "$nfail failed trials are final under TPE: the same command again runs none of them (exit 4 both times)" \
    || fail "failed trials: exit $rc then $rc2, $nfail failed; $(grep "to run" fails2.log)"
"$BIN" fails.ini -o fails.h5 --rerun status=failed 2> fails3.log
grep -q "18 trials, $nfail to run" fails3.log && pass "--rerun status=failed runs the $nfail again" \
    || fail "--rerun status=failed: $(grep "to run" fails3.log)"
cat > choice.ini <<JOB
[settings]
model = gru
$small
epochs = 2
[search]
sampler = tpe
generations = 2
per-generation = 3
metric = val-acc
lr = choice 1e-3, 3e-3, 0.010
JOB
"$BIN" choice.ini -o choice.h5 2> choice.log && grep -q "TPE drew generation 2" choice.log \
    && [ "$(py "print(len(load.trials(sys.argv[1])))" choice.h5)" = 6 ] \
    && pass "choice 1e-3, 3e-3, 0.010 (read as 0.001, 0.003, 0.01): 6 trials, each sample its own, generation 2 drawn" \
    || fail "choice: $(tail -2 choice.log)"
sed 's/^per-generation = 3/per-generation = 2/; s/^generations = 3/generations = 4/' syn.ini > other.ini
sed 's/^sampler = tpe/samples = 9/; /^generations\|^per-generation\|^metric =\|^direction/d' syn.ini > rand.ini
cp ref.h5 ref-before.h5
for job in other rand; do
    out=$("$BIN" $job.ini -o ref.h5 2>&1)
    rc=$?
    [ $rc = 2 ] && grep -qF "[search] sampler is 'tpe, per-generation 3, metric loss, minimize'" <<<"$out" \
        && cmp -s ref.h5 ref-before.h5 && pass "$job.ini on a TPE file refused: $out" || fail "$job.ini: exit $rc: $out"
done

# --- 6. bad input: one line with file:line, exit 2, nothing written
bad() { # NAME EXPECTED-TEXT SEARCH-LINES...
    local name=$1 want=$2 out rc
    shift 2
    printf '[settings]\nmodel = gru\n%s\n[search]\n' "$small" > bad.ini
    printf '%s\n' "$@" >> bad.ini
    out=$("$BIN" bad.ini -o bad.h5 2>&1)
    rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -qF -- "$want" <<<"$out" && [ ! -e bad.h5 ]; then
        pass "$name: $out"
    else
        fail "$name: exit $rc: $out"
    fi
}
L=lr\ =\ log-uniform\ 0.001\ 0.1
bad "tpe without metric" "bad.ini:8: sampler = tpe needs metric = NAME" "sampler = tpe" "generations = 2" "per-generation = 2" "$L"
bad "generations < 1" "bad.ini:9: key 'generations': '0' is not allowed" "sampler = tpe" "generations = 0"
bad "unknown metric" "bad.ini:11: key 'metric': 'val-bitz' is not a metric (expected val-bits, val-acc or val-loss, or a result column: test-bits, test-acc, test-loss or best-val-acc)" \
    "sampler = tpe" "generations = 2" "per-generation = 2" "metric = val-bitz" "$L"
bad "samples with tpe" "bad.ini:8: key 'samples' with sampler = tpe (line 9)" "samples = 4" "sampler = tpe" \
    "generations = 2" "per-generation = 2" "metric = val-bits" "$L"
bad "generations without tpe" "bad.ini:9: key 'generations' needs sampler = tpe" "samples = 4" "generations = 2" "$L"
bad "metric without tpe" "bad.ini:9: key 'metric' needs sampler = tpe" "samples = 4" "metric = val-bits" "$L"
bad "an unknown sampler" "bad.ini:8: key 'sampler': 'bayes' is not allowed (expected random or tpe)" "sampler = bayes"
bad "direction misspelt" "bad.ini:12: key 'direction': 'max' is not allowed" "sampler = tpe" "generations = 2" \
    "per-generation = 2" "metric = val-bits" "direction = max"
out=$(sed 's/^metric = loss/metric = los/' syn.ini > b2.ini; "$BIN" b2.ini -o bad.h5 2>&1)
rc=$?
[ $rc = 2 ] && grep -qF "b2.ini:10: key 'metric': 'los' is not a metric (expected val-bits, val-acc or val-loss; or one of [exec] metrics: loss)" <<<"$out" \
    && pass "an [exec] metric misspelt: $out" || fail "exec metric: exit $rc: $out"
out=$(sed '/^direction/d' syn.ini > b3.ini; "$BIN" b3.ini -o bad.h5 2>&1)
rc=$?
[ $rc = 2 ] && grep -qF "b3.ini:10: key 'metric': 'loss' needs direction = maximize or minimize" <<<"$out" \
    && pass "an [exec] metric without direction: $out" || fail "direction: exit $rc: $out"
out=$("$BIN" syn.ini -o bad.h5 --shard 1/2 2>&1)
rc=$?
[ $rc = 2 ] && grep -qF "option '--shard': syn.ini:6 has sampler = tpe" <<<"$out" && [ ! -e bad.h5 ] \
    && pass "--shard of a TPE job refused: $out" || fail "--shard: exit $rc: $out"
finish test_tpe
