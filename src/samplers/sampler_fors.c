/* fors: first-order rejection sampling (Chen, Chewi, Daskalakis & Rakhlin,
 * arXiv 2602.01338, 2026) on the RTK segment kernels (docs/design.md, "fors").
 *
 * Segment k (tf = times[k] -> tt = times[k+1], h = tf - tt, particle x'), with a
 * quadratic reference of curvature kappa = curvature / lambda_max(tt) at the anchor m:
 *   pi(z | x') ∝ p_tt(z) exp(-|x' - e^{-h} z|^2 / (2 (1 - e^{-2h}))) = q(z) e^{w(z)},
 *   q = N(v (e^h x' / (e^{2h} - 1) + s_tt(m) + kappa m), v I),  v = 1 / (1/(e^{2h} - 1) + kappa),
 *   w(z) = int_0^1 <s_tt(m + u (z - m)) - s_tt(m) + kappa u (z - m), z - m> du,
 * anchor m: m_0 = e^h x', m_{a+1} = m_a + beta (mean(m_a) - m_a), a < anchor_steps, where mean(m) is the
 * proposal mean built at m and beta = 1/(1 + v max_j (1/lambda_min_j - kappa)^+) makes the step
 * exact (Newton) on the stiffest Gaussian component and contracting on every other one.
 * Estimate: W = (1/P) sum_p <s_tt(m + U_p (z - m)) - s_tt(m) + kappa U_p (z - m), z - m>, stratified
 * U_p = (p + V_p)/P, P = points.  Bound: B_k = bound (absolute) or
 * bound * max(1, (v/2) sum_j max(0, 1/lambda_min_j(tt) - kappa)) (relative); shift c = shift * B.
 *
 * NFE (counted, random): per segment 1 + anchor_steps per particle, plus P per
 * estimate.  Recorded per segment: proposed (rounds), accepted, fors_estimates,
 * fors_clipped (overflows |W + c| > B), fors_exhausted (max_rounds reached). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/fors.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"

enum { FORS_ABSOLUTE = 0, FORS_RELATIVE = 1 };
enum { FORS_CLIP = 0, FORS_GROW = 1 };

static const rtk_opt opts[] = {
    {"segments", RTK_OPT_INT, offsetof(rtk_sampler_cfg, segments), "0", 0, 100000, 0,
     "segments S (RTK kernels); 0 = floor(nfe / seg_cost); ignored for grid=list"},
    {"seg_cost", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, fors_seg_cost), "4", 1, 1e9, 0,
     "segments = 0: the NFE one segment is assumed to cost (the counted NFE is the truth)"},
    {"bound", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, fors_bound), "1", 1e-9, 1e6, 0,
     "B: absolute, or times max(1, (v/2) sum_j (1/lambda_min_j - kappa)^+), the mean -W on the stiffest components"},
    {"bound_mode", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, fors_bound_mode), "relative", 0, 0, "absolute|relative",
     "how bound sets B per segment"},
    {"shift", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, fors_shift), "0", -1, 1, 0,
     "estimates are shifted by shift * B: the window for W is [-(1+shift)B, (1-shift)B]"},
    {"curvature", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, fors_curvature), "1", 0, 1e3, 0,
     "reference curvature kappa = curvature / lambda_max(t) of the quadratic model of log p_t (0: linear tilt)"},
    {"points", RTK_OPT_INT, offsetof(rtk_sampler_cfg, fors_points), "1", 1, 64, 0,
     "stratified quadrature nodes per estimate of w (1 NFE each)"},
    {"anchor_steps", RTK_OPT_INT, offsetof(rtk_sampler_cfg, fors_anchor), "1", 0, 100, 0,
     "fixed-point steps moving the linearisation point towards the kernel's mode (1 NFE each)"},
    {"max_rounds", RTK_OPT_INT, offsetof(rtk_sampler_cfg, fors_max_rounds), "1000", 1, 1e9, 0,
     "rounds per particle and segment; then the last proposal is kept (counted as exhausted)"},
    {"overflow", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, fors_overflow), "clip", 0, 0, "clip|grow",
     "an estimate outside [-B, B]: clip it, or reject the round and double B (both counted)"},
    RTK_OPT_END};

/* ---- the Bernoulli-factory engine (rtk/fors.h) ---- */

int rtk_fors_poisson_pieces(double lambda) {
  int np = (int)ceil(lambda / 500);
  return np < 1 ? 1 : np;
}

int64_t rtk_fors_poisson(double lambda, const double *u) {
  const int np = rtk_fors_poisson_pieces(lambda);
  const double mu = lambda / np;
  int64_t J = 0;
  for (int i = 0; i < np; i++) {
    double p = exp(-mu), F = p;
    int64_t j = 0;
    while (u[i] > F && p > 0) {
      j++;
      p *= mu / j;
      F += p;
    }
    J += j;
  }
  return J;
}

typedef struct {
  int64_t round, J, j;
  double V, prod, B;
  int state; /* 0: needs a proposal, 1: inside a round, 2: done */
} fors_particle;

static void start_round(const rtk_fors_problem *pb, int i, fors_particle *p, rtk_fors_counts *cnt, double *u) {
  const int np = rtk_fors_poisson_pieces(2 * p->B);
  rtk_rng_uniforms(pb->seed, (uint64_t)(pb->gid0 + i), pb->key, (uint64_t)p->round, RTK_RNG_ACCEPT, 1 + np, u);
  p->V = u[0];
  p->J = rtk_fors_poisson(2 * p->B, u + 1);
  p->j = 0;
  p->prod = 1;
  if (p->J == 0) { /* empty product 1 > V */
    p->state = 2;
    cnt->accepted++;
  } else {
    p->state = 1;
  }
}

int rtk_fors_run(const rtk_fors_problem *pb, int n, double *Z, rtk_fors_counts *cnt) {
  fors_particle *P = NULL;
  int *idx = NULL;
  int64_t *rnd = NULL, *jdx = NULL;
  double *W = NULL, u[1 + 64];
  int rc = RTK_OK;
  P = calloc((size_t)n + 1, sizeof *P);
  idx = malloc(sizeof(int) * ((size_t)n + 1));
  rnd = malloc(sizeof(int64_t) * ((size_t)n + 1));
  jdx = malloc(sizeof(int64_t) * ((size_t)n + 1));
  W = malloc(sizeof(double) * ((size_t)n + 1));
  if (!P || !idx || !rnd || !jdx || !W) {
    rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) P[i].B = pb->B > RTK_FORS_BMAX ? RTK_FORS_BMAX : pb->B;
  for (;;) {
    if (rtk_cancel_flag && *rtk_cancel_flag) {
      rc = RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
      goto done;
    }
    /* proposals for every particle between rounds */
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (P[i].state != 0) continue;
      if (P[i].round >= pb->max_rounds) { /* keeps its last proposal */
        P[i].state = 2;
        cnt->exhausted++;
        continue;
      }
      idx[m] = i;
      rnd[m++] = P[i].round;
    }
    if (m) pb->propose(pb->user, m, idx, rnd, Z);
    for (int q = 0; q < m; q++) {
      fors_particle *p = P + idx[q];
      cnt->rounds++;
      start_round(pb, idx[q], p, cnt, u);
      p->round++; /* the round being run is p->round - 1 */
    }
    /* one estimate for every particle inside a round */
    m = 0;
    int pending = 0;
    for (int i = 0; i < n; i++) {
      if (P[i].state == 0) pending = 1;
      if (P[i].state != 1) continue;
      idx[m] = i;
      rnd[m] = P[i].round - 1;
      jdx[m++] = P[i].j;
    }
    if (!m) {
      if (pending) continue;
      break;
    }
    cnt->nfe += pb->estimate(pb->user, m, idx, rnd, jdx, Z, W);
    cnt->estimates += m;
    for (int q = 0; q < m; q++) {
      fors_particle *p = P + idx[q];
      const double B = p->B;
      double wh = W[q] + pb->shift * B;
      if (!(fabs(wh) <= B)) { /* overflow (NaN included) */
        cnt->clipped++;
        if (pb->grow && 2 * B <= RTK_FORS_BMAX) {
          p->B = 2 * B;
          p->state = 0; /* the round is rejected */
          continue;
        }
        wh = wh > 0 ? B : -B; /* NaN clips to -B: reject */
      }
      p->prod *= (B + wh) / (2 * B);
      p->j++;
      if (p->prod <= p->V) {
        p->state = 0;
      } else if (p->j == p->J) {
        p->state = 2;
        cnt->accepted++;
      }
    }
  }
done:
  free(P);
  free(idx);
  free(rnd);
  free(jdx);
  free(W);
  return rc;
}

/* ---- the sampler: FORS on the RTK segment kernels ---- */

static int plan(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p) {
  (void)mix;
  int64_t S = cfg->segments > 0 ? cfg->segments : (int64_t)floor(cfg->nfe / cfg->fors_seg_cost);
  if (S < 1) S = 1;
  if (S > 1000000) return RTK_ERR(RTK_ERR_INPUT, "fors: too many segments (%lld)", (long long)S);
  RTK_CHECK(rtk_plan_grid(cfg, (int)S, p));
  p->nfe_random = 1; /* the plan holds the fixed part (the anchor); estimates are counted */
  p->has_accept = 1;
  p->nfe = 0;
  for (int k = 0; k < p->nseg; k++) {
    p->nfe_seg[k] = 1 + cfg->fors_anchor;
    p->nfe += p->nfe_seg[k];
  }
  return RTK_OK;
}

typedef struct {
  rtk_score_ws sw;
  double *M, *Sm, *mu, *Y, *SY, *u, *xi;
  int B, P;
  /* the current segment */
  const rtk_block_ctx *ctx;
  int64_t gid0;
  int k;
  double sd, kappa; /* proposal sd, reference curvature */
} fors_ws;

static void work_free(void *p) {
  fors_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->M);
  free(w->Sm);
  free(w->mu);
  free(w->Y);
  free(w->SY);
  free(w->u);
  free(w->xi);
  free(w);
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  fors_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  w->B = B;
  w->P = (int)ctx->cfg->fors_points;
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_MALLOC(w->M, (size_t)B * d);
  RTK_MALLOC(w->Sm, (size_t)B * d);
  RTK_MALLOC(w->mu, (size_t)B * d);
  RTK_MALLOC(w->Y, (size_t)B * d);
  RTK_MALLOC(w->SY, (size_t)B * d);
  RTK_MALLOC(w->u, (size_t)B * w->P);
  RTK_MALLOC(w->xi, d);
  return RTK_OK;
}

static void propose(void *user, int m, const int *idx, const int64_t *round, double *Z) {
  fors_ws *w = user;
  const rtk_block_ctx *ctx = w->ctx;
  const int d = ctx->mix->d;
  for (int q = 0; q < m; q++) {
    const int i = idx[q];
    rtk_rng_normals(ctx->seed, (uint64_t)(w->gid0 + i), (uint64_t)w->k, (uint64_t)round[q], RTK_RNG_PROPOSE, d, w->xi);
    const double *mu = w->mu + (size_t)i * d;
    double *z = Z + (size_t)i * d;
    for (int j = 0; j < d; j++) z[j] = mu[j] + w->sd * w->xi[j];
  }
}

static int64_t estimate(void *user, int m, const int *idx, const int64_t *round, const int64_t *jdx, const double *Z,
                        double *W) {
  fors_ws *w = user;
  const rtk_block_ctx *ctx = w->ctx;
  const int d = ctx->mix->d, P = w->P;
  for (int q = 0; q < m; q++) {
    const uint64_t c1 = ((uint64_t)round[q] << 32) | (uint64_t)jdx[q];
    rtk_rng_uniforms(ctx->seed, (uint64_t)(w->gid0 + idx[q]), (uint64_t)w->k, c1, RTK_RNG_AUX, P, w->u + (size_t)q * P);
    W[q] = 0;
  }
  for (int p = 0; p < P; p++) {
    for (int q = 0; q < m; q++) {
      const int i = idx[q];
      const double U = (p + w->u[(size_t)q * P + p]) / P;
      const double *mm = w->M + (size_t)i * d, *z = Z + (size_t)i * d;
      double *y = w->Y + (size_t)q * d;
      for (int j = 0; j < d; j++) y[j] = mm[j] + U * (z[j] - mm[j]);
    }
    rtk_score_eval(&w->sw, m, w->Y, NULL, w->SY);
    for (int q = 0; q < m; q++) {
      const int i = idx[q];
      const double *mm = w->M + (size_t)i * d, *z = Z + (size_t)i * d, *s0 = w->Sm + (size_t)i * d,
                   *s = w->SY + (size_t)q * d, *y = w->Y + (size_t)q * d;
      double e = 0;
      for (int j = 0; j < d; j++) e += (s[j] - s0[j] + w->kappa * (y[j] - mm[j])) * (z[j] - mm[j]);
      W[q] += e / P;
    }
  }
  return (int64_t)m * P;
}

/* largest component variance of p_t over components and coordinates, and
 * sum_j max(0, 1/lambda_min_j - kappa) with lambda_min_j the smallest variance of coordinate j
 * (kappa = curvature / largest): twice the mean -W per unit proposal variance on the stiffest components */
static void curvature_range(const rtk_mixture *m, double t, double curvature, double *kappa, double *excess,
                            double *stiff) {
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  double hi = 0;
  for (size_t i = 0; i < (size_t)m->K * m->d; i++) hi = fmax(hi, a * a * m->var[i] + s2);
  *kappa = curvature / hi;
  *excess = *stiff = 0;
  for (int j = 0; j < m->d; j++) {
    double lo = INFINITY;
    for (int k = 0; k < m->K; k++) lo = fmin(lo, a * a * m->var[(size_t)k * m->d + j] + s2);
    *excess += fmax(0, 1 / lo - *kappa);
    *stiff = fmax(*stiff, 1 / lo - *kappa);
  }
}

/* proposal mean v (e^h x'/c2 + s(m) + kappa m) for the linearisation point M, scores S */
static void tilt_mean(int64_t nd, const double *X, const double *M, const double *S, double eh, double c2,
                      double kappa, double v, double *out) {
  for (int64_t i = 0; i < nd; i++) out[i] = v * (eh * X[i] / c2 + S[i] + kappa * M[i]);
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  fors_ws *w = ws;
  const rtk_plan *pl = ctx->plan;
  const rtk_sampler_cfg *cfg = ctx->cfg;
  const int d = ctx->mix->d;
  const int64_t nd = (int64_t)n * d;
  w->ctx = ctx;
  w->gid0 = gid0;
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < pl->nseg; k++) {
    if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
    const double t0 = rtk_now(), tt = pl->times[k + 1], h = pl->times[k] - tt, eh = exp(h), c2 = expm1(2 * h);
    double kappa, excess, stiff;
    curvature_range(ctx->mix, tt, cfg->fors_curvature, &kappa, &excess, &stiff);
    const double v = 1 / (1 / c2 + kappa), beta = 1 / (1 + v * stiff); /* damping of the anchor steps */
    w->k = k;
    w->sd = sqrt(v);
    w->kappa = kappa;
    rtk_score_set_time(&w->sw, tt);
    for (int64_t i = 0; i < nd; i++) w->M[i] = eh * X[i];
    for (int a = 0; a <= cfg->fors_anchor; a++) { /* a < anchor: move m; a = anchor: s_tt(m) */
      rtk_score_eval(&w->sw, n, w->M, NULL, w->Sm);
      st->nfe[k] += n;
      if (a == cfg->fors_anchor) break;
      tilt_mean(nd, X, w->M, w->Sm, eh, c2, kappa, v, w->mu);
      for (int64_t i = 0; i < nd; i++) w->M[i] += beta * (w->mu[i] - w->M[i]);
    }
    tilt_mean(nd, X, w->M, w->Sm, eh, c2, kappa, v, w->mu);
    const double scale = v * excess / 2; /* mean -W on the stiffest Gaussian components */
    const double B = cfg->fors_bound_mode == FORS_ABSOLUTE ? cfg->fors_bound : cfg->fors_bound * fmax(1, scale);
    rtk_fors_problem pb = {d, ctx->seed, (uint64_t)k, gid0, B, cfg->fors_shift, cfg->fors_overflow == FORS_GROW,
                           cfg->fors_max_rounds, w, propose, estimate};
    rtk_fors_counts cnt = {0, 0, 0, 0, 0, 0};
    RTK_CHECK(rtk_fors_run(&pb, n, X, &cnt));
    st->nfe[k] += cnt.nfe;
    st->propose[k] += cnt.rounds;
    st->accept[k] += cnt.accepted;
    st->estimates[k] += cnt.estimates;
    st->clipped[k] += cnt.clipped;
    st->exhausted[k] += cnt.exhausted;
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_fors = {
    "fors",
    "first-order rejection sampling (Chen et al. 2026) of the RTK kernels: Bernoulli factory on score line integrals",
    opts, 1, plan, work_create, work_free, run_block};
