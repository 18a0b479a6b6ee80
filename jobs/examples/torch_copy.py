"""Copy task with a PyTorch LSTM or GRU: an example program for copysweep's exec trials.

The sweeper runs it once per trial (jobs/examples/torch-copy.ini):
    python3 {job_dir}/torch_copy.py --cell {cell} --T {T} --hidden {hidden} --lr {lr} --seed {seed} --epochs {epochs}

Task: K data symbols (ids 1..K), blank 0, delimiter K+1, one-hot inputs of width K+2. The input is
s_1..s_T (uniform in 1..K), one delimiter, T blanks (length 2T+1); the T steps after the delimiter
must output s_1..s_T, with no loss elsewhere. The output layer has K classes (the data symbols), so a
model at chance has a cross-entropy of log K. Loss: mean cross-entropy over the copy positions, in
nats per symbol; accuracy: fraction of copy positions whose argmax is right; memory in bits: see
memory_bits. Training data are drawn fresh each epoch from a generator seeded by (seed, epoch); the
validation and test sets are fixed, each from a generator seeded by (seed, split).

Contract with the sweeper:
- COPYSWEEP_METRICS (a file): after each epoch one JSON line is appended and flushed,
  {"epoch", "train_loss", "val_loss", "val_acc", "val_bits"}; after training one line without "epoch",
  {"test_loss", "test_acc", "test_bits", "best_epoch", "best_val_acc", "params"}. The test uses the
  weights of the epoch with the best val_acc. A value that is not finite is left out of its line.
- COPYSWEEP_CHECKPOINT_DIR (optional, kept between runs of a trial): after each epoch, with its
  metrics line and with SIGTERM blocked while both are written, checkpoint.pt is replaced atomically.
  A run that finds it resumes at the next epoch and gives the results of an uninterrupted run.
- SIGTERM: the run stops within one update, leaves the checkpoint of the last completed epoch,
  says so on stderr and exits 0.
- COPYSWEEP_THREADS: torch's threads (default 1).
"""

import argparse
import hashlib
import json
import math
import os
import signal
import sys
import time

STOP = {"requested": False}


def on_sigterm(signum, frame):
    STOP["requested"] = True


# Installed before torch is imported, so that a SIGTERM while it loads also ends in a clean exit.
signal.signal(signal.SIGTERM, on_sigterm)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CHECKPOINT = "checkpoint.pt"


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def non_negative_float(text):
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number >= 0")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Copy task with a torch LSTM or GRU (copysweep exec trial).")
    p.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    p.add_argument("--T", type=positive_int, default=20, help="symbols to copy")
    p.add_argument("--vocab", type=positive_int, default=8, help="K, the number of data symbols")
    p.add_argument("--hidden", type=positive_int, default=64)
    p.add_argument("--lr", type=non_negative_float, default=0.003)
    p.add_argument("--batch", type=positive_int, default=32)
    p.add_argument("--updates-per-epoch", type=positive_int, default=20)
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--clip", type=non_negative_float, default=1.0, help="gradient norm limit; 0: none")
    p.add_argument("--val-size", type=positive_int, default=256)
    p.add_argument("--test-size", type=positive_int, default=256)
    args = p.parse_args(argv)
    if args.vocab < 2:
        p.error("--vocab must be at least 2")
    return args


def generator(seed, *stream):
    """A torch.Generator seeded from (seed, stream...) through a hash, so that streams never overlap."""
    digest = hashlib.sha256(repr((seed,) + stream).encode()).digest()
    g = torch.Generator()
    g.manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
    return g


def make_batch(n, T, K, g):
    """Inputs (n, 2T+1, K+2) one-hot and targets (n, T) in 0..K-1 (symbol id minus one)."""
    symbols = torch.randint(1, K + 1, (n, T), generator=g)
    ids = torch.cat([symbols, torch.full((n, 1), K + 1), torch.zeros((n, T), dtype=torch.long)], dim=1)
    return F.one_hot(ids, K + 2).float(), symbols - 1


class CopyModel(torch.nn.Module):
    def __init__(self, cell, K, hidden):
        super().__init__()
        rnn = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.rnn = rnn(K + 2, hidden, num_layers=1, batch_first=True)
        self.out = torch.nn.Linear(hidden, K)

    def forward(self, x, T):
        h, _ = self.rnn(x)
        return self.out(h[:, T + 1:, :])  # (n, T, K): the copy positions only


def position_ce(logits, targets):
    """Cross-entropy (n, T) at each copy position."""
    n, T, K = logits.shape
    return F.cross_entropy(logits.reshape(n * T, K), targets.reshape(n * T), reduction="none").view(n, T)


def memory_bits(ce, K):
    # bits = sum_j (log K - CE_j) / ln 2, CE_j the mean cross-entropy over sequences at copy position j
    ce_j = ce.mean(dim=0)
    return float(((math.log(K) - ce_j) / math.log(2)).sum())


def evaluate(model, data, T, K):
    x, y = data
    model.eval()
    with torch.no_grad():
        logits = model(x, T)
    model.train()
    ce = position_ce(logits, y)
    acc = (logits.argmax(dim=-1) == y).double().mean()
    return float(ce.mean()), float(acc), memory_bits(ce, K)


def train_epoch(model, opt, args, epoch):
    """One epoch of fresh data; returns the mean training loss, or None if SIGTERM came first."""
    g = generator(args.seed, "train", epoch)
    total = 0.0
    for _ in range(args.updates_per_epoch):
        if STOP["requested"]:
            return None
        x, y = make_batch(args.batch, args.T, args.vocab, g)
        loss = position_ce(model(x, args.T), y).mean()
        opt.zero_grad()
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        total += float(loss)
    return total / args.updates_per_epoch


def finite_only(record):
    return {k: v for k, v in record.items() if not isinstance(v, float) or math.isfinite(v)}


def append_metrics(record):
    path = os.environ.get("COPYSWEEP_METRICS")
    if not path:
        return
    with open(path, "a") as f:
        f.write(json.dumps(finite_only(record)) + "\n")
        f.flush()
        os.fsync(f.fileno())


def config_of(args):
    """The arguments a checkpoint must share with the run that resumes it (all but --epochs)."""
    return {k: v for k, v in vars(args).items() if k != "epochs"}


def save_checkpoint(ckdir, state):
    path = os.path.join(ckdir, CHECKPOINT)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def snapshot(model, opt, args, state):
    return {
        "epoch": state["epoch"],
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "best_state": state["best_state"],
        "best_val_acc": state["best_val_acc"],
        "best_epoch": state["best_epoch"],
        "torch_rng": torch.get_rng_state(),
        "config": config_of(args),
    }


def load_checkpoint(ckdir, model, opt, args, state):
    path = os.path.join(ckdir, CHECKPOINT) if ckdir else None
    if not path or not os.path.exists(path):
        return
    ck = torch.load(path, map_location="cpu")
    if ck["config"] != config_of(args):
        sys.exit(f"torch_copy: {path} was written with other arguments ({ck['config']}); not resuming")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["torch_rng"])
    for key in ("epoch", "best_state", "best_val_acc", "best_epoch"):
        state[key] = ck[key]
    state["saved_epoch"] = ck["epoch"]
    print(f"resumed from {path} after epoch {ck['epoch']}", flush=True)


def record_epoch(ckdir, model, opt, args, state, record):
    """The metrics line and the checkpoint of an epoch, written with SIGTERM blocked."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        append_metrics(record)
        if ckdir:
            save_checkpoint(ckdir, snapshot(model, opt, args, state))
            state["saved_epoch"] = state["epoch"]
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def stop(ckdir, model, opt, args, state, mid_epoch=False):
    """Exit 0 on SIGTERM. Between epochs the weights in memory are those of the last completed epoch,
    saved here unless they are already on disk; within an epoch they are not, and the disk keeps its own."""
    if ckdir and not mid_epoch and state["epoch"] > 0 and state["saved_epoch"] != state["epoch"]:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            save_checkpoint(ckdir, snapshot(model, opt, args, state))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    where = f", checkpoint of epoch {state['epoch']} kept" if ckdir and state["epoch"] > 0 else ""
    print(f"torch_copy: stopped by SIGTERM after epoch {state['epoch']}{where}", file=sys.stderr, flush=True)
    sys.exit(0)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(int(os.environ.get("COPYSWEEP_THREADS", "1")))
    torch.use_deterministic_algorithms(True)
    ckdir = os.environ.get("COPYSWEEP_CHECKPOINT_DIR") or None
    T, K = args.T, args.vocab

    torch.manual_seed(args.seed)
    model = CopyModel(args.cell, K, args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    params = sum(p.numel() for p in model.parameters())
    val = make_batch(args.val_size, T, K, generator(args.seed, "val"))
    test = make_batch(args.test_size, T, K, generator(args.seed, "test"))
    state = {"epoch": 0, "saved_epoch": None, "best_state": None, "best_val_acc": -1.0, "best_epoch": 0}
    load_checkpoint(ckdir, model, opt, args, state)

    while state["epoch"] < args.epochs:
        if STOP["requested"]:
            stop(ckdir, model, opt, args, state)
        start = time.perf_counter()
        epoch = state["epoch"] + 1
        train_loss = train_epoch(model, opt, args, epoch)
        if train_loss is None:
            stop(ckdir, model, opt, args, state, mid_epoch=True)
        val_loss, val_acc, val_bits = evaluate(model, val, T, K)
        state["epoch"] = epoch
        if val_acc > state["best_val_acc"]:
            state["best_val_acc"], state["best_epoch"] = val_acc, epoch
            state["best_state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                  "val_acc": val_acc, "val_bits": val_bits}
        record_epoch(ckdir, model, opt, args, state, record)
        print(f"epoch {epoch}/{args.epochs} train_loss {train_loss:.4f} val_loss {val_loss:.4f} "
              f"val_acc {val_acc:.4f} val_bits {val_bits:.2f} ({time.perf_counter() - start:.2f} s)", flush=True)

    if STOP["requested"]:
        stop(ckdir, model, opt, args, state)
    model.load_state_dict(state["best_state"])
    test_loss, test_acc, test_bits = evaluate(model, test, T, K)
    final = {"test_loss": test_loss, "test_acc": test_acc, "test_bits": test_bits,
             "best_epoch": state["best_epoch"], "best_val_acc": state["best_val_acc"], "params": params}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        append_metrics(final)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    print(f"test (weights of epoch {state['best_epoch']}): loss {test_loss:.4f} acc {test_acc:.4f} "
          f"bits {test_bits:.2f} of {T * math.log2(K):.2f}; {params} parameters", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
