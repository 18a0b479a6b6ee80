/* The tasks of docs/method.md, through their TaskOps: shapes, splits, datasets and batches. */
#include "task.h"

#include <math.h>   /* log */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* memset, memcmp */

#include "check.h" /* CS_ALLOC */

const char *const split_names[] = {"train", "validation", "test", NULL};

/* A split is drawn by rejection: candidates whose content hashes to another split are skipped.
 * Validation and test each own a tenth of all sequences, so 10 attempts are expected; this many
 * failures mean the split owns (almost) no sequence at this T and K. */
#define MAX_ATTEMPTS 100000

/* ---- content ------------------------------------------------------------------------------ */

int task_content_n(const uint8_t *c) { return c[0] | c[1] << 8; }

int task_uniform_in(Rng *r, int lo, int hi) { return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1)); }

/* Bytes of a content that matter (the rest is padding). */
static int content_len(const TaskShape *sh, const uint8_t *c) { return sh->ops->sized ? 2 + task_content_n(c) : sh->cw; }

static uint64_t content_hash(uint64_t key, const uint8_t *content, int len)
{
    uint64_t h = key;
    for (int i = 0; i < len; i += 8) {
        uint64_t word = 0;
        for (int j = 0; j < 8 && i + j < len; j++) word |= (uint64_t)content[i + j] << (8 * j);
        h = rng_mix(h ^ word) + (uint64_t)i;
    }
    return h;
}

int task_split_of(const TaskShape *sh, const uint8_t *content)
{
    /* sized contents name their own length, so sequences of every evaluation length share one split
     * hash with training: an evaluation set never holds a training sequence */
    const uint64_t T = sh->ops->sized ? 0 : (uint64_t)sh->T;
    uint64_t h = content_hash(RNG_KEY(RNG_SPLIT, (uint64_t)sh->task, T, (uint64_t)sh->K), content,
                              content_len(sh, content));
    int decile = (int)(h % 10);
    return decile < 8 ? SPLIT_TRAIN : decile == 8 ? SPLIT_VAL : SPLIT_TEST;
}

/* Draw 0 is a split's one set of sequences; draw e > 0 (fresh training data: epoch e + 1) adds e to
 * the key, so that draw 0 stays what it was before draws existed. */
static Rng data_stream(const TaskShape *sh, int seed, int split, int i, int attempt, int draw)
{
    uint64_t key[11] = {RNG_DATA, (uint64_t)sh->task, (uint64_t)sh->T, (uint64_t)sh->K, (uint64_t)seed,
                        (uint64_t)split, (uint64_t)i, (uint64_t)attempt};
    int n = 8;
    if (!sh->ops->short_key) key[n++] = (uint64_t)sh->len_min, key[n++] = (uint64_t)sh->len_max;
    if (draw) key[n++] = (uint64_t)draw;
    return rng_stream(rng_hash(key, n));
}

/* The n sequences of draw `draw` of d's split into d->content. */
static int fill_drawn(Dataset *d, int draw, char *err, size_t errlen)
{
    const TaskShape *sh = &d->shape;
    for (int i = 0; i < d->n; i++) {
        uint8_t *c = d->content + (size_t)i * (size_t)sh->cw;
        int attempt = 0;
        do {
            if (attempt == MAX_ATTEMPTS) {
                snprintf(err, errlen, "%s at T %d has too few distinct sequences to draw a %s split disjoint "
                         "from the others (expected a larger T or vocab)", sh->name, sh->T,
                         split_names[d->split]);
                return -1;
            }
            Rng r = data_stream(sh, d->seed, d->split, i, attempt, draw);
            memset(c, 0, (size_t)sh->cw);
            sh->ops->draw(sh, &r, c);
            attempt++;
        } while (task_split_of(sh, c) != d->split);
    }
    d->draw = draw;
    return 0;
}

int dataset_init(Dataset *d, const TaskShape *sh, int seed, int split, int n, char *err, size_t errlen)
{
    d->shape = *sh;
    d->split = split;
    d->seed = seed;
    d->n = n;
    d->distinct = 0;
    d->draw = 0;
    d->content = CS_ALLOC((size_t)n * (size_t)sh->cw);
    if (sh->ops->fill_split) return sh->ops->fill_split(d, seed, split, n, err, errlen);
    return fill_drawn(d, 0, err, errlen);
}

int dataset_redraw(Dataset *d, int draw, char *err, size_t errlen)
{
    if (!d->shape.ops->draw || draw == d->draw) return 0;
    return fill_drawn(d, draw, err, errlen);
}

void dataset_free(Dataset *d)
{
    free(d->content);
    d->content = NULL;
}

long dataset_count_shared(const Dataset *train, const Dataset *other)
{
    const TaskShape *sh = &train->shape;
    const size_t cw = (size_t)sh->cw;
    /* open addressing over the training set's content hashes; the table is at most half full */
    size_t cap = 1;
    while (cap < 2 * (size_t)train->n) cap <<= 1;
    int *slot = CS_ALLOC(cap * sizeof *slot);
    for (size_t k = 0; k < cap; k++) slot[k] = -1;
    for (int i = 0; i < train->n; i++) {
        const uint8_t *c = train->content + (size_t)i * cw;
        size_t k = content_hash(0, c, content_len(sh, c)) & (cap - 1);
        while (slot[k] >= 0) k = (k + 1) & (cap - 1);
        slot[k] = i;
    }
    long shared = 0;
    for (int i = 0; i < other->n; i++) {
        const uint8_t *c = other->content + (size_t)i * other->shape.cw;
        const int len = content_len(&other->shape, c);
        for (size_t k = content_hash(0, c, len) & (cap - 1); slot[k] >= 0; k = (k + 1) & (cap - 1)) {
            const uint8_t *t = train->content + (size_t)slot[k] * cw;
            if (content_len(sh, t) == len && memcmp(t, c, (size_t)len) == 0) {
                shared++;
                break;
            }
        }
    }
    free(slot);
    return shared;
}

/* ---- sequences ---------------------------------------------------------------------------- */

int task_input_symbol(const TaskShape *sh, const uint8_t *c, int t) { return sh->ops->input_symbol(sh, c, t); }

/* Steps of this sequence (≤ L). */
static int seq_len(const TaskShape *sh, const uint8_t *c) { return sh->ops->seq_len ? sh->ops->seq_len(sh, c) : sh->L; }

static int targets_of(const TaskShape *sh, const uint8_t *c)
{
    return sh->ops->targets_of ? sh->ops->targets_of(sh, c) : sh->n_out;
}

int64_t task_count_targets(const Dataset *d, const int *idx, int nb)
{
    int64_t n = 0;
    for (int b = 0; b < nb; b++) n += targets_of(&d->shape, d->content + (size_t)idx[b] * d->shape.cw);
    return n;
}

int64_t task_fill(const Dataset *d, const int *idx, int nb, real *x, int32_t *sym, int16_t *y)
{
    const TaskShape *sh = &d->shape;
    int64_t targets = 0;
    if (x) memset(x, 0, (size_t)sh->L * nb * sh->I * sizeof *x);
    for (int b = 0; b < nb; b++) {
        const uint8_t *c = d->content + (size_t)idx[b] * sh->cw;
        for (int t = 0; t < sh->L; t++) {
            real *xt = x ? x + ((size_t)t * nb + b) * sh->I : NULL;
            if (!sh->one_hot) {
                if (xt) sh->ops->input_vector(sh, c, t, xt);
                continue;
            }
            const int s = sh->ops->input_symbol(sh, c, t);
            if (xt) xt[s] = 1; /* x_t = onehot(s) */
            if (sym) sym[(size_t)t * nb + b] = s;
        }
        for (int j = 0; j < sh->n_out; j++) {
            const int target = sh->ops->target_at(sh, c, sh->out_start + j);
            y[(size_t)j * nb + b] = (int16_t)target;
            targets += target != TASK_NO_TARGET;
        }
    }
    return targets;
}

static void fill_dataset(const void *data, const int *idx, int nb, real *x, int32_t *sym, int16_t *y)
{
    task_fill(data, idx, nb, x, sym, y);
}

Batch task_batch(const Dataset *d, const int *idx, int B)
{
    return (Batch){.fill = fill_dataset, .data = d, .idx = idx, .B = B, .targets = task_count_targets(d, idx, B)};
}

void task_print_steps(const TaskShape *sh, const uint8_t *c, FILE *out,
                      void (*input)(const TaskShape *sh, const uint8_t *c, int t, FILE *out),
                      void (*target)(int target, FILE *out))
{
    const int len = seq_len(sh, c);
    for (int t = 0; t < len; t++) {
        if (t) fputc(' ', out);
        input(sh, c, t, out);
    }
    fputc('\t', out);
    int first = 1;
    for (int t = sh->out_start; t < len; t++) {
        const int tg = sh->ops->target_at(sh, c, t);
        if (tg == TASK_NO_TARGET) continue;
        if (!first) fputc(' ', out);
        first = 0;
        target(tg, out);
    }
    fputc('\n', out);
}

void task_print(const Dataset *d, int count, FILE *out)
{
    for (int i = 0; i < count && i < d->n; i++) d->shape.ops->print(&d->shape, d->content + (size_t)i * d->shape.cw, out);
}

double task_chance_acc(const TaskShape *sh) { return sh->bce ? 0.5 : 1.0 / sh->K; }
double task_chance_loss(const TaskShape *sh) { return sh->bce ? log(2.0) : log((double)sh->K); }
int task_has_bits(const TaskShape *sh) { return !sh->ops->uses_text; }
