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

/* The entries of one section: [settings], or a [grid NAME]. Single values are entries of n = 1. */
typedef struct {
    char name[64];
    int line; /* of its header */
    int n;
    Axis entries[JOB_MAX_SETTINGS];
} Section;

typedef struct {
    Job *job;
    const char *text; /* what the reader hands out next */
    int line;         /* the line being parsed */
    int section_line; /* the line of the last [section] header */
    char *err;
    size_t errlen;
    int failed;
    Section settings;               /* [settings] */
    int n_grids;
    Section grids[JOB_MAX_GRIDS];   /* [grid NAME], in order */
} Parser;

static int fail(Parser *p, const char *fmt, const char *a, const char *b, const char *c);

/* A [grid NAME] header: a new grid section (libinih never calls the handler for an empty one). */
static void grid_header(Parser *p, const char *header)
{
    const char *close = strchr(header, ']');
    char name[256];
    int len = close ? (int)(close - header) - 5 : -1; /* after "[grid" */
    snprintf(name, sizeof name, "%.*s", len > 0 ? len : 0, header + 5);
    char *n = name;
    while (*n == ' ' || *n == '\t') n++;
    for (char *e = n + strlen(n); e > n && (e[-1] == ' ' || e[-1] == '\t'); *--e = '\0') {}
    if (!close || !*n || strlen(n) >= sizeof p->grids[0].name || (header[5] != ' ' && header[5] != '\t')) {
        fail(p, "cannot read this grid header (expected [grid NAME], NAME of 1 to 63 characters)%s%s%s", "", "", "");
        return;
    }
    for (int g = 0; g < p->n_grids; g++)
        if (strcmp(p->grids[g].name, n) == 0) {
            char first[32];
            snprintf(first, sizeof first, "%d", p->grids[g].line);
            fail(p, "grid '%s' given twice (first at line %s)%s", n, first, "");
            return;
        }
    if (p->n_grids == JOB_MAX_GRIDS) {
        fail(p, "more than %s grids%s%s", "32", "", "");
        return;
    }
    Section *sec = &p->grids[p->n_grids++];
    snprintf(sec->name, sizeof sec->name, "%.63s", n); /* its length was checked above */
    sec->line = p->line;
}

/* libinih's reader: one line per call, counting lines and registering [grid NAME] headers. */
static char *read_line(char *buf, int size, void *stream)
{
    Parser *p = stream;
    if (!*p->text || p->failed) return NULL;
    int n = 0;
    while (p->text[n] && p->text[n] != '\n' && n < size - 2) n++;
    if (p->text[n] == '\n') n++;
    memcpy(buf, p->text, (size_t)n);
    buf[n] = '\0';
    p->text += n;
    p->line++;
    const char *head = buf + strspn(buf, " \t");
    if (*head == '[') {
        p->section_line = p->line;
        if (strncmp(head, "[grid", 5) == 0 && head[5] != ']') grid_header(p, head);
    }
    return p->failed ? NULL : buf;
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

/* An entry of section sec: every value validated; a list of several values is an axis. */
static int setting(Parser *p, Section *sec, const char *name, const char *value)
{
    const SettingInfo *info = settings_find(name);
    if (!info) {
        char label[80];
        snprintf(label, sizeof label, sec == &p->settings ? "settings" : "grid %s", sec->name);
        return fail(p, "unknown key '%s' in [%s] (expected a setting of 'copysweep --help')%s", name, label, "");
    }
    if (info - settings_table >= JOB_MAX_SETTINGS) CS_FAIL("JOB_MAX_SETTINGS is too small");
    for (int i = 0; i < sec->n; i++)
        if (sec->entries[i].info == info) {
            char first[32];
            snprintf(first, sizeof first, "%d", sec->entries[i].line);
            return fail(p, "key '%s' given twice (first at line %s)%s", name, first, "");
        }
    Settings scratch;
    settings_default(&scratch);
    char *copy, err[256];
    Axis *e = &sec->entries[sec->n];
    if (info->type == SET_LIST || info->type == SET_TEXT) { /* one value, commas and all */
        if (settings_parse(&scratch, info, value, err, sizeof err) != 0)
            return fail(p, "key '%s': %s%s", name, err, "");
        e->info = info, e->n = 1, e->line = p->line;
        e->values = CS_ALLOC(sizeof *e->values);
        e->values[0] = strdup(value);
        sec->n++;
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
        if (settings_parse(&scratch, info, v, err, sizeof err) != 0) {
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
    if (ok) {
        e->info = info, e->n = n, e->line = p->line;
        e->values = CS_ALLOC((size_t)n * sizeof *e->values);
        for (int i = 0; i < n; i++) e->values[i] = strdup(values[i]);
        sec->n++;
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
    if (strcmp(section, "settings") == 0) return setting(p, &p->settings, name, trim(v));
    if (strncmp(section, "grid", 4) == 0 && (section[4] == ' ' || section[4] == '\t') && p->n_grids)
        return setting(p, &p->grids[p->n_grids - 1], name, trim(v));
    if (!*section) return fail(p, "key '%s' outside a section (expected it under [settings] or [sweep])%s%s", name, "", "");
    p->line = p->section_line; /* blame the header, not the first key under it */
    return fail(p, "unknown section [%s] (expected [settings], [grid NAME] or [sweep])%s%s", section, "", "");
}

const Grid *job_grid_of(const Job *job, long k, long *point)
{
    long at = job->points ? job->points[k] : k;
    for (int g = 0; g < job->n_grids; g++) {
        if (at < job->grids[g].n_points) {
            *point = at;
            return &job->grids[g];
        }
        at -= job->grids[g].n_points;
    }
    CS_FAIL("trial %ld is not in the job's grids", k);
}

static void grid_point(const Grid *g, long k, Settings *s)
{
    char err[256];
    *s = g->base;
    /* the last axis varies fastest */
    for (int a = g->n_axes - 1; a >= 0; a--) {
        const Axis *ax = &g->axes[a];
        if (settings_parse(s, ax->info, ax->values[k % ax->n], err, sizeof err) != 0)
            CS_FAIL("validated value '%s' of '%s' no longer parses", ax->values[k % ax->n], ax->info->key);
        k /= ax->n;
    }
}

void job_trial(const Job *job, long k, Settings *s)
{
    long point;
    const Grid *g = job_grid_of(job, k, &point);
    grid_point(g, point, s);
}

/* The entry of sec for info, or NULL. */
static const Axis *entry(const Section *sec, const SettingInfo *info)
{
    for (int i = 0; sec && i < sec->n; i++)
        if (sec->entries[i].info == info) return &sec->entries[i];
    return NULL;
}

/* Apply an entry to a grid: a single value to its base, a list as its next axis. */
static void apply(Grid *g, const Axis *e)
{
    char err[256];
    g->lines[e->info - settings_table] = e->line;
    if (e->n == 1) {
        if (settings_parse(&g->base, e->info, e->values[0], err, sizeof err) != 0)
            CS_FAIL("validated value '%s' of '%s' no longer parses", e->values[0], e->info->key);
        return;
    }
    if (g->n_axes == JOB_MAX_AXES) CS_FAIL("more than %d axes", JOB_MAX_AXES); /* ≤ JOB_MAX_SETTINGS keys */
    Axis *a = &g->axes[g->n_axes++];
    *a = *e;
    a->values = CS_ALLOC((size_t)e->n * sizeof *a->values);
    for (int i = 0; i < e->n; i++) a->values[i] = strdup(e->values[i]);
}

/* The grid of [settings] with own (a [grid NAME], or NULL) over it. 0, or -1 with err. */
static int build_grid(Job *job, Grid *g, const Section *common, const Section *own, char *err, size_t errlen)
{
    settings_default(&g->base);
    if (own) snprintf(g->name, sizeof g->name, "%s", own->name);
    for (int i = 0; i < common->n; i++)
        if (!entry(own, common->entries[i].info)) apply(g, &common->entries[i]);
    for (int i = 0; own && i < own->n; i++) apply(g, &own->entries[i]);
    g->n_points = 1;
    for (int a = 0; a < g->n_axes; a++) {
        if (g->n_points > 10000000 / g->axes[a].n) {
            snprintf(err, errlen, "%s:%d: the grid has more than 10^7 trials", job->path, g->axes[a].line);
            return -1;
        }
        g->n_points *= g->axes[a].n;
    }
    /* settings that depend on each other, at every grid point */
    for (long k = 0; k < g->n_points; k++) {
        Settings s;
        char why[256];
        grid_point(g, k, &s);
        const char *key = settings_validate(&s, why, sizeof why);
        if (key) {
            const int line = g->lines[settings_find(key) - settings_table];
            snprintf(err, errlen, "%s:%d: key '%s': %s%s%s", job->path, line ? line : own ? own->line : 1, key, why,
                     own ? " in grid " : "", own ? own->name : "");
            return -1;
        }
    }
    return 0;
}

/* A point's settings as key = value lines: equal texts are equal trials. */
static char *point_text(const Grid *g, long k, size_t *len)
{
    Settings s;
    char *text = NULL;
    FILE *mem = open_memstream(&text, len);
    if (!mem) CS_FAIL("open_memstream failed");
    grid_point(g, k, &s);
    settings_write_ini(&s, mem);
    fclose(mem);
    return text;
}

/* The trials of several grids: their points in order, each point that an earlier one repeats left
 * out (an open-addressing set of the points' hashes, texts compared on a match). */
static int dedup(Job *job, char *err, size_t errlen)
{
    long total = 0;
    for (int g = 0; g < job->n_grids; g++) {
        if (total > 10000000 - job->grids[g].n_points) {
            snprintf(err, errlen, "%s: the grids have more than 10^7 trials in all", job->path);
            return -1;
        }
        total += job->grids[g].n_points;
    }
    size_t cap = 16;
    while (cap < 2 * (size_t)total) cap *= 2;
    long *slot = CS_ALLOC(cap * sizeof *slot); /* a trial number, or -1 */
    uint64_t *hash = CS_ALLOC((size_t)total * sizeof *hash);
    for (size_t i = 0; i < cap; i++) slot[i] = -1;
    job->points = CS_ALLOC((size_t)total * sizeof *job->points);
    job->n_trials = 0;
    long at = 0;
    for (int g = 0; g < job->n_grids; g++)
        for (long k = 0; k < job->grids[g].n_points; k++, at++) {
            size_t len;
            char *text = point_text(&job->grids[g], k, &len);
            const uint64_t h = pack_hash_more(PACK_HASH_START, text, len);
            size_t i = (size_t)h & (cap - 1);
            int seen = 0;
            for (; slot[i] >= 0 && !seen; i = (i + 1) & (cap - 1)) {
                if (hash[slot[i]] != h) continue;
                long other_point;
                const Grid *og = job_grid_of(job, slot[i], &other_point);
                size_t olen;
                char *other = point_text(og, other_point, &olen);
                seen = olen == len && memcmp(other, text, len) == 0;
                free(other);
            }
            free(text);
            if (seen) continue;
            job->points[job->n_trials] = at;
            hash[job->n_trials] = h;
            slot[i] = job->n_trials++;
        }
    free(slot);
    free(hash);
    return 0;
}

static void section_free(Section *sec)
{
    for (int i = 0; i < sec->n; i++) {
        for (int v = 0; v < sec->entries[i].n; v++) free(sec->entries[i].values[v]);
        free(sec->entries[i].values);
    }
    sec->n = 0;
}

int job_parse(Job *job, const char *path, const char *text, char *err, size_t errlen)
{
    memset(job, 0, sizeof *job);
    snprintf(job->path, sizeof job->path, "%s", path);
    job->text = strdup(text);
    if (!job->text) CS_FAIL("out of memory");
    snprintf(job->output, sizeof job->output, "results.h5");
    job->checkpoint_minutes = 5;
    /* libinih's options: long lines, no continuation lines, ';' comments, stop at the first error */
    ini_use_stack = false, ini_allow_realloc = false, ini_max_line = MAX_LINE, ini_initial_alloc = MAX_LINE;
    ini_allow_multiline = false, ini_stop_on_first_error = true;
    Parser *p = CS_CALLOC(sizeof *p); /* large: the sections' entries */
    *p = (Parser){.job = job, .text = text, .err = err, .errlen = errlen};
    int line = ini_parse_stream(read_line, p, handler, p), rc = -1;
    if (line != 0 || p->failed) {
        if (!p->failed) {
            if (line < 0) CS_FAIL("libinih could not allocate its line buffer");
            snprintf(err, errlen, "%s:%d: cannot read this line (expected [section] or key = value)", path, line);
        }
        goto done;
    }
    job->n_grids = p->n_grids ? p->n_grids : 1;
    for (int g = 0; g < job->n_grids; g++)
        if (build_grid(job, &job->grids[g], &p->settings, p->n_grids ? &p->grids[g] : NULL, err, errlen) != 0)
            goto done;
    if (job->n_grids == 1)
        job->n_trials = job->grids[0].n_points;
    else if (dedup(job, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    section_free(&p->settings);
    for (int g = 0; g < p->n_grids; g++) section_free(&p->grids[g]);
    free(p);
    return rc;
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
    for (int g = 0; g < job->n_grids; g++)
        for (int a = 0; a < job->grids[g].n_axes; a++) {
            for (int i = 0; i < job->grids[g].axes[a].n; i++) free(job->grids[g].axes[a].values[i]);
            free(job->grids[g].axes[a].values);
        }
    free(job->points);
    free(job->text);
    memset(job, 0, sizeof *job);
}

void job_describe(const Job *job, long k, char *buf, size_t n)
{
    long rest;
    const Grid *g = job_grid_of(job, k, &rest);
    size_t len = job->n_grids > 1 ? (size_t)snprintf(buf, n, "grid=%s", g->name) : 0;
    if (!len) buf[0] = '\0';
    const char *vals[JOB_MAX_AXES];
    for (int a = g->n_axes - 1; a >= 0; a--) {
        vals[a] = g->axes[a].values[rest % g->axes[a].n];
        rest /= g->axes[a].n;
    }
    for (int a = 0; a < g->n_axes && len < n; a++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", len ? " " : "", g->axes[a].info->key, vals[a]);
}
