#!/usr/bin/python3
"""analysis/stats.py against worked examples computed by hand (the arithmetic is in the comments)."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from stats import geo_mean_se, interval, mean_se, paired, t975  # noqa: E402


def close(a, b, tol=1e-5):
    return abs(a - b) <= tol * max(1, abs(b))


def main():
    # paired: a − b = 1.2, 0.8, 1.5; mean 7/6 = 1.166667; deviations 1/30, −11/30, 10/30, so
    # sd² = (1 + 121 + 100)/900 / 2 = 0.123333, sd = 0.351188, SE = sd/√3 = 0.202759;
    # t(0.975, 2) = 4.302653: half-width 0.872401, interval [0.294266, 2.039067], separated
    p = paired([3.2, 2.8, 3.5, math.nan], [2.0, 2.0, 2.0, 1.0])
    assert p["n"] == 3 and close(p["mean"], 7 / 6) and p["separated"], p
    assert close(p["lo"], 0.294266) and close(p["hi"], 2.039067), p
    # not separated: differences 1, −1, 0.5 (mean 1/6, interval includes 0)
    q = paired([1, -1, 0.5], [0, 0, 0])
    assert not q["separated"] and q["lo"] < 0 < q["hi"], q
    # one seed: no interval
    assert math.isnan(paired([1.0], [0.0])["lo"])
    # mean and SE: 1, 2, 6: mean 3, sd² = (4 + 1 + 9)/2 = 7, SE = √(7/3) = 1.527525
    m, se, n = mean_se([1, 2, 6, math.inf])
    assert (m, n) == (3, 3) and close(se, 1.527525), (m, se, n)
    # geometric: 1e-3 and 1e-9 → 10^mean(−3, −9) = 1e-6; SE of log10 = sd/√2 = (6/√2)/√2 = 3
    g, gse, gn = geo_mean_se([1e-3, 1e-9, 0.0])
    assert close(g, 1e-6, 1e-9) and close(gse, 3) and gn == 2, (g, gse, gn)
    # the t quantiles: the table, and the expansion beyond it (t(0.975, 31) = 2.039513,
    # t(0.975, 40) = 2.021075, t(0.975, 100) = 1.983972)
    assert close(t975(2), 4.302653) and close(t975(30), 2.042272)
    for df, want in ((31, 2.039513), (40, 2.021075), (100, 1.983972)):
        assert close(t975(df), want, 2e-5), (df, t975(df), want)
    m, lo, hi, n = interval([1, 2, 6])  # 3 ± 4.302653·1.527525
    assert close(lo, 3 - 6.572412) and close(hi, 3 + 6.572412), (lo, hi)
    print("check_stats: paired t-interval [0.294266, 2.039067] of the worked example, geometric mean 1e-6 of "
          "1e-3 and 1e-9, t quantiles to 2e-5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
