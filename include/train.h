/* One trial: data, initialization, the training loop with early stopping on validation accuracy,
 * model selection, and the single evaluation of the selected model on the test set. A trial can
 * stop at any update, leave a checkpoint, and later continue from it to bit-identical results. */
#ifndef CS_TRAIN_H
#define CS_TRAIN_H

#include <stdio.h> /* FILE */

#include "cell.h"     /* Model */
#include "pack.h"     /* Pack, Unpack */
#include "metrics.h"  /* Metrics */
#include "settings.h" /* Settings */

enum { STATUS_PENDING, STATUS_RUNNING, STATUS_DONE, STATUS_DIVERGED, STATUS_FAILED };
extern const char *const status_names[]; /* "pending", "running", "done", "diverged", "failed" */

#define CONV_COUNT 3
extern const double conv_thresholds[CONV_COUNT]; /* 0.5, 0.9, 0.99 validation symbol accuracy */

/* One row of the per-epoch curves. */
typedef struct {
    int epoch;
    double train_loss, train_acc; /* over the epoch's updates, before each update */
    double val_loss, val_acc;     /* after the epoch */
    double val_bits;              /* memory in bits on the validation split (SPEC "Memory in bits") */
    double grad_norm;             /* mean ‖∇θ‖ before clipping over the epoch's updates */
    double grad_norm_max;
    double lr;
    double wall_s;                /* seconds since the trial started */
    int train_T;                  /* the length trained at in this epoch (T, or the curriculum's) */
    double stage_val_acc;         /* validation accuracy at train_T (curriculum; NaN at T) */
} CurveRow;

/* The selected model tested at another length (the eval-T setting). */
typedef struct {
    int T;
    Metrics test;     /* on the test split of that length */
    int N, K;         /* the scored window and the outputs per step */
    double *ex_out;   /* (N, K) the outputs on the first test sequence: probabilities */
    int *ex_target;   /* (N) its targets (class or bits), -1 where a step is not scored */
} EvalResult;

typedef struct {
    int status;              /* DONE, DIVERGED, FAILED, or PENDING: stopped early, checkpoint written */
    char stop_reason[256];
    int epochs;              /* epochs run (rows of curves) */
    int best_epoch;          /* epoch of the selected weights; 0 = the initial weights */
    double best_val_acc;
    Metrics test;            /* the selected model on the test set */
    double *per_position;    /* (N) test accuracy per step of the scored window (NaN: none scored) */
    double *per_position_ce; /* (N) test loss per scored output at each step, nats (NaN: none scored) */
    double *per_position_bits;    /* (N) each step's part of the test bits: they add up to test bits */
    double *per_position_bits_se; /* (N) its standard error over the test sequences */
    double temperature;      /* fitted on the validation split: softmax(z / temperature); NaN: none */
    Metrics test_cal;        /* the test set at that temperature: the recalibrated bound */
    int conv_epoch[CONV_COUNT]; /* first epoch with validation accuracy ≥ threshold, -1 never */
    double conv_wall[CONV_COUNT]; /* wall seconds at that epoch, -1 never */
    double wall_s;
    CurveRow *curves;        /* (epochs) */
    int L, N;
    double *grad_flow;       /* (2, L) ‖∂L/∂h_t‖ on the probe batch: initial and final weights */
    int flow_epochs[2];      /* the epochs of the two rows */
    double rho[2];           /* the decay per step of the two rows over the steps before the scored
                                window (SPEC "The gradient's decay per step"); NaN: not measured */
    long data_shared;        /* validation and test sequences also in training (must be 0) */
    int n_eval;
    EvalResult *eval;        /* (n_eval) one per eval-T length, in its order */
} TrialResult;

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
} TrainCtx;

/* The epochs a trial trains for: its setting, or with epochs = auto
 * max(1, round(budget / (train-size / batch · L))). */
int trial_epochs(const Settings *s);

/* Train one trial. On return res holds everything measured and, unless the trial failed or
 * stopped early, model holds the selected weights (allocated here; model_free it). */
void train_trial(const Settings *s, const TrainCtx *ctx, Model *model, TrialResult *res);
void trial_result_free(TrialResult *res);

/* A finished trial as bytes (for MPI), and back: res and model are allocated from s. */
void trial_result_pack(Pack *p, const TrialResult *res, const Model *model);
int trial_result_unpack(Unpack *u, const Settings *s, TrialResult *res, Model *model);

/* The curriculum length after `length` (the setting curriculum-growth): min(T, ⌈length · growth⌉),
 * and always longer than length below T. */
int curriculum_next(int length, int T, double growth);

/* Median milliseconds of one training step (forward, backward, clipping, optimizer) over `steps`
 * steps after `warmup`, printed to out with the settings that ran. */
double train_bench(const Settings *s, const TrainCtx *ctx, int warmup, int steps);

#endif
