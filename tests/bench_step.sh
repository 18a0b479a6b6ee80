#!/bin/bash
# `make bench`: copysweep's training step against PyTorch's, side by side, with 1 and 2 threads.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
for t in 1 2; do
    "$PYTHON" tests/bench_step.py --model lstm --hidden 128 --batch 32 --T 100 --threads "$t"
done
