/* Character-level language modelling (docs/method.md "Tasks"): the non-empty lines of a text file (the
 * setting text), cut into pieces of at most T characters. The input is a start symbol, then the
 * characters; at each step the next character is the target, '\n' after the last. Classes: '\n',
 * the 95 printable ASCII characters, and one for any other byte. A content is n, then the n classes. */
#include <stdint.h> /* INT32_MAX */
#include <stdio.h>  /* FILE, fopen, open_memstream, snprintf, fputc, fprintf */
#include <stdlib.h> /* free, realloc */
#include <string.h> /* memset */

#include "check.h" /* CS_ALLOC, CS_FAIL */
#include "task.h"

#define CHARLM_CLASSES 97

static TaskShape charlm_at(const Settings *s, int T, int fixed)
{
    (void)fixed;
    /* the start symbol, then n ≤ T characters; n + 1 targets: the characters and '\n' */
    TaskShape sh = {.vocab = s->vocab, .len_min = 1, .len_max = T, .text = s->text};
    sh.L = T + 1, sh.cw = 2 + T;
    sh.I = CHARLM_CLASSES + 1, sh.K = CHARLM_CLASSES, sh.n_out = sh.L;
    return sh;
}

static int charlm_check_length(const Settings *s, int T, char *err, size_t errlen)
{
    (void)s;
    if (T <= 10000) return 0;
    snprintf(err, errlen, "%d is too long for charlm (expected T ≤ 10000)", T);
    return -1;
}

/* class of a byte of text: '\n' 0, ' '..'~' 1..95 (a tab as a space), anything else 96 */
static uint8_t char_class(unsigned char ch)
{
    if (ch == '\t') ch = ' ';
    return ch == '\n' ? 0 : ch >= 32 && ch <= 126 ? (uint8_t)(ch - 31) : CHARLM_CLASSES - 1;
}

static char class_char(int cls) { return cls == 0 ? '\n' : cls < CHARLM_CLASSES - 1 ? (char)(cls + 31) : '?'; }

/* The whole text file, or NULL with the reason in err. */
static char *read_text(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "text '%s' cannot be read (expected the text file of charlm)", path);
        return NULL;
    }
    char *buf = NULL;
    FILE *mem = open_memstream(&buf, len);
    if (!mem) CS_FAIL("open_memstream failed");
    for (int ch; (ch = fgetc(f)) != EOF;) fputc(ch, mem);
    fclose(f);
    fclose(mem);
    return buf;
}

/* The pieces of the lines of the text, those of the split, in an order shuffled by (seed, split),
 * repeated as often as n needs. */
static int charlm_fill(Dataset *d, int seed, int split, int n, char *err, size_t errlen)
{
    const TaskShape *sh = &d->shape;
    size_t len = 0;
    char *buf = read_text(sh->text, &len, err, errlen);
    if (!buf) return -1;
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
    if (count == 0) {
        snprintf(err, errlen, "text '%s' has no line in the %s split (expected a longer text: a tenth of its "
                 "lines is validation and a tenth test)", sh->text, split_names[split]);
        free(piece), free(c), free(buf);
        return -1;
    }
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
    return 0;
}

static int charlm_len(const TaskShape *sh, const uint8_t *c)
{
    (void)sh;
    return task_content_n(c) + 1;
}

/* the start symbol, the characters, then class 0 as padding */
static int charlm_input(const TaskShape *sh, const uint8_t *c, int t)
{
    (void)sh;
    return t == 0 ? CHARLM_CLASSES : t <= task_content_n(c) ? c[2 + t - 1] : 0;
}

/* the next character; '\n' (class 0) after the last */
static int charlm_target(const TaskShape *sh, const uint8_t *c, int t)
{
    (void)sh;
    const int n = task_content_n(c);
    return t < n ? c[2 + t] : t == n ? 0 : TASK_NO_TARGET;
}

static int charlm_targets(const TaskShape *sh, const uint8_t *c) { return charlm_len(sh, c); }

/* the piece of text, a tab, the number of targets (its characters and '\n') */
static void charlm_print(const TaskShape *sh, const uint8_t *c, FILE *out)
{
    for (int j = 0; j < task_content_n(c); j++) fputc(class_char(c[2 + j]), out);
    fprintf(out, "\t%d\n", charlm_targets(sh, c));
}

const TaskOps charlm_ops = {
    .about = "next character of the lines of --text",
    .unit = "character",
    .scored = "scored",
    .own_alphabet = 1,
    .uses_text = 1,
    .sized = 1,
    .shape = charlm_at,
    .check_length = charlm_check_length,
    .fill_split = charlm_fill,
    .seq_len = charlm_len,
    .input_symbol = charlm_input,
    .target_at = charlm_target,
    .targets_of = charlm_targets,
    .print = charlm_print,
};
