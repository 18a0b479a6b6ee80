#!/usr/bin/python3
"""Checks a report against its results file, recomputing every number independently of analysis/:
each cell of the three summary tables in index.md ("mean ± SE (n=k)" or "(n=k of m)" or "missing")
must equal the one computed here from /trials with numpy (SE = sample standard deviation / √n over
the seeds that are done or diverged); summary.csv must hold the same numbers; the figures must be
non-empty PNGs, as many as expected; missing trials must be listed.
Usage: check_report.py RESULTS.h5 REPORT_DIR --figures N [--missing TRIAL ...]
"""
import argparse
import math
import os
import sys

import h5py
import numpy as np

NAMES = {"lstm": "LSTM", "mlstm": "multiplicative LSTM", "gru": "GRU", "mgru": "multiplicative GRU"}
TABLES = {"test_acc": "### Test symbol accuracy", "test_seq_acc": "### Test sequence accuracy",
          "test_loss": "### Test loss, nats per copy symbol"}


def expected_cell(values, n_all):
    v = np.array([x for x in values if np.isfinite(x)])
    if len(v) == 0:
        return "missing"
    text = f"{v.mean():.4f}" + (f" ± {v.std(ddof=1) / math.sqrt(len(v)):.4f}" if len(v) > 1 else "")
    return text + (f" (n={len(v)})" if len(v) == n_all else f" (n={len(v)} of {n_all})")


def table_rows(md, heading):
    lines = md.splitlines()
    i = lines.index(heading)
    header = [c.strip() for c in lines[i + 2].strip("|").split("|")]
    rows = {}
    for line in lines[i + 4:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header[1:], cells[1:]))
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("report")
    p.add_argument("--figures", type=int, required=True)
    p.add_argument("--missing", type=int, nargs="*", default=[])
    a = p.parse_args()
    problems, checked = [], 0
    with h5py.File(a.results, "r") as f:
        t = f["trials"][...]
    model = np.array([m.decode() for m in t["model"]])
    status = np.array([s.decode() for s in t["status"]])
    counted = np.isin(status, ["done", "diverged"])
    md = open(os.path.join(a.report, "index.md")).read()
    csv = open(os.path.join(a.report, "summary.csv")).read().splitlines()
    for metric, heading in TABLES.items():
        rows = table_rows(md, heading)
        for m in [m for m in NAMES if m in set(model)]:
            for T in sorted(set(t["T"])):
                sel = (model == m) & (t["T"] == T)
                want = expected_cell(t[metric][sel & counted], int(sel.sum()))
                got = rows.get(NAMES[m], {}).get(f"T = {T}")
                checked += 1
                if got != want:
                    problems.append(f"{metric} {m} T={T}: report '{got}', recomputed '{want}'")
                v = t[metric][sel & counted]
                if len(v) and not any(line.startswith(f",{m},{T},{metric},") and
                                      math.isclose(float(line.split(",")[4]), float(np.mean(v)), rel_tol=1e-12)
                                      for line in csv):
                    problems.append(f"summary.csv lacks {metric} {m} T={T} = {np.mean(v)}")
    pngs = [n for n in os.listdir(a.report) if n.endswith(".png")]
    for n in pngs:
        with open(os.path.join(a.report, n), "rb") as fig:
            head = fig.read(8)
        if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(os.path.join(a.report, n)) < 5000:
            problems.append(f"{n} is not a PNG with content")
    if len(pngs) != a.figures:
        problems.append(f"{len(pngs)} figures, expected {a.figures}")
    if a.missing:
        if "## Missing trials" not in md:
            problems.append("no 'Missing trials' section")
        listed = md.split("## Missing trials")[1].split("\n## ")[0] if "## Missing trials" in md else ""
        for k in a.missing:
            if f"\n| {k} |" not in listed:
                problems.append(f"missing trial {k} is not listed")
    elif "## Missing trials" in md:
        problems.append("a complete file is reported with missing trials")
    html = open(os.path.join(a.report, "index.html")).read()
    if html.count("<img ") != a.figures or "<table>" not in html:
        problems.append("index.html lacks the figures or the tables")
    if problems:
        print("check_report: FAIL: " + "; ".join(problems[:8]))
        return 1
    print(f"check_report: {checked} table cells equal their recomputation; {len(pngs)} PNG figures"
          + (f"; {len(a.missing)} missing trials listed" if a.missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
