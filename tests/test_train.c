/* Training: every model learns copy at T=5 to ≥ 0.99 test symbol accuracy within a bounded number
 * of updates; and a run with 1, 2 and 3 threads gives bit-identical weights, curves, per-position
 * accuracy and gradient flow. */
#include <math.h>   /* isnan */
#include <stdio.h>  /* printf */
#include <string.h> /* memcmp */

#include "batchmath.h" /* bm_setup_threads */
#include "model.h"     /* Model, model_free */
#include "train.h"     /* train_trial */

static int failures;

static void test_learning(void)
{
    for (int kind = 0; kind < MODEL_COUNT; kind++) {
        Settings s;
        settings_default(&s);
        s.model = kind, s.T = 5, s.hidden = 64, s.lr = 0.01, s.epochs = 30, s.target_acc = 0.995;
        s.train_size = 3200, s.val_size = 512, s.test_size = 1024;
        TrainCtx ctx = {.log = NULL, .threads = bm_setup_threads(0)};
        Model m;
        TrialResult r;
        train_trial(&s, &ctx, &m, &r);
        int updates = r.epochs * (s.train_size / s.batch);
        double acc = metrics_acc(&r.test);
        int ok = acc >= 0.99 && r.status == STATUS_DONE;
        printf("  learn %-5s T=5: test symbol accuracy %.4f after %d updates (%d epochs, %.1f s): %s\n",
               model_names[kind], acc, updates, r.epochs, r.wall_s, ok ? "ok" : "FAIL");
        failures += !ok;
        trial_result_free(&r);
        model_free(&m);
    }
}

static int same_curves(const TrialResult *a, const TrialResult *b)
{
    if (a->epochs != b->epochs || a->best_epoch != b->best_epoch) return 0;
    for (int e = 0; e < a->epochs; e++) {
        CurveRow x = a->curves[e], y = b->curves[e];
        x.wall_s = y.wall_s = 0; /* timings aside */
        if (memcmp(&x, &y, sizeof x) != 0) return 0;
    }
    return memcmp(a->per_position, b->per_position, (size_t)a->N * sizeof *a->per_position) == 0 &&
           memcmp(a->grad_flow, b->grad_flow, (size_t)2 * a->L * sizeof *a->grad_flow) == 0 &&
           memcmp(&a->test, &b->test, sizeof a->test) == 0;
}

static void test_determinism(void)
{
    for (int kind = 0; kind < MODEL_COUNT; kind++) {
        Settings s;
        settings_default(&s);
        s.model = kind, s.T = 12, s.hidden = 24, s.batch = 32, s.chunk = 8, s.epochs = 2;
        s.train_size = 640, s.val_size = 96, s.test_size = 96;
        Model m[3];
        TrialResult r[3];
        for (int k = 0; k < 3; k++) {
            TrainCtx ctx = {.log = NULL, .threads = bm_setup_threads(k + 1)};
            train_trial(&s, &ctx, &m[k], &r[k]);
        }
        int ok = 1;
        for (int k = 1; k < 3; k++)
            ok &= memcmp(m[0].mem, m[k].mem, m[0].n_params * sizeof(real)) == 0 && same_curves(&r[0], &r[k]);
        printf("  determinism %-5s: weights and curves with 1, 2 and 3 threads %s (train loss %.9g)\n",
               model_names[kind], ok ? "bit-identical" : "DIFFER", r[0].curves[r[0].epochs - 1].train_loss);
        failures += !ok;
        for (int k = 0; k < 3; k++) {
            trial_result_free(&r[k]);
            model_free(&m[k]);
        }
    }
    bm_setup_threads(0);
}

int main(void)
{
    test_determinism();
    test_learning();
    printf("training: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
