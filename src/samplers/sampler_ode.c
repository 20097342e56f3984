/* Probability-flow ODE solvers in data prediction (SPEC §3.3), 1 NFE/step:
 *   x0_hat = (x + sigma_t^2 s_t(x)) / alpha_t,  lambda = log(alpha / sigma),
 *   h = lambda_s - lambda_t,  e^{-h} = (sigma_s/alpha_s) / (sigma_t/alpha_t).
 * ddim (first order):   x_s = (sigma_s/sigma_t) x - alpha_s (e^{-h} - 1) x0_hat
 * dpm-solver++ (2M, Lu et al. 2022): the same step with
 *   D = (1 + 1/(2r)) x0_hat_t - 1/(2r) x0_hat_prev,  r = h_prev / h,
 * first order on the first step and on a final step to t = 0 (h infinite). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/sampler.h"

typedef struct {
  rtk_score_ws sw;
  double *S, *D, *Dprev;
} ode_ws;

static const rtk_opt opts[] = {RTK_OPT_END};

static void work_free(void *p) {
  ode_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->S);
  free(w->D);
  free(w->Dprev);
  free(w);
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  ode_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_MALLOC(w->S, (size_t)B * d);
  RTK_MALLOC(w->D, (size_t)B * d);
  RTK_MALLOC(w->Dprev, (size_t)B * d);
  return RTK_OK;
}

static int run_ode(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, ode_ws *w, int order2) {
  const rtk_plan *p = ctx->plan;
  const int d = ctx->mix->d;
  const size_t nd = (size_t)n * d;
  double h_prev = 0;
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < p->nseg; k++) {
    if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
    double t0 = rtk_now();
    const double t = p->times[k], s = p->times[k + 1];
    const double at = rtk_alpha(t), st2 = rtk_sigma2(t), as = rtk_alpha(s), ss2 = rtk_sigma2(s);
    const double sig_t = sqrt(st2), sig_s = sqrt(ss2);
    const double emh = (sig_s / as) / (sig_t / at); /* e^{-h}; 0 when s = 0 */
    const double h = s > 0 ? -log(emh) : INFINITY;
    rtk_score_set_time(&w->sw, t);
    rtk_score_eval(&w->sw, n, X, NULL, w->S);
    st->nfe[k] += n;
    for (size_t i = 0; i < nd; i++) w->D[i] = (X[i] + st2 * w->S[i]) / at;
    double c1 = 1, c2 = 0;
    if (order2 && k > 0 && isfinite(h)) {
      double r = h_prev / h;
      c1 = 1 + 1 / (2 * r);
      c2 = -1 / (2 * r);
    }
    const double a = sig_s / sig_t, b = -as * (emh - 1);
    for (size_t i = 0; i < nd; i++) {
      double Dk = w->D[i];
      X[i] = a * X[i] + b * (c1 * Dk + c2 * w->Dprev[i]);
      w->Dprev[i] = Dk;
    }
    h_prev = h;
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

static int run_ddim(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  return run_ode(ctx, gid0, n, X, st, ws, 0);
}
static int run_dpm(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  return run_ode(ctx, gid0, n, X, st, ws, 1);
}

const rtk_sampler_ops rtk_sampler_ddim = {
    "ddim", "probability-flow ODE, first-order exponential integrator in data prediction (1 NFE/step)", opts, 1,
    rtk_plan_one_nfe_per_step, work_create, work_free, run_ddim};
const rtk_sampler_ops rtk_sampler_dpmpp2m = {
    "dpm-solver++", "DPM-Solver++(2M): second-order multistep in data prediction (1 NFE/step)", opts, 1, rtk_plan_one_nfe_per_step,
    work_create, work_free, run_dpm};
