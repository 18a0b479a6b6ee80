#!/bin/bash
# The report to explore (analysis/report_explore.py), in a real browser: a small searched sweep's
# report writes explore.html (7 figures, the Pareto front among them); headless Chromium opens it
# offline and the page raises no script error, every figure's plot is drawn (plotly's SVG in each
# section), and a screenshot is not blank.
# eta squared (the settings' shares of the variance) against values worked by hand, with a control.
# The live report (--watch) while a sweep runs: the page, opened once in Chromium, reloads itself and
# shows a trial that was running when it was opened as final (tests/watch_browser.py, the DevTools
# protocol on a pipe); the last build, after the sweep, does not reload. A program's search under TPE:
# its page draws its four figures in Chromium, and the Pareto front equals one recomputed here.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh # pass, fail, check, finish, scratch; ROOT, BIN, PYTHON
export OMP_NUM_THREADS=1 PYTHONPATH=$ROOT/analysis
scratch
cd "$work"
browser=$(command -v chromium || command -v chromium-browser || true)
"$PYTHON" -c "import plotly" 2> /dev/null || { fail "python3-plotly is not installed"; finish explore; }
[ -n "$browser" ] || { fail "chromium is not installed"; finish explore; }

"$PYTHON" - <<'EOF' && pass "eta squared: 1 where the groups explain all, 0.2 on a worked case, 0 where nothing varies" || fail "eta squared"
from report_explore import eta_squared
assert abs(eta_squared([1, 1, 5, 5], ["a", "a", "b", "b"]) - 1) < 1e-12
# groups a: 0, 2 (mean 1), b: 1, 3 (mean 2); grand mean 1.5: SS_between 4 × 0.25 = 1, SS_total 5
assert abs(eta_squared([0, 2, 1, 3], ["a", "a", "b", "b"]) - 0.2) < 1e-12
assert eta_squared([2, 2, 2], ["a", "b", "c"]) == 0
assert eta_squared([0, 2, 1, 3], ["a", "a", "b", "b"]) != eta_squared([0, 1, 2, 3], ["a", "a", "b", "b"])  # control
EOF

cat > se.ini <<JOB
[settings]
model = lstm, gru
seed = 1, 2
T = 5, 6
hidden = 8
train-size = 64
val-size = 32
test-size = 32
epochs = 2
[search]
samples = 3
lr = log-uniform 0.0001 0.01
JOB
"$BIN" se.ini -o se.h5 2> sweep.log || fail "the sweep: $(tail -2 sweep.log)"
"$PYTHON" "$ROOT/analysis/report.py" se.h5 -o rep > report.log 2>&1 || fail "the report: $(tail -3 report.log)"
sections=$(grep -o '<section id="[^"]*"' rep/explore.html | sed 's/.*id="//; s/"//' | tr '\n' ' ')
[ "$(wc -w <<<"$sections")" = 7 ] && grep -q "(explore.html)" rep/index.md \
    && pass "explore.html holds 7 figures ($sections), linked from index.md" || fail "explore.html: sections '$sections'"
! grep -q '<script[^>]*src=' rep/explore.html && [ "$(grep -c '<script' rep/explore.html)" -ge 6 ] \
    && pass "the page loads no script from elsewhere (plotly.js inline: it opens offline)" || fail "explore.html loads a script"

flags="--headless --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage --user-data-dir=$work/profile"
open_page() { # PAGE DOM LOG: the page in headless Chromium, its DOM once drawn and its console
    timeout 120 "$browser" $flags --enable-logging=stderr --v=0 --virtual-time-budget=20000 --dump-dom \
        "file://$1" > "$2" 2> "$3"
}
open_page "$work/rep/explore.html" dom.html console.log
drawn=$(grep -o 'class="main-svg"' dom.html | wc -l)
plots=$(grep -o 'class="plot-container plotly"' dom.html | wc -l)
[ "$plots" = 7 ] && [ "$drawn" -ge 7 ] && pass "Chromium drew every figure: $plots plots, $drawn SVG layers" \
    || fail "Chromium: $plots plots, $drawn SVG layers; $(grep -i console console.log | head -3)"
errors=$(grep -c "Uncaught\|CONSOLE.*[Ee]rror" console.log)
sed 's|</body>|<script>notAFunction();</script></body>|' rep/explore.html > rep/broken.html
open_page "$work/rep/broken.html" broken-dom.html broken.log
control=$(grep -c "Uncaught" broken.log)
[ "$errors" = 0 ] && [ "$control" -ge 1 ] && pass "no script error in the browser's console (a page with one added: $control seen)" \
    || fail "script errors: $errors ($(grep "Uncaught\|Error" console.log | head -3)); the control's: $control"
timeout 120 "$browser" $flags --virtual-time-budget=20000 --window-size=1200,1600 --screenshot="$work/shot.png" \
    "file://$work/rep/explore.html" > /dev/null 2>&1
"$PYTHON" - "$work/shot.png" <<'EOF' && pass "a screenshot of the page is not blank" || fail "screenshot blank or missing"
import sys
import matplotlib.image as mpimg
import numpy as np
img = mpimg.imread(sys.argv[1])[..., :3]
colours = len(np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0))
print(f"  {img.shape[1]}x{img.shape[0]} px, {colours} colours")
sys.exit(not (colours > 50 and img.std() > 0.02))
EOF

# --- a program's trials under TPE: the figures of a search, the Pareto front recomputed here
"$BIN" "$ROOT/tests/jobs/tpe.ini" -o syn.h5 2> syn.log || fail "the exec sweep: $(tail -2 syn.log)"
"$PYTHON" "$ROOT/analysis/report.py" syn.h5 -o srep > sreport.log 2>&1 || fail "the exec report: $(tail -3 sreport.log)"
sections=$(grep -o '<section id="[^"]*"' srep/explore.html | sed 's/.*id="//; s/"//' | tr '\n' ' ')
open_page "$work/srep/explore.html" sdom.html sconsole.log
plots=$(grep -o 'class="plot-container plotly"' sdom.html | wc -l)
[ "$sections" = "importance parallel-coordinates history pareto-front " ] && [ "$plots" = 4 ] \
    && [ "$(grep -c "Uncaught\|CONSOLE.*[Ee]rror" sconsole.log)" = 0 ] \
    && pass "an exec search's page in Chromium: $sections($plots plots drawn, no script error)" \
    || fail "exec page: sections '$sections', $plots plots; $(grep "Uncaught\|Error" sconsole.log | head -2)"
"$PYTHON" - syn.h5 srep/index.md <<'EOF' && pass "the Pareto front of loss and wall time: the report's rows are the non-dominated trials, recomputed" || fail "Pareto front"
import re, sys
import load
t = load.trials(sys.argv[1])
t = t[t["status"] == "done"]
pts = list(zip(t["trial"], t["loss"], t["wall_s"]))
front = {k for k, a, b in pts if not any(a2 <= a and b2 <= b and (a2 < a or b2 < b) for _, a2, b2 in pts)}
text = open(sys.argv[2]).read().split("Pareto front")[1]
rows = {int(m) for m in re.findall(r"^\| (\d+) \|", text, re.M)}
print(f"  {len(front)} of {len(pts)} trials on the front")
sys.exit(not (rows == front and 0 < len(front) < len(pts)))
EOF

# --- the live report: --watch while a sweep runs; the page, opened once, reloads itself and shows a
# trial that was running when it was opened as final; its running trial's curve is drawn dashed
cat > live.ini <<JOB
[settings]
model = gru
seed = 1, 2, 3, 4, 5, 6
T = 10
hidden = 48
train-size = 256
val-size = 32
test-size = 32
epochs = 800
patience = 0
target-acc = 1
JOB
"$BIN" live.ini -o live.h5 2> live.log &
sweep=$!
for _ in $(seq 100); do [ -e live.h5 ] && break; sleep 0.1; done
"$PYTHON" "$ROOT/analysis/report.py" live.h5 -o wrep --watch --every 1 > watch.log 2>&1 &
watcher=$!
for _ in $(seq 300); do grep -q 'id="running-trials">[0-9]' wrep/explore.html 2> /dev/null && break; sleep 0.1; done
"$PYTHON" "$ROOT/tests/watch_browser.py" "$browser" "file://$work/wrep/explore.html" 90 "$work/profile-watch" > browser.log 2>&1 \
    && pass "the watched page in Chromium: $(tr '\n' ' ' < browser.log)" || fail "watched page: $(cat browser.log; tail -3 watch.log)"
wait $sweep || fail "the watched sweep: $(tail -2 live.log)"
wait $watcher || fail "the watcher: $(tail -3 watch.log)"
builds=$(grep -c "rebuilt in" watch.log)
! grep -q 'http-equiv="refresh"' wrep/index.html wrep/explore.html && ! grep -q 'id="live"' wrep/explore.html \
    && [ "$builds" -ge 2 ] && grep -q "6 of 6 trials counted" watch.log \
    && pass "--watch built $builds times while the sweep ran, and stopped with it: the last pages do not reload" \
    || fail "after the sweep: builds $builds; $(tail -3 watch.log)"

finish "explore"
