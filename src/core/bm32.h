/* The Box-Muller transform of the philox4x32 normals (run.rng = philox4x32; docs/design.md "rng.h"), scalar
 * reference.  The SIMD versions (rng_p4x32_impl.h, mode P_BM) do the same IEEE operations in the same order
 * on every lane, without FMA (every file that includes this is compiled with -ffp-contract=off), so the
 * three versions give the same bits.  Internal to rtkcore.
 *
 * A block's 64-bit words e, o give normals (zc, zs) = sqrt(-2 ln u)·(cos pi h, sin pi h) with
 *   u = ((e >> 11) + 0.5)·2^-53 (the double u01(e), in [2^-54, 1]),  h = ((o >> 11) + 0.5)·2^-52 (exact, real).
 * Own polynomials for this domain only (src/core/bm32_poly.h, tools/gen_bm_poly.py), not SLEEF:
 *
 * bm32_m2ln(u) = -2 ln u.  u = 2^E m with m in [sqrt(1/2), sqrt 2) by integer operations on u's bits (adding
 *   bits(1) - bits(sqrt(1/2)) moves the binade edge to sqrt(1/2)); f = m - 1 (exact), s = f/(2 + f),
 *   z = s^2, ln m = f - (f^2/2 - s (f^2/2 + z P_L(z))) (the identity f - s f = 2s; fdlibm's e_log.c scheme),
 *   ln u = E ln2_hi + (ln m + E ln2_lo) with E ln2_hi exact.  Error: below 1 ulp of ln u from the roundings
 *   of f^2/2 and the last two additions (P_L's error enters times s z < 0.0051); vmath.bm32_accuracy measures
 *   it.
 * bm32_sincos(o, &c, &s) = (cos pi h, sin pi h).  4h = q + t exactly with the octant q = o >> 61 and
 *   t = (n + 0.5)·2^-50, n = the next 50 bits; in an odd octant the angle is measured from the octant's end,
 *   1 - t = (n' + 0.5)·2^-50 with n' = n xor (2^50 - 1) (exact: no rounding anywhere in the reduction).
 *   sin(pi/4 t) = t P_S(t^2), cos(pi/4 t) = 1 + t^2 P_C(t^2) on t in (0, 1); the octant swaps them and sets
 *   the signs.  Error: about 1 ulp (the leading coefficient's rounding, the last product / sum).
 * bm32_pair(e, o, &zc, &zs): r = sqrt(-2 ln u) (correctly rounded), zc = r·cos, zs = r·sin; the octant's swap
 *   and signs are applied to the products (exact).  Normals within a few ulp of the exact formula (bound
 *   and measurement: vmath.bm32_accuracy). */
#ifndef RTK_BM32_H
#define RTK_BM32_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bm32_poly.h"

#define BM_SQRTH_BITS UINT64_C(0x3fe6a09e667f3bcd) /* the bits of sqrt(1/2) rounded down: the binade edge */
#define BM_ONE_BITS UINT64_C(0x3ff0000000000000)
#define BM_MANT UINT64_C(0x000fffffffffffff)
#define BM_T50 ((UINT64_C(1) << 50) - 1)

/* Horner: p[0] + x (p[1] + x (... + x p[n-1])) */
static inline double bm32_horner(const double *p, int n, double x) {
  double y = p[n - 1];
  for (int i = n - 2; i >= 0; i--) y = p[i] + x * y;
  return y;
}

static inline double bm32_m2ln(double u) {
  uint64_t b, mb;
  memcpy(&b, &u, sizeof b);
  b += BM_ONE_BITS - BM_SQRTH_BITS;                /* the exponent field now counts from sqrt(1/2) */
  const double E = (double)(b >> 52) - 1023.0;     /* u = 2^E m */
  mb = (b & BM_MANT) + BM_SQRTH_BITS;
  double m;
  memcpy(&m, &mb, sizeof m);
  const double f = m - 1.0, s = f / (2.0 + f), z = s * s;
  const double hfsq = 0.5 * f * f, R = z * bm32_horner(BM_PL, BM_PL_N, z);
  const double lo = s * (hfsq + R) + E * BM_LN2_LO;
  return -2.0 * (E * BM_LN2_HI + (f - (hfsq - lo)));
}

/* the octant q and cos, sin of pi/4 of the reduced t (before the octant's swap and signs) */
static inline int bm32_octant(uint64_t o, double *c, double *s) {
  const int q = (int)(o >> 61);
  uint64_t n = (o >> 11) & BM_T50;
  if (q & 1) n ^= BM_T50; /* 1 - t */
  const double t = ((double)n + 0.5) * 0x1.0p-50, z = t * t;
  *s = t * bm32_horner(BM_PS, BM_PS_N, z);
  *c = 1.0 + z * bm32_horner(BM_PC, BM_PC_N, z);
  return q;
}

/* (a, b) = (x cos, x sin) of the octant q from the reduced x·cos and x·sin: swapped in octants 1, 2, 5, 6;
 * cos negative in 2..5, sin in 4..7 */
static inline void bm32_place(int q, double xc, double xs, double *a, double *b) {
  if ((q + 1) & 2) {
    const double w = xc;
    xc = xs, xs = w;
  }
  *a = (q + 2) & 4 ? -xc : xc;
  *b = q & 4 ? -xs : xs;
}

static inline void bm32_sincos(uint64_t o, double *cosv, double *sinv) {
  double c, s;
  const int q = bm32_octant(o, &c, &s);
  bm32_place(q, c, s, cosv, sinv);
}

static inline void bm32_pair(uint64_t e, uint64_t o, double *zc, double *zs) {
  const double r = sqrt(bm32_m2ln(((double)(e >> 11) + 0.5) * 0x1.0p-53));
  double c, s;
  const int q = bm32_octant(o, &c, &s);
  bm32_place(q, r * c, r * s, zc, zs);
}

#endif
