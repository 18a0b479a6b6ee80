/* The copy task of the Neural Turing Machine (Graves et al. 2014; docs/method.md "Tasks"): a start flag, n
 * vectors of 8 random bits, an end flag, then the n vectors are to be output as 8 sigmoid bits. The
 * input is dense: 8 bits and the two flags. A content is n, then the n vectors as bytes. */
#include <stdio.h> /* snprintf, fputc */

#include "task.h"

#define NTM_WIDTH 8 /* bits per vector */
/* input channels: 8 bits, then the start and end flags */
enum { NTM_START = NTM_WIDTH, NTM_END, NTM_INPUTS };

/* start flag, n vectors, end flag, then the n vectors are output: L = 2n + 2 */
static TaskShape ntm_at(const Settings *s, int T, int fixed)
{
    TaskShape sh = {.vocab = s->vocab, .len_min = fixed ? T : 1, .len_max = T};
    sh.L = 2 * T + 2, sh.cw = 2 + T;
    sh.I = NTM_INPUTS, sh.K = NTM_WIDTH, sh.bce = 1, sh.n_out = sh.L - (sh.len_min + 2);
    return sh;
}

static int ntm_check_length(const Settings *s, int T, char *err, size_t errlen)
{
    (void)s;
    if (T <= 10000) return 0;
    snprintf(err, errlen, "%d is too long for ntm-copy (expected T ≤ 10000)", T);
    return -1;
}

/* n ∈ [len_min, len_max] vectors of uniform random bits */
static void ntm_draw(const TaskShape *sh, Rng *r, uint8_t *c)
{
    const int n = task_uniform_in(r, sh->len_min, sh->len_max);
    c[0] = (uint8_t)(n & 0xFF), c[1] = (uint8_t)(n >> 8);
    for (int j = 0; j < n; j++) c[2 + j] = (uint8_t)rng_below(r, 1u << NTM_WIDTH);
}

static int ntm_len(const TaskShape *sh, const uint8_t *c)
{
    (void)sh;
    return 2 * task_content_n(c) + 2;
}

/* x[t, :] (zeroed by the caller) */
static void ntm_input(const TaskShape *sh, const uint8_t *c, int t, real *x)
{
    (void)sh;
    const int n = task_content_n(c);
    if (t == 0) x[NTM_START] = 1;
    if (t == n + 1) x[NTM_END] = 1;
    if (t >= 1 && t <= n)
        for (int k = 0; k < NTM_WIDTH; k++) x[k] = (real)((c[2 + t - 1] >> k) & 1);
}

/* vector j at step n + 2 + j */
static int ntm_target(const TaskShape *sh, const uint8_t *c, int t)
{
    (void)sh;
    const int n = task_content_n(c), j = t - (n + 2);
    return j >= 0 && j < n ? c[2 + j] : TASK_NO_TARGET;
}

static int ntm_targets(const TaskShape *sh, const uint8_t *c)
{
    (void)sh;
    return task_content_n(c);
}

static void print_bits(int v, int n, FILE *out)
{
    for (int k = 0; k < n; k++) fputc('0' + ((v >> k) & 1), out);
}

static void print_input(const TaskShape *sh, const uint8_t *c, int t, FILE *out)
{
    real x[NTM_INPUTS] = {0};
    ntm_input(sh, c, t, x);
    for (int k = 0; k < NTM_INPUTS; k++) fputc(x[k] ? '1' : '0', out);
}

static void print_target(int target, FILE *out) { print_bits(target, NTM_WIDTH, out); }

static void ntm_print(const TaskShape *sh, const uint8_t *c, FILE *out)
{
    task_print_steps(sh, c, out, print_input, print_target);
}

const TaskOps ntm_copy_ops = {
    .about = "up to T binary vectors to copy",
    .unit = "bit",
    .scored = "scored",
    .own_alphabet = 1,
    .sized = 1,
    .shape = ntm_at,
    .check_length = ntm_check_length,
    .draw = ntm_draw,
    .seq_len = ntm_len,
    .input_vector = ntm_input,
    .target_at = ntm_target,
    .targets_of = ntm_targets,
    .print = ntm_print,
};
