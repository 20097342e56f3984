/* exact: i.i.d. draws from p_delta itself (0 NFE) -- the noise-floor row. */
#include <stdlib.h>

#include "rtk/error.h"
#include "rtk/sampler.h"

static int plan(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  (void)mix;
  RTK_CHECK(rtk_plan_alloc(0, p));
  p->times[0] = cfg->delta;
  p->nfe = 0;
  return RTK_OK;
}

static int work_create(const rtk_block_ctx *ctx, int B, void **ws) {
  (void)ctx;
  (void)B;
  *ws = NULL;
  return RTK_OK;
}

static void work_free(void *ws) { (void)ws; }

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  (void)st;
  (void)ws;
  rtk_mixture_sample(ctx->mix, ctx->cfg->delta, ctx->seed, (uint64_t)gid0, n, X);
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  return RTK_OK;
}

static const rtk_opt opts[] = {RTK_OPT_END};

const rtk_sampler_ops rtk_sampler_exact = {
    "exact", "exact i.i.d. samples of p_delta (0 NFE): the Monte Carlo noise floor", opts, 0,
    plan, work_create, work_free, run_block};
