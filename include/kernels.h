/* The inner loops of batch math, once per kernel path (AVX-512, AVX2, generic), and the choice of
 * the path a process runs. Every path computes each element of a product as the same sequence of
 * fused multiply-adds, k in order, starting from 0, and then adds it to the element's start: the
 * paths differ only in how many elements they compute at once, so they give the same bits (docs/method.md
 * "Kernel paths"). batchmath.h builds the products on these loops. */
#ifndef CS_KERNELS_H
#define CS_KERNELS_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int32_t */

#include "real.h" /* real */

typedef enum { BM_GENERIC, BM_AVX2, BM_AVX512, BM_PATH_COUNT } BmPath;
extern const char *const bm_path_names[BM_PATH_COUNT]; /* "generic", "avx2", "avx512" */

/* 1 if this CPU and this build can run the path: generic always; avx2 needs AVX2 and FMA, avx512
 * AVX-512 F, VL, BW and DQ (the float build on x86-64 only). */
int bm_path_supported(BmPath p);
/* The fastest path this CPU can run. */
BmPath bm_path_best(void);
/* Run the path named name from now on (the value of COPYSWEEP_KERNEL); NULL or "" chooses the fastest.
 * 0, or -1 with the reason in err (an unknown name, or a path this CPU lacks). Called at start,
 * before any other thread runs: the path is process-wide, as the CPU is. */
int bm_path_select(const char *name, char *err, size_t n);
/* The path that runs: the one selected, else the fastest. */
BmPath bm_path(void);
static inline const char *bm_path_name(void) { return bm_path_names[bm_path()]; }

/* A matrix B(K, N) packed for the per-step product: panels of BM_PANEL columns, each (K, BM_PANEL)
 * contiguous, the last one zero-padded. The recurrent weights are packed once per batch instead of
 * at each time step. */
#define BM_PANEL 16
typedef struct {
    int K, N, panels;
    real *p; /* (panels, K, BM_PANEL), 64-byte aligned */
} BmPacked;

/* What row i of C starts from in the per-step product: bias + scale[i]·table[sym[i]] (scale NULL: 1).
 * For one-hot inputs that is b + W x̃_t, so the input term costs no pass of its own. */
typedef struct {
    const real *bias;    /* (N) */
    const real *table;   /* rows of N, ld apart */
    int ld;
    const int32_t *sym;  /* (M) */
    const real *scale;   /* (M), or NULL */
} BmRowInit;

/* One path's inner loops. */
typedef struct {
    /* C(M, N) = start + A(M, K)·P, one accumulator per element over all of K; start is C (beta 1),
     * 0 (beta 0), or init's rows when init is not NULL */
    void (*step)(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta, const BmRowInit *init);
    /* One tile of a k-block: C(rows, cols) = (add ? C : 0) + Σ_k ap[k][r]·bp[k][c] over kb steps,
     * ap (kb, tile_rows) and bp (kb, tile_cols) packed; rows ≤ tile_rows, cols ≤ tile_cols. */
    void (*tile)(real *C, int ldc, const real *ap, const real *bp, int kb, int rows, int cols, int add);
    int tile_rows, tile_cols;
} BmKernels;

/* The inner loops of path p (which must be supported). */
const BmKernels *bm_kernels(BmPath p);

/* FMA peak of one core on path p, GFLOP/s (independent vector FMAs for about 0.3 s); 0 for generic. */
double bm_fma_peak(BmPath p);
/* A monotonic clock, in seconds, for the measured rates. */
double bm_seconds(void);

#endif
