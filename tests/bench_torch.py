#!/usr/bin/python3
"""The PyTorch side of tests/bench.py, as a worker process: reads lines "CELL H B T THREADS STEPS" on
stdin and answers each with the median milliseconds of one training step (forward, backward,
clipping, Adam) on stdout, as a user runs it: nn.LSTM, nn.GRU and nn.RNN for the standard cells (nn.GRU
puts the reset gate after U_h: a slightly different cell, the same cost), a plain Python loop of the
the equations of docs/method.md for the multiplicative ones (PyTorch has no such module).
"""
import statistics
import sys
import time

import torch

K, I = 8, 10
cache = {}


def spec_loop(x, W, U, b, Wm, Um, bm, kind):
    """The multiplicative cells of docs/method.md step by step: m_t = W_m x_t + U_m h + b_m, x̃_t = m_t ⊙ x_t,
    then the LSTM, GRU or tanh RNN on x̃_t."""
    L, Bn, _ = x.shape
    H = U.shape[1]
    h, c = torch.zeros(Bn, H), torch.zeros(Bn, H)
    out = []
    for t in range(L):
        xt = (torch.addmm(bm, x[t], Wm.t()) + h @ Um.t()) * x[t]
        if kind == "lstm":
            i, f, o, g = (torch.addmm(b, xt, W.t()) + h @ U.t()).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        elif kind == "gru":
            z, r = torch.sigmoid(torch.addmm(b[:2 * H], xt, W[:2 * H].t()) + h @ U[:2 * H].t()).chunk(2, 1)
            hh = torch.tanh(torch.addmm(b[2 * H:], xt, W[2 * H:].t()) + (r * h) @ U[2 * H:].t())
            h = (1 - z) * h + z * hh
        else:
            h = torch.tanh(torch.addmm(b, xt, W.t()) + h @ U.t())
        out.append(h)
    return torch.stack(out)


def build(cell, H, B, T):
    L = 2 * T + 1
    torch.manual_seed(1)
    sym = torch.randint(1, K + 1, (B, T))
    ids = torch.zeros(L, B, dtype=torch.long)
    ids[:T] = sym.T
    ids[T] = K + 1
    x = torch.nn.functional.one_hot(ids, I).float()
    y = (sym.T - 1).reshape(-1)
    kind = cell.lstrip("m")
    out = torch.nn.Linear(H, K)
    if not cell.startswith("m"):
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind](I, H)
        params = list(rnn.parameters()) + list(out.parameters())
        forward = lambda: rnn(x)[0]
    else:
        G = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
        P = {n: torch.nn.Parameter(torch.randn(*s) * 0.1) for n, s in
             (("W", (G * H, I)), ("U", (G * H, H)), ("b", (G * H,)), ("Wm", (I, I)), ("Um", (I, H)), ("bm", (I,)))}
        params = list(P.values()) + list(out.parameters())
        forward = lambda: spec_loop(x, P["W"], P["U"], P["b"], P["Wm"], P["Um"], P["bm"], kind)
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        opt.zero_grad()
        h = forward()
        loss = torch.nn.functional.cross_entropy(out(h[L - T:]).reshape(-1, K), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return step


print("ready", flush=True)
for line in sys.stdin:
    cell, H, B, T, threads, steps = line.split()
    H, B, T, threads, steps = int(H), int(B), int(T), int(threads), int(steps)
    torch.set_num_threads(threads)
    key = (cell, H, B, T)
    if key not in cache:
        cache.clear()
        cache[key] = build(cell, H, B, T)
        cache[key]()  # warm up
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        cache[key]()
        times.append(1e3 * (time.perf_counter() - t0))
    print(statistics.median(times), flush=True)
