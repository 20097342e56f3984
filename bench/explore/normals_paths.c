/* Three ways to draw rtk_rng_normals' numbers with AVX-512 (bench/explore/README.md):
 *   scalar  rng.c as it is: 16 scalar Philox4x64-10 calls, then the vector Box-Muller
 *           (SLEEF cinz log + sincospi) on 32 pairs, then an interleaving loop;
 *   vphilox Philox over 8 chunks in the 64-bit lanes of AVX-512 (each 64x64 -> 128-bit
 *           product from four vpmuludq), the words converted and transformed in
 *           registers, a 4 x 8 transpose into stream order;
 *   piped   scalar Philox for 4 chunks per iteration, software-pipelined against the
 *           vector transform of the previous 8 pairs.
 * All three give the same bits (checked); it prints ns per normal for calls of d normals.
 * Build: gcc -O2 -ffp-contract=off -mavx512f -mavx512dq normals_paths.c -o /tmp/normals_paths -lsleef -lm */
#include <Random123/philox.h>
#include <immintrin.h>
#include <sleef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static inline double u01(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-53; }
static inline double u02(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-52; }

static void bm(size_t n, const double *u, const double *h, double *zc, double *zs) { /* vmath_impl.h, d8 */
  for (size_t i = 0; i < n; i += 8) {
    const __m512d r = _mm512_sqrt_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0), Sleef_cinz_logd8_u35avx512fnofma(_mm512_loadu_pd(u + i))));
    const Sleef___m512d_2 sc = Sleef_cinz_sincospid8_u35avx512fnofma(_mm512_loadu_pd(h + i));
    _mm512_storeu_pd(zc + i, _mm512_mul_pd(r, sc.y));
    _mm512_storeu_pd(zs + i, _mm512_mul_pd(r, sc.x));
  }
}

/* rng.c's rtk_rng_normals for n a multiple of 64 */
static void scalar(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int n, double *out) {
  double u[32], h[32], zc[32], zs[32];
  const philox4x64_key_t k = {{seed, id}};
  for (int i0 = 0; i0 < n; i0 += 64) {
    for (int c = 0; c < 16; c++) {
      const philox4x64_ctr_t ct = {{c0, c1, p, (uint64_t)(i0 / 4 + c)}};
      const philox4x64_ctr_t r = philox4x64(ct, k);
      u[2 * c] = u01(r.v[0]), h[2 * c] = u02(r.v[1]), u[2 * c + 1] = u01(r.v[2]), h[2 * c + 1] = u02(r.v[3]);
    }
    bm(32, u, h, zc, zs);
    for (int q = 0; q < 32; q++) out[i0 + 2 * q] = zc[q], out[i0 + 2 * q + 1] = zs[q];
  }
}

/* hi and lo of a x M (M = mhi 2^32 + mlo) in each 64-bit lane:
 * t = hl + (ll >> 32), u = lh + (t mod 2^32), hi = hh + (t >> 32) + (u >> 32), lo = (u << 32) | (ll mod 2^32) */
static inline void mulhilo8(__m512i a, __m512i mlo, __m512i mhi, __m512i *hi, __m512i *lo) {
  const __m512i m32 = _mm512_set1_epi64(0xffffffffLL), ah = _mm512_srli_epi64(a, 32);
  const __m512i ll = _mm512_mul_epu32(a, mlo), hl = _mm512_mul_epu32(ah, mlo);
  const __m512i lh = _mm512_mul_epu32(a, mhi), hh = _mm512_mul_epu32(ah, mhi);
  const __m512i t = _mm512_add_epi64(hl, _mm512_srli_epi64(ll, 32));
  const __m512i u = _mm512_add_epi64(lh, _mm512_and_si512(t, m32));
  *hi = _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(t, 32)), _mm512_srli_epi64(u, 32));
  *lo = _mm512_ternarylogic_epi64(_mm512_slli_epi64(u, 32), ll, m32, 0xF8); /* a | (b & c) */
}
static inline __m512d unit8(__m512i w, double scale) {
  return _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(w, 11)), _mm512_set1_pd(0.5)), _mm512_set1_pd(scale));
}
static inline void bm8(__m512i wu, __m512i wh, __m512d *zc, __m512d *zs) {
  const __m512d r = _mm512_sqrt_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0), Sleef_cinz_logd8_u35avx512fnofma(unit8(wu, 0x1.0p-53))));
  const Sleef___m512d_2 sc = Sleef_cinz_sincospid8_u35avx512fnofma(unit8(wh, 0x1.0p-52));
  *zc = _mm512_mul_pd(r, sc.y);
  *zs = _mm512_mul_pd(r, sc.x);
}
static void vphilox(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int n, double *out) {
  const __m512i m0l = _mm512_set1_epi64(0xE14C6C93LL), m0h = _mm512_set1_epi64(0xD2E7470ELL);
  const __m512i m1l = _mm512_set1_epi64(0x95121157LL), m1h = _mm512_set1_epi64(0xCA5A8263LL);
  for (int g = 0; g < n / 32; g++, out += 32) {
    __m512i x0 = _mm512_set1_epi64((long long)c0), x1 = _mm512_set1_epi64((long long)c1), x2 = _mm512_set1_epi64((long long)p);
    __m512i x3 = _mm512_add_epi64(_mm512_set1_epi64(8LL * g), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    uint64_t k0 = seed, k1 = id;
    for (int r = 0; r < 10; r++) {
      __m512i hi0, lo0, hi1, lo1;
      mulhilo8(x0, m0l, m0h, &hi0, &lo0);
      mulhilo8(x2, m1l, m1h, &hi1, &lo1);
      x0 = _mm512_ternarylogic_epi64(hi1, x1, _mm512_set1_epi64((long long)k0), 0x96);
      x2 = _mm512_ternarylogic_epi64(hi0, x3, _mm512_set1_epi64((long long)k1), 0x96);
      x1 = lo1, x3 = lo0;
      k0 += 0x9E3779B97F4A7C15ULL, k1 += 0xBB67AE8584CAA73BULL;
    }
    __m512d a, b, c, d;
    bm8(x0, x1, &a, &b);
    bm8(x2, x3, &c, &d);
    const __m512d ablo = _mm512_unpacklo_pd(a, b), abhi = _mm512_unpackhi_pd(a, b);
    const __m512d cdlo = _mm512_unpacklo_pd(c, d), cdhi = _mm512_unpackhi_pd(c, d);
    const __m512d t1 = _mm512_shuffle_f64x2(ablo, cdlo, 0x44), t2 = _mm512_shuffle_f64x2(abhi, cdhi, 0x44);
    const __m512d t3 = _mm512_shuffle_f64x2(ablo, cdlo, 0xEE), t4 = _mm512_shuffle_f64x2(abhi, cdhi, 0xEE);
    _mm512_storeu_pd(out, _mm512_shuffle_f64x2(t1, t2, 0x88));
    _mm512_storeu_pd(out + 8, _mm512_shuffle_f64x2(t1, t2, 0xDD));
    _mm512_storeu_pd(out + 16, _mm512_shuffle_f64x2(t3, t4, 0x88));
    _mm512_storeu_pd(out + 24, _mm512_shuffle_f64x2(t3, t4, 0xDD));
  }
}

static void piped(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int n, double *out) {
  const philox4x64_key_t k = {{seed, id}};
  double u[2][8], h[2][8];
  const __m512i i0 = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), i1 = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  const int ng = n / 16;
  for (int g = 0; g <= ng; g++) {
    if (g < ng)
      for (int c = 0; c < 4; c++) {
        const philox4x64_ctr_t ct = {{c0, c1, p, 4 * (uint64_t)g + (uint64_t)c}};
        const philox4x64_ctr_t r = philox4x64(ct, k);
        u[g & 1][2 * c] = u01(r.v[0]), h[g & 1][2 * c] = u02(r.v[1]);
        u[g & 1][2 * c + 1] = u01(r.v[2]), h[g & 1][2 * c + 1] = u02(r.v[3]);
      }
    if (g > 0) {
      const int q = (g - 1) & 1;
      const __m512d r = _mm512_sqrt_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0), Sleef_cinz_logd8_u35avx512fnofma(_mm512_loadu_pd(u[q]))));
      const Sleef___m512d_2 sc = Sleef_cinz_sincospid8_u35avx512fnofma(_mm512_loadu_pd(h[q]));
      const __m512d zc = _mm512_mul_pd(r, sc.y), zs = _mm512_mul_pd(r, sc.x);
      _mm512_storeu_pd(out + 16 * (g - 1), _mm512_permutex2var_pd(zc, i0, zs));
      _mm512_storeu_pd(out + 16 * (g - 1) + 8, _mm512_permutex2var_pd(zc, i1, zs));
    }
  }
}

/* Philox alone, 32 words: scalar (Random123) and 8 lanes */
static void words_scalar(uint64_t seed, uint64_t id, uint64_t c0, uint64_t chunk0, uint64_t *w) {
  const philox4x64_key_t k = {{seed, id}};
  for (int c = 0; c < 8; c++) {
    const philox4x64_ctr_t ct = {{c0, 1, 4, chunk0 + (uint64_t)c}};
    const philox4x64_ctr_t r = philox4x64(ct, k);
    memcpy(w + 4 * c, r.v, 32);
  }
}
static void words_vector(uint64_t seed, uint64_t id, uint64_t c0, uint64_t chunk0, uint64_t *w) {
  const __m512i m0l = _mm512_set1_epi64(0xE14C6C93LL), m0h = _mm512_set1_epi64(0xD2E7470ELL);
  const __m512i m1l = _mm512_set1_epi64(0x95121157LL), m1h = _mm512_set1_epi64(0xCA5A8263LL);
  __m512i x0 = _mm512_set1_epi64((long long)c0), x1 = _mm512_set1_epi64(1), x2 = _mm512_set1_epi64(4);
  __m512i x3 = _mm512_add_epi64(_mm512_set1_epi64((long long)chunk0), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  uint64_t k0 = seed, k1 = id;
  for (int r = 0; r < 10; r++) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo8(x0, m0l, m0h, &hi0, &lo0);
    mulhilo8(x2, m1l, m1h, &hi1, &lo1);
    x0 = _mm512_ternarylogic_epi64(hi1, x1, _mm512_set1_epi64((long long)k0), 0x96);
    x2 = _mm512_ternarylogic_epi64(hi0, x3, _mm512_set1_epi64((long long)k1), 0x96);
    x1 = lo1, x3 = lo0;
    k0 += 0x9E3779B97F4A7C15ULL, k1 += 0xBB67AE8584CAA73BULL;
  }
  uint64_t a[4][8]; /* back to stream order: word j of chunk c */
  _mm512_storeu_si512(a[0], x0), _mm512_storeu_si512(a[1], x1), _mm512_storeu_si512(a[2], x2), _mm512_storeu_si512(a[3], x3);
  for (int c = 0; c < 8; c++)
    for (int j = 0; j < 4; j++) w[4 * c + j] = a[j][c];
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
typedef void (*fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
static double A[64 * 1024], B[64 * 1024];
int main(void) {
  const char *names[3] = {"scalar", "vphilox", "piped"};
  const fn f[3] = {scalar, vphilox, piped};
  printf("# ns per normal, calls of d normals for 64 particle ids, best of 15 rounds (each path once per round)\n");
  for (int d = 128; d <= 1024; d *= 8) {
    int same = 1;
    for (int v = 1; v < 3; v++)
      for (int q = 0; q < 64; q++) {
        scalar(7, (uint64_t)q, 3, 1, 4, d, A + q * d);
        f[v](7, (uint64_t)q, 3, 1, 4, d, B + q * d);
        same &= !memcmp(A + q * d, B + q * d, sizeof(double) * d);
      }
    double best[3] = {1e9, 1e9, 1e9};
    const int reps = 400000 / d;
    for (int t = 0; t < 15; t++)
      for (int v = 0; v < 3; v++) {
        const double t0 = now();
        for (int r = 0; r < reps; r++)
          for (int q = 0; q < 64; q++) f[v](7, (uint64_t)q, (uint64_t)r, 1, 4, d, A + q * d);
        const double el = (now() - t0) / reps / 64 / d * 1e9;
        if (el < best[v]) best[v] = el;
      }
    printf("d %4d  same bits %d  %s %.2f  %s %.2f  %s %.2f\n", d, same, names[0], best[0], names[1], best[1], names[2], best[2]);
  }
  uint64_t wa[32], wb[32];
  int same = 1;
  for (int c = 0; c < 64; c += 8) {
    words_scalar(7, 9, 3, (uint64_t)c, wa);
    words_vector(7, 9, 3, (uint64_t)c, wb);
    same &= !memcmp(wa, wb, sizeof wa);
  }
  double bs = 1e9, bv = 1e9;
  for (int t = 0; t < 15; t++) {
    double t0 = now();
    for (int r = 0; r < 20000; r++) {
      words_scalar(7, 9, (uint64_t)r, 0, wa);
      __asm__ volatile("" ::"r"(wa) : "memory");
    }
    double t1 = now();
    for (int r = 0; r < 20000; r++) {
      words_vector(7, 9, (uint64_t)r, 0, wb);
      __asm__ volatile("" ::"r"(wb) : "memory");
    }
    double t2 = now();
    if ((t1 - t0) / 20000 / 32 * 1e9 < bs) bs = (t1 - t0) / 20000 / 32 * 1e9;
    if ((t2 - t1) / 20000 / 32 * 1e9 < bv) bv = (t2 - t1) / 20000 / 32 * 1e9;
  }
  printf("Philox4x64-10 alone, ns per 64-bit word: scalar %.2f  avx512 (8 lanes) %.2f  same bits %d\n", bs, bv, same);
  return 0;
}
