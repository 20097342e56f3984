#include "rtk/rng.h"

#include <math.h>
#include <Random123/philox.h>

/* 53 random bits to a double in the open interval (0, 1) */
static inline double u01(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-53; }

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

/* Box-Muller: 4 uniforms -> 4 normals per Philox call */
void rtk_rng_normals(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                     int n, double *out) {
  const double two_pi = 6.283185307179586476925286766559;
  for (int i = 0, chunk = 0; i < n; chunk++) {
    philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)chunk);
    for (int j = 0; j < 4 && i < n; j += 2) {
      double rad = sqrt(-2.0 * log(u01(r.v[j])));
      double ang = two_pi * u01(r.v[j + 1]);
      out[i++] = rad * cos(ang);
      if (i < n) out[i++] = rad * sin(ang);
    }
  }
}
