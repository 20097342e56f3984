/* Counter-based random numbers (Random123 Philox4x64-10).
 * Key = (seed, global particle id); counter = (c0, c1, purpose, chunk).
 * A chain's random numbers therefore depend only on which particle it is and
 * where it is in the algorithm, never on ranks, threads or block sizes. */
#ifndef RTK_RNG_H
#define RTK_RNG_H
#include <stdint.h>

enum rtk_rng_purpose {
  RTK_RNG_INIT = 1,     /* x_T ~ N(0, I) */
  RTK_RNG_STEP = 2,     /* Brownian increment of an outer (DDPM-type) step */
  RTK_RNG_SEGINIT = 3,  /* RTK inner-sampler initialisation */
  RTK_RNG_PROPOSE = 4,  /* inner-sampler proposal / Langevin noise */
  RTK_RNG_ACCEPT = 5,   /* Metropolis uniform */
  RTK_RNG_EXACT = 6,    /* exact samples of p_t: component and noise */
  RTK_RNG_VELOCITY = 7, /* ULD velocity refresh */
  RTK_RNG_AUX = 8,      /* sampler-specific extra draws (e.g. PMM coins) */
  RTK_RNG_TARGET = 9,   /* target construction (mog-random) */
  RTK_RNG_SCORE = 10    /* perturbed-score random features, key = (score.seed, feature) */
};

/* n standard normals for particle `id` at position (c0, c1, purpose). */
void rtk_rng_normals(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                     int n, double *out);
/* n uniforms in the open interval (0, 1). */
void rtk_rng_uniforms(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                      int n, double *out);
double rtk_rng_uniform(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose);

#endif
