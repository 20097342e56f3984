/* RTK framework (SPEC §3.2, Algorithm 1 of Huang et al. 2024).
 *
 * The grid T = times[0] > ... > times[S] = delta splits the reverse process
 * into S segments.  Segment k goes from tf = times[k] (current particle x')
 * to tt = times[k+1], h = tf - tt, and samples the reverse transition kernel
 *   pi(z | x') ∝ p_tt(z) exp(-|x' - e^{-h} z|^2 / (2 (1 - e^{-2h})))
 * with an inner MCMC sampler on the energy
 *   g(z)      = -log p_tt(z) + |x' - e^{-h} z|^2 / (2 q),   q = 1 - e^{-2h}
 *   grad g(z) = -s_tt(z) - e^{-h} (x' - e^{-h} z) / q.
 * The particle at the end of the segment is the inner chain's last state.
 *
 * NFE accounting (per particle, exact):
 *   init=ddpm   1 NFE for s_tf(x') in the first segment only; in later segments
 *               the score of x' at tf is the cached score of the previous
 *               segment's last state, so it is free;
 *   z_0         1 NFE (score and energy at the initial state);
 *   MALA        1 NFE per proposal (current state's values are cached). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"

static const rtk_opt mala_opts[] = {
    {"segments", RTK_OPT_INT, offsetof(rtk_sampler_cfg, segments), "5", 1, 100000, 0,
     "number of RTK segments S (ignored for grid=list)"},
    {"inner_steps", RTK_OPT_INT, offsetof(rtk_sampler_cfg, inner_steps), "0", 0, 1e9, 0,
     "MALA proposals per segment; 0 = spend the NFE budget uniformly over segments"},
    {"init", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, init), "ddpm", 0, 0, RTK_INIT_CHOICES,
     "inner-chain start: N(e^h x', (e^{2h}-1) I), one DDPM step, or e^h x'"},
    {"step", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, step), "0.5", 1e-12, 1e6, 0,
     "step size: tau = step / L_k (relative) or tau = step (absolute)"},
    {"step_mode", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, step_mode), "relative", 0, 0, RTK_STEP_CHOICES,
     "relative: L_k = 1/min lam(t_k) + e^{-2h}/(1-e^{-2h}) is the segment's largest curvature"},
    RTK_OPT_END};

/* smallest component variance of p_t over all components and coordinates */
static double min_lambda(const rtk_mixture *m, double t) {
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  double mn = INFINITY;
  for (size_t i = 0; i < (size_t)m->K * m->d; i++) {
    double lam = a * a * m->var[i] + s2;
    if (lam < mn) mn = lam;
  }
  return mn;
}

static int plan(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  RTK_CHECK(rtk_plan_grid(cfg, (int)cfg->segments, p));
  const int S = p->nseg;
  p->has_accept = 1;
  p->nfe = 0;
  for (int k = 0; k < S; k++) {
    const int64_t fixed = 1 + (cfg->init == RTK_INIT_DDPM && k == 0);
    int64_t inner;
    if (cfg->inner_steps > 0) {
      inner = cfg->inner_steps;
    } else {
      int64_t budget = cfg->nfe / S + (k < cfg->nfe % S);
      inner = budget - fixed;
      if (inner < 0) {
        rtk_plan_free(p);
        return RTK_ERR(RTK_ERR_INPUT,
                       "NFE budget %lld is too small for %d segments (each needs at least %lld)",
                       (long long)cfg->nfe, S, (long long)fixed);
      }
    }
    if (inner > 1000000000) {
      rtk_plan_free(p);
      return RTK_ERR(RTK_ERR_INPUT, "too many inner steps (%lld)", (long long)inner);
    }
    p->inner[k] = (int)inner;
    p->nfe_seg[k] = fixed + inner;
    p->nfe += p->nfe_seg[k];
    const double h = p->times[k] - p->times[k + 1];
    const double L = 1.0 / min_lambda(mix, p->times[k + 1]) + exp(-2 * h) / -expm1(-2 * h);
    p->tau[k] = cfg->step_mode == RTK_STEP_RELATIVE ? cfg->step / L : cfg->step;
  }
  return RTK_OK;
}

/* One chain state of a block: position, g, grad g, score at tt, log p at tt. */
typedef struct {
  double *z, *g, *grad, *score, *logp;
} chain;

typedef struct {
  rtk_mixcoef coef;
  rtk_mixwork mw;
  chain cur, prop;
  double *xprev, *xi;
  int B;
} rtk_ws;

static int chain_alloc(chain *c, int B, int d) {
  RTK_MALLOC(c->z, (size_t)B * d);
  RTK_MALLOC(c->grad, (size_t)B * d);
  RTK_MALLOC(c->score, (size_t)B * d);
  RTK_MALLOC(c->g, B);
  RTK_MALLOC(c->logp, B);
  return RTK_OK;
}

static void chain_free(chain *c) {
  free(c->z);
  free(c->grad);
  free(c->score);
  free(c->g);
  free(c->logp);
}

static void work_free(void *p) {
  rtk_ws *w = p;
  if (!w) return;
  rtk_mixcoef_free(&w->coef);
  rtk_mixwork_free(&w->mw);
  chain_free(&w->cur);
  chain_free(&w->prop);
  free(w->xprev);
  free(w->xi);
  free(w);
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  rtk_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int K = ctx->mix->K, d = ctx->mix->d;
  w->B = B;
  RTK_CHECK(rtk_mixcoef_init(ctx->mix, &w->coef));
  RTK_CHECK(rtk_mixwork_init(B, K, d, &w->mw));
  RTK_CHECK(chain_alloc(&w->cur, B, d));
  RTK_CHECK(chain_alloc(&w->prop, B, d));
  RTK_MALLOC(w->xprev, (size_t)B * d);
  RTK_MALLOC(w->xi, d);
  return RTK_OK;
}

/* Segment geometry: e = e^{-h}, q = 1 - e^{-2h}. */
typedef struct {
  double e, q;
} seg_geom;

/* Evaluate the segment energy and its gradient at c->z (1 NFE per particle). */
static void eval_segment(rtk_ws *w, int n, int d, const seg_geom *sg, chain *c) {
  rtk_mix_eval(&w->coef, n, c->z, c->logp, c->score, &w->mw);
  for (int i = 0; i < n; i++) {
    const double *z = c->z + (size_t)i * d, *x = w->xprev + (size_t)i * d, *s = c->score + (size_t)i * d;
    double *gr = c->grad + (size_t)i * d, quad = 0;
    for (int j = 0; j < d; j++) {
      double r = x[j] - sg->e * z[j];
      quad += r * r;
      gr[j] = -s[j] - sg->e * r / sg->q;
    }
    c->g[i] = -c->logp[i] + quad / (2 * sg->q);
  }
}

static void copy_row(chain *dst, const chain *src, int i, int d) {
  memcpy(dst->z + (size_t)i * d, src->z + (size_t)i * d, sizeof(double) * d);
  memcpy(dst->grad + (size_t)i * d, src->grad + (size_t)i * d, sizeof(double) * d);
  memcpy(dst->score + (size_t)i * d, src->score + (size_t)i * d, sizeof(double) * d);
  dst->g[i] = src->g[i];
  dst->logp[i] = src->logp[i];
}

/* Initial state z_0 of segment k from x' (in w->xprev). */
static void init_segment(const rtk_block_ctx *ctx, rtk_ws *w, int64_t gid0, int n, int k, double h,
                         int have_score) {
  const int d = ctx->mix->d, init = ctx->cfg->init;
  const double eh = exp(h), sd = sqrt(expm1(2 * h)), b = 2 * expm1(h);
  for (int i = 0; i < n; i++) {
    const double *x = w->xprev + (size_t)i * d, *s = w->cur.score + (size_t)i * d;
    double *z = w->cur.z + (size_t)i * d;
    if (init != RTK_INIT_MEAN)
      rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, 0, RTK_RNG_SEGINIT, d, w->xi);
    for (int j = 0; j < d; j++) {
      if (init == RTK_INIT_MEAN)
        z[j] = eh * x[j];
      else if (init == RTK_INIT_GAUSSIAN)
        z[j] = eh * x[j] + sd * w->xi[j];
      else
        z[j] = eh * x[j] + (have_score ? b * s[j] : 0) + sd * w->xi[j];
    }
  }
}

static void mala_steps(const rtk_block_ctx *ctx, rtk_ws *w, int64_t gid0, int n, int k,
                       const seg_geom *sg, rtk_stats *st) {
  const int d = ctx->mix->d, nin = ctx->plan->inner[k];
  const double tau = ctx->plan->tau[k], sq = sqrt(2 * tau);
  chain *cur = &w->cur, *prop = &w->prop;
  for (int m = 0; m < nin; m++) {
    for (int i = 0; i < n; i++) {
      const double *z = cur->z + (size_t)i * d, *gr = cur->grad + (size_t)i * d;
      double *zp = prop->z + (size_t)i * d;
      rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, (uint64_t)m + 1, RTK_RNG_PROPOSE, d, w->xi);
      for (int j = 0; j < d; j++) zp[j] = z[j] - tau * gr[j] + sq * w->xi[j];
    }
    eval_segment(w, n, d, sg, prop);
    st->nfe[k] += n;
    st->propose[k] += n;
    for (int i = 0; i < n; i++) {
      const double *z = cur->z + (size_t)i * d, *gr = cur->grad + (size_t)i * d;
      const double *zp = prop->z + (size_t)i * d, *grp = prop->grad + (size_t)i * d;
      double fwd = 0, bwd = 0; /* |zp - z + tau grad(z)|^2 and |z - zp + tau grad(zp)|^2 */
      for (int j = 0; j < d; j++) {
        double a = zp[j] - z[j] + tau * gr[j], b = z[j] - zp[j] + tau * grp[j];
        fwd += a * a;
        bwd += b * b;
      }
      double log_alpha = cur->g[i] - prop->g[i] - bwd / (4 * tau) + fwd / (4 * tau);
      double u = rtk_rng_uniform(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, (uint64_t)m + 1, RTK_RNG_ACCEPT);
      if (log(u) < log_alpha) {
        copy_row(cur, prop, i, d);
        st->accept[k]++;
      }
    }
  }
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  rtk_ws *w = ws;
  const rtk_plan *p = ctx->plan;
  const rtk_mixture *mix = ctx->mix;
  const int d = mix->d;
  const size_t nd = (size_t)n * d;
  int have_score = 0; /* w->cur.score holds s_{times[k]}(X) */
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < p->nseg; k++) {
    double t0 = rtk_now();
    const double tf = p->times[k], tt = p->times[k + 1], h = tf - tt;
    const seg_geom sg = {exp(-h), -expm1(-2 * h)};
    memcpy(w->xprev, X, sizeof(double) * nd);
    if (ctx->cfg->init == RTK_INIT_DDPM && !have_score) {
      rtk_mixcoef_set_time(mix, tf, &w->coef);
      rtk_mix_eval(&w->coef, n, X, NULL, w->cur.score, &w->mw);
      st->nfe[k] += n;
      have_score = 1;
    }
    init_segment(ctx, w, gid0, n, k, h, have_score);
    rtk_mixcoef_set_time(mix, tt, &w->coef);
    eval_segment(w, n, d, &sg, &w->cur);
    st->nfe[k] += n;
    mala_steps(ctx, w, gid0, n, k, &sg, st);
    memcpy(X, w->cur.z, sizeof(double) * nd);
    have_score = 1; /* cur.score = s_tt(X), the next segment's s_tf(x') */
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_rtk_mala = {
    "rtk-mala", "RTK segments solved by MALA with exact energy (1 NFE per proposal)", mala_opts, 1,
    plan, work_create, work_free, run_block};
