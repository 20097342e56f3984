/* pc: predictor-corrector sampler of Song et al. (2021), in the OU
 * parameterisation (docs/design.md, "Predictor-corrector").  At each grid
 * time t_k (k = 0..S-1), as in their reference implementation:
 *   corrector, m = 1..M (M = corrector_steps), Langevin dynamics for p_{t_k}:
 *     s = s_{t_k}(x),  z ~ N(0, I) (RNG purpose PROPOSE, counters (k, m-1)),
 *     eps = 2 snr^2 sigma_{t_k}^2,  x <- x + eps s + sqrt(2 eps) z.
 *   Song et al.'s rule eps = 2 (snr |z| / |s|)^2 uses norms averaged over the
 *   batch; a per-particle ratio is unusable (|s| -> 0 near a mode flings the
 *   particle away) and a batch average would depend on the block size, so
 *   |z|^2 and |s|^2 are replaced by their reference values d and d / sigma_t^2
 *   (E|s_t|^2 = d/sigma_t^2 - alpha_t^2 E tr Cov[x_0 | x_t] / sigma_t^4 <= d/sigma_t^2,
 *   equality for a point-mass target: the rule's step is never larger than Song's). 
 *   predictor: the ddpm exponential-integrator step t_k -> t_{k+1}
 *     x <- e^h x + 2 (e^h - 1) s_{t_k}(x) + sqrt(e^{2h} - 1) xi  (RNG STEP, (k, 0))
 * NFE = (1 + M) per step; a budget of nfe gives S = floor(nfe / (1 + M)).
 * With M = 0 the sampler is ddpm bitwise. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "rtk/error.h"
#include "rtk/grid.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"
#include "rtk/update.h"

static const rtk_opt opts[] = {
    {"corrector_steps", RTK_OPT_INT, offsetof(rtk_sampler_cfg, corrector_steps), "1", 0, 1000, 0,
     "Langevin corrector steps per grid time (0: plain ddpm)"},
    {"snr", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, snr), "0.16", 1e-6, 10, 0,
     "signal-to-noise ratio r of the corrector step eps = 2 r^2 sigma_t^2 (Song et al.'s rule at reference norms)"},
    RTK_OPT_END};

static int plan(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  (void)mix;
  const int64_t per = 1 + cfg->corrector_steps;
  if (cfg->grid != RTK_GRID_LIST && cfg->nfe < per)
    return RTK_ERR(RTK_ERR_INPUT, "pc needs an NFE budget of at least 1 + corrector_steps = %lld (got %lld)",
                   (long long)per, (long long)cfg->nfe);
  RTK_CHECK(rtk_plan_grid(cfg, (int)(cfg->nfe / per), p));
  for (int k = 0; k < p->nseg; k++) p->nfe_seg[k] = per;
  p->nfe = per * p->nseg;
  return RTK_OK;
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  rtk_step_ws *w = ws;
  const rtk_plan *p = ctx->plan;
  const int d = ctx->mix->d, M = (int)ctx->cfg->corrector_steps;
  const double snr = ctx->cfg->snr;
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < p->nseg; k++) {
    double t0 = rtk_now();
    const double t = p->times[k], h = t - p->times[k + 1];
    rtk_score_set_time(&w->sw, t);
    const double eps = 2 * snr * snr * rtk_sigma2(t), sdc = sqrt(2 * eps);
    for (int m = 0; m < M; m++) {
      rtk_score_eval(&w->sw, n, X, NULL, w->S);
      for (int i = 0; i < n; i++) {
        double *x = X + (size_t)i * d;
        const double *s = w->S + (size_t)i * d;
        rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, (uint64_t)m, RTK_RNG_PROPOSE, d, w->xi);
        for (int j = 0; j < d; j++) x[j] = rtk_pc_correct(x[j], s[j], eps, sdc, w->xi[j]); /* rtk/update.h */
      }
    }
    rtk_score_eval(&w->sw, n, X, NULL, w->S);
    st->nfe[k] += (int64_t)n * (1 + M);
    /* the predictor is ddpm's exponential step itself (pc with M = 0 is ddpm bitwise) */
    rtk_ddpm_step(ctx->seed, gid0, k, h, 0, n, d, w->S, w->xi, X);
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_pc = {
    "pc", "predictor-corrector (Song et al. 2021): ddpm predictor + Langevin corrector with the SNR rule, (1+M) NFE/step",
    opts, 1, plan, rtk_step_ws_create, rtk_step_ws_free, run_block};
