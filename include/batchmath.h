/* Batch math: matrix products through CBLAS, the elementwise nonlinearities, and reductions whose
 * order is fixed (never a function of the thread count). Every BLAS call runs single-threaded on
 * the calling thread; parallelism comes from OpenMP over fixed work items (batch chunks, blocks),
 * which is what makes results bit-identical for any OMP_NUM_THREADS.
 * Matrices are row-major; kernels take outputs first, then inputs, then sizes. */
#ifndef CS_BATCHMATH_H
#define CS_BATCHMATH_H

#include <math.h>   /* exp, tanh, sqrt */
#include <stddef.h> /* size_t */
#include <stdint.h> /* int32_t */

#include "real.h" /* real */

/* Make BLAS single-threaded; set the OpenMP thread count if threads > 0. Returns the thread count. */
int bm_setup_threads(int threads);
/* The BLAS library and kernel that run, e.g. "OpenBLAS 0.3.21 ... (kernel Haswell)". */
const char *bm_blas_name(void);

/* C(M,N) = beta·C + A(M,K)·B(N,K)ᵀ */
void bm_gemm_nt(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K,
                real beta);
/* C(M,N) = beta·C + A(M,K)·B(K,N) */
void bm_gemm_nn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K,
                real beta);
/* C(M,N) = beta·C + A(K,M)ᵀ·B(K,N) */
void bm_gemm_tn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K,
                real beta);

/* A matrix B(K, N) packed for bm_gemm_packed: panels of BM_PANEL columns, each (K, BM_PANEL)
 * contiguous, the last one zero-padded. Packing the recurrent weights once per batch saves
 * repacking them at every time step. */
#define BM_PANEL 16
typedef struct {
    int K, N, panels;
    real *p; /* (panels, K, BM_PANEL), 64-byte aligned */
} BmPacked;

/* Reals of storage a packed (K, N) matrix needs. */
size_t bm_packed_size(int K, int N);
/* Pack B(K, N), whose element (k, n) is src[k·ld_k + n·ld_n], into P, using storage. */
void bm_pack(BmPacked *P, real *storage, const real *src, int K, int N, int ld_k, int ld_n);
/* What row i of C starts from in bm_gemm_packed: bias + scale[i]·table[sym[i]] (scale NULL: 1).
 * For one-hot inputs that is b + W x̃_t, so the input term costs no pass of its own. */
typedef struct {
    const real *bias;    /* (N) */
    const real *table;   /* rows of N, ld apart */
    int ld;
    const int32_t *sym;  /* (M) */
    const real *scale;   /* (M), or NULL */
} BmRowInit;

/* C(M, N) = start + A(M, K)·B, where start is C itself (beta 1), zero (beta 0), or init's rows
 * when init is not NULL. Every element is accumulated over k in order with fused multiply-adds
 * and then added to its start, so the AVX-512, AVX2 and portable versions give the same bits. */
void bm_gemm_packed(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta,
                    const BmRowInit *init);
/* C(M, N) += A(K, M)ᵀ·B(K, N), the recurrent weight gradient summed over all steps: k runs in blocks
 * of BM_KBLOCK; within a block each element's sum starts at 0 and runs over k in order with fused
 * multiply-adds, then is added to C. Same bits in every version, as for bm_gemm_packed. */
#define BM_KBLOCK 256
void bm_gemm_tn_acc(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K);
/* Runs every version of bm_gemm_packed and bm_gemm_tn_acc this CPU supports on awkward shapes and
 * returns how many results differ in any bit from the portable version's (0 is the claim above);
 * the versions compared are written to `versions`. */
int bm_kernels_agree(char *versions, size_t n);
/* Which version bm_gemm_packed and bm_gemm_tn_acc run here: "avx512", "avx2" or "portable". */
const char *bm_kernel_name(void);

/* Measured rates for the benchmark, in GFLOP/s on the calling thread: the FMA peak (independent
 * vector FMAs), OpenBLAS sgemm on a step's shapes (B, I+H)·(I+H, G·H) and on the batched
 * weight-gradient shapes (I+H, L·B)·(L·B, G·H), and bm_gemm_packed on a chunk's step (chunk, H)·(H, G·H). */
typedef struct {
    double peak, sgemm_step, sgemm_wgrad, packed_step;
} BmRates;
BmRates bm_measure_rates(int in, int H, int G, int B, int L, int chunk);

/* y(N) += Σ_rows A(M,N) (row stride lda), rows added in order. */
void bm_add_colsum(real *y, const real *A, int lda, int M, int N);
/* Every row of A(M,N) = v(N). */
void bm_fill_rows(real *A, const real *v, int M, int N);
/* Σ x_i² in double, in fixed blocks combined in order; OpenMP-parallel over blocks. */
double bm_sumsq(const real *x, size_t n);

/* The nonlinearities, inline so that the fused gate loops vectorize: in the float build a
 * branch-free e^x (Cephes expf: x = n·ln2 + r, e^r by a polynomial, 2^n into the exponent bits;
 * σ and tanh within 3e-7 of libm, tested), libm in the double build the gradient checks use. */
#ifdef CS_DOUBLE
static inline real bm_exp(real x) { return exp(x); }
static inline real bm_tanh(real x) { return tanh(x); }
static inline real bm_sqrt(real x) { return sqrt(x); }
#else
static inline float bm_exp(float v)
{
    /* 2^n stays a normal float; a NaN takes the lower bound here (no NaN reaches the conversion to
     * int below) and is given back at the end */
    const float x = v > -87.0f ? (v < 88.0f ? v : 88.0f) : -87.0f;
    /* n = round(x / ln2): adding 1.5·2^23 rounds to an integer in the low mantissa bits */
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    /* r = x − n·ln2, with ln2 split in two so that n·C1 is exact */
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    union {
        int i;
        float f;
    } scale = {.i = ((int)n + 127) << 23};
    const float out = e * scale.f;
    return v == v ? out : v;
}
static inline float bm_tanh(float v)
{
    float a = v < 0 ? -v : v, z = v * v;
    /* |x| < 0.625: tanh x = x + x·z·P(z), z = x² (Cephes tanhf), no cancellation near 0 */
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * v + v;
    /* else tanh |x| = 1 − 2 / (e^{2|x|} + 1), sign restored */
    float big = 1.0f - 2.0f / (bm_exp(2.0f * a) + 1.0f);
    return a < 0.625f ? small : (v < 0 ? -big : big);
}
static inline float bm_sqrt(float x) { return sqrtf(x); }
#endif
/* The fused elementwise loops are compiled for AVX-512, AVX2 and baseline x86-64, the one the CPU
 * supports chosen when the program starts. Floating-point contraction is off (ISO C), so every
 * version computes the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CS_DOUBLE)
#define BM_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BM_VECTOR_CLONES
#endif

/* σ(x) = 1 / (1 + e^{-x}) */
static inline real bm_sigmoid(real x) { return 1 / (1 + bm_exp(-x)); }

/* Σ a_i·b_i in a fixed order that vectorizes: 16 partial sums by i mod 16, added in a fixed tree. */
static inline real bm_dot(const real *a, const real *b, int n)
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
static inline double bm_sumsq_row(const real *x, size_t n)
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
