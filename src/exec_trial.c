/* One trial of an [exec] job (exec_trial.h). */
#include "exec_trial.h"

#include <errno.h>    /* errno, EEXIST */
#include <fcntl.h>    /* open, O_* */
#include <math.h>     /* NAN */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* free, getenv */
#include <string.h>   /* strcmp, strlen, strchr, strerror */
#include <sys/stat.h> /* mkdir, stat */
#include <unistd.h>   /* getcwd, unlink, read, close, ftruncate */

#include "check.h" /* CS_ALLOC, CS_FAIL */
#include "clock.h" /* cs_now_s */
#include "exec.h"  /* exec_* */
#include "pack.h"  /* pack_hash_more */
#include "settings_table.h" /* settings_infos, settings_index */

#define EXEC_MAX_ENV (SETTINGS_MAX_OWN + 8)

/* The value of placeholder key: {job_dir}, or the trial's value of the job's key. */
typedef struct {
    const Settings *s;
    const char *job_dir;
} Values;

static const char *value_of(void *arg, const char *key)
{
    const Values *v = arg;
    if (strcmp(key, EXEC_JOB_DIR) == 0) return v->job_dir;
    for (const SettingInfo *info = settings_infos(v->s); info->key; info++)
        if (strcmp(info->key, key) == 0) return v->s->own_values[settings_index(info)];
    return NULL;
}

/* mkdir -p of a folder; 0, or -1 with err. */
static int make_dir(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        const char c = *p;
        if (c != '/' && c) continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot make the folder '%.512s': %s", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (!c) return 0;
    }
}

/* The argv as one line: each word in "..." where it holds a blank or a quote. */
static void join_argv(char *const *argv, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; argv[i] && len < n; i++) {
        const int quote = argv[i][strcspn(argv[i], " \t\"")] != '\0';
        len += (size_t)snprintf(buf + len, n - len, "%s%s%s%s", i ? " " : "", quote ? "\"" : "", argv[i], quote ? "\"" : "");
    }
}

/* The program: argv[0] where it names a path; else the first argument that names a file (the script
 * an interpreter on the PATH runs), else argv[0] found on the PATH; and the FNV-1a hash of its bytes. */
static void program_hash(char *const *argv, ExecResult *x)
{
    struct stat st;
    char err[256];
    x->program[0] = '\0';
    if (strchr(argv[0], '/')) snprintf(x->program, sizeof x->program, "%s", argv[0]);
    for (int i = 1; argv[i] && !x->program[0]; i++)
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) snprintf(x->program, sizeof x->program, "%s", argv[i]);
    if (!x->program[0] && exec_find_program(argv[0], NULL, x->program, sizeof x->program, err, sizeof err) != 0) {
        snprintf(x->version, sizeof x->version, "unknown (%.200s)", err);
        return;
    }
    const int fd = open(x->program, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(x->version, sizeof x->version, "unknown (cannot read '%.120s': %s)", x->program, strerror(errno));
        return;
    }
    uint64_t h = PACK_HASH_START;
    char buf[65536];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0) h = pack_hash_more(h, buf, (size_t)got);
    close(fd);
    snprintf(x->version, sizeof x->version, "fnv1a64:%016llx", (unsigned long long)h);
}

static const char *no_value(void *arg, const char *key)
{
    (void)arg, (void)key;
    return NULL;
}

void exec_trial_version(const ExecSpec *spec, const char *job_dir, char *buf, size_t n)
{
    char err[512], **argv = NULL;
    if (exec_command_argv(&spec->version, no_value, NULL, &argv, err, sizeof err) != 0 ||
        exec_capture(argv, job_dir, buf, n, 60, err, sizeof err) != 0)
        snprintf(buf, n, "unknown (%s)", err);
    if (argv) exec_argv_free(argv);
}

/* "COPYSWEEP_<KEY>=value" for each key the trial has a value of, and the protocol's own. */
static int environment(const Settings *s, const ExecTrialCtx *ctx, const ExecResult *x, char **env, char *names,
                       size_t n_names)
{
    int n = 0;
    size_t len = 0;
    char buf[TRIAL_PATH_MAX + SETTINGS_TEXT_MAX];
    for (const SettingInfo *info = settings_infos(s); info->key; info++) {
        const char *v = s->own_values[settings_index(info)];
        if (!v) continue;
        char name[TRIAL_NAME_MAX];
        exec_env_name(info->key, name, sizeof name);
        snprintf(buf, sizeof buf, "COPYSWEEP_%s=%s", name, v);
        env[n++] = strdup(buf);
    }
    snprintf(buf, sizeof buf, "COPYSWEEP_METRICS=%s", x->metrics_path);
    env[n++] = strdup(buf);
    snprintf(buf, sizeof buf, "COPYSWEEP_CHECKPOINT_DIR=%s", ctx->ckpt_dir);
    env[n++] = strdup(buf);
    snprintf(buf, sizeof buf, "COPYSWEEP_TRIAL=%ld", ctx->trial);
    env[n++] = strdup(buf);
    snprintf(buf, sizeof buf, "COPYSWEEP_TRIAL_KEY=%016llx", (unsigned long long)ctx->key);
    env[n++] = strdup(buf);
    snprintf(buf, sizeof buf, "COPYSWEEP_THREADS=%d", ctx->threads);
    env[n++] = strdup(buf);
    if (!getenv("OMP_NUM_THREADS")) { /* the libraries a program uses take no more cores than its rank has */
        snprintf(buf, sizeof buf, "OMP_NUM_THREADS=%d", ctx->threads);
        env[n++] = strdup(buf);
    }
    for (int i = 0; i < n; i++) {
        if (!env[i]) CS_FAIL("out of memory");
        len += (size_t)snprintf(names + len, len < n_names ? n_names - len : 0, "%s%.*s", i ? " " : "",
                                (int)strcspn(env[i], "="), env[i]);
    }
    env[n] = NULL;
    return n;
}

/* The rows of a trial as they arrive: curve rows (the fields a CurveRow has) and the other numbers. */
typedef struct {
    const ExecTrialCtx *ctx;
    double t0;
    int n, cap;
    int pruned_at;   /* rows when the sweep pruned it (the rows after it are not the sweep's); -1: not */
    int replaying;   /* the rows an earlier run wrote: kept, told to the sweep at once afterwards */
    CurveRow *rows;
    ExecResult *x;   /* n_extra, extra_names, extra_values (cap × TRIAL_MAX_FIELDS while running) */
} Rows;

static void curve_field(CurveRow *c, const char *name, double v)
{
#define SET_FIELD(ctype, field, h5type, meaning) if (strcmp(name, #field) == 0) c->field = (ctype)v; else
    CURVE_FIELDS(SET_FIELD) {}
#undef SET_FIELD
}

static int is_curve_field(const char *name)
{
#define IS_FIELD(ctype, field, h5type, meaning) if (strcmp(name, #field) == 0) return 1;
    CURVE_FIELDS(IS_FIELD)
#undef IS_FIELD
    return 0;
}

/* An epoch row: it replaces the rows from its epoch on (a program resumed from an earlier checkpoint
 * writes them again), then the sweep hears of it. */
static int take_row(void *arg, const ExecRecord *r)
{
    Rows *w = arg;
    ExecResult *x = w->x;
    while (w->n > 0 && w->rows[w->n - 1].epoch >= r->epoch) w->n--;
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->rows = realloc(w->rows, (size_t)w->cap * sizeof *w->rows);
        x->extra_values = realloc(x->extra_values, (size_t)w->cap * TRIAL_MAX_FIELDS * sizeof *x->extra_values);
        if (!w->rows || !x->extra_values) CS_FAIL("out of memory");
    }
    CurveRow *c = &w->rows[w->n];
    double *extra = x->extra_values + (size_t)w->n * TRIAL_MAX_FIELDS;
#define NAN_FIELD(ctype, field, h5type, meaning) c->field = (ctype)NAN;
    CURVE_FIELDS(NAN_FIELD)
#undef NAN_FIELD
    c->epoch = r->epoch, c->train_T = 0, c->wall_s = cs_now_s() - w->t0;
    for (int j = 0; j < TRIAL_MAX_FIELDS; j++) extra[j] = NAN;
    for (int i = 0; i < r->n; i++) {
        if (is_curve_field(r->names[i])) {
            curve_field(c, r->names[i], r->values[i]);
            continue;
        }
        int j = 0;
        while (j < x->n_extra && strcmp(x->extra_names[j], r->names[i]) != 0) j++;
        if (j == x->n_extra && x->n_extra < TRIAL_MAX_FIELDS)
            snprintf(x->extra_names[x->n_extra++], TRIAL_NAME_MAX, "%s", r->names[i]);
        if (j < x->n_extra) extra[j] = r->values[i];
    }
    w->n++;
    const ExecTrialCtx *ctx = w->ctx;
    if (w->replaying) return 1;
    if (w->pruned_at >= 0) return 0; /* rows it wrote before it stopped */
    if (ctx->on_epoch && ctx->on_epoch(ctx->epoch_arg, w->rows, w->n, 0)) w->pruned_at = w->n;
    return w->pruned_at < 0;
}

/* The extra values packed to (epochs, n_extra). */
static void pack_extra(ExecResult *x, int epochs)
{
    for (int i = 0; i < epochs; i++)
        for (int j = 0; j < x->n_extra; j++)
            x->extra_values[(size_t)i * x->n_extra + j] = x->extra_values[(size_t)i * TRIAL_MAX_FIELDS + j];
}

/* The files of a trial: LOG_DIR/trial-KEY.{stdout,stderr,metrics.jsonl}, emptied for a fresh run. */
static int log_files(const ExecTrialCtx *ctx, int fresh, ExecResult *x, char *err, size_t errlen)
{
    if (make_dir(ctx->log_dir, err, errlen) != 0) return -1;
    char *paths[3] = {x->stdout_path, x->stderr_path, x->metrics_path};
    const char *ext[3] = {"stdout", "stderr", "metrics.jsonl"};
    for (int i = 0; i < 3; i++) {
        if (snprintf(paths[i], TRIAL_PATH_MAX, "%s/trial-%016llx.%s", ctx->log_dir, (unsigned long long)ctx->key,
                     ext[i]) >= TRIAL_PATH_MAX) {
            snprintf(err, errlen, "the folder of its logs has a path too long: '%.200s...'", ctx->log_dir);
            return -1;
        }
        const int fd = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC | (fresh ? O_TRUNC : O_APPEND), 0644);
        if (fd < 0) {
            snprintf(err, errlen, "cannot write '%s': %s", paths[i], strerror(errno));
            return -1;
        }
        close(fd);
    }
    return 0;
}

/* A resumed trial: the epoch rows an earlier run wrote, read as the sweep read them then (their rung
 * values recorded, not decided again), a line cut short by a kill taken off the file's end. Returns
 * the byte the new run's rows start at, or -1 with err (a bad line). */
static long long earlier_rows(Rows *w, const char *path, const char *const *declared, int n_declared, char *err,
                              size_t errlen)
{
    FILE *f = fopen(path, "r+");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long long whole = 0, at = 0;
    long number = 0;
    const ExecTrialCtx *ctx = w->ctx;
    while ((len = getline(&line, &cap, f)) > 0) {
        at += len;
        if (line[len - 1] != '\n') break; /* cut short */
        number++;
        whole = at;
        ExecRecord r;
        char why[512];
        if (exec_parse_record(line, (size_t)len - 1, declared, n_declared, &r, why, sizeof why) != 0) {
            snprintf(err, errlen, "%.400s:%ld: %.500s", path, number, why);
            free(line);
            fclose(f);
            return -1;
        }
        w->replaying = 1;
        if (r.epoch >= 0) take_row(w, &r);
        w->replaying = 0;
    }
    free(line);
    if (whole < at && ftruncate(fileno(f), (off_t)whole) != 0) whole = at; /* cannot cut it: the reader skips it */
    fclose(f);
    if (w->n && ctx->on_epoch) ctx->on_epoch(ctx->epoch_arg, w->rows, w->n, 1);
    return whole;
}

static void fail_trial(TrialResult *res, const char *why)
{
    res->status = STATUS_FAILED;
    snprintf(res->stop_reason, sizeof res->stop_reason, "%.*s", (int)sizeof res->stop_reason - 1, why);
}

/* The outcome of a run into res: its status and reason, its rows as curves (a pruned one's end at
 * its rung), how the program ended, its final record. */
static void record_outcome(const ExecOutcome *o, int started, const char *err, Rows *rows, TrialResult *res)
{
    ExecResult *x = res->exec;
    res->status = o->status == EXEC_DONE ? STATUS_DONE : o->status == EXEC_STOPPED ? STATUS_PENDING
                : o->status == EXEC_PRUNED ? STATUS_PRUNED : STATUS_FAILED;
    snprintf(res->stop_reason, sizeof res->stop_reason, "%.*s", (int)sizeof res->stop_reason - 1, started ? o->reason : err);
    res->wall_s = o->wall_s;
    if (o->status == EXEC_PRUNED && rows->pruned_at >= 0) rows->n = rows->pruned_at;
    res->best_epoch = -1;
    x->exit_code = o->exit_code, x->signal = o->signal, x->timed_out = o->timed_out;
    const size_t tail = strlen(o->stderr_tail), keep = sizeof x->stderr_tail - 1; /* its last lines */
    snprintf(x->stderr_tail, sizeof x->stderr_tail, "%s", o->stderr_tail + (tail > keep ? tail - keep : 0));
    for (int i = 0; o->status == EXEC_DONE && i < o->final.n && i < TRIAL_MAX_FIELDS; i++) {
        snprintf(x->final_names[i], TRIAL_NAME_MAX, "%s", o->final.names[i]);
        x->final_values[i] = o->final.values[i];
        x->n_final = i + 1;
    }
}

/* What ran where: the command line, the folder, the program's hash or version. */
static void describe_run(char *const *argv, const ExecTrialCtx *ctx, ExecResult *x)
{
    join_argv(argv, x->command, sizeof x->command);
    if (!getcwd(x->workdir, sizeof x->workdir)) snprintf(x->workdir, sizeof x->workdir, "?");
    if (ctx->version)
        snprintf(x->version, sizeof x->version, "%s", ctx->version);
    else
        program_hash(argv, x);
}

void exec_trial(const Settings *s, const ExecTrialCtx *ctx, TrialResult *res)
{
    const ExecSpec *spec = ctx->spec;
    memset(res, 0, sizeof *res);
    ExecResult *x = res->exec = CS_CALLOC(sizeof *res->exec);
    x->exit_code = -1;
    char err[1024];
    struct stat st;
    if (ctx->should_stop && ctx->should_stop(ctx->stop_arg)) { /* asked to stop before it began */
        res->status = STATUS_PENDING;
        snprintf(res->stop_reason, sizeof res->stop_reason, "stopped before its program started");
        return;
    }
    const int fresh = stat(ctx->ckpt_dir, &st) != 0;
    Values values = {.s = s, .job_dir = ctx->job_dir};
    char **argv = NULL;
    if (make_dir(ctx->ckpt_dir, err, sizeof err) != 0 || log_files(ctx, fresh, x, err, sizeof err) != 0 ||
        exec_command_argv(&spec->command, value_of, &values, &argv, err, sizeof err) != 0) {
        fail_trial(res, err);
        return;
    }
    char *env[EXEC_MAX_ENV + 1];
    const int n_env = environment(s, ctx, x, env, x->env_keys, sizeof x->env_keys);
    describe_run(argv, ctx, x);
    const char *declared[EXEC_MAX_FIELDS];
    for (int m = 0; m < spec->n_metrics; m++) declared[m] = spec->metrics[m];
    Rows rows = {.ctx = ctx, .t0 = cs_now_s(), .pruned_at = -1, .x = x};
    const long long from = fresh ? 0 : earlier_rows(&rows, x->metrics_path, declared, spec->n_metrics, err, sizeof err);
    ExecOutcome o = {.status = EXEC_FAILED, .exit_code = -1}; /* not run: a bad line an earlier run left */
    int started = 0;
    if (from >= 0) {
        ExecRun run = {.argv = argv, .env = env, .stdout_path = x->stdout_path, .stderr_path = x->stderr_path,
                       .metrics_path = x->metrics_path, .metrics_from = from, .declared = declared,
                       .n_declared = spec->n_metrics, .timeout_s = spec->timeout_s, .stop_signal = spec->stop_signal,
                       .grace_s = spec->grace_s, .should_stop = ctx->should_stop, .stop_arg = ctx->stop_arg,
                       .on_epoch = take_row, .epoch_arg = &rows};
        started = exec_run(&run, &o, err, sizeof err) == 0;
    }
    exec_argv_free(argv);
    for (int i = 0; i < n_env; i++) free(env[i]);
    record_outcome(&o, started, err, &rows, res);
    res->epochs = rows.n, res->curves = rows.rows;
    pack_extra(x, rows.n);
}
