/* The copy task and copy-delay (docs/method.md "Tasks"): S symbols, blanks, a delimiter, then the S symbols
 * are to be output. Symbols: blank 0, data 1..vocab, delimiter vocab+1; one-hot input of width
 * vocab+2. A content is s_1..s_S. */
#include <math.h>  /* log, pow */
#include <stdio.h> /* snprintf, fprintf */

#include "task.h"

#define COPY_DELAY_SYMBOLS 10 /* S of copy-delay */

static TaskShape copy_shape(const Settings *s, int S, int delay)
{
    TaskShape sh = {.vocab = s->vocab, .delay = delay, .S = S, .cw = S};
    /* s_1..s_S, delay blanks, the delimiter, S blanks */
    sh.L = 2 * S + delay + 1;
    sh.I = s->vocab + 2;
    sh.K = s->vocab;
    sh.n_out = S;
    /* symbol j shown at step j − 1 is asked for at step S + delay + j */
    sh.lag = S + delay + 1;
    sh.hold_start = delay ? S : 0;
    sh.hold_end = delay ? S + delay : S;
    return sh;
}

static TaskShape copy_at(const Settings *s, int T, int fixed)
{
    (void)fixed;
    return copy_shape(s, T, s->delay);
}

/* S symbols, T−1 blanks, the delimiter, S blanks: L = T + 2S */
static TaskShape copy_delay_at(const Settings *s, int T, int fixed)
{
    (void)fixed;
    return copy_shape(s, COPY_DELAY_SYMBOLS, T - 1);
}

/* disjoint splits need distinct sequences: each split owns a fixed tenth of the K^T of them */
static int copy_check_length(const Settings *s, int T, char *err, size_t errlen)
{
    if (T * log((double)s->vocab) >= log(100.0)) return 0;
    snprintf(err, errlen, "%d with vocab %d gives only %.0f distinct sequences (expected vocab^T ≥ 100, so that "
             "train, validation and test can be disjoint)", T, s->vocab, pow(s->vocab, T));
    return -1;
}

/* s_1..s_S uniform over the K symbols */
static void copy_draw(const TaskShape *sh, Rng *r, uint8_t *c)
{
    for (int t = 0; t < sh->S; t++) c[t] = (uint8_t)(1 + rng_below(r, (uint32_t)sh->vocab));
}

/* s_1..s_S, then `delay` blanks, one delimiter, S blanks */
static int copy_input(const TaskShape *sh, const uint8_t *c, int t)
{
    if (t < sh->S) return c[t];
    if (t == sh->S + sh->delay) return sh->vocab + 1;
    return 0;
}

/* class of s_{j+1} (symbol id − 1) at output step j */
static int copy_target(const TaskShape *sh, const uint8_t *c, int t) { return c[t - sh->out_start] - 1; }

static void print_input(const TaskShape *sh, const uint8_t *c, int t, FILE *out)
{
    fprintf(out, "%d", copy_input(sh, c, t));
}

static void print_target(int target, FILE *out) { fprintf(out, "%d", target + 1); /* the symbol id */ }

static void copy_print(const TaskShape *sh, const uint8_t *c, FILE *out)
{
    task_print_steps(sh, c, out, print_input, print_target);
}

const TaskOps copy_ops = {
    .about = "T symbols to copy after a delimiter",
    .unit = "symbol",
    .scored = "copy",
    .uses_delay = 1,
    .short_key = 1,
    .shape = copy_at,
    .check_length = copy_check_length,
    .draw = copy_draw,
    .input_symbol = copy_input,
    .target_at = copy_target,
    .print = copy_print,
};

const TaskOps copy_delay_ops = {
    .about = "10 symbols to copy after T steps",
    .unit = "symbol",
    .scored = "copy",
    .shape = copy_delay_at,
    .draw = copy_draw,
    .input_symbol = copy_input,
    .target_at = copy_target,
    .print = copy_print,
};
