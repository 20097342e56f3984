/* smc: reverse-diffusion sequential Monte Carlo with the exact density
 * (docs/design.md, "SMC").  Particles move with the ddpm exponential kernel
 *   M(x_s | x_t) = N(e^h x_t + 2(e^h - 1) s_t(x_t), (e^{2h} - 1) I)
 * and are reweighted by the exact ratio of consecutive marginals against the
 * kernel, with the forward OU transition as backward kernel:
 *   G = p_s(x_s) N(x_t; e^{-h} x_s, (1 - e^{-2h}) I) / (p_t(x_t) M(x_s | x_t)),
 * which makes the weighted particles exact for p_s at every grid time; the
 * start x_T ~ N(0, I) carries the weight p_T(x_T) / N(x_T; 0, I).
 * Resampling (systematic, one uniform per group: purpose AUX keyed by the
 * group's first particle id, counter (k, 0)) happens inside groups of
 * `group` consecutive global ids [g G, (g+1) G) when the group's ESS falls
 * below ess_threshold x its size, and always after the last step, so the
 * output is an equally weighted sample.  Groups never straddle blocks
 * (run.block must be a multiple of group), so results are identical for any
 * rank count and any such block size.
 * NFE: log p and s at (x, t) cost 1 and serve both the weight and the next
 * move: S + 1 per particle (the extra one in segment 0), S = nfe - 1. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/grid.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"

typedef struct {
  rtk_score_ws sw;
  double *S, *Sn, *LP, *LPn, *LW, *X, *Xn, *xi, *cw;
  int *anc;
} smc_ws;

static const rtk_opt opts[] = {
    {"group", RTK_OPT_INT, offsetof(rtk_sampler_cfg, group), "64", 1, 1 << 20, 0,
     "particles per resampling group: global ids [g*group, (g+1)*group); run.block must be a multiple"},
    {"ess_threshold", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, ess_threshold), "0.5", 0, 1e300, 0,
     "resample a group when its ESS < ess_threshold * group size (0: only after the last step; >= 1: every step)"},
    RTK_OPT_END};

static int plan(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  (void)mix;
  if (cfg->grid != RTK_GRID_LIST && cfg->nfe < 2)
    return RTK_ERR(RTK_ERR_INPUT, "smc needs an NFE budget of at least 2 (got %lld)", (long long)cfg->nfe);
  RTK_CHECK(rtk_plan_grid(cfg, (int)(cfg->nfe - 1), p));
  for (int k = 0; k < p->nseg; k++) p->nfe_seg[k] = k ? 1 : 2;
  p->nfe = p->nseg + 1;
  return RTK_OK;
}

static void work_free(void *p) {
  smc_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->S);
  free(w->Sn);
  free(w->LP);
  free(w->LPn);
  free(w->LW);
  free(w->X);
  free(w->Xn);
  free(w->xi);
  free(w->cw);
  free(w->anc);
  free(w);
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  *out = NULL;
  if (ctx->score && ctx->score->ops != &rtk_score_exact)
    return RTK_ERR(RTK_ERR_INPUT, "smc weights particles by exact density ratios; it refuses score model '%s' (use exact)",
                   ctx->score->ops->name);
  if (B % ctx->cfg->group)
    return RTK_ERR(RTK_ERR_INPUT, "smc: run.block = %d must be a multiple of smc.group = %lld (groups may not straddle blocks)",
                   B, (long long)ctx->cfg->group);
  smc_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  const size_t Bd = (size_t)B * d;
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_MALLOC(w->S, Bd);
  RTK_MALLOC(w->Sn, Bd);
  RTK_MALLOC(w->X, Bd);
  RTK_MALLOC(w->Xn, Bd);
  RTK_MALLOC(w->LP, B);
  RTK_MALLOC(w->LPn, B);
  RTK_MALLOC(w->LW, B);
  RTK_MALLOC(w->cw, B);
  RTK_MALLOC(w->anc, B);
  RTK_MALLOC(w->xi, d);
  return RTK_OK;
}

double rtk_smc_log_increment(int d, double h, const double *xt, double logpt, const double *xs, double logps,
                             const double *xi) {
  const double emh = exp(-h), q = -expm1(-2 * h), v = expm1(2 * h);
  double back = 0, fwd = 0;
  for (int j = 0; j < d; j++) {
    const double r = xt[j] - emh * xs[j];
    back += r * r;
    fwd += xi[j] * xi[j];
  }
  /* log N(x_t; e^{-h} x_s, q) - log M = -back/(2q) - d/2 log q + |xi|^2/2 + d/2 log v */
  return logps - logpt - back / (2 * q) + 0.5 * fwd + 0.5 * d * log(v / q);
}

/* ESS and (if below the threshold or forced) systematic resampling of the group
 * of local rows [i0, i0 + m); returns 1 if resampled */
static int group_step(const rtk_block_ctx *ctx, smc_ws *w, int d, int64_t gid0, int i0, int m, int k, int force,
                      rtk_stats *st, double *X) {
  double mx = -INFINITY, sw = 0, sw2 = 0;
  for (int i = i0; i < i0 + m; i++)
    if (w->LW[i] > mx) mx = w->LW[i];
  for (int i = i0; i < i0 + m; i++) {
    const double e = exp(w->LW[i] - mx);
    w->cw[i] = e;
    sw += e;
    sw2 += e * e;
  }
  const double ess = sw * sw / sw2 / m;
  st->groups[k]++;
  st->ess_q[k] += (int64_t)llround(ess * RTK_ESS_UNIT);
  if (!force && !(ess < ctx->cfg->ess_threshold)) return 0;
  /* systematic: positions (u + j)/m against the cumulative normalised weights */
  const double u = rtk_rng_uniform(ctx->seed, (uint64_t)(gid0 + i0), (uint64_t)k, 0, RTK_RNG_AUX);
  double c = 0;
  int a = i0;
  for (int j = 0; j < m; j++) {
    const double pos = (u + j) / m;
    while (a < i0 + m - 1 && c + w->cw[a] / sw < pos) c += w->cw[a++] / sw;
    w->anc[i0 + j] = a;
  }
  for (int j = i0; j < i0 + m; j++) {
    const int s = w->anc[j];
    memcpy(w->Xn + (size_t)j * d, X + (size_t)s * d, sizeof(double) * d);
    memcpy(w->Sn + (size_t)j * d, w->S + (size_t)s * d, sizeof(double) * d);
    w->LPn[j] = w->LP[s];
  }
  memcpy(X + (size_t)i0 * d, w->Xn + (size_t)i0 * d, sizeof(double) * m * d);
  memcpy(w->S + (size_t)i0 * d, w->Sn + (size_t)i0 * d, sizeof(double) * m * d);
  memcpy(w->LP + i0, w->LPn + i0, sizeof(double) * m);
  for (int j = i0; j < i0 + m; j++) w->LW[j] = 0;
  st->resampled[k]++;
  return 1;
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  smc_ws *w = ws;
  const rtk_plan *p = ctx->plan;
  const int d = ctx->mix->d, S = p->nseg, G = (int)ctx->cfg->group;
  if (gid0 % G) return RTK_ERR(RTK_ERR_INPUT, "smc: block starting at particle %lld is not aligned to group %d", (long long)gid0, G);
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  double t0 = rtk_now();
  rtk_score_set_time(&w->sw, p->times[0]);
  rtk_score_eval(&w->sw, n, X, w->LP, w->S);
  st->nfe[0] += n;
  /* x_T ~ N(0, I), not p_T: initial weight p_T(x_T) / N(x_T; 0, I) */
  for (int i = 0; i < n; i++) {
    double r2 = 0;
    for (int j = 0; j < d; j++) r2 += X[(size_t)i * d + j] * X[(size_t)i * d + j];
    w->LW[i] = w->LP[i] + 0.5 * r2 + 0.5 * d * log(6.283185307179586476925);
  }
  for (int k = 0; k < S; k++) {
    if (k) t0 = rtk_now();
    const double t = p->times[k], s = p->times[k + 1], h = t - s;
    const double a = exp(h), b = 2 * expm1(h), sd = sqrt(expm1(2 * h));
    for (int i = 0; i < n; i++) {
      const double *x = X + (size_t)i * d, *sc = w->S + (size_t)i * d;
      double *y = w->Xn + (size_t)i * d;
      rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, 0, RTK_RNG_STEP, d, w->xi);
      for (int j = 0; j < d; j++) y[j] = a * x[j] + b * sc[j] + sd * w->xi[j];
    }
    rtk_score_set_time(&w->sw, s);
    rtk_score_eval(&w->sw, n, w->Xn, w->LPn, w->Sn);
    st->nfe[k] += n;
    for (int i = 0; i < n; i++) {
      /* xi again (cheap, counter-based) rather than a [B][d] buffer */
      rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, 0, RTK_RNG_STEP, d, w->xi);
      w->LW[i] += rtk_smc_log_increment(d, h, X + (size_t)i * d, w->LP[i], w->Xn + (size_t)i * d, w->LPn[i], w->xi);
    }
    /* the moved particles become current: swap buffers */
    memcpy(X, w->Xn, sizeof(double) * n * d);
    double *tmp = w->S;
    w->S = w->Sn;
    w->Sn = tmp;
    tmp = w->LP;
    w->LP = w->LPn;
    w->LPn = tmp;
    for (int i0 = 0; i0 < n; i0 += G) group_step(ctx, w, d, gid0, i0, n - i0 < G ? n - i0 : G, k, k == S - 1, st, X);
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_smc = {
    "smc", "reverse-diffusion SMC: ddpm moves, exact marginal-ratio weights, group-local systematic resampling (1 NFE/step + 1)",
    opts, 1, plan, work_create, work_free, run_block};
