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
#define CS_FMA fma
#else
#define GEMM cblas_sgemm
#define CS_FMA fmaf
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

/* ---- packed products --------------------------------------------------------------------- */

size_t bm_packed_size(int K, int N)
{
    return (size_t)((N + BM_PANEL - 1) / BM_PANEL) * (size_t)K * BM_PANEL;
}

void bm_pack(BmPacked *P, real *storage, const real *src, int K, int N, int ld_k, int ld_n)
{
    P->K = K, P->N = N, P->panels = (N + BM_PANEL - 1) / BM_PANEL, P->p = storage;
    for (int q = 0; q < P->panels; q++)
        for (int k = 0; k < K; k++) {
            real *dst = storage + ((size_t)q * K + k) * BM_PANEL;
            for (int j = 0; j < BM_PANEL; j++) {
                int n = q * BM_PANEL + j;
                dst[j] = n < N ? src[(size_t)k * ld_k + (size_t)n * ld_n] : 0;
            }
        }
}

/* The portable version, and the double build's: one accumulator per element, k in order. */
static void gemm_packed_portable(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta)
{
    const int K = P->K, N = P->N;
    for (int q = 0; q < P->panels; q++) {
        const real *b = P->p + (size_t)q * K * BM_PANEL;
        const int width = N - q * BM_PANEL < BM_PANEL ? N - q * BM_PANEL : BM_PANEL;
        for (int i = 0; i < M; i++) {
            real acc[BM_PANEL] = {0};
            const real *a = A + (size_t)i * lda;
            for (int k = 0; k < K; k++)
                for (int j = 0; j < BM_PANEL; j++) acc[j] = CS_FMA(a[k], b[(size_t)k * BM_PANEL + j], acc[j]);
            real *c = C + (size_t)i * ldc + q * BM_PANEL;
            for (int j = 0; j < width; j++) c[j] = beta ? c[j] + acc[j] : acc[j];
        }
    }
}

#if !defined(CS_DOUBLE) && defined(__x86_64__)
#include <immintrin.h> /* AVX-512 and AVX2 intrinsics, used under target attributes */

/* Store acc (two panels of one row of C) with beta, masked to the columns that exist. */
__attribute__((target("avx512f"), always_inline)) static inline void
store512(float *c, __m512 a0, __m512 a1, __mmask16 m0, __mmask16 m1, int beta)
{
    if (beta) {
        a0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), a0);
        a1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), a1);
    }
    _mm512_mask_storeu_ps(c, m0, a0);
    _mm512_mask_storeu_ps(c + 16, m1, a1);
}

/* 8 rows of C times two panels (32 columns): 16 accumulators, named so that they stay in registers */
__attribute__((target("avx512f"))) static void tile512x8(float *C, int ldc, const float *A, int lda, int K,
                                                         const float *b0, const float *b1, __mmask16 m0,
                                                         __mmask16 m1, int beta)
{
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define DECLARE(r) __m512 p##r = _mm512_setzero_ps(), q##r = _mm512_setzero_ps();
#define STEP(r)                                                                                    \
    {                                                                                              \
        const __m512 a = _mm512_set1_ps(A[(size_t)(r) * lda + k]);                                  \
        p##r = _mm512_fmadd_ps(a, v0, p##r);                                                       \
        q##r = _mm512_fmadd_ps(a, v1, q##r);                                                       \
    }
#define STORE(r) store512(C + (size_t)(r) * ldc, p##r, q##r, m0, m1, beta);
    ROWS(DECLARE)
    for (int k = 0; k < K; k++) {
        const __m512 v0 = _mm512_load_ps(b0 + (size_t)k * 16), v1 = _mm512_load_ps(b1 + (size_t)k * 16);
        ROWS(STEP)
    }
    ROWS(STORE)
#undef ROWS
#undef DECLARE
#undef STEP
#undef STORE
}

/* 1 row of C times two panels: the rows left over */
__attribute__((target("avx512f"))) static void tile512x1(float *C, const float *A, int K, const float *b0,
                                                         const float *b1, __mmask16 m0, __mmask16 m1, int beta)
{
    __m512 p = _mm512_setzero_ps(), q = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m512 a = _mm512_set1_ps(A[k]);
        p = _mm512_fmadd_ps(a, _mm512_load_ps(b0 + (size_t)k * 16), p);
        q = _mm512_fmadd_ps(a, _mm512_load_ps(b1 + (size_t)k * 16), q);
    }
    store512(C, p, q, m0, m1, beta);
}

__attribute__((target("avx512f"))) static void gemm_packed_avx512(float *C, int ldc, const float *A, int lda,
                                                                   int M, const BmPacked *P, int beta)
{
    const int K = P->K, N = P->N;
    for (int q = 0; q < P->panels; q += 2) {
        const float *b0 = P->p + (size_t)q * K * 16;
        /* an odd last panel pairs with itself, its second half masked off */
        const float *b1 = q + 1 < P->panels ? b0 + (size_t)K * 16 : b0;
        const int n0 = q * 16, left0 = N - n0, left1 = q + 1 < P->panels ? N - n0 - 16 : 0;
        const __mmask16 m0 = left0 >= 16 ? 0xFFFF : (__mmask16)((1u << left0) - 1);
        const __mmask16 m1 = left1 >= 16 ? 0xFFFF : left1 <= 0 ? 0 : (__mmask16)((1u << left1) - 1);
        int i = 0;
        for (; i + 8 <= M; i += 8) tile512x8(C + (size_t)i * ldc + n0, ldc, A + (size_t)i * lda, lda, K, b0, b1, m0, m1, beta);
        for (; i < M; i++) tile512x1(C + (size_t)i * ldc + n0, A + (size_t)i * lda, K, b0, b1, m0, m1, beta);
    }
}

/* rows (≤ 4) rows of C times one panel (two ymm halves): 8 accumulators */
__attribute__((target("avx2,fma"), always_inline)) static inline void
tile256(float *C, int ldc, const float *A, int lda, const int rows, int K, const float *b, int width, int beta)
{
    __m256 lo[4], hi[4];
    for (int r = 0; r < rows; r++) lo[r] = hi[r] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m256 v0 = _mm256_load_ps(b + (size_t)k * 16), v1 = _mm256_load_ps(b + (size_t)k * 16 + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 a = _mm256_set1_ps(A[(size_t)r * lda + k]);
            lo[r] = _mm256_fmadd_ps(a, v0, lo[r]);
            hi[r] = _mm256_fmadd_ps(a, v1, hi[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float acc[16], *c = C + (size_t)r * ldc;
        _mm256_storeu_ps(acc, lo[r]);
        _mm256_storeu_ps(acc + 8, hi[r]);
        for (int j = 0; j < width; j++) c[j] = beta ? c[j] + acc[j] : acc[j];
    }
}

__attribute__((target("avx2,fma"))) static void gemm_packed_avx2(float *C, int ldc, const float *A, int lda,
                                                                  int M, const BmPacked *P, int beta)
{
    const int K = P->K, N = P->N;
    for (int q = 0; q < P->panels; q++) {
        const float *b = P->p + (size_t)q * K * 16;
        const int n0 = q * 16, width = N - n0 < 16 ? N - n0 : 16;
        int i = 0;
        for (; i + 4 <= M; i += 4) tile256(C + (size_t)i * ldc + n0, ldc, A + (size_t)i * lda, lda, 4, K, b, width, beta);
        for (; i < M; i++) tile256(C + (size_t)i * ldc + n0, ldc, A + (size_t)i * lda, lda, 1, K, b, width, beta);
    }
}
#endif

const char *bm_kernel_name(void)
{
#if !defined(CS_DOUBLE) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
    return "portable";
}

void bm_gemm_packed(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta)
{
#if !defined(CS_DOUBLE) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return gemm_packed_avx512(C, ldc, A, lda, M, P, beta);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return gemm_packed_avx2(C, ldc, A, lda, M, P, beta);
#endif
    gemm_packed_portable(C, ldc, A, lda, M, P, beta);
}
