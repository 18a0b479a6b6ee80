/* The tasks of SPEC: generation, splits and batches. */
#include "task.h"

#include <math.h>   /* log */
#include <stdlib.h> /* free */
#include <stdint.h> /* INT32_MAX */
#include <string.h> /* memset, memcmp, memchr */

#include "check.h" /* CS_ALLOC, cs_user_error */
#include "rng.h"   /* Rng, RNG_KEY */

const char *const split_names[] = {"train", "validation", "test", NULL};

/* A split is drawn by rejection: candidates whose content hashes to another split are skipped.
 * Validation and test each own a tenth of all sequences, so 10 attempts are expected; this many
 * failures mean the split owns (almost) no sequence at this T and K. */
#define MAX_ATTEMPTS 100000

/* temporal-order symbols */
enum { TO_A, TO_B, TO_C, TO_D, TO_X, TO_Y, TO_E, TO_END, TO_SYMBOLS, TO_PAD = 0xFF };
static const char to_letters[] = "abcdXYEB";
/* ntm-copy input channels: 8 bits, then the start and end flags */
enum { NTM_START = NTM_WIDTH, NTM_END, NTM_INPUTS };

static TaskShape copy_shape(const Settings *s, int S, int delay)
{
    TaskShape sh = {.task = s->task, .T = s->T, .vocab = s->vocab, .delay = delay, .S = S, .cw = S};
    /* s_1..s_S, delay blanks, the delimiter, S blanks */
    sh.L = 2 * S + delay + 1;
    sh.I = s->vocab + 2;
    sh.K = s->vocab;
    sh.n_out = S;
    sh.one_hot = 1;
    return sh;
}

static TaskShape shape_at(const Settings *s, int T, int fixed)
{
    TaskShape sh;
    switch (s->task) {
    case TASK_COPY_DELAY:
        /* S symbols, T−1 blanks, the delimiter, S blanks: L = T + 2S */
        sh = copy_shape(s, COPY_DELAY_SYMBOLS, T - 1);
        break;
    case TASK_TEMPORAL_ORDER:
        /* lengths T..1.1·T (Hochreiter & Schmidhuber: 100..110), the class at the last step */
        sh = (TaskShape){.task = s->task, .vocab = s->vocab, .len_min = T, .len_max = T + T / 10};
        sh.L = sh.len_max, sh.cw = sh.len_max;
        sh.I = TO_SYMBOLS, sh.K = 4, sh.n_out = sh.L - (sh.len_min - 1), sh.one_hot = 1;
        break;
    case TASK_CHARLM:
        /* the start symbol, then n ≤ T characters; n + 1 targets: the characters and '\n' */
        sh = (TaskShape){.task = s->task, .vocab = s->vocab, .len_min = 1, .len_max = T, .text = s->text};
        sh.L = T + 1, sh.cw = 2 + T;
        sh.I = CHARLM_CLASSES + 1, sh.K = CHARLM_CLASSES, sh.n_out = sh.L, sh.one_hot = 1;
        break;
    case TASK_NTM_COPY:
        /* start flag, n vectors, end flag, then the n vectors are output: L = 2n + 2 */
        sh = (TaskShape){.task = s->task, .vocab = s->vocab, .len_min = fixed ? T : 1, .len_max = T};
        sh.L = 2 * T + 2, sh.cw = 2 + T;
        sh.I = NTM_INPUTS, sh.K = NTM_WIDTH, sh.bce = 1, sh.n_out = sh.L - (sh.len_min + 2);
        break;
    default:
        sh = copy_shape(s, T, s->delay);
        break;
    }
    sh.T = T;
    sh.out_start = sh.L - sh.n_out;
    return sh;
}

TaskShape task_shape(const Settings *s) { return shape_at(s, s->T, 0); }
TaskShape task_shape_eval(const Settings *s, int T_eval) { return shape_at(s, T_eval, 1); }

/* ---- content ------------------------------------------------------------------------------ */

/* ntm-copy and charlm contents start with their length n, little-endian */
static int ntm_n(const uint8_t *c) { return c[0] | c[1] << 8; }
static int has_length(const TaskShape *sh) { return sh->task == TASK_NTM_COPY || sh->task == TASK_CHARLM; }

/* Bytes of a content that matter (the rest is padding). */
static int content_len(const TaskShape *sh, const uint8_t *c) { return has_length(sh) ? 2 + ntm_n(c) : sh->cw; }

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
    /* ntm-copy and charlm contents name their own length, so sequences of every evaluation length
     * share one split hash with training: an evaluation set never holds a training sequence */
    const uint64_t T = has_length(sh) ? 0 : (uint64_t)sh->T;
    uint64_t h = content_hash(RNG_KEY(RNG_SPLIT, (uint64_t)sh->task, T, (uint64_t)sh->K), content,
                              content_len(sh, content));
    int decile = (int)(h % 10);
    return decile < 8 ? SPLIT_TRAIN : decile == 8 ? SPLIT_VAL : SPLIT_TEST;
}

static Rng data_stream(const TaskShape *sh, int seed, int split, int i, int attempt)
{
    if (sh->task == TASK_COPY)
        return rng_stream(RNG_KEY(RNG_DATA, (uint64_t)sh->task, (uint64_t)sh->T, (uint64_t)sh->K, (uint64_t)seed,
                                  (uint64_t)split, (uint64_t)i, (uint64_t)attempt));
    return rng_stream(RNG_KEY(RNG_DATA, (uint64_t)sh->task, (uint64_t)sh->T, (uint64_t)sh->K, (uint64_t)seed,
                              (uint64_t)split, (uint64_t)i, (uint64_t)attempt, (uint64_t)sh->len_min,
                              (uint64_t)sh->len_max));
}

/* A uniform integer in [lo, hi]. */
static int uniform_in(Rng *r, int lo, int hi) { return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1)); }

static void draw_content(const TaskShape *sh, Rng *r, uint8_t *c)
{
    memset(c, 0, (size_t)sh->cw);
    if (sh->task == TASK_TEMPORAL_ORDER) {
        /* E, then a..d at random, B at the end; X or Y at t1 ∈ [T/10, T/5] and t2 ∈ [T/2, 0.6·T] */
        const int T = sh->len_min, n = uniform_in(r, sh->len_min, sh->len_max);
        for (int t = 0; t < sh->cw; t++) c[t] = t < n ? (uint8_t)rng_below(r, 4) : TO_PAD;
        c[0] = TO_E, c[n - 1] = TO_END;
        c[uniform_in(r, T / 10, T / 5)] = (uint8_t)(TO_X + rng_below(r, 2));
        c[uniform_in(r, T / 2, T / 2 + T / 10)] = (uint8_t)(TO_X + rng_below(r, 2));
    } else if (sh->task == TASK_NTM_COPY) {
        /* n ∈ [len_min, len_max] vectors of uniform random bits */
        const int n = uniform_in(r, sh->len_min, sh->len_max);
        c[0] = (uint8_t)(n & 0xFF), c[1] = (uint8_t)(n >> 8);
        for (int j = 0; j < n; j++) c[2 + j] = (uint8_t)rng_below(r, 1u << NTM_WIDTH);
    } else {
        /* s_1..s_S uniform over the K symbols */
        for (int t = 0; t < sh->S; t++) c[t] = (uint8_t)(1 + rng_below(r, (uint32_t)sh->vocab));
    }
}

/* class of a byte of text: '\n' 0, ' '..'~' 1..95 (a tab as a space), anything else 96 */
static uint8_t char_class(unsigned char ch)
{
    if (ch == '\t') ch = ' ';
    return ch == '\n' ? 0 : ch >= 32 && ch <= 126 ? (uint8_t)(ch - 31) : CHARLM_CLASSES - 1;
}

static char class_char(int cls) { return cls == 0 ? '\n' : cls < CHARLM_CLASSES - 1 ? (char)(cls + 31) : '?'; }

/* charlm: the non-empty lines of the text, cut into pieces of at most T characters; those of the
 * split, in an order shuffled by (seed, split), repeated as often as n needs. */
static void charlm_init(Dataset *d, int seed, int split, int n)
{
    const TaskShape *sh = &d->shape;
    FILE *f = fopen(sh->text, "rb");
    if (!f) cs_user_error("text '%s' cannot be read (expected the text file of charlm)", sh->text);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) CS_FAIL("open_memstream failed");
    for (int ch; (ch = fgetc(f)) != EOF;) fputc(ch, mem);
    fclose(f);
    fclose(mem);
    /* the pieces of this split: (start, length) */
    size_t cap = 64, count = 0;
    size_t (*piece)[2] = CS_ALLOC(cap * sizeof *piece);
    uint8_t *c = CS_ALLOC((size_t)sh->cw);
    for (size_t start = 0; start < len;) {
        size_t end = start;
        while (end < len && buf[end] != '\n') end++;
        size_t stop = end;
        if (stop > start && buf[stop - 1] == '\r') stop--;
        for (size_t p = start; p < stop; p += (size_t)sh->len_max) {
            const size_t m = stop - p < (size_t)sh->len_max ? stop - p : (size_t)sh->len_max;
            memset(c, 0, (size_t)sh->cw);
            c[0] = (uint8_t)(m & 0xFF), c[1] = (uint8_t)(m >> 8);
            for (size_t j = 0; j < m; j++) c[2 + j] = char_class((unsigned char)buf[p + j]);
            if (task_split_of(sh, c) != split) continue;
            if (count == cap) {
                cap *= 2;
                piece = realloc(piece, cap * sizeof *piece);
                if (!piece) CS_FAIL("out of memory");
            }
            piece[count][0] = p, piece[count][1] = m, count++;
        }
        start = end + 1;
    }
    if (count == 0)
        cs_user_error("text '%s' has no line in the %s split (expected a longer text: a tenth of its lines is "
                      "validation and a tenth test)", sh->text, split_names[split]);
    size_t *order = CS_ALLOC(count * sizeof *order);
    for (size_t i = 0; i < count; i++) order[i] = i;
    Rng r = rng_stream(RNG_KEY(RNG_DATA, (uint64_t)sh->task, 0, (uint64_t)sh->K, (uint64_t)seed, (uint64_t)split));
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = rng_below(&r, (uint32_t)(i + 1)), tmp = order[i];
        order[i] = order[j], order[j] = tmp;
    }
    for (int i = 0; i < n; i++) {
        uint8_t *ci = d->content + (size_t)i * sh->cw;
        const size_t *pc = piece[order[(size_t)i % count]];
        memset(ci, 0, (size_t)sh->cw);
        ci[0] = (uint8_t)(pc[1] & 0xFF), ci[1] = (uint8_t)(pc[1] >> 8);
        for (size_t j = 0; j < pc[1]; j++) ci[2 + j] = char_class((unsigned char)buf[pc[0] + j]);
    }
    d->distinct = count > (size_t)INT32_MAX ? INT32_MAX : (int)count;
    free(order), free(piece), free(c), free(buf);
}

void dataset_init(Dataset *d, const TaskShape *sh, int seed, int split, int n)
{
    d->shape = *sh;
    d->split = split;
    d->seed = seed;
    d->n = n;
    d->distinct = 0;
    d->content = CS_ALLOC((size_t)n * (size_t)sh->cw);
    if (sh->task == TASK_CHARLM) {
        charlm_init(d, seed, split, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        uint8_t *c = d->content + (size_t)i * (size_t)sh->cw;
        int attempt = 0;
        do {
            if (attempt == MAX_ATTEMPTS)
                cs_user_error("%s at T %d has too few distinct sequences to draw a %s split disjoint from the "
                              "others (expected a larger T or vocab)", task_names[sh->task], sh->T,
                              split_names[split]);
            Rng r = data_stream(sh, seed, split, i, attempt);
            draw_content(sh, &r, c);
            attempt++;
        } while (task_split_of(sh, c) != split);
    }
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

int task_input_symbol(const TaskShape *sh, const uint8_t *c, int t)
{
    if (sh->task == TASK_CHARLM) return t == 0 ? CHARLM_CLASSES : t <= ntm_n(c) ? c[2 + t - 1] : 0;
    if (sh->task == TASK_TEMPORAL_ORDER) return c[t] == TO_PAD ? TO_A : c[t]; /* padding: any symbol */
    /* s_1..s_S, then `delay` blanks, one delimiter, S blanks */
    if (t < sh->S) return c[t];
    if (t == sh->S + sh->delay) return sh->vocab + 1;
    return 0;
}

/* Steps of this sequence (≤ L). */
static int seq_len(const TaskShape *sh, const uint8_t *c)
{
    if (sh->task == TASK_TEMPORAL_ORDER) return (int)((const uint8_t *)memchr(c, TO_END, (size_t)sh->cw) - c) + 1;
    if (sh->task == TASK_NTM_COPY) return 2 * ntm_n(c) + 2;
    if (sh->task == TASK_CHARLM) return ntm_n(c) + 1;
    return sh->L;
}

/* XX 0, XY 1, YX 2, YY 3 from the two marked symbols in order. */
static int temporal_class(const TaskShape *sh, const uint8_t *c)
{
    int cls = 0, seen = 0;
    for (int t = 0; t < sh->cw && seen < 2; t++)
        if (c[t] == TO_X || c[t] == TO_Y) cls = 2 * cls + (c[t] == TO_Y), seen++;
    return cls;
}

/* The target at step t, or TASK_NO_TARGET. */
static int target_at(const TaskShape *sh, const uint8_t *c, int t)
{
    switch (sh->task) {
    case TASK_TEMPORAL_ORDER:
        return t == seq_len(sh, c) - 1 ? temporal_class(sh, c) : TASK_NO_TARGET;
    case TASK_NTM_COPY: {
        const int n = ntm_n(c), j = t - (n + 2);
        return j >= 0 && j < n ? c[2 + j] : TASK_NO_TARGET;
    }
    case TASK_CHARLM: /* the next character; '\n' (class 0) after the last */
        return t < ntm_n(c) ? c[2 + t] : t == ntm_n(c) ? 0 : TASK_NO_TARGET;
    default: /* class of s_{j+1} (symbol id − 1) at output step j */
        return c[t - sh->out_start] - 1;
    }
}

static int targets_of(const TaskShape *sh, const uint8_t *c)
{
    switch (sh->task) {
    case TASK_TEMPORAL_ORDER: return 1;
    case TASK_NTM_COPY: return ntm_n(c);
    case TASK_CHARLM: return ntm_n(c) + 1;
    default: return sh->n_out;
    }
}

int64_t task_count_targets(const Dataset *d, const int *idx, int nb)
{
    int64_t n = 0;
    for (int b = 0; b < nb; b++) n += targets_of(&d->shape, d->content + (size_t)idx[b] * d->shape.cw);
    return n;
}

/* x[t, :] of an ntm-copy sequence (x zeroed by the caller) */
static void ntm_input(const uint8_t *c, int t, real *x)
{
    const int n = ntm_n(c);
    if (t == 0) x[NTM_START] = 1;
    if (t == n + 1) x[NTM_END] = 1;
    if (t >= 1 && t <= n)
        for (int k = 0; k < NTM_WIDTH; k++) x[k] = (real)((c[2 + t - 1] >> k) & 1);
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
                if (xt) ntm_input(c, t, xt);
                continue;
            }
            const int s = task_input_symbol(sh, c, t);
            if (xt) xt[s] = 1; /* x_t = onehot(s) */
            if (sym) sym[(size_t)t * nb + b] = s;
        }
        for (int j = 0; j < sh->n_out; j++) {
            const int target = target_at(sh, c, sh->out_start + j);
            y[(size_t)j * nb + b] = (int16_t)target;
            targets += target != TASK_NO_TARGET;
        }
    }
    return targets;
}

static void print_bits(int v, int n, FILE *out)
{
    for (int k = 0; k < n; k++) fputc('0' + ((v >> k) & 1), out);
}

void task_print(const Dataset *d, int count, FILE *out)
{
    const TaskShape *sh = &d->shape;
    for (int i = 0; i < count && i < d->n; i++) {
        const uint8_t *c = d->content + (size_t)i * sh->cw;
        const int len = seq_len(sh, c);
        if (sh->task == TASK_CHARLM) { /* the piece of text, a tab, the targets (its characters and '\n') */
            for (int j = 0; j < ntm_n(c); j++) fputc(class_char(c[2 + j]), out);
            fprintf(out, "\t%d\n", targets_of(sh, c));
            continue;
        }
        for (int t = 0; t < len; t++) {
            if (t) fputc(' ', out);
            if (sh->task == TASK_NTM_COPY) {
                real x[NTM_INPUTS] = {0};
                ntm_input(c, t, x);
                for (int k = 0; k < NTM_INPUTS; k++) fputc(x[k] ? '1' : '0', out);
            } else if (sh->task == TASK_TEMPORAL_ORDER) {
                fputc(to_letters[c[t]], out);
            } else {
                fprintf(out, "%d", task_input_symbol(sh, c, t));
            }
        }
        fputc('\t', out);
        int first = 1;
        for (int t = sh->out_start; t < len; t++) {
            const int target = target_at(sh, c, t);
            if (target == TASK_NO_TARGET) continue;
            if (!first) fputc(' ', out);
            first = 0;
            if (sh->task == TASK_NTM_COPY)
                print_bits(target, NTM_WIDTH, out);
            else if (sh->task == TASK_TEMPORAL_ORDER)
                fprintf(out, "%c%c", target & 2 ? 'Y' : 'X', target & 1 ? 'Y' : 'X');
            else
                fprintf(out, "%d", target + 1); /* the symbol id */
        }
        fputc('\n', out);
    }
}

double task_chance_acc(const TaskShape *sh) { return sh->bce ? 0.5 : 1.0 / sh->K; }
double task_chance_loss(const TaskShape *sh) { return sh->bce ? log(2.0) : log((double)sh->K); }
int task_has_bits(const TaskShape *sh) { return sh->task != TASK_CHARLM; }
