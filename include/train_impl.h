/* What the parts of the trial layer share (train.c, train_checkpoint.c, train_log.c): the trainer
 * of one trial and where it stands. Private to that layer: nothing above it includes this. */
#ifndef CS_TRAIN_IMPL_H
#define CS_TRAIN_IMPL_H

#include <stdio.h> /* FILE */

#include "clock.h"        /* cs_now_s */
#include "metrics.h"      /* Metrics */
#include "model.h"        /* Model, Workspace */
#include "optim.h"        /* Optimizer */
#include "settings.h"     /* Settings */
#include "task.h"         /* TaskShape, Dataset */
#include "trial_record.h" /* TrialResult */

/* Where a trial stands; with the weights, best weights and optimizer moments this is everything a
 * checkpoint holds. */
typedef struct {
    int epoch;           /* epochs completed */
    int update;          /* updates done in epoch + 1 */
    Metrics train;       /* epoch + 1: training metrics so far */
    double norm_sum, norm_max;
    int since_best;      /* epochs since the best validation accuracy (at T) */
    double wall_before;  /* seconds spent in earlier runs of this trial */
    int stage_T;         /* the length trained at: T, or the curriculum's current length */
} TrainState;

typedef struct {
    const Settings *s;
    Model *model;
    TaskShape shape;
    Dataset data[SPLIT_COUNT];
    Workspace ws;
    /* the curriculum's current length (while at.stage_T < T): its training and validation sets */
    TaskShape stage_shape;
    Dataset stage[2];
    Workspace stage_ws;
    int staging;
    Optimizer opt;
    real *grad;  /* (n_params) */
    real *best;  /* (n_params) weights of the best validation epoch */
    int *order;  /* (train_size) this epoch's order of the training set */
    int *seq;    /* (largest split) 0, 1, 2, ... */
    TrainState at;
    double t_start; /* when this run of the trial started */
} Trainer;

/* Seconds this trial has taken, in this run and the earlier ones it resumed from. */
static inline double trial_wall(const Trainer *tr) { return tr->at.wall_before + cs_now_s() - tr->t_start; }

/* The trainer's state and the result so far into the checkpoint at path (train_checkpoint.c). 0,
 * or -1 with err. */
int train_checkpoint_save(const Trainer *tr, const TrialResult *res, const char *path, char *err, size_t errlen);
/* ... and back: the trainer resumes where the checkpoint was written. 0, or -1 with err (other
 * settings, damaged, inconsistent). */
int train_checkpoint_load(Trainer *tr, TrialResult *res, const char *path, char *err, size_t errlen);

/* The log of `copysweep train` (train_log.c): the header, a line per epoch, the summary. */
void train_log_header(const Trainer *tr, FILE *out, int threads);
void train_log_epoch(FILE *out, const Settings *s, const TrialResult *res, double epoch_s);
void train_log_summary(const Trainer *tr, FILE *out, const TrialResult *r);

#endif
