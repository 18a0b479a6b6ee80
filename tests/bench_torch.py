#!/usr/bin/python3
"""The PyTorch side of tests/bench.py, as a worker process: reads lines "CELL VARIANT H B T THREADS
STEPS" on stdin and answers each with the median milliseconds of one training step (forward,
backward, clipping, Adam) on stdout. VARIANT: nn (nn.LSTM / nn.GRU), script (a TorchScript loop
of the SPEC equations) or eager (the same loop run as plain Python). Argument: tuned (subnormals
flushed; the caller preloads tcmalloc) or default.
"""
import sys, time, statistics
import torch
tuned = sys.argv[1] == "tuned"
if tuned:
    torch.set_flush_denormal(True)
K, I = 8, 10
cache = {}

def spec_cells(x, W, U, b, Wm, Um, bm, mult: bool, lstm: bool):
    """The SPEC equations of the four cells, step by step: run as it is (eager) or scripted."""
    L, Bn, _ = x.shape
    H = U.shape[1]
    h = torch.zeros(Bn, H); c = torch.zeros(Bn, H)
    out = []
    # the GRU's gates z and r, and its candidate state
    Wzr, Wh, Uzr, Uh, bzr, bh = W[:2 * H], W[2 * H:], U[:2 * H], U[2 * H:], b[:2 * H], b[2 * H:]
    for t in range(L):
        xt = x[t]
        if mult:
            xt = (torch.addmm(bm, xt, Wm.t()) + h @ Um.t()) * xt
        if lstm:
            g = torch.addmm(b, xt, W.t()) + h @ U.t()
            i, f, o, gg = g.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            zr = torch.sigmoid(torch.addmm(bzr, xt, Wzr.t()) + h @ Uzr.t())
            z, r = zr.chunk(2, 1)
            hh = torch.tanh(torch.addmm(bh, xt, Wh.t()) + (r * h) @ Uh.t())
            h = (1 - z) * h + z * hh
        out.append(h)
    return torch.stack(out)

spec_script = torch.jit.script(spec_cells)

def build(cell, variant, H, B, T):
    L = 2 * T + 1
    torch.manual_seed(1)
    sym = torch.randint(1, K + 1, (B, T))
    ids = torch.zeros(L, B, dtype=torch.long); ids[:T] = sym.T; ids[T] = K + 1
    x = torch.nn.functional.one_hot(ids, I).float()
    y = (sym.T - 1).reshape(-1)
    G = 4 if cell.endswith("lstm") else 3
    out = torch.nn.Linear(H, K)
    if variant == "nn":
        rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, H)
        params = list(rnn.parameters()) + list(out.parameters())
        forward = lambda: rnn(x)[0]
    else:
        P = {n: torch.nn.Parameter(torch.randn(*s) * 0.1) for n, s in
             (("W", (G * H, I)), ("U", (G * H, H)), ("b", (G * H,)), ("Wm", (I, I)), ("Um", (I, H)), ("bm", (I,)))}
        mult = cell.startswith("m")
        params = [P[n] for n in ("W", "U", "b")] + ([P[n] for n in ("Wm", "Um", "bm")] if mult else []) + list(out.parameters())
        fn, lstm = spec_script if variant == "script" else spec_cells, cell.endswith("lstm")
        forward = lambda: fn(x, P["W"], P["U"], P["b"], P["Wm"], P["Um"], P["bm"], mult, lstm)
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
    cell, variant, H, B, T, threads, steps = line.split()
    H, B, T, threads, steps = int(H), int(B), int(T), int(threads), int(steps)
    torch.set_num_threads(threads)
    key = (cell, variant, H, B, T)
    if key not in cache:
        cache.clear()
        cache[key] = build(cell, variant, H, B, T)
        cache[key]()  # compile / warm up
    step = cache[key]
    times = []
    for _ in range(steps):
        t0 = time.perf_counter(); step(); times.append(1e3 * (time.perf_counter() - t0))
    print(statistics.median(times), flush=True)
