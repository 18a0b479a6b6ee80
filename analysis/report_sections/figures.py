"""The figures against the steps of a trial: bits and accuracy per copy position, training curves,
gradient flow, loss against updates (copy-delay), and the stability table."""
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from report_data import Z95, padded

SPIKE = 1.10  # a loss spike: the training loss of an epoch above 1.10 × the previous epoch's
BLOCKS = 20  # per-position bits are shown in at most this many blocks of consecutive positions


def position_bits(data, d):
    """Section "Memory by copy position": per-position bits."""
    groups = list(data.bits_groups())
    if not groups:
        return
    d.section("Memory by copy position",
              f"Test bits carried per copy position, averaged over blocks of consecutive positions (at "
              f"most {BLOCKS} blocks), seed mean ± SE; the positions add up to the trial's bits. The gray band "
              "is ±1.96 standard errors of the test-set estimate around 0 for the seed mean (from each "
              "position's spread over test sequences): what a model with no memory reads at this test size. A "
              "block inside it is indistinguishable from none.")
    data.length_figures(d, "position_bits", "Test bits per copy position, in blocks, at T = {T}", "per_position",
                        "position", position_bits_panel, groups=groups)


def position_bits_panel(data, ax, _, runs, sub):
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
        data.band(ax, means, m, centers, "-o")
    if centers is None:
        return False
    ax.fill_between(centers, -band, band, color="gray", alpha=0.25, linewidth=0,
                    label="no memory at this test size (95 %)")
    ax.axhline(0, color="gray", lw=0.8)
    data.step_axes(ax, sub, "test bits per position (block mean)")


def curve_figures(data, d):
    """Section "Training and validation curves"."""
    d.section("Training and validation curves",
              "Loss (nats per copy symbol) and symbol accuracy against epochs; lines are the seed mean, bands "
              "± SE over the seeds still training at that epoch (early stopping ends seeds at different "
              "epochs).")
    data.length_figures(d, "curves", "Curves at T = {T}", "curves", "epoch", curve_panel,
                        panels=("train_loss", "val_loss", "train_acc", "val_acc"), layout=(2, 2), size=(11, 7))


def curve_panel(data, ax, key, runs, sub):
    """One column of the curves (key) against epochs."""
    for m, _, rows in runs:
        data.band(ax, padded([r[key].to_numpy() for r in rows]), m)
    data.chance_lines(ax, sub, "loss" in key)
    ax.set_title(key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def position_figures(data, d):
    """Section "Test accuracy by copy position"."""
    d.section("Test accuracy by copy position",
              "Accuracy at each step of the scored window (for copy, position 1 is the first symbol shown; "
              "for temporal-order and ntm-copy, steps where sequences of each length are scored): where memory "
              "fails.")
    data.length_figures(d, "positions", "Per-position test accuracy at T = {T}", "per_position", "position",
                        position_panel)


def position_panel(data, ax, _, runs, sub):
    """Test accuracy at each step of the scored window."""
    for m, _, rows in runs:
        data.band(ax, [r["acc"].to_numpy() for r in rows], m)
    data.chance_lines(ax, sub)
    data.step_axes(ax, sub, f"test {data.unit(sub)} accuracy")


def flow_figures(data, d):
    """Section "Gradient flow"."""
    d.section("Gradient flow",
              "‖∂L/∂h_t‖ against the time step t on a fixed probe batch (the first batch of validation "
              "sequences), with the initial weights (dashed) and after the last epoch (solid); geometric "
              "means over seeds (the mean of log10), log scale. The loss is on the last T steps, so gradient "
              "enters at the right and flows back towards t = 0. A curve ends where a seed's gradient "
              "underflows to 0 in float32.")
    data.length_figures(d, "gradflow", "Gradient flow at T = {T}", "grad_flow", "t", flow_panel,
                        legend=dict(fontsize=7, ncol=2))


def flow_panel(data, ax, _, runs, sub):
    """The geometric mean of ‖∂L/∂h_t‖ over seeds against t, with the initial and the final weights."""
    for m, _, rows in runs:
        for which, style in (("first", "--"), ("last", "-")):
            ys = [r[r["which"] == which]["norm"].to_numpy() for r in rows]
            ys = [y for y in ys if len(y) and np.all(np.isfinite(y))]
            if ys:
                with np.errstate(divide="ignore"):
                    logs = np.log10(np.array(ys))  # -inf where a seed underflowed: no mean there
                geo = 10 ** np.where(np.all(np.isfinite(logs), axis=0), np.mean(logs, axis=0), np.nan)
                ax.plot(np.arange(len(ys[0])), geo, style, color=data.colors[m],
                        label=f"{data.names[m]} ({'initial' if which == 'first' else 'final'})")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("‖∂L/∂h_t‖")


def stability(data, d):
    """Section "Stability": status and loss spikes, and accuracy against the learning rate."""
    d.section("Stability", f"Status of every trial, and loss spikes: epochs whose training loss exceeds "
                          f"{SPIKE:.2f} × the previous epoch's.")
    rows = []
    for m in data.models:
        for T in data.Ts:
            g = data.df[(data.df["model"] == m) & (data.df["T"] == T)]
            spikes = 0
            for cr in data.runs("curves", g["trial"], "epoch"):
                tl = cr["train_loss"].to_numpy()
                spikes += int(np.sum(tl[1:] > SPIKE * tl[:-1])) if len(tl) > 1 else 0
            st = g["status"].value_counts()
            rows.append([data.names[m], T, len(g), st.get("done", 0), st.get("diverged", 0), st.get("failed", 0),
                         len(g) - st.get("done", 0) - st.get("diverged", 0) - st.get("failed", 0), spikes])
    d.table(["model", "T", "trials", "done", "diverged", "failed", "missing", "loss spikes"], rows)
    bad = data.df[data.df["status"].isin(("diverged", "failed"))]
    if len(bad):
        data.trial_table(d, bad)
    if "lr" in data.axes:
        fig, ax = plt.subplots(figsize=(7, 4))
        for m in data.models:
            g = data.counted[data.counted["model"] == m].groupby("lr")["test_acc"]
            ax.errorbar(g.mean().index, g.mean(), yerr=g.sem(), marker="o", color=data.colors[m], label=data.names[m])
        data.accuracy_axes(ax, data.counted, "learning rate")
        ax.legend(fontsize=8)
        data.save(d, fig, "lr", "Final test accuracy against the learning rate (mean ± SE over seeds and other axes)")


def update_figures(data, d):
    """Section "copy-delay: loss against updates", the form of the copy-delay literature."""
    if "copy-delay" not in set(data.df["task"]):
        return
    d.section("copy-delay: loss against updates",
              "Validation loss (nats per copy symbol, on the 10 output steps) against the number of updates "
              "(epochs × train-size / batch), seed mean ± SE, beside the memoryless baseline log K: the form in "
              "which Arjovsky, Shah & Bengio (2016) report this task (their loss averages over all L steps, so "
              "their baseline is 10 log K / (T + 20); ours is over the scored steps only).")
    data.length_figures(d, "updates", "copy-delay at T = {T}: loss against updates", "curves", "epoch",
                        update_panel, size=(8, 4), heading="copy-delay, delay T = {T}",
                        groups=[(title, sub[sub["task"] == "copy-delay"]) for title, sub in data.groups()])


def update_panel(data, ax, _, runs, sub):
    """The validation loss against updates."""
    for m, g, rows in runs:
        per_epoch = int(g["train_size"].iloc[0]) // int(g["batch"].iloc[0])
        ys = padded([r["val_loss"].to_numpy() for r in rows])
        data.band(ax, ys, m, per_epoch * np.arange(1, len(ys[0]) + 1))
    data.chance_lines(ax, sub, loss=True)
    ax.set_xlabel("updates")
    ax.set_ylabel("validation loss, nats per copy symbol")
