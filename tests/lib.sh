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
finish() { # NAME: the script's last line, and exit status 1 if a check failed
    if [ $fails -gt 0 ]; then echo "$1: $fails FAILED"; exit 1; fi
    echo "$1: passed"
}
