/* The plan of a sweep: the trials resolved once, chosen, listed and matched with a results file. */
#include "plan.h"

#include <stdio.h>  /* printf, snprintf */
#include <stdlib.h> /* free, qsort, bsearch, strtol */
#include <string.h> /* memset, strchr, strcmp, strtok */

#include "check.h"          /* CS_ALLOC */
#include "estimate.h"       /* estimate_cost */
#include "model.h"          /* model_param_count */
#include "rng.h"            /* RNG_KEY */
#include "settings_table.h" /* settings_* */
#include "task.h"           /* task_has_bits */
#include "task_kinds.h"          /* task_shape */
#include "train.h"          /* trial_epochs, trial_facts */

void plan_resolve(const Job *job, long k, PlanTrial *t)
{
    job_trial(job, k, &t->s);
    t->key = settings_key(&t->s);
    t->sample = job_sample(job, k);
    if (job->search.sampler == SAMPLER_TPE && t->sample >= 0) /* the sample's identity, not its placeholder's */
        t->key = RNG_KEY(t->key, (uint64_t)t->sample);
    t->group = t->sample >= 0 ? job_group(job, k) : t->key; /* unsearched: a group of its own */
    t->cost = job->exec ? 1 : estimate_cost(&t->s); /* a program's cost is unknown: the trials' order */
    const Search *se = &job->search;
    t->generation = se->sampler == SAMPLER_TPE && t->sample >= 0 ? t->sample / se->per_generation : 0;
    t->drawn = t->generation == 0;
}

void plan_describe(const Plan *p, long k, char *buf, size_t n)
{
    job_describe(&p->job, k, buf, n);
    const PlanTrial *t = &p->trials[k];
    const Search *se = &p->job.search;
    for (int j = 0; t->generation > 0 && t->drawn && j < se->n_keys; j++) {
        const size_t len = strlen(buf);
        char v[256];
        settings_format(&t->s, se->keys[j].info, v, sizeof v);
        snprintf(buf + len, n - len, " %s=%s", se->keys[j].info->key, v);
    }
}

int plan_load(Plan *p, const char *path, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (job_load(&p->job, path, err, errlen) != 0) return -1;
    p->n = p->job.n_trials;
    p->trials = CS_ALLOC((size_t)p->n * sizeof *p->trials);
    for (long k = 0; k < p->n; k++) plan_resolve(&p->job, k, &p->trials[k]);
    for (int j = 0; j < p->job.search.n_keys; j++) p->undrawn[j] = p->job.search.keys[j].info;
    p->selected = CS_ALLOC((size_t)p->n + 1);
    p->rerun = CS_CALLOC((size_t)p->n + 1);
    memset(p->selected, 1, (size_t)p->n);
    return 0;
}

int plan_parse(Plan *p, const char *path, const char *text, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (job_parse(&p->job, path, text, err, errlen) != 0) return -1;
    p->n = p->job.n_trials;
    return 0;
}

void plan_free(Plan *p)
{
    job_free(&p->job);
    free(p->trials), free(p->selected), free(p->rerun);
    memset(p, 0, sizeof *p);
}

TrialRecord *plan_pending_records(const Plan *p)
{
    TrialRecord *recs = CS_ALLOC((size_t)p->n * sizeof *recs + 1);
    for (long k = 0; k < p->n; k++) {
        const PlanTrial *t = &p->trials[k];
        recs[k] = (TrialRecord){.trial = (int)k, .key = t->key, .sampled = p->job.search.samples > 0,
                                .sample = t->sample, .s = &t->s, .status = STATUS_PENDING, .host = "",
                                .exec = p->job.exec};
        if (!p->job.exec) recs[k].facts = trial_facts(&t->s);
        if (!t->drawn) recs[k].undrawn = p->undrawn, recs[k].n_undrawn = p->job.search.n_keys;
    }
    return recs;
}

/* The trials --shard, --trial and --only choose: 0, or -1 with err. */
static int select_trials(Plan *p, const Options *a, char *err, size_t errlen)
{
    const Job *job = &p->job;
    const long n = p->n;
    unsigned char *selected = p->selected;
    memset(selected, 1, (size_t)n);
    memset(p->rerun, 0, (size_t)n);
    p->selecting = a->shards || a->trial >= 0 || a->n_only;
    if (a->trial >= n) {
        snprintf(err, errlen, "option '--trial': %d is not a trial of %s (expected 0 to %ld)", a->trial, job->path, n - 1);
        return -1;
    }
    if (a->shards && job->search.sampler == SAMPLER_TPE) {
        snprintf(err, errlen, "option '--shard': %s:%d has sampler = tpe, whose generations are drawn from the results "
                 "of the ones before, which other shards would hold (expected one sweep over all its ranks)", job->path,
                 job->search.line);
        return -1;
    }
    for (long k = 0; k < n; k++)
        selected[k] = (!a->shards || k % a->shards == a->shard - 1) && (a->trial < 0 || k == a->trial);
    for (int i = 0; i < a->n_only; i++) {
        /* KEY=V1,V2,...: each value parsed as the setting parses it, then compared by value */
        char spec[1024], why[256];
        Settings want[16];
        snprintf(spec, sizeof spec, "%s", a->only[i]);
        char *eq = strchr(spec, '=');
        *eq = '\0';
        const SettingInfo *info = job_key(job, spec);
        if (!info) {
            snprintf(err, errlen, "option '--only': '%s' is not a setting (expected KEY=VALUE with a key of %s)", spec,
                     job->exec ? "the job" : "'copysweep --help'");
            return -1;
        }
        int n_want = 0;
        for (char *v = strtok(eq + 1, ","); v; v = strtok(NULL, ",")) {
            while (*v == ' ') v++;
            if (n_want < 16) settings_default(&want[n_want]);
            if (n_want == 16 || settings_parse(&want[n_want], info, v, why, sizeof why) != 0) {
                snprintf(err, errlen, "option '--only': %s: %s", info->key, n_want == 16 ? "more than 16 values" : why);
                return -1;
            }
            n_want++;
        }
        long matched = 0;
        for (long k = 0; k < n; k++) {
            int hit = 0;
            for (int w = 0; w < n_want && !hit; w++) hit = settings_same(&p->trials[k].s, &want[w], info);
            matched += hit;
            selected[k] &= hit;
        }
        if (!matched) {
            snprintf(err, errlen, "option '--only': no trial of %s has %s", job->path, a->only[i]);
            return -1;
        }
    }
    long chosen = 0;
    for (long k = 0; k < n; k++) chosen += selected[k];
    if (!chosen) {
        snprintf(err, errlen, "%s: no trial of %s is chosen by these options together", a->shards ? "option '--shard'"
                 : "option '--only'", job->path);
        return -1;
    }
    return 0;
}

int plan_rerun(Plan *p, const char *spec, const int *status, char *err, size_t errlen)
{
    const Job *job = &p->job;
    const long n = p->n;
    const unsigned char *selected = p->selected;
    unsigned char *rerun = p->rerun;
    if (!spec) return 0;
    char *end;
    long k = strtol(spec, &end, 10);
    if (end != spec && !*end) {
        if (k < 0 || k >= n || !selected[k]) {
            snprintf(err, errlen, "option '--rerun': %s is not a trial of %s that these options choose (expected 0 "
                     "to %ld)", spec, job->path, n - 1);
            return -1;
        }
        rerun[k] = 1;
        return 0;
    }
    if (strncmp(spec, "status=", 7) != 0) {
        snprintf(err, errlen, "option '--rerun': '%s' is not allowed (expected a trial number or status=S[,S...])", spec);
        return -1;
    }
    char list[256];
    snprintf(list, sizeof list, "%s", spec + 7);
    int want[STATUS_COUNT] = {0};
    for (char *v = strtok(list, ","); v; v = strtok(NULL, ",")) {
        int s = 0;
        while (status_names[s] && strcmp(status_names[s], v) != 0) s++;
        if (!status_names[s] || s < STATUS_DONE) {
            snprintf(err, errlen, "option '--rerun': '%s' is not a final status (expected done, diverged, failed or pruned)", v);
            return -1;
        }
        want[s] = 1;
    }
    long matched = 0;
    for (long i = 0; i < n; i++) matched += rerun[i] = selected[i] && want[status[i]];
    if (!matched) {
        snprintf(err, errlen, "option '--rerun': no chosen trial of the file has %s", spec);
        return -1;
    }
    return 0;
}

/* [halving] against the trials: every rung before a searched trial's last epoch, and a metric its
 * task has. 0, or -1 with err. */
static int check_halving(const Plan *p, char *err, size_t errlen)
{
    const Job *job = &p->job;
    const HalvingSpec *h = &job->halving;
    for (long k = 0; h->n_rungs && k < p->n; k++) {
        if (p->trials[k].sample < 0 || job->exec) continue; /* a program's epochs and metrics are its own */
        const Settings *s = &p->trials[k].s;
        const int epochs = trial_epochs(s), last = h->rungs[h->n_rungs - 1];
        if (last >= epochs) {
            snprintf(err, errlen, "%s:%d: key 'rungs': rung %d is not below the %d epochs of trial %ld (expected rungs "
                     "before a trial's last epoch; see --list)", job->path, h->rungs_line, last, epochs, k);
            return -1;
        }
        const TaskShape shape = task_shape(s);
        if (h->metric == METRIC_VAL_BITS && !task_has_bits(&shape)) {
            snprintf(err, errlen, "%s:%d: [halving] metric val-bits: trial %ld's task has no memory in bits (expected "
                     "metric = val-acc)", job->path, h->metric_line ? h->metric_line : h->line, k);
            return -1;
        }
    }
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Why `missing` trials of the file are not in the job: a setting with a value the file has and the
 * job lacks, found through the job the file was written for. */
static void explain_missing(const Plan *p, const ResultsIndex *ix, const char *output, long missing, char *err,
                            size_t errlen)
{
    Job old;
    char why[256];
    int told = 0;
    if (job_parse(&old, output, ix->job, why, sizeof why) == 0) {
        for (const SettingInfo *info = old.pool ? old.pool->infos : settings_table; info->key && !told; info++) {
            char v[SETTINGS_TEXT_MAX], w[SETTINGS_TEXT_MAX] = "", now[SETTINGS_TEXT_MAX] = "";
            const SettingInfo *mine = job_key(&p->job, info->key); /* the same key of this job (its own keys) */
            for (long k = 0; k < old.n_trials && !told; k++) {
                Settings s;
                job_trial(&old, k, &s);
                settings_format(&s, info, v, sizeof v);
                int found = 0;
                for (long j = 0; j < p->n && !found; j++) {
                    if (mine) settings_format(&p->trials[j].s, mine, w, sizeof w);
                    found = strcmp(v, w) == 0;
                    if (!now[0]) snprintf(now, sizeof now, "%s", w);
                }
                if (!found) {
                    snprintf(err, errlen, "'%s' holds trials with %s = %s, which this job does not have (it has "
                             "%s = %s%s)", output, info->key, v, info->key, now, "");
                    told = 1;
                }
            }
        }
        job_free(&old);
    }
    if (!told) snprintf(err, errlen, "%ld trials of '%s' are not trials of this job", missing, output);
    size_t len = strlen(err);
    snprintf(err + len, errlen - len, "; a job may add values to an axis but not change a setting or remove a value: "
             "choose another output with -o, or move the file away to start afresh");
}

/* A job's keys, sorted by name, space-separated (the columns of its rows). */
static void key_names(const Job *job, char *buf, size_t n)
{
    const char *names[SETTINGS_MAX_OWN];
    int k = 0;
    for (int i = 0; i < job->pool->n; i++) {
        int at = k++;
        for (; at > 0 && strcmp(names[at - 1], job->pool->names[i]) > 0; at--) names[at] = names[at - 1];
        names[at] = job->pool->names[i];
    }
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < k && len < n; i++) len += (size_t)snprintf(buf + len, n - len, i ? " %s" : "%s", names[i]);
}

/* The declared metrics, comma-separated. */
static void metric_names(const ExecSpec *e, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int m = 0; m < e->n_metrics && len < n; m++) len += (size_t)snprintf(buf + len, n - len, m ? ", %s" : "%s", e->metrics[m]);
}

/* The [exec] of the job the file was written for is this job's: the same program (command), the
 * same metrics and the same keys, or the file's rows are not this job's. 0, or -1 with err. */
/* The sampler of a job as one line: "random", or "tpe, per-generation P, metric M, maximize". */
static void sampler_text(const Search *se, char *buf, size_t n)
{
    if (se->sampler != SAMPLER_TPE) snprintf(buf, n, "random");
    else snprintf(buf, n, "tpe, per-generation %d, metric %s, %s", se->per_generation, se->objective.name,
                  se->objective.maximize ? "maximize" : "minimize");
}

/* The job that wrote a results file (ix->job) against this one, where the trials' keys cannot tell:
 * another program, its metrics or keys ([exec]), or another sampler of the same samples (TPE's later
 * generations have the keys of random search's samples, which its values replace). 0, or -1 with err. */
static int same_job(const Plan *p, const ResultsIndex *ix, const char *output, char *err, size_t errlen)
{
    Job old;
    char why[256], mine[1024] = "", theirs[1024] = "";
    if (job_parse(&old, output, ix->job, why, sizeof why) != 0) return 0; /* its rows are matched by key */
    const ExecSpec *a = old.exec, *b = p->job.exec;
    const char *what = NULL;
    if (!a != !b) {
        what = "[exec]";
        snprintf(theirs, sizeof theirs, "%s", a ? "present" : "absent");
        snprintf(mine, sizeof mine, "%s", b ? "present" : "absent");
    } else if (a && strcmp(a->command_text, b->command_text) != 0) {
        what = "[exec] command";
        snprintf(theirs, sizeof theirs, "%.1000s", a->command_text);
        snprintf(mine, sizeof mine, "%.1000s", b->command_text);
    } else if (a) {
        metric_names(a, theirs, sizeof theirs);
        metric_names(b, mine, sizeof mine);
        what = strcmp(theirs, mine) != 0 ? "[exec] metrics" : NULL;
        if (!what) {
            key_names(&old, theirs, sizeof theirs);
            key_names(&p->job, mine, sizeof mine);
            what = strcmp(theirs, mine) != 0 ? "keys" : NULL;
        }
    }
    if (!what && old.search.samples && p->job.search.samples) {
        sampler_text(&old.search, theirs, sizeof theirs);
        sampler_text(&p->job.search, mine, sizeof mine);
        what = strcmp(theirs, mine) != 0 ? "[search] sampler" : NULL;
    }
    if (what)
        snprintf(err, errlen, "'%s' was written by a job whose %s is '%s', and %s's is '%s'; %s: choose another output "
                 "with -o, or move the file away to start afresh", output, what, theirs, p->job.path, mine,
                 strcmp(what, "[search] sampler") == 0 ? "TPE draws its samples from the results of that sampler"
                                                       : "a results file holds one program's trials, its keys and "
                                                         "metrics as columns");
    job_free(&old);
    return what ? -1 : 0;
}

int plan_match(const Plan *p, const ResultsIndex *ix, const char *output, long *old_of, char *err, size_t errlen)
{
    if (same_job(p, ix, output, err, errlen) != 0) return -1;
    const long n = p->n;
    uint64_t (*by_key)[2] = CS_ALLOC((size_t)n * sizeof *by_key + 1);
    for (long k = 0; k < n; k++) by_key[k][0] = p->trials[k].key, by_key[k][1] = (uint64_t)k, old_of[k] = -1;
    qsort(by_key, (size_t)n, sizeof *by_key, cmp_pair);
    long missing = 0;
    for (long i = 0; i < ix->n; i++) {
        uint64_t probe[2] = {ix->key[i], 0};
        uint64_t (*hit)[2] = bsearch(probe, by_key, (size_t)n, sizeof *by_key, cmp_pair);
        if (hit) old_of[(*hit)[1]] = i;
        else missing++;
    }
    free(by_key);
    if (missing) explain_missing(p, ix, output, missing, err, errlen);
    return missing ? -1 : 0;
}

/* The columns of --list: every setting that is an axis of some grid, in the order they first
 * appear, the searched ones, then those that differ otherwise (set by a [when], or different between
 * grids). Returns how many. */
static int list_columns(const Job *job, const SettingInfo **cols)
{
    int n_cols = 0;
    for (int g = 0; g < job->n_grids; g++)
        for (int a = 0; a < job->grids[g].n_axes; a++) {
            const SettingInfo *info = job->grids[g].axes[a].info;
            int have = 0;
            for (int c = 0; c < n_cols; c++) have |= cols[c] == info;
            if (info && !have && n_cols < JOB_MAX_SETTINGS) cols[n_cols++] = info;
        }
    for (int j = 0; j < job->search.n_keys && n_cols < JOB_MAX_SETTINGS; j++) cols[n_cols++] = job->search.keys[j].info;
    for (const SettingInfo *info = job->pool ? job->pool->infos : settings_table; info->key && n_cols < JOB_MAX_SETTINGS;
         info++) {
        int have = 0, differs = 0;
        for (int c = 0; c < n_cols; c++) have |= cols[c] == info;
        for (int w = 0; w < job->n_whens; w++)
            for (int i = 0; i < job->whens[w].n; i++) differs |= job->whens[w].infos[i] == info;
        char first[SETTINGS_TEXT_MAX], v[SETTINGS_TEXT_MAX];
        settings_format(&job->grids[0].base, info, first, sizeof first);
        for (int g = 1; g < job->n_grids && !have; g++) {
            settings_format(&job->grids[g].base, info, v, sizeof v);
            differs |= strcmp(v, first) != 0;
        }
        if (!have && differs) cols[n_cols++] = info;
    }
    return n_cols;
}

/* The first line of --list: the trials, each grid's dimensions, the output. */
static void list_grids(const Job *job, const char *output)
{
    printf("%s: %ld trials", job->path, job->n_trials);
    for (int g = 0; g < job->n_grids; g++) {
        const Grid *gr = &job->grids[g];
        printf("%s", g ? ";" : job->n_grids > 1 ? " in" : "");
        if (job->n_grids > 1) printf(" grid %s (%ld points)", gr->name, gr->n_points);
        for (int a = 0, dim = 0; a < gr->n_axes; a++) { /* each dimension: its axes joined by + */
            if (gr->axes[a].lead >= 0) continue;
            printf("%s ", dim++ ? " ×" : " =");
            for (int b = a; b < gr->n_axes; b++)
                if (b == a || gr->axes[b].lead == a)
                    printf("%s%s", b == a ? "" : "+", gr->axes[b].info ? gr->axes[b].info->key : "samples");
            printf(" %d", gr->axes[a].n);
        }
    }
    printf("%s; results to %s\n", job->n_grids > 1 ? "; points that an earlier grid has run once" : "", output);
}

void plan_list(const Plan *p, const char *output)
{
    const Job *job = &p->job;
    const SettingInfo *cols[JOB_MAX_SETTINGS];
    const int n_cols = list_columns(job, cols);
    list_grids(job, output);
    printf("%6s", "trial");
    if (job->n_grids > 1) printf(" %12s", "grid");
    if (job->search.samples) printf(" %7s", "sample");
    for (int c = 0; c < n_cols; c++) printf(" %10s", cols[c]->key);
    printf(job->exec ? "\n" : " %9s %6s %8s %10s\n", "params", "L", "updates", "est.GFLOP");
    double total = 0, largest = 0;
    long chosen = 0, later = 0;
    for (long k = 0; k < job->n_trials; k++) {
        if (!p->selected[k]) continue; /* another shard's, or left out by --trial or --only */
        chosen++;
        total += p->trials[k].cost;
        if (p->trials[k].generation > 0) { /* its values come from the results of the ones before */
            later++;
            continue;
        }
        long point;
        const Grid *g = job_grid_of(job, k, &point);
        const Settings *s = &p->trials[k].s;
        const double c = p->trials[k].cost;
        largest = c > largest ? c : largest;
        printf("%6ld", k);
        if (job->n_grids > 1) printf(" %12s", g->name);
        if (job->search.samples) printf(" %7d", p->trials[k].sample);
        for (int i = 0; i < n_cols; i++) {
            char v[SETTINGS_TEXT_MAX];
            settings_format(s, cols[i], v, sizeof v);
            printf(" %10s", v);
        }
        if (job->exec) {
            printf("\n");
            continue;
        }
        printf(" %9zu %6d %8d %10.1f\n", model_param_count(s), task_shape(s).L, trial_epochs(s) * (s->train_size / s->batch), c);
    }
    if (later)
        printf("%ld trial%s of generations 2 to %d: %d per generation in each group, drawn by TPE from the results "
               "of the generations before\n", later, later == 1 ? "" : "s", job->search.generations,
               job->search.per_generation);
    if (chosen < job->n_trials) printf("%ld of the %ld trials chosen by the options%s", chosen, job->n_trials,
                                       job->exec ? "\n" : "; ");
    if (job->exec) return; /* what a program costs is its own */
    printf("total %.1f GFLOP at the full epoch budgets (early stopping ends trials sooner); "
           "the largest trial %.1f GFLOP\n", total, largest);
}


int plan_select(Plan *p, const Options *a, char *err, size_t errlen)
{
    return select_trials(p, a, err, errlen) != 0 || check_halving(p, err, errlen) != 0 ? -1 : 0;
}
