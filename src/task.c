/* The copy task: generation, splits and batches. */
#include "task.h"

#include <stdlib.h> /* free */
#include <string.h> /* memset, memcmp */

#include "check.h" /* CS_ALLOC, cs_user_error */
#include "rng.h"   /* Rng, RNG_KEY */

const char *const split_names[] = {"train", "validation", "test", NULL};

/* A split is drawn by rejection: candidates whose content hashes to another split are skipped.
 * Validation and test each own a tenth of all sequences, so 10 attempts are expected; this many
 * failures mean the split owns (almost) no sequence at this T and K. */
#define MAX_ATTEMPTS 100000

TaskShape task_shape(const Settings *s)
{
    TaskShape sh = {.task = s->task, .T = s->T, .K = s->vocab, .delay = s->delay};
    sh.L = 2 * s->T + s->delay + 1;
    sh.I = s->vocab + 2;
    sh.n_out = s->T;
    sh.out_start = sh.L - sh.n_out;
    sh.one_hot = 1;
    return sh;
}

static uint64_t content_hash(uint64_t key, const uint8_t *content, int T)
{
    uint64_t h = key;
    for (int i = 0; i < T; i += 8) {
        uint64_t word = 0;
        for (int j = 0; j < 8 && i + j < T; j++) word |= (uint64_t)content[i + j] << (8 * j);
        h = rng_mix(h ^ word) + (uint64_t)i;
    }
    return h;
}

int task_split_of(const TaskShape *sh, const uint8_t *content)
{
    uint64_t h = content_hash(RNG_KEY(RNG_SPLIT, (uint64_t)sh->task, (uint64_t)sh->T, (uint64_t)sh->K),
                              content, sh->T);
    int decile = (int)(h % 10);
    return decile < 8 ? SPLIT_TRAIN : decile == 8 ? SPLIT_VAL : SPLIT_TEST;
}

void dataset_init(Dataset *d, const TaskShape *sh, int seed, int split, int n)
{
    d->shape = *sh;
    d->split = split;
    d->seed = seed;
    d->n = n;
    d->content = CS_ALLOC((size_t)n * (size_t)sh->T);
    for (int i = 0; i < n; i++) {
        uint8_t *c = d->content + (size_t)i * (size_t)sh->T;
        int attempt = 0;
        do {
            if (attempt == MAX_ATTEMPTS)
                cs_user_error("T %d with vocab %d has too few distinct sequences to draw a %s split "
                              "disjoint from the others (expected a larger T or vocab)",
                              sh->T, sh->K, split_names[split]);
            /* s_1..s_T uniform over the K symbols */
            Rng r = rng_stream(RNG_KEY(RNG_DATA, (uint64_t)sh->task, (uint64_t)sh->T, (uint64_t)sh->K,
                                       (uint64_t)seed, (uint64_t)split, (uint64_t)i, (uint64_t)attempt));
            for (int t = 0; t < sh->T; t++) c[t] = (uint8_t)(1 + rng_below(&r, (uint32_t)sh->K));
            attempt++;
        } while (task_split_of(sh, c) != split);
    }
}

void dataset_free(Dataset *d)
{
    free(d->content);
    d->content = NULL;
}

int task_input_symbol(const TaskShape *sh, const uint8_t *content, int t)
{
    /* s_1..s_T, then `delay` blanks, one delimiter, T blanks */
    if (t < sh->T) return content[t];
    if (t == sh->T + sh->delay) return sh->K + 1;
    return 0;
}

long dataset_count_shared(const Dataset *train, const Dataset *other)
{
    const int T = train->shape.T;
    /* open addressing over the training set's content hashes; the table is at most half full */
    size_t cap = 1;
    while (cap < 2 * (size_t)train->n) cap <<= 1;
    int *slot = CS_ALLOC(cap * sizeof *slot);
    for (size_t k = 0; k < cap; k++) slot[k] = -1;
    for (int i = 0; i < train->n; i++) {
        size_t k = content_hash(0, train->content + (size_t)i * T, T) & (cap - 1);
        while (slot[k] >= 0) k = (k + 1) & (cap - 1);
        slot[k] = i;
    }
    long shared = 0;
    for (int i = 0; i < other->n; i++) {
        const uint8_t *c = other->content + (size_t)i * T;
        for (size_t k = content_hash(0, c, T) & (cap - 1); slot[k] >= 0; k = (k + 1) & (cap - 1))
            if (memcmp(train->content + (size_t)slot[k] * T, c, (size_t)T) == 0) {
                shared++;
                break;
            }
    }
    free(slot);
    return shared;
}

void task_fill(const Dataset *d, const int *idx, int nb, real *x, int32_t *sym, uint8_t *y)
{
    const TaskShape *sh = &d->shape;
    if (x) memset(x, 0, (size_t)sh->L * nb * sh->I * sizeof *x);
    for (int b = 0; b < nb; b++) {
        const uint8_t *c = d->content + (size_t)idx[b] * sh->T;
        for (int t = 0; t < sh->L; t++) {
            const int s = task_input_symbol(sh, c, t);
            /* x[t, b, :] = onehot(s) */
            if (x) x[((size_t)t * nb + b) * sh->I + s] = 1;
            if (sym) sym[(size_t)t * nb + b] = s;
        }
        /* y[j, b] = class of s_{j+1} (symbol id − 1) */
        for (int j = 0; j < sh->n_out; j++) y[(size_t)j * nb + b] = (uint8_t)(c[j] - 1);
    }
}

void task_print(const Dataset *d, int count, FILE *out)
{
    const TaskShape *sh = &d->shape;
    for (int i = 0; i < count && i < d->n; i++) {
        const uint8_t *c = d->content + (size_t)i * sh->T;
        for (int t = 0; t < sh->L; t++) fprintf(out, t ? " %d" : "%d", task_input_symbol(sh, c, t));
        fputc('\t', out);
        for (int j = 0; j < sh->n_out; j++) fprintf(out, j ? " %d" : "%d", c[j]);
        fputc('\n', out);
    }
}
