/* Philox4x64-10 over 8 counters with AVX-512 (bench/explore/README.md) */
#include <stdint.h>
#include <immintrin.h>
/* 8 chunks at once: out[c*4+j] for chunk = chunk0 + c, c < 8 */
static inline void mulhilo8(__m512i a, __m512i mlo, __m512i mhi, __m512i *hi, __m512i *lo){
  const __m512i m32 = _mm512_set1_epi64(0xffffffffLL);
  __m512i ah = _mm512_srli_epi64(a, 32);
  __m512i ll = _mm512_mul_epu32(a, mlo), hl = _mm512_mul_epu32(ah, mlo), lh = _mm512_mul_epu32(a, mhi), hh = _mm512_mul_epu32(ah, mhi);
  *lo = _mm512_add_epi64(ll, _mm512_slli_epi64(_mm512_add_epi64(hl, lh), 32));
  __m512i mid = _mm512_add_epi64(_mm512_srli_epi64(ll, 32), _mm512_add_epi64(_mm512_and_si512(hl, m32), _mm512_and_si512(lh, m32)));
  *hi = _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(hl, 32)), _mm512_add_epi64(_mm512_srli_epi64(lh, 32), _mm512_srli_epi64(mid, 32)));
}
void philox8(uint64_t k0, uint64_t k1, uint64_t c0, uint64_t c1, uint64_t c2, uint64_t chunk0, uint64_t *out){
  __m512i x0 = _mm512_set1_epi64((long long)c0), x1 = _mm512_set1_epi64((long long)c1), x2 = _mm512_set1_epi64((long long)c2);
  __m512i x3 = _mm512_add_epi64(_mm512_set1_epi64((long long)chunk0), _mm512_set_epi64(7,6,5,4,3,2,1,0));
  const __m512i m0l = _mm512_set1_epi64(0xE14C6C93LL), m0h = _mm512_set1_epi64(0xD2E7470ELL);
  const __m512i m1l = _mm512_set1_epi64(0x95121157LL), m1h = _mm512_set1_epi64(0xCA5A8263LL);
  for (int r = 0; r < 10; r++) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo8(x0, m0l, m0h, &hi0, &lo0);
    mulhilo8(x2, m1l, m1h, &hi1, &lo1);
    __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi64((long long)k0));
    __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi64((long long)k1));
    x0 = n0; x1 = lo1; x2 = n2; x3 = lo0;
    k0 += 0x9E3779B97F4A7C15ULL; k1 += 0xBB67AE8584CAA73BULL;
  }
  /* AoS: out[4c+j] */
  uint64_t a[4][8];
  _mm512_storeu_si512(a[0], x0); _mm512_storeu_si512(a[1], x1); _mm512_storeu_si512(a[2], x2); _mm512_storeu_si512(a[3], x3);
  for (int c = 0; c < 8; c++) for (int j = 0; j < 4; j++) out[4*c+j] = a[j][c];
}
