#!/usr/bin/python3
"""Checks a sweep's results file (with its journal, if a sweep left one): it opens with h5py and pandas, has one /trials row per grid point
in order, and the statuses expected. With --status S (repeatable, or S@TRIAL for one trial) every
trial must have status S; with --some-done at least one trial is done. Prints a count per status.
Usage: check_results.py FILE.h5 [--n N] [--status done] [--status diverged@3] [--some-done]
"""
import argparse
import sys

import os

import pandas as pd

from checklib import verdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
import load  # noqa: E402  (reads the file with its journal, as users' tools do)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("path")
    p.add_argument("--n", type=int)
    p.add_argument("--status", action="append", default=[])
    p.add_argument("--some-done", action="store_true")
    a = p.parse_args()
    with load.open_results(a.path) as f:
        df = pd.DataFrame(f["trials"][...])
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = df[c].str.decode("ascii")
        groups = set(f["trial"].keys()) | {str(k) for k in f.images}
        problems = []
        if a.n is not None and len(df) != a.n:
            problems.append(f"{len(df)} rows, expected {a.n}")
        if list(df["trial"]) != list(range(len(df))):
            problems.append("rows are not in grid order")
        for _, row in df.iterrows():
            final = row["status"] in ("done", "diverged", "failed", "pruned")
            if final != (str(row["trial"]) in groups):
                problems.append(f"trial {row['trial']} is {row['status']} but its group is {'missing' if final else 'there'}")
            if row["status"] == "done" and not (0 <= row["test_acc"] <= 1 and "weights" in f[f"trial/{row['trial']}"]):
                problems.append(f"trial {row['trial']} is done without test accuracy or weights")
        for s in a.status:
            status, _, trial = s.partition("@")
            rows = df if not trial else df[df["trial"] == int(trial)]
            if rows.empty:
                problems.append(f"expected {status}{'@' + trial if trial else ''}: there is no such trial")
                continue
            bad = rows[rows["status"] != status]
            if len(bad):
                problems.append(f"expected {status}: trial {list(bad['trial'])[:5]} is {list(bad['status'])[:5]}")
        if a.some_done and not (df["status"] == "done").any():
            problems.append("no trial is done")
    counts = ", ".join(f"{n} {s}" for s, n in df["status"].value_counts().items())
    return verdict(problems, f"check_results: {a.path}: FAIL: ", f"check_results: {a.path}: {len(df)} trials ({counts})",
                   most=6)


if __name__ == "__main__":
    sys.exit(main())
