/* Batch math: matrix products through CBLAS, the elementwise nonlinearities, and reductions whose
 * order is fixed (never a function of the thread count). Every BLAS call runs single-threaded on
 * the calling thread; parallelism comes from OpenMP over fixed work items (batch chunks, blocks),
 * which is what makes results bit-identical for any OMP_NUM_THREADS.
 * Matrices are row-major; kernels take outputs first, then inputs, then sizes. */
#ifndef CS_BATCHMATH_H
#define CS_BATCHMATH_H

#include <math.h>   /* exp, tanh, sqrt */
#include <stddef.h> /* size_t */

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

/* y(N) += Σ_rows A(M,N) (row stride lda), rows added in order. */
void bm_add_colsum(real *y, const real *A, int lda, int M, int N);
/* Every row of A(M,N) = v(N). */
void bm_fill_rows(real *A, const real *v, int M, int N);
/* Σ x_i² in double, in fixed blocks combined in order; OpenMP-parallel over blocks. */
double bm_sumsq(const real *x, size_t n);
/* x ← σ(x) and x ← tanh(x) over n values: vectorized in the float build (max error a few ulp
 * of 1), libm in the double build that the gradient checks use. */
void bm_sigmoid_inplace(real *x, size_t n);
void bm_tanh_inplace(real *x, size_t n);

#ifdef CS_DOUBLE
static inline real bm_exp(real x) { return exp(x); }
static inline real bm_tanh(real x) { return tanh(x); }
static inline real bm_sqrt(real x) { return sqrt(x); }
#else
static inline real bm_exp(real x) { return expf(x); }
static inline real bm_tanh(real x) { return tanhf(x); }
static inline real bm_sqrt(real x) { return sqrtf(x); }
#endif
/* σ(x) = 1 / (1 + e^{-x}); e^{-x} = inf for very negative x gives exactly 0 */
static inline real bm_sigmoid(real x) { return 1 / (1 + bm_exp(-x)); }

#endif
