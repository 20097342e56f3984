/* p4x32_ab: ns per value of the Philox4x32 draws (run.rng = philox4x32) of the librtkcore.a it is linked
 * against, for an A/B comparison of two builds on a busy machine (bench/explore/p4x32_ab.sh alternates two
 * such binaries and keeps each cell's minimum).  Columns per vector-math version avx and avx512f and
 * d = 10, 128, 1024 (calls of d values for 64 particle ids, as rtk_bench_rng): U32 uniforms, N32
 * Box-Muller normals, Z32 ziggurat normals, N64 Philox4x64 Box-Muller normals (code this comparison does
 * not change: the noise control).  Best of 9 trials of S seconds (argument, default 0.015).
 * usage: p4x32_ab [S] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rtk/rng.h"
#include "rtk/vmath.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void draw(int k, uint64_t p, uint64_t step, int d, double *o) {
  if (k == 0) rtk_rng_uniforms_gen(RTK_RNG_PHILOX4X32, 7, p, step, 0, RTK_RNG_STEP, d, o);
  else if (k == 1) rtk_rng_normals_gen(RTK_RNG_PHILOX4X32, 7, p, step, 0, RTK_RNG_STEP, d, o);
  else if (k == 2) rtk_rng_normals_with(RTK_RNG_PHILOX4X32, RTK_RNG_ZIGGURAT, 7, p, step, 0, RTK_RNG_STEP, d, o);
  else rtk_rng_normals_gen(RTK_RNG_PHILOX4X64, 7, p, step, 0, RTK_RNG_STEP, d, o);
}

int main(int argc, char **argv) {
  const double ts = argc > 1 ? atof(argv[1]) : 0.015;
  const int dims[] = {10, 128, 1024}, isas[] = {RTK_VM_AVX, RTK_VM_AVX512F};
  const char *nm[] = {"U32", "N32", "Z32", "N64"};
  for (int ii = 0; ii < 2; ii++) {
    if (!rtk_vm_isa_available(isas[ii])) continue;
    rtk_vm_set_isa(isas[ii]);
    for (int di = 0; di < 3; di++) {
      const int d = dims[di];
      double *out = malloc(sizeof(double) * 64 * (size_t)d);
      uint64_t step = 0;
      printf("%-7s d=%4d", rtk_vm_isa_name(isas[ii]), d);
      for (int k = 0; k < 4; k++) {
        double best = INFINITY;
        for (int t = 0; t < 9; t++) {
          long reps = 0;
          double el, t0 = now();
          do {
            step++;
            for (int p = 0; p < 64; p++) draw(k, (uint64_t)p, step, d, out + (size_t)p * d);
            reps++;
            el = now() - t0;
          } while (el < ts);
          best = fmin(best, el / (double)reps);
        }
        printf("  %s %6.3f", nm[k], best / (64.0 * d) * 1e9);
      }
      printf("\n");
      free(out);
    }
  }
  return 0;
}
