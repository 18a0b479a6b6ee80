/* Batch math on OpenBLAS (CBLAS) and OpenMP. */
#include "batchmath.h"

#include <stdint.h> /* int32_t */
#ifdef __SSE__
#include <xmmintrin.h> /* _mm_getcsr, _mm_setcsr */
#endif
#include <string.h> /* memcpy */
#include <cblas.h>  /* cblas_sgemm, cblas_dgemm, openblas_set_num_threads, openblas_get_* */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* free */
#ifdef _OPENMP
#include <omp.h> /* omp_set_num_threads, omp_get_max_threads */
#endif

#include "check.h" /* CS_ALLOC */

#ifdef CS_DOUBLE
#define GEMM cblas_dgemm
#else
#define GEMM cblas_sgemm
#endif

/* Elements per block of bm_sumsq: fixed, so the summation order is too. */
#define SUMSQ_BLOCK 4096

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
    openblas_set_num_threads(1);
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

const char *bm_blas_name(void)
{
    static char name[256]; /* written once, read-only afterwards */
    snprintf(name, sizeof name, "%s (kernel %s)", openblas_get_config(), openblas_get_corename());
    return name;
}

void bm_gemm_nt(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K,
                real beta)
{
    if (M == 0 || N == 0) return;
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, A, lda, B, ldb, beta, C, ldc);
}

void bm_gemm_nn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K,
                real beta)
{
    if (M == 0 || N == 0) return;
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, lda, B, ldb, beta, C, ldc);
}

void bm_gemm_tn(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K,
                real beta)
{
    if (M == 0 || N == 0) return;
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1, A, lda, B, ldb, beta, C, ldc);
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

#ifdef CS_DOUBLE
void bm_sigmoid_inplace(real *x, size_t n)
{
    for (size_t k = 0; k < n; k++) x[k] = bm_sigmoid(x[k]);
}

void bm_tanh_inplace(real *x, size_t n)
{
    for (size_t k = 0; k < n; k++) x[k] = bm_tanh(x[k]);
}
#else
/* e^x for float, written so that the compiler vectorizes it (Cephes expf): x = n·ln2 + r with
 * |r| ≤ ln2/2, e^r by a degree-7 polynomial, 2^n put into the exponent bits. */
static inline float exp_vec(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x; /* 2^n stays a normal float */
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
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

void bm_sigmoid_inplace(real *x, size_t n)
{
    /* σ(x) = 1 / (1 + e^{-x}) */
#pragma omp simd
    for (size_t k = 0; k < n; k++) x[k] = 1.0f / (1.0f + exp_vec(-x[k]));
}

void bm_tanh_inplace(real *x, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        float v = x[k], a = v < 0 ? -v : v, z = v * v;
        /* |x| < 0.625: tanh x = x + x·z·P(z), z = x² (Cephes tanhf), no cancellation near 0 */
        float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                        1.33314422036e-1f) * z - 3.33332819422e-1f) * z * v + v;
        /* else tanh |x| = 1 − 2 / (e^{2|x|} + 1), sign restored */
        float big = 1.0f - 2.0f / (exp_vec(2.0f * a) + 1.0f);
        x[k] = a < 0.625f ? small : (v < 0 ? -big : big);
    }
}
#endif
