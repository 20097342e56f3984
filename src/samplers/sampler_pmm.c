/* pmm: the Poisson Midpoint Method (Kandasamy & Nagaraj 2024) on the DDPM
 * reverse SDE dy = b(y, t) dt + sqrt(2) dB (reversed time), b(y, t) = y + 2 s_t(y).
 * One step of size h from y_n emulates K Euler-Maruyama (LMC) steps of size
 * eta = h/K: the drift of sub-step i is b(y_n) + K H_i (b(y~_i) - b(y_n)),
 * H_i ~ Bernoulli(1/K), with the cheap midpoint estimate
 *   y~_i = y_n + i eta b(y_n) + sqrt(2 eta) sum_{j<i} xi_j
 * built from the same Brownian increments xi_j.  So
 *   y_{n+1} = y_n + h b(y_n) + eta K sum_{i: H_i=1} (b(y~_i, t - i eta) - b(y_n)) + sqrt(2 eta) sum_i xi_i.
 * NFE per step: 1 + #{i >= 1 : H_i = 1} (y~_0 = y_n needs none), random with
 * mean 1 + (K-1)/K ~ 2; counted exactly.  S = nfe/2 steps on the grid. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/grid.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"

static const rtk_opt opts[] = {
    {"substeps", RTK_OPT_INT, offsetof(rtk_sampler_cfg, substeps), "16", 1, 100000, 0,
     "K: small LMC steps emulated by each step (midpoint probability 1/K)"},
    RTK_OPT_END};

typedef struct {
  rtk_score_ws sw;
  double *bn, *W, *corr, *Yp, *Sp, *xi;
  int *idx;
} pmm_ws;

static int plan(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  (void)mix;
  int S = (int)(cfg->nfe / 2);
  if (cfg->grid != RTK_GRID_LIST && S < 1) return RTK_ERR(RTK_ERR_INPUT, "pmm needs an NFE budget of at least 2 (got %lld)", (long long)cfg->nfe);
  RTK_CHECK(rtk_plan_grid(cfg, S, p));
  p->nfe_random = 1; /* expected 1 + (K-1)/K per step; the budget's unit is 2 */
  p->nfe = 0;
  for (int k = 0; k < p->nseg; k++) {
    p->nfe_seg[k] = 2;
    p->nfe += 2;
  }
  return RTK_OK;
}

static void work_free(void *p) {
  pmm_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->bn);
  free(w->W);
  free(w->corr);
  free(w->Yp);
  free(w->Sp);
  free(w->xi);
  free(w->idx);
  free(w);
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  pmm_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_MALLOC(w->bn, (size_t)B * d);
  RTK_MALLOC(w->W, (size_t)B * d);
  RTK_MALLOC(w->corr, (size_t)B * d);
  RTK_MALLOC(w->Yp, (size_t)B * d);
  RTK_MALLOC(w->Sp, (size_t)B * d);
  RTK_MALLOC(w->xi, d);
  RTK_MALLOC(w->idx, B);
  return RTK_OK;
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  pmm_ws *w = ws;
  const rtk_plan *p = ctx->plan;
  const int d = ctx->mix->d, K = (int)ctx->cfg->substeps;
  const size_t nd = (size_t)n * d;
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < p->nseg; k++) {
    if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
    double t0 = rtk_now();
    const double t = p->times[k], h = t - p->times[k + 1], eta = h / K, sq = sqrt(2 * eta);
    rtk_score_set_time(&w->sw, t);
    rtk_score_eval(&w->sw, n, X, NULL, w->bn);
    st->nfe[k] += n;
    for (size_t i = 0; i < nd; i++) {
      w->bn[i] = X[i] + 2 * w->bn[i]; /* b(y_n, t) */
      w->W[i] = 0;
      w->corr[i] = 0;
    }
    for (int i = 0; i < K; i++) {
      int m = 0; /* particles whose midpoint coin for sub-step i came up */
      if (i >= 1)
        for (int b = 0; b < n; b++)
          if (rtk_rng_uniform(ctx->seed, (uint64_t)(gid0 + b), (uint64_t)k, (uint64_t)i, RTK_RNG_AUX) * K < 1) {
            double *y = w->Yp + (size_t)m * d;
            const double *x = X + (size_t)b * d, *bn = w->bn + (size_t)b * d, *Wb = w->W + (size_t)b * d;
            for (int j = 0; j < d; j++) y[j] = x[j] + i * eta * bn[j] + sq * Wb[j];
            w->idx[m++] = b;
          }
      if (m > 0) {
        const double ti = t - i * eta;
        rtk_score_set_time(&w->sw, ti);
        rtk_score_eval(&w->sw, m, w->Yp, NULL, w->Sp);
        st->nfe[k] += m;
        for (int q = 0; q < m; q++) {
          const int b = w->idx[q];
          const double *y = w->Yp + (size_t)q * d, *s = w->Sp + (size_t)q * d, *bn = w->bn + (size_t)b * d;
          double *c = w->corr + (size_t)b * d;
          for (int j = 0; j < d; j++) c[j] += eta * K * (y[j] + 2 * s[j] - bn[j]);
        }
      }
      for (int b = 0; b < n; b++) { /* Brownian increment of sub-step i */
        rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + b), (uint64_t)k, (uint64_t)i, RTK_RNG_STEP, d, w->xi);
        double *Wb = w->W + (size_t)b * d;
        for (int j = 0; j < d; j++) Wb[j] += w->xi[j];
      }
    }
    for (size_t i = 0; i < nd; i++) X[i] += h * w->bn[i] + w->corr[i] + sq * w->W[i];
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_pmm = {
    "pmm", "Poisson Midpoint Method on the DDPM SDE: K LMC sub-steps per step, ~2 NFE/step (random, counted)",
    opts, 1, plan, work_create, work_free, run_block};
