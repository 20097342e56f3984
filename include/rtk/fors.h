/* First-order rejection sampling (FORS; Chen, Chewi, Daskalakis & Rakhlin,
 * arXiv 2602.01338, 2026): the Bernoulli-factory acceptance step, separate
 * from where its proposals and estimates come from (docs/design.md, "fors").
 *
 * To sample pi(z) ∝ q(z) e^{w(z)} from unbiased estimates W of w: per round,
 * z ~ q, V ~ U(0,1), J ~ Poisson(2B), and the round accepts iff
 *   V < prod_{i<=J} (B + W_i + c) / (2B),   c = shift * B,
 * stopping at the first factor that pushes the product to <= V.  With
 * |W_i + c| <= B the acceptance probability is e^{w(z) + c - B}, so accepted
 * z are exact draws of pi.  An estimate outside the window (an overflow) is
 * clipped, or (grow) ends the round as a rejection and doubles B for that
 * particle; either way it is counted.
 *
 * The engine runs a block of n particles in lockstep "ticks": each tick
 * draws the proposals every particle between rounds needs, then one estimate
 * for every particle inside a round, in one call (the caller batches its
 * score evaluations).  Randomness: V and J from
 * rtk_rng_uniforms(seed, gid, key, round, RTK_RNG_ACCEPT, ...); the caller
 * keys its proposal and estimate draws by (gid, key, round, estimate index),
 * so results do not depend on blocks or ranks. */
#ifndef RTK_FORS_H
#define RTK_FORS_H
#include <stdint.h>

typedef struct rtk_fors_problem {
  int d;
  uint64_t seed, key; /* key: e.g. the segment */
  int64_t gid0;       /* global id of local particle 0 */
  double B;           /* initial bound (> 0) */
  double shift;       /* c = shift * B */
  int grow;           /* 0: clip overflows; 1: reject the round and double B (up to RTK_FORS_BMAX) */
  int64_t max_rounds; /* a particle that never accepts keeps its last proposal (exhausted) */
  void *user;
  /* draw round `round[i]`'s proposal of local particle idx[i] into Z row idx[i] */
  void (*propose)(void *user, int m, const int *idx, const int64_t *round, double *Z);
  /* W[i]: estimate number jdx[i] (0-based) of round round[i] for particle idx[i] at Z row idx[i];
   * returns the score evaluations it spent */
  int64_t (*estimate)(void *user, int m, const int *idx, const int64_t *round, const int64_t *jdx, const double *Z,
                      double *W);
} rtk_fors_problem;

typedef struct rtk_fors_counts {
  int64_t rounds, accepted, estimates, clipped, exhausted, nfe;
} rtk_fors_counts;

#define RTK_FORS_BMAX 16000.0 /* Poisson(2B) by inversion in pieces of mean <= 500: at most 64 pieces */

/* J ~ Poisson(lambda) from ceil(lambda/500) uniforms u (inversion of each piece) */
int64_t rtk_fors_poisson(double lambda, const double *u);
/* number of uniforms rtk_fors_poisson needs */
int rtk_fors_poisson_pieces(double lambda);

/* Run the FORS rounds of n particles; Z [n][d] receives the accepted (or,
 * exhausted, the last) proposals.  Counts are added to *cnt.  Returns
 * RTK_ERR_INTERRUPTED on a cancel request, RTK_ERR_MEM on allocation failure. */
int rtk_fors_run(const rtk_fors_problem *pb, int n, double *Z, rtk_fors_counts *cnt);

#endif
