#include "rtk/rng.h"

#include <Random123/philox.h>

#include "rtk/vmath.h"

/* 53 random bits to a double in the open interval (0, 1) */
static inline double u01(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-53; }
/* the same bits to a double in (0, 2): exactly 2 u01(x) */
static inline double u02(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-52; }

static inline philox4x64_ctr_t draw(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1,
                                    uint64_t purpose, uint64_t chunk) {
  philox4x64_ctr_t c = {{c0, c1, purpose, chunk}};
  philox4x64_key_t k = {{seed, id}};
  return philox4x64(c, k);
}

void rtk_rng_uniforms(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                      int n, double *out) {
  for (int i = 0, chunk = 0; i < n; chunk++) {
    philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)chunk);
    for (int j = 0; j < 4 && i < n; j++) out[i++] = u01(r.v[j]);
  }
}

double rtk_rng_uniform(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose) {
  return u01(draw(seed, id, c0, c1, purpose, 0).v[0]);
}

/* Box-Muller, 4 normals per Philox call: words (w0, w1) of chunk c give
 * normals 4c and 4c+1, words (w2, w3) give 4c+2 and 4c+3, as
 *   r = sqrt(-2 ln u01(w_even)),  z_even = r cos(pi h),  z_odd = r sin(pi h),  h = u02(w_odd),
 * with the deterministic vector math of rtk/vmath.h.  Normal i depends only
 * on the key, the counter and i (not on n, nor on the vector width). */
void rtk_rng_normals(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                     int n, double *out) {
  enum { BLK = 64 }; /* normals per pass: 16 Philox calls */
  double u[BLK / 2], h[BLK / 2], zc[BLK / 2], zs[BLK / 2];
  for (int i0 = 0; i0 < n; i0 += BLK) {
    const int m = n - i0 < BLK ? n - i0 : BLK, pairs = (m + 1) / 2;
    for (int c = 0; 2 * c < pairs; c++) {
      philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)(i0 / 4 + c));
      u[2 * c] = u01(r.v[0]);
      h[2 * c] = u02(r.v[1]);
      u[2 * c + 1] = u01(r.v[2]);
      h[2 * c + 1] = u02(r.v[3]);
    }
    rtk_vm_box_muller((size_t)pairs, u, h, zc, zs);
    double *o = out + i0;
    for (int p = 0; p < m / 2; p++) {
      o[2 * p] = zc[p];
      o[2 * p + 1] = zs[p];
    }
    if (m % 2) o[m - 1] = zc[pairs - 1];
  }
}
