/* Batch math on OpenBLAS (CBLAS) and OpenMP. */
#include "batchmath.h"

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

int bm_setup_threads(int threads)
{
    openblas_set_num_threads(1);
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
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
