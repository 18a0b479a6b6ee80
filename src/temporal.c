/* The temporal-order task (Hochreiter & Schmidhuber 1997; docs/method.md "Tasks"): a sequence of T..1.1·T
 * symbols a b c d, two of which are X or Y; the class (XX, XY, YX, YY) is the target at the last
 * step. Symbols a b c d X Y E B are the ids 0..7. A content is the sequence, padded with TO_PAD. */
#include <stdio.h>  /* snprintf, fputc, fprintf */
#include <string.h> /* memchr */

#include "task.h"

enum { TO_A, TO_B, TO_C, TO_D, TO_X, TO_Y, TO_E, TO_END, TO_SYMBOLS, TO_PAD = 0xFF };
static const char to_letters[] = "abcdXYEB";

/* lengths T..1.1·T (Hochreiter & Schmidhuber: 100..110), the class at the last step */
static TaskShape temporal_at(const Settings *s, int T, int fixed)
{
    (void)fixed;
    TaskShape sh = {.vocab = s->vocab, .len_min = T, .len_max = T + T / 10};
    sh.L = sh.len_max, sh.cw = sh.len_max;
    sh.I = TO_SYMBOLS, sh.K = 4, sh.n_out = sh.L - (sh.len_min - 1);
    return sh;
}

static int temporal_check_length(const Settings *s, int T, char *err, size_t errlen)
{
    (void)s;
    if (T >= 10) return 0;
    snprintf(err, errlen, "%d is too short for temporal-order (expected T ≥ 10: the marks sit at T/10..T/5 and "
             "T/2..0.6·T)", T);
    return -1;
}

/* E, then a..d at random, B at the end; X or Y at t1 ∈ [T/10, T/5] and t2 ∈ [T/2, 0.6·T] */
static void temporal_draw(const TaskShape *sh, Rng *r, uint8_t *c)
{
    const int T = sh->len_min, n = task_uniform_in(r, sh->len_min, sh->len_max);
    for (int t = 0; t < sh->cw; t++) c[t] = t < n ? (uint8_t)rng_below(r, 4) : TO_PAD;
    c[0] = TO_E, c[n - 1] = TO_END;
    c[task_uniform_in(r, T / 10, T / 5)] = (uint8_t)(TO_X + rng_below(r, 2));
    c[task_uniform_in(r, T / 2, T / 2 + T / 10)] = (uint8_t)(TO_X + rng_below(r, 2));
}

static int temporal_len(const TaskShape *sh, const uint8_t *c)
{
    return (int)((const uint8_t *)memchr(c, TO_END, (size_t)sh->cw) - c) + 1;
}

/* padding: any symbol */
static int temporal_input(const TaskShape *sh, const uint8_t *c, int t)
{
    (void)sh;
    return c[t] == TO_PAD ? TO_A : c[t];
}

/* XX 0, XY 1, YX 2, YY 3 from the two marked symbols in order. */
static int temporal_class(const TaskShape *sh, const uint8_t *c)
{
    int cls = 0, seen = 0;
    for (int t = 0; t < sh->cw && seen < 2; t++)
        if (c[t] == TO_X || c[t] == TO_Y) cls = 2 * cls + (c[t] == TO_Y), seen++;
    return cls;
}

static int temporal_target(const TaskShape *sh, const uint8_t *c, int t)
{
    return t == temporal_len(sh, c) - 1 ? temporal_class(sh, c) : TASK_NO_TARGET;
}

static int one_target(const TaskShape *sh, const uint8_t *c)
{
    (void)sh, (void)c;
    return 1;
}

static void print_input(const TaskShape *sh, const uint8_t *c, int t, FILE *out)
{
    (void)sh;
    fputc(to_letters[c[t]], out);
}

static void print_target(int target, FILE *out)
{
    fprintf(out, "%c%c", target & 2 ? 'Y' : 'X', target & 1 ? 'Y' : 'X');
}

static void temporal_print(const TaskShape *sh, const uint8_t *c, FILE *out)
{
    task_print_steps(sh, c, out, print_input, print_target);
}

const TaskOps temporal_order_ops = {
    .about = "class of a sequence of length T..1.1T",
    .unit = "class",
    .scored = "scored",
    .own_alphabet = 1,
    .shape = temporal_at,
    .check_length = temporal_check_length,
    .draw = temporal_draw,
    .seq_len = temporal_len,
    .input_symbol = temporal_input,
    .target_at = temporal_target,
    .targets_of = one_target,
    .print = temporal_print,
};
