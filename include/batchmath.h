/* Batch math: the matrix products (on the kernels of kernels.h), the elementwise nonlinearities,
 * and reductions whose order is fixed: never a function of the thread count or of the CPU. Every
 * product runs on the calling thread; parallelism comes from OpenMP over fixed work items (batch
 * chunks, blocks), which is what makes results bit-identical for any OMP_NUM_THREADS, and the same
 * order on every kernel path is what makes them bit-identical on any x86-64 CPU.
 * Matrices are row-major; kernels take outputs first, then inputs, then sizes. */
#ifndef CS_BATCHMATH_H
#define CS_BATCHMATH_H

#include <math.h>   /* exp, tanh, sqrt */
#include <stddef.h> /* size_t */
#include <stdint.h> /* int32_t, uint32_t */

#include "kernels.h" /* BmPacked, BmRowInit, bm_path */
#include "real.h"    /* real */

/* A function inlined wherever it is called, so that it is compiled for its caller's path (BM_PATHS). */
#define BM_BODY static inline __attribute__((always_inline))

/* Flush subnormal floats to zero on every OpenMP thread; set the thread count if threads > 0.
 * Returns the thread count. */
int bm_setup_threads(int threads);

/* The products, all on the kernels of the selected path (kernels.h), none in a BLAS: each element
 * of C is its start plus, per block of BM_KBLOCK consecutive k from k = 0, a sum over the block that
 * starts at 0 and runs over k in order with fused multiply-adds, so that every path gives the same
 * bits. The start is C (beta 1) or 0 (beta 0). Row-major; outputs first, then inputs, then sizes. */
#define BM_KBLOCK 256
/* C(M,N) = start + A(M,K)·B(N,K)ᵀ */
void bm_gemm_nt(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K, int beta);
/* C(M,N) = start + A(M,K)·B(K,N) */
void bm_gemm_nn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K, int beta);
/* C(M,N) = start + A(K,M)ᵀ·B(K,N): with beta 1 the weight gradients summed over all steps */
void bm_gemm_tn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K, int beta);

/* Reals of storage a packed (K, N) matrix needs (BmPacked, kernels.h). */
size_t bm_packed_size(int K, int N);
/* Pack B(K, N), whose element (k, n) is src[k·ld_k + n·ld_n], into P, using storage. */
void bm_pack(BmPacked *P, real *storage, const real *src, int K, int N, int ld_k, int ld_n);
/* The per-step product: C(M, N) = start + A(M, K)·B, where start is C itself (beta 1), zero
 * (beta 0), or init's rows when init is not NULL; each element's sum runs over all K in order with
 * fused multiply-adds (no blocks: K is H or G·H) and is then added to its start. */
void bm_gemm_packed(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta,
                    const BmRowInit *init);

/* Runs every product on every path this CPU supports, on awkward shapes (ragged rows and columns,
 * an odd last panel, several k-blocks, every kind of start), and σ and tanh of values over their
 * whole range (±0, subnormals, ±∞, NaN among them), and returns how many results differ in any bit
 * from the generic path's (0 is the claim above); the paths compared are written to `paths`. */
int bm_kernels_agree(char *paths, size_t n);

/* Measured rates for the benchmark, in GFLOP/s on the calling thread and the selected path, of the
 * products one chunk of a batch computes: the FMA peak (independent vector FMAs), the per-step
 * product forward (chunk, H)·(H, G·H) and backward (chunk, G·H)·(G·H, H), and the recurrent weight
 * gradient over all L steps (G·H, L·chunk)·(L·chunk, H). */
typedef struct {
    double peak, step_fwd, step_bwd, wgrad;
} BmRates;
BmRates bm_measure_rates(int H, int G, int L, int chunk);

/* y(N) += Σ_rows A(M,N) (row stride lda), rows added in order. */
void bm_add_colsum(real *y, const real *A, int lda, int M, int N);
/* Every row of A(M,N) = v(N). */
void bm_fill_rows(real *A, const real *v, int M, int N);
/* Σ x_i² in double, in fixed blocks combined in order; OpenMP-parallel over blocks. */
double bm_sumsq(const real *x, size_t n);

/* The nonlinearities, inline so that the fused gate loops vectorize: in the float build a
 * branch-free e^x (Cephes expf: x = n·ln2 + r, e^r by a polynomial, 2^n into the exponent bits;
 * σ and tanh within 3e-7 of libm, tested), its polynomials evaluated with fused multiply-adds, the
 * same on every path; libm in the double build the gradient checks use. */
#ifdef CS_DOUBLE
static inline real bm_exp(real x) { return exp(x); }
static inline real bm_tanh(real x) { return tanh(x); }
static inline real bm_sqrt(real x) { return sqrt(x); }
#else
BM_BODY float bm_exp(float v)
{
    /* x = v clamped to [−87, 88], so that 2^n stays a normal float, by two integer minima of its
     * bits: as signed integers the bits order every v below 88 (and +NaN above), as unsigned
     * integers those of the negative v above −87 (and −NaN below). A NaN is given back at the end;
     * none reaches the conversion to int below. */
    union {
        float f;
        int32_t i;
        uint32_t u;
    } c = {.f = v}, hi = {.f = 88.0f}, lo = {.f = -87.0f};
    c.i = c.i < hi.i ? c.i : hi.i;
    c.u = c.u < lo.u ? c.u : lo.u;
    const float x = c.f;
    /* n = round(x / ln2): adding 1.5·2^23 rounds to an integer in the low mantissa bits */
    const float n = fmaf(x, 1.44269504f, 12582912.0f) - 12582912.0f;
    /* r = x − n·ln2, with ln2 split in two so that n·C1 is exact */
    const float r = fmaf(n, 2.12194440e-4f, fmaf(-n, 0.693359375f, x));
    /* e^r = 1 + r + r²·P(r) */
    float p = fmaf(1.9875691500e-4f, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    const float e = fmaf(p, r * r, r) + 1.0f;
    union {
        int i;
        float f;
    } scale = {.i = ((int)n + 127) << 23};
    const float out = e * scale.f;
    return v == v ? out : v;
}
BM_BODY float bm_tanh(float v)
{
    const float a = v < 0 ? -v : v, z = v * v;
    /* |x| < 0.625: tanh x = x + x·z·P(z), z = x² (Cephes tanhf), no cancellation near 0 */
    float p = fmaf(-5.70498872745e-3f, z, 2.06390887954e-2f);
    p = fmaf(p, z, -5.37397155531e-2f);
    p = fmaf(p, z, 1.33314422036e-1f);
    p = fmaf(p, z, -3.33332819422e-1f);
    const float small = fmaf(p * z, v, v);
    /* else tanh |x| = 1 − 2 / (e^{2|x|} + 1), sign restored */
    const float big = 1.0f - 2.0f / (bm_exp(2.0f * a) + 1.0f);
    return a < 0.625f ? small : (v < 0 ? -big : big);
}
static inline float bm_sqrt(float x) { return sqrtf(x); }
#endif
/* The fused elementwise loops (the gate math, the scatter of input gradients) run compiled for the
 * selected path. BM_PATHS(LINKAGE, NAME, (PARAMS), (ARGS)) defines NAME(PARAMS), which calls
 * NAME_body(ARGS) (a BM_BODY function) compiled once for AVX-512, once for AVX2 and once for
 * baseline x86-64, the copy of the selected path. Floating-point contraction is off
 * (-ffp-contract=off: the only fused multiply-adds are the fmaf the source writes), so every copy
 * computes the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(CS_DOUBLE)
#define BM_HAS_PATHS 1 /* NAME_avx512, NAME_avx2 and NAME_generic exist */
#define BM_PATHS(LINKAGE, NAME, PARAMS, ARGS)                                                      \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))) static void NAME##_avx512 PARAMS \
    {                                                                                              \
        NAME##_body ARGS;                                                                          \
    }                                                                                              \
    __attribute__((target("avx2,fma"))) static void NAME##_avx2 PARAMS { NAME##_body ARGS; }     \
    static void NAME##_generic PARAMS { NAME##_body ARGS; }                                        \
    LINKAGE void NAME PARAMS                                                                       \
    {                                                                                              \
        switch (bm_path()) {                                                                       \
        case BM_AVX512: NAME##_avx512 ARGS; return;                                                \
        case BM_AVX2: NAME##_avx2 ARGS; return;                                                    \
        default: NAME##_generic ARGS; return;                                                      \
        }                                                                                          \
    }
#else
#define BM_PATHS(LINKAGE, NAME, PARAMS, ARGS)                                                      \
    LINKAGE void NAME PARAMS { NAME##_body ARGS; }
#endif

/* σ(x) = 1 / (1 + e^{-x}) */
BM_BODY real bm_sigmoid(real x) { return 1 / (1 + bm_exp(-x)); }

/* Σ a_i·b_i in a fixed order that vectorizes: 16 partial sums by i mod 16, added in a fixed tree. */
BM_BODY real bm_dot(const real *a, const real *b, int n)
{
    real part[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) part[j] += a[i + j] * b[i + j];
    for (int j = 0; i + j < n; j++) part[j] += a[i + j] * b[i + j];
    for (int w = 8; w > 0; w /= 2)
        for (int j = 0; j < w; j++) part[j] += part[j + w];
    return part[0];
}

/* Σ x_i² in double, in the same fixed order. */
BM_BODY double bm_sumsq_row(const real *x, size_t n)
{
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) part[j] += (double)x[i + j] * x[i + j];
    for (int j = 0; i + j < n; j++) part[j] += (double)x[i + j] * x[i + j];
    for (int w = 4; w > 0; w /= 2)
        for (int j = 0; j < w; j++) part[j] += part[j + w];
    return part[0];
}

#endif
