/* Job files (INI, read with libinih). [sweep] holds the sweep's own options; [settings] holds trial
 * settings, where a comma-separated list of values makes that setting an axis. The grid is the
 * product of the axes in the order they appear in the file, the first axis varying slowest; trial k
 * is the k-th grid point in that order.
 *
 * A job may instead be a union of grids: each [grid NAME] section is a grid of its own, made of
 * [settings] with the section's settings over them (a single value replaces the [settings] one, a
 * list replaces it as an axis; an empty section is the [settings] grid itself). The trials are the
 * grids' points in the order of the sections, a point that an earlier grid already has left out, so
 * that grids sharing a baseline run it once. Every error names PATH:LINE, the key and the value. */
#ifndef CS_JOBFILE_H
#define CS_JOBFILE_H

#include <limits.h> /* PATH_MAX */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "settings_table.h" /* Settings, SettingInfo */

#define JOB_MAX_AXES 32
#define JOB_MAX_GRIDS 32
#define JOB_MAX_SETTINGS 64 /* entries of settings_table */

typedef struct {
    const SettingInfo *info;
    int n;         /* values, ≥ 2 */
    char **values; /* as written (trimmed), each validated */
    int line;
} Axis;

typedef struct {
    char name[64];                /* NAME of [grid NAME]; "" for the [settings] grid */
    Settings base;                /* defaults, overridden by the single-valued settings */
    int n_axes;
    Axis axes[JOB_MAX_AXES];      /* [settings]' axes that the grid does not set, then its own */
    long n_points;                /* the product of the axes */
    int lines[JOB_MAX_SETTINGS];  /* line of each setting that applies (index in settings_table), 0 if none */
} Grid;

typedef struct {
    char path[PATH_MAX];       /* for messages */
    char *text;                /* the job file as read */
    char output[PATH_MAX];     /* [sweep] output (default results.h5) */
    double checkpoint_minutes; /* [sweep] checkpoint-minutes (default 5) */
    int n_grids;               /* 1: the [settings] grid; more: the [grid NAME] sections */
    Grid grids[JOB_MAX_GRIDS];
    long n_trials;
    long *points;              /* (n_trials) with several grids: trial k is point points[k] of the grids'
                                  points in order; NULL with one grid (trial k is its point k) */
} Job;

/* Parse a job's text; path is used in messages. 0, or -1 with "PATH:LINE: ..." in err. */
int job_parse(Job *job, const char *path, const char *text, char *err, size_t errlen);
/* Read and parse the file at path. */
int job_load(Job *job, const char *path, char *err, size_t errlen);
void job_free(Job *job);
/* The settings of trial k, 0 ≤ k < n_trials. */
void job_trial(const Job *job, long k, Settings *s);
/* The grid trial k comes from, and in *point its index among that grid's points. */
const Grid *job_grid_of(const Job *job, long k, long *point);
/* "model=gru T=200 seed=1": the axis values of trial k ("grid=NAME ..." first in a job of grids). */
void job_describe(const Job *job, long k, char *buf, size_t n);

#endif
