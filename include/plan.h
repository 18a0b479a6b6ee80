/* The plan of a sweep: every trial of a job resolved once (its settings, identity, halving group,
 * sample and cost), the trials the command line chooses (--shard, --trial, --only, --rerun), the
 * listing of --list, and the match of the trials with those of an existing results file. The sweep
 * above it takes a trial's settings from its PlanTrial and never from the job's text. */
#ifndef CS_PLAN_H
#define CS_PLAN_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint64_t */

#include "cli.h"      /* Options */
#include "jobfile.h"  /* Job */
#include "results.h"  /* ResultsIndex, TrialRecord */
#include "settings.h" /* Settings */

typedef struct {
    Settings s;     /* the trial's settings, typed */
    uint64_t key;   /* settings_key(&s): its identity in results files, journals and checkpoints (under
                       sampler = tpe, of its placeholder's settings and its sample) */
    uint64_t group; /* job_group: the trials it is compared with under successive halving */
    int sample;     /* its sample of [search], -1 if its grid is not searched */
    double cost;    /* estimate_cost(&s): GFLOP at its full epoch budget */
    int generation; /* under sampler = tpe its generation, sample / per-generation; else 0 */
    int drawn;      /* its settings hold its own values: always, except a TPE trial of a later
                       generation until generations.h draws them (until then its placeholder's) */
} PlanTrial;

typedef struct {
    Job job;
    long n;                  /* trials */
    PlanTrial *trials;       /* (n); NULL in a worker's plan (plan_parse) */
    unsigned char *selected; /* (n) chosen by --shard, --trial and --only (all without them) */
    unsigned char *rerun;    /* (n) to run again although finished (--rerun, plan_rerun) */
    int selecting;           /* a selection option was given */
    const SettingInfo *undrawn[JOB_MAX_AXES]; /* the searched settings: blank in a pending record not drawn yet */
} Plan;

/* Trial k of a job resolved: what a worker does once for the trial it is given. */
void plan_resolve(const Job *job, long k, PlanTrial *t);
/* job_describe, with the values drawn for a TPE trial of a later generation. */
void plan_describe(const Plan *p, long k, char *buf, size_t n);
/* Read the job file at path and resolve every trial. 0, or -1 with err (PATH:LINE: ...). */
int plan_load(Plan *p, const char *path, char *err, size_t errlen);
/* The job alone, from its text (a worker's plan: it resolves each trial it is given). */
int plan_parse(Plan *p, const char *path, const char *text, char *err, size_t errlen);
void plan_free(Plan *p);
/* The trials that --shard, --trial and --only choose, and [halving] checked against them. 0, or -1
 * with err naming the option or the job file's line. */
int plan_select(Plan *p, const Options *a, char *err, size_t errlen);
/* --rerun K or --rerun status=S,...: which chosen trials run again, given their statuses now. 0, or
 * -1 with err. */
int plan_rerun(Plan *p, const char *spec, const int *status, char *err, size_t errlen);
/* --list: the chosen trials with the settings that vary, their sizes and costs, on stdout. */
void plan_list(const Plan *p, const char *output);
/* old_of[k]: the row of a results file (index ix, at output) that holds trial k, -1 if none. 0, or
 * -1 with err if the file holds trials this job lacks (naming a setting value that tells why). */
int plan_match(const Plan *p, const ResultsIndex *ix, const char *output, long *old_of, char *err, size_t errlen);
/* A pending row for every trial (pointing into the plan), for a new or regridded results file; a TPE
 * trial not drawn yet has its searched settings blank. */
TrialRecord *plan_pending_records(const Plan *p);

#endif
