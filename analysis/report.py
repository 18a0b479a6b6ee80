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

Usage: analysis/report.py RESULTS.h5 [-o report/]

Trials count when their status is done or diverged (both have test metrics of their selected
weights); pending, running and failed trials are shown as missing, never averaged away. Exit
status: 0, or 2 with one line on stderr if the file is not a copysweep results file or the Python
running it lacks h5py, numpy, pandas or matplotlib.

The report is made of sections, each one function in analysis/report_sections/ that receives the
loaded file (report_data.ReportData) and the document (report_doc.Doc) and adds its headings, text,
tables and figures, or nothing where the file does not need it; SECTIONS lists them in the report's
order.
"""
import argparse
import os
import sys

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
from report_sections import answer, dynamics, factors, figures, search_setup, tables, tasks  # noqa: E402

# the report's sections in order: a section is one function f(data, doc) and one line here
SECTIONS = [
    ("title", answer.title),
    ("summary", answer.answer),
    ("overview", answer.overview),
    ("search", search_setup.search),
    ("bits against T", answer.headline),
    ("bits", tables.bits_table),
    ("lag and load", dynamics.lag_load),
    ("bits by position", figures.position_bits),
    ("convergence", tables.convergence),
    ("decay", dynamics.decay),
    ("decay pairs", dynamics.decay_pairs),
    ("gates", dynamics.gates),
    ("paired differences", tables.paired_differences),
    ("final metrics", tables.final_tables),
    ("curves", figures.curve_figures),
    ("accuracy by position", figures.position_figures),
    ("gradient flow", figures.flow_figures),
    ("stability", figures.stability),
    ("updates", figures.update_figures),
    ("generalization", factors.generalization),
    ("ntm images", tasks.ntm_images),
    ("perplexity", tasks.perplexity),
    ("capacity", factors.capacity),
    ("ablation", factors.ablation),
    ("factors", factors.factors),
    ("cost", search_setup.cost),
    ("setup", search_setup.setup),
]


def write(data):
    """Every section of the file in data, written to its folder as index.md, index.html and summary.csv
    beside the figures."""
    os.makedirs(data.outdir, exist_ok=True)
    d = Doc()
    for _, section in SECTIONS:
        section(data, d)
    with open(os.path.join(data.outdir, "index.md"), "w") as f:
        f.write(d.markdown())
    with open(os.path.join(data.outdir, "index.html"), "w") as f:
        f.write(d.html(f"copysweep report: {os.path.basename(data.path)}"))
    pd.DataFrame(data.summary).to_csv(os.path.join(data.outdir, "summary.csv"), index=False)


def main():
    p = argparse.ArgumentParser(description="Tables and figures of a copysweep results file.")
    p.add_argument("results")
    p.add_argument("-o", "--output", default="report", help="folder for index.md, index.html and the figures")
    a = p.parse_args()
    try:
        data = ReportData(a.results, a.output)
        write(data)
    except load.ResultsError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    missing = int((~data.df["status"].isin(COUNTED)).sum())
    print(f"report: wrote {os.path.join(a.output, 'index.md')}, index.html and {len(data.figures)} figures for "
          f"{len(data.df)} trials" + (f" ({missing} missing)" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
