/* [search] sampler = tpe, run in generations: in each group (the trials that differ only in the
 * searched settings, job_group: one model, T and seed), generation 0's values are the random draws of
 * job_draw_samples, and generation g's are drawn by TPE (tpe.h) once every trial of the generations
 * before it has a final status, from their objectives in trial order, with the stream keyed by
 * (RNG_TPE, sampler-seed, group, sample, setting). The values are therefore the same whatever the
 * rank count, the order in which trials finish, and the runs a sweep took; growing `generations`
 * keeps the earlier ones. A trial's identity (its key) is that of its placeholder draw, so that it
 * is the same row of the results file before and after its values are drawn. */
#ifndef CS_GENERATIONS_H
#define CS_GENERATIONS_H

#include "plan.h"         /* Plan */
#include "trial_record.h" /* TrialResult, CurveRow */

typedef struct Generations Generations;

/* The groups of the plan's TPE trials, with every generation whose predecessors are final (status,
 * value: each trial's status and objective, NaN if none) drawn into p->trials[].s. A trial with
 * recorded values (recorded: NULL, or per trial and searched key a text of SETTINGS_TEXT_MAX bytes,
 * "" where none; a results file's finished trials) takes them instead of a draw. NULL if the job's
 * sampler is not tpe. */
Generations *generations_new(Plan *p, const int *status, const double *value, const char *recorded);
void generations_free(Generations *g);
/* Whether trial k can run: its values are drawn (always, for a trial that is not TPE's). */
int generations_ready(const Generations *g, long k);
/* Trial k got a final status with its objective value (NaN: none): any generation this completes is
 * drawn. Returns how many trials were drawn. */
long generations_finish(Generations *g, long k, int status, double value);
/* How many generations of trial k's group are drawn (0 if it is not TPE's). */
int generations_drawn(const Generations *g, long k);

/* A trial's objective: the best value of its validation curve over its epochs (the value model
 * selection keeps; a pruned trial's is its last rung's), its result column (test_bits only where the
 * task has bits, has_bits), or its program's final metric; NaN if none. */
double objective_of_result(const Objective *o, const TrialResult *res, int has_bits);
double objective_of_curves(const Objective *o, const CurveRow *rows, int n);

#endif
