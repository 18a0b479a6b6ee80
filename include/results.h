/* The results file (HDF5): root attributes, the /trials table (one compound row per trial, every
 * setting a column), and per finished trial /trial/<n>/{curves, per_position, grad_flow,
 * weights/<name>}. `copysweep train -o` writes a file with one trial in exactly the layout a sweep
 * writes. Every change goes to a copy, PATH.tmp-<pid>, which is synced and renamed over PATH: PATH
 * is always a complete file, and no process holds it open between changes. */
#ifndef CS_RESULTS_H
#define CS_RESULTS_H

#include <hdf5.h>   /* hid_t */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "cell.h"     /* Tensor, real */
#include "settings.h" /* Settings */
#include "trial.h"    /* TrialResult, TrialFacts, STATUS_* */

#define RESULTS_FORMAT "copysweep-results"
/* 2: chance columns, eval-T and /trial/<n>/eval; 3: memory in bits, per-position loss, ρ */
#define RESULTS_FORMAT_VERSION 3

typedef struct {
    int trial;              /* row of /trials and name of /trial/<n> */
    const Settings *s;
    TrialFacts facts;       /* trial_facts(s) */
    int status;             /* STATUS_* */
    const TrialResult *res; /* NULL if nothing was run yet; /trial/<n> is written once final */
    const real *weights;    /* the selected weights (parameter layout); NULL if there are none */
    const Tensor *tensors;  /* (n_tensors) the SPEC tensors in weights */
    int n_tensors;
    const char *host;
    int rank;
    int threads;
} TrialRecord;

/* 0 if a file can be created at path (checked before any work), else -1 and the reason in err. */
int results_check_writable(const char *path, char *err, size_t errlen);
/* Write a results file holding these trials (rows in order; groups for those with res). grid_hash
 * identifies the job's grid for resuming. 0 on success; -1 with the reason in err, leaving an
 * existing file at path as it was. */
int results_write(const char *path, const char *command, const char *job, uint64_t grid_hash,
                  const TrialRecord *recs, long n, char *err, size_t errlen);
/* Rewrite the rows of these trials in an existing file, and their groups where res is set. */
int results_update(const char *path, const TrialRecord *recs, long n, char *err, size_t errlen);
/* One run of a sweep (a row of /runs): when, how long, on what, and how it ended. */
typedef struct {
    char started[32];  /* UTC, ISO 8601 */
    double wall_s;
    int ranks, threads;
    long trials_run;   /* trials that got a final status in this run */
    long trials_left;  /* trials without one at its end */
    int exit_status;
    const char *host;
    const char *command;
} RunRecord;

/* Append a row to /runs. 0, or -1 with the reason in err. */
int results_log_run(const char *path, const RunRecord *run, char *err, size_t errlen);
/* Statuses of an existing results file of this grid: 0 and status[0..n) filled; 1 if there is no
 * file at path; -1 with the reason in err if it is not a copysweep results file of this grid. The
 * file is read in a child process, so that a damaged file on which libhdf5 crashes or hangs gives
 * an error (after COPYSWEEP_READ_TIMEOUT seconds, default 120) instead. */
int results_read_status(const char *path, uint64_t grid_hash, long n, int *status, char *err,
                        size_t errlen);
/* Datasets loc/<name> for the tensors t[0..n), read from buf (parameter layout). 0 or -1. */
int results_write_tensors(hid_t loc, const Tensor *t, int n, const real *buf);

#endif
