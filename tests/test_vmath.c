/* The vectorised random numbers and exp (rtk/vmath.h, src/core/rng.c):
 *   isa_bitwise  every vector-math version available on this CPU (purec, sse2,
 *                avx, avx512f) gives the same bits: exp over the whole double
 *                range and odd lengths (tails), whole normal streams, and the
 *                mixture kernel's log-density and score
 *   prefix       normal i of a stream does not depend on how many are drawn
 *   accuracy     exp within 2 ulp of libm's; normals within 1e-14 (1 + |z|)
 *                of the libm Box-Muller formula on the same uniforms
 *   normal_dist  10^6 normals from 1000 particle streams: mean, variance,
 *                skewness, kurtosis, tail mass, pair correlations within 5
 *                sigma; Kolmogorov-Smirnov distance below its 1e-4 quantile
 * Usage: test_vmath NAME (one CTest entry per NAME); fixed seeds. */
#include <stdint.h>

#include "rtk/rng.h"
#include "rtk/vmath.h"
#include "testutil.h"

static int versions(int *v) { /* the available versions, purec first */
  int n = 0;
  for (int i = 0; i < RTK_VM_NISA; i++)
    if (rtk_vm_isa_available(i)) v[n++] = i;
  return n;
}

static int same_bits(const double *a, const double *b, size_t n, size_t *where) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(a + i, b + i, sizeof(double))) {
      *where = i;
      return 0;
    }
  return 1;
}

static void test_isa_bitwise(void) {
  int v[RTK_VM_NISA];
  const int nv = versions(v);
  printf("versions on this CPU:");
  for (int i = 0; i < nv; i++) printf(" %s", rtk_vm_isa_name(v[i]));
  printf(" (in use: %s)\n", rtk_vm_isa_name(rtk_vm_isa()));
  CHECK(v[0] == RTK_VM_PUREC, "the scalar version is always there");
  /* exp: 200000 arguments over [-746, 710] and [-50, 0] (the kernel's range) plus special values */
  const size_t n = 200003;
  double *x = malloc(sizeof(double) * n), *ref = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
  rtk_rng_uniforms(11, 0, 0, 0, RTK_RNG_AUX, (int)n, x);
  for (size_t i = 0; i < n; i++) x[i] = i % 2 ? -746 + 1456 * x[i] : -50 * x[i];
  const double special[] = {0.0, -0.0, 1e-300, -1e-300, 709.78, -745.1, -708.4, 1.0, -1.0, 0.5, -40.0};
  memcpy(x, special, sizeof special);
  OK(rtk_vm_set_isa(RTK_VM_PUREC));
  for (size_t i = 0; i < n; i++) rtk_vm_exp(1, x + i, ref + i); /* one element at a time: all tails */
  /* normal streams: lengths around the vector widths and the 64-normal pass */
  const int lens[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 127, 128, 129, 1001};
  const int nl = (int)(sizeof lens / sizeof lens[0]);
  double *zr = malloc(sizeof(double) * 1001 * nl), *z = malloc(sizeof(double) * 1001);
  for (int l = 0; l < nl; l++) rtk_rng_normals(3, (uint64_t)l, 7, 1, RTK_RNG_STEP, lens[l], zr + 1001 * l);
  /* the mixture kernel (K = 25 modes, d = 10, 61 rows: padding and odd rows) */
  const char *rk[] = {"dim=10", "K=25", NULL};
  rtk_mixture *m = tu_target("mog-random", rk);
  const int np = 61, d = m->d;
  rtk_mixcoef c;
  rtk_mixwork w;
  OK(rtk_mixcoef_init(m, &c));
  OK(rtk_mixwork_init(np, m->K, d, &w));
  rtk_mixcoef_set_time(m, 0.4, &c);
  double *X = malloc(sizeof(double) * np * d), *S0 = malloc(sizeof(double) * np * d), *S = malloc(sizeof(double) * np * d);
  double lp0[61], lp[61];
  rtk_rng_normals(5, 0, 0, 0, RTK_RNG_AUX, np * d, X);
  for (int i = 0; i < np * d; i++) X[i] *= 3;
  rtk_mix_eval(&c, np, X, lp0, S0, &w);
  for (int k = 1; k < nv; k++) {
    const char *name = rtk_vm_isa_name(v[k]);
    size_t at = 0;
    OK(rtk_vm_set_isa(v[k]));
    CHECK(rtk_vm_isa() == v[k], "%s is in use", name);
    rtk_vm_exp(n, x, y);
    CHECK(same_bits(ref, y, n, &at), "%s: exp(%.17g) = %.17g, scalar %.17g", name, x[at], y[at], ref[at]);
    for (size_t len = 1; len <= 33; len += 4) { /* tails at every position */
      rtk_vm_exp(len, x + 1000 + len, y);
      CHECK(same_bits(ref + 1000 + len, y, len, &at), "%s: exp of %zu values, element %zu", name, len, at);
    }
    for (int l = 0; l < nl; l++) {
      rtk_rng_normals(3, (uint64_t)l, 7, 1, RTK_RNG_STEP, lens[l], z);
      CHECK(same_bits(zr + 1001 * l, z, (size_t)lens[l], &at), "%s: normal %zu of a stream of %d differs", name,
            at, lens[l]);
    }
    rtk_mix_eval(&c, np, X, lp, S, &w);
    CHECK(same_bits(lp0, lp, np, &at), "%s: kernel log-density of particle %zu differs", name, at);
    CHECK(same_bits(S0, S, (size_t)np * d, &at), "%s: kernel score element %zu differs", name, at);
  }
  /* the comparison can fail: a different stream or a perturbed input differs */
  rtk_rng_normals(3, 0, 7, 2, RTK_RNG_STEP, 1, z);
  CHECK(z[0] != zr[0], "a different counter gives a different normal");
  OK(rtk_vm_set_isa(-1));
  rtk_mixcoef_free(&c);
  rtk_mixwork_free(&w);
  rtk_mixture_free(m);
  free(X), free(S0), free(S), free(x), free(ref), free(y), free(zr), free(z);
}

static void test_prefix(void) {
  enum { N = 300 };
  double full[N], part[N];
  rtk_rng_normals(9, 123, 4, 5, RTK_RNG_PROPOSE, N, full);
  for (int n = 1; n < N; n += (n < 70 ? 1 : 13)) {
    rtk_rng_normals(9, 123, 4, 5, RTK_RNG_PROPOSE, n, part);
    CHECK(!memcmp(full, part, sizeof(double) * n), "the first %d of %d normals differ", n, N);
  }
  rtk_rng_uniforms(9, 123, 4, 5, RTK_RNG_ACCEPT, N, full);
  rtk_rng_uniforms(9, 123, 4, 5, RTK_RNG_ACCEPT, 7, part);
  CHECK(!memcmp(full, part, sizeof(double) * 7), "uniforms: prefix");
  CHECK(full[0] == rtk_rng_uniform(9, 123, 4, 5, RTK_RNG_ACCEPT), "rtk_rng_uniform = first of rtk_rng_uniforms");
}

static double ulp_diff(double a, double b) {
  if (a == b) return 0;
  const double u = nextafter(fabs(b), INFINITY) - fabs(b);
  return fabs(a - b) / (u > 0 ? u : 4.9e-324);
}

/* the Philox words behind normals 4c..4c+3 (Random123 directly: the generator is unchanged) */
#include <Random123/philox.h>
static void test_accuracy(void) {
  const size_t n = 100000;
  double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n), worst = 0;
  rtk_rng_uniforms(12, 0, 0, 0, RTK_RNG_AUX, (int)n, x);
  for (size_t i = 0; i < n; i++) x[i] = -745 + 1454 * x[i];
  rtk_vm_exp(n, x, y);
  for (size_t i = 0; i < n; i++) {
    double e = exp(x[i]);
    if (e > 2.3e-308 && ulp_diff(y[i], e) > worst) worst = ulp_diff(y[i], e); /* normal range */
  }
  CHECK(worst <= 2, "exp: %.2f ulp from libm", worst);
  printf("exp: at most %.2f ulp from libm's\n", worst);
  enum { M = 4000 };
  double z[M], err = 0;
  rtk_rng_normals(21, 5, 1, 2, RTK_RNG_STEP, M, z);
  for (int c = 0; c < M / 4; c++) {
    philox4x64_ctr_t ctr = {{1, 2, RTK_RNG_STEP, (uint64_t)c}};
    philox4x64_key_t key = {{21, 5}};
    philox4x64_ctr_t r = philox4x64(ctr, key);
    for (int p = 0; p < 2; p++) {
      const double u = ((double)(r.v[2 * p] >> 11) + 0.5) * 0x1.0p-53, h = ((double)(r.v[2 * p + 1] >> 11) + 0.5) * 0x1.0p-52;
      const double rad = sqrt(-2 * log(u)), zc = rad * cos(M_PI * h), zs = rad * sin(M_PI * h);
      const double e1 = fabs(z[4 * c + 2 * p] - zc) / (1 + fabs(zc)), e2 = fabs(z[4 * c + 2 * p + 1] - zs) / (1 + fabs(zs));
      err = fmax(err, fmax(e1, e2));
    }
  }
  CHECK(err < 1e-14, "normals vs libm Box-Muller: %.3g", err);
  printf("normals: at most %.3g (1 + |z|) from libm's Box-Muller\n", err);
  free(x);
  free(y);
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void test_normal_dist(void) {
  enum { P = 1000, D = 1000 };
  const double N = (double)P * D;
  double *z = malloc(sizeof(double) * P * D);
  for (int p = 0; p < P; p++) rtk_rng_normals(2024, (uint64_t)p, 3, 0, RTK_RNG_PROPOSE, D, z + (size_t)p * D);
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0, tail = 0, cpair = 0, cnext = 0;
  for (size_t i = 0; i < (size_t)P * D; i++) {
    const double v = z[i], v2 = v * v;
    s1 += v, s2 += v2, s3 += v2 * v, s4 += v2 * v2;
    tail += fabs(v) > 3;
  }
  for (int p = 0; p < P; p++) {
    const double *zp = z + (size_t)p * D;
    for (int j = 0; j + 1 < D; j += 2) cpair += zp[j] * zp[j + 1];       /* the two normals of one Box-Muller pair */
    for (int j = 1; j + 1 < D; j += 2) cnext += zp[j] * zp[j + 1];       /* across pairs */
  }
  const double npair = N / 2, nnext = (double)P * (D / 2 - 1), ptail = erfc(3 / sqrt(2.0));
  CHECK(fabs(s1 / N) < 5 / sqrt(N), "mean %g", s1 / N);
  CHECK(fabs(s2 / N - 1) < 5 * sqrt(2 / N), "variance %g", s2 / N);
  CHECK(fabs(s3 / N) < 5 * sqrt(15 / N), "third moment %g", s3 / N);    /* Var z^3 = 15 */
  CHECK(fabs(s4 / N - 3) < 5 * sqrt(96 / N), "fourth moment %g", s4 / N); /* Var z^4 = 105 - 9 */
  CHECK(fabs(tail / N - ptail) < 5 * sqrt(ptail * (1 - ptail) / N), "P(|z| > 3) = %g vs %g", tail / N, ptail);
  CHECK(fabs(cpair / npair) < 5 / sqrt(npair), "pair correlation %g", cpair / npair);
  CHECK(fabs(cnext / nnext) < 5 / sqrt(nnext), "next-pair correlation %g", cnext / nnext);
  /* Kolmogorov-Smirnov: P(sqrt(N) D > x) ~ 2 exp(-2 x^2) = 1e-4 at x = 2.226 */
  qsort(z, (size_t)P * D, sizeof(double), cmp_double);
  double dmax = 0;
  for (size_t i = 0; i < (size_t)P * D; i++) {
    const double F = 0.5 * erfc(-z[i] / sqrt(2.0));
    dmax = fmax(dmax, fmax(fabs(F - (double)i / N), fabs(F - (double)(i + 1) / N)));
  }
  CHECK(sqrt(N) * dmax < 2.226, "KS: sqrt(N) D = %.3f", sqrt(N) * dmax);
  printf("10^6 normals: mean %.2e, var %.5f, m3 %.2e, m4 %.4f, P(|z|>3) %.5f (%.5f), sqrt(N) KS %.3f\n", s1 / N,
         s2 / N, s3 / N, s4 / N, tail / N, ptail, sqrt(N) * dmax);
  free(z);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  int ran = 0;
#define RUN(name)                                              \
  if (!strcmp(which, "all") || !strcmp(which, #name)) {        \
    test_##name();                                             \
    ran++;                                                     \
  }
  RUN(isa_bitwise)
  RUN(prefix)
  RUN(accuracy)
  RUN(normal_dist)
#undef RUN
  if (!ran) {
    fprintf(stderr, "unknown test %s\n", which);
    return 2;
  }
  return tu_report(which);
}
