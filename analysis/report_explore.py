"""The report to explore: explore.html beside index.html, one self-contained page (plotly.js inline,
so that it opens offline) with interactive versions of the headline figures (hover, zoom, a click
on a legend entry hides a model) and the views of a search: memory in bits against T, the training
curves, bits by copy position, each searched or swept setting's share of the variance of the
objective, the searched settings against the objective in parallel coordinates, and each group's
best value against the trials run. The PNGs of index.html stay for the README and for print.

Each figure is one function f(data) -> a plotly Figure, or None where the file does not need it,
and one line of FIGURES. Needs Debian's python3-plotly; without it the report says so and writes no
page."""
import html
import os

import matplotlib.colors
import numpy as np
import pandas as pd

import load
from report_data import COUNTED
from report_sections import pareto

try:
    import plotly.graph_objects as go
    import plotly.io as pio
except ImportError:  # the report goes on without the page
    go = pio = None


def color(data, m):
    """A model's colour of the PNGs (matplotlib's names), as plotly takes it."""
    return matplotlib.colors.to_hex(data.colors.get(m, "gray"))


def headline(data):
    """Test bits where the task has them, else test accuracy (an exec file: its first declared metric)."""
    if data.exec:
        return data.metrics[0] if data.metrics else None
    return "test_bits" if data.has_bits else "test_acc"


def objective(data):
    """(name, maximize) of what a trial is judged by: a TPE search's objective, else the headline."""
    s = data.spec
    if s["sampler"] == "tpe" and s["objective"]:
        return s["objective"], s["maximize"]
    return headline(data), True


def objective_values(data, rows):
    """The objective of each of rows: its column, or the best of its validation curve (TPE's val-bits)."""
    y, maximize = objective(data)
    if y in rows.columns:
        return pd.to_numeric(rows[y], errors="coerce")
    c = data.curves[~data.curves["running"].astype(bool)].groupby("trial")[y]
    return rows["trial"].map(c.max() if maximize else c.min())


def bits_against_T(data):
    """Test bits (or accuracy) against T per model: every seed a point with its trial on hover, the
    mean ± SE over seeds a line with error bars."""
    if data.exec or len(data.Ts) < 2:
        return None
    y = headline(data)
    fig = go.Figure()
    for m in data.models:
        sub = data.counted[data.counted["model"] == m]
        if sub.empty:
            continue
        fig.add_trace(go.Scatter(x=sub["T"], y=sub[y], mode="markers", name=f"{data.names[m]} (seeds)",
                                 legendgroup=m, marker=dict(color=color(data, m), opacity=0.45, size=7),
                                 text=[f"trial {t}, seed {s}" for t, s in zip(sub["trial"], sub["seed"])],
                                 hovertemplate="T = %{x}<br>%{y:.3f}<br>%{text}<extra></extra>"))
        g = sub.groupby("T")[y]
        mean, se = g.mean(), g.std(ddof=1) / np.sqrt(g.count())
        fig.add_trace(go.Scatter(x=mean.index, y=mean.values, mode="lines+markers", name=data.names[m],
                                 legendgroup=m, line=dict(color=color(data, m)),
                                 error_y=dict(type="data", array=se.fillna(0).values, visible=True),
                                 hovertemplate="T = %{x}<br>mean %{y:.3f}<extra>" + html.escape(data.names[m]) + "</extra>"))
    fig.update_layout(title=f"{y} against T: seeds as points, mean ± SE over seeds", xaxis_title="T",
                      yaxis_title=y, xaxis_type="log")
    return fig


MAX_CURVES = 40  # lines per model and T (the rest are left out, so that a page of 10,000 trials stays light)


def curves(data):
    """Validation bits (or accuracy) against epochs, one line per trial (the running ones and the first
    MAX_CURVES counted of each model and T), a dropdown per T."""
    if data.exec:
        return None
    c = data.curves
    running = set(c.loc[c["running"].astype(bool), "trial"])
    c = c[c["trial"].isin(data.counted["trial"]) | c["trial"].isin(running)]
    y = "val_bits" if data.has_bits and "val_bits" in c else "val_acc"
    if c.empty:
        return None
    fig, per_T, left_out = go.Figure(), [], 0
    for T in data.Ts:
        shown = []
        for m in data.models:
            here = c[(c["T"] == T) & (c["model"] == m)]
            keep = [k for k in dict.fromkeys(here["trial"]) if k in running]
            keep += [k for k in dict.fromkeys(here["trial"]) if k not in running][:MAX_CURVES]
            left_out += here["trial"].nunique() - len(keep)
            for k, rows in here[here["trial"].isin(keep)].groupby("trial"):
                live = k in running  # a running trial's rows so far, dashed
                fig.add_trace(go.Scatter(x=rows["epoch"], y=rows[y], mode="lines", name=data.names[m],
                                         legendgroup=m, showlegend=m not in shown,
                                         line=dict(color=color(data, m), dash="dash" if live else "solid"),
                                         visible=T == data.Ts[0], hovertemplate=f"trial {k}{' (running)' if live else ''}"
                                         "<br>epoch %{x}<br>%{y:.3f}<extra></extra>"))
                shown.append(m)
        per_T.append(len(fig.data))
    buttons, start = [], 0
    for T, end in zip(data.Ts, per_T):
        buttons.append(dict(label=f"T = {T}", method="update",
                            args=[{"visible": [start <= i < end for i in range(len(fig.data))]}]))
        start = end
    fig.update_layout(title=f"{y} against epochs, one line per trial" + (f" ({len(running)} running: dashed)" if running else "")
                      + (f"; the first {MAX_CURVES} of each model and T ({left_out} left out)" if left_out else ""),
                      xaxis_title="epoch", yaxis_title=y,
                      updatemenus=[dict(buttons=buttons, x=1.0, y=1.15, xanchor="right")] if len(buttons) > 1 else [])
    return fig


def position_bits(data):
    """Each copy position's part of the test bits, mean over seeds per (model, T)."""
    if data.exec or not data.has_bits:
        return None
    p = data.per_position
    if p.empty or "bits" not in p:
        return None
    p = p[p["trial"].isin(data.counted["trial"])]
    fig = go.Figure()
    for (m, T), rows in p.groupby(["model", "T"]):
        mean = rows.groupby("position")["bits"].mean()
        fig.add_trace(go.Scatter(x=mean.index, y=mean.values, mode="lines", name=f"{data.names.get(m, m)}, T = {T}",
                                 legendgroup=m, line=dict(color=color(data, m))))
    fig.update_layout(title="Bits by copy position (mean over seeds)", xaxis_title="copy position",
                      yaxis_title="bits")
    return fig


def eta_squared(values, labels):
    """One-way analysis of variance: the share of the variance of values that the groups of labels
    explain, SS_between / SS_total (0 where the values do not vary)."""
    v = pd.Series(values, dtype=float).reset_index(drop=True)
    g = pd.Series(labels).reset_index(drop=True)
    ok = v.notna()
    v, g = v[ok], g[ok]
    total = ((v - v.mean()) ** 2).sum()
    if len(v) < 2 or total == 0:
        return 0.0
    between = sum(len(x) * (x.mean() - v.mean()) ** 2 for _, x in v.groupby(g))
    return float(between / total)


def settings_of(data):
    """The settings a trial was chosen by: the searched ones and the swept axes (the seed aside)."""
    keys = data.searched + [a for a in data.axes if a not in data.searched]
    return [k for k in keys if k in data.everything.columns and k != data.seed]


def importance(data):
    """Each searched or swept setting's share of the objective's variance over the counted trials, by
    one-way analysis of variance (eta squared, SS_between / SS_total); a searched real setting is
    grouped by its quintile."""
    (y, _), keys = objective(data), settings_of(data)
    rows = data.everything[data.everything["status"].isin(COUNTED)]
    if not y or not keys or len(rows) < 3:
        return None
    values = objective_values(data, rows)
    shares = {}
    for k in keys:
        labels = rows[k]
        if k in data.searched and pd.api.types.is_float_dtype(labels) and labels.nunique() > 5:
            labels = pd.qcut(labels, 5, labels=False, duplicates="drop")
        shares[k] = eta_squared(values, labels)
    order = sorted(shares, key=shares.get, reverse=True)
    fig = go.Figure(go.Bar(x=[shares[k] for k in order], y=order, orientation="h",
                           hovertemplate="%{y}: %{x:.1%} of the variance<extra></extra>"))
    fig.update_layout(title=f"Share of the variance of {y} each setting explains (one-way ANOVA, eta², "
                      f"{len(rows)} trials)", xaxis_title="eta² = SS_between / SS_total", xaxis_tickformat=".0%",
                      yaxis=dict(autorange="reversed"))
    return fig


def parallel(data):
    """The searched settings of every counted searched trial against the objective."""
    y, _ = objective(data)
    if not data.searched or not y:
        return None
    rows = data.everything[(data.everything["sample"] >= 0) & data.everything["status"].isin(COUNTED)]
    if rows.empty:
        return None
    rows = rows.assign(**{y: objective_values(data, rows)})
    dims = []
    for k in data.searched + [y]:
        col = rows[k]
        if pd.api.types.is_numeric_dtype(col):
            log = k in data.searched and (col > 0).all() and col.max() / max(col.min(), 1e-300) > 100
            dims.append(dict(label=f"log10 {k}" if log else k, values=np.log10(col) if log else col))
        else:
            codes, names = pd.factorize(col)
            dims.append(dict(label=k, values=codes, tickvals=list(range(len(names))), ticktext=[str(n) for n in names]))
    fig = go.Figure(go.Parcoords(line=dict(color=rows[y], colorscale="Viridis", showscale=True), dimensions=dims))
    fig.update_layout(title=f"Searched settings against {y} (drag along an axis to select)")
    return fig


def history(data):
    """Each group's best objective so far against the trials run, in trial order."""
    y, maximize = objective(data)
    if not data.searched or not y:
        return None
    rows = data.everything[data.everything["sample"] >= 0].sort_values(["sample", "trial"])
    keys = [k for k in data.group_keys() if k in rows.columns]
    values = objective_values(data, rows).where(rows["status"].isin(COUNTED))
    fig = go.Figure()
    for group, sub in (rows.groupby(keys if len(keys) > 1 else keys[0]) if keys else [((), rows)]):
        vals = values[sub.index]
        best = vals.cummax() if maximize else vals.cummin()
        name = ", ".join(f"{k} = {v}" for k, v in zip(keys, group if isinstance(group, tuple) else (group,))) or "all"
        fig.add_trace(go.Scatter(x=np.arange(1, len(sub) + 1), y=best, mode="lines+markers", name=name,
                                 text=[f"trial {t}" for t in sub["trial"]],
                                 hovertemplate="%{text}<br>best so far %{y:.4g}<extra>" + html.escape(name) + "</extra>"))
    s = data.spec
    if s["sampler"] == "tpe":  # where each generation of TPE begins
        for g in range(1, s["generations"]):
            fig.add_vline(x=g * s["per_generation"] + 0.5, line=dict(color="gray", dash="dot", width=1))
    fig.update_layout(title=f"Optimization history: each group's best {y} so far" +
                      (f" (dotted: TPE's generations of {s['per_generation']})" if s["sampler"] == "tpe" else ""),
                      xaxis_title="searched trials of the group, in sample order", yaxis_title=f"best {y}")
    return fig


def pareto_front(data):
    """The counted trials on the two metrics of section "Pareto front", the front marked and joined."""
    ms, rows = pareto.points(data)
    if not ms or rows is None or len(rows) < 2:
        return None
    (a, amax), (b, bmax) = ms
    on = pareto.on_front(data, rows, a, b, amax, bmax)
    fig = go.Figure()
    by = rows["model"] if "model" in rows else pd.Series("trials", index=rows.index)
    for m in dict.fromkeys(by):
        sub = rows[by == m]
        fig.add_trace(go.Scatter(x=sub[b], y=sub[a], mode="markers", name=data.names.get(m, m),
                                 marker=dict(color=color(data, m) if data.colors else None, opacity=0.5, size=7),
                                 text=[f"trial {t}" for t in sub["trial"]],
                                 hovertemplate="%{text}<br>" + f"{b} %{{x:.4g}}<br>{a} %{{y:.4g}}<extra></extra>"))
    for label, g in pareto.by_length(data, rows[on]):
        f = g.sort_values(b)
        fig.add_trace(go.Scatter(x=f[b], y=f[a], mode="lines+markers", name=f"Pareto front {label}".strip(),
                                 line=dict(color="black", shape="hv"), marker=dict(symbol="diamond-open", size=11),
                                 text=[f"trial {t}" for t in f["trial"]],
                                 hovertemplate="%{text} (on the front)<br>" + f"{b} %{{x:.4g}}<br>{a} %{{y:.4g}}<extra></extra>"))
    fig.update_layout(title=f"Pareto front: {a} ({'max' if amax else 'min'}) against {b} ({'max' if bmax else 'min'})",
                      xaxis_title=b, yaxis_title=a, xaxis_type="log" if (rows[b] > 0).all() else "linear")
    return fig


# the page's figures in order: one function f(data) and one line here
FIGURES = [
    ("bits against T", bits_against_T),
    ("curves", curves),
    ("bits by position", position_bits),
    ("importance", importance),
    ("parallel coordinates", parallel),
    ("history", history),
    ("pareto front", pareto_front),
]


def write(data):
    """explore.html in the report's folder; returns its file name, or None without plotly (or with no
    figure the file needs)."""
    if go is None:
        return None
    parts, first = [], True
    for name, figure in FIGURES:
        fig = figure(data)
        if fig is None:
            continue
        fig.update_layout(template="plotly_white", height=520, legend=dict(groupclick="toggleitem"))
        parts.append(f'<section id="{name.replace(" ", "-")}">' +
                     pio.to_html(fig, full_html=False, include_plotlyjs=first) + "</section>")
        first = False
    if not parts:
        return None
    title = f"copysweep: explore {html.escape(os.path.basename(data.path))}"
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">{refresh(data)}<title>{title}</title></head><body>"
            f"<h1>{title}</h1>{live_banner(data)}<p>Hover for a trial's values; drag to zoom, double-click to reset; click a legend "
            f"entry to hide it. The tables and the method are in <a href=\"index.html\">index.html</a>.</p>"
            + "\n".join(parts) + "</body></html>\n")
    write_atomic(os.path.join(data.outdir, "explore.html"), page)
    return "explore.html"


def refresh(data):
    """The tag that makes a watched page reload itself (copysweep-report --watch), or nothing."""
    return f'<meta http-equiv="refresh" content="{data.watch:g}">' if data.watch else ""


def live_banner(data):
    """What a watched page says first: the trials' statuses now and when it was built."""
    if not data.watch:
        return ""
    counts = data.everything["status"].value_counts()
    final = int(data.everything["status"].isin(load.FINAL).sum())
    running = data.everything.loc[data.everything["status"] == "running", "trial"].tolist()
    shown = ", ".join(str(t) for t in running[:20]) + (f" and {len(running) - 20} more" if len(running) > 20 else "")
    return (f'<p id="live">Live: <span id="final">{final}</span> of {len(data.everything)} trials final, '
            f'{len(running)} running{" (trials " if running else ""}<span id="running-trials">{shown}</span>'
            f'{")" if running else ""}; {", ".join(f"{n} {st}" for st, n in counts.items())}; built {data.built}; '
            f"this page reloads itself every {data.watch:g} s while the sweep runs.</p>")


def write_atomic(path, text):
    """text into path by a rename, so that a browser reloading the page never reads half of it."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
