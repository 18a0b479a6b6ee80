/* GEMM rates of a BLAS on copysweep's shapes, on one thread: the per-step recurrent product of a
 * chunk (chunk, H)·(H, G·H) as copysweep computes it at every time step, the same for the whole
 * batch (B, I+H)·(I+H, G·H), and the weight gradient over all steps (I+H, L·B)·(L·B, G·H).
 * Built against OpenBLAS and against BLIS (tests/bench.py compares them with copysweep's packed
 * kernel). Usage: bench_gemm H T [G=4] [B=32] [chunk=16]; prints "NAME GFLOP/s" lines. */
#include <cblas.h>  /* cblas_sgemm */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* atoi, calloc */
#include <time.h>   /* clock_gettime */

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
        fprintf(stderr, "usage: bench_gemm H T [G] [B] [chunk]\n");
        return 2;
    }
    const int H = atoi(argv[1]), T = atoi(argv[2]), G = argc > 3 ? atoi(argv[3]) : 4;
    const int B = argc > 4 ? atoi(argv[4]) : 32, chunk = argc > 5 ? atoi(argv[5]) : 16, L = 2 * T + 1;
    const int in = 10; /* I, the input width; cblas.h may define I (complex.h) */
    printf("step_chunk %.1f\n", rate(chunk, G * H, H, 0));
    printf("step_batch %.1f\n", rate(B, G * H, in + H, 0));
    printf("wgrad %.1f\n", rate(in + H, G * H, L * B, 1));
    return 0;
}
