"""The tables of every (model, T) cell: memory in bits with each model's capacity, convergence in
updates, paired differences between models, and the final test metrics with Fano's ceiling."""
import math

import numpy as np

import load
from report_data import COUNTED, grouped, lengths, verdict
from report_doc import cell, geo_cell, signed
from stats import ALPHA, fano_ceiling, mean_se


def bits_table(data, d):
    """Section "Memory in bits": the bits table with each model's capacity, the recalibrated bound, and capacity
    against the hidden size."""
    groups = list(data.bits_groups())
    if not groups:
        return
    d.section("Memory in bits")
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
        d.table(header, bits_rows(data, title, sub))
        d.h(3, "Recalibrated on validation" + (f" ({title})" if title else ""))
        d.table(["model"] + [f"T = {T}" for T in lengths(sub)], recalibrated_rows(data, sub))
    if "hidden" in data.axes:
        capacity_by_hidden(data, d)


def bits_rows(data, title, sub):
    """The rows of a group's bits table: each cell with its fraction of the ceiling, and each model's
    capacity from the seed means and per seed."""
    rows = []
    for m in data.models_in(sub):
        row = [data.names[m]]
        means = {}
        for T in lengths(sub):
            text, mean, n = data.metric_cell(title, sub, m, T, "test_bits", 2)
            ceiling = sub[(sub["model"] == m) & (sub["T"] == T)]["bits_ceiling"].mean()
            row.append(text + (f" [{mean / ceiling:.1%}]" if n else ""))
            if n:
                means[T] = mean
        g = data.counted_of(sub, m)
        per_seed = g.groupby("seed")["test_bits"].max()
        best = max(means, key=means.get) if means else None
        row += [f"{means[best]:.2f} (T = {best})" if best is not None else "missing",
                cell(per_seed, g["seed"].nunique(), 2)]
        rows.append(row)
    return rows


def recalibrated_rows(data, sub):
    """The rows of a group's recalibrated bound, each cell with its temperature."""
    rows = []
    for m in data.models_in(sub):
        row = [data.names[m]]
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
    return rows


def capacity_by_hidden(data, d):
    """Each model's capacity in bits at each hidden size (per combination of the other axes)."""
    d.h(3, "Capacity in bits against the hidden size")
    rest = [a for a in data.other if a != "hidden"]
    counted = data.counted[np.isfinite(data.counted["test_bits"])]
    Hs = sorted(counted["hidden"].unique())
    rows = []
    for values, g in grouped(counted, ["model"] + rest):
        if g["hidden"].nunique() < 2:  # nothing to compare
            continue
        row = [data.names.get(values[0], values[0])] + [load.shown(a, v) for a, v in zip(rest, values[1:])]
        for H in Hs:
            gh = g[g["hidden"] == H]
            means = gh.groupby("T")["test_bits"].mean()
            row.append(f"{means.max():.2f} (T = {means.idxmax()})" if len(means) else "missing")
        rows.append(row)
    d.table(["model"] + rest + [f"H = {H}" for H in Hs], rows)


def convergence(data, d):
    """Section "Convergence speed": updates until bits and accuracy thresholds."""
    d.section("Convergence speed",
              "Updates (epochs × train-size / batch, counted at the end of the epoch) until the validation "
              "split first carried 1 bit, 10 bits and 90 % of the selected epoch's bits (where those are at "
              "least 1 bit), and until validation accuracy first reached 50 %, 90 % and 99 %: mean ± SE over "
              "the seeds that got there, and 'never k/n' for those that did not.")
    bits = "val_bits" in data.curves.columns

    def rows(_, sub):
        for m, T, g, _ in data.model_lengths(sub):
            row = [data.names[m], T]
            reached = {}
            for r, cr in zip(g.to_dict("records"), data.runs("curves", g["trial"], "epoch")):
                per = int(r["train_size"]) // int(r["batch"])
                epoch = cr["epoch"].to_numpy()
                vb = cr["val_bits"].to_numpy() if bits else np.full(len(epoch), np.nan)
                final = vb[epoch == r["best_epoch"]]
                final = float(final[0]) if len(final) else math.nan
                # 90 % of the final bits only where there is at least 1 bit: below, it is noise
                goals = {"1 bit": 1, "10 bits": 10, "90 %": 0.9 * final if final >= 1 else math.nan}
                for name, goal in goals.items():
                    hit = epoch[vb >= goal] if bits and np.isfinite(goal) else []
                    reached.setdefault(name, []).append(per * int(hit[0]) if len(hit) else None)
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

    data.group_tables(d, ["model", "T", "1 bit", "10 bits", "90 % of final bits", "accuracy 50 %", "accuracy 90 %",
                          "accuracy 99 %"], rows)


def paired_differences(data, d):
    """Section "Paired differences between models"."""
    d.section("Paired differences between models",
              "The models of one (T, seed) train and are tested on identical sequences, so they are compared "
              "per seed: the difference A − B of each seed, their mean, its 95 % t-interval (df = n − 1) and "
              "the two-sided p of the paired t-test. Each metric's comparisons in a group are one family "
              "(docs/method.md \"Multiple comparisons\"): 'separated' when Holm's step-down correction over the whole "
              f"family keeps the difference at level {ALPHA} (the raw interval may exclude 0 where the "
              "corrected test does not). Bits are compared on the recalibrated bound wherever either cell's "
              "raw mean is at or below 0, and two cells that both carry nothing (neither 95 % interval lies "
              "above 0) are never called separated.")
    metrics = (["test_bits"] if data.has_bits else []) + ["test_acc"]

    def rows(title, sub):
        for metric in metrics:
            family = data.model_family(title, sub, metric)
            K = sum(np.isfinite(c["p"]) for c in family.values())
            dig = 2 if metric == "test_bits" else 4
            for (T, a, b), p in family.items():
                label = ("accuracy" if metric == "test_acc" else
                         "bits, recalibrated" if p["metric"] == "test_bits_cal" else "bits")
                yield [T, f"{data.names[a]} − {data.names[b]}", f"{label} (family of {K})",
                       ", ".join(signed(x, dig) for x in p["diffs"]), signed(p["mean"], dig),
                       f"[{signed(p['lo'], dig)}, {signed(p['hi'], dig)}]" if p["n"] > 1 else "n/a",
                       p["n"], f"{p['p']:.3g}" if p["n"] > 1 else "n/a",
                       f"{p['p_holm']:.3g}" if p["n"] > 1 else "n/a", verdict(p)]

    data.group_tables(d, ["T", "A − B", "metric", "per seed", "mean", "95 % interval", "n", "p", "Holm p", "separated"],
                      rows)


def final_tables(data, d):
    """Section "Final test metrics": accuracy (with Fano's ceiling), sequence accuracy and loss."""
    d.section("Final test metrics")
    for title, sub in data.groups():
        acc, memoryless = data.baselines(sub)
        unit = data.unit(sub)
        per = "copy symbol" if unit == "symbol" else f"scored {unit}"
        specs = [("test_acc", f"Test {unit} accuracy", "chance", acc),
                 ("test_seq_acc", "Test sequence accuracy", "", None),
                 ("test_loss", f"Test loss, nats per {per}", "memoryless", memoryless)]
        for metric, label, baseline, value in specs:
            d.h(3, label + (f" ({title})" if title else ""))
            header = ["model"] + [f"T = {T}" for T in lengths(sub)] + ([baseline] if baseline else [])
            rows = []
            for m in data.models_in(sub):
                row = [data.names[m]] + [data.metric_cell(title, sub, m, T, metric)[0] for T in lengths(sub)]
                if baseline:
                    row.append(f"{value:.4f}" if value is not None else "varies")
                rows.append(row)
            d.table(header, rows)
            if metric == "test_acc" and data.has_bits and np.isfinite(sub["test_bits"]).any():
                fano_table(data, d, title, sub)


def fano_table(data, d, title, sub):
    """Beside the accuracy: the most mean accuracy that the bits a cell carries allow (docs/method.md "Memory
    against lag and load"), from its seed means."""
    d.p("The ceiling Fano's inequality puts on that accuracy: a model that holds B bits of the symbols of a "
        "sequence, b = B / (scored outputs) per output of K classes, has mean accuracy P with h(P) + (1 − P)·log2(K − 1) "
        "≥ log2 K − b. B is the larger of the raw and the recalibrated bound's seed means (both are lower bounds on what "
        "the state holds, so a model may hold more): the ceiling says how far accuracy can rise on the bits "
        "measured, and why accuracy cannot rank cells at long T. An accuracy above its ceiling (by the test set's "
        "sampling noise, or with miscalibrated outputs) says the bound understates what the model holds.")
    rows = []
    for m in data.models_in(sub):
        row = [data.names[m]]
        for T in lengths(sub):
            c = data.counted_of(sub, m, T)
            if c.empty:
                row.append("missing")
                continue
            K = int(round(1 / c["chance_acc"].iloc[0]))
            bits = max(mean_se(c["test_bits"])[0], mean_se(c["test_bits_cal"])[0])
            per_output = bits * math.log2(K) / c["bits_ceiling"].iloc[0]
            row.append(f"{c['test_acc'].mean():.4f} (ceiling {fano_ceiling(per_output, K):.4f})")
        rows.append(row)
    d.table(["model"] + [f"T = {T}" for T in lengths(sub)], rows)
