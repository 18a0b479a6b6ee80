#!/usr/bin/python3
"""A tiny program for the tests of exec trials (standard library only): it trains nothing, but it
speaks the protocol of include/exec.h. Every epoch appends a row to
$COPYSWEEP_METRICS and saves its epoch to $COPYSWEEP_CHECKPOINT_DIR/state.json; it resumes from that
file; on SIGTERM it saves and exits. Its values depend only on its arguments and the epoch, so that
an interrupted and resumed run ends equal to one that ran through.

Usage: exec_prog.py [--mode MODE] [--epochs N] [--lr X] [--sleep S] [--echo FILE] [ARGS ...]
MODE: ok (default), fail, crash, hang, garbage, big, missing, wrongtype, nofinal
"""
import json
import os
import signal
import sys
import time


def main(argv):
    opts = {"--mode": "ok", "--epochs": "3", "--lr": "0.1", "--sleep": "0.02", "--echo": ""}
    rest, i = [], 0
    while i < len(argv):
        if argv[i] in opts and i + 1 < len(argv):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if opts["--echo"]:  # the argv exactly as received, and the environment's COPYSWEEP_ keys
        with open(opts["--echo"], "w") as f:
            json.dump({"argv": argv, "env": {k: v for k, v in os.environ.items() if k.startswith("COPYSWEEP_")}}, f)
    mode, epochs, lr, pause = opts["--mode"], int(opts["--epochs"]), float(opts["--lr"]), float(opts["--sleep"])
    metrics, ckdir = os.environ["COPYSWEEP_METRICS"], os.environ.get("COPYSWEEP_CHECKPOINT_DIR", "")
    state = os.path.join(ckdir, "state.json") if ckdir else ""
    start = json.load(open(state))["epoch"] if state and os.path.exists(state) else 0
    done = {"epoch": start}

    def save():
        if state:
            with open(state + ".tmp", "w") as f:
                json.dump(done, f)
            os.replace(state + ".tmp", state)

    def stop(signum, frame):
        save()
        print(f"stopped by signal {signum} after epoch {done['epoch']}", file=sys.stderr, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    out = open(metrics, "a")

    def emit(record):
        out.write(json.dumps(record) + "\n")
        out.flush()

    print(f"exec_prog: mode {mode}, epochs {start + 1}..{epochs}, lr {lr}, other args {rest}", flush=True)
    for e in range(start + 1, epochs + 1):
        time.sleep(pause)
        loss = round(lr / e, 6)
        if mode == "garbage" and e == 2:
            out.write("this is not JSON\n")
            out.flush()
        if mode == "big" and e == 2:
            out.write('{"epoch": 2, "pad": "' + "x" * (1 << 20) + '"}\n')
            out.flush()
        # the row and the checkpoint of an epoch go together: SIGTERM waits until both are written
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        if mode == "wrongtype" and e == 2:
            emit({"epoch": e, "val_loss": "high"})
        else:
            emit({"epoch": e, "val_loss": loss, "val_acc": round(1 - loss, 6)})
        done["epoch"] = e
        save()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        if mode == "hang":
            time.sleep(3600)
    if mode == "fail":
        print("exec_prog: something went wrong\nexec_prog: giving up", file=sys.stderr)
        return 3
    if mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "nofinal":
        return 0
    final = {"val_loss": round(lr / epochs, 6), "test_acc": round(1 - lr / epochs, 6)}
    if mode == "missing":
        del final["test_acc"]
    emit(final)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
