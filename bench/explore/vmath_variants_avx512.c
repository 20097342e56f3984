#include "vmath_variants.h"
#define TR8(LOG,SC) \
  for(int i=0;i<N/2;i+=8){ \
    __m512i a=_mm512_loadu_si512(raw+i), b=_mm512_loadu_si512(raw+N/2+i); \
    __m512d ua=_mm512_mul_pd(_mm512_add_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(a,11)),_mm512_set1_pd(0.5)),_mm512_set1_pd(0x1.0p-53)); \
    __m512d ub=_mm512_mul_pd(_mm512_add_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(b,11)),_mm512_set1_pd(0.5)),_mm512_set1_pd(0x1.0p-52)); \
    __m512d rad=_mm512_sqrt_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0),LOG(ua))); \
    Sleef___m512d_2 sc=SC(ub); \
    _mm512_storeu_pd(buf+i,_mm512_mul_pd(rad,sc.y)); _mm512_storeu_pd(buf+N/2+i,_mm512_mul_pd(rad,sc.x)); }
void tr_avx512_cinz35(void){ TR8(Sleef_cinz_logd8_u35avx512fnofma,Sleef_cinz_sincospid8_u35avx512fnofma) }
void tr_avx512_cinz10(void){ TR8(Sleef_cinz_logd8_u10avx512fnofma,Sleef_cinz_sincospid8_u05avx512fnofma) }
void tr_avx512_finz35(void){ TR8(Sleef_finz_logd8_u35avx512f,Sleef_finz_sincospid8_u35avx512f) }
void tr_avx512_finz10(void){ TR8(Sleef_finz_logd8_u10avx512f,Sleef_finz_sincospid8_u05avx512f) }
