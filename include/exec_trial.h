/* One trial of an [exec] job: its program run with the trial's keys (exec.h), its metrics read as
 * it writes them, and its outcome recorded as a TrialResult with an ExecResult (trial_record.h).
 *
 * The program gets each key as {key} in its argv and as COPYSWEEP_<KEY> (upper case, '-' as '_')
 * in its environment, and COPYSWEEP_METRICS (the metrics file), COPYSWEEP_CHECKPOINT_DIR (its
 * folder, kept until its result is recorded), COPYSWEEP_TRIAL, COPYSWEEP_TRIAL_KEY and
 * COPYSWEEP_THREADS. Its stdout, stderr and metrics files are kept in the log folder. A trial whose
 * checkpoint folder exists runs again as a resume: its files are appended to, and the rows an
 * earlier run wrote are the curve's first rows (their rungs are not decided again); a fresh one
 * starts them empty. */
#ifndef CS_EXEC_TRIAL_H
#define CS_EXEC_TRIAL_H

#include <stdint.h> /* uint64_t */

#include "exec_spec.h"    /* ExecSpec */
#include "settings.h"     /* Settings */
#include "trial_record.h" /* TrialResult, CurveRow */

typedef struct {
    const ExecSpec *spec;
    const char *job_dir;   /* {job_dir} */
    const char *log_dir;   /* where its stdout, stderr and metrics files are kept: LOG_DIR/trial-KEY.* */
    const char *ckpt_dir;  /* its checkpoint folder (made here if missing) */
    long trial;
    uint64_t key;
    int threads;
    const char *version;   /* version-command's output (exec_trial_version), or NULL: hash the program */
    int (*should_stop)(void *arg); /* polled: 1 to stop it (its checkpoint is kept) */
    void *stop_arg;
    /* the curve rows so far as each epoch row arrives (as TrainCtx's): 1 to stop it, pruned */
    int (*on_epoch)(void *arg, const CurveRow *rows, int n, int last);
    void *epoch_arg;
} ExecTrialCtx;

/* Run the trial to its end, its stop or its failure; res->exec holds what the program did. A trial
 * that cannot be started is FAILED with the reason. */
void exec_trial(const Settings *s, const ExecTrialCtx *ctx, TrialResult *res);
/* version-command's first line of output, run in job_dir, into buf; or "unknown (WHY)". */
void exec_trial_version(const ExecSpec *spec, const char *job_dir, char *buf, size_t n);

#endif
