/* rtk-mala's row pass in AVX-512F lanes (mala_row_impl.h; compiled with -mavx512f -ffp-contract=off, no -mfma;
 * called only when the CPU has AVX-512F).  The sign flip is an integer xor (_mm512_xor_pd needs AVX-512DQ). */
#include <immintrin.h>
#include <stdint.h>

#include "mala_row.h"

#define MR_SUFFIX avx512f
#define MR_W 8
#define MR_T __m512d
#define MR_LOAD _mm512_loadu_pd
#define MR_STORE _mm512_storeu_pd
#define MR_SET1 _mm512_set1_pd
#define MR_ADD _mm512_add_pd
#define MR_SUB _mm512_sub_pd
#define MR_MUL _mm512_mul_pd
#define MR_DIV _mm512_div_pd
#define MR_NEG(v) _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(v), _mm512_set1_epi64(INT64_MIN)))
#include "mala_row_impl.h"
