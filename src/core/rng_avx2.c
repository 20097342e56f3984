/* AVX2 version of Philox4x32-10 (compiled with -mavx2; called only when the CPU has it) */
#include <immintrin.h>

#include "rng_isa.h"

#define P_SUFFIX avx2
#define P_W 4
#define P_NV 4
#define P_T __m256i
#define P_D __m256d
#define P_SET1(x) _mm256_set1_epi64x((long long)(x))
#define P_IDX _mm256_set_epi64x(3, 2, 1, 0)
#define P_ADD _mm256_add_epi64
#define P_MUL _mm256_mul_epu32
#define P_SRLI _mm256_srli_epi64
#define P_SLLI _mm256_slli_epi64
#define P_XOR _mm256_xor_si256
#define P_AND _mm256_and_si256
#define P_OR _mm256_or_si256
#define P_ZIPLO(a, b) _mm256_permute2x128_si256(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b), 0x20)
#define P_ZIPHI(a, b) _mm256_permute2x128_si256(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b), 0x31)
#define P_STOREN(p, v, k)                                                                                   \
  ((k) == 4 ? _mm256_storeu_si256((__m256i *)(void *)(p), v)                                                \
            : _mm256_maskstore_epi64((long long *)(void *)(p),                                              \
                                     _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), _mm256_set_epi64x(3, 2, 1, 0)), v))
#define P_CASTPD _mm256_castsi256_pd
#define P_CASTSI _mm256_castpd_si256
#define P_SET1PD _mm256_set1_pd
#define P_ADDPD _mm256_add_pd
#define P_SUBPD _mm256_sub_pd
#define P_MULPD _mm256_mul_pd
#define P_SUB _mm256_sub_epi64
#define P_DIVPD _mm256_div_pd
#define P_SQRTPD _mm256_sqrt_pd
#include "rng_p4x32_impl.h"

/* ---- the ziggurat's fast path (rng_isa.h, rtk/ziggurat.h): 4 words per pass ----
 * as rng_avx512.c's; m and K[j] are below 2^52, so the signed 64-bit compare is the unsigned one */
#include <string.h>

#include "rtk/ziggurat.h"

int rtk_zig_fast_avx2(const uint64_t *w, int n, double *z, int *rej) {
  const __m256i lay = _mm256_set1_epi64x(255), one = _mm256_set1_epi64x(0x3ff0000000000000),
                sgn = _mm256_set1_epi64x(256);
  const __m256d d1 = _mm256_set1_pd(1.0);
  int nr = 0;
  for (int i = 0; i < n; i += 4) {
    const int k = n - i < 4 ? n - i : 4;
    uint64_t tw[4] = {0, 0, 0, 0};
    double tz[4];
    if (k < 4) memcpy(tw, w + i, sizeof(uint64_t) * (size_t)k);
    const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(k < 4 ? tw : w + i));
    const __m256i j = _mm256_and_si256(v, lay), m = _mm256_srli_epi64(v, 12);
    const __m256i K = _mm256_i64gather_epi64((const long long *)(const void *)rtk_zig_k, j, 8);
    const __m256d X = _mm256_i64gather_pd(rtk_zig_x, j, 8);
    const __m256d x = _mm256_mul_pd(_mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(m, one)), d1), X);
    const __m256i s = _mm256_slli_epi64(_mm256_and_si256(v, sgn), 55);
    const __m256d r = _mm256_castsi256_pd(_mm256_xor_si256(_mm256_castpd_si256(x), s));
    if (k < 4) {
      _mm256_storeu_pd(tz, r);
      memcpy(z + i, tz, sizeof(double) * (size_t)k);
    } else {
      _mm256_storeu_pd(z + i, r);
    }
    const unsigned ok = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(K, m)));
    for (unsigned bad = ~ok & ((1u << k) - 1); bad; bad &= bad - 1) rej[nr++] = i + __builtin_ctz(bad);
  }
  return nr;
}
