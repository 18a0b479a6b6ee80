"""The sections of the other tasks: ntm-copy's targets and outputs as images, and charlm's
perplexity."""
import math

import matplotlib.pyplot as plt
import numpy as np

import load
from report_data import COUNTED, grouped
from report_doc import cell


def ntm_images(data, d):
    """Section "ntm-copy: targets and outputs"."""
    if not (data.counted["task"] == "ntm-copy").any():
        return
    d.section("ntm-copy: targets and outputs",
              "The first test sequence at each evaluated length: the target bits (top) and the model's output "
              "probabilities (bottom), one column per output vector, as Graves et al. (2014) draw them. One "
              "trial per model: the first seed of the longest trained T.")
    for title, sub in data.groups():
        sub = sub[sub["task"] == "ntm-copy"]
        chosen = []
        for m in data.models:
            g = data.counted[data.counted["trial"].isin(sub["trial"]) & (data.counted["model"] == m)]
            if len(g):
                chosen.append(g.sort_values(["T", "seed"], ascending=[False, True]).iloc[0])
        examples = [(r, load.eval_examples(data.path, int(r["trial"]))) for r in chosen]
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
                        ax.set_ylabel(f"{data.names[r['model']]}\n{what}", fontsize=7)
                    if i == 0 and k == 0:
                        ax.set_title(f"n = {T}", fontsize=9)
        data.save(d, fig, "ntm", "ntm-copy targets and outputs at each evaluated length", title)


def perplexity(data, d):
    """Section "charlm: perplexity" of the character-level language model."""
    lm = data.df[data.df["task"] == "charlm"]
    if lm.empty:
        return
    d.section("charlm: perplexity")
    d.p("Perplexity exp(loss per character) on the training set (the last epoch's updates, measured with "
        "dropout on), the validation set (the selected epoch: the lowest validation loss) and the test set "
        "(the selected model), mean ± SE over seeds, per model and every other axis (optimizer, dropout, ...).")
    keys = ["model"] + [a for a in data.axes if a not in ("model", "task")]
    rows = []
    for values, g in grouped(lm, keys):
        done = g[g["status"].isin(COUNTED)]
        train, val = [], []
        for (_, r), cr in zip(done.iterrows(), data.runs("curves", done["trial"], "epoch")):
            if len(cr):
                train.append(math.exp(cr["train_loss"].iloc[-1]))
                best = cr[cr["epoch"] == r["best_epoch"]]
                val.append(math.exp(best["val_loss"].iloc[0]) if len(best) else math.nan)
        rows.append([data.names.get(values[0], values[0])] + list(values[1:]) +
                    [cell(train, len(g), 3), cell(val, len(g), 3), cell(np.exp(done["test_loss"]), len(g), 3)])
    d.table(["model"] + keys[1:] + ["train perplexity", "validation perplexity", "test perplexity"], rows)
