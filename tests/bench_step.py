#!/usr/bin/python3
"""One training step (forward, backward, gradient clipping, Adam) of copysweep's standard LSTM
against PyTorch's nn.LSTM doing the same step: same shapes, same data layout (one-hot copy-task
inputs, cross-entropy on the T copy steps), same thread count, measured in alternating rounds in
one run so that both sides see the same machine load.
Usage: bench_step.py [--model lstm|gru] [--hidden 128] [--batch 32] [--T 100] [--threads 1]
                     [--rounds 5] [--steps 10]
"""
import argparse
import os
import re
import statistics
import subprocess
import time

import torch


def torch_step_times(args, steps):
    K = 8
    I, L = K + 2, 2 * args.T + 1
    torch.manual_seed(1)
    cell = (torch.nn.LSTM if args.model == "lstm" else torch.nn.GRU)(I, args.hidden)
    out = torch.nn.Linear(args.hidden, K)
    params = list(cell.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    sym = torch.randint(1, K + 1, (args.batch, args.T))
    ids = torch.zeros(L, args.batch, dtype=torch.long)
    ids[: args.T] = sym.T
    ids[args.T] = K + 1
    x = torch.nn.functional.one_hot(ids, I).float()
    y = (sym.T - 1).reshape(-1)
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        h, _ = cell(x)
        logits = out(h[L - args.T:]).reshape(-1, K)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if i >= 3:
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def copysweep_step(args, steps):
    cmd = ["./copysweep", "bench", "--model", args.model, "--hidden", str(args.hidden), "--batch",
           str(args.batch), "--T", str(args.T), "--threads", str(args.threads), "--steps", str(steps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"median ([0-9.]+) ms per step.*; (.*)$", out.strip())
    return float(m.group(1)), m.group(2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--T", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as copysweep does: subnormal arithmetic is slow on both sides
    cs, pt = [], []
    for _ in range(args.rounds):
        ms, blas = copysweep_step(args, args.steps)
        cs.append(ms)
        pt.append(torch_step_times(args, args.steps))
    c, t = statistics.median(cs), statistics.median(pt)
    print(f"one training step, {args.model} H={args.hidden} B={args.batch} T={args.T} (L={2 * args.T + 1}), "
          f"{args.threads} thread(s), median of {args.rounds} alternating rounds of {args.steps} steps:")
    print(f"  copysweep        {c:8.2f} ms   (rounds: {', '.join(f'{v:.1f}' for v in cs)})")
    print(f"  PyTorch nn.{args.model.upper():4s} {t:8.2f} ms   (rounds: {', '.join(f'{v:.1f}' for v in pt)})")
    print(f"  ratio PyTorch / copysweep = {t / c:.2f}")
    print(f"  copysweep BLAS: {blas}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"  PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s)")


if __name__ == "__main__":
    main()
