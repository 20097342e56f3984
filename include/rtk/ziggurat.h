/* The ziggurat transform: one 64-bit Philox word -> one standard normal (Marsaglia & Tsang 2000,
 * 256 layers; tables in rtk/ziggurat_tables.h, generated at 60 digits by tools/gen_ziggurat.py).
 * Shared by the cpu (scalar and SIMD, rng.c) and cuda backends; docs/design.md, "Ziggurat normals".
 *
 * Word w of normal i:  j = w & 255 (layer),  sign = bit 8,  m = w >> 12 (52 bits),
 *   x = (m 2^-52) X[j];  accepted at once when m < K[j] (x under the curve for every height of
 *   layer j): 98.51 % of the words, a table lookup and one multiply (the ziggurat's area is 1/0.9933 of
 *   the curve's; the rest of the 1.49 % are the wedges and the tail under the curve, test vmath.zig_slow).
 * Otherwise (rtk_zig_retry) attempt a = 0, 1, ... draws the stream's block at chunk
 * RTK_ZIG_CHUNK(i, a) and takes its first two words (A, B):
 *   j = 0 (the base strip, x >= r): the tail by Marsaglia's method,
 *       xi = -ln u(A) / r, eta = -ln u(B), accepted when 2 eta > xi^2: z = +-(r + xi);
 *   j > 0 (a wedge): accepted when F[j] + u(B) (F[j+1] - F[j]) < exp(-x^2 / 2), else the word is
 *       rejected and A is the next candidate (fast path first).
 * After RTK_ZIG_ATTEMPTS attempts the last candidate's x is returned (probability below 10^-60 per
 * normal).  The fast path is exact IEEE arithmetic, so it gives the same bits on every instruction
 * set and on the GPU; the slow path uses SLEEF's deterministic cinz exp/log on the cpu and CUDA's
 * exp/log on the GPU (a decision there can differ from the cpu's only within a few ulp of the curve). */
#ifndef RTK_ZIGGURAT_H
#define RTK_ZIGGURAT_H
#include <stdint.h>
#include <string.h>

/* Under nvcc the tables are __device__ arrays (one copy per translation unit, static) read through the read-only
 * data cache (__ldg: the layer index differs across a warp, which constant memory would serialise), so the
 * functions below are device code there; in C they are plain static inline functions. */
#ifdef __CUDACC__
#define RTK_ZIG_MEM __device__
#define RTK_ZIG_FN __device__ static inline
#define RTK_ZIG_LD(t, j) __ldg(&(t)[j])
/* f0 + u df rounded twice, as the cpu (nvcc would contract it into an FMA) */
#define RTK_ZIG_WEDGE(f0, u, df) __dadd_rn((f0), __dmul_rn((u), (df)))
#else
#define RTK_ZIG_MEM
#define RTK_ZIG_FN static inline
#define RTK_ZIG_LD(t, j) ((t)[j])
#define RTK_ZIG_WEDGE(f0, u, df) ((f0) + (u) * (df))
#include <sleef.h>
#endif
#include "rtk/ziggurat_tables.h"

enum { RTK_ZIG_ATTEMPTS = 64 };
/* chunk of retry attempt a of normal i: above every chunk a stream of < 2^25 values uses (< 2^31) */
#define RTK_ZIG_CHUNK(i, a) (UINT64_C(0x80000000) + (uint64_t)(i) * RTK_ZIG_ATTEMPTS + (uint64_t)(a))
/* normals per stream the layout allows (i * 64 + a < 2^31) */
#define RTK_ZIG_MAX_N (1 << 25)

RTK_ZIG_FN double rtk_zig_exp(double x) {
#ifdef __CUDACC__
  return exp(x);
#else
  return Sleef_cinz_expd1_u10purec(x);
#endif
}
RTK_ZIG_FN double rtk_zig_log(double x) {
#ifdef __CUDACC__
  return log(x);
#else
  return Sleef_cinz_logd1_u35purec(x);
#endif
}

/* |x| of word w: (m 2^-52) X[j], the value the SIMD versions build as (bits(1.0 | m) - 1) X[j] */
RTK_ZIG_FN double rtk_zig_abs(uint64_t w) { return (double)(w >> 12) * 0x1.0p-52 * RTK_ZIG_LD(rtk_zig_x, w & 255); }
RTK_ZIG_FN double rtk_zig_signed(uint64_t w, double x) { return (w & 256) ? -x : x; }

/* 1 and *z when word w is accepted by the fast path */
RTK_ZIG_FN int rtk_zig_fast(uint64_t w, double *z) {
  if ((w >> 12) >= RTK_ZIG_LD(rtk_zig_k, w & 255)) return 0;
  *z = rtk_zig_signed(w, rtk_zig_abs(w));
  return 1;
}

/* One retry attempt for the rejected candidate *w with the attempt's words (a, b): 1 and *z when a
 * normal is accepted; 0 with the candidate for the next attempt in *w (unchanged in the tail) */
RTK_ZIG_FN int rtk_zig_retry(uint64_t *w, uint64_t a, uint64_t b, double *z) {
  const uint64_t c = *w;
  const int j = (int)(c & 255);
  const double ua = ((double)(a >> 11) + 0.5) * 0x1.0p-53, ub = ((double)(b >> 11) + 0.5) * 0x1.0p-53;
  if (j == 0) {
    const double xi = -rtk_zig_log(ua) / RTK_ZIG_R, eta = -rtk_zig_log(ub);
    if (2 * eta > xi * xi) {
      *z = rtk_zig_signed(c, RTK_ZIG_R + xi);
      return 1;
    }
    return 0;
  }
  const double x = rtk_zig_abs(c);
  const double f0 = RTK_ZIG_LD(rtk_zig_f, j), f1 = RTK_ZIG_LD(rtk_zig_f, j + 1);
  if (RTK_ZIG_WEDGE(f0, ub, f1 - f0) < rtk_zig_exp(-0.5 * x * x)) {
    *z = rtk_zig_signed(c, x);
    return 1;
  }
  *w = a;
  return rtk_zig_fast(a, z);
}

#endif
