#include "vmath_variants.h"
#define TR4(LOG,SC) \
  for(int i=0;i<N/2;i+=4){ double ua[4],ub[4]; for(int j=0;j<4;j++){ua[j]=u01(raw[i+j]);ub[j]=2*u01(raw[N/2+i+j]);} \
    __m256d rad=_mm256_sqrt_pd(_mm256_mul_pd(_mm256_set1_pd(-2.0),LOG(_mm256_loadu_pd(ua)))); \
    Sleef___m256d_2 sc=SC(_mm256_loadu_pd(ub)); \
    _mm256_storeu_pd(buf+i,_mm256_mul_pd(rad,sc.y)); _mm256_storeu_pd(buf+N/2+i,_mm256_mul_pd(rad,sc.x)); }
#ifdef __FMA__
void tr_avx2_finz35(void){ TR4(Sleef_finz_logd4_u35avx2,Sleef_finz_sincospid4_u35avx2) }
#else
void tr_avx_cinz35(void){ TR4(Sleef_cinz_logd4_u35avx,Sleef_cinz_sincospid4_u35avx) }
#endif
