#!/usr/bin/python3
"""The report of a copysweep results file. It opens with the answer: a summary generated from the
numbers (the models ranked by memory in bits at each length, which paired differences are separated,
which cells carry nothing, and the budget), bits against T, the bits table with each model's
capacity, per-position bits, convergence in updates, the gradient's decay per step ρ and the paired
differences between models; then the accuracy tables (mean ± standard error over seeds), curves,
per-position accuracy, gradient flow, stability, and where the sweep holds them, loss against
updates (copy-delay), length generalization (eval-T), ntm-copy outputs as images, perplexity, the
aids; then the set-up. Statistics follow docs/method.md "Statistics" and "Multiple comparisons": paired
comparisons with 95 % t-intervals and p-values, "separated" only after Holm's correction over each
named family (on the recalibrated bound where a cell reads at or below 0 raw, and never between two
cells that carry nothing), geometric means for quantities read on a log scale; beside the accuracy
the ceiling Fano's inequality sets from the bits carried. Written as report/index.md and
report/index.html with PNG figures beside them, and the summary table as report/summary.csv.

Usage: analysis/report.py RESULTS.h5 [-o report/] [--pareto A:max,B:min] [--watch [--every S]]

--watch rebuilds the report while a sweep writes RESULTS.h5 (from its journal, as load.py reads it),
at most every S seconds (default 10) and only when the file or its journal changed; its pages
reload themselves, say how many trials are final and running, and draw the running trials' curves
so far. It stops, after a last build without the reloading, when no sweep holds the file's lock
(or on Ctrl-C).

Trials count when their status is done or diverged (both have test metrics of their selected
weights); pending, running and failed trials are shown as missing, never averaged away. Exit
status: 0, or 2 with one line on stderr if the file is not a copysweep results file or the Python
running it lacks h5py, numpy, pandas or matplotlib.

The report is made of sections, each one function in analysis/report_sections/ that receives the
loaded file (report_data.ReportData) and the document (report_doc.Doc) and adds its headings, text,
tables and figures, or nothing where the file does not need it; SECTIONS lists them in the report's
order, each with the files it is for.

A file of exec trials (a job with [exec]: every trial ran the user's program; load.exec_info) has
none of the built-in columns: its report is the search (if any), the declared metrics by the keys
that vary (mean ± SE over seeds, with failed and pruned counts), paired differences along each key,
the per-epoch curves the program reported, the failed trials and the set-up.
"""
import argparse
import os
import sys
import time

try:
    import h5py  # noqa: F401 (load needs it; checked here to say so in one line)
    import matplotlib
    import numpy as np  # noqa: F401 (the sections need it)
    import pandas as pd
except ImportError as e:
    print(f"report: {sys.executable} has no module {e.name!r}: run with a Python 3 that has h5py, numpy, "
          "pandas and matplotlib (Debian: /usr/bin/python3; or a venv made with --system-site-packages)",
          file=sys.stderr)
    sys.exit(2)

matplotlib.use("Agg")  # before any section imports matplotlib.pyplot

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
from report_data import COUNTED, ReportData  # noqa: E402
from report_doc import Doc  # noqa: E402
import report_explore  # noqa: E402
from report_sections import answer, dynamics, factors, figures, pareto, search_setup, tables, tasks  # noqa: E402
from report_sections import exec_trials as exec_sections  # noqa: E402

# which files a section is for: the built-in sections read the built-in columns (model, T, bits, ...)
# that a file of exec trials (a job with [exec]) lacks; the exec sections read its own keys and metrics
def built_in(data):
    return not data.exec


def exec_trials(data):
    return bool(data.exec)


def every_file(data):
    return True


# the report's sections in order: a section is one function f(data, doc), one line here, and which
# files it is for (a predicate of the ReportData)
SECTIONS = [
    ("title", answer.title, every_file),
    ("summary", answer.answer, built_in),
    ("overview", answer.overview, built_in),
    ("exec overview", exec_sections.overview, exec_trials),
    ("search", search_setup.search, every_file),
    ("exec metrics", exec_sections.metrics, exec_trials),
    ("exec paired differences", exec_sections.paired_differences, exec_trials),
    ("exec curves", exec_sections.curves, exec_trials),
    ("exec failed trials", exec_sections.failed, exec_trials),
    ("bits against T", answer.headline, built_in),
    ("bits", tables.bits_table, built_in),
    ("lag and load", dynamics.lag_load, built_in),
    ("bits by position", figures.position_bits, built_in),
    ("convergence", tables.convergence, built_in),
    ("decay", dynamics.decay, built_in),
    ("decay pairs", dynamics.decay_pairs, built_in),
    ("gates", dynamics.gates, built_in),
    ("paired differences", tables.paired_differences, built_in),
    ("final metrics", tables.final_tables, built_in),
    ("curves", figures.curve_figures, built_in),
    ("accuracy by position", figures.position_figures, built_in),
    ("gradient flow", figures.flow_figures, built_in),
    ("stability", figures.stability, built_in),
    ("updates", figures.update_figures, built_in),
    ("generalization", factors.generalization, built_in),
    ("ntm images", tasks.ntm_images, built_in),
    ("perplexity", tasks.perplexity, built_in),
    ("capacity", factors.capacity, built_in),
    ("ablation", factors.ablation, built_in),
    ("factors", factors.factors, built_in),
    ("cost", search_setup.cost, built_in),
    ("pareto front", pareto.pareto, every_file),
    ("setup", search_setup.setup, built_in),
    ("exec setup", exec_sections.setup, exec_trials),
]


def write(data):
    """Every section of the file in data, written to its folder as index.md, index.html and summary.csv
    beside the figures."""
    os.makedirs(data.outdir, exist_ok=True)
    d = Doc()
    for _, section, applies in SECTIONS:
        if applies(data):
            section(data, d)
    page = report_explore.write(data)
    d.p(f"Interactive figures (hover, zoom, models toggled): [{page}]({page})." if page else
        "No interactive page: its figures need python3-plotly.")
    report_explore.write_atomic(os.path.join(data.outdir, "index.md"), d.markdown())
    report_explore.write_atomic(os.path.join(data.outdir, "index.html"),
                                d.html(f"copysweep report: {os.path.basename(data.path)}", report_explore.refresh(data),
                                       report_explore.live_banner(data)))
    pd.DataFrame(data.summary).to_csv(os.path.join(data.outdir, "summary.csv"), index=False)


def parse_pareto(text):
    """--pareto A:max,B:min -> [(A, True), (B, False)]; ValueError with what was expected."""
    parts = [x.strip() for x in text.split(",")]
    if len(parts) != 2 or any(x.count(":") != 1 or x.split(":")[1] not in ("max", "min") for x in parts):
        raise ValueError(f"--pareto '{text}': expected two columns with their directions, A:max,B:min")
    return [(x.split(":")[0], x.split(":")[1] == "max") for x in parts]


def build(a, watch):
    """One report of the file; returns (data, seconds it took)."""
    start = time.monotonic()
    data = ReportData(a.results, a.output)
    data.pareto, data.watch, data.built = a.pareto, watch, time.strftime("%H:%M:%S")
    write(data)
    return data, time.monotonic() - start


def sweep_running(path):
    """Whether a sweep holds the file's lock (PATH.ckpt/lock, flock'ed while it writes): /proc/locks lists
    it, so that asking never takes the lock a starting sweep needs."""
    try:
        inode = os.stat(f"{path}.ckpt/lock").st_ino
        with open("/proc/locks") as f:
            return any(line.split()[1] == "FLOCK" and line.split()[5].endswith(f":{inode}") for line in f
                       if len(line.split()) > 5)
    except OSError:
        return False


def stamp(path):
    """What changes when a sweep records something: the file's and its journal's sizes and times."""
    out = []
    for p in (path, f"{path}.ckpt/journal"):
        try:
            st = os.stat(p)
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return out


def watch(a):
    """Rebuild while a sweep writes the file (at most every a.every seconds, and only after a change);
    then once more without the reloading."""
    seen = None
    try:
        while True:
            running = sweep_running(a.results)
            now = stamp(a.results)
            if now != seen:
                seen = now
                data, took = build(a, a.every if running else 0)
                print(f"report: {time.strftime('%H:%M:%S')} rebuilt in {took:.1f} s: "
                      f"{int(data.everything['status'].isin(COUNTED).sum())} of {len(data.everything)} trials counted, "
                      f"{int((data.everything['status'] == 'running').sum())} running", flush=True)
            if not running:
                break
            time.sleep(a.every)
    except KeyboardInterrupt:
        pass
    data, _ = build(a, 0)
    return data


def main():
    p = argparse.ArgumentParser(description="Tables and figures of a copysweep results file.")
    p.add_argument("results")
    p.add_argument("-o", "--output", default="report", help="folder for index.md, index.html and the figures")
    p.add_argument("--pareto", help="the Pareto front of two /trials columns, e.g. test_bits:max,wall_s:min")
    p.add_argument("--watch", action="store_true", help="rebuild while a sweep writes the file; pages reload themselves")
    p.add_argument("--every", type=float, default=10, help="with --watch: at most one build per this many seconds")
    a = p.parse_args()
    try:
        a.pareto = parse_pareto(a.pareto) if a.pareto else None
        if a.every <= 0:
            raise ValueError(f"--every {a.every:g}: expected seconds > 0")
    except ValueError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    try:
        data = watch(a) if a.watch else build(a, 0)[0]
    except load.ResultsError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    missing = int((~data.df["status"].isin(COUNTED)).sum())
    print(f"report: wrote {os.path.join(a.output, 'index.md')}, index.html and {len(data.figures)} figures for "
          f"{len(data.df)} trials" + (f" ({missing} missing)" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
