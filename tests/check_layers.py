#!/usr/bin/python3
"""The layers of the program: every #include of src/ and include/ goes to a module of the same or a
lower layer, and no modules include each other, directly or through others. A module is a header
and its source file (include/X.h, src/X.c). Exit 0 if the structure holds, 1 with the arrows that
break it."""
import glob
import os
import re
import sys

# lowest first; a module may include its own layer and those below
LAYERS = [
    ("base", "real check clock detmath rng pack version settings journal text"),
    ("kernels and records", "kernels batchmath metrics checkpoint"),
    ("cells and tasks", "cell lstm gru rnn mult model_kinds task copy temporal ntmcopy charlm task_kinds"),
    ("settings table, measures, optimizer", "settings_table info optim"),
    ("model", "model"),
    ("trial record", "trial_record"),
    ("trial", "train_impl train train_checkpoint train_log estimate exec_record exec exec_spec exec_trial"),
    ("successive halving", "halving"),
    ("the grid of a job and its samplers", "jobgrid tpe"),
    ("files", "results results_impl results_write results_edit results_merge results_read jobfile"),
    ("command line", "cli"),
    ("plan, progress and generations", "plan progress generations"),
    ("results store", "store"),
    ("the sweep's results file", "sweepfile"),
    ("sweep", "sweep"),
    ("main", "main"),
]


def main(root):
    layer = {m: k for k, (_, names) in enumerate(LAYERS) for m in names.split()}
    deps, problems = {}, []
    for path in sorted(glob.glob(f"{root}/src/*.c") + glob.glob(f"{root}/include/*.h")):
        m = os.path.splitext(os.path.basename(path))[0]
        if m not in layer:
            problems.append(f"{path}: module {m} is in no layer of tests/check_layers.py")
            continue
        for inc in re.findall(r'^#include "([^"]+)\.h"', open(path).read(), re.M):
            if inc == m:
                continue
            deps.setdefault(m, set()).add(inc)
            if layer.get(inc, -1) > layer[m]:
                problems.append(f"{path} includes {inc}.h: {LAYERS[layer[m]][0]} → {LAYERS[layer[inc]][0]}, upward")

    def reach(u):
        seen, todo = set(), [u]
        while todo:
            for v in deps.get(todo.pop(), ()):
                if v not in seen:
                    seen.add(v)
                    todo.append(v)
        return seen

    reached = {m: reach(m) for m in deps}
    for a, b in sorted({tuple(sorted((a, b))) for a in reached for b in reached[a] if a != b and a in reached.get(b, ())}):
        problems.append(f"{a} and {b} include each other (directly or through other modules)")
    for p in problems:
        print("check_layers:", p)
    if not problems:
        print(f"check_layers: {sum(len(v) for v in deps.values())} includes between {len(layer)} modules in "
              f"{len(LAYERS)} layers: none upward, no circle")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
