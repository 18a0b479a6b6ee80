/* The results file of one sweep: named, matched with the plan, locked, opened and closed. */
#include "sweepfile.h"

#include <errno.h>    /* errno, EEXIST, EWOULDBLOCK */
#include <fcntl.h>    /* open, O_* */
#include <math.h>     /* isnan */
#include <stdio.h>    /* fprintf, snprintf */
#include <stdlib.h>   /* free */
#include <string.h>   /* strcmp, strerror, strlen */
#include <sys/file.h> /* flock */
#include <sys/stat.h> /* mkdir */
#include <unistd.h>   /* close, unlink, rmdir */

#include "check.h" /* CS_ALLOC, CS_CALLOC, CS_FAIL */
#include "clock.h"    /* cs_now_s */
#include "generations.h" /* objective_of_curves */
#include "progress.h" /* progress_mean_ms */

/* FILE.h5 -> FILE.shard-I-of-N.h5; -1 if that is too long. */
static int shard_output(char *out, size_t n, int shard, int shards)
{
    char base[PATH_MAX], suffix[64];
    snprintf(base, sizeof base, "%s", out);
    size_t len = strlen(base);
    const int h5 = len > 3 && strcmp(base + len - 3, ".h5") == 0;
    if (h5) base[len - 3] = '\0';
    snprintf(suffix, sizeof suffix, ".shard-%d-of-%d%s", shard, shards, h5 ? ".h5" : "");
    if (strlen(base) + strlen(suffix) >= n) return -1;
    memcpy(out, base, strlen(base));
    memcpy(out + strlen(base), suffix, strlen(suffix) + 1);
    return 0;
}

int sweepfile_name(SweepFile *f, const Plan *p, const Options *a, int argc, char **argv, char *err, size_t errlen)
{
    snprintf(f->output, sizeof f->output, "%s", a->output ? a->output : p->job.output);
    if (a->shards && shard_output(f->output, sizeof f->output, a->shard, a->shards) != 0) {
        snprintf(err, errlen, "option '--shard': the shard's output name would be too long");
        return -1;
    }
    size_t len = 0;
    for (int i = 0; i < argc && len < sizeof f->command; i++)
        len += (size_t)snprintf(f->command + len, sizeof f->command - len, i ? " %s" : "%s", argv[i]);
    return 0;
}

/* The file's index (rc 1: no file yet) and its rows matched with the plan's trials (old_of); *regrid
 * if they are not the job's trials in order. 0 or 1, or -1 with err. */
static int read_and_match(const SweepFile *f, const Plan *p, ResultsIndex *ix, long *old_of, int *regrid, char *err,
                          size_t errlen)
{
    const int rc = results_read_index(f->output, ix, err, errlen);
    if (rc < 0) {
        const size_t len = strlen(err);
        snprintf(err + len, errlen - len, " (move it away or choose another output)");
        return -1;
    }
    *regrid = 0;
    if (rc == 1) return 1;
    if (ix->has_sample != (p->job.search.samples > 0)) {
        snprintf(err, errlen, "'%.1024s' holds the trials of a job %s [search], and %.1024s %s one (its rows %s a sample column); "
                 "choose another output", f->output, ix->has_sample ? "with" : "without", p->job.path,
                 ix->has_sample ? "is not" : "is", ix->has_sample ? "have" : "lack");
        results_index_free(ix);
        return -1;
    }
    if (plan_match(p, ix, f->output, old_of, err, errlen) != 0) {
        results_index_free(ix);
        return -1;
    }
    *regrid = ix->n != p->n;
    for (long k = 0; k < p->n; k++) *regrid |= old_of[k] != k;
    return 0;
}

/* --rerun against the statuses as the file and its journal hold them, before anything is written. */
static int choose_rerun(const SweepFile *f, Plan *p, const char *spec, int have_file, ResultsIndex *ix,
                        const long *old_of, char *err, size_t errlen)
{
    int *now = CS_CALLOC((size_t)p->n * sizeof *now + 1);
    char journal[PATH_MAX + 16];
    snprintf(journal, sizeof journal, "%s.ckpt/journal", f->output);
    int bad = have_file && store_replay(journal, ix, err, errlen) < 0;
    for (long k = 0; k < p->n && have_file; k++) now[k] = old_of[k] >= 0 ? ix->status[old_of[k]] : STATUS_PENDING;
    bad = bad || plan_rerun(p, spec, now, err, errlen) != 0;
    free(now);
    return bad ? -1 : 0;
}

/* OUTPUT.ckpt made and its lock taken: one sweep at a time per results file (the lock is the
 * kernel's, so it goes with the process). 0, or -1 with err. */
static int lock_folder(SweepFile *f, char *err, size_t errlen)
{
    if (snprintf(f->ckpt_dir, sizeof f->ckpt_dir - 32, "%s.ckpt", f->output) >= (int)sizeof f->ckpt_dir - 32 ||
        (mkdir(f->ckpt_dir, 0755) != 0 && errno != EEXIST)) {
        snprintf(err, errlen, "cannot create the checkpoint folder '%s.ckpt': %s", f->output, strerror(errno));
        return -1;
    }
    char lock[PATH_MAX + 16];
    snprintf(lock, sizeof lock, "%s/lock", f->ckpt_dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        snprintf(err, errlen, "another sweep is writing '%s' (it holds the lock in its .ckpt folder)", f->output);
        close(fd);
        return -1;
    }
    f->lock_fd = fd;
    return 0;
}

/* The store: a new file (have_file 0), or the file resumed and, if its trials are not the job's in
 * order, grown to the job's grid. 0, or -1 with err. */
static int open_store(SweepFile *f, const Plan *p, int have_file, ResultsIndex *ix, const long *old_of, int regrid,
                      char *err, size_t errlen)
{
    TrialRecord *recs = !have_file || regrid ? plan_pending_records(p) : NULL;
    int opened;
    if (!have_file) {
        opened = store_create(&f->store, f->output, f->ckpt_dir, f->command, p->job.text, recs, p->n, err, errlen);
    } else {
        opened = store_resume(&f->store, f->output, f->ckpt_dir, ix, err, errlen);
        for (long k = 0; k < p->n; k++) f->status[k] = old_of[k] >= 0 ? ix->status[old_of[k]] : STATUS_PENDING;
        if (opened == 0 && regrid) {
            long kept = 0;
            for (long k = 0; k < p->n; k++) kept += old_of[k] >= 0;
            fprintf(stderr, "copysweep: %s holds %ld of this job's %ld trials: they keep their results, in the "
                    "job's order\n", f->output, kept, p->n);
            char why[1024];
            if (store_regrid(&f->store, f->command, p->job.text, recs, p->n, old_of, why, sizeof why) != 0)
                CS_FAIL("%s", why);
        }
    }
    free(recs);
    return opened;
}

typedef struct {
    const Plan *plan;
    Halving *halving;
} RungRead;

/* A finished trial's values at the rungs it passed, from its curves in the file. */
static void rung_values(void *arg, long k, const CurveRow *rows, int n)
{
    RungRead *r = arg;
    const HalvingSpec *spec = &r->plan->job.halving;
    for (int i = 0; i < n; i++) {
        const int rung = halving_rung(spec, rows[i].epoch);
        if (rung >= 0 && !isnan(halving_row_value(spec, &rows[i])))
            halving_record(r->halving, r->plan->trials[k].group, rung, halving_metric(spec, rows, i + 1), 0);
    }
}

/* want[k]: trial k is a searched trial that the file holds finished (done, diverged, pruned, and
 * with failed also failed) and that this run does not run again. Returns how many; the journal is
 * folded into the file first if any (0), or -1 with err. */
static long finished_searched(SweepFile *f, const Plan *p, int failed, unsigned char *want, char *err, size_t errlen)
{
    long any = 0;
    for (long k = 0; k < p->n; k++) {
        const int s = f->status[k];
        want[k] = (s == STATUS_DONE || s == STATUS_DIVERGED || s == STATUS_PRUNED || (failed && s == STATUS_FAILED)) &&
                  !p->rerun[k] && p->trials[k].sample >= 0;
        any += want[k];
    }
    return any && store_fold(&f->store, err, errlen) != 0 ? -1 : any;
}

/* The rungs' values as the finished trials of the file (journal folded in) left them. 0, or -1. */
static int halving_resume(SweepFile *f, const Plan *p, char *err, size_t errlen)
{
    f->halving = halving_new(&p->job.halving);
    unsigned char *want = CS_CALLOC((size_t)p->n + 1);
    const long any = finished_searched(f, p, 0, want, err, errlen);
    RungRead r = {.plan = p, .halving = f->halving};
    int rc = 0;
    if (any) rc = any < 0 || results_read_curves(f->output, p->n, want, rung_values, &r, err, errlen) != 0 ? -1 : 0;
    free(want);
    return rc;
}

typedef struct {
    const Objective *o;
    double *value;
} ObjectiveRead;

static void objective_values(void *arg, long k, const CurveRow *rows, int n)
{
    ObjectiveRead *r = arg;
    r->value[k] = objective_of_curves(r->o, rows, n);
}

/* The searched values of the file's finished trials (want), as text that parses back: what they ran,
 * which TPE then takes instead of drawing them again. 0, or -1. */
static int drawn_resume(SweepFile *f, const Plan *p, const unsigned char *want, char *err, size_t errlen)
{
    const Search *se = &p->job.search;
    const size_t W = SETTINGS_TEXT_MAX;
    f->drawn = CS_CALLOC((size_t)p->n * (size_t)se->n_keys * W + 1);
    char *col = CS_ALLOC((size_t)p->n * W + 1);
    double *num = CS_ALLOC((size_t)p->n * sizeof *num + 1);
    int rc = 0;
    for (int j = 0; j < se->n_keys && rc == 0; j++) {
        const SettingInfo *info = se->keys[j].info;
        char name[64];
        settings_column(info, name, sizeof name);
        const int text = info->type == SET_CHOICE || info->type == SET_OWN;
        rc = text ? results_read_text(f->output, name, p->n, W, col, err, errlen)
                  : results_read_column(f->output, name, p->n, num, err, errlen);
        for (long k = 0; rc == 0 && k < p->n; k++) {
            char *to = f->drawn + ((size_t)k * (size_t)se->n_keys + (size_t)j) * W;
            if (!want[k]) continue;
            if (text) snprintf(to, W, "%s", col + (size_t)k * W);
            else if (info->type == SET_INT) snprintf(to, W, "%.0f", num[k]);
            else snprintf(to, W, "%.17g", num[k]);
        }
    }
    free(col), free(num);
    return rc;
}

/* The objectives of sampler = tpe as the file's finished trials (journal folded in) hold them, from
 * their curves or their program's metric column. 0, or -1. */
static int objective_resume(SweepFile *f, const Plan *p, char *err, size_t errlen)
{
    const Objective *o = &p->job.search.objective;
    f->objective = CS_ALLOC((size_t)p->n * sizeof *f->objective + 1);
    for (long k = 0; k < p->n; k++) f->objective[k] = NAN;
    unsigned char *want = CS_CALLOC((size_t)p->n + 1);
    /* failed ones too: a failed trial's objective is never used, but what it ran is */
    const long any = finished_searched(f, p, 1, want, err, errlen);
    int rc = any < 0 ? -1 : 0;
    if (any <= 0) {
    } else if (o->kind != OBJ_EXEC_METRIC && o->kind != OBJ_COLUMN) {
        ObjectiveRead r = {.o = o, .value = f->objective};
        rc = results_read_curves(f->output, p->n, want, objective_values, &r, err, errlen);
    } else {
        double *col = CS_ALLOC((size_t)p->n * sizeof *col + 1);
        rc = results_read_column(f->output, o->column, p->n, col, err, errlen);
        for (long k = 0; rc == 0 && k < p->n; k++)
            if (want[k]) f->objective[k] = col[k];
        free(col);
    }
    if (rc == 0 && any > 0) rc = drawn_resume(f, p, want, err, errlen);
    free(want);
    return rc;
}

int sweepfile_open(SweepFile *f, Plan *p, const Options *a, char *err, size_t errlen)
{
    if (results_check_writable(f->output, err, errlen) != 0) return -1;
    f->status = CS_CALLOC((size_t)p->n * sizeof *f->status + 1);
    ResultsIndex ix;
    long *old_of = CS_ALLOC((size_t)p->n * sizeof *old_of + 1);
    int regrid;
    const int rc = read_and_match(f, p, &ix, old_of, &regrid, err, errlen);
    if (rc < 0) {
        free(old_of);
        return -1;
    }
    const int have_file = rc == 0;
    if ((a->rerun && choose_rerun(f, p, a->rerun, have_file, &ix, old_of, err, errlen) != 0) ||
        lock_folder(f, err, errlen) != 0) {
        if (have_file) results_index_free(&ix);
        free(old_of);
        return -1;
    }
    const int opened = open_store(f, p, have_file, &ix, old_of, regrid, err, errlen);
    if (have_file) results_index_free(&ix);
    free(old_of);
    if (opened == 0 && p->job.halving.n_rungs && halving_resume(f, p, err, errlen) != 0)
        CS_FAIL("%s", err); /* the file was read above: this is the machine's or the library's failure */
    if (opened == 0 && p->job.search.sampler == SAMPLER_TPE && objective_resume(f, p, err, errlen) != 0)
        CS_FAIL("%s", err);
    return opened;
}

int sweepfile_close(SweepFile *f, const RunRecord *run, int reported, int done)
{
    const double t = cs_now_s();
    char err[1024];
    const int rc = store_close(&f->store, run, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "copysweep: %s (every record is still in the journal: run the same command to finish "
                "the file)\n", err);
    if (reported) {
        const Store *st = &f->store;
        const long n = st->n_sync, head = progress_head(n);
        fprintf(stderr, "copysweep: results file %.1f MB; %.1f MB written for it in this run (journal and %ld "
                "compactions); the last compaction took %.2f s after the trials", 1e-6 * (double)st->base_bytes,
                1e-6 * (double)st->bytes_written, st->compactions, cs_now_s() - t);
        if (n)
            fprintf(stderr, "; the journal's writer thread, append and sync per finished trial: first %ld mean %.3f ms, "
                    "last %ld mean %.3f ms", head, progress_mean_ms(st->sync_s, 0, head), head, progress_mean_ms(st->sync_s, n - head, n));
        fputc('\n', stderr);
    }
    if (rc == 0 && done) {
        char lock[PATH_MAX + 16];
        snprintf(lock, sizeof lock, "%s/lock", f->ckpt_dir);
        unlink(lock);
        rmdir(f->ckpt_dir); /* empty once every trial is recorded */
    }
    return rc;
}

void sweepfile_free(SweepFile *f)
{
    free(f->status), free(f->store.sync_s);
    halving_free(f->halving);
    free(f->objective), free(f->drawn);
    f->status = NULL, f->store.sync_s = NULL, f->halving = NULL, f->objective = NULL, f->drawn = NULL;
}
