#!/usr/bin/python3
"""analysis/stats.py against worked examples computed by hand (the arithmetic is in the comments)."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from stats import fano_ceiling, geo_mean_se, holm, interval, mean_se, paired, t975, t_p_value  # noqa: E402


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
    # the paired t-test's p-value: at the 97.5 % quantiles the two-sided p is 0.05; t = 1 with 1 df is
    # Cauchy's P(|T| ≥ 1) = 1/2; the worked example's t = (7/6)/0.202759 = 5.75393 with 2 df:
    # p = 1 − t/√(t² + 2) = 0.028901 (Student's t with 2 df has that closed form)
    for t, df in ((12.706205, 1), (4.302653, 2), (2.776445, 4), (2.042272, 30)):
        assert close(t_p_value(t, df), 0.05, 1e-5), (t, df, t_p_value(t, df))
    assert close(t_p_value(1.0, 1), 0.5) and t_p_value(0.0, 5) == 1.0
    t = (7 / 6) / 0.2027588
    assert close(p["p"], 1 - t / math.sqrt(t * t + 2), 1e-4), p["p"]
    # Holm on 0.01, 0.04, 0.03, 0.005: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03,
    # 0.06, 0.04, running maxima 0.02, 0.03, 0.06, 0.06: at 0.05 the first two are separated; a NaN
    # does not count in the family (K = 4 still)
    adj = holm([0.01, 0.04, math.nan, 0.03, 0.005])
    want = [0.03, 0.06, math.nan, 0.06, 0.02]
    assert all(close(a, w) or (math.isnan(a) and math.isnan(w)) for a, w in zip(adj, want)), adj
    assert holm([0.5, 0.9]) == [1.0, 1.0] and holm([]) == []
    # Fano's ceiling: K = 2 is h(P) ≥ 1 − b, so b = 1 − h(0.9) gives P = 0.9; K = 8 at P = 1/2:
    # h = 1, (1 − P)·log2 7 = 1.403677, b = 3 − 2.403677 = 0.596323 gives P = 0.5; 0 bits give
    # chance, log2 K bits certainty, a negative bound chance
    h9 = -(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1))
    assert close(fano_ceiling(1 - h9, 2), 0.9) and close(fano_ceiling(3 - 1 - 0.5 * math.log2(7), 8), 0.5)
    assert fano_ceiling(0, 8) == 0.125 and fano_ceiling(3, 8) == 1.0 and fano_ceiling(-0.2, 8) == 0.125
    print("check_stats: paired t-interval [0.294266, 2.039067] and p 0.0289 of the worked example, Holm's "
          "adjusted p of 4 comparisons, Fano's ceiling at K = 2 and 8, geometric mean 1e-6 of 1e-3 and 1e-9, "
          "t quantiles to 2e-5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
