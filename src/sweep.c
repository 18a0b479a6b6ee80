/* The MPI sweep: the master's dispatch loop, the workers, their messages and signals. Protocol
 * (tags below): a worker sends READY once, then the master answers each READY or RESULT from it
 * with TRIAL (a trial number) or STOP; HALT asks a busy worker to checkpoint its trial and send the
 * result now; EPOCH carries a trial's curve rows as its epochs end, RUNG its value at a rung of
 * successive halving (answered with the decision). The plan (plan.h) says what each trial is, the
 * sweep file (sweepfile.h) where it goes, progress.h how the sweep is doing. */
#include "sweep.h"

#include <errno.h>    /* errno */
#include <limits.h>   /* PATH_MAX */
#include <math.h>     /* isnan */
#include <mpi.h>      /* MPI_* */
#include <signal.h>   /* sigaction, sig_atomic_t */
#include <stdio.h>    /* fprintf, snprintf */
#include <stdlib.h>   /* free, getenv, qsort_r */
#include <string.h>   /* strlen, strerror */
#include <time.h>     /* nanosleep, time, gmtime_r, strftime */
#include <unistd.h>   /* isatty, gethostname */

#include "batchmath.h" /* bm_setup_threads, bm_path_select, bm_path_name */
#include "check.h"     /* CS_ALLOC, CS_EXIT_* */
#include "cli.h"       /* Options, cli_parse */
#include "clock.h"     /* cs_now_s */
#include "estimate.h"  /* estimate_wall */
#include "exec_trial.h" /* exec_trial */
#include "generations.h" /* generations_* */
#include "halving.h"   /* halving_* */
#include "model.h"     /* Model, model_free */
#include "pack.h"      /* Pack, Unpack */
#include "plan.h"      /* Plan, PlanTrial */
#include "progress.h"  /* Progress, progress_* */
#include "sweepfile.h" /* SweepFile, sweepfile_* */
#include "task.h"      /* task_has_bits */
#include "task_kinds.h"     /* task_shape */
#include "train.h"     /* train_trial, TrialResult */

enum { TAG_READY = 1, TAG_TRIAL, TAG_STOP, TAG_HALT, TAG_RESULT, TAG_EPOCH, TAG_RUNG };

#define POLL_NS 100000           /* the wait between polls of a rank waiting for a message: 0.1 ms */
#define PROGRESS_RECORD_S 5.0    /* the sweep's counts and ETA reach the journal at most this often */

/* The only state a signal handler can reach: the signal that asked this rank to stop. */
static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

/* SIGTERM, SIGUSR1 and SIGINT ask this rank to stop: it checkpoints its trial after its update. */
static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

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

/* What every rank knows: the plan (on a worker, the job alone: it resolves each trial it is given). */
typedef struct {
    Plan plan;
    char ckpt_dir[PATH_MAX];
    char log_dir[PATH_MAX];         /* OUTPUT.logs: an [exec] trial's stdout, stderr and metrics files */
    char version[256];              /* [exec] version-command's output on this rank; "" if none */
    int rank, size, threads;
    char host[256];
    long fault_trial, fault_update; /* COPYSWEEP_FAULT=nan:TRIAL:UPDATE, for the tests; -1 none */
    long fault_abort;               /* COPYSWEEP_FAULT=abort:TRIAL: its rank fails on it; -1 none */
    long fault_hold;                /* COPYSWEEP_FAULT=hold:TRIAL: it waits for a signal (TrainCtx); -1 none */
} Shared;

/* FOLDER/trial-KEY.ckpt: named by the trial's settings, so that it stays its own when the grid grows */
static void checkpoint_path(const Shared *sh, const PlanTrial *t, char *buf, size_t n)
{
    if (snprintf(buf, n, "%s/trial-%016llx.ckpt", sh->ckpt_dir, (unsigned long long)t->key) >= (int)n)
        CS_FAIL("checkpoint path too long");
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
        const int rung = halving_rung(e->spec, rows[i].epoch);
        if (rung < 0 || isnan(halving_row_value(e->spec, &rows[i]))) continue; /* not a rung, or no value there */
        /* a rung passed before a resume was decided then, and a trial that ends here anyway has nothing
         * to decide: their values are recorded only */
        const int decide = i == n - 1 && !last;
        stop = !e->ask(e->arg, e->k, e->group, rung, halving_metric(e->spec, rows, i + 1), decide) && decide;
    }
    e->sent = n;
    return stop;
}

static void run_trial(const Shared *sh, long k, const PlanTrial *t, int (*should_stop)(void *), EpochSink *sink,
                      TrialResult *res, Model *model)
{
    const Job *job = &sh->plan.job;
    char ckpt[PATH_MAX];
    if (job->halving.n_rungs && t->sample >= 0) sink->spec = &job->halving, sink->group = t->group;
    if (k == sh->fault_abort) CS_FAIL("fault injection: trial %ld fails its rank", k);
    checkpoint_path(sh, t, ckpt, sizeof ckpt);
    if (job->exec) { /* a program of the user's: its checkpoint is a folder of its own */
        model->mem = NULL;
        ExecTrialCtx ctx = {.spec = job->exec, .job_dir = job->dir, .log_dir = sh->log_dir, .ckpt_dir = ckpt,
                            .trial = k, .key = t->key, .threads = sh->threads,
                            .version = sh->version[0] ? sh->version : NULL, .should_stop = should_stop,
                            .on_epoch = on_epoch, .epoch_arg = sink};
        exec_trial(&t->s, &ctx, res);
        return;
    }
    TrainCtx ctx = {.log = NULL, .threads = sh->threads, .should_stop = should_stop,
                    .checkpoint = ckpt, .checkpoint_every_s = 60.0 * job->checkpoint_minutes,
                    .fault_nan_update = k == sh->fault_trial ? sh->fault_update : 0, .fault_hold = k == sh->fault_hold,
                    .on_epoch = on_epoch, .epoch_arg = sink};
    train_trial(&t->s, &ctx, model, res);
}

/* ---- the master ----------------------------------------------------------------------------- */

typedef struct {
    Shared *sh;
    const Plan *plan;     /* sh->plan */
    SweepFile file;       /* the results file, its store and its lock; the rungs' values (file.halving) */
    Progress pr;
    long n;
    int *status;          /* (n) STATUS_* */
    int *rank_of;         /* (n) the rank running it */
    long *order;          /* (n_todo) the trials to run, the most expensive first */
    long n_todo, next;
    double last_progress;
    int halting, fatal, show_epochs;
    double seen;          /* when the message being answered was seen */
    time_t started_at;
    long rung_stops[HALVING_MAX_RUNGS], rung_goes[HALVING_MAX_RUNGS]; /* this run's decisions */
    Generations *gen;     /* sampler = tpe: which trials are drawn; NULL without */
    int *waiting;         /* (workers) ranks that asked while every trial left waits for a generation */
    int n_waiting, stopped;
    int warned_objective; /* a trial without TPE's objective was reported */
} Master;

/* A journal write failed: the sweep stops (what is recorded stays; the same command resumes). */
static void master_store_failed(Master *ms, const char *err)
{
    if (ms->fatal) return;
    if (ms->pr.tty) fputs("\r\033[K", stderr);
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
    const double elapsed = cs_now_s() - ms->pr.t0;
    JournalProgress p = {.time = (double)time(NULL), .elapsed_s = elapsed, .eta_s = progress_eta(&ms->pr, elapsed),
                         .finished = ms->pr.finished, .total = ms->n, .running = ms->pr.running};
    char err[1024];
    if (!ms->fatal && store_progress(&ms->file.store, &p, err, sizeof err) != 0) master_store_failed(ms, err);
}

/* Curve rows of trial k's latest epochs: into the journal, and a line with --show-epochs. */
static void master_epochs(void *arg, long k, const CurveRow *rows, int n)
{
    Master *ms = arg;
    char err[1024];
    if (!ms->fatal && store_curve(&ms->file.store, k, ms->plan->trials[k].key, rows, n, err, sizeof err) != 0)
        master_store_failed(ms, err);
    if (!ms->show_epochs) return;
    char what[256], line[512];
    plan_describe(ms->plan, k, what, sizeof what);
    const CurveRow *r = &rows[n - 1];
    int at = r->val_acc == r->val_acc || r->val_loss != r->val_loss
                 ? snprintf(line, sizeof line, "trial %ld (%s) epoch %d on rank %d: validation accuracy %.4f", k, what,
                            r->epoch, ms->rank_of[k], r->val_acc)
                 : snprintf(line, sizeof line, "trial %ld (%s) epoch %d on rank %d: validation loss %.4g", k, what,
                            r->epoch, ms->rank_of[k], r->val_loss); /* a program that reports only its loss */
    if (r->val_bits == r->val_bits && at > 0 && (size_t)at < sizeof line)
        snprintf(line + at, sizeof line - (size_t)at, ", %.2f bits", r->val_bits);
    progress_show(&ms->pr, line);
}

/* A trial's outcome as the rank that ran it sends it: what the master's progress line states, and
 * the trial's record for the journal, built on that rank (an HDF5 image; none if it stopped early). */
typedef struct {
    int status, has_bits;
    double wall_s, acc, bits, bits_se;
    double objective;     /* under sampler = tpe its objective (NaN: none) */
    char reason[1024];
    char summary[256];    /* an [exec] trial's declared metrics, "name value, ..."; "" for a built-in one */
    unsigned char *img;
    size_t n_img;
} Outcome;

static void outcome_of(const Shared *sh, long k, const PlanTrial *t, const TrialResult *res, const Model *model,
                       Outcome *o)
{
    const TaskShape shape = task_shape(&t->s);
    *o = (Outcome){.status = res->status, .has_bits = task_has_bits(&shape), .wall_s = res->wall_s,
                   .acc = metrics_acc(&res->test), .bits = metrics_bits(&res->test), .bits_se = metrics_bits_se(&res->test),
                   .objective = objective_of_result(&sh->plan.job.search.objective, res, task_has_bits(&shape))};
    snprintf(o->reason, sizeof o->reason, "%s", res->stop_reason);
    const ExecSpec *exec = sh->plan.job.exec;
    for (int m = 0; res->exec && m < exec->n_metrics; m++) {
        const size_t len = strlen(o->summary);
        double v = NAN;
        for (int i = 0; i < res->exec->n_final; i++)
            if (strcmp(res->exec->final_names[i], exec->metrics[m]) == 0) v = res->exec->final_values[i];
        snprintf(o->summary + len, sizeof o->summary - len, "%s%s %.4g", m ? ", " : "", exec->metrics[m], v);
    }
    if (res->status == STATUS_PENDING) return;
    Tensor tensors[MODEL_MAX_TENSORS];
    TrialRecord rec = {.trial = (int)k, .key = t->key, .sampled = sh->plan.job.search.samples > 0,
                       .sample = t->sample, .s = &t->s, .status = res->status, .res = res, .host = sh->host,
                       .rank = sh->rank, .threads = sh->threads, .kernel = exec ? NULL : bm_path_name(), .exec = exec};
    if (!exec) rec.facts = trial_facts(&t->s);
    if (model && model->mem)
        rec.weights = model->mem, rec.tensors = tensors, rec.n_tensors = model_tensors(model, tensors);
    char err[1024];
    if (results_trial_image(&rec, &o->img, &o->n_img, err, sizeof err) != 0) CS_FAIL("%s", err);
}

static void outcome_pack(Pack *p, const Outcome *o)
{
    pack_i64(p, o->status);
    pack_i64(p, o->has_bits);
    pack_f64(p, o->wall_s), pack_f64(p, o->acc), pack_f64(p, o->bits), pack_f64(p, o->bits_se), pack_f64(p, o->objective);
    pack_str(p, o->reason);
    pack_str(p, o->summary);
    pack_i64(p, (int64_t)o->n_img);
    pack_bytes(p, o->img, o->n_img);
}

static void outcome_unpack(Unpack *u, Outcome *o)
{
    o->status = (int)unpack_int(u, STATUS_PENDING, STATUS_COUNT - 1);
    o->has_bits = (int)unpack_int(u, 0, 1);
    o->wall_s = unpack_f64(u), o->acc = unpack_f64(u), o->bits = unpack_f64(u), o->bits_se = unpack_f64(u);
    o->objective = unpack_f64(u);
    unpack_str(u, o->reason, sizeof o->reason);
    unpack_str(u, o->summary, sizeof o->summary);
    o->n_img = (size_t)unpack_int(u, 0, (int64_t)(u->len - u->pos));
    o->img = CS_ALLOC(o->n_img + 1);
    unpack_bytes(u, o->img, o->n_img);
}

/* The next trial to run whose values are drawn, or -1. */
static long master_next(Master *ms)
{
    for (long i = ms->next; i < ms->n_todo; i++) {
        const long k = ms->order[i];
        if (!generations_ready(ms->gen, k)) continue;
        ms->order[i] = ms->order[ms->next], ms->order[ms->next] = k;
        return ms->order[ms->next++];
    }
    return -1;
}

static void master_dispatch(Master *ms, long k, int rank);

/* Trial k to a worker: its number, and the values drawn for it under sampler = tpe (the worker's
 * job has only their placeholders). */
static void master_send_trial(Master *ms, long k, int rank)
{
    const PlanTrial *t = &ms->plan->trials[k];
    const Search *se = &ms->plan->job.search;
    Pack p;
    pack_init(&p);
    pack_i64(&p, k);
    const int n = t->generation > 0 ? se->n_keys : 0;
    pack_i64(&p, n);
    for (int j = 0; j < n; j++) {
        char v[256];
        settings_format(&t->s, se->keys[j].info, v, sizeof v);
        pack_str(&p, v);
    }
    CS_MPI(MPI_Send(p.buf, (int)p.len, MPI_BYTE, rank, TAG_TRIAL, MPI_COMM_WORLD));
    pack_free(&p);
    const double took = cs_now_s() - ms->seen;
    master_dispatch(ms, k, rank);
    ms->pr.dispatch_sum += took, ms->pr.dispatches++;
    ms->pr.dispatch_max = took > ms->pr.dispatch_max ? took : ms->pr.dispatch_max;
}

/* Workers that wait for a generation: given the trials now drawn, or stopped where none can come
 * (the sweep halts, or nothing runs that could draw one). */
static void master_wake(Master *ms)
{
    while (ms->n_waiting && !ms->halting && !stop_signal) {
        const long k = master_next(ms);
        if (k < 0) break;
        master_send_trial(ms, k, ms->waiting[--ms->n_waiting]);
    }
    if (ms->halting || stop_signal || ms->pr.running == 0)
        for (; ms->n_waiting; ms->stopped++)
            CS_MPI(MPI_Send(NULL, 0, MPI_BYTE, ms->waiting[--ms->n_waiting], TAG_STOP, MPI_COMM_WORLD));
}

/* Trial k's outcome from rank `rank` (0: the master itself); compute: the rank's own time on it.
 * The master takes o->img. */
static void master_record(Master *ms, long k, Outcome *o, int rank, double wait, double compute)
{
    char what[256], event[2048], err[1024];
    plan_describe(ms->plan, k, what, sizeof what);
    const PlanTrial *t = &ms->plan->trials[k];
    progress_finished(&ms->pr, o->status, t->cost, compute, wait);
    if (o->status == STATUS_PENDING) {
        ms->halting = 1; /* a trial stops early only when its rank was told to stop */
        snprintf(event, sizeof event, "trial %ld (%s) stopped after %.1f s: %s", k, what, o->wall_s, o->reason);
    } else {
        if (o->status == STATUS_FAILED)
            snprintf(event, sizeof event, "trial %ld (%s) failed on rank %d: %s", k, what, rank, o->reason);
        else if (o->summary[0])
            snprintf(event, sizeof event, "trial %ld (%s) %s in %.1f s on rank %d: %s", k, what, status_names[o->status],
                     o->wall_s, rank, o->summary);
        else {
            int at = snprintf(event, sizeof event, "trial %ld (%s) %s in %.1f s on rank %d: test accuracy %.4f",
                              k, what, status_names[o->status], o->wall_s, rank, o->acc);
            if (o->has_bits && at > 0 && (size_t)at < sizeof event)
                snprintf(event + at, sizeof event - (size_t)at, ", %.2f ± %.2f bits", o->bits, o->bits_se);
        }
    }
    int recorded = 0;
    if (!ms->fatal) {
        const double start = cs_now_s();
        char ckpt[PATH_MAX];
        checkpoint_path(ms->sh, t, ckpt, sizeof ckpt);
        Store *st = &ms->file.store;
        if (o->status == STATUS_PENDING)
            recorded = store_status(st, k, t->key, STATUS_PENDING, rank, err, sizeof err) == 0;
        else
            recorded = store_final(st, k, t->key, o->status, rank, o->img, o->n_img, ckpt, err, sizeof err) == 0;
        o->img = NULL; /* the store's now */
        if (o->status != STATUS_PENDING) ms->pr.record_s[ms->pr.finished - 1] = cs_now_s() - start;
        if (!recorded) master_store_failed(ms, err);
    }
    free(o->img);
    ms->status[k] = recorded ? o->status : STATUS_PENDING;
    ms->pr.final += recorded && o->status != STATUS_PENDING && o->status != STATUS_FAILED;
    master_record_progress(ms, 1);
    progress_show(&ms->pr, event);
    const int before = generations_drawn(ms->gen, k);
    const long drawn = recorded ? generations_finish(ms->gen, k, o->status, o->objective) : 0;
    if (drawn) {
        const int now = generations_drawn(ms->gen, k);
        char which[64];
        if (now == before + 1) snprintf(which, sizeof which, "generation %d", now);
        else snprintf(which, sizeof which, "generations %d to %d", before + 1, now);
        snprintf(event, sizeof event, "TPE drew %s of trial %ld's group from the results of the generations before: "
                 "%ld trial%s", which, k, drawn, drawn == 1 ? "" : "s");
        progress_show(&ms->pr, event);
    }
    if (recorded && ms->gen && !ms->warned_objective && o->status != STATUS_PENDING && o->status != STATUS_FAILED &&
        isnan(o->objective)) { /* once: a metric the program never reports makes every trial the worst */
        ms->warned_objective = 1;
        snprintf(event, sizeof event, "trial %ld has no value of TPE's metric %s: it counts as the worst (said once)",
                 k, ms->plan->job.search.objective.name);
        progress_show(&ms->pr, event);
    }
    master_wake(ms);
}

static void master_dispatch(Master *ms, long k, int rank)
{
    ms->status[k] = STATUS_RUNNING;
    ms->rank_of[k] = rank;
    ms->pr.running++;
    char err[1024];
    if (!ms->fatal && store_status(&ms->file.store, k, ms->plan->trials[k].key, STATUS_RUNNING, rank, err, sizeof err) != 0)
        master_store_failed(ms, err);
}

/* A trial's value at a rung: recorded, and with decide whether it goes on. */
static int master_rung(void *arg, long k, uint64_t group, int rung, double value, int decide)
{
    Master *ms = arg;
    const int goes = halving_record(ms->file.halving, group, rung, value, decide);
    if (decide) {
        ms->rung_goes[rung] += goes, ms->rung_stops[rung] += !goes;
        if (ms->show_epochs) {
            char what[256], line[512];
            plan_describe(ms->plan, k, what, sizeof what);
            snprintf(line, sizeof line, "trial %ld (%s) at rung %d (epoch %d): %s, %.4g (%ld of its group there)", k,
                     what, rung + 1, ms->plan->job.halving.rungs[rung], goes ? "goes on" : "pruned", value,
                     halving_count(ms->file.halving, group, rung));
            progress_show(&ms->pr, line);
        }
    }
    return goes;
}

static void serial_epochs(void *arg, long k, const CurveRow *rows, int n)
{
    Master *ms = arg;
    master_epochs(ms, k, rows, n);
    store_poll(&ms->file.store);
}

static void master_serial(Master *ms)
{
    long k;
    while (!ms->halting && !stop_signal && (k = master_next(ms)) >= 0) {
        master_dispatch(ms, k, 0);
        progress_show(&ms->pr, NULL);
        TrialResult res;
        Model model;
        EpochSink sink = {.k = k, .deliver = serial_epochs, .ask = master_rung, .arg = ms};
        const double start = cs_now_s();
        const PlanTrial *t = &ms->plan->trials[k];
        run_trial(ms->sh, k, t, stop_requested_serial, &sink, &res, &model);
        Outcome o;
        outcome_of(ms->sh, k, t, &res, &model, &o);
        trial_result_free(&res);
        model_free(&model);
        master_record(ms, k, &o, 0, -1, cs_now_s() - start);
        store_poll(&ms->file.store);
    }
}

/* Answer a worker that is free: its next trial; a wait, if the trials left wait for a generation
 * that a running trial may complete; or STOP. Returns 1 if it was stopped. */
static int master_answer(Master *ms, int rank)
{
    if (!ms->halting && !stop_signal) {
        const long k = master_next(ms);
        if (k >= 0) {
            master_send_trial(ms, k, rank);
            return 0;
        }
        if (ms->next < ms->n_todo && ms->pr.running > 0) {
            ms->waiting[ms->n_waiting++] = rank;
            return 0;
        }
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
    const int stopped = master_answer(ms, rank);
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
    const int rung = (int)unpack_int(&u, 0, ms->plan->job.halving.n_rungs - 1);
    const double value = unpack_f64(&u);
    const int decide = (int)unpack_int(&u, 0, 1);
    if (u.bad || u.pos != u.len || !ms->file.halving) CS_FAIL("malformed rung message from rank %d", rank);
    int goes = master_rung(ms, k, group, rung, value, decide);
    if (decide) CS_MPI(MPI_Send(&goes, 1, MPI_INT, rank, TAG_RUNG, MPI_COMM_WORLD));
}

static void master_parallel(Master *ms)
{
    const int workers = ms->sh->size - 1;
    int halt_sent = 0;
    ms->waiting = CS_ALLOC((size_t)workers * sizeof *ms->waiting);
    while (ms->stopped < workers) {
        if ((stop_signal || ms->halting) && !halt_sent) {
            ms->halting = 1, halt_sent = 1;
            if (stop_signal) { /* said at once: mpirun may kill every rank before the sweep ends (a lost host) */
                if (ms->pr.tty) fputs("\r\033[K", stderr);
                fprintf(stderr, "copysweep: %s: every worker checkpoints its trial; what is recorded stays, and the "
                        "same command resumes\n", stop_signal == SIGUSR1 ? "SIGUSR1" : stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
            }
            for (long k = 0; k < ms->n; k++) /* busy workers: checkpoint and report now */
                if (ms->status[k] == STATUS_RUNNING)
                    CS_MPI(MPI_Send(NULL, 0, MPI_BYTE, ms->rank_of[k], TAG_HALT, MPI_COMM_WORLD));
            master_wake(ms); /* workers waiting for a generation: stopped */
        }
        int flag;
        MPI_Status st;
        CS_MPI(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
        if (!flag) {
            store_poll(&ms->file.store);
            master_record_progress(ms, 0);
            progress_show(&ms->pr, NULL);
            nanosleep(&(struct timespec){0, POLL_NS}, NULL);
            continue;
        }
        ms->seen = cs_now_s();
        if (st.MPI_TAG == TAG_READY) {
            CS_MPI(MPI_Recv(NULL, 0, MPI_BYTE, st.MPI_SOURCE, TAG_READY, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            ms->stopped += master_answer(ms, st.MPI_SOURCE);
        } else if (st.MPI_TAG == TAG_RESULT) {
            int bytes;
            CS_MPI(MPI_Get_count(&st, MPI_BYTE, &bytes));
            ms->stopped += master_receive_result(ms, st.MPI_SOURCE, bytes);
        } else if (st.MPI_TAG == TAG_EPOCH) {
            master_receive_epochs(ms, st.MPI_SOURCE, &st);
        } else if (st.MPI_TAG == TAG_RUNG) {
            master_receive_rung(ms, st.MPI_SOURCE);
        } else {
            CS_FAIL("unexpected message with tag %d from rank %d", st.MPI_TAG, st.MPI_SOURCE);
        }
    }
}

/* The expected wall time of the trials to run, from the cost model calibrated on this rank. */
static void print_estimate(const Shared *sh, const Master *ms, int workers)
{
    if (ms->plan->job.exec) return; /* the cost model knows the engine, not a user's program */
    Settings *todo = CS_ALLOC((size_t)ms->n_todo * sizeof *todo);
    for (long i = 0; i < ms->n_todo; i++) todo[i] = ms->plan->trials[ms->order[i]].s;
    Estimate e;
    if (estimate_wall(todo, ms->n_todo, workers, sh->threads, &e) == 0) {
        char wall[32], total[32], longest[32];
        progress_duration(e.wall_s, wall, sizeof wall);
        progress_duration(e.total_s, total, sizeof total);
        progress_duration(e.longest_s, longest, sizeof longest);
        fprintf(stderr, "copysweep: expected wall time %s on %d %s × %d thread%s (the cost model timed on this "
                "machine in %.1f s, %d kind%s of trial: %s of compute in all, the longest trial %s; early stopping "
                "ends trials sooner)\n", wall, workers, sh->size == 1 ? "rank" : workers == 1 ? "worker" : "workers", sh->threads,
                sh->threads == 1 ? "" : "s", e.calib_s, e.kinds, e.kinds == 1 ? "" : "s", total, longest);
    }
    free(todo);
}

static int cmp_cost_desc(const void *a, const void *b, void *arg)
{
    const PlanTrial *t = arg;
    long x = *(const long *)a, y = *(const long *)b;
    if (t[x].generation != t[y].generation) return t[x].generation < t[y].generation ? -1 : 1;
    if (t[x].cost != t[y].cost) return t[x].cost < t[y].cost ? 1 : -1;
    return (x > y) - (x < y);
}

/* The trials to run, the most expensive first: the chosen ones without a final result, and those
 * --rerun asks for; a trial left running by a stopped run is pending again. Says what it chose. */
static void master_order(Master *ms)
{
    const Plan *p = ms->plan;
    const int *status = ms->file.status;
    long skipped = 0, chosen = 0, again = 0;
    char err[1024];
    for (long k = 0; k < ms->n; k++) {
        /* done, diverged and pruned are final; failed, pending and running (from a stopped run) run again */
        ms->status[k] = status[k] == STATUS_RUNNING ? STATUS_PENDING : status[k];
        if (status[k] == STATUS_RUNNING && !ms->fatal &&
            store_status(&ms->file.store, k, p->trials[k].key, STATUS_PENDING, 0, err, sizeof err) != 0)
            master_store_failed(ms, err);
        if (!p->selected[k]) continue; /* another shard's, or left out by --trial or --only */
        chosen++;
        /* under TPE a failed trial is final too: the generations after it were drawn without it, and only
           --rerun runs it again (so that a resume draws what the uninterrupted sweep drew) */
        const int kept_failed = status[k] == STATUS_FAILED && p->job.search.sampler == SAMPLER_TPE && p->trials[k].sample >= 0;
        const int final = status[k] == STATUS_DONE || status[k] == STATUS_DIVERGED || status[k] == STATUS_PRUNED;
        if ((final || kept_failed) && !p->rerun[k]) {
            skipped++;
            continue;
        }
        if (final || kept_failed) ms->status[k] = STATUS_PENDING, again++; /* --rerun: on purpose */
        ms->order[ms->n_todo++] = k;
        ms->pr.cost_todo += p->trials[k].cost;
    }
    for (long k = 0; k < ms->n; k++)
        ms->pr.final += ms->status[k] >= STATUS_DONE && ms->status[k] != STATUS_FAILED;
    qsort_r(ms->order, (size_t)ms->n_todo, sizeof *ms->order, cmp_cost_desc, p->trials);
    const Shared *sh = ms->sh;
    const int workers = sh->size > 1 ? sh->size - 1 : 1;
    char chose[128] = "";
    if (p->selecting) snprintf(chose, sizeof chose, " of the %ld chosen", chosen);
    if (again) snprintf(chose + strlen(chose), sizeof chose - strlen(chose), ", %ld of them again", again);
    fprintf(stderr, "copysweep: %s: %ld trial%s, %ld to run%s (%ld already finished in %s), %d %s × %d thread%s\n",
            p->job.path, ms->n, ms->n == 1 ? "" : "s", ms->n_todo, chose, skipped, ms->file.output, workers,
            sh->size == 1 ? "rank" : workers == 1 ? "worker" : "workers", sh->threads, sh->threads == 1 ? "" : "s");
}

/* This run's decisions of successive halving, one line. */
static void print_rungs(const Master *ms)
{
    const HalvingSpec *h = &ms->plan->job.halving;
    for (int r = 0; ms->file.halving && r < h->n_rungs; r++)
        fprintf(stderr, "%s rung %d (epoch %d): %ld went on, %ld pruned%s", r ? ";" : "copysweep: successive halving in this run:",
                r + 1, h->rungs[r], ms->rung_goes[r], ms->rung_stops[r], r + 1 == h->n_rungs ? "\n" : "");
}

/* The end of the run: the summary, the file closed with this run's row, and what to do next. */
static int master_finish(Master *ms, double makespan, int workers)
{
    const Shared *sh = ms->sh;
    progress_summary(&ms->pr, makespan, workers);
    if (ms->pr.finished) print_rungs(ms);
    long left = 0, failed = 0; /* of the chosen trials */
    for (long k = 0; k < ms->n; k++) {
        left += ms->plan->selected[k] && ms->status[k] < STATUS_DONE;
        failed += ms->plan->selected[k] && ms->status[k] == STATUS_FAILED;
    }
    int rc = ms->fatal ? CS_EXIT_FAILURE : left ? SWEEP_EXIT_INTERRUPTED : failed ? SWEEP_EXIT_TRIALS_FAILED : 0;
    RunRecord run = {.wall_s = makespan, .ranks = sh->size, .threads = sh->threads,
                     .trials_run = ms->pr.finished, .trials_left = left, .exit_status = rc,
                     .host = sh->host, .command = ms->file.command};
    struct tm tm;
    strftime(run.started, sizeof run.started, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&ms->started_at, &tm));
    /* the journal into the results file, with this run's row in /runs (a run that ran nothing leaves
     * the file as it was) */
    const int finished = rc == 0 || rc == SWEEP_EXIT_TRIALS_FAILED;
    if (sweepfile_close(&ms->file, !ms->fatal && ms->n_todo ? &run : NULL, ms->n_todo > 0, finished) != 0)
        rc = CS_EXIT_FAILURE;
    if (rc == SWEEP_EXIT_INTERRUPTED && !stop_signal && !ms->halting)
        fprintf(stderr, "copysweep: %ld trial%s of later generations wait for trials of earlier ones that this run did "
                "not choose (--only, --trial); run the sweep without those options to draw them\n", left, left == 1 ? "" : "s");
    else if (rc == SWEEP_EXIT_INTERRUPTED)
        fprintf(stderr, "copysweep: stopped by %s with %ld trials left; checkpoints are in %s; run the same "
                "command to resume\n", stop_signal == SIGUSR1 ? "SIGUSR1" : stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
                left, sh->ckpt_dir);
    else if (rc == 0 || rc == SWEEP_EXIT_TRIALS_FAILED)
        fprintf(stderr, "copysweep: wrote %s\n", ms->file.output);
    if (rc == SWEEP_EXIT_TRIALS_FAILED)
        fprintf(stderr, "copysweep: finished; %ld trial%s failed (see 'copysweep status %s'; run them again with "
                "--rerun status=failed); exit status 4\n", failed, failed == 1 ? "" : "s", ms->file.output);
    return rc;
}

static int master_run(Master *ms, int progress)
{
    const Shared *sh = ms->sh;
    const long n = ms->plan->n;
    ms->n = n;
    ms->status = CS_ALLOC((size_t)n * sizeof *ms->status + 1);
    ms->rank_of = CS_CALLOC((size_t)n * sizeof *ms->rank_of + 1);
    ms->order = CS_ALLOC((size_t)n * sizeof *ms->order + 1);
    ms->pr = (Progress){.total = n, .halving = ms->file.halving != NULL,
                        .record_s = CS_CALLOC((size_t)n * sizeof *ms->pr.record_s + 1),
                        /* under mpirun stderr is a pipe even on a terminal: --progress bar asks for the bar there */
                        .tty = progress < 0 ? isatty(2) : progress};
    master_order(ms);
    ms->gen = generations_new(&ms->sh->plan, ms->status, ms->file.objective, ms->file.drawn);
    const int workers = sh->size > 1 ? sh->size - 1 : 1;
    if (ms->n_todo) print_estimate(sh, ms, workers);
    ms->pr.t0 = ms->pr.last_line = cs_now_s();
    ms->started_at = time(NULL);
    master_record_progress(ms, 1);
    if (sh->size == 1)
        master_serial(ms);
    else
        master_parallel(ms);
    if (ms->pr.tty) fputs("\r\033[K", stderr);
    const int rc = master_finish(ms, cs_now_s() - ms->pr.t0, workers);
    generations_free(ms->gen);
    free(ms->status), free(ms->rank_of), free(ms->order), free(ms->pr.record_s), free(ms->waiting);
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
/* The master's next message: TRIAL (trial *k, with the values drawn for it set in t->s), STOP or HALT. */
static void worker_receive(const Plan *plan, long *k, PlanTrial *t, MPI_Status *st)
{
    int flag, bytes;
    for (;;) {
        CS_MPI(MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, st));
        if (flag) break;
        nanosleep(&(struct timespec){0, POLL_NS}, NULL);
    }
    CS_MPI(MPI_Get_count(st, MPI_BYTE, &bytes));
    unsigned char *buf = CS_ALLOC((size_t)bytes + 1);
    CS_MPI(MPI_Recv(buf, bytes, MPI_BYTE, 0, st->MPI_TAG, MPI_COMM_WORLD, st));
    if (st->MPI_TAG == TAG_TRIAL) {
        const Search *se = &plan->job.search;
        Unpack u = unpack_start(buf, (size_t)bytes);
        *k = (long)unpack_int(&u, 0, LONG_MAX);
        const int n = (int)unpack_int(&u, 0, se->n_keys);
        plan_resolve(&plan->job, *k, t); /* once: its settings, key, group and sample */
        for (int j = 0; j < n && !u.bad; j++) {
            char v[256];
            unpack_str(&u, v, sizeof v);
            if (!u.bad) job_set_value(&t->s, se->keys[j].info, v);
        }
        if (u.bad || u.pos != u.len) CS_FAIL("malformed trial message from the master");
        t->drawn = 1;
    }
    free(buf);
}

static void worker_run(Shared *sh)
{
    double asked = cs_now_s();
    CS_MPI(MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_READY, MPI_COMM_WORLD));
    for (;;) {
        long k = -1;
        MPI_Status st;
        PlanTrial t;
        do /* a HALT that arrived after its trial ended is stale */
            worker_receive(&sh->plan, &k, &t, &st);
        while (st.MPI_TAG == TAG_HALT);
        if (st.MPI_TAG == TAG_STOP) return;
        const double start = cs_now_s(), wait = start - asked;
        TrialResult res;
        Model model;
        EpochSink sink = {.k = k, .deliver = send_epochs, .ask = worker_rung};
        run_trial(sh, k, &t, stop_requested_worker, &sink, &res, &model);
        Outcome o;
        outcome_of(sh, k, &t, &res, &model, &o); /* the record is built here, not on the master */
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

/* COPYSWEEP_FAULT, for the tests: the loss of one update of one trial becomes NaN (nan:TRIAL:UPDATE),
 * a trial fails its rank (abort:TRIAL), or a trial waits for a signal (hold:TRIAL). */
static void read_faults(Shared *sh)
{
    const char *fault = getenv("COPYSWEEP_FAULT");
    sh->fault_trial = sh->fault_update = sh->fault_abort = sh->fault_hold = -1;
    if (fault && sscanf(fault, "nan:%ld:%ld", &sh->fault_trial, &sh->fault_update) != 2)
        sh->fault_trial = sh->fault_update = -1;
    if (fault && sscanf(fault, "abort:%ld", &sh->fault_abort) != 1) sh->fault_abort = -1;
    if (fault && sscanf(fault, "hold:%ld", &sh->fault_hold) != 1) sh->fault_hold = -1;
    if (fault && sh->rank == 0) /* a switch a user should never have set by accident */
        fprintf(stderr, "copysweep: COPYSWEEP_FAULT=%s is set: a fault is injected on purpose (docs/tests.md)\n", fault);
}

/* The kernel path (COPYSWEEP_KERNEL): where a rank's CPU lacks the one asked for, the lowest such
 * rank says so in one line and the sweep stops before any work. Called by every rank or none (the
 * command line decides, and it is the same on every rank). 0, or -1. */
static int select_kernel(const Shared *sh)
{
    char why[256] = "";
    const int bad = bm_path_select(getenv("COPYSWEEP_KERNEL"), why, sizeof why) != 0 ? sh->rank : sh->size;
    int first_bad = sh->size;
    CS_MPI(MPI_Allreduce(&bad, &first_bad, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (first_bad == sh->size) return 0;
    if (sh->rank == first_bad && sh->size > 1) fprintf(stderr, "copysweep: rank %d on %s: %s\n", sh->rank, sh->host, why);
    if (sh->rank == first_bad && sh->size == 1) fprintf(stderr, "copysweep: %s\n", why);
    return -1;
}

/* Rank 0's work before anything runs: the plan, the trials chosen and, unless --list, the results
 * file opened. 0, or -1 with err (a user error: nothing written). */
static int master_prepare(Shared *sh, Master *ms, const Options *a, int argc, char **argv, char *err, size_t errlen)
{
    if (plan_load(&sh->plan, a->job, err, errlen) != 0 ||
        sweepfile_name(&ms->file, &sh->plan, a, argc, argv, err, errlen) != 0 ||
        plan_select(&sh->plan, a, err, errlen) != 0)
        return -1;
    if (a->list) return 0;
    if (sweepfile_open(&ms->file, &sh->plan, a, err, errlen) != 0) return -1;
    snprintf(sh->ckpt_dir, sizeof sh->ckpt_dir, "%s", ms->file.ckpt_dir);
    return 0;
}

/* Every rank builds the trials from the job text rank 0 read; the checkpoint folder is rank 0's. */
static void share_job(Shared *sh)
{
    static char text[1 << 20];
    static char path[PATH_MAX];
    if (sh->rank == 0) {
        if (strlen(sh->plan.job.text) >= sizeof text) CS_FAIL("job file larger than %zu bytes", sizeof text);
        snprintf(text, sizeof text, "%s", sh->plan.job.text);
        snprintf(path, sizeof path, "%s", sh->plan.job.path);
    }
    broadcast_string(text, sizeof text, sh->rank);
    broadcast_string(path, sizeof path, sh->rank);
    broadcast_string(sh->ckpt_dir, sizeof sh->ckpt_dir, sh->rank);
    char err[PATH_MAX + 1024];
    if (sh->rank != 0 && plan_parse(&sh->plan, path, text, err, sizeof err) != 0)
        CS_FAIL("rank %d cannot parse the job the master parsed: %s", sh->rank, err);
    const ExecSpec *exec = sh->plan.job.exec;
    if (!exec) return;
    if (sh->ckpt_dir[0] != '/') { /* absolute: a program may change its folder */
        char cwd[PATH_MAX], rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s", sh->ckpt_dir);
        if (!getcwd(cwd, sizeof cwd)) CS_FAIL("getcwd: %s", strerror(errno));
        if (snprintf(sh->ckpt_dir, sizeof sh->ckpt_dir, "%s/%s", cwd, rel) >= (int)sizeof sh->ckpt_dir)
            CS_FAIL("checkpoint folder path too long");
    }
    /* OUTPUT.logs beside OUTPUT.ckpt */
    const size_t len = strlen(sh->ckpt_dir);
    snprintf(sh->log_dir, sizeof sh->log_dir, "%.*s.logs", (int)(len > 5 ? len - 5 : len), sh->ckpt_dir);
    if (exec->version.n) exec_trial_version(exec, sh->plan.job.dir, sh->version, sizeof sh->version); /* once per rank */
}

int sweep_main(int argc, char **argv)
{
    int provided;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "copysweep: MPI_Init_thread failed\n");
        return CS_EXIT_FAILURE;
    }
    CS_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    catch_signals();

    static Shared sh;   /* large (paths, the plan): off the stack */
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
    ms.sh = &sh, ms.plan = &sh.plan;
    read_faults(&sh);

    Options args;
    char err[PATH_MAX + 1024] = "";
    int rc = cli_parse(cli_command("sweep"), argv[1], argc - 2, argv + 2, &args, err, sizeof err);
    if (rc > 0) { /* --help */
        if (sh.rank == 0) cli_print_command_help(cli_command("sweep"), stdout);
        MPI_Finalize();
        return 0;
    }
    if (rc == 0 && select_kernel(&sh) != 0) {
        MPI_Finalize();
        return CS_EXIT_USER;
    }
    if (rc == 0 && sh.rank == 0) rc = master_prepare(&sh, &ms, &args, argc, argv, err, sizeof err);
    CS_MPI(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rc != 0 || args.list) {
        if (rc != 0 && sh.rank == 0) fprintf(stderr, "copysweep: %s\n", cs_one_line(err));
        if (rc == 0 && sh.rank == 0) plan_list(&sh.plan, ms.file.output);
        plan_free(&sh.plan);
        sweepfile_free(&ms.file);
        MPI_Finalize();
        return rc ? CS_EXIT_USER : 0;
    }
    share_job(&sh);
    ms.show_epochs = args.show_epochs;
    if (sh.rank == 0)
        rc = master_run(&ms, args.progress);
    else
        worker_run(&sh);
    sweepfile_free(&ms.file);
    plan_free(&sh.plan);
    MPI_Finalize();
    return rc;
}
