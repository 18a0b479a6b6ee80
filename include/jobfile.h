/* Job files (INI, read with libinih). [sweep] holds the sweep's own options; [settings] holds trial
 * settings, where a comma-separated list of values makes that setting an axis. The grid is the
 * product of the axes in the order they appear in the file, the first axis varying slowest; trial k
 * is the k-th grid point in that order. Every error names PATH:LINE, the key and the value. */
#ifndef CS_JOBFILE_H
#define CS_JOBFILE_H

#include <limits.h> /* PATH_MAX */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "settings.h" /* Settings, SettingInfo */

#define JOB_MAX_AXES 32

typedef struct {
    const SettingInfo *info;
    int n;         /* values, ≥ 2 */
    char **values; /* as written (trimmed), each validated */
    int line;
} Axis;

typedef struct {
    char path[PATH_MAX];       /* for messages */
    char *text;                /* the job file as read */
    char output[PATH_MAX];     /* [sweep] output (default results.h5) */
    double checkpoint_minutes; /* [sweep] checkpoint-minutes (default 5) */
    Settings base;             /* defaults, overridden by single-valued settings */
    int n_axes;
    Axis axes[JOB_MAX_AXES];
    long n_trials;
    int lines[64];             /* line of each setting in the file (index in settings_table), 0 if absent */
} Job;

/* Parse a job's text; path is used in messages. 0, or -1 with "PATH:LINE: ..." in err. */
int job_parse(Job *job, const char *path, const char *text, char *err, size_t errlen);
/* Read and parse the file at path. */
int job_load(Job *job, const char *path, char *err, size_t errlen);
void job_free(Job *job);
/* The settings of trial k, 0 ≤ k < n_trials. */
void job_trial(const Job *job, long k, Settings *s);
/* Fingerprint of the grid: a hash of every trial's settings, in order. */
uint64_t job_grid_hash(const Job *job);

#endif
