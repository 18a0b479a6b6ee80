# The reporting helpers every test script sources: a line per check, and a count of failures.
fails=0
pass() { printf '  ok   %s\n' "$1"; }
fail() { printf '  FAIL %s\n' "$1"; fails=$((fails + 1)); }
check() { # NAME COMMAND...: pass if the command succeeds, showing its last line
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name: $(tail -n 1 <<<"$out")"; else fail "$name: $out"; fi
}
