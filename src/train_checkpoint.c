/* A trial's checkpoint: its settings (to refuse another trial's), the trainer's position, weights,
 * best weights and optimizer moments, and the result so far, packed and checksummed. */
#include "train_impl.h"

#include <stdio.h>  /* open_memstream, snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* strcmp */

#include "check.h"          /* CS_FAIL */
#include "checkpoint.h"     /* checkpoint_read, checkpoint_write */
#include "pack.h"           /* Pack, Unpack */
#include "settings_table.h" /* settings_write_ini */
#include "train.h"          /* trial_epochs */

static void settings_text(const Settings *s, char **text)
{
    size_t len;
    FILE *mem = open_memstream(text, &len);
    if (!mem) CS_FAIL("open_memstream failed");
    settings_write_ini(s, mem);
    fclose(mem);
}

static void pack_metrics(Pack *p, const Metrics *m)
{
    pack_f64(p, m->loss);
    pack_i64(p, m->symbols), pack_i64(p, m->correct), pack_i64(p, m->sequences), pack_i64(p, m->seq_correct);
    pack_f64(p, m->info), pack_f64(p, m->info_sq), pack_f64(p, m->info_max);
}

static void unpack_metrics(Unpack *u, Metrics *m)
{
    m->loss = unpack_f64(u);
    m->symbols = unpack_i64(u), m->correct = unpack_i64(u);
    m->sequences = unpack_i64(u), m->seq_correct = unpack_i64(u);
    m->info = unpack_f64(u), m->info_sq = unpack_f64(u), m->info_max = unpack_f64(u);
}

static void pack_progress_scalars(Pack *p, const TrialResult *r)
{
    pack_i64(p, r->best_epoch);
    pack_f64(p, r->best_val_acc);
    for (int k = 0; k < CONV_COUNT; k++) pack_i64(p, r->conv_epoch[k]), pack_f64(p, r->conv_wall[k]);
}

static void unpack_progress_scalars(Unpack *u, TrialResult *r, int max_epochs)
{
    r->best_epoch = (int)unpack_int(u, 0, max_epochs);
    r->best_val_acc = unpack_f64(u);
    for (int k = 0; k < CONV_COUNT; k++) {
        r->conv_epoch[k] = (int)unpack_int(u, -1, max_epochs);
        r->conv_wall[k] = unpack_f64(u);
    }
}

int train_checkpoint_save(const Trainer *tr, const TrialResult *res, const char *path, char *err, size_t errlen)
{
    const size_t n = tr->model->n_params, bytes = n * sizeof(real);
    char *text;
    settings_text(tr->s, &text);
    Pack p;
    pack_init(&p);
    pack_str(&p, text);
    pack_i64(&p, (int64_t)sizeof(real));
    pack_i64(&p, (int64_t)n);
    pack_i64(&p, tr->at.epoch), pack_i64(&p, tr->at.update);
    pack_metrics(&p, &tr->at.train);
    pack_f64(&p, tr->at.norm_sum), pack_f64(&p, tr->at.norm_max);
    pack_i64(&p, tr->at.since_best);
    pack_i64(&p, tr->at.stage_T);
    pack_f64(&p, trial_wall(tr));
    pack_i64(&p, tr->opt.step);
    pack_bytes(&p, tr->model->mem, bytes);
    pack_bytes(&p, tr->best, bytes);
    pack_bytes(&p, tr->opt.m, bytes);
    if (tr->opt.v) pack_bytes(&p, tr->opt.v, bytes);
    pack_progress_scalars(&p, res);
    curve_rows_pack(&p, res->curves, res->epochs);
    pack_bytes(&p, res->grad_flow, (size_t)res->L * sizeof *res->grad_flow); /* row 0 */
    int rc = checkpoint_write(path, &p, err, errlen);
    pack_free(&p);
    free(text);
    return rc;
}

int train_checkpoint_load(Trainer *tr, TrialResult *res, const char *path, char *err, size_t errlen)
{
    Pack body;
    if (checkpoint_read(path, &body, err, errlen) != 0) return -1;
    const size_t n = tr->model->n_params, bytes = n * sizeof(real);
    const int E = trial_epochs(tr->s), updates = tr->s->train_size / tr->s->batch;
    char *want, text[8192];
    settings_text(tr->s, &want);
    Unpack u = unpack_start(body.buf, body.len);
    unpack_str(&u, text, sizeof text);
    int same = !u.bad && strcmp(text, want) == 0;
    free(want);
    if (!same || unpack_i64(&u) != (int64_t)sizeof(real) || unpack_i64(&u) != (int64_t)n) {
        snprintf(err, errlen, "checkpoint '%s' belongs to other settings", path);
        pack_free(&body);
        return -1;
    }
    tr->at.epoch = (int)unpack_int(&u, 0, E);
    tr->at.update = (int)unpack_int(&u, 0, updates);
    unpack_metrics(&u, &tr->at.train);
    tr->at.norm_sum = unpack_f64(&u), tr->at.norm_max = unpack_f64(&u);
    tr->at.since_best = (int)unpack_int(&u, 0, E);
    tr->at.stage_T = (int)unpack_int(&u, tr->s->curriculum ? tr->s->curriculum : tr->s->T, tr->s->T);
    tr->at.wall_before = unpack_f64(&u);
    tr->opt.step = (long)unpack_int(&u, 0, (int64_t)E * updates);
    unpack_bytes(&u, tr->model->mem, bytes);
    unpack_bytes(&u, tr->best, bytes);
    unpack_bytes(&u, tr->opt.m, bytes);
    if (tr->opt.v) unpack_bytes(&u, tr->opt.v, bytes);
    unpack_progress_scalars(&u, res, E);
    res->epochs = curve_rows_unpack(&u, res->curves, E);
    unpack_bytes(&u, res->grad_flow, (size_t)res->L * sizeof *res->grad_flow);
    int bad = u.bad || u.pos != body.len || res->epochs != tr->at.epoch;
    pack_free(&body);
    if (bad) {
        snprintf(err, errlen, "checkpoint '%s' is inconsistent", path);
        return -1;
    }
    return 0;
}
