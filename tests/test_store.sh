#!/bin/bash
# The results store: SIGKILL of the master at random moments while it records and compacts (and of
# a compaction alone) loses and repeats nothing, and the result equals an uninterrupted run; a torn
# journal tail is cut off, a damaged journal is refused; a grid grown by an axis value keeps its
# finished trials and equals the grown grid run from scratch, a changed shared setting is refused;
# merge combines two jobs into the file of one, refuses overlaps that disagree and other versions,
# and leaves its inputs as they were; status reads a file while a sweep writes it. SEED (default:
# the time) fixes the kill moments and is printed.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
MPIRUN="timeout -k 10 300 mpirun -q --oversubscribe"
SEED=${SEED:-$(date +%s)}
RANDOM=$SEED
scratch
cd "$work"
md5() { cat "$@" | md5sum; }
count() { # FILE STATUS...: trials of FILE (its journal applied) with one of these statuses
    [ -e "$1" ] || { echo 0; return; }
    "$PYTHON" -c "import sys; sys.path.insert(0, '$ROOT/analysis'); import load
print(load.trials(sys.argv[1])['status'].isin(sys.argv[2:]).sum())" "$@"
}
rank0() { # MPIRUN_PID: its rank 0 (nothing if it is gone)
    for p in $(pgrep -P "$1" -x copysweep); do
        tr '\0' '\n' 2>/dev/null < /proc/$p/environ | grep -qx "OMPI_COMM_WORLD_RANK=0" && echo $p
    done
}

# --- 1. SIGKILL of the master at random moments, with compactions back to back (COPYSWEEP_COMPACT_S=0)
cat > many.ini <<'JOB'
[settings]
model = lstm, gru
T = 4, 6
seed = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
hidden = 64
vocab = 4
epochs = 2
train-size = 4800
val-size = 16
test-size = 16
batch = 16
JOB
start=$(date +%s%N)
$MPIRUN -n 3 "$BIN" many.ini -o ref.h5 2> ref.log || fail "uninterrupted run: $(tail -2 ref.log)"
ref_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "  reference: 40 trials in $ref_ms ms; seed $SEED"
kills=0 lost=0 had="" midway=0
for round in $(seq 12); do
    COPYSWEEP_COMPACT_S=0 $MPIRUN -n 3 -x COPYSWEEP_COMPACT_S "$BIN" many.ini -o killed.h5 2> "kill$round.log" &
    pid=$!
    for _ in $(seq 100); do mp=$(pgrep -P $pid -x mpirun) && break; sleep 0.02; done
    # at most a quarter of the reference run after the start-up it repeats: 3 kills at least
    delay_ms=$((300 + RANDOM % (ref_ms / 4)))
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    master=$(rank0 "$mp")
    [ -n "$master" ] && kill -KILL "$master" 2>/dev/null
    wait_job $pid
    rc=$?
    # the run started from exactly what the last kill left recorded: nothing lost, nothing repeated
    starts=$(grep -o '([0-9]* already finished' "kill$round.log" | grep -o '[0-9]*')
    if [ -n "$had" ] && [ -n "$starts" ] && [ "$starts" != "$had" ]; then
        lost=$((lost + 1))
        fail "round $round: the last kill left $had trials recorded; this run found $starts"
    fi
    [ $rc = 0 ] && break
    kills=$((kills + 1))
    had=$(count killed.h5 done diverged)
    [ "$had" -gt 0 ] && [ "$had" -lt 40 ] && midway=$((midway + 1))
    echo "  kill $kills after $delay_ms ms: $had of 40 trials recorded"
done
$MPIRUN -n 3 "$BIN" many.ini -o killed.h5 2> final.log || fail "the last resume: $(tail -2 final.log)"
[ $kills -ge 3 ] && [ $midway -ge 2 ] && [ $lost = 0 ] \
    && pass "SIGKILL of the master $kills times ($midway with part of the trials recorded) while it recorded and compacted: every resume started from what was recorded" \
    || fail "kills: $kills hit a running sweep, $midway with part of the trials recorded, $lost lost"
check "after the kills: the file equals the uninterrupted run's" "$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 killed.h5 --same-order
[ ! -e killed.h5.ckpt ] && pass "no journal or checkpoint left after the last run" || fail "killed.h5.ckpt left: $(ls killed.h5.ckpt)"

# --- 2. a compaction killed on its own: the sweep goes on and the file is complete
COPYSWEEP_COMPACT_S=0 $MPIRUN -n 3 -x COPYSWEEP_COMPACT_S "$BIN" many.ini -o child.h5 2> child.log &
pid=$!
for _ in $(seq 100); do mp=$(pgrep -P $pid -x mpirun) && break; sleep 0.02; done
children=0 master=""
for _ in $(seq 100); do master=$(rank0 "$mp"); [ -n "$master" ] && break; sleep 0.02; done
while [ -n "$master" ] && kill -0 "$master" 2>/dev/null; do
    for c in $(pgrep -P "$master" -x copysweep); do kill -KILL "$c" 2>/dev/null && children=$((children + 1)); done
    sleep 0.01
done
wait_job $pid
rc=$?
[ $rc = 0 ] && [ $children -ge 1 ] && check "$children compactions killed: the sweep finishes, equal to the uninterrupted run" \
    "$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 child.h5 --same-order || fail "compactions killed: exit $rc, $children killed"

# --- 3. a torn last record is cut off; a damaged record is refused and nothing changes
mid=$ROOT/tests/jobs/mid.ini
$MPIRUN -n 3 "$BIN" "$mid" -o midref.h5 2> midref.log || fail "mid.ini: $(tail -2 midref.log)"
journal_of() { # NAME: a sweep of mid.ini killed after its third trial, its journal kept (trial 1
    # waits for a signal, COPYSWEEP_FAULT=hold:1, so that the sweep cannot finish before the kill)
    COPYSWEEP_FAULT=hold:1 $MPIRUN -n 3 "$BIN" "$mid" -o "$1" 2> "$1.log" &
    local pid=$! mp
    for _ in $(seq 100); do mp=$(pgrep -P $pid -x mpirun) && break; sleep 0.02; done
    for _ in $(seq 600); do [ "$(grep -c ') done in' "$1.log")" -ge 3 ] && break; sleep 0.02; done
    kill -KILL $(rank0 "$mp") 2>/dev/null
    wait_job $pid
}
journal_of torn.h5
size=$(stat -c %s torn.h5.ckpt/journal)
truncate -s $((size - 7)) torn.h5.ckpt/journal
$MPIRUN -n 3 "$BIN" "$mid" -o torn.h5 2> torn.resume.log && check "a journal whose last record was cut short: resumed, equal to the uninterrupted run" \
    "$PYTHON" "$ROOT/tests/compare_results.py" midref.h5 torn.h5 || fail "torn journal: $(tail -2 torn.resume.log)"
journal_of damaged.h5
# a byte in the middle of the first finished trial's record
printf '\xff' | dd of=damaged.h5.ckpt/journal bs=1 seek=$(( $(stat -c %s damaged.h5.ckpt/journal) / 3 )) conv=notrunc 2>/dev/null
before=$(md5 damaged.h5 damaged.h5.ckpt/journal)
err=$($MPIRUN -n 3 "$BIN" "$mid" -o damaged.h5 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "damaged.h5.ckpt/journal' is damaged" <<<"$err" && [ "$before" = "$(md5 damaged.h5 damaged.h5.ckpt/journal)" ] \
    && pass "a damaged journal is refused, nothing changed: $err" || fail "damaged journal: exit $rc: $err"
err=$("$BIN" status damaged.h5 2>&1); rc=$?
[ $rc = 2 ] && grep -q "is damaged" <<<"$err" && pass "status of a damaged journal: exit 2: $err" || fail "status, damaged journal: exit $rc: $err"
# a journal left without its results file
journal_of orphan.h5
rm orphan.h5
err=$($MPIRUN -n 3 "$BIN" "$mid" -o orphan.h5 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && [ ! -e orphan.h5 ] && grep -q "holds records of a results file that is not at 'orphan.h5'" <<<"$err" \
    && pass "a journal without its results file is refused: $err" || fail "orphan journal: exit $rc: $err"

# --- 4. growing a grid: new seeds and lengths keep the finished trials
smoke=$ROOT/jobs/smoke.ini
sed 's/^seed = 1, 2/seed = 1/; s/^T = 5, 8/T = 5/' "$smoke" > small.ini
$MPIRUN -n 3 "$BIN" small.ini -o grown.h5 2> small.log || fail "small grid: $(tail -2 small.log)"
$MPIRUN -n 3 "$BIN" "$smoke" -o grown.h5 2> grown.log || fail "grown grid: $(tail -2 grown.log)"
$MPIRUN -n 3 "$BIN" "$smoke" -o scratch.h5 2> scratch.log || fail "grid from scratch: $(tail -2 scratch.log)"
grep -q "grown.h5 holds 4 of this job's 16 trials" grown.log && grep -q "16 trials, 12 to run (4 already finished" grown.log \
    && pass "a grown grid runs only its 12 new trials" || fail "growing: $(head -3 grown.log)"
check "the grown file equals the grown grid run from scratch, in grid order" \
    "$PYTHON" "$ROOT/tests/compare_results.py" scratch.h5 grown.h5 --same-order
sed 's/^hidden = 16/hidden = 8/' "$smoke" > changed.ini
before=$(md5 grown.h5)
err=$($MPIRUN -n 3 "$BIN" changed.ini -o grown.h5 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -q "holds trials with hidden = 16, which this job does not have (it has hidden = 8)" <<<"$err" && [ "$before" = "$(md5 grown.h5)" ] \
    && pass "a changed shared setting is refused, the file as it was: $err" || fail "changed setting: exit $rc: $err"

# --- 5. merge
sed 's/^seed = 1, 2/seed = 1/' "$smoke" > s1.ini
sed 's/^seed = 1, 2/seed = 2/' "$smoke" > s2.ini
$MPIRUN -n 3 "$BIN" s1.ini -o a.h5 2> a.log && $MPIRUN -n 3 "$BIN" s2.ini -o b.h5 2> b.log || fail "the halves: $(tail -2 a.log b.log)"
before=$(md5 a.h5 b.h5)
"$BIN" merge a.h5 b.h5 -o c.h5 2> merge.log && check "merge of seed 1 and seed 2: equal to the whole grid" \
    "$PYTHON" "$ROOT/tests/compare_results.py" scratch.h5 c.h5 || fail "merge: $(cat merge.log)"
[ "$before" = "$(md5 a.h5 b.h5)" ] && pass "merge leaves its inputs as they were" || fail "merge changed its inputs"
$MPIRUN -n 3 "$BIN" "$smoke" -o c.h5 2> c.log && grep -q "0 to run (16 already finished" c.log \
    && check "the merged file resumed with the whole job: nothing to run, grid order" "$PYTHON" "$ROOT/tests/compare_results.py" scratch.h5 c.h5 --same-order \
    || fail "resuming the merged file: $(head -3 c.log)"
"$BIN" merge a.h5 scratch.h5 -o d.h5 2> /dev/null && check "merge of overlapping files that agree" \
    "$PYTHON" "$ROOT/tests/compare_results.py" scratch.h5 d.h5 || fail "merge of agreeing overlaps"
# the same trial with another result: a NaN at update 2 of trial 0 makes it diverge
COPYSWEEP_FAULT=nan:0:2 $MPIRUN -n 3 -x COPYSWEEP_FAULT "$BIN" s1.ini -o nan.h5 2> nan.log || fail "the faulted half: $(tail -2 nan.log)"
expect_refused() { # NAME PATTERN ARGS...
    local name=$1 pattern=$2 err rc
    shift 2
    err=$("$BIN" merge "$@" 2>&1); rc=$?
    [ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q -- "$pattern" <<<"$err" && [ ! -e e.h5 ] \
        && pass "merge: $name: refused, nothing written: $err" || fail "merge: $name: exit $rc: $err"
}
expect_refused "a trial with two results" "same settings and different results (status done and diverged)" a.h5 nan.h5 -o e.h5
h5copy -i a.h5 -o other.h5 -s /trials -d /trials 2>/dev/null
expect_refused "a file that is not a results file" "'other.h5' is not a copysweep results file\|other.h5" a.h5 other.h5 -o e.h5
echo "not hdf5" > text.h5
expect_refused "a file that is not HDF5" "'text.h5' exists and is not an HDF5 file" a.h5 text.h5 -o e.h5
cp a.h5 v.h5
"$PYTHON" -c "import h5py; h5py.File('v.h5', 'r+').attrs['copysweep_version'] = '0.0.1'"
expect_refused "another copysweep version" "v.h5 by copysweep 0.0.1" a.h5 v.h5 -o e.h5
expect_refused "an existing output" "'c.h5' exists" a.h5 b.h5 -o c.h5

# --- 7. shards without MPI, merged; --trial, --only and --rerun
for i in 1 2 3; do
    "$BIN" "$smoke" --shard $i/3 -o parts.h5 2> "shard$i.log" || fail "shard $i/3: $(tail -2 "shard$i.log")"
done
grep -q "16 trials, 6 to run of the 6 chosen" shard1.log && [ -e parts.shard-1-of-3.h5 ] \
    && pass "--shard 1/3 runs its 6 trials alone, into parts.shard-1-of-3.h5" || fail "shard 1: $(head -2 shard1.log)"
out=$("$BIN" "$smoke" --list --shard 2/3)
[ "$(grep -cE '^ +[0-9]+ +(lstm|mlstm|gru|mgru) ' <<<"$out")" = 5 ] && grep -q "5 of the 16 trials chosen" <<<"$out" \
    && pass "--list --shard 2/3 lists its 5 trials" || fail "--list --shard: $out"
"$BIN" merge parts.shard-{1,2,3}-of-3.h5 -o parts.h5 2> parts.log && check "three shards merged: equal to the MPI sweep, in grid order" \
    "$PYTHON" "$ROOT/tests/compare_results.py" scratch.h5 parts.h5 --same-order || fail "merging shards: $(cat parts.log)"
"$BIN" "$smoke" --trial 5 -o one.h5 2> one.log && check "--trial 5 runs trial 5 alone" \
    "$PYTHON" "$ROOT/tests/check_results.py" one.h5 --n 16 --status done@5 --status pending@4 || fail "--trial: $(tail -2 one.log)"
$MPIRUN -n 3 "$BIN" "$smoke" --only model=gru,mgru --only T=8 -o only.h5 2> only.log && grep -q "4 to run of the 4 chosen" only.log \
    && [ "$(count only.h5 done)" = 4 ] && pass "--only model=gru,mgru --only T=8: its 4 trials" || fail "--only: $(head -2 only.log)"
cp scratch.h5 again.h5
$MPIRUN -n 3 "$BIN" "$smoke" --rerun 3 -o again.h5 2> again.log && grep -q "1 to run, 1 of them again" again.log \
    && check "--rerun 3 runs a finished trial again, to the same result" "$PYTHON" "$ROOT/tests/compare_results.py" scratch.h5 again.h5 --same-order \
    || fail "--rerun 3: $(head -2 again.log)"
COPYSWEEP_FAULT=nan:2:3 $MPIRUN -n 3 -x COPYSWEEP_FAULT "$BIN" "$smoke" -o fixed.h5 2> /dev/null
$MPIRUN -n 3 "$BIN" "$smoke" --rerun status=diverged -o fixed.h5 2> fixed.log && grep -q "1 to run, 1 of them again" fixed.log \
    && check "--rerun status=diverged after the fault is gone: equal to a run without it" "$PYTHON" "$ROOT/tests/compare_results.py" scratch.h5 fixed.h5 \
    || fail "--rerun status=diverged: $(head -2 fixed.log)"
"$PYTHON" -c "import h5py, sys; c = [r.decode() for r in h5py.File('fixed.h5')['runs']['command']]; sys.exit(not c[-1].endswith('--rerun status=diverged -o fixed.h5'))" \
    && pass "/runs records the --rerun command" || fail "/runs of fixed.h5"
selection_refused() { # NAME PATTERN ARGS...
    local name=$1 pattern=$2 err rc
    shift 2
    rm -rf sel.h5 sel.h5.ckpt sel.shard-*
    err=$("$BIN" "$smoke" -o sel.h5 "$@" 2>&1); rc=$?
    [ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q -- "$pattern" <<<"$err" && [ -z "$(ls sel.* 2>/dev/null)" ] \
        && pass "$name: refused, nothing written: $err" || fail "$name: exit $rc: $err"
}
selection_refused "a shard outside 1..N" "option '--shard': '4/3' is not allowed (expected I/N with 1 ≤ I ≤ N)" --shard 4/3
selection_refused "a shard without N" "option '--shard': '2' is not allowed" --shard 2
selection_refused "--shard with --trial" "'--shard' and '--trial' exclude each other" --shard 1/2 --trial 3
selection_refused "a trial beyond the grid" "option '--trial': 16 is not a trial of" --trial 16
selection_refused "--only of an unknown key" "option '--only': 'hiden' is not a setting" --only hiden=3
selection_refused "--only of a bad value" "option '--only': model: 'lsmt' is not a valid model" --only model=lsmt
selection_refused "--only that matches nothing" "option '--only': no trial of .* has T=999" --only T=999
selection_refused "--rerun of a status that is not final" "option '--rerun': 'pending' is not a final status" --rerun status=pending
cp scratch.h5 sel.h5
before=$(md5 sel.h5)
err=$("$BIN" "$smoke" -o sel.h5 --rerun status=failed 2>&1); rc=$?
[ $rc = 2 ] && grep -q "option '--rerun': no chosen trial of the file has status=failed" <<<"$err" && [ "$before" = "$(md5 sel.h5)" ] && [ ! -e sel.h5.ckpt ] \
    && pass "--rerun that matches nothing: refused, the file as it was: $err" || fail "--rerun status=failed: exit $rc: $err"

# --- 6. status while a sweep writes the file, and of a file that is not one
sed 's/^epochs = 4/epochs = 40/; s/^train-size = 3200/train-size = 1600/' "$mid" > slow.ini
$MPIRUN -n 3 "$BIN" slow.ini -o slow.h5 2> slow.log &
pid=$!
seen=""
for _ in $(seq 300); do
    out=$("$BIN" status slow.h5 2>&1) && grep -q "running on rank [12]: epoch [0-9]*, validation accuracy" <<<"$out" && { seen=$out; break; }
    sleep 0.05
done
running=$("$PYTHON" -c "import sys; sys.path.insert(0, '$ROOT/analysis'); import load
c = load.curves('slow.h5'); print(int(c['running'].sum()))" 2>&1)
kill -TERM $(pgrep -P $pid -x mpirun) 2>/dev/null
wait_job $pid
[ -n "$seen" ] && pass "status while the sweep runs: $(grep -m1 'running on' <<<"$seen" | sed 's/^ *//')" \
    || fail "status never showed a running trial's epoch: $out"
[ "${running:-0}" -gt 0 ] 2>/dev/null && pass "load.curves shows $running curve rows of running trials, marked running" \
    || fail "load.curves while the sweep runs: $running"
err=$("$BIN" status text.h5 2>&1); rc=$?
[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && pass "status of a file that is not a results file: exit 2: $err" || fail "status text.h5: exit $rc: $err"
finish store
