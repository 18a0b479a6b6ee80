/* Asynchronous successive halving (Li et al. 2020, "ASHA"), the stopping form: a searched trial that
 * reaches a rung (an epoch of [halving] rungs) goes on only if fewer than max(1, ⌊n/η⌋) of the n
 * trials of its group recorded at that rung so far (itself included) did better; otherwise it
 * stops, pruned. A group is the trials that differ only in the searched settings (job_group), so a
 * model is never pruned against another, nor a seed against another. The metric at a rung is the
 * best of the trial's validation values (bits or accuracy) up to that epoch: the value its model
 * selection would keep. Decisions depend on the order in which trials reach a rung; with one worker
 * that order is the sweep's, and a sweep resumed after a kill decides as the uninterrupted one. */
#ifndef CS_HALVING_H
#define CS_HALVING_H

#include <stdint.h> /* uint64_t */

#include "trial_record.h"   /* CurveRow */

#define HALVING_MAX_RUNGS 16

typedef enum { METRIC_VAL_BITS, METRIC_VAL_ACC } HalvingMetric;

typedef struct {
    int n_rungs;          /* 0: no [halving] */
    int rungs[HALVING_MAX_RUNGS]; /* epochs, increasing */
    double reduction;     /* η: a trial goes on past a rung if it is in the top 1/η of its group there */
    HalvingMetric metric;
    int line, rungs_line, metric_line;
} HalvingSpec;

/* A key of [halving] (rungs, reduction or metric) with its value into h (line: where, for h's
 * *_line fields). 0, or -1 with "key 'K': ..." (without a place) in err. */
int halving_option(HalvingSpec *h, const char *name, char *value, int line, char *err, size_t errlen);

typedef struct Halving Halving;

Halving *halving_new(const HalvingSpec *spec);
void halving_free(Halving *h);
/* The rung that epoch is, or -1. */
int halving_rung(const HalvingSpec *spec, int epoch);
/* A curve row's validation value of the metric (NaN: none; a diverged epoch, or a program that does
 * not report it). */
double halving_row_value(const HalvingSpec *spec, const CurveRow *row);
/* The metric of rows[0..n): the best validation value so far (NaN rows count as worst). */
double halving_metric(const HalvingSpec *spec, const CurveRow *rows, int n);
/* Record a value at a rung of a group; with decide, 1 if the trial goes on, 0 if it stops. */
int halving_record(Halving *h, uint64_t group, int rung, double value, int decide);
/* The values recorded at a rung of a group so far. */
long halving_count(const Halving *h, uint64_t group, int rung);

#endif
