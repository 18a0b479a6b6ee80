/* log, exp and cos(2πu) in double from +, −, ×, ÷ and exact scalings alone, so that what reaches the
 * weights (the initial weights' normal draws, chrono's biases) and the search's samples does not
 * depend on the libm a CPU or an OS picks: libm's versions are chosen by the CPU (glibc has FMA
 * builds of them) and are not correctly rounded, so they can differ in the last bit between
 * machines. These agree with libm to within a few units in the last place (tested). */
#ifndef CS_DETMATH_H
#define CS_DETMATH_H

/* ln x for finite x > 0 */
double dm_log(double x);
/* e^x for |x| ≤ 700 */
double dm_exp(double x);
/* cos(2π·u) for u in [0, 1) */
double dm_cos2pi(double u);

#endif
