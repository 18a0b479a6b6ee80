/* log, exp and cos(2πu) by range reduction and Taylor series in plain IEEE double arithmetic (every
 * operation correctly rounded, no fused multiply-add: the same bits on every CPU). */
#include "detmath.h"

#include <math.h> /* frexp, ldexp, floor: exact */

/* ln 2 split so that n·LN2_HI is exact for |n| < 2^20 (its low 21 bits are 0) */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

/* Σ_k c[k]·y^k by Horner, k = n−1 .. 0 */
static double series(const double *c, int n, double y)
{
    double p = c[n - 1];
    for (int k = n - 2; k >= 0; k--) p = p * y + c[k];
    return p;
}

double dm_log(double x)
{
    /* x = m·2^e with m in [√½, √2) */
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) m *= 2, e--;
    /* ln m = 2·atanh(f) = 2f·(1 + f²/3 + f⁴/5 + ...), f = (m − 1)/(m + 1), |f| ≤ 0.172: 11 terms */
    static const double c[] = {1.0, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21};
    const double f = (m - 1) / (m + 1);
    return e * LN2_HI + (e * LN2_LO + 2 * f * series(c, 11, f * f));
}

double dm_exp(double x)
{
    /* x = n·ln 2 + r, |r| ≤ ln 2 / 2;  e^x = 2^n·e^r, e^r by 14 terms of its series */
    static const double c[] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                               1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800};
    const double n = floor(x * 1.44269504088896340736 + 0.5);
    const double r = (x - n * LN2_HI) - n * LN2_LO;
    return ldexp(series(c, 14, r), (int)n);
}

double dm_cos2pi(double u)
{
    /* cos 2πu = cos 2π(1 − u) = −cos 2π(½ − u) = sin 2π(¼ − u): down to an angle w in [0, π/4] */
    static const double cs[] = {1.0, -1.0 / 2, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600,
                                -1.0 / 87178291200, 1.0 / 20922789888000, -1.0 / 6402373705728000};
    static const double sn[] = {1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800,
                                1.0 / 6227020800, -1.0 / 1307674368000, 1.0 / 355687428096000,
                                -1.0 / 121645100408832000};
    double v = u - floor(u), sign = 1;
    if (v > 0.5) v = 1 - v;
    if (v > 0.25) v = 0.5 - v, sign = -1;
    if (v > 0.125) { /* sin w, w = 2π(¼ − v) */
        const double w = 6.28318530717958647693 * (0.25 - v);
        return sign * w * series(sn, 10, w * w);
    }
    const double w = 6.28318530717958647693 * v;
    return sign * series(cs, 10, w * w);
}
