#!/usr/bin/python3
"""Checks a report against its results file, recomputing every number independently of analysis/:
each cell of the three accuracy and loss tables and of the bits table in index.md ("mean ± SE (n=k)"
or "(n=k of m)" or "missing") must equal the one computed here from /trials with numpy (SE = sample
standard deviation / √n over the seeds that are done or diverged), and so must each model's capacity
in bits; the summary paragraph must rank the models as /trials does, with the same numbers, the same
paired differences (95 % t-intervals, on the recalibrated bound where either cell's raw mean is ≤ 0,
separated after Holm's correction over the family of all pairs and lengths, never where neither cell
carries memory) and the same list of lengths where nothing is carried; every row of the
paired-differences table must be recomputed (p from Student's t in closed form, Holm the long way); summary.csv must hold the same numbers; the
figures must be non-empty PNGs, as many as expected; missing trials must be listed. Sections are
found by their titles; they must be numbered 1, 2, ... in order, and index.html must have the same
headings, each with the id its title gives.
Usage: check_report.py RESULTS.h5 REPORT_DIR --figures N [--missing TRIAL ...] [--carrying]
(--carrying: at least one length must have a ranking, so that the summary check is not vacuous)
"""
import argparse
import html
import math
import os
import re
import sys

import h5py
import numpy as np

from checklib import verdict
from report_md import has, headings, section

NAMES = {"lstm": "LSTM", "mlstm": "multiplicative LSTM", "gru": "GRU", "mgru": "multiplicative GRU"}
TABLES = {"test_acc": "Test symbol accuracy", "test_seq_acc": "Test sequence accuracy",
          "test_loss": "Test loss, nats per copy symbol", "test_bits": "Test memory, bits"}
DIGITS = {"test_bits": 2}
# Student's t, 97.5 % quantile, df = 1..5 (from tables)
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706}


def expected_cell(values, n_all, digits=4):
    v = np.array([x for x in values if np.isfinite(x)])
    if len(v) == 0:
        return "missing"
    text = f"{v.mean():.{digits}f}" + (f" ± {v.std(ddof=1) / math.sqrt(len(v)):.{digits}f}" if len(v) > 1 else "")
    return text + (f" (n={len(v)})" if len(v) == n_all else f" (n={len(v)} of {n_all})")


def t_interval(d):
    """mean, lower, upper of the 95 % t-interval of the values d."""
    d = np.asarray(d, dtype=float)
    m = d.mean()
    if len(d) < 2:
        return m, math.nan, math.nan
    h = T975[len(d) - 1] * d.std(ddof=1) / math.sqrt(len(d))
    return m, m - h, m + h


def t_p(d):
    """The two-sided p of the paired t-test on the differences d, from the closed forms of Student's t
    with 1 to 4 degrees of freedom (the fixtures have at most 5 seeds)."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    se = d.std(ddof=1) / math.sqrt(n)
    if se == 0:
        return float(d.mean() == 0)
    t, df = abs(d.mean() / se), n - 1
    if df == 1:
        return 1 - 2 / math.pi * math.atan(t)
    if df == 2:
        return 1 - t / math.sqrt(t * t + 2)
    if df == 3:
        return 1 - 2 / math.pi * (math.atan(t / math.sqrt(3)) + math.sqrt(3) * t / (t * t + 3))
    if df == 4:
        return 1 - t * (t * t + 6) / (t * t + 4) ** 1.5
    raise ValueError(f"{n} seeds: no closed form here")


def holm_adjusted(ps):
    """Holm's adjusted p-values, computed the long way: for each comparison, the largest over the ones
    at or below it in the sorted order of (K − rank)·p, capped at 1."""
    ranked = sorted(range(len(ps)), key=lambda i: ps[i])
    out = {}
    for pos, i in enumerate(ranked):
        out[i] = min(1.0, max((len(ps) - r) * ps[ranked[r]] for r in range(pos + 1)))
    return [out[i] for i in range(len(ps))]


def lower_end(vals, ses):
    """The lower end of a cell's 95 % interval over seeds (one seed: its test-set interval); where
    every seed's own test-set interval lies above 0, the least of their lower ends if it is higher."""
    own = [v - 1.959964 * se for v, se in zip(vals, ses)]
    if len(vals) == 1:
        return own[0]
    lo = t_interval(vals)[1]
    return max(lo, min(own)) if all(x > 0 for x in own) else lo


def bits_family(cells, Ts):
    """Every pair of models at every length in bits, as the report compares them: on the recalibrated
    bound where either raw mean is ≤ 0, idle where neither cell's interval lies above 0; Holm over all
    of them. cells[(m, T)] = {seed: (raw, raw_se, cal, cal_se)}. Returns {(T, a, b): row}."""
    fam = {}
    for T in Ts:
        ms = [m for m in NAMES if cells.get((m, T))]
        for i, a in enumerate(ms):
            for b in ms[i + 1:]:
                x, y = cells[(a, T)], cells[(b, T)]
                cal = min(np.mean([v[0] for v in x.values()]), np.mean([v[0] for v in y.values()])) <= 0
                k = 2 if cal else 0
                common = sorted(set(x) & set(y))
                d = [x[s][k] - y[s][k] for s in common]
                if not d:
                    continue
                idle = not any(lower_end([c[s][k] for s in c], [c[s][k + 1] for s in c]) > 0 for c in (x, y))
                fam[(T, a, b)] = dict(d=d, cal=cal, idle=idle, p=t_p(d) if len(d) > 1 else math.nan)
    keys = [k for k in fam if np.isfinite(fam[k]["p"])]
    for k, adj in zip(keys, holm_adjusted([fam[k]["p"] for k in keys])):
        fam[k].update(p_holm=adj, separated=adj < 0.05 and not fam[k]["idle"])
    return fam


def check_bits(t, model, counted, md, problems, carrying):
    """The summary paragraph, the capacity column and the paired-differences table against /trials.
    Returns the number of checks made."""
    checked = 0
    Ts = sorted(set(t["T"]))
    seeds = sorted(set(t["seed"]))
    rows_of = {(m, T, s): t[(model == m) & (t["T"] == T) & (t["seed"] == s) & counted] for m in NAMES for T in Ts
               for s in seeds}
    cells = {(m, T): {s: (float(r["test_bits"][0]), float(r["test_bits_se"][0]), float(r["test_bits_cal"][0]),
                          float(r["test_bits_cal_se"][0]))
                      for s in seeds for r in [rows_of[(m, T, s)]] if len(r) and np.isfinite(r["test_bits"][0])}
             for m in NAMES for T in Ts}
    bits = {k: {s: v[0] for s, v in d.items()} for k, d in cells.items()}
    family = bits_family(cells, Ts)
    summary = section(md, "Summary")
    nothing, ranked_Ts = [], []
    for T in Ts:
        cell_stats = {}
        for m in NAMES:
            v = list(bits[(m, T)].values())
            if v:
                mean = np.mean(v)
                lo = lower_end(v, [c[1] for c in cells[(m, T)].values()])
                cell_stats[m] = (mean, np.std(v, ddof=1) / math.sqrt(len(v)) if len(v) > 1 else math.nan, lo, len(v))
        if not cell_stats:
            continue
        if not any(c[2] > 0 for c in cell_stats.values()):
            nothing.append(T)
            if f"At T = {T} (" in summary:
                problems.append(f"summary ranks T = {T}, where no cell carries memory")
            continue
        ranked_Ts.append(T)
        order = sorted(cell_stats, key=lambda m: -cell_stats[m][0])
        want = " > ".join(f"{NAMES[m]} {cell_stats[m][0]:.2f}" + (f" ± {cell_stats[m][1]:.2f}" if cell_stats[m][3] > 1 else "")
                          + " bits" for m in order)
        got = re.search(rf"At T = {T} \(ceiling \d+ bits\) the models rank (.*?)(\. Paired|\.$|\. [A-Z])", summary, re.M)
        checked += 1
        if not got or got.group(1) != want:
            problems.append(f"summary at T = {T}: '{got.group(1) if got else None}', recomputed '{want}'")
        for a, b in zip(order, order[1:]):
            c = family.get((T, a, b)) or family.get((T, b, a))
            if c is None or len(c["d"]) < 2:
                continue
            sign = 1 if (T, a, b) in family else -1
            mean, lo, hi = t_interval([sign * x for x in c["d"]])
            text = (f"{NAMES[a]} − {NAMES[b]} {mean:+.2f} bits [{lo:+.2f}, {hi:+.2f}]" + (" (recalibrated)" if c["cal"] else "")
                    + (", separated" if c["separated"] else ", not separated"))
            checked += 1
            if text not in summary:
                problems.append(f"summary at T = {T} lacks '{text}'")
    if nothing and ranked_Ts:
        text = f"No model carries measurable memory at T = {', '.join(map(str, nothing))}:"
        checked += 1
        if text not in summary:
            problems.append(f"summary lacks '{text}'")
    if not ranked_Ts and "No model carries measurable memory at any length" not in summary:
        problems.append("summary does not say that no cell carries memory")
    if carrying and not ranked_Ts:
        problems.append("no length carries memory: the summary check would be vacuous")
    # capacity: the largest seed-mean bits over T
    rows = table_rows(md, TABLES["test_bits"])
    for m in NAMES:
        means = {T: np.mean(list(bits[(m, T)].values())) for T in Ts if bits[(m, T)]}
        if not means:
            continue
        best = max(means, key=means.get)
        want = f"{means[best]:.2f} (T = {best})"
        checked += 1
        if rows.get(NAMES[m], {}).get("capacity") != want:
            problems.append(f"capacity {m}: report '{rows.get(NAMES[m], {}).get('capacity')}', recomputed '{want}'")
    # the paired-differences table: every row of bits against the family above (its size named in the
    # metric column), of accuracy against its own family
    lines = [ln for ln in section(md, "Paired differences between models").splitlines()
             if ln.startswith("| ") and not ln.startswith("| T |")]
    accuracy = {(m, T): {s: float(t["test_acc"][(model == m) & (t["T"] == T) & (t["seed"] == s) & counted][0])
                         for s in seeds if ((model == m) & (t["T"] == T) & (t["seed"] == s) & counted).any()}
                for m in NAMES for T in Ts}
    acc_family = {}
    for T in Ts:
        ms = [m for m in NAMES if accuracy[(m, T)]]
        for i, a in enumerate(ms):
            for b in ms[i + 1:]:
                common = sorted(set(accuracy[(a, T)]) & set(accuracy[(b, T)]))
                d = [accuracy[(a, T)][s] - accuracy[(b, T)][s] for s in common]
                if d:
                    acc_family[(T, a, b)] = dict(d=d, cal=False, idle=False, p=t_p(d) if len(d) > 1 else math.nan)
    keys = [k for k in acc_family if np.isfinite(acc_family[k]["p"])]
    for k, adj in zip(keys, holm_adjusted([acc_family[k]["p"] for k in keys])):
        acc_family[k].update(p_holm=adj, separated=adj < 0.05)
    names = {v: k for k, v in NAMES.items()}
    sizes = {"bits": sum(np.isfinite(c["p"]) for c in family.values()),
             "accuracy": sum(np.isfinite(c["p"]) for c in acc_family.values())}
    seen = 0
    for ln in lines:
        c = [x.strip() for x in ln.strip("|").split("|")]
        T, (a, b), metric = int(c[0]), [names[x] for x in c[1].split(" − ")], c[2]
        kind = "accuracy" if metric.startswith("accuracy") else "bits"
        r = (acc_family if kind == "accuracy" else family).get((T, a, b))
        if r is None:
            problems.append(f"paired row {c[:3]}: no such comparison recomputed")
            continue
        dig = 2 if kind == "bits" else 4
        mean, lo, hi = t_interval(r["d"])
        label = kind + (", recalibrated" if r["cal"] else "")
        want = [f"{label} (family of {sizes[kind]})", ", ".join(f"{x:+.{dig}f}" for x in r["d"]), f"{mean:+.{dig}f}",
                f"[{lo:+.{dig}f}, {hi:+.{dig}f}]" if len(r["d"]) > 1 else "n/a", str(len(r["d"])),
                f"{r['p']:.3g}" if len(r["d"]) > 1 else "n/a", f"{r['p_holm']:.3g}" if len(r["d"]) > 1 else "n/a",
                "separated" if r.get("separated") else "no (neither carries memory)" if r["idle"] else "no"]
        checked += 1
        seen += 1
        if c[2:] != want:
            problems.append(f"paired row {c[:2]}: {c[2:]}, recomputed {want}")
    if seen != len(family) + len(acc_family):
        problems.append(f"the paired-differences table has {seen} rows, recomputed {len(family) + len(acc_family)}")
    return checked


def table_rows(md, title):
    """{first cell: {column: cell}} of the table under the third-level heading TITLE."""
    lines = section(md, title, level=3).strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header[1:], cells[1:]))
    return rows


def check_headings(md, page, problems):
    """The numbered sections run 1, 2, ... and index.html has the same headings with their ids."""
    numbered = [n for level, n, _ in headings(md) if n is not None]
    if numbered != list(range(1, len(numbered) + 1)):
        problems.append(f"sections numbered {numbered}")
    for level, n, title in headings(md)[1:]:
        anchor = "-".join(re.sub(r"[^\w]|_", " ", title.lower()).split())
        text = html.escape(f"{n}. {title}" if n else title)
        if level == 2 and f"<h2 id='{anchor}'>{text}</h2>" not in page:
            problems.append(f"index.html lacks <h2 id='{anchor}'>{text}</h2>")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("report")
    p.add_argument("--figures", type=int, required=True)
    p.add_argument("--missing", type=int, nargs="*", default=[])
    p.add_argument("--carrying", action="store_true")
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
                want = expected_cell(t[metric][sel & counted], int(sel.sum()), DIGITS.get(metric, 4))
                got = rows.get(NAMES[m], {}).get(f"T = {T}")
                if metric == "test_bits" and got and want != "missing":  # "... (n=k) [x%]": the fraction too
                    frac = np.mean(t["test_bits"][sel & counted]) / np.mean(t["bits_ceiling"][sel & counted])
                    want += f" [{frac:.1%}]"
                checked += 1
                if got != want:
                    problems.append(f"{metric} {m} T={T}: report '{got}', recomputed '{want}'")
                v = t[metric][sel & counted]
                if len(v) and not any(line.startswith(f",{m},{T},{metric},") and
                                      math.isclose(float(line.split(",")[4]), float(np.mean(v)), rel_tol=1e-12)
                                      for line in csv):
                    problems.append(f"summary.csv lacks {metric} {m} T={T} = {np.mean(v)}")
    checked += check_bits(t, model, counted, md, problems, a.carrying)
    pngs = [n for n in os.listdir(a.report) if n.endswith(".png")]
    for n in pngs:
        with open(os.path.join(a.report, n), "rb") as fig:
            head = fig.read(8)
        if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(os.path.join(a.report, n)) < 5000:
            problems.append(f"{n} is not a PNG with content")
    if len(pngs) != a.figures:
        problems.append(f"{len(pngs)} figures, expected {a.figures}")
    if a.missing:
        listed = section(md, "Missing trials") if has(md, "Missing trials") else ""
        if not listed:
            problems.append("no 'Missing trials' section")
        for k in a.missing:
            if f"\n| {k} |" not in listed:
                problems.append(f"missing trial {k} is not listed")
    elif has(md, "Missing trials"):
        problems.append("a complete file is reported with missing trials")
    page = open(os.path.join(a.report, "index.html")).read()
    if page.count("<img ") != a.figures or "<table>" not in page:
        problems.append("index.html lacks the figures or the tables")
    check_headings(md, page, problems)
    if checked == 0:
        problems.append("no table cell was checked: the check would pass on any report")
    return verdict(problems, "check_report: FAIL: ",
                   f"check_report: {checked} table cells equal their recomputation; {len(pngs)} PNG figures"
                   + (f"; {len(a.missing)} missing trials listed" if a.missing else ""))


if __name__ == "__main__":
    sys.exit(main())
