/* rtk_bench_cuda: the cuda backend's score kernel (two cuBLAS GEMMs + fused
 * log-sum-exp/softmax, as in a sampler step) against cuBLAS's own GEMM rate
 * on the same card and type (issue 13: >= 0.7 of DGEMM at K = d = 256).
 *   rtk_bench_cuda [N [K d [reps]]]      (defaults 160000 256 256 20)
 * Prints one line per precision: seconds per evaluation, its rate in flop/s
 * (8 N K d: the two GEMMs), the GEMM rate of an 8192^3 product, and the ratio. */
#include <stdio.h>
#include <stdlib.h>

#include "rtk/error.h"

int rtk_cuda_bench_score(int fp32, int N, int K, int d, int gm, int reps, double *sec_eval, double *sec_gemm);

int main(int argc, char **argv) {
  const int N = argc > 1 ? atoi(argv[1]) : 160000, K = argc > 3 ? atoi(argv[2]) : 256, d = argc > 3 ? atoi(argv[3]) : 256;
  const int reps = argc > 4 ? atoi(argv[4]) : 20, gm = 8192;
  for (int fp32 = 0; fp32 <= 1; fp32++) {
    double se = 0, sg = 0;
    int rc = rtk_cuda_bench_score(fp32, N, K, d, gm, reps, &se, &sg);
    if (rc) {
      fprintf(stderr, "rtk_bench_cuda: %s\n", rtk_error_message());
      return 1;
    }
    const double fe = 8.0 * N * K * d / se, fg = 2.0 * gm * gm * (double)gm / sg;
    printf("rtk_bench_cuda %s N=%d K=%d d=%d: score eval %.4f ms = %.2f TFLOP/s (8NKd); cuBLAS %s %d^3 %.2f TFLOP/s; "
           "ratio %.3f\n",
           fp32 ? "fp32" : "fp64", N, K, d, se * 1e3, fe / 1e12, fp32 ? "SGEMM" : "DGEMM", gm, fg / 1e12, fe / fg);
  }
  return 0;
}
