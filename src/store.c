/* The results store: the base file, its journal, compaction in a child process, and the commands
 * that read a store (status) or combine two (merge). */
#include "store.h"

#include <dirent.h>     /* opendir, readdir */
#include <errno.h>      /* errno */
#include <fcntl.h>      /* open */
#include <ftw.h>        /* nftw */
#include <pthread.h>    /* pthread_* */
#include <inttypes.h>   /* PRIx64 */
#include <libgen.h>     /* dirname, basename */
#include <signal.h>     /* kill, SIGKILL */
#include <stddef.h>     /* offsetof */
#include <stdlib.h>     /* getenv, atof, free */
#include <string.h>     /* strerror, memcpy */
#include <sys/prctl.h>  /* prctl, PR_SET_PDEATHSIG */
#include <sys/random.h> /* getrandom */
#include <sys/stat.h>   /* stat */
#include <sys/wait.h>   /* waitpid */
#include <time.h>       /* time */
#include <unistd.h>     /* fork, getpid, unlink, _exit */

#include "check.h"   /* CS_ALLOC, CS_EXIT_* */
#include "clock.h"   /* cs_now_s */
#include "jobfile.h"  /* job_parse, job_describe */
#include "progress.h" /* progress_duration */

#define GROWTH 1.0       /* compact when the records not in the base reach this fraction of it */
#define DUTY 20.0        /* ... or when the time since the last is this many times its duration */
#define MIN_INTERVAL 30.0

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The layout of a curve row for the journal's header: "epoch:i4:0 train_loss:f8:8 ... size:96". */
static void curve_layout(char *buf, size_t n)
{
    size_t len = 0;
#define LAYOUT(ctype, name, h5type, meaning)                                                                   \
    len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s:%s:%zu ", #name,                             \
                            sizeof(ctype) == 4 ? "i4" : "f8", offsetof(CurveRow, name));
    CURVE_FIELDS(LAYOUT)
#undef LAYOUT
    snprintf(buf + len, len < n ? n - len : 0, "size:%zu", sizeof(CurveRow));
}

uint64_t store_new_id(void)
{
    uint64_t id = 0;
    if (getrandom(&id, sizeof id, 0) != sizeof id) /* no entropy source: time and process */
        id = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() << 32 ^ (uint64_t)(cs_now_s() * 1e9);
    return id ? id : 1;
}

static void set_paths(Store *st, const char *path, const char *dir)
{
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    snprintf(st->journal, sizeof st->journal, "%s/journal", dir);
    const char *env = getenv("COPYSWEEP_COMPACT_S");
    st->min_interval_s = env && atof(env) >= 0 ? atof(env) : MIN_INTERVAL;
    st->j.fd = -1;
}

/* ---- compaction ------------------------------------------------------------------------------ */

/* The trial a STATUS, FINAL or CURVE record starts with: 0, or -1 if the record is too short. */
static int record_trial(const unsigned char *p, size_t n, JournalTrial *t)
{
    if (n < sizeof *t) return -1;
    memcpy(t, p, sizeof *t);
    return 0;
}

typedef struct {
    ResultsEdit *e;
    uint64_t last;
    char *err;
    size_t errlen;
} Apply;

static int apply(void *arg, uint64_t seq, int type, const unsigned char *p, size_t n)
{
    Apply *a = arg;
    JournalTrial t;
    if (type == JREC_STATUS || type == JREC_FINAL) {
        if (record_trial(p, n, &t) != 0) {
            snprintf(a->err, a->errlen, "record %" PRIu64 " is too short", seq);
            return 2;
        }
        if (type == JREC_STATUS)
            results_edit_status(a->e, (long)t.trial, t.key, t.status, t.rank);
        else
            results_edit_final(a->e, (long)t.trial, t.key, p + sizeof t, n - sizeof t);
    }
    a->last = seq;
    return 0;
}

/* The base at path with the journal's records after `from` among its first `upto` bytes (and the
 * run's row, if given) applied, written to tmp and renamed to `to` (NULL: kept as tmp). *seq: the
 * last record applied; *bytes: the size of the new file. */
static int compact(const char *path, const char *journal, uint64_t id, uint64_t from, long long upto,
                   const RunRecord *run, const char *tmp, const char *to, uint64_t *seq, long long *bytes,
                   char *err, size_t errlen)
{
    ResultsEdit *e = results_edit_begin(path, tmp);
    char why[1024] = "";
    Apply a = {.e = e, .last = from, .err = why, .errlen = sizeof why};
    int rc = journal_scan(journal, id, from, upto, apply, &a, NULL, why, sizeof why);
    if (rc < 0 || rc > 1) {
        results_edit_abort(e);
        snprintf(err, errlen, "%s%s%s", rc > 1 ? journal : "", rc > 1 ? ": " : "", why);
        return -1;
    }
    if (run) results_edit_run(e, run);
    if (results_edit_end(e, a.last, to, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s (while applying %s)", why, journal);
        return -1;
    }
    if (seq) *seq = a.last;
    if (bytes) *bytes = file_size(to ? to : tmp);
    return 0;
}

static int compaction_due(Store *st, uint64_t *seq, long long *size)
{
    if (st->writer_started) pthread_mutex_lock(&st->mu);
    *seq = st->writer_started ? st->written_seq : st->j.last_seq;
    *size = st->writer_started ? st->written_size : st->j.size;
    if (st->writer_started) pthread_mutex_unlock(&st->mu);
    const long long fresh = *size - st->journal_in_base;
    if (st->child || fresh <= 0 || *seq <= st->base_seq) return 0;
    if (fresh >= GROWTH * st->base_bytes) return 1;
    const double since = cs_now_s() - st->last_compact_end;
    /* COPYSWEEP_COMPACT_S=0 (for tests): back to back */
    return since >= st->min_interval_s && (st->min_interval_s == 0 || since >= DUTY * st->last_compact_s);
}

/* A child applies the records up to upto_seq, which end at byte upto. */
static void start_compaction(Store *st, uint64_t upto_seq, long long upto)
{
    const uint64_t from = st->base_seq;
    const pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return; /* tried again at the next poll */
    if (pid == 0) {
        /* the child dies with the master: a new sweep never meets an old compaction */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        char err[2048], tmp[PATH_MAX + 32];
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld", st->path, (long)getpid());
        uint64_t seq;
        if (compact(st->path, st->journal, st->store_id, from, upto, NULL, tmp, st->path, &seq, NULL, err,
                    sizeof err) != 0) {
            fprintf(stderr, "copysweep: compacting the journal into %s failed: %s (the journal keeps every "
                    "record; tried again later)\n", st->path, err);
            _exit(1);
        }
        _exit(seq == upto_seq ? 0 : 1);
    }
    st->child = pid, st->child_seq = upto_seq, st->child_upto = upto, st->child_t0 = cs_now_s();
}

/* Collect the compaction child; block: wait for it. */
static void reap(Store *st, int block)
{
    if (!st->child) return;
    int status;
    pid_t r;
    while ((r = waitpid(st->child, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {}
    if (r == 0) return;
    const double took = cs_now_s() - st->child_t0;
    st->child = 0;
    st->last_compact_end = cs_now_s();
    if (r > 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            st->base_seq = st->child_seq, st->journal_in_base = st->child_upto;
            st->base_bytes = file_size(st->path);
            st->bytes_written += st->base_bytes;
            st->last_compact_s = took;
            st->compactions++;
        } else {
            st->last_compact_s = took > 60 ? took : 60; /* back off */
        }
    }
}

void store_poll(Store *st)
{
    reap(st, 0);
    uint64_t seq;
    long long size;
    if (compaction_due(st, &seq, &size)) start_compaction(st, seq, size);
}

/* Remove PATH.tmp-PID files left by processes that no longer run (a master or a compaction killed). */
static void remove_stale_tmp(const char *path)
{
    char copy[PATH_MAX], copy2[PATH_MAX], prefix[PATH_MAX + 8];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(copy2, sizeof copy2, "%s", path);
    const char *folder = dirname(copy);
    snprintf(prefix, sizeof prefix, "%s.tmp-", basename(copy2));
    DIR *d = opendir(folder);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + strlen(prefix), &end, 10);
        if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
            char full[2 * PATH_MAX + 8];
            snprintf(full, sizeof full, "%s/%s", folder, e->d_name);
            if (!*end && pid > 0) unlink(full);
        }
    }
    closedir(d);
}

/* ---- opening ----------------------------------------------------------------------------------- */

int store_create(Store *st, const char *path, const char *dir, const char *command, const char *job,
                 const TrialRecord *recs, long n, char *err, size_t errlen)
{
    set_paths(st, path, dir);
    if (access(st->journal, F_OK) == 0) {
        snprintf(err, errlen, "'%s' holds records of a results file that is not at '%s' (was it moved or "
                 "removed?); move '%s' away to start afresh", st->journal, path, dir);
        return -1;
    }
    st->store_id = store_new_id();
    if (results_write(path, command, job, st->store_id, recs, n, err, errlen) != 0) return -1;
    st->base_bytes = st->bytes_written = file_size(path);
    char layout[2048];
    curve_layout(layout, sizeof layout);
    if (journal_create(&st->j, st->journal, st->store_id, 0, layout, err, errlen) != 0) return -1;
    st->journal_in_base = st->j.size;
    st->bytes_written += st->j.size;
    st->last_compact_end = cs_now_s();
    return 0;
}

typedef struct {
    ResultsIndex *ix;
    const char *journal;
    char *err;
    size_t errlen;
} Replay;

static int replay(void *arg, uint64_t seq, int type, const unsigned char *p, size_t n)
{
    Replay *r = arg;
    JournalTrial t;
    if (type != JREC_STATUS && type != JREC_FINAL) return 0;
    if (record_trial(p, n, &t) != 0) {
        snprintf(r->err, r->errlen, "'%s' is damaged: record %" PRIu64 " is too short; move it away", r->journal, seq);
        return -1;
    }
    if (t.trial < 0 || t.trial >= r->ix->n || r->ix->key[t.trial] != t.key || t.status < 0 || t.status >= STATUS_COUNT) {
        snprintf(r->err, r->errlen, "'%s' is damaged: record %" PRIu64 " names a trial (%" PRId64 ") that its results "
                 "file does not hold; move it away", r->journal, seq, t.trial);
        return -1;
    }
    r->ix->status[t.trial] = t.status;
    return 0;
}

int store_replay(const char *journal, ResultsIndex *ix, char *err, size_t errlen)
{
    Replay r = {.ix = ix, .journal = journal, .err = err, .errlen = errlen};
    return journal_scan(journal, ix->store_id, ix->journal_seq, -1, replay, &r, NULL, err, errlen);
}

int store_resume(Store *st, const char *path, const char *dir, ResultsIndex *ix, char *err, size_t errlen)
{
    set_paths(st, path, dir);
    st->store_id = ix->store_id, st->base_seq = ix->journal_seq;
    st->base_bytes = file_size(path);
    remove_stale_tmp(path);
    int rc = store_replay(st->journal, ix, err, errlen);
    if (rc < 0) return -1;
    char layout[2048];
    curve_layout(layout, sizeof layout);
    if (rc == 1 ? journal_create(&st->j, st->journal, st->store_id, st->base_seq, layout, err, errlen)
                : journal_open(&st->j, st->journal, st->store_id, st->base_seq, err, errlen))
        return -1;
    st->bytes_written = st->j.written;
    /* what the base already holds counts as compacted: at most the whole journal */
    st->journal_in_base = rc == 1 || st->j.last_seq <= st->base_seq ? st->j.size : 0;
    st->last_compact_end = cs_now_s();
    return 0;
}

int store_regrid(Store *st, const char *command, const char *job, const TrialRecord *recs, long n,
                 const long *old_of, char *err, size_t errlen)
{
    /* the journal's records (of the old numbering) go into the base first, in the same copy */
    char tmp[PATH_MAX + 32], why[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", st->path, (long)getpid());
    ResultsEdit *e = results_edit_begin(st->path, tmp);
    Apply a = {.e = e, .last = st->base_seq, .err = why, .errlen = sizeof why};
    int rc = journal_scan(st->journal, st->store_id, st->base_seq, -1, apply, &a, NULL, why, sizeof why);
    if (rc < 0 || rc > 1) {
        results_edit_abort(e);
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    results_edit_regrid(e, command, job, recs, n, old_of);
    if (results_edit_end(e, a.last, st->path, err, errlen) != 0) return -1;
    st->base_seq = a.last;
    st->base_bytes = file_size(st->path);
    st->bytes_written += st->base_bytes;
    /* a fresh journal: the old one's records are all in the base */
    journal_close(&st->j);
    unlink(st->journal);
    char layout[2048];
    curve_layout(layout, sizeof layout);
    if (journal_create(&st->j, st->journal, st->store_id, st->base_seq, layout, err, errlen) != 0) return -1;
    st->journal_in_base = st->j.size;
    return 0;
}

/* ---- records: the queue and its writer thread ------------------------------------------------ */

#define QUEUE_MAX_BYTES (1ll << 30) /* a caller that gets this far ahead of the disk waits */

struct StoreItem {
    StoreItem *next;
    int type, sync;
    unsigned char head[sizeof(JournalProgress) > sizeof(JournalTrial) ? sizeof(JournalProgress) : sizeof(JournalTrial)];
    size_t nhead, nbody;
    unsigned char *body; /* owned */
    char *unlink_after;  /* owned; removed once the record is synced */
};

static void item_free(StoreItem *it)
{
    free(it->body), free(it->unlink_after), free(it);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* A checkpoint: a file, or the folder of an [exec] trial's program with all it holds. */
static void remove_checkpoint(const char *path)
{
    if (unlink(path) != 0 && (errno == EISDIR || errno == EPERM)) nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Append a batch of records, sync once if any asks for it, then remove their checkpoints. */
static void write_batch(Store *st, StoreItem *batch)
{
    const double t0 = cs_now_s();
    int sync = 0, ok = 1;
    long finals = 0;
    for (StoreItem *it = batch; it && ok; it = it->next) {
        ok = journal_append(&st->j, it->type, it->head, it->nhead, it->body, it->nbody, 0) == 0;
        sync |= it->sync;
        finals += it->type == JREC_FINAL;
    }
    if (ok && sync && fdatasync(st->j.fd) != 0) ok = 0;
    const double took = cs_now_s() - t0;
    pthread_mutex_lock(&st->mu);
    if (!ok && !st->error[0])
        snprintf(st->error, sizeof st->error, "cannot append to '%s': %s", st->journal, strerror(errno));
    if (ok) {
        st->written_seq = st->j.last_seq, st->written_size = st->j.size;
        for (long i = 0; i < finals; i++) { /* each shares the batch's time */
            if (st->n_sync == st->cap_sync) {
                st->cap_sync = st->cap_sync ? 2 * st->cap_sync : 256;
                st->sync_s = realloc(st->sync_s, (size_t)st->cap_sync * sizeof *st->sync_s);
                if (!st->sync_s) CS_FAIL("out of memory");
            }
            st->sync_s[st->n_sync++] = took / (double)finals;
        }
    }
    pthread_mutex_unlock(&st->mu);
    while (batch) {
        StoreItem *next = batch->next;
        if (ok && batch->unlink_after) remove_checkpoint(batch->unlink_after); /* recorded for good */
        item_free(batch);
        batch = next;
    }
}

static void *writer_main(void *arg)
{
    Store *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->head && !st->closing) pthread_cond_wait(&st->wake, &st->mu);
        if (!st->head && st->closing) break;
        StoreItem *batch = st->head;
        st->head = st->tail = NULL;
        st->queued_bytes = 0;
        pthread_cond_broadcast(&st->drained);
        pthread_mutex_unlock(&st->mu);
        write_batch(st, batch);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Queue a record (taking body and unlink_after); -1 with err once a write has failed. */
static int enqueue(Store *st, int type, const void *head, size_t nhead, unsigned char *body, size_t nbody, int sync,
                   char *unlink_after, char *err, size_t errlen)
{
    if (!st->writer_started) {
        pthread_mutex_init(&st->mu, NULL);
        pthread_cond_init(&st->wake, NULL);
        pthread_cond_init(&st->drained, NULL);
        st->written_seq = st->j.last_seq, st->written_size = st->j.size;
        if (pthread_create(&st->writer, NULL, writer_main, st) != 0) CS_FAIL("cannot start the journal's writer thread");
        st->writer_started = 1;
    }
    StoreItem *it = CS_CALLOC(sizeof *it);
    *it = (StoreItem){.type = type, .sync = sync, .nhead = nhead, .nbody = nbody, .body = body,
                      .unlink_after = unlink_after};
    memcpy(it->head, head, nhead);
    pthread_mutex_lock(&st->mu);
    while (st->queued_bytes > QUEUE_MAX_BYTES && !st->error[0]) pthread_cond_wait(&st->drained, &st->mu);
    const int failed = st->error[0] != '\0';
    if (failed) {
        snprintf(err, errlen, "%s", st->error);
    } else {
        if (st->tail) st->tail->next = it;
        else st->head = it;
        st->tail = it;
        st->queued_bytes += (long long)(nhead + nbody);
        st->bytes_written += (long long)(JOURNAL_HEAD_BYTES + nhead + nbody);
        pthread_cond_signal(&st->wake);
    }
    pthread_mutex_unlock(&st->mu);
    if (failed) item_free(it);
    return failed ? -1 : 0;
}

/* Wait for the writer to write everything queued, and end it. */
static void writer_stop(Store *st)
{
    if (!st->writer_started) return;
    pthread_mutex_lock(&st->mu);
    st->closing = 1;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->writer, NULL);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->wake);
    pthread_cond_destroy(&st->drained);
    st->writer_started = 0;
}

int store_status(Store *st, long trial, uint64_t key, int status, int rank, char *err, size_t errlen)
{
    JournalTrial t = {.trial = trial, .key = key, .status = status, .rank = rank};
    return enqueue(st, JREC_STATUS, &t, sizeof t, NULL, 0, 0, NULL, err, errlen);
}

int store_final(Store *st, long trial, uint64_t key, int status, int rank, unsigned char *img, size_t n,
                const char *checkpoint, char *err, size_t errlen)
{
    JournalTrial t = {.trial = trial, .key = key, .status = status, .rank = rank};
    char *ckpt = checkpoint ? strdup(checkpoint) : NULL;
    if (checkpoint && !ckpt) CS_FAIL("out of memory");
    return enqueue(st, JREC_FINAL, &t, sizeof t, img, n, 1, ckpt, err, errlen);
}

int store_curve(Store *st, long trial, uint64_t key, const CurveRow *rows, int n, char *err, size_t errlen)
{
    JournalTrial t = {.trial = trial, .key = key, .rank = n};
    unsigned char *body = CS_ALLOC((size_t)n * sizeof *rows + 1);
    memcpy(body, rows, (size_t)n * sizeof *rows);
    return enqueue(st, JREC_CURVE, &t, sizeof t, body, (size_t)n * sizeof *rows, 0, NULL, err, errlen);
}

int store_progress(Store *st, const JournalProgress *p, char *err, size_t errlen)
{
    return enqueue(st, JREC_PROGRESS, p, sizeof *p, NULL, 0, 0, NULL, err, errlen);
}

int store_fold(Store *st, char *err, size_t errlen)
{
    if (st->writer_started) CS_FAIL("store_fold after the first record");
    if (st->j.last_seq <= st->base_seq) return 0;
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", st->path, (long)getpid());
    long long bytes = 0;
    if (compact(st->path, st->journal, st->store_id, st->base_seq, -1, NULL, tmp, st->path, &st->base_seq, &bytes, err,
                errlen) != 0)
        return -1;
    st->bytes_written += bytes, st->base_bytes = bytes, st->compactions++;
    st->journal_in_base = st->j.size;
    st->last_compact_end = cs_now_s();
    return 0;
}

int store_close(Store *st, const RunRecord *run, char *err, size_t errlen)
{
    writer_stop(st);
    reap(st, 1);
    if (st->error[0]) {
        snprintf(err, errlen, "%s", st->error);
        journal_close(&st->j);
        return -1;
    }
    int rc = 0;
    if (st->j.last_seq > st->base_seq || run) {
        char tmp[PATH_MAX + 32];
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld", st->path, (long)getpid());
        long long bytes = 0;
        rc = compact(st->path, st->journal, st->store_id, st->base_seq, -1, run, tmp, st->path, &st->base_seq,
                     &bytes, err, errlen);
        if (rc == 0) st->bytes_written += bytes, st->base_bytes = bytes, st->compactions++;
    }
    journal_close(&st->j);
    if (rc == 0) unlink(st->journal); /* every record is in the base */
    return rc;
}

/* ---- status ------------------------------------------------------------------------------------ */

typedef struct {
    ResultsIndex *ix;
    uint64_t applied;      /* the base holds statuses up to this record */
    int *rank;
    CurveRow *last;        /* (n) the last curve row of each trial; epoch 0: none */
    JournalProgress progress;
    int have_progress;
    const char *journal;
    char *err;
    size_t errlen;
} Watch;

static int watch(void *arg, uint64_t seq, int type, const unsigned char *p, size_t n)
{
    Watch *w = arg;
    if (type == JREC_PROGRESS && n >= sizeof w->progress) {
        memcpy(&w->progress, p, sizeof w->progress);
        w->have_progress = 1;
        return 0;
    }
    /* statuses from the records the base does not hold yet; ranks, curve rows and progress, which
     * the base never holds, from all */
    Replay r = {.ix = w->ix, .journal = w->journal, .err = w->err, .errlen = w->errlen};
    if (seq > w->applied && replay(&r, seq, type, p, n) != 0) return -1;
    JournalTrial t;
    if (record_trial(p, n, &t) != 0 || t.trial < 0 || t.trial >= w->ix->n) return 0;
    if (type == JREC_STATUS) w->rank[t.trial] = t.rank;
    if (type == JREC_CURVE && t.rank > 0 && n >= sizeof t + (size_t)t.rank * sizeof(CurveRow))
        memcpy(&w->last[t.trial], p + sizeof t + (size_t)(t.rank - 1) * sizeof(CurveRow), sizeof(CurveRow));
    return 0;
}

/* The running trials of the file, each with its last epoch (job: the file's job, to describe them). */
static void print_running(FILE *out, const ResultsIndex *ix, const Watch *w, const Job *job)
{
    for (long k = 0; k < ix->n; k++) {
        if (ix->status[k] != STATUS_RUNNING) continue;
        char what[512] = "";
        if (job) job_describe(job, k, what, sizeof what);
        fprintf(out, "  trial %ld%s%s%s running on rank %d", k, what[0] ? " (" : "", what, what[0] ? ")" : "", w->rank[k]);
        const CurveRow *row = &w->last[k];
        if (row->epoch > 0) {
            fprintf(out, ": epoch %d", row->epoch); /* a program's rows may lack any of these */
            if (row->val_acc == row->val_acc) fprintf(out, ", validation accuracy %.4f", row->val_acc);
            if (row->val_bits == row->val_bits) fprintf(out, ", %.2f bits", row->val_bits);
            if (row->val_acc != row->val_acc && row->val_loss == row->val_loss)
                fprintf(out, ", validation loss %.4g", row->val_loss);
            fprintf(out, ", %.0f s in", row->wall_s);
        } else {
            fprintf(out, ": in its first epoch");
        }
        fputc('\n', out);
    }
}

/* Under sampler = tpe: the generation in progress (the first with a trial not final) and each
 * generation's final trials. */
static void print_generations(FILE *out, const ResultsIndex *ix, const Job *job)
{
    const Search *se = &job->search;
    long *final = CS_CALLOC(2 * (size_t)se->generations * sizeof *final), *all = final + se->generations;
    for (long k = 0; k < ix->n; k++) {
        const int sample = job_sample(job, k);
        if (sample < 0) continue;
        const int g = sample / se->per_generation, st = ix->status[k];
        all[g]++;
        final[g] += st == STATUS_DONE || st == STATUS_DIVERGED || st == STATUS_PRUNED || st == STATUS_FAILED;
    }
    int current = 0;
    while (current < se->generations && final[current] == all[current]) current++;
    if (current < se->generations) fprintf(out, "TPE: generation %d of %d in progress;", current + 1, se->generations);
    else fprintf(out, "TPE: all %d generations final;", se->generations);
    for (int g = 0; g < se->generations; g++)
        fprintf(out, " %d: %ld/%ld final%s", g + 1, final[g], all[g], g + 1 < se->generations ? "," : "\n");
    free(final);
}

/* The sweep's last progress record, carried forward to now. */
static void print_progress(FILE *out, const Watch *w)
{
    double ago = (double)time(NULL) - w->progress.time;
    ago = ago > 0 ? ago : 0;
    char el[32], eta[32] = "unknown";
    progress_duration(w->progress.elapsed_s + ago, el, sizeof el);
    if (w->progress.eta_s >= 0) progress_duration(w->progress.eta_s > ago ? w->progress.eta_s - ago : 0, eta, sizeof eta);
    fprintf(out, "this run: %" PRId64 " trials finished, elapsed %s, ETA %s\n", w->progress.finished, el, eta);
    if (ago > 600)
        fprintf(out, "no progress recorded for %.0f minutes: if no sweep runs, it was stopped; run its command "
                "again to resume\n", ago / 60);
}

int store_print_status(const char *path, FILE *out)
{
    char err[2048], dir[PATH_MAX + 8], journal[PATH_MAX + 16];
    ResultsIndex ix;
    int rc = results_read_index(path, &ix, err, sizeof err);
    if (rc == 1) snprintf(err, sizeof err, "'%s' does not exist", path);
    if (rc != 0) {
        fprintf(stderr, "copysweep: status: %s\n", cs_one_line(err));
        return CS_EXIT_USER;
    }
    snprintf(dir, sizeof dir, "%s.ckpt", path);
    snprintf(journal, sizeof journal, "%s/journal", dir);
    Watch w = {.ix = &ix, .applied = ix.journal_seq, .rank = CS_CALLOC((size_t)ix.n * sizeof *w.rank + 1),
               .last = CS_CALLOC((size_t)ix.n * sizeof *w.last + 1), .journal = journal, .err = err,
               .errlen = sizeof err};
    rc = journal_scan(journal, ix.store_id, 0, -1, watch, &w, NULL, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "copysweep: status: %s\n", cs_one_line(err));
        free(w.rank), free(w.last);
        results_index_free(&ix);
        return CS_EXIT_USER;
    }
    long count[STATUS_COUNT] = {0};
    for (long k = 0; k < ix.n; k++) count[ix.status[k]]++;
    fprintf(out, "%s: %ld trial%s:", path, ix.n, ix.n == 1 ? "" : "s");
    for (int s = 0; s < STATUS_COUNT; s++) fprintf(out, " %ld %s%s", count[s], status_names[s], s + 1 < STATUS_COUNT ? "," : "\n");
    Job job;
    char why[256];
    const int parsed = job_parse(&job, path, ix.job, why, sizeof why) == 0, described = parsed && job.n_trials == ix.n;
    print_running(out, &ix, &w, described ? &job : NULL);
    if (described && job.search.sampler == SAMPLER_TPE) print_generations(out, &ix, &job);
    if (parsed && job.exec)
        fprintf(out, "each trial's program output: %s.logs/trial-KEY.stdout, .stderr and .metrics.jsonl (KEY: the "
                "trial's key in hex); a failed trial's last lines of stderr are in /trials stderr_tail\n", path);
    if (parsed) job_free(&job);
    if (rc == 1) fprintf(out, "no sweep is writing it (no journal)\n");
    else if (w.have_progress) print_progress(out, &w);
    free(w.rank), free(w.last);
    results_index_free(&ix);
    return 0;
}

/* ---- merge ------------------------------------------------------------------------------------- */

/* A copy of the results file at path with its journal applied, at tmp; 0, or -1 with err. */
static int settled_copy(const char *path, const char *tmp, char *err, size_t errlen)
{
    ResultsIndex ix;
    int rc = results_read_index(path, &ix, err, errlen);
    if (rc == 1) snprintf(err, errlen, "'%s' does not exist", path);
    if (rc != 0) return -1;
    char journal[PATH_MAX + 16];
    snprintf(journal, sizeof journal, "%s.ckpt/journal", path);
    rc = store_replay(journal, &ix, err, errlen); /* checks it before anything is written */
    if (rc >= 0)
        rc = compact(path, journal, ix.store_id, ix.journal_seq, -1, NULL, tmp, NULL, NULL, NULL, err, errlen);
    results_index_free(&ix);
    return rc < 0 ? -1 : 0;
}

int store_merge(const char *const *inputs, int n, const char *out, const char *command)
{
    char err[2048];
    if (access(out, F_OK) == 0) {
        fprintf(stderr, "copysweep: merge: '%s' exists; merge writes a new file (choose another -o)\n", out);
        return CS_EXIT_USER;
    }
    if (results_check_writable(out, err, sizeof err) != 0) {
        fprintf(stderr, "copysweep: merge: option '-o': %s\n", err);
        return CS_EXIT_USER;
    }
    /* each input with its journal applied, in a copy beside the output */
    char (*tmp)[PATH_MAX + 48] = CS_CALLOC((size_t)n * sizeof *tmp);
    const char **paths = CS_CALLOC((size_t)n * sizeof *paths);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(tmp[i], sizeof tmp[i], "%s.tmp-%ld-%d", out, (long)getpid(), i);
        paths[i] = tmp[i];
        if (settled_copy(inputs[i], tmp[i], err, sizeof err) != 0) rc = CS_EXIT_USER;
    }
    if (rc == 0) {
        int m = results_merge(paths, inputs, n, out, command, store_new_id(), err, sizeof err);
        rc = m == 0 ? 0 : m == -2 ? CS_EXIT_USER : CS_EXIT_FAILURE;
    }
    for (int i = 0; i < n; i++) unlink(tmp[i]);
    free(tmp), free(paths);
    if (rc != 0) fprintf(stderr, "copysweep: merge: %s\n", cs_one_line(err));
    else fprintf(stderr, "copysweep: wrote %s\n", out);
    return rc;
}
