"""How the results were got: the search (its rungs, each group's selected sample, the comparison
with the unsearched trials, the compute), the cost per update, and the set-up."""
import math

import numpy as np
import pandas as pd

import load
from report_data import COUNTED, bits_pair, correct, grouped, in_groups, verdict
from report_doc import cell, exec_cell, exec_number, signed
from stats import ALPHA, geo_mean_se, paired


def search(data, d):
    """Section "Search": the rungs, each group's selected sample, against unsearched trials, the compute."""
    if not data.searched:
        return
    s, a = data.spec, data.everything
    srch = a[a["sample"] >= 0]
    keys = data.group_keys()
    d.section("Search")
    ranges = ", ".join(f"{k} ({s['ranges'][k]})" for k in data.searched)
    chooser = (data.selection_name() if data.exec or s["sampler"] == "tpe" else
               "[halving] metric" if s["rungs"] else "validation value")
    if s["sampler"] == "tpe":
        drawn = (f"in {s['generations']} generations of {s['per_generation']} per group ({', '.join(keys) or 'all'}): "
                 f"generation 1 from the stream of sampler-seed {s['seed']}, the same for every group, and each later "
                 f"generation drawn by TPE from the group's trials of the generations before it, by "
                 f"{data.selection_name()}.")
    else:
        drawn = (f"drawn from the stream of sampler-seed {s['seed']}: the same samples for every "
                 f"{', '.join(keys) or 'trial'}.")
    d.p(f"{s['samples']} samples of {ranges}, {drawn} {len(srch)} "
        f"searched trials ({', '.join(f'{n} {st}' for st, n in srch['status'].value_counts().items())}). The other "
        "sections show each group (" + (", ".join(keys) or "all trials") + ") at its selected sample: the counted "
        f"trial with the best {chooser} over its epochs.")
    if s["rungs"]:
        rungs(d, s, srch, data.epochs)
    group = [k for k in keys if k != data.seed]
    chosen = data.df[data.df["sample"] >= 0]
    selected_samples(data, d, chosen, group)
    # against the unsearched trials of the same groups (a fixed setting), paired by seed
    fixed = a[(a["sample"] < 0) & a["status"].isin(COUNTED)]
    fixed = fixed[in_groups(fixed, keys, set(srch[keys].itertuples(index=False, name=None)))]
    if data.seed:
        for config, f in grouped(fixed, data.searched):
            against_fixed(data, d, config, f, chosen, group)
    if data.exec:
        exec_compute(d, srch[data.epochs], srch, fixed)
        return
    per_epoch = srch["train_size"] // srch["batch"]
    full = (srch["max_updates"] // per_epoch).clip(lower=1)
    ran, budget = int(srch["epochs"].sum()), int(full.sum())
    est = float((srch["wall_s"] * full / srch["epochs"].clip(lower=1)).sum())
    d.p(f"Compute: the searched trials ran {ran:,} epochs of the {budget:,} that {len(srch)} trials at their full "
        f"budgets take ({ran / budget:.1%}); {srch['wall_s'].sum():.0f} s of trial time against an estimated "
        f"{est:.0f} s for all of them at full budget (each trial's time scaled by full epochs / epochs run; "
        f"ratio {srch['wall_s'].sum() / est:.2f})" + (f"; the {len(fixed)} unsearched trials of the same groups "
        f"took {fixed['wall_s'].sum():.0f} s." if len(fixed) else "."))


def exec_compute(d, epochs, srch, fixed):
    """The compute of an exec job's search: the epochs its program ran (epochs, of each searched trial),
    against every searched trial run as long as the longest (an exec file does not hold the program's
    budget)."""
    ran, longest = int(epochs.sum()), int(epochs.max()) if len(srch) else 0
    budget = max(longest * len(srch), 1)
    d.p(f"Compute: the searched trials ran {ran:,} epochs, {ran / budget:.1%} of the {budget:,} that {len(srch)} "
        f"trials take if each runs as many as the longest ({longest}; the file does not hold the program's own "
        f"budget), in {srch['wall_s'].sum():.1f} s of trial time" +
        (f"; the {len(fixed)} unsearched trials of the same groups took {fixed['wall_s'].sum():.1f} s." if len(fixed)
         else "."))


def rungs(d, s, srch, epochs="epochs"):
    """The rungs of successive halving (s: the job's search) with the searched trials srch that reached
    each and were pruned there (epochs: the column of the epochs each ran)."""
    d.p(f"Asynchronous successive halving (η = {s['reduction']:g}, metric {s['metric']}, the best value up to "
        "the rung): at a rung a trial goes on only if fewer than max(1, ⌊n/η⌋) of the n trials of its group "
        "recorded there so far did better; a group is the trials that differ only in the searched settings.")
    rows = []
    for r, e in enumerate(s["rungs"]):
        reached = int((srch[epochs] >= e).sum())
        # pruned at this rung: stopped before the next (an exec program, stopped by a signal, may have
        # written an epoch row or more past the rung first; a built-in trial stops at the rung itself)
        before = s["rungs"][r + 1] if r + 1 < len(s["rungs"]) else np.inf
        pruned = int(((srch["status"] == "pruned") & (srch[epochs] >= e) & (srch[epochs] < before)).sum())
        rows.append([r + 1, e, reached, pruned, reached - pruned])
    d.table(["rung", "epoch", "trials that reached it", "pruned there", "went on"], rows)


def selected_samples(data, d, chosen, group):
    """The table of each group's selected sample: its searched values per seed, their geometric mean, the
    selection value and the test metrics (an exec file: its declared metrics)."""
    rows = []
    for values, g in grouped(chosen, group):
        c = g[g["status"].isin(COUNTED)]
        picks = "; ".join(", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in c[k]) for k in data.searched)
        geo = ", ".join(f"{geo_mean_se(c[k])[0]:.3g}" if pd.api.types.is_numeric_dtype(c[k]) else "n/a"
                        for k in data.searched) if len(c) else "n/a"
        if data.exec:
            row = [load.shown(k, v) for k, v in zip(group, values)]
            row += [picks, geo, exec_cell(data.selection(c), len(g)) if len(c) else "n/a"]
            row += [exec_cell(c[m], len(g)) for m in data.metrics]
            rows.append(row)
            continue
        row = [data.names.get(values[0], values[0])] + [load.shown(k, v) for k, v in zip(group[1:], values[1:])]
        row += [picks, geo, cell(data.selection(c), len(g), 2) if len(c) else "n/a",
                cell(c["test_bits"], len(g), 2) if data.has_bits else cell(c["test_acc"], len(g)),
                cell(c["test_acc"], len(g))]
        rows.append(row)
    d.h(3, "The selected sample of each group")
    results = (data.metrics if data.exec else
               ["test bits" if data.has_bits else "test accuracy", "test accuracy"])
    d.table(group + [f"{'; '.join(data.searched)} per seed", f"geometric mean of {', '.join(data.searched)}",
                     "selection value"] + results, rows)


def against_fixed(data, d, config, f, chosen, group):
    """Each group's selected sample (chosen) against its unsearched trials f with the searched settings
    at config, paired by seed: one family per metric (test bits or accuracy; an exec file: each declared
    metric), with Holm's correction."""
    for metric in data.metrics if data.exec else ["test_bits" if data.has_bits else "test_acc"]:
        against_fixed_metric(data, d, config, f, chosen, group, metric)


def against_fixed_metric(data, d, config, f, chosen, group, metric):
    label = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in zip(data.searched, config))
    family = []
    for values, g in grouped(chosen[chosen["status"].isin(COUNTED)], group):
        x = g.set_index(data.seed)
        y = f[in_groups(f, group, {tuple(values)})].set_index(data.seed)
        common = x.index.intersection(y.index)
        x, y = x.loc[common], y.loc[common]
        p = bits_pair(x, y) if metric == "test_bits" else paired(*x[metric].align(y[metric], join="inner"))
        if p["n"]:
            family.append((values, x, y, p))
    correct(p for *_, p in family)
    rows = []
    for values, x, y, p in family:
        used = p.get("metric", metric)
        if data.exec:  # any scale: significant digits
            first, cells = [load.shown(k, v) for k, v in zip(group, values)], exec_cell
            scale = max(abs(p["mean"]) if p["n"] else 0, abs(p["hi"] - p["lo"]) / 2 if p["n"] > 1 else 0)
            num = lambda v: exec_number(v, sign=True, scale=scale)  # noqa: E731
        else:
            first = [data.names.get(values[0], values[0])] + [load.shown(k, v) for k, v in zip(group[1:], values[1:])]
            cells, num = (lambda v, n: cell(v, n, 2)), (lambda v: signed(v, 2))
        rows.append(first +
                    [cells(y[used], len(y)), cells(x[used], len(x)), ", ".join(num(v) for v in p["diffs"]),
                     num(p["mean"]), f"[{num(p['lo'])}, {num(p['hi'])}]" if p["n"] > 1 else "n/a",
                     p["n"], f"{p['p']:.3g}" if p["n"] > 1 else "n/a",
                     f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a", verdict(p)])
        if data.exec:
            data.record(f"search - {label}", ", ".join(f"{k} = {v}" for k, v in zip(group, values)), math.nan,
                        f"{metric}_paired", p["mean"], math.nan, p["n"], p["n"])
        else:
            data.record(f"search - {label}", values[0], values[1] if len(values) > 1 else math.nan,
                        f"{metric}_paired", p["mean"], math.nan, p["n"], p["n"])
    if rows:
        d.h(3, f"The selected sample against {label}" + (f": {metric}" if data.exec else ""))
        d.p(f"{metric} of the unsearched trials with {label} and of each group's selected sample" +
            ("" if data.exec else " (bits on the recalibrated bound where either side's raw mean is at or below 0)") +
            ", paired by seed: the per-seed "
            "differences (selected − fixed), their mean, 95 % t-interval (df = n − 1) and the paired t-test's "
            f"p; the {len(rows)} rows are one family, 'separated' when Holm's correction keeps the difference at "
            f"level {ALPHA}.")
        d.table(group + [label, "selected", "per seed", "mean", "95 % interval", "n", "p", "Holm p", "separated"],
                rows)


def cost(data, d):
    """Section "Cost per update"."""
    c = data.counted[data.counted["epochs"] > 0]
    if c.empty:
        return
    d.section("Cost per update")
    d.p("Milliseconds per update of each model: the trial's wall time (its validation and test passes included) "
        "divided by the updates it ran, mean ± SE over its trials, and the ratio to the first model's mean at the "
        "same settings. Measured on the machine and the thread count of the run (set-up below).")
    keys = ["model"] + [k for k in ("task", "hidden", "embed", "batch") if k in data.axes] + ["T"]
    ms = 1e3 * c["wall_s"] / (c["epochs"] * (c["train_size"] // c["batch"]))
    c = c.assign(ms=ms)
    means = c.groupby(keys)["ms"].mean()
    rows = []
    for values, g in grouped(c.sort_values(keys[1:], kind="stable"), keys):
        ref = means.get((data.models[0],) + values[1:], math.nan)
        m = g["ms"].mean()
        rows.append([data.names.get(values[0], values[0])] + [load.shown(k, v) for k, v in zip(keys[1:], values[1:])] +
                    [cell(g["ms"], len(g), 2), f"{m / ref:.2f}" if np.isfinite(ref) else "n/a"])
    d.table(keys + ["ms per update", f"× {data.names[data.models[0]]}"], rows)


def setup(data, d):
    """Section "Set-up": parameter counts, the settings every trial shares, the runs and the job file."""
    d.section("Set-up")
    params = data.df.groupby(["model"] + [a for a in ("hidden", "vocab") if a in data.axes],
                             sort=False)["n_params"].first()
    d.p("Parameter counts (the multiplicative models have W_m, U_m and b_m besides the cell's weights):")
    d.table(["model", "parameters"] if params.index.nlevels == 1 else [*params.index.names, "parameters"],
            [[data.names.get(i, i) if not isinstance(i, tuple) else ", ".join(map(str, i)), f"{v:,}"]
             for i, v in params.items()])
    d.p("Settings identical for every trial:")
    d.table(["setting", "value"], [[k, v] for k, v in load.constants(data.df).items()])
    runs_and_job(data, d)


def runs_and_job(data, d):
    """The runs of the sweep and the job file (the end of every set-up)."""
    runs = load.runs(data.path)
    counted = data.everything[data.everything["status"].isin(load.FINAL)]
    if len(runs):
        d.p(f"The sweep ran {len(runs)} time(s) for {runs['wall_s'].sum():.0f} s of wall time in all; the "
            f"trials took {counted['wall_s'].sum():.0f} s of compute (one rank each).")
        d.table(["started", "wall s", "ranks", "threads/rank", "trials run", "left", "exit"],
                [[r["started"], f"{r['wall_s']:.1f}", r["ranks"], r["threads"], r["trials_run"],
                  r["trials_left"], r["exit_status"]] for _, r in runs.iterrows()])
    else:
        d.p(f"The trials took {counted['wall_s'].sum():.0f} s of compute.")
    d.p("The job file:")
    d.pre(data.attrs.get("job", ""))
