/* A trial that runs a user's program instead of the built-in engine: its command line from a
 * template, its metrics from a line protocol, and its outcome.
 *
 * The command is a template of words split at blanks ("..." keeps blanks in one word); {key} in a
 * word is replaced by the trial's value of setting key, and each word stays one argv element
 * whatever the value holds: no shell ever reads it, so a value cannot inject a command.
 *
 * The program appends one JSON object per line to the file named by COPYSWEEP_METRICS
 * (exec_record.h); a line that is not one fails the trial with the file and the line named. */
#ifndef CS_EXEC_H
#define CS_EXEC_H

#include <stddef.h> /* size_t */

#include "exec_record.h" /* ExecRecord */

#define EXEC_MAX_WORDS 256

/* ---- the command template ------------------------------------------------------------------ */

typedef struct {
    int n;                       /* words */
    char *words[EXEC_MAX_WORDS]; /* as written, placeholders and all */
} ExecCommand;

/* Split a command into words. 0, or -1 with err (empty, an unclosed quote or brace, too many
 * words). */
int exec_command_parse(ExecCommand *c, const char *text, char *err, size_t errlen);
void exec_command_free(ExecCommand *c);
/* The placeholders of the command in order of first appearance, each once, into names (each
 * malloc'ed: the caller frees them). Returns how many (at most max). */
int exec_command_keys(const ExecCommand *c, char **names, int max);
/* argv (malloc'ed, NULL-terminated; free with exec_argv_free) with each {key} replaced by
 * value(arg, key), which returns NULL for a key it lacks. 0, or -1 with err naming the key. */
int exec_command_argv(const ExecCommand *c, const char *(*value)(void *arg, const char *key), void *arg,
                      char ***argv, char *err, size_t errlen);
void exec_argv_free(char **argv);

/* ---- one run of the program ---------------------------------------------------------------- */

enum { EXEC_DONE, EXEC_FAILED, EXEC_STOPPED, EXEC_PRUNED };

typedef struct {
    char *const *argv;          /* argv[0] is looked up on PATH */
    char *const *env;           /* "NAME=VALUE" entries added to the environment; NULL-terminated */
    const char *dir;            /* working directory; NULL: this one */
    const char *stdout_path;    /* the program's stdout and stderr, appended to (kept whole) */
    const char *stderr_path;
    const char *metrics_path;   /* COPYSWEEP_METRICS: read as the program writes it */
    long long metrics_from;     /* the byte of it to read from (what an earlier run wrote is before) */
    const char *const *declared; /* the final metrics the job declares */
    int n_declared;
    double timeout_s;           /* 0: none */
    int stop_signal;            /* sent to the program's process group to stop it (SIGTERM) */
    double grace_s;             /* then this long before SIGKILL */
    int (*should_stop)(void *arg); /* polled: 1 if the trial is to stop now (a signal, the master) */
    void *stop_arg;
    /* an epoch row as it arrives (from metrics_from on): 0 stops the program (pruned by successive
     * halving), 1 goes on */
    int (*on_epoch)(void *arg, const ExecRecord *row);
    void *epoch_arg;
} ExecRun;

typedef struct {
    int status;                 /* EXEC_* */
    int exit_code;              /* its exit status, or -1 if a signal ended it */
    int signal;                 /* the signal that ended it, or 0 */
    int timed_out;
    char reason[1024];          /* one line: why it failed or stopped */
    char stderr_tail[2048];     /* its last lines of stderr (failed trials) */
    ExecRecord final;           /* the final record (status DONE) */
    int epochs;                 /* epoch rows read */
    double wall_s;
} ExecOutcome;

/* Run the program to its end (or its stop) and classify it: DONE after exit 0 with a final record;
 * FAILED after a non-zero exit, a signal, the timeout, a bad metrics line (the program is stopped)
 * or exit 0 without a final record; STOPPED if should_stop asked for it; PRUNED if on_epoch did.
 * Returns 0, or -1 if the program could not be started at all (err says why; o is FAILED too). */
int exec_run(const ExecRun *r, ExecOutcome *o, char *err, size_t errlen);

/* The file argv0 runs: itself if it names a path, else the first executable of that name on the
 * PATH of env (or of this process). 0, or -1 with err. */
int exec_find_program(const char *argv0, char *const *env, char *path, size_t n, char *err, size_t errlen);
/* Run argv (no shell; NULL-terminated) in the folder dir (NULL: this one), as exec_run starts a
 * program, and keep the first line of its stdout in out. 0, or -1 with err if it cannot be run,
 * fails, or runs past timeout_s (then its process group is killed). */
int exec_capture(char *const *argv, const char *dir, char *out, size_t n, double timeout_s, char *err, size_t errlen);

#endif
