/* AVX version of the vector math (compiled with -mavx; called only when the CPU has AVX) */
#include <immintrin.h>
#include <sleef.h>

#include "vmath_isa.h"

#define VM_SUFFIX avx
#define VM_W 4
#define VM_T __m256d
#define VM_T2 Sleef___m256d_2
#define VM_LOAD _mm256_loadu_pd
#define VM_STORE _mm256_storeu_pd
#define VM_SET1 _mm256_set1_pd
#define VM_MUL _mm256_mul_pd
#define VM_SQRT _mm256_sqrt_pd
#define VM_EXP Sleef_cinz_expd4_u10avx
#define VM_LOG Sleef_cinz_logd4_u35avx
#define VM_SINCOSPI Sleef_cinz_sincospid4_u35avx
#include "vmath_impl.h"
