/* Reading results files: the index of a file (results_read_index, in a forked child that may crash
 * or hang on a damaged file), and the curves of its trials (results_read_curves). */
#include "results.h"

#include <errno.h>    /* errno */
#include <inttypes.h> /* SCNx64 */
#include <poll.h>     /* poll */
#include <signal.h>   /* kill, SIGKILL */
#include <stdio.h>    /* snprintf, fflush */
#include <stdlib.h>   /* free, getenv, atof */
#include <string.h>   /* strerror, strcmp, strdup, memset */
#include <sys/wait.h> /* waitpid, WIFSIGNALED */
#include <time.h>     /* clock_gettime */
#include <unistd.h>   /* close, read, access, fork, pipe, _exit */

#include "check.h"        /* CS_ALLOC, CS_FAIL, cs_write_all */
#include "results_impl.h" /* Quiet, STR_SHORT */

/* A string attribute of loc, or "" if it is missing or not a string. */
void rw_attr_read_str(hid_t loc, const char *name, char *buf, size_t n)
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

/* ---- reading the index of a file ----------------------------------------------------------- */

/* The root attributes of the file f at path: its format and version, its journal link and job text.
 * 0, or -1 with err. */
static int read_index_attrs(hid_t f, const char *path, ResultsIndex *ix, char *err, size_t errlen)
{
    char format[64], id[64];
    rw_attr_read_str(f, "format", format, sizeof format);
    rw_attr_read_str(f, "store_id", id, sizeof id);
    if (strcmp(format, RESULTS_FORMAT) != 0) {
        snprintf(err, errlen, "'%s' is not a copysweep results file", path);
        return -1;
    }
    long long version = -1, seq = -1;
    hid_t a = H5Aexists(f, "format_version") > 0 ? H5Aopen(f, "format_version", H5P_DEFAULT) : -1;
    if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &version) < 0) version = -1;
    if (a >= 0) H5Aclose(a);
    if (version != RESULTS_FORMAT_VERSION) {
        snprintf(err, errlen, "'%s' has results format version %lld and this copysweep writes version %d; it is "
                 "left as it is: finish it with the copysweep that wrote it", path, version, RESULTS_FORMAT_VERSION);
        return -1;
    }
    a = H5Aexists(f, "journal_seq") > 0 ? H5Aopen(f, "journal_seq", H5P_DEFAULT) : -1;
    if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &seq) < 0) seq = -1;
    if (a >= 0) H5Aclose(a);
    if (seq < 0 || sscanf(id, "%16" SCNx64, &ix->store_id) != 1) {
        snprintf(err, errlen, "'%s' lacks its store_id or journal_seq attribute: it is damaged", path);
        return -1;
    }
    ix->journal_seq = (uint64_t)seq;
    char job[1 << 16];
    rw_attr_read_str(f, "job", job, sizeof job);
    ix->job = strdup(job);
    return 0;
}

/* The key and status of every row of /trials of the file f at path. 0, or -1 with err. */
static int read_index_rows(hid_t f, const char *path, ResultsIndex *ix, char *err, size_t errlen)
{
    int rc = -1;
    hid_t d = H5Dopen2(f, "trials", H5P_DEFAULT), type = -1, str = -1;
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
    return rc;
}

/* results_read_index in this process: 0, or -1 with err */
static int read_index(const char *path, ResultsIndex *ix, char *err, size_t errlen)
{
    Quiet q = rw_hdf5_quiet();
    int rc = -1;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        snprintf(err, errlen, "'%s' exists and is not an HDF5 file that can be opened (a results file "
                 "is expected there)", path);
    else if (read_index_attrs(f, path, ix, err, errlen) == 0)
        rc = read_index_rows(f, path, ix, err, errlen);
    if (f >= 0) H5Fclose(f);
    rw_hdf5_restore(q);
    return rc;
}

int results_read_curves(const char *path, long n, const unsigned char *want,
                        void (*each)(void *arg, long trial, const CurveRow *rows, int n_rows), void *arg, char *err,
                        size_t errlen)
{
    Quiet q = rw_hdf5_quiet();
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
    rw_hdf5_restore(q);
    return rc;
}

/* The member `name` of /trials' n rows, as the memory type `type` of `size` bytes each, into out. 0, or
 * -1 (also where the file has another number of rows). */
static int read_member(const char *path, const char *name, long n, hid_t type, size_t size, void *out)
{
    Quiet q = rw_hdf5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = f < 0 ? -1 : H5Dopen2(f, "trials", H5P_DEFAULT);
    hid_t space = d < 0 ? -1 : H5Dget_space(d), mem = H5Tcreate(H5T_COMPOUND, size);
    hsize_t rows = 0;
    if (space >= 0) H5Sget_simple_extent_dims(space, &rows, NULL), H5Sclose(space);
    H5Tinsert(mem, name, 0, type); /* one column, matched by name */
    const int rc = d >= 0 && (long)rows == n && (!rows || H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0) ? 0 : -1;
    if (mem >= 0) H5Tclose(mem);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    rw_hdf5_restore(q);
    return rc;
}

int results_read_column(const char *path, const char *name, long n, double *out, char *err, size_t errlen)
{
    if (read_member(path, name, n, H5T_NATIVE_DOUBLE, sizeof *out, out) == 0) return 0;
    snprintf(err, errlen, "'%s': cannot read the column '%s' of its %ld trials", path, name, n);
    return -1;
}

int results_read_text(const char *path, const char *name, long n, size_t width, char *out, char *err, size_t errlen)
{
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, width);
    const int rc = read_member(path, name, n, str, width, out);
    H5Tclose(str);
    for (long i = 0; rc == 0 && i < n; i++) out[(size_t)i * width + width - 1] = '\0';
    if (rc != 0) snprintf(err, errlen, "'%s': cannot read the column '%s' of its %ld trials as text", path, name, n);
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

/* The forked child of results_read_index: reads the index and hands it back through fd (rc, the
 * reason, then the index, the job's length, keys, statuses and job text), and exits. */
static _Noreturn void send_index(int fd, const char *path, ResultsIndex *ix)
{
    char why[1024] = "";
    int rc = read_index(path, ix, why, sizeof why);
    size_t job = rc == 0 ? strlen(ix->job) : 0;
    int ok = cs_write_all(fd, &rc, sizeof rc) == 0 && cs_write_all(fd, why, sizeof why) == 0 &&
             (rc != 0 || (cs_write_all(fd, ix, sizeof *ix) == 0 && cs_write_all(fd, &job, sizeof job) == 0 &&
                          cs_write_all(fd, ix->key, (size_t)ix->n * sizeof *ix->key) == 0 &&
                          cs_write_all(fd, ix->status, (size_t)ix->n * sizeof *ix->status) == 0 &&
                          cs_write_all(fd, ix->job, job) == 0));
    _exit(ok ? 0 : 1);
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
        send_index(fds[1], path, ix);
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
