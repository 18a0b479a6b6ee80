/* The inner loops of batch math per kernel path, and the choice of path. The AVX2 and AVX-512 loops
 * are compiled under target attributes, so one binary carries all three paths. */
#include "kernels.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp */
#include <time.h>   /* clock_gettime */

#ifdef CS_DOUBLE
#define CS_FMA fma
#else
#define CS_FMA fmaf
#endif
#include <math.h> /* fmaf, fma */

const char *const bm_path_names[BM_PATH_COUNT] = {"generic", "avx2", "avx512"};

/* The SIMD paths exist in the float build on x86-64 (the double build, for the gradient checks,
 * runs the generic loops only). */
#if !defined(CS_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define CS_X86 1
#include <immintrin.h> /* AVX-512 and AVX2 intrinsics, used under target attributes */
#endif

int bm_path_supported(BmPath p)
{
    switch (p) {
    case BM_GENERIC: return 1;
#ifdef CS_X86
    case BM_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case BM_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && bm_path_supported(BM_AVX2);
#endif
    default: return 0;
    }
}

BmPath bm_path_best(void)
{
    for (int p = BM_PATH_COUNT - 1; p > 0; p--)
        if (bm_path_supported((BmPath)p)) return (BmPath)p;
    return BM_GENERIC;
}

/* The path selected at start: -1 until then (the fastest runs). Written once, before other threads
 * exist, and only read afterwards. */
static int selected = -1;

int bm_path_select(const char *name, char *err, size_t n)
{
    if (!name || !*name) {
        selected = bm_path_best();
        return 0;
    }
    char have[64] = "";
    for (int p = BM_PATH_COUNT - 1, len = 0; p >= 0; p--)
        if (bm_path_supported((BmPath)p) && len >= 0 && (size_t)len < sizeof have)
            len += snprintf(have + len, sizeof have - (size_t)len, "%s%s", len ? ", " : "", bm_path_names[p]);
    for (int p = 0; p < BM_PATH_COUNT; p++) {
        if (strcmp(name, bm_path_names[p]) != 0) continue;
        if (!bm_path_supported((BmPath)p)) {
            snprintf(err, n, "COPYSWEEP_KERNEL '%s': this %s cannot run it (expected one of %s)", name,
#ifdef CS_X86
                     "CPU",
#else
                     "build",
#endif
                     have);
            return -1;
        }
        selected = p;
        return 0;
    }
    snprintf(err, n, "COPYSWEEP_KERNEL '%s' is not a kernel path (expected one of %s; unset: the fastest)", name, have);
    return -1;
}

BmPath bm_path(void) { return selected >= 0 ? (BmPath)selected : bm_path_best(); }

/* ---- generic ------------------------------------------------------------------------------- */

/* The value row i, column n of C starts from in the per-step product */
static inline real start_of(const real *c, int beta, const BmRowInit *init, int i, int n)
{
    if (init) return init->bias[n] + (init->scale ? init->scale[i] : 1) * init->table[(size_t)init->sym[i] * init->ld + n];
    return beta ? *c : 0;
}

/* One accumulator per element, k in order. */
static void step_generic(real *C, int ldc, const real *A, int lda, int M, const BmPacked *P, int beta,
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

#define GENERIC_ROWS 4
#define GENERIC_COLS 16

static void tile_generic(real *C, int ldc, const real *ap, const real *bp, int kb, int rows, int cols, int add)
{
    real acc[GENERIC_ROWS][GENERIC_COLS] = {{0}};
    for (int k = 0; k < kb; k++)
        for (int r = 0; r < GENERIC_ROWS; r++) {
            const real a = ap[(size_t)k * GENERIC_ROWS + r];
            for (int j = 0; j < GENERIC_COLS; j++)
                acc[r][j] = CS_FMA(a, bp[(size_t)k * GENERIC_COLS + j], acc[r][j]);
        }
    for (int r = 0; r < rows; r++) {
        real *c = C + (size_t)r * ldc;
        for (int j = 0; j < cols; j++) c[j] = (add ? c[j] : 0) + acc[r][j];
    }
}

static const BmKernels generic_kernels = {step_generic, tile_generic, GENERIC_ROWS, GENERIC_COLS};

#ifdef CS_X86
/* ---- AVX2: 16 ymm registers ----------------------------------------------------------------- */
#define AVX2 __attribute__((target("avx2,fma")))
#define R1(X) X(0)
#define R2(X) X(0) X(1)
#define R4(X) X(0) X(1) X(2) X(3)
#define R6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define R8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* lanes j < w of 8, as the mask of maskload and maskstore */
AVX2 static inline __m256i lanes256(int w)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Row i of C at columns n0.. (one panel, `width` ≤ 16 of its columns exist) = its start + (a0, a1) */
AVX2 __attribute__((always_inline)) static inline void
store256(float *c, __m256 a0, __m256 a1, int width, __m256i m0, __m256i m1, int beta, const BmRowInit *init, int i,
         int n0)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    const int full = width == 16;
    if (init) {
        const float *w = init->table + (size_t)init->sym[i] * init->ld + n0, *bias = init->bias + n0;
        const __m256 sc = _mm256_set1_ps(init->scale ? init->scale[i] : 1.0f);
        const __m256 b0 = full ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, m0);
        const __m256 b1 = full ? _mm256_loadu_ps(bias + 8) : _mm256_maskload_ps(bias + 8, m1);
        const __m256 w0 = full ? _mm256_loadu_ps(w) : _mm256_maskload_ps(w, m0);
        const __m256 w1 = full ? _mm256_loadu_ps(w + 8) : _mm256_maskload_ps(w + 8, m1);
        /* bias + scale·W[:, s] */
        s0 = _mm256_add_ps(b0, _mm256_mul_ps(sc, w0));
        s1 = _mm256_add_ps(b1, _mm256_mul_ps(sc, w1));
    } else if (beta) {
        s0 = full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, m0);
        s1 = full ? _mm256_loadu_ps(c + 8) : _mm256_maskload_ps(c + 8, m1);
    }
    if (full) {
        _mm256_storeu_ps(c, _mm256_add_ps(s0, a0));
        _mm256_storeu_ps(c + 8, _mm256_add_ps(s1, a1));
    } else {
        _mm256_maskstore_ps(c, m0, _mm256_add_ps(s0, a0));
        _mm256_maskstore_ps(c + 8, m1, _mm256_add_ps(s1, a1));
    }
}

/* R rows of C times one 16-column panel: 2R accumulators, named so that they stay in registers */
#define A2_DECLARE(r) __m256 lo##r = _mm256_setzero_ps(), hi##r = _mm256_setzero_ps();
#define A2_STEP(r)                                                                                 \
    {                                                                                              \
        const __m256 a = _mm256_broadcast_ss(A + (size_t)(r) * lda + k);                           \
        lo##r = _mm256_fmadd_ps(a, v0, lo##r);                                                     \
        hi##r = _mm256_fmadd_ps(a, v1, hi##r);                                                     \
    }
#define A2_STORE(r) store256(C + (size_t)(r) * ldc, lo##r, hi##r, width, m0, m1, beta, init, i0 + (r), n0);
#define STEP256(ROWS)                                                                                 \
    AVX2 static void step256x##ROWS(float *C, int ldc, const float *A, int lda, int K, const float *b, int width,   \
                                 __m256i m0, __m256i m1, int beta, const BmRowInit *init, int i0, int n0)      \
    {                                                                                              \
        R##ROWS(A2_DECLARE)                                                                           \
        for (int k = 0; k < K; k++) {                                                              \
            const __m256 v0 = _mm256_load_ps(b + (size_t)k * 16), v1 = _mm256_load_ps(b + (size_t)k * 16 + 8); \
            R##ROWS(A2_STEP)                                                                          \
        }                                                                                          \
        R##ROWS(A2_STORE)                                                                             \
    }
STEP256(6)
STEP256(4)
STEP256(2)
STEP256(1)

AVX2 static void step_avx2(float *C, int ldc, const float *A, int lda, int M, const BmPacked *P, int beta,
                           const BmRowInit *init)
{
    const int K = P->K, N = P->N;
    for (int q = 0; q < P->panels; q++) {
        const float *b = P->p + (size_t)q * K * 16;
        const int n0 = q * 16, width = N - n0 < 16 ? N - n0 : 16;
        const __m256i m0 = lanes256(width), m1 = lanes256(width - 8);
        float *c = C + n0;
        int i = 0;
#define AT c + (size_t)i * ldc, ldc, A + (size_t)i * lda, lda, K, b, width, m0, m1, beta, init, i, n0
        for (; i + 6 <= M; i += 6) step256x6(AT);
        if (M - i >= 4) step256x4(AT), i += 4;
        if (M - i >= 2) step256x2(AT), i += 2;
        if (M - i >= 1) step256x1(AT);
#undef AT
    }
}

/* One 6 × 16 tile of a k-block from packed A (kb, 6) and B (kb, 16): 12 accumulators */
#define T2_STEP(r)                                                                                 \
    {                                                                                              \
        const __m256 a = _mm256_broadcast_ss(ap + (size_t)k * 6 + (r));                            \
        lo##r = _mm256_fmadd_ps(a, v0, lo##r);                                                     \
        hi##r = _mm256_fmadd_ps(a, v1, hi##r);                                                     \
    }
#define T2_STORE(r)                                                                                \
    if ((r) < rows) {                                                                              \
        float *c = C + (size_t)(r) * ldc;                                                          \
        if (cols == 16) {                                                                          \
            _mm256_storeu_ps(c, _mm256_add_ps(add ? _mm256_loadu_ps(c) : _mm256_setzero_ps(), lo##r));          \
            _mm256_storeu_ps(c + 8, _mm256_add_ps(add ? _mm256_loadu_ps(c + 8) : _mm256_setzero_ps(), hi##r));  \
        } else {                                                                                   \
            _mm256_maskstore_ps(c, m0, _mm256_add_ps(add ? _mm256_maskload_ps(c, m0) : _mm256_setzero_ps(), lo##r)); \
            _mm256_maskstore_ps(c + 8, m1,                                                         \
                                _mm256_add_ps(add ? _mm256_maskload_ps(c + 8, m1) : _mm256_setzero_ps(), hi##r)); \
        }                                                                                          \
    }
AVX2 static void tile_avx2(float *C, int ldc, const float *ap, const float *bp, int kb, int rows, int cols, int add)
{
    R6(A2_DECLARE)
    for (int k = 0; k < kb; k++) {
        const __m256 v0 = _mm256_load_ps(bp + (size_t)k * 16), v1 = _mm256_load_ps(bp + (size_t)k * 16 + 8);
        R6(T2_STEP)
    }
    const __m256i m0 = lanes256(cols), m1 = lanes256(cols - 8);
    R6(T2_STORE)
}

static const BmKernels avx2_kernels = {step_avx2, tile_avx2, 6, 16};

/* ---- AVX-512: 32 zmm registers -------------------------------------------------------------- */
#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

/* lanes j < w of 16 */
static inline __mmask16 lanes512(int w) { return w >= 16 ? 0xFFFF : w <= 0 ? 0 : (__mmask16)((1u << w) - 1); }

/* Row i of C at columns n0.. (two panels) = its start + (a0, a1), masked to the columns that exist */
AVX512 __attribute__((always_inline)) static inline void
store512(float *c, __m512 a0, __m512 a1, __mmask16 m0, __mmask16 m1, int beta, const BmRowInit *init, int i, int n0)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    if (init) {
        const float *w = init->table + (size_t)init->sym[i] * init->ld + n0, *bias = init->bias + n0;
        const __m512 sc = _mm512_set1_ps(init->scale ? init->scale[i] : 1.0f);
        /* bias + scale·W[:, s] */
        s0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, bias), _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m0, w)));
        s1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, bias + 16), _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(m1, w + 16)));
    } else if (beta) {
        s0 = _mm512_maskz_loadu_ps(m0, c);
        s1 = _mm512_maskz_loadu_ps(m1, c + 16);
    }
    _mm512_mask_storeu_ps(c, m0, _mm512_add_ps(s0, a0));
    _mm512_mask_storeu_ps(c + 16, m1, _mm512_add_ps(s1, a1));
}

/* R rows of C times two panels (32 columns): 2R accumulators */
#define A5_DECLARE(r) __m512 p##r = _mm512_setzero_ps(), q##r = _mm512_setzero_ps();
#define A5_STEP(r)                                                                                 \
    {                                                                                              \
        const __m512 a = _mm512_set1_ps(A[(size_t)(r) * lda + k]);                                 \
        p##r = _mm512_fmadd_ps(a, v0, p##r);                                                       \
        q##r = _mm512_fmadd_ps(a, v1, q##r);                                                       \
    }
#define A5_STORE(r) store512(C + (size_t)(r) * ldc, p##r, q##r, m0, m1, beta, init, i0 + (r), n0);
#define STEP512(ROWS)                                                                                 \
    AVX512 static void step512x##ROWS(float *C, int ldc, const float *A, int lda, int K, const float *b0,           \
                                   const float *b1, __mmask16 m0, __mmask16 m1, int beta, const BmRowInit *init, \
                                   int i0, int n0)                                                 \
    {                                                                                              \
        R##ROWS(A5_DECLARE)                                                                           \
        for (int k = 0; k < K; k++) {                                                              \
            const __m512 v0 = _mm512_load_ps(b0 + (size_t)k * 16), v1 = _mm512_load_ps(b1 + (size_t)k * 16); \
            R##ROWS(A5_STEP)                                                                          \
        }                                                                                          \
        R##ROWS(A5_STORE)                                                                             \
    }
STEP512(8)
STEP512(4)
STEP512(2)
STEP512(1)

AVX512 static void step_avx512(float *C, int ldc, const float *A, int lda, int M, const BmPacked *P, int beta,
                               const BmRowInit *init)
{
    const int K = P->K, N = P->N;
    for (int q = 0; q < P->panels; q += 2) {
        const float *b0 = P->p + (size_t)q * K * 16;
        /* an odd last panel pairs with itself, its second half masked off */
        const float *b1 = q + 1 < P->panels ? b0 + (size_t)K * 16 : b0;
        const int n0 = q * 16;
        const __mmask16 m0 = lanes512(N - n0), m1 = q + 1 < P->panels ? lanes512(N - n0 - 16) : 0;
        float *c = C + n0;
        int i = 0;
#define AT c + (size_t)i * ldc, ldc, A + (size_t)i * lda, lda, K, b0, b1, m0, m1, beta, init, i, n0
        for (; i + 8 <= M; i += 8) step512x8(AT);
        if (M - i >= 4) step512x4(AT), i += 4;
        if (M - i >= 2) step512x2(AT), i += 2;
        if (M - i >= 1) step512x1(AT);
#undef AT
    }
}

/* One 8 × 32 tile of a k-block from packed A (kb, 8) and B (kb, 32): 16 accumulators */
#define T5_STEP(r)                                                                                 \
    {                                                                                              \
        const __m512 a = _mm512_set1_ps(ap[(size_t)k * 8 + (r)]);                                  \
        p##r = _mm512_fmadd_ps(a, v0, p##r);                                                       \
        q##r = _mm512_fmadd_ps(a, v1, q##r);                                                       \
    }
#define T5_STORE(r)                                                                                \
    if ((r) < rows) {                                                                              \
        float *c = C + (size_t)(r) * ldc;                                                          \
        const __m512 s0 = add ? _mm512_maskz_loadu_ps(m0, c) : _mm512_setzero_ps();                \
        const __m512 s1 = add ? _mm512_maskz_loadu_ps(m1, c + 16) : _mm512_setzero_ps();           \
        _mm512_mask_storeu_ps(c, m0, _mm512_add_ps(s0, p##r));                                     \
        _mm512_mask_storeu_ps(c + 16, m1, _mm512_add_ps(s1, q##r));                                \
    }
AVX512 static void tile_avx512(float *C, int ldc, const float *ap, const float *bp, int kb, int rows, int cols,
                               int add)
{
    R8(A5_DECLARE)
    for (int k = 0; k < kb; k++) {
        const __m512 v0 = _mm512_load_ps(bp + (size_t)k * 32), v1 = _mm512_load_ps(bp + (size_t)k * 32 + 16);
        R8(T5_STEP)
    }
    const __mmask16 m0 = lanes512(cols), m1 = lanes512(cols - 16);
    R8(T5_STORE)
}

static const BmKernels avx512_kernels = {step_avx512, tile_avx512, 8, 32};

/* ---- FMA peak -------------------------------------------------------------------------------- */

/* Independent chains of FMAs, named so that they stay in registers: enough to fill two FMA units
 * whatever their latency. Returns something of the result, so the work cannot be dropped. */
#define CHAINS(X, V, P) X(0, V, P) X(1, V, P) X(2, V, P) X(3, V, P) X(4, V, P) X(5, V, P) X(6, V, P) X(7, V, P) \
    X(8, V, P) X(9, V, P) X(10, V, P) X(11, V, P)
#define INIT(j, V, P) V a##j = P##_set1_ps((float)(j));
#define FMA(j, V, P) a##j = P##_fmadd_ps(a##j, x, y);
#define SUM(j, V, P) s = P##_add_ps(s, a##j);
/* peak_NAME for one vector width: vectors V of WIDTH floats and intrinsics P_*_ps (P: _mm512, _mm256) */
#define PEAK(NAME, TARGET, V, P, WIDTH)                                                                    \
    TARGET __attribute__((noinline)) static double peak_##NAME(volatile long *n)                          \
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
PEAK(avx512, AVX512, __m512, _mm512, 16)
PEAK(avx2, AVX2, __m256, _mm256, 8)
#undef PEAK
#undef INIT
#undef FMA
#undef SUM
#undef CHAINS
#endif /* CS_X86 */

const BmKernels *bm_kernels(BmPath p)
{
#ifdef CS_X86
    if (p == BM_AVX512) return &avx512_kernels;
    if (p == BM_AVX2) return &avx2_kernels;
#endif
    (void)p;
    return &generic_kernels;
}

double bm_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bm_fma_peak(BmPath p)
{
    double best = 0;
#ifdef CS_X86
    if (p == BM_GENERIC || !bm_path_supported(p)) return 0;
    volatile long iters = 1000000;
    volatile double sink = 0; /* keeps the results alive */
    const int lanes = p == BM_AVX512 ? 16 : 8;
    for (int rep = 0; rep < 3; rep++) {
        long n = 0;
        double t0 = bm_seconds(), t;
        do {
            sink = sink + (p == BM_AVX512 ? peak_avx512(&iters) : peak_avx2(&iters));
            n++;
        } while ((t = bm_seconds() - t0) < 0.1);
        const double rate = 1e-9 * (double)iters * 12 * lanes * 2 * (double)n / t;
        best = rate > best ? rate : best;
    }
#else
    (void)p;
#endif
    return best;
}
