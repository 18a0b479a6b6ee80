/* Writing results files with HDF5: the schema (the /trials and /runs rows, the /trial/<n> groups),
 * a new file (results_write), a trial's journal record (results_trial_image), and the shared Writer
 * helpers: attributes, tables and the commit of a temporary file. */
#include "results.h"

#include <errno.h>    /* errno */
#include <inttypes.h> /* PRIx64 */
#include <fcntl.h>    /* open, O_* */
#include <libgen.h>   /* dirname */
#include <limits.h>   /* PATH_MAX */
#include <math.h>     /* NAN */
#include <stdio.h>    /* snprintf, rename */
#include <stdlib.h>   /* free */
#include <string.h>   /* strerror, strncpy, memcpy */
#include <time.h>     /* time, gmtime_r, strftime */
#include <unistd.h>   /* getpid, unlink, fsync, close */

#include "model_kinds.h"          /* model_kinds: the gate letters of every cell */
#include "check.h"          /* CS_ALLOC */
#include "results_impl.h"   /* Writer, H5C, Quiet */
#include "settings_table.h" /* settings_* */
#include "version.h"        /* COPYSWEEP_VERSION */

int64_t rw_check(Writer *w, int64_t r, const char *call)
{
    if (r < 0 && !w->failed) w->failed = 1, w->call = call, w->saved_errno = errno;
    return r;
}

/* ---- attributes and datasets ------------------------------------------------------------- */

hid_t rw_string_type(Writer *w, size_t len)
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
    char s[1024] = {0}; /* the longest string column */
    if (len > sizeof s) CS_FAIL("string column '%s' of %zu bytes", name, len);
    strncpy(s, v, len - 1);
    hid_t t = r->type >= 0 ? rw_string_type(r->w, len) : -1;
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

/* Whether rec's value of info is not drawn yet (its column is then written blank). */
static int undrawn(const TrialRecord *rec, const SettingInfo *info)
{
    for (int i = 0; i < rec->n_undrawn; i++)
        if (rec->undrawn[i] == info) return 1;
    return 0;
}

/* A column for every setting of the table, in its order. */
static void setting_columns(Row *r, const TrialRecord *rec)
{
    char name[64], text[SETTINGS_TEXT_MAX];
    for (const SettingInfo *info = settings_table; info->key; info++) {
        settings_column(info, name, sizeof name);
        const int blank = undrawn(rec, info);
        settings_format(rec->s, info, text, sizeof text);
        if (blank) text[0] = '\0';
        if (info->type == SET_CHOICE)
            col_str(r, name, text, STR_SHORT);
        else if (info->type == SET_LIST || info->type == SET_TEXT)
            col_str(r, name, text, SETTINGS_TEXT_MAX);
        else if (info->type == SET_INT)
            col_int(r, name, blank ? -1 : settings_get_int(rec->s, info));
        else
            col_f64(r, name, blank ? NAN : settings_get_real(rec->s, info));
    }
}

static void trial_row(Row *r, const TrialRecord *rec)
{
    const TrialResult *res = rec->res;
    char name[64];
    col_int(r, "trial", rec->trial);
    col_u64(r, "key", rec->key); /* the trial's identity: a hash of its settings */
    if (rec->sampled) col_int(r, "sample", rec->sample);
    setting_columns(r, rec);
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

/* ---- the row of an [exec] job's trial --------------------------------------------------------- */

#define STR_TAIL 1024
#define STR_EXEC_MESSAGE 1024

static const char *const exec_columns[] = {"trial", "key", "sample", "status", "epoch_rows", "exit_code", "signal",
                                           "timed_out", "wall_s", "host", "rank", "message", "stderr_tail", NULL};

int results_exec_column_taken(const char *name)
{
    for (int i = 0; exec_columns[i]; i++)
        if (strcmp(exec_columns[i], name) == 0) return 1;
    return 0;
}

/* The value of the final record's number name, NaN if it has none. */
static double final_value(const ExecResult *x, const char *name)
{
    for (int i = 0; x && i < x->n_final; i++)
        if (strcmp(x->final_names[i], name) == 0) return x->final_values[i];
    return NAN;
}

/* The row of an [exec] trial: its own keys as text, its declared metrics, how its program ended. */
static void exec_row(Row *r, const TrialRecord *rec)
{
    const TrialResult *res = rec->res;
    const ExecResult *x = res ? res->exec : NULL;
    char name[64], text[SETTINGS_TEXT_MAX];
    col_int(r, "trial", rec->trial);
    col_u64(r, "key", rec->key);
    if (rec->sampled) col_int(r, "sample", rec->sample);
    /* the keys by name: the columns do not depend on where the job names them (a grown job's rows fit) */
    const SettingInfo *keys[SETTINGS_MAX_OWN];
    int n = 0;
    for (const SettingInfo *info = settings_infos(rec->s); info->key && n < SETTINGS_MAX_OWN; info++) {
        int at = n++;
        for (; at > 0 && strcmp(keys[at - 1]->key, info->key) > 0; at--) keys[at] = keys[at - 1];
        keys[at] = info;
    }
    for (int i = 0; i < n; i++) {
        settings_column(keys[i], name, sizeof name);
        settings_format(rec->s, keys[i], text, sizeof text);
        col_str(r, name, undrawn(rec, keys[i]) ? "" : text, SETTINGS_TEXT_MAX);
    }
    col_str(r, "status", status_names[rec->status], STR_SHORT);
    for (int m = 0; m < rec->exec->n_metrics; m++) col_f64(r, rec->exec->metrics[m], final_value(x, rec->exec->metrics[m]));
    col_int(r, "epoch_rows", res ? res->epochs : 0); /* not "epochs": a program's key often is */
    col_int(r, "exit_code", x ? x->exit_code : -1);
    col_int(r, "signal", x ? x->signal : 0);
    col_int(r, "timed_out", x ? x->timed_out : 0);
    col_f64(r, "wall_s", res ? res->wall_s : NAN);
    col_str(r, "host", rec->host ? rec->host : "", STR_HOST);
    col_int(r, "rank", rec->rank);
    col_str(r, "message", res ? res->stop_reason : "", STR_EXEC_MESSAGE); /* it names a file and a line */
    col_str(r, "stderr_tail", x ? x->stderr_tail : "", STR_TAIL);
}

static void any_row(Row *r, const TrialRecord *rec)
{
    if (rec->exec)
        exec_row(r, rec);
    else
        trial_row(r, rec);
}

/* The compound type of a /trials row and the rows of recs[0..n) packed with it. */
hid_t rw_trial_rows(Writer *w, const TrialRecord *recs, long n, unsigned char **rows)
{
    Row sizing = {.w = w, .type = -1};
    any_row(&sizing, &recs[0]);
    const size_t row_bytes = sizing.size;
    unsigned char *buf = CS_CALLOC((size_t)n * row_bytes);
    Row r = {.w = w, .type = H5C(w, H5Tcreate(H5T_COMPOUND, row_bytes)), .buf = buf};
    any_row(&r, &recs[0]);
    for (long i = 1; i < n; i++) {
        Row v = {.w = w, .type = -1, .buf = buf + (size_t)i * row_bytes};
        any_row(&v, &recs[i]);
    }
    *rows = buf;
    return r.type;
}

/* loc/name: n rows of the compound type. chunk > 0: chunked and extendible, so that rows can be
 * added; 0: contiguous. */
void rw_create_table(Writer *w, hid_t loc, const char *name, hid_t type, const void *rows, hsize_t n,
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
    hid_t type = rw_trial_rows(w, recs, n, &buf);
    rw_create_table(w, file, "trials", type, buf, (hsize_t)n, chunk);
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

hid_t rw_run_type(Writer *w, const RunRecord *run, unsigned char **buf)
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
    hid_t type = rw_run_type(w, NULL, &buf);
    rw_create_table(w, file, "runs", type, NULL, 0, 16);
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

/* The curve rows; an [exec] trial's with a field more for every other number its epoch rows hold. */
static void write_curves(Writer *w, hid_t g, const TrialResult *res)
{
    const ExecResult *x = res->exec;
    const int extra = x ? x->n_extra : 0;
    const size_t row = sizeof(CurveRow) + (size_t)extra * sizeof(double);
    hid_t mem = H5C(w, H5Tcreate(H5T_COMPOUND, row));
#define CURVE_FIELD(ctype, name, h5type, meaning) H5C(w, H5Tinsert(mem, #name, HOFFSET(CurveRow, name), h5type));
    CURVE_FIELDS(CURVE_FIELD)
#undef CURVE_FIELD
    for (int j = 0; j < extra; j++)
        H5C(w, H5Tinsert(mem, x->extra_names[j], sizeof(CurveRow) + (size_t)j * sizeof(double), H5T_NATIVE_DOUBLE));
    unsigned char *rows = CS_CALLOC((size_t)res->epochs * row + 1);
    for (int i = 0; i < res->epochs; i++) {
        memcpy(rows + (size_t)i * row, &res->curves[i], sizeof(CurveRow));
        if (extra)
            memcpy(rows + (size_t)i * row + sizeof(CurveRow), x->extra_values + (size_t)i * extra,
                   (size_t)extra * sizeof(double));
    }
    write_table(w, g, "curves", mem, rows, (hsize_t)res->epochs);
    free(rows);
}

/* An [exec] trial's group: what ran where, every number of its final record (final_<name>), its curves. */
static void write_exec_group(Writer *w, hid_t g, const TrialResult *res)
{
    const ExecResult *x = res->exec;
    char name[TRIAL_NAME_MAX + 8];
    if (!x) return;
    attr_str(w, g, "command", x->command);
    attr_str(w, g, "workdir", x->workdir);
    attr_str(w, g, "env_keys", x->env_keys);
    attr_str(w, g, "program", x->program);
    attr_str(w, g, "program_version", x->version);
    attr_str(w, g, "stdout", x->stdout_path);
    attr_str(w, g, "stderr", x->stderr_path);
    attr_str(w, g, "metrics_file", x->metrics_path);
    for (int i = 0; i < x->n_final; i++) {
        snprintf(name, sizeof name, "final_%s", x->final_names[i]);
        attr_double(w, g, name, x->final_values[i]);
    }
    if (res->epochs) write_curves(w, g, res);
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
    for (const SettingInfo *info = settings_infos(rec->s); info->key; info++) {
        settings_column(info, name, sizeof name);
        settings_format(rec->s, info, text, sizeof text);
        if (info->type == SET_CHOICE || info->type == SET_LIST || info->type == SET_TEXT || info->type == SET_OWN)
            attr_str(w, g, name, text);
        else if (info->type == SET_INT)
            attr_int(w, g, name, settings_get_int(rec->s, info));
        else
            attr_double(w, g, name, settings_get_real(rec->s, info));
    }
    attr_str(w, g, "status", status_names[rec->status]);
    const TrialResult *res = rec->res;
    if (res) attr_str(w, g, "message", res->stop_reason);
    if (res && rec->exec) write_exec_group(w, g, res);
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

Quiet rw_hdf5_quiet(void)
{
    Quiet q;
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

void rw_hdf5_restore(Quiet q) { H5Eset_auto2(H5E_DEFAULT, q.func, q.data); }

static void report(const Writer *w, const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot write '%s': %s failed (%s)", path, w->call,
             w->saved_errno ? strerror(w->saved_errno) : "HDF5 error");
}

/* Sync tmp and rename it over path (path NULL: keep it as tmp), or remove it; the error, if any,
 * goes to err. */
int rw_commit(Writer *w, const char *tmp, const char *path, char *err, size_t errlen)
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
void rw_attr_set_int(Writer *w, hid_t loc, const char *name, long long v)
{
    if (H5Aexists(loc, name) > 0) H5C(w, H5Adelete(loc, name));
    attr_int(w, loc, name, v);
}

void rw_attr_set_str(Writer *w, hid_t loc, const char *name, const char *v)
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

    Quiet q = rw_hdf5_quiet();
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
    rw_hdf5_restore(q);
    return rw_commit(&w, tmp, path, err, errlen);
}

int results_trial_image(const TrialRecord *rec, unsigned char **img, size_t *n, char *err, size_t errlen)
{
    Quiet q = rw_hdf5_quiet();
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
    rw_hdf5_restore(q);
    if (w.failed) {
        free(*img);
        *img = NULL;
        snprintf(err, errlen, "cannot build the record of trial %d: %s failed", rec->trial, w.call);
        return -1;
    }
    return 0;
}
