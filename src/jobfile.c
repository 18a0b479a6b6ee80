/* Job files: parsing with libinih, axes, the grid. */
#include "jobfile.h"

#include <errno.h>   /* errno */
#include <ini.h>     /* ini_parse_stream, ini_* options */
#include <stdbool.h> /* bool, for libinih's options */
#include <stdio.h>   /* FILE, open_memstream */
#include <stdlib.h>  /* free, strtod */
#include <string.h>  /* strcmp, strchr, strerror */

#include "check.h" /* CS_ALLOC, CS_FAIL */
#include "pack.h"  /* pack_hash */

#define MAX_LINE 65536 /* longest job-file line */

typedef struct {
    Job *job;
    const char *text; /* what the reader hands out next */
    int line;         /* the line being parsed */
    int section_line; /* the line of the last [section] header */
    char *err;
    size_t errlen;
    int failed;
} Parser;

/* libinih's reader: one line per call, counting lines. */
static char *read_line(char *buf, int size, void *stream)
{
    Parser *p = stream;
    if (!*p->text) return NULL;
    int n = 0;
    while (p->text[n] && p->text[n] != '\n' && n < size - 2) n++;
    if (p->text[n] == '\n') n++;
    memcpy(buf, p->text, (size_t)n);
    buf[n] = '\0';
    p->text += n;
    p->line++;
    if (buf[strspn(buf, " \t")] == '[') p->section_line = p->line;
    return buf;
}

static int fail(Parser *p, const char *fmt, const char *a, const char *b, const char *c)
{
    int n = snprintf(p->err, p->errlen, "%s:%d: ", p->job->path, p->line);
    if (n > 0 && (size_t)n < p->errlen) snprintf(p->err + n, p->errlen - (size_t)n, fmt, a, b, c);
    p->failed = 1;
    return 0; /* libinih: stop here */
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = '\0';
    return s;
}

static int sweep_option(Parser *p, const char *name, const char *value)
{
    Job *job = p->job;
    if (strcmp(name, "output") == 0) {
        if (!*value) return fail(p, "key 'output': empty value (expected a file name)%s%s%s", "", "", "");
        snprintf(job->output, sizeof job->output, "%s", value);
        return 1;
    }
    if (strcmp(name, "checkpoint-minutes") == 0) {
        char *end;
        double v = strtod(value, &end);
        if (end == value || *end || !(v > 0) || v > 1e6)
            return fail(p, "key 'checkpoint-minutes': '%s' is not allowed (expected a number > 0)%s%s", value, "", "");
        job->checkpoint_minutes = v;
        return 1;
    }
    return fail(p, "unknown key '%s' in [sweep] (expected output or checkpoint-minutes)%s%s", name, "", "");
}

static int setting(Parser *p, const char *name, const char *value)
{
    Job *job = p->job;
    const SettingInfo *info = settings_find(name);
    if (!info)
        return fail(p, "unknown key '%s' in [settings] (expected a setting of 'copysweep --help')%s%s", name, "", "");
    int index = (int)(info - settings_table);
    if (index >= (int)(sizeof job->lines / sizeof job->lines[0])) CS_FAIL("Job.lines is too short");
    if (job->lines[index]) {
        char first[32];
        snprintf(first, sizeof first, "%d", job->lines[index]);
        return fail(p, "key '%s' given twice (first at line %s)%s", name, first, "");
    }
    job->lines[index] = p->line;
    char *copy, err[256];
    if (info->type == SET_LIST || info->type == SET_TEXT) { /* one value, commas and all */
        if (settings_parse(&job->base, info, value, err, sizeof err) != 0)
            return fail(p, "key '%s': %s%s", name, err, "");
        return 1;
    }
    /* split the list and validate every value */
    copy = strdup(value);
    if (!copy) CS_FAIL("out of memory");
    char *values[4096];
    int n = 0, ok = 1;
    for (char *tok = copy, *comma;; tok = comma + 1) {
        comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        char *v = trim(tok);
        if (!*v) {
            ok = fail(p, "key '%s': empty value%s (expected %s)", name, n || comma ? " in the list" : "",
                      info->type == SET_CHOICE ? "a name" : "a number");
            break;
        }
        if (settings_parse(&job->base, info, v, err, sizeof err) != 0) {
            ok = fail(p, "key '%s': %s%s", name, err, "");
            break;
        }
        for (int i = 0; i < n && ok; i++)
            if (strcmp(values[i], v) == 0) ok = fail(p, "key '%s': value '%s' listed twice%s", name, v, "");
        if (!ok) break;
        if (n == (int)(sizeof values / sizeof values[0])) {
            ok = fail(p, "key '%s': more than 4096 values%s%s", name, "", "");
            break;
        }
        values[n++] = v;
        if (!comma) break;
    }
    if (ok && n > 1) {
        if (job->n_axes == JOB_MAX_AXES) {
            ok = fail(p, "key '%s': more than 32 axes%s%s", name, "", "");
        } else {
            Axis *a = &job->axes[job->n_axes++];
            a->info = info, a->n = n, a->line = p->line;
            a->values = CS_ALLOC((size_t)n * sizeof *a->values);
            for (int i = 0; i < n; i++) a->values[i] = strdup(values[i]);
        }
    }
    free(copy);
    return ok;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    Parser *p = user;
    char v[MAX_LINE];
    snprintf(v, sizeof v, "%s", value);
    if (strcmp(section, "sweep") == 0) return sweep_option(p, name, trim(v));
    if (strcmp(section, "settings") == 0) return setting(p, name, trim(v));
    if (!*section) return fail(p, "key '%s' outside a section (expected it under [settings] or [sweep])%s%s", name, "", "");
    p->line = p->section_line; /* blame the header, not the first key under it */
    return fail(p, "unknown section [%s] (expected [settings] or [sweep])%s%s", section, "", "");
}

void job_trial(const Job *job, long k, Settings *s)
{
    char err[256];
    *s = job->base;
    /* the last axis varies fastest */
    for (int a = job->n_axes - 1; a >= 0; a--) {
        const Axis *ax = &job->axes[a];
        if (settings_parse(s, ax->info, ax->values[k % ax->n], err, sizeof err) != 0)
            CS_FAIL("validated value '%s' of '%s' no longer parses", ax->values[k % ax->n], ax->info->key);
        k /= ax->n;
    }
}

int job_parse(Job *job, const char *path, const char *text, char *err, size_t errlen)
{
    memset(job, 0, sizeof *job);
    snprintf(job->path, sizeof job->path, "%s", path);
    job->text = strdup(text);
    if (!job->text) CS_FAIL("out of memory");
    snprintf(job->output, sizeof job->output, "results.h5");
    job->checkpoint_minutes = 5;
    settings_default(&job->base);
    /* libinih's options: long lines, no continuation lines, ';' comments, stop at the first error */
    ini_use_stack = false, ini_allow_realloc = false, ini_max_line = MAX_LINE, ini_initial_alloc = MAX_LINE;
    ini_allow_multiline = false, ini_stop_on_first_error = true;
    Parser p = {.job = job, .text = text, .err = err, .errlen = errlen};
    int line = ini_parse_stream(read_line, &p, handler, &p);
    if (line != 0) {
        if (!p.failed) {
            if (line < 0) CS_FAIL("libinih could not allocate its line buffer");
            snprintf(err, errlen, "%s:%d: cannot read this line (expected [section] or key = value)", path, line);
        }
        return -1;
    }
    job->n_trials = 1;
    for (int a = 0; a < job->n_axes; a++) {
        if (job->n_trials > 10000000 / job->axes[a].n) {
            snprintf(err, errlen, "%s:%d: the grid has more than 10^7 trials", path, job->axes[a].line);
            return -1;
        }
        job->n_trials *= job->axes[a].n;
    }
    /* settings that depend on each other, at every grid point */
    for (long k = 0; k < job->n_trials; k++) {
        Settings s;
        char why[256];
        job_trial(job, k, &s);
        const char *key = settings_validate(&s, why, sizeof why);
        if (key) {
            int line = job->lines[settings_find(key) - settings_table];
            snprintf(err, errlen, "%s:%d: key '%s': %s", path, line, key, why);
            return -1;
        }
    }
    return 0;
}

int job_load(Job *job, const char *path, char *err, size_t errlen)
{
    memset(job, 0, sizeof *job);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read job file '%s': %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *t = realloc(text, cap);
            if (!t) CS_FAIL("out of memory reading '%s'", path);
            text = t;
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || (text && memchr(text, '\0', len))) {
        snprintf(err, errlen, "cannot read job file '%s': %s", path, bad ? "read error" : "not a text file");
        free(text);
        return -1;
    }
    if (!text) text = calloc(1, 1);
    if (!text) CS_FAIL("out of memory");
    text[len] = '\0';
    int rc = job_parse(job, path, text, err, errlen);
    free(text);
    return rc;
}

void job_free(Job *job)
{
    for (int a = 0; a < job->n_axes; a++) {
        for (int i = 0; i < job->axes[a].n; i++) free(job->axes[a].values[i]);
        free(job->axes[a].values);
    }
    free(job->text);
    memset(job, 0, sizeof *job);
}

uint64_t job_grid_hash(const Job *job)
{
    /* the hash of every trial's settings as key = value lines, in order, one trial at a time */
    uint64_t h = PACK_HASH_START;
    for (long k = 0; k < job->n_trials; k++) {
        Settings s;
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem) CS_FAIL("open_memstream failed");
        job_trial(job, k, &s);
        settings_write_ini(&s, mem);
        fclose(mem);
        h = pack_hash_more(h, text, len);
        free(text);
    }
    return h;
}
