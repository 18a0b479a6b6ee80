/* The cost model of a sweep and its calibration on this machine (estimate.h). */
#include "estimate.h"

#include <math.h>   /* isfinite */
#include <stdlib.h> /* free */
#include <unistd.h> /* sysconf */

#include "check.h" /* CS_ALLOC */
#include "clock.h" /* cs_now_s */
#include "model.h" /* model_param_count */
#include "task.h"  /* task_shape */
#include "task_kinds.h" /* task_shape */
#include "train.h" /* trial_epochs, train_calibrate */

double estimate_cost(const Settings *s)
{
    const double p = (double)model_param_count(s), L = task_shape(s).L;
    const double E = trial_epochs(s);
    return 1e-9 * p * L * (6.0 * E * s->train_size + 2.0 * (E * s->val_size + s->test_size));
}

/* Trials of one kind run at the same seconds per GFLOP: what sets the speed besides the length. */
static int same_kind(const Settings *a, const Settings *b)
{
    return a->model == b->model && a->task == b->task && a->hidden == b->hidden && a->layers == b->layers &&
           a->embed == b->embed && a->batch == b->batch && a->chunk == b->chunk && a->vocab == b->vocab &&
           (a->dropout > 0) == (b->dropout > 0);
}

/* GFLOP of one training update of s: 6 per parameter, step and sequence. */
static double update_cost(const Settings *s)
{
    return 6e-9 * (double)model_param_count(s) * task_shape(s).L * s->batch;
}

/* Seconds per GFLOP of the trials of s[i]'s kind, timed at the kind's shortest trial by `copies`
 * calibrations at once, as that many workers compute side by side (sharing cores, caches and memory
 * bandwidth): the mean of their times. NaN if it cannot be trained. */
static double kind_rate(const Settings *s, long n, long i, int copies)
{
    const Settings *shortest = &s[i]; /* the quickest update to time */
    for (long j = i + 1; j < n; j++)
        if (same_kind(&s[i], &s[j]) && task_shape(&s[j]).L < task_shape(shortest).L) shortest = &s[j];
    double sum = 0;
    int timed = 0;
#pragma omp parallel for num_threads(copies) reduction(+ : sum, timed)
    for (int c = 0; c < copies; c++) {
        const double per = train_calibrate(shortest, 20, ESTIMATE_KIND_S);
        if (isfinite(per)) sum += per, timed++;
    }
    return timed == copies ? sum / copies / update_cost(shortest) : NAN;
}

int estimate_wall(const Settings *s, long n, int workers, int threads, Estimate *e)
{
    *e = (Estimate){0};
    long *kind = CS_ALLOC((size_t)(n ? n : 1) * sizeof *kind); /* each trial's kind, in reps */
    long *reps = CS_ALLOC((size_t)(n ? n : 1) * sizeof *reps); /* the first trial of each kind */
    double *rate = CS_ALLOC((size_t)(n ? n : 1) * sizeof *rate); /* each kind's seconds per GFLOP */
    double rate_sum = 0;
    long kinds = 0;
    /* workers of one thread each are timed side by side, as many as there are cores for them; a
     * worker of several threads alone (its own threads share the cores) */
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const int copies = threads > 1 ? 1 : (int)(workers < cores ? workers : cores > 0 ? cores : 1);
    const double t0 = cs_now_s();
    for (long i = 0; i < n; i++) {
        long k = 0;
        while (k < kinds && !same_kind(&s[i], &s[reps[k]])) k++;
        kind[i] = k;
        if (k < kinds) continue;
        reps[kinds++] = i;
        rate[k] = cs_now_s() - t0 < ESTIMATE_TOTAL_S ? kind_rate(s, n, i, copies) : NAN;
        if (isfinite(rate[k])) rate_sum += rate[k], e->kinds++;
    }
    e->calib_s = cs_now_s() - t0;
    int rc = -1;
    if (e->kinds) {
        double *free_at = CS_CALLOC((size_t)(workers > 0 ? workers : 1) * sizeof *free_at);
        for (long i = 0; i < n; i++) {
            const double r = isfinite(rate[kind[i]]) ? rate[kind[i]] : rate_sum / e->kinds;
            const double t = estimate_cost(&s[i]) * r;
            int w = 0; /* the worker free first takes the next trial */
            for (int k = 1; k < workers; k++) w = free_at[k] < free_at[w] ? k : w;
            free_at[w] += t;
            e->total_s += t;
            e->longest_s = t > e->longest_s ? t : e->longest_s;
        }
        for (int k = 0; k < workers; k++) e->wall_s = free_at[k] > e->wall_s ? free_at[k] : e->wall_s;
        free(free_at);
        rc = 0;
    }
    free(kind), free(reps), free(rate);
    return rc;
}
