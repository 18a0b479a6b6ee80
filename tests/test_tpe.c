/* The tree-structured Parzen estimator (tpe.h): its split, that every value it returns lies in the
 * key's range (real, log, integer, log-integer, choice), that the same observations and stream give
 * the same value, and that it learns: where the good observations cluster, its values are nearer
 * them than uniform draws are, and a choice that was best is chosen most. A control checks that
 * with the objective reversed its values move to the other side. */
#include <math.h>   /* fabs, log */
#include <stdio.h>  /* printf */

#include "expect.h"
#include "rng.h"
#include "tpe.h"

#define N_OBS 40
#define DRAWS 200

/* Observations of x over the key's range at fixed quantiles, with objective -(g(x) - g(best))²
 * (g: log for a log key), so that the best is near `best`; sign -1 reverses the objective. */
static void observe(const SearchKey *k, double best, double sign, double *xs, double *ys)
{
    const int logk = k->dist == DIST_LOG_UNIFORM;
    for (int i = 0; i < N_OBS; i++) {
        const double u = (i + 0.5) / N_OBS;
        xs[i] = logk ? exp(log(k->lo) + u * (log(k->hi) - log(k->lo))) : k->lo + u * (k->hi - k->lo);
        if (k->integer) xs[i] = floor(xs[i]);
        const double d = logk ? log(xs[i]) - log(best) : xs[i] - best;
        ys[i] = -sign * d * d;
    }
}

/* The mean distance (in the model's space) from `best` of DRAWS suggestions, each from its own stream. */
static double mean_distance(const SearchKey *k, const double *xs, const double *ys, double best, int *in_range)
{
    double sum = 0;
    *in_range = 1;
    for (int s = 0; s < DRAWS; s++) {
        Rng r = rng_stream(RNG_KEY(RNG_TEST, 71, (uint64_t)s));
        const double v = tpe_suggest(k, xs, ys, N_OBS, &r);
        if (!(v >= k->lo && v <= k->hi) || (k->integer && v != floor(v))) *in_range = 0;
        sum += k->dist == DIST_LOG_UNIFORM ? fabs(log(v) - log(best)) : fabs(v - best);
    }
    return sum / DRAWS;
}

static void test_numeric(Dist dist, int integer, double lo, double hi, double best, const char *what)
{
    SearchKey k = {.dist = dist, .lo = lo, .hi = hi, .integer = integer};
    double xs[N_OBS], ys[N_OBS];
    observe(&k, best, 1, xs, ys);
    int in_range;
    const double near = mean_distance(&k, xs, ys, best, &in_range);
    EXPECT(in_range, "%s: a value outside [%g, %g] or not an integer", what, lo, hi);
    /* uniform draws' mean distance from best, in the same space */
    const int logk = dist == DIST_LOG_UNIFORM;
    const double a = logk ? log(lo) : lo, b = logk ? log(hi) : hi, c = logk ? log(best) : best;
    const double uniform = ((c - a) * (c - a) + (b - c) * (b - c)) / (2 * (b - a));
    EXPECT(near < 0.5 * uniform, "%s: mean distance from the best %.4g, uniform draws' %.4g", what, near, uniform);
    observe(&k, best, -1, xs, ys); /* the control: best is now the worst */
    const double far = mean_distance(&k, xs, ys, best, &in_range);
    EXPECT(in_range && far > uniform, "%s reversed: mean distance %.4g, uniform's %.4g", what, far, uniform);
    Rng r1 = rng_stream(RNG_KEY(RNG_TEST, 72)), r2 = rng_stream(RNG_KEY(RNG_TEST, 72));
    const double v1 = tpe_suggest(&k, xs, ys, N_OBS, &r1), v2 = tpe_suggest(&k, xs, ys, N_OBS, &r2);
    EXPECT(v1 == v2, "%s: the same stream gave %.17g and %.17g", what, v1, v2);
}

static void test_choice(void)
{
    char *names[] = {"a", "b", "c", "d"};
    SearchKey k = {.dist = DIST_CHOICE, .n_choices = 4, .choices = names};
    double xs[N_OBS], ys[N_OBS];
    for (int i = 0; i < N_OBS; i++) xs[i] = i % 4, ys[i] = i % 4 == 2 ? 1.0 + i * 1e-3 : -1.0 - i * 1e-3;
    int count[4] = {0};
    for (int s = 0; s < DRAWS; s++) {
        Rng r = rng_stream(RNG_KEY(RNG_TEST, 73, (uint64_t)s));
        const double v = tpe_suggest(&k, xs, ys, N_OBS, &r);
        EXPECT(v == 0 || v == 1 || v == 2 || v == 3, "choice index %g", v);
        if (v >= 0 && v < 4) count[(int)v]++;
    }
    EXPECT(count[2] > DRAWS * 3 / 4, "the best choice 'c' taken %d of %d times (a %d, b %d, d %d)", count[2], DRAWS,
           count[0], count[1], count[3]);
}

int main(void)
{
    EXPECT(tpe_n_good(1) == 1 && tpe_n_good(4) == 1 && tpe_n_good(5) == 2 && tpe_n_good(40) == 10 &&
           tpe_n_good(1000) == 25, "n_good: %d %d %d %d %d", tpe_n_good(1), tpe_n_good(4), tpe_n_good(5),
           tpe_n_good(40), tpe_n_good(1000));
    test_numeric(DIST_UNIFORM, 0, -5, 10, 7.5, "uniform");
    test_numeric(DIST_LOG_UNIFORM, 0, 1e-4, 1e-2, 3e-3, "log-uniform");
    test_numeric(DIST_UNIFORM, 1, 1, 64, 50, "uniform-int");
    test_numeric(DIST_LOG_UNIFORM, 1, 1, 1024, 16, "log-uniform-int");
    test_choice();
    printf("test_tpe: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
