/* The cost model of a sweep: each trial's compute in GFLOP at its full epoch budget, and the wall
 * time a set of trials is expected to take on this machine, from that model calibrated by timing
 * a few training updates of each kind of trial. */
#ifndef CS_ESTIMATE_H
#define CS_ESTIMATE_H

#include "settings.h" /* Settings */

/* Estimated GFLOP of a trial at its full epoch budget: 6 FLOP per parameter and step for a
 * training sequence (2 forward, 4 backward), 2 for an evaluated one. */
double estimate_cost(const Settings *s);

typedef struct {
    double wall_s;    /* the expected makespan on the workers */
    double total_s;   /* the trials' compute, summed */
    double longest_s; /* the longest trial's */
    double calib_s;   /* seconds the calibration took */
    int kinds;        /* kinds of trial timed (model, hidden, layers, embed, batch, chunk, dropout, task) */
} Estimate;

/* The expected wall time of the trials s[0..n), dispatched in this order (the sweep's: the largest
 * cost first) to whichever of `workers` ranks of `threads` threads each is free first: each trial
 * takes its cost times the seconds per GFLOP timed for its kind (train_calibrate at its shortest
 * length, at most ESTIMATE_KIND_S of CPU per kind; once ESTIMATE_TOTAL_S is spent, the kinds not yet
 * timed take the mean rate of those timed). 0, or -1 if no kind could be timed. */
#define ESTIMATE_KIND_S 0.3
#define ESTIMATE_TOTAL_S 4.0
int estimate_wall(const Settings *s, long n, int workers, int threads, Estimate *e);

#endif
