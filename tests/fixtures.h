/* What the gradient check and the PyTorch cross-check both build: models with perturbed weights, and
 * random dense inputs. */
#ifndef CS_TESTS_FIXTURES_H
#define CS_TESTS_FIXTURES_H

#include <stdint.h> /* uint64_t */

#include "model.h" /* Workspace, Acts */
#include "rng.h"   /* Rng, rng_* */

/* A model of this kind for the shape sh with the settings' initial weights, each moved by
 * U(-0.1, 0.1) from the test stream (key, task) so that no weight sits at a special value. */
static inline void make_model(Model *m, int kind, const TaskShape *sh, Settings *s, uint64_t key)
{
    s->model = kind;
    model_init(m, kind, sh, s->hidden, s->layers, s->embed);
    model_init_weights(m, s);
    Rng r = rng_stream(RNG_KEY(RNG_TEST, key, (uint64_t)sh->task));
    for (size_t i = 0; i < m->n_params; i++) m->mem[i] += (real)(0.2 * (rng_uniform(&r) - 0.5));
}

/* Chunk 0 of w: inputs x ~ N(0, scale²) for B sequences of shape sh, and uniform random targets,
 * from the test stream key. */
static inline void fill_random_dense(Workspace *w, const TaskShape *sh, int B, uint64_t key, double scale)
{
    Acts *a = &w->acts[0];
    Rng r = rng_stream(RNG_KEY(RNG_TEST, key));
    for (size_t i = 0; i < (size_t)sh->L * B * sh->I; i++) a->layer[0].x[i] = (real)(rng_normal(&r) * scale);
    for (size_t i = 0; i < (size_t)sh->n_out * B; i++) a->y[i] = (int16_t)rng_below(&r, (uint32_t)sh->K);
}

#endif
