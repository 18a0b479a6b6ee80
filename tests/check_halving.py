#!/usr/bin/python3
"""Successive halving against decisions known in advance: FULL.h5 is the job without [halving]
(every trial at its full budget), HALVED.h5 the same job with it, run by one worker. The decisions
are simulated from FULL's curves: within each group (the trials that differ only in the searched
setting), in trial order (the sweep's order when the searched setting does not change a trial's
cost), a trial at rung r records the best validation metric up to that epoch and goes on only if
fewer than max(1, floor(n / eta)) of the n values recorded there did better. HALVED must have the
simulated status (pruned or done) and epochs of every trial, and curves equal to FULL's up to them.
Usage: check_halving.py FULL.h5 HALVED.h5 --rungs 2,4 --reduction 2 --metric val_bits --searched lr
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
import load  # noqa: E402
from checklib import verdict  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("full")
    p.add_argument("halved")
    p.add_argument("--rungs", required=True)
    p.add_argument("--reduction", type=float, required=True)
    p.add_argument("--metric", required=True)
    p.add_argument("--searched", required=True)
    a = p.parse_args()
    rungs = [int(r) for r in a.rungs.split(",")]
    full, halved = load.trials(a.full), load.trials(a.halved)
    fc, hc = load.curves(a.full), load.curves(a.halved)
    fcur = {k: g.sort_values("epoch") for k, g in fc.groupby("trial")}
    hcur = {k: g.sort_values("epoch") for k, g in hc.groupby("trial")}
    problems = []
    if len(full) != len(halved) or list(full["key"]) != list(halved["key"]):
        return verdict([f"the files hold other trials ({len(full)} and {len(halved)})"], "FAILED: ", "")
    group_cols = [c for c in load.axes(full) + ["seed"] if c not in ("trial", a.searched, "sample")]
    recorded = {}
    expected = {}
    for k in full.sort_values("trial")["trial"]:
        row = full[full["trial"] == k].iloc[0]
        group = tuple(row[c] for c in group_cols)
        vals = fcur[k][a.metric].to_numpy()
        stop = None
        for r, epoch in enumerate(rungs):
            if len(vals) < epoch or math.isnan(vals[epoch - 1]):
                break
            best = np.nanmax(np.where(np.isnan(vals[:epoch]), -np.inf, vals[:epoch]))
            seen = recorded.setdefault((group, r), [])
            seen.append(best)
            better = sum(v > best for v in seen)
            if not better < max(1, math.floor(len(seen) / a.reduction)):
                stop = epoch
                break
        expected[k] = stop
    pruned = 0
    for k, stop in expected.items():
        h = halved[halved["trial"] == k].iloc[0]
        want_status = "pruned" if stop else full[full["trial"] == k].iloc[0]["status"]
        want_epochs = stop if stop else int(full[full["trial"] == k].iloc[0]["epochs"])
        pruned += bool(stop)
        if h["status"] != want_status or int(h["epochs"]) != want_epochs:
            problems.append(f"trial {k}: {h['status']} after {h['epochs']} epochs, expected {want_status} after {want_epochs}")
            continue
        x, y = fcur[k][a.metric].to_numpy()[:want_epochs], hcur[k][a.metric].to_numpy()
        if len(y) != want_epochs or not np.array_equal(x, y, equal_nan=True):
            problems.append(f"trial {k}: its curve differs from the full run's first {want_epochs} epochs")
    if not pruned or pruned == len(expected):
        problems.append(f"{pruned} of {len(expected)} trials pruned: the job decides nothing")
    return verdict(problems, "FAILED: ", f"{pruned} of {len(expected)} trials pruned at the known rungs, the rest "
                   "at their full budget, curves equal to the full run's")


if __name__ == "__main__":
    sys.exit(main())
