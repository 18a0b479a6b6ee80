#!/usr/bin/python3
"""Checks a file written by `copysweep train -o` against the documented results layout, and that
its numbers agree with each other (the per-position accuracies average to test_acc, the weights add
up to n_params, the job text matches the row). Usage: check_trial_file.py FILE.h5
"""
import sys

import h5py
import numpy as np
import pandas as pd

SHAPES = {  # SPEC shapes, from (I, H, K)
    "W": lambda I, H, K: (H, I), "U": lambda I, H, K: (H, H), "b": lambda I, H, K: (H,),
    "W_m": lambda I, H, K: (I, I), "U_m": lambda I, H, K: (I, H), "b_m": lambda I, H, K: (I,),
    "W_y": lambda I, H, K: (K, H), "b_y": lambda I, H, K: (K,),
}
GATES = {"lstm": "ifoc", "mlstm": "ifoc", "gru": "zrh", "mgru": "zrh"}
TRIAL_COLUMNS = ["trial", "model", "T", "seed", "status", "n_params", "epochs", "best_epoch", "test_loss",
                 "test_acc", "test_seq_acc", "conv_epoch_50", "conv_epoch_90", "conv_epoch_99", "wall_s",
                 "host", "rank"]
CURVE_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "grad_norm", "lr", "wall_s"]


def fail(msg):
    print("check_trial_file: FAIL:", msg)
    sys.exit(1)


def main(path):
    with h5py.File(path, "r") as f:
        for a in ("copysweep_version", "format", "format_version", "command", "job", "created"):
            if a not in f.attrs:
                fail(f"root attribute {a} missing")
        if f.attrs["format"] != "copysweep-results" or not isinstance(f.attrs["job"], str):
            fail("format attribute, or string attributes that h5py does not read as str")
        trials = pd.DataFrame(f["trials"][...])
        for c in trials.columns:
            if trials[c].dtype == object:
                trials[c] = trials[c].str.decode("ascii")
        missing = [c for c in TRIAL_COLUMNS if c not in trials.columns]
        if missing or len(trials) != 1:
            fail(f"/trials: {len(trials)} rows, missing columns {missing}")
        row = trials.iloc[0]
        job = dict(line.split(" = ", 1) for line in f.attrs["job"].splitlines() if " = " in line)
        for key, value in job.items():
            col = {"epochs": "max_epochs"}.get(key, key.replace("-", "_"))
            if col not in trials.columns:
                fail(f"setting {key} has no column")
            got = row[col]
            same = str(got) == value if isinstance(got, str) else np.isclose(float(got), float(value), rtol=1e-15)
            if not same:
                fail(f"setting {key}: job says {value}, column says {got}")
        model, T, H, K = row["model"], int(row["T"]), int(row["hidden"]), int(row["vocab"])
        I, L = K + 2, 2 * T + int(row["delay"]) + 1
        g = f["trial/0"]
        curves = pd.DataFrame(g["curves"][...])
        if not set(CURVE_COLUMNS) <= set(curves.columns):
            fail(f"curves columns {list(curves.columns)}")
        if len(curves) != row["epochs"] or list(curves["epoch"]) != list(range(1, len(curves) + 1)):
            fail("curves rows do not match epochs")
        pp = g["per_position"][...]
        if pp.shape != (T,) or abs(pp.mean() - row["test_acc"]) > 1e-12:
            fail(f"per_position {pp.shape}, mean {pp.mean()} vs test_acc {row['test_acc']}")
        if g["grad_flow"].shape != (2, L):
            fail(f"grad_flow shape {g['grad_flow'].shape}, expected (2, {L})")
        names = [f"{p}_{c}" for p in "WUb" for c in GATES[model]] + ["W_y", "b_y"]
        if model.startswith("m"):
            names += ["W_m", "U_m", "b_m"]
        w = g["weights"]
        if sorted(w.keys()) != sorted(names):
            fail(f"weights {sorted(w.keys())}, expected {sorted(names)}")
        for n in names:
            want = SHAPES[n if n in SHAPES else n[0]](I, H, K)
            if w[n].shape != want:
                fail(f"{n} has shape {w[n].shape}, expected {want}")
        total = sum(w[n].size for n in names)
        if total != row["n_params"]:
            fail(f"weights hold {total} values, n_params says {row['n_params']}")
        if not (0 <= row["test_acc"] <= 1) or row["status"] != "done":
            fail(f"test_acc {row['test_acc']}, status {row['status']}")
    print(f"check_trial_file: {path}: layout and cross-checks ok ({model}, T={T}, H={H}, "
          f"{int(row['n_params'])} parameters, test_acc {row['test_acc']:.4f})")


if __name__ == "__main__":
    main(sys.argv[1])
