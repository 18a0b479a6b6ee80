#!/bin/bash
# The MPI sweep: 1, 2 and 4 ranks give identical results; --list; a finished sweep is not rerun;
# SIGKILL of the master, SIGUSR1 to mpirun, SIGTERM to the ranks and SIGTERM to a lone rank each end
# in a file that opens and a resume that equals an uninterrupted run; NaN → diverged, out of memory →
# failed, and the sweep goes on; the file can be read while the sweep writes it; every kind of bad
# input gets one line naming file:line, key and value, exit status 2, and the results file untouched.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
MPIRUN="timeout -k 10 300 mpirun -q --oversubscribe"
# a sweep in the background: `wait_job $pid` gives its exit status, $mpirun_pid is mpirun itself
bg_sweep() { # LOG ARGS...
    local log=$1
    shift
    $MPIRUN "$@" 2> "$log" &
    pid=$!
    for _ in $(seq 100); do mpirun_pid=$(pgrep -P $pid -x mpirun) && break; sleep 0.05; done
}
scratch
cd "$work"

# --- 1. rank-count independence on the smoke grid (16 trials)
for n in 1 2 4; do
    $MPIRUN -n $n "$BIN" "$ROOT/jobs/smoke.ini" -o "smoke$n.h5" > "smoke$n.log" 2>&1
    rc=$?
    [ $rc = 0 ] || { fail "smoke.ini with $n ranks: exit $rc"; tail -5 "smoke$n.log"; }
    check "smoke.ini with $n ranks" "$PYTHON" "$ROOT/tests/check_results.py" "smoke$n.h5" --n 16 --status done
done
# before the first trial, the expected wall time from the cost model timed on this machine
est=$(grep -m1 'expected wall time' smoke2.log)
line=$(grep -n 'expected wall time' smoke2.log | cut -d: -f1)
first=$(grep -n ') done in' smoke2.log | head -1 | cut -d: -f1)
if [[ "$est" =~ expected\ wall\ time\ ([0-9]+m)?[0-9]+s\ on\ 1\ worker\ ×\ 1\ thread\ \(.*[0-9]\ kinds?\ of\ trial ]] &&
    [ -n "$first" ] && [ "$line" -lt "$first" ]; then
    pass "the sweep says its expected wall time before the first trial: ${est#copysweep: }"
else
    fail "the expected wall time: '$est' at line $line, the first trial at line $first"
fi
check "1 and 2 ranks give identical results" "$PYTHON" "$ROOT/tests/compare_results.py" smoke1.h5 smoke2.h5
check "1 and 4 ranks give identical results" "$PYTHON" "$ROOT/tests/compare_results.py" smoke1.h5 smoke4.h5
# a union of grids: the baseline is run once; 1 and 3 ranks agree; the trials are the grids' points
grids=$ROOT/tests/jobs/grids.ini
for n in 1 3; do
    $MPIRUN -n $n "$BIN" "$grids" -o "grids$n.h5" > "grids$n.log" 2>&1 || fail "grids.ini with $n ranks: $(tail -2 "grids$n.log")"
done
# base 4 points, hidden 8 (4 of them the base's), embed 2: 10 trials
check "a union of grids: 10 trials, the shared baseline once" "$PYTHON" "$ROOT/tests/check_results.py" grids1.h5 --n 10 --status done
check "a union of grids: 1 and 3 ranks give identical results" "$PYTHON" "$ROOT/tests/compare_results.py" grids1.h5 grids3.h5
"$PYTHON" -c "
import h5py
t = h5py.File('grids1.h5')['trials'][...]
rows = sorted((r['model'], int(r['T']), int(r['hidden']), int(r['embed']), int(r['chrono'])) for r in t)
assert len(set(rows)) == 10 and sum(r[2] == 8 for r in rows) == 4 and sum(r[3] == 3 and r[4] == -1 for r in rows) == 2, rows
" && pass "the grids' points, each once (hidden 8: 4, embed 3 with chrono auto: 2)" || fail "the points of grids.ini"
"$BIN" "$grids" -o grids1.h5 --list | grep -q "grid hidden (8 points)" && pass "--list names the grids" || fail "--list of grids"

h5dump -H smoke2.h5 > /dev/null && h5dump -d /trials smoke2.h5 | grep -q '"status"' \
    && pass "h5dump reads the results file" || fail "h5dump"
ls smoke2.h5.ckpt 2>/dev/null && fail "the checkpoint folder of a finished sweep is left behind"

# --- 2. --list, and a finished sweep is not run again
out=$($MPIRUN -n 2 "$BIN" "$ROOT/jobs/smoke.ini" --list -o listed.h5)
[ "$(grep -cE '^ +[0-9]+ +(lstm|mlstm|gru|mgru) ' <<<"$out")" = 16 ] && [ ! -e listed.h5 ] \
    && pass "--list prints 16 trials and writes nothing" || fail "--list: $out"
sum=$(md5sum < smoke2.h5)
$MPIRUN -n 2 "$BIN" "$ROOT/jobs/smoke.ini" -o smoke2.h5 2> again.log
grep -q '0 to run (16 already finished' again.log && [ "$sum" = "$(md5sum < smoke2.h5)" ] \
    && pass "a finished sweep runs nothing again and leaves its file as it was" || fail "rerun: $(cat again.log)"

# --- 3. interruptions: a grid of 6 trials of one to two seconds each, periodic checkpoints every 0.3 s
mid=$ROOT/tests/jobs/mid.ini
read_file() { # FILE: h5py reads /trials and h5dump its header
    "$PYTHON" -c "import h5py; h5py.File('$1', 'r')['trials'][...]" 2>/dev/null && h5dump -H "$1" > /dev/null 2>&1
}
# the uninterrupted reference, read with h5py and h5dump every 0.2 s while it is written (how many
# reads land in it depends on the machine's speed; 3b below reads a sweep that cannot have ended)
bg_sweep straight.log -n 3 "$BIN" "$mid" -o straight.h5
reads=0 read_fails=0
while kill -0 $pid 2>/dev/null; do
    if [ -e straight.h5 ]; then
        reads=$((reads + 1))
        read_file straight.h5 || read_fails=$((read_fails + 1))
    fi
    sleep 0.2
done
wait_job $pid && [ $read_fails = 0 ] \
    && pass "h5py and h5dump read the file $reads times while the sweep wrote it" \
    || fail "reading while the sweep runs: $read_fails of $reads reads failed"
check "uninterrupted reference" "$PYTHON" "$ROOT/tests/check_results.py" straight.h5 --n 6 --status done
# a sweep holds FILE.ckpt/lock (flock) while it runs; a second one on the same file is refused
mkdir locked.h5.ckpt
flock locked.h5.ckpt/lock sh -c 'touch held; exec sleep 60' &
holder=$!
for _ in $(seq 600); do [ -e held ] && break; sleep 0.01; done # the lock is held once 'held' exists
err=$($MPIRUN -n 2 "$BIN" "$mid" -o locked.h5 2>&1 >/dev/null); rc=$?
kill $holder
[ $rc = 2 ] && grep -q "another sweep is writing 'locked.h5'" <<<"$err" && [ ! -e locked.h5 ] \
    && pass "a second sweep on a file that a sweep holds is refused: $err" || fail "second sweep: exit $rc: $err"

wait_for_done() { # LOG: until the master logged a finished trial
    for _ in $(seq 600); do grep -q ') done in' "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
rank_pid() { # MPIRUN_PID RANK
    for p in $(pgrep -P "$1" -x copysweep); do
        tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo $p
    done
}
resume_and_compare() { # NAME FILE RANKS
    env -u COPYSWEEP_FAULT $MPIRUN -n "$3" "$BIN" "$mid" -o "$2" 2> "$2.resume.log"
    local rc=$?
    [ $rc = 0 ] || { fail "$1: resume exit $rc: $(tail -3 "$2.resume.log")"; return; }
    check "$1: resumed run equals the uninterrupted one" "$PYTHON" "$ROOT/tests/compare_results.py" straight.h5 "$2"
}

# Each sweep below holds trial 1 (COPYSWEEP_FAULT=hold:1: started afresh, it waits after its first
# update until it is told to stop), so that the signal reaches a sweep that has trials left however
# fast the others run; the signal goes once the master has logged a finished trial. Trial 1 is among
# the first to start (the trials run the most expensive first), second with one rank.
export COPYSWEEP_FAULT=hold:1

# 3a. SIGKILL of the master after its first recorded trial
bg_sweep killed.log -n 3 "$BIN" "$mid" -o killed.h5
wait_for_done killed.log
master=$(rank_pid $mpirun_pid 0)
[ -n "$master" ] && kill -KILL "$master"
wait_job $pid
rc=$?
[ $rc != 0 ] && check "SIGKILL of the master (mpirun exit $rc): the file opens and keeps what was recorded" \
    "$PYTHON" "$ROOT/tests/check_results.py" killed.h5 --n 6 --some-done || fail "SIGKILL of the master did not stop the sweep"
resume_and_compare "SIGKILL of the master" killed.h5 3

# 3b. SIGUSR1 to mpirun (what slurm/sweep.sbatch forwards): checkpoint, exit 3
bg_sweep usr1.log -n 3 "$BIN" "$mid" -o usr1.h5
wait_for_done usr1.log
reads=0; for _ in 1 2 3; do read_file usr1.h5 && reads=$((reads + 1)); done
kill -0 $mpirun_pid 2>/dev/null && [ $reads = 3 ] \
    && pass "h5py and h5dump read the file of a running sweep (trial 1 held) 3 times of 3" \
    || fail "reading a running sweep's file: $reads of 3 reads succeeded"
kill -USR1 $mpirun_pid
wait_job $pid
rc=$?
ckpts=$(ls usr1.h5.ckpt/*.ckpt 2>/dev/null | wc -l)
[ $rc = 3 ] && grep -q 'checkpoint written' usr1.log && [ "$ckpts" -ge 1 ] \
    && pass "SIGUSR1 to mpirun: exit 3, $ckpts trials checkpointed mid-trial" || fail "SIGUSR1: exit $rc, $ckpts checkpoints: $(tail -3 usr1.log)"
check "SIGUSR1: the file keeps the finished trials" "$PYTHON" "$ROOT/tests/check_results.py" usr1.h5 --some-done
resume_and_compare "SIGUSR1" usr1.h5 2

# 3c. SIGTERM to every rank (what Slurm does at a time limit or preemption)
bg_sweep term.log -n 3 "$BIN" "$mid" -o term.h5
wait_for_done term.log
pkill -TERM -P $mpirun_pid -x copysweep
wait_job $pid
rc=$?
[ $rc = 3 ] && grep -q 'checkpoint written' term.log && pass "SIGTERM to the ranks: exit 3, trials checkpointed" \
    || fail "SIGTERM to the ranks: exit $rc: $(tail -3 term.log)"
resume_and_compare "SIGTERM to the ranks" term.h5 4

# 3d. one rank (the master trains): SIGTERM mid-trial, resume with 2 ranks
"$BIN" "$mid" -o serial.h5 2> serial.log &
pid=$!
wait_for_done serial.log
kill -TERM $pid
wait_job $pid
rc=$?
[ $rc = 3 ] && grep -q 'checkpoint written' serial.log && pass "SIGTERM to a lone rank: exit 3, trial checkpointed" \
    || fail "SIGTERM to a lone rank: exit $rc: $(tail -3 serial.log)"
resume_and_compare "SIGTERM to a lone rank" serial.h5 3
unset COPYSWEEP_FAULT

# --- 4. a trial whose loss becomes NaN is diverged, one without memory failed; the rest goes on
# (COPYSWEEP_FAULT=nan:TRIAL:UPDATE makes the loss of that update NaN, as an exploding model would)
COPYSWEEP_FAULT=nan:5:7 $MPIRUN -n 3 "$BIN" "$ROOT/jobs/smoke.ini" -o faults.h5 2> faults.log
rc=$?
[ $rc = 0 ] && grep -q 'trial 5 (model=mlstm T=5 seed=2) diverged' faults.log \
    && check "a NaN loss at update 7 of trial 5: diverged, the other 15 done" \
        "$PYTHON" "$ROOT/tests/check_results.py" faults.h5 --n 16 --status diverged@5 --status done@4 --status done@6 \
    || fail "NaN injection: exit $rc: $(tail -3 faults.log)"
# a rank that fails (COPYSWEEP_FAULT=abort:TRIAL: CS_FAIL on the rank that runs it) stops every rank
# through MPI with one message naming the rank; what was recorded stays, and a rerun completes it
COPYSWEEP_FAULT=abort:2 $MPIRUN -n 3 "$BIN" "$mid" -o aborted.h5 2> aborted.log
rc=$?
[ $rc = 1 ] && grep -qE '^copysweep: rank [12] on [^:]+: fault injection: trial 2 fails its rank \(at src/sweep.c:[0-9]+\)$' aborted.log \
    && check "a failing rank: exit 1, the rank named, the file opens" "$PYTHON" "$ROOT/tests/check_results.py" aborted.h5 --n 6 \
    || fail "a failing rank: exit $rc: $(grep copysweep aborted.log | tail -3)"
resume_and_compare "a failing rank" aborted.h5 3
# at T = 3000 the activations of a batch of 64 GRUs with H = 512 need about 4 GB: more than the 3 GB
# allowed here
oom=$ROOT/tests/jobs/oom.ini
if [ -n "${SANITIZED:-}" ]; then # AddressSanitizer reserves terabytes of address space: cap allocations instead
    ASAN_OPTIONS=$ASAN_OPTIONS:allocator_may_return_null=1:max_allocation_size_mb=3000 \
        timeout 300 "$BIN" "$oom" -o oom.h5 2> oom.log
else
    (ulimit -v 3000000 && timeout 300 "$BIN" "$oom" -o oom.h5 2> oom.log)
fi
rc=$?
[ $rc = 4 ] && grep -q 'failed on rank 0: out of memory' oom.log && grep -q '2 trials failed' oom.log \
    && check "T = 3000 in 3 GB: failed (out of memory) while the other trials finish; exit status 4" \
        "$PYTHON" "$ROOT/tests/check_results.py" oom.h5 --n 4 --status done@0 --status failed@1 --status done@2 --status failed@3 \
    || fail "oom.ini: exit $rc: $(tail -3 oom.log)"

# --- 5. bad input: one line naming file:line, key and value; exit 2; the results file untouched
cp smoke1.h5 keep.h5
sum=$(md5sum < keep.h5)
expect_user_error() { # NAME PATTERN JOBTEXT [ARGS...]
    local name=$1 pattern=$2 text=$3
    shift 3
    printf '%s\n' "$text" > bad.ini
    local before err rc
    before=$(ls | sort)
    err=$($MPIRUN -n 2 "$BIN" bad.ini -o keep.h5 "$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc != 2 ]; then fail "$name: exit $rc, expected 2 ($err)"
    elif [ "$(wc -l <<<"$err")" != 1 ]; then fail "$name: expected one line, got: $err"
    elif ! grep -qE -- "$pattern" <<<"$err"; then fail "$name: '$err' does not match /$pattern/"
    elif [ "$sum" != "$(md5sum < keep.h5)" ] || [ "$before" != "$(ls | sort)" ]; then fail "$name: files changed"
    else pass "$name: $err"; fi
}
expect_user_error "unknown section" "^copysweep: bad.ini:2: unknown section \[setings\]" $'\n[setings]\nT = 5'
expect_user_error "unknown key" "^copysweep: bad.ini:3: unknown key 'hiden' in \[settings\]" $'[settings]\nT = 5\nhiden = 4'
expect_user_error "unknown sweep key" "^copysweep: bad.ini:2: unknown key 'ouput' in \[sweep\]" $'[sweep]\nouput = x.h5'
expect_user_error "T = 0" "^copysweep: bad.ini:2: key 'T': '0' is out of range" $'[settings]\nT = 0'
expect_user_error "T = 0 in a list" "^copysweep: bad.ini:3: key 'T': '0' is out of range" $'[settings]\nmodel = gru\nT = 100, 0, 200'
expect_user_error "lr = -1" "^copysweep: bad.ini:2: key 'lr': '-1' is out of range \(expected a number > 0" $'[settings]\nlr = -1'
expect_user_error "unknown model" "^copysweep: bad.ini:2: key 'model': 'lsmt' is not a valid model" $'[settings]\nmodel = lstm, lsmt'
expect_user_error "empty list" "^copysweep: bad.ini:2: key 'seed': empty value" $'[settings]\nseed ='
expect_user_error "empty list item" "^copysweep: bad.ini:2: key 'seed': empty value in the list" $'[settings]\nseed = 1,,2'
expect_user_error "value twice" "^copysweep: bad.ini:2: key 'seed': value '1' listed twice" $'[settings]\nseed = 1, 2, 1'
expect_user_error "key twice" "^copysweep: bad.ini:3: key 'T' given twice \(first at line 2\)" $'[settings]\nT = 5\nT = 6'
expect_user_error "not key = value" "^copysweep: bad.ini:2: cannot read this line" $'[settings]\nT 5'
expect_user_error "key outside a section" "^copysweep: bad.ini:1: key 'T' outside a section" $'T = 5'
expect_user_error "settings that clash" "^copysweep: bad.ini:3: key 'batch': 64 is larger than train-size 32" \
    $'[settings]\ntrain-size = 32\nbatch = 16, 64'
expect_user_error "output in a missing folder" "^copysweep: option '-o': cannot create a file next to 'no/dir/x.h5'|cannot create a file next to 'no/dir/x.h5'" \
    $'[settings]\nT = 5' -o no/dir/x.h5
expect_user_error "grid without a name" "^copysweep: bad.ini:3: cannot read this grid header \(expected \[grid NAME\]" \
    $'[settings]\nT = 5\n[grid ]\nhidden = 8'
expect_user_error "grid twice" "^copysweep: bad.ini:4: grid 'a' given twice \(first at line 2\)" \
    $'[settings]\n[grid a]\nT = 5\n[grid a]\nT = 6'
expect_user_error "unknown key in a grid" "^copysweep: bad.ini:3: unknown key 'hiden' in \[grid a\]" \
    $'[settings]\n[grid a]\nhiden = 4'
expect_user_error "settings that clash in a grid" \
    "^copysweep: bad.ini:5: key 'batch': 64 is larger than train-size 32 \(expected batch ≤ train-size\) in grid b" \
    $'[settings]\ntrain-size = 32\n[grid a]\n[grid b]\nbatch = 64'
expect_user_error "unknown option" "^copysweep: sweep: unknown option '--lsit'" $'[settings]\nT = 5' --lsit
expect_user_error "bad --progress" "^copysweep: option '--progress': 'fancy' is not allowed" $'[settings]\nT = 5' --progress fancy
printf '[settings]\nT = 5\n' > other.ini
err=$($MPIRUN -n 2 "$BIN" other.ini -o keep.h5 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -q "holds trials with model = mlstm, which this job does not have" <<<"$err" && [ "$sum" = "$(md5sum < keep.h5)" ] \
    && pass "a results file of another job is refused and left as it was: $err" || fail "another job's file: exit $rc: $err"
echo "not hdf5" > plain.h5
err=$($MPIRUN -n 2 "$BIN" other.ini -o plain.h5 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -q "not an HDF5 file" <<<"$err" && [ "$(cat plain.h5)" = "not hdf5" ] \
    && pass "a file that is not HDF5 is refused and left as it was" || fail "non-HDF5 output: exit $rc: $err"
# a damaged results file on which libhdf5 loops forever (found by tests/fuzz/fuzz_results): given up
# after the read timeout, left as it was
cp "$ROOT/tests/fuzz/regressions/results/hdf5-loops-on-vlen-attribute" damaged.h5
dsum=$(md5sum < damaged.h5)
err=$(COPYSWEEP_READ_TIMEOUT=3 timeout 60 $MPIRUN -x COPYSWEEP_READ_TIMEOUT -n 2 "$BIN" other.ini -o damaged.h5 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -q "did not finish within 3 s" <<<"$err" && [ "$dsum" = "$(md5sum < damaged.h5)" ] \
    && pass "a damaged file that hangs libhdf5 is given up and left as it was: $err" || fail "damaged output: exit $rc: $err"
err=$($MPIRUN -n 2 "$BIN" missing.ini 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && [ "$err" = "copysweep: cannot read job file 'missing.ini': No such file or directory" ] \
    && pass "missing job file: $err" || fail "missing job file: exit $rc: $err"
mkdir dir.ini
err=$($MPIRUN -n 2 "$BIN" dir.ini 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] && grep -q "cannot read job file 'dir.ini'" <<<"$err" && pass "unreadable job file: $err" \
    || fail "unreadable job file: exit $rc: $err"

finish sweep
