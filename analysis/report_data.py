"""The data a report is made of: the results file loaded once (trials, the per-trial frames read on
first use), its groups of other axes, the selected sample of a searched job, the paired comparisons
with Holm's correction (docs/method.md "Multiple comparisons") shared by the sections that quote them,
the rows of summary.csv and the figures written. Every section of the report receives one ReportData
and the document (report_doc.Doc) it writes into."""
import functools
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import load
from report_doc import cell, slug
from stats import ALPHA, holm, interval, mean_se, paired

PALETTE = ["tab:blue", "tab:cyan", "tab:red", "tab:orange", "tab:green", "tab:olive", "tab:purple", "tab:pink",
           "tab:brown", "tab:gray"]
COUNTED = ("done", "diverged")
Z95 = 1.959964  # the normal 97.5 % quantile: a single seed's interval from its test-set SE


# ---- statistics ---------------------------------------------------------------------------------

def correct(comparisons):
    """Holm's correction over a family of paired comparisons (stats.paired dicts, docs/method.md "Multiple
    comparisons"): each gets p_holm, raw (its own 95 % interval excludes 0) and separated (p_holm <
    ALPHA and not idle: two cells that carry nothing are never separated). Returns the family's size."""
    comparisons = [c for c in comparisons if c["n"]]
    for c, adjusted in zip(comparisons, holm([c["p"] for c in comparisons])):
        c.update(p_holm=adjusted, raw=c.get("raw", c["separated"]),
                 separated=bool(adjusted < ALPHA and not c.get("idle")))
    return sum(np.isfinite(c["p"]) for c in comparisons)


def verdict(c):
    """The separated column of a corrected comparison."""
    return "separated" if c["separated"] else "no (neither carries memory)" if c.get("idle") else "no"


def lower_bound(rows, metric):
    """The lower end of the 95 % interval of a cell's metric over its seeds' rows (a single seed: its
    own test-set interval, bits only). In bits, where every seed's own test-set interval lies above 0,
    the least of those lower ends if it is higher: every model trained holds memory, however much
    the seeds differ from one another (one seed that learned more widens the interval over seeds)."""
    v = rows[np.isfinite(rows[metric])]
    if not metric.startswith("test_bits"):
        return interval(v[metric])[1]
    own = v[metric] - Z95 * v[metric + "_se"]
    if len(v) == 1:
        return own.iloc[0]
    lo = interval(v[metric])[1]
    return max(lo, own.min()) if len(own) and (own > 0).all() else lo


def bits_pair(x, y):
    """The paired comparison (stats.paired) of two cells' rows in memory in bits, indexed by seed
    (docs/method.md "Multiple comparisons"): on the recalibrated bound where either cell's raw mean is ≤ 0, and
    idle where neither cell carries memory on the bound compared (the lower end of its 95 % interval is
    not above 0)."""
    cal = min(x["test_bits"].mean(), y["test_bits"].mean()) <= 0
    metric = "test_bits_cal" if cal else "test_bits"
    p = paired(*x[metric].align(y[metric], join="outer"))
    p.update(metric=metric, idle=not (lower_bound(x, metric) > 0 or lower_bound(y, metric) > 0))
    return p


def flipped(c):
    """A comparison A − B as B − A."""
    return dict(c, diffs=[-d for d in c["diffs"]], mean=-c["mean"], lo=-c["hi"], hi=-c["lo"])


# ---- frames --------------------------------------------------------------------------------------

def lengths(sub):
    """The values of T in a frame, in order."""
    return sorted(sub["T"].unique())


def grouped(df, keys):
    """(values as a tuple, sub-frame) for each combination of the keys, in order of appearance (no keys:
    one group, the whole frame)."""
    if not keys:
        yield (), df
        return
    for values, g in df.groupby(keys if len(keys) > 1 else keys[0], sort=False):
        yield (values if isinstance(values, tuple) else (values,)), g


def in_groups(df, keys, groups):
    """A boolean array: whether each row's values of keys are one of the tuples in groups."""
    return np.array([g in groups for g in df[keys].itertuples(index=False, name=None)], dtype=bool)


def padded(runs):
    """Per-epoch arrays of seeds that stopped at different epochs, padded with NaN to the longest."""
    E = max(len(r) for r in runs)
    return [np.concatenate([r, np.full(E - len(r), np.nan)]) for r in runs]


# ---- the data -----------------------------------------------------------------------------------

class ReportData:
    """A results file and what the report's sections share; path is the file, outdir the report's folder
    (where save writes the figures)."""

    def __init__(self, path, outdir):
        self.path, self.outdir = path, outdir
        self.df = load.trials(path)
        self.attrs = load.attributes(path)
        # an exec file (load.exec_info): its own keys and declared metrics instead of the built-in columns
        self.exec = load.exec_info(path)
        self.keys = self.exec["keys"] if self.exec else load.SETTINGS
        self.metrics = self.exec["metrics"] if self.exec else []
        # the epochs each trial ran (an exec file: the epoch rows its program wrote)
        self.epochs = self.exec["epochs"] if self.exec else "epochs"
        # the replicate key: seed (an exec job may have none: then every trial is its own cell)
        self.seed = "seed" if "seed" in self.df.columns else None
        # a job with [search]: the tables show each group at its selected sample (section "Search")
        self.everything = self.df
        self.spec = load.search(self.attrs.get("job", ""))
        self.searched = [k for k in self.spec["keys"] if k in self.df.columns] if "sample" in self.df.columns else []
        if self.searched:
            self.df = self.tuned()
        self.axes = [a for a in load.axes(self.df, self.keys) if a not in self.searched]
        self.seeds = sorted(self.df[self.seed].unique()) if self.seed else []
        self.figures = []
        self.summary = []
        self.counted = self.df[self.df["status"].isin(COUNTED)]
        self.by_trial = {}
        self.families = {}
        if self.exec:  # no models, lengths or bits: the exec sections group by the varying keys
            self.other, self.models, self.names, self.colors, self.Ts = list(self.axes), [], {}, {}, []
            self.has_bits = False
            return
        # group keys: every axis except model and T, which span the tables and figures
        # (eval_T says where a model is also tested, not what was trained: never a group)
        self.other = [a for a in self.axes if a not in ("model", "T", "eval_T")]
        # the models in the order the grid has them, named as the file names them
        self.models = list(dict.fromkeys(self.df["model"]))
        long = (self.df.drop_duplicates("model").set_index("model")["model_long_name"]
                if "model_long_name" in self.df else pd.Series(dtype=object))
        self.names = {m: long.get(m, m) for m in self.models}  # files before the long names: the names
        self.colors = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(self.models)}
        self.Ts = sorted(self.df["T"].unique())
        self.has_bits = load.has_bits(self.df)

    # the per-trial frames, each read once and shared by the sections that use it
    @functools.cached_property
    def curves(self):
        return load.curves(self.path)

    @functools.cached_property
    def per_position(self):
        return load.per_position(self.path)

    @functools.cached_property
    def grad_flow(self):
        return load.grad_flow(self.path)

    def selection(self, rows):
        """Each trial's value for choosing among samples: the best validation value over its epochs, of
        [halving]'s metric (else bits, or accuracy for a task without bits; an exec program that reports
        no validation accuracy: the lowest validation loss, as its negative); under sampler = tpe, TPE's
        objective (minimized ones as their negative)."""
        obj, sign = self.spec["objective"], 1 if self.spec["maximize"] else -1
        if self.spec["sampler"] == "tpe" and obj in rows.columns:  # an [exec] metric: its final value
            return sign * rows[obj].astype(float)
        if self.spec["sampler"] == "tpe" and obj in self.curves.columns:
            best = self.curves.groupby("trial")[obj].max() if sign > 0 else -self.curves.groupby("trial")[obj].min()
            return rows["trial"].map(best)
        col = (self.spec["metric"] if self.spec["rungs"] else
               "val_bits" if load.has_bits(self.everything) else "val_acc")
        if self.exec and not self.spec["rungs"] and not np.isfinite(self.curves[col]).any():
            return rows["trial"].map(-self.curves.groupby("trial")["val_loss"].min())
        return rows["trial"].map(self.curves.groupby("trial")[col].max())

    def selection_name(self):
        """What selection() ranks by, in words."""
        if self.spec["sampler"] == "tpe" and self.spec["objective"]:
            return f"TPE's objective {self.spec['objective']} ({'maximized' if self.spec['maximize'] else 'minimized'})"
        if self.spec["rungs"]:
            return f"[halving] metric {self.spec['metric']}"
        if self.exec and not np.isfinite(self.curves["val_acc"]).any():
            return "lowest validation loss"
        return "validation value"

    def group_keys(self):
        """What makes a group of samples: every axis but the searched settings, and the seed."""
        return ([a for a in load.axes(self.everything, self.keys) if a not in self.searched] +
                ([self.seed] if self.seed else []))

    def tuned(self):
        """The trials the tables show for a job with [search]: per group its counted searched trial with the
        best selection value (the first searched trial, as missing, where none counted), and the unsearched
        trials of groups without searched ones."""
        a, keys = self.everything, self.group_keys()
        searched = a[a["sample"] >= 0].assign(select=self.selection(a[a["sample"] >= 0]))
        counted = searched[searched["status"].isin(COUNTED)]
        best = counted.sort_values(["select", "trial"], ascending=[False, True]).drop_duplicates(keys)
        chosen = set(best[keys].itertuples(index=False, name=None))
        groups = set(searched[keys].itertuples(index=False, name=None))
        missing = searched[~in_groups(searched, keys, chosen)]
        plain = a[(a["sample"] < 0).to_numpy() & ~in_groups(a, keys, groups)]
        return (pd.concat([best, missing.drop_duplicates(keys), plain]).sort_values("trial")
                .drop(columns="select").reset_index(drop=True))

    def runs(self, frame, trials, order):
        """Each trial's rows of a per-trial frame ("curves", "per_position" or "grad_flow") in order of
        the column ORDER (no rows for a trial that has none); the frame is split by trial once."""
        if (frame, order) not in self.by_trial:
            df = getattr(self, frame)
            self.by_trial[frame, order] = df.iloc[:0], dict(tuple(df.sort_values(order).groupby("trial", sort=False)))
        empty, split = self.by_trial[frame, order]
        return [split.get(k, empty) for k in trials]

    def groups(self):
        """(title, sub-frame) for every combination of the other axes."""
        if not self.other:
            yield "", self.df
            return
        groups = [(v if isinstance(v, tuple) else (v,), sub)
                  for v, sub in self.df.groupby(self.other if len(self.other) > 1 else self.other[0], sort=False)]
        for values, sub in sorted(groups, key=lambda g: tuple(load.order(a, v) for a, v in zip(self.other, g[0]))):
            yield ", ".join(f"{a} = {load.shown(a, v)}" for a, v in zip(self.other, values)), sub

    def models_in(self, sub):
        """The models that have trials in sub (a group of other axes), in the grid's order."""
        present = set(sub["model"])
        return [m for m in self.models if m in present]

    def model_lengths(self, sub):
        """(model, T, its counted trials, how many trials it has) for every model and length of sub."""
        for m in self.models_in(sub):
            for T in lengths(sub):
                yield m, T, self.counted_of(sub, m, T), int(((sub["model"] == m) & (sub["T"] == T)).sum())

    def group_tables(self, d, header, rows):
        """A table in the document d for each group of other axes, under the group's title: rows(title,
        sub) yields its rows."""
        for title, sub in self.groups():
            if title:
                d.h(3, title)
            d.table(header, list(rows(title, sub)))

    def record(self, group, model, T, metric, mean, se, n, expected):
        """A row of summary.csv."""
        self.summary.append(dict(group=group, model=model, T=T, metric=metric, mean=mean, se=se, n=n,
                                 expected=expected))

    def metric_cell(self, title, sub, m, T, metric, digits=4):
        """(cell text, mean, n) of a metric over the counted seeds of a (model, T) cell, recorded in
        summary.csv."""
        everyone = sub[(sub["model"] == m) & (sub["T"] == T)]
        vals = everyone.loc[everyone["status"].isin(COUNTED), metric]
        mean, se, n = mean_se(vals)
        self.record(title, m, T, metric, mean, se, n, len(everyone))
        return cell(vals, len(everyone), digits), mean, n

    def trial_table(self, d, trials):
        """A table in the document d of trials with their axes, seed, status and message."""
        seed = [self.seed] if self.seed else []
        d.table(["trial"] + self.axes + seed + ["status", "message"],
                [[r["trial"]] + [r[x] for x in self.axes + seed] + [r["status"], r["message"]]
                 for _, r in trials.iterrows()])

    def baselines(self, sub):
        """(chance accuracy, memoryless loss) of the trials in sub, or (None, None) if they differ."""
        if "chance_acc" in sub:  # results format 2
            acc, loss = sub["chance_acc"].unique(), sub["chance_loss"].unique()
        else:
            acc, loss = 1 / sub["vocab"].unique(), np.log(sub["vocab"].unique())
        return (float(acc[0]), float(loss[0])) if len(acc) == 1 and len(loss) == 1 else (None, None)

    @staticmethod
    def unit(sub):
        """What one scored output is in sub's task(s)."""
        tasks = set(sub["task"])
        if tasks <= {"copy", "copy-delay"}:
            return "symbol"
        return ({"temporal-order": "class", "ntm-copy": "bit", "charlm": "character"}.get(tasks.pop(), "output")
                if len(tasks) == 1 else "output")

    @staticmethod
    def counted_of(sub, model, T=None):
        """The trials of sub for this model (and T) that count: done or diverged."""
        sel = (sub["model"] == model) & sub["status"].isin(COUNTED)
        return sub[sel & (sub["T"] == T)] if T is not None else sub[sel]

    def bits_groups(self):
        """(title, sub-frame) of every group of other axes whose counted trials have bits."""
        for title, sub in self.groups():
            c = sub[sub["status"].isin(COUNTED)]
            if self.has_bits and np.isfinite(c["test_bits"]).any():
                yield title, sub

    def cell_interval(self, sub, m, T, metric):
        """(mean, SE, n, lower, upper) over seeds of a (model, T) cell: the 95 % t-interval over seeds,
        or with one seed its own test-set interval (bits only)."""
        g = self.counted_of(sub, m, T)
        mean, se, n = mean_se(g[metric])
        _, lo, hi, _ = interval(g[metric])
        if n == 1 and metric.startswith("test_bits"):
            lo = lower_bound(g, metric)
            hi = 2 * mean - lo
        return mean, se, n, lo, hi

    def model_family(self, title, sub, metric):
        """Every paired comparison of two models at one length of the group in metric (bits compared by
        bits_pair), in the order of the models and lengths, with Holm's correction over the family:
        {(T, a, b): comparison}. Computed once per group and metric: the summary and the section
        "Paired differences between models" quote the same family."""
        if (title, metric) not in self.families:
            pairs = {}
            for T in lengths(sub):
                cells = {m: self.counted_of(sub, m, T).set_index("seed") for m in self.models}
                ms = [m for m in self.models if np.isfinite(cells[m][metric]).any()]
                for i, a in enumerate(ms):
                    for b in ms[i + 1:]:
                        p = (bits_pair(cells[a], cells[b]) if metric == "test_bits" else
                             paired(*cells[a][metric].align(cells[b][metric], join="outer")))
                        if p["n"]:
                            pairs[T, a, b] = p
            correct(pairs.values())
            self.families[title, metric] = pairs
        return self.families[title, metric]

    # ---- figures

    def save(self, d, fig, stem, caption, title=""):
        """Writes the figure as STEM.png (STEM_<title>.png for a group of other axes), and adds it to the
        document d with its caption."""
        name = stem + (f"_{slug(title)}" if title else "") + ".png"
        caption += f" ({title})" if title else ""
        fig.savefig(os.path.join(self.outdir, name), dpi=90, bbox_inches="tight")
        plt.close(fig)
        self.figures.append(name)
        d.img(name, caption)

    def length_figures(self, d, stem, caption, frame, order, draw, panels=(None,), layout=(1, 1), size=(10, 4),
                       groups=None, heading="T = {T}", legend=None):
        """A figure for each group of other axes (groups: (title, sub-frame) pairs, every group by
        default) and each of its lengths T, saved as STEM_T{T} with CAPTION (both formatted with T).
        Its axes, on a LAYOUT grid, show the PANELS, each drawn by draw(self, ax, panel, runs, sub), where runs
        holds (model, its counted trials at T, each trial's rows of the per-trial FRAME in ORDER) for
        every model with counted trials there. The first axes gets the legend (LEGEND: its options); a
        lone axes gets HEADING as its title, several the figure. A figure whose panels all return
        False from draw (nothing to show), or of a length without counted trials, is left out; the others
        are saved into the document d."""
        for title, sub in self.groups() if groups is None else groups:
            for T in lengths(sub):
                runs = [(m, g, self.runs(frame, g["trial"], order))
                        for m in self.models for g in [self.counted_of(sub, m, T)] if len(g)]
                if not runs:  # no counted trial at this length (an incomplete file): no empty figure
                    continue
                fig, axs = plt.subplots(*layout, figsize=size, sharex=True, squeeze=False)
                if all([draw(self, ax, panel, runs, sub) is False for ax, panel in zip(axs.flat, panels)]):
                    plt.close(fig)
                    continue
                axs.flat[0].legend(**(legend or dict(fontsize=8)))
                text = heading.format(T=T) + (f", {title}" if title else "")
                (axs.flat[0].set_title if len(panels) == 1 else fig.suptitle)(text)
                self.save(d, fig, f"{stem}_T{T}", caption.format(T=T), title)

    def chance_lines(self, ax, sub, loss=False):
        acc, memoryless = self.baselines(sub)
        if acc is not None:
            ax.axhline(memoryless if loss else acc, color="gray", ls=":", label="memoryless" if loss else "chance")

    def band(self, ax, ys, m, x=None, style="-"):
        """Model m's seed mean as a line and ± SE as a band; ys is a list of equally long arrays, x
        their steps (1, 2, ... by default)."""
        ys = np.array(ys, dtype=float)
        x = np.arange(1, ys.shape[1] + 1) if x is None else x
        mean = np.nanmean(ys, axis=0)
        n = np.sum(np.isfinite(ys), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # steps that one seed alone reached
            se = np.where(n > 1, np.nanstd(ys, axis=0, ddof=min(1, len(ys) - 1)) / np.sqrt(np.maximum(n, 1)), 0)
        ax.plot(x, mean, style, color=self.colors[m], label=self.names[m])
        ax.fill_between(x, mean - se, mean + se, color=self.colors[m], alpha=0.2, linewidth=0)

    def mean_bars(self, ax, g, metric, m, shift=1.0):
        """Model m's seed mean ± SE of a metric at each T of its trials g, T scaled by shift."""
        xs = sorted(g["T"].unique())
        st = [mean_se(g[g["T"] == T][metric]) for T in xs]
        ax.errorbar(np.array(xs) * shift, [x[0] for x in st], yerr=[x[1] if np.isfinite(x[1]) else 0 for x in st],
                    marker="o", color=self.colors[m], label=self.names[m], capsize=3)

    def accuracy_axes(self, ax, sub, xlabel):
        """Chance, and the labels of test accuracy against a setting on a log scale."""
        self.chance_lines(ax, sub)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"test {self.unit(sub)} accuracy")

    def step_axes(self, ax, sub, ylabel):
        """The labels of a figure against the steps of the scored window."""
        ax.set_xlabel("copy position" if self.unit(sub) == "symbol" else "step of the scored window")
        ax.set_ylabel(ylabel)
