/* Job files: the INI text read with libinih into sections, [when], [search] and [halving] options,
 * each value validated where it stands; the grid is built from them by jobgrid.c. */
#include "jobfile.h"

#include <errno.h>   /* errno */
#include <libgen.h>  /* dirname */
#include <limits.h>  /* PATH_MAX */
#include <ini.h>     /* ini_parse_stream, ini_* options */
#include <stdbool.h> /* bool, for libinih's options */
#include <stdarg.h>  /* va_list */
#include <stdio.h>   /* FILE, snprintf */
#include <math.h>    /* floor */
#include <stdlib.h>  /* free, realloc, realpath */
#include <string.h>  /* strcmp, strchr, strerror */

#include "check.h" /* CS_ALLOC, CS_FAIL */
#include "results.h" /* results_exec_column_taken */
#include "text.h"  /* text_trim, text_split_list, text_number */

#define MAX_LINE 65536 /* longest job-file line */

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
    int exec_lines[6];              /* [exec]'s keys (exec_keys): where given */
    int tpe_lines[4];               /* sampler, generations, per-generation, direction: where given */
} Parser;

static int fail(Parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The text of a [WORD NAME] header between WORD and ']' (trimmed) into buf; 0, or -1 if malformed. */
static int header_name(const char *header, size_t word, char *buf, size_t n)
{
    const char *close = strchr(header, ']');
    if (!close || (header[word] != ' ' && header[word] != '\t')) return -1;
    char name[512];
    snprintf(name, sizeof name, "%.*s", (int)(close - header - (long)word), header + word);
    const char *t = text_trim(name);
    if (!*t || strlen(t) >= n) return -1;
    snprintf(buf, n, "%s", t);
    return 0;
}

/* The setting that key names: one of the table's, or with [exec] one of the job's own (added if new).
 * NULL with the reason in why. */
static const SettingInfo *find_key(Parser *p, const char *key, char *why, size_t n)
{
    if (p->job->pool) return settings_pool_key(p->job->pool, key, why, n);
    const SettingInfo *info = settings_find(key);
    if (!info) snprintf(why, n, "unknown setting '%s'", key);
    return info;
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
    const char *key = text_trim(cond), *value = text_trim(eq + 1);
    char why[256];
    const SettingInfo *info = find_key(p, key, why, sizeof why);
    if (!info || !*value) {
        if (info)
            fail(p, "[when %s = ]: no value (expected [when KEY = VALUE])", key);
        else
            fail(p, "[when %s = ...]: %s (expected an axis of the job)", key, why);
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
        if (strncmp(head, "[exec]", 6) == 0 && p->job->exec && !p->job->exec->line) p->job->exec->line = p->line;
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

/* `zip = A, B, ...` in sec: settings whose lists vary together. */
static int zip_line(Parser *p, Section *sec, char *value)
{
    char *names[JOB_MAX_AXES], whole[256];
    snprintf(whole, sizeof whole, "%s", value);
    int n = text_split_list(value, names, JOB_MAX_AXES);
    if (n < 2) return fail(p, "key 'zip': '%s' is not a list of settings (expected zip = KEY, KEY, ...)", whole);
    if (sec->n_zips == JOB_MAX_ZIPS) return fail(p, "more than %d zip lines in one section", JOB_MAX_ZIPS);
    Zip *z = &sec->zips[sec->n_zips];
    *z = (Zip){.n = n, .line = p->line};
    char why[256];
    for (int i = 0; i < n; i++) {
        z->members[i] = find_key(p, names[i], why, sizeof why);
        if (!z->members[i]) return fail(p, "key 'zip': %s (expected settings that are axes)", why);
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
        char *v = text_trim(tok);
        if (!*v) {
            ok = fail(p, "key '%s': empty value%s (expected %s)", name, n || comma ? " in the list" : "",
                      info->type == SET_CHOICE ? "a name" : info->type == SET_OWN ? "a value" : "a number");
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
    char why[256];
    const SettingInfo *info = find_key(p, name, why, sizeof why);
    if (!info && p->job->pool) return fail(p, "key in [%s]: %s", label, why);
    if (!info) return fail(p, "unknown key '%s' in [%s] (expected a setting of 'copysweep --help', or zip)", name, label);
    if (settings_index(info) >= JOB_MAX_SETTINGS) CS_FAIL("JOB_MAX_SETTINGS is too small");
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
    char why[256];
    const SettingInfo *info = find_key(p, name, why, sizeof why);
    if (!info && p->job->pool) return fail(p, "key in [when %s = ...]: %s", w->key->key, why);
    if (!info) return fail(p, "unknown key '%s' in [when %s = ...] (expected a setting of 'copysweep --help')", name, w->key->key);
    if (info == w->key) return fail(p, "key '%s': [when %s = ...] cannot set the setting it tests", name, name);
    for (int i = 0; i < w->n; i++)
        if (w->infos[i] == info)
            return fail(p, "key '%s' given twice (first at line %d)", name, w->lines[i]);
    Axis e;
    if (!setting_values(p, &e, info, value, 0)) return 0;
    w->infos[w->n] = info, w->values[w->n] = e.values[0], w->lines[w->n] = p->line;
    job_set_value(&w->set, info, e.values[0]);
    w->n++;
    free(e.values);
    return 1;
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
    rest = text_trim(rest);
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
    /* uniform, log-uniform, and their -int forms: integers drawn (an integer setting's always are) */
    const int log_scale = strncmp(value, "log-uniform", 11) == 0;
    const char *form = value + (log_scale ? 11 : 7);
    const int as_int = strcmp(form, "-int") == 0;
    if (strncmp(value, log_scale ? "log-uniform" : "uniform", log_scale ? 11 : 7) != 0 || (*form && !as_int))
        return fail(p, "key '%s': unknown distribution '%s' (expected uniform A B, log-uniform A B, uniform-int A B, "
                    "log-uniform-int A B or choice V1, V2, ...)", name, value);
    if (as_int && info->type == SET_REAL)
        return fail(p, "key '%s': %s of a setting that is a real number (expected uniform or log-uniform)", name, value);
    if (info->type == SET_CHOICE)
        return fail(p, "key '%s': %s of names (expected choice V1, V2, ... for this setting)", name, value);
    char *b = rest + strcspn(rest, " \t");
    if (*b) *b++ = '\0';
    b = text_trim(b);
    double lo, hi;
    if (!*rest || !*b || strpbrk(b, " \t") || text_number(rest, -1e300, 1e300, 0, &lo) != 0 || text_number(b, -1e300, 1e300, 0, &hi) != 0)
        return fail(p, "key '%s': '%s' is not a range of numbers (expected %s A B)", name, rest, value);
    if (settings_parse(&scratch, info, rest, err, sizeof err) != 0 || settings_parse(&scratch, info, b, err, sizeof err) != 0)
        return fail(p, "key '%s': %s", name, err);
    k->lo = lo, k->hi = hi;
    k->integer = info->type == SET_INT || as_int;
    if (!(k->lo < k->hi)) return fail(p, "key '%s': empty or inverted range %s .. %s (expected A < B)", name, rest, b);
    if (k->integer && (lo != floor(lo) || hi != floor(hi) || hi - lo >= 4294967296.0))
        return fail(p, "key '%s': %s %s %s is not a range of integers of at most 2^32 values (expected integers A < B)",
                    name, value, rest, b);
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

/* sampler, generations, per-generation, metric and direction of [search] (its line in p->tpe_lines
 * or the objective's): 1, 0 (failed), or -1 if name is none of them. */
static int tpe_option(Parser *p, const char *name, const char *value)
{
    static const char *const keys[] = {"sampler", "generations", "per-generation", "direction", "metric"};
    int i = 0;
    while (i < 5 && strcmp(name, keys[i]) != 0) i++;
    if (i == 5) return -1;
    Search *se = &p->job->search;
    int *where = i < 4 ? &p->tpe_lines[i] : &se->objective.line;
    if (*where) return fail(p, "key '%s' given twice (first at line %d)", name, *where);
    *where = p->line;
    double v;
    if (i == 0) {
        if (strcmp(value, "random") != 0 && strcmp(value, "tpe") != 0)
            return fail(p, "key 'sampler': '%s' is not allowed (expected random or tpe)", value);
        se->sampler = strcmp(value, "tpe") == 0 ? SAMPLER_TPE : SAMPLER_RANDOM;
    } else if (i == 1 || i == 2) {
        if (text_number(value, 1, 100000, 1, &v) != 0)
            return fail(p, "key '%s': '%s' is not allowed (expected an integer from 1 to 100000)", name, value);
        *(i == 1 ? &se->generations : &se->per_generation) = (int)v;
    } else if (i == 3) {
        if (strcmp(value, "maximize") != 0 && strcmp(value, "minimize") != 0)
            return fail(p, "key 'direction': '%s' is not allowed (expected maximize or minimize)", value);
        se->objective.maximize = strcmp(value, "maximize") == 0;
        se->objective.direction_line = p->line;
    } else {
        if (strlen(value) >= sizeof se->objective.name)
            return fail(p, "key 'metric': a name of %zu bytes (expected at most %zu)", strlen(value),
                        sizeof se->objective.name - 1);
        snprintf(se->objective.name, sizeof se->objective.name, "%s", value);
    }
    return 1;
}

static int search_option(Parser *p, const char *name, char *value)
{
    const int tpe = tpe_option(p, name, value);
    if (tpe >= 0) return tpe;
    if (!once(p, name)) return 0;
    Search *se = &p->job->search;
    double v;
    if (strcmp(name, "samples") == 0) {
        if (text_number(value, 1, 100000, 1, &v) != 0)
            return fail(p, "key 'samples': '%s' is not allowed (expected an integer from 1 to 100000)", value);
        se->samples = (int)v, p->samples_line = p->line;
        return 1;
    }
    if (strcmp(name, "sampler-seed") == 0) {
        if (text_number(value, 0, 9007199254740992.0, 1, &v) != 0)
            return fail(p, "key 'sampler-seed': '%s' is not allowed (expected an integer ≥ 0)", value);
        se->seed = (uint64_t)v;
        return 1;
    }
    char why[256];
    const SettingInfo *info = find_key(p, name, why, sizeof why);
    if (!info && p->job->pool) return fail(p, "key in [search]: %s", why);
    if (!info)
        return fail(p, "unknown key '%s' in [search] (expected samples, sampler-seed, sampler, generations, "
                    "per-generation, metric, direction or a setting)", name);
    return search_key(p, info, value);
}

static int halving_key(Parser *p, const char *name, char *value)
{
    if (!once(p, name)) return 0;
    char why[512];
    if (halving_option(&p->job->halving, name, value, p->line, why, sizeof why) != 0) return fail(p, "%s", why);
    if (strcmp(name, "metric") == 0) p->metric_line = p->line;
    return 1;
}

/* A key of [exec]: each given once. */
static int exec_key(Parser *p, const char *name, char *value)
{
    static const char *const keys[] = {"command", "metrics", "timeout-minutes", "stop-signal", "grace-seconds",
                                       "version-command"};
    for (int i = 0; i < 6; i++) {
        if (strcmp(name, keys[i]) != 0) continue;
        if (p->exec_lines[i]) return fail(p, "key '%s' given twice (first at line %d)", name, p->exec_lines[i]);
        p->exec_lines[i] = p->line;
    }
    char why[512];
    if (exec_option(p->job->exec, name, value, p->line, why, sizeof why) != 0) return fail(p, "%s", why);
    return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    Parser *p = user;
    char v[MAX_LINE];
    snprintf(v, sizeof v, "%s", value);
    if (strcmp(section, "sweep") == 0) return sweep_option(p, name, text_trim(v));
    if (strcmp(section, "settings") == 0) return setting(p, &p->settings, name, text_trim(v));
    if (strcmp(section, "search") == 0) return search_option(p, name, text_trim(v));
    if (strcmp(section, "halving") == 0) return halving_key(p, name, text_trim(v));
    if (strcmp(section, "exec") == 0) return exec_key(p, name, text_trim(v));
    if (strncmp(section, "grid", 4) == 0 && (section[4] == ' ' || section[4] == '\t') && p->n_grids)
        return setting(p, &p->grids[p->n_grids - 1], name, text_trim(v));
    if (strncmp(section, "when", 4) == 0 && (section[4] == ' ' || section[4] == '\t') && p->job->n_whens)
        return when_setting(p, name, text_trim(v));
    if (!*section) return fail(p, "key '%s' outside a section (expected it under [settings] or [sweep])", name);
    p->line = p->section_line; /* blame the header, not the first key under it */
    return fail(p, "unknown section [%s] (expected [settings], [grid NAME], [when KEY = VALUE], [search], [halving], "
                "[exec] or [sweep])", section);
}

/* ---- the grids ------------------------------------------------------------------------------- */

/* The objective named by [search] metric: a validation curve's, or an [exec] metric (whose direction
 * must be given). 0, or -1 with err. */
static int check_objective(Parser *p, char *err, size_t errlen)
{
    Objective *o = &p->job->search.objective;
    static const char *const curves[] = {"val-bits", "val-acc", "val-loss"};
    static const char *const columns[] = {"test_bits", "test_acc", "test_loss", "best_val_acc"}; /* OBJ_COLUMN */
    const ExecSpec *exec = p->job->exec;
    int kind = -1;
    char column[64];
    snprintf(column, sizeof column, "%s", o->name);
    for (char *c = column; !exec && *c; c++) *c = *c == '-' ? '_' : *c; /* test-bits is test_bits */
    for (int i = 0; i < 3; i++)
        if (strcmp(o->name, curves[i]) == 0) kind = i;
    for (int i = 0; kind < 0 && !exec && i < 4; i++)
        if (strcmp(column, columns[i]) == 0) kind = OBJ_COLUMN;
    for (int m = 0; kind < 0 && exec && m < exec->n_metrics; m++)
        if (strcmp(o->name, exec->metrics[m]) == 0) kind = OBJ_EXEC_METRIC;
    if (kind < 0) {
        char names[1024] = "";
        for (int m = 0; exec && m < exec->n_metrics; m++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", m ? ", " : "; or one of [exec] metrics: ",
                     exec->metrics[m]);
        snprintf(err, errlen, "%s:%d: key 'metric': '%s' is not a metric (expected val-bits, val-acc or val-loss%s)",
                 p->job->path, o->line, o->name,
                 exec ? names : ", or a result column: test-bits, test-acc, test-loss or best-val-acc");
        return -1;
    }
    o->kind = (ObjectiveKind)kind;
    snprintf(o->column, sizeof o->column, "%s", column);
    if (kind == OBJ_EXEC_METRIC && !o->direction_line) {
        snprintf(err, errlen, "%s:%d: key 'metric': '%s' needs direction = maximize or minimize in [search] (a program's "
                 "metric has no known direction)", p->job->path, o->line, o->name);
        return -1;
    }
    if (!o->direction_line) o->maximize = kind != OBJ_VAL_LOSS && strcmp(column, "test_loss") != 0;
    return 0;
}

/* sampler = tpe: generations, per-generation and metric given (samples is their product), no [when]
 * by a drawn setting; its keys without it refused. 0, or -1 with err. */
static int check_tpe(Parser *p, char *err, size_t errlen)
{
    Job *job = p->job;
    Search *se = &job->search;
    static const char *const names[] = {"generations", "per-generation", "direction"};
    const int lines[] = {p->tpe_lines[1], p->tpe_lines[2], p->tpe_lines[3]};
    if (se->sampler != SAMPLER_TPE) {
        for (int i = 0; i < 3; i++)
            if (lines[i]) {
                snprintf(err, errlen, "%s:%d: key '%s' needs sampler = tpe in [search]", job->path, lines[i], names[i]);
                return -1;
            }
        if (se->objective.line) {
            snprintf(err, errlen, "%s:%d: key 'metric' needs sampler = tpe in [search] (it is the objective TPE "
                     "maximizes or minimizes)", job->path, se->objective.line);
            return -1;
        }
        return 0;
    }
    const int at = p->tpe_lines[0];
    if (p->samples_line) {
        snprintf(err, errlen, "%s:%d: key 'samples' with sampler = tpe (line %d) (expected generations = G and "
                 "per-generation = P: the samples are G × P)", job->path, p->samples_line, at);
        return -1;
    }
    if (!se->generations || !se->per_generation || !se->objective.line) {
        snprintf(err, errlen, "%s:%d: sampler = tpe needs %s in [search]", job->path, at,
                 !se->generations ? "generations = G (how many rounds of samples)"
                 : !se->per_generation ? "per-generation = P (samples drawn in each round)"
                 : "metric = NAME (the objective: val-bits, val-acc, val-loss or an [exec] metric)");
        return -1;
    }
    if ((long)se->generations * se->per_generation > 100000) {
        snprintf(err, errlen, "%s:%d: sampler = tpe: %d generations × %d per generation is more than 100000 samples",
                 job->path, at, se->generations, se->per_generation);
        return -1;
    }
    se->samples = se->generations * se->per_generation;
    for (int w = 0; w < job->n_whens; w++)
        for (int j = 0; j < se->n_keys; j++)
            if (job->whens[w].key == se->keys[j].info) {
                snprintf(err, errlen, "%s:%d: [when %s = ...] keys on a setting that sampler = tpe draws from results "
                         "(expected a [when] on a setting of the grid)", job->path, job->whens[w].line,
                         se->keys[j].info->key);
                return -1;
            }
    return check_objective(p, err, errlen);
}

/* [search] and [halving] as a whole; the samples drawn. 0, or -1 with err. */
static int check_search(Parser *p, char *err, size_t errlen)
{
    Job *job = p->job;
    Search *se = &job->search;
    HalvingSpec *h = &job->halving;
    se->line = p->search_line, h->line = p->halving_line;
    if (check_tpe(p, err, errlen) != 0) return -1;
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
        const Axis *e = section_entry(&p->settings, se->keys[j].info);
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
    job_draw_samples(job);
    return 0;
}

/* Whether the text has an [exec] section: then every key the job names is one of its own. */
static int has_exec(const char *text)
{
    for (const char *at = text; at; at = strchr(at, '\n')) {
        at += *at == '\n';
        at += strspn(at, " \t");
        if (strncmp(at, "[exec]", 6) == 0) return 1;
    }
    return 0;
}

/* The first line that names a key of the job's own. */
static int key_line(const Job *job, const SettingInfo *info)
{
    int line = 0;
    const int i = settings_index(info);
    for (int g = 0; g < job->n_grids; g++)
        if (job->grids[g].lines[i] && (!line || job->grids[g].lines[i] < line)) line = job->grids[g].lines[i];
    for (int j = 0; j < job->search.n_keys; j++)
        if (job->search.keys[j].info == info && (!line || job->search.keys[j].line < line)) line = job->search.keys[j].line;
    for (int w = 0; w < job->n_whens; w++) {
        if (job->whens[w].key == info && (!line || job->whens[w].line < line)) line = job->whens[w].line;
        for (int k = 0; k < job->whens[w].n; k++)
            if (job->whens[w].infos[k] == info && (!line || job->whens[w].lines[k] < line)) line = job->whens[w].lines[k];
    }
    return line ? line : job->exec->line;
}

/* The job's keys and metrics as columns of /trials and as variables: none taken by copysweep's own
 * columns or variables, none the same as another's. 0, or -1 with err at the key's line. */
static int check_own_names(const Job *job, char *err, size_t errlen)
{
    static const char *const protocol[] = {"METRICS", "CHECKPOINT_DIR", "TRIAL", "TRIAL_KEY", "THREADS", NULL};
    const ExecSpec *e = job->exec;
    const KeyPool *pool = job->pool;
    char column[64], other[64], var[64], var2[64];
    for (int i = 0; i < pool->n; i++) {
        const SettingInfo *info = &pool->infos[i];
        const int line = key_line(job, info);
        settings_column(info, column, sizeof column);
        exec_env_name(info->key, var, sizeof var);
        const char *why = results_exec_column_taken(column) ? "a column of /trials that copysweep writes itself" : NULL;
        for (int p = 0; !why && protocol[p]; p++)
            if (strcmp(var, protocol[p]) == 0) why = "a variable of the protocol (COPYSWEEP_ and its name)";
        for (int m = 0; !why && m < e->n_metrics; m++)
            if (strcmp(column, e->metrics[m]) == 0) why = "the column of a declared metric";
        for (int j = 0; !why && j < i; j++) {
            settings_column(&pool->infos[j], other, sizeof other);
            exec_env_name(pool->infos[j].key, var2, sizeof var2);
            if (strcmp(column, other) == 0 || strcmp(var, var2) == 0) {
                snprintf(err, errlen, "%s:%d: key '%s' and key '%s' would be one column or one variable (%s, COPYSWEEP_%s) "
                         "(expected names that differ by more than case and '-' or '_')", job->path, line, info->key,
                         pool->infos[j].key, column, var);
                return -1;
            }
        }
        if (why) {
            snprintf(err, errlen, "%s:%d: key '%s' would be %s (%s, COPYSWEEP_%s) (expected another name)", job->path,
                     line, info->key, why, column, var);
            return -1;
        }
    }
    for (int m = 0; m < e->n_metrics; m++)
        if (results_exec_column_taken(e->metrics[m])) {
            snprintf(err, errlen, "%s:%d: key 'metrics': '%s' is a column copysweep writes itself (expected another name)",
                     job->path, e->metrics_line, e->metrics[m]);
            return -1;
        }
    return 0;
}

/* [exec] as a whole: a command and metrics; each placeholder a key of the job that every trial has
 * a value of; no key or metric that takes the name of another column of /trials. 0, or -1 with err. */
static int check_exec(const Job *job, char *err, size_t errlen)
{
    const ExecSpec *e = job->exec;
    char why[512];
    if (exec_spec_check(e, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s:%d: %s", job->path, e->line, why);
        return -1;
    }
    if (check_own_names(job, err, errlen) != 0) return -1;
    char *keys[EXEC_MAX_WORDS];
    const int n = exec_command_keys(&e->command, keys, EXEC_MAX_WORDS);
    const SettingInfo *need[EXEC_MAX_WORDS];
    int n_need = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(keys[i], EXEC_JOB_DIR) == 0) continue;
        if (!(need[n_need++] = job_key(job, keys[i])) && !rc) {
            snprintf(err, errlen, "%s:%d: key 'command': {%s} is not a key of this job (expected a key its sections set, "
                     "or {%s})", job->path, e->command_line, keys[i], EXEC_JOB_DIR);
            rc = -1;
        }
    }
    for (int i = 0; i < n; i++) free(keys[i]);
    for (long k = 0; rc == 0 && k < job->n_trials; k++) {
        Settings s;
        job_trial(job, k, &s);
        for (int i = 0; i < n_need && rc == 0; i++)
            if (!s.own_values[settings_index(need[i])]) {
                char what[256];
                job_describe(job, k, what, sizeof what);
                snprintf(err, errlen, "%s:%d: key 'command': trial %ld (%s) has no value of '%s' (expected %s = VALUE in "
                         "[settings] or in each grid)", job->path, e->command_line, k, what, need[i]->key, need[i]->key);
                rc = -1;
            }
    }
    return rc;
}

/* The folder of path, absolute if it can be resolved. */
static void job_dir(const char *path, char *dir, size_t n)
{
    char copy[PATH_MAX], real[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *d = dirname(copy);
    snprintf(dir, n, "%s", realpath(d, real) ? real : d);
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
    job_dir(path, job->dir, sizeof job->dir);
    if (has_exec(text)) {
        job->pool = settings_pool_new();
        job->exec = CS_CALLOC(sizeof *job->exec);
        exec_spec_init(job->exec);
    }
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
    if (check_search(p, err, errlen) != 0) goto done;
    if (job_build(job, &p->settings, p->grids, p->n_grids, err, errlen) != 0) goto done;
    if (job->exec && check_exec(job, err, errlen) != 0) goto done;
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

