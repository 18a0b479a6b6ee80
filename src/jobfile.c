/* Job files: parsing with libinih, axes, zips, [when] sections, [search] samples, the grid. */
#include "jobfile.h"

#include <errno.h>   /* errno */
#include <ini.h>     /* ini_parse_stream, ini_* options */
#include <math.h>    /* floor, fmin, fmax */
#include <stdbool.h> /* bool, for libinih's options */
#include <stdarg.h> /* va_list */
#include <stdio.h>   /* FILE, open_memstream */
#include <stdlib.h>  /* free, strtod */
#include <string.h>  /* strcmp, strchr, strerror */

#include "check.h" /* CS_ALLOC, CS_FAIL */
#include "detmath.h" /* dm_log, dm_exp */
#include "pack.h"  /* pack_hash */
#include "rng.h"   /* Rng, RNG_SEARCH */

#define MAX_LINE 65536 /* longest job-file line */
#define MAX_ZIPS 16    /* zip lines per section */

typedef struct {
    int n, line;
    const SettingInfo *members[JOB_MAX_AXES];
} Zip;

/* The entries of one section: [settings], or a [grid NAME]. Single values are entries of n = 1. */
typedef struct {
    char name[64];
    int line; /* of its header */
    int n;
    Axis entries[JOB_MAX_SETTINGS];
    int n_zips;
    Zip zips[MAX_ZIPS];
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
    int search_line, halving_line;  /* of the [search] and [halving] headers, 0 if none */
    int samples_line;
    int metric_line;
    int option_lines[5];            /* samples, sampler-seed, rungs, reduction, metric: where given */
} Parser;

static int fail(Parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A value validated before: it parses. */
static void parse_or_die(Settings *s, const SettingInfo *info, const char *text)
{
    char err[256];
    if (settings_parse(s, info, text, err, sizeof err) != 0)
        CS_FAIL("validated value '%s' of '%s' no longer parses", text, info->key);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = '\0';
    return s;
}

/* The text of a [WORD NAME] header between WORD and ']' (trimmed) into buf; 0, or -1 if malformed. */
static int header_name(const char *header, size_t word, char *buf, size_t n)
{
    const char *close = strchr(header, ']');
    if (!close || (header[word] != ' ' && header[word] != '\t')) return -1;
    char name[512];
    snprintf(name, sizeof name, "%.*s", (int)(close - header - (long)word), header + word);
    const char *t = trim(name);
    if (!*t || strlen(t) >= n) return -1;
    snprintf(buf, n, "%s", t);
    return 0;
}

/* A [grid NAME] header: a new grid section (libinih never calls the handler for an empty one). */
static void grid_header(Parser *p, const char *header)
{
    char n[64];
    if (header_name(header, 5, n, sizeof n) != 0) {
        fail(p, "cannot read this grid header (expected [grid NAME], NAME of 1 to 63 characters)");
        return;
    }
    for (int g = 0; g < p->n_grids; g++)
        if (strcmp(p->grids[g].name, n) == 0) {
            fail(p, "grid '%s' given twice (first at line %d)", n, p->grids[g].line);
            return;
        }
    if (p->n_grids == JOB_MAX_GRIDS) {
        fail(p, "more than %d grids", JOB_MAX_GRIDS);
        return;
    }
    Section *sec = &p->grids[p->n_grids++];
    snprintf(sec->name, sizeof sec->name, "%s", n);
    sec->line = p->line;
}

/* A [when KEY = VALUE] header: a condition, checked here as far as one line allows. */
static void when_header(Parser *p, const char *header)
{
    char cond[256], err[256];
    char *eq;
    if (header_name(header, 5, cond, sizeof cond) != 0 || !(eq = strchr(cond, '='))) {
        fail(p, "cannot read this header (expected [when KEY = VALUE])");
        return;
    }
    *eq = '\0';
    const char *key = trim(cond), *value = trim(eq + 1);
    const SettingInfo *info = settings_find(key);
    if (!info || !*value) {
        if (info)
            fail(p, "[when %s = ]: no value (expected [when KEY = VALUE])", key);
        else
            fail(p, "[when %s = ...]: unknown setting '%s' (expected an axis of the job)", key, key);
        return;
    }
    Settings scratch;
    settings_default(&scratch);
    if (settings_parse(&scratch, info, value, err, sizeof err) != 0) {
        fail(p, "[when %s = ...]: %s", key, err);
        return;
    }
    Job *job = p->job;
    if (job->n_whens == JOB_MAX_WHENS) {
        fail(p, "more than %d [when] sections", JOB_MAX_WHENS);
        return;
    }
    When *w = &job->whens[job->n_whens++];
    w->key = info, w->line = p->line, w->match = scratch;
    settings_default(&w->set);
    settings_format(&scratch, info, w->value, sizeof w->value);
}

/* libinih's reader: one line per call, counting lines and registering [grid] and [when] headers. */
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
        if (strncmp(head, "[when", 5) == 0 && head[5] != ']') when_header(p, head);
        if (strncmp(head, "[search]", 8) == 0) p->search_line = p->search_line ? p->search_line : p->line;
        if (strncmp(head, "[halving]", 9) == 0) p->halving_line = p->halving_line ? p->halving_line : p->line;
    }
    return p->failed ? NULL : buf;
}

/* The error of the line being read, "PATH:LINE: " and the message; returns 0 (libinih: stop here). */
static int fail(Parser *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "%s:%d: ", p->job->path, p->line);
    if (n > 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    p->failed = 1;
    return 0;
}

static int sweep_option(Parser *p, const char *name, const char *value)
{
    Job *job = p->job;
    if (strcmp(name, "output") == 0) {
        if (!*value) return fail(p, "key 'output': empty value (expected a file name)");
        snprintf(job->output, sizeof job->output, "%s", value);
        return 1;
    }
    if (strcmp(name, "checkpoint-minutes") == 0) {
        char *end;
        double v = strtod(value, &end);
        if (end == value || *end || !(v > 0) || v > 1e6)
            return fail(p, "key 'checkpoint-minutes': '%s' is not allowed (expected a number > 0)", value);
        job->checkpoint_minutes = v;
        return 1;
    }
    return fail(p, "unknown key '%s' in [sweep] (expected output or checkpoint-minutes)", name);
}

/* Split a comma-separated list in place into at most max trimmed items; -1 on an empty item. */
static int split_list(char *text, char **items, int max)
{
    int n = 0;
    for (char *tok = text, *comma;; tok = comma + 1) {
        comma = strchr(tok, ',');
        if (comma) *comma = '\0';
        char *v = trim(tok);
        if (!*v || n == max) return -1;
        items[n++] = v;
        if (!comma) return n;
    }
}

/* `zip = A, B, ...` in sec: settings whose lists vary together. */
static int zip_line(Parser *p, Section *sec, char *value)
{
    char *names[JOB_MAX_AXES], whole[256];
    snprintf(whole, sizeof whole, "%s", value);
    int n = split_list(value, names, JOB_MAX_AXES);
    if (n < 2) return fail(p, "key 'zip': '%s' is not a list of settings (expected zip = KEY, KEY, ...)", whole);
    if (sec->n_zips == MAX_ZIPS) return fail(p, "more than %d zip lines in one section", MAX_ZIPS);
    Zip *z = &sec->zips[sec->n_zips];
    *z = (Zip){.n = n, .line = p->line};
    for (int i = 0; i < n; i++) {
        z->members[i] = settings_find(names[i]);
        if (!z->members[i]) return fail(p, "key 'zip': unknown setting '%s' (expected settings that are axes)", names[i]);
        for (int j = 0; j < i; j++)
            if (z->members[j] == z->members[i]) return fail(p, "key 'zip': '%s' named twice", names[i]);
    }
    sec->n_zips++;
    return 1;
}

/* The values of a setting's entry: every one validated; a list of several values is an axis. */
static int setting_values(Parser *p, Axis *e, const SettingInfo *info, const char *value, int allow_list)
{
    const char *name = info->key;
    Settings scratch;
    settings_default(&scratch);
    char err[256];
    if (info->type == SET_LIST || info->type == SET_TEXT) { /* one value, commas and all */
        if (settings_parse(&scratch, info, value, err, sizeof err) != 0)
            return fail(p, "key '%s': %s", name, err);
        *e = (Axis){.info = info, .n = 1, .line = p->line, .lead = -1, .values = CS_ALLOC(sizeof *e->values)};
        e->values[0] = strdup(value);
        return 1;
    }
    char *copy = strdup(value);
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
            ok = fail(p, "key '%s': %s", name, err);
            break;
        }
        for (int i = 0; i < n && ok; i++)
            if (strcmp(values[i], v) == 0) ok = fail(p, "key '%s': value '%s' listed twice", name, v);
        if (!ok) break;
        if (n == (int)(sizeof values / sizeof values[0])) {
            ok = fail(p, "key '%s': more than 4096 values", name);
            break;
        }
        values[n++] = v;
        if (!comma) break;
    }
    if (ok && n > 1 && !allow_list)
        ok = fail(p, "key '%s': a list in a [when] section (expected one value: [when] sets single values)", name);
    if (ok) {
        *e = (Axis){.info = info, .n = n, .line = p->line, .lead = -1, .values = CS_ALLOC((size_t)n * sizeof *e->values)};
        for (int i = 0; i < n; i++) e->values[i] = strdup(values[i]);
    }
    free(copy);
    return ok;
}

/* An entry of section sec ([settings] or a grid). */
static int setting(Parser *p, Section *sec, const char *name, char *value)
{
    char label[80];
    snprintf(label, sizeof label, sec == &p->settings ? "settings" : "grid %s", sec->name);
    if (strcmp(name, "zip") == 0) return zip_line(p, sec, value);
    const SettingInfo *info = settings_find(name);
    if (!info) return fail(p, "unknown key '%s' in [%s] (expected a setting of 'copysweep --help', or zip)", name, label);
    if (info - settings_table >= JOB_MAX_SETTINGS) CS_FAIL("JOB_MAX_SETTINGS is too small");
    for (int i = 0; i < sec->n; i++)
        if (sec->entries[i].info == info)
            return fail(p, "key '%s' given twice (first at line %d)", name, sec->entries[i].line);
    if (!setting_values(p, &sec->entries[sec->n], info, value, 1)) return 0;
    sec->n++;
    return 1;
}

/* An entry of the last [when] section: one value. */
static int when_setting(Parser *p, const char *name, char *value)
{
    When *w = &p->job->whens[p->job->n_whens - 1];
    const SettingInfo *info = settings_find(name);
    if (!info) return fail(p, "unknown key '%s' in [when %s = ...] (expected a setting of 'copysweep --help')", name, w->key->key);
    if (info == w->key) return fail(p, "key '%s': [when %s = ...] cannot set the setting it tests", name, name);
    for (int i = 0; i < w->n; i++)
        if (w->infos[i] == info)
            return fail(p, "key '%s' given twice (first at line %d)", name, w->lines[i]);
    Axis e;
    if (!setting_values(p, &e, info, value, 0)) return 0;
    w->infos[w->n] = info, w->values[w->n] = e.values[0], w->lines[w->n] = p->line;
    parse_or_die(&w->set, info, e.values[0]);
    w->n++;
    free(e.values);
    return 1;
}

/* A number of [search] or [halving]: 0, or -1 if text is not one in [lo, hi]. */
static int number(const char *text, double lo, double hi, int integer, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    return end == text || *end || errno || !(*v >= lo && *v <= hi) || (integer && *v != floor(*v)) ? -1 : 0;
}

/* `KEY = uniform A B`, `log-uniform A B` or `choice V1, V2, ...` in [search]. */
static int search_key(Parser *p, const SettingInfo *info, char *value)
{
    Search *se = &p->job->search;
    const char *name = info->key;
    if (info->type == SET_LIST || info->type == SET_TEXT)
        return fail(p, "key '%s' cannot be searched (expected a setting of one number or name)", name);
    for (int i = 0; i < se->n_keys; i++)
        if (se->keys[i].info == info)
            return fail(p, "key '%s' given twice (first at line %d)", name, se->keys[i].line);
    if (se->n_keys == JOB_MAX_AXES) return fail(p, "more than %d searched settings", JOB_MAX_AXES);
    SearchKey *k = &se->keys[se->n_keys];
    *k = (SearchKey){.info = info, .line = p->line};
    char *rest = value + strcspn(value, " \t");
    if (*rest) *rest++ = '\0';
    rest = trim(rest);
    Settings scratch;
    settings_default(&scratch);
    char err[256];
    if (strcmp(value, "choice") == 0) {
        Axis e;
        if (!*rest) return fail(p, "key '%s': choice of nothing (expected choice V1, V2, ...)", name);
        if (!setting_values(p, &e, info, rest, 1)) return 0;
        k->dist = DIST_CHOICE, k->n_choices = e.n, k->choices = e.values;
        se->n_keys++;
        return 1;
    }
    const int log_scale = strcmp(value, "log-uniform") == 0;
    if (!log_scale && strcmp(value, "uniform") != 0)
        return fail(p, "key '%s': unknown distribution '%s' (expected uniform A B, log-uniform A B or choice V1, V2, ...)",
                    name, value);
    if (info->type == SET_CHOICE)
        return fail(p, "key '%s': %s of names (expected choice V1, V2, ... for this setting)", name, value);
    char *b = rest + strcspn(rest, " \t");
    if (*b) *b++ = '\0';
    b = trim(b);
    double lo, hi;
    if (!*rest || !*b || strpbrk(b, " \t") || number(rest, -1e300, 1e300, 0, &lo) != 0 || number(b, -1e300, 1e300, 0, &hi) != 0)
        return fail(p, "key '%s': '%s' is not a range of numbers (expected %s A B)", name, rest, value);
    if (settings_parse(&scratch, info, rest, err, sizeof err) != 0 || settings_parse(&scratch, info, b, err, sizeof err) != 0)
        return fail(p, "key '%s': %s", name, err);
    k->lo = lo, k->hi = hi;
    if (!(k->lo < k->hi)) return fail(p, "key '%s': empty or inverted range %s .. %s (expected A < B)", name, rest, b);
    if (log_scale && !(k->lo > 0))
        return fail(p, "key '%s': log-uniform range from %s (expected A > 0: the range of a logarithm)", name, rest);
    k->dist = log_scale ? DIST_LOG_UNIFORM : DIST_UNIFORM;
    se->n_keys++;
    return 1;
}

/* A key of [search] or [halving] that may be given once: 1, or 0 (failed) if it was given before. */
static int once(Parser *p, const char *name)
{
    static const char *const keys[] = {"samples", "sampler-seed", "rungs", "reduction", "metric"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(name, keys[i]) != 0) continue;
        if (p->option_lines[i])
            return fail(p, "key '%s' given twice (first at line %d)", name, p->option_lines[i]);
        p->option_lines[i] = p->line;
    }
    return 1;
}

static int search_option(Parser *p, const char *name, char *value)
{
    if (!once(p, name)) return 0;
    Search *se = &p->job->search;
    double v;
    if (strcmp(name, "samples") == 0) {
        if (number(value, 1, 100000, 1, &v) != 0)
            return fail(p, "key 'samples': '%s' is not allowed (expected an integer from 1 to 100000)", value);
        se->samples = (int)v, p->samples_line = p->line;
        return 1;
    }
    if (strcmp(name, "sampler-seed") == 0) {
        if (number(value, 0, 9007199254740992.0, 1, &v) != 0)
            return fail(p, "key 'sampler-seed': '%s' is not allowed (expected an integer ≥ 0)", value);
        se->seed = (uint64_t)v;
        return 1;
    }
    const SettingInfo *info = settings_find(name);
    if (!info) return fail(p, "unknown key '%s' in [search] (expected samples, sampler-seed or a setting)", name);
    return search_key(p, info, value);
}

static int halving_option(Parser *p, const char *name, char *value)
{
    if (!once(p, name)) return 0;
    HalvingSpec *h = &p->job->halving;
    double v;
    if (strcmp(name, "rungs") == 0) {
        char *items[JOB_MAX_RUNGS + 1], whole[256];
        snprintf(whole, sizeof whole, "%s", value);
        int n = split_list(value, items, JOB_MAX_RUNGS + 1);
        if (n < 1 || n > JOB_MAX_RUNGS)
            return fail(p, "key 'rungs': '%s' is not a list of 1 to 16 epochs (expected rungs = E1, E2, ...)", whole);
        for (int i = 0; i < n; i++) {
            if (number(items[i], 1, 1000000, 1, &v) != 0)
                return fail(p, "key 'rungs': '%s' is not an epoch (expected an integer ≥ 1)", items[i]);
            h->rungs[i] = (int)v;
            if (i && h->rungs[i] <= h->rungs[i - 1])
                return fail(p, "key 'rungs': %s after %s (expected increasing epochs)", items[i], items[i - 1]);
        }
        h->n_rungs = n, h->rungs_line = p->line;
        return 1;
    }
    if (strcmp(name, "reduction") == 0) {
        if (number(value, 1, 1e6, 0, &v) != 0 || !(v > 1))
            return fail(p, "key 'reduction': '%s' is not allowed (expected a number > 1, such as 3)", value);
        h->reduction = v;
        return 1;
    }
    if (strcmp(name, "metric") == 0) {
        if (strcmp(value, "val-bits") == 0) h->metric = METRIC_VAL_BITS;
        else if (strcmp(value, "val-acc") == 0) h->metric = METRIC_VAL_ACC;
        else return fail(p, "key 'metric': '%s' is not allowed (expected val-bits or val-acc)", value);
        p->metric_line = p->line;
        return 1;
    }
    return fail(p, "unknown key '%s' in [halving] (expected rungs, reduction or metric)", name);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    Parser *p = user;
    char v[MAX_LINE];
    snprintf(v, sizeof v, "%s", value);
    if (strcmp(section, "sweep") == 0) return sweep_option(p, name, trim(v));
    if (strcmp(section, "settings") == 0) return setting(p, &p->settings, name, trim(v));
    if (strcmp(section, "search") == 0) return search_option(p, name, trim(v));
    if (strcmp(section, "halving") == 0) return halving_option(p, name, trim(v));
    if (strncmp(section, "grid", 4) == 0 && (section[4] == ' ' || section[4] == '\t') && p->n_grids)
        return setting(p, &p->grids[p->n_grids - 1], name, trim(v));
    if (strncmp(section, "when", 4) == 0 && (section[4] == ' ' || section[4] == '\t') && p->job->n_whens)
        return when_setting(p, name, trim(v));
    if (!*section) return fail(p, "key '%s' outside a section (expected it under [settings] or [sweep])", name);
    p->line = p->section_line; /* blame the header, not the first key under it */
    return fail(p, "unknown section [%s] (expected [settings], [grid NAME], [when KEY = VALUE], [search], [halving] "
                "or [sweep])", section);
}

/* ---- the grids ------------------------------------------------------------------------------- */

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

/* The index into each axis's values at point k (zipped axes share their lead's). */
static void point_index(const Grid *g, long k, int *idx)
{
    for (int a = g->n_axes - 1; a >= 0; a--) /* the last dimension varies fastest */
        if (g->axes[a].lead < 0) {
            idx[a] = (int)(k % g->axes[a].n);
            k /= g->axes[a].n;
        }
    for (int a = 0; a < g->n_axes; a++)
        if (g->axes[a].lead >= 0) idx[a] = idx[g->axes[a].lead];
}

/* Point k's settings before any [when]: the base, the axes, the sample. */
static void point_axes(const Job *job, const Grid *g, long k, Settings *s)
{
    int idx[JOB_MAX_AXES];
    point_index(g, k, idx);
    *s = g->base;
    for (int a = 0; a < g->n_axes; a++) {
        const Axis *ax = &g->axes[a];
        if (ax->info) {
            settings_copy(s, &ax->typed[idx[a]], ax->info);
            continue;
        }
        const Search *se = &job->search;
        for (int j = 0; j < se->n_keys; j++) settings_copy(s, &se->typed[idx[a]], se->keys[j].info);
    }
}

/* The [when] sections whose condition s (before any of them) meets: their settings, in file order.
 * matched[w] (if not NULL) says which applied. */
static void apply_whens(const Job *job, Settings *s, unsigned char *matched)
{
    const Settings before = *s;
    for (int w = 0; w < job->n_whens; w++) {
        const When *wh = &job->whens[w];
        const int match = settings_same(&before, &wh->match, wh->key);
        if (matched) matched[w] = (unsigned char)match;
        for (int i = 0; match && i < wh->n; i++) settings_copy(s, &wh->set, wh->infos[i]);
    }
}

static void grid_point(const Job *job, const Grid *g, long k, Settings *s)
{
    point_axes(job, g, k, s);
    apply_whens(job, s, NULL);
}

void job_trial(const Job *job, long k, Settings *s)
{
    long point;
    const Grid *g = job_grid_of(job, k, &point);
    grid_point(job, g, point, s);
}

int job_sample(const Job *job, long k)
{
    long point;
    const Grid *g = job_grid_of(job, k, &point);
    return g->searched ? (int)(point % job->search.samples) : -1;
}

uint64_t job_group(const Job *job, long k)
{
    long point;
    const Grid *g = job_grid_of(job, k, &point);
    Settings s; /* the same point at sample 0: what [when] sets by a searched setting is the sample's too */
    grid_point(job, g, g->searched ? point - point % job->search.samples : point, &s);
    return settings_key(&s);
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
    g->lines[e->info - settings_table] = e->line;
    if (e->n == 1) {
        parse_or_die(&g->base, e->info, e->values[0]);
        return;
    }
    if (g->n_axes == JOB_MAX_AXES) CS_FAIL("more than %d axes", JOB_MAX_AXES); /* ≤ JOB_MAX_SETTINGS keys */
    Axis *a = &g->axes[g->n_axes++];
    *a = *e;
    a->lead = -1;
    a->values = CS_ALLOC((size_t)e->n * sizeof *a->values);
    a->typed = CS_ALLOC((size_t)e->n * sizeof *a->typed);
    settings_default(&a->typed[0]);
    for (int i = 0; i < e->n; i++) {
        a->values[i] = strdup(e->values[i]);
        if (!a->values[i]) CS_FAIL("out of memory");
        a->typed[i] = a->typed[0];
        parse_or_die(&a->typed[i], e->info, e->values[i]); /* once, here: a point copies the parsed value */
    }
}

static int axis_of(const Grid *g, const SettingInfo *info)
{
    for (int a = 0; a < g->n_axes; a++)
        if (g->axes[a].info == info) return a;
    return -1;
}

static int root(const Grid *g, int a)
{
    while (g->axes[a].lead >= 0) a = g->axes[a].lead;
    return a;
}

/* The zip lines of a section, applied to grid g (own: the grid's section, whose single values take
 * their settings out of a [settings] zip). 0, or -1 with err. */
static int apply_zips(Job *job, Grid *g, const Section *sec, const Section *own, char *err, size_t errlen)
{
    for (int z = 0; z < sec->n_zips; z++) {
        const Zip *zip = &sec->zips[z];
        int first = -1;
        for (int i = 0; i < zip->n; i++) {
            const int a = axis_of(g, zip->members[i]);
            if (a < 0) {
                const Axis *mine = entry(own, zip->members[i]);
                if (sec != own && mine && mine->n == 1) continue; /* the grid fixes a [settings] zip's member */
                snprintf(err, errlen, "%s:%d: key 'zip': '%s' is not an axis%s%s (expected a setting with a list of values)",
                         job->path, zip->line, zip->members[i]->key, own ? " in grid " : "", own ? own->name : "");
                return -1;
            }
            if (first < 0) {
                first = a;
                continue;
            }
            int ra = root(g, first), rb = root(g, a);
            if (ra == rb) continue;
            if (g->axes[ra].n != g->axes[rb].n) {
                snprintf(err, errlen, "%s:%d: key 'zip': zipped axes '%s' (%d values, line %d) and '%s' (%d values, line %d) "
                         "differ in length (expected lists of the same length)", job->path, zip->line,
                         g->axes[ra].info->key, g->axes[ra].n, g->axes[ra].line, g->axes[rb].info->key, g->axes[rb].n,
                         g->axes[rb].line);
                return -1;
            }
            if (ra < rb) g->axes[rb].lead = ra;
            else g->axes[ra].lead = rb;
        }
    }
    return 0;
}

/* Whether point settings vary by info in grid g: an axis, or a searched setting. */
static int varies(const Job *job, const Grid *g, const SettingInfo *info)
{
    if (axis_of(g, info) >= 0) return 1;
    for (int j = 0; g->searched && j < job->search.n_keys; j++)
        if (job->search.keys[j].info == info) return 1;
    return 0;
}

/* The grid of [settings] with own (a [grid NAME], or NULL) over it; hits[w] counts the points where
 * [when] w applies. 0, or -1 with err. */
static int build_grid(Job *job, Grid *g, const Section *common, const Section *own, long *hits, char *err,
                      size_t errlen)
{
    settings_default(&g->base);
    if (own) snprintf(g->name, sizeof g->name, "%s", own->name);
    for (int i = 0; i < common->n; i++)
        if (!entry(own, common->entries[i].info)) apply(g, &common->entries[i]);
    for (int i = 0; own && i < own->n; i++) apply(g, &own->entries[i]);
    if (apply_zips(job, g, common, own, err, errlen) != 0 || apply_zips(job, g, own ? own : common, own, err, errlen) != 0)
        return -1;
    for (int a = 0; a < g->n_axes; a++)
        if (g->axes[a].lead >= 0) g->axes[a].lead = root(g, a);
    g->searched = job->search.samples > 0;
    for (int j = 0; j < job->search.n_keys; j++) g->searched &= !entry(own, job->search.keys[j].info);
    if (g->searched) {
        if (g->n_axes == JOB_MAX_AXES) CS_FAIL("more than %d axes", JOB_MAX_AXES);
        g->axes[g->n_axes++] = (Axis){.info = NULL, .n = job->search.samples, .line = job->search.line, .lead = -1};
    }
    g->n_points = 1;
    for (int a = 0; a < g->n_axes; a++) {
        if (g->axes[a].lead >= 0) continue;
        if (g->n_points > 10000000 / g->axes[a].n) {
            snprintf(err, errlen, "%s:%d: the grid has more than 10^7 trials", job->path, g->axes[a].line);
            return -1;
        }
        g->n_points *= g->axes[a].n;
    }
    /* [when] sections that would set an axis, and settings that depend on each other, at every point */
    for (long k = 0; k < g->n_points; k++) {
        Settings s;
        unsigned char matched[JOB_MAX_WHENS];
        char why[256];
        point_axes(job, g, k, &s);
        apply_whens(job, &s, matched);
        int line = 0;
        for (int w = 0; w < job->n_whens; w++) {
            if (!matched[w]) continue;
            hits[w]++;
            for (int i = 0; i < job->whens[w].n; i++)
                if (varies(job, g, job->whens[w].infos[i])) {
                    snprintf(err, errlen, "%s:%d: key '%s': [when %s = %s] sets a setting that is %s%s%s (expected "
                             "single values of other settings)", job->path, job->whens[w].lines[i], job->whens[w].infos[i]->key,
                             job->whens[w].key->key, job->whens[w].value,
                             axis_of(g, job->whens[w].infos[i]) >= 0 ? "an axis" : "searched",
                             own ? " in grid " : "", own ? own->name : "");
                    return -1;
                }
        }
        const char *key = settings_validate(&s, why, sizeof why);
        if (key) {
            const SettingInfo *info = settings_find(key);
            line = g->lines[info - settings_table];
            for (int j = 0; g->searched && j < job->search.n_keys; j++) /* a drawn value: its [search] line */
                if (job->search.keys[j].info == info) line = job->search.keys[j].line;
            for (int w = 0; w < job->n_whens; w++) /* blame the [when] that set it, if one did */
                for (int i = 0; matched[w] && i < job->whens[w].n; i++)
                    if (job->whens[w].infos[i] == info) line = job->whens[w].lines[i];
            snprintf(err, errlen, "%s:%d: key '%s': %s%s%s", job->path, line ? line : own ? own->line : 1, key, why,
                     own ? " in grid " : "", own ? own->name : "");
            return -1;
        }
    }
    return 0;
}

/* A point's settings as key = value lines: equal texts are equal trials. */
static char *point_text(const Job *job, const Grid *g, long k, size_t *len)
{
    Settings s;
    char *text = NULL;
    FILE *mem = open_memstream(&text, len);
    if (!mem) CS_FAIL("open_memstream failed");
    grid_point(job, g, k, &s);
    settings_write_ini(&s, mem);
    fclose(mem);
    return text;
}

/* The trials: the grids' points in order, each point that an earlier one repeats left out (an
 * open-addressing set of the points' hashes, texts compared on a match). */
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
            char *text = point_text(job, &job->grids[g], k, &len);
            const uint64_t h = pack_hash_more(PACK_HASH_START, text, len);
            size_t i = (size_t)h & (cap - 1);
            int seen = 0;
            for (; slot[i] >= 0 && !seen; i = (i + 1) & (cap - 1)) {
                if (hash[slot[i]] != h) continue;
                long other_point;
                const Grid *og = job_grid_of(job, slot[i], &other_point);
                size_t olen;
                char *other = point_text(job, og, other_point, &olen);
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

/* Sample i's value of searched setting j, as the text that parses back to it. */
static void draw(const Search *se, int i, int j, char *buf, size_t n)
{
    const SearchKey *k = &se->keys[j];
    Rng r = rng_stream(RNG_KEY(RNG_SEARCH, se->seed, (uint64_t)i, pack_hash(k->info->key, strlen(k->info->key))));
    if (k->dist == DIST_CHOICE) {
        snprintf(buf, n, "%s", k->choices[rng_below(&r, (uint32_t)k->n_choices)]);
        return;
    }
    const double u = rng_uniform(&r);
    double v;
    if (k->info->type == SET_INT) {
        if (k->dist == DIST_UNIFORM) v = k->lo + (double)rng_below(&r, (uint32_t)(k->hi - k->lo + 1));
        else v = floor(dm_exp(dm_log(k->lo) + u * (dm_log(k->hi + 1) - dm_log(k->lo))));
        snprintf(buf, n, "%.0f", fmin(fmax(v, k->lo), k->hi));
        return;
    }
    /* libm-free log and exp: the same samples on every machine (detmath.h) */
    v = k->dist == DIST_UNIFORM ? k->lo + u * (k->hi - k->lo) : dm_exp(dm_log(k->lo) + u * (dm_log(k->hi) - dm_log(k->lo)));
    snprintf(buf, n, "%.4g", v); /* four digits: the value a user reads is the value that runs */
    v = fmin(fmax(strtod(buf, NULL), k->lo), k->hi);
    Settings s;
    settings_default(&s);
    snprintf(buf, n, "%.17g", v);
    parse_or_die(&s, k->info, buf);
    settings_format(&s, k->info, buf, n);
}

/* [search] and [halving] as a whole; the samples drawn. 0, or -1 with err. */
static int check_search(Parser *p, char *err, size_t errlen)
{
    Job *job = p->job;
    Search *se = &job->search;
    HalvingSpec *h = &job->halving;
    se->line = p->search_line, h->line = p->halving_line;
    if (p->search_line && !se->samples) {
        snprintf(err, errlen, "%s:%d: [search] needs samples = N (how many settings to draw)", job->path, p->search_line);
        return -1;
    }
    if (p->search_line && !se->n_keys) {
        snprintf(err, errlen, "%s:%d: [search] names no setting (expected KEY = uniform A B, log-uniform A B or choice V1, ...)",
                 job->path, p->search_line);
        return -1;
    }
    for (int j = 0; j < se->n_keys; j++) {
        const Axis *e = entry(&p->settings, se->keys[j].info);
        if (e) {
            snprintf(err, errlen, "%s:%d: key '%s' is searched in [search] (line %d) and set in [settings] (expected "
                     "one of them; a [grid] that sets it is not searched)", job->path, e->line, e->info->key, se->keys[j].line);
            return -1;
        }
    }
    if (p->halving_line && !p->search_line) {
        snprintf(err, errlen, "%s:%d: [halving] needs a [search] section (it compares the samples of one group)", job->path,
                 p->halving_line);
        return -1;
    }
    if (p->halving_line && !h->n_rungs) {
        snprintf(err, errlen, "%s:%d: [halving] needs rungs = E1, E2, ... (the epochs at which trials are compared)",
                 job->path, p->halving_line);
        return -1;
    }
    h->metric_line = p->metric_line;
    se->values = se->samples ? CS_ALLOC((size_t)se->samples * se->n_keys * sizeof *se->values) : NULL;
    for (int i = 0; i < se->samples; i++)
        for (int j = 0; j < se->n_keys; j++) {
            char v[256];
            draw(se, i, j, v, sizeof v);
            se->values[(size_t)i * se->n_keys + j] = strdup(v);
            if (!se->values[(size_t)i * se->n_keys + j]) CS_FAIL("out of memory");
        }
    se->typed = se->samples ? CS_ALLOC((size_t)se->samples * sizeof *se->typed) : NULL;
    for (int i = 0; i < se->samples; i++) {
        settings_default(&se->typed[i]);
        for (int j = 0; j < se->n_keys; j++) parse_or_die(&se->typed[i], se->keys[j].info, se->values[(size_t)i * se->n_keys + j]);
    }
    return 0;
}

/* Every [when] tests an axis of some grid (or a searched setting) and applies somewhere. */
static int check_whens(Job *job, const long *hits, char *err, size_t errlen)
{
    for (int w = 0; w < job->n_whens; w++) {
        const When *wh = &job->whens[w];
        int axis = 0;
        for (int g = 0; g < job->n_grids; g++) axis |= varies(job, &job->grids[g], wh->key);
        if (!axis) {
            snprintf(err, errlen, "%s:%d: [when %s = %s]: '%s' is not an axis of this job (expected a setting with a list "
                     "of values, or a searched one)", job->path, wh->line, wh->key->key, wh->value, wh->key->key);
            return -1;
        }
        if (!hits[w]) {
            snprintf(err, errlen, "%s:%d: [when %s = %s] applies to no trial (%s is never %s in this job)", job->path,
                     wh->line, wh->key->key, wh->value, wh->key->key, wh->value);
            return -1;
        }
    }
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
    job->search.seed = 1;
    job->halving.reduction = 3, job->halving.metric = METRIC_VAL_BITS;
    /* libinih's options: long lines, no continuation lines, ';' comments, stop at the first error */
    ini_use_stack = false, ini_allow_realloc = false, ini_max_line = MAX_LINE, ini_initial_alloc = MAX_LINE;
    ini_allow_multiline = false, ini_stop_on_first_error = true;
    Parser *p = CS_CALLOC(sizeof *p); /* large: the sections' entries */
    *p = (Parser){.job = job, .text = text, .err = err, .errlen = errlen};
    int line = ini_parse_stream(read_line, p, handler, p), rc = -1;
    long hits[JOB_MAX_WHENS] = {0};
    if (line != 0 || p->failed) {
        if (!p->failed) {
            if (line < 0) CS_FAIL("libinih could not allocate its line buffer");
            snprintf(err, errlen, "%s:%d: cannot read this line (expected [section] or key = value)", path, line);
        }
        goto done;
    }
    if (check_search(p, err, errlen) != 0) goto done;
    job->n_grids = p->n_grids ? p->n_grids : 1;
    for (int g = 0; g < job->n_grids; g++)
        if (build_grid(job, &job->grids[g], &p->settings, p->n_grids ? &p->grids[g] : NULL, hits, err, errlen) != 0)
            goto done;
    if (check_whens(job, hits, err, errlen) != 0) goto done;
    /* a single grid's points are distinct trials unless [when] sections or drawn choices repeat one */
    if (job->n_grids == 1 && !job->n_whens && !job->search.samples) job->n_trials = job->grids[0].n_points;
    else if (dedup(job, err, errlen) != 0) goto done;
    rc = 0;
done:
    section_free(&p->settings);
    for (int g = 0; g < p->n_grids; g++) section_free(&p->grids[g]);
    free(p);
    if (rc != 0) job_free(job); /* err holds the reason; the job holds nothing */
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
            for (int i = 0; job->grids[g].axes[a].values && i < job->grids[g].axes[a].n; i++)
                free(job->grids[g].axes[a].values[i]);
            free(job->grids[g].axes[a].values);
            free(job->grids[g].axes[a].typed);
        }
    for (int w = 0; w < job->n_whens; w++)
        for (int i = 0; i < job->whens[w].n; i++) free(job->whens[w].values[i]);
    Search *se = &job->search;
    for (int j = 0; j < se->n_keys; j++) {
        for (int c = 0; c < se->keys[j].n_choices; c++) free(se->keys[j].choices[c]);
        free(se->keys[j].choices);
    }
    for (long i = 0; se->values && i < (long)se->samples * se->n_keys; i++) free(se->values[i]);
    free(se->values);
    free(se->typed);
    free(job->points);
    free(job->text);
    memset(job, 0, sizeof *job);
}

void job_describe(const Job *job, long k, char *buf, size_t n)
{
    long point;
    const Grid *g = job_grid_of(job, k, &point);
    size_t len = job->n_grids > 1 ? (size_t)snprintf(buf, n, "grid=%s", g->name) : 0;
    if (!len) buf[0] = '\0';
    int idx[JOB_MAX_AXES];
    point_index(g, point, idx);
    for (int a = 0; a < g->n_axes && len < n; a++) {
        const Axis *ax = &g->axes[a];
        if (ax->info) {
            len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", len ? " " : "", ax->info->key, ax->values[idx[a]]);
            continue;
        }
        len += (size_t)snprintf(buf + len, n - len, "%ssample=%d", len ? " " : "", idx[a]);
        for (int j = 0; j < job->search.n_keys && len < n; j++)
            len += (size_t)snprintf(buf + len, n - len, " %s=%s", job->search.keys[j].info->key,
                                    job->search.values[(size_t)idx[a] * job->search.n_keys + j]);
    }
}
