/* The tree-structured Parzen estimator (Bergstra et al. 2011, "Algorithms for hyper-parameter
 * optimization"), univariate as in Optuna's and hyperopt's defaults: the observations of one group are split by
 * their objective into the best γ(n) = min(⌈0.25·n⌉, 25) (γ = 0.25 as in the paper; never one of
 * the worst, -INFINITY, unless all are), "good", and the rest, "bad";
 * each side is a Parzen estimator over the key's range (a truncated Gaussian at each observation,
 * with the adaptive bandwidths of hyperopt, plus a prior over the whole range of weight 1); of 24
 * candidates drawn from the good side's density l, the one with the largest l(x)/g(x) is taken.
 * A log-uniform key is modelled in log space; an integer key is rounded after drawing; a choice is a
 * categorical of counts plus the prior. The arithmetic is libm-free (detmath.h), so that the same
 * observations and stream give the same value on every machine. */
#ifndef CS_TPE_H
#define CS_TPE_H

#include "jobgrid.h" /* SearchKey */
#include "rng.h"     /* Rng */

#define TPE_CANDIDATES 24

/* The next value of searched key k from n ≥ 1 observations: xs[i] in the key's units (a choice's
 * index for a choice), ys[i] its objective oriented so that larger is better (-INFINITY: worst).
 * Returns a value in the key's units (a choice's index for a choice), within its range. */
double tpe_suggest(const SearchKey *k, const double *xs, const double *ys, int n, Rng *r);
/* The number of good observations among n: min(⌈0.25·n⌉, 25), at least 1. */
int tpe_n_good(int n);

#endif
