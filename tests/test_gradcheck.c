/* Finite-difference check of every parameter gradient of every registered model, in double.
 * Case 1: dense random inputs (every entry of W_m gets a gradient), one chunk: the dense path.
 * Then every task's own inputs through model_batch with the batch cut into two chunks: the one-hot
 * path (symbol ids, only m_t[s] computed) and the chunked reduction (copy, copy-delay), steps
 * without a target and sequences of several lengths in one batch (temporal-order), dense inputs
 * with sigmoid outputs and binary cross-entropy (ntm-copy); and stacks of two and three layers,
 * with and without dropout (its masks are fixed by their key, so the loss is a function of θ).
 * Central differences with a 4-point stencil (error O(h⁴)); fails if any relative error
 * |a − n| / max(|a|, |n|, 1e-5) exceeds 1e-6, or is NaN. Two negative controls (one analytic element
 * off by 1e-4, one NaN) must fail it. */
#include <math.h>   /* fabs */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* free */
#include <string.h> /* memset, strcmp */
#include <unistd.h> /* getpid */

#include "settings_table.h" /* settings_default */
#include "model_kinds.h"     /* model_kinds, model_find */
#include "fixtures.h"  /* fill_random_dense */
#include "batchmath.h" /* bm_setup_threads */
#include "model.h"     /* Model, Workspace, model_* */
#include "rng.h"       /* Rng */
#include "task.h"      /* Dataset */
#include "task_kinds.h"     /* task_find, task_kinds */

#define TOL 1e-6
#define STEP 1e-3
#define FLOOR 1e-5 /* below this, finite differences carry ~1e-12 of rounding noise (a loss of ~4.5 nats with
                    * K = 97): compare absolutely */

typedef struct {
    Model *m;
    Workspace *w;
    int dense;          /* case 1 */
    const Dataset *d;   /* the task cases */
    int B;
    uint64_t drop_key;  /* dropout masks of model_batch; 0: none */
    int tamper;         /* negative controls: 1 adds 1e-4 to one analytic gradient element, 2 makes it NaN */
} Case;

/* mean loss over the scored outputs; with grad, also the analytic gradient */
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
        const Batch b = task_batch(c->d, idx, c->B);
        model_batch(c->m, c->w, &b, c->drop_key, &met, NULL, grad, NULL);
    }
    return met.loss / (double)met.symbols;
}

static double check_case(const Case *c, const char *label)
{
    Model *m = c->m;
    real *grad = malloc(m->n_params * sizeof *grad);
    loss(c, grad);
    if (c->tamper) grad[m->n_params / 2] = c->tamper == 1 ? grad[m->n_params / 2] + (real)1e-4 : (real)NAN;
    Tensor t[MODEL_MAX_TENSORS];
    int nt = model_tensors(m, t);
    double worst = 0;
    char where[160] = "";
    printf("  %-6s %-14s", model_kinds[m->kind].name, label);
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
            if (isnan(rel)) rel = INFINITY; /* a NaN on either side fails, it is never "not worse" */
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
           where, worst < TOL ? "ok" : c->tamper ? "fails, as a negative control must" : "FAIL");
    free(grad);
    return worst;
}

/* Model kind with weights off their initial constants, so no gradient is trivially symmetric. */
int main(void)
{
    bm_setup_threads(1);
    const int B = 3, H = 5;
    Settings s;
    settings_default(&s);
    s.T = 4, s.vocab = 8, s.hidden = H, s.batch = B, s.seed = 7;
    s.forget_bias = 0.5, s.mult_init = 0.3; /* larger than the defaults: every path carries signal */
    int failures = 0;
    printf("gradient check (double, B=%d, H=%d): worst relative error per tensor\n", B, H);

    /* dense random inputs: every entry of W_m and W gets a gradient */
    TaskShape dense = task_shape(&s);
    dense.one_hot = 0;
    for (int kind = 0; kind < model_count; kind++) {
        Model m;
        make_model(&m, kind, &dense, &s, (uint64_t)kind);
        Workspace w;
        workspace_init(&w, &m, &dense, B, B, 0, NULL);
        fill_random_dense(&w, &dense, B, 1000 + (uint64_t)kind, 0.8);
        Case c = {.m = &m, .w = &w, .dense = 1, .B = B};
        failures += check_case(&c, "dense") >= TOL;
        workspace_free(&w);
        model_free(&m);
    }

    /* each task's own batches: (task, T) small enough for finite differences; charlm reads a text
     * written here, whose lines (and so sequence lengths) differ */
    char text[64];
    snprintf(text, sizeof text, "/tmp/copysweep-gradcheck-%d.txt", (int)getpid());
    FILE *f = fopen(text, "w");
    fputs("to be or\nnot to be,\nthat is\nthe question\nwhether tis\nnobler in the mind\nto suffer\n", f);
    for (int i = 0; i < 60; i++) fprintf(f, "line %d of %d\n", i * 7 % 13, i);
    fclose(f);
    const struct { const char *task; int T; } tasks[] = {
        {"copy", 4}, {"copy-delay", 3}, {"temporal-order", 10}, {"ntm-copy", 3}, {"charlm", 6}};
    for (size_t k = 0; k < sizeof tasks / sizeof tasks[0]; k++) {
        s.task = task_find(tasks[k].task), s.T = tasks[k].T;
        s.chrono = !strcmp(task_kinds[s.task].name, "copy-delay") ? 30 : 0; /* chrono biases in one case */
        snprintf(s.text, sizeof s.text, "%s", !strcmp(task_kinds[s.task].name, "charlm") ? text : "none");
        TaskShape sh = task_shape(&s);
        Dataset d;
        dataset_init(&d, &sh, s.seed, SPLIT_TRAIN, B, NULL, 0);
        printf(" %s: T=%d L=%d I=%d K=%d, %lld targets\n", task_kinds[s.task].name, s.T, sh.L, sh.I, sh.K,
               (long long)task_count_targets(&d, (int[]){0, 1, 2}, B));
        for (int kind = 0; kind < model_count; kind++) {
            Model m;
            make_model(&m, kind, &sh, &s, (uint64_t)kind);
            Workspace w;
            workspace_init(&w, &m, &sh, B, 2, 0, NULL); /* chunks of 2 and 1 */
            Case c = {.m = &m, .w = &w, .dense = 0, .d = &d, .B = B};
            failures += check_case(&c, task_kinds[s.task].name) >= TOL;
            workspace_free(&w);
            model_free(&m);
        }
        dataset_free(&d);
    }

    /* stacks: one-hot input under 3 layers, dense input under 2, each with and without dropout */
    const struct { const char *task; int T, layers; } stacks[] = {{"copy", 3, 3}, {"ntm-copy", 2, 2}};
    for (size_t k = 0; k < sizeof stacks / sizeof stacks[0]; k++) {
        s.task = task_find(stacks[k].task), s.T = stacks[k].T, s.layers = stacks[k].layers;
        TaskShape sh = task_shape(&s);
        Dataset d;
        dataset_init(&d, &sh, s.seed, SPLIT_TRAIN, B, NULL, 0);
        printf(" %s, %d layers: T=%d L=%d\n", task_kinds[s.task].name, s.layers, s.T, sh.L);
        for (int kind = 0; kind < model_count; kind++)
            for (int drop = 0; drop < 2; drop++) {
                Model m;
                make_model(&m, kind, &sh, &s, (uint64_t)kind);
                Workspace w;
                workspace_init(&w, &m, &sh, B, 2, drop ? 0.3 : 0, NULL);
                Case c = {.m = &m, .w = &w, .d = &d, .B = B, .drop_key = drop ? 12345 : 0};
                char label[32];
                snprintf(label, sizeof label, "%d layers%s", s.layers, drop ? " drop" : "");
                failures += check_case(&c, label) >= TOL;
                workspace_free(&w);
                model_free(&m);
            }
        dataset_free(&d);
    }
    s.layers = 1, s.chrono = 0;

    /* an embedding of the input symbols (x_t = E[s_t]): copy with one layer; temporal-order under 2
     * layers with dropout and chrono = auto */
    const struct { const char *task; int T, layers, embed; double drop; } embeds[] = {{"copy", 4, 1, 3, 0},
                                                                           {"temporal-order", 10, 2, 4, 0.3}};
    for (size_t k = 0; k < sizeof embeds / sizeof embeds[0]; k++) {
        s.task = task_find(embeds[k].task), s.T = embeds[k].T, s.layers = embeds[k].layers, s.embed = embeds[k].embed;
        s.chrono = embeds[k].drop > 0 ? SETTINGS_AUTO : 0;
        TaskShape sh = task_shape(&s);
        Dataset d;
        dataset_init(&d, &sh, s.seed, SPLIT_TRAIN, B, NULL, 0);
        printf(" %s, embed %d, %d layers: T=%d L=%d\n", task_kinds[s.task].name, s.embed, s.layers, s.T, sh.L);
        for (int kind = 0; kind < model_count; kind++) {
            Model m;
            make_model(&m, kind, &sh, &s, (uint64_t)kind);
            Workspace w;
            workspace_init(&w, &m, &sh, B, 2, embeds[k].drop, NULL);
            Case c = {.m = &m, .w = &w, .d = &d, .B = B, .drop_key = embeds[k].drop > 0 ? 777 : 0};
            char label[32];
            snprintf(label, sizeof label, "embed %d", s.embed);
            failures += check_case(&c, label) >= TOL;
            workspace_free(&w);
            model_free(&m);
        }
        dataset_free(&d);
    }
    s.layers = 1, s.chrono = 0, s.embed = 0;
    remove(text);

    /* negative controls: a gradient off by 1e-4 in one element, and one NaN, must each fail the check */
    for (int tamper = 1; tamper <= 2; tamper++) {
        Model m;
        make_model(&m, model_find("lstm"), &dense, &s, 99);
        Workspace w;
        workspace_init(&w, &m, &dense, B, B, 0, NULL);
        fill_random_dense(&w, &dense, B, 1099, 0.8);
        Case c = {.m = &m, .w = &w, .dense = 1, .B = B, .tamper = tamper};
        const double worst = check_case(&c, tamper == 1 ? "control: off" : "control: NaN");
        const int caught = worst >= TOL;
        printf("  negative control (%s): %s\n", tamper == 1 ? "one element off by 1e-4" : "one element NaN",
               caught ? "caught, as it must be" : "NOT caught");
        failures += !caught;
        workspace_free(&w);
        model_free(&m);
    }
    printf("gradient check: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
