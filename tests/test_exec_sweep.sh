#!/bin/bash
# Sweeps of a user's program ([exec]): the same results on one rank, on three and from two shards
# merged; every outcome of a program (done, a non-zero exit, a signal, a timeout, each kind of bad
# metrics line) recorded with its exit status, signal and stderr; a value that would be a shell
# command stays one argv element; a sweep stopped by SIGTERM stops its programs, keeps their
# checkpoint folders and resumes to the results of an uninterrupted run, then removes them; --only,
# --rerun and successive halving work on a job's own keys; every bad [exec] gets one line naming
# file:line and exit status 2; the PyTorch example learns.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
MPIRUN="timeout -k 10 300 mpirun -q --oversubscribe"
scratch
cd "$work"
PROG="$PYTHON $ROOT/tests/exec_prog.py"
col() { # FILE EXPR: EXPR over t, the /trials rows of FILE (bytes decoded)
    "$PYTHON" -c "
import sys, h5py
t = h5py.File(sys.argv[1], 'r')['trials'][:]
d = lambda v: v.decode() if isinstance(v, bytes) else v
print($2)" "$1"
}

# --- 1. a grid of a program: one rank and three give the same file
cat > grid.ini <<JOB
[settings]
lr = 0.1, 0.2, 0.4
seed = 1, 2
[exec]
command = $PROG --lr {lr} --epochs 3 --sleep 0.01 seed-{seed}
metrics = val_loss, test_acc
JOB
"$BIN" grid.ini -o one.h5 2> one.log || fail "one rank: $(tail -2 one.log)"
$MPIRUN -n 3 "$BIN" grid.ini -o three.h5 2> three.log || fail "three ranks: $(tail -2 three.log)"
check "a grid of 6 program trials on 1 and 3 ranks: the same rows and curves" \
    "$PYTHON" "$ROOT/tests/compare_results.py" one.h5 three.h5
got=$(col one.h5 "[(d(r['lr']), d(r['status']), round(float(r['val_loss']), 6)) for r in t if d(r['seed']) == '1']")
[ "$got" = "[('0.1', 'done', 0.033333), ('0.2', 'done', 0.066667), ('0.4', 'done', 0.133333)]" ] \
    && pass "/trials holds each trial's keys and its declared metrics from the final record" || fail "/trials: $got"
n=$("$PYTHON" -c "import h5py; print(len(h5py.File('one.h5')['trial/0/curves']))")
[ "$n" = 3 ] && pass "each finished trial has its 3 epoch rows as curves" || fail "curves of trial 0: $n rows"
"$BIN" status one.h5 | grep -q "one.h5.logs/trial-KEY.stdout" && pass "status names where the programs' output is" \
    || fail "status: $("$BIN" status one.h5)"
[ "$(ls one.h5.logs | wc -l)" = 18 ] && pass "stdout, stderr and metrics of each of the 6 trials kept in one.h5.logs" \
    || fail "logs: $(ls one.h5.logs | head)"
[ ! -e one.h5.ckpt ] && pass "no checkpoint folder is left after the sweep" || fail "left: $(ls -R one.h5.ckpt)"

# --- 2. every outcome of a program, and a value that would be a shell command
cat > outcomes.ini <<'JOB'
[settings]
mode = ok, fail, crash, garbage, big, wrongtype, nofinal, missing, hang
evil = x;touch pwned && $(touch pwned2) | `touch pwned3`
[exec]
command = PROG --mode {mode} --epochs 3 --sleep 0.01 --echo echo-{mode}.json {evil}
metrics = val_loss, test_acc
timeout-minutes = 0.05
grace-seconds = 1
JOB
sed -i "s|PROG|$PROG|" outcomes.ini
"$BIN" outcomes.ini -o out.h5 2> out.log
rc=$?
[ $rc = 4 ] && grep -q "copysweep: finished; 8 trials failed (see 'copysweep status out.h5'" out.log \
    && pass "a sweep whose trials fail ends, exit status 4, saying how many failed" || fail "outcomes (status $rc): $(tail -3 out.log)"
got=$(col out.h5 "' '.join(d(r['mode']) + ':' + d(r['status']) for r in t)")
[ "$got" = "ok:done fail:failed crash:failed garbage:failed big:failed wrongtype:failed nofinal:failed missing:failed hang:failed" ] \
    && pass "done after exit 0 with a final record; failed otherwise" || fail "statuses: $got"
row() { col out.h5 "[(r['exit_code'], r['signal'], r['timed_out'], d(r['message']), d(r['stderr_tail'])) for r in t if d(r['mode']) == '$1'][0]"; }
row fail | grep -q "(3, 0, 0, 'exited with status 3'.*giving up" && pass "a non-zero exit: its status and the end of its stderr" \
    || fail "fail: $(row fail)"
row crash | grep -q "(-1, 11, 0, 'killed by signal 11" && pass "death by a signal: the signal" || fail "crash: $(row crash)"
row hang | grep -q "(0, 0, 1, 'exceeded its timeout of 0.05 minutes', 'stopped by signal 15" \
    && pass "timeout-minutes: stopped with its stop signal (on which it exits 0), timed_out, failed" || fail "hang: $(row hang)"
for m in garbage:"not a JSON object" big:"a line of more than 1048576 bytes" wrongtype:'"val_loss" is a string' missing:'the final record (a line without "epoch") lacks the declared metric "test_acc"'; do
    row "${m%%:*}" | grep -q "metrics.jsonl:[0-9]*: ${m#*:}" \
        && pass "a bad line (${m%%:*}) fails the trial, naming the file and the line" || fail "${m%%:*}: $(row "${m%%:*}")"
done
grep -q "trial 4 (mode=big) failed" out.log && pass "each failure is one line of the sweep's output" || fail "log: $(cat out.log)"
evil=$("$PYTHON" -c "import json; e = json.load(open('echo-ok.json')); print(e['argv'][-1] == e['env']['COPYSWEEP_EVIL'], e['argv'][-1])")
[ "$evil" = 'True x;touch pwned && $(touch pwned2) | `touch pwned3`' ] && [ ! -e pwned ] && [ ! -e pwned2 ] && [ ! -e pwned3 ] \
    && pass "a value with ';', \$( ) and backquotes is one argv element and one variable, and runs nothing" \
    || fail "injection: $evil; $(ls)"

# --- 3. SIGTERM stops the programs and keeps their folders; the same command resumes to the same results
cat > long.ini <<JOB
[sweep]
checkpoint-minutes = 1
[settings]
lr = 0.1, 0.3
seed = 1, 2
[exec]
command = $PROG --lr {lr} --epochs 8 --sleep 0.25
metrics = val_loss, test_acc
grace-seconds = 5
JOB
"$BIN" long.ini -o ref.h5 2> ref.log || fail "uninterrupted: $(tail -2 ref.log)"
$MPIRUN -n 3 "$BIN" long.ini -o cut.h5 2> cut.log &
job=$!
for _ in $(seq 100); do [ "$(ls cut.h5.logs/*.metrics.jsonl 2> /dev/null | wc -l)" -ge 2 ] && break; sleep 0.1; done
sleep 0.8
# SIGTERM to every rank, as Slurm sends it at a time limit (to mpirun, it would end the job itself)
pkill -TERM -P "$(pgrep -P $job -x mpirun)" -x copysweep
wait_job $job
grep -q "stopped: the sweep was asked to stop; its checkpoint folder is kept" cut.log \
    && pass "SIGTERM: each running program stopped with its checkpoint folder kept" || fail "stop: $(tail -4 cut.log)"
[ "$(ls -d cut.h5.ckpt/trial-*.ckpt 2> /dev/null | wc -l)" -ge 1 ] && pass "checkpoint folders left for the resume" \
    || fail "no checkpoint folder: $(ls cut.h5.ckpt)"
$MPIRUN -n 3 "$BIN" long.ini -o cut.h5 2> cut2.log || fail "resume: $(tail -2 cut2.log)"
check "stopped and resumed: the results of the uninterrupted run" "$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 cut.h5
[ ! -e cut.h5.ckpt ] && pass "the checkpoint folders are removed once the results are recorded" \
    || fail "left: $(ls -R cut.h5.ckpt | head)"

# a sweep killed outright (SIGKILL: no chance to stop its program) takes its program along
cat > orphan.ini <<JOB
[settings]
tag = orphan-$$
[exec]
command = $PROG --mode hang --epochs 3 {tag}
metrics = val_loss
JOB
"$BIN" orphan.ini -o orphan.h5 2> orphan.log &
job=$!
disown $job
for _ in $(seq 100); do pgrep -f "exec_prog.py.*orphan-$$" > /dev/null && break; sleep 0.1; done
sleep 0.5
kill -KILL $job
for _ in $(seq 50); do pgrep -f "exec_prog.py.*orphan-$$" > /dev/null || break; sleep 0.1; done
if pgrep -f "exec_prog.py.*orphan-$$" > /dev/null; then
    fail "a program outlived its killed worker: $(pgrep -af "orphan-$$")"
    pkill -KILL -f "exec_prog.py.*orphan-$$"
else
    pass "a sweep killed outright (SIGKILL) takes its program along: none outlives its trial"
fi

# --- 4. shards merged, --only and --rerun on a job's own keys; halving on a program's epoch rows
"$BIN" grid.ini -o sh.h5 --shard 1/2 2> shard1.log && "$BIN" grid.ini -o sh.h5 --shard 2/2 2> shard2.log \
    && "$BIN" merge sh.shard-1-of-2.h5 sh.shard-2-of-2.h5 -o merged.h5 2> merge.log \
    && check "two shards merged: the file of one run" "$PYTHON" "$ROOT/tests/compare_results.py" one.h5 merged.h5 \
    || fail "shards: $(tail -2 shard1.log shard2.log merge.log)"
"$BIN" grid.ini -o only.h5 --only lr=0.2 2> only.log && [ "$(col only.h5 "sorted(set(d(r['status']) + d(r['lr']) for r in t))")" = "['done0.2', 'pending0.1', 'pending0.4']" ] \
    && pass "--only lr=0.2 runs the trials with that value of the job's key" || fail "--only: $(tail -2 only.log)"
"$BIN" outcomes.ini -o out.h5 --rerun status=failed --only mode=fail 2> rerun.log; [ $? = 4 ] && grep -q "trial 1 (mode=fail) failed" rerun.log \
    && pass "--rerun status=failed --only mode=fail runs that trial again" || fail "--rerun: $(tail -2 rerun.log)"
cat > halving.ini <<JOB
[settings]
seed = 1
[search]
samples = 6
lr = log-uniform 0.01 1
[halving]
rungs = 2
metric = val-acc
reduction = 3
[exec]
command = $PROG --lr {lr} --epochs 5 --sleep 0.01
metrics = val_loss
JOB
"$BIN" halving.ini -o halving.h5 2> halving.log || fail "halving: $(tail -2 halving.log)"
got=$(col halving.h5 "sorted((d(r['status']), r['epoch_rows']) for r in t)")
pruned=$(grep -o "[0-9]* pruned" halving.log | tail -1)
case "$got" in
    *"('pruned', 2)"*) [[ "$got" != *"('pruned', 5)"* ]] && pass "halving prunes programs at the rung on their val_acc rows ($pruned): $got" \
        || fail "halving: $got" ;;
    *) fail "halving pruned nothing: $got" ;;
esac

printf '[settings]\nseed = 1\n[search]\nsamples = 6\nwidth = uniform-int 8 64\ndrop = uniform 0 0.5\n[exec]\ncommand = p {width} {drop}\nmetrics = a\n' > draws.ini
"$BIN" draws.ini --list | awk 'NR > 2 && NF == 4 { if ($3 !~ /^[0-9]+$/ || $3 < 8 || $3 > 64) bad = 1; if ($4 !~ /\./ || $4 < 0 || $4 > 0.5) bad = 1; n++ }
    END { exit bad || n != 6 }' && pass "[search] of a job's keys: uniform-int draws integers in range, uniform draws reals" \
    || fail "draws: $("$BIN" draws.ini --list)"

# --- 5. bad [exec] sections: file:line, status 2, nothing written
bad() { # NAME EXPECTED-MESSAGE: the job in bad.ini is refused so
    "$BIN" bad.ini -o bad.h5 > bad.out 2>&1
    local rc=$?
    if [ $rc = 2 ] && grep -q "bad.ini:[0-9]*: .*$2" bad.out && [ "$(wc -l < bad.out)" = 1 ] && [ ! -e bad.h5 ]; then
        pass "$1: $(cat bad.out)"
    else fail "$1 (status $rc): $(cat bad.out)"; fi
}
printf '[settings]\nlr = 1\n[exec]\ncommand = prog {lr}\n' > bad.ini && bad "no metrics" "needs metrics"
printf '[settings]\nlr = 1\n[exec]\nmetrics = a\n' > bad.ini && bad "no command" "needs command"
printf '[settings]\nlr = 1\n[exec]\ncommand = prog {rate}\nmetrics = a\n' > bad.ini && bad "a placeholder that is no key" "{rate} is not a key"
printf '[settings]\nlr = 1\n[grid a]\nx = 1\n[grid b]\n[exec]\ncommand = prog {x}\nmetrics = a\n' > bad.ini \
    && bad "a trial without a value of a placeholder" "has no value of 'x'"
printf '[settings]\nstatus = 1\n[exec]\ncommand = prog\nmetrics = a\n' > bad.ini && bad "a key named like a column" "key 'status' would be a column of /trials"
printf '[settings]\nlr = 1\n[exec]\ncommand = prog\nmetrics = lr\n' > bad.ini && bad "a metric named like a key" "key 'lr' would be the column of a declared metric"
printf '[settings]\nx = 1\nmetrics = 2\n[exec]\ncommand = prog\nmetrics = a\n' > bad.ini && bad "a key that is a variable of the protocol" "key 'metrics' would be a variable of the protocol"
printf '[settings]\nlr = 1\nLR = 2\n[exec]\ncommand = prog\nmetrics = a\n' > bad.ini && bad "two keys that are one variable" "key 'LR' and key 'lr' would be one column or one variable"
printf '[settings]\na-b = 1\n[grid g]\na_b = 2\n[exec]\ncommand = prog\nmetrics = a\n' > bad.ini && bad "two keys that are one column" "key 'a_b' and key 'a-b'"
printf '[settings]\nx = 1\n[search]\nsamples = 2\nw = uniform-int 0 1e12\n[exec]\ncommand = prog\nmetrics = a\n' > bad.ini \
    && bad "an integer range of more than 2^32 values" "not a range of integers of at most 2^32 values"
printf '[settings]\nlr = 1\n[exec]\ncommand = prog "a\nmetrics = a\n' > bad.ini && bad "an unclosed quote" "not closed"
printf '[settings]\nlr = 1\n[exec]\ncommand = prog\nmetrics = a\nstop-signal = STOP\n' > bad.ini && bad "an unknown stop signal" "not a signal"
printf '[settings]\nlr = 1\n[exec]\ncommand = prog\nmetrics = a\ncolour = red\n' > bad.ini && bad "an unknown key of [exec]" "unknown key 'colour'"
printf '[settings]\n2x = 1\n[exec]\ncommand = prog\nmetrics = a\n' > bad.ini && bad "a key that is not a name" "not a key name"
printf '[settings]\nlr = 1\n[exec]\ncommand = no-such-program-here {lr}\nmetrics = a\n' > bad.ini
"$BIN" bad.ini -o missing.h5 2> missing.log
col missing.h5 "d(t[0]['message'])" | grep -q "cannot run 'no-such-program-here': not found on the PATH" \
    && pass "a program not on the PATH: the trial failed, saying so" || fail "missing program: $(tail -2 missing.log)"
"$BIN" status missing.h5 | grep -q "^missing.h5: 1 trial: 0 pending" && pass "status of a file of one trial says '1 trial'" \
    || fail "status: $("$BIN" status missing.h5 | head -1)"

# --- 6. a file holds one program's trials: another command, metrics or set of keys is refused
sed 's/--epochs 3/--epochs 4/' grid.ini > grid-cmd.ini
sed 's/metrics = val_loss, test_acc/metrics = val_loss/' grid.ini > grid-metrics.ini
printf '[grid more]\nlr = 0.8\nextra = 1\n' | cat grid.ini - > grid-keys.ini
for v in cmd:"command is" metrics:"metrics is 'val_loss, test_acc', and grid-metrics.ini's is 'val_loss'" keys:"keys is 'lr seed'"; do
    cp one.h5 other.h5
    sum=$(md5sum < other.h5)
    "$BIN" "grid-${v%%:*}.ini" -o other.h5 > other.log 2>&1
    rc=$?
    [ $rc = 2 ] && grep -q "written by a job whose .*${v#*:}" other.log && [ "$(md5sum < other.h5)" = "$sum" ] \
        && pass "resuming with another ${v%%:*}: refused, status 2, the file as it was" || fail "another ${v%%:*} (status $rc): $(cat other.log)"
done
"$PYTHON" - one.h5 changed.h5 <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    t = f["trials"][...]
    t[0]["test_acc"] += 0.5
    f["trials"][...] = t
PY
"$BIN" merge one.h5 changed.h5 -o bad-merge.h5 > merge2.log 2>&1
[ $? = 2 ] && grep -q "different results (test_acc" merge2.log && [ ! -e bad-merge.h5 ] \
    && pass "merge: the same program trial with two different results is refused" || fail "merge of a changed result: $(cat merge2.log)"

# --- 7. the example: PyTorch's GRU on the copy task at T = 5 learns far above chance (1/8)
if "$PYTHON" -c "import torch" 2> /dev/null; then
    "$BIN" "$ROOT/jobs/examples/torch-copy.ini" -o torch.h5 --only cell=gru --only T=5 --only seed=1 2> torch.log
    acc=$(col torch.h5 "[round(float(r['test_acc']), 3) for r in t if d(r['status']) == 'done']")
    "$PYTHON" -c "import sys; a = eval(sys.argv[1]); sys.exit(not (len(a) == 1 and a[0] > 0.5))" "$acc" \
        && pass "jobs/examples/torch-copy.ini: nn.GRU at T = 5 copies with test accuracy $acc (chance 0.125)" \
        || fail "torch example: $acc; $(tail -3 torch.log)"
else
    fail "torch example: $PYTHON cannot import torch (python3-torch)"
fi

finish "exec sweeps"
