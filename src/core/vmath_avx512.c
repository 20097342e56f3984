/* AVX-512F version of the vector math (compiled with -mavx512f; called only when the CPU has it) */
#include <immintrin.h>
#include <sleef.h>

#include "vmath_isa.h"

#define VM_SUFFIX avx512f
#define VM_W 8
#define VM_T __m512d
#define VM_T2 Sleef___m512d_2
#define VM_LOAD _mm512_loadu_pd
#define VM_STORE _mm512_storeu_pd
#define VM_SET1 _mm512_set1_pd
#define VM_MUL _mm512_mul_pd
#define VM_SQRT _mm512_sqrt_pd
#define VM_EXP Sleef_cinz_expd8_u10avx512fnofma
#define VM_LOG Sleef_cinz_logd8_u35avx512fnofma
#define VM_SINCOSPI Sleef_cinz_sincospid8_u35avx512fnofma
#include "vmath_impl.h"
