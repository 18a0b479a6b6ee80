/* The log of one trial (copysweep train): the header, a line per epoch and the summary. */
#include "train_impl.h"

#include <math.h>  /* exp, isnan */
#include <stdio.h> /* fprintf */

#include "batchmath.h"      /* bm_path_name */
#include "model_kinds.h"    /* model_kinds */
#include "settings_table.h" /* settings_* */
#include "task_kinds.h"     /* task_kinds */

void train_log_header(const Trainer *tr, FILE *out, int threads)
{
    const Settings *s = tr->s;
    const Model *m = tr->model;
    fprintf(out, "model %s (%s), %zu parameters, %d threads, %s math\n", model_kinds[s->model].name,
            model_kinds[s->model].long_name, m->n_params, threads, CS_REAL_NAME);
    fprintf(out, "settings:");
    char buf[SETTINGS_TEXT_MAX];
    for (const SettingInfo *info = settings_table; info->key; info++) {
        settings_format(s, info, buf, sizeof buf);
        fprintf(out, " %s=%s", info->key, buf);
    }
    fprintf(out, "\ndata: %s, L=%d steps, %d scored; train %d, validation %d, test %d sequences\n",
            task_kinds[s->task].name, tr->shape.L, tr->shape.n_out, s->train_size, s->val_size,
            s->test_size);
    if (tr->shape.ops->uses_text)
        fprintf(out, "text: %s, cut into pieces of at most %d characters: %d train, %d validation, %d test "
                "(a split with fewer pieces than sequences repeats them)\n", s->text, s->T,
                tr->data[SPLIT_TRAIN].distinct, tr->data[SPLIT_VAL].distinct, tr->data[SPLIT_TEST].distinct);
    fprintf(out, "kernel: %s\n", bm_path_name());
    if (tr->at.epoch || tr->at.update)
        fprintf(out, "resumed from checkpoint: %d epochs and %d updates done\n", tr->at.epoch, tr->at.update);
    fprintf(out, "%5s %10s %9s %10s %9s %10s %8s\n", "epoch", "train_loss", "train_acc", "val_loss",
            "val_acc", "grad_norm", "seconds");
    fflush(out);
}

void train_log_epoch(FILE *out, const Settings *s, const TrialResult *res, double epoch_s)
{
    const CurveRow *row = &res->curves[res->epochs - 1];
    fprintf(out, "%5d %10.4f %9.4f %10.4f %9.4f %10.4g %8.2f", row->epoch, row->train_loss, row->train_acc,
            row->val_loss, row->val_acc, row->grad_norm, epoch_s);
    if (s->curriculum) fprintf(out, "  trained at T=%d", row->train_T);
    if (!isnan(row->stage_val_acc)) fprintf(out, " (validation accuracy there %.4f)", row->stage_val_acc);
    fputc('\n', out);
    fflush(out);
}

/* The selected model's test: accuracy, loss, bits, and the other lengths of eval-T. */
static void log_test(FILE *out, const TaskShape *sh, const TrialResult *r)
{
    const char *what = sh->ops->unit;
    const char *chance = sh->bce ? "1/2" : "1/K", *memoryless = sh->bce ? "log 2" : "log K";
    fprintf(out, "test (%lld sequences, selected model):\n", (long long)r->test.sequences);
    fprintf(out, "  %s accuracy   %.4f   (chance %s = %.4f)\n", what, metrics_acc(&r->test), chance,
            task_chance_acc(sh));
    fprintf(out, "  sequence accuracy %.4f\n", metrics_seq_acc(&r->test));
    fprintf(out, "  loss              %.4f nats per %s %s (memoryless %s = %.4f)\n", metrics_loss(&r->test),
            sh->ops->scored, what, memoryless,
            task_chance_loss(sh));
    if (sh->ops->uses_text)
        fprintf(out, "  perplexity        %.4f (uniform over the %d classes: %d)\n", exp(metrics_loss(&r->test)), sh->K,
                sh->K);
    if (task_has_bits(sh)) {
        const double bits = metrics_bits(&r->test), ceiling = metrics_bits_ceiling(&r->test);
        fprintf(out, "  memory            %.2f ± %.2f bits (± SE over test sequences) of a ceiling of %.2f: %.1f %%\n",
                bits, metrics_bits_se(&r->test), ceiling, 100 * bits / ceiling);
        if (r->test_cal.sequences)
            fprintf(out, "  recalibrated      %.2f ± %.2f bits at temperature %.4g (fitted on the validation split)\n",
                    metrics_bits(&r->test_cal), metrics_bits_se(&r->test_cal), r->temperature);
    }
    for (int k = 0; k < r->n_eval; k++) {
        const Metrics *e = &r->eval[k].test;
        fprintf(out, "  at T=%-6d        %s accuracy %.4f, sequence accuracy %.4f, loss %.4f", r->eval[k].T, what,
                metrics_acc(e), metrics_seq_acc(e), metrics_loss(e));
        if (task_has_bits(sh)) fprintf(out, ", %.2f ± %.2f bits", metrics_bits(e), metrics_bits_se(e));
        if (r->eval[k].test_cal.sequences)
            fprintf(out, " (recalibrated %.2f ± %.2f)", metrics_bits(&r->eval[k].test_cal),
                    metrics_bits_se(&r->eval[k].test_cal));
        fputc('\n', out);
    }
}

void train_log_summary(const Trainer *tr, FILE *out, const TrialResult *r)
{
    const TaskShape *sh = &tr->shape;
    const char *what = sh->ops->unit;
    fprintf(out, "stopped: %s\n", r->stop_reason);
    fprintf(out, "selected: epoch %d (validation %s accuracy %.4f%s)\n", r->best_epoch, what, r->best_val_acc,
            sh->ops->uses_text ? ", the lowest validation loss" : "");
    log_test(out, &tr->shape, r);
    fprintf(out, "convergence (first epoch with validation accuracy ≥ 0.5 / 0.9 / 0.99):");
    for (int k = 0; k < CONV_COUNT; k++) {
        if (r->conv_epoch[k] < 0)
            fprintf(out, " never");
        else
            fprintf(out, " %d (%.1f s)", r->conv_epoch[k], r->conv_wall[k]);
        fprintf(out, k + 1 < CONV_COUNT ? " /" : "\n");
    }
    if (sh->hold_end > sh->hold_start) {
        fprintf(out, "gates over the hold (steps %d..%d of the test sequences), mean ± sd:", sh->hold_start + 1,
                sh->hold_end);
        const char *letters = tr->model->ops->gates;
        for (int g = 0; letters[g]; g++) fprintf(out, " %c %.3f ± %.3f", letters[g], r->hold_mean[g], r->hold_sd[g]);
        if (tr->model->mult)
            fprintf(out, " m %.3f ± %.3f", r->hold_mean[TRIAL_MAX_GATES], r->hold_sd[TRIAL_MAX_GATES]);
        fputc('\n', out);
    }
    const double linear = model_linear_decay(tr->s);
    fprintf(out, "gradient decay per step back in time, ρ: %.4f with the initial weights, %.4f with the final ", r->rho[0],
            r->rho[1]);
    if (isnan(linear))
        fprintf(out, "(no linearized prediction with these initial weights)\n");
    else
        fprintf(out, "(the linearized cell predicts %.4f)\n", linear);
    fprintf(out, "wall time %.1f s\n", r->wall_s);
    fflush(out);
}
