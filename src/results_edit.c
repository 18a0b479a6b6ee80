/* Changes to an existing results file (ResultsEdit): a copy of its bytes is changed, a row's status,
 * a finished trial, a run, a grown grid (results_edit_regrid), and renamed over it. */
#include "results.h"

#include <errno.h>  /* errno */
#include <fcntl.h>  /* open, O_* */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* strncpy, memcpy */
#include <unistd.h> /* close, read, write */

#include "check.h"        /* CS_CALLOC */
#include "results_impl.h" /* Writer, H5C, struct ResultsEdit */

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
    e->q = rw_hdf5_quiet();
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
    hid_t str = rw_string_type(w, STR_SHORT);
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
    hid_t type = rw_run_type(w, run, &buf);
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
    if (e->f >= 0) rw_attr_set_int(w, e->f, "journal_seq", (long long)journal_seq);
    hid_t ids[] = {e->key_type, e->status_type, e->row_type};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i] >= 0) H5C(w, H5Tclose(ids[i]));
    if (e->xfer >= 0) H5C(w, H5Pclose(e->xfer));
    if (e->group >= 0) H5C(w, H5Gclose(e->group));
    if (e->table >= 0) H5C(w, H5Dclose(e->table));
    if (e->f >= 0) H5C(w, H5Fclose(e->f));
    rw_hdf5_restore(e->q);
    int rc = rw_commit(w, e->tmp, to, err, errlen);
    if (rc != 0 && e->problem[0]) snprintf(err, errlen, "%s", e->problem);
    free(e);
    return rc;
}

/* ---- grown grids and merged files ---------------------------------------------------------- */

/* All rows of /trials of the file f, in the memory type `type` (n rows; NULL and n = 0 on failure). */
unsigned char *rw_read_rows(Writer *w, hid_t f, hid_t type, long *n)
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
long rw_member_offset(hid_t type, const char *name)
{
    int i = H5Tget_member_index(type, name);
    return i < 0 ? -1 : (long)H5Tget_member_offset(type, (unsigned)i);
}

/* Replace /trials of the edit by n rows (row_type), and move /trial/<from[k]> to /trial/<k>. */
void rw_replace_trials(ResultsEdit *e, const unsigned char *rows, long n, const long *from)
{
    Writer *w = &e->w;
    H5C(w, H5Dclose(e->table));
    H5C(w, H5Ldelete(e->f, "trials", H5P_DEFAULT));
    rw_create_table(w, e->f, "trials", e->row_type, rows, (hsize_t)n, 64);
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
    rw_attr_set_int(w, e->f, "n_trials", n);
}

void results_edit_regrid(ResultsEdit *e, const char *command, const char *job, const TrialRecord *recs, long n,
                         const long *old_of)
{
    Writer *w = &e->w;
    if (w->failed) return;
    long have;
    unsigned char *old = rw_read_rows(w, e->f, e->row_type, &have);
    unsigned char *fresh, *rows = CS_CALLOC((size_t)n * e->row_bytes + 1);
    hid_t fresh_type = rw_trial_rows(w, recs, n, &fresh);
    const long at_trial = rw_member_offset(e->row_type, "trial");
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
    rw_replace_trials(e, rows, n, old_of);
    rw_attr_set_str(w, e->f, "job", job);
    rw_attr_set_str(w, e->f, "command", command);
    H5C(w, H5Tclose(fresh_type));
    free(old), free(fresh), free(rows);
}

