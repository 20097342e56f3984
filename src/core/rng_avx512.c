/* AVX-512F version of Philox4x32-10 (compiled with -mavx512f; called only when the CPU has it) */
#include <immintrin.h>

#include "rng_isa.h"

#define P_SUFFIX avx512f
#define P_W 8
#define P_NV 4
#define P_T __m512i
#define P_D __m512d
#define P_SET1(x) _mm512_set1_epi64((long long)(x))
#define P_IDX _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)
#define P_ADD _mm512_add_epi64
#define P_MUL _mm512_mul_epu32
#define P_SRLI _mm512_srli_epi64
#define P_SLLI _mm512_slli_epi64
#define P_XOR _mm512_xor_si512
#define P_AND _mm512_and_si512
#define P_OR _mm512_or_si512
#define P_ZIPLO(a, b) _mm512_permutex2var_epi64(a, _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0), b)
#define P_ZIPHI(a, b) _mm512_permutex2var_epi64(a, _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4), b)
#define P_STOREN(p, v, k) _mm512_mask_storeu_epi64((void *)(p), (__mmask8)((1u << (k)) - 1), v)
#define P_CASTPD _mm512_castsi512_pd
#define P_CASTSI _mm512_castpd_si512
#define P_SET1PD _mm512_set1_pd
#define P_ADDPD _mm512_add_pd
#define P_SUBPD _mm512_sub_pd
#define P_MULPD _mm512_mul_pd
#define P_SUB _mm512_sub_epi64
#define P_DIVPD _mm512_div_pd
#define P_SQRTPD _mm512_sqrt_pd
#include "rng_p4x32_impl.h"

/* ---- the ziggurat's fast path (rng_isa.h, rtk/ziggurat.h): 8 words per pass ----
 * j = w & 255, m = w >> 12: gathers of K[j] and X[j], accepted where m < K[j] (unsigned compare);
 * |z| = (bits(1.0 | m) - 1.0)·X[j] = (m·2^-52)·X[j] exactly as rtk_zig_abs (the subtraction is exact), the
 * sign bit 8 moved to bit 63 and xored in (the scalar negation) */
#include "rtk/ziggurat.h"

int rtk_zig_fast_avx512f(const uint64_t *w, int n, double *z, int *rej) {
  const __m512i lay = _mm512_set1_epi64(255), one = _mm512_set1_epi64(0x3ff0000000000000), sgn = _mm512_set1_epi64(256);
  const __m512d d1 = _mm512_set1_pd(1.0);
  int nr = 0;
  for (int i = 0; i < n; i += 8) {
    const __mmask8 live = (__mmask8)(n - i >= 8 ? 0xff : (1u << (n - i)) - 1);
    const __m512i v = _mm512_maskz_loadu_epi64(live, w + i);
    const __m512i j = _mm512_and_si512(v, lay), m = _mm512_srli_epi64(v, 12);
    const __m512i K = _mm512_i64gather_epi64(j, (const void *)rtk_zig_k, 8);
    const __m512d X = _mm512_i64gather_pd(j, (const void *)rtk_zig_x, 8);
    const __m512d x = _mm512_mul_pd(_mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(m, one)), d1), X);
    const __m512i s = _mm512_slli_epi64(_mm512_and_si512(v, sgn), 55);
    _mm512_mask_storeu_pd(z + i, live, _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x), s)));
    for (unsigned bad = (unsigned)_mm512_mask_cmpge_epu64_mask(live, m, K); bad; bad &= bad - 1)
      rej[nr++] = i + __builtin_ctz(bad);
  }
  return nr;
}
