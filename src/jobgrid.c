/* The grid of a job: its grids built from the parsed sections, [when] applied, the samples of
 * [search] drawn, the trials deduplicated, and each trial's settings, sample, group and description. */
#include "jobgrid.h"

#include <math.h>   /* floor, fmin, fmax */
#include <stdio.h>  /* FILE, open_memstream, snprintf */
#include <stdlib.h> /* free, strtod */
#include <string.h> /* memcmp, strdup */

#include "check.h"   /* CS_ALLOC, CS_FAIL */
#include "detmath.h" /* dm_log, dm_exp */
#include "pack.h"    /* pack_hash */
#include "rng.h"     /* Rng, RNG_SEARCH */

void job_set_value(Settings *s, const SettingInfo *info, const char *text)
{
    char err[256];
    if (settings_parse(s, info, text, err, sizeof err) != 0)
        CS_FAIL("validated value '%s' of '%s' no longer parses", text, info->key);
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

const SettingInfo *job_key(const Job *job, const char *key)
{
    if (!job->pool) return settings_find(key);
    for (int i = 0; i < job->pool->n; i++)
        if (strcmp(job->pool->names[i], key) == 0) return &job->pool->infos[i];
    return NULL;
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
const Axis *section_entry(const Section *sec, const SettingInfo *info)
{
    for (int i = 0; sec && i < sec->n; i++)
        if (sec->entries[i].info == info) return &sec->entries[i];
    return NULL;
}

/* Apply an entry to a grid: a single value to its base, a list as its next axis. */
static void apply(Grid *g, const Axis *e)
{
    g->lines[settings_index(e->info)] = e->line;
    if (e->n == 1) {
        job_set_value(&g->base, e->info, e->values[0]);
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
        job_set_value(&a->typed[i], e->info, e->values[i]); /* once, here: a point copies the parsed value */
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
                const Axis *mine = section_entry(own, zip->members[i]);
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

/* Point k of grid g (own: its [grid NAME] section, or NULL): no [when] sets one of its axes or
 * searched settings, and its settings agree with each other (settings_validate), the message
 * blaming the line that set the value. hits[w] counts the points where [when] w applies. 0, or -1
 * with err. */
static int check_point(const Job *job, const Grid *g, const Section *own, long k, long *hits, char *err, size_t errlen)
{
    Settings s;
    unsigned char matched[JOB_MAX_WHENS];
    char why[256];
    point_axes(job, g, k, &s);
    apply_whens(job, &s, matched);
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
    if (!key) return 0;
    const SettingInfo *info = settings_find(key); /* a built-in setting: a job's own keys are never refused */
    int line = g->lines[settings_index(info)];
    for (int j = 0; g->searched && j < job->search.n_keys; j++) /* a drawn value: its [search] line */
        if (job->search.keys[j].info == info) line = job->search.keys[j].line;
    for (int w = 0; w < job->n_whens; w++) /* blame the [when] that set it, if one did */
        for (int i = 0; matched[w] && i < job->whens[w].n; i++)
            if (job->whens[w].infos[i] == info) line = job->whens[w].lines[i];
    snprintf(err, errlen, "%s:%d: key '%s': %s%s%s", job->path, line ? line : own ? own->line : 1, key, why,
             own ? " in grid " : "", own ? own->name : "");
    return -1;
}

/* The grid of [settings] with own (a [grid NAME], or NULL) over it; hits[w] counts the points where
 * [when] w applies. 0, or -1 with err. */
static int build_grid(Job *job, Grid *g, const Section *common, const Section *own, long *hits, char *err,
                      size_t errlen)
{
    settings_default(&g->base);
    g->base.own = job->pool ? job->pool->infos : NULL; /* every point starts from the base */
    if (own) snprintf(g->name, sizeof g->name, "%s", own->name);
    for (int i = 0; i < common->n; i++)
        if (!section_entry(own, common->entries[i].info)) apply(g, &common->entries[i]);
    for (int i = 0; own && i < own->n; i++) apply(g, &own->entries[i]);
    if (apply_zips(job, g, common, own, err, errlen) != 0 || apply_zips(job, g, own ? own : common, own, err, errlen) != 0)
        return -1;
    for (int a = 0; a < g->n_axes; a++)
        if (g->axes[a].lead >= 0) g->axes[a].lead = root(g, a);
    g->searched = job->search.samples > 0;
    for (int j = 0; j < job->search.n_keys; j++) g->searched &= !section_entry(own, job->search.keys[j].info);
    if (g->searched) {
        if (g->n_axes == JOB_MAX_AXES) CS_FAIL("more than %d axes", JOB_MAX_AXES);
        g->axes[g->n_axes++] = (Axis){.info = NULL, .n = job->search.samples, .line = job->search.line, .lead = -1};
    }
    g->n_points = 1;
    for (int a = 0; a < g->n_axes; a++) {
        if (g->axes[a].lead >= 0) continue;
        if (g->n_points > JOB_MAX_TRIALS / g->axes[a].n) {
            snprintf(err, errlen, "%s:%d: the grid has more than 10^6 trials", job->path, g->axes[a].line);
            return -1;
        }
        g->n_points *= g->axes[a].n;
    }
    /* [when] sections that would set an axis, and settings that depend on each other, at every point */
    for (long k = 0; k < g->n_points; k++)
        if (check_point(job, g, own, k, hits, err, errlen) != 0) return -1;
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
    if (g->searched && job->search.sampler == SAMPLER_TPE) /* each sample of TPE is a trial of its own */
        fprintf(mem, "sample = %ld\n", k % job->search.samples);
    fclose(mem);
    return text;
}

/* The trials: the grids' points in order, each point that an earlier one repeats left out (an
 * open-addressing set of the points' hashes, texts compared on a match; under sampler = tpe a
 * sample's point is never another sample's, whatever values its placeholder holds). */
static int dedup(Job *job, char *err, size_t errlen)
{
    long total = 0;
    for (int g = 0; g < job->n_grids; g++) {
        if (total > JOB_MAX_TRIALS - job->grids[g].n_points) {
            snprintf(err, errlen, "%s: the grids have more than 10^6 trials in all", job->path);
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
void search_format(const SearchKey *k, double v, char *buf, size_t n)
{
    if (k->integer) {
        snprintf(buf, n, "%.0f", fmin(fmax(v, k->lo), k->hi));
        return;
    }
    snprintf(buf, n, "%.4g", v); /* four digits: the value a user reads is the value that runs */
    v = fmin(fmax(strtod(buf, NULL), k->lo), k->hi);
    if (k->info->type == SET_OWN) { /* its text is its value */
        snprintf(buf, n, "%.4g", v);
        return;
    }
    Settings s;
    settings_default(&s);
    snprintf(buf, n, "%.17g", v);
    job_set_value(&s, k->info, buf);
    settings_format(&s, k->info, buf, n);
}

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
    if (k->integer)
        v = k->dist == DIST_UNIFORM ? k->lo + (double)rng_below(&r, (uint32_t)(k->hi - k->lo + 1))
                                    : floor(dm_exp(dm_log(k->lo) + u * (dm_log(k->hi + 1) - dm_log(k->lo))));
    else /* libm-free log and exp: the same samples on every machine (detmath.h) */
        v = k->dist == DIST_UNIFORM ? k->lo + u * (k->hi - k->lo) : dm_exp(dm_log(k->lo) + u * (dm_log(k->hi) - dm_log(k->lo)));
    search_format(k, v, buf, n);
}

void job_draw_samples(Job *job)
{
    Search *se = &job->search;
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
        for (int j = 0; j < se->n_keys; j++) job_set_value(&se->typed[i], se->keys[j].info, se->values[(size_t)i * se->n_keys + j]);
    }
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

int job_build(Job *job, const Section *common, const Section *grids, int n_grids, char *err, size_t errlen)
{
    long hits[JOB_MAX_WHENS] = {0};
    job->n_grids = n_grids ? n_grids : 1;
    for (int g = 0; g < job->n_grids; g++)
        if (build_grid(job, &job->grids[g], common, n_grids ? &grids[g] : NULL, hits, err, errlen) != 0) return -1;
    if (check_whens(job, hits, err, errlen) != 0) return -1;
    /* a single grid's points are distinct trials unless [when] sections or drawn choices repeat one */
    if (job->n_grids == 1 && !job->n_whens && !job->search.samples) {
        job->n_trials = job->grids[0].n_points;
        return 0;
    }
    return dedup(job, err, errlen);
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
    if (job->exec) exec_spec_free(job->exec);
    free(job->exec);
    settings_pool_free(job->pool);
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
        const Search *se = &job->search;
        if (se->sampler == SAMPLER_TPE && len < n) {
            len += (size_t)snprintf(buf + len, n - len, " generation=%d", idx[a] / se->per_generation + 1);
            if (idx[a] >= se->per_generation) continue; /* drawn from results: plan_describe has them */
        }
        for (int j = 0; j < job->search.n_keys && len < n; j++)
            len += (size_t)snprintf(buf + len, n - len, " %s=%s", job->search.keys[j].info->key,
                                    job->search.values[(size_t)idx[a] * job->search.n_keys + j]);
    }
}
