/* [search] sampler = tpe in generations (generations.h). */
#include "generations.h"

#include <math.h>   /* NAN, INFINITY, isnan */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* qsort_r, strtod */
#include <string.h> /* strcmp, strlen */

#include "check.h"   /* CS_ALLOC, CS_FAIL */
#include "metrics.h" /* metrics_bits, metrics_acc, metrics_loss */
#include "pack.h"    /* pack_hash */
#include "rng.h"     /* rng_stream, RNG_KEY */
#include "tpe.h"     /* tpe_suggest */

struct Generations {
    Plan *plan;
    long n;           /* TPE trials */
    long *trials;     /* (n) sorted by group, then sample: each group contiguous */
    long n_groups;
    long *first;      /* (n_groups + 1) group q is trials[first[q] .. first[q + 1]) */
    long *group_of;   /* (plan->n) index of trial k's group, -1 if it is not TPE's */
    int *drawn;       /* (n_groups) generations drawn: 1 .. generations */
    int *final;       /* (plan->n) a final status (done, diverged, pruned or failed) */
    int *failed;      /* (plan->n) */
    unsigned char *recorded; /* (plan->n) its values came from the results file: never drawn again */
    double *value;    /* (plan->n) objective, NaN if none */
};

double objective_of_curves(const Objective *o, const CurveRow *rows, int n)
{
    double best = NAN;
    for (int i = 0; i < n; i++) {
        const double v = o->kind == OBJ_VAL_BITS ? rows[i].val_bits : o->kind == OBJ_VAL_ACC ? rows[i].val_acc
                         : o->kind == OBJ_VAL_LOSS ? rows[i].val_loss : NAN;
        if (!isnan(v) && (isnan(best) || (o->maximize ? v > best : v < best))) best = v;
    }
    return best;
}

double objective_of_result(const Objective *o, const TrialResult *res, int has_bits)
{
    if (o->kind == OBJ_COLUMN) /* as results_write.c writes the column */
        return strcmp(o->column, "test_bits") == 0 ? (has_bits ? metrics_bits(&res->test) : NAN)
               : strcmp(o->column, "test_acc") == 0 ? metrics_acc(&res->test)
               : strcmp(o->column, "test_loss") == 0 ? metrics_loss(&res->test)
                                                     : res->best_val_acc;
    if (o->kind != OBJ_EXEC_METRIC) return objective_of_curves(o, res->curves, res->epochs);
    for (int i = 0; res->exec && i < res->exec->n_final; i++)
        if (strcmp(res->exec->final_names[i], o->name) == 0) return res->exec->final_values[i];
    return NAN;
}

static int cmp_group_sample(const void *a, const void *b, void *arg)
{
    const PlanTrial *t = arg;
    const long x = *(const long *)a, y = *(const long *)b;
    if (t[x].group != t[y].group) return t[x].group < t[y].group ? -1 : 1;
    if (t[x].sample != t[y].sample) return t[x].sample < t[y].sample ? -1 : 1;
    return (x > y) - (x < y);
}

/* Trial k's value of a searched key in the key's units (a choice's index: the choice whose value, as
 * the setting reads it, is the trial's; `1e-3` as written is the trial's 0.001). */
static double value_of(const Plan *p, long k, const SearchKey *key)
{
    char text[256], choice[256];
    settings_format(&p->trials[k].s, key->info, text, sizeof text);
    if (key->dist != DIST_CHOICE) return strtod(text, NULL);
    for (int c = 0; c < key->n_choices; c++) {
        Settings s;
        settings_default(&s);
        job_set_value(&s, key->info, key->choices[c]);
        settings_format(&s, key->info, choice, sizeof choice);
        if (strcmp(text, choice) == 0) return c;
    }
    CS_FAIL("trial %ld: '%s' is not a choice of %s", k, text, key->info->key);
}

/* Generation gen of group q drawn from the final trials of the generations before it (failed ones
 * left out), in sample order; each drawn trial then joins them as the worst (the "constant liar" of
 * batch TPE), so that the samples of one generation spread out instead of drawing the same point. */
static long draw(Generations *g, long q, int gen)
{
    Plan *p = g->plan;
    const Search *se = &p->job.search;
    const long lo = g->first[q], hi = g->first[q + 1], m = hi - lo;
    double *xs = CS_ALLOC((size_t)m * (size_t)(se->n_keys + 1) * sizeof *xs + 1), *ys = xs + m * se->n_keys;
    int n = 0;
    for (long i = lo; i < hi; i++) {
        const long k = g->trials[i];
        if (p->trials[k].generation >= gen || g->failed[k]) continue;
        for (int j = 0; j < se->n_keys; j++) xs[j * m + n] = value_of(p, k, &se->keys[j]);
        const double v = g->value[k];
        ys[n++] = isnan(v) ? -INFINITY : se->objective.maximize ? v : -v;
    }
    const int observed = n;
    long drawn = 0;
    for (long i = lo; i < hi; i++) {
        const long k = g->trials[i];
        PlanTrial *t = &p->trials[k];
        if (t->generation != gen) continue;
        for (int j = 0; j < se->n_keys && observed > 0 && !g->recorded[k]; j++) { /* none observed: the random draw stays */
            const SearchKey *key = &se->keys[j];
            Rng r = rng_stream(RNG_KEY(RNG_TPE, se->seed, t->group, (uint64_t)t->sample,
                                       pack_hash(key->info->key, strlen(key->info->key))));
            const double v = tpe_suggest(key, xs + j * m, ys, n, &r);
            char text[256];
            if (key->dist == DIST_CHOICE) snprintf(text, sizeof text, "%s", key->choices[(int)v]);
            else search_format(key, v, text, sizeof text);
            job_set_value(&t->s, key->info, text);
        }
        for (int j = 0; j < se->n_keys; j++) xs[j * m + n] = value_of(p, k, &se->keys[j]);
        ys[n++] = -INFINITY;
        drawn += !g->recorded[k];
        t->drawn = 1;
    }
    free(xs);
    return drawn;
}

/* Every generation of group q whose predecessors are all final, drawn. */
static long advance(Generations *g, long q)
{
    const int G = g->plan->job.search.generations;
    long drawn = 0;
    while (g->drawn[q] < G) {
        for (long i = g->first[q]; i < g->first[q + 1]; i++) {
            const long k = g->trials[i];
            if (g->plan->trials[k].generation < g->drawn[q] && !g->final[k]) return drawn;
        }
        drawn += draw(g, q, g->drawn[q]++);
    }
    return drawn;
}

static int is_final(int status)
{
    return status == STATUS_DONE || status == STATUS_DIVERGED || status == STATUS_PRUNED || status == STATUS_FAILED;
}

Generations *generations_new(Plan *p, const int *status, const double *value, const char *recorded)
{
    if (p->job.search.sampler != SAMPLER_TPE) return NULL;
    Generations *g = CS_CALLOC(sizeof *g);
    g->plan = p;
    g->trials = CS_ALLOC((size_t)p->n * sizeof *g->trials + 1);
    g->group_of = CS_ALLOC((size_t)p->n * sizeof *g->group_of + 1);
    g->final = CS_CALLOC((size_t)p->n * sizeof *g->final + 1);
    g->failed = CS_CALLOC((size_t)p->n * sizeof *g->failed + 1);
    g->value = CS_ALLOC((size_t)p->n * sizeof *g->value + 1);
    g->recorded = CS_CALLOC((size_t)p->n + 1);
    const Search *se = &p->job.search;
    for (long k = 0; k < p->n; k++) {
        g->group_of[k] = -1;
        g->final[k] = is_final(status[k]), g->failed[k] = status[k] == STATUS_FAILED;
        g->value[k] = value[k];
        if (p->trials[k].sample < 0) continue;
        g->trials[g->n++] = k;
        const char *text = recorded ? recorded + (size_t)k * (size_t)se->n_keys * SETTINGS_TEXT_MAX : NULL;
        if (!g->final[k] || !text || !text[0]) continue;
        for (int j = 0; j < se->n_keys; j++) /* what it ran, as the file holds it */
            job_set_value(&p->trials[k].s, se->keys[j].info, text + (size_t)j * SETTINGS_TEXT_MAX);
        g->recorded[k] = 1, p->trials[k].drawn = 1;
    }
    qsort_r(g->trials, (size_t)g->n, sizeof *g->trials, cmp_group_sample, p->trials);
    g->first = CS_ALLOC(((size_t)g->n + 2) * sizeof *g->first);
    for (long i = 0; i < g->n; i++) {
        if (!i || p->trials[g->trials[i]].group != p->trials[g->trials[i - 1]].group) g->first[g->n_groups++] = i;
        g->group_of[g->trials[i]] = g->n_groups - 1;
    }
    g->first[g->n_groups] = g->n;
    g->drawn = CS_ALLOC((size_t)g->n_groups * sizeof *g->drawn + 1);
    for (long q = 0; q < g->n_groups; q++) {
        g->drawn[q] = 1;
        advance(g, q);
    }
    return g;
}

void generations_free(Generations *g)
{
    if (!g) return;
    free(g->trials), free(g->first), free(g->group_of), free(g->drawn), free(g->final), free(g->failed), free(g->value);
    free(g->recorded);
    free(g);
}

int generations_ready(const Generations *g, long k)
{
    return !g || g->group_of[k] < 0 || g->plan->trials[k].generation < g->drawn[g->group_of[k]];
}

long generations_finish(Generations *g, long k, int status, double value)
{
    if (!g || g->group_of[k] < 0 || !is_final(status)) return 0;
    g->final[k] = 1, g->failed[k] = status == STATUS_FAILED, g->value[k] = value;
    return advance(g, g->group_of[k]);
}

int generations_drawn(const Generations *g, long k)
{
    return g && g->group_of[k] >= 0 ? g->drawn[g->group_of[k]] : 0;
}
