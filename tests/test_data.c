/* Data and metrics: the sequence layout of every task, disjoint splits (and that the overlap counter
 * would see an overlap), evaluation sets disjoint from training, identical data for every model
 * of one (T, seed), and the chance arithmetic of docs/method.md on the metrics code. */
#include <math.h>   /* fabs, log, exp, cos, nextafter, sqrt */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* memcmp, memcpy, memset */
#include <unistd.h> /* getpid */

#include "settings_table.h" /* settings_default */
#include "model_kinds.h"     /* model_kinds, model_find */
#include "batchmath.h" /* bm_setup_threads */
#include "detmath.h"   /* dm_log, dm_exp, dm_cos2pi */
#include "rng.h"       /* Rng, RNG_KEY */
#include "model.h"     /* Model, Workspace, model_batch */
#include "task.h"      /* Dataset */
#include "task_kinds.h"     /* task_find, task_kinds */
#include "expect.h"  /* EXPECT, failures */


static void test_layout(void)
{
    Settings s;
    settings_default(&s);
    s.T = 7, s.delay = 3, s.vocab = 6;
    TaskShape sh = task_shape(&s);
    EXPECT(sh.L == 2 * 7 + 3 + 1 && sh.I == 8 && sh.n_out == 7 && sh.out_start == sh.L - 7,
           "shape L=%d I=%d N=%d start=%d", sh.L, sh.I, sh.n_out, sh.out_start);
    Dataset d;
    dataset_init(&d, &sh, 3, SPLIT_TEST, 50, NULL, 0);
    for (int i = 0; i < d.n; i++) {
        const uint8_t *c = d.content + (size_t)i * sh.cw;
        for (int t = 0; t < sh.L; t++) {
            int sym = task_input_symbol(&sh, c, t);
            int want = t < 7 ? c[t] : t == 7 + 3 ? 6 + 1 : 0;
            EXPECT(sym == want, "sequence %d step %d: symbol %d, expected %d", i, t, sym, want);
            if (t < 7) EXPECT(sym >= 1 && sym <= 6, "data symbol %d outside 1..K", sym);
        }
    }
    /* the one-hot batch and its targets */
    int idx[3] = {4, 0, 9};
    real *x = malloc((size_t)sh.L * 3 * sh.I * sizeof *x);
    int16_t *y = malloc((size_t)sh.n_out * 3 * sizeof *y);
    int32_t sym[3 * 64];
    EXPECT(task_fill(&d, idx, 3, x, sym, y) == 3 * 7, "copy: every output step has a target");
    for (int b = 0; b < 3; b++) {
        const uint8_t *c = d.content + (size_t)idx[b] * sh.cw;
        for (int t = 0; t < sh.L; t++) {
            const real *row = x + ((size_t)t * 3 + b) * sh.I;
            double sum = 0;
            for (int k = 0; k < sh.I; k++) sum += row[k];
            EXPECT(sum == 1 && row[task_input_symbol(&sh, c, t)] == 1, "x[%d,%d] is not one-hot", t, b);
            EXPECT(sym[(size_t)t * 3 + b] == task_input_symbol(&sh, c, t), "sym[%d,%d]", t, b);
        }
        for (int j = 0; j < sh.n_out; j++)
            EXPECT(y[(size_t)j * 3 + b] == c[j] - 1, "target %d of row %d", j, b);
    }
    free(x), free(y);
    dataset_free(&d);
}

static void test_splits(void)
{
    /* few distinct sequences (K^T = 4^4 = 256): random draws would collide, the splits must not */
    const int Ts[] = {4, 10, 100}, Ks[] = {4, 8, 8}, sizes[] = {400, 2000, 2000};
    for (int c = 0; c < 3; c++) {
        Settings s;
        settings_default(&s);
        s.T = Ts[c], s.vocab = Ks[c];
        TaskShape sh = task_shape(&s);
        Dataset d[SPLIT_COUNT];
        for (int k = 0; k < SPLIT_COUNT; k++) dataset_init(&d[k], &sh, 5, k, sizes[c], NULL, 0);
        long tv = dataset_count_shared(&d[SPLIT_TRAIN], &d[SPLIT_VAL]);
        long tt = dataset_count_shared(&d[SPLIT_TRAIN], &d[SPLIT_TEST]);
        long vt = dataset_count_shared(&d[SPLIT_VAL], &d[SPLIT_TEST]);
        EXPECT(tv == 0 && tt == 0 && vt == 0, "T=%d K=%d: shared train/val %ld, train/test %ld, val/test %ld",
               Ts[c], Ks[c], tv, tt, vt);
        for (int k = 0; k < SPLIT_COUNT; k++)
            for (int i = 0; i < d[k].n; i++)
                EXPECT(task_split_of(&sh, d[k].content + (size_t)i * sh.cw) == k, "sequence in wrong split");
        /* the counter sees overlap: a split shares all of itself with itself */
        EXPECT(dataset_count_shared(&d[SPLIT_TEST], &d[SPLIT_TEST]) == d[SPLIT_TEST].n, "self-overlap");
        printf("  splits T=%d K=%d: %d sequences each, shared 0/0/0\n", Ts[c], Ks[c], sizes[c]);
        for (int k = 0; k < SPLIT_COUNT; k++) dataset_free(&d[k]);
    }
}

static void test_same_data_for_all_models(void)
{
    Settings s;
    settings_default(&s);
    s.T = 20;
    Dataset ref[SPLIT_COUNT];
    for (int model = 0; model < model_count; model++) {
        s.model = model;
        s.hidden = 16 * (model + 1); /* other settings of the model do not change the data either */
        TaskShape sh = task_shape(&s);
        for (int k = 0; k < SPLIT_COUNT; k++) {
            Dataset d;
            dataset_init(&d, &sh, s.seed, k, 300, NULL, 0);
            if (model == 0) {
                ref[k] = d;
                continue;
            }
            EXPECT(memcmp(d.content, ref[k].content, (size_t)300 * s.T) == 0,
                   "model %s sees other %s data", model_kinds[model].name, split_names[k]);
            dataset_free(&d);
        }
    }
    /* another seed gives other data */
    TaskShape sh = task_shape(&s);
    Dataset other;
    dataset_init(&other, &sh, s.seed + 1, SPLIT_TRAIN, 300, NULL, 0);
    EXPECT(memcmp(other.content, ref[SPLIT_TRAIN].content, (size_t)300 * s.T) != 0, "seeds give equal data");
    dataset_free(&other);
    for (int k = 0; k < SPLIT_COUNT; k++) dataset_free(&ref[k]);
    printf("  every registered model draws identical train/validation/test sequences for one (T, seed)\n");
}

static int content_width; /* for cmp_content */
static int cmp_content(const void *a, const void *b) { return memcmp(a, b, (size_t)content_width); }

/* Fresh training data (train-data = fresh): epoch e trains on draw e − 1 of the training split. The
 * bound: at T = 20 (8^20 sequences) no sequence occurs twice in 60 draws of 1,280 (a repeat has
 * probability about 3e-9), every draw is disjoint from validation and test, draw 0 is what
 * dataset_init made, and a draw is the same whenever it is made again (a resumed trial). Where the
 * split holds few sequences (T = 4, K = 4) draws still differ from one another and stay disjoint. */
static void test_fresh_draws(void)
{
    Settings s;
    settings_default(&s);
    s.T = 20;
    TaskShape sh = task_shape(&s);
    const int n = 1280, E = 60;
    Dataset train, val, test;
    dataset_init(&train, &sh, 7, SPLIT_TRAIN, n, NULL, 0);
    dataset_init(&val, &sh, 7, SPLIT_VAL, 512, NULL, 0);
    dataset_init(&test, &sh, 7, SPLIT_TEST, 512, NULL, 0);
    uint8_t *first = malloc((size_t)n * sh.cw), *all = malloc((size_t)E * n * sh.cw);
    memcpy(first, train.content, (size_t)n * sh.cw);
    long shared = 0;
    for (int e = 0; e < E; e++) {
        char err[256];
        EXPECT(dataset_redraw(&train, e, err, sizeof err) == 0 && train.draw == e, "draw %d: %s", e, err);
        memcpy(all + (size_t)e * n * sh.cw, train.content, (size_t)n * sh.cw);
        shared += dataset_count_shared(&train, &val) + dataset_count_shared(&train, &test);
    }
    EXPECT(shared == 0, "%ld validation or test sequences in fresh training draws", shared);
    EXPECT(memcmp(all, first, (size_t)n * sh.cw) == 0, "draw 0 differs from the dataset first made");
    dataset_redraw(&train, 17, NULL, 0);
    EXPECT(memcmp(train.content, all + (size_t)17 * n * sh.cw, (size_t)n * sh.cw) == 0, "draw 17 made twice differs");
    content_width = sh.cw;
    qsort(all, (size_t)E * n, (size_t)sh.cw, cmp_content);
    long repeats = 0;
    for (long i = 1; i < (long)E * n; i++) repeats += memcmp(all + i * sh.cw, all + (i - 1) * sh.cw, sh.cw) == 0;
    EXPECT(repeats == 0, "%ld repeated sequences in %d fresh draws of %d at T = 20", repeats, E, n);
    printf("  fresh training data: %d draws of %d sequences at T = 20, %ld repeats, none in validation or test\n", E, n,
           repeats);
    free(first), free(all);
    dataset_free(&train), dataset_free(&val), dataset_free(&test);

    s.T = 4, s.vocab = 4; /* 256 sequences, about 205 of them in the training split */
    sh = task_shape(&s);
    dataset_init(&train, &sh, 7, SPLIT_TRAIN, 100, NULL, 0);
    dataset_init(&test, &sh, 7, SPLIT_TEST, 20, NULL, 0);
    uint8_t *draw0 = malloc((size_t)100 * sh.cw);
    memcpy(draw0, train.content, (size_t)100 * sh.cw);
    dataset_redraw(&train, 1, NULL, 0);
    EXPECT(memcmp(draw0, train.content, (size_t)100 * sh.cw) != 0, "draws 0 and 1 are equal at T = 4");
    EXPECT(dataset_count_shared(&train, &test) == 0, "a fresh draw at T = 4 holds test sequences");
    free(draw0);
    dataset_free(&train), dataset_free(&test);
}

static void test_chance(void)
{
    /* A memoryless model: W_y = 0, b_y = 0 gives uniform outputs, so the loss is exactly log K
     * nats per symbol and argmax always says class 0, right on 1/K of the copy steps. */
    Settings s;
    settings_default(&s);
    s.T = 50, s.vocab = 8, s.hidden = 8, s.model = model_find("gru");
    const int n = 2000, B = 50;
    TaskShape sh = task_shape(&s);
    Dataset d;
    dataset_init(&d, &sh, 1, SPLIT_TEST, n, NULL, 0);
    Model m;
    model_init(&m, s.model, &sh, s.hidden, 1, 0);
    model_init_weights(&m, &s);
    memset(m.W_y, 0, (size_t)m.K * m.H * sizeof(real));
    memset(m.b_y, 0, (size_t)m.K * sizeof(real));
    Workspace w;
    workspace_init(&w, &m, &sh, B, 16, 0, NULL);
    Metrics met = {0};
    int64_t *pos = calloc((size_t)sh.n_out, sizeof *pos);
    int *idx = malloc((size_t)n * sizeof *idx);
    for (int i = 0; i < n; i++) idx[i] = i;
    Scores sc = {.pos_correct = pos};
    for (int i = 0; i < n; i += B) {
        const Batch b = task_batch(&d, idx + i, B);
        model_batch(&m, &w, &b, 0, &met, &sc, NULL, NULL);
    }
    double acc = metrics_acc(&met), chance = task_chance_acc(&sh);
    double se = sqrt(chance * (1 - chance) / (double)met.symbols);
    EXPECT(met.symbols == (int64_t)n * s.T, "scored %lld steps, expected n·T = %d (blanks are not scored)",
           (long long)met.symbols, n * s.T);
    EXPECT(fabs(metrics_loss(&met) - log(8.0)) < 1e-5, "uniform loss %.6f, expected log K = %.6f",
           metrics_loss(&met), log(8.0));
    EXPECT(fabs(acc - chance) < 4 * se, "constant-guess accuracy %.4f, expected 1/K = %.4f ± %.4f", acc,
           chance, 4 * se);
    EXPECT(met.seq_correct == 0, "%lld sequences of 50 symbols copied by guessing", (long long)met.seq_correct);
    int64_t sum = 0;
    for (int j = 0; j < sh.n_out; j++) sum += pos[j];
    EXPECT(sum == met.correct, "per-position counts sum to %lld, not %lld", (long long)sum, (long long)met.correct);
    /* what counting the input phase would report: the trap docs/method.md "Metrics" names, ≈ 0.5 + 0.5/K */
    double trap = (double)(met.correct + (int64_t)n * (sh.L - sh.n_out - 1)) / ((double)n * (sh.L - 1));
    printf("  chance: loss %.6f (log K %.6f), symbol accuracy %.4f (1/K %.4f), sequence accuracy %.4f;\n"
           "          counting the blanks of the input phase would report %.4f (0.5 + 0.5/K = %.4f)\n",
           metrics_loss(&met), log(8.0), acc, chance, metrics_seq_acc(&met), trap, 0.5 + 0.5 / 8);
    free(pos), free(idx);
    workspace_free(&w);
    model_free(&m);
    dataset_free(&d);
}

/* The larger of a worst error so far and a new one, where a NaN is the worst of all (fmax would drop it). */
static double worse(double worst, double e) { return isnan(worst) || isnan(e) ? NAN : e > worst ? e : worst; }

static void test_nonlinearities(void)
{
    /* the vectorized σ and tanh of the float build against libm in double, over [-30, 30] */
    enum { N = 600001 };
    real *sg = malloc(N * sizeof *sg), *th = malloc(N * sizeof *th);
    for (int k = 0; k < N; k++) sg[k] = th[k] = (real)(-30.0 + 60.0 * k / (N - 1));
    for (int k = 0; k < N; k++) sg[k] = bm_sigmoid(sg[k]), th[k] = bm_tanh(th[k]);
    double worst_s = 0, worst_t = 0, worst_t_rel = 0;
    for (int k = 0; k < N; k++) {
        double x = (double)(real)(-30.0 + 60.0 * k / (N - 1));
        double s = 1 / (1 + exp(-x)), t = tanh(x);
        worst_s = worse(worst_s, fabs(sg[k] - s));
        worst_t = worse(worst_t, fabs(th[k] - t));
        if (t != 0) worst_t_rel = worse(worst_t_rel, fabs(th[k] - t) / fabs(t));
    }
    EXPECT(worst_s < 3e-7 && worst_t < 3e-7 && worst_t_rel < 1e-6,
           "sigmoid error %.2e, tanh error %.2e (relative %.2e)", worst_s, worst_t, worst_t_rel);
    printf("  nonlinearities (%s): max |error| sigmoid %.1e, tanh %.1e (relative %.1e)\n", CS_REAL_NAME,
           worst_s, worst_t, worst_t_rel);
    /* a NaN (weights gone bad) comes out as NaN, so that the trial is seen to diverge; ±∞ saturate */
    const real nan = (real)NAN, inf = (real)INFINITY;
    EXPECT(isnan(bm_exp(nan)) && isnan(bm_sigmoid(nan)) && isnan(bm_tanh(nan)), "NaN does not propagate");
    EXPECT(bm_sigmoid(inf) == 1 && bm_sigmoid(-inf) < 1e-30 && bm_tanh(inf) == 1 && bm_tanh(-inf) == -1,
           "σ(±∞) = %g, %g; tanh(±∞) = %g, %g", (double)bm_sigmoid(inf), (double)bm_sigmoid(-inf),
           (double)bm_tanh(inf), (double)bm_tanh(-inf));
    /* the negative control: one NaN among good errors leaves the worst NaN, which the check above fails */
    EXPECT(isnan(worse(worse(worse(0, 1e-9), NAN), 2e-9)), "a NaN error is dropped from the worst");
    free(sg), free(th);
}

/* x's distance to y in units of y's last place */
static double ulps(double x, double y)
{
    return x == y ? 0 : fabs(x - y) / (nextafter(fabs(y), INFINITY) - fabs(y));
}

static void test_detmath(void)
{
    /* detmath's log, exp and cos(2πu) against libm: log over 1e-300 .. 1e300, exp over −700 .. 700,
     * cos over [0, 1), and their exact points */
    double worst_log = 0, worst_exp = 0, worst_cos = 0;
    Rng r = rng_stream(RNG_KEY(RNG_TEST, 11));
    for (int k = 0; k < 200000; k++) {
        const double u = rng_uniform(&r), x = exp((u - 0.5) * 1380), y = (u - 0.5) * 1400;
        worst_log = worse(worst_log, ulps(dm_log(x), log(x)));
        worst_exp = worse(worst_exp, ulps(dm_exp(y), exp(y)));
        worst_cos = worse(worst_cos, fabs(dm_cos2pi(u) - cos(2 * M_PI * u)));
    }
    EXPECT(worst_log <= 4 && worst_exp <= 2 && worst_cos < 2e-15, "detmath: log %.1f ulp, exp %.1f ulp, cos %.2e", worst_log,
           worst_exp, worst_cos);
    EXPECT(dm_log(1) == 0 && dm_exp(0) == 1 && dm_cos2pi(0) == 1 && dm_cos2pi(0.5) == -1 && dm_cos2pi(0.25) == 0,
           "detmath at its exact points: log 1 = %g, e^0 = %g, cos 0 = %g, cos π = %g, cos π/2 = %g", dm_log(1), dm_exp(0),
           dm_cos2pi(0), dm_cos2pi(0.5), dm_cos2pi(0.25));
    printf("  libm-free log, exp, cos 2πu against libm: %.1f ulp, %.1f ulp, %.1e\n", worst_log, worst_exp, worst_cos);
}

static void test_kernels(void)
{
    char paths[64];
    int differ = bm_kernels_agree(paths, sizeof paths);
    EXPECT(differ == 0, "%d results of the products differ between kernel paths (%s)", differ, paths);
    printf("  products (per step: start 0, C, rows of W with and without a scale; A·Bᵀ, A·B, Aᵀ·B over two "
           "k-blocks), σ and tanh: paths %s: %s\n", paths, differ ? "DIFFER" : "identical bits");
}

static void test_copy_delay(void)
{
    Settings s;
    settings_default(&s);
    s.task = task_find("copy-delay"), s.T = 30;
    TaskShape sh = task_shape(&s);
    EXPECT(sh.L == 30 + 2 * 10 && sh.n_out == 10 && sh.out_start == 40 && sh.I == 10,
           "copy-delay shape L=%d N=%d start=%d I=%d, expected L = T + 2S", sh.L, sh.n_out, sh.out_start, sh.I);
    Dataset d;
    dataset_init(&d, &sh, 2, SPLIT_TRAIN, 20, NULL, 0);
    for (int i = 0; i < d.n; i++) {
        const uint8_t *c = d.content + (size_t)i * sh.cw;
        /* S symbols, T − 1 blanks, the delimiter, S blanks */
        for (int t = 0; t < sh.L; t++) {
            int want = t < 10 ? c[t] : t == 10 + 29 ? 9 : 0;
            EXPECT(task_input_symbol(&sh, c, t) == want, "copy-delay step %d: %d, expected %d", t,
                   task_input_symbol(&sh, c, t), want);
        }
    }
    dataset_free(&d);
    printf("  copy-delay: 10 symbols, T−1 blanks, delimiter, 10 scored steps\n");
}

static void test_temporal_order(void)
{
    Settings s;
    settings_default(&s);
    s.task = task_find("temporal-order"), s.T = 100;
    TaskShape sh = task_shape(&s);
    EXPECT(sh.L == 110 && sh.out_start == 99 && sh.n_out == 11 && sh.K == 4 && sh.I == 8,
           "temporal-order shape L=%d start=%d N=%d K=%d I=%d", sh.L, sh.out_start, sh.n_out, sh.K, sh.I);
    const int n = 2000;
    Dataset d;
    dataset_init(&d, &sh, 4, SPLIT_TRAIN, n, NULL, 0);
    int *idx = malloc((size_t)n * sizeof *idx), classes[4] = {0}, lengths[111] = {0};
    for (int i = 0; i < n; i++) idx[i] = i;
    int32_t *sym = malloc((size_t)sh.L * n * sizeof *sym);
    int16_t *y = malloc((size_t)sh.n_out * n * sizeof *y);
    EXPECT(task_fill(&d, idx, n, NULL, sym, y) == n && task_count_targets(&d, idx, n) == n,
           "temporal-order: one target per sequence");
    for (int b = 0; b < n; b++) {
        /* E first, B last at len − 1; X or Y (4, 5) at t1 ∈ [10, 20] and t2 ∈ [50, 60]; a..d elsewhere */
        int len = 0, marks = 0, cls = 0, target = -1, bad = 0;
        for (int t = 0; t < sh.L && !len; t++)
            if (sym[(size_t)t * n + b] == 7) len = t + 1;
        for (int t = 0; t < len; t++) {
            const int v = sym[(size_t)t * n + b];
            if (v == 4 || v == 5) {
                bad |= marks == 0 ? (t < 10 || t > 20) : (t < 50 || t > 60);
                cls = 2 * cls + (v == 5), marks++;
            } else {
                bad |= t == 0 ? v != 6 : t == len - 1 ? v != 7 : v > 3;
            }
        }
        for (int j = 0; j < sh.n_out; j++) {
            const int v = y[(size_t)j * n + b];
            if (v >= 0) bad |= target >= 0 || sh.out_start + j != len - 1, target = v;
        }
        EXPECT(!bad && marks == 2 && len >= 100 && len <= 110 && target == cls,
               "temporal-order sequence %d: length %d, %d marks, class %d, target %d", b, len, marks, cls, target);
        if (target >= 0) classes[target]++;
        lengths[len <= 110 ? len : 0]++;
    }
    for (int k = 0; k < 4; k++)
        EXPECT(classes[k] > n / 4 - 150 && classes[k] < n / 4 + 150, "class %d drawn %d times of %d", k, classes[k], n);
    EXPECT(lengths[100] > 0 && lengths[110] > 0, "lengths 100 and 110 both occur");
    printf("  temporal-order: lengths 100..110, marks in place, classes %d/%d/%d/%d of %d\n", classes[0], classes[1],
           classes[2], classes[3], n);
    free(idx), free(sym), free(y);
    dataset_free(&d);
}

static void test_ntm_copy(void)
{
    Settings s;
    settings_default(&s);
    s.task = task_find("ntm-copy"), s.T = 5;
    TaskShape sh = task_shape(&s);
    EXPECT(sh.L == 12 && sh.I == 10 && sh.K == 8 && sh.bce && !sh.one_hot && sh.out_start == 3,
           "ntm-copy shape L=%d I=%d K=%d start=%d", sh.L, sh.I, sh.K, sh.out_start);
    const int n = 3000;
    Dataset train, eval;
    dataset_init(&train, &sh, 6, SPLIT_TRAIN, n, NULL, 0);
    int *idx = malloc((size_t)n * sizeof *idx), seen[6] = {0};
    for (int i = 0; i < n; i++) idx[i] = i;
    real *x = malloc((size_t)sh.L * n * sh.I * sizeof *x);
    int16_t *y = malloc((size_t)sh.n_out * n * sizeof *y);
    const int64_t targets = task_fill(&train, idx, n, x, NULL, y);
    int64_t vectors = 0;
    for (int b = 0; b < n; b++) {
        /* start flag, n vectors, end flag; the vectors are the targets of steps n+2 .. 2n+1 */
        int len = 0, bad = 0;
        while (len < 6 && x[((size_t)(len + 1) * n + b) * sh.I + 9] == 0) len++;
        bad |= len < 1 || len > 5 || x[(size_t)b * sh.I + 8] != 1;
        for (int t = 1; t <= len && !bad; t++) {
            int v = 0;
            for (int k = 0; k < 8; k++) v |= (x[((size_t)t * n + b) * sh.I + k] != 0) << k;
            bad |= y[(size_t)(len + 2 + t - 1 - sh.out_start) * n + b] != v;
        }
        for (int j = 0; j < sh.n_out; j++) {
            const int t = sh.out_start + j;
            bad |= (y[(size_t)j * n + b] >= 0) != (t >= len + 2 && t <= 2 * len + 1);
        }
        EXPECT(!bad, "ntm-copy sequence %d (n = %d) is not laid out as docs/method.md says", b, len);
        seen[len <= 5 ? len : 0]++, vectors += len;
    }
    EXPECT(targets == vectors && seen[1] && seen[5], "ntm-copy: %lld targets for %lld vectors", (long long)targets,
           (long long)vectors);
    /* evaluation at a fixed length: every sequence has n = 1; none of them is a training sequence,
     * although the ~600 one-vector training sequences cover most of the 256 there are */
    TaskShape esh = task_shape_eval(&s, 1);
    dataset_init(&eval, &esh, 6, SPLIT_TEST, 1000, NULL, 0);
    EXPECT(task_count_targets(&eval, idx, 1000) == 1000, "evaluation at n = 1 has other lengths");
    long shared = dataset_count_shared(&train, &eval);
    EXPECT(shared == 0, "%ld evaluation sequences occur in training", shared);
    dataset_free(&eval);
    /* and the counter sees those that do: one-vector sequences of the training split */
    dataset_init(&eval, &esh, 6, SPLIT_TRAIN, 1000, NULL, 0);
    long overlap = dataset_count_shared(&train, &eval);
    EXPECT(overlap > 500, "only %ld of 1000 one-vector training-split sequences seen in training", overlap);
    printf("  ntm-copy: lengths 1..5, flags and targets in place; evaluation at n=1 shares 0 with training "
           "(a training-split set at n=1 shares %ld of 1000)\n", overlap);
    free(idx), free(x), free(y);
    dataset_free(&eval);
    dataset_free(&train);
}

static void test_charlm(void)
{
    /* 200 distinct lines of 9..38 characters (ending in \r\n), one of 100 x's (cut into pieces of at
     * most 40), blank lines between them */
    char path[64];
    snprintf(path, sizeof path, "/tmp/copysweep-test-data-%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 200; i++) fprintf(f, "line %03d %.*s\r\n\n", i, i % 30, "abcdefghijklmnopqrstuvwxyz,.;:!? ABCDEFGH");
    for (int i = 0; i < 100; i++) fputc('x', f);
    fputc('\n', f);
    fclose(f);
    Settings s;
    settings_default(&s);
    s.task = task_find("charlm"), s.T = 40;
    snprintf(s.text, sizeof s.text, "%s", path);
    TaskShape sh = task_shape(&s);
    EXPECT(sh.L == 41 && sh.I == 98 && sh.K == 97 && sh.out_start == 0, "charlm shape L=%d I=%d K=%d", sh.L, sh.I, sh.K);
    Dataset d[SPLIT_COUNT];
    int distinct = 0;
    for (int k = 0; k < SPLIT_COUNT; k++) dataset_init(&d[k], &sh, 3, k, 60, NULL, 0), distinct += d[k].distinct;
    /* 200 lines, and the 100 x's as 40 + 40 + 20: "xxx...x" (40) twice is one content, in one split */
    EXPECT(distinct == 200 + 3, "%d pieces of lines in the splits, expected 203", distinct);
    EXPECT(d[SPLIT_TRAIN].distinct > 140 && d[SPLIT_VAL].distinct > 8 && d[SPLIT_TEST].distinct > 8,
           "split sizes %d/%d/%d", d[SPLIT_TRAIN].distinct, d[SPLIT_VAL].distinct, d[SPLIT_TEST].distinct);
    long shared = dataset_count_shared(&d[SPLIT_TRAIN], &d[SPLIT_VAL]) + dataset_count_shared(&d[SPLIT_TRAIN], &d[SPLIT_TEST]);
    EXPECT(shared == 0, "charlm: %ld validation or test pieces in training", shared);
    /* inputs: the start symbol, then the characters; targets: the characters, then '\n' (class 0) */
    int idx[60], bad = 0;
    for (int i = 0; i < 60; i++) idx[i] = i;
    int32_t *sym = malloc((size_t)sh.L * 60 * sizeof *sym);
    int16_t *y = malloc((size_t)sh.n_out * 60 * sizeof *y);
    int64_t targets = task_fill(&d[SPLIT_VAL], idx, 60, NULL, sym, y);
    int64_t want = 0;
    for (int b = 0; b < 60; b++) {
        int n = 0;
        while (n < sh.L && y[(size_t)n * 60 + b] > 0) n++; /* characters until '\n' */
        want += n + 1;
        bad |= sym[b] != 97 || y[(size_t)n * 60 + b] != 0 || n < 9 || n > 40;
        for (int t = 1; t <= n; t++) bad |= sym[(size_t)t * 60 + b] != y[(size_t)(t - 1) * 60 + b];
        for (int t = n + 1; t < sh.L; t++) bad |= y[(size_t)t * 60 + b] != TASK_NO_TARGET;
        bad |= y[b] != 'l' - 31 && y[b] != 'x' - 31; /* "line ..." or "xx..." */
    }
    EXPECT(!bad && targets == want, "charlm sequences are not start + characters → characters + newline");
    /* 60 validation sequences cycle through the fewer distinct pieces */
    EXPECT(memcmp(d[SPLIT_VAL].content, d[SPLIT_VAL].content + (size_t)d[SPLIT_VAL].distinct * sh.cw, (size_t)sh.cw) == 0,
           "validation sequences do not repeat after %d pieces", d[SPLIT_VAL].distinct);
    printf("  charlm: %d pieces (train %d, validation %d, test %d), disjoint; start + characters → next "
           "character, newline last\n", distinct, d[SPLIT_TRAIN].distinct, d[SPLIT_VAL].distinct, d[SPLIT_TEST].distinct);
    free(sym), free(y);
    for (int k = 0; k < SPLIT_COUNT; k++) dataset_free(&d[k]);

    /* a split that cannot be filled is an error returned to the caller (the trial), not an exit */
    f = fopen(path, "w");
    fputs("one line only\n", f);
    fclose(f);
    char err[512] = "";
    Dataset none;
    int lost = 0;
    for (int k = 0; k < SPLIT_COUNT; k++) {
        const int rc = dataset_init(&none, &sh, 3, k, 10, err, sizeof err);
        lost += rc != 0;
        EXPECT(rc == 0 || strstr(err, "has no line in the"), "split %d of a one-line text: '%s'", k, err);
        dataset_free(&none);
    }
    EXPECT(lost == 2, "a one-line text fills %d of 3 splits, expected 1", 3 - lost);
    s.task = task_find("copy"), s.T = 1, s.vocab = 2; /* 2 sequences: neither is in validation */
    sh = task_shape(&s);
    EXPECT(dataset_init(&none, &sh, 1, SPLIT_VAL, 10, err, sizeof err) != 0 && strstr(err, "too few distinct sequences"),
           "copy at T=1, K=2: '%s'", err);
    dataset_free(&none);
    remove(path);
}

static void test_chrono(void)
{
    /* chrono biases in range, b_i = −b_f, their forgetting times spread uniformly over [1, T_max − 1];
     * every other weight as without chrono (its draws come last) */
    const int H = 512, t_max = 101;
    for (int kind = 0; kind < model_count; kind++) {
        Settings s;
        settings_default(&s);
        s.model = kind, s.T = 10, s.hidden = H, s.layers = 2;
        TaskShape sh = task_shape(&s);
        Model plain, chrono;
        model_init(&plain, kind, &sh, H, 2, 0);
        model_init(&chrono, kind, &sh, H, 2, 0);
        model_init_weights(&plain, &s);
        s.chrono = t_max;
        model_init_weights(&chrono, &s);
        const int keep = chrono.ops->keep_gate, write = chrono.ops->write_gate;
        const int gates = (keep >= 0) + (write >= 0);
        if (!gates) { /* a cell without gates has no chrono initialization (settings refuse it) */
            model_free(&plain), model_free(&chrono);
            continue;
        }
        int bad = 0;
        double mean_T = 0;
        for (int k = 0; k < 2; k++) {
            const real *b = chrono.layer[k].p.b, *b0 = plain.layer[k].p.b;
            for (int j = 0; j < H; j++) {
                const double f = keep >= 0 ? b[(size_t)keep * H + j] : -b[(size_t)write * H + j]; /* log T_j */
                bad |= f < -1e-6 || f > log(t_max - 1) + 1e-5;
                if (gates == 2) bad |= b[(size_t)write * H + j] != -b[(size_t)keep * H + j];
                mean_T += exp(f) / (2 * H);
            }
            /* the other gates' biases untouched */
            for (int g = 0; g < chrono.G; g++)
                for (int j = 0; g != keep && g != write && j < H; j++) bad |= b[(size_t)g * H + j] != b0[(size_t)g * H + j];
        }
        /* all weights but the chrono biases equal */
        size_t differ = 0;
        for (size_t i = 0; i < plain.n_params; i++) differ += plain.mem[i] != chrono.mem[i];
        EXPECT(!bad && differ == (size_t)gates * 2 * H && fabs(mean_T - t_max / 2.0) < 5,
               "chrono %s: bad %d, %zu weights differ, mean T_j %.1f (expected %d)", model_kinds[kind].name, bad, differ,
               mean_T, t_max / 2);
        printf("  chrono %-5s T_max=%d: biases in range, mean forgetting time %.1f (uniform: %.1f), nothing else changed\n",
               model_kinds[kind].name, t_max, mean_T, t_max / 2.0);
        model_free(&plain), model_free(&chrono);
    }
}

/* Every task of the registry fills the whole table: no operation is left to a default of another task. */
static void test_registry(void)
{
    EXPECT(task_count >= 5 && task_find("copy") == 0 && task_find("no-such-task") == -1, "task_find");
    for (int k = 0; k < task_count; k++) {
        const TaskOps *o = task_kinds[k].ops;
        EXPECT(task_find(task_kinds[k].name) == k, "%s: found at %d", task_kinds[k].name, task_find(task_kinds[k].name));
        EXPECT(o->about && o->unit && o->scored && o->shape && o->target_at && o->print,
               "%s: about, unit, scored, shape, target_at and print are required", task_kinds[k].name);
        EXPECT(!o->draw != !o->fill_split, "%s: exactly one of draw and fill_split", task_kinds[k].name);
        EXPECT(!o->input_symbol != !o->input_vector, "%s: exactly one of input_symbol and input_vector",
               task_kinds[k].name);
    }
}

int main(void)
{
    test_registry();
    test_nonlinearities();
    test_kernels();
    test_detmath();
    bm_setup_threads(0);
    test_layout();
    test_splits();
    test_same_data_for_all_models();
    test_fresh_draws();
    test_chance();
    test_copy_delay();
    test_temporal_order();
    test_ntm_copy();
    test_charlm();
    test_chrono();
    printf("data and metrics: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
