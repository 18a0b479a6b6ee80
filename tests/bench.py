#!/usr/bin/python3
"""`make bench`: one training step (forward, backward, gradient clipping, Adam) of copysweep on each
of its kernel paths this CPU runs (COPYSWEEP_KERNEL: avx512, avx2) and of the same step in PyTorch as
a user runs it, measured side by side in alternating rounds in one run, one thread, so that all see
the same machine. Shapes: the main job's (H = 64, batch 16, T = 50 and 100), the study's (H = 128,
batch 32, T = 100), and H = 128 and 256 at T = 100 and 1000 (batch 32); the six cells.

First, per path, on one core: the FMA peak and the three products of a chunk's step as copysweep
computes them (`copysweep bench --rates`), beside OpenBLAS's and BLIS's sgemm on the same shapes
(tests/bench_gemm.c), OpenBLAS on its kernel for the same vector width (Haswell for avx2, SkylakeX
for avx512, whatever OPENBLAS_CORETYPE the environment sets; PyTorch, which runs on the system's
OpenBLAS, keeps the environment's); every line names the kernel that ran. Then the generic path's
cost, at the main job's shape.

FLOPs of a step (the yardstick of the project's issues): per time step 3 × 2·B·(I+H)·G·H (forward and
the two backward products), G = 4 for LSTMs, 3 for GRUs, 1 for tanh RNNs, plus 3 × 2·B·(I+H)·I for the
multiplicative step; times L = 2T + 1. copysweep computes less for one-hot inputs (a row of W, not a
product, and only m_t at the input symbol); the formula still counts them in full.

Usage: bench.py [--no-torch] [--quick] [--rounds N]
  --no-torch  copysweep only (for machines without PyTorch)
  --quick     the main job's and the study's shapes only, LSTM and GRU
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = ["lstm", "gru", "rnn", "mlstm", "mgru", "mrnn"]
K, I = 8, 10
# (H, batch, T): the main job's, the study's, then the larger ones
SHAPES = [(64, 16, 50), (64, 16, 100), (128, 32, 100), (256, 32, 100), (128, 32, 1000), (256, 32, 1000)]
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
# PyTorch's OpenMP threads spin for a while after their last parallel region; each measurement
# starts after this pause, so that no side runs next to another's spinning threads.
SETTLE_S = 0.5


def flops(cell, H, B, T):
    G = GATES[cell.lstrip("m")]
    per_step = 3 * 2 * B * (I + H) * G * H + (3 * 2 * B * (I + H) * I if cell.startswith("m") else 0)
    return per_step * (2 * T + 1)


def copysweep(path, args):
    time.sleep(SETTLE_S)
    out = subprocess.run([os.path.join(ROOT, "copysweep"), "bench"] + args, check=True, capture_output=True,
                         text=True, env=dict(os.environ, COPYSWEEP_KERNEL=path, OMP_NUM_THREADS="1")).stdout
    return out


def step_ms(path, cell, H, B, T, steps, threads=1):
    out = copysweep(path, ["--model", cell, "--hidden", str(H), "--batch", str(B), "--T", str(T),
                           "--threads", str(threads), "--steps", str(steps), "--warmup", "1"])
    return float(re.search(r"median ([0-9.]+) ms per step", out).group(1))


def rates(path, H, T):
    out = copysweep(path, ["--hidden", str(H), "--T", str(T), "--batch", "16", "--steps", "1", "--warmup", "0",
                           "--rates"])
    m = re.search(r"fma_peak ([0-9.]+) step_fwd ([0-9.]+) step_bwd ([0-9.]+) wgrad ([0-9.]+)", out)
    return [float(x) for x in m.groups()]


def blas_rates(lib, path, H, T):
    exe = os.path.join(ROOT, "build", "tests", f"bench_gemm_{lib}")
    if not os.path.exists(exe):
        return None
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if lib == "openblas":
        env["OPENBLAS_CORETYPE"] = {"avx2": "Haswell", "avx512": "SkylakeX"}[path]
    out = subprocess.run([exe, str(H), str(T)], capture_output=True, text=True, env=env).stdout
    vals = [float(re.search(rf"{n} ([0-9.]+)", out).group(1)) for n in ("step_fwd", "step_bwd", "wgrad")]
    return vals, re.search(r"kernel (.*)", out).group(1)


class Torch:
    """A PyTorch worker process (tests/bench_torch.py)."""

    def __init__(self):
        self.p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "bench_torch.py")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS="1"))
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError("the PyTorch worker did not start")

    def step_ms(self, cell, H, B, T, steps):
        time.sleep(SETTLE_S)
        self.p.stdin.write(f"{cell} {H} {B} {T} 1 {steps}\n")
        self.p.stdin.flush()
        return float(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def supported_paths():
    """The fast paths this CPU runs, the widest first (generic is measured apart)."""
    paths = []
    for p in ("avx512", "avx2"):
        r = subprocess.run([os.path.join(ROOT, "copysweep"), "bench", "--hidden", "4", "--T", "3", "--batch", "2",
                            "--train-size", "100", "--steps", "1", "--warmup", "0"], capture_output=True,
                           env=dict(os.environ, COPYSWEEP_KERNEL=p))
        if r.returncode == 0:
            paths.append(p)
    return paths


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    torch = None
    if not a.no_torch:
        try:
            import torch as _t
            torch = Torch()
            torch_note = f"PyTorch {_t.__version__} ({_t.__config__.show().split('CPU capability usage: ')[-1].split()[0]})"
        except ImportError:
            print("bench: no PyTorch here: copysweep only (--no-torch)")
    paths = supported_paths()
    shapes = SHAPES[:3] if a.quick else SHAPES
    cells = ["lstm", "gru"] if a.quick else CELLS
    start = time.time()
    print(f"bench: {cpu_name()}, {os.cpu_count()} CPUs; copysweep paths {', '.join(paths)}; one thread; median of "
          f"{a.rounds} alternating rounds (2 at T = 1000)" + (f"; {torch_note} as a user runs it" if torch else "") +
          f"; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} in the environment")

    print("\nrates, GFLOP/s on one core, of a chunk's products (16 sequences; H = 128, T = 100, LSTM): step forward "
          "(16×H)·(H×4H), step backward (16×4H)·(4H×H), weight gradient (4H×16L)·(16L×H)")
    peak = {}
    for path in paths:
        peak[path], fwd, bwd, wg = rates(path, 128, 100)
        print(f"  {path:7} FMA peak {peak[path]:6.1f}   copysweep {fwd:6.1f} {bwd:6.1f} {wg:6.1f}", end="")
        for lib in ("openblas", "blis"):
            r = blas_rates(lib, path, 128, 100)
            if r:
                print(f"   {r[1]}: {r[0][0]:6.1f} {r[0][1]:6.1f} {r[0][2]:6.1f}", end="")
        print(flush=True)

    cols = "".join(f" | {p:>7} ms  GF/s %peak" + ("  ×torch" if torch else "") for p in paths)
    print(f"\n{'cell':6} {'H':>4} {'B':>3} {'T':>5}{cols}" + (" | torch ms" if torch else ""))
    for H, B, T in shapes:
        for cell in cells:
            steps, rounds = (2, min(a.rounds, 2)) if T >= 1000 else (5 if H >= 128 else 20, a.rounds)
            ms = {p: [] for p in paths}
            tms = []
            for _ in range(rounds):
                for path in paths:
                    ms[path].append(step_ms(path, cell, H, B, T, steps))
                if torch:
                    tms.append(torch.step_ms(cell, H, B, T, steps))
            line = f"{cell:6} {H:4} {B:3} {T:5}"
            t = statistics.median(tms) if torch else None
            for path in paths:
                m = statistics.median(ms[path])
                gf = flops(cell, H, B, T) / (m * 1e-3) / 1e9
                line += f" | {m:10.2f} {gf:6.1f} {100 * gf / peak[path]:4.0f}%" + (f" {t / m:7.2f}" if torch else "")
            print(line + (f" | {t:9.2f}" if torch else ""), flush=True)

    H, B, T = SHAPES[0]
    g = step_ms("generic", "lstm", H, B, T, 2)
    fast = {p: step_ms(p, "lstm", H, B, T, 20) for p in paths}
    print(f"\nthe generic path (portable C, fused multiply-adds through libm's fmaf), LSTM, H = {H}, batch {B}, "
          f"T = {T}: {g:.1f} ms per step, " + ", ".join(f"{g / v:.0f}× {p}'s {v:.2f} ms" for p, v in fast.items()))
    if torch:
        torch.close()
    print(f"bench: {time.time() - start:.0f} s; %peak: GFLOP/s (by the formula above) over the path's FMA peak on "
          "one core; ×torch: PyTorch's ms over copysweep's")


if __name__ == "__main__":
    main()
