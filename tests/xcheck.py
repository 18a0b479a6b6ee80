#!/usr/bin/python3
"""Cross-check of copysweep's hand-written forward and backward passes against PyTorch autograd.

Reads the fixture written by build/tests/xcheck_dump_f64 (weights under their names in docs/method.md, inputs,
targets, and the loss and gradients copysweep computed in double), recomputes the loss from the
the equations of docs/method.md in PyTorch (float64, not nn.LSTM/nn.GRU: nn.GRU applies the reset gate after U_h)
and compares the loss and every gradient element: |c - t| <= 1e-6 * max(|c|, |t|) + 1e-15.
Usage: xcheck.py FIXTURE.h5
"""
import math
import sys

import h5py
import numpy as np
import torch

TOL = 1e-6


def attr(g, name):
    v = g.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def layer(gates, mult, P, xs, reset_after):
    """h_1..h_L of one layer of the equations of docs/method.md of the cell with these gates (ifoc: LSTM, zrh: GRU,
    h: tanh RNN) over the inputs xs (L, B, I)."""
    L, B, _ = xs.shape
    H = P["U_" + gates[0]].shape[0]
    h = torch.zeros(B, H)
    c = torch.zeros(B, H)
    outputs = []
    for t in range(L):
        xt = xs[t]
        if mult:
            # m_t = W_m x_t + U_m h_{t-1} + b_m;  x~_t = m_t * x_t
            m = xt @ P["W_m"].T + h @ P["U_m"].T + P["b_m"]
            xt = m * xt
        pre = lambda g, hin: xt @ P["W_" + g].T + hin @ P["U_" + g].T + P["b_" + g]
        if gates == "ifoc":  # LSTM
            i, f, o = torch.sigmoid(pre("i", h)), torch.sigmoid(pre("f", h)), torch.sigmoid(pre("o", h))
            g = torch.tanh(pre("c", h))
            c = f * c + i * g
            h = o * torch.tanh(c)
        elif gates == "zrh":  # GRU
            z, r = torch.sigmoid(pre("z", h)), torch.sigmoid(pre("r", h))
            if reset_after:  # PyTorch nn.GRU's variant, used only to show the check tells them apart
                hh = torch.tanh(xt @ P["W_h"].T + r * (h @ P["U_h"].T) + P["b_h"])
            else:
                hh = torch.tanh(pre("h", r * h))
            h = (1 - z) * h + z * hh
        elif gates == "h":  # tanh RNN: h_t = tanh(W x_t + U h_{t-1} + b)
            h = torch.tanh(pre("h", h))
        else:
            raise ValueError(f"no reference equations for the gates '{gates}'")
        outputs.append(h)
    return torch.stack(outputs)


def forward(gates, mult, P, x, y, out_start, bce, reset_after=False, masks=None):
    """Mean loss over the scored outputs (y >= 0), from the equations of docs/method.md: cross-entropy of the
    softmax, or with bce the binary cross-entropy of the sigmoid at each bit of y. With parameters
    named layer1/..., layer2/..., the layers are stacked, each reading the h_t of the one below;
    masks (dropout, 0 or 1/(1-p)) multiply the input of layer k >= 2 and of the output layer. With
    an embedding E, the first layer reads x_t E = E[s_t] (x_t one-hot)."""
    masks = masks or {}
    names = sorted({k.split("/")[0] for k in P if k.startswith("layer")})
    hs = x @ P["E"] if "E" in P else x
    for prefix in names or [""]:
        sub = {k[len(prefix) + 1:] if prefix else k: v for k, v in P.items() if not prefix or k.startswith(prefix + "/")}
        if prefix in masks:
            hs = hs * masks[prefix]
        hs = layer(gates, mult, sub, hs, reset_after)
    hs = hs[out_start:]  # (N, B, H)
    if "out" in masks:
        hs = hs * masks["out"]
    logits = hs @ P["W_y"].T + P["b_y"]
    K = logits.shape[-1]
    logits, y = logits.reshape(-1, K), y.reshape(-1).long()
    scored = y >= 0
    logits, y = logits[scored], y[scored]
    if bce:
        bits = ((y[:, None] >> torch.arange(K)[None, :]) & 1).double()
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, bits)
    return torch.nn.functional.cross_entropy(logits, y)


def worst_rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / (np.maximum(np.abs(a), np.abs(b)) + 1e-15 / TOL)))


def verdict(errors):
    """(the worst relative error, whether it fails): a NaN anywhere is the worst and fails (max() of a
    list with a NaN depends on where the NaN is, and NaN > TOL is false)."""
    values = list(errors.values())
    worst = math.nan if any(math.isnan(v) for v in values) else max(values)
    return worst, not worst <= TOL


def controls():
    """Negative controls: a gradient off in one element, and a NaN, must each fail the verdict."""
    grads = np.linspace(-1, 1, 50)
    off = grads.copy()
    off[17] += 1e-4
    caught = [verdict({"W": worst_rel(grads, off)})[1], verdict({"loss": 0.0, "W": math.nan, "U": 1e-12})[1],
              verdict({"W": math.nan, "loss": 0.0})[1]]
    print(f"  negative controls (one element off by 1e-4; a NaN after and before good errors): "
          f"{'caught' if all(caught) else 'NOT caught'}")
    return 0 if all(caught) else 1


def main(path):
    torch.set_default_dtype(torch.float64)
    failures, cases = controls(), 0
    with h5py.File(path, "r") as f:
        for case in f:
            g = f[case]
            gates, mult = attr(g, "gates"), int(g.attrs["mult"])
            x = torch.tensor(g["x"][...])
            y = torch.tensor(g["y"][...].astype(np.int64))
            out_start = int(g.attrs["out_start"])
            bce = bool(g.attrs["bce"])
            names = []
            g["params"].visit(lambda k: names.append(k) if isinstance(g["params"][k], h5py.Dataset) else None)
            P = {k: torch.tensor(g["params"][k][...], requires_grad=True) for k in names}
            masks = {k: torch.tensor(g["masks"][k][...]) for k in g["masks"]} if "masks" in g else {}
            if masks and not all(0.2 < float((m == 0).double().mean()) < 0.6 for m in masks.values()):
                print(f"  {case}: dropout masks do not drop about 40 % of the units")
                failures += 1
            loss = forward(gates, mult, P, x, y, out_start, bce, masks=masks)
            loss.backward()
            errors = {"loss": worst_rel(float(g.attrs["loss"]), loss.item())}
            for k in sorted(P):
                c_grad = g["grads"][k][...]
                if c_grad.shape != tuple(P[k].shape):
                    print(f"  {case}: {k} has shape {c_grad.shape}, reference {tuple(P[k].shape)}")
                    failures += 1
                    continue
                errors[k] = worst_rel(c_grad, P[k].grad.numpy())
            worst, bad = verdict(errors)
            status = "FAIL" if bad else "ok"
            failures += bad
            cases += 1
            detail = " ".join(f"{k} {v:.1e}" for k, v in errors.items())
            print(f"  {case:20s} loss {loss.item():.10f} (copysweep {float(g.attrs['loss']):.10f}); "
                  f"worst relative error {worst:.2e} {status}\n      {detail}")
            if gates == "zrh":
                # the same weights under nn.GRU's reset-after form must give another loss
                other = forward(gates, mult, {k: v.detach() for k, v in P.items()}, x, y, out_start, bce, True,
                                masks).item()
                if worst_rel(other, loss.item()) <= TOL:
                    print(f"  {case}: reset-before and reset-after GRU agree; the check cannot tell them apart")
                    failures += 1
    if cases == 0:
        print(f"  {path} holds no case: nothing was compared")
        failures += 1
    print(f"pytorch cross-check: {cases} cases,", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
