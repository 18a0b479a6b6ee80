/* Asynchronous successive halving: the values recorded per (group, rung), and the decision. */
#include "halving.h"

#include <math.h>   /* floor, isnan */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* memset, strcmp, strdup */

#include "check.h" /* CS_ALLOC, CS_CALLOC, CS_FAIL */
#include "text.h"  /* text_split_list, text_number */

typedef struct {
    uint64_t group;
    int used;
    long n[HALVING_MAX_RUNGS], cap[HALVING_MAX_RUNGS];
    double *values[HALVING_MAX_RUNGS];
} Entry;

struct Halving {
    HalvingSpec spec;
    size_t cap, used; /* an open-addressing table of groups */
    Entry *table;
};

Halving *halving_new(const HalvingSpec *spec)
{
    Halving *h = CS_CALLOC(sizeof *h);
    h->spec = *spec;
    h->cap = 64;
    h->table = CS_CALLOC(h->cap * sizeof *h->table);
    return h;
}

void halving_free(Halving *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->cap; i++)
        for (int r = 0; r < HALVING_MAX_RUNGS; r++) free(h->table[i].values[r]);
    free(h->table);
    free(h);
}

int halving_rung(const HalvingSpec *spec, int epoch)
{
    for (int r = 0; r < spec->n_rungs; r++)
        if (spec->rungs[r] == epoch) return r;
    return -1;
}

double halving_row_value(const HalvingSpec *spec, const CurveRow *row)
{
    return spec->metric == METRIC_VAL_BITS ? row->val_bits : row->val_acc;
}

double halving_metric(const HalvingSpec *spec, const CurveRow *rows, int n)
{
    double best = -INFINITY;
    for (int i = 0; i < n; i++) {
        const double v = halving_row_value(spec, &rows[i]);
        if (!isnan(v) && v > best) best = v;
    }
    return best;
}

static Entry *find(Halving *h, uint64_t group, int add)
{
    if (add && 2 * (h->used + 1) > h->cap) { /* grow: rehash every group */
        Halving big = {.cap = 2 * h->cap};
        big.table = CS_CALLOC(big.cap * sizeof *big.table);
        for (size_t i = 0; i < h->cap; i++) {
            if (!h->table[i].used) continue;
            size_t j = (size_t)h->table[i].group & (big.cap - 1);
            while (big.table[j].used) j = (j + 1) & (big.cap - 1);
            big.table[j] = h->table[i];
        }
        free(h->table);
        h->table = big.table, h->cap = big.cap;
    }
    size_t i = (size_t)group & (h->cap - 1);
    for (; h->table[i].used; i = (i + 1) & (h->cap - 1))
        if (h->table[i].group == group) return &h->table[i];
    if (!add) return NULL;
    h->table[i].used = 1, h->table[i].group = group;
    h->used++;
    return &h->table[i];
}

int halving_record(Halving *h, uint64_t group, int rung, double value, int decide)
{
    if (rung < 0 || rung >= h->spec.n_rungs) CS_FAIL("rung %d of %d", rung, h->spec.n_rungs);
    Entry *e = find(h, group, 1);
    if (e->n[rung] == e->cap[rung]) {
        e->cap[rung] = e->cap[rung] ? 2 * e->cap[rung] : 8;
        double *v = realloc(e->values[rung], (size_t)e->cap[rung] * sizeof *v);
        if (!v) CS_FAIL("out of memory");
        e->values[rung] = v;
    }
    e->values[rung][e->n[rung]++] = value;
    if (!decide) return 1;
    /* goes on if fewer than max(1, ⌊n/η⌋) recorded values are better than its own */
    long better = 0;
    for (long i = 0; i < e->n[rung]; i++) better += e->values[rung][i] > value;
    const long keep = (long)floor((double)e->n[rung] / h->spec.reduction);
    return better < (keep > 1 ? keep : 1);
}

long halving_count(const Halving *h, uint64_t group, int rung)
{
    const Entry *e = find((Halving *)h, group, 0);
    return e ? e->n[rung] : 0;
}

/* rungs = E1, E2, ...: 1 to HALVING_MAX_RUNGS increasing epochs. */
static int parse_rungs(HalvingSpec *h, const char *value, char *err, size_t errlen)
{
    char *list = strdup(value), *items[HALVING_MAX_RUNGS + 1];
    if (!list) CS_FAIL("out of memory");
    const int n = text_split_list(list, items, HALVING_MAX_RUNGS + 1);
    int rc = 0;
    double v;
    if (n < 1 || n > HALVING_MAX_RUNGS) {
        snprintf(err, errlen, "key 'rungs': '%s' is not a list of 1 to %d epochs (expected rungs = E1, E2, ...)", value,
                 HALVING_MAX_RUNGS);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        if (text_number(items[i], 1, 1000000, 1, &v) != 0) {
            snprintf(err, errlen, "key 'rungs': '%s' is not an epoch (expected an integer ≥ 1)", items[i]);
            rc = -1;
            break;
        }
        h->rungs[i] = (int)v;
        if (i && h->rungs[i] <= h->rungs[i - 1]) {
            snprintf(err, errlen, "key 'rungs': %s after %s (expected increasing epochs)", items[i], items[i - 1]);
            rc = -1;
        }
    }
    if (rc == 0) h->n_rungs = n;
    free(list);
    return rc;
}

int halving_option(HalvingSpec *h, const char *name, char *value, int line, char *err, size_t errlen)
{
    double v;
    if (strcmp(name, "rungs") == 0) {
        if (parse_rungs(h, value, err, errlen) != 0) return -1;
        h->rungs_line = line;
        return 0;
    }
    if (strcmp(name, "reduction") == 0) {
        if (text_number(value, 1, 1e6, 0, &v) != 0 || !(v > 1)) {
            snprintf(err, errlen, "key 'reduction': '%s' is not allowed (expected a number > 1, such as 3)", value);
            return -1;
        }
        h->reduction = v;
        return 0;
    }
    if (strcmp(name, "metric") == 0) {
        if (strcmp(value, "val-bits") == 0) h->metric = METRIC_VAL_BITS;
        else if (strcmp(value, "val-acc") == 0) h->metric = METRIC_VAL_ACC;
        else {
            snprintf(err, errlen, "key 'metric': '%s' is not allowed (expected val-bits or val-acc)", value);
            return -1;
        }
        h->metric_line = line;
        return 0;
    }
    snprintf(err, errlen, "unknown key '%s' in [halving] (expected rungs, reduction or metric)", name);
    return -1;
}
