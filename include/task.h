/* Task data (SPEC "Tasks" and "Splits"). A sequence is produced from a counter-based stream keyed
 * by (task, T, K, seed, split, index), so every rank and thread count sees the same data and the four
 * models of one (T, seed) see identical sequences. Which split a sequence may belong to is a fixed
 * hash of its content, so train, validation and test are disjoint by construction (and checked). */
#ifndef CS_TASK_H
#define CS_TASK_H

#include <stdint.h> /* uint8_t, uint64_t */
#include <stdio.h>  /* FILE */

#include "real.h"     /* real */
#include "settings.h" /* Settings */

enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_COUNT };
extern const char *const split_names[]; /* "train", "validation", "test" */

/* The shape of one task instance. For copy: blank 0, symbols 1..K, delimiter K+1. */
typedef struct {
    int task;      /* TASK_* */
    int T, K, delay;
    int L;         /* steps per sequence: 2T + delay + 1 */
    int I;         /* input width: K + 2 (one-hot) */
    int n_out;     /* scored output steps: T */
    int out_start; /* first scored step: L - n_out */
    int one_hot;   /* 1: every input is one symbol (fed as an id, not a vector) */
} TaskShape;

typedef struct {
    TaskShape shape;
    int split;
    int seed;
    int n;            /* sequences */
    uint8_t *content; /* (n, T) the symbols to remember, 1..K */
} Dataset;

TaskShape task_shape(const Settings *s);
/* Generate sequences 0..n-1 of a split. Exits with a user error if the split cannot be filled. */
void dataset_init(Dataset *d, const TaskShape *shape, int seed, int split, int n);
void dataset_free(Dataset *d);

/* Input symbol id at step t (0 ≤ t < L) of a sequence with these contents. */
int task_input_symbol(const TaskShape *shape, const uint8_t *content, int t);
/* The split a content belongs to (a fixed hash: 8 of 10 train, 1 validation, 1 test). */
int task_split_of(const TaskShape *shape, const uint8_t *content);
/* How many sequences of `other` also occur in `train` (0 means disjoint). */
long dataset_count_shared(const Dataset *train, const Dataset *other);

/* For sequences idx[0..nb): the inputs as vectors x (L, nb, I) and/or as symbol ids sym (L, nb),
 * each only if not NULL, and the target classes y (n_out, nb). */
void task_fill(const Dataset *d, const int *idx, int nb, real *x, int32_t *sym, uint8_t *y);
/* One line per sequence: the L input ids, a tab, the n_out target ids. */
void task_print(const Dataset *d, int count, FILE *out);

#endif
