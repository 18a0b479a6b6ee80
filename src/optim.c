/* Adam, SGD with momentum, global-norm clipping. */
#include "optim.h"

#include <math.h>   /* sqrt, isfinite */
#include <stdlib.h> /* free */
#include <string.h> /* memset */

#include "batchmath.h" /* bm_sumsq, bm_sqrt, BM_PATHS */
#include "check.h"     /* CS_CALLOC */

void optim_init(Optimizer *o, const Settings *s, size_t n)
{
    memset(o, 0, sizeof *o);
    o->kind = s->optimizer;
    o->lr = s->lr;
    o->momentum = s->momentum;
    o->beta1 = 0.9, o->beta2 = 0.999, o->eps = 1e-8; /* the defaults of Kingma & Ba (2015) */
    o->n = n;
    o->m = CS_CALLOC(n * sizeof *o->m);
    if (o->kind == OPT_ADAM) o->v = CS_CALLOC(n * sizeof *o->v);
}

void optim_free(Optimizer *o)
{
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* x^n by repeated squaring: a fixed sequence of multiplications, the same bits on every CPU (libm's
 * pow is chosen by the CPU) */
static double power(double x, long n)
{
    double r = 1;
    for (; n > 0; n >>= 1, x *= x)
        if (n & 1) r *= x;
    return r;
}

/* Parameters per block of the update: threads split over blocks, each block updated by the kernel
 * path's copy of a loop (the update is elementwise: the same bits however it is split). */
#define UPDATE_BLOCK 4096

/* v ← μ v + g;  θ ← θ − lr v */
BM_BODY void sgd_block_body(real *params, real *m, const real *grad, size_t n, real mu, real lr)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        m[k] = mu * m[k] + grad[k];
        params[k] -= lr * m[k];
    }
}
BM_PATHS(static, sgd_block, (real *params, real *m, const real *grad, size_t n, real mu, real lr),
         (params, m, grad, n, mu, lr))

/* m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ − lr m̂ / (√v̂ + ε), the bias corrections in
 * step and eps_hat */
BM_BODY void adam_block_body(real *params, real *m, real *v, const real *grad, size_t n, real b1, real b2,
                             real step, real eps_hat)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        const real g = grad[k];
        m[k] = b1 * m[k] + (1 - b1) * g;
        v[k] = b2 * v[k] + (1 - b2) * g * g;
        params[k] -= step * m[k] / (bm_sqrt(v[k]) + eps_hat);
    }
}
BM_PATHS(static, adam_block,
         (real *params, real *m, real *v, const real *grad, size_t n, real b1, real b2, real step, real eps_hat),
         (params, m, v, grad, n, b1, b2, step, eps_hat))

void optim_step(Optimizer *o, real *params, const real *grad)
{
    o->step++;
    const size_t n = o->n, blocks = (n + UPDATE_BLOCK - 1) / UPDATE_BLOCK;
    if (o->kind == OPT_SGD) {
        const real mu = (real)o->momentum, lr = (real)o->lr;
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < blocks; c++) {
            const size_t k = c * UPDATE_BLOCK, len = n - k < UPDATE_BLOCK ? n - k : UPDATE_BLOCK;
            sgd_block(params + k, o->m + k, grad + k, len, mu, lr);
        }
        return;
    }
    const real b1 = (real)o->beta1, b2 = (real)o->beta2;
    /* bias corrections 1 − β^t, folded into the step size and ε */
    const double c1 = 1 - power(o->beta1, o->step), c2 = 1 - power(o->beta2, o->step);
    const real step = (real)(o->lr * sqrt(c2) / c1), eps_hat = (real)(o->eps * sqrt(c2));
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < blocks; c++) {
        const size_t k = c * UPDATE_BLOCK, len = n - k < UPDATE_BLOCK ? n - k : UPDATE_BLOCK;
        adam_block(params + k, o->m + k, o->v + k, grad + k, len, b1, b2, step, eps_hat);
    }
}

double optim_clip(real *grad, size_t n, double max_norm)
{
    double norm = sqrt(bm_sumsq(grad, n));
    if (max_norm > 0 && norm > max_norm && isfinite(norm)) {
        const real s = (real)(max_norm / norm);
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < n; k++) grad[k] *= s;
    }
    return norm;
}
