#!/usr/bin/python3
"""Compares two copysweep results files: every /trials column, curve, per-position accuracy,
gradient-flow profile and weight must be identical (NaN equal to NaN), except what measures time or
place: wall_s, conv_wall_*, host, rank, threads and the curves' wall_s. Exit 0 if identical.
Usage: compare_results.py A.h5 B.h5
"""
import sys

import h5py
import numpy as np

from checklib import verdict

SKIP = {"wall_s", "host", "rank", "threads", "conv_wall_50", "conv_wall_90", "conv_wall_99"}


def equal(x, y):
    if x.shape != y.shape:
        return False
    if x.dtype.kind == "f":
        return np.array_equal(x, y, equal_nan=True)
    return np.array_equal(x, y)


def main(a_path, b_path):
    diffs = []
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        ta, tb = a["trials"][...], b["trials"][...]
        if ta.dtype.names != tb.dtype.names or len(ta) != len(tb):
            diffs.append("the /trials tables have other columns or rows")
        else:
            diffs += [f"/trials column {n}" for n in ta.dtype.names if n not in SKIP and not equal(ta[n], tb[n])]
        if sorted(a["trial"].keys()) != sorted(b["trial"].keys()):
            diffs.append(f"trial groups {sorted(a['trial'].keys())} vs {sorted(b['trial'].keys())}")
        for k in set(a["trial"].keys()) & set(b["trial"].keys()):
            ga, gb = a["trial"][k], b["trial"][k]
            for d in ("per_position", "grad_flow"):
                if (d in ga) != (d in gb) or (d in ga and not equal(ga[d][...], gb[d][...])):
                    diffs.append(f"trial {k}: {d}")
            if "curves" in ga:
                ca, cb = ga["curves"][...], gb["curves"][...]
                diffs += [f"trial {k}: curves {n}" for n in ca.dtype.names
                          if n != "wall_s" and not equal(ca[n], cb[n])]
            if "weights" in ga:
                diffs += [f"trial {k}: weights {w}" for w in ga["weights"]
                          if not equal(ga["weights"][w][...], gb["weights"][w][...])]
    return verdict(diffs, f"compare_results: {a_path} and {b_path} differ in ",
                   f"compare_results: {a_path} and {b_path} are identical ({len(ta)} trials; timings and places aside)",
                   most=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
