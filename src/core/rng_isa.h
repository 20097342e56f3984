/* The Philox4x32-10 versions of src/core/rng.c (scalar there; AVX2 and AVX-512F in
 * rng_avx2.c / rng_avx512.c, compiled with -mavx2 / -mavx512f); internal to rtkcore.
 *
 * Blocks chunk0 .. chunk0+n-1 of key (key[0], key[1]) and counter (ctr[0], ctr[1], ctr[2], chunk); block c
 * has words (w0, w1, w2, w3) and the two 64-bit words e = w1·2^32 + w0, o = w3·2^32 + w2:
 *   rtk_p4x32_w_*: out[4c + j] = wj
 *   rtk_p4x32_n_*: m Box-Muller normals interleaved, out[2c], out[2c + 1] = bm32_pair(e, o) (bm32.h) of block c
 *                  (the blocks chunk0 .. chunk0 + (m + 1)/2 - 1; an odd m leaves the last sine unused)
 *   rtk_p4x32_wi_*: out[2c] = e, out[2c + 1] = o (word i of the stream is the word of uniform i)
 *   rtk_p4x32_i_*: m uniforms interleaved, out[2c] = u(e), out[2c + 1] = u(o), u(w) = ((double)(w >> 11) + 0.5)·2^-53
 *                  (the blocks chunk0 .. chunk0 + (m + 1)/2 - 1; an odd m leaves the last o unused)
 * Integer arithmetic and exact conversions, and for the normals the same IEEE operations in the same order
 * without FMA, so every version gives the same bits.
 *   rtk_zig_fast_*: the ziggurat's fast path on words w[0..n-1] (rtk/ziggurat.h): z[i] = rtk_zig_fast's value
 *                   where it accepts; returns the number of rejected words, their positions in rej[] ascending
 *                   (z[i] there is unspecified).  Exact IEEE arithmetic: the same bits in every version. */
#ifndef RTK_RNG_ISA_H
#define RTK_RNG_ISA_H
#include <stdint.h>

#define RTK_P4X32_DECLARE(sfx)                                                                               \
  void rtk_p4x32_w_##sfx(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint32_t *out); \
  void rtk_p4x32_n_##sfx(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int m, double *out);   \
  void rtk_p4x32_wi_##sfx(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint64_t *out); \
  void rtk_p4x32_i_##sfx(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int m, double *out);   \
  int rtk_zig_fast_##sfx(const uint64_t *w, int n, double *z, int *rej);
RTK_P4X32_DECLARE(scalar)
RTK_P4X32_DECLARE(avx2)
RTK_P4X32_DECLARE(avx512f)
#undef RTK_P4X32_DECLARE

#endif
