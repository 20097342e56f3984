/* rtk-mala's per-row pass after a score evaluation (sampler_rtk.c assemble_row): the segment gradient at the
 * proposal and the three sums |x' - e zp|^2, fwd, bwd, in arrangements that give the same bits:
 *   fused     the shipped loop: every operation of coordinate j, the three sums added as it goes
 *   fused_dz  the same with zp - z computed once (z - zp = -(zp - z) exactly; bwd's term tau g - dz)
 *   fused_r2  two rows per loop (six independent sums)
 *   split_P_isa  per row an elementwise pass that stores the squared terms (vectorises: sse2 = the baseline
 *             build, avx2, avx512f by target attributes, no FMA contraction), then one pass adding the terms of
 *             P rows side by side (scalar, in the order of j)
 *   row_isa   the product's version (src/samplers/mala_row_impl.h, dispatched by sampler_rtk.c): per vector of
 *             coordinates the elementwise part in AVX2 / AVX-512F lanes, then its lanes added to the three
 *             scalar sums in the order of j
 *   rowsP_isa the product's rows at once (rtk_mala_rows_*, mala_row_impl.h): P = 4 rows (AVX2, the product's) or
 *             8 (AVX-512F, here only), the squared terms transposed so that lane p is row p, one vector add per
 *             coordinate and sum; rows2_avx2 (here only) 2 rows with in-lane unpacks and 128-bit sums
 * It prints ns per coordinate (N = 256 rows x d = 128, the rows of one block, repeated: 1.5 MB, past the L2 of
 * the development machine; -DN=16 for rows hot in L1/L2) and whether the sums and gradients equal the fused
 * loop's bit for bit.  gcc only (target attributes):
 *   gcc -std=c17 -O3 -ffp-contract=off -D_DEFAULT_SOURCE mala_row.c -o /tmp/mala_row -lm && /tmp/mala_row */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef N
#define N 256
#endif
#define D 128
#define REPS (200 * 256 / N) /* the same coordinates per timing whatever N */
static double *x, *z, *gr, *zp, *sp, *gp, *T;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* out[3 i + 0..2] = quad, fwd, bwd of row i; gradients into gp (N x D) */
typedef void (*pass_fn)(int i0, double e, double q, double tau, double *out);

__attribute__((noinline)) static void fused(int i, double e, double q, double tau, double *out) {
  const double *X = x + i * D, *Z = z + i * D, *G = gr + i * D, *ZP = zp + i * D, *SP = sp + i * D;
  double *GP = gp + i * D, quad = 0, f = 0, b = 0;
  for (int j = 0; j < D; j++) {
    double r = X[j] - e * ZP[j], g = -SP[j] - e * r / q;
    quad += r * r;
    GP[j] = g;
    double a = ZP[j] - Z[j] + tau * G[j], bb = Z[j] - ZP[j] + tau * g;
    f += a * a;
    b += bb * bb;
  }
  out[3 * i] = quad, out[3 * i + 1] = f, out[3 * i + 2] = b;
}

__attribute__((noinline)) static void fused_dz(int i, double e, double q, double tau, double *out) {
  const double *X = x + i * D, *Z = z + i * D, *G = gr + i * D, *ZP = zp + i * D, *SP = sp + i * D;
  double *GP = gp + i * D, quad = 0, f = 0, b = 0;
  for (int j = 0; j < D; j++) {
    double r = X[j] - e * ZP[j], g = -SP[j] - e * r / q, dz = ZP[j] - Z[j];
    quad += r * r;
    GP[j] = g;
    double a = dz + tau * G[j], bb = tau * g - dz;
    f += a * a;
    b += bb * bb;
  }
  out[3 * i] = quad, out[3 * i + 1] = f, out[3 * i + 2] = b;
}

static inline void one(const double *restrict X, const double *restrict Z, const double *restrict G,
                       const double *restrict ZP, const double *restrict SP, double *restrict GP, int j, double e,
                       double q, double tau, double *quad, double *f, double *b) {
  double r = X[j] - e * ZP[j], g = -SP[j] - e * r / q;
  *quad += r * r;
  GP[j] = g;
  double a = ZP[j] - Z[j] + tau * G[j], bb = Z[j] - ZP[j] + tau * g;
  *f += a * a;
  *b += bb * bb;
}
__attribute__((noinline)) static void fused_r2(int i, double e, double q, double tau, double *out) {
  double q0 = 0, f0 = 0, b0 = 0, q1 = 0, f1 = 0, b1 = 0;
  const size_t o = (size_t)i * D, p = o + D;
  for (int j = 0; j < D; j++) {
    one(x + o, z + o, gr + o, zp + o, sp + o, gp + o, j, e, q, tau, &q0, &f0, &b0);
    one(x + p, z + p, gr + p, zp + p, sp + p, gp + p, j, e, q, tau, &q1, &f1, &b1);
  }
  out[3 * i] = q0, out[3 * i + 1] = f0, out[3 * i + 2] = b0;
  out[3 * i + 3] = q1, out[3 * i + 4] = f1, out[3 * i + 5] = b1;
}

/* the elementwise pass of one row: gradient and squared terms (T: 3 x D) */
#define TERMS(attr, name)                                                                                        \
  attr static void name(const double *restrict X, const double *restrict Z, const double *restrict G,          \
                        const double *restrict ZP, const double *restrict SP, double *restrict GP,             \
                        double *restrict r2, double *restrict a2, double *restrict b2, double e, double q,      \
                        double tau) {                                                                          \
    for (int j = 0; j < D; j++) {                                                                              \
      double r = X[j] - e * ZP[j], g = -SP[j] - e * r / q;                                                     \
      GP[j] = g;                                                                                               \
      double a = ZP[j] - Z[j] + tau * G[j], bb = Z[j] - ZP[j] + tau * g;                                       \
      r2[j] = r * r, a2[j] = a * a, b2[j] = bb * bb;                                                           \
    }                                                                                                          \
  }
TERMS(__attribute__((noinline)), terms_sse2)
TERMS(__attribute__((noinline, target("avx2"))), terms_avx2)
TERMS(__attribute__((noinline, target("avx512f"))), terms_avx512)

/* the sums of P rows side by side, each in the order of j (not vectorised: gcc would add each sum's lanes in
 * order, which is slower) */
#define SUMS(P)                                                                                                \
  __attribute__((optimize("no-tree-vectorize"))) static void sums##P(int i0, double *out) {                   \
    double s[3][P] = {{0}};                                                                                    \
    for (int j = 0; j < D; j++)                                                                                \
      for (int p = 0; p < P; p++)                                                                              \
        for (int c = 0; c < 3; c++) s[c][p] += T[(p * 3 + c) * D + j];                                        \
    for (int p = 0; p < P; p++)                                                                                \
      for (int c = 0; c < 3; c++) out[3 * (i0 + p) + c] = s[c][p];                                            \
  }
SUMS(1)
SUMS(2)
SUMS(4)

#define SPLIT(name, terms, P)                                                                                  \
  __attribute__((noinline)) static void name(int i0, double e, double q, double tau, double *out) {           \
    for (int p = 0; p < P; p++) {                                                                              \
      const size_t o = (size_t)(i0 + p) * D;                                                                   \
      terms(x + o, z + o, gr + o, zp + o, sp + o, gp + o, T + 3 * p * D, T + (3 * p + 1) * D,                 \
            T + (3 * p + 2) * D, e, q, tau);                                                                   \
    }                                                                                                          \
    sums##P(i0, out);                                                                                          \
  }
SPLIT(split1_sse2, terms_sse2, 1)
SPLIT(split2_sse2, terms_sse2, 2)
SPLIT(split4_sse2, terms_sse2, 4)
SPLIT(split2_avx2, terms_avx2, 2)
SPLIT(split4_avx2, terms_avx2, 4)
SPLIT(split4_avx512, terms_avx512, 4)

/* the product's row pass (src/samplers/mala_row_impl.h): its AVX2 file included, and an AVX-512F build of the same
 * header, both by target attributes */
#include <immintrin.h>
#include <stdint.h>
#define MR_ATTR __attribute__((target("avx2")))
#include "../../src/samplers/mala_row_avx2.c" /* the product's AVX2 file as it is, here by a target attribute */
/* 2 rows at once in AVX2 (not in the product): in-lane unpacks only, the sums in 128-bit vectors (lane p = row p),
 * 4 dependent adds per sum and 4 coordinates; the tail scalar */
__attribute__((target("avx2"))) static void rtk_mala_rows2_avx2(int d, const double *restrict x, const double *restrict z, const double *restrict gr,
                         const double *restrict zp, const double *restrict sp, double e, double q,
                         const double *restrict tau, double *restrict grp, double *restrict sums) {
  const __m256d ve = _mm256_set1_pd(e), vq = _mm256_set1_pd(q), t0 = _mm256_set1_pd(tau[0]),
                t1 = _mm256_set1_pd(tau[1]);
  __m128d acc[3] = {_mm_setzero_pd(), _mm_setzero_pd(), _mm_setzero_pd()};
  __m256d g, a[3], b[3];
  int j = 0;
  for (; j + 4 <= d; j += 4) {
    const size_t o = (size_t)d + j;
    mr_terms_avx2(_mm256_loadu_pd(x + j), _mm256_loadu_pd(z + j), _mm256_loadu_pd(gr + j), _mm256_loadu_pd(zp + j),
                  _mm256_loadu_pd(sp + j), ve, vq, t0, &g, &a[0], &a[1], &a[2]);
    _mm256_storeu_pd(grp + j, g);
    mr_terms_avx2(_mm256_loadu_pd(x + o), _mm256_loadu_pd(z + o), _mm256_loadu_pd(gr + o), _mm256_loadu_pd(zp + o),
                  _mm256_loadu_pd(sp + o), ve, vq, t1, &g, &b[0], &b[1], &b[2]);
    _mm256_storeu_pd(grp + o, g);
    for (int c = 0; c < 3; c++) {
      const __m256d u = _mm256_unpacklo_pd(a[c], b[c]), h = _mm256_unpackhi_pd(a[c], b[c]);
      acc[c] = _mm_add_pd(acc[c], _mm256_castpd256_pd128(u));
      acc[c] = _mm_add_pd(acc[c], _mm256_castpd256_pd128(h));
      acc[c] = _mm_add_pd(acc[c], _mm256_extractf128_pd(u, 1));
      acc[c] = _mm_add_pd(acc[c], _mm256_extractf128_pd(h, 1));
    }
  }
  double out[3][2];
  for (int c = 0; c < 3; c++) _mm_storeu_pd(out[c], acc[c]);
  for (; j < d; j++) /* the tail, scalar */
    for (int p = 0; p < 2; p++) {
      const size_t o = (size_t)p * d + j;
      const double r = x[o] - e * zp[o], gj = -sp[o] - e * r / q, aa = zp[o] - z[o] + tau[p] * gr[o],
                   bb = z[o] - zp[o] + tau[p] * gj;
      grp[o] = gj;
      out[0][p] += r * r;
      out[1][p] += aa * aa;
      out[2][p] += bb * bb;
    }
  for (int p = 0; p < 2; p++)
    for (int c = 0; c < 3; c++) sums[3 * p + c] = out[c][p];
}
#undef MR_ATTR
#undef MR_SUFFIX
#undef MR_W
#undef MR_T
#undef MR_LOAD
#undef MR_STORE
#undef MR_SET1
#undef MR_ADD
#undef MR_SUB
#undef MR_MUL
#undef MR_DIV
#undef MR_NEG
#undef MR_TRANSPOSE
#define MR_ATTR __attribute__((target("avx512f")))
#define MR_SUFFIX avx512f
#define MR_W 8
#define MR_T __m512d
#define MR_LOAD _mm512_loadu_pd
#define MR_STORE _mm512_storeu_pd
#define MR_SET1 _mm512_set1_pd
#define MR_ADD _mm512_add_pd
#define MR_SUB _mm512_sub_pd
#define MR_MUL _mm512_mul_pd
#define MR_DIV _mm512_div_pd
#define MR_NEG(v) _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(v), _mm512_set1_epi64(INT64_MIN)))
/* 8 x 8: in-lane unpacks, then two rounds of 128-bit block shuffles (rows_avx512f: 8 rows at once) */
#define MR_TRANSPOSE(v)                                                                                        \
  do {                                                                                                         \
    __m512d t_[8], a_[4];                                                                                      \
    for (int k_ = 0; k_ < 4; k_++) {                                                                           \
      t_[2 * k_] = _mm512_unpacklo_pd((v)[2 * k_], (v)[2 * k_ + 1]);                                           \
      t_[2 * k_ + 1] = _mm512_unpackhi_pd((v)[2 * k_], (v)[2 * k_ + 1]);                                       \
    }                                                                                                          \
    for (int o_ = 0; o_ < 2; o_++) { /* o_ = 0: even coordinates, 1: odd */                                  \
      a_[0] = _mm512_shuffle_f64x2(t_[o_], t_[2 + o_], 0x44);                                                  \
      a_[1] = _mm512_shuffle_f64x2(t_[o_], t_[2 + o_], 0xEE);                                                  \
      a_[2] = _mm512_shuffle_f64x2(t_[4 + o_], t_[6 + o_], 0x44);                                              \
      a_[3] = _mm512_shuffle_f64x2(t_[4 + o_], t_[6 + o_], 0xEE);                                              \
      (v)[o_] = _mm512_shuffle_f64x2(a_[0], a_[2], 0x88);                                                      \
      (v)[2 + o_] = _mm512_shuffle_f64x2(a_[0], a_[2], 0xDD);                                                  \
      (v)[4 + o_] = _mm512_shuffle_f64x2(a_[1], a_[3], 0x88);                                                  \
      (v)[6 + o_] = _mm512_shuffle_f64x2(a_[1], a_[3], 0xDD);                                                  \
    }                                                                                                          \
  } while (0)
#include "../../src/samplers/mala_row_impl.h"
#define ROW(isa)                                                                                               \
  __attribute__((noinline)) static void row_##isa(int i, double e, double q, double tau, double *out) {      \
    const size_t o = (size_t)i * D;                                                                          \
    rtk_mala_row_##isa(D, x + o, z + o, gr + o, zp + o, sp + o, e, q, tau, gp + o, out + 3 * i);            \
  }
ROW(avx2)
ROW(avx512f)
/* the product's rows at once: 4 (AVX2) or 8 (AVX-512F) rows per call */
#define ROWS(isa, P)                                                                                           \
  __attribute__((noinline)) static void rows_##isa(int i, double e, double q, double tau, double *out) {     \
    const size_t o = (size_t)i * D;                                                                          \
    const double t[P] = {[0 ... P - 1] = tau};                                                               \
    rtk_mala_rows_##isa(D, x + o, z + o, gr + o, zp + o, sp + o, e, q, t, gp + o, out + 3 * i);             \
  }
ROWS(avx2, 4)
#define rtk_mala_rows_avx2x2 rtk_mala_rows2_avx2
ROWS(avx2x2, 2)
ROWS(avx512f, 8)

int main(void) {
  double **arr[] = {&x, &z, &gr, &zp, &sp, &gp};
  srand48(1);
  for (int k = 0; k < 6; k++) {
    *arr[k] = malloc(sizeof(double) * N * D);
    for (int i = 0; i < N * D; i++) (*arr[k])[i] = 4 * drand48() - 2;
  }
  T = malloc(sizeof(double) * 3 * 4 * D);
  double *ref = malloc(sizeof(double) * 3 * N), *out = malloc(sizeof(double) * 3 * N),
         *gref = malloc(sizeof(double) * N * D);
  const double e = exp(-0.05), q = -expm1(-0.1), tau = 0.013;
  for (int i = 0; i < N; i++) fused(i, e, q, tau, ref);
  memcpy(gref, gp, sizeof(double) * N * D);
  struct {
    const char *name;
    pass_fn fn;
    int rows, avx2, avx512;
  } v[] = {{"fused", fused, 1, 0, 0},
           {"fused_dz", fused_dz, 1, 0, 0},
           {"fused_r2", fused_r2, 2, 0, 0},
           {"split1_sse2", split1_sse2, 1, 0, 0},
           {"split2_sse2", split2_sse2, 2, 0, 0},
           {"split4_sse2", split4_sse2, 4, 0, 0},
           {"split2_avx2", split2_avx2, 2, 1, 0},
           {"split4_avx2", split4_avx2, 4, 1, 0},
           {"split4_avx512", split4_avx512, 4, 0, 1},
           {"row_avx2", row_avx2, 1, 1, 0},
           {"row_avx512f", row_avx512f, 1, 0, 1},
           {"rows4_avx2", rows_avx2, 4, 1, 0},
           {"rows2_avx2", rows_avx2x2, 2, 1, 0},
           {"rows8_avx512f", rows_avx512f, 8, 0, 1}};
  __builtin_cpu_init();
  for (int rep = 0; rep < 3; rep++)
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      if ((v[k].avx2 && !__builtin_cpu_supports("avx2")) || (v[k].avx512 && !__builtin_cpu_supports("avx512f")))
        continue;
      double t = now();
      for (int it = 0; it < REPS; it++)
        for (int i = 0; i < N; i += v[k].rows) v[k].fn(i, e, q, tau, out);
      t = now() - t;
      const int same = !memcmp(out, ref, sizeof(double) * 3 * N) && !memcmp(gp, gref, sizeof(double) * N * D);
      printf("%-14s %.3f ns per coordinate  same-bits=%d\n", v[k].name, t / REPS / N / D * 1e9, same);
    }
  return 0;
}
