/* The grid of a job: the trials that the parsed sections of a job file (jobfile.h) describe. Each
 * grid is [settings] with one [grid NAME] section over it; its points are the product of its axes
 * (the first varying slowest, zipped axes together as one dimension, the samples of [search] the
 * last); [when] sections set single values where an axis has a value; trial k is the k-th point of
 * the grids in order, a point that an earlier one repeats left out. Every value is parsed once,
 * when the job is read: a trial's settings are copied from the parsed values (settings_copy). */
#ifndef CS_JOBGRID_H
#define CS_JOBGRID_H

#include <limits.h> /* PATH_MAX */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "exec_spec.h"      /* ExecSpec */
#include "halving.h"        /* HalvingSpec */
#include "settings_table.h" /* Settings, SettingInfo */

#define JOB_MAX_TRIALS 1000000 /* the plan holds every trial's settings (about 0.5 KB each) on rank 0 */
#define JOB_MAX_AXES 32
#define JOB_MAX_GRIDS 32
#define JOB_MAX_SETTINGS 64 /* entries of settings_table */
#define JOB_MAX_WHENS 64

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
    int integer;         /* UNIFORM, LOG_UNIFORM: integers are drawn (an integer setting, or a key of the job's
                            own whose bounds are written as integers) */
    int n_choices;
    char **choices;      /* CHOICE */
    int line;
} SearchKey;

typedef enum { SAMPLER_RANDOM, SAMPLER_TPE } Sampler;

/* The objective of sampler = tpe: a validation curve's best value (the value model selection keeps,
 * as under [halving]), a result column of /trials (the built-in engine's test_bits, test_acc,
 * test_loss, best_val_acc), or a final metric of an [exec] job's program. */
typedef enum { OBJ_VAL_BITS, OBJ_VAL_ACC, OBJ_VAL_LOSS, OBJ_COLUMN, OBJ_EXEC_METRIC } ObjectiveKind;

typedef struct {
    ObjectiveKind kind;
    char name[64];       /* as written: val-bits, val-acc, val-loss, a result column, or the [exec] metric */
    char column[64];     /* OBJ_COLUMN, OBJ_EXEC_METRIC: its column of /trials */
    int maximize;        /* 1: larger is better */
    int line, direction_line; /* where metric and direction were given, 0 if not */
} Objective;

typedef struct {
    int samples;         /* 0: no [search]; with tpe, generations × per-generation */
    Sampler sampler;
    int generations, per_generation; /* sampler = tpe: sample i is in generation i / per_generation */
    Objective objective; /* sampler = tpe */
    int sampler_line;
    uint64_t seed;       /* sampler-seed */
    int n_keys;
    SearchKey keys[JOB_MAX_AXES];
    char **values;       /* (samples × n_keys) sample i's value of key j, as text that parses back */
    Settings *typed;     /* (samples) the defaults with sample i's values */
    int line;            /* of the [search] header */
} Search;

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
    ExecSpec *exec;            /* [exec]: each trial runs this program; NULL: the built-in engine */
    KeyPool *pool;             /* with [exec]: the job's own keys, which its sections set (settings_table.h) */
    char dir[PATH_MAX];        /* the job file's folder, absolute ({job_dir} in [exec] command) */
} Job;

#define JOB_MAX_ZIPS 16 /* zip lines per section */

typedef struct {
    int n, line;
    const SettingInfo *members[JOB_MAX_AXES];
} Zip;

/* The entries of one section as parsed: [settings], or a [grid NAME]. Single values are entries of n = 1. */
typedef struct {
    char name[64];
    int line; /* of its header */
    int n;
    Axis entries[JOB_MAX_SETTINGS];
    int n_zips;
    Zip zips[JOB_MAX_ZIPS];
} Section;

/* The entry of sec for info, or NULL (sec may be NULL). */
const Axis *section_entry(const Section *sec, const SettingInfo *info);
/* A value validated before, parsed into s (a value that no longer parses is a programmer error). */
void job_set_value(Settings *s, const SettingInfo *info, const char *text);
/* [search]'s samples drawn (text and parsed) from the stream keyed by (sampler-seed, sample, setting).
 * Under sampler = tpe these are generation 0's values, and the identity (settings_key) of the later
 * samples, whose values tpe.h draws from the earlier generations' results. */
void job_draw_samples(Job *job);
/* The grids of [settings] (common) and the [grid NAME] sections (n_grids of them; none: the
 * [settings] grid alone), the [when] sections checked against them, and the trials: job->n_trials
 * and job->points. 0, or -1 with "PATH:LINE: ..." in err. */
int job_build(Job *job, const Section *common, const Section *grids, int n_grids, char *err, size_t errlen);
void job_free(Job *job);
/* The setting key names in this job: one of the table's, or of the job's own keys with [exec]; NULL
 * if none. */
const SettingInfo *job_key(const Job *job, const char *key);
/* The settings of trial k, 0 ≤ k < n_trials. */
void job_trial(const Job *job, long k, Settings *s);
/* The grid trial k comes from, and in *point its index among that grid's points. */
const Grid *job_grid_of(const Job *job, long k, long *point);
/* A searched value v (in the setting's units) as the text that runs: four significant digits (an
 * integer for integer draws), within the key's range. */
void search_format(const SearchKey *k, double v, char *buf, size_t n);
/* The sample of [search] that trial k takes, or -1 if its grid is not searched. */
int job_sample(const Job *job, long k);
/* The identity of trial k's group for halving: its settings with the searched ones left out. */
uint64_t job_group(const Job *job, long k);
/* "model=gru T=200 seed=1": the axis values of trial k ("grid=NAME ..." first in a job of grids,
 * "sample=I KEY=V ..." last in a searched grid). */
void job_describe(const Job *job, long k, char *buf, size_t n);

#endif
