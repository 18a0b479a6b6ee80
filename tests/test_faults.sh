#!/bin/bash
# Fault injection at random moments of a running sweep: SIGKILL of the master, SIGKILL of a worker,
# SIGTERM to the whole job (mpirun and every rank, as a batch system sends it), a full disk (the output folder is a small tmpfs) and an output
# folder that becomes unwritable (the sweep runs as user nobody; the folder loses its write
# permission). After each: the results file opens with h5py (or was never created), the error says
# what happened, and resuming (in a roomy folder for the full disk) ends with results equal to an
# uninterrupted run's. ROUNDS (default 3) injections of each kind at random moments of the sweep;
# one that lands after the sweep finished did not test anything: it is tried again earlier (up to 3
# times), only injections into a running sweep count, and every kind must have hit one. SEED
# (default: the time) fixes the moments and is printed. Needs root (mount, runuser).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
ROUNDS=${ROUNDS:-3}
SEED=${SEED:-$(date +%s)}
RANDOM=$SEED
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="timeout -k 10 300 mpirun --oversubscribe"
mounts=()
unmount_all() {
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
}
scratch unmount_all
chmod 755 "$work"
cd "$work"
cp "$BIN" ./copysweep # where user nobody can run it
BIN=$work/copysweep
survived=0 hits=0 missed=0
declare -A hit_kind

cat > faults.ini <<'JOB'
[sweep]
checkpoint-minutes = 0.005
[settings]
model = lstm, gru
T = 10, 16
seed = 1, 2
hidden = 64
batch = 32
epochs = 12
patience = 0
train-size = 960
val-size = 64
test-size = 64
JOB
start=$(date +%s%N)
$MPIRUN -n 3 "$BIN" faults.ini -o ref.h5 2> ref.log || { fail "uninterrupted run: $(tail -2 ref.log)"; exit 1; }
ref_ms=$(( ($(date +%s%N) - start) / 1000000 ))
ref_bytes=$(stat -c %s ref.h5)
echo "  reference: 8 trials in $ref_ms ms, $ref_bytes bytes; seed $SEED, $ROUNDS rounds of 5 faults at moments within it"

# the processes of the sweep writing DIR/f.h5: its mpirun, and its rank R (or all ranks)
procs_named() { # DIR NAME
    for p in $(pgrep -f -- "-o $1/f.h5"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ] && echo $p; done
}
rank_pid() { # DIR RANK
    for p in $(procs_named "$1" copysweep); do
        tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo $p
    done
}
# a tmpfs of SIZE bytes at DIR, unmounted at the end
mount_tmpfs() {
    mkdir -p "$1" && mount -t tmpfs -o size="$2" tmpfs "$1" && mounts+=("$1")
}
# one injection: KIND ROUND TRY (each try earlier); sets landed=1 if it hit a running sweep
inject() {
    local kind=$1 n=$2 dir=$work/$1-$2-$3 delay_ms=$(( (ref_ms / 20 + RANDOM % (ref_ms * 6 / 10)) / ($3 + 1) )) as=()
    landed=0
    case $kind in
        full) mount_tmpfs "$dir" $(( (ref_bytes * (40 + RANDOM % 100)) / 100 )) || { fail "$kind $n: cannot mount a tmpfs"; return; } ;;
        unwritable) mkdir -p "$dir" && chown nobody "$dir" && as=(runuser -u nobody -- env HOME=/tmp) ;;
        *) mkdir -p "$dir" ;;
    esac
    "${as[@]}" $MPIRUN -n 3 "$BIN" faults.ini -o "$dir/f.h5" > /dev/null 2> "$dir.log" &
    local job=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    local what=""
    case $kind in
        kill-master) what="SIGKILL of the master"; kill -KILL $(rank_pid "$dir" 0) 2>/dev/null ;;
        kill-worker) what="SIGKILL of a worker"; kill -KILL $(rank_pid "$dir" $((1 + RANDOM % 2))) 2>/dev/null ;;
        term) what="SIGTERM to the whole job"; kill -TERM $(procs_named "$dir" mpirun) $(procs_named "$dir" copysweep) 2>/dev/null ;;
        full) what="a full disk ($(df --output=size -B1 "$dir" | tail -1 | tr -d ' ') bytes)" ;;
        unwritable) what="the output folder made unwritable"; chmod 555 "$dir" ;;
    esac
    wait_job $job
    local rc=$? said=ok
    what="$what after ${delay_ms} ms"
    if [ $rc = 0 ]; then # it came too late: nothing was tested
        missed=$((missed + 1))
        echo "  --   $what: the sweep had finished first; tried again earlier"
        [ "$kind" = full ] && umount "$dir"
        return
    fi
    landed=1 hits=$((hits + 1))
    hit_kind[$kind]=$(( ${hit_kind[$kind]:-0} + 1 ))
    # the message says what happened
    case $kind in
        full) [ $rc = 0 ] || grep -q "No space left on device" "$dir.log" || said="no 'No space left on device' in: $(tail -2 "$dir.log")" ;;
        unwritable) [ $rc = 0 ] || grep -q "Permission denied" "$dir.log" || said="no 'Permission denied' in: $(tail -2 "$dir.log")" ;;
        term) [ $rc = 0 ] || grep -q "stopped by SIGTERM.*run the same command to resume" "$dir.log" ||
              { ! grep -q "to run" "$dir.log" && what="$what (before the ranks had started)"; } || said="exit $rc: $(tail -2 "$dir.log")" ;;
        kill-*) [ $rc = 0 ] || grep -qi "signal 9\|killed" "$dir.log" || said="exit $rc without a word of the kill: $(tail -2 "$dir.log")" ;;
    esac
    # the file opens, or was never written
    local opens=ok
    if [ -e "$dir/f.h5" ]; then
        "$PYTHON" "$ROOT/tests/check_results.py" "$dir/f.h5" --n 8 > "$dir.check" 2>&1 || opens="$(tail -1 "$dir.check")"
    fi
    # resume where there is room, and compare with the uninterrupted run
    local resume=$dir
    if [ "$kind" = full ]; then
        resume=$work/$kind-$n-$3-roomy
        mkdir -p "$resume" && cp -a "$dir"/. "$resume"/ && umount "$dir"
    fi
    [ "$kind" = unwritable ] && chmod 755 "$dir"
    "${as[@]}" $MPIRUN -n 3 "$BIN" faults.ini -o "$resume/f.h5" > /dev/null 2> "$resume.resume.log"
    local rrc=$? same
    same=$("$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 "$resume/f.h5" 2>&1)
    if [ "$said" = ok ] && [ "$opens" = ok ] && [ $rrc = 0 ] && [[ $same == *identical* ]]; then
        survived=$((survived + 1))
        pass "$what: exit $rc; file opens; resumed run identical to the uninterrupted one"
    else
        fail "$what: exit $rc; message: $said; file: $opens; resume exit $rrc: $same $(tail -2 "$resume.resume.log")"
    fi
}

kinds="kill-master kill-worker term full unwritable"
for n in $(seq "$ROUNDS"); do
    for kind in $kinds; do
        for try in 0 1 2; do
            inject $kind $n $try
            [ $landed = 1 ] && break
        done
    done
done
for kind in $kinds; do
    [ "${hit_kind[$kind]:-0}" -ge 1 ] || fail "no $kind injection hit a running sweep in 3 tries per round"
done
echo "  $survived of $hits injections into a running sweep survived ($missed more came after it had finished and were tried again; seed $SEED)"
finish faults
