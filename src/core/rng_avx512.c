/* AVX-512F version of Philox4x32-10 (compiled with -mavx512f; called only when the CPU has it) */
#include <immintrin.h>

#include "rng_isa.h"

#define P_SUFFIX avx512f
#define P_W 8
#define P_T __m512i
#define P_D __m512d
#define P_SET1(x) _mm512_set1_epi64((long long)(x))
#define P_IDX _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)
#define P_ADD _mm512_add_epi64
#define P_MUL _mm512_mul_epu32
#define P_SRLI _mm512_srli_epi64
#define P_XOR _mm512_xor_si512
#define P_AND _mm512_and_si512
#define P_OR _mm512_or_si512
#define P_STORE(p, v) _mm512_storeu_si512((void *)(p), v)
#define P_CASTPD _mm512_castsi512_pd
#define P_SET1PD _mm512_set1_pd
#define P_ADDPD _mm512_add_pd
#define P_SUBPD _mm512_sub_pd
#define P_MULPD _mm512_mul_pd
#define P_STOREPD _mm512_storeu_pd
#include "rng_p4x32_impl.h"
