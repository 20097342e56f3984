#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtk/error.h"
#include "rtk/grid.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"

static const rtk_sampler_ops *const samplers[] = {
    &rtk_sampler_exact,   &rtk_sampler_ddpm,    &rtk_sampler_ddim,    &rtk_sampler_dpmpp2m,
    &rtk_sampler_pmm,     &rtk_sampler_rtk_ula, &rtk_sampler_rtk_uld, &rtk_sampler_rtk_mala,
    &rtk_sampler_rtk_mala_score, &rtk_sampler_heun, &rtk_sampler_unipc, &rtk_sampler_pc, &rtk_sampler_smc,
    &rtk_sampler_fors, NULL};

const rtk_sampler_ops *const *rtk_sampler_all(void) { return samplers; }

/* samplers that read the energy -log p_t (a list rather than a field, so that sampler plug-ins stay unchanged) */
static const rtk_sampler_ops *const energy_samplers[] = {&rtk_sampler_rtk_mala, &rtk_sampler_smc, NULL};

int rtk_sampler_needs_energy(const rtk_sampler_ops *ops) {
  for (int i = 0; energy_samplers[i]; i++)
    if (energy_samplers[i] == ops) return 1;
  return 0;
}

const rtk_sampler_ops *rtk_sampler_lookup(const char *name) {
  for (int i = 0; samplers[i]; i++)
    if (!strcmp(samplers[i]->name, name)) return samplers[i];
  return NULL;
}

const rtk_opt rtk_sampler_common_options[] = {
    {"nfe", RTK_OPT_INT, offsetof(rtk_sampler_cfg, nfe), "100", 1, 1e9, 0,
     "NFE budget per particle (usually swept in [sweep] nfe)"},
    {"T", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, T), "5", 1e-6, 1e4, 0, "time horizon: start from N(0, I) at T"},
    {"grid", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, grid), "geometric", 0, 0, RTK_GRID_CHOICES,
     "time grid (steps for DDPM-type samplers, segment boundaries for RTK)"},
    {"t_min", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, t_min), "0.001", 1e-12, 1e4, 0,
     "geometric grid: last positive time before the final step to delta"},
    {"delta", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, delta), "0", 0, 1e4, 0,
     "early-stopping time: samplers return particles at t = delta, compared to p_delta"},
    {"rho", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, rho), "7", 1e-3, 1e3, 0,
     "grid=karras: exponent rho of the EDM noise-level schedule (sigma = sigma_t/alpha_t from sigma(T) to sigma(t_min))"},
    {"times", RTK_OPT_REALLIST, offsetof(rtk_sampler_cfg, times), "", 0, 1e4, 0,
     "grid=list: explicit decreasing times from T to delta"},
    RTK_OPT_END};

int rtk_plan_alloc(int nseg, rtk_plan *p) {
  memset(p, 0, sizeof *p);
  p->nseg = nseg;
  RTK_MALLOC(p->times, nseg + 1);
  RTK_MALLOC(p->inner, nseg);
  RTK_MALLOC(p->tau, nseg);
  RTK_MALLOC(p->nfe_seg, nseg);
  RTK_MALLOC(p->warmup, nseg);
  return RTK_OK;
}

void rtk_plan_free(rtk_plan *p) {
  free(p->times);
  free(p->inner);
  free(p->tau);
  free(p->nfe_seg);
  free(p->warmup);
  memset(p, 0, sizeof *p);
}

int rtk_plan_grid(const rtk_sampler_cfg *cfg, int S, rtk_plan *p) {
  if (cfg->grid == RTK_GRID_LIST) S = cfg->times.n - 1;
  if (S < 1) return RTK_ERR(RTK_ERR_INPUT, "the grid needs at least one step (got %d)", S);
  RTK_CHECK(rtk_plan_alloc(S, p));
  int rc = cfg->grid == RTK_GRID_KARRAS ? rtk_grid_karras(cfg->T, cfg->t_min, cfg->delta, cfg->rho, S, p->times)
                                        : rtk_grid_build(cfg->grid, cfg->T, cfg->t_min, cfg->delta, cfg->times.v, cfg->times.n, S, p->times);
  if (rc) rtk_plan_free(p); /* a failed plan owns nothing */
  return rc ? rtk_error_trace(rc, __FILE__, __LINE__, __func__) : RTK_OK;
}

int rtk_plan_one_nfe_per_step(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  (void)mix;
  RTK_CHECK(rtk_plan_grid(cfg, (int)cfg->nfe, p));
  for (int k = 0; k < p->nseg; k++) p->nfe_seg[k] = 1;
  p->nfe = p->nseg;
  return RTK_OK;
}

int rtk_stats_alloc(int nseg, rtk_stats *s) {
  memset(s, 0, sizeof *s);
  s->nseg = nseg;
  int n = nseg > 0 ? nseg : 1;
  RTK_MALLOC(s->nfe, n);
  RTK_MALLOC(s->accept, n);
  RTK_MALLOC(s->propose, n);
  RTK_MALLOC(s->seconds, n);
  RTK_MALLOC(s->groups, n);
  RTK_MALLOC(s->resampled, n);
  RTK_MALLOC(s->ess_q, n);
  RTK_MALLOC(s->estimates, n);
  RTK_MALLOC(s->clipped, n);
  RTK_MALLOC(s->exhausted, n);
  return RTK_OK;
}

void rtk_stats_free(rtk_stats *s) {
  free(s->nfe);
  free(s->accept);
  free(s->propose);
  free(s->seconds);
  free(s->groups);
  free(s->resampled);
  free(s->ess_q);
  free(s->estimates);
  free(s->clipped);
  free(s->exhausted);
  memset(s, 0, sizeof *s);
}

void rtk_stats_zero(rtk_stats *s) {
  int n = s->nseg > 0 ? s->nseg : 1;
  memset(s->nfe, 0, sizeof(int64_t) * n);
  memset(s->accept, 0, sizeof(int64_t) * n);
  memset(s->propose, 0, sizeof(int64_t) * n);
  memset(s->seconds, 0, sizeof(double) * n);
  memset(s->groups, 0, sizeof(int64_t) * n);
  memset(s->resampled, 0, sizeof(int64_t) * n);
  memset(s->ess_q, 0, sizeof(int64_t) * n);
  memset(s->estimates, 0, sizeof(int64_t) * n);
  memset(s->clipped, 0, sizeof(int64_t) * n);
  memset(s->exhausted, 0, sizeof(int64_t) * n);
}

double rtk_expint_g(int k, double z) {
  if (fabs(z) < 1) {
    double term = 1, sum = 0; /* term = z^i / (i+k)! */
    for (int i = 1; i <= k; i++) term /= i;
    for (int i = 1; i < 40; i++) {
      term *= z / (i + k);
      sum += term;
      if (fabs(term) < 1e-18 * fabs(sum)) break;
    }
    return sum;
  }
  double g = expm1(z) / z - 1, f = 1;
  for (int j = 2; j <= k; j++) {
    f *= j;
    g = g / z - 1 / f;
  }
  return g;
}

double rtk_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void rtk_draw_initial(uint64_t seed, int64_t gid0, int n, int d, double *X) {
  for (int i = 0; i < n; i++) rtk_rng_normals(seed, (uint64_t)(gid0 + i), 0, 0, RTK_RNG_INIT, d, X + (size_t)i * d);
}

const volatile sig_atomic_t *rtk_cancel_flag = NULL;

int rtk_sample_blocks_next(const rtk_sampler_ops *ops, const rtk_block_ctx *ctx, int64_t B, rtk_next_block_fn next,
                           void *next_user, rtk_stats *st, int (*after_block)(void *user, int64_t gid0, int n),
                           void *user) {
  const int d = ctx->mix->d;
  void *ws = NULL;
  int rc = ops->work_create(ctx, (int)B, &ws);
  int64_t gid0;
  int n;
  double *Xb;
  while (!rc && next(next_user, &gid0, &n, &Xb)) {
    rtk_draw_initial(ctx->seed, gid0, n, d, Xb);
    rc = ops->run_block(ctx, gid0, n, Xb, st, ws);
    if (!rc && after_block && after_block(user, gid0, n)) rc = RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
  }
  if (ws) ops->work_free(ws);
  return rc ? rtk_error_trace(rc, __FILE__, __LINE__, __func__) : RTK_OK;
}

typedef struct range_iter {
  int64_t b, b1, b0, B, N;
  int d;
  double *X;
} range_iter;

static int next_in_range(void *u, int64_t *gid0, int *n, double **Xb) {
  range_iter *r = u;
  if (r->b >= r->b1) return 0;
  *gid0 = r->b * r->B;
  *n = (int)(*gid0 + r->B <= r->N ? r->B : r->N - *gid0);
  *Xb = r->X + (size_t)((r->b - r->b0) * r->B) * r->d;
  r->b++;
  return 1;
}

int rtk_sample_blocks(const rtk_sampler_ops *ops, const rtk_block_ctx *ctx, int64_t N, int64_t B, int64_t b0,
                      int64_t b1, double *X, rtk_stats *st, int (*after_block)(void *user, int64_t gid0, int n),
                      void *user) {
  range_iter it = {b0, b1, b0, B, N, ctx->mix->d, X};
  return rtk_sample_blocks_next(ops, ctx, B, next_in_range, &it, st, after_block, user);
}

void rtk_step_ws_free(void *p) {
  rtk_step_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->S);
  free(w->xi);
  free(w);
}

int rtk_step_ws_create(const rtk_block_ctx *ctx, int B, void **out) {
  rtk_step_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_MALLOC(w->S, (size_t)B * d);
  RTK_MALLOC(w->xi, d);
  return RTK_OK;
}
