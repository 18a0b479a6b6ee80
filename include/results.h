/* The results file (HDF5): root attributes, the /trials table (one compound row per trial, every
 * setting a column), and per trial /trial/<n>/{curves, per_position, grad_flow, weights/<name>}.
 * `copysweep train -o` writes a file with one trial in exactly the layout a sweep writes.
 * Files are written to PATH.tmp-<pid> and renamed over PATH, so PATH is never half-written. */
#ifndef CS_RESULTS_H
#define CS_RESULTS_H

#include <hdf5.h>   /* hid_t */
#include <stddef.h> /* size_t */

#include "cell.h"     /* Model */
#include "settings.h" /* Settings */
#include "train.h"    /* TrialResult */

#define COPYSWEEP_VERSION "0.1.0"
#define RESULTS_FORMAT "copysweep-results"
#define RESULTS_FORMAT_VERSION 1

typedef struct {
    int trial;              /* row of /trials and name of /trial/<n> */
    const Settings *s;
    int status;             /* STATUS_* */
    const TrialResult *res; /* NULL while pending or running */
    const Model *model;     /* the selected weights; NULL while pending or running */
    const char *host;
    int rank;
    int threads;
} TrialRecord;

/* 0 if a file can be created at path (checked before any work), else -1 and the reason in err. */
int results_check_writable(const char *path, char *err, size_t errlen);
/* Write a results file holding these trials. 0 on success; -1 with the reason in err, leaving an
 * existing file at path as it was. */
int results_write(const char *path, const char *command, const char *job, const TrialRecord *recs,
                  int n, char *err, size_t errlen);
/* Datasets loc/<name> for every SPEC tensor of m, read from buf (parameter layout). 0 or -1. */
int results_write_tensors(hid_t loc, const Model *m, const real *buf);

#endif
