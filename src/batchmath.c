/* Batch math: the products on the selected path's kernels, reductions, OpenMP set-up, rates. */
#include "batchmath.h"

#ifdef __SSE__
#include <xmmintrin.h> /* _mm_getcsr, _mm_setcsr */
#endif
#include <math.h>   /* INFINITY, NAN */
#include <stdint.h> /* uintptr_t */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#include <string.h> /* memcmp, memset */
#ifdef _OPENMP
#include <omp.h> /* omp_set_num_threads, omp_get_max_threads */
#endif

#include "check.h" /* CS_ALLOC */

/* Elements per block of bm_sumsq: fixed, so the summation order is too. */
#define SUMSQ_BLOCK 4096
/* Rows of A packed at a time for the transposed products: a multiple of every path's tile rows (4,
 * 6, 8), so that the tiles of a block align. */
#define BM_MBLOCK 240

/* Flush subnormal floats to zero on this thread (x86 MXCSR FTZ and DAZ). Gradients that fade
 * over long sequences otherwise become subnormal, and arithmetic on subnormals is 10-100 times
 * slower; the values lost are below 1.2e-38. */
static void flush_subnormals(void)
{
#ifdef __SSE__
    _mm_setcsr(_mm_getcsr() | 0x8040); /* bit 15: flush to zero, bit 6: denormals are zero */
#endif
}

int bm_setup_threads(int threads)
{
    flush_subnormals();
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
    /* threads inherit the creating thread's MXCSR; set it on the existing ones too */
#pragma omp parallel
    flush_subnormals();
    return omp_get_max_threads();
#else
    (void)threads;
    return 1;
#endif
}

void bm_add_colsum(real *y, const real *A, int lda, int M, int N)
{
    for (int i = 0; i < M; i++) {
        const real *row = A + (size_t)i * lda;
        for (int j = 0; j < N; j++) y[j] += row[j];
    }
}

void bm_fill_rows(real *A, const real *v, int M, int N)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) A[(size_t)i * N + j] = v[j];
}

double bm_sumsq(const real *x, size_t n)
{
    size_t nblocks = (n + SUMSQ_BLOCK - 1) / SUMSQ_BLOCK;
    double *part = CS_ALLOC((nblocks ? nblocks : 1) * sizeof *part);
    /* each block b sums x[b·SUMSQ_BLOCK ..] on its own: threads split over b */
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nblocks; b++) {
        size_t end = (b + 1) * SUMSQ_BLOCK < n ? (b + 1) * SUMSQ_BLOCK : n;
        double s = 0;
        for (size_t i = b * SUMSQ_BLOCK; i < end; i++) s += (double)x[i] * x[i];
        part[b] = s;
    }
    double total = 0;
    for (size_t b = 0; b < nblocks; b++) total += part[b];
    free(part);
    return total;
}

/* ---- the products ------------------------------------------------------------------------ */

/* An operand: element (i, k) of A, or (k, j) of B, at p[i·s0 + k·s1] (B: p[k·s0 + j·s1]). */
typedef struct {
    const real *p;
    size_t s0, s1;
} Operand;

/* ap[t][k][r] = A(i0 + t·R + r, k0 + k) for the mb rows from i0, in tiles of R rows, 0 past row M;
 * A's rows of one k are contiguous (A.s0 = 1). R is a constant where it is inlined, so that the
 * copies are a few vector moves. */
BM_BODY void pack_a_tiles(real *ap, Operand A, int i0, int mb, int M, int k0, int kb, const int R)
{
    const int tiles = (mb + R - 1) / R;
    /* 16 k at a time: their rows of A stay in cache while every tile takes its part */
    for (int kk = 0; kk < kb; kk += 16) {
        const int k1 = kk + 16 < kb ? kk + 16 : kb;
        for (int t = 0; t < tiles; t++) {
            const int rows = M - (i0 + t * R) < R ? M - (i0 + t * R) : R;
            const real *src = A.p + (size_t)(k0 + kk) * A.s1 + i0 + (size_t)t * R;
            real *d = ap + ((size_t)t * kb + kk) * R;
            for (int k = kk; k < k1; k++, src += A.s1, d += R) {
                if (rows == R) {
                    memcpy(d, src, (size_t)R * sizeof *d);
                    continue;
                }
                for (int r = 0; r < R; r++) d[r] = r < rows ? src[r] : 0;
            }
        }
    }
}

static void pack_a(real *ap, Operand A, int i0, int mb, int M, int k0, int kb, int R)
{
    switch (R) {
    case 4: pack_a_tiles(ap, A, i0, mb, M, k0, kb, 4); break;
    case 6: pack_a_tiles(ap, A, i0, mb, M, k0, kb, 6); break;
    case 8: pack_a_tiles(ap, A, i0, mb, M, k0, kb, 8); break;
    default: pack_a_tiles(ap, A, i0, mb, M, k0, kb, R);
    }
}

/* bp[q][k][c] = B(k0 + k, q·W + c), 0 past column N: panels of W columns. W is a constant where it
 * is inlined, so that where B's columns of one k are contiguous (B.s1 = 1) a copy is a few vector
 * moves. */
BM_BODY void pack_b_panels(real *bp, Operand B, int N, int k0, int kb, const int W)
{
    const int panels = (N + W - 1) / W;
    for (int q = 0; q < panels; q++) {
        const int cols = N - q * W < W ? N - q * W : W;
        for (int k = 0; k < kb; k++) {
            const real *src = B.p + (size_t)(k0 + k) * B.s0 + (size_t)q * W * B.s1;
            real *d = bp + ((size_t)q * kb + k) * W;
            if (B.s1 != 1) {
                for (int c = 0; c < W; c++) d[c] = c < cols ? src[(size_t)c * B.s1] : 0;
                continue;
            }
            if (cols == W) {
                memcpy(d, src, (size_t)W * sizeof *d);
                continue;
            }
            for (int c = 0; c < W; c++) d[c] = c < cols ? src[c] : 0;
        }
    }
}

static void pack_b(real *bp, Operand B, int N, int k0, int kb, int W)
{
    switch (W) {
    case 16: pack_b_panels(bp, B, N, k0, kb, 16); break;
    case 32: pack_b_panels(bp, B, N, k0, kb, 32); break;
    default: pack_b_panels(bp, B, N, k0, kb, W);
    }
}

/* C(M, N) = start + A·B on the kernels kn, per k-block of BM_KBLOCK. Where A's rows are contiguous
 * (A.s1 = 1), B's block is packed into panels and the per-step loops read A in place; else (A is
 * given transposed, A.s0 = 1: the weight gradients) A's block is packed too, BM_MBLOCK rows at a
 * time, and the tile loops run over packed A and B. */
static void gemm_with(const BmKernels *kn, real *C, int ldc, Operand A, Operand B, int M, int N, int K, int beta)
{
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (int i = 0; !beta && i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
        return;
    }
    const int kmax = K < BM_KBLOCK ? K : BM_KBLOCK;
    if (A.s1 == 1) {
        real *storage = CS_ALLOC(bm_packed_size(kmax, N) * sizeof *storage);
        for (int k0 = 0; k0 < K; k0 += BM_KBLOCK) {
            const int kb = K - k0 < BM_KBLOCK ? K - k0 : BM_KBLOCK;
            BmPacked P;
            bm_pack(&P, storage, B.p + (size_t)k0 * B.s0, kb, N, (int)B.s0, (int)B.s1);
            kn->step(C, ldc, A.p + k0, (int)A.s0, M, &P, beta || k0 > 0, NULL);
        }
        free(storage);
        return;
    }
    if (A.s0 != 1) CS_FAIL("a product whose left operand has neither contiguous rows nor columns");
    const int R = kn->tile_rows, W = kn->tile_cols, panels = (N + W - 1) / W;
    const int mmax = M < BM_MBLOCK ? M : BM_MBLOCK;
    real *bp = CS_ALLOC((size_t)panels * W * kmax * sizeof *bp);
    real *ap = CS_ALLOC((size_t)((mmax + R - 1) / R) * R * kmax * sizeof *ap);
    for (int k0 = 0; k0 < K; k0 += BM_KBLOCK) {
        const int kb = K - k0 < BM_KBLOCK ? K - k0 : BM_KBLOCK, add = beta || k0 > 0;
        pack_b(bp, B, N, k0, kb, W);
        for (int i0 = 0; i0 < M; i0 += BM_MBLOCK) {
            const int mb = M - i0 < BM_MBLOCK ? M - i0 : BM_MBLOCK;
            pack_a(ap, A, i0, mb, M, k0, kb, R);
            for (int q = 0; q < panels; q++) {
                const int cols = N - q * W < W ? N - q * W : W;
                for (int t = 0; t * R < mb; t++) {
                    const int rows = mb - t * R < R ? mb - t * R : R;
                    kn->tile(C + (size_t)(i0 + t * R) * ldc + q * W, ldc, ap + (size_t)t * kb * R,
                             bp + (size_t)q * kb * W, kb, rows, cols, add);
                }
            }
        }
    }
    free(ap);
    free(bp);
}

static const BmKernels *selected(void) { return bm_kernels(bm_path()); }

void bm_gemm_nt(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K, int beta)
{
    gemm_with(selected(), C, ldc, (Operand){A, (size_t)lda, 1}, (Operand){B, 1, (size_t)ldb}, M, N, K, beta);
}

void bm_gemm_nn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K, int beta)
{
    gemm_with(selected(), C, ldc, (Operand){A, (size_t)lda, 1}, (Operand){B, (size_t)ldb, 1}, M, N, K, beta);
}

void bm_gemm_tn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K, int beta)
{
    gemm_with(selected(), C, ldc, (Operand){A, 1, (size_t)lda}, (Operand){B, (size_t)ldb, 1}, M, N, K, beta);
}

size_t bm_packed_size(int K, int N)
{
    return (size_t)((N + BM_PANEL - 1) / BM_PANEL) * (size_t)K * BM_PANEL;
}

void bm_pack(BmPacked *P, real *storage, const real *src, int K, int N, int ld_k, int ld_n)
{
    if ((uintptr_t)storage % 64) CS_FAIL("packed storage not 64-byte aligned"); /* the kernels' aligned loads */
    P->K = K, P->N = N, P->panels = (N + BM_PANEL - 1) / BM_PANEL, P->p = storage;
    pack_b_panels(storage, (Operand){src, (size_t)ld_k, (size_t)ld_n}, N, 0, K, BM_PANEL);
}

void bm_gemm_packed(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta,
                    const BmRowInit *init)
{
    selected()->step(C, ldc, A, lda, M, P, beta, init);
}

/* s = σ(x), t = tanh(x) over n values, compiled for every path (BM_PATHS) to compare them */
BM_BODY void nonlinear_body(real *s, real *t, const real *x, int n)
{
#pragma omp simd
    for (int i = 0; i < n; i++) s[i] = bm_sigmoid(x[i]), t[i] = bm_tanh(x[i]);
}
BM_PATHS(static __attribute__((unused)), nonlinear, (real *s, real *t, const real *x, int n), (s, t, x, n))

/* nonlinear() on path p's copy: 0 if it matches the generic copy's bits, else 1 */
static int nonlinear_differs(BmPath p)
{
    enum { N = 4096 };
    real x[N], s[2][N], t[2][N];
    const real special[] = {0, -(real)0, (real)1e-40, (real)-1e-40, (real)INFINITY, (real)-INFINITY, (real)NAN,
                            (real)1e-30, (real)-87.5, (real)88.5, (real)0.625, (real)-0.625, (real)1e30};
    const int n_special = (int)(sizeof special / sizeof *special);
    for (int i = 0; i < N; i++) /* −100 .. 100 in steps of 0.05, then the special values */
        x[i] = i < N - n_special ? (real)(i - (N - n_special) / 2) / 20 : special[i - (N - n_special)];
#ifdef BM_HAS_PATHS
    nonlinear_generic(s[0], t[0], x, N);
    if (p == BM_AVX512) nonlinear_avx512(s[1], t[1], x, N);
    else if (p == BM_AVX2) nonlinear_avx2(s[1], t[1], x, N);
    else nonlinear_generic(s[1], t[1], x, N);
#else
    (void)p;
    nonlinear(s[0], t[0], x, N);
    nonlinear(s[1], t[1], x, N);
#endif
    return memcmp(s[0], s[1], sizeof s[0]) != 0 || memcmp(t[0], t[1], sizeof t[0]) != 0;
}

/* The operands of the agreement test: A and B (K_MAX, LD) of full-mantissa values, the rows of W
 * and their scales of the per-step product's starts, and a C per path. */
enum { K_MAX = 300, LD = 311, M_MAX = 257, N_MAX = 37 };
typedef struct {
    real *A, *B, *C[BM_PATH_COUNT], *bias, *table, *pk;
    real scale[M_MAX];
    int32_t sym[M_MAX];
} Agree;

enum { STEP0, STEP1, STEP_INIT, STEP_UNSCALED, NT0, NN1, TN0, TN1, TESTS };

/* One product on the kernels kn into C (its other elements as they were): test names the product
 * and its start; P is B's (K, N) packed. */
static void agree_case(const Agree *g, const BmKernels *kn, real *C, const BmPacked *P, int test, int M, int N, int K)
{
    const BmRowInit init = {.bias = g->bias, .table = g->table, .ld = N_MAX, .sym = g->sym, .scale = g->scale};
    const BmRowInit unscaled = {.bias = g->bias, .table = g->table, .ld = N_MAX, .sym = g->sym, .scale = NULL};
    const Operand a_mk = {g->A, LD, 1}, a_km = {g->A, 1, LD}, b_kn = {g->B, LD, 1}, b_nk = {g->B, 1, LD};
    switch (test) {
    case STEP0: kn->step(C, LD, g->A, LD, M, P, 0, NULL); break;
    case STEP1: kn->step(C, LD, g->A, LD, M, P, 1, NULL); break;
    case STEP_INIT: kn->step(C, LD, g->A, LD, M, P, 1, &init); break;
    case STEP_UNSCALED: kn->step(C, LD, g->A, LD, M, P, 0, &unscaled); break;
    case NT0: gemm_with(kn, C, LD, a_mk, b_nk, M, N, K, 0); break;
    case NN1: gemm_with(kn, C, LD, a_mk, b_kn, M, N, K, 1); break;
    case TN0: gemm_with(kn, C, LD, a_km, b_kn, M, N, K, 0); break;
    case TN1: gemm_with(kn, C, LD, a_km, b_kn, M, N, K, 1); break;
    }
}

/* How many of the paths other than generic give other bits than it for this case. */
static int agree_differs(Agree *g, const BmPacked *P, int test, int M, int N, int K)
{
    int differ = 0;
    for (int v = 0; v < BM_PATH_COUNT; v++) {
        if (!bm_path_supported((BmPath)v)) continue;
        for (size_t i = 0; i < (size_t)K_MAX * LD; i++) g->C[v][i] = (real)(i % 13) / 9;
        agree_case(g, bm_kernels((BmPath)v), g->C[v], P, test, M, N, K);
        differ += v > 0 && memcmp(g->C[v], g->C[0], (size_t)K_MAX * LD * sizeof(real)) != 0;
    }
    return differ;
}

int bm_kernels_agree(char *paths, size_t n)
{
    /* every row count up to two tiles of every path and beyond, columns not a multiple of 16 (an odd
     * last panel, partial second halves), K over two k-blocks; a transposed product with more rows
     * than BM_MBLOCK; K = 0 and M = 0 */
    static const int Ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17}, Ns[] = {5, 13, 29, 37};
    Agree g;
    g.A = CS_ALLOC((size_t)K_MAX * LD * sizeof *g.A), g.B = CS_ALLOC((size_t)K_MAX * LD * sizeof *g.B);
    g.bias = CS_ALLOC(N_MAX * sizeof *g.bias), g.table = CS_ALLOC(3 * N_MAX * sizeof *g.table);
    g.pk = CS_ALLOC(bm_packed_size(K_MAX, N_MAX) * sizeof *g.pk);
    for (int v = 0; v < BM_PATH_COUNT; v++) g.C[v] = CS_ALLOC((size_t)K_MAX * LD * sizeof(real));
    for (size_t i = 0; i < (size_t)K_MAX * LD; i++) /* values in (-2.4, 2.4) with full mantissas */
        g.A[i] = (real)((long)(i * 7919 % 1009) - 500) / 211, g.B[i] = (real)((long)(i * 104729 % 997) - 498) / 211;
    for (int j = 0; j < N_MAX; j++) g.bias[j] = (real)j / 7;
    for (int j = 0; j < 3 * N_MAX; j++) g.table[j] = (real)(j % 11) / 3;
    for (int i = 0; i < M_MAX; i++) g.sym[i] = i % 3, g.scale[i] = (real)(i + 1) / 5;
    int differ = 0;
    for (size_t in = 0; in < sizeof Ns / sizeof *Ns; in++) {
        BmPacked P;
        bm_pack(&P, g.pk, g.B, K_MAX, Ns[in], LD, 1);
        for (size_t im = 0; im < sizeof Ms / sizeof *Ms; im++)
            for (int test = 0; test < TESTS; test++) differ += agree_differs(&g, &P, test, Ms[im], Ns[in], K_MAX);
    }
    for (int test = NT0; test < TESTS; test++) {
        differ += agree_differs(&g, NULL, test, M_MAX, N_MAX, K_MAX);
        differ += agree_differs(&g, NULL, test, 13, N_MAX, 0) + agree_differs(&g, NULL, test, 0, N_MAX, K_MAX);
    }
    int len = snprintf(paths, n, "%s", bm_path_names[BM_GENERIC]);
    for (int v = 1; v < BM_PATH_COUNT; v++) {
        if (!bm_path_supported((BmPath)v)) continue;
        differ += nonlinear_differs((BmPath)v);
        if (len > 0 && (size_t)len < n) len += snprintf(paths + len, n - (size_t)len, ", %s", bm_path_names[v]);
    }
    for (int v = 0; v < BM_PATH_COUNT; v++) free(g.C[v]);
    free(g.A), free(g.B), free(g.bias), free(g.table), free(g.pk);
    return differ;
}

/* ---- measured rates ------------------------------------------------------------------------ */

/* GFLOP/s of the statement repeated for about 0.1 s, best of 3 */
#define RATE(flops, ...)                                                                           \
    __extension__({                                                                                \
        double best_ = 0;                                                                          \
        for (int rep_ = 0; rep_ < 3; rep_++) {                                                     \
            long n_ = 0;                                                                           \
            double t0_ = bm_seconds(), t_;                                                            \
            do {                                                                                   \
                __VA_ARGS__;                                                                       \
                n_++;                                                                              \
            } while ((t_ = bm_seconds() - t0_) < 0.1);                                                \
            double r_ = 1e-9 * (flops) * (double)n_ / t_;                                          \
            best_ = r_ > best_ ? r_ : best_;                                                       \
        }                                                                                          \
        best_;                                                                                     \
    })

BmRates bm_measure_rates(int H, int G, int L, int chunk)
{
    BmRates r = {.peak = bm_fma_peak(bm_path())};
    const int GH = G * H, LB = L * chunk;
    real *gates = CS_CALLOC((size_t)LB * GH * sizeof *gates), *h = CS_CALLOC((size_t)LB * H * sizeof *h);
    real *U = CS_CALLOC((size_t)GH * H * sizeof *U), *out = CS_CALLOC((size_t)chunk * GH * sizeof *out);
    real *fwd = CS_ALLOC(bm_packed_size(H, GH) * sizeof *fwd), *bwd = CS_ALLOC(bm_packed_size(GH, H) * sizeof *bwd);
    for (size_t i = 0; i < (size_t)LB * GH; i++) gates[i] = (real)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)LB * H; i++) h[i] = (real)(i % 5) * 0.01f;
    for (size_t i = 0; i < (size_t)GH * H; i++) U[i] = (real)(i % 3) * 0.01f;
    BmPacked F, P;
    bm_pack(&F, fwd, U, H, GH, 1, H); /* Uᵀ */
    bm_pack(&P, bwd, U, GH, H, H, 1); /* U */
    /* pre_t += h_{t-1} Uᵀ: (chunk, H)·(H, G·H) */
    r.step_fwd = RATE(2.0 * chunk * H * GH, bm_gemm_packed(out, GH, h, H, chunk, &F, 1, NULL));
    /* ∂h_{t-1} = ∂pre_t U: (chunk, G·H)·(G·H, H) */
    r.step_bwd = RATE(2.0 * chunk * GH * H, bm_gemm_packed(out, H, gates, GH, chunk, &P, 0, NULL));
    /* dU += Σ_t ∂pre_tᵀ h_{t-1}: (G·H, L·chunk)·(L·chunk, H) */
    r.wgrad = RATE(2.0 * GH * LB * H, bm_gemm_tn(U, H, gates, GH, h, H, GH, H, LB, 1));
    free(gates), free(h), free(U), free(out), free(fwd), free(bwd);
    return r;
}
