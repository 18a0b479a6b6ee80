/* Task data (docs/method.md "Tasks" and "Splits"). A sequence is produced from a counter-based stream keyed
 * by (task, T, K, seed, split, index), so every rank and thread count sees the same data and the four
 * models of one (T, seed) see identical sequences. Which split a sequence may belong to is a fixed
 * hash of its content, so train, validation and test are disjoint by construction (and checked).
 *
 * Every task is a sequence of L steps (the longest; shorter sequences are padded at the end, which
 * changes nothing before their end in a causal model) with a scored window [out_start, L): at each
 * step of the window a sequence has a target or none (-1). */
#ifndef CS_TASK_H
#define CS_TASK_H

#include <stdint.h> /* uint8_t, int16_t, int64_t */
#include <stdio.h>  /* FILE */

#include "real.h"     /* real */
#include "rng.h"      /* Rng */
#include "settings.h" /* Settings */

enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_COUNT };
extern const char *const split_names[]; /* "train", "validation", "test" */

#define TASK_NO_TARGET (-1)

typedef struct TaskOps TaskOps;

/* The shape of one task instance.
 *   copy, copy-delay: blank 0, symbols 1..vocab, delimiter vocab+1; one-hot input of width vocab+2
 *   temporal-order:   a b c d X Y E B as ids 0..7, 4 classes at the last step
 *   ntm-copy:         dense input of 8 bits and 2 flags, 8 sigmoid outputs
 *   charlm:           a start symbol, then the characters of a piece of a line; at each step the
 *                     next character is the target, '\n' after the last */
typedef struct {
    int task;      /* index in the registry of tasks (task_kinds.h): keys the data streams */
    const char *name; /* its name in the registry */
    const TaskOps *ops;
    int T;         /* the length setting: copy T; copy-delay delay; temporal-order base length;
                      ntm-copy longest n */
    int vocab, delay;
    int S;         /* copy, copy-delay: symbols to remember */
    int len_min, len_max; /* temporal-order: sequence length; ntm-copy: vectors n */
    int L;         /* steps per sequence (the longest) */
    int I;         /* input width */
    int K;         /* output width: classes (softmax) or bits (sigmoid) */
    int bce;       /* 1: sigmoid outputs with per-bit binary cross-entropy */
    int n_out;     /* steps in the scored window [out_start, L) */
    int out_start;
    int lag;       /* copy, copy-delay: steps each symbol is held, D = S + delay + 1 (docs/method.md "Memory against
                      lag and load"); 0: the task holds no fixed load for a fixed lag */
    int hold_start, hold_end; /* the hold [hold_start, hold_end): the steps between the last symbol shown
                                 and the delimiter, or with no delay the input phase (docs/method.md "Gate
                                 statistics"); empty where lag is 0 */
    int one_hot;   /* 1: every input is one symbol (fed as an id, not a vector) */
    int cw;        /* content bytes per sequence */
    const char *text; /* charlm: the text file (the Settings' string) */
} TaskShape;

typedef struct {
    TaskShape shape;
    int split;
    int seed;
    int n;            /* sequences */
    uint8_t *content; /* (n, cw) what the sequences are made of (task-specific) */
    int distinct;     /* charlm: pieces of lines in this split; the n sequences cycle through them */
    int draw;         /* which draw of the split the content is (dataset_redraw); 0: the first */
} Dataset;

/* What a task is: one source file fills this table (copy.c, temporal.c, ntmcopy.c, charlm.c) and
 * one line of task_kinds.c names it. task.c does the rest (splits, batches, printing) through it. A
 * content is the cw bytes from which a sequence is built. */
struct TaskOps {
    const char *about;  /* one line for --help: "10 symbols after T steps" */
    const char *unit;   /* what one target is, in summaries: "symbol", "class", "bit", "character" */
    const char *scored; /* the loss is in nats per "<scored> <unit>": "copy", "scored" */
    int own_alphabet;   /* the task has its own symbols: the setting vocab does not apply */
    int uses_delay;     /* the setting delay applies */
    int uses_text;      /* sequences are the lines of the text file (setting text): there is no length to
                           test at or remember over, no bits, and the lowest validation loss selects */
    int sized;          /* a content begins with its length n (2 bytes, little-endian) */
    int short_key;      /* the data stream's key leaves out the length range (copy's data since format 1) */
    /* The shape at length T; fixed: every sequence has the longest length (an evaluation at T'). Sets
     * everything but task, ops, T, one_hot and out_start. */
    TaskShape (*shape)(const Settings *s, int T, int fixed);
    /* 0 if the length T can be used with s; else -1 and "T PROBLEM (expected ...)" in err. NULL: any. */
    int (*check_length)(const Settings *s, int T, char *err, size_t errlen);
    /* One content from r into c (cw zero bytes); NULL for a task whose data is not drawn. */
    void (*draw)(const TaskShape *sh, Rng *r, uint8_t *c);
    /* The n sequences of a split for a task whose data is not drawn (charlm: from its text): 0, or -1
     * with what is wrong with the settings in err. */
    int (*fill_split)(Dataset *d, int seed, int split, int n, char *err, size_t errlen);
    /* Steps of the sequence (≤ L); NULL: L. */
    int (*seq_len)(const TaskShape *sh, const uint8_t *c);
    /* The input at step t: a symbol id (one-hot tasks), or a vector into x (I values, zeroed). */
    int (*input_symbol)(const TaskShape *sh, const uint8_t *c, int t);
    void (*input_vector)(const TaskShape *sh, const uint8_t *c, int t, real *x);
    /* The target at step t (out_start ≤ t < L), or TASK_NO_TARGET; the number of targets (NULL: n_out). */
    int (*target_at)(const TaskShape *sh, const uint8_t *c, int t);
    int (*targets_of)(const TaskShape *sh, const uint8_t *c);
    /* One line for `copysweep data`: the inputs, a tab, the targets. */
    void (*print)(const TaskShape *sh, const uint8_t *c, FILE *out);
};

/* Generate sequences 0..n-1 of a split: 0, or -1 with what is wrong with the settings in err if the
 * split cannot be filled (d can be freed either way). */
int dataset_init(Dataset *d, const TaskShape *shape, int seed, int split, int n, char *err, size_t errlen);
void dataset_free(Dataset *d);
/* Replace d's sequences by draw `draw` of the same split: n new sequences from the stream keyed
 * (task, T, K, seed, split, index, attempt, draw), still disjoint from the other splits; draw 0 is
 * the one dataset_init made. A task whose data is not drawn (charlm) keeps its sequences. Returns 0,
 * or -1 with the reason in err. */
int dataset_redraw(Dataset *d, int draw, char *err, size_t errlen);

/* Input symbol id at step t (0 ≤ t < L) of a one-hot sequence with this content. */
int task_input_symbol(const TaskShape *shape, const uint8_t *content, int t);
/* The split a content belongs to (a fixed hash: 8 of 10 train, 1 validation, 1 test). */
int task_split_of(const TaskShape *shape, const uint8_t *content);
/* How many sequences of `other` also occur in `train` (0 means disjoint). */
long dataset_count_shared(const Dataset *train, const Dataset *other);

/* For sequences idx[0..nb): the inputs as vectors x (L, nb, I) and/or as symbol ids sym (L, nb),
 * each only if not NULL, and the targets y (n_out, nb): a class, a bit pattern (bce), or
 * TASK_NO_TARGET. Returns the number of targets. */
int64_t task_fill(const Dataset *d, const int *idx, int nb, real *x, int32_t *sym, int16_t *y);
/* Targets of sequences idx[0..nb) without building them. */
int64_t task_count_targets(const Dataset *d, const int *idx, int nb);

/* A batch as the trial hands it to the model: the sequences idx[0..B) of some data, which fill
 * writes as task_fill does for any part idx'[0..nb) of them (the model calls it for each chunk, from
 * its threads), and the number of targets of the whole batch (the loss is their mean). */
typedef struct {
    void (*fill)(const void *data, const int *idx, int nb, real *x, int32_t *sym, int16_t *y);
    const void *data;
    const int *idx;
    int B;
    int64_t targets;
} Batch;

/* The batch of sequences idx[0..B) of d. */
Batch task_batch(const Dataset *d, const int *idx, int B);
/* One line per sequence: the inputs, a tab, the targets (format in the README). */
void task_print(const Dataset *d, int count, FILE *out);

/* For the tasks' own files. The length n of a sized content. */
int task_content_n(const uint8_t *c);
/* A uniform integer in [lo, hi]. */
int task_uniform_in(Rng *r, int lo, int hi);
/* The print line of a task with a printed form per step: each step's input, separated by spaces, a
 * tab, the targets separated by spaces. */
void task_print_steps(const TaskShape *sh, const uint8_t *c, FILE *out,
                      void (*input)(const TaskShape *sh, const uint8_t *c, int t, FILE *out),
                      void (*target)(int target, FILE *out));

/* Accuracy of guessing, per scored output (symbol or bit), and the loss of the best memoryless
 * model: 1/K and log K for classes; 1/2 and log 2 per bit. */
double task_chance_acc(const TaskShape *shape);
double task_chance_loss(const TaskShape *shape);
/* 1 if the targets are uniform and independent of everything the model saw before the scored window
 * (copy, copy-delay, ntm-copy, temporal-order), so that the memoryless loss less the test loss bounds
 * what the state carries (docs/method.md "Memory in bits"); 0 for a task of text (charlm). */
int task_has_bits(const TaskShape *shape);

#endif
