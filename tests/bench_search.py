#!/usr/bin/python3
"""Random search against TPE ([search] sampler = tpe), by the best objective each finds for the
compute it spends. Two modes:

  bench_search.py compare RANDOM.h5 TPE.h5
      Two results files of one search (jobs/lr-search-late.ini and jobs/lr-search-tpe.ini: the same
      groups, range, budget and rung). For each group (model, T, seed) the searched trials in sample
      order; the best validation bits of each (the best over its epochs: what TPE maximizes); the
      best so far after each sample, and the epochs run so far (the compute: every epoch is the same
      number of updates within a group). Per (model, T): the mean ± SE over seeds of the best found
      after half and after all of the samples, with their epochs; the paired difference TPE − random
      with its 95 % t-interval, and Holm's correction over the family of (model, T) rows.

  bench_search.py branin [--seeds N] [--generations G] [--per-generation P] [--copysweep BIN]
      Cheap exec trials of the Branin function (tests/synthetic.py; minimum 0.397887) over x in
      [-5, 10], y in [0, 15]: for each sampler seed 1..N a sweep with sampler = random (G × P samples)
      and one with sampler = tpe (G generations of P), one trial per sample. The best loss found
      after each P samples, mean ± SE over sampler seeds, and on how many seeds TPE's best is lower.

Deterministic: the same files or seeds give the same table on any machine.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
import load  # noqa: E402
from stats import holm, mean_se, paired  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best_so_far(path):
    """{(model, T, seed): (best val-bits so far after each sample, epochs so far)} of the searched trials."""
    t = load.trials(path)
    t = t[t["sample"] >= 0]
    c = load.curves(path, running=False)
    best = c.groupby("trial")["val_bits"].max()
    epochs = c.groupby("trial")["epoch"].max()
    out = {}
    for key, g in t.sort_values("sample").groupby(["model", "T", "seed"]):
        b = np.maximum.accumulate([best.get(k, -np.inf) for k in g["trial"]])
        e = np.cumsum([epochs.get(k, 0) for k in g["trial"]])
        out[key] = (b, e)
    return out


def fmt(m, se):
    return f"{m:.2f} ± {se:.2f}" if np.isfinite(se) else f"{m:.2f}"


def compare(random_path, tpe_path):
    r, p = best_so_far(random_path), best_so_far(tpe_path)
    cells = sorted({(m, T) for m, T, _ in r} & {(m, T) for m, T, _ in p}, key=lambda x: (x[1], load.order("model", x[0])))
    rows, ps = [], []
    for model, T in cells:
        seeds = sorted(s for m, t, s in r if (m, t) == (model, T) and (m, t, s) in p)
        n = len(r[(model, T, seeds[0])][0])
        half = n // 2 - 1
        rb = [r[(model, T, s)][0][-1] for s in seeds]
        pb = [p[(model, T, s)][0][-1] for s in seeds]
        d = paired(pb, rb)
        ps.append(d["p"])
        rows.append((model, T, len(seeds), n,
                     mean_se([r[(model, T, s)][0][half] for s in seeds]), mean_se([r[(model, T, s)][1][half] for s in seeds]),
                     mean_se([p[(model, T, s)][0][half] for s in seeds]), mean_se([p[(model, T, s)][1][half] for s in seeds]),
                     mean_se(rb), mean_se([r[(model, T, s)][1][-1] for s in seeds]),
                     mean_se(pb), mean_se([p[(model, T, s)][1][-1] for s in seeds]), d))
    adj = holm(ps)
    print(f"best validation bits found, mean ± SE over seeds; epochs run so far (compute); {random_path} (random) "
          f"against {tpe_path} (TPE)\n")
    print("| model | T | seeds | random, half the samples: bits (epochs) | TPE, half: bits (epochs) "
          "| random, all: bits (epochs) | TPE, all: bits (epochs) | TPE − random [95 % CI] | p (Holm) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (model, T, ns, n, rh, reh, ph, peh, ra, rea, pa, pea, d), h in zip(rows, adj):
        print(f"| {load.shown('model', model)} | {T} | {ns} | {fmt(rh[0], rh[1])} ({reh[0]:.0f}) | {fmt(ph[0], ph[1])} "
              f"({peh[0]:.0f}) | {fmt(ra[0], ra[1])} ({rea[0]:.0f}) | {fmt(pa[0], pa[1])} ({pea[0]:.0f}) "
              f"| {d['mean']:+.2f} [{d['lo']:+.2f}, {d['hi']:+.2f}] | {d['p']:.3f} ({h:.3f}) |")
    r_ep = sum(v[1][-1] for v in r.values())
    p_ep = sum(v[1][-1] for v in p.values())
    print(f"\nepochs of the searched trials in all: random {r_ep}, TPE {p_ep} (TPE/random {p_ep / r_ep:.3f})")
    sep = [f"{load.shown('model', m)} T={T}" for (m, T, *_), h in zip(rows, adj) if np.isfinite(h) and h < 0.05]
    print(f"separated after Holm's correction over {len(rows)} rows: {', '.join(sep) if sep else 'none'}")


BRANIN = """[exec]
command = {python} {synthetic} --x {{x}} --y {{y}}
metrics = loss
[search]
sampler-seed = {seed}
{sampler}
x = uniform -5 10
y = uniform 0 15
"""


def run_branin(binary, seed, sampler, G, P, folder):
    lines = (f"sampler = tpe\ngenerations = {G}\nper-generation = {P}\nmetric = loss\ndirection = minimize"
             if sampler == "tpe" else f"samples = {G * P}")
    job = os.path.join(folder, f"{sampler}-{seed}.ini")
    with open(job, "w") as f:
        f.write(BRANIN.format(python=sys.executable, synthetic=os.path.join(ROOT, "tests", "synthetic.py"), seed=seed,
                              sampler=lines))
    out = os.path.join(folder, f"{sampler}-{seed}.h5")
    subprocess.run([binary, job, "-o", out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    t = load.trials(out).sort_values("sample")
    best = np.minimum.accumulate(t["loss"].to_numpy())
    return best[P - 1::P]


def branin(args):
    G, P = args.generations, args.per_generation
    with tempfile.TemporaryDirectory() as folder:
        res = {s: np.array([run_branin(args.copysweep, seed, s, G, P, folder) for seed in range(1, args.seeds + 1)])
               for s in ("random", "tpe")}
    print(f"Branin function (minimum 0.3979), best loss found, mean ± SE over {args.seeds} sampler seeds; "
          f"{P} trials per generation\n")
    print("| trials | random | TPE | seeds where TPE is lower / higher |")
    print("|---|---|---|---|")
    for g in range(G):
        rm, tm = mean_se(res["random"][:, g]), mean_se(res["tpe"][:, g])
        lower = int((res["tpe"][:, g] < res["random"][:, g]).sum())
        higher = int((res["tpe"][:, g] > res["random"][:, g]).sum())
        print(f"| {(g + 1) * P} | {fmt(*rm[:2])} | {fmt(*tm[:2])} | {lower} / {higher} |")
    d = paired(list(res["tpe"][:, -1]), list(res["random"][:, -1]))
    print(f"\nafter {G * P} trials, TPE − random {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] (paired by sampler "
          f"seed, 95 % t-interval, p {d['p']:.3g})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("compare")
    c.add_argument("random")
    c.add_argument("tpe")
    b = sub.add_parser("branin")
    b.add_argument("--seeds", type=int, default=20)
    b.add_argument("--generations", type=int, default=8)
    b.add_argument("--per-generation", type=int, default=5)
    b.add_argument("--copysweep", default=os.path.join(ROOT, "copysweep"))
    a = ap.parse_args()
    if a.mode == "compare":
        compare(a.random, a.tpe)
    else:
        branin(a)


if __name__ == "__main__":
    main()
