/* rtk-mala's row pass in AVX2 lanes (mala_row_impl.h; compiled with -mavx2 -ffp-contract=off, no -mfma;
 * called only when the CPU has AVX2): one row (rtk_mala_row_avx2) and RTK_MALA_ROWS = 4 rows at once
 * (rtk_mala_rows_avx2) */
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
/* v[p][l] -> v[l][p] for a 4 x 4 block: in-lane unpacks, then the 128-bit halves exchanged */
#define MR_TRANSPOSE(v)                                                                                     \
  do {                                                                                                      \
    const __m256d t0_ = _mm256_unpacklo_pd((v)[0], (v)[1]), t1_ = _mm256_unpackhi_pd((v)[0], (v)[1]);       \
    const __m256d t2_ = _mm256_unpacklo_pd((v)[2], (v)[3]), t3_ = _mm256_unpackhi_pd((v)[2], (v)[3]);       \
    (v)[0] = _mm256_permute2f128_pd(t0_, t2_, 0x20);                                                        \
    (v)[1] = _mm256_permute2f128_pd(t1_, t3_, 0x20);                                                        \
    (v)[2] = _mm256_permute2f128_pd(t0_, t2_, 0x31);                                                        \
    (v)[3] = _mm256_permute2f128_pd(t1_, t3_, 0x31);                                                        \
  } while (0)
_Static_assert(MR_W == RTK_MALA_ROWS, "the AVX2 version takes one row per lane");
#include "mala_row_impl.h"
