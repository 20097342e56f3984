/* rtk_bench_rng: single-core throughput of the random numbers (src/core/rng.c),
 * in one run so that the ratios hold on a noisy machine:
 *   - rtk_rng_normals with each vector-math version this CPU has (purec, sse2,
 *     avx, avx512f: rtk/vmath.h, the same bits in all of them),
 *   - the scalar libm Box-Muller on the same Philox words (log, sqrt, cos, sin
 *     per pair: how rtk_rng_normals worked before the vector math),
 *   - rtk_rng_uniforms (Philox alone) and rtk_vm_exp,
 *   - the same normals and uniforms with Philox4x32-10 (run.rng = philox4x32: AVX-512F, AVX2 or scalar
 *     Philox by the version, the same bits in all of them),
 *   - ziggurat normals (run.normal = ziggurat) with each generator: the fast path in AVX-512F, AVX2 or scalar
 *     code by the version (the same bits in all of them).
 * Per particle and step the samplers draw d normals with one call, so the
 * rates are for calls of d normals, over many particle ids.
 *
 * usage: rtk_bench_rng [--quick] [--seconds S] [--dim d]...
 * exit status: 0 ok, 2 bad command line. */
#include <Random123/philox.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtk/rng.h"
#include "rtk/vmath.h"

#define TRIALS 3
enum { PARTICLES = 64 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
  int d;
  double *out;
  uint64_t step;
} ctx;

/* the scalar libm Box-Muller (the previous rtk_rng_normals) */
static void libm_normals(uint64_t seed, uint64_t id, uint64_t c0, int n, double *out) {
  const double two_pi = 6.283185307179586476925286766559;
  for (int i = 0, chunk = 0; i < n; chunk++) {
    philox4x64_ctr_t c = {{c0, 0, RTK_RNG_STEP, (uint64_t)chunk}};
    philox4x64_key_t k = {{seed, id}};
    philox4x64_ctr_t r = philox4x64(c, k);
    for (int j = 0; j < 4 && i < n; j += 2) {
      double rad = sqrt(-2.0 * log(((double)(r.v[j] >> 11) + 0.5) * 0x1.0p-53));
      double ang = two_pi * (((double)(r.v[j + 1] >> 11) + 0.5) * 0x1.0p-53);
      out[i++] = rad * cos(ang);
      if (i < n) out[i++] = rad * sin(ang);
    }
  }
}

static void f_normals(ctx *c) {
  c->step++;
  for (int p = 0; p < PARTICLES; p++)
    rtk_rng_normals(7, (uint64_t)p, c->step, 0, RTK_RNG_STEP, c->d, c->out + (size_t)p * c->d);
}
static void f_libm(ctx *c) {
  c->step++;
  for (int p = 0; p < PARTICLES; p++) libm_normals(7, (uint64_t)p, c->step, c->d, c->out + (size_t)p * c->d);
}
static void f_uniforms(ctx *c) {
  c->step++;
  for (int p = 0; p < PARTICLES; p++)
    rtk_rng_uniforms(7, (uint64_t)p, c->step, 0, RTK_RNG_STEP, c->d, c->out + (size_t)p * c->d);
}
static void f_normals32(ctx *c) {
  c->step++;
  for (int p = 0; p < PARTICLES; p++)
    rtk_rng_normals_gen(RTK_RNG_PHILOX4X32, 7, (uint64_t)p, c->step, 0, RTK_RNG_STEP, c->d,
                        c->out + (size_t)p * c->d);
}
static void f_uniforms32(ctx *c) {
  c->step++;
  for (int p = 0; p < PARTICLES; p++)
    rtk_rng_uniforms_gen(RTK_RNG_PHILOX4X32, 7, (uint64_t)p, c->step, 0, RTK_RNG_STEP, c->d,
                         c->out + (size_t)p * c->d);
}
static void f_zig(ctx *c) {
  c->step++;
  for (int p = 0; p < PARTICLES; p++)
    rtk_rng_normals_with(RTK_RNG_PHILOX4X64, RTK_RNG_ZIGGURAT, 7, (uint64_t)p, c->step, 0, RTK_RNG_STEP, c->d,
                         c->out + (size_t)p * c->d);
}
static void f_zig32(ctx *c) {
  c->step++;
  for (int p = 0; p < PARTICLES; p++)
    rtk_rng_normals_with(RTK_RNG_PHILOX4X32, RTK_RNG_ZIGGURAT, 7, (uint64_t)p, c->step, 0, RTK_RNG_STEP, c->d,
                         c->out + (size_t)p * c->d);
}
static void f_exp(ctx *c) { rtk_vm_exp((size_t)PARTICLES * c->d, c->out, c->out); }
static void f_libm_exp(ctx *c) {
  for (size_t i = 0; i < (size_t)PARTICLES * c->d; i++) c->out[i] = exp(c->out[i]);
}

/* nanoseconds per value: best of TRIALS trials of trial_s seconds */
static double ns_per_value(void (*f)(ctx *), ctx *c, double trial_s, int reset) {
  double best = INFINITY;
  for (int t = 0; t < TRIALS; t++) {
    long reps = 0;
    double el, t0 = now();
    do {
      if (reset) /* exp: arguments in [-40, 0], as in the kernel's log-sum-exp */
        for (size_t i = 0; i < (size_t)PARTICLES * c->d; i++) c->out[i] = -40.0 * (double)((i * 7919) % 1000) / 1000;
      f(c);
      reps++;
      el = now() - t0;
    } while (el < trial_s);
    best = fmin(best, el / (double)reps);
  }
  return best / ((double)PARTICLES * c->d) * 1e9;
}

int main(int argc, char **argv) {
  int quick = 0, nd = 0, dims[16];
  double trial_s = -1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc && (trial_s = atof(argv[++i])) > 0) continue;
    else if (!strcmp(argv[i], "--dim") && i + 1 < argc && nd < 16 && (dims[nd] = atoi(argv[++i])) > 0) nd++;
    else {
      fprintf(stderr, "usage: rtk_bench_rng [--quick] [--seconds S] [--dim d]...\n");
      return 2;
    }
  }
  if (trial_s < 0) trial_s = quick ? 0.02 : 0.3;
  if (!nd) {
    const int def[] = {10, 128, 1024};
    nd = quick ? 1 : 3;
    memcpy(dims, def, sizeof def);
  }
  int avail[RTK_VM_NISA], nv = 0;
  for (int v = 0; v < RTK_VM_NISA; v++)
    if (rtk_vm_isa_available(v)) avail[nv++] = v;
  printf("# ns per value, calls of d values for %d particle ids; best of %d trials of %.2f s; default version %s\n",
         PARTICLES, TRIALS, trial_s, rtk_vm_isa_name(rtk_vm_isa()));
  printf("# -N: normals (philox4x64), -e: exp, -N32 / -U32: normals / uniforms with philox4x32 (run.rng);\n"
         "# -Z / -Z32: ziggurat normals (run.normal = ziggurat) with philox4x64 / philox4x32\n");
  printf("#     d | %10s %10s %10s", "libm-BM", "uniforms", "libm-exp");
  for (int k = 0; k < nv; k++) {
    const char *nm = rtk_vm_isa_name(avail[k]);
    printf(" %9s-N %9s-e %7s-N32 %7s-U32 %9s-Z %7s-Z32", nm, nm, nm, nm, nm, nm);
  }
  printf(" | libm-BM/best-N libm-exp/best-e best-N/best-N32 best-N/best-Z best-N32/best-Z32 best-N/best-Z32\n");
  for (int i = 0; i < nd; i++) {
    ctx c = {.d = dims[i], .out = malloc(sizeof(double) * PARTICLES * (size_t)dims[i]), .step = 0};
    const double tl = ns_per_value(f_libm, &c, trial_s, 0), tu = ns_per_value(f_uniforms, &c, trial_s, 0);
    const double tle = ns_per_value(f_libm_exp, &c, trial_s, 1);
    printf("%7d | %10.2f %10.2f %10.2f", dims[i], tl, tu, tle);
    double bn = INFINITY, be = INFINITY, bn32 = INFINITY, bz = INFINITY, bz32 = INFINITY;
    for (int k = 0; k < nv; k++) {
      rtk_vm_set_isa(avail[k]);
      const double tn = ns_per_value(f_normals, &c, trial_s, 0), te = ns_per_value(f_exp, &c, trial_s, 1);
      const double tn32 = ns_per_value(f_normals32, &c, trial_s, 0), tu32 = ns_per_value(f_uniforms32, &c, trial_s, 0);
      const double tz = ns_per_value(f_zig, &c, trial_s, 0), tz32 = ns_per_value(f_zig32, &c, trial_s, 0);
      printf(" %11.2f %11.2f %11.2f %11.2f %11.2f %11.2f", tn, te, tn32, tu32, tz, tz32);
      bn = fmin(bn, tn), be = fmin(be, te), bn32 = fmin(bn32, tn32), bz = fmin(bz, tz), bz32 = fmin(bz32, tz32);
    }
    rtk_vm_set_isa(-1);
    printf(" | %14.2f %15.2f %16.2f %13.2f %17.2f %15.2f\n", tl / bn, tle / be, bn / bn32, bn / bz, bn32 / bz32,
           bn / bz32);
    free(c.out);
  }
  return 0;
}
