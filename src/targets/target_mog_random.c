/* mog-random: K components from a seed.  Means live in a fixed low-dimensional
 * subspace (the first `subspace` coordinates, uniform in [-scale, scale]); all
 * other coordinates have mean 0.  Diagonal variances are log-uniform in
 * [var_min, var_max], weights Dirichlet(alpha).
 *
 * With rest_var = 0 (default) the coordinates outside the subspace also get
 * per-component variances: they carry information about the component, and
 * more of it the larger d (the components separate through their variances).
 * With rest_var > 0 every component has variance rest_var there, so p_0 is
 * (mixture in the subspace) x N(0, rest_var I): the multimodal part of the
 * problem is the same for every dim and the extra coordinates are isotropic
 * Gaussian directions, which keeps the difficulty comparable in
 * dimensional-scaling studies (experiments/dim_scaling.ini). */
#include <math.h>
#include <stddef.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/target.h"

static const rtk_opt opts[] = {
    {"dim", RTK_OPT_INT, offsetof(rtk_target_cfg, dim), "10", 1, 1 << 20, 0, "dimension d"},
    {"K", RTK_OPT_INT, offsetof(rtk_target_cfg, K), "8", 1, 100000, 0, "number of components"},
    {"subspace", RTK_OPT_INT, offsetof(rtk_target_cfg, subspace), "2", 1, 1 << 20, 0, "coordinates carrying the means (min(subspace, dim) used)"},
    {"scale", RTK_OPT_REAL, offsetof(rtk_target_cfg, scale), "2", 0, 1e9, 0, "means uniform in [-scale, scale] within the subspace"},
    {"var_min", RTK_OPT_REAL, offsetof(rtk_target_cfg, var_min), "0.02", 1e-12, 1e12, 0, "smallest variance"},
    {"var_max", RTK_OPT_REAL, offsetof(rtk_target_cfg, var_max), "0.1", 1e-12, 1e12, 0, "largest variance (log-uniform between)"},
    {"rest_var", RTK_OPT_REAL, offsetof(rtk_target_cfg, rest_var), "0", 0, 1e12, 0, "variance of every component outside the subspace; 0 = drawn like var_min..var_max"},
    {"alpha", RTK_OPT_REAL, offsetof(rtk_target_cfg, alpha), "1", 1e-3, 1e6, 0, "Dirichlet concentration of the weights (small = skewed)"},
    {"seed", RTK_OPT_INT, offsetof(rtk_target_cfg, seed), "7", 0, 9.0e18, 0, "seed of the mixture (independent of run.seed)"},
    RTK_OPT_END};

/* Gamma(shape a, 1) by Marsaglia-Tsang from a counter-based stream. */
static double gamma_draw(double a, uint64_t seed, uint64_t k) {
  double boost = 1.0;
  if (a < 1) {
    boost = pow(rtk_rng_uniform(seed, k, 1, 0, RTK_RNG_TARGET), 1.0 / a);
    a += 1;
  }
  const double dd = a - 1.0 / 3, c = 1.0 / sqrt(9 * dd);
  for (uint64_t it = 0;; it++) {
    double z, u;
    rtk_rng_normals(seed, k, 2, it, RTK_RNG_TARGET, 1, &z);
    u = rtk_rng_uniform(seed, k, 3, it, RTK_RNG_TARGET);
    double v = 1 + c * z;
    if (v <= 0) continue;
    v = v * v * v;
    if (log(u) < 0.5 * z * z + dd - dd * v + dd * log(v)) return boost * dd * v;
  }
}

static int build(const rtk_target_cfg *c, rtk_mixture **out) {
  const int K = (int)c->K, d = (int)c->dim, sub = (int)(c->subspace < c->dim ? c->subspace : c->dim);
  if (c->var_max < c->var_min)
    return RTK_ERR(RTK_ERR_INPUT, "target var_max (%g) is smaller than var_min (%g)", c->var_max, c->var_min);
  rtk_mixture *m;
  RTK_CHECK(rtk_mixture_alloc(K, d, &m));
  const uint64_t seed = (uint64_t)c->seed;
  double wsum = 0;
  for (int k = 0; k < K; k++) {
    m->w[k] = gamma_draw(c->alpha, seed, (uint64_t)k);
    wsum += m->w[k];
    for (int j = 0; j < d; j++) {
      /* stream per (component, coordinate) so that growing dim keeps the first coordinates */
      double u[2];
      rtk_rng_uniforms(seed, (uint64_t)k, 4, (uint64_t)j, RTK_RNG_TARGET, 2, u);
      m->mu[(size_t)k * d + j] = j < sub ? c->scale * (2 * u[0] - 1) : 0.0;
      m->var[(size_t)k * d + j] =
          j >= sub && c->rest_var > 0 ? c->rest_var : c->var_min * pow(c->var_max / c->var_min, u[1]);
    }
  }
  for (int k = 0; k < K; k++) m->w[k] /= wsum;
  *out = m;
  return RTK_OK;
}

const rtk_target_ops rtk_target_mog_random = {
    "mog-random", "K seeded components, means in a fixed low-dim subspace, Dirichlet weights", opts, build, 0};
