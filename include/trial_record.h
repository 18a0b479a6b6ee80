/* The record of one trial, as the trial layer (train.h) fills it and the results layer (results.h)
 * writes it: its status, per-epoch curves, test metrics, and the facts of its settings that a
 * results file states beside them. */
#ifndef CS_TRIAL_RECORD_H
#define CS_TRIAL_RECORD_H

#include "metrics.h" /* Metrics */
#include "pack.h"    /* Pack, Unpack */

/* PRUNED: stopped at a rung of [halving] (jobfile.h), its selected weights tested like a done one's */
enum { STATUS_PENDING, STATUS_RUNNING, STATUS_DONE, STATUS_DIVERGED, STATUS_FAILED, STATUS_PRUNED, STATUS_COUNT };
extern const char *const status_names[]; /* "pending", "running", "done", "diverged", "failed", "pruned" */

#define CONV_COUNT 3
#define TRIAL_MAX_GATES 4 /* the most gates per hidden unit of a cell (the LSTMs') */
extern const double conv_thresholds[CONV_COUNT]; /* 0.5, 0.9, 0.99 validation symbol accuracy */

/* The fields of one row of the per-epoch curves, declared once: X(C type, name, HDF5 type, meaning).
 * The struct, its packing for MPI and checkpoints, and the compound type of /trial/<n>/curves (whose
 * field names the Python readers take from the file) are generated from this list. */
#define CURVE_FIELDS(X)                                                                                    \
    X(int, epoch, H5T_NATIVE_INT32, "1, 2, ...")                                                           \
    X(double, train_loss, H5T_NATIVE_DOUBLE, "over the epoch's updates, before each update")               \
    X(double, train_acc, H5T_NATIVE_DOUBLE, "over the epoch's updates, before each update")                \
    X(double, val_loss, H5T_NATIVE_DOUBLE, "after the epoch")                                              \
    X(double, val_acc, H5T_NATIVE_DOUBLE, "after the epoch")                                               \
    X(double, val_bits, H5T_NATIVE_DOUBLE, "memory in bits on the validation split (docs/method.md)")                \
    X(double, grad_norm, H5T_NATIVE_DOUBLE, "mean ‖∇θ‖ before clipping over the epoch's updates")          \
    X(double, grad_norm_max, H5T_NATIVE_DOUBLE, "its largest value")                                       \
    X(double, lr, H5T_NATIVE_DOUBLE, "learning rate")                                                      \
    X(double, wall_s, H5T_NATIVE_DOUBLE, "seconds since the trial started")                                \
    X(int, train_T, H5T_NATIVE_INT32, "the length trained at in this epoch (T, or the curriculum's)")      \
    X(double, stage_val_acc, H5T_NATIVE_DOUBLE, "validation accuracy at train_T (curriculum; NaN at T)")

typedef struct {
#define CURVE_MEMBER(ctype, name, h5type, meaning) ctype name;
    CURVE_FIELDS(CURVE_MEMBER)
#undef CURVE_MEMBER
} CurveRow;

/* Rows as bytes, and back: unpack returns the number of rows (at most max); 0 if u turned bad. */
void curve_rows_pack(Pack *p, const CurveRow *rows, int n);
int curve_rows_unpack(Unpack *u, CurveRow *rows, int max);

/* The selected model tested at another length (the eval-T setting). */
typedef struct {
    int T;
    Metrics test;     /* on the test split of that length */
    double temperature; /* fitted on the validation split of that length; NaN: none */
    Metrics test_cal; /* the test split at that temperature: the recalibrated bound */
    int N, K;         /* the scored window and the outputs per step */
    int load, lag;    /* S symbols held for D steps at that length (TrialFacts) */
    double *ex_out;   /* (N, K) the outputs on the first test sequence: probabilities */
    int *ex_target;   /* (N) its targets (class or bits), -1 where a step is not scored */
} EvalResult;

#define TRIAL_MAX_FIELDS 64 /* numbers of one metrics record of an exec trial (exec.h EXEC_MAX_FIELDS) */
#define TRIAL_NAME_MAX 64   /* bytes of a metric's name, with its NUL */
#define TRIAL_PATH_MAX 4096 /* PATH_MAX */

/* What a trial of an [exec] job records besides its status, curves and time (exec_trial.h): how its
 * program ended, every number of its final record, the numbers of its epoch rows that a curve row
 * has no field of, and what ran where. */
typedef struct {
    int exit_code;           /* -1 if a signal ended it or it did not end by itself */
    int signal;              /* the signal that ended it, 0 if none */
    int timed_out;
    char stderr_tail[1024];  /* its last lines of stderr */
    int n_final;
    char final_names[TRIAL_MAX_FIELDS][TRIAL_NAME_MAX];
    double final_values[TRIAL_MAX_FIELDS];
    int n_extra;             /* the other fields of its epoch rows */
    char extra_names[TRIAL_MAX_FIELDS][TRIAL_NAME_MAX];
    double *extra_values;    /* (epochs, n_extra) NaN where a row lacks one */
    char command[4096];      /* the argv, each word quoted where needed */
    char workdir[TRIAL_PATH_MAX];
    char env_keys[2048];     /* the names of the variables it was given, space-separated */
    char program[TRIAL_PATH_MAX]; /* the file taken for the program: the first argument that is a file, or argv[0] */
    char version[256];       /* version-command's output, or fnv1a64:HASH of the program file */
    char stdout_path[TRIAL_PATH_MAX], stderr_path[TRIAL_PATH_MAX], metrics_path[TRIAL_PATH_MAX];
} ExecResult;

typedef struct {
    int status;              /* DONE, DIVERGED, FAILED, PRUNED, or PENDING: stopped early, checkpoint written */
    int bad_input;           /* FAILED because its settings cannot make the data (not sent between ranks) */
    char stop_reason[1024];  /* why it stopped or failed (an exec trial's names a file and a line) */
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
                                window (docs/method.md "The gradient's decay per step"); NaN: not measured */
    /* Gate statistics (docs/method.md): over the hold of the test split at the selected weights, every layer,
     * unit and sequence; index g < G the cell's gates in gate_letters order, index TRIAL_MAX_GATES
     * the gain m_t of the multiplicative step. NaN where there is no hold, no such gate or no
     * multiplicative step. */
    double hold_mean[TRIAL_MAX_GATES + 1], hold_sd[TRIAL_MAX_GATES + 1];
    long data_shared;        /* validation and test sequences also in training (must be 0) */
    int n_eval;
    EvalResult *eval;        /* (n_eval) one per eval-T length, in its order */
    ExecResult *exec;        /* a trial of an [exec] job; NULL: a trial of the built-in engine */
} TrialResult;

void trial_result_free(TrialResult *res);

/* What a results file states of a trial besides its settings and result: derived from the settings
 * by the trial layer (trial_facts in train.h), so that the results layer computes nothing. */
typedef struct {
    const char *model_long_name; /* "multiplicative LSTM" */
    const char *cell;            /* the cell without the multiplicative step: "lstm" */
    int mult;                    /* 1: the multiplicative step feeds the cell */
    int gates;                   /* G */
    const char *gate_letters;    /* "ifoc" */
    long long n_params;
    double chance_acc, chance_loss; /* of guessing, and of the best memoryless model */
    int has_bits;                /* memory in bits applies to the task */
    int max_updates;             /* the training budget */
    double rho_linear;           /* the ρ the linearized cell predicts; NaN where it does not apply */
    int load, lag;               /* copy, copy-delay: S symbols held for D steps (docs/method.md "Memory against lag
                                    and load"); 0 for other tasks */
} TrialFacts;

#endif
