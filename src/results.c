/* Writing results files with HDF5. Every HDF5 call is checked through a Writer that records the
 * first failure; after a failure the remaining calls fail harmlessly on invalid ids, the temporary
 * file is removed, and the user's file at PATH is left as it was. */
#include "results.h"

#include <errno.h>    /* errno */
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

#include "batchmath.h" /* bm_blas_name */
#include "check.h"     /* CS_ALLOC */
#include "settings_table.h" /* settings_* */
#include "version.h"   /* COPYSWEEP_VERSION */

typedef struct {
    int failed;
    const char *call; /* the first call that failed */
    int saved_errno;  /* errno right after it, often the reason (ENOSPC, EACCES) */
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

static void trial_row(Row *r, const TrialRecord *rec)
{
    const TrialResult *res = rec->res;
    char name[64], text[SETTINGS_TEXT_MAX];
    col_int(r, "trial", rec->trial);
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
    /* memory in bits (SPEC "Memory in bits"); NaN for tasks the bound does not apply to */
    const int bits = res && f->has_bits;
    col_f64(r, "test_bits", bits ? metrics_bits(&res->test) : NAN);
    col_f64(r, "test_bits_se", bits ? metrics_bits_se(&res->test) : NAN);
    col_f64(r, "bits_ceiling", bits ? metrics_bits_ceiling(&res->test) : NAN);
    col_f64(r, "test_bits_cal", bits ? metrics_bits(&res->test_cal) : NAN);
    col_f64(r, "test_bits_cal_se", bits ? metrics_bits_se(&res->test_cal) : NAN);
    col_f64(r, "temperature", bits ? res->temperature : NAN);
    /* the gradient's decay per step (SPEC "The gradient's decay per step") */
    col_f64(r, "rho_initial", res ? res->rho[0] : NAN);
    col_f64(r, "rho_final", res ? res->rho[1] : NAN);
    col_f64(r, "rho_linear", f->rho_linear);
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

static void write_trials_table(Writer *w, hid_t file, const TrialRecord *recs, long n)
{
    unsigned char *buf;
    hid_t type = trial_rows(w, recs, n, &buf);
    /* chunked and extendible, so rows can be appended */
    hsize_t dims = (hsize_t)n, maxdims = H5S_UNLIMITED, chunk = 64;
    hid_t space = H5C(w, H5Screate_simple(1, &dims, &maxdims));
    hid_t dcpl = H5C(w, H5Pcreate(H5P_DATASET_CREATE));
    H5C(w, H5Pset_chunk(dcpl, 1, &chunk));
    hid_t d = H5C(w, H5Dcreate2(file, "trials", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5C(w, H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
    H5C(w, H5Dclose(d));
    H5C(w, H5Pclose(dcpl));
    H5C(w, H5Sclose(space));
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
    hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = 16;
    hid_t space = H5C(w, H5Screate_simple(1, &dims, &maxdims));
    hid_t dcpl = H5C(w, H5Pcreate(H5P_DATASET_CREATE));
    H5C(w, H5Pset_chunk(dcpl, 1, &chunk));
    H5C(w, H5Dclose(H5C(w, H5Dcreate2(file, "runs", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT))));
    H5C(w, H5Pclose(dcpl));
    H5C(w, H5Sclose(space));
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
    } EvalRow;
    EvalRow *rows = CS_CALLOC((size_t)res->n_eval * sizeof *rows + 1);
    for (int k = 0; k < res->n_eval; k++) {
        const Metrics *m = &res->eval[k].test;
        const double nan = NAN;
        rows[k] = (EvalRow){res->eval[k].T, metrics_loss(m), metrics_acc(m), metrics_seq_acc(m), m->sequences,
                            has_bits ? metrics_bits(m) : nan, has_bits ? metrics_bits_se(m) : nan,
                            has_bits ? metrics_bits_ceiling(m) : nan};
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

/* Sync tmp and rename it over path, or remove it; the error, if any, goes to err. */
static int commit(Writer *w, const char *tmp, const char *path, char *err, size_t errlen)
{
    if (!w->failed) {
        fsync_path(tmp, 0);
        if (rename(tmp, path) != 0)
            w->failed = 1, w->call = "rename", w->saved_errno = errno;
        else
            fsync_path(path, 1);
    }
    if (w->failed) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write '%s': %s failed (%s)", path, w->call,
                 w->saved_errno ? strerror(w->saved_errno) : "HDF5 error");
        return -1;
    }
    return 0;
}

int results_write(const char *path, const char *command, const char *job, uint64_t grid_hash,
                  const TrialRecord *recs, long n, char *err, size_t errlen)
{
    char tmp[PATH_MAX], created[32], hash[20];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)grid_hash);
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
    attr_str(&w, f, "blas", bm_blas_name());
    attr_str(&w, f, "grid_hash", hash);
    attr_int(&w, f, "n_trials", n);
    write_trials_table(&w, f, recs, n);
    write_runs_table(&w, f);
    hid_t trials = H5C(&w, H5Gcreate2(f, "trial", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (long i = 0; i < n; i++)
        if (recs[i].res && recs[i].status >= STATUS_DONE) write_trial_group(&w, trials, &recs[i]);
    H5C(&w, H5Gclose(trials));
    H5C(&w, H5Fclose(f));
    hdf5_restore(q);
    return commit(&w, tmp, path, err, errlen);
}

/* Copy the bytes of src to a new file dst. */
static int copy_file(Writer *w, const char *src, const char *dst)
{
    int in = open(src, O_RDONLY), out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
    int ok = in >= 0 && out >= 0;
    static char buf[1 << 20]; /* only the master process writes results files */
    ssize_t n;
    while (ok && (n = read(in, buf, sizeof buf)) != 0) {
        ok = n > 0;
        for (ssize_t done = 0; ok && done < n;) {
            ssize_t m = write(out, buf + done, (size_t)(n - done));
            ok = m > 0;
            done += m;
        }
    }
    if (!ok) w->failed = 1, w->call = "copying the results file", w->saved_errno = errno;
    if (in >= 0) close(in);
    if (out >= 0 && close(out) != 0 && ok) w->failed = 1, w->call = "close", w->saved_errno = errno;
    return ok ? 0 : -1;
}

/* A change to an existing file: the copy tmp of path opened for writing (a failed copy leaves an
 * invalid id, on which every later call fails harmlessly). edit_end closes it and renames it over
 * path, or removes it. */
static hid_t edit_begin(Writer *w, const char *path, char *tmp, size_t tmplen, Quiet *q)
{
    snprintf(tmp, tmplen, "%s.tmp-%ld", path, (long)getpid());
    *q = hdf5_quiet();
    if (copy_file(w, path, tmp) != 0) return -1;
    return H5C(w, H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT));
}

static int edit_end(Writer *w, hid_t f, Quiet q, const char *tmp, const char *path, char *err, size_t errlen)
{
    if (f >= 0) H5C(w, H5Fclose(f));
    hdf5_restore(q);
    return commit(w, tmp, path, err, errlen);
}

int results_update(const char *path, const TrialRecord *recs, long n, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    Writer w = {0};
    Quiet q;
    hid_t f = edit_begin(&w, path, tmp, sizeof tmp, &q);
    if (w.failed) return edit_end(&w, f, q, tmp, path, err, errlen);
    hid_t d = H5C(&w, H5Dopen2(f, "trials", H5P_DEFAULT));
    unsigned char *rows;
    hid_t type = trial_rows(&w, recs, n, &rows);
    size_t row_bytes = H5Tget_size(type);
    hid_t space = H5C(&w, H5Dget_space(d));
    hsize_t one = 1;
    hid_t mem = H5C(&w, H5Screate_simple(1, &one, NULL));
    hid_t trials = H5C(&w, H5Gopen2(f, "trial", H5P_DEFAULT));
    for (long i = 0; i < n && !w.failed; i++) {
        hsize_t at = (hsize_t)recs[i].trial;
        H5C(&w, H5Sselect_hyperslab(space, H5S_SELECT_SET, &at, NULL, &one, NULL));
        H5C(&w, H5Dwrite(d, type, mem, space, H5P_DEFAULT, rows + (size_t)i * row_bytes));
        if (recs[i].res && recs[i].status >= STATUS_DONE) write_trial_group(&w, trials, &recs[i]);
    }
    free(rows);
    H5C(&w, H5Gclose(trials));
    H5C(&w, H5Sclose(mem));
    H5C(&w, H5Sclose(space));
    H5C(&w, H5Tclose(type));
    H5C(&w, H5Dclose(d));
    return edit_end(&w, f, q, tmp, path, err, errlen);
}

int results_log_run(const char *path, const RunRecord *run, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    Writer w = {0};
    Quiet q;
    hid_t f = edit_begin(&w, path, tmp, sizeof tmp, &q);
    if (w.failed) return edit_end(&w, f, q, tmp, path, err, errlen);
    hid_t d = H5C(&w, H5Dopen2(f, "runs", H5P_DEFAULT));
    unsigned char *buf;
    hid_t type = run_type(&w, run, &buf);
    hid_t space = H5C(&w, H5Dget_space(d));
    hsize_t rows = 0, one = 1;
    H5C(&w, H5Sget_simple_extent_dims(space, &rows, NULL));
    H5C(&w, H5Sclose(space));
    hsize_t grown = rows + 1;
    H5C(&w, H5Dset_extent(d, &grown));
    space = H5C(&w, H5Dget_space(d));
    H5C(&w, H5Sselect_hyperslab(space, H5S_SELECT_SET, &rows, NULL, &one, NULL));
    hid_t mem = H5C(&w, H5Screate_simple(1, &one, NULL));
    H5C(&w, H5Dwrite(d, type, mem, space, H5P_DEFAULT, buf));
    H5C(&w, H5Sclose(mem));
    H5C(&w, H5Sclose(space));
    H5C(&w, H5Tclose(type));
    H5C(&w, H5Dclose(d));
    free(buf);
    return edit_end(&w, f, q, tmp, path, err, errlen);
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

/* results_read_status in this process: 0, or -1 with err */
static int read_status(const char *path, uint64_t grid_hash, long n, int *status, char *err, size_t errlen)
{
    Quiet q = hdf5_quiet();
    int rc = -1;
    char format[64], hash[64], want[20];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)grid_hash);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = -1, type = -1, str = -1;
    if (f < 0) {
        snprintf(err, errlen, "'%s' exists and is not an HDF5 file that can be opened (a results file "
                 "is expected there; move it away or choose another output)", path);
        goto done;
    }
    attr_read_str(f, "format", format, sizeof format);
    attr_read_str(f, "grid_hash", hash, sizeof hash);
    if (strcmp(format, RESULTS_FORMAT) != 0) {
        snprintf(err, errlen, "'%s' is not a copysweep results file (move it away or choose another output)", path);
        goto done;
    }
    long long version = -1;
    if (H5Aexists(f, "format_version") > 0) {
        hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
        if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &version) < 0) version = -1;
        if (a >= 0) H5Aclose(a);
    }
    if (version != RESULTS_FORMAT_VERSION) {
        snprintf(err, errlen, "'%s' has results format version %lld and this copysweep writes version %d; it is "
                 "left as it is: finish it with the copysweep that wrote it, or choose another output", path,
                 version, RESULTS_FORMAT_VERSION);
        goto done;
    }
    if (strcmp(hash, want) != 0) {
        snprintf(err, errlen, "'%s' holds the results of another job (its grid differs); it is left as it "
                 "is: choose another output with -o, or move it away to start afresh", path);
        goto done;
    }
    d = H5Dopen2(f, "trials", H5P_DEFAULT);
    hid_t space = d < 0 ? -1 : H5Dget_space(d);
    hsize_t rows = 0;
    if (space >= 0) H5Sget_simple_extent_dims(space, &rows, NULL), H5Sclose(space);
    /* read only the status column: a compound of one member, matched by name */
    char (*names)[STR_SHORT] = CS_CALLOC((size_t)n * STR_SHORT);
    str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, STR_SHORT);
    type = H5Tcreate(H5T_COMPOUND, STR_SHORT);
    H5Tinsert(type, "status", 0, str);
    if (d < 0 || (long)rows != n || H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) < 0) {
        snprintf(err, errlen, "'%s': cannot read the status of its %ld trials", path, n);
        free(names);
        goto done;
    }
    rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        names[i][STR_SHORT - 1] = '\0';
        status[i] = -1;
        for (int s = 0; status_names[s]; s++)
            if (strcmp(names[i], status_names[s]) == 0) status[i] = s;
        if (status[i] < 0) {
            snprintf(err, errlen, "'%s': trial %ld has the unknown status '%s'", path, i, names[i]);
            rc = -1;
        }
    }
    free(names);
done:
    if (type >= 0) H5Tclose(type);
    if (str >= 0) H5Tclose(str);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    hdf5_restore(q);
    return rc;
}

/* Writes all n bytes or fails. */
static int write_all(int fd, const void *buf, size_t n)
{
    for (const char *p = buf; n;) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
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

int results_read_status(const char *path, uint64_t grid_hash, long n, int *status, char *err,
                        size_t errlen)
{
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
        int rc = read_status(path, grid_hash, n, status, why, sizeof why);
        int ok = write_all(fds[1], &rc, sizeof rc) == 0 && write_all(fds[1], why, sizeof why) == 0 &&
                 (rc != 0 || write_all(fds[1], status, (size_t)n * sizeof *status) == 0);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const double deadline = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec + timeout;
    int rc = -1, got;
    char why[1024];
    got = read_until(fds[0], &rc, sizeof rc, deadline);
    if (got == 0) got = read_until(fds[0], why, sizeof why, deadline);
    if (got == 0 && rc == 0) got = read_until(fds[0], status, (size_t)n * sizeof *status, deadline);
    close(fds[0]);
    if (got == -2) kill(pid, SIGKILL);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
    if (got == 0) {
        if (rc != 0) snprintf(err, errlen, "%s", why);
        return rc;
    }
    if (got == -2)
        snprintf(err, errlen, "reading '%s' did not finish within %.0f s (libhdf5 can loop on a damaged file); "
                 "it is left as it is: move it away or choose another output", path, timeout);
    else if (WIFSIGNALED(wstatus))
        snprintf(err, errlen, "libhdf5 crashed (signal %d) reading '%s', which must be damaged; it is left as it "
                 "is: move it away or choose another output", WTERMSIG(wstatus), path);
    else
        snprintf(err, errlen, "'%s' could not be read; it is left as it is: move it away or choose another output",
                 path);
    return -1;
}
