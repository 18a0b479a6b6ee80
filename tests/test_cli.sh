#!/bin/bash
# The command line as a user meets it: help, the data command, a trial written with -o and read
# back with h5py and h5dump, threads giving identical files, and every kind of bad input answered
# with one line naming the option and the value, exit status 2, and no file written.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
scratch

# --- help lists every option with its default
for cmd in "" "train"; do
    out=$($BIN $cmd --help 2>&1) || fail "copysweep $cmd --help exits 0"
    for opt in --model --task --T --hidden --batch --lr --optimizer --clip --epochs --train-size \
               --val-size --test-size --vocab --delay --seed; do
        grep -q -- "$opt .*default: " <<<"$out" || fail "copysweep $cmd --help lists $opt with its default"
    done
done
for cmd in "" "train"; do
    $BIN $cmd --help | grep -q -- '--threads .*default: 0' || fail "copysweep $cmd --help lists --threads"
done
pass "help lists every option with its default"

# --- the sweep's help: from the job file's command line, from 'help sweep', and first in --help
for args in "jobs/smoke.ini --help" "help sweep" "sweep --help"; do
    out=$($BIN $args 2>&1) || fail "copysweep $args exits 0"
    grep -q '^usage: \[mpirun -n N\] copysweep JOB.ini' <<<"$out" && grep -q -- '--progress bar|lines' <<<"$out" \
        && grep -q '^\[grid NAME\]\|  \[grid NAME\]' <<<"$out" || fail "copysweep $args: the sweep's usage, options and job file"
done
$BIN --help | sed -n 4p | grep -q 'copysweep JOB.ini' || fail "copysweep --help starts with the sweep"
[ "$($BIN -V)" = "$($BIN --version)" ] && $BIN -V | grep -q '^copysweep [0-9]' || fail "-V and --version"
$BIN help nonsense >/dev/null 2>&1; [ $? = 2 ] || fail "help of an unknown command exits 2"
$BIN > "$work/none.out" 2> "$work/none.err"; rc=$?
[ $rc = 2 ] && [ ! -s "$work/none.out" ] && [ "$(wc -l < "$work/none.err")" -le 10 ] && grep -q '^usage:' "$work/none.err" \
    && pass "no arguments: a short usage on stderr ($(wc -l < "$work/none.err") lines), exit 2" \
    || fail "no arguments: exit $rc, $(wc -l < "$work/none.err") lines on stderr, $(wc -l < "$work/none.out") on stdout"
msg=$($BIN frob 2>&1)
for c in sweep status merge train data bench help; do
    grep -q "\b$c\b" <<<"$msg" || fail "the unknown-command message lacks '$c': $msg"
done
grep -q "status" <<<"$msg" && grep -q "merge" <<<"$msg" && pass "an unknown command: the message names every command: $msg"
pass "the sweep's help (JOB.ini --help, help sweep), -V"
# status and merge: their help, and what they need
$BIN help status | grep -q '^usage: copysweep status FILE' && $BIN merge --help | grep -q -- '-o, --output FILE' \
    || fail "help of status and merge"
err=$($BIN status 2>&1); rc=$?
[ $rc = 2 ] && grep -q "status: a results file is needed" <<<"$err" || fail "status without a file: exit $rc: $err"
err=$($BIN merge a.h5 b.h5 2>&1); rc=$?
[ $rc = 2 ] && grep -q "merge: option '-o FILE' is needed" <<<"$err" || fail "merge without -o: exit $rc: $err"
err=$($BIN status a.h5 b.h5 2>&1); rc=$?
[ $rc = 2 ] && grep -q "unexpected argument 'b.h5'" <<<"$err" || fail "status of two files: exit $rc: $err"
pass "status and merge: help; a missing file, a missing -o and an extra argument are refused (exit 2)"

# --- data: L input ids, a tab, T target ids; the targets are the first T inputs
out=$($BIN data --task copy --T 10 --seed 1 --split test --count 5)
[ "$(wc -l <<<"$out")" = 5 ] || fail "data prints 5 lines"
bad=$(awk -F'\t' '{ n = split($1, x, " "); m = split($2, y, " ");
    if (n != 21 || m != 10 || x[11] != 9) { print; next }
    for (i = 1; i <= 10; i++) if (x[i] != y[i] || x[i] < 1 || x[i] > 8) { print; next }
    for (i = 12; i <= 21; i++) if (x[i] != 0) { print; next } }' <<<"$out")
[ -z "$bad" ] && pass "data: 21 input ids (symbols, delimiter 9, blanks), tab, 10 targets" || fail "data line format: $bad"
[ "$out" = "$($BIN data --T 10 --seed 1 --split test --count 5)" ] || fail "data is reproducible"
[ "$out" != "$($BIN data --T 10 --seed 1 --split train --count 5)" ] || fail "splits differ"
$BIN data --T 4 --delay 2 --vocab 4 --split validation --count 1 | grep -qP '^[1-4] [1-4] [1-4] [1-4] 0 0 5 0 0 0 0\t[1-4] [1-4] [1-4] [1-4]$' \
    && pass "data with --delay 2 --vocab 4" || fail "data with delay"

# --- the other tasks, as docs/method.md lays them out
out=$($BIN data --task copy-delay --T 20 --count 20)
bad=$(awk -F'\t' '{ n = split($1, x, " "); m = split($2, y, " ");
    if (n != 40 || m != 10 || x[30] != 9) { print; next }
    for (i = 1; i <= 10; i++) if (x[i] != y[i]) { print; next } }' <<<"$out")
[ "$(grep -c . <<<"$out")" = 20 ] && [ -z "$bad" ] \
    && pass "data --task copy-delay: 20 lines of 10 symbols, 19 blanks, delimiter, 10 blanks; the 10 symbols are the targets" \
    || fail "copy-delay lines ($(grep -c . <<<"$out") of 20): $bad"
out=$($BIN data --task temporal-order --T 100 --count 200)
bad=$(awk -F'\t' '{ n = split($1, x, " "); c = "";
    if (n < 100 || n > 110 || x[1] != "E" || x[n] != "B") { print; next }
    for (i = 2; i < n; i++) if (x[i] == "X" || x[i] == "Y") { c = c x[i]; if ((length(c) == 1 && (i < 11 || i > 21)) || (length(c) == 2 && (i < 51 || i > 61))) { print; next } }
    else if (x[i] !~ /^[abcd]$/) { print; next }
    if (c != $2) print }' <<<"$out")
[ "$(grep -c . <<<"$out")" = 200 ] && [ -z "$bad" ] \
    && pass "data --task temporal-order: 200 lines of E, a..d, X/Y at 10..20 and 50..60, B; the class is the marks in order" \
    || fail "temporal-order lines ($(grep -c . <<<"$out") of 200): $bad"
out=$($BIN data --task ntm-copy --T 6 --count 50)
bad=$(awk -F'\t' '{ n = split($1, x, " "); m = split($2, y, " ");
    if (n != 2 * m + 2 || x[1] != "0000000010" || x[m + 2] != "0000000001") { print; next }
    for (i = 1; i <= m; i++) if (x[i + 1] != y[i] "00") { print; next } }' <<<"$out")
[ "$(grep -c . <<<"$out")" = 50 ] && [ -z "$bad" ] \
    && pass "data --task ntm-copy: 50 lines of a start flag, n vectors, end flag, n blanks; the vectors are the targets" \
    || fail "ntm-copy lines ($(grep -c . <<<"$out") of 50): $bad"
printf 'first line\r\n\nsecond, longer line of the text\n' > "$work/one.txt"
for i in $(seq 300); do echo "line $i of the text"; done >> "$work/one.txt"
echo "a text of one line" > "$work/short.txt" # its line hashes to one split: the others are empty
out=$($BIN data --task charlm --text "$work/one.txt" --T 12 --split train --count 400)
bad=$(awk -F'\t' '{ if (length($1) < 1 || length($1) > 12 || $2 != length($1) + 1) print }' <<<"$out")
pieces=$(for s in train validation test; do $BIN data --task charlm --text "$work/one.txt" --T 12 --split $s --count 1000; done | cut -f1 | sort -u | wc -l)
want=$(tr -d '\r' < "$work/one.txt" | grep -v '^$' | awk '{ for (p = 1; p <= length($0); p += 12) print substr($0, p, 12) }' | sort -u | wc -l)
[ -z "$bad" ] && [ "$pieces" = "$want" ] && pass "data --task charlm: the lines cut into pieces of at most T characters, n + 1 targets each; the splits hold all $want distinct pieces" \
    || fail "charlm lines: $pieces pieces of $want; $bad"
printf '[settings]\nmodel = lstm, gru\nT = 20\neval-T = 10, 40\n' > "$work/eval.ini"
$BIN "$work/eval.ini" --list | grep -q '2 trials = model 2' && pass "eval-T = 10, 40 in a job file is one list, not an axis" \
    || fail "eval-T in a job file: $($BIN "$work/eval.ini" --list 2>&1)"

# --- a trial written with -o, read with h5py and h5dump
args="--model mgru --T 6 --hidden 16 --epochs 2 --train-size 320 --val-size 64 --test-size 64"
if $BIN train $args -o "$work/trial.h5" > "$work/train.log"; then
    grep -q '^model mgru (multiplicative GRU), [0-9]* parameters, [0-9]* threads' "$work/train.log" &&
    grep -q 'symbol accuracy .*(chance 1/K = 0.1250)' "$work/train.log" &&
    grep -q 'sequence accuracy' "$work/train.log" && grep -q 'nats per copy symbol' "$work/train.log" &&
    grep -qE '^  memory +-?[0-9.]+ ± [0-9.]+ bits .* of a ceiling of 18.00' "$work/train.log" &&
    grep -qE '^  recalibrated +-?[0-9.]+ ± [0-9.]+ bits at temperature' "$work/train.log" &&
    grep -qE '^gradient decay per step back in time, ρ: 0\.[0-9]+ with the initial weights' "$work/train.log" \
        && pass "train prints header, epochs and test metrics with the chance baseline, bits and ρ" \
        || fail "train output: $(cat "$work/train.log")"
    [ "$(grep -cE '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ ' "$work/train.log")" = 2 ] || fail "two epoch lines"
    "$PYTHON" tests/check_trial_file.py "$work/trial.h5" && pass "trial.h5 layout (h5py, pandas)" || fail "trial.h5 layout"
    h5dump -H "$work/trial.h5" > /dev/null && h5dump -d /trial/0/weights/W_m "$work/trial.h5" | grep -q 'DATASPACE  SIMPLE { ( 10, 10 )' \
        && pass "h5dump reads trial.h5 (W_m is 10x10)" || fail "h5dump"
    ls "$work" | grep -q tmp && fail "a temporary file was left behind"
    # an embedding of the symbols: E (I × D) is stored with the weights, W reads D channels
    $BIN train $args --embed 4 --chrono auto -o "$work/embed.h5" > "$work/embed.log" &&
    "$PYTHON" tests/check_trial_file.py "$work/embed.h5" > /dev/null &&
    h5dump -d /trial/0/weights/E "$work/embed.h5" | grep -q 'DATASPACE  SIMPLE { ( 10, 4 )' &&
    h5dump -d /trial/0/weights/W_m "$work/embed.h5" | grep -q 'DATASPACE  SIMPLE { ( 4, 4 )' &&
    grep -q 'embed=4' "$work/embed.log" && grep -q 'chrono=auto' "$work/embed.log" \
        && pass "embed 4: E (10x4) with the weights, W_m 4x4; chrono = auto in the header" \
        || fail "embed: $(cat "$work/embed.log")"
else
    fail "train -o"
fi

# --- the thread count changes no bit of the weights or curves
for t in 1 2; do
    $BIN train --model lstm --T 8 --hidden 24 --epochs 2 --train-size 320 --val-size 64 --test-size 64 \
        --chunk 8 --threads $t -o "$work/t$t.h5" > /dev/null || fail "train --threads $t"
done
h5diff "$work/t1.h5" "$work/t2.h5" /trial/0/weights > /dev/null && h5diff "$work/t1.h5" "$work/t2.h5" /trial/0/per_position > /dev/null \
    && pass "--threads 1 and 2 write identical weights" || fail "--threads 1 and 2 differ"

# --- bad input: one line naming option and value, exit 2, nothing written
expect_user_error() { # NAME PATTERN ARGS...
    local name=$1 pattern=$2
    shift 2
    local before after err rc
    before=$(ls -A "$work" | sort)
    err=$(cd "$work" && "$BIN" "$@" 2>&1 >/dev/null)
    rc=$?
    after=$(ls -A "$work" | sort)
    if [ $rc -ne 2 ]; then fail "$name: exit status $rc, expected 2 ($err)"
    elif [ "$(wc -l <<<"$err")" != 1 ]; then fail "$name: expected one line, got: $err"
    elif ! grep -qE -- "$pattern" <<<"$err"; then fail "$name: message '$err' does not match /$pattern/"
    elif [ "$before" != "$after" ]; then fail "$name: files changed in the working folder"
    else pass "$name: $err"; fi
}
expect_user_error "unknown model" "option '--model': 'lsmt' is not a valid model .*lstm, mlstm, gru, mgru, rnn, mrnn" train --model lsmt -o x.h5
expect_user_error "unknown option" "unknown option '--hiden'" train --hiden 5 -o x.h5
expect_user_error "T = 0" "option '--T': '0' is out of range \(expected an integer ≥ 1" train --T 0 -o x.h5
expect_user_error "T < 0" "option '--T': '-3' is out of range" train --T -3 -o x.h5
expect_user_error "non-number" "option '--lr': 'fast' is not a number" train --lr fast -o x.h5
expect_user_error "negative lr" "option '--lr': '-1' is out of range \(expected a number > 0" train --lr -1 -o x.h5
expect_user_error "hidden 0" "option '--hidden': '0' is out of range" train --hidden 0 -o x.h5
expect_user_error "fractional integer" "option '--epochs': '2.5' is not an integer" train --epochs 2.5 -o x.h5
expect_user_error "missing value" "option '--seed': missing value" train -o x.h5 --seed
expect_user_error "unwritable -o" "option '-o': cannot create a file next to 'no/such/dir/x.h5': No such file or directory" \
    train --T 5 -o no/such/dir/x.h5
expect_user_error "batch > train-size" "option '--batch': 64 is larger than train-size 32" train --batch 64 --train-size 32 -o x.h5
expect_user_error "unknown command" "unknown command 'trian'" trian --T 5
expect_user_error "bad split" "option '--split': 'dev' is not a split" data --split dev
expect_user_error "setting not for data" "data: unknown option '--hidden'" data --hidden 5
expect_user_error "bad threads" "option '--threads': '-1' is not allowed" train --threads -1 -o x.h5
expect_user_error "too few sequences" "option '--T': 3 with vocab 4 gives only 64 distinct sequences" data --T 3 --vocab 4 --split test

expect_user_error "delay with copy-delay" "option '--delay': 3 is not used by copy-delay" train --task copy-delay --delay 3 -o x.h5
expect_user_error "temporal-order too short" "option '--T': 5 is too short for temporal-order" train --task temporal-order --T 5 -o x.h5
expect_user_error "vocab with ntm-copy" "option '--vocab': 4 is not used by ntm-copy" train --task ntm-copy --vocab 4 -o x.h5
expect_user_error "eval-T not a list" "option '--eval-T': '10 x' is not a list of integers" train --eval-T "10 x" -o x.h5
expect_user_error "eval-T twice" "option '--eval-T': 20 is listed twice" train --eval-T "20 20" -o x.h5
expect_user_error "eval-T too short" "option '--eval-T': 8 is too short for temporal-order" train --task temporal-order --eval-T "20 8" -o x.h5
expect_user_error "charlm without a text" "option '--text': 'none' cannot be read \(expected the text file of charlm\)" train --task charlm -o x.h5
expect_user_error "charlm with a missing text" "option '--text': 'no.txt' cannot be read: No such file or directory" train --task charlm --text no.txt -o x.h5
expect_user_error "text without charlm" "option '--text': '.*one.txt' is used only by charlm" train --text "$work/one.txt" -o x.h5
expect_user_error "a text with an empty split (train)" "^copysweep: the trial failed: text '.*short.txt' has no line in the (validation|test|train) split" \
    train --task charlm --text "$work/short.txt" -o x.h5
expect_user_error "a text with an empty split (data)" "^copysweep: text '.*short.txt' has no line in the validation split" \
    data --task charlm --text "$work/short.txt" --split validation --count 1
expect_user_error "eval-T with charlm" "option '--eval-T': 20 is not used by charlm" train --task charlm --text "$work/one.txt" --eval-T 20 -o x.h5
expect_user_error "curriculum not below T" "option '--curriculum': 20 is not below T = 20" train --T 20 --curriculum 20 -o x.h5
expect_user_error "curriculum too short for copy" "option '--curriculum': 2 with vocab 8 gives only 64 distinct sequences" \
    train --T 20 --curriculum 2 -o x.h5
expect_user_error "curriculum that does not grow" "option '--curriculum-growth': '1' is out of range \(expected a number > 1" \
    train --T 20 --curriculum 5 --curriculum-growth 1 -o x.h5
expect_user_error "chrono 1" "option '--chrono': 1 leaves no range to draw from" train --chrono 1 -o x.h5
expect_user_error "chrono with the tanh RNN" "option '--chrono': auto is not used by tanh RNN, which has no gate to set" \
    train --model rnn --chrono auto -o x.h5
expect_user_error "chrono auto with charlm" "option '--chrono': auto takes T_max from the length" \
    train --task charlm --text "$work/one.txt" --chrono auto -o x.h5
expect_user_error "chrono not a number" "option '--chrono': 'soon' is not a number \(expected an integer ≥ 0 and ≤ 1e\+07, or auto\)" \
    train --chrono soon -o x.h5
expect_user_error "embed with ntm-copy" "option '--embed': 8 is not used by ntm-copy, whose inputs are vectors" \
    train --task ntm-copy --embed 8 -o x.h5
expect_user_error "embed negative" "option '--embed': '-2' is out of range \(expected an integer ≥ 0 and ≤ 4096\)" \
    train --embed -2 -o x.h5
expect_user_error "embed too large" "option '--embed': '5000' is out of range \(expected an integer ≥ 0 and ≤ 4096\)" \
    train --embed 5000 -o x.h5
expect_user_error "unknown task" "option '--task': 'adding' is not a valid task .*copy, copy-delay, temporal-order, ntm-copy, charlm" \
    train --task adding -o x.h5

# an existing results file is replaced only by a complete one
cp "$work/t1.h5" "$work/keep.h5"
expect_user_error "bad value with an existing -o file" "option '--T'" train --T 0 -o keep.h5
cmp -s "$work/t1.h5" "$work/keep.h5" && pass "the existing file is untouched" || fail "existing file changed"

# --- make install into a temporary prefix: the program, its man page, copysweep-report, the analysis
# modules, the sbatch scripts; make uninstall removes them all
prefix=$work/prefix
if make -s -C "$ROOT" install PREFIX="$prefix" > "$work/install.log" 2>&1; then
    "$prefix/bin/copysweep" --version | grep -q "^copysweep [0-9]" && pass "installed: copysweep --version" \
        || fail "installed copysweep --version"
    man1=$prefix/share/man/man1/copysweep.1
    missing=""
    for section in '^\.TH COPYSWEEP 1' '^\.SH "THE SWEEP: copysweep JOB.ini"' '^\.SH "COMMAND status"' '^\.SH "COMMAND merge"' \
                   '^\.SH "COMMAND train"' '^\.SH "COMMAND data"' '^\.SH "COMMAND bench"' '^  \[halving\]' '^signals:' '^files:' \
                   '^exit status:'; do
        grep -q "$section" "$man1" || missing="$missing $section"
    done
    [ -z "$missing" ] && [ "$("$BIN" help man)" = "$(cat "$man1")" ] \
        && pass "copysweep(1): every command, the job file, files, signals and exit statuses, as 'copysweep help man' prints them" \
        || fail "man page lacks:$missing"
    if command -v man > /dev/null; then
        MANWIDTH=100 man -l "$man1" 2> "$work/man.err" | grep -q "successive halving" && [ ! -s "$work/man.err" ] \
            && pass "man -l renders it without warnings" || fail "man -l: $(head -3 "$work/man.err")"
    fi
    "$prefix/bin/copysweep-report" "$work/t1.h5" -o "$work/installed-report" > /dev/null 2>&1 && [ -s "$work/installed-report/index.md" ] \
        && pass "installed: copysweep-report writes a report" || fail "installed copysweep-report"
    PYTHONPATH=$prefix/share/copysweep/analysis "$PYTHON" -c "import load, sys; assert len(load.trials(sys.argv[1])) == 1" "$work/t1.h5" \
        && pass "installed: load imports with PYTHONPATH=PREFIX/share/copysweep/analysis" || fail "installed load"
    mkdir -p "$work/elsewhere"
    found=$(cd "$work/elsewhere" && env -u COPYSWEEP PATH=$prefix/bin:$PATH bash -c "$(sed -n '/^# the program:/,/^fi$/p' "$prefix/share/copysweep/slurm/sweep.sbatch"); echo \$COPYSWEEP")
    [ "$found" = "$prefix/bin/copysweep" ] && pass "installed sweep.sbatch finds copysweep on PATH" || fail "sbatch found '$found'"
    make -s -C "$ROOT" uninstall PREFIX="$prefix" > /dev/null 2>&1
    left=$(find "$prefix" -type f | head -3)
    [ -z "$left" ] && pass "make uninstall removes every installed file" || fail "left after uninstall: $left"
else
    fail "make install: $(tail -3 "$work/install.log")"
fi

# every job file the project ships lists its trials (it parses, and every trial's settings are valid)
bad=""
for j in "$ROOT"/jobs/*.ini "$ROOT"/jobs/local/*.ini; do
    (cd "$ROOT" && "$BIN" "$j" --list > /dev/null 2> "$work/list.err") || bad="$bad $(basename "$j"): $(head -1 "$work/list.err")"
done
[ -z "$bad" ] && pass "every job file in jobs/ lists its trials" || fail "job files that do not list:$bad"

finish "command line"
