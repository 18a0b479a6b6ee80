#!/usr/bin/python3
"""The report of a copysweep results file. It opens with the answer: a summary generated from the
numbers (the models ranked by memory in bits at each length, which paired differences are separated,
which cells carry nothing, and the budget), bits against T, the bits table with each model's
capacity, per-position bits, convergence in updates, the gradient's decay per step ρ and the paired
differences between models; then the accuracy tables (mean ± standard error over seeds), curves,
per-position accuracy, gradient flow, stability, and where the sweep holds them, loss against
updates (copy-delay), length generalization (eval-T), ntm-copy outputs as images, perplexity, the
aids; then the set-up. Statistics follow docs/method.md "Statistics" and "Multiple comparisons": paired
comparisons with 95 % t-intervals and p-values, "separated" only after Holm's correction over each
named family (on the recalibrated bound where a cell reads at or below 0 raw, and never between two
cells that carry nothing), geometric means for quantities read on a log scale; beside the accuracy
the ceiling Fano's inequality sets from the bits carried. Written as report/index.md and
report/index.html with PNG figures beside them, and the summary table as report/summary.csv.

Usage: analysis/report.py RESULTS.h5 [-o report/]

Trials count when their status is done or diverged (both have test metrics of their selected
weights); pending, running and failed trials are shown as missing, never averaged away. Exit
status: 0, or 2 with one line on stderr if the file is not a copysweep results file or the Python
running it lacks h5py, numpy, pandas or matplotlib.
"""
import argparse
import functools
import html
import math
import os
import sys
import warnings

try:
    import h5py  # noqa: F401 (load needs it; checked here to say so in one line)
    import matplotlib
    import numpy as np
    import pandas as pd
except ImportError as e:
    print(f"report: {sys.executable} has no module {e.name!r}: run with a Python 3 that has h5py, numpy, "
          "pandas and matplotlib (Debian: /usr/bin/python3; or a venv made with --system-site-packages)",
          file=sys.stderr)
    sys.exit(2)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
from stats import ALPHA, fano_ceiling, geo_mean_se, holm, interval, mean_se, paired, t975  # noqa: E402

PALETTE = ["tab:blue", "tab:cyan", "tab:red", "tab:orange", "tab:green", "tab:olive", "tab:purple", "tab:pink",
           "tab:brown", "tab:gray"]
COUNTED = ("done", "diverged")
SPIKE = 1.10  # a loss spike: the training loss of an epoch above 1.10 × the previous epoch's
CAPACITY = 0.9  # a length is copied when the test symbol accuracy reaches this
CHANCE_MARGIN = 0.02  # a mean accuracy within this of chance counts as chance
BLOCKS = 20  # per-position bits are shown in at most this many blocks of consecutive positions
Z95 = 1.959964  # the normal 97.5 % quantile: a single seed's interval from its test-set SE
MISSING_ROWS = 20  # trials listed of an incomplete file's missing ones (the rest are counted)


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

def cell(values, expected, digits=4):
    """"mean ± SE (n=k)", with "of N" when seeds are missing; "missing" when none counts."""
    m, se, n = mean_se(values)
    if n == 0:
        return "missing"
    text = f"{m:.{digits}f}" + (f" ± {se:.{digits}f}" if n > 1 else "")
    return text + (f" (n={n})" if n == expected else f" (n={n} of {expected})")


def geo_cell(values, expected, fmt=".3g"):
    """"g ×/÷ f (n=k)": the geometric mean and the factor 10^SE of the mean of log10 (docs/method.md
    "Statistics"); "0 in k (underflow)" when the values are zeros (a gradient below float32's range),
    "missing" when there are none."""
    g, se, n = geo_mean_se(values)
    if n == 0:
        zeros = sum(1 for x in values if x == 0)
        return f"0 in {zeros} (underflow)" if zeros else "missing"
    f = 10 ** se
    text = format(g, fmt) + ((f" ×/÷ {f:.3g}" if f >= 1.01 else f" ×/÷ {f:.4f}") if n > 1 else "")
    return text + (f" (n={n})" if n == expected else f" (n={n} of {expected})")


def signed(x, digits=2):
    return f"{x:+.{digits}f}" if np.isfinite(x) else "n/a"


def lengths(sub):
    """The values of T in a frame, in order."""
    return sorted(sub["T"].unique())


def grouped(df, keys):
    """(values as a tuple, sub-frame) for each combination of the keys, in order of appearance."""
    for values, g in df.groupby(keys if len(keys) > 1 else keys[0], sort=False):
        yield (values if isinstance(values, tuple) else (values,)), g


def in_groups(df, keys, groups):
    """A boolean array: whether each row's values of keys are one of the tuples in groups."""
    return np.array([g in groups for g in df[keys].itertuples(index=False, name=None)], dtype=bool)


def slug(text, sep="_"):
    """The text's letters and digits, each other run of characters replaced by one SEP."""
    return sep.join("".join(ch if ch.isalnum() else " " for ch in text).split())


def padded(runs):
    """Per-epoch arrays of seeds that stopped at different epochs, padded with NaN to the longest."""
    E = max(len(r) for r in runs)
    return [np.concatenate([r, np.full(E - len(r), np.nan)]) for r in runs]


# ---- document -------------------------------------------------------------------------------------

class Doc:
    """Blocks rendered both as Markdown and as HTML. Sections are numbered when the document is
    rendered, in the order they were added, so that a section that a file does not need leaves no gap;
    in HTML every heading carries an id, its title as a slug (made unique with -2, -3, ...)."""

    def __init__(self):
        self.blocks = []

    def section(self, title):
        """A numbered second-level heading."""
        self.blocks.append(("h", 2, title, True))

    def h(self, level, text):
        self.blocks.append(("h", level, text, False))

    def p(self, text):
        self.blocks.append(("p", text))

    def table(self, header, rows):
        self.blocks.append(("table", header, rows))

    def img(self, name, caption):
        self.blocks.append(("img", name, caption))

    def pre(self, text):
        self.blocks.append(("pre", text))

    def ul(self, items):
        self.blocks.append(("ul", items))

    def headings(self):
        """(level, text with its section number, slug of the title) of every heading, in order."""
        number, seen = 0, {}
        for b in self.blocks:
            if b[0] == "h":
                number += b[3]
                name = slug(b[2].lower(), "-")
                seen[name] = seen.get(name, 0) + 1
                yield b[1], (f"{number}. " if b[3] else "") + b[2], name + (f"-{seen[name]}" if seen[name] > 1 else "")

    def markdown(self):
        out, heads = [], self.headings()
        for b in self.blocks:
            if b[0] == "h":
                level, text, _ = next(heads)
                out.append("#" * level + " " + text)
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "table":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "---|" * len(b[1]))
                out += ["| " + " | ".join(str(c) for c in r) + " |" for r in b[2]]
            elif b[0] == "img":
                out.append(f"![{b[2]}]({b[1]})\n\n*{b[2]}*")
            elif b[0] == "ul":
                out += [f"- {item}" for item in b[1]]
            else:
                out.append("```\n" + b[1].rstrip() + "\n```")
            out.append("")
        return "\n".join(out)

    def html(self, title):
        e = html.escape
        out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
               "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
               "text-align:right}th{background:#eee}img{max-width:100%}pre{background:#f5f5f5;padding:1em;"
               "overflow-x:auto}figcaption{font-style:italic}</style></head><body>"]
        heads = self.headings()
        for b in self.blocks:
            if b[0] == "h":
                level, text, anchor = next(heads)
                out.append(f"<h{level} id='{e(anchor)}'>{e(text)}</h{level}>")
            elif b[0] == "p":
                out.append(f"<p>{e(b[1])}</p>")
            elif b[0] == "table":
                out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in b[1]) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in b[2]]
                out.append("</table>")
            elif b[0] == "ul":
                out.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in b[1]) + "</ul>")
            elif b[0] == "img":
                out.append(f"<figure><img src='{e(b[1])}' alt='{e(b[2])}'><figcaption>{e(b[2])}</figcaption></figure>")
            else:
                out.append(f"<pre>{e(b[1])}</pre>")
        out.append("</body></html>")
        return "\n".join(out)


# ---- the report --------------------------------------------------------------------------------

class Report:
    def __init__(self, path, outdir):
        self.path, self.outdir = path, outdir
        self.df = load.trials(path)
        self.attrs = load.attributes(path)
        # a job with [search]: the tables show each group at its selected sample (section "Search")
        self.everything = self.df
        self.spec = load.search(self.attrs.get("job", ""))
        self.searched = [k for k in self.spec["keys"] if k in self.df.columns] if "sample" in self.df.columns else []
        if self.searched:
            self.df = self.tuned()
        self.axes = [a for a in load.axes(self.df) if a not in self.searched]
        self.seeds = sorted(self.df["seed"].unique())
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
        self.doc = Doc()
        self.figures = []
        self.summary = []
        self.counted = self.df[self.df["status"].isin(COUNTED)]
        self.has_bits = load.has_bits(self.df)
        self.by_trial = {}
        self.families = {}

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
        [halving]'s metric (else bits, or accuracy for a task without bits)."""
        col = (self.spec["metric"] if self.spec["rungs"] else
               "val_bits" if load.has_bits(self.everything) else "val_acc")
        return rows["trial"].map(self.curves.groupby("trial")[col].max())

    def group_keys(self):
        """What makes a group of samples: every axis but the searched settings, and the seed."""
        return [a for a in load.axes(self.everything) if a not in self.searched] + ["seed"]

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

    def group_tables(self, header, rows):
        """A table for each group of other axes, under the group's title: rows(title, sub) yields its rows."""
        for title, sub in self.groups():
            if title:
                self.doc.h(3, title)
            self.doc.table(header, list(rows(title, sub)))

    def section(self, title, *paragraphs):
        """Starts a numbered section with its paragraphs; returns the document."""
        self.doc.section(title)
        for text in paragraphs:
            self.doc.p(text)
        return self.doc

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

    def trial_table(self, trials):
        """A table of trials with their axes, seed, status and message."""
        self.doc.table(["trial"] + self.axes + ["seed", "status", "message"],
                       [[r["trial"]] + [r[x] for x in self.axes] + [r["seed"], r["status"], r["message"]]
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

    def chance_lines(self, ax, sub, loss=False):
        acc, memoryless = self.baselines(sub)
        if acc is not None:
            ax.axhline(memoryless if loss else acc, color="gray", ls=":", label="memoryless" if loss else "chance")

    @staticmethod
    def counted_of(sub, model, T=None):
        """The trials of sub for this model (and T) that count: done or diverged."""
        sel = (sub["model"] == model) & sub["status"].isin(COUNTED)
        return sub[sel & (sub["T"] == T)] if T is not None else sub[sel]

    def save(self, fig, stem, caption, title=""):
        """Writes the figure as STEM.png (STEM_<title>.png for a group of other axes) with its caption."""
        name = stem + (f"_{slug(title)}" if title else "") + ".png"
        caption += f" ({title})" if title else ""
        fig.savefig(os.path.join(self.outdir, name), dpi=90, bbox_inches="tight")
        plt.close(fig)
        self.figures.append(name)
        self.doc.img(name, caption)

    def length_figures(self, stem, caption, frame, order, draw, panels=(None,), layout=(1, 1), size=(10, 4),
                       groups=None, heading="T = {T}", legend=None):
        """A figure for each group of other axes (groups: (title, sub-frame) pairs, every group by
        default) and each of its lengths T, saved as STEM_T{T} with CAPTION (both formatted with T).
        Its axes, on a LAYOUT grid, show the PANELS, each drawn by draw(ax, panel, runs, sub), where runs
        holds (model, its counted trials at T, each trial's rows of the per-trial FRAME in ORDER) for
        every model with counted trials there. The first axes gets the legend (LEGEND: its options); a
        lone axes gets HEADING as its title, several the figure. A figure whose panels all return
        False from draw (nothing to show), or of a length without counted trials, is left out."""
        for title, sub in self.groups() if groups is None else groups:
            for T in lengths(sub):
                runs = [(m, g, self.runs(frame, g["trial"], order))
                        for m in self.models for g in [self.counted_of(sub, m, T)] if len(g)]
                if not runs:  # no counted trial at this length (an incomplete file): no empty figure
                    continue
                fig, axs = plt.subplots(*layout, figsize=size, sharex=True, squeeze=False)
                if all([draw(ax, panel, runs, sub) is False for ax, panel in zip(axs.flat, panels)]):
                    plt.close(fig)
                    continue
                axs.flat[0].legend(**(legend or dict(fontsize=8)))
                text = heading.format(T=T) + (f", {title}" if title else "")
                (axs.flat[0].set_title if len(panels) == 1 else fig.suptitle)(text)
                self.save(fig, f"{stem}_T{T}", caption.format(T=T), title)

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

    def title(self):
        self.doc.h(1, f"copysweep report: {os.path.basename(self.path)}")

    def kernels(self):
        """Where the trials ran: the kernel paths of the trials that have one (format 5), or the BLAS
        of an older file."""
        if "kernel" not in self.df:
            return f"BLAS {self.attrs.get('blas')}"
        ran = self.df["kernel"][self.df["kernel"] != ""].value_counts()
        if not len(ran):
            return "no trial has run yet"
        return "kernel paths " + ", ".join(f"{k} ({n} trials)" for k, n in ran.items()) + \
            " (every path gives the same bits)"

    # after the summary: what the file holds, and what it lacks
    def overview(self):
        d, a = self.doc, self.attrs
        counts = self.df["status"].value_counts()
        d.p(f"{len(self.df)} trials ({', '.join(f'{n} {s}' for s, n in counts.items())}); axes: "
            f"{', '.join(self.axes + ['seed'])}; seeds {', '.join(map(str, self.seeds))}. Written by copysweep "
            f"{a.get('copysweep_version')} on {a.get('created')}; {self.kernels()}.")
        d.p("Tables give mean ± standard error over seeds (SE = sample standard deviation / √n) and the "
            "number of seeds n that count: trials that are done or diverged (both were tested on their "
            "selected weights). Pending, running and failed trials are missing and are never averaged.")
        missing = self.df[~self.df["status"].isin(COUNTED)]
        if len(missing):
            d.h(2, "Missing trials")
            counts = missing["status"].value_counts()
            d.p(f"This file is incomplete: {len(missing)} of {len(self.df)} trials have no result yet or failed ("
                + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")" +
                (f"; the first {MISSING_ROWS} of them:" if len(missing) > MISSING_ROWS else "."))
            self.trial_table(missing.head(MISSING_ROWS))

    # ---- memory in bits: what the report opens with -------------------------------------------

    def bits_groups(self):
        """(title, sub-frame) of every group of other axes whose counted trials have bits."""
        for title, sub in self.groups():
            c = sub[sub["status"].isin(COUNTED)]
            if self.has_bits and np.isfinite(c["test_bits"]).any():
                yield title, sub

    @staticmethod
    def per_seed(sub, T, metric):
        """{model: Series of metric indexed by seed} of the counted trials at T."""
        c = sub[(sub["T"] == T) & sub["status"].isin(COUNTED)]
        return {m: g.set_index("seed")[metric] for m, g in c.groupby("model", sort=False)}

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

    def budget(self, sub):
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

    def summary_text(self, title, sub):
        """The answer for one group, from the numbers: ranking by bits at each length where any model
        carries memory, the paired difference of each neighbour in the ranking, the cells that carry
        nothing, ρ and ρ^T, and the budget."""
        c = sub[sub["status"].isin(COUNTED)]
        Ts = sorted(sub["T"].unique())
        out, items, nothing, idle = [], [], [], {}
        for T in Ts:
            cells = {m: self.cell_interval(sub, m, T, "test_bits") for m in self.models}
            cells = {m: v for m, v in cells.items() if v[2] > 0}
            if not cells:
                continue
            ceiling = c[c["T"] == T]["bits_ceiling"].mean()
            carrying = [m for m in cells if lower_bound(self.counted_of(sub, m, T), "test_bits") > 0]
            for m in cells:
                if m not in carrying:
                    idle.setdefault(m, []).append(T)
            if not carrying:
                nothing.append(T)
                continue
            ranked = sorted(cells, key=lambda m: -cells[m][0])
            family = self.model_family(title, sub, "test_bits")
            parts = []
            for i, m in enumerate(ranked):
                mean, se, n = cells[m][:3]
                parts.append(f"{self.names[m]} {mean:.2f}" + (f" ± {se:.2f}" if n > 1 else "") + " bits")
            comps = []
            for a, b in zip(ranked, ranked[1:]):
                p = family.get((T, a, b)) or (flipped(family[T, b, a]) if (T, b, a) in family else None)
                if p and p["n"] >= 2:
                    comps.append(f"{self.names[a]} − {self.names[b]} {p['mean']:+.2f} bits [{p['lo']:+.2f}, {p['hi']:+.2f}]"
                                 + (" (recalibrated)" if p["metric"] == "test_bits_cal" else "") + ", "
                                 + ("separated" if p["separated"] else "not separated"))
            K = sum(np.isfinite(c["p"]) for c in family.values())
            items.append(f"At T = {T} (ceiling {ceiling:.0f} bits) the models rank " + " > ".join(parts) +
                         (". Paired differences of neighbours in this ranking, with 95 % t-intervals over seeds, "
                          f"separated or not after Holm's correction over the {K} comparisons in bits of "
                          "\"Paired differences between models\": " + "; ".join(comps) if comps else "") + ".")
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
                           "; ".join(f"{self.names[m]} at T = {', '.join(map(str, Ts_))}" for m, Ts_ in partial.items()) + ".")
        rho = []
        for m in self.models:
            g = self.counted_of(sub, m)
            g = g[np.isfinite(g["rho_initial"]) & (g["rho_initial"] > 0)]
            r, _, n = geo_mean_se(g["rho_initial"])
            if n:  # the shortest and longest lengths the model has a ρ at
                lo, hi = g["T"].min(), g["T"].max()
                pw = [geo_mean_se(g[g["T"] == T]["rho_initial"] ** T)[0] for T in (lo, hi)]
                rho.append(f"{self.names[m]} {r:.3f} (ρ^T {pw[0]:.1e} at T = {lo}" +
                           (f", {pw[1]:.1e} at T = {hi})" if hi != lo else ")"))
        if rho:
            out.append("Gradient decay: with the initial weights ‖∂L/∂h_t‖ shrinks by a factor ρ per step back in time "
                       "(geometric mean over seeds and lengths), so the first symbols receive about ρ^T of the gradient "
                       "that reaches the delimiter: " + "; ".join(rho) + ".")
        out.append(self.budget(sub))
        n = c.groupby(["model", "T"])["seed"].nunique()
        if len(n) and 1 < n.min() <= 3:
            df = n.min() - 1
            out.append(f"With {n.min()} seeds the t-interval is wide (t = {t975(df):.2f} at {df} degree"
                       f"{'s' if df > 1 else ''} of freedom): few differences can separate, and an unseparated one is "
                       "not evidence of equality.")
        lead = ("**" + title + ".** " if title else "") + ("Ranked by memory in bits (mean ± SE over seeds):"
                                                          if items else "")
        return lead, items, " ".join(x for x in out if x)

    def accuracy_summary(self, title, sub):
        """The answer for a file or group without bits: accuracy against chance, paired."""
        acc, _ = self.baselines(sub)
        if acc is None or set(sub["task"]) == {"charlm"}:
            return ""
        out = []
        for T in sorted(sub["T"].unique()):
            cells = {m: self.cell_interval(sub, m, T, "test_acc") for m in self.models}
            cells = {m: v for m, v in cells.items() if v[2] > 0}
            ranked = sorted(cells, key=lambda m: -cells[m][0])
            above = [m for m in ranked if cells[m][3] > acc]
            out.append(f"At T = {T}: " + " > ".join(f"{self.names[m]} {cells[m][0]:.4f}" for m in ranked) +
                       f" test accuracy (chance {acc:.4f}); above chance (95 % interval): " +
                       (", ".join(self.names[m] for m in above) if above else "none") + ".")
        out.append(self.budget(sub))
        return (f"**{title}.** " if title else "") + " ".join(out)

    # the answer
    def answer(self):
        d = self.section("Summary")
        if not self.has_bits:
            d.p(f"Note: this file has results format version {self.attrs.get('format_version')}, written before "
                f"copysweep measured memory in bits (format {load.BITS_VERSION}). The sections on bits, the decay per "
                "step and paired bit differences are left out, and this summary ranks by test accuracy; run the job "
                "again with this copysweep to get them.")
        done = set()
        for title, sub in self.bits_groups():
            lead, items, rest = self.summary_text(title, sub)
            if lead:
                d.p(lead)
            if items:
                d.ul(items)
            d.p(rest)
            done.add(title)
        for title, sub in self.groups():
            if title not in done:
                text = self.accuracy_summary(title, sub)
                if text:
                    d.p(text)
        d.p("Memory in bits (docs/method.md \"Memory in bits\") is the variational bound Σ_j (log K − CE_j) / ln 2 on what the "
            "state carries of the symbols to copy, from the test cross-entropy CE_j at each copy position: 0 for a "
            "model that guesses, T·log2 K for one that copies without error. It compares lengths where accuracy "
            "cannot (accuracy falls towards 1/K even when a model remembers a fixed amount). Values are mean ± SE "
            "over seeds; a cell carries memory when its 95 % t-interval over seeds excludes 0, or when every seed's own "
            "test-set interval (± 1.96 SE over test sequences) lies above 0.")

    # the headline figure
    def headline(self):
        groups = list(self.bits_groups())
        if not groups:
            return
        self.section("Memory in bits against T",
                     "Test bits per model against T (log scale); dots are seeds, markers with bars the seed mean ± SE, "
                     "the dashed line the ceiling (T·log2 K for copy), the gray line 0 bits. The y axis is "
                     "symmetric-logarithmic: linear between −1 and 1 bit, logarithmic beyond, so that values at and "
                     "below 0 stay visible.")
        for title, sub in groups:
            fig, ax = plt.subplots(figsize=(8, 5))
            Ts = sorted(sub["T"].unique())
            for i, m in enumerate(self.models):
                g = self.counted_of(sub, m)
                g = g[np.isfinite(g["test_bits"])]
                if g.empty:
                    continue
                shift = 1.04 ** (i - (len(self.models) - 1) / 2)  # side by side at each T
                ax.scatter(g["T"] * shift, g["test_bits"], color=self.colors[m], alpha=0.35, s=14, linewidths=0)
                self.mean_bars(ax, g, "test_bits", m, shift)
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
            self.save(fig, "bits", "Memory in bits against T: seeds, mean ± SE, ceiling and zero", title)

    # the bits table
    def bits_table(self):
        groups = list(self.bits_groups())
        if not groups:
            return
        d = self.section("Memory in bits")
        d.p("Test bits, mean ± SE over seeds, and in brackets the fraction of the ceiling (T·log2 K for copy, "
            "10·log2 K for copy-delay, 8 per vector for ntm-copy, 2 for temporal-order). Capacity: the most bits a model "
            "carries over the lengths tried (from the seed means, at the T in brackets), and the mean ± SE of each "
            "seed's own capacity. Below it, the same bound with the outputs at the temperature that minimizes the "
            "validation loss (fitted per trial: a valid, tighter bound, never below 0 on the validation split), mean "
            "± SE, and the temperature (geometric mean ×/÷ its SE factor; ∞: the validation loss is lowest with "
            "uniform outputs, so the recalibrated bound is 0 there).")
        for title, sub in groups:
            d.h(3, "Test memory, bits" + (f" ({title})" if title else ""))
            header = ["model"] + [f"T = {T}" for T in lengths(sub)] + ["capacity", "capacity per seed"]
            rows = []
            for m in self.models_in(sub):
                row = [self.names[m]]
                means = {}
                for T in lengths(sub):
                    text, mean, n = self.metric_cell(title, sub, m, T, "test_bits", 2)
                    ceiling = sub[(sub["model"] == m) & (sub["T"] == T)]["bits_ceiling"].mean()
                    row.append(text + (f" [{mean / ceiling:.1%}]" if n else ""))
                    if n:
                        means[T] = mean
                g = self.counted_of(sub, m)
                per_seed = g.groupby("seed")["test_bits"].max()
                best = max(means, key=means.get) if means else None
                row += [f"{means[best]:.2f} (T = {best})" if best is not None else "missing",
                        cell(per_seed, g["seed"].nunique(), 2)]
                rows.append(row)
            d.table(header, rows)
            d.h(3, "Recalibrated on validation" + (f" ({title})" if title else ""))
            rows = []
            for m in self.models_in(sub):
                row = [self.names[m]]
                for T in lengths(sub):
                    g = sub[(sub["model"] == m) & (sub["T"] == T)]
                    c = g[g["status"].isin(COUNTED)]
                    if c.empty:
                        row.append(cell(c["test_bits_cal"], len(g), 2))
                        continue
                    flat = int(np.isinf(c["temperature"]).sum())  # beta = 0: the outputs carry nothing usable
                    temp = geo_cell(c["temperature"], len(g)).split(" (")[0] if flat < len(c) else ""
                    row.append(cell(c["test_bits_cal"], len(g), 2) + "; temperature " + temp +
                               (f"{', ' if temp else ''}∞ in {flat}" if flat else ""))
                rows.append(row)
            d.table(["model"] + [f"T = {T}" for T in lengths(sub)], rows)
        if "hidden" in self.axes:
            d.h(3, "Capacity in bits against the hidden size")
            rest = [a for a in self.other if a != "hidden"]
            counted = self.counted[np.isfinite(self.counted["test_bits"])]
            Hs = sorted(counted["hidden"].unique())
            rows = []
            for values, g in grouped(counted, ["model"] + rest):
                if g["hidden"].nunique() < 2:  # nothing to compare
                    continue
                row = [self.names.get(values[0], values[0])] + [load.shown(a, v) for a, v in zip(rest, values[1:])]
                for H in Hs:
                    gh = g[g["hidden"] == H]
                    means = gh.groupby("T")["test_bits"].mean()
                    row.append(f"{means.max():.2f} (T = {means.idxmax()})" if len(means) else "missing")
                rows.append(row)
            d.table(["model"] + rest + [f"H = {H}" for H in Hs], rows)

    # per-position bits
    def position_bits(self):
        groups = list(self.bits_groups())
        if not groups:
            return
        self.section("Memory by copy position",
                     f"Test bits carried per copy position, averaged over blocks of consecutive positions (at "
                     f"most {BLOCKS} blocks), seed mean ± SE; the positions add up to the trial's bits. The gray band "
                     "is ±1.96 standard errors of the test-set estimate around 0 for the seed mean (from each "
                     "position's spread over test sequences): what a model with no memory reads at this test size. A "
                     "block inside it is indistinguishable from none.")
        self.length_figures("position_bits", "Test bits per copy position, in blocks, at T = {T}", "per_position",
                            "position", self.position_bits_panel, groups=groups)

    def position_bits_panel(self, ax, _, runs, sub):
        """Each model's bits per block of copy positions, and the band of no memory; False if no model has
        per-position bits."""
        band, centers = 0.0, None
        for m, _, rows in runs:
            rows = [r for r in rows if len(r) and np.isfinite(r["bits"]).all()]
            if not rows:
                continue
            N = len(rows[0])
            edges = np.unique(np.linspace(0, N, min(N, BLOCKS) + 1).astype(int))
            size = np.diff(edges)
            means = [np.add.reduceat(r["bits"].to_numpy(), edges[:-1]) / size for r in rows]
            var = np.mean([np.add.reduceat(r["bits_se"].to_numpy() ** 2, edges[:-1]) for r in rows], axis=0)
            band = np.maximum(band, Z95 * np.sqrt(var / len(rows)) / size)
            centers = (edges[:-1] + edges[1:] + 1) / 2
            self.band(ax, means, m, centers, "-o")
        if centers is None:
            return False
        ax.fill_between(centers, -band, band, color="gray", alpha=0.25, linewidth=0,
                        label="no memory at this test size (95 %)")
        ax.axhline(0, color="gray", lw=0.8)
        self.step_axes(ax, sub, "test bits per position (block mean)")

    # convergence
    def convergence(self):
        self.section("Convergence speed",
                     "Updates (epochs × train-size / batch, counted at the end of the epoch) until the validation "
                     "split first carried 1 bit, 10 bits and 90 % of the selected epoch's bits (where those are at "
                     "least 1 bit), and until validation accuracy first reached 50 %, 90 % and 99 %: mean ± SE over "
                     "the seeds that got there, and 'never k/n' for those that did not.")
        bits = "val_bits" in self.curves.columns

        def rows(_, sub):
            for m, T, g, _ in self.model_lengths(sub):
                row = [self.names[m], T]
                reached = {}
                for (_, r), cr in zip(g.iterrows(), self.runs("curves", g["trial"], "epoch")):
                    per = int(r["train_size"]) // int(r["batch"])
                    final = cr[cr["epoch"] == r["best_epoch"]]["val_bits"] if bits else []
                    final = float(final.iloc[0]) if len(final) else math.nan
                    # 90 % of the final bits only where there is at least 1 bit: below, it is noise
                    goals = {"1 bit": 1, "10 bits": 10, "90 %": 0.9 * final if final >= 1 else math.nan}
                    for name, goal in goals.items():
                        hit = cr[cr["val_bits"] >= goal]["epoch"] if bits and np.isfinite(goal) else []
                        reached.setdefault(name, []).append(per * int(hit.iloc[0]) if len(hit) else None)
                    for th in (50, 90, 99):
                        e = int(r[f"conv_epoch_{th}"])
                        reached.setdefault(f"{th} %acc", []).append(per * e if e >= 0 else None)
                for name in ("1 bit", "10 bits", "90 %", "50 %acc", "90 %acc", "99 %acc"):
                    if not len(g):
                        row.append("missing")
                        continue
                    if name in ("1 bit", "10 bits", "90 %") and not bits:
                        row.append("n/a")
                        continue
                    got = [x for x in reached.get(name, []) if x is not None]
                    never = len(g) - len(got)
                    text = cell(got, len(got), 0).split(" (n=")[0] if got else ""
                    row.append((text + (f", never {never}/{len(g)}" if never else "")) if got
                               else f"never {never}/{len(g)}")
                yield row

        self.group_tables(["model", "T", "1 bit", "10 bits", "90 % of final bits", "accuracy 50 %", "accuracy 90 %",
                           "accuracy 99 %"], rows)

    # the gradient's decay per step
    def decay(self):
        if not self.has_bits:
            return
        self.section("The gradient's decay per step",
                     "ρ = exp(−slope) of the least-squares line through ln ‖∂L/∂h_t‖ against t over the steps "
                     "before the scored window (the symbols, delay and delimiter), on the probe batch: the factor by "
                     "which the gradient shrinks per step back in time (docs/method.md \"The gradient's decay per step\"). "
                     "Geometric means over seeds ×/÷ the SE factor, with the initial and the final weights; beside "
                     "them the value the cell's transition linearized at h = 0 predicts (orthogonal U, |λ| = 1; n/a "
                     "with other initializations), ρ^T, and ‖∂L/∂h_0‖, the gradient that reaches the first symbol.")
        gf = self.grad_flow
        first = (gf[gf["t"] == 0].pivot_table(index="trial", columns="which", values="norm") if len(gf)
                 else pd.DataFrame())

        def rows(title, sub):
            for m, T, g, n in self.model_lengths(sub):
                lin = g["rho_linear"].dropna().unique()
                h0 = first.reindex(g["trial"])
                yield [self.names[m], T, geo_cell(g["rho_initial"], n, ".4f"), geo_cell(g["rho_final"], n, ".4f"),
                       f"{lin[0]:.4f}" if len(lin) == 1 else "n/a",
                       geo_cell(g["rho_initial"] ** T, n, ".2e"),
                       geo_cell(h0.get("first", []), n, ".2e"), geo_cell(h0.get("last", []), n, ".2e")]
                for col, vals in (("rho_initial", g["rho_initial"]), ("rho_final", g["rho_final"]),
                                  ("grad_h0_initial", h0.get("first", pd.Series(dtype=float))),
                                  ("grad_h0_final", h0.get("last", pd.Series(dtype=float)))):
                    self.record(title, m, T, col + "_geomean", *geo_mean_se(vals), n)

        self.group_tables(["model", "T", "ρ initial", "ρ final", "linearized", "ρ^T initial", "‖∂L/∂h_0‖ initial",
                           "‖∂L/∂h_0‖ final"], rows)

    # the final decay, each cell against its multiplicative variant
    def decay_pairs(self):
        if not {"cell", "multiplicative", "rho_final"} <= set(self.df.columns):
            return
        family = []
        for title, sub in self.groups():
            c = sub[sub["status"].isin(COUNTED) & np.isfinite(sub["rho_final"]) & (sub["rho_final"] > 0)]
            for (cell_name, T), g in c.groupby(["cell", "T"], sort=False):
                plain, mult = g[g["multiplicative"] == 0], g[g["multiplicative"] == 1]
                if plain.empty or mult.empty:
                    continue
                x, y = mult.set_index("seed")["rho_final"], plain.set_index("seed")["rho_final"]
                p = paired(*np.log(x).align(np.log(y), join="inner"))
                if p["n"]:
                    family.append((title, plain["model"].iloc[0], mult["model"].iloc[0], T, x, y, p))
        if not family:
            return
        d = self.section("The final decay: each cell against its multiplicative variant",
                         "ρ with the final weights (the gradient's decay per step back in time after training), of each "
                         "cell and of the same cell with the multiplicative step, paired by seed: the geometric means "
                         "over seeds, and the per-seed ratio ρ(multiplicative) / ρ(plain) as the difference of their "
                         "logarithms, its mean with a 95 % t-interval, p, and Holm's correction over the "
                         f"{len(family)} comparisons of this section (one family). At ρ near 1 a ratio of 1.001 "
                         "compounds to e ≈ 2.7 over 1,000 steps: ρ^T says what the gradient at the first symbol "
                         "gets.")
        correct(p for *_, p in family)
        rows = []
        for title, a, b, T, x, y, p in family:
            r = math.exp(p["mean"])
            rows.append(([title] if self.other else []) +
                        [T, f"{self.names[b]} / {self.names[a]}", geo_cell(y, len(y), ".4f"), geo_cell(x, len(x), ".4f"),
                         f"{r:.4f} [{math.exp(p['lo']):.4f}, {math.exp(p['hi']):.4f}]" if p["n"] > 1 else f"{r:.4f}",
                         f"{r ** T:.3g}", p["n"], f"{p['p']:.3g}" if p["n"] > 1 else "n/a",
                         f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a", verdict(p)])
        d.table((["group"] if self.other else []) +
                ["T", "multiplicative / plain", "ρ final, plain", "ρ final, multiplicative", "ratio [95 %]",
                 "ratio^T", "n", "p", "Holm p", "separated"], rows)

    # gate statistics over the hold
    def gates(self):
        cols = [c[5:-5] for c in self.df.columns if c.startswith("hold_") and c.endswith("_mean")]
        c = self.counted
        cols = [g for g in cols if np.isfinite(c[f"hold_{g}_mean"]).any()]
        if not cols:
            return
        d = self.section("Gate statistics over the hold",
                         "During the hold (the steps between the last symbol shown and the delimiter, or with no delay "
                         "the whole input phase), on the test split at the selected weights: the mean of each gate's "
                         "activation over units, steps and sequences (every layer), mean ± SE over seeds, and in "
                         "brackets its standard deviation within a trial (mean over seeds). LSTM: i input, f forget, o "
                         "output, c the candidate c̃_t; GRU: z update, r reset, h the candidate ĥ_t; tanh RNN: h the "
                         "state h_t; m: the multiplicative step's gain m_t on the active input channel. A cell that "
                         "holds keeps f_t near 1 and i_t near 0 (LSTM), or z_t near 0 (GRU): it neither forgets nor "
                         "overwrites.")

        def rows(title, sub):
            for m, T, g, n in self.model_lengths(sub):
                row = [self.names[m], T]
                for x in cols:
                    v = g[f"hold_{x}_mean"]
                    if not np.isfinite(v).any():
                        row.append("")
                        continue
                    mean, se, k = mean_se(v)
                    spread = mean_se(g[f"hold_{x}_sd"])[0]
                    row.append(f"{mean:.3f}" + (f" ± {se:.3f}" if k > 1 else "") + f" [{spread:.3f}]")
                    self.record(title, m, T, f"hold_{x}_mean", mean, se, k, n)
                yield row

        self.group_tables(["model", "T"] + cols, rows)

    # memory against lag and load
    def lag_load(self):
        if "lag" not in self.df.columns or not self.has_bits:
            return
        c = self.counted[(self.counted["lag"] > 0) & np.isfinite(self.counted["test_bits"])]
        if c.empty:
            return
        ev = load.evals(self.path)
        ev = ev[ev["trial"].isin(c["trial"])] if not ev.empty and "lag" in ev else pd.DataFrame()
        rest = [a for a in self.other if a not in ("task", "T", "delay", "eval_T")]
        d = self.section("Memory against lag and load",
                         "bits(S, D): the memory bound of S symbols held for D steps (docs/method.md \"Memory against lag and "
                         "load\"): each symbol of copy is shown at step j and asked for at step j + D, D = T + delay + 1 "
                         "with S = T symbols; copy-delay holds S = 10 symbols for D = T + 10. Test bits, mean ± SE over "
                         "seeds, of the trials trained at (S, D), on the recalibrated bound (temperature fitted on the "
                         "validation split) where the raw mean is at or below 0, marked *; cells marked (eval) come "
                         "from a model trained at another length and tested at this one (eval-T): the delimiter tells "
                         "it when to answer, so they measure holding, not counting. capacity(D) is the most bits held "
                         "over D steps, the largest bits(S, D) over the loads S tried, from the seed means.")
        for values, sub in (grouped(c, rest) if rest else [((), c)]):
            title = ", ".join(f"{a} = {load.shown(a, v)}" for a, v in zip(rest, values))
            cells = {}  # (model, S, D, eval) -> [values per seed], raw mean
            for (m, S, D), g in sub.groupby(["model", "load", "lag"], sort=False):
                cells[m, S, D, False] = g
            e = ev[ev["trial"].isin(sub["trial"])] if len(ev) else ev
            if len(e):
                e = e.merge(sub[["trial", "model", "seed"]], on="trial", suffixes=("_eval", ""))
                for (m, S, D), g in e.groupby(["model", "load", "lag"], sort=False):
                    if (m, S, D, False) not in cells:
                        cells[m, S, D, True] = g.rename(columns={"bits": "test_bits", "bits_cal": "test_bits_cal"})
            points = sorted({(S, D) for _, S, D, _ in cells}, key=lambda x: (x[1], x[0]))
            if title:
                d.h(3, title)
            rows, best = [], {}
            for m in [m for m in self.models if any(k[0] == m for k in cells)]:
                row = [self.names[m]]
                for S, D in points:
                    key = next((k for k in ((m, S, D, False), (m, S, D, True)) if k in cells), None)
                    if key is None:
                        row.append("")
                        continue
                    g = cells[key]
                    raw = mean_se(g["test_bits"])[0]
                    metric = "test_bits_cal" if raw <= 0 else "test_bits"
                    mean, se, n = mean_se(g[metric])
                    row.append(f"{mean:.2f}" + (f" ± {se:.2f}" if n > 1 else "") + ("*" if metric != "test_bits" else "") +
                               (" (eval)" if key[3] else "") + f" (n={n})")
                    if np.isfinite(mean) and mean > best.get((m, D), (-math.inf, 0))[0]:
                        best[m, D] = (mean, S)
                    self.record(title, m, D, f"bits_S{S}", mean, se, n, n)
                rows.append(row)
            d.table(["model"] + [f"S = {S}, D = {D}" for S, D in points], rows)
            lags = sorted({D for _, D in points})
            d.p("capacity(D), bits (the load S that gave it):")
            d.table(["model"] + [f"D = {D}" for D in lags],
                    [[self.names[m]] + [f"{best[m, D][0]:.2f} (S = {best[m, D][1]})" if (m, D) in best else ""
                                        for D in lags] for m in self.models if any(k[0] == m for k in best)])
            if len(e):
                self.holding(e, sub)

    def holding(self, e, sub):
        """Trained lag against tested lag (eval-T) per model: bits, on the recalibrated bound where the raw
        mean is at or below 0."""
        self.doc.p("Holding beyond the lag trained at: the selected model of each trained lag D (rows) tested at "
                   "the other lags of eval-T (columns) with the same load, bits mean ± SE over seeds (* "
                   "recalibrated on the validation split of the tested lag, where the raw mean is at or below 0).")
        e = e.merge(sub[["trial", "lag", "load"]].rename(columns={"lag": "trained", "load": "trained_load"}),
                    on="trial")
        e = e[e["load"] == e["trained_load"]]
        tested = sorted(set(e["lag"]) | set(e["trained"]))
        for m in self.models:
            g = e[e["model"] == m]
            if g.empty:
                continue
            rows = []
            for D in sorted(g["trained"].unique()):
                row = [self.names[m], D]
                for D2 in tested:
                    if D2 == D:  # the trials themselves: those with eval rows, trained at D
                        own = sub[sub["trial"].isin(g["trial"]) & (sub["lag"] == D)]
                        v, cal = own["test_bits"], own["test_bits_cal"]
                    else:
                        x = g[(g["trained"] == D) & (g["lag"] == D2)]
                        v, cal = x["bits"], x["bits_cal"]
                    if not len(v):
                        row.append("")
                        continue
                    starred = mean_se(v)[0] <= 0
                    mean, se, n = mean_se(cal if starred else v)
                    row.append(f"{mean:.2f}" + (f" ± {se:.2f}" if n > 1 else "") + ("*" if starred else "") +
                               (" (trained)" if D2 == D else ""))
                rows.append(row)
            self.doc.table(["model", "trained D"] + [f"tested D = {D2}" for D2 in tested], rows)

    # paired differences
    def paired_differences(self):
        self.section("Paired differences between models",
                     "The models of one (T, seed) train and are tested on identical sequences, so they are compared "
                     "per seed: the difference A − B of each seed, their mean, its 95 % t-interval (df = n − 1) and "
                     "the two-sided p of the paired t-test. Each metric's comparisons in a group are one family "
                     "(docs/method.md \"Multiple comparisons\"): 'separated' when Holm's step-down correction over the whole "
                     f"family keeps the difference at level {ALPHA} (the raw interval may exclude 0 where the "
                     "corrected test does not). Bits are compared on the recalibrated bound wherever either cell's "
                     "raw mean is at or below 0, and two cells that both carry nothing (neither 95 % interval lies "
                     "above 0) are never called separated.")
        metrics = (["test_bits"] if self.has_bits else []) + ["test_acc"]

        def rows(title, sub):
            for metric in metrics:
                family = self.model_family(title, sub, metric)
                K = sum(np.isfinite(c["p"]) for c in family.values())
                dig = 2 if metric == "test_bits" else 4
                for (T, a, b), p in family.items():
                    label = ("accuracy" if metric == "test_acc" else
                             "bits, recalibrated" if p["metric"] == "test_bits_cal" else "bits")
                    yield [T, f"{self.names[a]} − {self.names[b]}", f"{label} (family of {K})",
                           ", ".join(signed(x, dig) for x in p["diffs"]), signed(p["mean"], dig),
                           f"[{signed(p['lo'], dig)}, {signed(p['hi'], dig)}]" if p["n"] > 1 else "n/a",
                           p["n"], f"{p['p']:.3g}" if p["n"] > 1 else "n/a",
                           f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a", verdict(p)]

        self.group_tables(["T", "A − B", "metric", "per seed", "mean", "95 % interval", "n", "p", "Holm p", "separated"],
                          rows)

    # final test metrics
    def final_tables(self):
        d = self.section("Final test metrics")
        for title, sub in self.groups():
            acc, memoryless = self.baselines(sub)
            unit = self.unit(sub)
            per = "copy symbol" if unit == "symbol" else f"scored {unit}"
            specs = [("test_acc", f"Test {unit} accuracy", "chance", acc),
                     ("test_seq_acc", "Test sequence accuracy", "", None),
                     ("test_loss", f"Test loss, nats per {per}", "memoryless", memoryless)]
            for metric, label, baseline, value in specs:
                d.h(3, label + (f" ({title})" if title else ""))
                header = ["model"] + [f"T = {T}" for T in lengths(sub)] + ([baseline] if baseline else [])
                rows = []
                for m in self.models_in(sub):
                    row = [self.names[m]] + [self.metric_cell(title, sub, m, T, metric)[0] for T in lengths(sub)]
                    if baseline:
                        row.append(f"{value:.4f}" if value is not None else "varies")
                    rows.append(row)
                d.table(header, rows)
                if metric == "test_acc" and self.has_bits and np.isfinite(sub["test_bits"]).any():
                    self.fano_table(title, sub)

    def fano_table(self, title, sub):
        """Beside the accuracy: the most mean accuracy that the bits a cell carries allow (docs/method.md "Memory
        against lag and load"), from its seed means."""
        d = self.doc
        d.p("The ceiling Fano's inequality puts on that accuracy: a model that holds B bits of the symbols of a "
            "sequence, b = B / (scored outputs) per output of K classes, has mean accuracy P with h(P) + (1 − P)·log2(K − 1) "
            "≥ log2 K − b. B is the larger of the raw and the recalibrated bound's seed means (both are lower bounds on what "
            "the state holds, so a model may hold more): the ceiling says how far accuracy can rise on the bits "
            "measured, and why accuracy cannot rank cells at long T. An accuracy above its ceiling (by the test set's "
            "sampling noise, or with miscalibrated outputs) says the bound understates what the model holds.")
        rows = []
        for m in self.models_in(sub):
            row = [self.names[m]]
            for T in lengths(sub):
                c = self.counted_of(sub, m, T)
                if c.empty:
                    row.append("missing")
                    continue
                K = int(round(1 / c["chance_acc"].iloc[0]))
                bits = max(mean_se(c["test_bits"])[0], mean_se(c["test_bits_cal"])[0])
                per_output = bits * math.log2(K) / c["bits_ceiling"].iloc[0]
                row.append(f"{c['test_acc'].mean():.4f} (ceiling {fano_ceiling(per_output, K):.4f})")
            rows.append(row)
        d.table(["model"] + [f"T = {T}" for T in lengths(sub)], rows)

    # curves
    def curve_figures(self):
        self.section("Training and validation curves",
                     "Loss (nats per copy symbol) and symbol accuracy against epochs; lines are the seed mean, bands "
                     "± SE over the seeds still training at that epoch (early stopping ends seeds at different "
                     "epochs).")
        self.length_figures("curves", "Curves at T = {T}", "curves", "epoch", self.curve_panel,
                            panels=("train_loss", "val_loss", "train_acc", "val_acc"), layout=(2, 2), size=(11, 7))

    def curve_panel(self, ax, key, runs, sub):
        """One column of the curves (key) against epochs."""
        for m, _, rows in runs:
            self.band(ax, padded([r[key].to_numpy() for r in rows]), m)
        self.chance_lines(ax, sub, "loss" in key)
        ax.set_title(key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))

    # per-position accuracy
    def position_figures(self):
        self.section("Test accuracy by copy position",
                     "Accuracy at each step of the scored window (for copy, position 1 is the first symbol shown; "
                     "for temporal-order and ntm-copy, steps where sequences of each length are scored): where memory "
                     "fails.")
        self.length_figures("positions", "Per-position test accuracy at T = {T}", "per_position", "position",
                            self.position_panel)

    def position_panel(self, ax, _, runs, sub):
        """Test accuracy at each step of the scored window."""
        for m, _, rows in runs:
            self.band(ax, [r["acc"].to_numpy() for r in rows], m)
        self.chance_lines(ax, sub)
        self.step_axes(ax, sub, f"test {self.unit(sub)} accuracy")

    # gradient flow
    def flow_figures(self):
        self.section("Gradient flow",
                     "‖∂L/∂h_t‖ against the time step t on a fixed probe batch (the first batch of validation "
                     "sequences), with the initial weights (dashed) and after the last epoch (solid); geometric "
                     "means over seeds (the mean of log10), log scale. The loss is on the last T steps, so gradient "
                     "enters at the right and flows back towards t = 0. A curve ends where a seed's gradient "
                     "underflows to 0 in float32.")
        self.length_figures("gradflow", "Gradient flow at T = {T}", "grad_flow", "t", self.flow_panel,
                            legend=dict(fontsize=7, ncol=2))

    def flow_panel(self, ax, _, runs, sub):
        """The geometric mean of ‖∂L/∂h_t‖ over seeds against t, with the initial and the final weights."""
        for m, _, rows in runs:
            for which, style in (("first", "--"), ("last", "-")):
                ys = [r[r["which"] == which]["norm"].to_numpy() for r in rows]
                ys = [y for y in ys if len(y) and np.all(np.isfinite(y))]
                if ys:
                    with np.errstate(divide="ignore"):
                        logs = np.log10(np.array(ys))  # -inf where a seed underflowed: no mean there
                    geo = 10 ** np.where(np.all(np.isfinite(logs), axis=0), np.mean(logs, axis=0), np.nan)
                    ax.plot(np.arange(len(ys[0])), geo, style, color=self.colors[m],
                            label=f"{self.names[m]} ({'initial' if which == 'first' else 'final'})")
        ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel("‖∂L/∂h_t‖")

    # stability
    def stability(self):
        d = self.section("Stability", f"Status of every trial, and loss spikes: epochs whose training loss exceeds "
                                      f"{SPIKE:.2f} × the previous epoch's.")
        rows = []
        for m in self.models:
            for T in self.Ts:
                g = self.df[(self.df["model"] == m) & (self.df["T"] == T)]
                spikes = 0
                for cr in self.runs("curves", g["trial"], "epoch"):
                    tl = cr["train_loss"].to_numpy()
                    spikes += int(np.sum(tl[1:] > SPIKE * tl[:-1])) if len(tl) > 1 else 0
                st = g["status"].value_counts()
                rows.append([self.names[m], T, len(g), st.get("done", 0), st.get("diverged", 0), st.get("failed", 0),
                             len(g) - st.get("done", 0) - st.get("diverged", 0) - st.get("failed", 0), spikes])
        d.table(["model", "T", "trials", "done", "diverged", "failed", "missing", "loss spikes"], rows)
        bad = self.df[self.df["status"].isin(("diverged", "failed"))]
        if len(bad):
            self.trial_table(bad)
        if "lr" in self.axes:
            fig, ax = plt.subplots(figsize=(7, 4))
            for m in self.models:
                g = self.counted[self.counted["model"] == m].groupby("lr")["test_acc"]
                ax.errorbar(g.mean().index, g.mean(), yerr=g.sem(), marker="o", color=self.colors[m], label=self.names[m])
            self.accuracy_axes(ax, self.counted, "learning rate")
            ax.legend(fontsize=8)
            self.save(fig, "lr", "Final test accuracy against the learning rate (mean ± SE over seeds and other axes)")

    # loss against updates, the form of the copy-delay literature
    def update_figures(self):
        if "copy-delay" not in set(self.df["task"]):
            return
        self.section("copy-delay: loss against updates",
                     "Validation loss (nats per copy symbol, on the 10 output steps) against the number of updates "
                     "(epochs × train-size / batch), seed mean ± SE, beside the memoryless baseline log K: the form in "
                     "which Arjovsky, Shah & Bengio (2016) report this task (their loss averages over all L steps, so "
                     "their baseline is 10 log K / (T + 20); ours is over the scored steps only).")
        self.length_figures("updates", "copy-delay at T = {T}: loss against updates", "curves", "epoch",
                            self.update_panel, size=(8, 4), heading="copy-delay, delay T = {T}",
                            groups=[(title, sub[sub["task"] == "copy-delay"]) for title, sub in self.groups()])

    def update_panel(self, ax, _, runs, sub):
        """The validation loss against updates."""
        for m, g, rows in runs:
            per_epoch = int(g["train_size"].iloc[0]) // int(g["batch"].iloc[0])
            ys = padded([r["val_loss"].to_numpy() for r in rows])
            self.band(ax, ys, m, per_epoch * np.arange(1, len(ys[0]) + 1))
        self.chance_lines(ax, sub, loss=True)
        ax.set_xlabel("updates")
        ax.set_ylabel("validation loss, nats per copy symbol")

    # length generalization
    def generalization(self):
        ev = load.evals(self.path)
        if ev.empty:
            return
        d = self.section("Length generalization",
                         "Test accuracy of the selected model of each trained length T (rows) at every evaluated "
                         "length T' (columns, from eval-T; where eval-T does not list T itself, the diagonal is the "
                         "model's own test set), mean over seeds. For ntm-copy T' is the exact number of vectors; it "
                         "was trained on 1..T.")
        for title, sub in self.groups():
            e = ev[ev["trial"].isin(sub["trial"])]
            if e.empty:
                continue
            Ts = sorted(sub["T"].unique())
            Te = sorted(set(e["T_eval"]) | set(Ts))
            fig, axs = plt.subplots(1, len(self.models), figsize=(4 * len(self.models), 0.6 * len(Ts) + 2),
                                    squeeze=False)
            rows = []
            for col, (ax, m) in enumerate(zip(axs[0], self.models)):
                grid = np.full((len(Ts), len(Te)), np.nan)
                for i, T in enumerate(Ts):
                    g = self.counted_of(sub, m, T)
                    row = [self.names[m], T]
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
                ax.set_title(self.names[m])
                for i in range(len(Ts)):
                    for j in range(len(Te)):
                        if np.isfinite(grid[i, j]):
                            ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                    color="white" if grid[i, j] < 0.6 else "black")
            fig.colorbar(im, ax=axs[0].tolist(), shrink=0.8, label=f"test {self.unit(sub)} accuracy")
            self.save(fig, "generalization", "Trained T × evaluated T' test accuracy", title)
            d.table(["model", "trained T"] + [f"T' = {t}" for t in Te], rows)

    # ntm-copy outputs as images
    def ntm_images(self):
        if not (self.counted["task"] == "ntm-copy").any():
            return
        self.section("ntm-copy: targets and outputs",
                     "The first test sequence at each evaluated length: the target bits (top) and the model's output "
                     "probabilities (bottom), one column per output vector, as Graves et al. (2014) draw them. One "
                     "trial per model: the first seed of the longest trained T.")
        for title, sub in self.groups():
            sub = sub[sub["task"] == "ntm-copy"]
            chosen = []
            for m in self.models:
                g = self.counted[self.counted["trial"].isin(sub["trial"]) & (self.counted["model"] == m)]
                if len(g):
                    chosen.append(g.sort_values(["T", "seed"], ascending=[False, True]).iloc[0])
            examples = [(r, load.eval_examples(self.path, int(r["trial"]))) for r in chosen]
            examples = [(r, ex) for r, ex in examples if ex]
            if not examples:
                continue
            lengths = sorted(examples[0][1])
            fig, axs = plt.subplots(2 * len(examples), len(lengths), squeeze=False,
                                    figsize=(2 + 2.2 * len(lengths), 1.3 * 2 * len(examples)))
            for i, (r, ex) in enumerate(examples):
                for j, T in enumerate(lengths):
                    out, target = ex.get(T, (np.zeros((0, 8)), np.zeros(0, dtype=int)))
                    scored = target >= 0
                    bits = ((target[scored][:, None] >> np.arange(out.shape[1])[None, :]) & 1).T
                    for k, (img, what) in enumerate(((bits, "target"), (out[scored].T, "output"))):
                        ax = axs[2 * i + k, j]
                        ax.imshow(img, vmin=0, vmax=1, cmap="gray_r", aspect="auto", interpolation="nearest")
                        ax.set_xticks([])
                        ax.set_yticks([])
                        if j == 0:
                            ax.set_ylabel(f"{self.names[r['model']]}\n{what}", fontsize=7)
                        if i == 0 and k == 0:
                            ax.set_title(f"n = {T}", fontsize=9)
            self.save(fig, "ntm", "ntm-copy targets and outputs at each evaluated length", title)

    # perplexity of the character-level language model
    def perplexity(self):
        lm = self.df[self.df["task"] == "charlm"]
        if lm.empty:
            return
        d = self.section("charlm: perplexity")
        d.p("Perplexity exp(loss per character) on the training set (the last epoch's updates, measured with "
            "dropout on), the validation set (the selected epoch: the lowest validation loss) and the test set "
            "(the selected model), mean ± SE over seeds, per model and every other axis (optimizer, dropout, ...).")
        keys = ["model"] + [a for a in self.axes if a not in ("model", "task")]
        rows = []
        for values, g in grouped(lm, keys):
            done = g[g["status"].isin(COUNTED)]
            train, val = [], []
            for (_, r), cr in zip(done.iterrows(), self.runs("curves", done["trial"], "epoch")):
                if len(cr):
                    train.append(math.exp(cr["train_loss"].iloc[-1]))
                    best = cr[cr["epoch"] == r["best_epoch"]]
                    val.append(math.exp(best["val_loss"].iloc[0]) if len(best) else math.nan)
            rows.append([self.names.get(values[0], values[0])] + list(values[1:]) +
                        [cell(train, len(g), 3), cell(val, len(g), 3), cell(np.exp(done["test_loss"]), len(g), 3)])
        d.table(["model"] + keys[1:] + ["train perplexity", "validation perplexity", "test perplexity"], rows)

    # memory capacity
    def capacity(self):
        copy = self.df[self.df["task"].isin(["copy", "copy-delay"])]
        if copy.empty or copy["T"].nunique() < 3:
            return
        d = self.section("Memory capacity in symbols")
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
            rows.append([self.names.get(values[0], values[0])] + list(values[1:]) +
                         [cap, cell(per_seed, g["seed"].nunique(), 1).split(" (")[0] + f" (n={len(per_seed)})",
                          gone if gone is not None else "not reached"])
        d.table(["model"] + keys + ["capacity", "capacity per seed", "chance from"], rows)
        fig, axs = plt.subplots(1, len(hidden), figsize=(6 * len(hidden), 4), squeeze=False)
        for ax, H in zip(axs[0], hidden):
            sub = copy[copy["hidden"] == H]
            for m in self.models:
                g = self.counted_of(sub, m)
                if len(g):
                    self.mean_bars(ax, g, "test_acc", m)
            self.accuracy_axes(ax, sub, "T")
            ax.axhline(CAPACITY, color="gray", ls="--", lw=0.8, label=f"{CAPACITY:.0%}")
            ax.set_title(f"H = {H}")
            ax.legend(fontsize=7)
        self.save(fig, "capacity", "Test accuracy against T: memory capacity of each model")

    # the aids against memory loss: chrono initialization and the curriculum over T
    def ablation(self):
        aids = [a for a in ("chrono", "curriculum") if a in self.axes]
        if not aids:
            return
        d = self.section("Aids: chrono initialization and curriculum")
        d.p("Test symbol accuracy per model and T with and without each aid (chrono: the T_max of the chrono "
            "initialization, 0 = off; curriculum: the first training length, 0 = off), mean ± SE over seeds, "
            "and the change against the plain model (both aids off) in the last columns.")
        rest = [a for a in self.other if a not in aids]  # a table for each combination of the other axes
        for values, sub in grouped(self.df, rest) if rest else [((), self.df)]:
            if rest:
                d.h(3, ", ".join(f"{a} = {load.shown(a, v)}" for a, v in zip(rest, values)))
            combos = sorted(grouped(sub, aids), key=lambda c: tuple(load.order(a, v) for a, v in zip(aids, c[0])))
            header = ["model", "T"] + [", ".join(f"{a} {load.shown(a, v)}" for a, v in zip(aids, vals))
                                       for vals, _ in combos]
            rows = []
            for m in self.models:
                for T in self.Ts:
                    if not ((sub["model"] == m) & (sub["T"] == T)).any():  # not in the sweep at all
                        continue
                    row, means = [self.names[m], T], []
                    for _, g in combos:
                        sel = g[(g["model"] == m) & (g["T"] == T)]
                        acc = sel.loc[sel["status"].isin(COUNTED), "test_acc"]
                        row.append(cell(acc, len(sel)))
                        means.append(mean_se(acc)[0])
                    plain = means[0] if all(v == 0 for v in combos[0][0]) else math.nan
                    row += [f"{x - plain:+.4f}" if np.isfinite(x - plain) else "" for x in means[1:]]
                    rows.append(row)
            d.table(header + [f"Δ {h}" for h in header[3:]], rows)

    # every other axis, value against value
    def factors(self):
        axes = [a for a in self.other if a != "task"]  # tasks differ in their ceilings: not comparable
        if not axes or not self.has_bits:
            return
        d = self.section("Factors: paired differences")
        d.p("Each axis other than model and T, one value against the baseline value (the one most trials have), "
            "paired by (model, T, seed) with every other setting equal: the per-seed differences in test bits (on the "
            "recalibrated bound where either side's raw mean is at or below 0), their mean, its 95 % t-interval "
            "(df = n − 1) and the paired t-test's p. Each axis's rows are one family: 'separated' when Holm's "
            f"correction over them keeps the difference at level {ALPHA}, and never where neither side carries memory.")
        c = self.counted
        for a in axes:
            rest = [x for x in self.other if x != a]
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
                rows.append([f"{load.shown(a, v)} − {load.shown(a, base)}", self.names.get(keys[0], keys[0]), keys[1]] +
                            [load.shown(r, k) for r, k in zip(rest, keys[2:])] +
                            ["recalibrated" if p["metric"] == "test_bits_cal" else "raw",
                             ", ".join(signed(x, 2) for x in p["diffs"]), signed(p["mean"], 2),
                             f"[{signed(p['lo'], 2)}, {signed(p['hi'], 2)}]" if p["n"] > 1 else "n/a", p["n"],
                             f"{p['p']:.3g}" if p["n"] > 1 else "n/a", f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a",
                             verdict(p)])
                self.record(f"{a} {load.shown(a, v)} - {load.shown(a, base)}", keys[0], keys[1], "test_bits_paired",
                            p["mean"], math.nan, p["n"], p["n"])
            if rows:
                d.h(3, f"{a}: each value against {load.shown(a, base)}")
                d.p(f"A family of {len(rows)} comparisons.")
                d.table([a, "model", "T"] + rest + ["bound", "per seed", "mean", "95 % interval", "n", "p", "Holm p",
                                                    "separated"], rows)

    # a search: the rungs, each group's selected sample, against unsearched trials, the compute
    def search(self):
        if not self.searched:
            return
        s, a = self.spec, self.everything
        srch = a[a["sample"] >= 0]
        keys = self.group_keys()
        per_epoch = srch["train_size"] // srch["batch"]
        full = (srch["max_updates"] // per_epoch).clip(lower=1)
        d = self.section("Search")
        ranges = ", ".join(f"{k} ({s['ranges'][k]})" for k in self.searched)
        d.p(f"{s['samples']} samples of {ranges}, drawn from the "
            f"stream of sampler-seed {s['seed']}: the same samples for every {', '.join(keys)}. {len(srch)} searched "
            f"trials ({', '.join(f'{n} {st}' for st, n in srch['status'].value_counts().items())}). The other sections "
            "show each group (" + ", ".join(keys) + ") at its selected sample: the counted trial with the best "
            f"{'[halving] metric' if s['rungs'] else 'validation value'} over its epochs.")
        if s["rungs"]:
            d.p(f"Asynchronous successive halving (η = {s['reduction']:g}, metric {s['metric']}, the best value up to "
                "the rung): at a rung a trial goes on only if fewer than max(1, ⌊n/η⌋) of the n trials of its group "
                "recorded there so far did better; a group is the trials that differ only in the searched settings.")
            rows = []
            for r, e in enumerate(s["rungs"]):
                reached = int((srch["epochs"] >= e).sum())
                pruned = int(((srch["status"] == "pruned") & (srch["epochs"] == e)).sum())
                rows.append([r + 1, e, reached, pruned, reached - pruned])
            d.table(["rung", "epoch", "trials that reached it", "pruned there", "went on"], rows)
        group = [k for k in keys if k != "seed"]
        chosen = self.df[self.df["sample"] >= 0]
        rows = []
        for values, g in grouped(chosen, group):
            c = g[g["status"].isin(COUNTED)]
            picks = "; ".join(", ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in c[k]) for k in self.searched)
            geo = ", ".join(f"{geo_mean_se(c[k])[0]:.3g}" for k in self.searched) if len(c) else "n/a"
            row = [self.names.get(values[0], values[0])] + [load.shown(k, v) for k, v in zip(group[1:], values[1:])]
            row += [picks, geo, cell(self.selection(c), len(g), 2) if len(c) else "n/a",
                    cell(c["test_bits"], len(g), 2) if self.has_bits else cell(c["test_acc"], len(g)),
                    cell(c["test_acc"], len(g))]
            rows.append(row)
        d.h(3, "The selected sample of each group")
        d.table(group + [f"{'; '.join(self.searched)} per seed", f"geometric mean of {', '.join(self.searched)}",
                         "selection value",
                         "test bits" if self.has_bits else "test accuracy", "test accuracy"], rows)
        # against the unsearched trials of the same groups (a fixed setting), paired by seed
        fixed = a[(a["sample"] < 0) & a["status"].isin(COUNTED)]
        fixed = fixed[in_groups(fixed, keys, set(srch[keys].itertuples(index=False, name=None)))]
        metric = "test_bits" if self.has_bits else "test_acc"
        for config, f in grouped(fixed, self.searched):
            label = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in zip(self.searched, config))
            family = []
            for values, g in grouped(chosen[chosen["status"].isin(COUNTED)], group):
                x = g.set_index("seed")
                y = f[in_groups(f, group, {tuple(values)})].set_index("seed")
                common = x.index.intersection(y.index)
                x, y = x.loc[common], y.loc[common]
                p = bits_pair(x, y) if metric == "test_bits" else paired(*x[metric].align(y[metric], join="inner"))
                if p["n"]:
                    family.append((values, x, y, p))
            correct(p for *_, p in family)
            rows = []
            for values, x, y, p in family:
                used = p.get("metric", metric)
                rows.append([self.names.get(values[0], values[0])] + [load.shown(k, v) for k, v in zip(group[1:], values[1:])] +
                            [cell(y[used], len(y), 2), cell(x[used], len(x), 2), ", ".join(signed(v, 2) for v in p["diffs"]),
                             signed(p["mean"], 2), f"[{signed(p['lo'], 2)}, {signed(p['hi'], 2)}]" if p["n"] > 1 else "n/a",
                             p["n"], f"{p['p']:.3g}" if p["n"] > 1 else "n/a",
                             f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a", verdict(p)])
                self.record(f"search - {label}", values[0], values[1] if len(values) > 1 else math.nan,
                            f"{metric}_paired", p["mean"], math.nan, p["n"], p["n"])
            if rows:
                d.h(3, f"The selected sample against {label}")
                d.p(f"{metric} of the unsearched trials with {label} and of each group's selected sample (bits on the "
                    "recalibrated bound where either side's raw mean is at or below 0), paired by seed: the per-seed "
                    "differences (selected − fixed), their mean, 95 % t-interval (df = n − 1) and the paired t-test's "
                    f"p; the {len(rows)} rows are one family, 'separated' when Holm's correction keeps the difference at "
                    f"level {ALPHA}.")
                d.table(group + [label, "selected", "per seed", "mean", "95 % interval", "n", "p", "Holm p", "separated"],
                        rows)
        ran, budget = int(srch["epochs"].sum()), int(full.sum())
        est = float((srch["wall_s"] * full / srch["epochs"].clip(lower=1)).sum())
        d.p(f"Compute: the searched trials ran {ran:,} epochs of the {budget:,} that {len(srch)} trials at their full "
            f"budgets take ({ran / budget:.1%}); {srch['wall_s'].sum():.0f} s of trial time against an estimated "
            f"{est:.0f} s for all of them at full budget (each trial's time scaled by full epochs / epochs run; "
            f"ratio {srch['wall_s'].sum() / est:.2f})" + (f"; the {len(fixed)} unsearched trials of the same groups "
            f"took {fixed['wall_s'].sum():.0f} s." if len(fixed) else "."))

    # what an update costs
    def cost(self):
        c = self.counted[self.counted["epochs"] > 0]
        if c.empty:
            return
        d = self.section("Cost per update")
        d.p("Milliseconds per update of each model: the trial's wall time (its validation and test passes included) "
            "divided by the updates it ran, mean ± SE over its trials, and the ratio to the first model's mean at the "
            "same settings. Measured on the machine and the thread count of the run (set-up below).")
        keys = ["model"] + [k for k in ("task", "hidden", "embed", "batch") if k in self.axes] + ["T"]
        ms = 1e3 * c["wall_s"] / (c["epochs"] * (c["train_size"] // c["batch"]))
        c = c.assign(ms=ms)
        means = c.groupby(keys)["ms"].mean()
        rows = []
        for values, g in grouped(c.sort_values(keys[1:], kind="stable"), keys):
            ref = means.get((self.models[0],) + values[1:], math.nan)
            m = g["ms"].mean()
            rows.append([self.names.get(values[0], values[0])] + [load.shown(k, v) for k, v in zip(keys[1:], values[1:])] +
                        [cell(g["ms"], len(g), 2), f"{m / ref:.2f}" if np.isfinite(ref) else "n/a"])
        d.table(keys + ["ms per update", f"× {self.names[self.models[0]]}"], rows)

    # set-up
    def setup(self):
        d = self.section("Set-up")
        params = self.df.groupby(["model"] + [a for a in ("hidden", "vocab") if a in self.axes],
                                 sort=False)["n_params"].first()
        d.p("Parameter counts (the multiplicative models have W_m, U_m and b_m besides the cell's weights):")
        d.table(["model", "parameters"] if params.index.nlevels == 1 else [*params.index.names, "parameters"],
                [[self.names.get(i, i) if not isinstance(i, tuple) else ", ".join(map(str, i)), f"{v:,}"]
                 for i, v in params.items()])
        d.p("Settings identical for every trial:")
        d.table(["setting", "value"], [[k, v] for k, v in load.constants(self.df).items()])
        runs = load.runs(self.path)
        counted = self.everything[self.everything["status"].isin(load.FINAL)]
        if len(runs):
            d.p(f"The sweep ran {len(runs)} time(s) for {runs['wall_s'].sum():.0f} s of wall time in all; the "
                f"trials took {counted['wall_s'].sum():.0f} s of compute (one rank each).")
            d.table(["started", "wall s", "ranks", "threads/rank", "trials run", "left", "exit"],
                    [[r["started"], f"{r['wall_s']:.1f}", r["ranks"], r["threads"], r["trials_run"],
                      r["trials_left"], r["exit_status"]] for _, r in runs.iterrows()])
        else:
            d.p(f"The trials took {counted['wall_s'].sum():.0f} s of compute.")
        d.p("The job file:")
        d.pre(self.attrs.get("job", ""))

    def write(self):
        os.makedirs(self.outdir, exist_ok=True)
        for step in (self.title, self.answer, self.overview, self.search, self.headline, self.bits_table,
                     self.lag_load, self.position_bits, self.convergence, self.decay, self.decay_pairs, self.gates,
                     self.paired_differences, self.final_tables,
                     self.curve_figures, self.position_figures, self.flow_figures, self.stability, self.update_figures,
                     self.generalization, self.ntm_images, self.perplexity, self.capacity, self.ablation, self.factors,
                     self.cost, self.setup):
            step()
        with open(os.path.join(self.outdir, "index.md"), "w") as f:
            f.write(self.doc.markdown())
        with open(os.path.join(self.outdir, "index.html"), "w") as f:
            f.write(self.doc.html(f"copysweep report: {os.path.basename(self.path)}"))
        pd.DataFrame(self.summary).to_csv(os.path.join(self.outdir, "summary.csv"), index=False)


def main():
    p = argparse.ArgumentParser(description="Tables and figures of a copysweep results file.")
    p.add_argument("results")
    p.add_argument("-o", "--output", default="report", help="folder for index.md, index.html and the figures")
    a = p.parse_args()
    try:
        r = Report(a.results, a.output)
        r.write()
    except load.ResultsError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    missing = int((~r.df["status"].isin(COUNTED)).sum())
    print(f"report: wrote {os.path.join(a.output, 'index.md')}, index.html and {len(r.figures)} figures for "
          f"{len(r.df)} trials" + (f" ({missing} missing)" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
