/* AVX2 version of Philox4x32-10 (compiled with -mavx2; called only when the CPU has it) */
#include <immintrin.h>

#include "rng_isa.h"

#define P_SUFFIX avx2
#define P_W 4
#define P_T __m256i
#define P_D __m256d
#define P_SET1(x) _mm256_set1_epi64x((long long)(x))
#define P_IDX _mm256_set_epi64x(3, 2, 1, 0)
#define P_ADD _mm256_add_epi64
#define P_MUL _mm256_mul_epu32
#define P_SRLI _mm256_srli_epi64
#define P_XOR _mm256_xor_si256
#define P_AND _mm256_and_si256
#define P_OR _mm256_or_si256
#define P_STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define P_CASTPD _mm256_castsi256_pd
#define P_SET1PD _mm256_set1_pd
#define P_ADDPD _mm256_add_pd
#define P_SUBPD _mm256_sub_pd
#define P_MULPD _mm256_mul_pd
#define P_STOREPD _mm256_storeu_pd
#include "rng_p4x32_impl.h"
