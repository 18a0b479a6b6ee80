#!/bin/bash
# valgrind memcheck of smoke trials of every task (with layers, dropout, eval-T, two threads), of the
# data command, and of a serial sweep: no invalid access, no use of uninitialised memory, no
# definite leak. Open MPI's own start-up and shut-down leaks are suppressed (tests/valgrind.supp).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
scratch
cd "$work"
memcheck() { # NAME EXIT_STATUS ARGS...: valgrind's own status for an error is 99
    local name=$1 want=$2 rc
    shift 2
    valgrind --num-callers=50 --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        --suppressions=/usr/share/openmpi/openmpi-valgrind.supp --suppressions="$ROOT/tests/valgrind.supp" \
        -q "$BIN" "$@" > out.log 2> vg.log
    rc=$?
    if [ $rc = "$want" ]; then pass "$name: exit $rc, no error, no definite leak"
    else fail "$name: exit $rc: $(grep -m1 -A8 'definitely lost\|Invalid\|uninitialised' vg.log || tail -3 vg.log)"; fi
}
small="--hidden 8 --epochs 1 --train-size 64 --val-size 32 --test-size 32"
for i in $(seq 80); do echo "line $i of a small text"; done > text.txt
memcheck "train copy, eval-T, 2 threads" 0 train --T 5 --eval-T "3 8" --threads 2 $small -o a.h5
memcheck "train ntm-copy, 2 layers, dropout" 0 train --task ntm-copy --T 4 --layers 2 --dropout 0.3 --model mlstm $small -o b.h5
memcheck "train charlm (mgru)" 0 train --task charlm --text text.txt --T 20 --model mgru $small -o c.h5
memcheck "train temporal-order (gru)" 0 train --task temporal-order --T 10 --model gru $small -o d.h5
memcheck "data" 0 data --task copy-delay --T 12 --count 3
printf '[settings]\nmodel = lstm, mgru\nT = 5\nhidden = 8\nepochs = 1\ntrain-size = 64\nval-size = 32\ntest-size = 32\n' > s.ini
memcheck "a serial sweep" 0 s.ini -o s.h5
printf '[settings]\nmodel = lstm\nT = 0\n' > bad.ini
memcheck "a bad job file" 2 bad.ini
memcheck "a bad option" 2 train --T 5 --hidden x
finish valgrind
