/* ddpm: discretised reverse SDE (SPEC §3.1).  Step t -> s = t - h with the
 * score frozen at (x, t):
 *   exponential (default): x <- e^h x + 2(e^h - 1) s_t(x) + sqrt(e^{2h} - 1) xi
 *   euler (Euler-Maruyama): x <- x + h (x + 2 s_t(x)) + sqrt(2h) xi
 * One NFE per step; S = nfe steps on the chosen grid. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"
#include "rtk/update.h"

static const rtk_opt opts[] = {
    {"variant", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, variant), "exponential", 0, 0, RTK_DDPM_CHOICES,
     "exponential integrator (score frozen, linear part exact) or Euler-Maruyama"},
    RTK_OPT_END};

void rtk_ddpm_step(uint64_t seed, int64_t gid0, int k, double h, int euler, int n, int d, const double *S,
                   double *xi, double *X) {
  const rtk_ddpm_coef c = rtk_ddpm_coefs(h, euler); /* rtk/update.h: shared with the cuda backend */
  for (int i = 0; i < n; i++) {
    double *x = X + (size_t)i * d;
    const double *s = S + (size_t)i * d;
    rtk_rng_normals(seed, (uint64_t)(gid0 + i), (uint64_t)k, 0, RTK_RNG_STEP, d, xi);
    for (int j = 0; j < d; j++) x[j] = rtk_ddpm_update(&c, x[j], s[j], xi[j]);
  }
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  rtk_step_ws *w = ws;
  const rtk_plan *p = ctx->plan;
  const int d = ctx->mix->d;
  const int euler = ctx->cfg->variant == RTK_DDPM_EULER;
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < p->nseg; k++) {
    if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
    double t0 = rtk_now();
    const double t = p->times[k], h = t - p->times[k + 1];
    rtk_score_set_time(&w->sw, t);
    rtk_score_eval(&w->sw, n, X, NULL, w->S);
    st->nfe[k] += n;
    rtk_ddpm_step(ctx->seed, gid0, k, h, euler, n, d, w->S, w->xi, X);
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_ddpm = {
    "ddpm", "reverse-SDE discretisation, 1 NFE per step (exponential integrator or Euler-Maruyama)",
    opts, 1, rtk_plan_one_nfe_per_step, rtk_step_ws_create, rtk_step_ws_free, run_block};
