/* One trial: data, initialization, the training loop with early stopping on validation accuracy,
 * model selection, and the single evaluation of the selected model on the test set. A trial can
 * stop at any update, leave a checkpoint, and later continue from it to bit-identical results. */
#ifndef CS_TRAIN_H
#define CS_TRAIN_H

#include <stdio.h> /* FILE */

#include "cell.h"     /* Model */
#include "pack.h"     /* Pack, Unpack */
#include "settings.h" /* Settings */
#include "trial_record.h"    /* TrialResult, TrialFacts */

typedef struct {
    FILE *log; /* header, epoch lines and summary go here; NULL: silent */
    int threads;
    /* Polled after every update; nonzero: write the checkpoint and return with STATUS_PENDING. */
    int (*should_stop)(void *arg);
    void *stop_arg;
    const char *checkpoint;    /* resume from this file if it exists, and write it; NULL: never */
    double checkpoint_every_s; /* also write it this often; 0: only when stopped */
    long fault_nan_update;     /* fault injection for tests: the loss of this update (counting
                                  from 1 over the whole trial) becomes NaN; 0 = never */
    int fault_hold;            /* fault injection for tests: a trial that starts afresh waits after its
                                  first update until should_stop (so that a sweep cannot end before a
                                  signal reaches it) */
    /* Called after every epoch with the curve rows so far (those of a resumed checkpoint too); last:
     * the trial ends after this epoch anyway. Nonzero: the trial stops after this epoch as PRUNED
     * (successive halving, halving.h). */
    int (*on_epoch)(void *arg, const CurveRow *rows, int n, int last);
    void *epoch_arg;
} TrainCtx;

/* The epochs a trial trains for: its setting, or with epochs = auto
 * max(1, round(budget / (train-size / batch · L))). */
int trial_epochs(const Settings *s);

/* Train one trial. On return res holds everything measured and, unless the trial failed or
 * stopped early, model holds the selected weights (allocated here; model_free it). */
void train_trial(const Settings *s, const TrainCtx *ctx, Model *model, TrialResult *res);

/* What a results file states of a trial with these settings besides its result. */
TrialFacts trial_facts(const Settings *s);

/* The curriculum length after `length` (the setting curriculum-growth): min(T, ⌈length · growth⌉),
 * and always longer than length below T. */
int curriculum_next(int length, int T, double growth);

/* Median milliseconds of one training step (forward, backward, clipping, optimizer) over `steps`
 * steps after `warmup`, printed to out with the settings that ran. */
double train_bench(const Settings *s, const TrainCtx *ctx, int warmup, int steps);

/* Seconds of one training update with these settings on this machine, the wall time of at least 2
 * and at most max_steps updates (stopping once max_s is spent) after one to warm up, with the
 * threads this rank has. NaN if the settings cannot be trained (their data cannot be made, or the
 * memory is not there). */
double train_calibrate(const Settings *s, int max_steps, double max_s);

#endif
