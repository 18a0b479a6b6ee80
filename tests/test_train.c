/* Training: every model learns copy at T=5 to ≥ 0.99 test symbol accuracy within a bounded number
 * of updates; a run with 1, 2 and 3 threads gives bit-identical weights, curves, per-position
 * accuracy and gradient flow, also with stacked layers and dropout; a trial stopped and resumed from
 * its checkpoint (mid-epoch, at an epoch boundary, several times; with dropout too) ends
 * bit-identical to one that ran straight through; a damaged or foreign checkpoint fails the trial
 * with a message; the curriculum over T grows as its schedule says, unlocks only at its threshold,
 * and resumes mid-schedule bit-identical too. */
#include <math.h>   /* isnan */
#include <stdio.h>  /* printf */
#include <stdio.h>  /* remove, fopen */
#include <string.h> /* memcmp, strstr */
#include <unistd.h> /* getpid */

#include "settings_table.h" /* settings_default */
#include "model_kinds.h"     /* model_kinds, model_find */
#include "batchmath.h" /* bm_setup_threads */
#include "model.h"     /* Model, model_free */
#include "train.h"     /* train_trial */

static int failures;

static void test_learning(void)
{
    for (int kind = 0; kind < model_count; kind++) {
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
               model_kinds[kind].name, acc, updates, r.epochs, r.wall_s, ok ? "ok" : "FAIL");
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

/* train-data: fresh and fixed train on the same sequences in epoch 1 (draw 0 of the training split),
 * so one epoch gives identical results; over three epochs fresh trains on new sequences and ends
 * elsewhere. */
static void test_fresh_data(void)
{
    TrialResult r[2][2];
    for (int fixed = 0; fixed < 2; fixed++)
        for (int three = 0; three < 2; three++) {
            Settings s;
            settings_default(&s);
            s.model = model_find("gru"), s.T = 8, s.hidden = 16, s.epochs = three ? 3 : 1, s.patience = 0;
            s.train_size = 256, s.val_size = 64, s.test_size = 64, s.train_data = fixed ? DATA_FIXED : DATA_FRESH;
            TrainCtx ctx = {.log = NULL, .threads = bm_setup_threads(0)};
            Model m;
            train_trial(&s, &ctx, &m, &r[fixed][three]);
            model_free(&m);
        }
    const int one = same_curves(&r[0][0], &r[1][0]), three = same_curves(&r[0][1], &r[1][1]);
    printf("  fresh and fixed training data: identical after 1 epoch (%s), different after 3 (%s)\n", one ? "yes" : "no",
           three ? "no" : "yes");
    failures += !one || three;
    for (int i = 0; i < 4; i++) trial_result_free(&r[i / 2][i % 2]);
}

static void test_determinism(void)
{
    for (int run = 0; run < 3 * model_count; run++) {
        const int kind = run % model_count, stacked = run / model_count == 1, embed = run / model_count == 2;
        Settings s;
        settings_default(&s);
        s.model = kind, s.T = 12, s.hidden = 24, s.batch = 32, s.chunk = 8, s.epochs = 2;
        s.train_size = 640, s.val_size = 96, s.test_size = 96;
        if (stacked) s.layers = 2, s.dropout = 0.3;
        if (embed) s.embed = 6, s.chrono = SETTINGS_AUTO;
        Model m[3];
        TrialResult r[3];
        for (int k = 0; k < 3; k++) {
            TrainCtx ctx = {.log = NULL, .threads = bm_setup_threads(k + 1)};
            train_trial(&s, &ctx, &m[k], &r[k]);
        }
        int ok = 1;
        for (int k = 1; k < 3; k++)
            ok &= memcmp(m[0].mem, m[k].mem, m[0].n_params * sizeof(real)) == 0 && same_curves(&r[0], &r[k]);
        printf("  determinism %-5s%s: weights and curves with 1, 2 and 3 threads %s (train loss %.9g)\n",
               model_kinds[kind].name, stacked ? " (2 layers, dropout 0.3)" : embed ? " (embed 6, chrono auto)" : "",
               ok ? "bit-identical" : "DIFFER",
               r[0].curves[r[0].epochs - 1].train_loss);
        failures += !ok;
        for (int k = 0; k < 3; k++) {
            trial_result_free(&r[k]);
            model_free(&m[k]);
        }
    }
    bm_setup_threads(0);
}

/* should_stop that answers yes at the polls listed (counting from 1), then no */
typedef struct {
    int polls;
    const int *at; /* poll numbers, ascending, 0-terminated */
} StopPlan;

static int stop_at(void *arg)
{
    StopPlan *p = arg;
    p->polls++;
    if (*p->at && p->polls == *p->at) {
        p->at++;
        p->polls = 0; /* each run counts again from 1 */
        return 1;
    }
    return 0;
}

static void small_settings(Settings *s, int kind)
{
    settings_default(s);
    s->model = kind, s->T = 10, s->hidden = 20, s->batch = 16, s->chunk = 8, s->epochs = 4;
    s->train_size = 160, s->val_size = 48, s->test_size = 48; /* 10 updates per epoch */
}

static void test_resume(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/copysweep-test-%d.ckpt", (int)getpid());
    const int plans[][4] = {{7, 0}, {10, 0}, {3, 11, 9, 0}};
    const char *names[] = {"mid-epoch", "at an epoch boundary", "three times"};
    for (int run = 0; run <= model_count + 2; run++) {
        const int kind = run % model_count, stacked = run == model_count, curriculum = run == model_count + 1;
        const int embed = run == model_count + 2;
        Settings s;
        small_settings(&s, kind);
        if (stacked) s.layers = 3, s.dropout = 0.25;
        if (embed) s.embed = 5;
        if (curriculum) s.curriculum = 4, s.curriculum_unlock = 0.15, s.epochs = 5; /* 4, then 8 and 10 */
        TrainCtx plain = {.threads = bm_setup_threads(0)};
        Model ref;
        TrialResult want;
        train_trial(&s, &plain, &ref, &want);
        for (int p = 0; p < 3; p++) {
            remove(path);
            StopPlan plan = {.at = plans[p]};
            TrainCtx ctx = {.threads = plain.threads, .should_stop = stop_at, .stop_arg = &plan, .checkpoint = path};
            Model m;
            TrialResult got;
            int runs = 0, stops = 0;
            do {
                if (runs) trial_result_free(&got), model_free(&m);
                train_trial(&s, &ctx, &m, &got);
                runs++;
                stops += got.status == STATUS_PENDING;
            } while (got.status == STATUS_PENDING && runs < 10);
            int ok = got.status == want.status && stops == runs - 1 && stops >= 1 &&
                     memcmp(m.mem, ref.mem, m.n_params * sizeof(real)) == 0 && same_curves(&got, &want);
            printf("  resume %-5s%s stopped %s (%d runs): %s\n", model_kinds[kind].name,
                   stacked ? " (3 layers, dropout 0.25)" : curriculum ? " (curriculum from T = 4)" : embed ? " (embed 5)" : "",
                   names[p], runs,
                   ok ? "bit-identical to an uninterrupted run" : "DIFFERS");
            failures += !ok;
            trial_result_free(&got);
            model_free(&m);
        }
        trial_result_free(&want);
        model_free(&ref);
    }
    /* a damaged checkpoint, and one of other settings: the trial fails and says why */
    Settings s;
    small_settings(&s, model_find("gru"));
    const int once[] = {5, 0};
    StopPlan plan = {.at = once};
    TrainCtx ctx = {.threads = bm_setup_threads(0), .should_stop = stop_at, .stop_arg = &plan, .checkpoint = path};
    Model m;
    TrialResult r;
    remove(path);
    train_trial(&s, &ctx, &m, &r);
    trial_result_free(&r), model_free(&m);
    s.lr *= 2;
    train_trial(&s, &ctx, &m, &r);
    int foreign = r.status == STATUS_FAILED && strstr(r.stop_reason, "belongs to other settings");
    trial_result_free(&r), model_free(&m);
    s.lr /= 2;
    FILE *f = fopen(path, "r+b");
    fseek(f, 200, SEEK_SET);
    fputc(0x5a, f); /* one byte changed */
    fclose(f);
    train_trial(&s, &ctx, &m, &r);
    int damaged = r.status == STATUS_FAILED && strstr(r.stop_reason, "checksum mismatch");
    printf("  checkpoint of other settings: %s; damaged checkpoint: %s\n",
           foreign ? "refused" : "NOT REFUSED", damaged ? "refused (checksum mismatch)" : r.stop_reason);
    failures += !foreign + !damaged;
    trial_result_free(&r), model_free(&m);
    remove(path);
}

static void test_curriculum(void)
{
    /* the schedule: ⌈length · growth⌉, bounded by T, always growing */
    const int cases[][4] = {{2, 10, 20, 4}, {4, 10, 20, 8}, {8, 10, 20, 10}, {10, 10, 20, 10}, {3, 100, 15, 5},
                            {5, 7, 10, 6}, {99, 100, 30, 100}};
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int got = curriculum_next(cases[k][0], cases[k][1], cases[k][2] / 10.0);
        if (got != cases[k][3]) {
            printf("FAIL curriculum_next(%d, T=%d, %.1f) = %d, expected %d\n", cases[k][0], cases[k][1],
                   cases[k][2] / 10.0, got, cases[k][3]);
            bad = 1;
        }
    }
    /* a trial: starts at the first length, moves on exactly after an epoch at the threshold, reaches T */
    Settings s;
    settings_default(&s);
    s.model = model_find("gru"), s.T = 12, s.hidden = 32, s.lr = 0.01, s.epochs = 14, s.patience = 0;
    s.train_size = 1600, s.val_size = 128, s.test_size = 128;
    s.curriculum = 3, s.curriculum_growth = 2, s.curriculum_unlock = 0.45;
    TrainCtx ctx = {.threads = bm_setup_threads(0)};
    Model m;
    TrialResult r;
    train_trial(&s, &ctx, &m, &r);
    int want = s.curriculum, unlocks = 0;
    char lengths[256] = "";
    for (int e = 0; e < r.epochs; e++) {
        const CurveRow *c = &r.curves[e];
        bad |= c->train_T != want || (want == s.T) != isnan(c->stage_val_acc);
        snprintf(lengths + strlen(lengths), sizeof lengths - strlen(lengths), e ? " %d" : "%d", c->train_T);
        if (want < s.T && c->stage_val_acc >= s.curriculum_unlock) want = curriculum_next(want, s.T, 2), unlocks++;
    }
    bad |= unlocks < 2 || r.curves[r.epochs - 1].train_T != s.T;
    printf("  curriculum: schedule cases ok; a GRU trained at T = %s over %d epochs: %s\n", lengths, r.epochs,
           bad ? "FAIL" : "grows at the threshold only, reaches T");
    failures += bad;
    trial_result_free(&r), model_free(&m);
}

int main(void)
{
    test_curriculum();
    test_resume();
    test_determinism();
    test_fresh_data();
    test_learning();
    printf("training: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
