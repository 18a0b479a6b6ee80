#!/usr/bin/python3
"""Read copysweep results files into pandas DataFrames.

    from load import trials, curves
    df = trials("quick.h5")            # one row per grid point, strings decoded
    c = curves("quick.h5")             # one row per (trial, epoch), with the trial's axes

Every reader checks that the file is a copysweep results file of a supported format version and
raises ResultsError with a one-line reason otherwise. Files of format version 1 and 2 load too; they
lack what version 3 added (the test_bits, temperature and rho_* columns, val_bits in the curves, the
per-position cross-entropy and bits), and has_bits(df) tells which kind a frame came from. Files that a sweep is still writing, or that
an interrupted sweep left, are read as they are: trials without a final status have no curves.
Run with /usr/bin/python3 (Debian's h5py, numpy, pandas).
"""
import math

import h5py
import numpy as np
import pandas as pd

FORMAT = "copysweep-results"
SUPPORTED_VERSIONS = (1, 2, 3)
BITS_VERSION = 3  # the first format with memory in bits, per-position cross-entropy and ρ
FINAL = ("done", "diverged", "failed")
# settings that are not axes of interest even when they vary
NOT_AXES = ("trial", "seed")
# /trials columns that are settings (the rest are results)
SETTINGS = ("model", "task", "T", "delay", "vocab", "seed", "hidden", "layers", "dropout", "batch", "chunk",
            "optimizer", "lr", "momentum", "clip", "max_epochs", "patience", "target_acc", "train_size", "val_size",
            "test_size", "init_u", "forget_bias", "mult_init", "embed", "chrono", "curriculum", "curriculum_growth", "curriculum_unlock", "eval_T", "text")


# integer settings whose value AUTO stands for "auto" (derived per trial: chrono = auto is T_max = L)
AUTO = -1
AUTO_SETTINGS = ("chrono",)


def order(setting, value):
    """A sort key that puts AUTO after every number."""
    return math.inf if setting in AUTO_SETTINGS and value == AUTO else value


def shown(setting, value):
    """A setting's value as a user wrote it: "auto" for AUTO where the setting has one."""
    return "auto" if setting in AUTO_SETTINGS and value == AUTO else value


class ResultsError(Exception):
    """The file is not a copysweep results file this code can read."""


def open_results(path):
    """The file, opened read-only, after checking its format and version."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ResultsError(f"{path}: cannot open as HDF5 ({e})") from None
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != FORMAT or "trials" not in f:
        f.close()
        raise ResultsError(f"{path}: not a copysweep results file (no format = {FORMAT} attribute)")
    version = int(f.attrs.get("format_version", -1))
    if version not in SUPPORTED_VERSIONS:
        f.close()
        raise ResultsError(f"{path}: results format version {version}; this analysis reads version "
                           f"{', '.join(map(str, SUPPORTED_VERSIONS))}")
    return f


def _decode(df):
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].str.decode("ascii")
    return df


def trials(path):
    """/trials as a DataFrame: one row per grid point in grid order, strings as str."""
    with open_results(path) as f:
        return _decode(pd.DataFrame(f["trials"][...]))


def has_bits(df):
    """Whether the /trials frame has the memory-in-bits columns (results format 3 and later)."""
    return "test_bits" in df.columns


def axes(df):
    """The settings that vary across the file's trials, in /trials column order, seed excluded."""
    return [c for c in SETTINGS if c in df.columns and c not in NOT_AXES and df[c].nunique() > 1]


def constants(df):
    """The settings that are the same for every trial, as {name: value}."""
    return {c: df[c].iloc[0] for c in SETTINGS if c in df.columns and df[c].nunique() == 1}


def _with_keys(rows, df):
    keys = ["trial", "model", "T", "seed"] + [a for a in axes(df) if a not in ("model", "T")]
    return rows.merge(df[keys], on="trial", how="left")


def _per_trial(path, dataset, frames_of, empty_columns):
    """One frame from every trial with a final status that has /trial/<n>/<dataset>: frames_of(k, h5
    dataset) gives that trial's frames; the trial's model, T, seed and other axes are joined in."""
    df = trials(path)
    frames = []
    with open_results(path) as f:
        for k in df.loc[df["status"].isin(FINAL), "trial"]:
            g = f[f"trial/{k}"]
            if dataset in g:
                frames += frames_of(k, g[dataset])
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=empty_columns)
    rows = rows[["trial"] + [c for c in rows.columns if c != "trial"]]
    return _with_keys(rows, df)


def curves(path):
    """Per-epoch curves of every trial with a final status: one row per (trial, epoch), with the
    trial's model, T, seed and other axes."""
    return _per_trial(path, "curves", lambda k, d: [pd.DataFrame(d[...]).assign(trial=k)], ["trial", "epoch"])


def per_position(path):
    """The test set at each step of the scored window: one row per (trial, position), positions 1..,
    with acc (accuracy), ce (loss per scored output, nats), bits (the step's part of the trial's
    test bits; they add up to test_bits) and bits_se (its standard error over test sequences). ce,
    bits and bits_se are NaN where the file (format < 3) or the task (charlm: bits) has none."""
    def frames(k, d):
        acc = d[...]
        g = d.parent
        extra = {c: g[name][...] if name in g else np.full(len(acc), np.nan)
                 for c, name in (("ce", "per_position_ce"), ("bits", "per_position_bits"),
                                 ("bits_se", "per_position_bits_se"))}
        return [pd.DataFrame({"trial": k, "position": np.arange(1, len(acc) + 1), "acc": acc, **extra})]
    return _per_trial(path, "per_position", frames, ["trial", "position", "acc", "ce", "bits", "bits_se"])


def grad_flow(path):
    """‖∂L/∂h_t‖ on the probe batch: one row per (trial, which, t); which is "first" (the initial
    weights, epoch 0) or "last" (after the last epoch)."""
    def frames(k, d):
        flow, epochs = d[...], d.attrs.get("epochs", [0, -1])
        return [pd.DataFrame({"trial": k, "which": which, "epoch": int(epochs[row]), "t": np.arange(flow.shape[1]),
                              "norm": flow[row]}) for row, which in enumerate(("first", "last"))]
    return _per_trial(path, "grad_flow", frames, ["trial", "which", "t", "norm"])


def evals(path):
    """The selected models tested at the other lengths of eval-T: one row per (trial, T_eval) with
    loss, acc, seq_acc and sequences, and the trial's model, T, seed and other axes."""
    return _per_trial(path, "eval", lambda k, d: [pd.DataFrame(d[...]).rename(columns={"T": "T_eval"}).assign(trial=k)],
                      ["trial", "T_eval", "acc"])


def eval_examples(path, trial):
    """{T_eval: (output (N, K), target (N))} of one trial: the first test sequence at each length,
    the model's outputs (probabilities) and targets (-1 where a step is not scored)."""
    with open_results(path) as f:
        g = f.get(f"trial/{trial}/eval_examples")
        if g is None:
            return {}
        return {int(T): (g[T]["output"][...], g[T]["target"][...]) for T in g}


def runs(path):
    """/runs: one row per run of the sweep (start, wall time, ranks, threads, trials, exit status)."""
    with open_results(path) as f:
        if "runs" not in f:
            return pd.DataFrame()
        return _decode(pd.DataFrame(f["runs"][...]))


def attributes(path):
    """The root attributes (version, job text, command, created, blas, ...)."""
    with open_results(path) as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
