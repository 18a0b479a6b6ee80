"""The sections of a file of exec trials (a job with [exec]: each trial ran the user's program, which
reported its own metrics): what the file holds, the declared metrics by the settings that vary, paired
differences along each of them, the curves the program reported per epoch, the failed trials and the
set-up. None of them reads a built-in column (model, T, bits, ...): the keys and metrics are the
job's own, as load.exec_info names them."""
import math

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

import load
from report_data import COUNTED, correct, grouped, verdict
from report_doc import exec_cell, exec_number
from report_sections.search_setup import runs_and_job
from stats import ALPHA, mean_se, paired

MISSING_ROWS = 20  # trials listed of an incomplete file's unfinished ones (the rest are counted)
# curve fields that are bookkeeping, not metrics: never drawn
FAILED_ROWS = 20  # rows of the failed trials' table (the rest are counted)
NOT_DRAWN = ("epoch", "wall_s", "train_T", "trial", "running")
TAIL = 160  # characters of a failed trial's last stderr line shown
# the lines of one key's values: neighbours far apart (report_data.PALETTE pairs a cell with its variant)
COLORS = ["tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
          "tab:olive", "tab:cyan"]


def shown(key, value):
    """A key's value as the job wrote it; "(unset)" where the trial's grid does not set the key."""
    return "(unset)" if isinstance(value, str) and value == "" else load.shown(key, value)


def label(keys, values):
    """"k = v, ..." of a cell; "all trials" with no keys."""
    return ", ".join(f"{k} = {shown(k, v)}" for k, v in zip(keys, values)) or "all trials"


def cells(data, frame):
    """(values, sub-frame) of every combination of the varying keys in frame, in sorted order."""
    if not data.axes:
        return [((), frame)]
    return sorted(grouped(frame, data.axes), key=lambda c: tuple(load.order(a, v) for a, v in zip(data.axes, c[0])))


def overview(data, d):
    """After the title: what the file holds (trials, keys, metrics, program), and its unfinished trials."""
    a, every = data.attrs, data.everything
    counts = every["status"].value_counts()
    constant = load.constants(every, data.keys)
    d.p(f"{len(every)} exec trials ({', '.join(f'{n} {s}' for s, n in counts.items())}) of the program of the job's "
        f"[exec] section. Its keys: {', '.join(data.keys)}; varying: {', '.join(data.axes) or 'none'}" +
        (f" (searched: {', '.join(data.searched)})" if data.searched else "") +
        (f"; seeds {', '.join(map(str, data.seeds))}" if data.seed else "; no seed key (every trial its own cell)") +
        (f"; the same in every trial: {', '.join(f'{k} = {v}' for k, v in constant.items())}" if constant else "") +
        f". Declared metrics: {', '.join(data.metrics) or 'none'}. Written by copysweep "
        f"{a.get('copysweep_version')} on {a.get('created')}.")
    d.p("Tables give mean ± standard error over seeds (SE = sample standard deviation / √n) and the number of "
        "seeds n that count: trials that are done or diverged and reported the metric. Pending, running, failed "
        "and pruned trials are counted beside, never averaged.")
    unfinished = every[~every["status"].isin(load.FINAL)]
    if len(unfinished):
        d.h(2, "Unfinished trials")
        d.p(f"This file is incomplete: {len(unfinished)} of {len(every)} trials have no result yet" +
            (f"; the first {MISSING_ROWS} of them:" if len(unfinished) > MISSING_ROWS else "."))
        data.trial_table(d, unfinished.head(MISSING_ROWS))


def metrics(data, d):
    """Section "Metrics by setting": every declared metric per cell of the varying keys, mean ± SE over
    seeds, with the trials of the cell and how many failed or were pruned."""
    d.section("Metrics by setting")
    rep = "over seeds" if data.seed else "(no seed key: one trial per cell)"
    unfinished = not data.everything["status"].isin(load.FINAL).all()
    d.p("Each declared metric (the program's final record) " +
        (f"per combination of the keys that vary ({', '.join(data.axes)})" if data.axes else
         "over all trials (no key varies but the seed)") +
        f", mean ± SE {rep} (n: the trials that count and "
        "reported it, of the cell's trials shown)." +
        (" A searched job shows each group at its selected sample (section \"Search\"); trials, failed and pruned "
         "count every sample of the cell." if data.searched else "") +
        " Numbers to 4 significant digits of the larger of mean and SE, both to the same decimals." +
        (" Not finished: pending or running." if unfinished else ""))
    rows = []
    for values, sub in cells(data, data.df):
        title = label(data.axes, values)
        every = data.everything
        if data.axes:
            every = every[np.logical_and.reduce([every[a] == v for a, v in zip(data.axes, values)])]
        counted = sub[sub["status"].isin(COUNTED)]
        row = [shown(a, v) for a, v in zip(data.axes, values)]
        for m in data.metrics:
            row.append(exec_cell(counted[m], len(sub)))
            data.record(title, "", math.nan, m, *mean_se(counted[m]), len(sub))
        st = every["status"].value_counts()
        row += [len(every), st.get("failed", 0), st.get("pruned", 0)]
        if unfinished:
            row.append(int((~every["status"].isin(load.FINAL)).sum()))
        rows.append(row)
    d.table((data.axes or ["cell"]) + data.metrics + ["trials", "failed", "pruned"] +
            (["not finished"] if unfinished else []),
            rows if data.axes else [["all trials"] + r for r in rows])


def paired_differences(data, d):
    """Section "Paired differences between settings": along each varying key, each value against the
    baseline, on pairs of trials equal in every other key and the seed; left out where no key has two
    values among the counted trials."""
    c = data.counted
    tables = [t for t in (axis_pairs(data, c, a) for a in data.axes) if t]
    if not tables or not data.metrics:
        return
    d.section("Paired differences between settings")
    d.p("Along each key that varies, each value against the baseline value (the one most counted trials have; "
        "the lowest where they tie): pairs of counted trials equal in every other key" +
        (" and the seed" if data.seed else "") + ", the mean of the differences (value − baseline) ± the SE of "
        "the paired differences (sd / √n, over all the pairs, whatever their other keys), n pairs, the 95 % "
        "t-interval (df = n − 1) and the paired t-test's p. Each metric's comparisons along one key are a family: "
        f"'separated' when Holm's correction over it keeps the difference at level {ALPHA}.")
    for a, base, rest, rows, unpaired in tables:
        d.h(3, f"{a}: each value against {shown(a, base)}")
        if rows:
            d.table(["metric", a, "mean ± SE", "n pairs", "95 % interval", "p", "Holm p", "separated"], rows)
        if unpaired:
            d.p(f"No pair of counted trials equal in {', '.join(rest) or 'the other keys'} for {'; '.join(unpaired)}.")


def axis_pairs(data, c, a):
    """(a, its baseline value, the keys pairs match on, the table's rows, the comparisons without a pair)
    of one key a over the counted trials c, the rows recorded in summary.csv; None where the counted
    trials have fewer than two values of a."""
    match = data.axes + ([data.seed] if data.seed else [])
    rest = [k for k in match if k != a]
    counts = c[a].value_counts()
    if len(counts) < 2:
        return None
    base = sorted(counts.index[counts == counts.max()], key=lambda v: load.order(a, v))[0]
    rows, unpaired = [], []
    for m in data.metrics:
        family = []
        y = c[c[a] == base].set_index(rest)[m] if rest else c[c[a] == base][m].reset_index(drop=True)
        for v in sorted((v for v in c[a].unique() if v != base), key=lambda v: load.order(a, v)):
            x = c[c[a] == v].set_index(rest)[m] if rest else c[c[a] == v][m].reset_index(drop=True)
            p = paired(*x.align(y, join="inner"))
            if p["n"]:
                family.append((v, p))
            elif f"{shown(a, v)} − {shown(a, base)}" not in unpaired:
                unpaired.append(f"{shown(a, v)} − {shown(a, base)}")
        correct(p for _, p in family)
        for v, p in family:
            se = float(np.std(p["diffs"], ddof=1) / math.sqrt(p["n"])) if p["n"] > 1 else math.nan
            rows.append([m, f"{shown(a, v)} − {shown(a, base)}", exec_number(p["mean"], se, sign=True), p["n"],
                         "[{}, {}]".format(*(exec_number(p[b], sign=True, scale=max(abs(p["mean"]), se))
                                             for b in ("lo", "hi")))
                         if p["n"] > 1 else "n/a",
                         f"{p['p']:.3g}" if p["n"] > 1 else "n/a",
                         f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a", verdict(p)])
            data.record(f"{a} {shown(a, v)} - {shown(a, base)}", "", math.nan, f"{m}_paired",
                        p["mean"], se, p["n"], p["n"])
    return a, base, rest, rows, unpaired


def curve_metrics(frame, data):
    """The columns of the curves to draw: the standard fields the program reported (not all NaN) and every
    other number it reported per epoch, bookkeeping and the joined keys left out."""
    joined = set(data.keys)
    return [c for c in frame.columns if c not in NOT_DRAWN and c not in joined
            and pd.api.types.is_numeric_dtype(frame[c]) and np.isfinite(frame[c].astype(float)).any()]


def curves(data, d):
    """Section "Curves": the per-epoch metrics against epochs, a line per value of each varying key, mean ±
    SE over the counted trials with that value (seeds and the other keys)."""
    cur = data.curves
    cur = cur[cur["trial"].isin(data.counted["trial"]) & ~cur["running"].astype(bool)]
    drawn = curve_metrics(cur, data)
    if cur.empty or not drawn:
        return
    # a figure per key with two values or more among the drawn trials (else one of all of them)
    keys = [a for a in data.axes if cur[a].nunique() > 1]
    d.section("Curves")
    d.p(f"What the program reported per epoch ({', '.join(drawn)}) against the epoch, for the counted trials"
        + (" (the selected sample of each group)" if data.searched else "") +
        (": one figure per key that varies, a line per value of the key, the mean over the trials with that value "
         "(its seeds and every value of the other keys)" if keys else ": the mean over them") +
        " with a band of ± SE over them at each epoch.")
    ncol = min(3, len(drawn))
    nrow = math.ceil(len(drawn) / ncol)
    for a in keys or [None]:
        fig, axs = plt.subplots(nrow, ncol, figsize=(4.5 * ncol, 3.2 * nrow), squeeze=False)
        groups = ([(v, g) for (v,), g in cells_of(cur, a)] if a else [("all trials", cur)])
        for ax, metric in zip(axs.flat, drawn):
            for i, (v, g) in enumerate(groups):
                st = g.groupby("epoch")[metric].agg(["mean", "std", "count"]).dropna(subset=["mean"])
                if st.empty:
                    continue
                se = np.where(st["count"] > 1, st["std"] / np.sqrt(st["count"]), 0)
                color = COLORS[i % len(COLORS)]
                ax.plot(st.index, st["mean"], "-o", ms=3, color=color,
                        label=f"{a} = {shown(a, v)}" if a else v)
                ax.fill_between(st.index, st["mean"] - se, st["mean"] + se, color=color, alpha=0.2, linewidth=0)
            ax.set_title(metric.replace("_", " "))
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        for ax in list(axs.flat)[len(drawn):]:
            ax.set_visible(False)
        axs.flat[0].legend(fontsize=8)
        fig.tight_layout()
        data.save(d, fig, f"exec_curves_{a}" if a else "exec_curves",
                  "Per-epoch metrics" + (f" by {a}" if a else "") + ", mean ± SE over trials")


def cells_of(frame, key):
    """(value,), sub-frame for each value of one key, in order."""
    return sorted(grouped(frame, [key]), key=lambda c: load.order(key, c[0][0]))


def failed(data, d):
    """Section "Failed trials": each failed trial's keys, exit code, signal, message and last stderr line."""
    bad = data.everything[data.everything["status"] == "failed"]
    if bad.empty:
        return
    d.section("Failed trials")
    d.p(f"{len(bad)} of {len(data.everything)} trials failed: the program exited with a status other than 0, was "
        "killed by a signal (exit code −1), timed out or broke the metrics protocol. Their metrics are never "
        "averaged. The last line of the stderr the file keeps (the whole stderr is in the file named by "
        "/trial/<n>'s stderr attribute)." + (f" The first {FAILED_ROWS} of them:" if len(bad) > FAILED_ROWS else ""))
    keys = load.axes(data.everything, data.keys) + ([data.seed] if data.seed else [])
    rows = [[r["trial"]] + [shown(k, r[k]) for k in keys] +
            [r["exit_code"], r["signal"], "yes" if r["timed_out"] else "", r["message"], last_line(r["stderr_tail"])]
            for _, r in bad.head(FAILED_ROWS).iterrows()]
    d.table(["trial"] + keys + ["exit code", "signal", "timed out", "message", "last line of stderr"], rows)


def last_line(text):
    """The last non-empty line of a text, shortened to TAIL characters, with | (a Markdown table's
    separator) shown as ¦."""
    lines = [x for x in str(text).splitlines() if x.strip()]
    line = lines[-1].strip() if lines else ""
    return (line if len(line) <= TAIL else line[:TAIL - 1] + "…").replace("|", "¦")


def setup(data, d):
    """Section "Set-up": the keys every trial shares, the program and its versions, the runs and the job file."""
    d.section("Set-up")
    constant = load.constants(data.everything, data.keys)
    if constant:
        d.p("Keys identical for every trial:")
        d.table(["key", "value"], [[k, v] for k, v in constant.items()])
    else:
        d.p(f"Every key varies ({', '.join(data.keys)}).")
    versions = {}
    with load.open_results(data.path) as f:
        for k in data.everything.loc[data.everything["status"].isin(load.FINAL), "trial"]:
            g = f.get(f"trial/{k}")
            if g is not None and "program" in g.attrs:
                at = {n: g.attrs.get(n, b"") for n in ("program", "program_version")}
                at = {n: v.decode() if isinstance(v, bytes) else str(v) for n, v in at.items()}
                versions.setdefault((at["program"], at["program_version"]), []).append(int(k))
    if versions:
        d.p("The program each finished trial ran, with its version (the job's version-command, or a hash of the "
            "program file):")
        d.table(["program", "version", "trials"],
                [[p, v, len(ks)] for (p, v), ks in versions.items()])
    runs_and_job(data, d)
