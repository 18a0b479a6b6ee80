/* Job files (INI, read with libinih). [sweep] holds the sweep's own options; [settings] holds trial
 * settings, where a comma-separated list of values makes that setting an axis. The grid is the
 * product of the axes in the order they appear in the file, the first axis varying slowest; trial k
 * is the k-th grid point in that order.
 *
 * `zip = A, B` (in [settings] or a grid) makes axes A and B vary together, value i of A with value
 * i of B: one dimension of the grid, at A's place.
 *
 * A job may instead be a union of grids: each [grid NAME] section is a grid of its own, made of
 * [settings] with the section's settings over them (a single value replaces the [settings] one, a
 * list replaces it as an axis; an empty section is the [settings] grid itself). The trials are the
 * grids' points in the order of the sections, a point that an earlier point already has left out, so
 * that grids sharing a baseline run it once.
 *
 * [when KEY = VALUE] sets single values at the points where the axis (or searched setting) KEY has
 * VALUE, after the axes; the sections apply in file order.
 *
 * [search] draws `samples` values of each setting it names (uniform A B, log-uniform A B, choice V1,
 * V2, ...) from a stream keyed by (sampler-seed, sample, setting), so that a job has the same samples
 * on every run; the samples are one more dimension of every grid that does not set a searched
 * setting itself, varying fastest. [halving] (with [search]) stops trials early by asynchronous
 * successive halving (halving.h). Every error names PATH:LINE, the key and the value. */
#ifndef CS_JOBFILE_H
#define CS_JOBFILE_H

#include <limits.h> /* PATH_MAX */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "settings_table.h" /* Settings, SettingInfo */

#define JOB_MAX_AXES 32
#define JOB_MAX_GRIDS 32
#define JOB_MAX_SETTINGS 64 /* entries of settings_table */
#define JOB_MAX_WHENS 64
#define JOB_MAX_RUNGS 16

typedef struct {
    const SettingInfo *info; /* NULL: the samples of [search] */
    int n;                   /* values, ≥ 2 (≥ 1 for the samples) */
    char **values;           /* as written (trimmed), each validated; NULL for the samples */
    Settings *typed;         /* (n) in a grid: value i parsed over the defaults, carried to a point by
                                settings_copy; NULL in a section and for the samples */
    int line;
    int lead;                /* -1: a dimension of its own; else the earlier axis it is zipped with */
} Axis;

typedef struct {
    char name[64];                /* NAME of [grid NAME]; "" for the [settings] grid */
    Settings base;                /* defaults, overridden by the single-valued settings */
    int n_axes;
    Axis axes[JOB_MAX_AXES];      /* [settings]' axes that the grid does not set, then its own, then
                                     the samples if the grid is searched */
    int searched;                 /* the last axis is the samples of [search] */
    long n_points;                /* the product of the dimensions */
    int lines[JOB_MAX_SETTINGS];  /* line of each setting that applies (index in settings_table), 0 if none */
} Grid;

/* [when KEY = VALUE]: single values where KEY has VALUE. */
typedef struct {
    const SettingInfo *key;
    char value[256];              /* formatted as settings_format writes it */
    Settings match;               /* the defaults with KEY = VALUE: compared with settings_same */
    Settings set;                 /* the defaults with the section's settings: copied where it applies */
    int line;
    int n;
    const SettingInfo *infos[JOB_MAX_SETTINGS];
    char *values[JOB_MAX_SETTINGS];
    int lines[JOB_MAX_SETTINGS];
} When;

typedef enum { DIST_UNIFORM, DIST_LOG_UNIFORM, DIST_CHOICE } Dist;

typedef struct {
    const SettingInfo *info;
    Dist dist;
    double lo, hi;       /* UNIFORM, LOG_UNIFORM: inclusive */
    int n_choices;
    char **choices;      /* CHOICE */
    int line;
} SearchKey;

typedef struct {
    int samples;         /* 0: no [search] */
    uint64_t seed;       /* sampler-seed */
    int n_keys;
    SearchKey keys[JOB_MAX_AXES];
    char **values;       /* (samples × n_keys) sample i's value of key j, as text that parses back */
    Settings *typed;     /* (samples) the defaults with sample i's values */
    int line;            /* of the [search] header */
} Search;

typedef enum { METRIC_VAL_BITS, METRIC_VAL_ACC } HalvingMetric;

typedef struct {
    int n_rungs;          /* 0: no [halving] */
    int rungs[JOB_MAX_RUNGS]; /* epochs, increasing */
    double reduction;     /* η: a trial goes on past a rung if it is in the top 1/η of its group there */
    HalvingMetric metric;
    int line, rungs_line, metric_line;
} HalvingSpec;

typedef struct {
    char path[PATH_MAX];       /* for messages */
    char *text;                /* the job file as read */
    char output[PATH_MAX];     /* [sweep] output (default results.h5) */
    double checkpoint_minutes; /* [sweep] checkpoint-minutes (default 5) */
    int n_grids;               /* 1: the [settings] grid; more: the [grid NAME] sections */
    Grid grids[JOB_MAX_GRIDS];
    int n_whens;
    When whens[JOB_MAX_WHENS];
    Search search;
    HalvingSpec halving;
    long n_trials;
    long *points;              /* (n_trials) trial k is point points[k] of the grids' points in order;
                                  NULL for a single grid without [when] or [search] (trial k is point k) */
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
/* The sample of [search] that trial k takes, or -1 if its grid is not searched. */
int job_sample(const Job *job, long k);
/* The identity of trial k's group for halving: its settings with the searched ones left out. */
uint64_t job_group(const Job *job, long k);
/* "model=gru T=200 seed=1": the axis values of trial k ("grid=NAME ..." first in a job of grids,
 * "sample=I KEY=V ..." last in a searched grid). */
void job_describe(const Job *job, long k, char *buf, size_t n);

#endif
