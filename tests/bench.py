#!/usr/bin/python3
"""`make bench`: one training step (forward, backward, gradient clipping, Adam) of copysweep against
the same step in PyTorch, measured side by side in alternating rounds in one run, so that both see
the same machine: the four cells, H in {128, 256}, batch 32, T in {100, 1000}, 1 and 2 threads.

PyTorch runs in two worker processes that stay up for the whole benchmark:
  tuned    tcmalloc preloaded (if libtcmalloc is installed), subnormals flushed, and for every cell
           a TorchScript-scripted loop of the SPEC equations, plus nn.LSTM / nn.GRU for the
           standard cells (nn.GRU puts the reset gate after U_h: a slightly different cell, the
           same cost);
  default  as a user runs it: nn.LSTM / nn.GRU for the standard cells, a plain Python loop of the
           SPEC equations for the multiplicative ones.
The table gives median ms per step, the ratio of the fastest tuned and of the default PyTorch
variant to copysweep, copysweep's GFLOP/s, and the rates measured on the same machine: the FMA
peak of one core and OpenBLAS sgemm on the step's shapes (`copysweep bench --rates`).

FLOPs of a step (the yardstick of the project's issue): per time step 3 × 2·B·(I+H)·G·H (forward,
and the two backward products), G = 4 for LSTMs and 3 for GRUs, plus 3 × 2·B·(I+H)·I for the
multiplicative step; times L = 2T + 1 steps. copysweep computes less for the multiplicative step
with one-hot inputs (only m_t at the input symbol); the formula still counts it in full.

Usage: bench.py [--no-torch] [--quick] [--rounds N] [--steps N]
  --no-torch  copysweep only (for machines without PyTorch)
  --quick     H = 128, T = 100 only
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = ["lstm", "gru", "mlstm", "mgru"]
K = 8
I = K + 2
B = 32


def flops(cell, H, T):
    """One training step: per time step 3 × 2·B·(I+H)·G·H, and 3 × 2·B·(I+H)·I for the mult step."""
    G = 4 if cell.endswith("lstm") else 3
    per_step = 3 * 2 * B * (I + H) * G * H + (3 * 2 * B * (I + H) * I if cell.startswith("m") else 0)
    return per_step * (2 * T + 1)


# ---- the PyTorch side: tests/bench_torch.py in a worker process ------------------------------------



class Torch:
    """A PyTorch worker process; mode is "tuned" or "default"."""

    def __init__(self, mode):
        env = dict(os.environ)
        self.note = ""
        if mode == "tuned":
            for lib in ("/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"):
                if os.path.exists(lib):
                    env["LD_PRELOAD"] = lib
                    self.note = "tcmalloc"
                    break
            else:
                self.note = "no tcmalloc (apt-get install libgoogle-perftools4)"
        self.p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "bench_torch.py"), mode],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the PyTorch {mode} worker did not start")

    def step_ms(self, cell, variant, H, T, threads, steps):
        time.sleep(SETTLE_S)
        self.p.stdin.write(f"{cell} {variant} {H} {T} {threads} {steps}\n")
        self.p.stdin.flush()
        return float(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait()


# PyTorch's OpenMP threads spin for a while after their last parallel region; each measurement
# starts after this pause, so that neither side runs next to the other's spinning threads.
SETTLE_S = 0.5


def copysweep_ms(cell, H, T, threads, steps, rates=False):
    time.sleep(SETTLE_S)
    cmd = [os.path.join(ROOT, "copysweep"), "bench", "--model", cell, "--hidden", str(H), "--T", str(T),
           "--threads", str(threads), "--steps", str(steps), "--warmup", "1"] + (["--rates"] if rates else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    ms = float(re.search(r"median ([0-9.]+) ms per step", out).group(1))
    m = re.search(r"fma_peak ([0-9.]+) sgemm_step ([0-9.]+) sgemm_wgrad ([0-9.]+) packed_step ([0-9.]+); "
                  r"packed kernel (\S+); (.*)", out)
    return ms, (m.groups() if m else None)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5, help="steps per round at T = 100 (2 at T = 1000)")
    a = p.parse_args()
    torch_ok = not a.no_torch
    if torch_ok:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("bench: no PyTorch here: copysweep only (--no-torch)")
            torch_ok = False
    workers = {m: Torch(m) for m in ("tuned", "default")} if torch_ok else {}
    Hs, Ts = ([128], [100]) if a.quick else ([128, 256], [100, 1000])
    print(f"bench: one training step (forward, backward, clipping, Adam), batch {B}, K = {K}; median of "
          f"{a.rounds} alternating rounds ({min(a.rounds, 2)} at T = 1000); "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    if torch_ok:
        import torch
        print(f"PyTorch {torch.__version__}; tuned: {workers['tuned'].note}, subnormals flushed, TorchScript loops "
              "of the SPEC equations and nn.LSTM/nn.GRU; default: nn.LSTM/nn.GRU, eager loops for mlstm/mgru")
    header = f"{'cell':6} {'H':>4} {'T':>5} {'thr':>3} {'copysweep':>10} {'GFLOP/s':>8} {'%peak':>6} {'%sgemm':>7}"
    if torch_ok:
        header += f" {'torch tuned':>12} {'(variant)':>9} {'ratio':>6} {'torch default':>14} {'ratio':>6}"
    print(header)
    start = time.time()
    for H in Hs:
        for T in Ts:
            steps = a.steps if T <= 100 else 2
            rounds = a.rounds if T <= 100 else min(a.rounds, 2)
            _, rates = copysweep_ms("lstm", H, T, 1, 1, rates=True)
            peak, sg_step, sg_wgrad, packed, kernel, blas = rates
            print(f"-- H={H} T={T}: one core: FMA peak {float(peak):.0f} GFLOP/s; OpenBLAS sgemm on the step's "
                  f"shape (32×{I + H})·({I + H}×{4 * H}) {float(sg_step):.0f}, on the weight gradient's "
                  f"({I + H}×{(2 * T + 1) * B})·({(2 * T + 1) * B}×{4 * H}) {float(sg_wgrad):.0f}; {blas}")
            step = {"copysweep packed kernel (" + kernel + ")": float(packed)}
            for lib in ("openblas", "blis"):
                exe = os.path.join(ROOT, "build", "tests", f"bench_gemm_{lib}")
                if os.path.exists(exe):
                    out = subprocess.run([exe, str(H), str(T)], capture_output=True, text=True,
                                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1")).stdout
                    step[("OpenBLAS" if lib == "openblas" else "BLIS") + " sgemm"] = float(
                        re.search(r"step_chunk ([0-9.]+)", out).group(1))
            print(f"   the per-step product of a chunk (16×{H})·({H}×{4 * H}), one core: " +
                  ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in sorted(step.items(), key=lambda kv: -kv[1])))
            for threads in (1, 2):
                for cell in CELLS:
                    cs, tuned, default = [], {}, []
                    variants = (["script", "nn"] if cell in ("lstm", "gru") else ["script"])
                    for _ in range(rounds):
                        cs.append(copysweep_ms(cell, H, T, threads, steps)[0])
                        if torch_ok:
                            for v in variants:
                                tuned.setdefault(v, []).append(workers["tuned"].step_ms(cell, v, H, T, threads, steps))
                            default.append(workers["default"].step_ms(
                                cell, "nn" if cell in ("lstm", "gru") else "eager", H, T, threads, steps))
                    c = statistics.median(cs)
                    gf = flops(cell, H, T) / (c * 1e-3) / 1e9
                    line = (f"{cell:6} {H:4} {T:5} {threads:3} {c:8.1f}ms {gf:8.1f} {100 * gf / threads / float(peak):5.0f}%"
                            f" {100 * gf / threads / float(sg_step):6.0f}%")
                    if torch_ok:
                        best_v, best = min(((v, statistics.median(t)) for v, t in tuned.items()), key=lambda z: z[1])
                        d = statistics.median(default)
                        line += f" {best:10.1f}ms {best_v:>9} {best / c:6.2f} {d:12.1f}ms {d / c:6.2f}"
                    print(line, flush=True)
    for w in workers.values():
        w.close()
    print(f"bench: {time.time() - start:.0f} s. %peak and %sgemm are per thread: GFLOP/s / threads against one "
          "core's FMA peak and its sgemm rate on the step's shape.")


if __name__ == "__main__":
    main()
