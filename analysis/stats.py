"""Statistics of the report (docs/method.md "Statistics", "Multiple comparisons", "Memory against lag and load"):
mean ± standard error over seeds, geometric means for quantities read on a log scale, paired
differences with a 95 % t-interval and the paired t-test's p-value, Holm's step-down correction over
a family of comparisons, and the accuracy Fano's inequality allows a model that carries given bits.

    from stats import mean_se, geo_mean_se, paired, holm, fano_ceiling
    mean_se([0.1, 0.2, 0.4])            # (mean, SE, n), SE = sample standard deviation / √n
    geo_mean_se([1e-3, 1e-9])           # (10^mean log10, SE of the mean log10, n)
    paired([3.1, 2.0, 2.6], [1.0, 1.5, 0.2])   # per-seed differences, mean, interval, p, separated
    holm([0.01, 0.04, 0.03, 0.005])     # Holm-adjusted p-values: [0.03, 0.06, 0.06, 0.02]
    fano_ceiling(0.5, 8)                # the highest mean accuracy at 0.5 bits per symbol of 3
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


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1, by its continued
    fraction (modified Lentz), on the side of x where it converges fast."""
    if x <= 0 or x >= 1:
        return float(x >= 1)
    if x > (a + 1) / (a + b + 2):
        return 1 - betainc(b, a, 1 - x)
    front = math.exp(a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)) / a
    tiny, f, c, d = 1e-300, 1.0, 1.0, 0.0
    for i in range(1000):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:  # d_{2m} = m (b − m) x / ((a + 2m − 1)(a + 2m))
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:  # d_{2m+1} = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1 + num * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + num / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return front * (f - 1)


def t_p_value(t, df):
    """The two-sided p-value of Student's t with df degrees of freedom: P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, ½)."""
    if df < 1 or not np.isfinite(t):
        return math.nan if not np.isinf(t) else 0.0
    return betainc(df / 2, 0.5, df / (df + t * t))


def paired(a, b):
    """The paired comparison of a and b (one value per seed, same seed order; seeds where either is
    missing are left out): dict with the per-seed differences a − b, their mean, the 95 % t-interval
    (df = n − 1), n, the two-sided p-value of the paired t-test (NaN with fewer than 2 seeds), and
    separated = the interval excludes 0 (uncorrected: holm() corrects a family of them)."""
    d = [x - y for x, y in zip(a, b) if np.isfinite(x) and np.isfinite(y)]
    m, lo, hi, n = interval(d)
    p = math.nan
    if n >= 2:
        se = np.std(d, ddof=1) / math.sqrt(n)
        p = t_p_value(m / se, n - 1) if se > 0 else float(m == 0)
    return dict(diffs=d, mean=m, lo=lo, hi=hi, n=n, p=p, separated=bool(n >= 2 and (lo > 0 or hi < 0)))


ALPHA = 0.05


def holm(ps):
    """Holm's step-down adjusted p-values of a family of comparisons (NaN stays NaN and does not count
    in the family): with the K p-values sorted, p_(i) becomes max_{j ≤ i} min(1, (K − j + 1)·p_(j)); a
    comparison is separated at level ALPHA when its adjusted value is below ALPHA. Controls the chance
    of any false separation in the family at ALPHA."""
    order = sorted((i for i, p in enumerate(ps) if np.isfinite(p)), key=lambda i: ps[i])
    adjusted, running = [math.nan] * len(ps), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def binary_entropy(p):
    return 0.0 if p <= 0 or p >= 1 else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def fano_ceiling(bits_per_symbol, K):
    """The highest mean symbol accuracy P of K equally likely symbols that carrying bits_per_symbol
    (B/T) allows, by Fano's inequality h(P) + (1 − P)·log2(K − 1) ≥ log2 K − B/T (docs/method.md "Memory against
    lag and load"): 1/K at 0 bits, 1 at log2 K. The left side falls from log2 K at P = 1/K to 0 at 1:
    bisection."""
    if math.isnan(bits_per_symbol):
        return math.nan
    need = math.log2(K) - bits_per_symbol
    if need >= math.log2(K):  # no memory (or a miscalibrated bound below 0): chance
        return 1 / K
    if need <= 0:
        return 1.0
    lo, hi = 1 / K, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if binary_entropy(mid) + (1 - mid) * math.log2(K - 1) >= need:
            lo = mid
        else:
            hi = mid
    return lo
