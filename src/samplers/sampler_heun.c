/* heun: EDM (Karras et al. 2022) Algorithm 1 (deterministic 2nd-order Heun on
 * the probability-flow ODE) and Algorithm 2 (stochastic "churn"), written in
 * the OU parameterisation (docs/design.md, "EDM Heun").
 *
 * The published form is the VE ODE dy/dsigma = (y - D(y; sigma)) / sigma
 * with y = x / alpha_t, sigma = sigma_t / alpha_t and the denoiser
 * D = (x + sigma_t^2 s_t(x)) / alpha_t; here (y - D)/sigma = -sigma_t s_t(x),
 * so a step from sigma_i to sigma_{i+1} reads
 *   churn:  sigma^ = sigma_i (1 + gamma_i),  y^ = y + s_noise sqrt(sigma^2 - sigma_i^2) xi
 *           gamma_i = min(s_churn / S, sqrt 2 - 1) if s_tmin <= sigma_i <= s_tmax, else 0
 *   Euler:  y' = y^ + (sigma_{i+1} - sigma^) d,  d = -sigma_{t^} s_{t^}(alpha_{t^} y^)
 *   Heun:   y_{i+1} = y^ + (sigma_{i+1} - sigma^)(d + d')/2,  d' = -sigma_{t'} s_{t'}(alpha_{t'} y')
 * The last step is Euler only (EDM's step to sigma = 0), so NFE = 2S - 1 for S
 * steps; a budget of nfe gives S = floor((nfe + 1) / 2) steps. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "rtk/error.h"
#include "rtk/grid.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"
#include "rtk/update.h"

typedef struct {
  rtk_score_ws sw;
  double *S, *Y, *Yp, *xi;
} heun_ws;

static const rtk_opt opts[] = {
    {"s_churn", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, s_churn), "0", 0, 1e6, 0,
     "EDM Algorithm 2 churn S_churn (0: deterministic Algorithm 1); gamma = min(s_churn/S, sqrt(2)-1)"},
    {"s_tmin", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, s_tmin), "0", 0, 1e300, 0,
     "churn only where the VE noise level sigma_i = sigma_t/alpha_t >= s_tmin"},
    {"s_tmax", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, s_tmax), "1e300", 0, 1e300, 0,
     "churn only where sigma_i <= s_tmax (default: no upper limit)"},
    {"s_noise", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, s_noise), "1", 0, 10, 0,
     "churn noise inflation S_noise"},
    RTK_OPT_END};

static int plan(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  (void)mix;
  const int S = (int)((cfg->nfe + 1) / 2);
  RTK_CHECK(rtk_plan_grid(cfg, S, p));
  p->nfe = 0;
  for (int k = 0; k < p->nseg; k++) p->nfe += p->nfe_seg[k] = k + 1 < p->nseg ? 2 : 1;
  return RTK_OK;
}

static void work_free(void *p) {
  heun_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->S);
  free(w->Y);
  free(w->Yp);
  free(w->xi);
  free(w);
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  heun_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_MALLOC(w->S, (size_t)B * d);
  RTK_MALLOC(w->Y, (size_t)B * d);
  RTK_MALLOC(w->Yp, (size_t)B * d);
  RTK_MALLOC(w->xi, d);
  return RTK_OK;
}

/* S = s_t(alpha_t Y) for the block, Xs as scratch */
static void score_ve(heun_ws *w, double t, int n, size_t nd, const double *Y, double *Xs) {
  const double a = rtk_alpha(t);
  for (size_t i = 0; i < nd; i++) Xs[i] = a * Y[i];
  rtk_score_set_time(&w->sw, t);
  rtk_score_eval(&w->sw, n, Xs, NULL, w->S);
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  heun_ws *w = ws;
  const rtk_plan *p = ctx->plan;
  const rtk_sampler_cfg *c = ctx->cfg;
  const int d = ctx->mix->d;
  const size_t nd = (size_t)n * d;
  const int S = p->nseg;
  const double gmax = fmin(c->s_churn / S, sqrt(2.0) - 1);
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < S; k++) {
    double t0 = rtk_now();
    const double t = p->times[k], s = p->times[k + 1];
    const double sig_i = rtk_ve_sigma(t), sig_n = rtk_ve_sigma(s);
    const double gamma = (c->s_churn > 0 && sig_i >= c->s_tmin && sig_i <= c->s_tmax) ? gmax : 0;
    const double sig_h = sig_i * (1 + gamma), th = gamma > 0 ? rtk_ve_time(sig_h) : t;
    const double at = rtk_alpha(t);
    for (size_t i = 0; i < nd; i++) w->Y[i] = X[i] / at;
    if (gamma > 0) {
      const double sd = c->s_noise * sqrt(sig_h * sig_h - sig_i * sig_i);
      for (int i = 0; i < n; i++) {
        double *y = w->Y + (size_t)i * d;
        rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, 0, RTK_RNG_STEP, d, w->xi);
        for (int j = 0; j < d; j++) y[j] += sd * w->xi[j];
      }
    }
    /* Euler: d = -sigma_{t^} s, y' = y^ + (sig_n - sig_h) d */
    score_ve(w, th, n, nd, w->Y, X);
    const double e = -(sig_n - sig_h) * sqrt(rtk_sigma2(th));
    for (size_t i = 0; i < nd; i++) w->Yp[i] = rtk_heun_move(w->Y[i], e, w->S[i]); /* rtk/update.h */
    if (k + 1 < S) {
      /* Heun correction with the slope at (y', sigma_{i+1}); keep d in Yp's old value via S */
      for (size_t i = 0; i < nd; i++) w->Y[i] = rtk_heun_move(w->Y[i], 0.5 * e, w->S[i]);
      score_ve(w, s, n, nd, w->Yp, X);
      const double e2 = -0.5 * (sig_n - sig_h) * sqrt(rtk_sigma2(s));
      for (size_t i = 0; i < nd; i++) w->Y[i] = rtk_heun_move(w->Y[i], e2, w->S[i]);
      st->nfe[k] += 2 * (int64_t)n;
    } else {
      for (size_t i = 0; i < nd; i++) w->Y[i] = w->Yp[i];
      st->nfe[k] += n;
    }
    const double as = rtk_alpha(s);
    for (size_t i = 0; i < nd; i++) X[i] = as * w->Y[i];
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_heun = {
    "heun", "EDM Heun (Karras et al. 2022 Alg. 1, 2 NFE/step, last step Euler) with optional Alg. 2 churn", opts, 1,
    plan, work_create, work_free, run_block};
