/* Writing results files with HDF5. Every HDF5 call is checked through a Writer that records the
 * first failure; after a failure the remaining calls fail harmlessly on invalid ids, the temporary
 * file is removed, and the user's file at PATH is left as it was. */
#include "results.h"

#include <errno.h>    /* errno */
#include <inttypes.h> /* PRIx64, SCNx64 */
#include <fcntl.h>    /* open, O_* */
#include <libgen.h>   /* dirname */
#include <limits.h>   /* PATH_MAX */
#include <math.h>     /* NAN */
#include <poll.h>     /* poll */
#include <signal.h>   /* kill, SIGKILL */
#include <stdio.h>    /* snprintf, rename */
#include <stdlib.h>   /* free, getenv, atof */
#include <string.h>   /* strerror, strncpy, memcpy */
#include <sys/wait.h> /* waitpid, WIFSIGNALED */
#include <time.h>     /* time, gmtime_r, strftime, clock_gettime */
#include <unistd.h>   /* getpid, unlink, fsync, close, read, write, access, fork, pipe */

#include "cells.h"     /* model_kinds: the gate letters of every cell */
#include "check.h"     /* CS_ALLOC */
#include "settings_table.h" /* settings_* */
#include "version.h"   /* COPYSWEEP_VERSION */

typedef struct {
    int failed;
    const char *call; /* the first call that failed */
    int saved_errno;  /* errno right after it, often the reason (ENOSPC, EACCES) */
    long long copied; /* bytes of an existing file copied */
} Writer;

static int64_t w_check(Writer *w, int64_t r, const char *call)
{
    if (r < 0 && !w->failed) w->failed = 1, w->call = call, w->saved_errno = errno;
    return r;
}
/* errno is cleared first so that what w_check sees was set by this call */
#define H5C(w, call) (errno = 0, w_check((w), (int64_t)(call), #call))

/* ---- attributes and datasets ------------------------------------------------------------- */

static hid_t string_type(Writer *w, size_t len)
{
    hid_t t = H5C(w, H5Tcopy(H5T_C_S1));
    H5C(w, H5Tset_size(t, len));
    H5C(w, H5Tset_strpad(t, H5T_STR_NULLTERM));
    return t;
}

static void attr_write(Writer *w, hid_t loc, const char *name, hid_t type, const void *value)
{
    hid_t space = H5C(w, H5Screate(H5S_SCALAR));
    hid_t a = H5C(w, H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
    H5C(w, H5Awrite(a, type, value));
    H5C(w, H5Aclose(a));
    H5C(w, H5Sclose(space));
}

/* Variable-length UTF-8: h5py reads it as str, h5dump prints it as text. */
static void attr_str(Writer *w, hid_t loc, const char *name, const char *value)
{
    hid_t t = H5C(w, H5Tcopy(H5T_C_S1));
    H5C(w, H5Tset_size(t, H5T_VARIABLE));
    H5C(w, H5Tset_cset(t, H5T_CSET_UTF8));
    attr_write(w, loc, name, t, &value);
    H5C(w, H5Tclose(t));
}

static void attr_int(Writer *w, hid_t loc, const char *name, long long v)
{
    attr_write(w, loc, name, H5T_NATIVE_LLONG, &v);
}

static void attr_double(Writer *w, hid_t loc, const char *name, double v)
{
    attr_write(w, loc, name, H5T_NATIVE_DOUBLE, &v);
}

static hid_t dataset_write(Writer *w, hid_t loc, const char *name, hid_t type, int rank,
                           const hsize_t *dims, const void *data)
{
    hid_t space = H5C(w, H5Screate_simple(rank, dims, NULL));
    /* "layer2/W_i": the groups on the way are created */
    hid_t lcpl = H5C(w, H5Pcreate(H5P_LINK_CREATE));
    H5C(w, H5Pset_create_intermediate_group(lcpl, 1));
    hid_t d = H5C(w, H5Dcreate2(loc, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
    H5C(w, H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
    H5C(w, H5Pclose(lcpl));
    H5C(w, H5Sclose(space));
    return d; /* the caller closes it */
}

/* ---- the /trials table ------------------------------------------------------------------- */

#define STR_SHORT 16
#define STR_HOST 64
#define STR_MESSAGE 128

/* Builds a packed compound row. With type ≥ 0 columns are inserted into it; with buf != NULL values
 * are written; size counts bytes either way. */
typedef struct {
    Writer *w;
    hid_t type;
    size_t size;
    unsigned char *buf;
} Row;

static void col(Row *r, const char *name, hid_t type, const void *value, size_t bytes)
{
    if (r->type >= 0) H5C(r->w, H5Tinsert(r->type, name, r->size, type));
    if (r->buf) memcpy(r->buf + r->size, value, bytes);
    r->size += bytes;
}
static void col_int(Row *r, const char *name, int v) { col(r, name, H5T_NATIVE_INT32, &v, 4); }
static void col_i64(Row *r, const char *name, long long v) { col(r, name, H5T_NATIVE_INT64, &v, 8); }
static void col_u64(Row *r, const char *name, uint64_t v) { col(r, name, H5T_NATIVE_UINT64, &v, 8); }
static void col_f64(Row *r, const char *name, double v) { col(r, name, H5T_NATIVE_DOUBLE, &v, 8); }
static void col_str(Row *r, const char *name, const char *v, size_t len)
{
    char s[512] = {0}; /* the longest string column */
    if (len > sizeof s) CS_FAIL("string column '%s' of %zu bytes", name, len);
    strncpy(s, v, len - 1);
    hid_t t = r->type >= 0 ? string_type(r->w, len) : -1;
    col(r, name, t, s, len);
    if (t >= 0) H5C(r->w, H5Tclose(t));
}

/* Gate statistics over the hold (docs/method.md "Gate statistics"): hold_<x>_mean and hold_<x>_sd for every
 * gate letter x of the registry's cells, and for m, the multiplicative step's gain; NaN where the
 * trial's cell has no such gate. Every row has the same columns. */
static void hold_columns(Row *r, const TrialRecord *rec)
{
    char letters[32] = "", name[32];
    for (int k = 0; k < model_count; k++)
        for (const char *g = model_kinds[k].ops->gates; *g; g++)
            if (!strchr(letters, *g) && strlen(letters) + 2 < sizeof letters) strncat(letters, g, 1);
    strcat(letters, "m");
    const char *own = rec->facts.gate_letters;
    for (const char *x = letters; *x; x++) {
        const char *at = *x == 'm' ? NULL : strchr(own, *x);
        const int slot = *x == 'm' ? TRIAL_MAX_GATES : at ? (int)(at - own) : -1;
        const int have = rec->res && slot >= 0;
        snprintf(name, sizeof name, "hold_%c_mean", *x);
        col_f64(r, name, have ? rec->res->hold_mean[slot] : NAN);
        snprintf(name, sizeof name, "hold_%c_sd", *x);
        col_f64(r, name, have ? rec->res->hold_sd[slot] : NAN);
    }
}

static void trial_row(Row *r, const TrialRecord *rec)
{
    const TrialResult *res = rec->res;
    char name[64], text[SETTINGS_TEXT_MAX];
    col_int(r, "trial", rec->trial);
    col_u64(r, "key", rec->key); /* the trial's identity: a hash of its settings */
    if (rec->sampled) col_int(r, "sample", rec->sample);
    for (const SettingInfo *info = settings_table; info->key; info++) {
        settings_column(info, name, sizeof name);
        settings_format(rec->s, info, text, sizeof text);
        if (info->type == SET_CHOICE)
            col_str(r, name, text, STR_SHORT);
        else if (info->type == SET_LIST || info->type == SET_TEXT)
            col_str(r, name, text, SETTINGS_TEXT_MAX);
        else if (info->type == SET_INT)
            col_int(r, name, settings_get_int(rec->s, info));
        else
            col_f64(r, name, settings_get_real(rec->s, info));
    }
    col_str(r, "status", status_names[rec->status], STR_SHORT);
    /* the model as the registry describes it, so that readers need no list of their own */
    const TrialFacts *f = &rec->facts;
    col_str(r, "model_long_name", f->model_long_name, STR_HOST);
    col_str(r, "cell", f->cell, STR_SHORT);
    col_int(r, "multiplicative", f->mult);
    col_int(r, "gates", f->gates);
    col_str(r, "gate_letters", f->gate_letters, STR_SHORT);
    col_i64(r, "n_params", f->n_params);
    col_f64(r, "chance_acc", f->chance_acc);
    col_f64(r, "chance_loss", f->chance_loss);
    col_int(r, "max_updates", f->max_updates); /* the budget */
    col_int(r, "epochs", res ? res->epochs : 0);
    col_int(r, "best_epoch", res ? res->best_epoch : -1);
    col_f64(r, "best_val_acc", res ? res->best_val_acc : NAN);
    col_f64(r, "test_loss", res ? metrics_loss(&res->test) : NAN);
    col_f64(r, "test_acc", res ? metrics_acc(&res->test) : NAN);
    col_f64(r, "test_seq_acc", res ? metrics_seq_acc(&res->test) : NAN);
    /* memory in bits (docs/method.md "Memory in bits"); NaN for tasks the bound does not apply to */
    const int bits = res && f->has_bits;
    col_f64(r, "test_bits", bits ? metrics_bits(&res->test) : NAN);
    col_f64(r, "test_bits_se", bits ? metrics_bits_se(&res->test) : NAN);
    col_f64(r, "bits_ceiling", bits ? metrics_bits_ceiling(&res->test) : NAN);
    col_f64(r, "test_bits_cal", bits ? metrics_bits(&res->test_cal) : NAN);
    col_f64(r, "test_bits_cal_se", bits ? metrics_bits_se(&res->test_cal) : NAN);
    col_f64(r, "temperature", bits ? res->temperature : NAN);
    /* the gradient's decay per step (docs/method.md "The gradient's decay per step") */
    col_f64(r, "rho_initial", res ? res->rho[0] : NAN);
    col_f64(r, "rho_final", res ? res->rho[1] : NAN);
    col_f64(r, "rho_linear", f->rho_linear);
    col_int(r, "load", f->load);
    col_int(r, "lag", f->lag);
    hold_columns(r, rec);
    for (int k = 0; k < CONV_COUNT; k++) {
        snprintf(name, sizeof name, "conv_epoch_%d", (int)(conv_thresholds[k] * 100 + 0.5));
        col_int(r, name, res ? res->conv_epoch[k] : -1);
    }
    for (int k = 0; k < CONV_COUNT; k++) {
        snprintf(name, sizeof name, "conv_wall_%d", (int)(conv_thresholds[k] * 100 + 0.5));
        col_f64(r, name, res ? res->conv_wall[k] : -1);
    }
    col_f64(r, "wall_s", res ? res->wall_s : NAN);
    col_str(r, "host", rec->host ? rec->host : "", STR_HOST);
    col_int(r, "rank", rec->rank);
    col_int(r, "threads", rec->threads);
    col_str(r, "kernel", rec->kernel ? rec->kernel : "", STR_SHORT);
    col_str(r, "message", res ? res->stop_reason : "", STR_MESSAGE);
}

/* The compound type of a /trials row and the rows of recs[0..n) packed with it. */
static hid_t trial_rows(Writer *w, const TrialRecord *recs, long n, unsigned char **rows)
{
    Row sizing = {.w = w, .type = -1};
    trial_row(&sizing, &recs[0]);
    const size_t row_bytes = sizing.size;
    unsigned char *buf = CS_CALLOC((size_t)n * row_bytes);
    Row r = {.w = w, .type = H5C(w, H5Tcreate(H5T_COMPOUND, row_bytes)), .buf = buf};
    trial_row(&r, &recs[0]);
    for (long i = 1; i < n; i++) {
        Row v = {.w = w, .type = -1, .buf = buf + (size_t)i * row_bytes};
        trial_row(&v, &recs[i]);
    }
    *rows = buf;
    return r.type;
}

/* loc/name: n rows of the compound type. chunk > 0: chunked and extendible, so that rows can be
 * added; 0: contiguous. */
static void create_table(Writer *w, hid_t loc, const char *name, hid_t type, const void *rows, hsize_t n,
                         hsize_t chunk)
{
    hsize_t maxdims = chunk ? H5S_UNLIMITED : n;
    hid_t space = H5C(w, H5Screate_simple(1, &n, &maxdims));
    hid_t dcpl = H5C(w, H5Pcreate(H5P_DATASET_CREATE));
    if (chunk) H5C(w, H5Pset_chunk(dcpl, 1, &chunk));
    hid_t d = H5C(w, H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (n) H5C(w, H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows));
    H5C(w, H5Dclose(d));
    H5C(w, H5Pclose(dcpl));
    H5C(w, H5Sclose(space));
}

static void write_trials_table(Writer *w, hid_t file, const TrialRecord *recs, long n, hsize_t chunk)
{
    unsigned char *buf;
    hid_t type = trial_rows(w, recs, n, &buf);
    create_table(w, file, "trials", type, buf, (hsize_t)n, chunk);
    H5C(w, H5Tclose(type));
    free(buf);
}

/* ---- the /runs table --------------------------------------------------------------------- */

#define STR_COMMAND 256

static void run_row(Row *r, const RunRecord *run)
{
    col_str(r, "started", run ? run->started : "", 32);
    col_f64(r, "wall_s", run ? run->wall_s : 0);
    col_int(r, "ranks", run ? run->ranks : 0);
    col_int(r, "threads", run ? run->threads : 0);
    col_i64(r, "trials_run", run ? run->trials_run : 0);
    col_i64(r, "trials_left", run ? run->trials_left : 0);
    col_int(r, "exit_status", run ? run->exit_status : 0);
    col_str(r, "host", run && run->host ? run->host : "", STR_HOST);
    col_str(r, "command", run && run->command ? run->command : "", STR_COMMAND);
}

static hid_t run_type(Writer *w, const RunRecord *run, unsigned char **buf)
{
    Row sizing = {.w = w, .type = -1};
    run_row(&sizing, run);
    *buf = CS_CALLOC(sizing.size);
    Row r = {.w = w, .type = H5C(w, H5Tcreate(H5T_COMPOUND, sizing.size)), .buf = *buf};
    run_row(&r, run);
    return r.type;
}

/* An empty, extendible /runs. */
static void write_runs_table(Writer *w, hid_t file)
{
    unsigned char *buf;
    hid_t type = run_type(w, NULL, &buf);
    create_table(w, file, "runs", type, NULL, 0, 16);
    H5C(w, H5Tclose(type));
    free(buf);
}

/* ---- /trial/<n> -------------------------------------------------------------------------- */

/* loc/name: n rows of the compound type mem (which this closes), stored without struct padding. */
static void write_table(Writer *w, hid_t loc, const char *name, hid_t mem, const void *rows, hsize_t n)
{
    hid_t file_type = H5C(w, H5Tcopy(mem));
    H5C(w, H5Tpack(file_type));
    hid_t space = H5C(w, H5Screate_simple(1, &n, NULL));
    hid_t d = H5C(w, H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5C(w, H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows));
    H5C(w, H5Dclose(d));
    H5C(w, H5Sclose(space));
    H5C(w, H5Tclose(file_type));
    H5C(w, H5Tclose(mem));
}

static void write_curves(Writer *w, hid_t g, const TrialResult *res)
{
    hid_t mem = H5C(w, H5Tcreate(H5T_COMPOUND, sizeof(CurveRow)));
#define CURVE_FIELD(ctype, name, h5type, meaning) H5C(w, H5Tinsert(mem, #name, HOFFSET(CurveRow, name), h5type));
    CURVE_FIELDS(CURVE_FIELD)
#undef CURVE_FIELD
    write_table(w, g, "curves", mem, res->curves, (hsize_t)res->epochs);
}

/* eval: one row per eval-T length; eval_examples/<T>/{output, target}: the first test sequence */
static void write_eval(Writer *w, hid_t g, const TrialResult *res, int has_bits)
{
    typedef struct {
        int32_t T;
        double loss, acc, seq_acc;
        int64_t sequences;
        double bits, bits_se, bits_ceiling;
        double bits_cal, bits_cal_se, temperature;
        int32_t load, lag;
    } EvalRow;
    EvalRow *rows = CS_CALLOC((size_t)res->n_eval * sizeof *rows + 1);
    for (int k = 0; k < res->n_eval; k++) {
        const Metrics *m = &res->eval[k].test;
        const double nan = NAN;
        rows[k] = (EvalRow){res->eval[k].T, metrics_loss(m), metrics_acc(m), metrics_seq_acc(m), m->sequences,
                            has_bits ? metrics_bits(m) : nan, has_bits ? metrics_bits_se(m) : nan,
                            has_bits ? metrics_bits_ceiling(m) : nan,
                            has_bits ? metrics_bits(&res->eval[k].test_cal) : nan,
                            has_bits ? metrics_bits_se(&res->eval[k].test_cal) : nan, res->eval[k].temperature,
                            res->eval[k].load, res->eval[k].lag};
    }
    hid_t mem = H5C(w, H5Tcreate(H5T_COMPOUND, sizeof(EvalRow)));
    H5C(w, H5Tinsert(mem, "T", HOFFSET(EvalRow, T), H5T_NATIVE_INT32));
    H5C(w, H5Tinsert(mem, "loss", HOFFSET(EvalRow, loss), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "acc", HOFFSET(EvalRow, acc), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "seq_acc", HOFFSET(EvalRow, seq_acc), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "sequences", HOFFSET(EvalRow, sequences), H5T_NATIVE_INT64));
    H5C(w, H5Tinsert(mem, "bits", HOFFSET(EvalRow, bits), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "bits_se", HOFFSET(EvalRow, bits_se), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "bits_ceiling", HOFFSET(EvalRow, bits_ceiling), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "bits_cal", HOFFSET(EvalRow, bits_cal), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "bits_cal_se", HOFFSET(EvalRow, bits_cal_se), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "temperature", HOFFSET(EvalRow, temperature), H5T_NATIVE_DOUBLE));
    H5C(w, H5Tinsert(mem, "load", HOFFSET(EvalRow, load), H5T_NATIVE_INT32));
    H5C(w, H5Tinsert(mem, "lag", HOFFSET(EvalRow, lag), H5T_NATIVE_INT32));
    write_table(w, g, "eval", mem, rows, (hsize_t)res->n_eval);
    free(rows);
    hid_t ex = H5C(w, H5Gcreate2(g, "eval_examples", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (int k = 0; k < res->n_eval; k++) {
        const EvalResult *e = &res->eval[k];
        char name[16];
        snprintf(name, sizeof name, "%d", e->T);
        hid_t eg = H5C(w, H5Gcreate2(ex, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        hsize_t out_dims[2] = {(hsize_t)e->N, (hsize_t)e->K}, n = (hsize_t)e->N;
        H5C(w, H5Dclose(dataset_write(w, eg, "output", H5T_NATIVE_DOUBLE, 2, out_dims, e->ex_out)));
        H5C(w, H5Dclose(dataset_write(w, eg, "target", H5T_NATIVE_INT, 1, &n, e->ex_target)));
        H5C(w, H5Gclose(eg));
    }
    H5C(w, H5Gclose(ex));
}

static void write_tensors(Writer *w, hid_t loc, const Tensor *t, int n, const real *buf)
{
    for (int k = 0; k < n; k++) {
        hsize_t dims[2] = {(hsize_t)t[k].rows, (hsize_t)t[k].cols};
        H5C(w, H5Dclose(dataset_write(w, loc, t[k].name, CS_H5_REAL, t[k].cols ? 2 : 1, dims,
                                      buf + t[k].offset)));
    }
}

int results_write_tensors(hid_t loc, const Tensor *t, int n, const real *buf)
{
    Writer w = {0};
    write_tensors(&w, loc, t, n, buf);
    return w.failed ? -1 : 0;
}

static void write_trial_group(Writer *w, hid_t trials_group, const TrialRecord *rec)
{
    char name[64], text[SETTINGS_TEXT_MAX];
    snprintf(name, sizeof name, "%d", rec->trial);
    if (H5Lexists(trials_group, name, H5P_DEFAULT) > 0) /* a trial run again replaces its group */
        H5C(w, H5Ldelete(trials_group, name, H5P_DEFAULT));
    hid_t g = H5C(w, H5Gcreate2(trials_group, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (const SettingInfo *info = settings_table; info->key; info++) {
        settings_column(info, name, sizeof name);
        settings_format(rec->s, info, text, sizeof text);
        if (info->type == SET_CHOICE || info->type == SET_LIST || info->type == SET_TEXT)
            attr_str(w, g, name, text);
        else if (info->type == SET_INT)
            attr_int(w, g, name, settings_get_int(rec->s, info));
        else
            attr_double(w, g, name, settings_get_real(rec->s, info));
    }
    attr_str(w, g, "status", status_names[rec->status]);
    const TrialResult *res = rec->res;
    if (res) attr_str(w, g, "message", res->stop_reason);
    if (res && rec->weights) {
        write_curves(w, g, res);
        hsize_t n_out = (hsize_t)res->N, flow_dims[2] = {2, (hsize_t)res->L};
        H5C(w, H5Dclose(dataset_write(w, g, "per_position", H5T_NATIVE_DOUBLE, 1, &n_out,
                                      res->per_position)));
        H5C(w, H5Dclose(dataset_write(w, g, "per_position_ce", H5T_NATIVE_DOUBLE, 1, &n_out,
                                      res->per_position_ce)));
        if (rec->facts.has_bits) {
            H5C(w, H5Dclose(dataset_write(w, g, "per_position_bits", H5T_NATIVE_DOUBLE, 1, &n_out,
                                          res->per_position_bits)));
            H5C(w, H5Dclose(dataset_write(w, g, "per_position_bits_se", H5T_NATIVE_DOUBLE, 1, &n_out,
                                          res->per_position_bits_se)));
        }
        hid_t flow = dataset_write(w, g, "grad_flow", H5T_NATIVE_DOUBLE, 2, flow_dims, res->grad_flow);
        hsize_t two = 2;
        hid_t space = H5C(w, H5Screate_simple(1, &two, NULL));
        hid_t a = H5C(w, H5Acreate2(flow, "epochs", H5T_NATIVE_INT32, space, H5P_DEFAULT, H5P_DEFAULT));
        H5C(w, H5Awrite(a, H5T_NATIVE_INT, res->flow_epochs));
        H5C(w, H5Aclose(a));
        H5C(w, H5Sclose(space));
        H5C(w, H5Dclose(flow));
        if (res->n_eval) write_eval(w, g, res, rec->facts.has_bits);
        hid_t weights = H5C(w, H5Gcreate2(g, "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        write_tensors(w, weights, rec->tensors, rec->n_tensors, rec->weights);
        H5C(w, H5Gclose(weights));
    }
    H5C(w, H5Gclose(g));
}

/* ---- files ------------------------------------------------------------------------------- */

int results_check_writable(const char *path, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a file next to '%s': %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(tmp);
    return 0;
}

/* Make the renamed file's directory entry durable too. */
static void fsync_path(const char *path, int directory)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(directory ? dirname(copy) : copy, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* HDF5 prints a stack for every failed call unless told not to; failures are reported in one line */
typedef struct {
    H5E_auto2_t func;
    void *data;
} Quiet;

static Quiet hdf5_quiet(void)
{
    Quiet q;
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

static void hdf5_restore(Quiet q) { H5Eset_auto2(H5E_DEFAULT, q.func, q.data); }

static void report(const Writer *w, const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot write '%s': %s failed (%s)", path, w->call,
             w->saved_errno ? strerror(w->saved_errno) : "HDF5 error");
}

/* Sync tmp and rename it over path (path NULL: keep it as tmp), or remove it; the error, if any,
 * goes to err. */
static int commit(Writer *w, const char *tmp, const char *path, char *err, size_t errlen)
{
    if (!w->failed) {
        fsync_path(tmp, 0);
        if (path && rename(tmp, path) != 0)
            w->failed = 1, w->call = "rename", w->saved_errno = errno;
        else
            fsync_path(path ? path : tmp, 1);
    }
    if (w->failed) {
        unlink(tmp);
        report(w, path ? path : tmp, err, errlen);
        return -1;
    }
    return 0;
}

/* attribute name of loc set to an integer, replacing it if it exists */
static void attr_set_int(Writer *w, hid_t loc, const char *name, long long v)
{
    if (H5Aexists(loc, name) > 0) H5C(w, H5Adelete(loc, name));
    attr_int(w, loc, name, v);
}

static void attr_set_str(Writer *w, hid_t loc, const char *name, const char *v)
{
    if (H5Aexists(loc, name) > 0) H5C(w, H5Adelete(loc, name));
    attr_str(w, loc, name, v);
}

int results_write(const char *path, const char *command, const char *job, uint64_t store_id,
                  const TrialRecord *recs, long n, char *err, size_t errlen)
{
    char tmp[PATH_MAX], created[32], id[20];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    snprintf(id, sizeof id, "%016" PRIx64, store_id);
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));

    Quiet q = hdf5_quiet();
    Writer w = {0};
    hid_t f = H5C(&w, H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    attr_str(&w, f, "copysweep_version", COPYSWEEP_VERSION);
    attr_str(&w, f, "format", RESULTS_FORMAT);
    attr_int(&w, f, "format_version", RESULTS_FORMAT_VERSION);
    attr_str(&w, f, "command", command);
    attr_str(&w, f, "job", job);
    attr_str(&w, f, "created", created);
    attr_str(&w, f, "real", CS_REAL_NAME);
    attr_str(&w, f, "store_id", id);
    attr_int(&w, f, "journal_seq", 0);
    attr_int(&w, f, "n_trials", n);
    write_trials_table(&w, f, recs, n, 64);
    write_runs_table(&w, f);
    hid_t trials = H5C(&w, H5Gcreate2(f, "trial", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (long i = 0; i < n; i++)
        if (recs[i].res && recs[i].status >= STATUS_DONE) write_trial_group(&w, trials, &recs[i]);
    H5C(&w, H5Gclose(trials));
    H5C(&w, H5Fclose(f));
    hdf5_restore(q);
    return commit(&w, tmp, path, err, errlen);
}

int results_trial_image(const TrialRecord *rec, unsigned char **img, size_t *n, char *err, size_t errlen)
{
    Quiet q = hdf5_quiet();
    Writer w = {0};
    hid_t fapl = H5C(&w, H5Pcreate(H5P_FILE_ACCESS));
    H5C(&w, H5Pset_fapl_core(fapl, 1 << 16, 0)); /* in memory only */
    hid_t f = H5C(&w, H5Fcreate("trial.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    write_trials_table(&w, f, rec, 1, 0);
    hid_t trials = H5C(&w, H5Gcreate2(f, "trial", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (rec->res && rec->status >= STATUS_DONE) write_trial_group(&w, trials, rec);
    H5C(&w, H5Gclose(trials));
    H5C(&w, H5Fflush(f, H5F_SCOPE_GLOBAL));
    ssize_t size = H5C(&w, H5Fget_file_image(f, NULL, 0));
    *img = NULL, *n = 0;
    if (!w.failed && size > 0) {
        *img = CS_ALLOC((size_t)size);
        *n = (size_t)size;
        H5C(&w, H5Fget_file_image(f, *img, (size_t)size));
    }
    H5C(&w, H5Fclose(f));
    H5C(&w, H5Pclose(fapl));
    hdf5_restore(q);
    if (w.failed) {
        free(*img);
        *img = NULL;
        snprintf(err, errlen, "cannot build the record of trial %d: %s failed", rec->trial, w.call);
        return -1;
    }
    return 0;
}

/* ---- changes to an existing file ---------------------------------------------------------- */

/* Copy the bytes of src to a new file dst. */
static int copy_file(Writer *w, const char *src, const char *dst)
{
    int in = open(src, O_RDONLY), out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
    int ok = in >= 0 && out >= 0;
    enum { CHUNK = 1 << 20 };
    char *buf = ok ? malloc(CHUNK) : NULL;
    ok = ok && buf;
    ssize_t n;
    while (ok && (n = read(in, buf, CHUNK)) != 0) {
        ok = n > 0;
        for (ssize_t done = 0; ok && done < n;) {
            ssize_t m = write(out, buf + done, (size_t)(n - done));
            ok = m > 0;
            done += m;
        }
        if (ok) w->copied += n;
    }
    free(buf);
    if (!ok) w->failed = 1, w->call = "copying the results file", w->saved_errno = errno;
    if (in >= 0) close(in);
    if (out >= 0 && close(out) != 0 && ok) w->failed = 1, w->call = "close", w->saved_errno = errno;
    return ok ? 0 : -1;
}

struct ResultsEdit {
    Writer w;
    Quiet q;
    char tmp[PATH_MAX];
    char problem[2048];  /* a semantic error (a record that does not fit the file) */
    hid_t f, table, group; /* the file, /trials, /trial */
    hid_t row_type;      /* /trials' type */
    size_t row_bytes;
    hid_t key_type, status_type; /* one-member and two-member views of a row */
    hid_t xfer;          /* row-sized conversion buffers: HDF5's default clears 2 MB per access */
};

static void edit_fail(ResultsEdit *e, const char *fmt, long a, long long b)
{
    if (!e->problem[0]) snprintf(e->problem, sizeof e->problem, fmt, a, b);
    e->w.failed = 1;
    if (!e->w.call) e->w.call = "applying the journal";
}

ResultsEdit *results_edit_begin(const char *path, const char *tmp)
{
    ResultsEdit *e = CS_CALLOC(sizeof *e);
    snprintf(e->tmp, sizeof e->tmp, "%s", tmp);
    e->q = hdf5_quiet();
    Writer *w = &e->w;
    e->f = e->table = e->group = e->row_type = e->key_type = e->status_type = e->xfer = -1;
    if (copy_file(w, path, tmp) != 0) return e;
    e->f = H5C(w, H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT));
    e->table = H5C(w, H5Dopen2(e->f, "trials", H5P_DEFAULT));
    e->group = H5C(w, H5Gopen2(e->f, "trial", H5P_DEFAULT));
    e->row_type = H5C(w, H5Dget_type(e->table));
    e->row_bytes = e->row_type >= 0 ? H5Tget_size(e->row_type) : 0;
    e->xfer = H5C(w, H5Pcreate(H5P_DATASET_XFER));
    H5C(w, H5Pset_buffer(e->xfer, e->row_bytes + 64, NULL, NULL));
    e->key_type = H5C(w, H5Tcreate(H5T_COMPOUND, 8));
    H5C(w, H5Tinsert(e->key_type, "key", 0, H5T_NATIVE_UINT64));
    hid_t str = string_type(w, STR_SHORT);
    e->status_type = H5C(w, H5Tcreate(H5T_COMPOUND, STR_SHORT + 4));
    H5C(w, H5Tinsert(e->status_type, "status", 0, str));
    H5C(w, H5Tinsert(e->status_type, "rank", STR_SHORT, H5T_NATIVE_INT32));
    H5C(w, H5Tclose(str));
    return e;
}

long long results_edit_copied(const ResultsEdit *e) { return e->w.copied; }

/* Read (write = 0) or write one row of /trials in the memory type mem. */
static void row_io(ResultsEdit *e, long trial, hid_t mem, void *buf, int write)
{
    Writer *w = &e->w;
    hsize_t at = (hsize_t)trial, one = 1, rows = 0;
    hid_t space = H5C(w, H5Dget_space(e->table));
    H5C(w, H5Sget_simple_extent_dims(space, &rows, NULL));
    if (!w->failed && (trial < 0 || at >= rows)) edit_fail(e, "a journal record names trial %ld of a file of %lld", trial, (long long)rows);
    H5C(w, H5Sselect_hyperslab(space, H5S_SELECT_SET, &at, NULL, &one, NULL));
    hid_t m = H5C(w, H5Screate_simple(1, &one, NULL));
    if (write)
        H5C(w, H5Dwrite(e->table, mem, m, space, e->xfer, buf));
    else
        H5C(w, H5Dread(e->table, mem, m, space, e->xfer, buf));
    H5C(w, H5Sclose(m));
    H5C(w, H5Sclose(space));
}

/* A journal record must name the trial the row holds. */
static void check_key(ResultsEdit *e, long trial, uint64_t key)
{
    uint64_t have = 0;
    if (e->w.failed) return;
    row_io(e, trial, e->key_type, &have, 0);
    if (!e->w.failed && have != key) edit_fail(e, "a journal record of trial %ld has another trial's key %016llx", trial, (long long)key);
}

void results_edit_status(ResultsEdit *e, long trial, uint64_t key, int status, int rank)
{
    check_key(e, trial, key);
    struct {
        char status[STR_SHORT];
        int32_t rank;
    } v = {{0}, rank};
    if (status < 0 || status >= STATUS_COUNT) edit_fail(e, "trial %ld: a journal record with status %lld", trial, status);
    if (e->w.failed) return;
    strncpy(v.status, status_names[status], STR_SHORT - 1);
    unsigned char buf[STR_SHORT + 4];
    memcpy(buf, v.status, STR_SHORT);
    memcpy(buf + STR_SHORT, &v.rank, 4);
    row_io(e, trial, e->status_type, buf, 1);
}

void results_edit_final(ResultsEdit *e, long trial, uint64_t key, const void *img, size_t n)
{
    Writer *w = &e->w;
    check_key(e, trial, key);
    if (w->failed) return;
    hid_t fapl = H5C(w, H5Pcreate(H5P_FILE_ACCESS));
    H5C(w, H5Pset_fapl_core(fapl, 1 << 16, 0));
    H5C(w, H5Pset_file_image(fapl, (void *)img, n));
    hid_t f = H5C(w, H5Fopen("trial.h5", H5F_ACC_RDONLY, fapl));
    hid_t d = H5C(w, H5Dopen2(f, "trials", H5P_DEFAULT));
    unsigned char *row = CS_CALLOC(e->row_bytes + 1);
    H5C(w, H5Dread(d, e->row_type, H5S_ALL, H5S_ALL, e->xfer, row));
    uint64_t have = 0;
    H5C(w, H5Dread(d, e->key_type, H5S_ALL, H5S_ALL, e->xfer, &have));
    if (!w->failed && have != key) edit_fail(e, "the journal record of trial %ld holds another trial (key %016llx)", trial, (long long)have);
    row_io(e, trial, e->row_type, row, 1);
    free(row);
    char src[64], name[32];
    snprintf(name, sizeof name, "%ld", trial);
    snprintf(src, sizeof src, "trial/%ld", trial);
    if (!w->failed && H5Lexists(e->group, name, H5P_DEFAULT) > 0) /* a trial run again replaces its group */
        H5C(w, H5Ldelete(e->group, name, H5P_DEFAULT));
    if (!w->failed && H5Lexists(f, "trial", H5P_DEFAULT) > 0 && H5Lexists(f, src, H5P_DEFAULT) > 0)
        H5C(w, H5Ocopy(f, src, e->group, name, H5P_DEFAULT, H5P_DEFAULT));
    H5C(w, H5Dclose(d));
    H5C(w, H5Fclose(f));
    H5C(w, H5Pclose(fapl));
}

void results_edit_run(ResultsEdit *e, const RunRecord *run)
{
    Writer *w = &e->w;
    hid_t d = H5C(w, H5Dopen2(e->f, "runs", H5P_DEFAULT));
    unsigned char *buf;
    hid_t type = run_type(w, run, &buf);
    hid_t space = H5C(w, H5Dget_space(d));
    hsize_t rows = 0, one = 1;
    H5C(w, H5Sget_simple_extent_dims(space, &rows, NULL));
    H5C(w, H5Sclose(space));
    hsize_t grown = rows + 1;
    H5C(w, H5Dset_extent(d, &grown));
    space = H5C(w, H5Dget_space(d));
    H5C(w, H5Sselect_hyperslab(space, H5S_SELECT_SET, &rows, NULL, &one, NULL));
    hid_t mem = H5C(w, H5Screate_simple(1, &one, NULL));
    H5C(w, H5Dwrite(d, type, mem, space, H5P_DEFAULT, buf));
    H5C(w, H5Sclose(mem));
    H5C(w, H5Sclose(space));
    H5C(w, H5Tclose(type));
    H5C(w, H5Dclose(d));
    free(buf);
}

void results_edit_abort(ResultsEdit *e)
{
    char err[64];
    e->w.failed = 1;
    if (!e->w.call) e->w.call = "abort";
    results_edit_end(e, 0, NULL, err, sizeof err);
}

int results_edit_end(ResultsEdit *e, uint64_t journal_seq, const char *to, char *err, size_t errlen)
{
    Writer *w = &e->w;
    if (e->f >= 0) attr_set_int(w, e->f, "journal_seq", (long long)journal_seq);
    hid_t ids[] = {e->key_type, e->status_type, e->row_type};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i] >= 0) H5C(w, H5Tclose(ids[i]));
    if (e->xfer >= 0) H5C(w, H5Pclose(e->xfer));
    if (e->group >= 0) H5C(w, H5Gclose(e->group));
    if (e->table >= 0) H5C(w, H5Dclose(e->table));
    if (e->f >= 0) H5C(w, H5Fclose(e->f));
    hdf5_restore(e->q);
    int rc = commit(w, e->tmp, to, err, errlen);
    if (rc != 0 && e->problem[0]) snprintf(err, errlen, "%s", e->problem);
    free(e);
    return rc;
}

/* A string attribute of loc, or "" if it is missing or not a string. */
static void attr_read_str(hid_t loc, const char *name, char *buf, size_t n)
{
    buf[0] = '\0';
    if (H5Aexists(loc, name) <= 0) return;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a);
    if (H5Tget_class(t) == H5T_STRING) {
        hid_t mem = H5Tcopy(t); /* same character set: HDF5 does not convert between them */
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            if (H5Aread(a, mem, &s) >= 0 && s) snprintf(buf, n, "%s", s);
            if (s) H5free_memory(s);
        } else {
            H5Tset_size(mem, n);
            if (H5Aread(a, mem, buf) < 0) buf[0] = '\0';
            buf[n - 1] = '\0';
        }
        H5Tclose(mem);
    }
    H5Tclose(t);
    H5Aclose(a);
}


/* ---- grown grids and merged files ---------------------------------------------------------- */

/* All rows of /trials of the file f, in the memory type `type` (n rows; NULL and n = 0 on failure). */
static unsigned char *read_rows(Writer *w, hid_t f, hid_t type, long *n)
{
    hid_t d = H5C(w, H5Dopen2(f, "trials", H5P_DEFAULT));
    hid_t space = H5C(w, H5Dget_space(d));
    hsize_t rows = 0;
    H5C(w, H5Sget_simple_extent_dims(space, &rows, NULL));
    unsigned char *buf = CS_CALLOC((size_t)rows * H5Tget_size(type) + 1);
    if (rows) H5C(w, H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
    H5C(w, H5Sclose(space));
    H5C(w, H5Dclose(d));
    *n = w->failed ? 0 : (long)rows;
    return buf;
}

/* The byte offset of member name in the compound type, or -1. */
static long member_offset(hid_t type, const char *name)
{
    int i = H5Tget_member_index(type, name);
    return i < 0 ? -1 : (long)H5Tget_member_offset(type, (unsigned)i);
}

/* Replace /trials of the edit by n rows (row_type), and move /trial/<from[k]> to /trial/<k>. */
static void replace_trials(ResultsEdit *e, const unsigned char *rows, long n, const long *from)
{
    Writer *w = &e->w;
    H5C(w, H5Dclose(e->table));
    H5C(w, H5Ldelete(e->f, "trials", H5P_DEFAULT));
    create_table(w, e->f, "trials", e->row_type, rows, (hsize_t)n, 64);
    e->table = H5C(w, H5Dopen2(e->f, "trials", H5P_DEFAULT));
    /* two steps, through /moving, since an old number can be another trial's new one */
    hid_t moving = H5C(w, H5Gcreate2(e->f, "moving", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    char a[32], b[32];
    for (long k = 0; k < n && !w->failed; k++) {
        snprintf(a, sizeof a, "%ld", from[k]);
        snprintf(b, sizeof b, "%ld", k);
        if (from[k] >= 0 && H5Lexists(e->group, a, H5P_DEFAULT) > 0) H5C(w, H5Lmove(e->group, a, moving, b, H5P_DEFAULT, H5P_DEFAULT));
    }
    H5C(w, H5Gclose(e->group));
    H5C(w, H5Ldelete(e->f, "trial", H5P_DEFAULT));
    H5C(w, H5Gclose(moving));
    H5C(w, H5Lmove(e->f, "moving", e->f, "trial", H5P_DEFAULT, H5P_DEFAULT));
    e->group = H5C(w, H5Gopen2(e->f, "trial", H5P_DEFAULT));
    attr_set_int(w, e->f, "n_trials", n);
}

void results_edit_regrid(ResultsEdit *e, const char *command, const char *job, const TrialRecord *recs, long n,
                         const long *old_of)
{
    Writer *w = &e->w;
    if (w->failed) return;
    long have;
    unsigned char *old = read_rows(w, e->f, e->row_type, &have);
    unsigned char *fresh, *rows = CS_CALLOC((size_t)n * e->row_bytes + 1);
    hid_t fresh_type = trial_rows(w, recs, n, &fresh);
    const long at_trial = member_offset(e->row_type, "trial");
    if (H5Tget_size(fresh_type) != e->row_bytes || at_trial < 0)
        edit_fail(e, "the file's /trials has other columns than this copysweep writes (%ld, %lld)", 0, 0);
    for (long k = 0; k < n && !w->failed; k++) {
        if (old_of[k] >= have) edit_fail(e, "trial %ld of the file is beyond its %lld rows", old_of[k], have);
        if (w->failed) break;
        memcpy(rows + (size_t)k * e->row_bytes,
               old_of[k] >= 0 ? old + (size_t)old_of[k] * e->row_bytes : fresh + (size_t)k * e->row_bytes, e->row_bytes);
        int32_t t = (int32_t)k;
        memcpy(rows + (size_t)k * e->row_bytes + at_trial, &t, 4);
    }
    replace_trials(e, rows, n, old_of);
    attr_set_str(w, e->f, "job", job);
    attr_set_str(w, e->f, "command", command);
    H5C(w, H5Tclose(fresh_type));
    free(old), free(fresh), free(rows);
}

/* "a value of column name" as text, for messages */
static void member_text(hid_t type, const char *name, const unsigned char *row, char *buf, size_t n)
{
    int i = H5Tget_member_index(type, name);
    hid_t t = i < 0 ? -1 : H5Tget_member_type(type, (unsigned)i);
    const unsigned char *p = row + (i < 0 ? 0 : H5Tget_member_offset(type, (unsigned)i));
    snprintf(buf, n, "?");
    if (t < 0) return;
    size_t size = H5Tget_size(t);
    /* the row is packed: a member may sit at any byte, so it is copied out, not dereferenced */
    int32_t i32;
    long long i64;
    double f64;
    if (H5Tget_class(t) == H5T_STRING)
        snprintf(buf, n, "%.*s", (int)strnlen((const char *)p, size), (const char *)p);
    else if (H5Tget_class(t) == H5T_INTEGER && size == 4)
        memcpy(&i32, p, 4), snprintf(buf, n, "%d", i32);
    else if (H5Tget_class(t) == H5T_INTEGER && size == 8)
        memcpy(&i64, p, 8), snprintf(buf, n, "%lld", i64);
    else if (H5Tget_class(t) == H5T_FLOAT && size == 8)
        memcpy(&f64, p, 8), snprintf(buf, n, "%.17g", f64);
    H5Tclose(t);
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The columns that are a trial's result, compared when two files hold the same trial. */
static const char *const result_columns[] = {"status", "epochs", "best_epoch", "best_val_acc", "test_loss",
                                             "test_acc", "test_seq_acc", NULL};

/* A merge of file b into the edit of a copy of a. */
typedef struct {
    ResultsEdit *e;
    hid_t fb;
    const char *a_name, *b_name;
    unsigned char *ra, *rb; /* (na), (nb) the rows of a and b in the edit's row type */
    long na, nb;
    unsigned char *rows;    /* (n) the merged rows */
    long n;
    long *from;             /* (n) the row of a, or of b where from_b, that row k comes from */
    int *from_b;
} Merge;

/* Files that cannot be combined: other precision, another copysweep version or other columns. */
static void merge_check(Merge *m)
{
    ResultsEdit *e = m->e;
    Writer *w = &e->w;
    char real_a[32] = "", real_b[32] = "", version_a[64] = "", version_b[64] = "";
    attr_read_str(e->f, "real", real_a, sizeof real_a);
    attr_read_str(m->fb, "real", real_b, sizeof real_b);
    attr_read_str(e->f, "copysweep_version", version_a, sizeof version_a);
    attr_read_str(m->fb, "copysweep_version", version_b, sizeof version_b);
    hid_t tb = H5C(w, H5Dopen2(m->fb, "trials", H5P_DEFAULT)), type_b = H5C(w, H5Dget_type(tb));
    int same = !w->failed && H5Tget_nmembers(type_b) == H5Tget_nmembers(e->row_type);
    for (int i = 0; same && i < H5Tget_nmembers(type_b); i++) {
        char *name = H5Tget_member_name(type_b, (unsigned)i);
        same = H5Tget_member_index(e->row_type, name) >= 0;
        H5free_memory(name);
    }
    H5C(w, H5Tclose(type_b));
    H5C(w, H5Dclose(tb));
    if (w->failed) return;
    if (strcmp(real_a, real_b) != 0)
        snprintf(e->problem, sizeof e->problem, "%s holds %s results and %s %s results: they cannot be merged",
                 m->a_name, real_a, m->b_name, real_b), w->failed = 1;
    else if (!same || strcmp(version_a, version_b) != 0)
        snprintf(e->problem, sizeof e->problem, "%s was written by copysweep %s and %s by copysweep %s%s: "
                 "their results cannot be merged", m->a_name, version_a, m->b_name, version_b,
                 same ? "" : " (other /trials columns)"), w->failed = 1;
}

static int final_status(const unsigned char *row, long at_status)
{
    char st[STR_SHORT + 1] = "";
    memcpy(st, row + at_status, STR_SHORT);
    return strcmp(st, "pending") != 0 && strcmp(st, "running") != 0;
}

/* m->rows: a's rows, then b's trials that a lacks; a finished trial of b replaces a's unfinished one;
 * a trial finished in both must have the same result. */
static void merge_rows(Merge *m)
{
    ResultsEdit *e = m->e;
    const size_t bytes = e->row_bytes;
    const long at_key = member_offset(e->row_type, "key"), at_trial = member_offset(e->row_type, "trial");
    const long at_status = member_offset(e->row_type, "status");
    uint64_t (*sorted)[2] = CS_CALLOC((size_t)m->na * sizeof *sorted + 1); /* (key, row of a) */
    for (long k = 0; k < m->na; k++) {
        memcpy(&sorted[k][0], m->ra + (size_t)k * bytes + at_key, 8);
        sorted[k][1] = (uint64_t)k;
    }
    qsort(sorted, (size_t)m->na, sizeof *sorted, cmp_key);
    m->rows = CS_CALLOC((size_t)(m->na + m->nb) * bytes + 1);
    memcpy(m->rows, m->ra, (size_t)m->na * bytes);
    m->from = CS_CALLOC((size_t)(m->na + m->nb) * sizeof *m->from + 1);
    m->from_b = CS_CALLOC((size_t)(m->na + m->nb) * sizeof *m->from_b + 1);
    for (long k = 0; k < m->na; k++) m->from[k] = k;
    m->n = m->na;
    char va[SETTINGS_TEXT_MAX + 32], vb[SETTINGS_TEXT_MAX + 32];
    for (long j = 0; j < m->nb && !e->w.failed; j++) {
        const unsigned char *row = m->rb + (size_t)j * bytes;
        uint64_t key;
        memcpy(&key, row + at_key, 8);
        uint64_t (*hit)[2] = bsearch(&key, sorted, (size_t)m->na, sizeof *sorted, cmp_key);
        const long k = hit ? (long)(*hit)[1] : m->n++;
        if (hit) {
            const int final_a = final_status(m->rows + (size_t)k * bytes, at_status), final_b = final_status(row, at_status);
            for (int c = 0; final_a && final_b && result_columns[c] && !e->w.failed; c++) {
                member_text(e->row_type, result_columns[c], m->rows + (size_t)k * bytes, va, sizeof va);
                member_text(e->row_type, result_columns[c], row, vb, sizeof vb);
                if (strcmp(va, vb) != 0)
                    snprintf(e->problem, sizeof e->problem, "trial %ld of %s and trial %ld of %s have the same settings "
                             "and different results (%s %s and %s): they cannot be merged", k, m->a_name, j, m->b_name,
                             result_columns[c], va, vb), e->w.failed = 1;
            }
            if (final_a || !final_b) continue; /* a's row stays */
        }
        memcpy(m->rows + (size_t)k * bytes, row, bytes);
        const int32_t t = (int32_t)k;
        memcpy(m->rows + (size_t)k * bytes + at_trial, &t, 4);
        m->from[k] = j, m->from_b[k] = 1;
    }
    free(sorted);
}

/* The merged /trials, a's groups renumbered and b's copied in (through /b, since b's numbers are
 * a's too). */
static void merge_groups(Merge *m)
{
    ResultsEdit *e = m->e;
    Writer *w = &e->w;
    hid_t gb = H5C(w, H5Gcreate2(e->f, "b", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    char src[64], name[32];
    for (long k = 0; k < m->n && !w->failed; k++) {
        if (!m->from_b[k]) continue;
        snprintf(src, sizeof src, "trial/%ld", m->from[k]);
        snprintf(name, sizeof name, "%ld", k);
        if (H5Lexists(m->fb, src, H5P_DEFAULT) > 0) H5C(w, H5Ocopy(m->fb, src, gb, name, H5P_DEFAULT, H5P_DEFAULT));
        if (k < m->na && H5Lexists(e->group, name, H5P_DEFAULT) > 0) H5C(w, H5Ldelete(e->group, name, H5P_DEFAULT));
        m->from[k] = -1; /* not one of a's groups */
    }
    if (!w->failed) replace_trials(e, m->rows, m->n, m->from);
    for (long k = 0; k < m->n && !w->failed; k++) {
        snprintf(name, sizeof name, "%ld", k);
        if (m->from_b[k] && H5Lexists(gb, name, H5P_DEFAULT) > 0)
            H5C(w, H5Lmove(gb, name, e->group, name, H5P_DEFAULT, H5P_DEFAULT));
    }
    if (gb >= 0) {
        H5C(w, H5Gclose(gb));
        H5C(w, H5Ldelete(e->f, "b", H5P_DEFAULT));
    }
}

/* b's /runs rows after a's. */
static void merge_runs(Merge *m)
{
    Writer *w = &m->e->w;
    hid_t runs_b = H5C(w, H5Dopen2(m->fb, "runs", H5P_DEFAULT)), runs_a = H5C(w, H5Dopen2(m->e->f, "runs", H5P_DEFAULT));
    hid_t type = H5C(w, H5Dget_type(runs_a));
    hid_t sb = H5C(w, H5Dget_space(runs_b)), sa = H5C(w, H5Dget_space(runs_a));
    hsize_t mb = 0, ma = 0;
    H5C(w, H5Sget_simple_extent_dims(sb, &mb, NULL));
    H5C(w, H5Sget_simple_extent_dims(sa, &ma, NULL));
    if (!w->failed && mb) {
        unsigned char *buf = CS_CALLOC((size_t)mb * H5Tget_size(type));
        H5C(w, H5Dread(runs_b, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
        hsize_t grown = ma + mb;
        H5C(w, H5Dset_extent(runs_a, &grown));
        hid_t space = H5C(w, H5Dget_space(runs_a));
        H5C(w, H5Sselect_hyperslab(space, H5S_SELECT_SET, &ma, NULL, &mb, NULL));
        hid_t mem = H5C(w, H5Screate_simple(1, &mb, NULL));
        H5C(w, H5Dwrite(runs_a, type, mem, space, H5P_DEFAULT, buf));
        H5C(w, H5Sclose(mem));
        H5C(w, H5Sclose(space));
        free(buf);
    }
    H5C(w, H5Sclose(sa)), H5C(w, H5Sclose(sb)), H5C(w, H5Tclose(type));
    H5C(w, H5Dclose(runs_a)), H5C(w, H5Dclose(runs_b));
}

/* Merge the file at path (name for messages) into the edit, whose trials come from first. */
static void merge_one(ResultsEdit *e, const char *first, const char *path, const char *name)
{
    Merge m = {.e = e, .a_name = first, .b_name = name};
    Writer *w = &e->w;
    m.fb = H5C(w, H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!w->failed) merge_check(&m);
    if (!w->failed) {
        m.ra = read_rows(w, e->f, e->row_type, &m.na);
        m.rb = read_rows(w, m.fb, e->row_type, &m.nb);
    }
    if (!w->failed) merge_rows(&m);
    if (!w->failed) merge_groups(&m);
    if (!w->failed) merge_runs(&m);
    if (m.fb >= 0) H5Fclose(m.fb);
    free(m.ra), free(m.rb), free(m.rows), free(m.from), free(m.from_b);
}

int results_merge(const char *const *paths, const char *const *names, int n, const char *out, const char *command,
                  uint64_t store_id, char *err, size_t errlen)
{
    char tmp[PATH_MAX], id[20], merged[4096] = "";
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    ResultsEdit *e = results_edit_begin(paths[0], tmp);
    for (int i = 1; i < n && !e->w.failed; i++) merge_one(e, names[0], paths[i], names[i]);
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof merged; i++)
        len += (size_t)snprintf(merged + len, sizeof merged - len, "%s%s", i ? " + " : "", names[i]);
    snprintf(id, sizeof id, "%016" PRIx64, store_id);
    if (!e->w.failed) {
        attr_set_str(&e->w, e->f, "store_id", id);
        attr_set_str(&e->w, e->f, "command", command);
        attr_set_str(&e->w, e->f, "merged_from", merged);
    }
    const int refused = e->problem[0] != '\0';
    int rc = results_edit_end(e, 0, out, err, errlen);
    return rc != 0 && refused ? -2 : rc;
}

/* ---- reading the index of a file ----------------------------------------------------------- */

/* results_read_index in this process: 0, or -1 with err */
static int read_index(const char *path, ResultsIndex *ix, char *err, size_t errlen)
{
    Quiet q = hdf5_quiet();
    int rc = -1;
    char format[64], id[64];
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = -1, type = -1, str = -1;
    if (f < 0) {
        snprintf(err, errlen, "'%s' exists and is not an HDF5 file that can be opened (a results file "
                 "is expected there)", path);
        goto done;
    }
    attr_read_str(f, "format", format, sizeof format);
    attr_read_str(f, "store_id", id, sizeof id);
    if (strcmp(format, RESULTS_FORMAT) != 0) {
        snprintf(err, errlen, "'%s' is not a copysweep results file", path);
        goto done;
    }
    long long version = -1, seq = -1;
    hid_t a = H5Aexists(f, "format_version") > 0 ? H5Aopen(f, "format_version", H5P_DEFAULT) : -1;
    if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &version) < 0) version = -1;
    if (a >= 0) H5Aclose(a);
    if (version != RESULTS_FORMAT_VERSION) {
        snprintf(err, errlen, "'%s' has results format version %lld and this copysweep writes version %d; it is "
                 "left as it is: finish it with the copysweep that wrote it", path, version, RESULTS_FORMAT_VERSION);
        goto done;
    }
    a = H5Aexists(f, "journal_seq") > 0 ? H5Aopen(f, "journal_seq", H5P_DEFAULT) : -1;
    if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &seq) < 0) seq = -1;
    if (a >= 0) H5Aclose(a);
    if (seq < 0 || sscanf(id, "%16" SCNx64, &ix->store_id) != 1) {
        snprintf(err, errlen, "'%s' lacks its store_id or journal_seq attribute: it is damaged", path);
        goto done;
    }
    ix->journal_seq = (uint64_t)seq;
    char job[1 << 16];
    attr_read_str(f, "job", job, sizeof job);
    ix->job = strdup(job);
    d = H5Dopen2(f, "trials", H5P_DEFAULT);
    hid_t space = d < 0 ? -1 : H5Dget_space(d), ftype = d < 0 ? -1 : H5Dget_type(d);
    ix->has_sample = ftype >= 0 && H5Tget_member_index(ftype, "sample") >= 0;
    if (ftype >= 0) H5Tclose(ftype);
    hsize_t rows = 0;
    if (space >= 0) H5Sget_simple_extent_dims(space, &rows, NULL), H5Sclose(space);
    /* read only the key and status columns: a compound of two members, matched by name */
    struct Cols {
        uint64_t key;
        char status[STR_SHORT];
    } *cols = CS_CALLOC((size_t)rows * sizeof *cols + 1);
    str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, STR_SHORT);
    type = H5Tcreate(H5T_COMPOUND, sizeof *cols);
    H5Tinsert(type, "key", HOFFSET(struct Cols, key), H5T_NATIVE_UINT64);
    H5Tinsert(type, "status", HOFFSET(struct Cols, status), str);
    if (d < 0 || (rows && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, cols) < 0)) {
        snprintf(err, errlen, "'%s': cannot read the key and status of its trials", path);
        free(cols);
        goto done;
    }
    ix->n = (long)rows;
    ix->key = CS_ALLOC((size_t)rows * sizeof *ix->key + 1);
    ix->status = CS_ALLOC((size_t)rows * sizeof *ix->status + 1);
    rc = 0;
    for (long i = 0; i < ix->n && rc == 0; i++) {
        cols[i].status[STR_SHORT - 1] = '\0';
        ix->key[i] = cols[i].key;
        ix->status[i] = -1;
        for (int s = 0; status_names[s]; s++)
            if (strcmp(cols[i].status, status_names[s]) == 0) ix->status[i] = s;
        if (ix->status[i] < 0) {
            snprintf(err, errlen, "'%s': trial %ld has the unknown status '%s'", path, i, cols[i].status);
            rc = -1;
        }
    }
    free(cols);
done:
    if (type >= 0) H5Tclose(type);
    if (str >= 0) H5Tclose(str);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    hdf5_restore(q);
    return rc;
}

int results_read_curves(const char *path, long n, const unsigned char *want,
                        void (*each)(void *arg, long trial, const CurveRow *rows, int n_rows), void *arg, char *err,
                        size_t errlen)
{
    Quiet q = hdf5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), mem = H5Tcreate(H5T_COMPOUND, sizeof(CurveRow));
#define CURVE_FIELD(ctype, name, h5type, meaning) H5Tinsert(mem, #name, HOFFSET(CurveRow, name), h5type);
    CURVE_FIELDS(CURVE_FIELD)
#undef CURVE_FIELD
    int rc = f < 0 || mem < 0 ? -1 : 0;
    if (mem < 0) snprintf(err, errlen, "cannot create the curves' HDF5 type");
    for (long k = 0; k < n && rc == 0; k++) {
        char name[64];
        if (!want[k]) continue;
        snprintf(name, sizeof name, "trial/%ld", k);
        if (H5Lexists(f, name, H5P_DEFAULT) <= 0) continue;
        snprintf(name, sizeof name, "trial/%ld/curves", k);
        if (H5Lexists(f, name, H5P_DEFAULT) <= 0) continue;
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT), space = d < 0 ? -1 : H5Dget_space(d);
        hsize_t rows = 0;
        if (space < 0 || H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, &rows, NULL) < 0 ||
            rows > 1000000) /* at most the largest epoch budget */
            rc = -1;
        CurveRow *buf = rc == 0 ? CS_ALLOC((size_t)rows * sizeof *buf + 1) : NULL;
        if (rc == 0 && rows && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) rc = -1;
        if (rc == 0) each(arg, k, buf, (int)rows);
        else snprintf(err, errlen, "'%s': cannot read the curves of trial %ld", path, k);
        free(buf);
        if (space >= 0) H5Sclose(space);
        if (d >= 0) H5Dclose(d);
    }
    if (f < 0) snprintf(err, errlen, "cannot open '%s' to read its curves", path);
    if (mem >= 0) H5Tclose(mem);
    if (f >= 0) H5Fclose(f);
    hdf5_restore(q);
    return rc;
}

void results_index_free(ResultsIndex *ix)
{
    free(ix->key), free(ix->status), free(ix->job);
    memset(ix, 0, sizeof *ix);
}

/* Reads n bytes before the deadline (CLOCK_MONOTONIC seconds): 0, -1 closed early, -2 timed out. */
static int read_until(int fd, void *buf, size_t n, double deadline)
{
    for (char *p = buf; n;) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double left = deadline - ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
        if (left <= 0) return -2;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) continue;
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r, n -= (size_t)r;
    }
    return 0;
}


int results_read_index(const char *path, ResultsIndex *ix, char *err, size_t errlen)
{
    memset(ix, 0, sizeof *ix);
    if (access(path, F_OK) != 0) return 1;
    /* A file the user did not write may be damaged, and libhdf5 can crash or loop forever on a
     * damaged file: it is read in a child process that hands back the answer through a pipe. */
    const char *limit = getenv("COPYSWEEP_READ_TIMEOUT");
    const double timeout = limit && atof(limit) > 0 ? atof(limit) : 120;
    int fds[2];
    if (pipe(fds) != 0) CS_FAIL("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) CS_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        char why[1024] = "";
        int rc = read_index(path, ix, why, sizeof why);
        size_t job = rc == 0 ? strlen(ix->job) : 0;
        int ok = cs_write_all(fds[1], &rc, sizeof rc) == 0 && cs_write_all(fds[1], why, sizeof why) == 0 &&
                 (rc != 0 || (cs_write_all(fds[1], ix, sizeof *ix) == 0 && cs_write_all(fds[1], &job, sizeof job) == 0 &&
                              cs_write_all(fds[1], ix->key, (size_t)ix->n * sizeof *ix->key) == 0 &&
                              cs_write_all(fds[1], ix->status, (size_t)ix->n * sizeof *ix->status) == 0 &&
                              cs_write_all(fds[1], ix->job, job) == 0));
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const double deadline = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec + timeout;
    int rc = -1, got;
    char why[1024];
    size_t job = 0;
    got = read_until(fds[0], &rc, sizeof rc, deadline);
    if (got == 0) got = read_until(fds[0], why, sizeof why, deadline);
    if (got == 0 && rc == 0) got = read_until(fds[0], ix, sizeof *ix, deadline);
    if (got == 0 && rc == 0) got = read_until(fds[0], &job, sizeof job, deadline);
    if (got == 0 && rc == 0) {
        ix->key = CS_ALLOC((size_t)ix->n * sizeof *ix->key + 1);
        ix->status = CS_ALLOC((size_t)ix->n * sizeof *ix->status + 1);
        ix->job = CS_CALLOC(job + 1);
        got = read_until(fds[0], ix->key, (size_t)ix->n * sizeof *ix->key, deadline);
        if (got == 0) got = read_until(fds[0], ix->status, (size_t)ix->n * sizeof *ix->status, deadline);
        if (got == 0) got = read_until(fds[0], ix->job, job, deadline);
    }
    close(fds[0]);
    if (got == -2) kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
    if (got == 0) {
        if (rc != 0) snprintf(err, errlen, "%s", why);
        if (rc != 0) results_index_free(ix);
        return rc;
    }
    if (rc == 0) results_index_free(ix);
    if (got == -2)
        snprintf(err, errlen, "reading '%s' did not finish within %.0f s (libhdf5 can loop on a damaged file); "
                 "it is left as it is", path, timeout);
    else if (WIFSIGNALED(wstatus))
        snprintf(err, errlen, "libhdf5 crashed (signal %d) reading '%s', which must be damaged; it is left as it "
                 "is", WTERMSIG(wstatus), path);
    else
        snprintf(err, errlen, "'%s' could not be read; it is left as it is", path);
    return -1;
}
