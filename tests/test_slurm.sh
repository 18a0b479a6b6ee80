#!/bin/bash
# `make test-slurm`: slurm/sweep.sbatch on a real one-node Slurm cluster started here on localhost.
# munged, slurmctld and slurmd run as root from a private folder (slurm/test-cluster.conf filled in
# with that folder, free ports and a private munge socket), so no system configuration is read or
# changed. Then:
#   1. jobs/smoke.ini through sbatch, launched with srun and with mpirun: every trial done;
#   2. a longer grid gets the warning signal mid-run (scancel --batch --signal=USR1, the signal
#      `#SBATCH --signal=B:USR1@...` delivers): the sweep checkpoints, the job requeues itself and
#      resumes, every trial finishes exactly once, and the results equal an uninterrupted run's;
#   3. jobs/smoke.ini as a job array of 3 shards (slurm/array.sbatch), merged: equal to the MPI run.
# Every daemon it started is stopped by its process id whatever the outcome; every wait is bounded.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish; ROOT, BIN, PYTHON
if [ "$(id -u)" != 0 ]; then
    echo "test-slurm: FAIL: needs root (slurmd launches the jobs)"
    exit 1
fi
missing=$(for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}\n' $p 2>/dev/null | grep -q 'ok installed' || echo $p; done)
if [ -n "$missing" ]; then
    echo "test-slurm: installing" $missing
    apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
        install --no-install-recommends $missing >/dev/null || { echo "test-slurm: FAIL: apt-get"; exit 1; }
fi

D=$(mktemp -d /tmp/copysweep-slurm.XXXXXX)
stop_daemons() {
    for f in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munge/munged.pid"; do
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
}
cleanup() {
    [ -n "${SLURM_CONF:-}" ] && scancel --quiet -u root 2>/dev/null
    stop_daemons
    if [ -n "${KEEP:-}" ]; then echo "test-slurm: kept $D (KEEP=1)"; else rm -rf "$D"; fi
}
trap cleanup EXIT

# --- the cluster
# Debian's slurmd 22.05 initializes its cgroup plugin even with proctrack/linuxproc and task/none
if ! grep -q ' /sys/fs/cgroup' /proc/mounts; then
    echo "test-slurm: FAIL: no cgroup filesystem is mounted on /sys/fs/cgroup, and Debian's slurmd 22.05 needs one"
    exit 1
fi
mkdir -p "$D/munge" "$D/state" "$D/spool" "$D/out"
chmod 755 "$D" "$D/munge"
dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$D/munge/munge.key"
munged --force --socket="$D/munge/munge.socket" --key-file="$D/munge/munge.key" --log-file="$D/munge/munged.log" \
    --pid-file="$D/munge/munged.pid" --seed-file="$D/munge/seed" || { echo "test-slurm: FAIL: munged"; exit 1; }
read -r port1 port2 < <("$PYTHON" -c "
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(('127.0.0.1', 0))
print(*[x.getsockname()[1] for x in s])")
mem=$(( $(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p') * 9 / 10 ))
# 4 CPUs whatever the machine has: a master and two single-threaded workers fit on 2 cores
sed "s|@DIR@|$D|g; s|@CTLD_PORT@|$port1|; s|@SLURMD_PORT@|$port2|; s|@CPUS@|4|; s|@MEM@|$mem|" \
    slurm/test-cluster.conf > "$D/slurm.conf"
export SLURM_CONF=$D/slurm.conf
if ! slurmctld -f "$SLURM_CONF" || ! slurmd -f "$SLURM_CONF"; then
    echo "test-slurm: FAIL: the Slurm daemons did not start"
    tail -n 5 "$D/slurmctld.log" "$D/slurmd.log" 2>&1
    exit 1
fi
for _ in $(seq 100); do [ "$(sinfo -h -N -o %T 2>/dev/null)" = idle ] && break; sleep 0.2; done
if [ "$(sinfo -h -N -o %T 2>/dev/null)" != idle ]; then
    echo "test-slurm: FAIL: the node did not become idle"; tail -n 5 "$D/slurmctld.log" "$D/slurmd.log"; exit 1
fi
pass "munged, slurmctld and slurmd up on localhost (ports $port1, $port2): $(sinfo -h -o '%P %a %D %t')"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
wait_state() { # JOB STATE SECONDS
    for _ in $(seq $(( $3 * 5 ))); do [ "$(job_state "$1")" = "$2" ] && return 0; sleep 0.2; done
    return 1
}

# slurm/sweep.sbatch asks for its warning signal 10 minutes before the time limit: the jobs here get 30
# minutes, so that no run is warned but by the test (a limit of 10 minutes makes the warning due at
# once, and slurmctld sends it at its next periodic check, in whichever run that falls)
# --- 1. the smoke grid, with each launcher
for launcher in srun mpirun; do
    out=$D/out/smoke-$launcher.h5
    # the test node declares 4 CPUs on 2 cores: mpirun may not bind 3 ranks to cores there
    LAUNCHER=$launcher MPIRUN_OPTS="--oversubscribe --bind-to none" timeout 180 sbatch --wait --ntasks=3 --time=30 --output="$D/out/smoke-$launcher-%j.out" \
        slurm/sweep.sbatch jobs/smoke.ini "$out" > /dev/null
    rc=$?
    [ $rc = 0 ] && check "sbatch slurm/sweep.sbatch jobs/smoke.ini with $launcher" \
        "$PYTHON" tests/check_results.py "$out" --n 16 --status done \
        || fail "smoke job with $launcher: exit $rc: $(tail -3 "$D"/out/smoke-$launcher-*.out)"
done

# --- 2. the warning signal mid-run: checkpoint, requeue, resume
OMP_NUM_THREADS=1 timeout 300 "$BIN" tests/jobs/mid.ini -o "$D/out/straight.h5" 2> "$D/out/straight.log" \
    || fail "the uninterrupted reference run: $(tail -2 "$D/out/straight.log")"
# trial 1 (among the first two to start) waits after its first update until the signal reaches it
# (COPYSWEEP_FAULT=hold:1; its resume from the checkpoint does not wait): the signal meets a sweep with
# trials left however fast the others run
job=$(COPYSWEEP_FAULT=hold:1 sbatch --parsable --ntasks=3 --time=30 --output="$D/out/mid-%j.out" slurm/sweep.sbatch tests/jobs/mid.ini "$D/out/mid.h5")
log=$D/out/mid-$job.out
for _ in $(seq 600); do grep -q ') done in' "$log" 2>/dev/null && break; sleep 0.1; done
scancel --batch --signal=USR1 "$job"
if wait_state "$job" PENDING 60; then
    restarts=$(scontrol show job "$job" | grep -o 'Restarts=[0-9]*')
    pass "SIGUSR1 to the batch script: the sweep stopped and the job requeued itself ($restarts)"
    # a requeued job waits 2 minutes otherwise; but slurmd refuses to launch it in the second in which
    # its first run was killed ("Job credential revoked": a credential counts as revoked unless it was
    # made after the revocation, to the second), and the job fails
    sleep 2
    scontrol update JobId="$job" StartTime=now
else
    fail "the job did not requeue: state $(job_state "$job"): $(tail -5 "$log")"
fi
if wait_state "$job" COMPLETED 240; then
    pass "the requeued job resumed and completed"
else
    fail "the requeued job did not complete: state $(job_state "$job"): $(tail -5 "$log")"
fi
grep -q 'exited with status 3' "$log" && grep -q 'checkpoint written' "$log" && grep -q '(restart 1)' "$log" \
    && grep -q 'exited with status 0' "$log" \
    && pass "the output (appended) shows the checkpoint, status 3, restart 1 and status 0" \
    || fail "job output: $(cat "$log")"
twice=$(grep -oE '^trial [0-9]+ \(.*\) done in' "$log" | awk '{print $2}' | sort | uniq -d)
finished=$(grep -oE '^trial [0-9]+ \(.*\) done in' "$log" | awk '{print $2}' | sort -u | wc -l)
[ -z "$twice" ] && [ "$finished" = 6 ] && pass "every one of the 6 trials finished exactly once across both runs" \
    || fail "trials finished twice: '$twice'; $finished distinct"
check "the resumed results equal the uninterrupted run's" "$PYTHON" tests/compare_results.py "$D/out/straight.h5" "$D/out/mid.h5"
# /runs: a row for each run of the sweep, as the job output shows them (a start of the job whose
# launch failed before the sweep ran has no row), the first stopped by the signal, the last complete
check "/runs records each run the job output shows, the first stopped (3), the last complete (0)" \
    "$PYTHON" tests/check_runs.py "$D/out/mid.h5" "$log" --trials 6

# --- 2b. a time limit too short for a requeue (5 minutes, less than the warning's 10): the warning is
# ignored, and SIGTERM to the ranks (as at the limit) stops the sweep with its checkpoints, no requeue.
# Trial 1 waits for the signal (COPYSWEEP_FAULT=hold:1), so that the sweep is still running for both.
job=$(COPYSWEEP_FAULT=hold:1 sbatch --parsable --ntasks=3 --time=5 --output="$D/out/short-%j.out" slurm/sweep.sbatch \
      tests/jobs/mid.ini "$D/out/short.h5")
log=$D/out/short-$job.out
for _ in $(seq 600); do grep -q ') done in' "$log" 2>/dev/null && break; sleep 0.1; done
scancel --batch --signal=USR1 "$job"
for _ in $(seq 300); do grep -q 'SIGUSR1 ignored' "$log" 2>/dev/null && break; sleep 0.1; done
sleep 0.5 # a warning not ignored would have stopped the sweep by now
state=$(job_state "$job")
scancel --signal=TERM "$job" # to the job's steps (the ranks), as at the limit
if wait_state "$job" FAILED 60 && [ "$state" = RUNNING ] && grep -q 'the warning is ignored' "$log" \
    && grep -q 'exited with status 3' "$log" && ! grep -q 'requeueing' "$log" \
    && [ "$(scontrol show job "$job" | grep -o 'Restarts=[0-9]*')" = Restarts=0 ]; then
    pass "a 5-minute limit: the warning ignored (the sweep ran on), SIGTERM checkpointed and stopped it, no requeue"
else
    fail "a 5-minute limit: state $state, then $(job_state "$job"): $(cat "$log")"
fi

# --- 3. a job array: three shards without MPI, merged, equal to the MPI sweep
timeout 240 sbatch --wait --array=1-3 --cpus-per-task=1 --time=30 --output="$D/out/array-%A_%a.out" \
    slurm/array.sbatch jobs/smoke.ini "$D/out/arr.h5" > /dev/null
rc=$?
shards=$(ls "$D"/out/arr.shard-*-of-3.h5 2>/dev/null | wc -l)
if [ $rc = 0 ] && [ "$shards" = 3 ]; then
    "$BIN" merge "$D"/out/arr.shard-{1,2,3}-of-3.h5 -o "$D/out/arr.h5" 2> "$D/out/merge.log" \
        && check "a job array of 3 shards (sbatch --array, slurm/array.sbatch), merged: equal to the MPI sweep, in grid order" \
            "$PYTHON" tests/compare_results.py "$D/out/smoke-srun.h5" "$D/out/arr.h5" --same-order \
        || fail "merging the shards: $(cat "$D/out/merge.log")"
else
    fail "the job array: exit $rc, $shards shard files: $(tail -3 "$D"/out/array-*.out)"
fi

finish slurm
