#!/usr/bin/python3
"""A synthetic objective for the tests and the benchmark of [search] samplers: the Branin function
(minimum 0.397887 at (-π, 12.275), (π, 2.275) and (9.42478, 2.475)) over x in [-5, 10], y in [0, 15],
as one exec trial of the protocol of docs/exec.md: an epoch row, then the final record.

Usage: synthetic.py --x X --y Y [--sleep S] [--fail-above X0]
With --fail-above, a run with x > X0 fails (exit status 3) before its first row.
"""
import json
import math
import os
import sys
import time


def branin(x, y):
    b, c, r, s, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - r) ** 2 + s * (1 - t) * math.cos(x) + s


def main(argv):
    args = dict(zip(argv[::2], argv[1::2]))
    if "--fail-above" in args and float(args["--x"]) > float(args["--fail-above"]):
        print(f"synthetic: x = {args['--x']} is above {args['--fail-above']}", file=sys.stderr)
        return 3
    f = branin(float(args["--x"]), float(args["--y"]))
    time.sleep(float(args.get("--sleep", 0)))
    with open(os.environ["COPYSWEEP_METRICS"], "a") as out:
        out.write(json.dumps({"epoch": 1, "val_loss": f}) + "\n")
        out.write(json.dumps({"loss": f}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
