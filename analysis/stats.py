"""Statistics of the report (SPEC "Statistics"): mean ± standard error over seeds, geometric means for
quantities read on a log scale, and paired differences with a 95 % t-interval.

    from stats import mean_se, geo_mean_se, paired
    mean_se([0.1, 0.2, 0.4])            # (mean, SE, n), SE = sample standard deviation / √n
    geo_mean_se([1e-3, 1e-9])           # (10^mean log10, SE of the mean log10, n)
    paired([3.1, 2.0, 2.6], [1.0, 1.5, 0.2])   # per-seed differences, mean, interval, separated
"""
import math

import numpy as np

# t_{0.975, df}, the two-sided 95 % quantile of Student's t for df = 1..30
T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
        2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
        2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)


def t975(df):
    """The 97.5 % quantile of Student's t with df degrees of freedom (exact to 6 digits up to 30, then
    the Cornish-Fisher expansion around the normal quantile, within 1e-5)."""
    if df < 1:
        return math.nan
    if df <= len(T975):
        return T975[df - 1]
    z = 1.959964
    return (z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3))


def finite(values):
    return np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)


def mean_se(values):
    """(mean, standard error, n) of the finite values; SE = sample standard deviation / √n."""
    v = finite(values)
    n = len(v)
    if n == 0:
        return math.nan, math.nan, 0
    se = v.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    return float(v.mean()), se, n


def geo_mean_se(values):
    """(geometric mean, SE of the mean of log10, n) of the positive finite values: the mean of a
    quantity read on a log scale. The geometric mean times/divided by 10^SE is the ±1 SE range."""
    v = finite(values)
    v = v[v > 0]
    if len(v) == 0:
        return math.nan, math.nan, 0
    m, se, n = mean_se(np.log10(v))
    return 10 ** m, se, n


def interval(values):
    """(mean, lower, upper, n): the 95 % t-interval of the mean of the finite values (df = n − 1)."""
    m, se, n = mean_se(values)
    if n < 2:
        return m, math.nan, math.nan, n
    h = t975(n - 1) * se
    return m, m - h, m + h, n


def paired(a, b):
    """The paired comparison of a and b (one value per seed, same seed order; seeds where either is
    missing are left out): dict with the per-seed differences a − b, their mean, the 95 % t-interval
    (df = n − 1), n, and separated = the interval excludes 0."""
    d = [x - y for x, y in zip(a, b) if np.isfinite(x) and np.isfinite(y)]
    m, lo, hi, n = interval(d)
    return dict(diffs=d, mean=m, lo=lo, hi=hi, n=n, separated=bool(n >= 2 and (lo > 0 or hi < 0)))
