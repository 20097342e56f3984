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
 * With run.rng = philox4x32 (Philox4x32-10 for the sampler streams, src/core/rng.c):
 *   p4x32_kat     Random123's philox4x32 against its published known answers; the scalar, AVX2 and
 *                 AVX-512F versions' words equal Random123's for 300 keys/counters, lengths 1..70 and
 *                 chunk numbers across 2^32
 *   p4x32_isa     uniforms and normal streams (lengths around the vector widths and the 64-value pass) bitwise
 *                 equal in every version; prefix property; uniforms = the documented formula on Random123's
 *                 words, normals within 1e-14 (1 + |z|) of libm's Box-Muller on them
 *   p4x32_tail    every length 1..140 at an odd offset: the SIMD paths write exactly the stream's values, and
 *                 the scalar version's bits at every position
 *   bm32_accuracy the philox4x32 Box-Muller transform (src/core/bm32.h) against long double on 10^6 random
 *                 word pairs and the extremes (smallest u, u -> 1, the binade edges, both ends of every
 *                 octant): -2 ln u, cos, sin and the normals within the error analysis's bounds; every
 *                 version's stream = the scalar transform on Random123's words
 *   p4x32_layout  distinct (c0, c1, purpose) give distinct counters over the samplers' ranges
 *   p4x32_select  the selection: philox4x64 by default and for TARGET/SCORE/EXACT; philox4x32 for the
 *                 sampler purposes when selected; back to the default bits after
 *   normal_dist32 normal_dist's checks on philox4x32 normals
 * normal_dist and normal_dist32 also compare 42 bins (width 0.2 on [-4, 4] and two tails) with the exact
 * Gaussian probabilities: chi-square below its 1e-4 upper quantile (41 degrees of freedom).
 * Usage: test_vmath NAME (one CTest entry per NAME); fixed seeds. */
#include <stdint.h>

#include <Random123/philox.h>

#include "rtk/rng.h"
#include "rtk/vmath.h"
#include "rtk/ziggurat.h"
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
  OK(rtk_mixwork_init(m->K, d, &w));
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

static void normal_dist(int gen, int kind) {
  enum { P = 1000, D = 1000 };
  const double N = (double)P * D;
  double *z = malloc(sizeof(double) * P * D);
  for (int p = 0; p < P; p++)
    rtk_rng_normals_with(gen, kind, 2024, (uint64_t)p, 3, 0, RTK_RNG_PROPOSE, D, z + (size_t)p * D);
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
  /* beyond the ziggurat's base strip r: the tail its slow path draws */
  double rtail = 0;
  for (size_t i = 0; i < (size_t)P * D; i++) rtail += fabs(z[i]) > RTK_ZIG_R;
  const double pr = erfc(RTK_ZIG_R / sqrt(2.0));
  CHECK(fabs(rtail / N - pr) < 5 * sqrt(pr * (1 - pr) / N), "P(|z| > r) = %g vs %g", rtail / N, pr);
  CHECK(fabs(s1 / N) < 5 / sqrt(N), "mean %g", s1 / N);
  CHECK(fabs(s2 / N - 1) < 5 * sqrt(2 / N), "variance %g", s2 / N);
  CHECK(fabs(s3 / N) < 5 * sqrt(15 / N), "third moment %g", s3 / N);    /* Var z^3 = 15 */
  CHECK(fabs(s4 / N - 3) < 5 * sqrt(96 / N), "fourth moment %g", s4 / N); /* Var z^4 = 105 - 9 */
  CHECK(fabs(tail / N - ptail) < 5 * sqrt(ptail * (1 - ptail) / N), "P(|z| > 3) = %g vs %g", tail / N, ptail);
  CHECK(fabs(cpair / npair) < 5 / sqrt(npair), "pair correlation %g", cpair / npair);
  CHECK(fabs(cnext / nnext) < 5 / sqrt(nnext), "next-pair correlation %g", cnext / nnext);
  /* chi-square on 42 bins against the exact probabilities; its 1 - 1e-4 quantile by Wilson-Hilferty */
  enum { NB = 42 };
  double cnt[NB] = {0}, chi2 = 0;
  for (size_t i = 0; i < (size_t)P * D; i++) {
    const double v = z[i];
    cnt[v < -4 ? 0 : v >= 4 ? NB - 1 : 1 + (int)fmin(floor((v + 4) / 0.2), NB - 3)]++;
  }
  for (int b = 0; b < NB; b++) {
    const double lo = b == 0 ? -INFINITY : -4 + 0.2 * (b - 1), hi = b == NB - 1 ? INFINITY : -4 + 0.2 * b;
    const double pb = 0.5 * (erfc(-hi / sqrt(2.0)) - erfc(-lo / sqrt(2.0))), e = N * pb;
    chi2 += (cnt[b] - e) * (cnt[b] - e) / e;
  }
  const double k = NB - 1, wh = 2 / (9 * k), q = k * pow(1 - wh + 3.719 * sqrt(wh), 3);
  CHECK(chi2 < q, "chi-square %.1f on %d bins above its 1e-4 quantile %.1f", chi2, NB, q);
  /* Kolmogorov-Smirnov: P(sqrt(N) D > x) ~ 2 exp(-2 x^2) = 1e-4 at x = 2.226 */
  qsort(z, (size_t)P * D, sizeof(double), cmp_double);
  double dmax = 0;
  for (size_t i = 0; i < (size_t)P * D; i++) {
    const double F = 0.5 * erfc(-z[i] / sqrt(2.0));
    dmax = fmax(dmax, fmax(fabs(F - (double)i / N), fabs(F - (double)(i + 1) / N)));
  }
  CHECK(sqrt(N) * dmax < 2.226, "KS: sqrt(N) D = %.3f", sqrt(N) * dmax);
  printf("10^6 %s %s normals: mean %.2e, var %.5f, m3 %.2e, m4 %.4f, P(|z|>3) %.5f (%.5f), P(|z|>r) %.2e (%.2e), "
         "sqrt(N) KS %.3f, chi-square %.1f (1e-4 quantile %.1f)\n", rtk_rng_generator_name(gen),
         rtk_rng_normal_name(kind), s1 / N, s2 / N, s3 / N, s4 / N, tail / N, ptail, rtail / N, pr, sqrt(N) * dmax,
         chi2, q);
  free(z);
}
static void test_normal_dist(void) { normal_dist(RTK_RNG_PHILOX4X64, RTK_RNG_BOX_MULLER); }
static void test_normal_dist32(void) { normal_dist(RTK_RNG_PHILOX4X32, RTK_RNG_BOX_MULLER); }
static void test_zig_dist(void) { normal_dist(RTK_RNG_PHILOX4X64, RTK_RNG_ZIGGURAT); }
static void test_zig_dist32(void) { normal_dist(RTK_RNG_PHILOX4X32, RTK_RNG_ZIGGURAT); }

/* ---- Philox4x32 (run.rng = philox4x32) ---- */
static uint32_t lcg(uint64_t *s) { /* test inputs */
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*s >> 32);
}

static void test_p4x32_kat(void) {
  /* Random123's known answers (its kat_vectors: philox4x32 10 ctr key -> out) */
  static const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {~0u, ~0u, ~0u, ~0u, ~0u, ~0u, 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
       0x24126ea1}};
  for (int t = 0; t < 3; t++) {
    philox4x32_ctr_t c = {{kat[t][0], kat[t][1], kat[t][2], kat[t][3]}};
    philox4x32_key_t k = {{kat[t][4], kat[t][5]}};
    philox4x32_ctr_t r = philox4x32(c, k);
    CHECK(!memcmp(r.v, kat[t] + 6, 16), "Random123 philox4x32 known answer %d", t);
    int v[RTK_VM_NISA];
    const int nv = versions(v);
    for (int i = 0; i < nv; i++) {
      uint32_t w[4];
      OK(rtk_rng_p4x32_words(v[i], kat[t] + 4, kat[t], kat[t][3], 1, w));
      CHECK(!memcmp(w, kat[t] + 6, 16), "%s: known answer %d", rtk_vm_isa_name(v[i]), t);
    }
  }
  int v[RTK_VM_NISA];
  const int nv = versions(v);
  uint64_t s = 99;
  uint32_t *ref = malloc(sizeof(uint32_t) * 4 * 70), *w = malloc(sizeof(uint32_t) * 4 * 70);
  long compared = 0;
  for (int t = 0; t < 300; t++) {
    const uint32_t key[2] = {lcg(&s), lcg(&s)}, ctr[3] = {lcg(&s), lcg(&s), lcg(&s)};
    const uint32_t chunk0 = t % 3 == 0 ? 0xFFFFFFF0u + (uint32_t)(t % 16) : t % 3 == 1 ? (uint32_t)t : lcg(&s);
    const int n = 1 + t % 70;
    for (int c = 0; c < n; c++) {
      philox4x32_ctr_t cc = {{ctr[0], ctr[1], ctr[2], chunk0 + (uint32_t)c}};
      philox4x32_key_t kk = {{key[0], key[1]}};
      memcpy(ref + 4 * c, philox4x32(cc, kk).v, 16);
    }
    for (int i = 0; i < nv; i++) {
      memset(w, 0, sizeof(uint32_t) * 4 * 70);
      OK(rtk_rng_p4x32_words(v[i], key, ctr, chunk0, n, w));
      CHECK(!memcmp(w, ref, sizeof(uint32_t) * 4 * (size_t)n), "%s: words of case %d (n = %d) differ",
            rtk_vm_isa_name(v[i]), t, n);
      compared += 4 * n;
    }
  }
  printf("philox4x32: %ld words of the scalar, AVX2 and AVX-512F versions on this CPU equal Random123's\n", compared);
  /* the check can fail: another key gives other words */
  const uint32_t key[2] = {1, 2}, key2[2] = {1, 3}, ctr[3] = {0, 0, 0};
  OK(rtk_rng_p4x32_words(RTK_VM_PUREC, key, ctr, 0, 1, ref));
  OK(rtk_rng_p4x32_words(v[nv - 1], key2, ctr, 0, 1, w));
  CHECK(memcmp(ref, w, 16), "another key, other words");
  free(ref), free(w);
}

static void test_p4x32_isa(void) {
  int v[RTK_VM_NISA];
  const int nv = versions(v);
  const int G = RTK_RNG_PHILOX4X32;
  const int lens[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1001};
  const int nl = (int)(sizeof lens / sizeof lens[0]);
  double *zr = malloc(sizeof(double) * 1001 * nl), *ur = malloc(sizeof(double) * 1001 * nl);
  double *z = malloc(sizeof(double) * 1001);
  OK(rtk_vm_set_isa(RTK_VM_PUREC));
  for (int l = 0; l < nl; l++) {
    rtk_rng_normals_gen(G, 3, (uint64_t)l, 7, 1, RTK_RNG_STEP, lens[l], zr + 1001 * l);
    rtk_rng_uniforms_gen(G, 3, (uint64_t)l, 7, 1, RTK_RNG_AUX, lens[l], ur + 1001 * l);
  }
  for (int k = 0; k < nv; k++) {
    const char *name = rtk_vm_isa_name(v[k]);
    size_t at = 0;
    OK(rtk_vm_set_isa(v[k]));
    for (int l = 0; l < nl; l++) {
      rtk_rng_normals_gen(G, 3, (uint64_t)l, 7, 1, RTK_RNG_STEP, lens[l], z);
      CHECK(same_bits(zr + 1001 * l, z, (size_t)lens[l], &at), "%s: normal %zu of %d differs", name, at, lens[l]);
      rtk_rng_uniforms_gen(G, 3, (uint64_t)l, 7, 1, RTK_RNG_AUX, lens[l], z);
      CHECK(same_bits(ur + 1001 * l, z, (size_t)lens[l], &at), "%s: uniform %zu of %d differs", name, at, lens[l]);
    }
    /* prefix: the first n of a stream do not depend on n */
    double fz[300], fu[300], part[300];
    rtk_rng_normals_gen(G, 9, 123, 4, 5, RTK_RNG_PROPOSE, 300, fz);
    rtk_rng_uniforms_gen(G, 9, 123, 4, 5, RTK_RNG_ACCEPT, 300, fu);
    for (int n = 1; n < 300; n += (n < 70 ? 1 : 13)) {
      rtk_rng_normals_gen(G, 9, 123, 4, 5, RTK_RNG_PROPOSE, n, part);
      CHECK(!memcmp(fz, part, sizeof(double) * (size_t)n), "%s: the first %d of 300 normals differ", name, n);
      rtk_rng_uniforms_gen(G, 9, 123, 4, 5, RTK_RNG_ACCEPT, n, part);
      CHECK(!memcmp(fu, part, sizeof(double) * (size_t)n), "%s: the first %d of 300 uniforms differ", name, n);
    }
  }
  OK(rtk_vm_set_isa(-1));
  /* the documented formulas on Random123's words */
  enum { M = 2000 };
  double zz[M], uu[M], err = 0;
  int exact = 1;
  const uint64_t seed = 0x123456789ULL, id = 77, c0 = 5, c1 = (3ULL << 32) | 9;
  rtk_rng_normals_gen(G, seed, id, c0, c1, RTK_RNG_PROPOSE, M, zz);
  rtk_rng_uniforms_gen(G, seed, id, c0, c1, RTK_RNG_PROPOSE, M, uu);
  const uint32_t key[2] = {(uint32_t)id, (uint32_t)(seed ^ (seed >> 32))};
  const uint32_t ctr[3] = {(uint32_t)c0 | (uint32_t)RTK_RNG_PROPOSE << 28, 9, 3};
  for (int c = 0; c < M / 2; c++) {
    philox4x32_ctr_t cc = {{ctr[0], ctr[1], ctr[2], (uint32_t)c}};
    philox4x32_key_t kk = {{key[0], key[1]}};
    philox4x32_ctr_t r = philox4x32(cc, kk);
    const uint64_t e = (uint64_t)r.v[1] << 32 | r.v[0], o = (uint64_t)r.v[3] << 32 | r.v[2];
    const double u = ((double)(e >> 11) + 0.5) * 0x1.0p-53, h = ((double)(o >> 11) + 0.5) * 0x1.0p-52;
    exact &= uu[2 * c] == u && uu[2 * c + 1] == h / 2;
    const double rad = sqrt(-2 * log(u)), zc = rad * cos(M_PI * h), zs = rad * sin(M_PI * h);
    err = fmax(err, fmax(fabs(zz[2 * c] - zc) / (1 + fabs(zc)), fabs(zz[2 * c + 1] - zs) / (1 + fabs(zs))));
  }
  CHECK(exact, "uniforms 2c, 2c+1 = u01(w1:w0), u01(w3:w2) of block c");
  CHECK(err < 1e-14, "normals vs libm Box-Muller on the Philox4x32 words: %.3g", err);
  printf("philox4x32: uniforms and normals bitwise equal in %d versions; uniforms = the formula; normals within "
         "%.3g (1 + |z|) of libm's Box-Muller\n", nv, err);
  free(zr), free(ur), free(z);
}

static void test_p4x32_layout(void) {
  /* every (c0, c1, purpose) over a grid of the samplers' values (c0: step/segment < 2^28; c1: inner step, or
   * FORS's round << 32 | index) gives its own counter words */
  const uint64_t c0s[] = {0, 1, 2, 99, 1u << 20, (1u << 28) - 1};
  const uint64_t c1s[] = {0, 1, 2, 0xffffffffu, 1ULL << 32, (1ULL << 32) | 1, (7ULL << 32) | 3, 50ULL << 32};
  enum { NC0 = 6, NC1 = 8, NP = 10 };
  static uint32_t seen[NC0 * NC1 * NP][3];
  int n = 0, dup = 0;
  for (int a = 0; a < NC0; a++)
    for (int b = 0; b < NC1; b++)
      for (int p = 1; p <= NP; p++) {
        uint32_t key[2], ctr[3];
        rtk_rng_p4x32_layout(1, 5, c0s[a], c1s[b], (uint64_t)p, key, ctr);
        for (int j = 0; j < n; j++) dup += !memcmp(seen[j], ctr, sizeof ctr);
        memcpy(seen[n++], ctr, sizeof ctr);
      }
  CHECK(dup == 0, "%d counter collisions among %d (c0, c1, purpose)", dup, n);
  /* keys: particle ids below 2^32 and seeds below 2^32 are distinct keys */
  uint32_t k1[2], k2[2], k3[2], c[3];
  rtk_rng_p4x32_layout(1, 5, 0, 0, 1, k1, c);
  rtk_rng_p4x32_layout(1, 6, 0, 0, 1, k2, c);
  rtk_rng_p4x32_layout(2, 5, 0, 0, 1, k3, c);
  CHECK(memcmp(k1, k2, 8) && memcmp(k1, k3, 8) && memcmp(k2, k3, 8), "distinct keys");
  printf("philox4x32 layout: %d distinct counters\n", n);
}

/* every purpose, in enum order */
static const uint64_t purposes[] = {RTK_RNG_INIT, RTK_RNG_STEP, RTK_RNG_SEGINIT, RTK_RNG_PROPOSE, RTK_RNG_ACCEPT,
                                    RTK_RNG_EXACT, RTK_RNG_VELOCITY, RTK_RNG_AUX, RTK_RNG_TARGET, RTK_RNG_SCORE};

static void test_p4x32_select(void) {
  enum { D = 37 };
  double a[D], b[D];
  CHECK(rtk_rng_generator() == RTK_RNG_PHILOX4X64, "the default is philox4x64");
  for (int s = 0; s < 2; s++) {
    const int gen = s ? RTK_RNG_PHILOX4X32 : RTK_RNG_PHILOX4X64;
    rtk_rng_set_generator(gen);
    for (size_t i = 0; i < sizeof purposes / sizeof purposes[0]; i++) {
      const uint64_t p = purposes[i];
      const int fixed = p == RTK_RNG_EXACT || p == RTK_RNG_TARGET || p == RTK_RNG_SCORE;
      const int want = fixed ? RTK_RNG_PHILOX4X64 : gen;
      CHECK(rtk_rng_generator_for(p) == want, "purpose %d under %s", (int)p, rtk_rng_generator_name(gen));
      rtk_rng_normals(8, 3, 2, 1, p, D, a);
      rtk_rng_normals_gen(want, 8, 3, 2, 1, p, D, b);
      CHECK(!memcmp(a, b, sizeof a), "normals of purpose %d under %s", (int)p, rtk_rng_generator_name(gen));
      rtk_rng_uniforms(8, 3, 2, 1, p, D, a);
      rtk_rng_uniforms_gen(want, 8, 3, 2, 1, p, D, b);
      CHECK(!memcmp(a, b, sizeof a), "uniforms of purpose %d", (int)p);
      CHECK(a[0] == rtk_rng_uniform(8, 3, 2, 1, p), "rtk_rng_uniform = first uniform, purpose %d", (int)p);
    }
  }
  /* the two generators do give different numbers, and the default comes back */
  rtk_rng_normals_gen(RTK_RNG_PHILOX4X32, 8, 3, 2, 1, RTK_RNG_STEP, D, a);
  rtk_rng_normals_gen(RTK_RNG_PHILOX4X64, 8, 3, 2, 1, RTK_RNG_STEP, D, b);
  CHECK(memcmp(a, b, sizeof a), "philox4x32 and philox4x64 differ");
  rtk_rng_set_generator(RTK_RNG_PHILOX4X64);
  rtk_rng_normals(8, 3, 2, 1, RTK_RNG_STEP, D, a);
  CHECK(!memcmp(a, b, sizeof a), "philox4x64 again after the selection is put back");
}

/* ---- the ziggurat (run.normal = ziggurat; rtk/ziggurat.h, src/core/rng.c) ---- */
static void test_zig_tables(void) {
  /* every layer has area v: the base strip x_0 f(r) (= r f(r) + the tail), layer j x_j (f(x_{j+1}) - f(x_j)) */
  const double *X = rtk_zig_x, *F = rtk_zig_f, v = RTK_ZIG_V, r = RTK_ZIG_R;
  double worst = 0;
  CHECK(X[1] == r && X[256] == 0 && F[256] == 1, "X[1] = r, X[256] = 0, F[256] = 1");
  worst = fabs(X[0] * F[1] - v) / v;
  const double tail = r * F[1] + sqrt(M_PI / 2) * erfc(r / sqrt(2.0));
  CHECK(fabs(tail - v) < 1e-14 * v, "v = r f(r) + int_r^inf f: %.17g vs %.17g", tail, v);
  /* each X[j] is its exact x_j rounded (relative error <= 2^-53); the area's sensitivity to that is its
   * condition number c_j = (x_j |d area / d x_j| + x_{j+1} |d area / d x_{j+1}|) / v, so the bound is
   * c_j 2^-53 plus a few roundings of the evaluation (long double) and of F[j] */
  int aok = 1;
  for (int j = 1; j < 256; j++) {
    /* f(x_{j+1}) - f(x_j) without cancellation: f(x_j) (exp((x_j^2 - x_{j+1}^2) / 2) - 1) */
    const long double a = X[j], b = X[j + 1];
    const long double area = a * F[j] * expm1l((a * a - b * b) / 2);
    const double c = (double)((a * fabsl(F[j + 1] - F[j] - a * a * F[j]) + a * b * b * F[j + 1]) / v);
    const double e = (double)fabsl(area / v - 1);
    aok &= e <= c * 0x1.0p-53 + 0x1.0p-50;
    worst = fmax(worst, e);
  }
  CHECK(aok, "layer areas within their rounding bound of v (worst %.3g relative)", worst);
  int mono = 1, fok = 1, kok = 1;
  for (int j = 0; j < 256; j++) {
    mono &= X[j] > X[j + 1];
    /* F[j] = f(x_j) rounded; f of the rounded X[j] is off by up to x_j^2 2^-53 relative, libm's exp by 1 ulp */
    fok &= fabs(F[j] - exp(-0.5 * X[j] * X[j])) <= (X[j] * X[j] * 0x1.0p-53 + 0x1.0p-51) * F[j];
    /* K[j] = floor(2^52 x_{j+1} / x_j) of the exact x_j; the doubles' ratio is within 2^-52 relative of it */
    const long double q = ldexpl((long double)X[j + 1] / X[j], 52);
    kok &= (long double)rtk_zig_k[j] <= q + 1 && (long double)rtk_zig_k[j] + 1 > q - 1 && rtk_zig_k[j] < (1ULL << 52);
  }
  CHECK(mono, "X decreasing");
  CHECK(fok, "F[j] = exp(-X[j]^2 / 2)");
  CHECK(kok && rtk_zig_k[255] == 0, "K[j] = floor(2^52 X[j+1] / X[j]), K[255] = 0");
  /* the fast path's value: m 2^-52 X[j] with m < K[j] stays below X[j+1] (under the curve) */
  int below = 1;
  for (int j = 0; j < 255; j++) {
    const uint64_t w = (rtk_zig_k[j] - 1) << 12 | (uint64_t)j;
    double z;
    below &= rtk_zig_fast(w, &z) && z < X[j + 1] && !rtk_zig_fast(rtk_zig_k[j] << 12 | (uint64_t)j, &z);
  }
  CHECK(below, "the largest accepted m of each layer gives x < X[j+1]; m = K[j] is rejected");
  printf("ziggurat tables: layer areas within %.2g of v, X decreasing, F and K consistent\n", worst);
}

static void test_zig_chunks(void) {
  /* the retry chunks lie above every primary chunk of a stream of RTK_ZIG_MAX_N values (philox4x64: i / 4;
   * philox4x32: i / 2, and below 2^29 for uniforms) and fit philox4x32's 32-bit chunk word */
  const uint64_t n = RTK_ZIG_MAX_N, prim = (n - 1) / 2;
  CHECK(RTK_ZIG_CHUNK(0, 0) > prim && RTK_ZIG_CHUNK(0, 0) > (uint64_t)INT32_MAX / 2, "first retry chunk above the primaries");
  CHECK(RTK_ZIG_CHUNK(n - 1, RTK_ZIG_ATTEMPTS - 1) <= UINT32_MAX, "last retry chunk fits 32 bits");
  /* distinct (i, a) give distinct chunks: consecutive attempts and normals are adjacent, never overlapping */
  int ok = 1;
  for (uint64_t i = 0; i + 1 < n; i += 4099)
    ok &= RTK_ZIG_CHUNK(i, RTK_ZIG_ATTEMPTS - 1) + 1 == RTK_ZIG_CHUNK(i + 1, 0) &&
          RTK_ZIG_CHUNK(i, 1) == RTK_ZIG_CHUNK(i, 0) + 1;
  CHECK(ok, "retry chunks of normal i: [C(i, 0), C(i, 0) + attempts), next normal right after");
  printf("ziggurat chunks: primaries < %llu <= retries <= %llu\n", (unsigned long long)RTK_ZIG_CHUNK(0, 0),
         (unsigned long long)RTK_ZIG_CHUNK(n - 1, RTK_ZIG_ATTEMPTS - 1));
}

/* the documented layout, recomputed from Random123 (docs/design.md, "Ziggurat normals"): word i of the stream,
 * then the retries at chunk RTK_ZIG_CHUNK(i, a); *slow = 1 when the fast path rejected word i */
static uint64_t zig_word(int gen, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, uint64_t chunk,
                         int k) {
  if (gen == RTK_RNG_PHILOX4X32) {
    uint32_t key[2], ctr[3];
    rtk_rng_p4x32_layout(seed, id, c0, c1, p, key, ctr);
    philox4x32_ctr_t cc = {{ctr[0], ctr[1], ctr[2], (uint32_t)chunk}};
    philox4x32_key_t kk = {{key[0], key[1]}};
    philox4x32_ctr_t r = philox4x32(cc, kk);
    return (uint64_t)r.v[2 * k + 1] << 32 | r.v[2 * k];
  }
  philox4x64_ctr_t cc = {{c0, c1, p, chunk}};
  philox4x64_key_t kk = {{seed, id}};
  return philox4x64(cc, kk).v[k];
}

static double zig_ref(int gen, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int i, int *slow) {
  const int per = gen == RTK_RNG_PHILOX4X32 ? 2 : 4;
  uint64_t w = zig_word(gen, seed, id, c0, c1, p, (uint64_t)(i / per), i % per);
  double z;
  *slow = !rtk_zig_fast(w, &z);
  if (!*slow) return z;
  for (int a = 0; a < RTK_ZIG_ATTEMPTS; a++) {
    const uint64_t ch = RTK_ZIG_CHUNK(i, a);
    if (rtk_zig_retry(&w, zig_word(gen, seed, id, c0, c1, p, ch, 0), zig_word(gen, seed, id, c0, c1, p, ch, 1), &z))
      return z;
  }
  return rtk_zig_signed(w, rtk_zig_abs(w));
}

static void test_zig_layout(void) {
  enum { P = 400, D = 301 };
  double z[D];
  for (int g = 0; g < 2; g++) {
    const int gen = g ? RTK_RNG_PHILOX4X32 : RTK_RNG_PHILOX4X64;
    int bad = 0, nslow = 0;
    for (int p = 0; p < P && !bad; p++) {
      const uint64_t seed = 77 + (uint64_t)p * 0x9e3779b97f4a7c15ULL, c1 = (uint64_t)p % 3 << 32 | 5;
      rtk_rng_normals_with(gen, RTK_RNG_ZIGGURAT, seed, (uint64_t)p, 9, c1, RTK_RNG_PROPOSE, D, z);
      for (int i = 0; i < D; i++) {
        int slow;
        const double ref = zig_ref(gen, seed, (uint64_t)p, 9, c1, RTK_RNG_PROPOSE, i, &slow);
        nslow += slow;
        if (memcmp(&ref, z + i, sizeof ref)) {
          bad = 1;
          CHECK(0, "%s: normal %d of particle %d: %.17g, the layout gives %.17g (slow path %d)",
                rtk_rng_generator_name(gen), i, p, z[i], ref, slow);
          break;
        }
      }
    }
    /* P D = 120400 normals, about 0.7 % through the slow path */
    CHECK(nslow > 400, "%s: %d normals through the slow path", rtk_rng_generator_name(gen), nslow);
    printf("ziggurat %s: %d normals = the documented layout on Random123's words, %d of them via the slow path\n",
           rtk_rng_generator_name(gen), P * D, nslow);
  }
}

/* the step function under the curve that the fast path covers: f(x_k) on [x_{k+1}, x_k) (k >= 1), 0 beyond r */
static double zig_h_integral(double a, double b) { /* int_a^b h, 0 <= a <= b */
  double s = 0;
  for (int k = 1; k < 256; k++) {
    const double lo = fmax(a, rtk_zig_x[k + 1]), hi = fmin(b, rtk_zig_x[k]);
    if (hi > lo) s += (hi - lo) * rtk_zig_f[k];
  }
  return s;
}

static double chi2_q(int nb) { /* 1 - 1e-4 quantile, Wilson-Hilferty */
  const double k = nb - 1, wh = 2 / (9 * k);
  return k * pow(1 - wh + 3.719 * sqrt(wh), 3);
}

static void test_zig_slow(void) {
  /* (a) the tail: candidates of the base strip beyond r through rtk_zig_retry with Philox words until one is
   * accepted; |z| must follow the normal law conditioned on |z| > r (KS below its 1e-4 quantile) */
  enum { T = 200000 };
  double *t = malloc(sizeof(double) * T);
  long attempts = 0;
  int neg = 0;
  for (int i = 0; i < T; i++) {
    philox4x64_key_t kk = {{31, (uint64_t)i}};
    uint64_t w = (rtk_zig_k[0] + (uint64_t)i * 997 % ((1ULL << 52) - rtk_zig_k[0])) << 12 | (uint64_t)(i & 1) << 8;
    double z = NAN;
    for (uint64_t a = 0;; a++) {
      philox4x64_ctr_t cc = {{a, 0, 0, 0}};
      philox4x64_ctr_t r = philox4x64(cc, kk);
      attempts++;
      if (rtk_zig_retry(&w, r.v[0], r.v[1], &z)) break;
    }
    neg += z < 0;
    t[i] = fabs(z);
  }
  CHECK(neg == T / 2, "the sign is the candidate's bit 8: %d negative of %d", neg, T);
  qsort(t, T, sizeof(double), cmp_double);
  const double tr = erfc(RTK_ZIG_R / sqrt(2.0));
  double dmax = 0;
  for (int i = 0; i < T; i++) {
    const double F = 1 - erfc(t[i] / sqrt(2.0)) / tr;
    dmax = fmax(dmax, fmax(fabs(F - (double)i / T), fabs(F - (double)(i + 1) / T)));
  }
  CHECK(t[0] >= RTK_ZIG_R, "tail values beyond r");
  CHECK(sqrt((double)T) * dmax < 2.226, "tail KS: sqrt(N) D = %.3f", sqrt((double)T) * dmax);
  printf("tail: %d values, %.4f attempts each, sqrt(N) KS %.3f\n", T, (double)attempts / T, sqrt((double)T) * dmax);
  free(t);

  /* (b) the normals of whole streams whose own word the fast path rejected (both generators): their |z| has
   * density prop. to (f - h) + (256 v - sqrt(pi/2)) f / sqrt(pi/2): the wedges and the tail under the curve, plus
   * a fresh normal for the part above the curve; chi-square on 16 bins against it */
  enum { P = 2000, D = 1000, NB = 16 };
  const double edges[NB + 1] = {0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.3, 2.6, 3.0, 3.4, RTK_ZIG_R, INFINITY};
  const double s2pi = sqrt(M_PI / 2), above = 256 * RTK_ZIG_V - s2pi;
  double pb[NB], tot = 0;
  for (int b = 0; b < NB; b++) {
    const double lo = edges[b], hi = edges[b + 1];
    const double fint = s2pi * (erfc(lo / sqrt(2.0)) - (isinf(hi) ? 0 : erfc(hi / sqrt(2.0))));
    pb[b] = fint - zig_h_integral(lo, isinf(hi) ? RTK_ZIG_R : hi) + above * fint / s2pi;
    tot += pb[b];
  }
  for (int g = 0; g < 2; g++) {
    const int gen = g ? RTK_RNG_PHILOX4X32 : RTK_RNG_PHILOX4X64, per = g ? 2 : 4;
    double cnt[NB] = {0}, n = 0, z[D];
    for (int p = 0; p < P; p++) {
      rtk_rng_normals_with(gen, RTK_RNG_ZIGGURAT, 5, (uint64_t)p, 1, 2, RTK_RNG_STEP, D, z);
      for (int i = 0; i < D; i++) {
        double y;
        if (rtk_zig_fast(zig_word(gen, 5, (uint64_t)p, 1, 2, RTK_RNG_STEP, (uint64_t)(i / per), i % per), &y)) continue;
        int b = 0;
        while (b + 1 < NB && fabs(z[i]) >= edges[b + 1]) b++;
        cnt[b]++, n++;
      }
    }
    double chi2 = 0;
    for (int b = 0; b < NB; b++) {
      const double e = n * pb[b] / tot;
      chi2 += (cnt[b] - e) * (cnt[b] - e) / e;
    }
    const double rate = n / ((double)P * D), prate = tot / (256 * RTK_ZIG_V);
    CHECK(chi2 < chi2_q(NB), "%s: slow-path normals: chi-square %.1f above %.1f", rtk_rng_generator_name(gen), chi2,
          chi2_q(NB));
    CHECK(fabs(rate - prate) < 5 * sqrt(prate * (1 - prate) / ((double)P * D)), "%s: rejection rate %g vs %g",
          rtk_rng_generator_name(gen), rate, prate);
    printf("%s: %.0f slow-path normals (rate %.5f, exact %.5f), chi-square %.1f on %d bins (1e-4 quantile %.1f)\n",
           rtk_rng_generator_name(gen), n, rate, prate, chi2, NB, chi2_q(NB));
  }
}

static void test_zig_isa(void) {
  /* whole streams of every length 1..200 and a few long ones, both generators: every version's bits equal the
   * scalar code's */
  int v[RTK_VM_NISA];
  const int nv = versions(v);
  enum { L = 200, LONG = 1031 };
  double *ref = malloc(sizeof(double) * 2 * (L + 3) * LONG), z[LONG];
  int nslow = 0;
  for (int k = 0; k < nv; k++) {
    OK(rtk_vm_set_isa(v[k]));
    for (int g = 0; g < 2; g++) {
      const int gen = g ? RTK_RNG_PHILOX4X32 : RTK_RNG_PHILOX4X64;
      for (int l = 1; l <= L + 3; l++) {
        const int n = l <= L ? l : LONG - 3 + (l - L);
        double *r = ref + ((size_t)g * (L + 3) + (size_t)l - 1) * LONG;
        rtk_rng_normals_with(gen, RTK_RNG_ZIGGURAT, 41, (uint64_t)l, 3, 8, RTK_RNG_SEGINIT, n, k ? z : r);
        if (!k) {
          const int per = g ? 2 : 4;
          for (int i = 0; i < n; i++) {
            double y;
            nslow += !rtk_zig_fast(zig_word(gen, 41, (uint64_t)l, 3, 8, RTK_RNG_SEGINIT, (uint64_t)(i / per), i % per), &y);
          }
          continue;
        }
        size_t at = 0;
        CHECK(same_bits(r, z, (size_t)n, &at), "%s %s: normal %zu of %d differs from purec's", rtk_vm_isa_name(v[k]),
              rtk_rng_generator_name(gen), at, n);
      }
    }
  }
  OK(rtk_vm_set_isa(-1));
  CHECK(nslow > 50, "only %d slow-path normals in the test streams", nslow);
  printf("ziggurat streams of lengths 1..%d and ~%d, both generators: bitwise equal in %d versions (%d slow-path "
         "normals among them)\n", L, LONG, nv, nslow);
  free(ref);
}

static void test_zig_select(void) {
  enum { D = 37 };
  double a[D], b[D];
  CHECK(rtk_rng_normal() == RTK_RNG_BOX_MULLER, "the default is box-muller");
  rtk_rng_set_normal(RTK_RNG_ZIGGURAT);
  for (int s = 0; s < 2; s++) {
    const int gen = s ? RTK_RNG_PHILOX4X32 : RTK_RNG_PHILOX4X64;
    rtk_rng_set_generator(gen);
    for (size_t i = 0; i < sizeof purposes / sizeof purposes[0]; i++) {
      const uint64_t p = purposes[i];
      const int fixed = p == RTK_RNG_EXACT || p == RTK_RNG_TARGET || p == RTK_RNG_SCORE;
      const int want = fixed ? RTK_RNG_BOX_MULLER : RTK_RNG_ZIGGURAT;
      CHECK(rtk_rng_normal_for(p) == want, "purpose %d: %s", (int)p, rtk_rng_normal_name(rtk_rng_normal_for(p)));
      rtk_rng_normals(8, 3, 2, 1, p, D, a);
      rtk_rng_normals_with(fixed ? RTK_RNG_PHILOX4X64 : gen, want, 8, 3, 2, 1, p, D, b);
      CHECK(!memcmp(a, b, sizeof a), "normals of purpose %d under ziggurat, %s", (int)p, rtk_rng_generator_name(gen));
      rtk_rng_uniforms(8, 3, 2, 1, p, D, a);
      rtk_rng_uniforms_gen(fixed ? RTK_RNG_PHILOX4X64 : gen, 8, 3, 2, 1, p, D, b);
      CHECK(!memcmp(a, b, sizeof a), "uniforms of purpose %d unchanged by run.normal", (int)p);
    }
  }
  rtk_rng_set_generator(RTK_RNG_PHILOX4X64);
  rtk_rng_normals_with(RTK_RNG_PHILOX4X64, RTK_RNG_BOX_MULLER, 8, 3, 2, 1, RTK_RNG_STEP, D, b);
  rtk_rng_normals(8, 3, 2, 1, RTK_RNG_STEP, D, a);
  CHECK(memcmp(a, b, sizeof a), "ziggurat and box-muller differ");
  rtk_rng_set_normal(RTK_RNG_BOX_MULLER);
  rtk_rng_normals(8, 3, 2, 1, RTK_RNG_STEP, D, a);
  CHECK(!memcmp(a, b, sizeof a), "box-muller again after the selection is put back");
  rtk_rng_normals_gen(RTK_RNG_PHILOX4X32, 8, 3, 2, 1, RTK_RNG_STEP, D, a);
  rtk_rng_normals_with(RTK_RNG_PHILOX4X32, RTK_RNG_BOX_MULLER, 8, 3, 2, 1, RTK_RNG_STEP, D, b);
  CHECK(!memcmp(a, b, sizeof a), "rtk_rng_normals_gen is box-muller");
}

/* the SIMD Philox4x32 paths write exactly their n values: a stream of every length 1..140 (whole passes of 2..4
 * vectors, partial last vectors, odd lengths) into a buffer at an odd double offset leaves the values before and
 * after it untouched, in every version and for uniforms, Box-Muller and ziggurat normals and the raw words; the
 * values are the scalar version's, bit for bit, at every position of every length */
static void test_p4x32_tail(void) {
  int v[RTK_VM_NISA];
  const int nv = versions(v);
  enum { N = 140, PAD = 24 };
  double buf[N + 2 * PAD + 1];
  uint32_t wbuf[4 * (N + PAD)];
  const uint32_t key[2] = {11, 22}, ctr[3] = {1, 2, 3};
  long checked = 0;
  double ref[3][N]; /* the scalar version's streams: every shorter stream is their prefix */
  for (int k = 0; k < nv; k++) {
    OK(rtk_vm_set_isa(v[k]));
    for (int n = 1; n <= N; n++)
      for (int f = 0; f < 3; f++) {
        for (int i = 0; i < N + 2 * PAD + 1; i++) buf[i] = -7.0;
        double *o = buf + PAD + 1; /* 8 bytes off a 16-byte boundary */
        if (f == 0) rtk_rng_uniforms_gen(RTK_RNG_PHILOX4X32, 5, 9, 1, 2, RTK_RNG_AUX, n, o);
        else rtk_rng_normals_with(RTK_RNG_PHILOX4X32, f == 1 ? RTK_RNG_BOX_MULLER : RTK_RNG_ZIGGURAT, 5, 9, 1, 2,
                                  RTK_RNG_STEP, n, o);
        int ok = 1;
        for (int i = 0; i < N + 2 * PAD + 1; i++) ok &= (buf + i >= o && buf + i < o + n) ? buf[i] != -7.0 : buf[i] == -7.0;
        const char *what = f == 0 ? "uniform" : f == 1 ? "box-muller" : "ziggurat";
        CHECK(ok, "%s: %s stream of %d values wrote outside its %d values", rtk_vm_isa_name(v[k]), what, n, n);
        /* and exactly the scalar version's values, at every position of every length (lanes, tails) */
        if (k == 0 && n == N) memcpy(ref[f], o, sizeof ref[f]);
        size_t at = 0;
        if (k > 0) CHECK(same_bits(ref[f], o, (size_t)n, &at), "%s: %s value %zu of a stream of %d differs from "
                         "the scalar version's", rtk_vm_isa_name(v[k]), what, at, n);
        checked++;
      }
    for (int n = 1; n <= N / 2; n++) {
      for (int i = 0; i < 4 * (N + PAD); i++) wbuf[i] = 0xA5A5A5A5u;
      OK(rtk_rng_p4x32_words(v[k], key, ctr, 0xFFFFFFF0u, n, wbuf + 4));
      int ok = 1;
      for (int i = 0; i < 4 * (N + PAD); i++) ok &= i < 4 || i >= 4 * n + 4 ? wbuf[i] == 0xA5A5A5A5u : 1;
      CHECK(ok, "%s: %d blocks of words wrote outside their %d words", rtk_vm_isa_name(v[k]), n, 4 * n);
      checked++;
    }
  }
  OK(rtk_vm_set_isa(-1));
  printf("philox4x32: %ld streams in %d versions wrote exactly their values\n", checked, nv);
}

/* ---- the philox4x32 Box-Muller transform (src/core/bm32.h; white box: the scalar reference itself) ---- */
#include "../src/core/bm32.h"

/* |a - ref| in ulps of ref (ref != 0, a double's normal range) */
static double ulps_l(double a, long double ref) {
  return (double)(fabsl((long double)a - ref) / ldexpl(1.0L, ilogbl(ref) - 52));
}

#define PI4L 0.785398163397448309615660845819875721L

/* the exact-input reference of one pair in long double (64-bit significand, ~2^-64 relative): u = u01(e),
 * 4h = (j + 0.5)·2^-50 = q + t exactly (j = o >> 11), theta = k·pi/2 + beta with k = the nearest quarter turn
 * below or above (beta = pi/4 t for even q, -pi/4 (1 - t) for odd q): (cos, sin) of beta rotated by k quarter
 * turns, written independently of bm32_place's swap-and-sign table */
static void bm_ref(uint64_t e, uint64_t o, long double *lnref, long double cs[2], long double z[2]) {
  const double u = ((double)(e >> 11) + 0.5) * 0x1.0p-53;
  *lnref = -2.0L * logl((long double)u);
  const long double h4 = ((long double)(o >> 11) + 0.5L) * 0x1.0p-50L;
  const int q = (int)floorl(h4), k = (q + 1) / 2;
  const long double beta = q % 2 ? -PI4L * (1.0L - (h4 - q)) : PI4L * (h4 - q), c = cosl(beta), s = sinl(beta);
  const long double rc[5] = {c, -s, -c, s, c}, rs[5] = {s, c, -s, -c, s};
  cs[0] = rc[k], cs[1] = rs[k];
  const long double r = sqrtl(*lnref);
  z[0] = r * cs[0], z[1] = r * cs[1];
}

/* The error analysis (bm32.h, docs/design.md "rng.h"); u = 2^-53, the unit roundoff:
 *   -2 ln u.  E = 0: ln m = f - g with f exact, g = hfsq - s (hfsq + R), |g| < 0.3 |ln m|: 0.5 ulp (the last
 *     subtraction) + 2u |g| (hfsq's and g's roundings) + below 0.01 ulp (s, R, P_L's error times s z) < 1.2 ulp.
 *     E != 0: E ln2_hi exact, 0.5 ulp (the last addition) + 0.5 ulp of the inner sum (no larger than ln u) +
 *     E ln2_lo's rounding < 1.1 ulp.  Times -2 exact.  Checked: 1.5 ulp.
 *   sin(pi/4 t) = t P_S(t^2): P_S's leading coefficient (< 0.5u relative), Horner's last addition (0.5u) and
 *     the terms under it (< 0.2u), the product by t (0.5u): < 1.7u relative.  cos = 1 + z P_C with |z P_C| <
 *     0.3: 0.5 ulp + 0.3·1.5u absolute < 1.35u relative (cos >= 1/sqrt 2).  Checked: 2 ulp each.
 *   z = r·cos (sin): r = sqrt(L) has 0.75·2^-52 (half of L's 1.5 ulp <= 1.5·2^-52) + 0.5u, the cos or sin
 *     1.7u, the product 0.5u: |dz| < 2.6·2^-52 |z|.  Checked: 3·2^-52 |z| (at most 6 ulp of z). */
static void test_bm32_accuracy(void) {
  enum { N = 1000000 };
  uint64_t st = 0x9e3779b97f4a7c15ULL;
  double wl = 0, wc = 0, ws = 0, wz = 0, wzrel = 0;
  long checked = 0;
  for (int i = 0; i < N + 4000; i++) {
    /* random words, then the extremes: the smallest u, u -> 1 (u = 1 exactly at e >> 11 = 2^53 - 1), u around
     * sqrt(1/2)·2^-j (the binade edge of m), and angles at every octant's two ends */
    uint64_t e = (uint64_t)lcg(&st) << 32 | lcg(&st), o = (uint64_t)lcg(&st) << 32 | lcg(&st);
    if (i >= N) {
      const int x = i - N, k = x % 1000;
      const uint64_t lo11 = o & 2047, T = BM_T50, ends[4] = {(uint64_t)k, T - (uint64_t)k, (uint64_t)k << 20, T >> 1};
      if (x < 1000) e = ((uint64_t)k << 11) | lo11;
      else if (x < 2000) e = ((((UINT64_C(1) << 53) - 1) - (uint64_t)k) << 11) | lo11;
      else if (x < 3000) { /* u = u01(e) near sqrt(1/2) 2^-j: k = the top 53 bits */
        const double edge = ldexp(0.70710678118654752440, -(k % 50));
        const uint64_t top = (uint64_t)(edge * 0x1.0p53) + (uint64_t)(k / 50) - 10;
        e = top << 11 | lo11;
      }
      o = (uint64_t)(k % 8) << 61 | (ends[(x / 1000) % 4] << 11) | lo11;
    }
    long double lr, cs[2], zr[2];
    bm_ref(e, o, &lr, cs, zr);
    const double u = ((double)(e >> 11) + 0.5) * 0x1.0p-53, L = bm32_m2ln(u);
    double c, s, zc, zs;
    bm32_sincos(o, &c, &s);
    bm32_pair(e, o, &zc, &zs);
    if (lr == 0) { /* u = 1 */
      CHECK(L == 0 && zc == 0 && zs == 0, "u = 1: -2 ln u = %g, z = (%g, %g)", L, zc, zs);
      continue;
    }
    const double el = ulps_l(L, lr), ec = ulps_l(c, cs[0]), es = ulps_l(s, cs[1]);
    const double ez = fmax(ulps_l(zc, zr[0]), ulps_l(zs, zr[1]));
    const double erel = (double)fmaxl(fabsl(zc - zr[0]) / fabsl(zr[0]), fabsl(zs - zr[1]) / fabsl(zr[1])) * 0x1.0p52;
    if (el > wl) wl = el;
    if (ec > wc) wc = ec;
    if (es > ws) ws = es;
    if (ez > wz) wz = ez;
    if (erel > wzrel) wzrel = erel;
    if (el > 1.5 || ec > 2 || es > 2 || erel > 3)
      CHECK(0, "e = %016llx, o = %016llx: -2 ln u %.2f ulp, cos %.2f, sin %.2f, normals %.2f ulp, %.2f 2^-52 |z|",
            (unsigned long long)e, (unsigned long long)o, el, ec, es, ez, erel);
    checked++;
  }
  CHECK(checked > N, "%ld pairs", checked);
  printf("philox4x32 Box-Muller, %ld pairs (random words, smallest u, u -> 1, binade edges, octant ends) against "
         "long double: -2 ln u %.3f ulp (bound 1.5), cos %.3f ulp, sin %.3f ulp (bound 2), normals %.3f ulp, "
         "|dz| <= %.3f 2^-52 |z| (bound 3)\n", checked, wl, wc, ws, wz, wzrel);
  /* the library's normals are bm32_pair on Random123's words (so the bound above is theirs), in every version */
  enum { M = 333 };
  double z[M];
  const uint64_t seed = 42, id = 9, c0 = 3, c1 = 1;
  uint32_t key[2], ctr[3];
  rtk_rng_p4x32_layout(seed, id, c0, c1, RTK_RNG_STEP, key, ctr);
  int v[RTK_VM_NISA];
  const int nv = versions(v);
  for (int k = 0; k < nv; k++) {
    OK(rtk_vm_set_isa(v[k]));
    rtk_rng_normals_gen(RTK_RNG_PHILOX4X32, seed, id, c0, c1, RTK_RNG_STEP, M, z);
    int same = 1;
    for (int c = 0; 2 * c < M; c++) {
      philox4x32_ctr_t cc = {{ctr[0], ctr[1], ctr[2], (uint32_t)c}};
      philox4x32_key_t kk = {{key[0], key[1]}};
      philox4x32_ctr_t r = philox4x32(cc, kk);
      double a, b;
      bm32_pair((uint64_t)r.v[1] << 32 | r.v[0], (uint64_t)r.v[3] << 32 | r.v[2], &a, &b);
      same &= !memcmp(&a, z + 2 * c, sizeof a) && (2 * c + 1 >= M || !memcmp(&b, z + 2 * c + 1, sizeof b));
    }
    CHECK(same, "%s: the stream's normals are not bm32_pair on its words", rtk_vm_isa_name(v[k]));
  }
  OK(rtk_vm_set_isa(-1));
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
  RUN(normal_dist32)
  RUN(p4x32_kat)
  RUN(p4x32_isa)
  RUN(p4x32_layout)
  RUN(p4x32_select)
  RUN(p4x32_tail)
  RUN(bm32_accuracy)
  RUN(zig_tables)
  RUN(zig_chunks)
  RUN(zig_layout)
  RUN(zig_slow)
  RUN(zig_isa)
  RUN(zig_select)
  RUN(zig_dist)
  RUN(zig_dist32)
#undef RUN
  if (!ran) {
    fprintf(stderr, "unknown test %s\n", which);
    return 2;
  }
  return tu_report(which);
}
