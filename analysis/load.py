#!/usr/bin/python3
"""Read copysweep results files into pandas DataFrames.

    from load import trials, curves
    df = trials("quick.h5")            # one row per grid point, strings decoded
    c = curves("quick.h5")             # one row per (trial, epoch), with the trial's axes

Every reader checks that the file is a copysweep results file of a supported format version and
raises ResultsError with a one-line reason otherwise. Files of format version 1 and 2 load too; they
lack what version 3 added (the test_bits, temperature and rho_* columns, val_bits in the curves, the
per-position cross-entropy and bits), and has_bits(df) tells which kind a frame came from. Format 5
added the kernel column (the kernel path each trial ran on) and dropped the blas attribute. Format 6
added the train_data setting, the cell and multiplicative columns, load and lag (S symbols held for D
steps), the gate statistics over the hold (hold_<gate>_mean and _sd), and in each eval row the bound
recalibrated at that length (bits_cal, temperature) with its load and lag.

Exec trials (a job with [exec]: each trial runs the user's program) have a /trials of their own:
trial, key, (sample,) the job's own keys as text columns, status, one float64 column per declared
metric, then epoch_rows, exit_code, signal, timed_out, wall_s,
host, rank, message and stderr_tail.
exec_info(path) tells such a file from a built-in one and names its keys and metrics; trials()
gives each key whose values are all numbers as a number (int where all are integers), and curves()
joins the varying keys (and seed) to the curve rows as it joins a built-in file's axes.

While a sweep writes FILE, or after one was killed, the newest records are in its journal,
FILE.ckpt/journal (format 4): every reader here applies them, so it sees each trial as soon as the
sweep recorded it: finished trials, statuses, and the curve rows of running trials (curves() marks
them running). h5py and h5dump alone see FILE as of its last compaction.
Run with /usr/bin/python3 (Debian's h5py, numpy, pandas).
"""
import configparser
import io
import math
import mmap
import os
import re
import struct
import zlib

import h5py
import numpy as np
import pandas as pd

FORMAT = "copysweep-results"
SUPPORTED_VERSIONS = (1, 2, 3, 4, 5, 6)
JOURNAL_VERSION = 4  # the first format with a journal beside the file
BITS_VERSION = 3  # the first format with memory in bits, per-position cross-entropy and ρ
FINAL = ("done", "diverged", "failed", "pruned")
# settings that are not axes of interest even when they vary
NOT_AXES = ("trial", "seed", "sample")
# /trials columns that are settings (the rest are results)
SETTINGS = ("model", "task", "T", "delay", "vocab", "seed", "hidden", "layers", "dropout", "batch", "chunk",
            "optimizer", "lr", "momentum", "clip", "max_epochs", "patience", "target_acc", "train_size", "val_size",
            "test_size", "init_u", "forget_bias", "mult_init", "embed", "chrono", "curriculum", "curriculum_growth", "curriculum_unlock", "eval_T", "text")


# integer settings whose value AUTO stands for "auto" (derived per trial: chrono = auto is T_max = L)
AUTO = -1
AUTO_SETTINGS = ("chrono",)


def order(setting, value):
    """A sort key that puts AUTO after every number."""
    return math.inf if setting in AUTO_SETTINGS and value == AUTO else value


def shown(setting, value):
    """A setting's value as a user wrote it: "auto" for AUTO where the setting has one."""
    return "auto" if setting in AUTO_SETTINGS and value == AUTO else value


class ResultsError(Exception):
    """The file is not a copysweep results file this code can read."""


def _open_base(path):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ResultsError(f"{path}: cannot open as HDF5 ({e})") from None
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != FORMAT or "trials" not in f:
        f.close()
        raise ResultsError(f"{path}: not a copysweep results file (no format = {FORMAT} attribute)")
    version = int(f.attrs.get("format_version", -1))
    if version not in SUPPORTED_VERSIONS:
        f.close()
        raise ResultsError(f"{path}: results format version {version}; this analysis reads version "
                           f"{', '.join(map(str, SUPPORTED_VERSIONS))}")
    return f, version


# journal records (include/journal.h)
RECORD = struct.Struct("<IIQQII")  # magic, type, seq, length, crc, 0
RECORD_MAGIC = 0x524A5343
TRIAL = struct.Struct("<qQii")     # trial, key, status, rank (CURVE: the number of rows)
PROGRESS = struct.Struct("<dddqqq")  # time, elapsed_s, eta_s, finished, total, running
REC_STATUS, REC_FINAL, REC_CURVE, REC_PROGRESS = 1, 2, 3, 4
STATUS_NAMES = ("pending", "running", "done", "diverged", "failed", "pruned")


def journal_records(journal, store_id):
    """([(seq, type, payload)] of the journal's whole records, the curve row dtype); None if there is
    no journal. A record cut short at the end (a writer killed) is left out; a bad one before the end
    raises ResultsError."""
    try:
        fd = os.open(journal, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        data = mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else b""
    finally:
        os.close(fd)
    end = data.find(b"\n\n")
    head = data[:max(end, 0)].decode("ascii", "replace").split("\n")
    if end < 0 or head[0] != "copysweep-journal 1" or len(head) < 3 or not head[1].startswith("store "):
        raise ResultsError(f"{journal}: not a copysweep journal (damaged header)")
    if int(head[1].split()[1], 16) != store_id:
        raise ResultsError(f"{journal}: belongs to another results file")
    fields = dict(f.split(":", 1) for f in head[2].split()[1:])
    size_row = int(fields.pop("size"))
    names, formats, offsets = [], [], []
    for name, spec in fields.items():
        kind, off = spec.split(":")
        names.append(name), formats.append("<i4" if kind == "i4" else "<f8"), offsets.append(int(off))
    row_dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": size_row})
    records, pos = [], end + 2
    while pos + RECORD.size <= len(data):
        magic, kind, seq, length, crc, _ = RECORD.unpack_from(data, pos)
        if magic != RECORD_MAGIC or pos + RECORD.size + length > len(data):
            break  # cut short: the last record, being written
        payload = data[pos + RECORD.size:pos + RECORD.size + length]
        if zlib.crc32(payload, zlib.crc32(data[pos + 4:pos + 24])) != crc:
            if pos + RECORD.size + length == len(data):
                break
            raise ResultsError(f"{journal}: damaged (a bad record at byte {pos})")
        records.append((seq, kind, payload))
        pos += RECORD.size + length
    return records, row_dtype


class Results:
    """A results file with its journal applied: f["trials"][...], f["trial/<n>"], f["runs"], f.attrs,
    as h5py gives them, and running[n]: the curve rows so far of each trial that is not finished."""

    def __init__(self, path):
        for _ in range(5):
            inode = os.stat(path).st_ino if os.path.exists(path) else None
            f, version = _open_base(path)
            journal = None
            if version >= JOURNAL_VERSION:
                journal = journal_records(f"{path}.ckpt/journal", int(_text(f.attrs["store_id"]), 16))
                # the sweep may have compacted the journal into a new file and removed it meanwhile
                if journal is None and os.stat(path).st_ino != inode:
                    f.close()
                    continue
            break
        self.f, self.attrs, self.images, self.running, self.progress = f, f.attrs, {}, {}, None
        self.rows = f["trials"][...]
        if journal:
            self._apply(*journal, int(f.attrs["journal_seq"]))

    def _apply(self, records, row_dtype, applied):
        """Statuses and finished trials from the records the file does not hold yet (seq > applied);
        curve rows and progress, which the file never holds, from all."""
        rows = self.rows
        for seq, kind, payload in records:
            if kind == REC_PROGRESS:
                self.progress = dict(zip(("time", "elapsed_s", "eta_s", "finished", "total", "running"),
                                         PROGRESS.unpack_from(payload)))
                continue
            trial, key, status, rank = TRIAL.unpack_from(payload)
            if not 0 <= trial < len(rows) or rows["key"][trial] != key:
                raise ResultsError(f"{self.f.filename}: its journal names a trial ({trial}) it does not hold")
            if kind == REC_CURVE:
                new = np.frombuffer(payload, dtype=row_dtype, count=rank, offset=TRIAL.size)
                old = self.running.get(trial, new[:0])  # a resumed trial sends its rows again
                self.running[trial] = np.concatenate([old[old["epoch"] < new["epoch"][0]], new])
            elif seq <= applied:
                if kind == REC_FINAL:
                    self.running.pop(trial, None)
            elif kind == REC_STATUS:
                rows["status"][trial] = STATUS_NAMES[status].encode()
                rows["rank"][trial] = rank
            elif kind == REC_FINAL:
                image = h5py.File(io.BytesIO(bytes(payload[TRIAL.size:])), "r")
                row = image["trials"][0]
                for name in rows.dtype.names:
                    rows[name][trial] = row[name]
                self.images[trial] = image
                self.running.pop(trial, None)

    def __getitem__(self, name):
        if name == "trials":
            return _Array(self.rows)
        parts = name.strip("/").split("/")
        if parts[0] == "trial" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) in self.images:
            return self.images[int(parts[1])][name]
        return self.f[name]

    def get(self, name):
        try:
            return self[name]
        except KeyError:
            return None

    def __contains__(self, name):
        return self.get(name) is not None

    def close(self):
        for image in self.images.values():
            image.close()
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Array:
    """What f["trials"] gives: [...] is the table."""

    def __init__(self, rows):
        self.rows = rows

    def __getitem__(self, index):
        return self.rows[index]


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def open_results(path):
    """The file, opened read-only after checking its format and version, with its journal applied
    (a Results; use it as a context manager)."""
    return Results(path)


def _decode(df):
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].str.decode("ascii")
    return df


def trials(path):
    """/trials as a DataFrame: one row per grid point in grid order, strings as str. In an exec file
    (exec_info) every own key whose values all read as numbers is numeric: int where every value is
    an integer literal, else float; a key with an empty value (unset in some grid) stays text."""
    with open_results(path) as f:
        df = _decode(pd.DataFrame(f["trials"][...]))
        info = _exec_layout(f)
    if info:
        for k in info["keys"]:
            df[k] = _numeric(df[k])
    return df


def _numeric(values):
    """A text column as numbers where every value reads as one (int if all are integer literals)."""
    text = values.str.strip()
    if not len(text) or (text == "").any():
        return values
    if text.str.fullmatch(r"[+-]?\d+").all():
        return text.astype(np.int64)
    try:
        return text.astype(float)
    except ValueError:
        return values


EXEC_SECTION = re.compile(r"\s*\[exec\]\s*([;#].*)?$", re.IGNORECASE)


def _exec_layout(f):
    """exec_info of an open file (a Results); None for a built-in file."""
    job = _text(f.attrs.get("job", "")) or ""
    if not any(EXEC_SECTION.match(line) for line in job.splitlines()):
        return None
    dtype = f["trials"][...].dtype
    names = dtype.names
    start = names.index("sample") + 1 if "sample" in names else names.index("key") + 1
    status = names.index("status")
    end = status + 1  # the metrics: the float64 columns after status (epochs, an int, ends them)
    while end < len(names) and dtype[names[end]].kind == "f":
        end += 1
    return dict(keys=list(names[start:status]), metrics=list(names[status + 1:end]), epochs="epoch_rows")


def exec_info(path):
    """For a file of exec trials (its job has [exec]): dict(keys=[the job's own keys, in /trials
    order], metrics=[the declared metrics, the float64 columns after status], epochs=the column of the
    epoch rows each trial recorded, epoch_rows); None for a file of built-in trials."""
    with open_results(path) as f:
        return _exec_layout(f)


def has_bits(df):
    """Whether the /trials frame has the memory-in-bits columns (results format 3 and later)."""
    return "test_bits" in df.columns


def axes(df, settings=SETTINGS):
    """The settings that vary across the file's trials, seed excluded: of SETTINGS in their order,
    or of the given settings (an exec file's own keys, exec_info)."""
    return [c for c in settings if c in df.columns and c not in NOT_AXES and df[c].nunique() > 1]


def constants(df, settings=SETTINGS):
    """The settings (SETTINGS, or an exec file's own keys) that are the same for every trial, as
    {name: value}."""
    return {c: df[c].iloc[0] for c in settings if c in df.columns and df[c].nunique() == 1}


def _with_keys(rows, df, info=None):
    """rows (one per trial and step) with the trial's model, T, seed and other axes; for an exec file
    (info) its varying own keys and seed, where a column of rows of the same name (the curve's lr
    beside a key lr) is renamed curve_<name>."""
    if info is None:
        keys = ["trial", "model", "T", "seed"] + [a for a in axes(df) if a not in ("model", "T")]
        # the curve's lr beside an axis lr: the curve's is curve_lr
        rows = rows.rename(columns={c: f"curve_{c}" for c in rows.columns if c in keys and c in CURVE_COLUMNS})
    else:
        keys = ["trial"] + [k for k in info["keys"] if k == "seed" or k in axes(df, info["keys"])]
        # a key named like a column the rows need keeps key_<name>; any other field named like a key, curve_<name>
        df = df.rename(columns={k: f"key_{k}" for k in keys if k in ("epoch", "running")})
        keys = [f"key_{k}" if k in ("epoch", "running") else k for k in keys]
        rows = rows.rename(columns={c: f"curve_{c}" for c in rows.columns if c in info["keys"] and c != "epoch"})
    return rows.merge(df[keys], on="trial", how="left")


def _stack(parts):
    """One frame of parts, each a dict of columns (arrays of one length, or scalars repeated to it);
    a column that a part lacks is NaN there. Built once: a frame per trial would cost more than the
    reading at 10,000 trials."""
    names = list(dict.fromkeys(c for p in parts for c in p))
    sizes = [max((len(v) for v in p.values() if np.ndim(v)), default=1) for p in parts]
    cols = {}
    for c in names:
        pieces = [np.broadcast_to(np.asarray(p[c]), (n,)) if c in p else np.full(n, np.nan) for p, n in zip(parts, sizes)]
        cols[c] = np.concatenate(pieces)
    return pd.DataFrame(cols)


def _columns(records):
    """A compound dataset's rows as a dict of columns."""
    return {name: records[name] for name in records.dtype.names}


def _per_trial(path, dataset, parts_of, empty_columns):
    """One frame from every trial with a final status that has /trial/<n>/<dataset>: parts_of(k, h5
    dataset) gives that trial's rows as dicts of columns (_stack); the trial's model, T, seed and
    other axes (an exec file: its varying own keys and seed) are joined in."""
    df = trials(path)
    parts = []
    with open_results(path) as f:
        info = _exec_layout(f)
        for k in df.loc[df["status"].isin(FINAL), "trial"]:
            g = f[f"trial/{k}"]
            if dataset in g:
                parts += parts_of(k, g[dataset])
    rows = _stack(parts) if parts else pd.DataFrame(columns=empty_columns)
    rows = rows[["trial"] + [c for c in rows.columns if c != "trial"]]
    return _with_keys(rows, df, info)


# the fields of a curve row (CURVE_FIELDS in include/trial_record.h): the columns of curves() where no trial
# has a row yet; otherwise they come from the file
CURVE_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_bits", "grad_norm", "grad_norm_max",
                 "lr", "wall_s", "train_T", "stage_val_acc"]


def curves(path, running=True):
    """Per-epoch curves: one row per (trial, epoch), with the trial's model, T, seed and other axes,
    of every trial with a final status and (running=True) the rows so far of trials that a sweep runs
    or ran without finishing; the column running tells which. In an exec file the columns are the
    standard fields (NaN where the program reported none) and every other number the program
    reported per epoch (a running trial's rows, from the journal, have the standard fields only),
    with the varying own keys and seed; a field named as an own key is curve_<name> (curve_lr), and a
    key named epoch or running is key_<name>."""
    rows = _per_trial(path, "curves", lambda k, d: [dict(_columns(d[...]), trial=k)], ["trial"] + CURVE_COLUMNS)
    rows["running"] = False
    if not running:
        return rows
    with open_results(path) as f:
        partial = [pd.DataFrame(r).assign(trial=k, running=True) for k, r in sorted(f.running.items())]
        info = _exec_layout(f)
    if not partial:
        return rows
    df = trials(path)
    partial = _with_keys(pd.concat(partial, ignore_index=True), df, info)
    if rows.empty:  # no trial finished yet: the running trials' rows name the curve's columns
        return partial[rows.columns.tolist() + [c for c in partial.columns if c not in rows.columns]]
    return pd.concat([rows, partial[[c for c in rows.columns if c in partial.columns]]], ignore_index=True)


def progress(path):
    """The sweep's last progress record (time, elapsed_s, eta_s, finished, total, running), or None."""
    with open_results(path) as f:
        return f.progress


def per_position(path):
    """The test set at each step of the scored window: one row per (trial, position), positions 1..,
    with acc (accuracy), ce (loss per scored output, nats), bits (the step's part of the trial's
    test bits; they add up to test_bits) and bits_se (its standard error over test sequences). ce,
    bits and bits_se are NaN where the file (format < 3) or the task (charlm: bits) has none."""
    def frames(k, d):
        acc = d[...]
        g = d.parent
        extra = {c: g[name][...] if name in g else np.full(len(acc), np.nan)
                 for c, name in (("ce", "per_position_ce"), ("bits", "per_position_bits"),
                                 ("bits_se", "per_position_bits_se"))}
        return [{"trial": k, "position": np.arange(1, len(acc) + 1), "acc": acc, **extra}]
    return _per_trial(path, "per_position", frames, ["trial", "position", "acc", "ce", "bits", "bits_se"])


def grad_flow(path):
    """‖∂L/∂h_t‖ on the probe batch: one row per (trial, which, t); which is "first" (the initial
    weights, epoch 0) or "last" (after the last epoch)."""
    def frames(k, d):
        flow, epochs = d[...], d.attrs.get("epochs", [0, -1])
        return [{"trial": k, "which": which, "epoch": int(epochs[row]), "t": np.arange(flow.shape[1]), "norm": flow[row]}
                for row, which in enumerate(("first", "last"))]
    return _per_trial(path, "grad_flow", frames, ["trial", "which", "t", "norm"])


def evals(path):
    """The selected models tested at the other lengths of eval-T: one row per (trial, T_eval) with
    loss, acc, seq_acc and sequences, and the trial's model, T, seed and other axes."""
    return _per_trial(path, "eval", lambda k, d: [dict({"T_eval" if c == "T" else c: v for c, v in _columns(d[...]).items()},
                                                      trial=k)],
                      ["trial", "T_eval", "acc"])


def eval_examples(path, trial):
    """{T_eval: (output (N, K), target (N))} of one trial: the first test sequence at each length,
    the model's outputs (probabilities) and targets (-1 where a step is not scored)."""
    with open_results(path) as f:
        g = f.get(f"trial/{trial}/eval_examples")
        if g is None:
            return {}
        return {int(T): (g[T]["output"][...], g[T]["target"][...]) for T in g}


def runs(path):
    """/runs: one row per run of the sweep (start, wall time, ranks, threads, trials, exit status)."""
    with open_results(path) as f:
        if "runs" not in f:
            return pd.DataFrame()
        return _decode(pd.DataFrame(f["runs"][...]))


def search(job_text):
    """The [search] and [halving] sections of a job's text (the file's `job` attribute): dict(keys=[the
    searched settings' columns], ranges={column: the distribution as written}, samples, seed, rungs=[epochs],
    reduction, metric=column of the curves that halving compares); with sampler = tpe also sampler,
    generations, per_generation (samples = their product), objective (the curve's column, or an [exec]
    metric) and maximize; keys is empty for a job without [search]."""
    spec = dict(keys=[], ranges={}, samples=0, seed=1, rungs=[], reduction=3.0, metric="val_bits", sampler="random",
                generations=1, per_generation=0, objective=None, maximize=True)
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",), comment_prefixes=(";", "#"))
    try:
        cp.read_string(job_text)
    except configparser.Error:
        return spec
    if cp.has_section("search"):
        for k, v in cp.items("search"):
            if k == "samples":
                spec["samples"] = int(v)
            elif k == "sampler-seed":
                spec["seed"] = int(v)
            elif k == "sampler":
                spec["sampler"] = v.strip()
            elif k in ("generations", "per-generation"):
                spec[k.replace("-", "_")] = int(v)
            elif k == "metric":
                spec["objective"] = v.strip()
            elif k == "direction":
                spec["maximize"] = v.strip() == "maximize"
            else:
                col = "max_epochs" if k == "epochs" else k.replace("-", "_")
                spec["keys"].append(col)
                spec["ranges"][col] = v.strip()
    if spec["sampler"] == "tpe":
        spec["samples"] = spec["generations"] * spec["per_generation"]
        column = (spec["objective"] or "").replace("-", "_")
        if column in ("val_bits", "val_acc", "val_loss", "test_bits", "test_acc", "test_loss", "best_val_acc") \
                and not cp.has_section("exec"):
            if not cp.has_option("search", "direction"):
                spec["maximize"] = column not in ("val_loss", "test_loss")
            spec["objective"] = column
    if cp.has_section("halving"):
        h = dict(cp.items("halving"))
        spec["rungs"] = [int(x) for x in h.get("rungs", "").split(",") if x.strip()]
        spec["reduction"] = float(h.get("reduction", 3))
        spec["metric"] = h.get("metric", "val-bits").replace("-", "_")
    return spec


def attributes(path):
    """The root attributes (version, job text, command, created, ...)."""
    with open_results(path) as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
