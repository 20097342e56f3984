/* The MLP's vectorisable exp and SiLU.  Compiled with -ffp-contract=off (no
 * FMA contraction: an element gets the same operations in the vector body and
 * in the scalar tail, so its result does not depend on its position) and
 * -ffinite-math-only -fno-signed-zeros (so that the clamps become min/max and
 * the loop vectorises; inputs are finite). */
#include <stdint.h>
#include <string.h>

#include "rtk/score.h"

void rtk_exp_block(size_t n, const double *restrict x, double *restrict y) {
  const double log2e = 1.4426950408889634074, ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
  for (size_t i = 0; i < n; i++) {
    double v = x[i];
    v = v > -708.0 ? v : -708.0;
    v = v < 709.0 ? v : 709.0;
    const double ks = v * log2e + shifter, k = ks - shifter;
    const double r = (v - k * ln2_hi) - k * ln2_lo; /* |r| <= 0.35 */
    /* e^r by its Taylor series to degree 13 (remainder < 1e-17) */
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    union {
      double d;
      uint64_t u;
    } kb, sb;
    kb.d = ks;                     /* the low mantissa bits of ks hold k (two's complement) */
    sb.u = (kb.u + 1023) << 52;    /* 2^k: k + 1023 in [2, 2046] */
    y[i] = p * sb.d;
  }
}

void rtk_silu_block(size_t n, double *h) {
  enum { CH = 256 };
  double e[CH], f[CH];
  for (size_t i0 = 0; i0 < n; i0 += CH) {
    const size_t m = n - i0 < CH ? n - i0 : CH;
    double *hh = h + i0;
    for (size_t i = 0; i < m; i++) e[i] = -hh[i];
    rtk_exp_block(m, e, f);
    for (size_t i = 0; i < m; i++) hh[i] = hh[i] / (1.0 + f[i]);
  }
}

