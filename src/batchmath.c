/* Batch math on a CBLAS (OpenBLAS by default; BLIS or another through BLAS_PC) and OpenMP. */
#include "batchmath.h"

#ifdef __SSE__
#include <xmmintrin.h> /* _mm_getcsr, _mm_setcsr */
#endif
/* BLIS's cblas.h carries static functions of its own, unused here: no warnings from them */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include <cblas.h>  /* cblas_sgemm, cblas_dgemm; OpenBLAS's also openblas_set_num_threads, openblas_get_* */
/* BLIS: its cblas.h (which defines BLIS_SYSTEM_H) declares no bli_* function; blis.h does */
#if !defined(OPENBLAS_VERSION) && defined(BLIS_SYSTEM_H)
#include <blis.h>  /* bli_thread_set_num_threads, bli_info_get_version_str, bli_arch_* */
#define CS_BLIS 1
#endif
#pragma GCC diagnostic pop
#include <stdio.h>  /* snprintf */
#include <time.h>   /* clock_gettime */
#include <stdlib.h> /* free */
#include <string.h> /* memcmp */
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

/* The BLAS runs on one thread: the parallelism is OpenMP's over the batch, or MPI's over trials. */
static void blas_single_thread(void)
{
#if defined(OPENBLAS_VERSION)
    openblas_set_num_threads(1);
#elif defined(CS_BLIS)
    bli_thread_set_num_threads(1);
#endif
    /* another CBLAS: its own setting (an environment variable, as a rule) */
}

int bm_setup_threads(int threads)
{
    blas_single_thread();
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
#if defined(OPENBLAS_VERSION)
    snprintf(name, sizeof name, "%s (kernel %s)", openblas_get_config(), openblas_get_corename());
#elif defined(CS_BLIS)
    snprintf(name, sizeof name, "BLIS %s (kernel %s)", bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()));
#else
    snprintf(name, sizeof name, "a CBLAS other than OpenBLAS and BLIS");
#endif
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

/* The value row i, column n of C starts from */
static inline real start_of(const real *c, int beta, const BmRowInit *init, int i, int n)
{
    if (init) return init->bias[n] + (init->scale ? init->scale[i] : 1) * init->table[(size_t)init->sym[i] * init->ld + n];
    return beta ? *c : 0;
}

/* The portable version, and the double build's: one accumulator per element, k in order. */
static void gemm_packed_portable(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta,
                                 const BmRowInit *init)
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
            for (int j = 0; j < width; j++) c[j] = start_of(c + j, beta, init, i, q * BM_PANEL + j) + acc[j];
        }
    }
}

/* C += Aᵀ·B, portable: per k-block, one accumulator per element, k in order */
static void gemm_tn_acc_portable(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N,
                                 int K)
{
    for (int k0 = 0; k0 < K; k0 += BM_KBLOCK) {
        const int k1 = k0 + BM_KBLOCK < K ? k0 + BM_KBLOCK : K;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                real acc = 0;
                for (int k = k0; k < k1; k++) acc = CS_FMA(A[(size_t)k * lda + i], B[(size_t)k * ldb + j], acc);
                C[(size_t)i * ldc + j] += acc;
            }
    }
}

#if !defined(CS_DOUBLE) && defined(__x86_64__)
#include <immintrin.h> /* AVX-512 and AVX2 intrinsics, used under target attributes */

/* The starts of one row of C at columns n0.. (two panels), masked to the columns that exist. */
__attribute__((target("avx512f"), always_inline)) static inline void
start512(__m512 *s0, __m512 *s1, const float *c, int beta, const BmRowInit *init, int i, int n0, __mmask16 m0,
         __mmask16 m1)
{
    if (init) {
        const float *w = init->table + (size_t)init->sym[i] * init->ld + n0, *bias = init->bias + n0;
        const __m512 sc = _mm512_set1_ps(init->scale ? init->scale[i] : 1.0f);
        *s0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, bias), _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m0, w)));
        *s1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, bias + 16), _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m1, w + 16)));
    } else if (beta) {
        *s0 = _mm512_maskz_loadu_ps(m0, c);
        *s1 = _mm512_maskz_loadu_ps(m1, c + 16);
    } else {
        *s0 = *s1 = _mm512_setzero_ps();
    }
}

/* Row i of C at columns n0..: its start plus the accumulators, masked to the columns that exist. */
__attribute__((target("avx512f"), always_inline)) static inline void
store512(float *c, __m512 a0, __m512 a1, __mmask16 m0, __mmask16 m1, int beta, const BmRowInit *init, int i, int n0)
{
    __m512 s0, s1;
    start512(&s0, &s1, c, beta, init, i, n0, m0, m1);
    _mm512_mask_storeu_ps(c, m0, _mm512_add_ps(s0, a0));
    _mm512_mask_storeu_ps(c + 16, m1, _mm512_add_ps(s1, a1));
}

/* 8 rows of C times two panels (32 columns): 16 accumulators, named so that they stay in registers */
__attribute__((target("avx512f"))) static void tile512x8(float *C, int ldc, const float *A, int lda, int K,
                                                         const float *b0, const float *b1, __mmask16 m0,
                                                         __mmask16 m1, int beta, const BmRowInit *init, int i0,
                                                         int n0)
{
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define DECLARE(r) __m512 p##r = _mm512_setzero_ps(), q##r = _mm512_setzero_ps();
#define STEP(r)                                                                                    \
    {                                                                                              \
        const __m512 a = _mm512_set1_ps(A[(size_t)(r) * lda + k]);                                  \
        p##r = _mm512_fmadd_ps(a, v0, p##r);                                                       \
        q##r = _mm512_fmadd_ps(a, v1, q##r);                                                       \
    }
#define STORE(r) store512(C + (size_t)(r) * ldc, p##r, q##r, m0, m1, beta, init, i0 + (r), n0);
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
                                                         const float *b1, __mmask16 m0, __mmask16 m1, int beta,
                                                         const BmRowInit *init, int i, int n0)
{
    __m512 p = _mm512_setzero_ps(), q = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m512 a = _mm512_set1_ps(A[k]);
        p = _mm512_fmadd_ps(a, _mm512_load_ps(b0 + (size_t)k * 16), p);
        q = _mm512_fmadd_ps(a, _mm512_load_ps(b1 + (size_t)k * 16), q);
    }
    store512(C, p, q, m0, m1, beta, init, i, n0);
}

__attribute__((target("avx512f"))) static void gemm_packed_avx512(float *C, int ldc, const float *A, int lda,
                                                                   int M, const BmPacked *P, int beta,
                                                                   const BmRowInit *init)
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
        for (; i + 8 <= M; i += 8)
            tile512x8(C + (size_t)i * ldc + n0, ldc, A + (size_t)i * lda, lda, K, b0, b1, m0, m1, beta, init, i, n0);
        for (; i < M; i++)
            tile512x1(C + (size_t)i * ldc + n0, A + (size_t)i * lda, K, b0, b1, m0, m1, beta, init, i, n0);
    }
}

/* C(8 rows, 32 columns) += Aᵀ·B over one k-block of kb steps, from packed blocks: ap holds the
 * tile's 8 values of A per k, bp the 32 values of B per k, both contiguous: 16 accumulators. */
__attribute__((target("avx512f"))) static void tn512x8(float *C, int ldc, const float *ap, const float *bp, int kb,
                                                       int rows, __mmask16 m0, __mmask16 m1)
{
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define DECLARE(r) __m512 p##r = _mm512_setzero_ps(), q##r = _mm512_setzero_ps();
#define STEP(r)                                                                                    \
    {                                                                                              \
        const __m512 a = _mm512_set1_ps(ap[(size_t)k * 8 + (r)]);                                 \
        p##r = _mm512_fmadd_ps(a, v0, p##r);                                                       \
        q##r = _mm512_fmadd_ps(a, v1, q##r);                                                       \
    }
#define STORE(r)                                                                                   \
    if ((r) < rows) {                                                                              \
        float *c = C + (size_t)(r) * ldc;                                                          \
        _mm512_mask_storeu_ps(c, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), p##r));           \
        _mm512_mask_storeu_ps(c + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), q##r)); \
    }
    ROWS(DECLARE)
    for (int k = 0; k < kb; k++) {
        const __m512 v0 = _mm512_load_ps(bp + (size_t)k * 32), v1 = _mm512_load_ps(bp + (size_t)k * 32 + 16);
        ROWS(STEP)
    }
    ROWS(STORE)
#undef ROWS
#undef DECLARE
#undef STEP
#undef STORE
}

/* Per k-block: B's block packed in pairs of 16-column panels, A's block in 8-row tiles (zero rows
 * and columns padding the edges), then every tile of C from contiguous memory: no strided walks. */
__attribute__((target("avx512f,avx512vl"))) static void gemm_tn_acc_avx512(float *C, int ldc, const float *A, int lda,
                                                                   const float *B, int ldb, int M, int N, int K)
{
    const int mt = (M + 7) / 8, np = (N + 31) / 32;
    float *ap = CS_ALLOC((size_t)mt * 8 * BM_KBLOCK * sizeof *ap), *bp = CS_ALLOC((size_t)np * 32 * BM_KBLOCK * sizeof *bp);
    for (int k0 = 0; k0 < K; k0 += BM_KBLOCK) {
        const int kb = k0 + BM_KBLOCK < K ? BM_KBLOCK : K - k0;
        for (int k = 0; k < kb; k++) {
            const float *arow = A + (size_t)(k0 + k) * lda, *brow = B + (size_t)(k0 + k) * ldb;
            for (int t = 0; t < mt; t++) { /* ap[t][k][0..8) = A[k0 + k][8t ..] */
                const int w = M - 8 * t < 8 ? M - 8 * t : 8;
                _mm256_storeu_ps(ap + ((size_t)t * BM_KBLOCK + k) * 8,
                                 _mm256_maskz_loadu_ps((__mmask8)((1u << w) - 1), arow + 8 * t));
            }
            for (int q = 0; q < np; q++) { /* bp[q][k][0..32) = B[k0 + k][32q ..] */
                const int left0 = N - 32 * q, left1 = left0 - 16;
                const __mmask16 m0 = left0 >= 16 ? 0xFFFF : (__mmask16)((1u << left0) - 1);
                const __mmask16 m1 = left1 >= 16 ? 0xFFFF : left1 <= 0 ? 0 : (__mmask16)((1u << left1) - 1);
                float *dst = bp + ((size_t)q * BM_KBLOCK + k) * 32;
                _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, brow + 32 * q));
                _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, brow + 32 * q + 16));
            }
        }
        for (int q = 0; q < np; q++) {
            const int n0 = 32 * q, left0 = N - n0, left1 = N - n0 - 16;
            const __mmask16 m0 = left0 >= 16 ? 0xFFFF : (__mmask16)((1u << left0) - 1);
            const __mmask16 m1 = left1 >= 16 ? 0xFFFF : left1 <= 0 ? 0 : (__mmask16)((1u << left1) - 1);
            for (int t = 0; t < mt; t++)
                tn512x8(C + (size_t)8 * t * ldc + n0, ldc, ap + (size_t)t * BM_KBLOCK * 8, bp + (size_t)q * BM_KBLOCK * 32,
                        kb, M - 8 * t < 8 ? M - 8 * t : 8, m0, m1);
        }
    }
    free(ap);
    free(bp);
}

/* C(rows ≤ 4, 16 columns) += Aᵀ·B over k0..k1 (AVX2): 8 accumulators */
__attribute__((target("avx2,fma"), always_inline)) static inline void
tn256(float *C, int ldc, const float *A, int lda, const float *B, int ldb, const int rows, int k0, int k1, int width)
{
    __m256 lo[4], hi[4];
    for (int r = 0; r < rows; r++) lo[r] = hi[r] = _mm256_setzero_ps();
    for (int k = k0; k < k1; k++) {
        float b[16] = {0};
        for (int j = 0; j < width; j++) b[j] = B[(size_t)k * ldb + j];
        const __m256 v0 = _mm256_loadu_ps(b), v1 = _mm256_loadu_ps(b + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 a = _mm256_set1_ps(A[(size_t)k * lda + r]);
            lo[r] = _mm256_fmadd_ps(a, v0, lo[r]);
            hi[r] = _mm256_fmadd_ps(a, v1, hi[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float acc[16];
        _mm256_storeu_ps(acc, lo[r]);
        _mm256_storeu_ps(acc + 8, hi[r]);
        for (int j = 0; j < width; j++) C[(size_t)r * ldc + j] += acc[j];
    }
}

__attribute__((target("avx2,fma"))) static void gemm_tn_acc_avx2(float *C, int ldc, const float *A, int lda,
                                                                  const float *B, int ldb, int M, int N, int K)
{
    for (int k0 = 0; k0 < K; k0 += BM_KBLOCK) {
        const int k1 = k0 + BM_KBLOCK < K ? k0 + BM_KBLOCK : K;
        for (int n0 = 0; n0 < N; n0 += 16) {
            const int width = N - n0 < 16 ? N - n0 : 16;
            int i = 0;
            for (; i + 4 <= M; i += 4) tn256(C + (size_t)i * ldc + n0, ldc, A + i, lda, B + n0, ldb, 4, k0, k1, width);
            for (; i < M; i++) tn256(C + (size_t)i * ldc + n0, ldc, A + i, lda, B + n0, ldb, 1, k0, k1, width);
        }
    }
}

/* rows (≤ 4) rows of C times one panel (two ymm halves): 8 accumulators */
__attribute__((target("avx2,fma"), always_inline)) static inline void
tile256(float *C, int ldc, const float *A, int lda, const int rows, int K, const float *b, int width, int beta,
        const BmRowInit *init, int i0, int n0)
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
        for (int j = 0; j < width; j++) c[j] = start_of(c + j, beta, init, i0 + r, n0 + j) + acc[j];
    }
}

__attribute__((target("avx2,fma"))) static void gemm_packed_avx2(float *C, int ldc, const float *A, int lda,
                                                                  int M, const BmPacked *P, int beta,
                                                                  const BmRowInit *init)
{
    const int K = P->K, N = P->N;
    for (int q = 0; q < P->panels; q++) {
        const float *b = P->p + (size_t)q * K * 16;
        const int n0 = q * 16, width = N - n0 < 16 ? N - n0 : 16;
        int i = 0;
        for (; i + 4 <= M; i += 4)
            tile256(C + (size_t)i * ldc + n0, ldc, A + (size_t)i * lda, lda, 4, K, b, width, beta, init, i, n0);
        for (; i < M; i++)
            tile256(C + (size_t)i * ldc + n0, ldc, A + (size_t)i * lda, lda, 1, K, b, width, beta, init, i, n0);
    }
}
#endif

int bm_kernels_agree(char *versions, size_t n)
{
    /* shapes with ragged edges: rows not a multiple of 8, columns not of 16, an odd last panel */
    const int M = 13, N = 37, K = 300, ld = 307; /* ld ≥ K: A is (M, K), B (K, N) */
    int differ = 0;
    real *A = CS_ALLOC((size_t)K * ld * sizeof *A), *Bm = CS_ALLOC((size_t)K * ld * sizeof *Bm);
    real *C[3], *bias = CS_ALLOC((size_t)N * sizeof *bias), *table = CS_ALLOC((size_t)3 * N * sizeof *table);
    real *pk = CS_ALLOC(bm_packed_size(K, N) * sizeof *pk), scale[M];
    int32_t sym[M];
    for (size_t i = 0; i < (size_t)K * ld; i++) /* values in (-2.4, 2.4) with full mantissas */
        A[i] = (real)((long)(i * 7919 % 1009) - 500) / 211, Bm[i] = (real)((long)(i * 104729 % 997) - 498) / 211;
    for (int j = 0; j < N; j++) bias[j] = (real)j / 7;
    for (int j = 0; j < 3 * N; j++) table[j] = (real)(j % 11) / 3;
    for (int i = 0; i < M; i++) sym[i] = i % 3, scale[i] = (real)(i + 1) / 5;
    BmPacked P;
    bm_pack(&P, pk, Bm, K, N, ld, 1);
    const BmRowInit init = {.bias = bias, .table = table, .ld = N, .sym = sym, .scale = scale};
    for (int v = 0; v < 3; v++) C[v] = CS_ALLOC((size_t)M * ld * sizeof(real));
    int len = snprintf(versions, n, "portable");
    for (int test = 0; test < 4; test++) {
        for (int v = 0; v < 3; v++) {
#if !defined(CS_DOUBLE) && defined(__x86_64__)
            if (v == 1 && !__builtin_cpu_supports("avx512f")) continue;
            if (v == 1 && test == 3 && !__builtin_cpu_supports("avx512vl")) continue;
            if (v == 2 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) continue;
#else
            if (v > 0) continue;
#endif
            for (size_t i = 0; i < (size_t)M * ld; i++) C[v][i] = (real)(i % 13) / 9;
            const int beta = test == 1; /* test 0: beta 0, 1: beta 1, 2: init rows, 3: Aᵀ·B */
            const BmRowInit *in = test == 2 ? &init : NULL;
#if !defined(CS_DOUBLE) && defined(__x86_64__)
            if (v == 1) test == 3 ? gemm_tn_acc_avx512(C[v], ld, A, ld, Bm, ld, M, N, K) : gemm_packed_avx512(C[v], ld, A, ld, M, &P, beta, in);
            if (v == 2) test == 3 ? gemm_tn_acc_avx2(C[v], ld, A, ld, Bm, ld, M, N, K) : gemm_packed_avx2(C[v], ld, A, ld, M, &P, beta, in);
#endif
            if (v == 0) test == 3 ? gemm_tn_acc_portable(C[v], ld, A, ld, Bm, ld, M, N, K) : gemm_packed_portable(C[v], ld, A, ld, M, &P, beta, in);
            if (v > 0 && memcmp(C[v], C[0], (size_t)M * ld * sizeof(real)) != 0) differ++;
            if (v > 0 && test == 0 && len > 0 && (size_t)len < n) len += snprintf(versions + len, n - (size_t)len, ", %s", v == 1 ? "avx512" : "avx2");
        }
    }
    for (int v = 0; v < 3; v++) free(C[v]);
    free(A), free(Bm), free(bias), free(table), free(pk);
    return differ;
}

void bm_gemm_tn_acc(real *C, int ldc, const real *A, int lda, const real *B, int ldb, int M, int N, int K)
{
#if !defined(CS_DOUBLE) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        return gemm_tn_acc_avx512(C, ldc, A, lda, B, ldb, M, N, K);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return gemm_tn_acc_avx2(C, ldc, A, lda, B, ldb, M, N, K);
#endif
    gemm_tn_acc_portable(C, ldc, A, lda, B, ldb, M, N, K);
}

const char *bm_kernel_name(void)
{
#if !defined(CS_DOUBLE) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
    return "portable";
}

void bm_gemm_packed(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta,
                    const BmRowInit *init)
{
#if !defined(CS_DOUBLE) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return gemm_packed_avx512(C, ldc, A, lda, M, P, beta, init);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return gemm_packed_avx2(C, ldc, A, lda, M, P, beta, init);
#endif
    gemm_packed_portable(C, ldc, A, lda, M, P, beta, init);
}

/* ---- measured rates ------------------------------------------------------------------------ */

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if !defined(CS_DOUBLE) && defined(__x86_64__)
/* Independent chains of FMAs, named so that they stay in registers: enough to fill two FMA units
 * whatever their latency. Returns something of the result, so the work cannot be dropped. */
#define CHAINS(X, V, P) X(0, V, P) X(1, V, P) X(2, V, P) X(3, V, P) X(4, V, P) X(5, V, P) X(6, V, P) X(7, V, P) \
    X(8, V, P) X(9, V, P) X(10, V, P) X(11, V, P)
#define INIT(j, V, P) V a##j = P##_set1_ps((float)(j));
#define FMA(j, V, P) a##j = P##_fmadd_ps(a##j, x, y);
#define SUM(j, V, P) s = P##_add_ps(s, a##j);
/* peak_NAME for one vector width: vectors V of WIDTH floats and intrinsics P_*_ps (P: _mm512, _mm256) */
#define PEAK(NAME, TARGET, V, P, WIDTH)                                                                    \
    __attribute__((target(TARGET), noinline)) static double peak_##NAME(volatile long *n)                 \
    {                                                                                                      \
        const long iters = *n; /* read at run time: the call cannot be folded */                          \
        const V x = P##_set1_ps(0.999f), y = P##_set1_ps(0.001f);                                          \
        CHAINS(INIT, V, P)                                                                                 \
        for (long i = 0; i < iters; i++) {                                                                 \
            CHAINS(FMA, V, P)                                                                              \
        }                                                                                                  \
        V s = P##_setzero_ps();                                                                            \
        CHAINS(SUM, V, P)                                                                                  \
        float out[WIDTH];                                                                                  \
        P##_storeu_ps(out, s);                                                                             \
        return out[0];                                                                                     \
    }
PEAK(avx512, "avx512f", __m512, _mm512, 16)
PEAK(avx2, "avx2,fma", __m256, _mm256, 8)
#undef PEAK
#undef INIT
#undef FMA
#undef SUM
#undef CHAINS
#endif

/* GFLOP/s of fn repeated until it has run for about 0.3 s, best of 3 */
#define RATE(flops, ...)                                                                           \
    __extension__({                                                                                \
        double best_ = 0;                                                                          \
        for (int rep_ = 0; rep_ < 3; rep_++) {                                                     \
            long n_ = 0;                                                                           \
            double t0_ = seconds(), t_;                                                            \
            do {                                                                                   \
                __VA_ARGS__;                                                                       \
                n_++;                                                                              \
            } while ((t_ = seconds() - t0_) < 0.1);                                                \
            double r_ = 1e-9 * (flops) * (double)n_ / t_;                                          \
            best_ = r_ > best_ ? r_ : best_;                                                       \
        }                                                                                          \
        best_;                                                                                     \
    })

BmRates bm_measure_rates(int in, int H, int G, int B, int L, int chunk)
{ /* `in` is I: OpenBLAS's cblas.h pulls in <complex.h>, whose I is a macro */
    BmRates r = {0};
#if !defined(CS_DOUBLE) && defined(__x86_64__)
    volatile long iters = 1000000;
    volatile double sink = 0; /* keeps the results alive */
    if (__builtin_cpu_supports("avx512f"))
        r.peak = RATE((double)iters * 12 * 16 * 2, sink = sink + peak_avx512(&iters));
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        r.peak = RATE((double)iters * 12 * 8 * 2, sink = sink + peak_avx2(&iters));
#endif
    const int K = in + H, N = G * H, LB = L * B;
    real *a = CS_CALLOC((size_t)LB * K * sizeof *a), *b = CS_CALLOC((size_t)LB * N * sizeof *b);
    real *c = CS_CALLOC((size_t)K * N * sizeof *c), *pk = CS_ALLOC(bm_packed_size(H, N) * sizeof *pk);
    for (size_t i = 0; i < (size_t)LB * K; i++) a[i] = (real)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)LB * N; i++) b[i] = (real)(i % 5) * 0.01f;
    /* a step: (B, I+H)·(I+H, G·H) */
    r.sgemm_step = RATE(2.0 * B * K * N, bm_gemm_nn(b, N, a, K, c, N, B, N, K, 1));
    /* the weight gradient over all steps: (I+H, L·B)·(L·B, G·H) */
    r.sgemm_wgrad = RATE(2.0 * K * LB * N, bm_gemm_tn(c, N, a, K, b, N, K, N, LB, 1));
    BmPacked P;
    bm_pack(&P, pk, c, H, N, N, 1);
    r.packed_step = RATE(2.0 * chunk * H * N, bm_gemm_packed(b, N, a, H, chunk, &P, 1, NULL));
    free(a), free(b), free(c), free(pk);
    return r;
}
