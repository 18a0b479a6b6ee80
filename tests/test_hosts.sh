#!/bin/bash
# Across hosts (make test-hosts, as root): three hosts on this machine, each a network namespace with
# its own hostname, joined by a bridge in a namespace of its own; no route out, no forwarding, nothing
# added to the machine's own namespace; all of it removed at the end, also when a check fails. Open
# MPI starts the ranks across the hosts over TCP only (btl tcp,self; its launcher enters each
# namespace through plm_rsh_agent), every host sees the same file system. It shows:
#   1. a sweep across 3 hosts equals the same sweep on one host (compare_results), its trials run on
#      all three;
#   2. a host lost mid-sweep (every process in it SIGKILLed, its link taken down) while its worker
#      holds a trial: the sweep ends with mpirun's message and a non-zero status within a bounded time,
#      the file opens, and the same command on the two hosts left resumes (the lost worker's checkpoint,
#      written on that host, continues on another) to the uninterrupted run's results;
#   3. the master's host lost: the other hosts' processes end by themselves, the journal and the file
#      open, and a rerun with its master on another host resumes to the same results;
#   4. slow links (netem 100 ms delay and 1 % loss on every port of the bridge): the sweep finishes,
#      equal, within its compute bound plus the round trips its dispatches need.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
[ "$(id -u)" = 0 ] || { echo "test_hosts: needs root (network namespaces)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
tag=cs$$ # names of this run's namespaces and links: <tag>h1..3, <tag>sw, <tag>v1..3
net=10.77.$(($$ % 200 + 20))
LOST_BOUND=60 # seconds from a host's loss to the end of the sweep (TCP keepalive of 3 s + 3 × 1 s below)

teardown() {
    local ns p
    for ns in ${tag}h1 ${tag}h2 ${tag}h3 ${tag}sw; do
        for p in $(ip netns pids "$ns" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
        ip netns del "$ns" 2> /dev/null
    done
}
scratch teardown
cd "$work"

# --- the hosts: a bridge in its own namespace, a veth from it into each host
ip netns add ${tag}sw && ip -n ${tag}sw link add br0 type bridge && ip -n ${tag}sw link set br0 up \
    || { fail "cannot make network namespaces"; finish hosts; }
for i in 1 2 3; do
    ip netns add ${tag}h$i
    ip link add ${tag}v$i type veth peer name eth0 netns ${tag}h$i
    ip link set ${tag}v$i netns ${tag}sw
    ip -n ${tag}sw link set ${tag}v$i master br0 && ip -n ${tag}sw link set ${tag}v$i up
    ip -n ${tag}h$i addr add $net.$i/24 dev eth0 && ip -n ${tag}h$i link set eth0 up && ip -n ${tag}h$i link set lo up
done
routes=$(for i in 1 2 3; do ip -n ${tag}h$i route show default; done)
forwarding=$(for ns in ${tag}h1 ${tag}h2 ${tag}h3 ${tag}sw; do ip netns exec $ns cat /proc/sys/net/ipv4/ip_forward; done | sort -u)
outside=$(ip -o link show | grep -c "${tag}v")
[ -z "$routes" ] && [ "$forwarding" = 0 ] && [ "$outside" = 0 ] \
    && pass "3 hosts ($net.1-3, hostnames ${tag}h1-3) on a bridge in a namespace of its own; no default route, no forwarding, no link in the machine's namespace" \
    || fail "hosts: default routes '$routes', ip_forward '$forwarding', $outside links outside"

# the launcher's way into a host: "agent ADDRESS COMMAND" runs COMMAND in that host's namespace with
# its own hostname, as ssh would on a node
cat > agent <<EOF
#!/bin/bash
host=\$1; shift
ns=${tag}h\${host##*.}
exec ip netns exec "\$ns" unshare --uts /bin/sh -c "hostname \$ns; \$*"
EOF
chmod +x agent
MCA="--mca plm_rsh_agent $work/agent --mca btl tcp,self --mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0
     --mca oob_tcp_keepalive_time 3 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3"
hostfile() { # NAME SLOTS-OF-HOST-1 SLOTS-OF-HOST-2 SLOTS-OF-HOST-3 (0: not used)
    local i s n=$1
    shift
    : > "$n"
    for i in 1 2 3; do s=${!i}; [ "$s" -gt 0 ] && echo "$net.$i slots=$s" >> "$n"; done
}
on_host() { # I COMMAND...: run COMMAND on host I (its namespace and hostname), in the background; $job
    local i=$1
    shift
    ip netns exec ${tag}h$i unshare --uts /bin/sh -c "hostname ${tag}h$i; exec \"\$@\"" sh "$@" &
    job=$!
}
sweep_on() { # HOST HOSTFILE RANKS JOB OUT LOG: mpirun from HOST across the hostfile's hosts, in the background
    on_host "$1" timeout -k 10 300 mpirun --hostfile "$2" -n "$3" $MCA "$BIN" "$4" -o "$5"
}
mid=$ROOT/tests/jobs/mid.ini
"$BIN" "$mid" -o ref.h5 2> ref.log || fail "the reference run on one host: $(tail -2 ref.log)"

# --- 1. three hosts = one host
hostfile h3 2 1 1
sweep_on 1 h3 4 "$ROOT/jobs/smoke.ini" smoke3.h5 2> smoke3.log
wait_job $job; rc=$?
"$BIN" "$ROOT/jobs/smoke.ini" -o smoke1.h5 2> smoke1.log
[ $rc = 0 ] && check "smoke.ini on 3 hosts (4 ranks over TCP) equals smoke.ini on one host" \
    "$PYTHON" "$ROOT/tests/compare_results.py" smoke1.h5 smoke3.h5 || fail "3 hosts: exit $rc: $(tail -3 smoke3.log)"
hosts=$("$PYTHON" -c "import h5py; print(' '.join(sorted(set(h.decode() for h in h5py.File('smoke3.h5')['trials']['host']))))")
[ "$hosts" = "${tag}h1 ${tag}h2 ${tag}h3" ] && pass "its trials ran on every host: $hosts" || fail "hosts of the trials: $hosts"

# --- 2. a host lost while its worker holds a trial
lose_host() { # I: every process of host I killed, its link down
    local p
    for p in $(ip netns pids ${tag}h$1); do kill -KILL "$p" 2> /dev/null; done
    ip -n ${tag}sw link set ${tag}v$1 down
}
wait_running_on() { # FILE RANK: until a trial of FILE runs on RANK and has a checkpoint (at most 60 s)
    local t
    for t in $(seq 600); do
        "$BIN" status "$1" 2> /dev/null | grep -q "running on rank $2: epoch" && ls "$1".ckpt/*.ckpt > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
sweep_on 1 h3 4 "$mid" lost.h5 2> lost.log
if wait_running_on lost.h5 3; then
    held=$("$BIN" status lost.h5 | grep -o "trial [0-9]* ([^)]*) running on rank 3" | head -1)
    ckpts=$(ls lost.h5.ckpt/*.ckpt | wc -l)
    lose_host 3
    t0=$SECONDS
    wait_job $job; rc=$?
    took=$((SECONDS - t0))
    # mpirun's message: "lost communication with a remote daemon" if the link went first, "unable to
    # reliably start one or more daemons" if it saw the daemon it started die; then the master's own
    [ $rc != 0 ] && [ $took -le $LOST_BOUND ] && grep -q "ORTE has lost communication\|ORTE was unable to reliably start" lost.log \
        && grep -q "copysweep: SIGTERM: every worker checkpoints its trial; what is recorded stays" lost.log \
        && pass "host 3 lost while it held $held: the sweep ended in $took s (bound $LOST_BOUND s), exit $rc, with mpirun's message and the master's" \
        || fail "host lost: exit $rc after $took s: $(grep -v "^trial" lost.log | tail -12)"
    ip -n ${tag}sw link set ${tag}v3 up
    "$BIN" status lost.h5 > lost-status.txt 2>&1 && pass "the file and its journal open: $(head -1 lost-status.txt)" \
        || fail "status after the loss: $(cat lost-status.txt)"
    hostfile h12 2 1 0
    sweep_on 1 h12 3 "$mid" lost.h5 2> lost2.log
    wait_job $job; rc=$?
    [ $rc = 0 ] && check "resumed on the 2 hosts left ($ckpts checkpoints, among them host 3's trial's): the uninterrupted run's results" \
        "$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 lost.h5 || fail "resume without host 3: exit $rc: $(tail -3 lost2.log)"
    k=$(grep -o "^trial [0-9]*" <<<"$held" | grep -o "[0-9]*")
    on=$("$PYTHON" -c "import h5py; print(h5py.File('lost.h5')['trials']['host'][$k].decode())")
    if grep -q "trial $k .*running on rank" lost-status.txt; then # not recorded before the loss
        [ "$on" = "${tag}h1" ] || [ "$on" = "${tag}h2" ] \
            && pass "trial $k, which host 3 held with a checkpoint, finished on $on" || fail "trial $k finished on '$on'"
    else
        pass "trial $k was recorded by host 3 just before its loss (its resume on another host not shown this time)"
    fi
else
    fail "no trial ran on rank 3 with a checkpoint: $(tail -3 lost.log)"
    wait_job $job
fi

# --- 3. the master's host lost
sweep_on 1 h3 4 "$mid" master.h5 2> master.log
if wait_running_on master.h5 3; then
    lose_host 1
    t0=$SECONDS
    wait $job 2> /dev/null
    for _ in $(seq $((LOST_BOUND * 5))); do
        [ -z "$(ip netns pids ${tag}h2)$(ip netns pids ${tag}h3)" ] && break
        sleep 0.2
    done
    took=$((SECONDS - t0))
    left=$(ip netns pids ${tag}h2; ip netns pids ${tag}h3)
    [ -z "$left" ] && pass "host 1 (the master's) lost: hosts 2 and 3 had no process left after $took s (bound $LOST_BOUND s)" \
        || fail "host 1 lost: processes left on hosts 2 and 3 after $took s: $(for p in $left; do cat /proc/$p/comm; done | tr '\n' ' ')"
    for p in $left; do kill -KILL "$p" 2> /dev/null; done
    ip -n ${tag}sw link set ${tag}v1 up
    "$BIN" status master.h5 > master-status.txt 2>&1 && pass "the file and its journal open: $(head -1 master-status.txt)" \
        || fail "status after the master's loss: $(cat master-status.txt)"
    hostfile h23 0 2 1
    sweep_on 2 h23 3 "$mid" master.h5 2> master2.log
    wait_job $job; rc=$?
    [ $rc = 0 ] && check "rerun with its master on host 2: the uninterrupted run's results" \
        "$PYTHON" "$ROOT/tests/compare_results.py" ref.h5 master.h5 || fail "rerun after the master's loss: exit $rc: $(tail -3 master2.log)"
else
    fail "no trial ran on rank 3 with a checkpoint: $(tail -3 master.log)"
    wait_job $job
fi

# --- 4. slow links: 100 ms each way through the switch, 1 % of frames lost: tc netem on every port of
# the bridge, or where the kernel has no sch_netem, tests/slowlink.py as the switch (a hub that
# delays and drops as netem would)
if ip netns exec ${tag}sw tc qdisc add dev ${tag}v1 root netem delay 100ms loss 1% 2> /dev/null; then
    for i in 2 3; do ip netns exec ${tag}sw tc qdisc add dev ${tag}v$i root netem delay 100ms loss 1%; done
    how="tc netem"
else
    for i in 1 2 3; do ip -n ${tag}sw link set ${tag}v$i nomaster; done
    ip netns exec ${tag}sw "$PYTHON" "$ROOT/tests/slowlink.py" 0.1 0.01 ${tag}v1 ${tag}v2 ${tag}v3 &
    hub=$!
    how="tests/slowlink.py (this kernel has no sch_netem)"
    sleep 0.5
fi
start=$SECONDS
sweep_on 1 h3 4 "$ROOT/jobs/smoke.ini" slow.h5 2> slow.log
wait_job $job; rc=$?
wall=$((SECONDS - start))
makespan=$(grep -o "makespan [0-9.]* s" slow.log | awk '{print $2}')
bound=$(grep -o "= [0-9.]* s; makespan / bound" slow.log | awk '{print $2}')
# each trial a worker runs costs it one round trip to the master for the next (2 × 100 ms), more for a
# lost packet (TCP's retransmission, 200 ms or more): 16 trials over 3 workers, 6 each at most
allowed=$("$PYTHON" -c "print(round(float('${bound:-0}') + 6 * (0.2 + 1.0) + 2, 2))")
[ $rc = 0 ] && check "slow links (100 ms, 1 % loss, by $how): smoke.ini finished, equal to one host" \
    "$PYTHON" "$ROOT/tests/compare_results.py" smoke1.h5 slow.h5 || fail "slow links: exit $rc: $(tail -3 slow.log)"
"$PYTHON" -c "import sys; sys.exit(not float('${makespan:-1e9}') <= $allowed)" \
    && pass "slow links: makespan $makespan s within the compute bound $bound s + 6 round trips of at most 1.2 s + 2 s = $allowed s (wall $wall s with the start of the daemons)" \
    || fail "slow links: makespan ${makespan:-?} s over $allowed s (bound ${bound:-?} s)"

[ -n "${hub:-}" ] && kill $hub 2> /dev/null

finish "hosts"
