# What every test script sources once it is in the repository root: a line per check, a count of
# failures, the program and the Python under test, and a scratch folder.
fails=0
ROOT=$PWD
BIN=$(realpath "${COPYSWEEP:-$ROOT/copysweep}")
PYTHON=${PYTHON:-/usr/bin/python3}
pass() { printf '  ok   %s\n' "$1"; }
fail() { printf '  FAIL %s\n' "$1"; fails=$((fails + 1)); }
check() { # NAME COMMAND...: pass if the command succeeds, showing its last line
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name: $(tail -n 1 <<<"$out")"; else fail "$name: $out"; fi
}
scratch() { # [CLEANUP]: a new folder $work, removed at exit after the command CLEANUP
    work=$(mktemp -d)
    trap "${1:+$1; }rm -rf \"\$work\"" EXIT
}
descendants() { # PID: its child processes, theirs, and so on
    local c
    for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done
}
# wait_job PID: wait for a background job that runs mpirun, and return its exit status. Debian 12's
# mpirun (Open MPI 4.1, PMIx 4) can hang after its ranks ended when one of them was killed: its main
# thread, in PMIx_server_finalize, joins PMIx's progress thread, which waits for a lock for ever
# (seen once in eight runs of make test, in test_store; the results file is complete by then). An
# mpirun that has had no live rank for 20 s is killed, with a line that says so; the job's status is
# then 137.
wait_job() {
    local idle=0 p live runs
    while kill -0 "$1" 2> /dev/null; do
        live=0 runs=""
        for p in $(descendants "$1"); do
            case $(cat "/proc/$p/comm" 2> /dev/null) in
                mpirun) runs="$runs $p" ;;
                copysweep) [ "$(cut -d' ' -f3 "/proc/$p/stat" 2> /dev/null)" != Z ] && live=1 ;;
            esac
        done
        if [ -n "$runs" ] && [ $live = 0 ]; then idle=$((idle + 1)); else idle=0; fi
        if [ $idle -ge 100 ]; then
            echo "  note mpirun (pid$runs) hung for 20 s after its ranks ended (Open MPI's PMIx finalize): killed"
            kill -KILL $runs 2> /dev/null
            idle=0
        fi
        sleep 0.2
    done
    wait "$1"
}
finish() { # NAME: the script's last line, and exit status 1 if a check failed
    if [ $fails -gt 0 ]; then echo "$1: $fails FAILED"; exit 1; fi
    echo "$1: passed"
}
