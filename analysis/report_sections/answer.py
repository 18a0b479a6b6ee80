"""The sections the report opens with: its title, the summary (the answer, generated from the numbers),
what the file holds and lacks, and the headline figure of memory in bits against T."""
import os

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

import load
from report_data import COUNTED, flipped, lower_bound
from stats import geo_mean_se, t975

MISSING_ROWS = 20  # trials listed of an incomplete file's missing ones (the rest are counted)


def title(data, d):
    """The report's title, with the results file's name."""
    d.h(1, f"copysweep report: {os.path.basename(data.path)}")


def kernels(data):
    """Where the trials ran: the kernel paths of the trials that have one (format 5), or the BLAS
    of an older file."""
    if "kernel" not in data.df:
        return f"BLAS {data.attrs.get('blas')}"
    ran = data.df["kernel"][data.df["kernel"] != ""].value_counts()
    if not len(ran):
        return "no trial has run yet"
    return "kernel paths " + ", ".join(f"{k} ({n} trials)" for k, n in ran.items()) + \
        " (every path gives the same bits)"


def overview(data, d):
    """After the summary: what the file holds, and what it lacks."""
    a = data.attrs
    counts = data.df["status"].value_counts()
    d.p(f"{len(data.df)} trials ({', '.join(f'{n} {s}' for s, n in counts.items())}); axes: "
        f"{', '.join(data.axes + ['seed'])}; seeds {', '.join(map(str, data.seeds))}. Written by copysweep "
        f"{a.get('copysweep_version')} on {a.get('created')}; {kernels(data)}.")
    d.p("Tables give mean ± standard error over seeds (SE = sample standard deviation / √n) and the "
        "number of seeds n that count: trials that are done or diverged (both were tested on their "
        "selected weights). Pending, running and failed trials are missing and are never averaged.")
    missing = data.df[~data.df["status"].isin(COUNTED)]
    if len(missing):
        d.h(2, "Missing trials")
        counts = missing["status"].value_counts()
        d.p(f"This file is incomplete: {len(missing)} of {len(data.df)} trials have no result yet or failed ("
            + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")" +
            (f"; the first {MISSING_ROWS} of them:" if len(missing) > MISSING_ROWS else "."))
        data.trial_table(d, missing.head(MISSING_ROWS))


def budget(data, sub):
    """One sentence: updates per trial (per length when they differ), what was trained, the seeds."""
    c = sub[sub["status"].isin(COUNTED)]
    if c.empty:
        return ""
    per_epoch = c["train_size"] // c["batch"]
    # the budget in updates: the max_updates column (epochs = auto gives every length its own)
    budget = c["max_updates"] if "max_updates" in c else c["max_epochs"] * per_epoch
    ran = c["epochs"] * per_epoch
    by_T = budget.groupby(c["T"]).max()
    if budget.nunique() == 1:
        text = (f"Budget: at most {int(budget.iloc[0]):,} updates per trial (epochs × train-size / batch = "
                f"{int(c['max_epochs'].iloc[0])} × {int(c['train_size'].iloc[0])} / {int(c['batch'].iloc[0])})")
    elif budget.groupby(c["T"]).nunique().max() == 1:  # one budget per length
        text = "Budget: at most " + ", ".join(f"{int(u):,} updates at T = {T}" for T, u in by_T.items())
        if "budget" in c and c["budget"].nunique() == 1 and c["budget"].iloc[0] > 0:
            text += f" (the same training cost, {int(c['budget'].iloc[0]):,} updates × L, at every length)"
    else:
        text = f"Budget: {int(budget.min()):,} to {int(budget.max()):,} updates per trial"
    stopped = int((ran < budget).sum())
    text += (f"; {stopped} of {len(c)} trials stopped early (target accuracy or patience)" if stopped
             else "; every trial used its whole budget")
    opts = []
    for col, name in (("hidden", "H"), ("batch", "batch"), ("optimizer", ""), ("lr", "lr"), ("layers", "layers")):
        if col in c and c[col].nunique() == 1:
            opts.append(f"{name} = {c[col].iloc[0]}" if name else str(c[col].iloc[0]))
    n = c.groupby(["model", "T"])["seed"].nunique()
    return (text + f"; {', '.join(opts)}; n = {n.min()}" + (f"–{n.max()}" if n.max() > n.min() else "") +
            " seeds per cell, the same sequences for every model of a seed.")


def summary_text(data, title, sub):
    """The answer for one group, from the numbers: ranking by bits at each length where any model
    carries memory, the paired difference of each neighbour in the ranking, the cells that carry
    nothing, ρ and ρ^T, and the budget."""
    c = sub[sub["status"].isin(COUNTED)]
    out = []
    items, nothing, idle = ranking(data, title, sub)
    if not items:
        out.append(f"No model carries measurable memory at any length of this {'group' if title else 'sweep'}: "
                   "every (model, T) cell's 95 % interval over seeds includes 0 bits, and so does the test-set "
                   "interval of some seed.")
    else:
        if nothing:
            out.append(f"No model carries measurable memory at T = {', '.join(map(str, nothing))}: every cell's 95 % "
                       "interval over seeds includes 0 bits (or lies below it), and so does the test-set interval "
                       "of some seed.")
        partial = {m: [T for T in Ts_ if T not in nothing] for m, Ts_ in idle.items()}
        partial = {m: Ts_ for m, Ts_ in partial.items() if Ts_}
        if partial:
            out.append("Carry nothing measurable (the interval over seeds includes 0 bits, and so does some seed's "
                       "own): " +
                       "; ".join(f"{data.names[m]} at T = {', '.join(map(str, Ts_))}" for m, Ts_ in partial.items()) + ".")
    out.append(decay_sentence(data, sub))
    out.append(budget(data, sub))
    n = c.groupby(["model", "T"])["seed"].nunique()
    if len(n) and 1 < n.min() <= 3:
        df = n.min() - 1
        out.append(f"With {n.min()} seeds the t-interval is wide (t = {t975(df):.2f} at {df} degree"
                   f"{'s' if df > 1 else ''} of freedom): few differences can separate, and an unseparated one is "
                   "not evidence of equality.")
    lead = ("**" + title + ".** " if title else "") + ("Ranked by memory in bits (mean ± SE over seeds):"
                                                       if items else "")
    return lead, items, " ".join(x for x in out if x)


def ranking(data, title, sub):
    """(items, nothing, idle) of one group: a sentence for each length where some model carries memory,
    ranking the models by bits with the paired differences of neighbours; the lengths where none
    does; {model: the lengths where it carries nothing measurable}."""
    c = sub[sub["status"].isin(COUNTED)]
    items, nothing, idle = [], [], {}
    for T in sorted(sub["T"].unique()):
        cells = {m: data.cell_interval(sub, m, T, "test_bits") for m in data.models}
        cells = {m: v for m, v in cells.items() if v[2] > 0}
        if not cells:
            continue
        ceiling = c[c["T"] == T]["bits_ceiling"].mean()
        carrying = [m for m in cells if lower_bound(data.counted_of(sub, m, T), "test_bits") > 0]
        for m in cells:
            if m not in carrying:
                idle.setdefault(m, []).append(T)
        if not carrying:
            nothing.append(T)
            continue
        ranked = sorted(cells, key=lambda m: -cells[m][0])
        family = data.model_family(title, sub, "test_bits")
        parts = []
        for i, m in enumerate(ranked):
            mean, se, n = cells[m][:3]
            parts.append(f"{data.names[m]} {mean:.2f}" + (f" ± {se:.2f}" if n > 1 else "") + " bits")
        comps = []
        for a, b in zip(ranked, ranked[1:]):
            p = family.get((T, a, b)) or (flipped(family[T, b, a]) if (T, b, a) in family else None)
            if p and p["n"] >= 2:
                comps.append(f"{data.names[a]} − {data.names[b]} {p['mean']:+.2f} bits [{p['lo']:+.2f}, {p['hi']:+.2f}]"
                             + (" (recalibrated)" if p["metric"] == "test_bits_cal" else "") + ", "
                             + ("separated" if p["separated"] else "not separated"))
        K = sum(np.isfinite(c["p"]) for c in family.values())
        items.append(f"At T = {T} (ceiling {ceiling:.0f} bits) the models rank " + " > ".join(parts) +
                     (". Paired differences of neighbours in this ranking, with 95 % t-intervals over seeds, "
                      f"separated or not after Holm's correction over the {K} comparisons in bits of "
                      "\"Paired differences between models\": " + "; ".join(comps) if comps else "") + ".")
    return items, nothing, idle


def decay_sentence(data, sub):
    """ρ and ρ^T of each model in one group, with the initial weights; "" if no model has a ρ."""
    rho = []
    for m in data.models:
        g = data.counted_of(sub, m)
        g = g[np.isfinite(g["rho_initial"]) & (g["rho_initial"] > 0)]
        r, _, n = geo_mean_se(g["rho_initial"])
        if n:  # the shortest and longest lengths the model has a ρ at
            lo, hi = g["T"].min(), g["T"].max()
            pw = [geo_mean_se(g[g["T"] == T]["rho_initial"] ** T)[0] for T in (lo, hi)]
            rho.append(f"{data.names[m]} {r:.3f} (ρ^T {pw[0]:.1e} at T = {lo}" +
                       (f", {pw[1]:.1e} at T = {hi})" if hi != lo else ")"))
    if not rho:
        return ""
    return ("Gradient decay: with the initial weights ‖∂L/∂h_t‖ shrinks by a factor ρ per step back in time "
            "(geometric mean over seeds and lengths), so the first symbols receive about ρ^T of the gradient "
            "that reaches the delimiter: " + "; ".join(rho) + ".")


def accuracy_summary(data, title, sub):
    """The answer for a file or group without bits: accuracy against chance, paired."""
    acc, _ = data.baselines(sub)
    if acc is None or set(sub["task"]) == {"charlm"}:
        return ""
    out = []
    for T in sorted(sub["T"].unique()):
        cells = {m: data.cell_interval(sub, m, T, "test_acc") for m in data.models}
        cells = {m: v for m, v in cells.items() if v[2] > 0}
        ranked = sorted(cells, key=lambda m: -cells[m][0])
        above = [m for m in ranked if cells[m][3] > acc]
        out.append(f"At T = {T}: " + " > ".join(f"{data.names[m]} {cells[m][0]:.4f}" for m in ranked) +
                   f" test accuracy (chance {acc:.4f}); above chance (95 % interval): " +
                   (", ".join(data.names[m] for m in above) if above else "none") + ".")
    out.append(budget(data, sub))
    return (f"**{title}.** " if title else "") + " ".join(out)


def answer(data, d):
    """Section "Summary": the answer, generated from the numbers of each group of other axes."""
    d.section("Summary")
    if not data.has_bits:
        d.p(f"Note: this file has results format version {data.attrs.get('format_version')}, written before "
            f"copysweep measured memory in bits (format {load.BITS_VERSION}). The sections on bits, the decay per "
            "step and paired bit differences are left out, and this summary ranks by test accuracy; run the job "
            "again with this copysweep to get them.")
    done = set()
    for title, sub in data.bits_groups():
        lead, items, rest = summary_text(data, title, sub)
        if lead:
            d.p(lead)
        if items:
            d.ul(items)
        d.p(rest)
        done.add(title)
    for title, sub in data.groups():
        if title not in done:
            text = accuracy_summary(data, title, sub)
            if text:
                d.p(text)
    d.p("Memory in bits (docs/method.md \"Memory in bits\") is the variational bound Σ_j (log K − CE_j) / ln 2 on what the "
        "state carries of the symbols to copy, from the test cross-entropy CE_j at each copy position: 0 for a "
        "model that guesses, T·log2 K for one that copies without error. It compares lengths where accuracy "
        "cannot (accuracy falls towards 1/K even when a model remembers a fixed amount). Values are mean ± SE "
        "over seeds; a cell carries memory when its 95 % t-interval over seeds excludes 0, or when every seed's own "
        "test-set interval (± 1.96 SE over test sequences) lies above 0.")


def headline(data, d):
    """Section "Memory in bits against T": the headline figure."""
    groups = list(data.bits_groups())
    if not groups:
        return
    d.section("Memory in bits against T",
              "Test bits per model against T (log scale); dots are seeds, markers with bars the seed mean ± SE, "
              "the dashed line the ceiling (T·log2 K for copy), the gray line 0 bits. The y axis is "
              "symmetric-logarithmic: linear between −1 and 1 bit, logarithmic beyond, so that values at and "
              "below 0 stay visible.")
    for title, sub in groups:
        fig, ax = plt.subplots(figsize=(8, 5))
        Ts = sorted(sub["T"].unique())
        for i, m in enumerate(data.models):
            g = data.counted_of(sub, m)
            g = g[np.isfinite(g["test_bits"])]
            if g.empty:
                continue
            shift = 1.04 ** (i - (len(data.models) - 1) / 2)  # side by side at each T
            ax.scatter(g["T"] * shift, g["test_bits"], color=data.colors[m], alpha=0.35, s=14, linewidths=0)
            data.mean_bars(ax, g, "test_bits", m, shift)
        ceiling = [sub[sub["T"] == T]["bits_ceiling"].mean() for T in Ts]
        ax.plot(Ts, ceiling, "k--", lw=1, label="ceiling")
        ax.axhline(0, color="gray", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1)
        ax.set_xticks(Ts, [str(T) for T in Ts])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("T")
        ax.set_ylabel("test memory, bits")
        ax.legend(fontsize=8)
        ax.set_title("Memory in bits" + (f", {title}" if title else ""))
        data.save(d, fig, "bits", "Memory in bits against T: seeds, mean ± SE, ceiling and zero", title)
