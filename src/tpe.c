/* The tree-structured Parzen estimator (tpe.h). */
#include "tpe.h"

#include <math.h>   /* floor, ceil, INFINITY, isinf */
#include <stdlib.h> /* qsort, free */

#include "check.h"   /* CS_ALLOC */
#include "detmath.h" /* dm_log, dm_exp */

#define MAX_OBS 100000 /* samples of one group at most (jobfile.c) */

typedef struct {
    double a, b;       /* the range in the model's space */
    int n;             /* components: the observations, then the prior */
    double *mu, *sigma, *logw, *logz; /* (n) */
} Parzen;

int tpe_n_good(int n)
{
    const int g = (int)ceil(0.25 * n);
    return g < 1 ? 1 : g > 25 ? 25 : g;
}

/* Φ(x), the standard normal's distribution function (Abramowitz and Stegun 26.2.17, |error| < 7.5e-8). */
static double phi_cdf(double x)
{
    const double ax = fabs(x), t = 1.0 / (1.0 + 0.2316419 * ax);
    const double poly = t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
    const double tail = ax > 37 ? 0 : 0.3989422804014327 * dm_exp(-0.5 * ax * ax) * poly;
    return x >= 0 ? 1.0 - tail : tail;
}

typedef struct {
    double v;
    int prior;
} Point;

static int cmp_point(const void *x, const void *y)
{
    const Point *a = x, *b = y;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return a->prior - b->prior;
}

/* The estimator of points z[0..m) in [a, b] with the prior: each point's bandwidth the larger gap to
 * a neighbour (the prior's centre among them; the range's end past the last), clipped to
 * [(b − a) / min(100, m + 1), b − a]; the prior N((a + b) / 2, b − a); all of weight 1. */
static void parzen_fit(Parzen *p, const double *z, int m, double a, double b)
{
    p->a = a, p->b = b, p->n = m + 1;
    p->mu = CS_ALLOC(4 * (size_t)p->n * sizeof *p->mu);
    p->sigma = p->mu + p->n, p->logw = p->sigma + p->n, p->logz = p->logw + p->n;
    Point *s = CS_ALLOC((size_t)p->n * sizeof *s);
    for (int i = 0; i < m; i++) s[i] = (Point){.v = z[i]};
    s[m] = (Point){.v = 0.5 * (a + b), .prior = 1};
    qsort(s, (size_t)p->n, sizeof *s, cmp_point);
    const double range = b - a, lo = range / (m + 1 < 100 ? m + 1 : 100);
    for (int i = 0; i < p->n; i++) {
        const double left = s[i].v - (i ? s[i - 1].v : a), right = (i + 1 < p->n ? s[i + 1].v : b) - s[i].v;
        const double sg = s[i].prior ? range : left > right ? left : right;
        p->mu[i] = s[i].v, p->sigma[i] = sg < lo ? lo : sg > range ? range : sg;
        p->logw[i] = -dm_log((double)p->n);
        const double zc = phi_cdf((b - p->mu[i]) / p->sigma[i]) - phi_cdf((a - p->mu[i]) / p->sigma[i]);
        p->logz[i] = dm_log(zc > 1e-300 ? zc : 1e-300);
    }
    free(s);
}

static void parzen_free(Parzen *p) { free(p->mu); }

/* log of the mixture's density at x (the constant log √(2π) left out: it cancels in l/g). */
static double parzen_logpdf(const Parzen *p, double x)
{
    double best = -INFINITY, sum = 0;
    for (int i = 0; i < p->n; i++) {
        const double u = (x - p->mu[i]) / p->sigma[i];
        const double v = p->logw[i] - 0.5 * u * u - dm_log(p->sigma[i]) - p->logz[i];
        if (v > best) best = v;
    }
    for (int i = 0; i < p->n; i++) {
        const double u = (x - p->mu[i]) / p->sigma[i];
        const double d = p->logw[i] - 0.5 * u * u - dm_log(p->sigma[i]) - p->logz[i] - best;
        sum += dm_exp(d < -700 ? -700 : d);
    }
    return best + dm_log(sum);
}

/* A draw from the mixture truncated to [a, b]: a component by weight, then its Gaussian until it
 * falls in the range (after 64 misses, uniform over the range). */
static double parzen_draw(const Parzen *p, Rng *r)
{
    const double u = rng_uniform(r);
    int j = (int)(u * p->n);
    if (j >= p->n) j = p->n - 1;
    for (int tries = 0; tries < 64; tries++) {
        const double x = p->mu[j] + p->sigma[j] * rng_normal(r);
        if (x >= p->a && x <= p->b) return x;
    }
    return p->a + rng_uniform(r) * (p->b - p->a);
}

/* The order of the observations, best first (ties: the earlier first). */
typedef struct {
    double y;
    int i;
} Ranked;

static int cmp_ranked(const void *x, const void *y)
{
    const Ranked *a = x, *b = y;
    if (a->y != b->y) return a->y > b->y ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* The observations split: good[0..g) and bad[0..n - g), as indices into xs, where g is tpe_n_good(n)
 * but no more than the observations better than -INFINITY (at least 1): a worst one (a trial without
 * a value, or the liar of a sample drawn in the same generation) is good only if all are. Returns g. */
static int split(const double *ys, int n, int *good, int *bad)
{
    Ranked *r = CS_ALLOC((size_t)n * sizeof *r);
    int finite = 0;
    for (int i = 0; i < n; i++) r[i] = (Ranked){.y = ys[i], .i = i}, finite += ys[i] > -INFINITY;
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    int g = tpe_n_good(n);
    g = g > finite ? (finite ? finite : 1) : g;
    for (int i = 0; i < n; i++) *(i < g ? &good[i] : &bad[i - g]) = r[i].i;
    free(r);
    return g;
}

/* A choice: p(c) = (count(c) + 1/K) / (m + 1) on each side; of the candidates drawn from l, the
 * largest log l − log g. */
static double suggest_choice(const SearchKey *k, const double *xs, const int *good, int ng, const int *bad, int nb, Rng *r)
{
    const int K = k->n_choices;
    double *pl = CS_CALLOC(2 * (size_t)K * sizeof *pl), *pg = pl + K;
    for (int c = 0; c < K; c++) pl[c] = pg[c] = 1.0 / K;
    for (int i = 0; i < ng; i++) pl[(int)xs[good[i]]] += 1;
    for (int i = 0; i < nb; i++) pg[(int)xs[bad[i]]] += 1;
    int best = 0;
    double best_score = -INFINITY;
    for (int c = 0; c < TPE_CANDIDATES; c++) {
        double u = rng_uniform(r) * (ng + 1), acc = 0;
        int pick = K - 1;
        for (int j = 0; j < K; j++)
            if (u < (acc += pl[j])) {
                pick = j;
                break;
            }
        const double score = dm_log(pl[pick] / (ng + 1)) - dm_log(pg[pick] / (nb + 1));
        if (score > best_score) best_score = score, best = pick;
    }
    free(pl);
    return best;
}

/* A value in the key's units into the model's space, and back. */
static double to_model(const SearchKey *k, double x)
{
    if (k->dist == DIST_LOG_UNIFORM) return dm_log(k->integer ? x + 0.5 : x);
    return x;
}

static double from_model(const SearchKey *k, double z)
{
    double x = k->dist == DIST_LOG_UNIFORM ? dm_exp(z) : z;
    if (k->integer) x = k->dist == DIST_LOG_UNIFORM ? floor(x) : floor(x + 0.5);
    return x < k->lo ? k->lo : x > k->hi ? k->hi : x;
}

double tpe_suggest(const SearchKey *k, const double *xs, const double *ys, int n, Rng *r)
{
    if (n < 1 || n > MAX_OBS) CS_FAIL("tpe_suggest: %d observations", n);
    int *good = CS_ALLOC(2 * (size_t)n * sizeof *good), *bad = good + n;
    const int ng = split(ys, n, good, bad), nb = n - ng;
    if (k->dist == DIST_CHOICE) {
        const double c = suggest_choice(k, xs, good, ng, bad, nb, r);
        free(good);
        return c;
    }
    /* the range in the model's space: integers own the half-units around them */
    double a, b;
    if (k->dist == DIST_LOG_UNIFORM) a = dm_log(k->lo), b = dm_log(k->integer ? k->hi + 1 : k->hi);
    else a = k->integer ? k->lo - 0.5 : k->lo, b = k->integer ? k->hi + 0.5 : k->hi;
    double *z = CS_ALLOC((size_t)n * sizeof *z);
    for (int i = 0; i < n; i++) {
        const double v = to_model(k, xs[i < ng ? good[i] : bad[i - ng]]);
        z[i] = v < a ? a : v > b ? b : v;
    }
    Parzen l, g;
    parzen_fit(&l, z, ng, a, b);
    parzen_fit(&g, z + ng, nb, a, b);
    double best = l.mu[0], best_score = -INFINITY;
    for (int c = 0; c < TPE_CANDIDATES; c++) {
        const double x = parzen_draw(&l, r);
        const double score = parzen_logpdf(&l, x) - parzen_logpdf(&g, x);
        if (score > best_score) best_score = score, best = x;
    }
    parzen_free(&l), parzen_free(&g);
    free(z), free(good);
    return from_model(k, best);
}
