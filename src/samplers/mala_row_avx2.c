/* rtk-mala's row pass in AVX2 lanes (mala_row_impl.h; compiled with -mavx2 -ffp-contract=off, no -mfma;
 * called only when the CPU has AVX2) */
#include <immintrin.h>

#include "mala_row.h"

#define MR_SUFFIX avx2
#define MR_W 4
#define MR_T __m256d
#define MR_LOAD _mm256_loadu_pd
#define MR_STORE _mm256_storeu_pd
#define MR_SET1 _mm256_set1_pd
#define MR_ADD _mm256_add_pd
#define MR_SUB _mm256_sub_pd
#define MR_MUL _mm256_mul_pd
#define MR_DIV _mm256_div_pd
#define MR_NEG(v) _mm256_xor_pd(v, _mm256_set1_pd(-0.0))
#include "mala_row_impl.h"
