/* The MPI sweep: options, the master's dispatch loop and results file, the workers, progress
 * reports and signals. Protocol (tags below): a worker sends READY once, then the master answers
 * each READY or RESULT from it with TRIAL (a trial number) or STOP; HALT asks a busy worker to
 * checkpoint its trial and send the result now. */
#include "sweep.h"

#include <errno.h>    /* errno, EEXIST */
#include <limits.h>   /* PATH_MAX */
#include <math.h>     /* fmax */
#include <mpi.h>      /* MPI_* */
#include <signal.h>   /* sigaction, sig_atomic_t */
#include <stdio.h>    /* fprintf, snprintf */
#include <stdlib.h>   /* free, getenv */
#include <string.h>   /* strcmp, strerror */
#include <fcntl.h>    /* open, O_* */
#include <sys/file.h> /* flock */
#include <sys/stat.h> /* mkdir */
#include <time.h>     /* nanosleep, time, gmtime_r, strftime */
#include <unistd.h>   /* isatty, gethostname, unlink, rmdir, close */

#include "batchmath.h" /* bm_setup_threads, bm_path_select, bm_path_name */
#include "cli.h"       /* Options, cli_parse */
#include "estimate.h"  /* estimate_cost, estimate_wall */
#include "halving.h"   /* Halving, halving_* */
#include "check.h"     /* CS_ALLOC, CS_EXIT_* */
#include "clock.h"     /* cs_now_s */
#include "settings_table.h" /* settings_* */
#include "jobfile.h"   /* Job */
#include "model.h"     /* Model, model_free, model_param_count */
#include "pack.h"      /* Pack, Unpack */
#include "results.h"   /* results_* */
#include "store.h"     /* Store, store_* */
#include "task.h"      /* task_has_bits */
#include "tasks.h"     /* task_shape */
#include "train.h"     /* train_trial, TrialResult */

enum { TAG_READY = 1, TAG_TRIAL, TAG_STOP, TAG_HALT, TAG_RESULT, TAG_EPOCH, TAG_RUNG };

#define POLL_NS 100000           /* the wait between polls of a rank waiting for a message: 0.1 ms */
#define PROGRESS_RECORD_S 5.0    /* the sweep's counts and ETA reach the journal at most this often */
#define PLAIN_PROGRESS_S 300.0   /* without a terminal, a progress line at least this often */
/* on a terminal the bar is redrawn on every event and twice a second otherwise */

/* The only state a signal handler can reach: the signal that asked this rank to stop. */
static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static void mpi_check(int rc, const char *call, const char *file, int line)
{
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len, rank = -1;
    MPI_Error_string(rc, msg, &len);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "copysweep: rank %d: %s failed: %s (at %s:%d)\n", rank, call, msg, file, line);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, CS_EXIT_FAILURE);
}
#define CS_MPI(call) mpi_check((call), #call, __FILE__, __LINE__)

/* What every rank knows. */
typedef struct {
    Job job;
    char ckpt_dir[PATH_MAX];
    int rank, size, threads;
    char host[256];
    long fault_trial, fault_update; /* COPYSWEEP_FAULT=nan:TRIAL:UPDATE, for the tests; -1 none */
    long fault_abort;               /* COPYSWEEP_FAULT=abort:TRIAL: its rank fails on it; -1 none */
    long fault_hold;                /* COPYSWEEP_FAULT=hold:TRIAL: it waits for a signal (TrainCtx); -1 none */
} Shared;

/* FOLDER/trial-KEY.ckpt: named by the trial's settings, so that it stays its own when the grid grows */
static void checkpoint_path(const Shared *sh, long k, char *buf, size_t n)
{
    Settings s;
    job_trial(&sh->job, k, &s);
    if (snprintf(buf, n, "%s/trial-%016llx.ckpt", sh->ckpt_dir, (unsigned long long)settings_key(&s)) >= (int)n)
        CS_FAIL("checkpoint path too long");
}

static void format_duration(double s, char *buf, size_t n)
{
    if (s < 0 || s != s) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

/* ---- one trial, on whichever rank runs it --------------------------------------------------- */

static int stop_requested_serial(void *arg)
{
    (void)arg;
    return stop_signal != 0;
}

static int stop_requested_worker(void *arg)
{
    (void)arg;
    if (stop_signal) return 1;
    int flag;
    CS_MPI(MPI_Iprobe(0, TAG_HALT, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE));
    if (flag) CS_MPI(MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG_HALT, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    return flag;
}

/* Where a trial's curve rows go as its epochs end (sent: how many went already), and, for a trial
 * under successive halving, where its value at a rung goes: ask returns 0 if the trial is to stop. */
typedef struct {
    long k;
    int sent;
    void (*deliver)(void *arg, long k, const CurveRow *rows, int n);
    int (*ask)(void *arg, long k, uint64_t group, int rung, double value, int decide);
    void *arg;
    const HalvingSpec *spec; /* NULL: not under halving */
    uint64_t group;
} EpochSink;

static int on_epoch(void *arg, const CurveRow *rows, int n, int last)
{
    EpochSink *e = arg;
    if (n > e->sent) e->deliver(e->arg, e->k, rows + e->sent, n - e->sent);
    int stop = 0;
    for (int i = e->sent; e->spec && i < n; i++) {
        const int rung = halving_rung(e->spec, i + 1);
        if (rung < 0 || isnan(rows[i].val_acc)) continue; /* not a rung, or diverged there */
        /* a rung passed before a resume was decided then, and a trial that ends here anyway has nothing
         * to decide: their values are recorded only */
        const int decide = i == n - 1 && !last;
        stop = !e->ask(e->arg, e->k, e->group, rung, halving_metric(e->spec, rows, i + 1), decide) && decide;
    }
    e->sent = n;
    return stop;
}

static void run_trial(const Shared *sh, long k, int (*should_stop)(void *), EpochSink *sink, TrialResult *res,
                      Model *model)
{
    Settings s;
    char ckpt[PATH_MAX];
    job_trial(&sh->job, k, &s);
    if (sh->job.halving.n_rungs && job_sample(&sh->job, k) >= 0)
        sink->spec = &sh->job.halving, sink->group = job_group(&sh->job, k);
    if (k == sh->fault_abort) CS_FAIL("fault injection: trial %ld fails its rank", k);
    checkpoint_path(sh, k, ckpt, sizeof ckpt);
    TrainCtx ctx = {.log = NULL, .threads = sh->threads, .should_stop = should_stop,
                    .checkpoint = ckpt, .checkpoint_every_s = 60.0 * sh->job.checkpoint_minutes,
                    .fault_nan_update = k == sh->fault_trial ? sh->fault_update : 0, .fault_hold = k == sh->fault_hold,
                    .on_epoch = on_epoch, .epoch_arg = sink};
    train_trial(&s, &ctx, model, res);
}

/* ---- the master ----------------------------------------------------------------------------- */

typedef struct {
    Shared *sh;
    Store store;
    char output[PATH_MAX];
    char command[4096];
    long n;
    int *status;          /* (n) STATUS_* */
    int *rank_of;         /* (n) the rank running it */
    uint64_t *key;        /* (n) settings_key of each trial */
    unsigned char *selected; /* (n) chosen by --shard, --trial and --only (all without them) */
    unsigned char *rerun;    /* (n) to run again although finished (--rerun) */
    int selecting;           /* a selection option was given */
    long *order;          /* (n_todo) the trials to run, the most expensive first */
    long n_todo, next;
    double *cost;         /* (n) estimated GFLOP */
    double t0, last_line, last_progress;
    int tty, halting, fatal, show_epochs;
    /* this run */
    long finished, done, diverged, failed, stopped, running;
    double cost_todo, cost_done, compute_s, longest_s, wait_sum, wait_max;
    long waits;
    double *record_s;     /* (n_todo) the master's time to record each finished trial, in order */
    double seen;                       /* when the message being answered was seen */
    int lock_fd;                       /* FILE.ckpt/lock, flock'ed while the sweep runs */
    time_t started_at;
    double dispatch_sum, dispatch_max; /* the master's time from a worker's message to its answer */
    long dispatches;
    Halving *halving;                  /* the rungs' values, with [halving]; NULL without */
    long pruned, rung_stops[JOB_MAX_RUNGS], rung_goes[JOB_MAX_RUNGS]; /* this run's decisions */
} Master;

static void master_status_line(const Master *ms, char *buf, size_t n)
{
    char el[32], eta[32];
    double elapsed = cs_now_s() - ms->t0;
    format_duration(elapsed, el, sizeof el);
    if (ms->cost_done > 0)
        format_duration(fmax(0, ms->cost_todo - ms->cost_done) * elapsed / ms->cost_done, eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, "?");
    long final = 0;
    for (long k = 0; k < ms->n; k++) final += ms->status[k] >= STATUS_DONE && ms->status[k] != STATUS_FAILED;
    char pruned[64] = "";
    if (ms->halving) snprintf(pruned, sizeof pruned, ", %ld pruned", ms->pruned);
    snprintf(buf, n, "%ld/%ld trials finished (this run: %ld done, %ld diverged, %ld failed%s), %ld running, "
             "elapsed %s, ETA %s", final, ms->n, ms->done, ms->diverged, ms->failed, pruned, ms->running, el, eta);
}

/* A finished-trial line (event) and the state of the sweep: redrawn on a terminal, plain lines
 * otherwise. */
static void master_progress(Master *ms, const char *event)
{
    char line[512];
    master_status_line(ms, line, sizeof line);
    if (ms->tty) {
        if (!event && cs_now_s() - ms->last_line < 0.5) return; /* redraw twice a second at most */
        ms->last_line = cs_now_s();
        const int width = 24;
        int filled = ms->cost_todo > 0 ? (int)(width * ms->cost_done / ms->cost_todo + 0.5) : width;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        if (event) fprintf(stderr, "\r\033[K%s\n", event);
        fprintf(stderr, "\r\033[K[%s] %s", bar, line);
    } else if (event || cs_now_s() - ms->last_line >= PLAIN_PROGRESS_S) {
        fprintf(stderr, "%s%s%s\n", event ? event : "", event ? "; " : "", line);
        ms->last_line = cs_now_s();
    }
    fflush(stderr);
}

/* A journal write failed: the sweep stops (what is recorded stays; the same command resumes). */
static void master_store_failed(Master *ms, const char *err)
{
    if (ms->fatal) return;
    if (ms->tty) fputs("\r\033[K", stderr);
    fprintf(stderr, "copysweep: %s; stopping the sweep (finished trials already recorded stay; run the same "
            "command to resume)\n", err);
    ms->fatal = 1, ms->halting = 1;
}

/* The sweep's counts and ETA for `copysweep status`, at most every PROGRESS_RECORD_S. */
static void master_record_progress(Master *ms, int force)
{
    if (!ms->n_todo) return; /* a run with nothing to do leaves the file as it was */
    if (!force && cs_now_s() - ms->last_progress < PROGRESS_RECORD_S) return;
    ms->last_progress = cs_now_s();
    const double elapsed = cs_now_s() - ms->t0;
    JournalProgress p = {.time = (double)time(NULL), .elapsed_s = elapsed,
                         .eta_s = ms->cost_done > 0 ? (ms->cost_todo - ms->cost_done) * elapsed / ms->cost_done : -1,
                         .finished = ms->finished, .total = ms->n, .running = ms->running};
    char err[1024];
    if (!ms->fatal && store_progress(&ms->store, &p, err, sizeof err) != 0) master_store_failed(ms, err);
}

/* Curve rows of trial k's latest epochs: into the journal, and a line with --show-epochs. */
static void master_epochs(void *arg, long k, const CurveRow *rows, int n)
{
    Master *ms = arg;
    char err[1024];
    if (!ms->fatal && store_curve(&ms->store, k, ms->key[k], rows, n, err, sizeof err) != 0) master_store_failed(ms, err);
    if (!ms->show_epochs) return;
    char what[256], line[512];
    job_describe(&ms->sh->job, k, what, sizeof what);
    const CurveRow *r = &rows[n - 1];
    int at = snprintf(line, sizeof line, "trial %ld (%s) epoch %d on rank %d: validation accuracy %.4f", k, what,
                      r->epoch, ms->rank_of[k], r->val_acc);
    if (r->val_bits == r->val_bits && at > 0 && (size_t)at < sizeof line)
        snprintf(line + at, sizeof line - (size_t)at, ", %.2f bits", r->val_bits);
    master_progress(ms, line);
}

/* A trial's outcome as the rank that ran it sends it: what the master's progress line states, and
 * the trial's record for the journal, built on that rank (an HDF5 image; none if it stopped early). */
typedef struct {
    int status, has_bits;
    double wall_s, acc, bits, bits_se;
    char reason[256];
    unsigned char *img;
    size_t n_img;
} Outcome;

static void outcome_of(const Shared *sh, long k, const TrialResult *res, const Model *model, Outcome *o)
{
    Settings s;
    job_trial(&sh->job, k, &s);
    const TaskShape shape = task_shape(&s);
    *o = (Outcome){.status = res->status, .has_bits = task_has_bits(&shape), .wall_s = res->wall_s,
                   .acc = metrics_acc(&res->test), .bits = metrics_bits(&res->test), .bits_se = metrics_bits_se(&res->test)};
    snprintf(o->reason, sizeof o->reason, "%s", res->stop_reason);
    if (res->status == STATUS_PENDING) return;
    Tensor tensors[MODEL_MAX_TENSORS];
    TrialRecord rec = {.trial = (int)k, .key = settings_key(&s), .sampled = sh->job.search.samples > 0,
                       .sample = job_sample(&sh->job, k), .s = &s, .facts = trial_facts(&s),
                       .status = res->status, .res = res, .host = sh->host, .rank = sh->rank, .threads = sh->threads,
                       .kernel = bm_path_name()};
    if (model && model->mem)
        rec.weights = model->mem, rec.tensors = tensors, rec.n_tensors = model_tensors(model, tensors);
    char err[1024];
    if (results_trial_image(&rec, &o->img, &o->n_img, err, sizeof err) != 0) CS_FAIL("%s", err);
}

static void outcome_pack(Pack *p, const Outcome *o)
{
    pack_i64(p, o->status);
    pack_i64(p, o->has_bits);
    pack_f64(p, o->wall_s), pack_f64(p, o->acc), pack_f64(p, o->bits), pack_f64(p, o->bits_se);
    pack_str(p, o->reason);
    pack_i64(p, (int64_t)o->n_img);
    pack_bytes(p, o->img, o->n_img);
}

static void outcome_unpack(Unpack *u, Outcome *o)
{
    o->status = (int)unpack_int(u, STATUS_PENDING, STATUS_COUNT - 1);
    o->has_bits = (int)unpack_int(u, 0, 1);
    o->wall_s = unpack_f64(u), o->acc = unpack_f64(u), o->bits = unpack_f64(u), o->bits_se = unpack_f64(u);
    unpack_str(u, o->reason, sizeof o->reason);
    o->n_img = (size_t)unpack_int(u, 0, (int64_t)(u->len - u->pos));
    o->img = CS_ALLOC(o->n_img + 1);
    unpack_bytes(u, o->img, o->n_img);
}

/* Trial k's outcome from rank `rank` (0: the master itself); compute: the rank's own time on it.
 * The master takes o->img. */
static void master_record(Master *ms, long k, Outcome *o, int rank, double wait, double compute)
{
    char what[256], event[1024], err[1024];
    job_describe(&ms->sh->job, k, what, sizeof what);
    ms->running--;
    if (o->status == STATUS_PENDING) {
        ms->stopped++;
        ms->halting = 1; /* a trial stops early only when its rank was told to stop */
        snprintf(event, sizeof event, "trial %ld (%s) stopped after %.1f s: %s", k, what, o->wall_s, o->reason);
    } else {
        ms->finished++;
        ms->done += o->status == STATUS_DONE, ms->diverged += o->status == STATUS_DIVERGED;
        ms->failed += o->status == STATUS_FAILED, ms->pruned += o->status == STATUS_PRUNED;
        ms->cost_done += ms->cost[k];
        ms->compute_s += compute;
        ms->longest_s = compute > ms->longest_s ? compute : ms->longest_s;
        if (o->status == STATUS_FAILED)
            snprintf(event, sizeof event, "trial %ld (%s) failed on rank %d: %s", k, what, rank, o->reason);
        else {
            int at = snprintf(event, sizeof event, "trial %ld (%s) %s in %.1f s on rank %d: test accuracy %.4f",
                              k, what, status_names[o->status], o->wall_s, rank, o->acc);
            if (o->has_bits && at > 0 && (size_t)at < sizeof event)
                snprintf(event + at, sizeof event - (size_t)at, ", %.2f ± %.2f bits", o->bits, o->bits_se);
        }
    }
    if (wait >= 0) {
        ms->wait_sum += wait, ms->waits++;
        ms->wait_max = wait > ms->wait_max ? wait : ms->wait_max;
    }
    int recorded = 0;
    if (!ms->fatal) {
        const double t = cs_now_s();
        char ckpt[PATH_MAX];
        checkpoint_path(ms->sh, k, ckpt, sizeof ckpt);
        if (o->status == STATUS_PENDING)
            recorded = store_status(&ms->store, k, ms->key[k], STATUS_PENDING, rank, err, sizeof err) == 0;
        else
            recorded = store_final(&ms->store, k, ms->key[k], o->status, rank, o->img, o->n_img, ckpt, err, sizeof err) == 0;
        o->img = NULL; /* the store's now */
        if (o->status != STATUS_PENDING) ms->record_s[ms->finished - 1] = cs_now_s() - t;
        if (!recorded) master_store_failed(ms, err);
    }
    free(o->img);
    ms->status[k] = recorded ? o->status : STATUS_PENDING;
    master_record_progress(ms, 1);
    master_progress(ms, event);
}

static void master_dispatch(Master *ms, long k, int rank)
{
    ms->status[k] = STATUS_RUNNING;
    ms->rank_of[k] = rank;
    ms->running++;
    char err[1024];
    if (!ms->fatal && store_status(&ms->store, k, ms->key[k], STATUS_RUNNING, rank, err, sizeof err) != 0)
        master_store_failed(ms, err);
}

/* A trial's value at a rung: recorded, and with decide whether it goes on. */
static int master_rung(void *arg, long k, uint64_t group, int rung, double value, int decide)
{
    Master *ms = arg;
    const int goes = halving_record(ms->halving, group, rung, value, decide);
    if (decide) {
        ms->rung_goes[rung] += goes, ms->rung_stops[rung] += !goes;
        if (ms->show_epochs) {
            char what[256], line[512];
            job_describe(&ms->sh->job, k, what, sizeof what);
            snprintf(line, sizeof line, "trial %ld (%s) at rung %d (epoch %d): %s, %.4g (%ld of its group there)", k,
                     what, rung + 1, ms->sh->job.halving.rungs[rung], goes ? "goes on" : "pruned", value,
                     halving_count(ms->halving, group, rung));
            master_progress(ms, line);
        }
    }
    return goes;
}

static void serial_epochs(void *arg, long k, const CurveRow *rows, int n)
{
    Master *ms = arg;
    master_epochs(ms, k, rows, n);
    store_poll(&ms->store);
}

static void master_serial(Master *ms)
{
    while (ms->next < ms->n_todo && !ms->halting && !stop_signal) {
        long k = ms->order[ms->next++];
        master_dispatch(ms, k, 0);
        master_progress(ms, NULL);
        TrialResult res;
        Model model;
        EpochSink sink = {.k = k, .deliver = serial_epochs, .ask = master_rung, .arg = ms};
        const double t = cs_now_s();
        run_trial(ms->sh, k, stop_requested_serial, &sink, &res, &model);
        Outcome o;
        outcome_of(ms->sh, k, &res, &model, &o);
        trial_result_free(&res);
        model_free(&model);
        master_record(ms, k, &o, 0, -1, cs_now_s() - t);
        store_poll(&ms->store);
    }
}

/* Answer a worker that is free: its next trial, or STOP. Returns 1 if it was stopped. */
static int master_answer(Master *ms, int rank)
{
    if (!ms->halting && !stop_signal && ms->next < ms->n_todo) {
        long k = ms->order[ms->next++];
        CS_MPI(MPI_Send(&k, 1, MPI_LONG, rank, TAG_TRIAL, MPI_COMM_WORLD));
        double took = cs_now_s() - ms->seen;
        master_dispatch(ms, k, rank);
        ms->dispatch_sum += took, ms->dispatches++;
        ms->dispatch_max = took > ms->dispatch_max ? took : ms->dispatch_max;
        return 0;
    }
    CS_MPI(MPI_Send(NULL, 0, MPI_BYTE, rank, TAG_STOP, MPI_COMM_WORLD));
    return 1;
}

/* A RESULT message: the worker gets its next trial (or STOP) first, so that it does not wait while
 * the master records this one. Returns 1 if the worker was stopped. */
static int master_receive_result(Master *ms, int rank, int bytes)
{
    unsigned char *buf = CS_ALLOC((size_t)bytes);
    CS_MPI(MPI_Recv(buf, bytes, MPI_BYTE, rank, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    Unpack u = unpack_start(buf, (size_t)bytes);
    long k = (long)unpack_int(&u, 0, ms->n - 1);
    double wait = unpack_f64(&u), compute = unpack_f64(&u);
    Outcome o;
    outcome_unpack(&u, &o);
    if (u.bad || u.pos != u.len) CS_FAIL("malformed result message from rank %d", rank);
    free(buf);
    if (o.status == STATUS_PENDING) ms->halting = 1;
    int stopped = master_answer(ms, rank);
    master_record(ms, k, &o, rank, wait, compute);
    return stopped;
}

/* An EPOCH message: a trial number, then curve rows. */
static void master_receive_epochs(Master *ms, int rank, MPI_Status *st)
{
    int bytes;
    CS_MPI(MPI_Get_count(st, MPI_BYTE, &bytes));
    unsigned char *buf = CS_ALLOC((size_t)bytes + 1);
    CS_MPI(MPI_Recv(buf, bytes, MPI_BYTE, rank, TAG_EPOCH, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    Unpack u = unpack_start(buf, (size_t)bytes);
    long k = (long)unpack_int(&u, 0, ms->n - 1);
    int n = (int)unpack_int(&u, 1, 1 << 24);
    CurveRow *rows = CS_ALLOC((size_t)n * sizeof *rows);
    if (u.bad || curve_rows_unpack(&u, rows, n) != n) CS_FAIL("malformed epoch message from rank %d", rank);
    master_epochs(ms, k, rows, n);
    free(rows);
    free(buf);
}

/* A RUNG message: trial, group, rung, value, decide; answered with the decision if asked. */
static void master_receive_rung(Master *ms, int rank)
{
    unsigned char buf[64];
    MPI_Status st;
    int bytes;
    CS_MPI(MPI_Recv(buf, sizeof buf, MPI_BYTE, rank, TAG_RUNG, MPI_COMM_WORLD, &st));
    CS_MPI(MPI_Get_count(&st, MPI_BYTE, &bytes));
    Unpack u = unpack_start(buf, (size_t)bytes);
    const long k = (long)unpack_int(&u, 0, ms->n - 1);
    const uint64_t group = (uint64_t)unpack_i64(&u);
    const int rung = (int)unpack_int(&u, 0, ms->sh->job.halving.n_rungs - 1);
    const double value = unpack_f64(&u);
    const int decide = (int)unpack_int(&u, 0, 1);
    if (u.bad || u.pos != u.len || !ms->halving) CS_FAIL("malformed rung message from rank %d", rank);
    int goes = master_rung(ms, k, group, rung, value, decide);
    if (decide) CS_MPI(MPI_Send(&goes, 1, MPI_INT, rank, TAG_RUNG, MPI_COMM_WORLD));
}

static void master_parallel(Master *ms)
{
    const int workers = ms->sh->size - 1;
    int stopped = 0, halt_sent = 0;
    while (stopped < workers) {
        if ((stop_signal || ms->halting) && !halt_sent) {
            ms->halting = 1, halt_sent = 1;
            for (long k = 0; k < ms->n; k++) /* busy workers: checkpoint and report now */
                if (ms->status[k] == STATUS_RUNNING)
                    CS_MPI(MPI_Send(NULL, 0, MPI_BYTE, ms->rank_of[k], TAG_HALT, MPI_COMM_WORLD));
        }
        int flag;
        MPI_Status st;
        CS_MPI(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
        if (!flag) {
            store_poll(&ms->store);
            master_record_progress(ms, 0);
            master_progress(ms, NULL);
            nanosleep(&(struct timespec){0, POLL_NS}, NULL);
            continue;
        }
        ms->seen = cs_now_s();
        if (st.MPI_TAG == TAG_READY) {
            CS_MPI(MPI_Recv(NULL, 0, MPI_BYTE, st.MPI_SOURCE, TAG_READY, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            stopped += master_answer(ms, st.MPI_SOURCE);
        } else if (st.MPI_TAG == TAG_RESULT) {
            int bytes;
            CS_MPI(MPI_Get_count(&st, MPI_BYTE, &bytes));
            stopped += master_receive_result(ms, st.MPI_SOURCE, bytes);
        } else if (st.MPI_TAG == TAG_EPOCH) {
            master_receive_epochs(ms, st.MPI_SOURCE, &st);
        } else if (st.MPI_TAG == TAG_RUNG) {
            master_receive_rung(ms, st.MPI_SOURCE);
        } else {
            CS_FAIL("unexpected message with tag %d from rank %d", st.MPI_TAG, st.MPI_SOURCE);
        }
    }
}

static int cmp_cost_desc(const void *a, const void *b, void *arg)
{
    const double *cost = arg;
    long x = *(const long *)a, y = *(const long *)b;
    if (cost[x] != cost[y]) return cost[x] < cost[y] ? 1 : -1;
    return (x > y) - (x < y);
}

/* Mean of x[from..to) in milliseconds. */
static double mean_ms(const double *x, long from, long to)
{
    double sum = 0;
    for (long i = from; i < to; i++) sum += x[i];
    return to > from ? 1e3 * sum / (double)(to - from) : 0;
}

static void master_summary(const Master *ms, double makespan, int workers)
{
    char line[512];
    master_status_line(ms, line, sizeof line);
    fprintf(stderr, "copysweep: %s\n", line);
    if (!ms->finished) return;
    /* the bound counts the trials' own compute, as the ranks measured it; the time a result or a
     * worker waited for the master is reported on its own */
    const double bound = ms->compute_s / workers > ms->longest_s ? ms->compute_s / workers : ms->longest_s;
    fprintf(stderr, "copysweep: makespan %.2f s; the trials' own compute %.2f s in all, longest %.2f s; lower bound "
            "max(longest, compute / %d workers) = %.2f s; makespan / bound = %.3f\n", makespan, ms->compute_s,
            ms->longest_s, workers, bound, bound > 0 ? makespan / bound : 0);
    const long f = ms->finished, head = f < 100 ? f : 100;
    double max_record = 0;
    for (long i = 0; i < f; i++) max_record = ms->record_s[i] > max_record ? ms->record_s[i] : max_record;
    fprintf(stderr, "copysweep: the master's time to record a trial: first %ld mean %.3f ms, last %ld mean %.3f ms, "
            "max %.3f ms", head, mean_ms(ms->record_s, 0, head), head, mean_ms(ms->record_s, f - head, f),
            1e3 * max_record);
    if (ms->dispatches)
        fprintf(stderr, "; dispatch (message seen to trial sent) mean %.3f ms, max %.3f ms",
                1e3 * ms->dispatch_sum / ms->dispatches, 1e3 * ms->dispatch_max);
    if (ms->waits)
        fprintf(stderr, "; workers waited for the master %.2f s in all (mean %.3f ms, max %.3f ms)", ms->wait_sum,
                1e3 * ms->wait_sum / ms->waits, 1e3 * ms->wait_max);
    fputc('\n', stderr);
    const HalvingSpec *h = &ms->sh->job.halving;
    for (int r = 0; ms->halving && r < h->n_rungs; r++)
        fprintf(stderr, "%s rung %d (epoch %d): %ld went on, %ld pruned%s", r ? ";" : "copysweep: successive halving in this run:",
                r + 1, h->rungs[r], ms->rung_goes[r], ms->rung_stops[r], r + 1 == h->n_rungs ? "\n" : "");
}

/* The expected wall time of the trials to run, from the cost model calibrated on this rank. */
static void print_estimate(const Shared *sh, const Master *ms, int workers)
{
    Settings *todo = CS_ALLOC((size_t)ms->n_todo * sizeof *todo);
    for (long i = 0; i < ms->n_todo; i++) job_trial(&sh->job, ms->order[i], &todo[i]);
    Estimate e;
    if (estimate_wall(todo, ms->n_todo, workers, sh->threads, &e) == 0) {
        char wall[32], total[32], longest[32];
        format_duration(e.wall_s, wall, sizeof wall);
        format_duration(e.total_s, total, sizeof total);
        format_duration(e.longest_s, longest, sizeof longest);
        fprintf(stderr, "copysweep: expected wall time %s on %d %s × %d thread%s (the cost model timed on this "
                "machine in %.1f s, %d kind%s of trial: %s of compute in all, the longest trial %s; early stopping "
                "ends trials sooner)\n", wall, workers, sh->size == 1 ? "rank" : workers == 1 ? "worker" : "workers", sh->threads,
                sh->threads == 1 ? "" : "s", e.calib_s, e.kinds, e.kinds == 1 ? "" : "s", total, longest);
    }
    free(todo);
}

static int master_run(Shared *sh, Master *ms, const int *status, int progress)
{
    const long n = sh->job.n_trials;
    ms->n = n;
    ms->status = CS_ALLOC((size_t)n * sizeof *ms->status);
    ms->rank_of = CS_CALLOC((size_t)n * sizeof *ms->rank_of);
    ms->order = CS_ALLOC((size_t)n * sizeof *ms->order);
    ms->cost = CS_ALLOC((size_t)n * sizeof *ms->cost);
    ms->record_s = CS_CALLOC((size_t)n * sizeof *ms->record_s);
    /* under mpirun stderr is a pipe even on a terminal: --progress bar asks for the bar there */
    ms->tty = progress < 0 ? isatty(2) : progress;
    long skipped = 0, chosen = 0, again = 0;
    char err[1024];
    for (long k = 0; k < n; k++) {
        Settings s;
        job_trial(&sh->job, k, &s);
        ms->cost[k] = estimate_cost(&s);
        /* done, diverged and pruned are final; failed, pending and running (from a stopped run) run again */
        ms->status[k] = status[k] == STATUS_RUNNING ? STATUS_PENDING : status[k];
        if (status[k] == STATUS_RUNNING && !ms->fatal &&
            store_status(&ms->store, k, ms->key[k], STATUS_PENDING, 0, err, sizeof err) != 0)
            master_store_failed(ms, err);
        if (!ms->selected[k]) continue; /* another shard's, or left out by --trial or --only */
        chosen++;
        const int final = status[k] == STATUS_DONE || status[k] == STATUS_DIVERGED || status[k] == STATUS_PRUNED;
        if (final && !ms->rerun[k]) {
            skipped++;
            continue;
        }
        if (final) ms->status[k] = STATUS_PENDING, again++; /* --rerun: on purpose */
        ms->order[ms->n_todo++] = k;
        ms->cost_todo += ms->cost[k];
    }
    qsort_r(ms->order, (size_t)ms->n_todo, sizeof *ms->order, cmp_cost_desc, ms->cost);
    const int workers = sh->size > 1 ? sh->size - 1 : 1;
    char chose[128] = "";
    if (ms->selecting) snprintf(chose, sizeof chose, " of the %ld chosen", chosen);
    if (again) snprintf(chose + strlen(chose), sizeof chose - strlen(chose), ", %ld of them again", again);
    fprintf(stderr, "copysweep: %s: %ld trial%s, %ld to run%s (%ld already finished in %s), %d %s × %d thread%s\n",
            sh->job.path, n, n == 1 ? "" : "s", ms->n_todo, chose, skipped, ms->output, workers,
            sh->size == 1 ? "rank" : workers == 1 ? "worker" : "workers", sh->threads, sh->threads == 1 ? "" : "s");
    if (ms->n_todo) print_estimate(sh, ms, workers);
    ms->t0 = ms->last_line = cs_now_s();
    ms->started_at = time(NULL);
    master_record_progress(ms, 1);
    if (sh->size == 1)
        master_serial(ms);
    else
        master_parallel(ms);
    if (ms->tty) fputs("\r\033[K", stderr);

    const double makespan = cs_now_s() - ms->t0;
    master_summary(ms, makespan, workers);
    long left = 0; /* of the chosen trials */
    for (long k = 0; k < n; k++) left += ms->selected[k] && ms->status[k] < STATUS_DONE;
    int rc = ms->fatal ? CS_EXIT_FAILURE : left ? SWEEP_EXIT_INTERRUPTED : 0;
    RunRecord run = {.wall_s = makespan, .ranks = sh->size, .threads = sh->threads,
                     .trials_run = ms->finished, .trials_left = left, .exit_status = rc,
                     .host = sh->host, .command = ms->command};
    struct tm tm;
    strftime(run.started, sizeof run.started, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&ms->started_at, &tm));
    /* the journal into the results file, with this run's row in /runs (a run that ran nothing leaves
     * the file as it was) */
    const double t = cs_now_s();
    if (store_close(&ms->store, !ms->fatal && ms->n_todo ? &run : NULL, err, sizeof err) != 0) {
        fprintf(stderr, "copysweep: %s (every record is still in the journal: run the same command to finish "
                "the file)\n", err);
        rc = CS_EXIT_FAILURE;
    }
    if (ms->n_todo) {
        const Store *st = &ms->store;
        const long f = st->n_sync, head = f < 100 ? f : 100;
        fprintf(stderr, "copysweep: results file %.1f MB; %.1f MB written for it in this run (journal and %ld "
                "compactions); the last compaction took %.2f s after the trials", 1e-6 * (double)st->base_bytes,
                1e-6 * (double)st->bytes_written, st->compactions, cs_now_s() - t);
        if (f)
            fprintf(stderr, "; the journal's writer thread, append and sync per finished trial: first %ld mean %.3f ms, "
                    "last %ld mean %.3f ms", head, mean_ms(st->sync_s, 0, head), head, mean_ms(st->sync_s, f - head, f));
        fputc('\n', stderr);
    }
    if (rc == SWEEP_EXIT_INTERRUPTED) {
        fprintf(stderr, "copysweep: stopped by %s with %ld trials left; checkpoints are in %s; run the same "
                "command to resume\n", stop_signal == SIGUSR1 ? "SIGUSR1" : stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
                left, sh->ckpt_dir);
    } else if (rc == 0) {
        char lock[PATH_MAX + 16];
        snprintf(lock, sizeof lock, "%s/lock", sh->ckpt_dir);
        unlink(lock);
        rmdir(sh->ckpt_dir); /* empty once every trial is recorded */
        fprintf(stderr, "copysweep: wrote %s\n", ms->output);
    }
    free(ms->status), free(ms->rank_of), free(ms->order), free(ms->cost), free(ms->record_s), free(ms->key);
    free(ms->store.sync_s), free(ms->selected), free(ms->rerun);
    halving_free(ms->halving);
    return rc;
}

/* ---- the workers ---------------------------------------------------------------------------- */

/* A worker's curve rows go to the master as an EPOCH message. */
static void send_epochs(void *arg, long k, const CurveRow *rows, int n)
{
    (void)arg;
    Pack p;
    pack_init(&p);
    pack_i64(&p, k);
    pack_i64(&p, n);
    curve_rows_pack(&p, rows, n);
    CS_MPI(MPI_Send(p.buf, (int)p.len, MPI_BYTE, 0, TAG_EPOCH, MPI_COMM_WORLD));
    pack_free(&p);
}

/* A worker's value at a rung goes to the master; with decide, the master's answer comes back. */
static int worker_rung(void *arg, long k, uint64_t group, int rung, double value, int decide)
{
    (void)arg;
    Pack p;
    pack_init(&p);
    pack_i64(&p, k), pack_i64(&p, (int64_t)group), pack_i64(&p, rung), pack_f64(&p, value), pack_i64(&p, decide);
    CS_MPI(MPI_Send(p.buf, (int)p.len, MPI_BYTE, 0, TAG_RUNG, MPI_COMM_WORLD));
    pack_free(&p);
    int goes = 1;
    if (decide) CS_MPI(MPI_Recv(&goes, 1, MPI_INT, 0, TAG_RUNG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    return goes;
}

/* The master's next message to this worker, without spinning: a worker may wait for seconds (the
 * master's estimate of the wall time) or minutes (the end of a sweep), and a blocking receive polls
 * at full speed on a core that another rank computes on, or on its hyperthread sibling. */
static void worker_receive(long *k, MPI_Status *st)
{
    int flag;
    for (;;) {
        CS_MPI(MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, st));
        if (flag) break;
        nanosleep(&(struct timespec){0, POLL_NS}, NULL);
    }
    CS_MPI(MPI_Recv(k, 1, MPI_LONG, 0, st->MPI_TAG, MPI_COMM_WORLD, st));
}

static void worker_run(Shared *sh)
{
    double asked = cs_now_s();
    CS_MPI(MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_READY, MPI_COMM_WORLD));
    for (;;) {
        long k;
        MPI_Status st;
        do /* a HALT that arrived after its trial ended is stale */
            worker_receive(&k, &st);
        while (st.MPI_TAG == TAG_HALT);
        if (st.MPI_TAG == TAG_STOP) return;
        const double start = cs_now_s(), wait = start - asked;
        TrialResult res;
        Model model;
        EpochSink sink = {.k = k, .deliver = send_epochs, .ask = worker_rung};
        run_trial(sh, k, stop_requested_worker, &sink, &res, &model);
        Outcome o;
        outcome_of(sh, k, &res, &model, &o); /* the record is built here, not on the master */
        trial_result_free(&res);
        model_free(&model);
        Pack p;
        pack_init(&p);
        pack_i64(&p, k);
        pack_f64(&p, wait);
        pack_f64(&p, cs_now_s() - start); /* this rank's own time on the trial */
        outcome_pack(&p, &o);
        free(o.img);
        asked = cs_now_s();
        CS_MPI(MPI_Send(p.buf, (int)p.len, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD));
        pack_free(&p);
    }
}

/* ---- the command ---------------------------------------------------------------------------- */

static void print_list(const Job *job, const char *output, const unsigned char *selected)
{
    /* the columns: every setting that is an axis of some grid, in the order they first appear, the
     * searched ones, then those that differ otherwise (set by a [when], or different between grids) */
    const SettingInfo *cols[JOB_MAX_SETTINGS];
    int n_cols = 0;
    for (int g = 0; g < job->n_grids; g++)
        for (int a = 0; a < job->grids[g].n_axes; a++) {
            const SettingInfo *info = job->grids[g].axes[a].info;
            int have = 0;
            for (int c = 0; c < n_cols; c++) have |= cols[c] == info;
            if (info && !have && n_cols < JOB_MAX_SETTINGS) cols[n_cols++] = info;
        }
    for (int j = 0; j < job->search.n_keys && n_cols < JOB_MAX_SETTINGS; j++) cols[n_cols++] = job->search.keys[j].info;
    for (const SettingInfo *info = settings_table; info->key && n_cols < JOB_MAX_SETTINGS; info++) {
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
    printf("%6s", "trial");
    if (job->n_grids > 1) printf(" %12s", "grid");
    if (job->search.samples) printf(" %7s", "sample");
    for (int c = 0; c < n_cols; c++) printf(" %10s", cols[c]->key);
    printf(" %9s %6s %8s %10s\n", "params", "L", "updates", "est.GFLOP");
    double total = 0, largest = 0;
    long chosen = 0;
    for (long k = 0; k < job->n_trials; k++) {
        if (!selected[k]) continue; /* another shard's, or left out by --trial or --only */
        chosen++;
        Settings s;
        long point;
        const Grid *g = job_grid_of(job, k, &point);
        job_trial(job, k, &s);
        double c = estimate_cost(&s);
        total += c, largest = c > largest ? c : largest;
        printf("%6ld", k);
        if (job->n_grids > 1) printf(" %12s", g->name);
        if (job->search.samples) printf(" %7d", job_sample(job, k));
        for (int i = 0; i < n_cols; i++) {
            char v[SETTINGS_TEXT_MAX];
            settings_format(&s, cols[i], v, sizeof v);
            printf(" %10s", v);
        }
        printf(" %9zu %6d %8d %10.1f\n", model_param_count(&s), task_shape(&s).L, trial_epochs(&s) * (s.train_size / s.batch), c);
    }
    if (chosen < job->n_trials) printf("%ld of the %ld trials chosen by the options; ", chosen, job->n_trials);
    printf("total %.1f GFLOP at the full epoch budgets (early stopping ends trials sooner); "
           "the largest trial %.1f GFLOP\n", total, largest);
}

/* Rows for every trial of the job, all pending (set holds their settings). */
static TrialRecord *pending_records(const Job *job, const uint64_t *key, Settings **set)
{
    const long n = job->n_trials;
    TrialRecord *recs = CS_ALLOC((size_t)n * sizeof *recs);
    *set = CS_ALLOC((size_t)n * sizeof **set);
    for (long k = 0; k < n; k++) {
        job_trial(job, k, &(*set)[k]);
        recs[k] = (TrialRecord){.trial = (int)k, .key = key[k], .sampled = job->search.samples > 0,
                                .sample = job_sample(job, k), .s = &(*set)[k], .facts = trial_facts(&(*set)[k]),
                                .status = STATUS_PENDING, .host = ""};
    }
    return recs;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Why `missing` trials of the file are not in the job: a setting with a value the file has and the
 * job lacks, found through the job the file was written for. */
static void explain_missing(const Job *job, const ResultsIndex *ix, const char *output, long missing, char *err,
                            size_t errlen)
{
    Job old;
    char why[256];
    int told = 0;
    if (job_parse(&old, output, ix->job, why, sizeof why) == 0) {
        for (const SettingInfo *info = settings_table; info->key && !told; info++) {
            char v[SETTINGS_TEXT_MAX], w[SETTINGS_TEXT_MAX], now[SETTINGS_TEXT_MAX] = "";
            for (long k = 0; k < old.n_trials && !told; k++) {
                Settings s;
                job_trial(&old, k, &s);
                settings_format(&s, info, v, sizeof v);
                int found = 0;
                for (long j = 0; j < job->n_trials && !found; j++) {
                    Settings t;
                    job_trial(job, j, &t);
                    settings_format(&t, info, w, sizeof w);
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

/* old_of[k]: the file's row of job trial k, or -1 if it is new. 0, or -1 with err if the file holds
 * trials the job does not. */
static int match_trials(const Job *job, const uint64_t *key, const ResultsIndex *ix, const char *output,
                        long *old_of, char *err, size_t errlen)
{
    const long n = job->n_trials;
    uint64_t (*by_key)[2] = CS_ALLOC((size_t)n * sizeof *by_key + 1);
    for (long k = 0; k < n; k++) by_key[k][0] = key[k], by_key[k][1] = (uint64_t)k, old_of[k] = -1;
    qsort(by_key, (size_t)n, sizeof *by_key, cmp_pair);
    long missing = 0;
    for (long i = 0; i < ix->n; i++) {
        uint64_t probe[2] = {ix->key[i], 0};
        uint64_t (*hit)[2] = bsearch(probe, by_key, (size_t)n, sizeof *by_key, cmp_pair);
        if (hit) old_of[(*hit)[1]] = i;
        else missing++;
    }
    free(by_key);
    if (missing) explain_missing(job, ix, output, missing, err, errlen);
    return missing ? -1 : 0;
}

/* The trials --shard, --trial and --only choose, and those --rerun asks for: 0, or -1 with err. */
static int select_trials(const Job *job, const Options *a, unsigned char *selected, unsigned char *rerun, char *err,
                         size_t errlen)
{
    const long n = job->n_trials;
    memset(selected, 1, (size_t)n);
    memset(rerun, 0, (size_t)n);
    if (a->trial >= n) {
        snprintf(err, errlen, "option '--trial': %d is not a trial of %s (expected 0 to %ld)", a->trial, job->path, n - 1);
        return -1;
    }
    for (long k = 0; k < n; k++)
        selected[k] = (!a->shards || k % a->shards == a->shard - 1) && (a->trial < 0 || k == a->trial);
    for (int i = 0; i < a->n_only; i++) {
        /* KEY=V1,V2,...: each value parsed as the setting parses it, then compared as text */
        char spec[1024], why[256], want[16][SETTINGS_TEXT_MAX], have[SETTINGS_TEXT_MAX];
        snprintf(spec, sizeof spec, "%s", a->only[i]);
        char *eq = strchr(spec, '=');
        *eq = '\0';
        const SettingInfo *info = settings_find(spec);
        if (!info) {
            snprintf(err, errlen, "option '--only': '%s' is not a setting (expected KEY=VALUE with a key of "
                     "'copysweep --help')", spec);
            return -1;
        }
        int n_want = 0;
        for (char *v = strtok(eq + 1, ","); v; v = strtok(NULL, ",")) {
            while (*v == ' ') v++;
            Settings tmp;
            settings_default(&tmp);
            if (n_want == 16 || settings_parse(&tmp, info, v, why, sizeof why) != 0) {
                snprintf(err, errlen, "option '--only': %s: %s", info->key, n_want == 16 ? "more than 16 values" : why);
                return -1;
            }
            settings_format(&tmp, info, want[n_want++], sizeof want[0]);
        }
        long matched = 0;
        for (long k = 0; k < n; k++) {
            Settings t;
            job_trial(job, k, &t);
            settings_format(&t, info, have, sizeof have);
            int hit = 0;
            for (int w = 0; w < n_want && !hit; w++) hit = strcmp(have, want[w]) == 0;
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

/* --rerun K or --rerun status=S,...: which of the chosen trials run again (given their statuses). */
static int select_rerun(const Job *job, const char *spec, const unsigned char *selected, const int *status,
                        unsigned char *rerun, char *err, size_t errlen)
{
    const long n = job->n_trials;
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
static int check_halving(const Job *job, char *err, size_t errlen)
{
    const HalvingSpec *h = &job->halving;
    for (long k = 0; h->n_rungs && k < job->n_trials; k++) {
        if (job_sample(job, k) < 0) continue;
        Settings s;
        job_trial(job, k, &s);
        const int epochs = trial_epochs(&s), last = h->rungs[h->n_rungs - 1];
        if (last >= epochs) {
            snprintf(err, errlen, "%s:%d: key 'rungs': rung %d is not below the %d epochs of trial %ld (expected rungs "
                     "before a trial's last epoch; see --list)", job->path, h->rungs_line, last, epochs, k);
            return -1;
        }
        const TaskShape shape = task_shape(&s);
        if (h->metric == METRIC_VAL_BITS && !task_has_bits(&shape)) {
            snprintf(err, errlen, "%s:%d: [halving] metric val-bits: trial %ld's task has no memory in bits (expected "
                     "metric = val-acc)", job->path, h->metric_line ? h->metric_line : h->line, k);
            return -1;
        }
    }
    return 0;
}

/* A finished trial's values at the rungs it passed, from its curves in the file. */
static void rung_values(void *arg, long k, const CurveRow *rows, int n)
{
    Master *ms = arg;
    const HalvingSpec *spec = &ms->sh->job.halving;
    const uint64_t group = job_group(&ms->sh->job, k);
    for (int i = 0; i < n; i++) {
        const int rung = halving_rung(spec, i + 1);
        if (rung >= 0 && !isnan(rows[i].val_acc)) halving_record(ms->halving, group, rung, halving_metric(spec, rows, i + 1), 0);
    }
}

/* The rungs' values as the finished trials of the file (journal folded in) left them. 0, or -1. */
static int halving_resume(Master *ms, const int *status, char *err, size_t errlen)
{
    const Job *job = &ms->sh->job;
    ms->halving = halving_new(&job->halving);
    unsigned char *want = CS_CALLOC((size_t)job->n_trials + 1);
    long any = 0;
    for (long k = 0; k < job->n_trials; k++) {
        want[k] = (status[k] == STATUS_DONE || status[k] == STATUS_DIVERGED || status[k] == STATUS_PRUNED) &&
                  !ms->rerun[k] && job_sample(job, k) >= 0;
        any += want[k];
    }
    int rc = 0;
    if (any) rc = store_fold(&ms->store, err, errlen) != 0 ||
                  results_read_curves(ms->output, job->n_trials, want, rung_values, ms, err, errlen) != 0 ? -1 : 0;
    free(want);
    return rc;
}

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

/* Rank 0's checks before anything runs, and the store opened (created, resumed or grown). 0, or -1
 * with err (a user error: nothing written). */
static int master_prepare(Shared *sh, Master *ms, const Options *a, int argc, char **argv, int **status,
                          char *err, size_t errlen)
{
    if (job_load(&sh->job, a->job, err, errlen) != 0) return -1;
    snprintf(ms->output, sizeof ms->output, "%s", a->output ? a->output : sh->job.output);
    if (a->shards && shard_output(ms->output, sizeof ms->output, a->shard, a->shards) != 0) {
        snprintf(err, errlen, "option '--shard': the shard's output name would be too long");
        return -1;
    }
    size_t len = 0;
    for (int i = 0; i < argc && len < sizeof ms->command; i++)
        len += (size_t)snprintf(ms->command + len, sizeof ms->command - len, i ? " %s" : "%s", argv[i]);
    const long n = sh->job.n_trials;
    ms->selected = CS_ALLOC((size_t)n + 1);
    ms->rerun = CS_ALLOC((size_t)n + 1);
    ms->selecting = a->shards || a->trial >= 0 || a->n_only;
    if (select_trials(&sh->job, a, ms->selected, ms->rerun, err, errlen) != 0 || check_halving(&sh->job, err, errlen) != 0)
        return -1;
    if (a->list) return 0;
    if (results_check_writable(ms->output, err, errlen) != 0) return -1;
    ms->key = CS_ALLOC((size_t)n * sizeof *ms->key);
    for (long k = 0; k < n; k++) {
        Settings s;
        job_trial(&sh->job, k, &s);
        ms->key[k] = settings_key(&s);
    }
    *status = CS_CALLOC((size_t)n * sizeof **status);
    ResultsIndex ix;
    int rc = results_read_index(ms->output, &ix, err, errlen);
    if (rc < 0) {
        len = strlen(err);
        snprintf(err + len, errlen - len, " (move it away or choose another output)");
        return -1;
    }
    long *old_of = CS_ALLOC((size_t)n * sizeof *old_of);
    int regrid = 0;
    if (rc == 0 && ix.has_sample != (sh->job.search.samples > 0)) {
        snprintf(err, errlen, "'%.1024s' holds the trials of a job %s [search], and %.1024s %s one (its rows %s a sample column); "
                 "choose another output", ms->output, ix.has_sample ? "with" : "without", sh->job.path,
                 ix.has_sample ? "is not" : "is", ix.has_sample ? "have" : "lack");
        results_index_free(&ix);
        return -1;
    }
    if (rc == 0) {
        if (match_trials(&sh->job, ms->key, &ix, ms->output, old_of, err, errlen) != 0) {
            results_index_free(&ix), free(old_of);
            return -1;
        }
        regrid = ix.n != n;
        for (long k = 0; k < n; k++) regrid |= old_of[k] != k;
    }
    if (a->rerun) { /* against the statuses as the file and its journal hold them, before anything is written */
        int *now = CS_CALLOC((size_t)n * sizeof *now + 1);
        char journal[PATH_MAX + 16];
        snprintf(journal, sizeof journal, "%s.ckpt/journal", ms->output);
        int bad = rc == 0 && store_replay(journal, &ix, err, errlen) < 0;
        for (long k = 0; k < n && rc == 0; k++) now[k] = old_of[k] >= 0 ? ix.status[old_of[k]] : STATUS_PENDING;
        bad = bad || select_rerun(&sh->job, a->rerun, ms->selected, now, ms->rerun, err, errlen) != 0;
        free(now);
        if (bad) {
            results_index_free(&ix), free(old_of);
            return -1;
        }
    }
    if (snprintf(sh->ckpt_dir, sizeof sh->ckpt_dir - 32, "%s.ckpt", ms->output) >= (int)sizeof sh->ckpt_dir - 32 ||
        (mkdir(sh->ckpt_dir, 0755) != 0 && errno != EEXIST)) {
        snprintf(err, errlen, "cannot create the checkpoint folder '%s.ckpt': %s", ms->output, strerror(errno));
        results_index_free(&ix), free(old_of);
        return -1;
    }
    /* one sweep at a time per results file: the lock is the kernel's, so it goes with the process */
    char lock[PATH_MAX + 16];
    snprintf(lock, sizeof lock, "%s/lock", sh->ckpt_dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        snprintf(err, errlen, "another sweep is writing '%s' (it holds the lock in its .ckpt folder)", ms->output);
        close(fd);
        results_index_free(&ix), free(old_of);
        return -1;
    }
    ms->lock_fd = fd; /* held until the process ends */
    Settings *set;
    TrialRecord *recs = rc == 1 || regrid ? pending_records(&sh->job, ms->key, &set) : NULL;
    int opened;
    if (rc == 1) {
        opened = store_create(&ms->store, ms->output, sh->ckpt_dir, ms->command, sh->job.text, recs, n, err, errlen);
    } else {
        opened = store_resume(&ms->store, ms->output, sh->ckpt_dir, &ix, err, errlen);
        for (long k = 0; k < n; k++) (*status)[k] = old_of[k] >= 0 ? ix.status[old_of[k]] : STATUS_PENDING;
        if (opened == 0 && regrid) {
            long kept = 0;
            for (long k = 0; k < n; k++) kept += old_of[k] >= 0;
            fprintf(stderr, "copysweep: %s holds %ld of this job's %ld trials: they keep their results, in the "
                    "job's order\n", ms->output, kept, n);
            char why[1024];
            if (store_regrid(&ms->store, ms->command, sh->job.text, recs, n, old_of, why, sizeof why) != 0)
                CS_FAIL("%s", why);
        }
    }
    if (recs) free(recs), free(set);
    results_index_free(&ix), free(old_of);
    if (opened == 0 && sh->job.halving.n_rungs && halving_resume(ms, *status, err, errlen) != 0)
        CS_FAIL("%s", err); /* the file was read above: this is the machine's or the library's failure */
    return opened;
}

static void broadcast_string(char *buf, size_t cap, int rank)
{
    long len = rank == 0 ? (long)strlen(buf) : 0;
    CS_MPI(MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD));
    if ((size_t)len >= cap) CS_FAIL("broadcast string of %ld bytes", len);
    CS_MPI(MPI_Bcast(buf, (int)len + 1, MPI_CHAR, 0, MPI_COMM_WORLD));
}

/* The end of a process of a sweep of several ranks: every rank stops, with this status. */
static void abort_all(int status)
{
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
}

int sweep_main(int argc, char **argv)
{
    int provided;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "copysweep: MPI_Init_thread failed\n");
        return CS_EXIT_FAILURE;
    }
    CS_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    static Shared sh;   /* large (paths, the job): off the stack */
    static Master ms;
    CS_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &sh.rank));
    CS_MPI(MPI_Comm_size(MPI_COMM_WORLD, &sh.size));
    gethostname(sh.host, sizeof sh.host - 1);
    if (sh.size > 1) { /* an error on any rank ends every rank, and a worker's message names it */
        char who[512];
        snprintf(who, sizeof who, "copysweep: rank %d on %s", sh.rank, sh.host);
        cs_set_process(sh.rank ? who : NULL, abort_all);
    }
    sh.threads = bm_setup_threads(0);
    ms.sh = &sh;
    /* fault injection for the tests: the loss of one update of one trial becomes NaN, a trial fails
     * its rank, or a trial waits for a signal */
    const char *fault = getenv("COPYSWEEP_FAULT");
    sh.fault_trial = sh.fault_update = sh.fault_abort = sh.fault_hold = -1;
    if (fault && sscanf(fault, "nan:%ld:%ld", &sh.fault_trial, &sh.fault_update) != 2)
        sh.fault_trial = sh.fault_update = -1;
    if (fault && sscanf(fault, "abort:%ld", &sh.fault_abort) != 1) sh.fault_abort = -1;
    if (fault && sscanf(fault, "hold:%ld", &sh.fault_hold) != 1) sh.fault_hold = -1;

    Options args;
    char err[PATH_MAX + 1024] = "";
    int *status = NULL;
    int rc = cli_parse(cli_command("sweep"), argv[1], argc - 2, argv + 2, &args, err, sizeof err);
    if (rc > 0) { /* --help */
        if (sh.rank == 0) cli_print_command_help(cli_command("sweep"), stdout);
        MPI_Finalize();
        return 0;
    }
    /* the kernel path (COPYSWEEP_KERNEL): where a rank's CPU lacks the one asked for, the lowest such
     * rank says so in one line and the sweep stops before any work (rc, from the same command line,
     * is the same on every rank: all of them take part in the reduction or none) */
    char kernel_err[256] = "";
    int bad = rc == 0 && bm_path_select(getenv("COPYSWEEP_KERNEL"), kernel_err, sizeof kernel_err) != 0 ? sh.rank : sh.size;
    int first_bad = sh.size;
    if (rc == 0) CS_MPI(MPI_Allreduce(&bad, &first_bad, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (first_bad < sh.size) {
        if (sh.rank == first_bad && sh.size > 1) fprintf(stderr, "copysweep: rank %d on %s: %s\n", sh.rank, sh.host, kernel_err);
        if (sh.rank == first_bad && sh.size == 1) fprintf(stderr, "copysweep: %s\n", kernel_err);
        MPI_Finalize();
        return CS_EXIT_USER;
    }
    if (rc == 0 && sh.rank == 0) rc = master_prepare(&sh, &ms, &args, argc, argv, &status, err, sizeof err);
    CS_MPI(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rc != 0 || args.list) {
        if (rc != 0 && sh.rank == 0) fprintf(stderr, "copysweep: %s\n", cs_one_line(err));
        if (rc == 0 && sh.rank == 0) print_list(&sh.job, ms.output, ms.selected);
        free(ms.selected), free(ms.rerun);
        job_free(&sh.job);
        free(status);
        MPI_Finalize();
        return rc ? CS_EXIT_USER : 0;
    }
    /* every rank builds the grid from the same job text */
    static char text[1 << 20];
    static char path[PATH_MAX];
    if (sh.rank == 0) {
        if (strlen(sh.job.text) >= sizeof text) CS_FAIL("job file larger than %zu bytes", sizeof text);
        snprintf(text, sizeof text, "%s", sh.job.text);
        snprintf(path, sizeof path, "%s", sh.job.path);
    }
    broadcast_string(text, sizeof text, sh.rank);
    broadcast_string(path, sizeof path, sh.rank);
    broadcast_string(sh.ckpt_dir, sizeof sh.ckpt_dir, sh.rank);
    if (sh.rank != 0 && job_parse(&sh.job, path, text, err, sizeof err) != 0)
        CS_FAIL("rank %d cannot parse the job the master parsed: %s", sh.rank, err);

    ms.show_epochs = args.show_epochs;
    if (sh.rank == 0)
        rc = master_run(&sh, &ms, status, args.progress);
    else
        worker_run(&sh);
    job_free(&sh.job);
    free(status);
    MPI_Finalize();
    return rc;
}
