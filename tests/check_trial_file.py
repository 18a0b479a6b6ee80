#!/usr/bin/python3
"""Checks a file written by `copysweep train -o` against the documented results layout, and that
its numbers agree with each other (the per-position accuracies average to test_acc, the weights add
up to n_params, the job text matches the row). Usage: check_trial_file.py FILE.h5
"""
import sys

import h5py
import numpy as np
import pandas as pd

SHAPES = {  # the shapes of docs/method.md, from (I, H, K)
    "W": lambda I, H, K: (H, I), "U": lambda I, H, K: (H, H), "b": lambda I, H, K: (H,),
    "W_m": lambda I, H, K: (I, I), "U_m": lambda I, H, K: (I, H), "b_m": lambda I, H, K: (I,),
    "W_y": lambda I, H, K: (K, H), "b_y": lambda I, H, K: (K,),
}
TRIAL_COLUMNS = ["trial", "model", "T", "seed", "status", "n_params", "epochs", "best_epoch", "test_loss",
                 "test_acc", "test_seq_acc", "test_bits", "test_bits_se", "bits_ceiling", "test_bits_cal",
                 "test_bits_cal_se", "temperature", "rho_initial", "rho_final", "rho_linear", "conv_epoch_50",
                 "conv_epoch_90", "conv_epoch_99", "wall_s", "host", "rank", "kernel"]
CURVE_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_bits", "grad_norm", "lr", "wall_s"]


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
            if value == "auto":  # an integer setting derived per trial is stored as -1
                same = int(got) == -1
            else:
                same = str(got) == value if isinstance(got, str) else np.isclose(float(got), float(value), rtol=1e-15)
            if not same:
                fail(f"setting {key}: job says {value}, column says {got}")
        model, T, H, K = row["model"], int(row["T"]), int(row["hidden"]), int(row["vocab"])
        D = int(row["embed"])  # with an embedding the cell reads E[s] (width D), not the one-hot symbol
        I, L = D or K + 2, 2 * T + int(row["delay"]) + 1
        g = f["trial/0"]
        curves = pd.DataFrame(g["curves"][...])
        if not set(CURVE_COLUMNS) <= set(curves.columns):
            fail(f"curves columns {list(curves.columns)}")
        if len(curves) != row["epochs"] or list(curves["epoch"]) != list(range(1, len(curves) + 1)):
            fail("curves rows do not match epochs")
        pp = g["per_position"][...]
        if pp.shape != (T,) or abs(pp.mean() - row["test_acc"]) > 1e-12:
            fail(f"per_position {pp.shape}, mean {pp.mean()} vs test_acc {row['test_acc']}")
        # memory in bits: the bound recomputed from the stored per-position test cross-entropy
        # (copy: every test sequence is scored at every position), Σ_j (log K − CE_j) / ln 2
        ce = g["per_position_ce"][...]
        bits = np.sum(np.log(K) - ce) / np.log(2)
        if ce.shape != (T,) or not np.isclose(bits, row["test_bits"], rtol=1e-9, atol=1e-9):
            fail(f"test_bits {row['test_bits']} vs Σ (log K − per_position_ce) / ln 2 = {bits}")
        if not np.isclose(ce.mean(), row["test_loss"], rtol=1e-9):
            fail(f"per_position_ce averages to {ce.mean()}, test_loss is {row['test_loss']}")
        pb = g["per_position_bits"][...]
        if not np.isclose(pb.sum(), row["test_bits"], rtol=1e-9, atol=1e-9):
            fail(f"per_position_bits add up to {pb.sum()}, test_bits is {row['test_bits']}")
        if not np.isclose(row["bits_ceiling"], T * np.log2(K), rtol=1e-12):
            fail(f"bits_ceiling {row['bits_ceiling']}, expected T·log2 K = {T * np.log2(K)}")
        if not (row["test_bits_se"] > 0 and np.all(g["per_position_bits_se"][...] >= 0)):
            fail(f"test_bits_se {row['test_bits_se']}")
        best = curves[curves["epoch"] == row["best_epoch"]]
        if len(best) and not np.isclose(best["val_bits"].iloc[0], T * (np.log(K) - best["val_loss"].iloc[0]) / np.log(2),
                                        rtol=1e-6, atol=1e-6):
            fail("val_bits of the selected epoch is not T·(log K − val_loss)/ln 2")
        # ρ from the stored gradient flow: the least-squares slope of ln ‖∂L/∂h_t‖ over the steps
        # before the scored window
        flow = g["grad_flow"][...]
        out_start = L - T
        for which, col in ((0, "rho_initial"), (1, "rho_final")):
            t = np.arange(out_start)
            y = flow[which, :out_start]
            keep = np.isfinite(y) & (y >= 1e-30)
            rho = np.exp(-np.polyfit(t[keep], np.log(y[keep]), 1)[0])
            if not np.isclose(rho, row[col], rtol=1e-9):
                fail(f"{col} {row[col]}, recomputed from grad_flow {rho}")
        if g["grad_flow"].shape != (2, L):
            fail(f"grad_flow shape {g['grad_flow'].shape}, expected (2, {L})")
        # the cell's gates and whether it has the multiplicative step, as the file says
        gates = row["gate_letters"]
        if len(gates) != row["gates"]:
            fail(f"gate_letters '{gates}' and gates {row['gates']} disagree")
        names = [f"{p}_{c}" for p in "WUb" for c in gates] + ["W_y", "b_y"]
        if row["model_long_name"].startswith("multiplicative"):
            names += ["W_m", "U_m", "b_m"]
        if D:
            names += ["E"]
        w = g["weights"]
        if sorted(w.keys()) != sorted(names):
            fail(f"weights {sorted(w.keys())}, expected {sorted(names)}")
        for n in names:
            want = (K + 2, D) if n == "E" else SHAPES[n if n in SHAPES else n[0]](I, H, K)
            if w[n].shape != want:
                fail(f"{n} has shape {w[n].shape}, expected {want}")
        total = sum(w[n].size for n in names)
        if total != row["n_params"]:
            fail(f"weights hold {total} values, n_params says {row['n_params']}")
        if not (0 <= row["test_acc"] <= 1) or row["status"] != "done":
            fail(f"test_acc {row['test_acc']}, status {row['status']}")
    print(f"check_trial_file: {path}: layout and cross-checks ok ({model}, T={T}, H={H}, "
          f"{int(row['n_params'])} parameters, test_acc {row['test_acc']:.4f}, {row['test_bits']:.3f} ± "
          f"{row['test_bits_se']:.3f} bits recomputed from per_position_ce, ρ {row['rho_initial']:.4f} → "
          f"{row['rho_final']:.4f})")


if __name__ == "__main__":
    main(sys.argv[1])
