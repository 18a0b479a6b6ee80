"""The axes beyond model and T: length generalization (eval-T), memory capacity in symbols, the aids
(chrono initialization and curriculum) and every other axis value against value."""
import math

import matplotlib.pyplot as plt
import numpy as np

import load
from report_data import COUNTED, bits_pair, correct, grouped, verdict
from report_doc import cell, signed
from stats import ALPHA, mean_se

CAPACITY = 0.9  # a length is copied when the test symbol accuracy reaches this
CHANCE_MARGIN = 0.02  # a mean accuracy within this of chance counts as chance


def generalization(data, d):
    """Section "Length generalization" (eval-T): trained T × evaluated T', a table and a figure per group."""
    ev = load.evals(data.path)
    if ev.empty:
        return
    d.section("Length generalization",
              "Test accuracy of the selected model of each trained length T (rows) at every evaluated "
              "length T' (columns, from eval-T; where eval-T does not list T itself, the diagonal is the "
              "model's own test set), mean over seeds. For ntm-copy T' is the exact number of vectors; it "
              "was trained on 1..T.")
    for title, sub in data.groups():
        e = ev[ev["trial"].isin(sub["trial"])]
        if e.empty:
            continue
        Ts = sorted(sub["T"].unique())
        Te = sorted(set(e["T_eval"]) | set(Ts))
        fig, axs = plt.subplots(1, len(data.models), figsize=(4 * len(data.models), 0.6 * len(Ts) + 2),
                                squeeze=False)
        rows = []
        for col, (ax, m) in enumerate(zip(axs[0], data.models)):
            grid = np.full((len(Ts), len(Te)), np.nan)
            for i, T in enumerate(Ts):
                g = data.counted_of(sub, m, T)
                row = [data.names[m], T]
                for j, T2 in enumerate(Te):
                    vals = e[e["trial"].isin(g["trial"]) & (e["T_eval"] == T2)]["acc"]
                    if T2 == T and vals.empty:  # eval-T does not list T: the trial's own test set
                        vals = g["test_acc"]
                    if len(vals):
                        grid[i, j] = mean_se(vals)[0]
                    row.append(cell(vals, len(g), 3))
                rows.append(row)
            im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
            ax.set_xticks(range(len(Te)), [str(t) for t in Te])
            ax.set_yticks(range(len(Ts)), [str(t) for t in Ts])
            ax.set_xlabel("evaluated T'")
            if col == 0:
                ax.set_ylabel("trained T")
            ax.set_title(data.names[m])
            for i in range(len(Ts)):
                for j in range(len(Te)):
                    if np.isfinite(grid[i, j]):
                        ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if grid[i, j] < 0.6 else "black")
        fig.colorbar(im, ax=axs[0].tolist(), shrink=0.8, label=f"test {data.unit(sub)} accuracy")
        data.save(d, fig, "generalization", "Trained T × evaluated T' test accuracy", title)
        d.table(["model", "trained T"] + [f"T' = {t}" for t in Te], rows)


def capacity(data, d):
    """Section "Memory capacity in symbols": the longest T copied at 90 % accuracy, and the figure."""
    copy = data.df[data.df["task"].isin(["copy", "copy-delay"])]
    if copy.empty or copy["T"].nunique() < 3:
        return
    d.section("Memory capacity in symbols")
    d.p(f"Test symbol accuracy against T, mean ± SE over seeds, per model (and hidden size, where it varies). "
        f"Capacity: the largest T copied at ≥ {CAPACITY:.0%} symbol accuracy, from the seed means, and its spread "
        f"as the mean ± SE of each seed's own capacity (0: never); 'chance from' is the first T whose mean is "
        f"within {CHANCE_MARGIN} of chance.")
    hidden = sorted(copy["hidden"].unique())
    keys = [k for k in ("task", "hidden") if copy[k].nunique() > 1]
    rows = []
    for values, g in grouped(copy, ["model"] + keys):
        done = g[g["status"].isin(COUNTED)]
        chance = float(done["chance_acc"].iloc[0]) if "chance_acc" in done and len(done) else 1 / 8
        Ts = sorted(g["T"].unique())
        means = {T: mean_se(done[done["T"] == T]["test_acc"])[0] for T in Ts}
        cap = max([T for T in Ts if means[T] >= CAPACITY], default=0)
        gone = min([T for T in Ts if means[T] < chance + CHANCE_MARGIN], default=None)
        per_seed = [max([T for T in Ts if ((sd["T"] == T) & (sd["test_acc"] >= CAPACITY)).any()], default=0)
                    for _, sd in done.groupby("seed")]
        rows.append([data.names.get(values[0], values[0])] + list(values[1:]) +
                     [cap, cell(per_seed, g["seed"].nunique(), 1).split(" (")[0] + f" (n={len(per_seed)})",
                      gone if gone is not None else "not reached"])
    d.table(["model"] + keys + ["capacity", "capacity per seed", "chance from"], rows)
    fig, axs = plt.subplots(1, len(hidden), figsize=(6 * len(hidden), 4), squeeze=False)
    for ax, H in zip(axs[0], hidden):
        sub = copy[copy["hidden"] == H]
        for m in data.models:
            g = data.counted_of(sub, m)
            if len(g):
                data.mean_bars(ax, g, "test_acc", m)
        data.accuracy_axes(ax, sub, "T")
        ax.axhline(CAPACITY, color="gray", ls="--", lw=0.8, label=f"{CAPACITY:.0%}")
        ax.set_title(f"H = {H}")
        ax.legend(fontsize=7)
    data.save(d, fig, "capacity", "Test accuracy against T: memory capacity of each model")


def ablation(data, d):
    """Section "Aids: chrono initialization and curriculum" against memory loss."""
    aids = [a for a in ("chrono", "curriculum") if a in data.axes]
    if not aids:
        return
    d.section("Aids: chrono initialization and curriculum")
    d.p("Test symbol accuracy per model and T with and without each aid (chrono: the T_max of the chrono "
        "initialization, 0 = off; curriculum: the first training length, 0 = off), mean ± SE over seeds, "
        "and the change against the plain model (both aids off) in the last columns.")
    rest = [a for a in data.other if a not in aids]  # a table for each combination of the other axes
    for values, sub in grouped(data.df, rest) if rest else [((), data.df)]:
        if rest:
            d.h(3, ", ".join(f"{a} = {load.shown(a, v)}" for a, v in zip(rest, values)))
        combos = sorted(grouped(sub, aids), key=lambda c: tuple(load.order(a, v) for a, v in zip(aids, c[0])))
        header = ["model", "T"] + [", ".join(f"{a} {load.shown(a, v)}" for a, v in zip(aids, vals))
                                   for vals, _ in combos]
        rows = []
        for m in data.models:
            for T in data.Ts:
                if not ((sub["model"] == m) & (sub["T"] == T)).any():  # not in the sweep at all
                    continue
                row, means = [data.names[m], T], []
                for _, g in combos:
                    sel = g[(g["model"] == m) & (g["T"] == T)]
                    acc = sel.loc[sel["status"].isin(COUNTED), "test_acc"]
                    row.append(cell(acc, len(sel)))
                    means.append(mean_se(acc)[0])
                plain = means[0] if all(v == 0 for v in combos[0][0]) else math.nan
                row += [f"{x - plain:+.4f}" if np.isfinite(x - plain) else "" for x in means[1:]]
                rows.append(row)
        d.table(header + [f"Δ {h}" for h in header[3:]], rows)


def factors(data, d):
    """Section "Factors: paired differences": every other axis, value against value."""
    axes = [a for a in data.other if a != "task"]  # tasks differ in their ceilings: not comparable
    if not axes or not data.has_bits:
        return
    d.section("Factors: paired differences")
    d.p("Each axis other than model and T, one value against the baseline value (the one most trials have), "
        "paired by (model, T, seed) with every other setting equal: the per-seed differences in test bits (on the "
        "recalibrated bound where either side's raw mean is at or below 0), their mean, its 95 % t-interval "
        "(df = n − 1) and the paired t-test's p. Each axis's rows are one family: 'separated' when Holm's "
        f"correction over them keeps the difference at level {ALPHA}, and never where neither side carries memory.")
    c = data.counted
    for a in axes:
        rest = [x for x in data.other if x != a]
        counts = c[a].value_counts()
        base = sorted(counts.index[counts == counts.max()], key=lambda v: load.order(a, v))[0]
        family = []
        for v in sorted((v for v in c[a].unique() if v != base), key=lambda v: load.order(a, v)):
            for keys, g in grouped(c, ["model", "T"] + rest):
                x, y = g[g[a] == v].set_index("seed"), g[g[a] == base].set_index("seed")
                if x.empty or y.empty:
                    continue
                common = x.index.intersection(y.index)
                p = bits_pair(x.loc[common], y.loc[common])
                if p["n"]:
                    family.append((v, keys, p))
        correct(p for _, _, p in family)
        rows = []
        for v, keys, p in family:
            rows.append([f"{load.shown(a, v)} − {load.shown(a, base)}", data.names.get(keys[0], keys[0]), keys[1]] +
                        [load.shown(r, k) for r, k in zip(rest, keys[2:])] +
                        ["recalibrated" if p["metric"] == "test_bits_cal" else "raw",
                         ", ".join(signed(x, 2) for x in p["diffs"]), signed(p["mean"], 2),
                         f"[{signed(p['lo'], 2)}, {signed(p['hi'], 2)}]" if p["n"] > 1 else "n/a", p["n"],
                         f"{p['p']:.3g}" if p["n"] > 1 else "n/a", f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a",
                         verdict(p)])
            data.record(f"{a} {load.shown(a, v)} - {load.shown(a, base)}", keys[0], keys[1], "test_bits_paired",
                        p["mean"], math.nan, p["n"], p["n"])
        if rows:
            d.h(3, f"{a}: each value against {load.shown(a, base)}")
            d.p(f"A family of {len(rows)} comparisons.")
            d.table([a, "model", "T"] + rest + ["bound", "per seed", "mean", "95 % interval", "n", "p", "Holm p",
                                                "separated"], rows)
