#!/usr/bin/python3
"""Compares two copysweep results files: every /trials column and every dataset of every /trial/<n>
group (curves, per-position accuracy and bits, gradient-flow profile, eval-T results, weights) must be
identical (NaN equal to NaN), except what measures time or place: wall_s, conv_wall_*, host, rank,
threads, kernel (the kernel path) and the curves' wall_s. Trials are matched by their
settings' key (format 4), so that a merged or grown file compares with one written in grid order;
--same-order also requires the rows in the same order. Exit 0 if identical.
Usage: compare_results.py A.h5 B.h5 [--same-order]
"""
import sys

import h5py
import numpy as np

from checklib import verdict

SKIP = {"wall_s", "host", "rank", "threads", "kernel", "conv_wall_50", "conv_wall_90", "conv_wall_99"}


def by_key(t, same_order):
    """The rows in key order (and the trial numbers in that order), or as they are."""
    if same_order or "key" not in t.dtype.names:
        return t, [str(k) for k in t["trial"]]
    order = np.argsort(t["key"], kind="stable")
    return t[order], [str(k) for k in t["trial"][order]]


def equal(x, y):
    if x.shape != y.shape:
        return False
    if x.dtype.kind == "f":
        return np.array_equal(x, y, equal_nan=True)
    return np.array_equal(x, y)


def datasets(g):
    """The paths of every dataset under group g (curves, per_position, grad_flow, eval/..., weights/...)."""
    names = []
    g.visititems(lambda name, obj: names.append(name) if hasattr(obj, "dtype") else None)
    return sorted(names)


def group_diffs(ga, gb):
    """What differs between two /trial/<n> groups: datasets present in one only, and every dataset's
    values (compound ones field by field, the curves' wall_s aside)."""
    na, nb = datasets(ga), datasets(gb)
    if na != nb:
        return [f"datasets {sorted(set(na) ^ set(nb))[:5]} in one file only"]
    out = []
    for n in na:
        va, vb = ga[n][...], gb[n][...]
        if va.dtype != vb.dtype:  # fields, their order or their types: compared both ways
            out.append(f"{n} has other fields or types ({va.dtype} against {vb.dtype})")
        elif va.dtype.names:
            out += [f"{n} {f}" for f in va.dtype.names if f != "wall_s" and not equal(va[f], vb[f])]
        elif not equal(va, vb):
            out.append(n)
    return out


def main(a_path, b_path, same_order=False):
    diffs = []
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        (ta, na), (tb, nb) = by_key(a["trials"][...], same_order), by_key(b["trials"][...], same_order)
        if ta.dtype.names != tb.dtype.names or len(ta) != len(tb):
            diffs.append("the /trials tables have other columns or rows")
        else:
            skip = SKIP | ({"trial"} if not same_order else set())
            diffs += [f"/trials column {n}" for n in ta.dtype.names if n not in skip and not equal(ta[n], tb[n])]
        pairs = [(x, y) for x, y in zip(na, nb) if x in a["trial"] or y in b["trial"]]
        missing = [(x, y) for x, y in pairs if x not in a["trial"] or y not in b["trial"]]
        if missing:
            diffs.append(f"trial groups present in one file only: {missing[:5]}")
        for x, y in pairs:
            if (x, y) in missing:
                continue
            k = x if x == y else f"{x}/{y}"
            ga, gb = a["trial"][x], b["trial"][y]
            diffs += [f"trial {k}: {d}" for d in group_diffs(ga, gb)]
    return verdict(diffs, f"compare_results: {a_path} and {b_path} differ in ",
                   f"compare_results: {a_path} and {b_path} are identical ({len(ta)} trials; timings and places aside)",
                   most=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], "--same-order" in sys.argv[3:]))
