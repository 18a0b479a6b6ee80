/* The training loop of one trial. */
#include "train.h"

#include <math.h>   /* isfinite, NAN */
#include <stdlib.h> /* free, qsort */
#include <string.h> /* memcpy, memset */
#include <time.h>   /* clock_gettime */

#include "batchmath.h" /* bm_blas_name */
#include "check.h"     /* CS_ALLOC, CS_FAIL */
#include "model.h"     /* model_*, workspace_* */
#include "optim.h"     /* Optimizer */
#include "rng.h"       /* Rng, RNG_KEY */
#include "task.h"      /* Dataset */

const char *const status_names[] = {"pending", "running", "done", "diverged", "failed", NULL};
const double conv_thresholds[CONV_COUNT] = {0.5, 0.9, 0.99};

typedef struct {
    const Settings *s;
    Model *model;
    TaskShape shape;
    Dataset data[SPLIT_COUNT];
    Workspace ws;
    Optimizer opt;
    real *grad;  /* (n_params) */
    int *order;  /* (train_size) this epoch's order of the training set */
    int *seq;    /* (max split size) 0, 1, 2, ... */
} Trainer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void trainer_init(Trainer *tr, const Settings *s, Model *model)
{
    memset(tr, 0, sizeof *tr);
    tr->s = s;
    tr->model = model;
    tr->shape = task_shape(s);
    const int sizes[SPLIT_COUNT] = {s->train_size, s->val_size, s->test_size};
    int most = 0;
    for (int k = 0; k < SPLIT_COUNT; k++) {
        dataset_init(&tr->data[k], &tr->shape, s->seed, k, sizes[k]);
        most = sizes[k] > most ? sizes[k] : most;
    }
    model_init(model, s->model, &tr->shape, s->hidden);
    model_init_weights(model, s);
    workspace_init(&tr->ws, model, &tr->shape, s->batch, s->chunk);
    optim_init(&tr->opt, s, model->n_params);
    tr->grad = CS_ALLOC(model->n_params * sizeof *tr->grad);
    tr->order = CS_ALLOC((size_t)s->train_size * sizeof *tr->order);
    tr->seq = CS_ALLOC((size_t)most * sizeof *tr->seq);
    for (int i = 0; i < most; i++) tr->seq[i] = i;
}

static void trainer_free(Trainer *tr)
{
    for (int k = 0; k < SPLIT_COUNT; k++) dataset_free(&tr->data[k]);
    workspace_free(&tr->ws);
    optim_free(&tr->opt);
    free(tr->grad);
    free(tr->order);
    free(tr->seq);
}

/* The order of the training set in an epoch: Fisher-Yates from the stream (RNG_SHUFFLE, seed, epoch),
 * the same for every model of one seed. */
static void shuffle_epoch(Trainer *tr, int epoch)
{
    const int n = tr->s->train_size;
    Rng r = rng_stream(RNG_KEY(RNG_SHUFFLE, (uint64_t)tr->s->seed, (uint64_t)epoch));
    for (int i = 0; i < n; i++) tr->order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint32_t)(i + 1)), tmp = tr->order[i];
        tr->order[i] = tr->order[j], tr->order[j] = tmp;
    }
}

/* One update on sequences idx[0..B). Returns the gradient norm before clipping; NaN/inf if the
 * loss or gradient is not finite, in which case the weights are left as they were. */
static double train_update(Trainer *tr, const int *idx, int B, Metrics *m)
{
    Metrics batch = {0};
    model_batch(tr->model, &tr->ws, &tr->data[SPLIT_TRAIN], idx, B, &batch, NULL, tr->grad, NULL);
    metrics_add(m, &batch);
    double norm = optim_clip(tr->grad, tr->model->n_params, tr->s->clip);
    if (!isfinite(norm) || !isfinite(batch.loss)) return isfinite(norm) ? NAN : norm;
    optim_step(&tr->opt, tr->model->mem, tr->grad);
    return norm;
}

/* Metrics of the model on a whole split, in batches of the training batch size. */
static void evaluate(Trainer *tr, int split, Metrics *m, int64_t *pos_correct)
{
    const Dataset *d = &tr->data[split];
    memset(m, 0, sizeof *m);
    for (int i = 0; i < d->n; i += tr->s->batch) {
        int B = d->n - i < tr->s->batch ? d->n - i : tr->s->batch;
        model_batch(tr->model, &tr->ws, d, tr->seq + i, B, m, pos_correct, NULL, NULL);
    }
}

/* ‖∂L/∂h_t‖ for every t on the probe batch: the first `batch` validation sequences. */
static void probe_flow(Trainer *tr, double *flow)
{
    Metrics m = {0};
    int B = tr->s->batch < tr->s->val_size ? tr->s->batch : tr->s->val_size;
    model_batch(tr->model, &tr->ws, &tr->data[SPLIT_VAL], tr->seq, B, &m, NULL, tr->grad, flow);
}

static void print_header(const Trainer *tr, const TrainCtx *ctx)
{
    FILE *out = ctx->log;
    const Settings *s = tr->s;
    const Model *m = tr->model;
    fprintf(out, "model %s (%s), %zu parameters, %d threads, %s math\n", model_names[s->model],
            model_long_names[s->model], m->n_params, ctx->threads, CS_REAL_NAME);
    fprintf(out, "settings:");
    char buf[64];
    for (const SettingInfo *info = settings_table; info->key; info++) {
        settings_format(s, info, buf, sizeof buf);
        fprintf(out, " %s=%s", info->key, buf);
    }
    fprintf(out, "\ndata: %s, L=%d steps, %d scored; train %d, validation %d, test %d sequences\n",
            task_names[s->task], tr->shape.L, tr->shape.n_out, s->train_size, s->val_size,
            s->test_size);
    fprintf(out, "blas: %s\n", bm_blas_name());
    fprintf(out, "%5s %10s %9s %10s %9s %10s %8s\n", "epoch", "train_loss", "train_acc", "val_loss",
            "val_acc", "grad_norm", "seconds");
    fflush(out);
}

static void print_summary(const Trainer *tr, const TrainCtx *ctx, const TrialResult *r)
{
    FILE *out = ctx->log;
    const int K = tr->shape.K;
    fprintf(out, "stopped: %s\n", r->stop_reason);
    fprintf(out, "selected: epoch %d (validation symbol accuracy %.4f)\n", r->best_epoch,
            r->best_val_acc);
    fprintf(out, "test (%lld sequences, selected model):\n", (long long)r->test.sequences);
    fprintf(out, "  symbol accuracy   %.4f   (chance 1/K = %.4f)\n", metrics_acc(&r->test),
            metrics_chance_acc(K));
    fprintf(out, "  sequence accuracy %.4f\n", metrics_seq_acc(&r->test));
    fprintf(out, "  loss              %.4f nats per copy symbol (memoryless log K = %.4f)\n",
            metrics_loss(&r->test), metrics_chance_loss(K));
    fprintf(out, "convergence (first epoch with validation accuracy ≥ 0.5 / 0.9 / 0.99):");
    for (int k = 0; k < CONV_COUNT; k++) {
        if (r->conv_epoch[k] < 0)
            fprintf(out, " never");
        else
            fprintf(out, " %d (%.1f s)", r->conv_epoch[k], r->conv_wall[k]);
        fprintf(out, k + 1 < CONV_COUNT ? " /" : "\n");
    }
    fprintf(out, "wall time %.1f s\n", r->wall_s);
    fflush(out);
}

void train_trial(const Settings *s, const TrainCtx *ctx, Model *model, TrialResult *res)
{
    const double t0 = now_s();
    Trainer tr;
    trainer_init(&tr, s, model);
    const int n_out = tr.shape.n_out, L = tr.shape.L;
    memset(res, 0, sizeof *res);
    res->L = L, res->N = n_out;
    res->curves = CS_CALLOC((size_t)s->epochs * sizeof *res->curves);
    res->per_position = CS_CALLOC((size_t)n_out * sizeof *res->per_position);
    res->grad_flow = CS_CALLOC((size_t)2 * L * sizeof *res->grad_flow);
    for (int k = 0; k < CONV_COUNT; k++) res->conv_epoch[k] = -1, res->conv_wall[k] = -1;
    res->data_shared = dataset_count_shared(&tr.data[SPLIT_TRAIN], &tr.data[SPLIT_VAL]) +
                       dataset_count_shared(&tr.data[SPLIT_TRAIN], &tr.data[SPLIT_TEST]);
    if (res->data_shared) CS_FAIL("%ld validation/test sequences occur in the training set", res->data_shared);
    if (ctx->log) print_header(&tr, ctx);

    real *best = CS_ALLOC(model->n_params * sizeof *best);
    memcpy(best, model->mem, model->n_params * sizeof *best);
    res->best_val_acc = -1;
    probe_flow(&tr, res->grad_flow);
    res->status = STATUS_DONE;
    snprintf(res->stop_reason, sizeof res->stop_reason, "epoch budget of %d used", s->epochs);

    const int updates = s->train_size / s->batch; /* the last partial batch is dropped */
    int since_best = 0;
    for (int epoch = 1; epoch <= s->epochs; epoch++) {
        const double te = now_s();
        CurveRow *row = &res->curves[res->epochs++];
        Metrics train = {0}, val = {0};
        double norm_sum = 0, norm_max = 0;
        int diverged = 0;
        shuffle_epoch(&tr, epoch);
        for (int u = 0; u < updates && !diverged; u++) {
            double norm = train_update(&tr, tr.order + (size_t)u * s->batch, s->batch, &train);
            diverged = !isfinite(norm);
            norm_sum += norm;
            norm_max = norm > norm_max ? norm : norm_max;
        }
        row->epoch = epoch;
        row->train_loss = metrics_loss(&train), row->train_acc = metrics_acc(&train);
        row->grad_norm = norm_sum / updates, row->grad_norm_max = norm_max;
        row->lr = s->lr;
        if (diverged) {
            row->val_loss = row->val_acc = NAN;
        } else {
            evaluate(&tr, SPLIT_VAL, &val, NULL);
            row->val_loss = metrics_loss(&val), row->val_acc = metrics_acc(&val);
        }
        row->wall_s = now_s() - t0;
        if (ctx->log) {
            fprintf(ctx->log, "%5d %10.4f %9.4f %10.4f %9.4f %10.4g %8.2f\n", epoch, row->train_loss,
                    row->train_acc, row->val_loss, row->val_acc, row->grad_norm, now_s() - te);
            fflush(ctx->log);
        }
        if (diverged) {
            res->status = STATUS_DIVERGED;
            snprintf(res->stop_reason, sizeof res->stop_reason,
                     "diverged: loss or gradient not finite in epoch %d", epoch);
            break;
        }
        for (int k = 0; k < CONV_COUNT; k++)
            if (res->conv_epoch[k] < 0 && row->val_acc >= conv_thresholds[k])
                res->conv_epoch[k] = epoch, res->conv_wall[k] = row->wall_s;
        if (row->val_acc > res->best_val_acc) {
            res->best_val_acc = row->val_acc, res->best_epoch = epoch, since_best = 0;
            memcpy(best, model->mem, model->n_params * sizeof *best);
        } else {
            since_best++;
        }
        if (row->val_acc >= s->target_acc) {
            snprintf(res->stop_reason, sizeof res->stop_reason,
                     "validation symbol accuracy %.4f reached the target %g at epoch %d", row->val_acc,
                     s->target_acc, epoch);
            break;
        }
        if (s->patience > 0 && since_best >= s->patience) {
            snprintf(res->stop_reason, sizeof res->stop_reason,
                     "no better validation accuracy for %d epochs (patience) at epoch %d", s->patience,
                     epoch);
            break;
        }
    }
    /* gradient flow with the last weights trained (row 1), then the test set, once, on the selected */
    res->flow_epochs[0] = 0, res->flow_epochs[1] = res->epochs;
    if (res->status == STATUS_DONE) probe_flow(&tr, res->grad_flow + L);
    else for (int t = 0; t < L; t++) res->grad_flow[L + t] = NAN;
    memcpy(model->mem, best, model->n_params * sizeof *best);
    free(best);
    int64_t *pos = CS_CALLOC((size_t)n_out * sizeof *pos);
    evaluate(&tr, SPLIT_TEST, &res->test, pos);
    for (int j = 0; j < n_out; j++) res->per_position[j] = (double)pos[j] / (double)s->test_size;
    free(pos);
    res->wall_s = now_s() - t0;
    if (ctx->log) print_summary(&tr, ctx, res);
    trainer_free(&tr);
}

void trial_result_free(TrialResult *res)
{
    free(res->curves);
    free(res->per_position);
    free(res->grad_flow);
    memset(res, 0, sizeof *res);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double train_bench(const Settings *s, const TrainCtx *ctx, int warmup, int steps)
{
    Model model;
    Trainer tr;
    trainer_init(&tr, s, &model);
    double *ms = CS_ALLOC((size_t)steps * sizeof *ms);
    const int updates = s->train_size / s->batch;
    shuffle_epoch(&tr, 1);
    for (int i = 0; i < warmup + steps; i++) {
        Metrics m = {0};
        const double t = now_s();
        train_update(&tr, tr.order + (size_t)(i % updates) * s->batch, s->batch, &m);
        if (i >= warmup) ms[i - warmup] = 1e3 * (now_s() - t);
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    double median = steps % 2 ? ms[steps / 2] : 0.5 * (ms[steps / 2 - 1] + ms[steps / 2]);
    if (ctx->log)
        fprintf(ctx->log, "bench %s H=%d B=%d T=%d L=%d chunk=%d threads=%d: median %.3f ms per step "
                "(min %.3f, max %.3f, %d steps); %s\n", model_names[s->model], s->hidden, s->batch, s->T,
                tr.shape.L, s->chunk, ctx->threads, median, ms[0], ms[steps - 1], steps, bm_blas_name());
    free(ms);
    trainer_free(&tr);
    model_free(&model);
    return median;
}
