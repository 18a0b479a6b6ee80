/* GEMM rates of a BLAS on the products one chunk of copysweep's batch computes, on one thread: the
 * per-step product forward (chunk, H)·(H, G·H) and backward (chunk, G·H)·(G·H, H), and the recurrent
 * weight gradient over all steps (G·H, L·chunk)·(L·chunk, H): the shapes of `copysweep bench
 * --rates`. Built against OpenBLAS and against BLIS; tests/bench.py compares them with copysweep's
 * kernels. Usage: bench_gemm H T [G=4] [chunk=16]; prints "NAME GFLOP/s" lines and the BLAS kernel. */
#include <cblas.h>  /* cblas_sgemm; OpenBLAS's also openblas_get_corename */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* atoi, calloc */
#include <time.h>   /* clock_gettime */
#if !defined(OPENBLAS_VERSION) && defined(BLIS_SYSTEM_H)
#include <blis.h> /* bli_arch_string, bli_arch_query_id */
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* best of 3 rounds of 0.2 s of C(M,N) += A(M,K)·B(K,N), row-major; ta: A stored (K, M) */
static double rate(int M, int N, int K, int ta)
{
    float *a = calloc((size_t)M * K, sizeof *a), *b = calloc((size_t)K * N, sizeof *b), *c = calloc((size_t)M * N, sizeof *c);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 5) * 0.01f;
    double best = 0;
    for (int round = 0; round < 3; round++) {
        long n = 0;
        double t0 = now(), t;
        do {
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, 1, a, ta ? M : K, b, N,
                        1, c, N);
            n++;
        } while ((t = now() - t0) < 0.2);
        double r = 2.0 * M * N * K * n / t / 1e9;
        best = r > best ? r : best;
    }
    free(a), free(b), free(c);
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_gemm H T [G] [chunk]\n");
        return 2;
    }
    const int H = atoi(argv[1]), T = atoi(argv[2]), G = argc > 3 ? atoi(argv[3]) : 4;
    const int chunk = argc > 4 ? atoi(argv[4]) : 16, L = 2 * T + 1;
    printf("step_fwd %.1f\n", rate(chunk, G * H, H, 0));
    printf("step_bwd %.1f\n", rate(chunk, H, G * H, 0));
    printf("wgrad %.1f\n", rate(G * H, H, L * chunk, 1));
#if defined(OPENBLAS_VERSION)
    printf("kernel OpenBLAS %s\n", openblas_get_corename());
#elif defined(BLIS_SYSTEM_H)
    printf("kernel BLIS %s\n", bli_arch_string(bli_arch_query_id()));
#endif
    return 0;
}
