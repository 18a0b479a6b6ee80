#!/usr/bin/python3
"""Checks the reports of two sweeps of tests/test_report.sh, recomputing their numbers with numpy.
Without --charlm: task = copy-delay, temporal-order, ntm-copy with model = lstm, mgru, two seeds and
eval-T = 12 20: the task sections are there, the chance baseline is each task's, and every cell of
the length-generalization tables equals the mean ± SE of /trial/<n>/eval; the stored examples score
the right steps. With --charlm: every test-perplexity cell equals the mean ± SE of exp(test_loss).
With --capacity: each model's capacity (the largest T whose seed-mean test accuracy is ≥ 0.9) is
the one recomputed here, and the capacity figure exists. With --ablation: every cell of the aids
table (chrono × curriculum) and every difference against the plain model is recomputed. With --lag
(tests/jobs/lag.ini): bits(S, D), capacity(D), the holding table, the gate statistics and the
final ρ of each cell against its multiplicative variant.
Usage: check_tasks_report.py RESULTS.h5 REPORT_DIR [--charlm | --capacity | --ablation | --lag]
"""
import os
import sys

import h5py
import numpy as np

from report_md import has, section

TASKS = ("copy-delay", "temporal-order", "ntm-copy")
MODELS = {"LSTM": b"lstm", "multiplicative GRU": b"mgru"}
SCORED_AT_20 = {"copy-delay": 10, "temporal-order": 1, "ntm-copy": 20}


def charlm(results, report):
    md = open(os.path.join(report, "index.md")).read()
    lines = [ln for ln in section(md, "charlm: perplexity").splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    f = h5py.File(results, "r")
    t = f["trials"][...]
    names = {v: k for k, v in MODELS.items()} | {b"gru": "GRU", b"mlstm": "multiplicative LSTM"}
    checked = 0
    for line in lines[1:]:
        cells = dict(zip(header, [c.strip() for c in line.strip("|").split("|")]))
        sel = [r for r in t if names[r["model"]] == cells["model"] and
               all(str(r[k].decode() if isinstance(r[k], bytes) else r[k]) == cells[k]
                   for k in header[1:-3])]
        p = np.exp([r["test_loss"] for r in sel if r["status"] in (b"done", b"diverged")])
        want = f"{np.mean(p):.3f} ± {np.std(p, ddof=1) / np.sqrt(len(p)):.3f} (n={len(p)})"
        assert cells["test perplexity"] == want, f"{cells}: recomputed '{want}'"
        checked += 1
    assert checked == len(set((r["model"], r["optimizer"], r["dropout"]) for r in t)), checked
    print(f"check_tasks_report: {checked} test-perplexity cells equal their recomputation")
    return 0


def capacity(results, report):
    md = open(os.path.join(report, "index.md")).read()
    assert os.path.getsize(os.path.join(report, "capacity.png")) > 1000, "no capacity figure"
    rows = {ln.split("|")[1].strip(): ln.split("|")[2].strip()
            for ln in section(md, "Memory capacity in symbols").splitlines()
            if ln.startswith("| ") and not ln.startswith("| model")}
    t = h5py.File(results, "r")["trials"][...]
    names = {b"lstm": "LSTM", b"gru": "GRU"}
    for model, name in names.items():
        mine = t[(t["model"] == model) & (t["status"] == b"done")]
        means = {T: np.mean(mine[mine["T"] == T]["test_acc"]) for T in sorted(set(mine["T"]))}
        want = max([T for T, a in means.items() if a >= 0.9], default=0)
        assert rows.get(name) == str(want), f"{name}: report says capacity {rows.get(name)}, recomputed {want}"
    assert any(rows[n] != "0" for n in names.values()), "no model copies any length: the check would be vacuous"
    print(f"check_tasks_report: capacity {', '.join(f'{n} {rows[n]}' for n in names.values())} equals the recomputation")
    return 0


def ablation(results, report):
    md = open(os.path.join(report, "index.md")).read()
    lines = [ln for ln in section(md, "Aids: chrono initialization and curriculum").splitlines()
             if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    t = h5py.File(results, "r")["trials"][...]
    names = {"LSTM": b"lstm", "GRU": b"gru"}
    checked = 0
    for line in lines[1:]:
        cells = dict(zip(header, [c.strip() for c in line.strip("|").split("|")]))
        sel = t[(t["model"] == names[cells["model"]]) & (t["T"] == int(cells["T"]))]
        means = {}
        for chrono, cur in ((0, 0), (0, 4), (20, 0), (20, 4)):
            acc = sel[(sel["chrono"] == chrono) & (sel["curriculum"] == cur)]["test_acc"]
            want = f"{acc[0]:.4f} (n=1)"
            got = cells[f"chrono {chrono}, curriculum {cur}"]
            assert got == want, f"{cells['model']} T={cells['T']} chrono {chrono} curriculum {cur}: {got} vs {want}"
            means[(chrono, cur)] = acc[0]
            if (chrono, cur) != (0, 0):
                delta = cells[f"Δ chrono {chrono}, curriculum {cur}"]
                assert delta == f"{acc[0] - means[(0, 0)]:+.4f}", (delta, acc[0] - means[(0, 0)])
            checked += 1
    assert checked == 16, checked
    # the factors section: chrono 20 against 0, paired by (model, T, curriculum, seed), in test bits
    lines = [ln for ln in section(md, "chrono: each value against 0", level=3).splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = 0
    for line in lines[1:]:
        cells = dict(zip(header, [c.strip() for c in line.strip("|").split("|")]))
        sel = t[(t["model"] == names[cells["model"]]) & (t["T"] == int(cells["T"])) &
                (t["curriculum"] == int(cells["curriculum"]))]
        x, y = sel[sel["chrono"] == 20][0], sel[sel["chrono"] == 0][0]
        # on the recalibrated bound where either side's raw bits are at or below 0 (docs/method.md "Multiple comparisons")
        cal = min(x["test_bits"], y["test_bits"]) <= 0
        col = "test_bits_cal" if cal else "test_bits"
        diff = x[col] - y[col]
        assert (cells["chrono"] == "20 − 0" and cells["bound"] == ("recalibrated" if cal else "raw") and
                cells["per seed"] == f"{diff:+.2f}" and cells["n"] == "1"), (cells, diff)
        rows += 1
    assert rows == 8, rows
    print(f"check_tasks_report: {checked} aid cells and their differences, and {rows} paired chrono rows of the "
          "factors section, equal their recomputation")
    return 0


def table(md, title, level=2, after=None):
    """The rows of the first table in a section (after the line starting with AFTER), as dicts."""
    text = section(md, title, level)
    if after:
        text = text[text.index(after):]
    lines = []
    for ln in text.splitlines():
        if ln.startswith("|"):
            lines.append(ln)
        elif lines:
            break
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, [c.strip() for c in ln.strip("|").split("|")])) for ln in lines[2:]]


def all_rows(md, title, level=2, after=None):
    """The rows of every table in a section (after the line starting with AFTER), as dicts."""
    out, lines = [], []
    text = section(md, title, level)
    for ln in (text[text.index(after):] if after else text).splitlines() + [""]:
        if ln.startswith("|"):
            lines.append(ln)
            continue
        if lines:
            header = [c.strip() for c in lines[0].strip("|").split("|")]
            out += [dict(zip(header, [c.strip() for c in x.strip("|").split("|")])) for x in lines[2:]]
        lines = []
    return out


def mean_se(v, digits):
    v = np.asarray(v, dtype=float)
    return f"{v.mean():.{digits}f}" + (f" ± {v.std(ddof=1) / np.sqrt(len(v)):.{digits}f}" if len(v) > 1 else "")


def bits_cell(raw, cal):
    """The report's bits(S, D) text: the raw bound, or the recalibrated one (*) where the raw mean is ≤ 0."""
    starred = np.mean(raw) <= 0
    return mean_se(cal if starred else raw, 2) + ("*" if starred else "")


def lag(results, report):
    """tests/jobs/lag.ini: every cell of bits(S, D), capacity(D), the holding table, the gate statistics
    and the final ρ ratios, recomputed from /trials and /trial/<n>/eval."""
    md = open(os.path.join(report, "index.md")).read()
    f = h5py.File(results, "r")
    t = f["trials"][...]
    names = {"LSTM": b"lstm", "multiplicative LSTM": b"mlstm"}
    title = "Memory against lag and load"
    checked = 0
    rows = table(md, title)
    assert len(rows) == 2, rows
    for cells in rows:
        mine = t[t["model"] == names[cells["model"]]]
        best = {}
        for S, D in sorted(set(zip(mine["load"], mine["lag"]))):
            g = mine[(mine["load"] == S) & (mine["lag"] == D)]
            want = bits_cell(g["test_bits"], g["test_bits_cal"]) + f" (n={len(g)})"
            got = cells[f"S = {S}, D = {D}"]
            assert got == want, f"{cells['model']} S={S} D={D}: report '{got}', recomputed '{want}'"
            v = np.mean(g["test_bits_cal"] if np.mean(g["test_bits"]) <= 0 else g["test_bits"])
            if v > best.get(D, (-np.inf, 0))[0]:
                best[D] = (v, S)
            checked += 1
        cap = next(r for r in table(md, title, after="capacity(D), bits") if r["model"] == cells["model"])
        for D, (v, S) in best.items():
            assert cap[f"D = {D}"] == f"{v:.2f} (S = {S})", (cap, D, v, S)
            checked += 1
    assert checked == 2 * (3 + 2), checked  # (S, D) = (4, 15), (10, 15), (10, 22); D = 15, 22
    # holding: trained D = 15 tested at D = 22, from the eval rows of copy-delay
    hold = all_rows(md, title, after="Holding beyond")
    for cells in hold:
        trained = int(cells["trained D"])
        ks = [r["trial"] for r in t if r["model"] == names[cells["model"]] and r["lag"] == trained
              and r["task"] == b"copy-delay"]
        for D2 in (15, 22):
            got = cells[f"tested D = {D2}"]
            if D2 == trained:
                g = t[np.isin(t["trial"], ks)]
                want = bits_cell(g["test_bits"], g["test_bits_cal"]) + " (trained)"
            else:
                e = [x for k in ks for x in f[f"trial/{k}/eval"][...] if x["lag"] == D2]
                want = bits_cell([x["bits"] for x in e], [x["bits_cal"] for x in e])
            assert got == want, f"holding {cells['model']} {trained} → {D2}: '{got}' vs '{want}'"
            checked += 1
    assert len(hold) == 4, hold
    # gate statistics: mean ± SE over seeds of hold_<x>_mean, [mean of hold_<x>_sd]
    ngate = 0
    for cells in all_rows(md, "Gate statistics over the hold"):
        header = list(cells)
        g = t[(t["model"] == names[cells["model"]]) & (t["T"] == int(cells["T"]))]
        for x in header[2:]:
            if not np.isfinite(g[f"hold_{x}_mean"]).any():
                assert cells[x] == "", (cells, x)
                continue
            want = mean_se(g[f"hold_{x}_mean"], 3) + f" [{np.mean(g[f'hold_{x}_sd']):.3f}]"
            assert cells[x] == want, f"gate {x} of {cells['model']} T={cells['T']}: '{cells[x]}' vs '{want}'"
            ngate += 1
    assert ngate == 3 * (4 + 5), ngate  # 3 (T, task) rows per model: ifoc, and ifoc + m
    # the final ρ: multiplicative / plain, the geometric mean of the per-seed ratios
    nrho = 0
    for cells in table(md, "The final decay: each cell against its multiplicative variant"):
        T = int(cells["T"])
        sel = t[(t["T"] == T) & (t["task"] == (b"copy" if T == 4 else b"copy-delay"))]
        x = {r["seed"]: r["rho_final"] for r in sel if r["model"] == b"mlstm"}
        y = {r["seed"]: r["rho_final"] for r in sel if r["model"] == b"lstm"}
        ratio = np.exp(np.mean([np.log(x[k]) - np.log(y[k]) for k in sorted(x)]))
        assert cells["ratio [95 %]"].startswith(f"{ratio:.4f} ["), (cells, ratio)
        nrho += 1
    assert nrho == 3, nrho
    print(f"check_tasks_report: {checked} cells of bits(S, D), capacity(D) and holding, {ngate} gate statistics "
          f"and {nrho} ratios of the final ρ equal their recomputation")
    return 0


def main(results, report, mode=None):
    if mode == "--lag":
        return lag(results, report)
    if mode == "--ablation":
        return ablation(results, report)
    if mode == "--charlm":
        return charlm(results, report)
    if mode == "--capacity":
        return capacity(results, report)
    md = open(os.path.join(report, "index.md")).read()
    for level, title in ((2, "copy-delay: loss against updates"), (2, "Length generalization"),
                         (2, "ntm-copy: targets and outputs"), (3, "Test bit accuracy (task = ntm-copy)"),
                         (3, "Test class accuracy (task = temporal-order)")):
        assert has(md, title, level), f"no '{title}' in the report"
    figs = [n for n in os.listdir(report) if n.endswith(".png")]
    # 3 tasks × (bits against T, per-position bits) added to the 14 figures of the accuracy sections
    assert len(figs) == 20 and all(os.path.getsize(os.path.join(report, n)) > 1000 for n in figs), figs
    f = h5py.File(results, "r")
    t = f["trials"][...]
    chance = {r["task"].decode(): r["chance_acc"] for r in t}
    assert chance == {"copy-delay": 0.125, "temporal-order": 0.25, "ntm-copy": 0.5}, chance
    checked = 0
    for task in TASKS:
        figure = f"generalization_task_{task.replace('-', '_')}.png"
        rows = md.split(figure + ")")[1].split("\n| ")[2:4]  # after the header and the rule
        for row in rows:
            cells = [c.strip() for c in row.split("|")]
            trials = [r["trial"] for r in t if r["task"].decode() == task and r["model"] == MODELS[cells[0]]]
            for col, T2 in ((3, 12), (4, 20)):
                acc = [e["acc"] for k in trials for e in f[f"trial/{k}/eval"][...] if e["T"] == T2]
                want = f"{np.mean(acc):.3f} ± {np.std(acc, ddof=1) / np.sqrt(len(acc)):.3f} (n={len(acc)})"
                assert cells[col] == want, f"{task} {cells[0]} T'={T2}: report '{cells[col]}', recomputed '{want}'"
                checked += 1
            scored = int((f[f"trial/{trials[0]}/eval_examples/20/target"][...] >= 0).sum())
            assert scored == SCORED_AT_20[task], f"{task}: the example at T'=20 scores {scored} steps"
    assert checked > 0, "no generalization cell was checked"
    print(f"check_tasks_report: {checked} generalization cells equal their recomputation; {len(figs)} figures")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(*sys.argv[1:]))
    except (AssertionError, KeyError) as e:  # KeyError: a section that the report lacks
        print(f"check_tasks_report: {e.args[0] if e.args else e}")
        sys.exit(1)
