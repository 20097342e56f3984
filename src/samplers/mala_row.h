/* rtk-mala's per-row pass in AVX2 lanes (mala_row_impl.h): the same bits as sampler_rtk.c's scalar loop.
 * sums = {sum r^2, fwd, bwd}; grp gets the segment gradient at the proposal.  Internal to the samplers.
 * (An AVX-512F version of the same header was slower on the development machine's AMD EPYC, 0.78x vs 0.70x
 * of the scalar loop: bench/explore/mala_row.c times both.) */
#ifndef RTK_MALA_ROW_H
#define RTK_MALA_ROW_H

typedef void rtk_mala_row_fn(int d, const double *restrict x, const double *restrict z, const double *restrict gr,
                             const double *restrict zp, const double *restrict sp, double e, double q, double tau,
                             double *restrict grp, double sums[3]);
rtk_mala_row_fn rtk_mala_row_avx2;

/* The same pass over RTK_MALA_ROWS consecutive rows at once (row p of each array at offset p d, its step tau[p];
 * sums[3 p + c] = row p's sum c): each row's three sums are still added one term at a time in the order of j, so
 * every row gets the one-row pass's bits; the rows' sums are independent chains that overlap.  In the AVX2
 * version the rows' squared terms are transposed (lane p = row p) and added by vector adds. */
#define RTK_MALA_ROWS 4
typedef void rtk_mala_rows_fn(int d, const double *restrict x, const double *restrict z, const double *restrict gr,
                              const double *restrict zp, const double *restrict sp, double e, double q,
                              const double *restrict tau, double *restrict grp, double *restrict sums);
rtk_mala_rows_fn rtk_mala_rows_avx2;

#endif
