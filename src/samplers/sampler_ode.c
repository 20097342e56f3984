/* Probability-flow ODE solvers in data prediction (SPEC §3.3), 1 NFE/step:
 *   x0_hat = (x + sigma_t^2 s_t(x)) / alpha_t,  lambda = log(alpha / sigma),
 *   h = lambda_s - lambda_t,  e^{-h} = (sigma_s/alpha_s) / (sigma_t/alpha_t).
 * ddim (first order):   x_s = (sigma_s/sigma_t) x - alpha_s (e^{-h} - 1) x0_hat
 * dpm-solver++ (2M, Lu et al. 2022): the same step with
 *   D = (1 + 1/(2r)) x0_hat_t - 1/(2r) x0_hat_prev,  r = h_prev / h,
 * first order on the first step and on a final step to t = 0 (h infinite).
 * dpm-solver++ order = 3 (3M) and/or sde = 1 (2M SDE, 3M SDE; k-diffusion's
 * sample_dpmpp_2m_sde / sample_dpmpp_3m_sde with eta = 1), with he = h (1 + sde):
 *   x_s = (alpha_s/alpha_t) e^{-he} x + alpha_s (1 - e^{-he}) D_t + alpha_s C + sde sigma_s sqrt(1 - e^{-2h}) xi
 *   C (2M SDE, midpoint)  = (1 - e^{-he}) (D_t - D_1) / (2 r0)
 *   C (3M, 2nd step)      = phi2 d1_0
 *   C (3M, later steps)   = phi2 d1 - phi3 d2
 *   r0 = h_1/h, r1 = h_2/h, d1_0 = (D_t - D_1)/r0, d1_1 = (D_1 - D_2)/r1,
 *   d1 = d1_0 + (d1_0 - d1_1) r0/(r0 + r1) ~ h D',
 *   d2 = w (d1_0 - d1_1)/(r0 + r1) ~ (w/2) h^2 D''  (w = 2: variant = taylor, third order;
 *        w = 1: variant = k-diffusion, the formula of k-diffusion, diffusers and
 *        Lu et al.'s code, whose D'' term has half its Taylor weight: globally
 *        second order, measured in test_core solver_orders),
 *   phi2 = 1 - (1 - e^{-he})/he, phi3 = phi2/he - 1/2 (both by rtk_expint_g);
 * the final step to t = 0 returns D_t.  order = 2, sde = 0 is the 2M code above. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"
#include "rtk/update.h"

typedef struct {
  rtk_score_ws sw;
  double *S, *D, *Dprev, *Dprev2, *xi;
} ode_ws;

static const rtk_opt opts[] = {RTK_OPT_END};
static const rtk_opt dpm_opts[] = {
    {"order", RTK_OPT_INT, offsetof(rtk_sampler_cfg, order), "2", 2, 3, 0,
     "multistep order: 2 (2M) or 3 (3M); the first steps use the history available"},
    {"variant", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, variant), "taylor", 0, 0, RTK_M3_CHOICES,
     "order 3: taylor (d2 = 2 (d1_0 - d1_1)/(r0 + r1), third order) or k-diffusion (the published code's d2, half that: second order)"},
    {"sde", RTK_OPT_BOOL, offsetof(rtk_sampler_cfg, sde), "false", 0, 0, 0,
     "SDE variant (DPM-Solver++(2M) SDE / 3M SDE, eta = 1): noise from the RNG keyed by particle"},
    RTK_OPT_END};

static void work_free(void *p) {
  ode_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->S);
  free(w->D);
  free(w->Dprev);
  free(w->Dprev2);
  free(w->xi);
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
  RTK_MALLOC(w->Dprev2, (size_t)B * d);
  RTK_MALLOC(w->xi, d);
  return RTK_OK;
}

double rtk_ode_step_coefs(const rtk_sampler_cfg *cfg, const rtk_plan *p, int k, int general, int order2, double h1,
                          double h2, rtk_ode_step *c) {
  const double t = p->times[k], s = p->times[k + 1];
  const double at = rtk_alpha(t), st2 = rtk_sigma2(t), as = rtk_alpha(s), sig_s = sqrt(rtk_sigma2(s));
  const double emh = (sig_s / as) / (sqrt(st2) / at); /* e^{-h}; 0 when s = 0 */
  const double h = s > 0 ? -log(emh) : INFINITY;
  memset(c, 0, sizeof *c);
  c->at = at;
  c->st2 = st2;
  c->as = as;
  c->general = general;
  if (!general) { /* ddim, 2M */
    c->c1 = 1;
    if (order2 && k > 0 && isfinite(h)) {
      double r = h1 / h;
      c->c1 = 1 + 1 / (2 * r);
      c->c2 = -1 / (2 * r);
    }
    c->a = sig_s / sqrt(st2);
    c->b = -as * (emh - 1);
    return h;
  }
  const int order = (int)cfg->order, sde = cfg->sde;
  const int hist = !isfinite(h) ? 0 : k < 2 ? k : 2; /* multistep history used on this step */
  c->final = !isfinite(h);
  c->sde = sde;
  if (c->final) return h;
  const double he = sde ? 2 * h : h, eme = sde ? emh * emh : emh, ome = -expm1(-he);
  c->a = as / at * eme;
  c->b = as * ome;
  const double phi2 = -rtk_expint_g(1, -he), phi3 = rtk_expint_g(2, -he);
  const double r0 = h1 / h, r1 = h2 / h;
  c->nsd = sde ? sig_s * sqrt(-expm1(-2 * h)) : 0;
  /* C = c0 D_t + c1 D_1 + c2 D_2 */
  if (hist >= 1 && (order == 2 || hist == 1)) {
    const double f = (order == 2 ? 0.5 * ome : phi2) / r0; /* 2M SDE midpoint, or 3M's second step */
    c->c0 = f;
    c->c1 = -f;
  } else if (hist == 2) {
    /* d1_0 = (D - D1)/r0, d1_1 = (D1 - D2)/r1; C = phi2 d1 - phi3 d2 */
    const double q = r0 / (r0 + r1), u = (cfg->variant == RTK_M3_KDIFFUSION ? 1.0 : 2.0) / (r0 + r1);
    /* d1 = (1+q) d1_0 - q d1_1, d2 = u (d1_0 - d1_1) */
    const double A0 = phi2 * (1 + q) - phi3 * u, A1 = -(phi2 * q - phi3 * u); /* C = A0 d1_0 + A1 d1_1 */
    c->c0 = A0 / r0;
    c->c1 = -A0 / r0 + A1 / r1;
    c->c2 = -A1 / r1;
  }
  return h;
}

/* ddim and 2M (general = 0), or dpm-solver++ with order 3 and/or the SDE variants (general = 1);
 * per-step coefficients and per-element updates shared with the cuda backend (rtk/update.h) */
static int run_ode(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, ode_ws *w, int order2,
                   int general) {
  const rtk_plan *p = ctx->plan;
  const int d = ctx->mix->d;
  const size_t nd = (size_t)n * d;
  double h1 = 0, h2 = 0;
  if (general) {
    memset(w->Dprev, 0, sizeof(double) * nd); /* weighted by 0 until filled: keep NaN garbage out */
    memset(w->Dprev2, 0, sizeof(double) * nd);
  }
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < p->nseg; k++) {
    if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
    double t0 = rtk_now();
    rtk_ode_step c;
    const double h = rtk_ode_step_coefs(ctx->cfg, p, k, general, order2, h1, h2, &c);
    rtk_score_set_time(&w->sw, p->times[k]);
    rtk_score_eval(&w->sw, n, X, NULL, w->S);
    st->nfe[k] += n;
    for (int i = 0; i < n; i++) { /* one pass: the data prediction D and the update */
      const size_t o = (size_t)i * d;
      if (c.sde && !c.final) rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, 0, RTK_RNG_STEP, d, w->xi);
      for (int j = 0; j < d; j++) {
        const double D = rtk_ode_denoise(&c, X[o + j], w->S[o + j]);
        w->D[o + j] = D;
        X[o + j] = rtk_ode_update(&c, X[o + j], D, w->Dprev[o + j], general ? w->Dprev2[o + j] : 0, c.sde ? w->xi[j] : 0);
      }
    }
    double *tmp = w->Dprev2;
    w->Dprev2 = w->Dprev;
    w->Dprev = w->D;
    w->D = tmp;
    h2 = h1;
    h1 = h;
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

static int run_ddim(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  return run_ode(ctx, gid0, n, X, st, ws, 0, 0);
}
static int run_dpm(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  return run_ode(ctx, gid0, n, X, st, ws, 1, ctx->cfg->order == 3 || ctx->cfg->sde);
}

const rtk_sampler_ops rtk_sampler_ddim = {
    "ddim", "probability-flow ODE, first-order exponential integrator in data prediction (1 NFE/step)", opts, 1,
    rtk_plan_one_nfe_per_step, work_create, work_free, run_ddim};
const rtk_sampler_ops rtk_sampler_dpmpp2m = {
    "dpm-solver++", "DPM-Solver++ multistep in data prediction, 2M/3M, ODE or SDE (1 NFE/step)", dpm_opts, 1,
    rtk_plan_one_nfe_per_step,
    work_create, work_free, run_dpm};
