"""How memory is held: the gradient's decay per step, the final decay of each cell against its
multiplicative variant, gate statistics over the hold, and memory against lag and load."""
import math

import numpy as np
import pandas as pd

import load
from report_data import COUNTED, correct, grouped, verdict
from report_doc import geo_cell
from stats import geo_mean_se, mean_se, paired


def decay(data, d):
    """Section "The gradient's decay per step": ρ initial and final, linearized, ρ^T and ‖∂L/∂h_0‖."""
    if not data.has_bits:
        return
    d.section("The gradient's decay per step",
              "ρ = exp(−slope) of the least-squares line through ln ‖∂L/∂h_t‖ against t over the steps "
              "before the scored window (the symbols, delay and delimiter), on the probe batch: the factor by "
              "which the gradient shrinks per step back in time (docs/method.md \"The gradient's decay per step\"). "
              "Geometric means over seeds ×/÷ the SE factor, with the initial and the final weights; beside "
              "them the value the cell's transition linearized at h = 0 predicts (orthogonal U, |λ| = 1; n/a "
              "with other initializations), ρ^T, and ‖∂L/∂h_0‖, the gradient that reaches the first symbol.")
    gf = data.grad_flow
    first = (gf[gf["t"] == 0].pivot_table(index="trial", columns="which", values="norm") if len(gf)
             else pd.DataFrame())

    def rows(title, sub):
        for m, T, g, n in data.model_lengths(sub):
            lin = g["rho_linear"].dropna().unique()
            h0 = first.reindex(g["trial"])
            yield [data.names[m], T, geo_cell(g["rho_initial"], n, ".4f"), geo_cell(g["rho_final"], n, ".4f"),
                   f"{lin[0]:.4f}" if len(lin) == 1 else "n/a",
                   geo_cell(g["rho_initial"] ** T, n, ".2e"),
                   geo_cell(h0.get("first", []), n, ".2e"), geo_cell(h0.get("last", []), n, ".2e")]
            for col, vals in (("rho_initial", g["rho_initial"]), ("rho_final", g["rho_final"]),
                              ("grad_h0_initial", h0.get("first", pd.Series(dtype=float))),
                              ("grad_h0_final", h0.get("last", pd.Series(dtype=float)))):
                data.record(title, m, T, col + "_geomean", *geo_mean_se(vals), n)

    data.group_tables(d, ["model", "T", "ρ initial", "ρ final", "linearized", "ρ^T initial", "‖∂L/∂h_0‖ initial",
                          "‖∂L/∂h_0‖ final"], rows)


def decay_pairs(data, d):
    """Section "The final decay: each cell against its multiplicative variant", paired by seed."""
    if not {"cell", "multiplicative", "rho_final"} <= set(data.df.columns):
        return
    family = []
    for title, sub in data.groups():
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
    d.section("The final decay: each cell against its multiplicative variant",
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
        rows.append(([title] if data.other else []) +
                    [T, f"{data.names[b]} / {data.names[a]}", geo_cell(y, len(y), ".4f"), geo_cell(x, len(x), ".4f"),
                     f"{r:.4f} [{math.exp(p['lo']):.4f}, {math.exp(p['hi']):.4f}]" if p["n"] > 1 else f"{r:.4f}",
                     f"{r ** T:.3g}", p["n"], f"{p['p']:.3g}" if p["n"] > 1 else "n/a",
                     f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a", verdict(p)])
    d.table((["group"] if data.other else []) +
            ["T", "multiplicative / plain", "ρ final, plain", "ρ final, multiplicative", "ratio [95 %]",
             "ratio^T", "n", "p", "Holm p", "separated"], rows)


def gates(data, d):
    """Section "Gate statistics over the hold"."""
    cols = [c[5:-5] for c in data.df.columns if c.startswith("hold_") and c.endswith("_mean")]
    c = data.counted
    cols = [g for g in cols if np.isfinite(c[f"hold_{g}_mean"]).any()]
    if not cols:
        return
    d.section("Gate statistics over the hold",
              "During the hold (the steps between the last symbol shown and the delimiter, or with no delay "
              "the whole input phase), on the test split at the selected weights: the mean of each gate's "
              "activation over units, steps and sequences (every layer), mean ± SE over seeds, and in "
              "brackets its standard deviation within a trial (mean over seeds). LSTM: i input, f forget, o "
              "output, c the candidate c̃_t; GRU: z update, r reset, h the candidate ĥ_t; tanh RNN: h the "
              "state h_t; m: the multiplicative step's gain m_t on the active input channel. A cell that "
              "holds keeps f_t near 1 and i_t near 0 (LSTM), or z_t near 0 (GRU): it neither forgets nor "
              "overwrites.")

    def rows(title, sub):
        for m, T, g, n in data.model_lengths(sub):
            row = [data.names[m], T]
            for x in cols:
                v = g[f"hold_{x}_mean"]
                if not np.isfinite(v).any():
                    row.append("")
                    continue
                mean, se, k = mean_se(v)
                spread = mean_se(g[f"hold_{x}_sd"])[0]
                row.append(f"{mean:.3f}" + (f" ± {se:.3f}" if k > 1 else "") + f" [{spread:.3f}]")
                data.record(title, m, T, f"hold_{x}_mean", mean, se, k, n)
            yield row

    data.group_tables(d, ["model", "T"] + cols, rows)


def lag_load(data, d):
    """Section "Memory against lag and load": bits(S, D) and capacity(D), and holding beyond the lag trained at."""
    if "lag" not in data.df.columns or not data.has_bits:
        return
    c = data.counted[(data.counted["lag"] > 0) & np.isfinite(data.counted["test_bits"])]
    if c.empty:
        return
    ev = load.evals(data.path)
    ev = ev[ev["trial"].isin(c["trial"])] if not ev.empty and "lag" in ev else pd.DataFrame()
    rest = [a for a in data.other if a not in ("task", "T", "delay", "eval_T")]
    d.section("Memory against lag and load",
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
        cells, e = lag_cells(sub, ev)
        if title:
            d.h(3, title)
        lag_tables(data, d, title, cells)
        if len(e):
            holding(data, d, e, sub)


def lag_cells(sub, ev):
    """The cells of one group, {(model, S, D, eval): their rows}: the trials trained at (S, D), and where
    none was, the eval-T rows of the group's trials tested there; and those eval-T rows (ev: every trial's)."""
    cells = {}  # (model, S, D, eval) -> [values per seed], raw mean
    for (m, S, D), g in sub.groupby(["model", "load", "lag"], sort=False):
        cells[m, S, D, False] = g
    e = ev[ev["trial"].isin(sub["trial"])] if len(ev) else ev
    if len(e):
        e = e.merge(sub[["trial", "model", "seed"]], on="trial", suffixes=("_eval", ""))
        for (m, S, D), g in e.groupby(["model", "load", "lag"], sort=False):
            if (m, S, D, False) not in cells:
                cells[m, S, D, True] = g.rename(columns={"bits": "test_bits", "bits_cal": "test_bits_cal"})
    return cells, e


def lag_tables(data, d, title, cells):
    """bits(S, D) of each model at every (S, D) of a group's cells, recorded in summary.csv, and
    capacity(D)."""
    points = sorted({(S, D) for _, S, D, _ in cells}, key=lambda x: (x[1], x[0]))
    rows, best = [], {}
    for m in [m for m in data.models if any(k[0] == m for k in cells)]:
        row = [data.names[m]]
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
            data.record(title, m, D, f"bits_S{S}", mean, se, n, n)
        rows.append(row)
    d.table(["model"] + [f"S = {S}, D = {D}" for S, D in points], rows)
    lags = sorted({D for _, D in points})
    d.p("capacity(D), bits (the load S that gave it):")
    d.table(["model"] + [f"D = {D}" for D in lags],
            [[data.names[m]] + [f"{best[m, D][0]:.2f} (S = {best[m, D][1]})" if (m, D) in best else ""
                                for D in lags] for m in data.models if any(k[0] == m for k in best)])


def holding(data, d, e, sub):
    """Trained lag against tested lag (eval-T) per model: bits, on the recalibrated bound where the raw
    mean is at or below 0."""
    d.p("Holding beyond the lag trained at: the selected model of each trained lag D (rows) tested at "
        "the other lags of eval-T (columns) with the same load, bits mean ± SE over seeds (* "
        "recalibrated on the validation split of the tested lag, where the raw mean is at or below 0).")
    e = e.merge(sub[["trial", "lag", "load"]].rename(columns={"lag": "trained", "load": "trained_load"}),
                on="trial")
    e = e[e["load"] == e["trained_load"]]
    tested = sorted(set(e["lag"]) | set(e["trained"]))
    for m in data.models:
        g = e[e["model"] == m]
        if g.empty:
            continue
        rows = []
        for D in sorted(g["trained"].unique()):
            row = [data.names[m], D]
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
        d.table(["model", "trained D"] + [f"tested D = {D2}" for D2 in tested], rows)
