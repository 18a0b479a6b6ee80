/* Finite-difference check of every parameter gradient of the four models, in double.
 * Case 1: dense random inputs (every entry of W_m gets a gradient), one chunk: the dense path.
 * Case 2: copy-task inputs through model_batch with the batch cut into two chunks: the one-hot
 * path (symbol ids, only m_t[s] computed) and the chunked reduction.
 * Central differences with a 4-point stencil (error O(h⁴)); fails if any relative error
 * |a − n| / max(|a|, |n|, 1e-6) exceeds 1e-6. */
#include <math.h>   /* fabs */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* free */
#include <string.h> /* memset */

#include "batchmath.h" /* bm_setup_threads */
#include "model.h"     /* Model, Workspace, model_* */
#include "rng.h"       /* Rng */
#include "task.h"      /* Dataset */

#define TOL 1e-6
#define STEP 1e-3
#define FLOOR 1e-6 /* below this, finite differences carry ~1e-13 of rounding noise: compare absolutely */

typedef struct {
    Model *m;
    Workspace *w;
    int dense;          /* case 1 */
    const Dataset *d;   /* case 2 */
    int B;
} Case;

/* mean cross-entropy over the scored steps; with grad, also the analytic gradient */
static double loss(const Case *c, real *grad)
{
    Metrics met = {0};
    if (c->dense) {
        Acts *a = &c->w->acts[0];
        model_prepare(c->m, c->w);
        model_forward(c->m, a, c->B);
        model_score(c->m, a, c->B, &met);
        if (grad) {
            model_backward(c->m, a, c->B, (real)(1.0 / met.symbols));
            memcpy(grad, a->grad, c->m->n_params * sizeof *grad);
        }
    } else {
        int idx[64];
        for (int i = 0; i < c->B; i++) idx[i] = i;
        model_batch(c->m, c->w, c->d, idx, c->B, &met, NULL, grad, NULL);
    }
    return met.loss / (double)met.symbols;
}

static double check_case(const Case *c, const char *label)
{
    Model *m = c->m;
    real *grad = malloc(m->n_params * sizeof *grad);
    loss(c, grad);
    Tensor t[MODEL_MAX_TENSORS];
    int nt = model_tensors(m, t);
    double worst = 0;
    char where[160] = "";
    printf("  %-6s %-5s", model_names[m->kind], label);
    for (int k = 0; k < nt; k++) {
        size_t n = (size_t)t[k].rows * (t[k].cols ? t[k].cols : 1);
        double tensor_worst = 0;
        for (size_t i = t[k].offset; i < t[k].offset + n; i++) {
            real keep = m->mem[i];
            double f[4];
            const double offs[4] = {-2, -1, 1, 2};
            for (int s = 0; s < 4; s++) {
                m->mem[i] = keep + (real)(offs[s] * STEP);
                f[s] = loss(c, NULL);
            }
            m->mem[i] = keep;
            /* f'(x) ≈ (8(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h */
            double num = (8 * (f[2] - f[1]) - (f[3] - f[0])) / (12 * STEP);
            double a = grad[i], den = fmax(fmax(fabs(a), fabs(num)), FLOOR);
            double rel = fabs(a - num) / den;
            if (rel > tensor_worst) tensor_worst = rel;
            if (rel > worst) {
                worst = rel;
                snprintf(where, sizeof where, "%s[%zu]: analytic %.10e, numeric %.10e", t[k].name,
                         i - t[k].offset, a, num);
            }
        }
        printf(" %s %.1e", t[k].name, tensor_worst);
    }
    printf("\n         max relative error %.2e over %zu parameters, at %s: %s\n", worst, m->n_params,
           where, worst < TOL ? "ok" : "FAIL");
    free(grad);
    return worst;
}

int main(void)
{
    bm_setup_threads(1);
    const int B = 3, H = 5;
    Settings s;
    settings_default(&s);
    s.T = 4, s.vocab = 8, s.hidden = H, s.batch = B, s.seed = 7;
    s.forget_bias = 0.5, s.mult_init = 0.3; /* larger than the defaults: every path carries signal */
    TaskShape sh = task_shape(&s);
    Dataset d;
    dataset_init(&d, &sh, s.seed, SPLIT_TRAIN, B);
    int failures = 0;
    printf("gradient check (double, B=%d, T=%d, L=%d, I=%d, H=%d, K=%d): worst relative error per tensor\n",
           B, s.T, sh.L, sh.I, H, sh.K);
    for (int kind = 0; kind < MODEL_COUNT; kind++) {
        s.model = kind;
        Model m;
        model_init(&m, kind, &sh, H);
        model_init_weights(&m, &s);
        /* biases and W_y off their initial constants, so no gradient is trivially symmetric */
        Rng r = rng_stream(RNG_KEY(RNG_TEST, (uint64_t)kind));
        for (size_t i = 0; i < m.n_params; i++) m.mem[i] += (real)(0.2 * (rng_uniform(&r) - 0.5));

        Workspace w1;
        TaskShape dense = sh;
        dense.one_hot = 0; /* inputs as vectors, so that every entry of W_m and W gets a gradient */
        workspace_init(&w1, &m, &dense, B, B, NULL);
        Acts *a = &w1.acts[0];
        for (size_t i = 0; i < (size_t)sh.L * B * sh.I; i++) a->x[i] = (real)(rng_normal(&r) * 0.8);
        for (size_t i = 0; i < (size_t)sh.n_out * B; i++) a->y[i] = (uint8_t)rng_below(&r, (uint32_t)sh.K);
        Case dense_case = {.m = &m, .w = &w1, .dense = 1, .B = B};
        failures += check_case(&dense_case, "dense") >= TOL;

        Workspace w2;
        workspace_init(&w2, &m, &sh, B, 2, NULL); /* chunks of 2 and 1 */
        Case copy = {.m = &m, .w = &w2, .dense = 0, .d = &d, .B = B};
        failures += check_case(&copy, "copy") >= TOL;

        workspace_free(&w1);
        workspace_free(&w2);
        model_free(&m);
    }
    dataset_free(&d);
    printf("gradient check: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
