"""Section "Pareto front": the trials no other trial beats on both of two metrics, each with its
direction: by default test bits (larger is better) against the measured cost per update (smaller
is better), or for a file of exec trials the objective of its TPE search against the trial's wall
time; any two /trials columns with --pareto A:max,B:min. The interactive page draws the same front."""
import numpy as np
import pandas as pd

import load
from report_data import COUNTED

FRONT_ROWS = 20  # rows of the front's table (the rest are counted)


def metrics(data):
    """[(column, maximize), (column, maximize)] of the front, or None where the file has no default and
    none was asked for."""
    if data.pareto:
        return data.pareto
    if not data.exec:
        return [("test_bits" if data.has_bits else "test_acc", True), ("s_per_update", False)]
    s = data.spec
    if s["sampler"] == "tpe" and s["objective"] in data.everything.columns:
        return [(s["objective"], s["maximize"]), ("wall_s", False)]
    return None


def points(data):
    """The counted trials with both metrics finite (and, for the default, the cost per update)."""
    ms = metrics(data)
    if not ms:
        return None, None
    rows = data.everything[data.everything["status"].isin(COUNTED)].copy()
    if not data.exec and "s_per_update" not in rows:
        updates = rows["epochs"] * (rows["train_size"] // rows["batch"]).clip(lower=1)
        rows["s_per_update"] = rows["wall_s"] / updates.where(updates > 0)
    cols = [c for c, _ in ms]
    if any(c not in rows.columns for c in cols):
        return ms, rows.iloc[:0]
    for c in cols:
        rows[c] = pd.to_numeric(rows[c], errors="coerce")
    return ms, rows[np.isfinite(rows[cols]).all(axis=1)]


def by_length(data, rows):
    """The rows in the groups whose fronts are drawn: per T for the built-in engine (bits at different
    lengths are different quantities), else all together."""
    if not data.exec and "T" in rows and rows["T"].nunique() > 1:
        return [(f"T = {T}", g) for T, g in rows.groupby("T")]
    return [("", rows)]


def on_front(data, rows, a, b, amax, bmax):
    """A boolean Series over rows: on the front of its group (by_length)."""
    on = pd.Series(False, index=rows.index)
    for _, g in by_length(data, rows):
        on[g.index] = front(g[[a, b]].to_numpy(), [amax, bmax])
    return on


def front(values, maximize):
    """A boolean array: the rows of values (n × 2) that no other row is at least as good as on both
    metrics and better on one (each metric oriented by maximize)."""
    v = np.asarray(values, dtype=float) * np.where(maximize, 1.0, -1.0)
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        dominated = (v >= v[i]).all(axis=1) & (v > v[i]).any(axis=1)
        keep[i] = not dominated.any()
    return keep


def pareto(data, d):
    """Section "Pareto front": its trials, best first on the first metric."""
    ms, rows = points(data)
    if not ms or rows is None or len(rows) < 2:
        return
    (a, amax), (b, bmax) = ms
    multi = len(by_length(data, rows)) > 1
    on = rows[on_front(data, rows, a, b, amax, bmax)]
    on = on.sort_values(["T", a] if multi else a, ascending=[True, not amax] if multi else not amax)
    d.section("Pareto front")
    what = {"s_per_update": "the measured seconds per update (wall time / updates run)"}
    d.p(f"The {len(on)} of {len(rows)} counted trials that no other trial beats on both {a} "
        f"({'larger' if amax else 'smaller'} is better) and {what.get(b, b)} ({'larger' if bmax else 'smaller'} "
        "is better): each is the best there is at its cost" + (", at its length T (a front per T)" if multi else "") +
        ". The interactive page marks them among all trials." +
        (f" The first {FRONT_ROWS}:" if len(on) > FRONT_ROWS else ""))
    keys = [k for k in data.searched + [x for x in data.axes if x not in data.searched] + [data.seed]
            if k and k in on.columns]
    keys = list(dict.fromkeys(keys))
    out = []
    for _, r in on.head(FRONT_ROWS).iterrows():
        out.append([int(r["trial"])] + [str(load.shown(k, r[k])) for k in keys] +
                   [f"{r[a]:.4g}", f"{r[b]:.4g}"])
    d.table(["trial"] + keys + [a, b], out)
