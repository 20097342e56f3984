/* Counter-based random numbers (Random123 Philox4x64-10, or Philox4x32-10 for
 * the sampler streams when run.rng = philox4x32 selects it).
 * Key = (seed, global particle id); counter = (c0, c1, purpose, chunk).
 * A chain's random numbers therefore depend only on which particle it is and
 * where it is in the algorithm, never on ranks, threads or block sizes.
 * docs/design.md ("rng.h") gives both generators' exact layouts. */
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

/* The generators (run.rng) */
enum rtk_rng_gen { RTK_RNG_PHILOX4X64 = 0, RTK_RNG_PHILOX4X32 = 1 };
#define RTK_RNG_CHOICES "philox4x64|philox4x32"

/* Process-wide choice of the generator of the sampler streams (purposes INIT,
 * STEP, SEGINIT, PROPOSE, ACCEPT, VELOCITY, AUX); the driver sets it from
 * run.rng before a run samples and puts back RTK_RNG_PHILOX4X64 after it.
 * TARGET, SCORE and EXACT always use Philox4x64, so the target, the score
 * model, exact samples and the metrics' reference sets are the same under
 * both settings.  Default: RTK_RNG_PHILOX4X64. */
void rtk_rng_set_generator(int gen);
int rtk_rng_generator(void);
const char *rtk_rng_generator_name(int gen); /* "philox4x64", "philox4x32" */
/* the generator rtk_rng_normals & co. use for `purpose` now */
int rtk_rng_generator_for(uint64_t purpose);

/* The normal transform of the sampler streams (run.normal): Box-Muller on pairs of words, or the
 * ziggurat on one word per normal (rtk/ziggurat.h).  Process-wide like the generator: the driver sets it
 * before a run samples and puts back RTK_RNG_BOX_MULLER after it; TARGET, SCORE and EXACT always use
 * Box-Muller.  Default: RTK_RNG_BOX_MULLER. */
enum rtk_rng_normal_kind { RTK_RNG_BOX_MULLER = 0, RTK_RNG_ZIGGURAT = 1 };
#define RTK_RNG_NORMAL_CHOICES "box-muller|ziggurat"
void rtk_rng_set_normal(int kind);
int rtk_rng_normal(void);
const char *rtk_rng_normal_name(int kind); /* "box-muller", "ziggurat" */
/* the transform rtk_rng_normals uses for `purpose` now */
int rtk_rng_normal_for(uint64_t purpose);

/* The draws below with an explicit generator (no selection by purpose); rtk_rng_normals_gen is Box-Muller. */
void rtk_rng_normals_gen(int gen, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                         double *out);
void rtk_rng_uniforms_gen(int gen, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                          double *out);

/* n standard normals with an explicit generator and transform (enum rtk_rng_normal_kind); n <= RTK_ZIG_MAX_N
 * (rtk/ziggurat.h, 2^25) with the ziggurat. */
void rtk_rng_normals_with(int gen, int kind, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                          int n, double *out);

/* Philox4x32 layout (docs/design.md): key (k0, k1) and counter words 0-2 of
 * (seed, id, c0, c1, purpose); counter word 3 is the chunk. */
void rtk_rng_p4x32_layout(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, uint32_t key[2],
                          uint32_t ctr[3]);
/* Philox4x32-10 blocks chunk0 .. chunk0+n-1 of (key, ctr): out[4c + j] = word j of block chunk0 + c, with the
 * version `isa` (enum rtk_vm_version: purec/sse2 = scalar Random123, avx = AVX2, avx512f = AVX-512F; all give
 * the same words).  -1 if that version is not available.  For tests and benchmarks. */
int rtk_rng_p4x32_words(int isa, const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint32_t *out);

/* n standard normals for particle `id` at position (c0, c1, purpose). */
void rtk_rng_normals(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                     int n, double *out);
/* n uniforms in the open interval (0, 1). */
void rtk_rng_uniforms(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                      int n, double *out);
double rtk_rng_uniform(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose);

#endif
