/* The results file (HDF5): root attributes, the /trials table (one compound row per trial, every
 * setting a column, and `key`, the hash of its settings that identifies the trial), /runs, and per
 * finished trial /trial/<n>/{curves, per_position, grad_flow, weights/<name>}. `copysweep train -o`
 * writes a file with one trial in exactly the layout a sweep writes.
 *
 * A file is never changed in place: every change goes to a copy, PATH.tmp-<pid>, which is synced and
 * renamed over PATH, so PATH is always a complete file and no process holds it open between changes.
 * During a sweep, changes go first to its journal (journal.h, store.h); the attributes store_id and
 * journal_seq say which journal's records, up to which, the file already holds. */
#ifndef CS_RESULTS_H
#define CS_RESULTS_H

#include <hdf5.h>   /* hid_t */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "cell.h"     /* Tensor, real */
#include "exec_spec.h" /* ExecSpec */
#include "settings.h" /* Settings */
#include "trial_record.h"    /* TrialResult, TrialFacts, STATUS_* */

#define RESULTS_FORMAT "copysweep-results"
/* 2: chance columns, eval-T and /trial/<n>/eval; 3: memory in bits, per-position loss, ρ;
 * 4: the key column, store_id and journal_seq (a journal beside the file during a sweep);
 * 5: the kernel column (the kernel path of each trial), no blas attribute (no BLAS computes a result);
 * 6: the train-data setting, load and lag, gate statistics over the hold (hold_<gate>_mean, _sd) */
#define RESULTS_FORMAT_VERSION 6

typedef struct {
    int trial;              /* row of /trials and name of /trial/<n> */
    uint64_t key;           /* settings_key(s) */
    int sampled;            /* the file has a `sample` column (its job has [search]) */
    int sample;             /* the trial's sample of [search], -1 if its grid is not searched */
    const Settings *s;
    TrialFacts facts;       /* trial_facts(s) */
    int status;             /* STATUS_* */
    const TrialResult *res; /* NULL if nothing was run yet; /trial/<n> is written once final */
    const real *weights;    /* the selected weights (parameter layout); NULL if there are none */
    const Tensor *tensors;  /* (n_tensors) the tensors of docs/method.md in weights */
    int n_tensors;
    const char *host;
    int rank;
    int threads;
    const char *kernel;     /* the kernel path of the run that finished it (kernels.h); NULL: none yet */
    const struct SettingInfo *const *undrawn; /* (n_undrawn) settings not drawn yet (a TPE trial of a later
                               generation): written blank (NaN, -1 or ""), not as their placeholders */
    int n_undrawn;
    const ExecSpec *exec;   /* a trial of an [exec] job: the row holds its own keys, its declared metrics and
                               how its program ended, not the engine's columns; NULL: a built-in trial */
} TrialRecord;

/* Whether name is a column of /trials that an [exec] job's row has whatever its keys and metrics. */
int results_exec_column_taken(const char *name);

/* 0 if a file can be created at path (checked before any work), else -1 and the reason in err. */
int results_check_writable(const char *path, char *err, size_t errlen);
/* Write a results file holding these trials (rows in order; groups for those with res), with no
 * journal records yet. 0 on success; -1 with the reason in err, leaving an existing file at path as
 * it was. */
int results_write(const char *path, const char *command, const char *job, uint64_t store_id,
                  const TrialRecord *recs, long n, char *err, size_t errlen);
/* The record of a trial for the journal: an HDF5 file image (malloc'ed) holding its /trials row and,
 * once final, its /trial/<n> group. 0, or -1 with err. */
int results_trial_image(const TrialRecord *rec, unsigned char **img, size_t *n, char *err, size_t errlen);

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

/* A change of the file at path: its bytes are copied to tmp, changed there, and results_edit_end
 * renames tmp to `to` (which may be path), or keeps it as tmp (to = NULL), or removes it if any step
 * failed. The steps after a failure do nothing. */
typedef struct ResultsEdit ResultsEdit;
ResultsEdit *results_edit_begin(const char *path, const char *tmp);
/* Row `trial` (whose key must be key) gets a status and the rank running it. */
void results_edit_status(ResultsEdit *e, long trial, uint64_t key, int status, int rank);
/* Row `trial` and its group become those of a trial image (results_trial_image). */
void results_edit_final(ResultsEdit *e, long trial, uint64_t key, const void *img, size_t n);
/* Append a row to /runs. */
void results_edit_run(ResultsEdit *e, const RunRecord *run);
/* The trials become recs[0..n) (job text and command as given): row k is the file's row old_of[k]
 * (its group moved along) or, where old_of[k] < 0, the new row recs[k]. */
void results_edit_regrid(ResultsEdit *e, const char *command, const char *job, const TrialRecord *recs, long n,
                         const long *old_of);
long long results_edit_copied(const ResultsEdit *e); /* bytes copied by results_edit_begin */
/* Give the change up: tmp is removed. */
void results_edit_abort(ResultsEdit *e);
/* Set journal_seq and finish the change. 0, or -1 with the reason in err. */
int results_edit_end(ResultsEdit *e, uint64_t journal_seq, const char *to, char *err, size_t errlen);

/* out = the trials of the files paths[0..n) (without journals; names for messages): the first's
 * rows, then each next file's trials that the rows so far lack; a finished trial replaces an
 * unfinished one; a trial finished in two files must have the same result. Settings may differ
 * (the merged file's trials are the union of the grids). 0; -2 with err where the files cannot be
 * combined (other precision, another copysweep version, a trial with two different results); -1
 * with err if writing failed. */
int results_merge(const char *const *paths, const char *const *names, int n, const char *out, const char *command,
                  uint64_t store_id, char *err, size_t errlen);

/* What a reader needs to continue a file: its trials' keys and statuses, and its journal link. */
typedef struct {
    long n;
    uint64_t *key;      /* (n) */
    int *status;        /* (n) STATUS_* */
    uint64_t store_id, journal_seq;
    int has_sample;     /* /trials has the `sample` column of a job with [search] */
    char *job;          /* the job text it was written for */
} ResultsIndex;

/* The index of the file at path: 0; 1 if there is no file; -1 with the reason in err if it is not a
 * copysweep results file of this format version. The file is read in a child process, so that a
 * damaged file on which libhdf5 crashes or hangs gives an error (after COPYSWEEP_READ_TIMEOUT
 * seconds, default 120) instead. */
int results_read_index(const char *path, ResultsIndex *ix, char *err, size_t errlen);
void results_index_free(ResultsIndex *ix);
/* The curves (/trial/<k>/curves) of the trials k < n with want[k] that have them, each handed to
 * each(arg, k, rows, n_rows). 0, or -1 with err. */
int results_read_curves(const char *path, long n, const unsigned char *want,
                        void (*each)(void *arg, long trial, const CurveRow *rows, int n_rows), void *arg, char *err,
                        size_t errlen);
/* The column `name` of /trials (n rows, read as doubles) into out. 0, or -1 with err. */
int results_read_column(const char *path, const char *name, long n, double *out, char *err, size_t errlen);
/* The text column `name` of /trials (n rows) into out, row i at out + i·width (NUL-terminated). 0, or
 * -1 with err. */
int results_read_text(const char *path, const char *name, long n, size_t width, char *out, char *err, size_t errlen);
/* Datasets loc/<name> for the tensors t[0..n), read from buf (parameter layout). 0 or -1. */
int results_write_tensors(hid_t loc, const Tensor *t, int n, const real *buf);

#endif
