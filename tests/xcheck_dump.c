/* Writes the fixture of the PyTorch cross-check (tests/xcheck.py): for each model, dense random
 * inputs in one chunk, and each task's batches through model_batch in two chunks: the inputs,
 * targets (-1 where a step is not scored; bit patterns for ntm-copy), weights under their
 * names in docs/method.md, and the loss and gradients computed here in double. Usage: xcheck_dump_f64 FILE.h5 */
#include <hdf5.h>   /* H5F*, H5G*, H5D* */
#include <stdio.h>  /* fprintf */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* memcpy, strcmp */

#include "settings_table.h" /* settings_default */
#include "model_kinds.h"     /* model_kinds, model_find */
#include "fixtures.h"  /* fill_random_dense */
#include "batchmath.h" /* bm_setup_threads */
#include "model.h"     /* Model, Workspace, model_* */
#include "results.h"   /* results_write_tensors */
#include "rng.h"       /* Rng */
#include "task.h"      /* Dataset, task_fill */
#include "task_kinds.h"     /* task_find, task_kinds */

static int failed;
static hid_t ok(hid_t r, const char *what)
{
    if (r < 0) fprintf(stderr, "xcheck_dump: %s failed\n", what), failed = 1;
    return r;
}

static void write_case(hid_t file, const char *name, const Model *m, const TaskShape *sh, int B,
                       const real *x, const int16_t *y, double loss, const real *grad)
{
    hid_t g = ok(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
    hsize_t xd[3] = {(hsize_t)sh->L, (hsize_t)B, (hsize_t)sh->I}, yd[2] = {(hsize_t)sh->n_out, (hsize_t)B};
    hid_t s = ok(H5Screate_simple(3, xd, NULL), "space x");
    hid_t d = ok(H5Dcreate2(g, "x", H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "x");
    ok(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), "write x");
    H5Dclose(d), H5Sclose(s);
    s = ok(H5Screate_simple(2, yd, NULL), "space y");
    d = ok(H5Dcreate2(g, "y", H5T_NATIVE_INT16, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "y");
    ok(H5Dwrite(d, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, y), "write y");
    H5Dclose(d), H5Sclose(s);
    s = ok(H5Screate(H5S_SCALAR), "scalar");
    hid_t a = ok(H5Acreate2(g, "loss", H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT), "loss");
    ok(H5Awrite(a, H5T_NATIVE_DOUBLE, &loss), "write loss");
    H5Aclose(a);
    a = ok(H5Acreate2(g, "out_start", H5T_NATIVE_INT, s, H5P_DEFAULT, H5P_DEFAULT), "out_start");
    ok(H5Awrite(a, H5T_NATIVE_INT, &sh->out_start), "write out_start");
    H5Aclose(a);
    a = ok(H5Acreate2(g, "bce", H5T_NATIVE_INT, s, H5P_DEFAULT, H5P_DEFAULT), "bce");
    ok(H5Awrite(a, H5T_NATIVE_INT, &sh->bce), "write bce");
    H5Aclose(a);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, 16);
    char model[16] = {0};
    snprintf(model, sizeof model, "%s", model_kinds[m->kind].name);
    a = ok(H5Acreate2(g, "model", st, s, H5P_DEFAULT, H5P_DEFAULT), "model");
    ok(H5Awrite(a, st, model), "write model");
    H5Aclose(a);
    char gates[16] = {0}; /* the cell's gate letters and whether it is multiplicative, for the reference */
    snprintf(gates, sizeof gates, "%s", m->ops->gates);
    a = ok(H5Acreate2(g, "gates", st, s, H5P_DEFAULT, H5P_DEFAULT), "gates");
    ok(H5Awrite(a, st, gates), "write gates");
    H5Aclose(a);
    a = ok(H5Acreate2(g, "mult", H5T_NATIVE_INT, s, H5P_DEFAULT, H5P_DEFAULT), "mult");
    ok(H5Awrite(a, H5T_NATIVE_INT, &m->mult), "write mult");
    H5Aclose(a), H5Tclose(st), H5Sclose(s);
    hid_t pg = ok(H5Gcreate2(g, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "params");
    hid_t gg = ok(H5Gcreate2(g, "grads", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "grads");
    Tensor t[MODEL_MAX_TENSORS];
    const int n = model_tensors(m, t);
    if (results_write_tensors(pg, t, n, m->mem) || results_write_tensors(gg, t, n, grad)) failed = 1;
    H5Gclose(pg), H5Gclose(gg), H5Gclose(g);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: xcheck_dump_f64 FILE.h5\n");
        return 2;
    }
    bm_setup_threads(1);
    const int B = 4, H = 7;
    Settings s;
    settings_default(&s);
    s.T = 6, s.vocab = 5, s.hidden = H, s.batch = B, s.seed = 11, s.mult_init = 0.3;
    hid_t file = ok(H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), argv[1]);
    char name[64];

    /* dense random inputs, one chunk */
    TaskShape dense = task_shape(&s);
    dense.one_hot = 0;
    for (int kind = 0; kind < model_count; kind++) {
        Model m;
        make_model(&m, kind, &dense, &s, 100 + (uint64_t)kind);
        Workspace w;
        workspace_init(&w, &m, &dense, B, B, 0, NULL);
        fill_random_dense(&w, &dense, B, 200 + (uint64_t)kind, 1.0);
        Acts *a = &w.acts[0];
        Metrics met = {0};
        model_prepare(&m, &w);
        model_forward(&m, a, B);
        model_score(&m, a, B, &met);
        model_backward(&m, a, B, (real)(1.0 / met.symbols));
        snprintf(name, sizeof name, "%s_dense", model_kinds[kind].name);
        write_case(file, name, &m, &dense, B, a->layer[0].x, a->y, met.loss / met.symbols, a->grad);
        workspace_free(&w);
        model_free(&m);
    }

    /* every task's batches through model_batch, chunks of 3 and 1; then stacks of layers; then a
     * stack with dropout in one chunk, whose masks go into the fixture */
    char text[64];
    snprintf(text, sizeof text, "%s.txt", argv[1]);
    FILE *f = fopen(text, "w");
    for (int i = 0; i < 80; i++) fprintf(f, "%s %d\n", i % 3 ? "a line" : "another, longer line", i);
    fclose(f);
    const struct { const char *task; int T, vocab, layers; double dropout; int embed; } tasks[] = {
        {"copy", 6, 5, 1, 0, 0}, {"copy-delay", 4, 5, 1, 0, 0}, {"temporal-order", 10, 8, 1, 0, 0},
        {"ntm-copy", 4, 8, 1, 0, 0}, {"charlm", 9, 8, 1, 0, 0}, {"copy", 4, 5, 3, 0, 0},
        {"ntm-copy", 3, 8, 2, 0, 0}, {"copy", 4, 5, 2, 0.4, 0}, {"copy", 6, 5, 1, 0, 3},
        {"temporal-order", 10, 8, 2, 0.4, 4}};
    for (size_t k = 0; k < sizeof tasks / sizeof tasks[0]; k++) {
        s.task = task_find(tasks[k].task), s.T = tasks[k].T, s.vocab = tasks[k].vocab, s.layers = tasks[k].layers;
        s.embed = tasks[k].embed; /* x_t = E[s_t]; the fixture's x stays one-hot, and x·E is the embedding */
        s.chrono = !strcmp(task_kinds[s.task].name, "copy-delay") ? 30 : 0; /* chrono biases in one case */
        snprintf(s.text, sizeof s.text, "%s", !strcmp(task_kinds[s.task].name, "charlm") ? text : "none");
        const double p = tasks[k].dropout;
        TaskShape sh = task_shape(&s);
        Dataset d;
        dataset_init(&d, &sh, s.seed, SPLIT_TRAIN, B, NULL, 0);
        for (int kind = 0; kind < model_count; kind++) {
            Model m;
            make_model(&m, kind, &sh, &s, 100 + (uint64_t)kind);
            Workspace w;
            workspace_init(&w, &m, &sh, B, p > 0 ? B : 3, p, NULL);
            real *x = malloc((size_t)sh.L * B * sh.I * sizeof *x), *grad = malloc(m.n_params * sizeof *grad);
            int16_t *y = malloc((size_t)sh.n_out * B * sizeof *y);
            int idx[4] = {0, 1, 2, 3};
            task_fill(&d, idx, B, x, NULL, y);
            Metrics met = {0};
            const Batch b = task_batch(&d, idx, B);
            model_batch(&m, &w, &b, p > 0 ? 777 : 0, &met, NULL, grad, NULL);
            snprintf(name, sizeof name, "%s_%s%s%s", model_kinds[kind].name, task_kinds[s.task].name, s.embed ? "_embed" : "",
                     p > 0 ? "_dropout" : s.layers > 1 ? "_stack" : "");
            write_case(file, name, &m, &sh, B, x, y, met.loss / met.symbols, grad);
            if (p > 0) { /* masks/layer<k> (L, B, H) on the input of layer k ≥ 2, masks/out (N, B, H) */
                hid_t g = ok(H5Gopen2(file, name, H5P_DEFAULT), name);
                hid_t mg = ok(H5Gcreate2(g, "masks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "masks");
                const Acts *a = &w.acts[0];
                for (int l = 1; l <= s.layers; l++) {
                    const int steps = l < s.layers ? sh.L : sh.n_out;
                    hsize_t dims[3] = {(hsize_t)steps, (hsize_t)B, (hsize_t)s.hidden};
                    char mname[16];
                    snprintf(mname, sizeof mname, l < s.layers ? "layer%d" : "out", l + 1);
                    hid_t sp = ok(H5Screate_simple(3, dims, NULL), "mask space");
                    hid_t ds = ok(H5Dcreate2(mg, mname, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), mname);
                    ok(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                l < s.layers ? a->layer[l].mask : a->mask_out), "write mask");
                    H5Dclose(ds), H5Sclose(sp);
                }
                H5Gclose(mg), H5Gclose(g);
            }
            free(x), free(grad), free(y);
            workspace_free(&w);
            model_free(&m);
        }
        dataset_free(&d);
    }
    s.layers = 1, s.embed = 0;
    remove(text);
    ok(H5Fclose(file), "close");
    return failed;
}
