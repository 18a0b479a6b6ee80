/* The training loop of one trial: data, updates, epochs, model selection, the test; its checkpoints
 * are in train_checkpoint.c and its log in train_log.c. */
#include "train.h"

#include "train_impl.h"

#include <math.h>   /* isfinite, isnan, ceil, NAN */
#include <stdlib.h> /* free, qsort */
#include <string.h> /* memcpy, memset */
#include <time.h>   /* nanosleep */
#include <sys/resource.h> /* getrusage */
#include <unistd.h>       /* access */

#include "batchmath.h"   /* bm_path_name */
#include "check.h"       /* CS_ALLOC, CS_FAIL */
#include "clock.h"       /* cs_now_s */
#include "info.h"        /* info_score, info_fit_beta, info_decay */
#include "model.h"       /* model_*, workspace_* */
#include "model_kinds.h" /* model_kinds */
#include "optim.h"       /* Optimizer */
#include "rng.h"         /* Rng, RNG_KEY */
#include "task.h"        /* Dataset */
#include "task_kinds.h"  /* task_shape */


/* A step of the trial failed with the reason in err: BAD_DATA if its settings cannot make the data
 * (a user error), else -1 (the machine). */
#define BAD_DATA (-2)

/* The trial failed in a step that returned rc (BAD_DATA or -1) with the reason err. */
static void failed(TrialResult *res, int rc, const char *err)
{
    res->status = STATUS_FAILED;
    res->bad_input = rc == BAD_DATA;
    snprintf(res->stop_reason, sizeof res->stop_reason, "%s", err);
}

/* Data, model, workspace and optimizer. Returns 0, or BAD_DATA or -1 with the reason in err. */
static int trainer_init(Trainer *tr, const Settings *s, Model *model, char *err, size_t errlen)
{
    memset(tr, 0, sizeof *tr);
    memset(model, 0, sizeof *model); /* freeable whatever fails below */
    tr->s = s;
    tr->model = model;
    tr->shape = task_shape(s);
    tr->t_start = cs_now_s();
    tr->at.stage_T = s->curriculum ? s->curriculum : s->T;
    const int sizes[SPLIT_COUNT] = {s->train_size, s->val_size, s->test_size};
    int most = 0;
    for (int k = 0; k < SPLIT_COUNT; k++) {
        if (dataset_init(&tr->data[k], &tr->shape, s->seed, k, sizes[k], err, errlen) != 0) return BAD_DATA;
        most = sizes[k] > most ? sizes[k] : most;
    }
    model_init(model, s->model, &tr->shape, s->hidden, s->layers, s->embed);
    size_t need;
    if (workspace_init(&tr->ws, model, &tr->shape, s->batch, s->chunk, s->dropout, &need) != 0) {
        snprintf(err, errlen, "out of memory: the activations of batch %d at L=%d need %.2f GiB",
                 s->batch, tr->shape.L, (double)need / (1u << 30));
        return -1;
    }
    optim_init(&tr->opt, s, model->n_params);
    tr->grad = CS_ALLOC(model->n_params * sizeof *tr->grad);
    tr->best = CS_ALLOC(model->n_params * sizeof *tr->best);
    tr->order = CS_ALLOC((size_t)s->train_size * sizeof *tr->order);
    tr->seq = CS_ALLOC((size_t)most * sizeof *tr->seq);
    for (int i = 0; i < most; i++) tr->seq[i] = i;
    return 0;
}

/* The training and validation sets and workspace of the length at.stage_T, if it is below T.
 * Returns 0, or BAD_DATA or -1 with the reason in err. */
static int stage_init(Trainer *tr, char *err, size_t errlen)
{
    const Settings *s = tr->s;
    tr->staging = tr->at.stage_T < s->T;
    if (!tr->staging) return 0;
    Settings at = *s;
    at.T = tr->at.stage_T;
    tr->stage_shape = task_shape(&at);
    if (dataset_init(&tr->stage[0], &tr->stage_shape, s->seed, SPLIT_TRAIN, s->train_size, err, errlen) != 0 ||
        dataset_init(&tr->stage[1], &tr->stage_shape, s->seed, SPLIT_VAL, s->val_size, err, errlen) != 0)
        return BAD_DATA;
    size_t need;
    if (workspace_init(&tr->stage_ws, tr->model, &tr->stage_shape, s->batch, s->chunk, s->dropout, &need) != 0) {
        snprintf(err, errlen, "out of memory: the activations of batch %d at L=%d need %.2f GiB", s->batch,
                 tr->stage_shape.L, (double)need / (1u << 30));
        return -1;
    }
    return 0;
}

static void stage_free(Trainer *tr)
{
    if (!tr->staging) return;
    dataset_free(&tr->stage[0]);
    dataset_free(&tr->stage[1]);
    workspace_free(&tr->stage_ws);
    tr->staging = 0;
}

int trial_epochs(const Settings *s)
{
    if (s->epochs != SETTINGS_AUTO) return s->epochs;
    const TaskShape sh = task_shape(s);
    const double per_epoch = (double)(s->train_size / s->batch) * sh.L;
    const double epochs = floor((double)s->budget / per_epoch + 0.5);
    return epochs < 1 ? 1 : epochs > 1000000 ? 1000000 : (int)epochs;
}

int curriculum_next(int length, int T, double growth)
{
    double next = ceil(length * growth);
    if (next <= length) next = length + 1;
    return next >= T ? T : (int)next;
}

static void trainer_free(Trainer *tr)
{
    stage_free(tr);
    for (int k = 0; k < SPLIT_COUNT; k++) dataset_free(&tr->data[k]);
    workspace_free(&tr->ws);
    optim_free(&tr->opt);
    free(tr->grad);
    free(tr->best);
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

/* The training sequences of epoch `epoch`: with fresh data draw epoch − 1 of the training split (of
 * the curriculum's length while it trains there), else draw 0 throughout; either way none is a
 * validation or test sequence. Returns 0, or BAD_DATA with the reason in err. */
static int draw_epoch(Trainer *tr, int epoch, char *err, size_t errlen)
{
    const int draw = tr->s->train_data == DATA_FRESH ? epoch - 1 : 0;
    Dataset *train = tr->staging ? &tr->stage[0] : &tr->data[SPLIT_TRAIN];
    if (dataset_redraw(train, draw, err, errlen) != 0) return BAD_DATA;
    const Dataset *val = tr->staging ? &tr->stage[1] : &tr->data[SPLIT_VAL];
    if (dataset_count_shared(train, val) + dataset_count_shared(train, &tr->data[SPLIT_TEST]))
        CS_FAIL("validation or test sequences occur in the training set");
    return 0;
}

/* One update on sequences idx[0..B). Returns the gradient norm before clipping; NaN/inf if the
 * loss or gradient is not finite, in which case the weights are left as they were. */
static double train_update(Trainer *tr, const int *idx, int B, Metrics *m, long fault_nan_update)
{
    Metrics batch = {0};
    /* dropout masks keyed by (seed, update): the same on any rank, thread count or resume */
    const uint64_t drop_key = tr->s->dropout > 0 ? RNG_KEY(RNG_DROPOUT, (uint64_t)tr->s->seed,
                                                           (uint64_t)tr->opt.step + 1) | 1 : 0;
    const Batch b = task_batch(tr->staging ? &tr->stage[0] : &tr->data[SPLIT_TRAIN], idx, B);
    model_batch(tr->model, tr->staging ? &tr->stage_ws : &tr->ws, &b, drop_key, &batch, NULL, tr->grad, NULL);
    if (fault_nan_update == tr->opt.step + 1) batch.loss = NAN;
    metrics_add(m, &batch);
    double norm = optim_clip(tr->grad, tr->model->n_params, tr->s->clip);
    if (!isfinite(norm) || !isfinite(batch.loss)) return isfinite(norm) ? NAN : norm;
    optim_step(&tr->opt, tr->model->mem, tr->grad);
    return norm;
}

/* Metrics of the model on a whole dataset, in batches of the training batch size, and with ex
 * the outputs and targets of its first sequence. */
static void evaluate_set(Trainer *tr, Workspace *ws, const Dataset *d, Metrics *m, const Scores *sc,
                         EvalResult *ex)
{
    const size_t N = (size_t)d->shape.n_out, K = (size_t)tr->model->K;
    memset(m, 0, sizeof *m);
    for (int i = 0; i < d->n; i += tr->s->batch) {
        int B = d->n - i < tr->s->batch ? d->n - i : tr->s->batch;
        Scores at = sc ? *sc : (Scores){0}; /* the logits of sequence i go to row i */
        if (at.logits) at.logits += (size_t)i * N * K, at.targets += (size_t)i * N;
        const Batch b = task_batch(d, tr->seq + i, B);
        model_batch(tr->model, ws, &b, 0, m, sc ? &at : NULL, NULL, NULL);
        if (i || !ex) continue;
        /* sequence 0 is row 0 of chunk 0, whose tensors have a stride of its `rows` sequences */
        const Acts *a = &ws->acts[0];
        const int rows = B < ws->chunk ? B : ws->chunk;
        for (int j = 0; j < ex->N; j++) {
            ex->ex_target[j] = a->y[(size_t)j * rows];
            for (int k = 0; k < ex->K; k++)
                ex->ex_out[(size_t)j * ex->K + k] = a->probs[(size_t)j * rows * ex->K + k];
        }
    }
}

static void evaluate(Trainer *tr, int split, Metrics *m, const Scores *sc)
{
    evaluate_set(tr, &tr->ws, &tr->data[split], m, sc, NULL);
}

/* Buffers for the outputs of the n sequences of d: logits (n, N, K) and targets; 0, or -1 if the
 * memory is not there (the recalibration is then left out). */
static int outputs_alloc(Outputs *o, const Dataset *d, const Model *m, Scores *sc)
{
    *o = (Outputs){.n = d->n, .N = d->shape.n_out, .K = m->K, .bce = d->shape.bce};
    real *logits = cs_try_calloc((size_t)o->n * o->N * o->K * sizeof *logits);
    int16_t *targets = cs_try_calloc((size_t)o->n * o->N * sizeof *targets);
    if (!logits || !targets) {
        free(logits), free(targets);
        return -1;
    }
    o->logits = sc->logits = logits, o->targets = sc->targets = targets;
    return 0;
}

static void outputs_free(Outputs *o)
{
    free((void *)o->logits), free((void *)o->targets);
    o->logits = NULL, o->targets = NULL;
}

/* The selected model on the test split at another length, and recalibrated there at the temperature
 * that fits the validation split of that length. Returns 0, or BAD_DATA or -1 with the reason in err. */
static int evaluate_at(Trainer *tr, EvalResult *e, char *err, size_t errlen)
{
    const Settings *s = tr->s;
    TaskShape sh = task_shape_eval(s, e->T);
    Dataset d[2] = {0}; /* validation, test */
    Workspace ws;
    size_t need;
    int rc = 0;
    if (workspace_init(&ws, tr->model, &sh, s->batch, s->chunk, 0, &need) != 0) {
        snprintf(err, errlen, "out of memory: evaluating at T=%d needs %.2f GiB", e->T, (double)need / (1u << 30));
        workspace_free(&ws);
        return -1;
    }
    if (dataset_init(&d[0], &sh, s->seed, SPLIT_VAL, s->val_size, err, errlen) != 0 ||
        dataset_init(&d[1], &sh, s->seed, SPLIT_TEST, s->test_size, err, errlen) != 0) {
        rc = BAD_DATA;
        goto done;
    }
    const long shared = dataset_count_shared(&tr->data[SPLIT_TRAIN], &d[0]) +
                        dataset_count_shared(&tr->data[SPLIT_TRAIN], &d[1]);
    if (shared) CS_FAIL("%ld validation or test sequences at T=%d occur in the training set", shared, e->T);
    Scores val = {0}, test = {0};
    Outputs vo = {0}, to = {0};
    const int calibrate = task_has_bits(&sh) && outputs_alloc(&vo, &d[0], tr->model, &val) == 0 &&
                          outputs_alloc(&to, &d[1], tr->model, &test) == 0;
    if (calibrate) {
        Metrics m;
        evaluate_set(tr, &ws, &d[0], &m, &val, NULL);
        const double beta = info_fit_beta(&vo);
        evaluate_set(tr, &ws, &d[1], &e->test, &test, e);
        info_score(&to, beta, &e->test_cal);
        e->temperature = 1 / beta;
    } else {
        evaluate_set(tr, &ws, &d[1], &e->test, NULL, e);
    }
    outputs_free(&vo), outputs_free(&to);
done:
    dataset_free(&d[0]), dataset_free(&d[1]);
    workspace_free(&ws);
    return rc;
}

/* ‖∂L/∂h_t‖ for every t on the probe batch: the first `batch` validation sequences. */
static void probe_flow(Trainer *tr, double *flow)
{
    Metrics m = {0};
    int B = tr->s->batch < tr->s->val_size ? tr->s->batch : tr->s->val_size;
    const Batch b = task_batch(&tr->data[SPLIT_VAL], tr->seq, B);
    model_batch(tr->model, &tr->ws, &b, 0, &m, NULL, tr->grad, flow);
}

/* ---- the trial ---------------------------------------------------------------------------- */

static void result_init(TrialResult *res, const Settings *s)
{
    TaskShape sh = task_shape(s);
    memset(res, 0, sizeof *res);
    res->L = sh.L, res->N = sh.n_out;
    res->curves = CS_CALLOC((size_t)trial_epochs(s) * sizeof *res->curves);
    res->per_position = CS_CALLOC((size_t)sh.n_out * sizeof *res->per_position);
    res->per_position_ce = CS_CALLOC((size_t)sh.n_out * sizeof *res->per_position_ce);
    res->per_position_bits = CS_CALLOC((size_t)sh.n_out * sizeof *res->per_position_bits);
    res->per_position_bits_se = CS_CALLOC((size_t)sh.n_out * sizeof *res->per_position_bits_se);
    res->temperature = res->rho[0] = res->rho[1] = NAN;
    for (int g = 0; g <= TRIAL_MAX_GATES; g++) res->hold_mean[g] = res->hold_sd[g] = NAN;
    res->grad_flow = CS_CALLOC((size_t)2 * sh.L * sizeof *res->grad_flow);
    res->best_val_acc = -1;
    for (int k = 0; k < CONV_COUNT; k++) res->conv_epoch[k] = -1, res->conv_wall[k] = -1;
    res->n_eval = s->eval_T.n;
    res->eval = CS_CALLOC((size_t)res->n_eval * sizeof *res->eval + 1);
    for (int k = 0; k < res->n_eval; k++) {
        EvalResult *e = &res->eval[k];
        TaskShape esh = task_shape_eval(s, s->eval_T.v[k]);
        e->T = s->eval_T.v[k], e->N = esh.n_out, e->K = esh.K, e->temperature = NAN;
        e->load = esh.lag ? esh.S : 0, e->lag = esh.lag;
        e->ex_out = CS_CALLOC((size_t)e->N * e->K * sizeof *e->ex_out);
        e->ex_target = CS_CALLOC((size_t)e->N * sizeof *e->ex_target);
    }
}

/* The epoch's row against the trial so far: the first epochs past the convergence thresholds, and
 * model selection (the best validation accuracy; for a task of text the lowest validation loss). */
static void select_epoch(Trainer *tr, TrialResult *res, const CurveRow *row, int epoch)
{
    for (int k = 0; k < CONV_COUNT; k++)
        if (res->conv_epoch[k] < 0 && row->val_acc >= conv_thresholds[k])
            res->conv_epoch[k] = epoch, res->conv_wall[k] = row->wall_s;
    const int better = tr->shape.ops->uses_text
                           ? res->best_epoch == 0 || row->val_loss < res->curves[res->best_epoch - 1].val_loss
                           : row->val_acc > res->best_val_acc;
    if (better) {
        res->best_val_acc = row->val_acc, res->best_epoch = epoch, tr->at.since_best = 0;
        memcpy(tr->best, tr->model->mem, tr->model->n_params * sizeof *tr->best);
    } else if (!tr->staging) { /* patience counts from the epoch the curriculum reaches T */
        tr->at.since_best++;
    }
}

/* After epoch `epoch`: its curve row, convergence, selection; returns 1 if training should stop. */
static int end_epoch(Trainer *tr, TrialResult *res, int epoch, int diverged)
{
    const Settings *s = tr->s;
    CurveRow *row = &res->curves[res->epochs++];
    Metrics val = {0};
    row->epoch = epoch;
    row->train_T = tr->at.stage_T, row->stage_val_acc = NAN;
    row->train_loss = metrics_loss(&tr->at.train), row->train_acc = metrics_acc(&tr->at.train);
    row->grad_norm = tr->at.norm_sum / tr->at.update, row->grad_norm_max = tr->at.norm_max;
    row->lr = s->lr;
    if (diverged) {
        row->val_loss = row->val_acc = row->val_bits = NAN;
    } else {
        evaluate(tr, SPLIT_VAL, &val, NULL);
        row->val_loss = metrics_loss(&val), row->val_acc = metrics_acc(&val);
        row->val_bits = task_has_bits(&tr->shape) ? metrics_bits(&val) : NAN;
        if (tr->staging) { /* the curriculum's own validation set, at the length trained */
            Metrics sv = {0};
            evaluate_set(tr, &tr->stage_ws, &tr->stage[1], &sv, NULL, NULL);
            row->stage_val_acc = metrics_acc(&sv);
        }
    }
    row->wall_s = trial_wall(tr);
    if (diverged) {
        res->status = STATUS_DIVERGED;
        snprintf(res->stop_reason, sizeof res->stop_reason,
                 "diverged: loss or gradient not finite in epoch %d", epoch);
        return 1;
    }
    select_epoch(tr, res, row, epoch);
    if (row->val_acc >= s->target_acc) {
        snprintf(res->stop_reason, sizeof res->stop_reason,
                 "validation accuracy %.4f reached the target %g at epoch %d", row->val_acc,
                 s->target_acc, epoch);
        return 1;
    }
    if (s->patience > 0 && tr->at.since_best >= s->patience) {
        snprintf(res->stop_reason, sizeof res->stop_reason,
                 "no better validation accuracy for %d epochs (patience) at epoch %d", s->patience, epoch);
        return 1;
    }
    if (tr->staging && row->stage_val_acc >= s->curriculum_unlock) { /* the next length of the curriculum */
        char err[256];
        stage_free(tr);
        tr->at.stage_T = curriculum_next(tr->at.stage_T, s->T, s->curriculum_growth);
        const int rc = stage_init(tr, err, sizeof err);
        if (rc != 0) {
            failed(res, rc, err);
            return 1;
        }
        if (!tr->staging) tr->at.since_best = 0;
    }
    return 0;
}

/* Per step j of the test's scored window, from the sums over its sequences: accuracy, loss per output,
 * and the step's part of the bits, u_j = memoryless − loss of a target there (0 where none is), with
 * its standard error. */
static void per_position(TrialResult *res, const TaskShape *sh, const int64_t *correct, const int64_t *total,
                         const double *loss, const double *loss_sq)
{
    const int per = sh->bce ? sh->K : 1;
    const double mem = task_chance_loss(sh) * per, n = (double)res->test.sequences;
    for (int j = 0; j < res->N; j++) {
        const double targets = (double)(total[j] / per);
        res->per_position[j] = total[j] ? (double)correct[j] / (double)total[j] : NAN;
        res->per_position_ce[j] = total[j] ? loss[j] / (double)total[j] : NAN;
        /* Σ_s u_s and Σ_s u_s² over all n sequences, u_s = mem − loss_s where scored, else 0 */
        const double su = targets * mem - loss[j], suu = targets * mem * mem - 2 * mem * loss[j] + loss_sq[j];
        const double var = n > 1 ? (suu - su * su / n) / (n - 1) : NAN;
        res->per_position_bits[j] = su / n / M_LN2;
        res->per_position_bits_se[j] = sqrt(var > 0 ? var : 0) / sqrt(n) / M_LN2;
    }
}

/* Mean and standard deviation of each row (count, Σ, Σ²) of hold (Acts.hold) into the result. */
static void hold_statistics(TrialResult *res, const double *hold, int G)
{
    if (G > TRIAL_MAX_GATES) CS_FAIL("a cell of %d gates (TRIAL_MAX_GATES is %d)", G, TRIAL_MAX_GATES);
    for (int g = 0; g <= G; g++) {
        const double n = hold[3 * g], mean = hold[3 * g + 1] / n, var = (hold[3 * g + 2] - n * mean * mean) / (n - 1);
        const int slot = g < G ? g : TRIAL_MAX_GATES;
        res->hold_mean[slot] = n > 0 ? mean : NAN;
        res->hold_sd[slot] = n > 1 ? sqrt(var > 0 ? var : 0) : NAN;
    }
}

/* The test set, once, with the selected weights, with the bits recalibrated on the validation set's
 * temperature; the other lengths of eval-T; gradient flow with the last weights trained and ρ of
 * both profiles. Returns 0, or BAD_DATA or -1 with the reason in err. */
static int finish(Trainer *tr, TrialResult *res, char *err, size_t errlen)
{
    const int L = tr->shape.L, N = tr->shape.n_out;
    res->flow_epochs[0] = 0, res->flow_epochs[1] = res->epochs;
    if (res->status == STATUS_DONE)
        probe_flow(tr, res->grad_flow + L);
    else
        for (int t = 0; t < L; t++) res->grad_flow[L + t] = NAN;
    res->rho[0] = info_decay(res->grad_flow, tr->shape.out_start);
    res->rho[1] = info_decay(res->grad_flow + L, tr->shape.out_start);
    memcpy(tr->model->mem, tr->best, tr->model->n_params * sizeof *tr->best);

    int64_t *pos = CS_CALLOC((size_t)2 * N * sizeof *pos);
    double *loss = CS_CALLOC((size_t)2 * N * sizeof *loss);
    const int G = tr->model->G;
    double hold[3 * (TRIAL_MAX_GATES + 1)] = {0};
    Scores val = {0}, test = {.pos_correct = pos, .pos_total = pos + N, .pos_loss = loss, .pos_loss_sq = loss + N,
                              .hold = hold};
    Outputs vo = {0}, to = {0};
    const int calibrate = task_has_bits(&tr->shape) &&
                          outputs_alloc(&vo, &tr->data[SPLIT_VAL], tr->model, &val) == 0 &&
                          outputs_alloc(&to, &tr->data[SPLIT_TEST], tr->model, &test) == 0;
    if (calibrate) { /* the temperature that minimizes the validation loss, then the test at it */
        Metrics m;
        evaluate(tr, SPLIT_VAL, &m, &val);
        const double beta = info_fit_beta(&vo);
        evaluate(tr, SPLIT_TEST, &res->test, &test);
        info_score(&to, beta, &res->test_cal);
        res->temperature = 1 / beta;
    } else {
        test.logits = NULL, test.targets = NULL;
        evaluate(tr, SPLIT_TEST, &res->test, &test);
    }
    outputs_free(&vo), outputs_free(&to);
    per_position(res, &tr->shape, pos, pos + N, loss, loss + N);
    free(pos), free(loss);
    hold_statistics(res, hold, G);
    for (int k = 0; k < res->n_eval; k++) {
        const int rc = evaluate_at(tr, &res->eval[k], err, errlen);
        if (rc != 0) return rc;
    }
    return 0;
}

/* Returns 1 (and sets res) if the trial stopped early with its checkpoint written; hold: wait until
 * told to stop (TrainCtx.fault_hold). */
static int maybe_checkpoint(Trainer *tr, const TrainCtx *ctx, TrialResult *res, double *last, int hold)
{
    int stop = ctx->should_stop && ctx->should_stop(ctx->stop_arg);
    while (hold && ctx->should_stop && !stop) {
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
        stop = ctx->should_stop(ctx->stop_arg);
    }
    int due = ctx->checkpoint && ctx->checkpoint_every_s > 0 && cs_now_s() - *last >= ctx->checkpoint_every_s;
    if (!stop && !due) return 0;
    char err[512] = "";
    int saved = ctx->checkpoint && train_checkpoint_save(tr, res, ctx->checkpoint, err, sizeof err) == 0;
    *last = cs_now_s();
    if (ctx->checkpoint && !saved) fprintf(stderr, "copysweep: warning: %s\n", err);
    if (!stop) return 0;
    res->status = STATUS_PENDING;
    snprintf(res->stop_reason, sizeof res->stop_reason, "stopped after %d epochs and %d updates; %s",
             tr->at.epoch, tr->at.update, saved ? "checkpoint written" : "no checkpoint");
    return 1;
}

/* The trainer ready at its first update, or at the checkpoint's (resumed): data, model, weights,
 * the curriculum's length. 0, or BAD_DATA or -1 with err. */
static int train_start(Trainer *tr, const Settings *s, const TrainCtx *ctx, Model *model, TrialResult *res,
                       int resumed, char *err, size_t errlen)
{
    int rc = trainer_init(tr, s, model, err, errlen);
    if (rc != 0) return rc;
    if (resumed) {
        if (train_checkpoint_load(tr, res, ctx->checkpoint, err, errlen) != 0) return -1;
    } else {
        model_init_weights(model, s);
        memcpy(tr->best, model->mem, model->n_params * sizeof *tr->best);
        probe_flow(tr, res->grad_flow);
    }
    return stage_init(tr, err, errlen); /* the curriculum's length, fresh or from the checkpoint */
}

/* The rest of an epoch's updates; *diverged once a gradient norm is not finite. 1 if the trial
 * stopped at a checkpoint (its rank was asked to stop), else 0. */
static int run_updates(Trainer *tr, const TrainCtx *ctx, TrialResult *res, int resumed, double *last_checkpoint,
                       int *diverged)
{
    const Settings *s = tr->s;
    const int updates = s->train_size / s->batch; /* the last partial batch is dropped */
    while (tr->at.update < updates && !*diverged) {
        double norm = train_update(tr, tr->order + (size_t)tr->at.update * s->batch, s->batch, &tr->at.train,
                                   ctx->fault_nan_update);
        tr->at.update++;
        *diverged = !isfinite(norm);
        tr->at.norm_sum += norm;
        tr->at.norm_max = norm > tr->at.norm_max ? norm : tr->at.norm_max;
        const int hold = ctx->fault_hold && !resumed && tr->at.epoch == 0 && tr->at.update == 1;
        if (!*diverged && maybe_checkpoint(tr, ctx, res, last_checkpoint, hold)) return 1;
    }
    return 0;
}

/* After an epoch's updates: its row, and whether the trial stops (converged, diverged, patience
 * spent, or pruned by successive halving through ctx->on_epoch). */
static int close_epoch(Trainer *tr, const TrainCtx *ctx, TrialResult *res, int epoch, int diverged)
{
    const int epochs = trial_epochs(tr->s);
    int stop = end_epoch(tr, res, epoch, diverged);
    if (ctx->on_epoch && ctx->on_epoch(ctx->epoch_arg, res->curves, res->epochs, stop || epoch == epochs) && !stop) {
        stop = 1;
        res->status = STATUS_PRUNED;
        snprintf(res->stop_reason, sizeof res->stop_reason,
                 "pruned at epoch %d: below the top of its group at this rung (successive halving)", epoch);
    }
    tr->at.epoch = epoch, tr->at.update = 0;
    memset(&tr->at.train, 0, sizeof tr->at.train);
    tr->at.norm_sum = tr->at.norm_max = 0;
    return stop;
}

void train_trial(const Settings *s, const TrainCtx *ctx, Model *model, TrialResult *res)
{
    Trainer tr;
    char err[256];
    result_init(res, s);
    const int resumed = ctx->checkpoint && access(ctx->checkpoint, F_OK) == 0;
    int rc = train_start(&tr, s, ctx, model, res, resumed, err, sizeof err);
    if (rc != 0) {
        failed(res, rc, err);
        trainer_free(&tr);
        return;
    }
    if (ctx->log) train_log_header(&tr, ctx->log, ctx->threads);
    res->status = STATUS_DONE;
    const int epochs = trial_epochs(s);
    snprintf(res->stop_reason, sizeof res->stop_reason, "epoch budget of %d used", epochs);
    double last_checkpoint = cs_now_s();
    for (int stop = 0; !stop && tr.at.epoch < epochs;) {
        const int epoch = tr.at.epoch + 1;
        const double t_epoch = cs_now_s();
        int diverged = 0;
        if ((rc = draw_epoch(&tr, epoch, err, sizeof err)) != 0) failed(res, rc, err);
        else shuffle_epoch(&tr, epoch);
        if (rc != 0 || run_updates(&tr, ctx, res, resumed, &last_checkpoint, &diverged)) {
            res->wall_s = trial_wall(&tr); /* failed, or stopped at a checkpoint */
            trainer_free(&tr);
            return;
        }
        stop = close_epoch(&tr, ctx, res, epoch, diverged);
        if (ctx->log) train_log_epoch(ctx->log, s, res, cs_now_s() - t_epoch);
    }
    if ((rc = finish(&tr, res, err, sizeof err)) != 0) failed(res, rc, err);
    res->wall_s = trial_wall(&tr);
    if (ctx->log) train_log_summary(&tr, ctx->log, res);
    trainer_free(&tr);
}

TrialFacts trial_facts(const Settings *s)
{
    const ModelKind *kind = &model_kinds[s->model];
    const TaskShape sh = task_shape(s);
    return (TrialFacts){.model_long_name = kind->long_name, .cell = kind->ops->name, .mult = kind->mult,
                        .gates = kind->ops->G, .gate_letters = kind->ops->gates,
                        .n_params = (long long)model_param_count(s), .chance_acc = task_chance_acc(&sh),
                        .chance_loss = task_chance_loss(&sh), .has_bits = task_has_bits(&sh),
                        .max_updates = trial_epochs(s) * (s->train_size / s->batch),
                        .rho_linear = model_linear_decay(s), .load = sh.lag ? sh.S : 0, .lag = sh.lag};
}

/* ---- benchmark ---------------------------------------------------------------------------- */

double train_calibrate(const Settings *s, int max_steps, double max_s)
{
    Settings at = *s; /* the shape of one update, without the trial's data sets */
    at.train_size = at.val_size = at.test_size = s->batch;
    at.eval_T.n = 0, at.curriculum = 0;
    Model model;
    Trainer tr;
    char err[512];
    double per = NAN;
    if (trainer_init(&tr, &at, &model, err, sizeof err) == 0) {
        model_init_weights(&model, &at);
        Metrics m = {0};
        train_update(&tr, tr.seq, at.batch, &m, 0); /* warm-up */
        const double t0 = cs_now_s();
        int steps = 0;
        do
            train_update(&tr, tr.seq, at.batch, &m, 0);
        while (++steps < max_steps && (steps < 2 || cs_now_s() - t0 < max_s));
        per = (cs_now_s() - t0) / steps;
    }
    trainer_free(&tr);
    model_free(&model);
    return per;
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
    char err[512];
    if (trainer_init(&tr, s, &model, err, sizeof err) != 0) cs_user_error("bench: %s", err);
    model_init_weights(&model, s);
    double *ms = CS_ALLOC((size_t)steps * sizeof *ms);
    const int updates = s->train_size / s->batch;
    shuffle_epoch(&tr, 1);
    for (int i = 0; i < warmup + steps; i++) {
        Metrics m = {0};
        const double t = cs_now_s();
        train_update(&tr, tr.order + (size_t)(i % updates) * s->batch, s->batch, &m, 0);
        if (i >= warmup) ms[i - warmup] = 1e3 * (cs_now_s() - t);
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    double median = steps % 2 ? ms[steps / 2] : 0.5 * (ms[steps / 2 - 1] + ms[steps / 2]);
    if (ctx->log) {
        fprintf(ctx->log, "bench %s H=%d B=%d T=%d L=%d chunk=%d threads=%d: median %.3f ms per step "
                "(min %.3f, max %.3f, %d steps); kernel %s\n", model_kinds[s->model].name, s->hidden, s->batch, s->T,
                tr.shape.L, s->chunk, ctx->threads, median, ms[0], ms[steps - 1], steps, bm_path_name());
        /* what BPTT must keep per step, sequence and layer: the G·H gate activations and two H-wide
         * states (LSTM: c_t, h_t; GRU: h_t, r_t ⊙ h_{t-1}) */
        const double need = (double)tr.shape.L * s->batch * s->layers * (model.G + 2) * s->hidden * sizeof(real);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(ctx->log, "memory: activation buffers %.1f MB; BPTT needs %.1f MB (gates and two states per step); "
                "peak resident %.1f MB (%.2f× the need)\n", tr.ws.bytes / 1e6, need / 1e6, ru.ru_maxrss / 1e3,
                ru.ru_maxrss * 1e3 / need);
    }
    free(ms);
    trainer_free(&tr);
    model_free(&model);
    return median;
}
