#!/usr/bin/env python3
"""check_runs.py FILE.h5 JOB_OUTPUT --trials N: /runs of a sweep that a Slurm job ran in several starts
(tests/test_slurm.sh) has one row for each run of the sweep that the job's output shows, in order and
with the same exit status; the first was stopped by its signal (3), the last completed (0), and the
rows' trials_run add up to N. A start whose launch failed before the sweep ran shows no exit of the
sweep and has no row. Prints the rows and the starts; exit status 1 when one of these fails."""
import argparse
import re
import sys

import h5py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("output")
    ap.add_argument("--trials", type=int, required=True)
    a = ap.parse_args()
    with h5py.File(a.results, "r") as f:
        runs = f["runs"][:]
    text = open(a.output).read()
    starts = re.findall(r"\(restart (\d+)\)", text)
    # the batch script's line after each run; 0 and 3 are the statuses of a run that wrote its row
    shown = [int(s) for s in re.findall(r"the sweep exited with status (\d+)", text)]
    rows = [int(r["exit_status"]) for r in runs]
    ran = sum(int(r["trials_run"]) for r in runs)
    print(f"{len(rows)} rows (" + "; ".join(
        f"{r['started'].decode()}: exit {r['exit_status']}, ran {r['trials_run']}, left {r['trials_left']}"
        for r in runs) + f"); the job output shows starts {starts} and exit statuses {shown}")
    problems = []
    if rows != [s for s in shown if s in (0, 3)]:
        problems.append("the rows' exit statuses are not the job output's")
    if len(rows) < 2 or rows[0] != 3 or rows[-1] != 0:
        problems.append("expected a first run stopped (3) and a last one complete (0)")
    if ran != a.trials:
        problems.append(f"the runs ran {ran} trials, expected {a.trials}")
    for p in problems:
        print("check_runs: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
