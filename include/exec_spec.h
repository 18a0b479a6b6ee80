/* The [exec] section of a job file: the program that each trial of the job runs (exec.h), the
 * final metrics it must report, and how it is timed out and stopped.
 *
 *   [exec]
 *   command = python3 train.py --lr {lr} --seed {seed}
 *   metrics = val_loss, test_acc
 *   timeout-minutes = 60        ; 0: none (the default)
 *   stop-signal = TERM          ; sent to stop it (preemption, the end of the sweep, pruning)
 *   grace-seconds = 30          ; then SIGKILL
 *   version-command = git rev-parse HEAD   ; recorded per trial instead of a hash of the program
 *
 * {job_dir} in the command is the job file's folder; every other {KEY} is a key of the job. */
#ifndef CS_EXEC_SPEC_H
#define CS_EXEC_SPEC_H

#include <stddef.h> /* size_t */

#include "exec.h" /* ExecCommand, EXEC_MAX_FIELDS, EXEC_MAX_NAME */

#define EXEC_JOB_DIR "job_dir" /* the placeholder of the job file's folder */

typedef struct {
    char *command_text;   /* as written */
    ExecCommand command;
    int n_metrics;
    char metrics[EXEC_MAX_FIELDS][EXEC_MAX_NAME]; /* the final metrics, in the order declared */
    double timeout_s;     /* 0: none */
    int stop_signal;      /* SIGTERM unless stop-signal says otherwise */
    double grace_s;
    ExecCommand version;  /* version-command; n = 0: none */
    int line;             /* of the [exec] header */
    int command_line, metrics_line;
} ExecSpec;

/* The defaults: no command, no metrics, no timeout, SIGTERM, 30 s. */
void exec_spec_init(ExecSpec *e);
void exec_spec_free(ExecSpec *e);
/* A key of [exec] with its value into e (line: where, for e's *_line fields). 0, or -1 with
 * "key 'K': ..." (without a place) in err. */
int exec_option(ExecSpec *e, const char *name, const char *value, int line, char *err, size_t errlen);
/* The whole section: a command and metrics given. 0, or -1 with the problem in err (no place). */
int exec_spec_check(const ExecSpec *e, char *err, size_t errlen);
/* A key's variable in its program's environment, after COPYSWEEP_: upper case, '-' as '_' (lr-max:
 * LR_MAX). */
void exec_env_name(const char *key, char *buf, size_t n);
/* The name of a signal as stop-signal takes it ("TERM"), and back (0 if unknown). */
const char *exec_signal_name(int sig);

#endif
