/* RTK framework (SPEC §3.2, Algorithm 1 of Huang et al. 2024).
 *
 * The grid T = times[0] > ... > times[S] = delta splits the reverse process
 * into S segments.  Segment k goes from tf = times[k] (current particle x')
 * to tt = times[k+1], h = tf - tt, and samples the reverse transition kernel
 *   pi(z | x') ∝ p_tt(z) exp(-|x' - e^{-h} z|^2 / (2 (1 - e^{-2h})))
 * with an inner sampler on the energy
 *   g(z)      = -log p_tt(z) + |x' - e^{-h} z|^2 / (2 q),   q = 1 - e^{-2h}
 *   grad g(z) = -s_tt(z) - e^{-h} (x' - e^{-h} z) / q.
 * The particle at the end of the segment is the inner chain's last state.
 * Inner samplers: ULA, MALA (exact energy), score-only MALA (energy
 * difference by quadrature of the score), ULD (underdamped Langevin).
 *
 * NFE accounting (per particle, exact):
 *   init=ddpm   1 NFE for s_tf(x').  MALA variants end a segment knowing the
 *               score of their last state, so after the first segment this is
 *               free; ULA/ULD do not, so they pay it in every segment;
 *   MALA        1 NFE at z_0, then 1 per proposal (+1 Simpson, +n Gauss for
 *               score-only); a proposal rejected by the projection radius is
 *               not evaluated and costs 0 (so NFE is then counted, not planned);
 *   ULA, ULD    1 NFE per step (the gradient at the current state).
 *
 * Step sizes: absolute (tau = step), relative (tau = step / L_k with
 * L_k = 1/min lam(t_k) + e^{-2h}/(1 - e^{-2h}), the segment target's largest
 * curvature for separated modes) or adaptive.  Adaptive runs the first
 * `warmup` fraction of each segment's steps as warm-up, per particle so that
 * results stay independent of blocks and ranks, starting from the relative
 * step:
 *   MALA variants: dual averaging of log tau on the Metropolis acceptance
 *     probability towards target_accept (Hoffman & Gelman 2014, as in Stan:
 *     gamma = 0.05, t0 = 10, kappa = 0.75, mu = log(10 tau_0)); after warm-up
 *     the averaged step is used;
 *   ULA, ULD: no acceptance exists, so the warm-up estimates the particle's
 *     local curvature by secants, L_i = max_m |grad g(z_{m+1}) - grad g(z_m)| /
 *     |z_{m+1} - z_m|, and then uses tau_i = step / L_i, clipped to
 *     [tau_0, 10 tau_0] (tau_0 is the relative step, a worst-case bound).
 * Warm-up steps are ordinary steps of the chain: their NFE are counted. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/sampler.h"
#include "rtk/update.h"
#include "rtk/vmath.h"

#include "mala_row.h"

#if defined(__x86_64__) && defined(RTK_VM_X86)
#define HAVE_MALA_ROW 1
#else
#define HAVE_MALA_ROW 0
#endif

/* An elementwise loop (no sums) gives the same bits at any vector width (no FMA: -ffp-contract=off), so on x86-64
 * the hottest one, the proposal, also gets an AVX2 clone that the loader picks where the CPU has it (function
 * multiversioning; the baseline build's loops are SSE2, two doubles wide). */
#if HAVE_MALA_ROW && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__)) /* ifunc: glibc */
#define RTK_ELEMENTWISE __attribute__((target_clones("avx2", "default")))
#else
#define RTK_ELEMENTWISE
#endif

typedef enum { IN_ULA, IN_MALA, IN_MALA_SCORE, IN_ULD } inner_kind;

#define RTK_MALA_SUB 128 /* rows per score evaluation in rtk-mala's steps (mala_steps) */

#define OPT_SEGMENTS \
  {"segments", RTK_OPT_INT, offsetof(rtk_sampler_cfg, segments), "5", 1, 100000, 0, "number of RTK segments S (ignored for grid=list)"}
#define OPT_INNER \
  {"inner_steps", RTK_OPT_INT, offsetof(rtk_sampler_cfg, inner_steps), "0", 0, 1e9, 0, "inner steps per segment; 0 = spend the NFE budget uniformly over segments"}
#define OPT_INIT \
  {"init", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, init), "ddpm", 0, 0, RTK_INIT_CHOICES, "inner-chain start: N(e^h x', (e^{2h}-1) I), one DDPM step, or e^h x'"}
#define OPT_STEP(def) \
  {"step", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, step), def, 1e-12, 1e6, 0, "step size: tau = step (absolute) or step / L_k (relative, adaptive start)"}
#define OPT_STEP_MODE \
  {"step_mode", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, step_mode), "relative", 0, 0, RTK_STEP_CHOICES, "L_k = 1/min lam(t_k) + e^{-2h}/(1-e^{-2h}); adaptive: per-particle warm-up"}
#define OPT_WARMUP \
  {"warmup", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, warmup), "0.3", 0, 1, 0, "adaptive: fraction of each segment's steps used for warm-up"}
#define OPT_TARGET \
  {"target_accept", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, target_accept), "0.57", 0.05, 0.99, 0, "adaptive: acceptance rate targeted by dual averaging"}
#define OPT_RADIUS \
  {"radius", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, radius), "0", 0, 1e12, 0, "projected MALA: reject proposals with |z' - z| > radius (0 = off)"}

static const rtk_opt mala_opts[] = {OPT_SEGMENTS, OPT_INNER, OPT_INIT, OPT_STEP("0.5"), OPT_STEP_MODE,
                                    OPT_WARMUP, OPT_TARGET, OPT_RADIUS, RTK_OPT_END};
static const rtk_opt mala_score_opts[] = {
    OPT_SEGMENTS, OPT_INNER, OPT_INIT, OPT_STEP("0.5"), OPT_STEP_MODE, OPT_WARMUP, OPT_TARGET, OPT_RADIUS,
    {"quad", RTK_OPT_ENUM, offsetof(rtk_sampler_cfg, quad), "trapezoid", 0, 0, RTK_QUAD_CHOICES,
     "energy difference by quadrature of the score: trapezoid (+0 NFE), simpson (+1), gauss (+quad_nodes)"},
    {"quad_nodes", RTK_OPT_INT, offsetof(rtk_sampler_cfg, quad_nodes), "3", 1, 32, 0, "Gauss-Legendre nodes"},
    RTK_OPT_END};
static const rtk_opt ula_opts[] = {OPT_SEGMENTS, OPT_INNER, OPT_INIT, OPT_STEP("0.3"), OPT_STEP_MODE, OPT_WARMUP,
                                   RTK_OPT_END};
static const rtk_opt uld_opts[] = {
    OPT_SEGMENTS, OPT_INNER, OPT_INIT, OPT_STEP("0.6"), OPT_STEP_MODE, OPT_WARMUP,
    {"gamma", RTK_OPT_REAL, offsetof(rtk_sampler_cfg, gamma), "2", 1e-6, 1e6, 0,
     "ULD friction; with relative/adaptive steps in units of sqrt(L_k) (2 = critical damping)"},
    RTK_OPT_END};

/* extra score evaluations per proposal of score-only MALA */
static int quad_extra(const rtk_sampler_cfg *c) { return rtk_quad_count(c->quad, (int)c->quad_nodes); }

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

static int plan_kind(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p, inner_kind kind) {
  RTK_CHECK(rtk_plan_grid(cfg, (int)cfg->segments, p));
  const int S = p->nseg, mala = kind == IN_MALA || kind == IN_MALA_SCORE;
  const int64_t per_step = 1 + (kind == IN_MALA_SCORE ? quad_extra(cfg) : 0);
  p->has_accept = mala;
  p->nfe_random = mala && cfg->radius > 0;
  p->nfe = 0;
  for (int k = 0; k < S; k++) {
    const int ddpm = cfg->init == RTK_INIT_DDPM && (k == 0 || !mala);
    const int64_t fixed = mala + ddpm;
    int64_t inner;
    if (cfg->inner_steps > 0) {
      inner = cfg->inner_steps;
    } else {
      int64_t budget = cfg->nfe / S + (k < cfg->nfe % S);
      inner = (budget - fixed) / per_step;
      if (budget - fixed < 0) {
        rtk_plan_free(p);
        return RTK_ERR(RTK_ERR_INPUT, "NFE budget %lld is too small for %d segments (each needs at least %lld)",
                       (long long)cfg->nfe, S, (long long)fixed);
      }
    }
    if (inner > 1000000000) {
      rtk_plan_free(p);
      return RTK_ERR(RTK_ERR_INPUT, "too many inner steps (%lld)", (long long)inner);
    }
    p->inner[k] = (int)inner;
    p->warmup[k] = cfg->step_mode == RTK_STEP_ADAPTIVE ? (int)floor(cfg->warmup * inner) : 0;
    p->nfe_seg[k] = fixed + inner * per_step;
    p->nfe += p->nfe_seg[k];
    const double h = p->times[k] - p->times[k + 1];
    const double L = 1.0 / min_lambda(mix, p->times[k + 1]) + exp(-2 * h) / -expm1(-2 * h);
    p->tau[k] = cfg->step_mode == RTK_STEP_ABSOLUTE ? cfg->step : cfg->step / L;
  }
  return RTK_OK;
}

/* One chain state of a block: position, g, grad g, score at tt, log p at tt. */
typedef struct {
  double *z, *g, *grad, *score, *logp;
} chain;

typedef struct {
  rtk_score_ws sw;
  chain cur, prop, node;
  double *xprev, *xi, *xi2, *v, *zold, *gold;
  double *tau, *hbar, *ltbar, *lcurv; /* per-particle adaptive state */
  double *qcur; /* rtk-mala-score: quad_part of the current state (kept, not recomputed, within a segment) */
  int *pass;
  double *gp; /* MALA: grad g at the proposals of the group of rows in hand (RTK_MALA_ROWS rows) */
  rtk_mala_row_fn *row;   /* assemble_rows' vector versions (NULL: the scalar loops) */
  rtk_mala_rows_fn *rows;
  double gl_x[32], gl_w[32];          /* Gauss-Legendre nodes/weights on [0, 1] */
  int B;
  int chunk; /* rows that run all their segments before the next rows do (chunk_rows) */
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
  rtk_score_ws_free(&w->sw);
  chain_free(&w->cur);
  chain_free(&w->prop);
  chain_free(&w->node);
  free(w->xprev);
  free(w->xi);
  free(w->xi2);
  free(w->v);
  free(w->zold);
  free(w->gold);
  free(w->tau);
  free(w->hbar);
  free(w->ltbar);
  free(w->lcurv);
  free(w->qcur);
  free(w->pass);
  free(w->gp);
  free(w);
}

/* assemble_rows' versions for the vector-math version in use (rtk_vm_isa(); RTK_VMATH_ISA picks it): avx and
 * avx512f -> AVX2 where the CPU has it (an AVX-512F version was slower, mala_row.h), purec and sse2 the scalar
 * loop (NULL).  Both give the same bits (mala_row_impl.h). */
static rtk_mala_row_fn *row_version(rtk_mala_rows_fn **rows) {
  *rows = NULL;
#if HAVE_MALA_ROW
  const int isa = rtk_vm_isa();
  if (isa == RTK_VM_AVX || isa == RTK_VM_AVX512F) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
      *rows = rtk_mala_rows_avx2;
      return rtk_mala_row_avx2;
    }
  }
#endif
  return NULL;
}

/* Cache blocking.  A block runs its segments in chunks of `chunk` rows: one chunk goes through every segment before
 * the next chunk starts, so that what a segment's steps read and write again and again (about 6 d + K doubles a
 * row: the chain's arrays z, grad g, score, x', the proposal's z and score, and the score's per-row buffers) stays in
 * the core's L2 from one step to the next, instead of a whole block's rows passing through it at every step (at
 * d = 128 a block of 256 rows is 1.7 MB).  chunk = the largest power of two <= B whose rows fit in half of the L2
 * beside the K x d means; the whole block when that is under one GEMM tile (RTK_GEMM_ROWS, include/rtk/mixture.h:
 * a smaller chunk would be padded; at large d nothing fits anyway).  The block stays the unit of scheduling, staging
 * and progress.  Every row's numbers are its own (the same streams, the same operations, groups of RTK_MALA_ROWS rows
 * have no effect on the bits), so the results do not depend on the chunk (core.block_invariance and
 * mpi.reproducibility force chunks through the test hook RTK_TEST_CHUNK = rows). */
static int chunk_rows(int B, int d, int K) {
  const char *hook = getenv("RTK_TEST_CHUNK");
  if (hook && atoi(hook) > 0) return atoi(hook) < B ? atoi(hook) : B;
  long l2 = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
  l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); /* glibc: from cpuid; 0 or -1 where unknown */
#endif
  if (l2 <= 0) l2 = 1L << 20;
  const double row = 8.0 * (6.0 * d + K), budget = 0.5 * (double)l2 - 8.0 * K * d;
  int c = 1;
  while (2 * c <= B && 2 * c * row <= budget) c *= 2;
  return c < RTK_GEMM_ROWS ? B : c;
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  rtk_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  w->B = B;
  w->chunk = chunk_rows(B, d, ctx->mix->K);
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_CHECK(chain_alloc(&w->cur, B, d));
  RTK_CHECK(chain_alloc(&w->prop, B, d));
  RTK_CHECK(chain_alloc(&w->node, B, d));
  RTK_MALLOC(w->xprev, (size_t)B * d);
  RTK_MALLOC(w->v, (size_t)B * d);
  RTK_MALLOC(w->zold, (size_t)B * d);
  RTK_MALLOC(w->gold, (size_t)B * d);
  RTK_MALLOC(w->xi, d);
  RTK_MALLOC(w->xi2, d);
  RTK_MALLOC(w->tau, B);
  RTK_MALLOC(w->hbar, B);
  RTK_MALLOC(w->ltbar, B);
  RTK_MALLOC(w->lcurv, B);
  RTK_MALLOC(w->qcur, B);
  RTK_MALLOC(w->pass, B);
  RTK_MALLOC(w->gp, (size_t)RTK_MALA_ROWS * d);
  w->row = row_version(&w->rows);
  if (ctx->cfg->quad == RTK_QUAD_GAUSS) rtk_gauss_legendre((int)ctx->cfg->quad_nodes, w->gl_x, w->gl_w);
  return RTK_OK;
}

/* Segment geometry: e = e^{-h}, q = 1 - e^{-2h}. */
typedef struct {
  double e, q;
} seg_geom;

/* grad g = -s - e (x' - e z) / q from the score s and r = x' - e z; the energy
 * g = -log p + |x' - e z|^2 / (2q) from log p and the sum of r^2 */
static inline double seg_grad(double s, double r, const seg_geom *sg) { return RTK_SEG_GRAD(s, r, sg->e, sg->q); }
static inline double seg_energy(double logp, double quad, const seg_geom *sg) { return RTK_SEG_ENERGY(logp, quad, sg->q); }

/* Evaluate the segment gradient at c->z, and the energy g if `energy` (rtk-mala
 * only: the other inner samplers never read g, and score models without an
 * energy have none).  1 NFE per particle. */
static void eval_segment(rtk_ws *w, int n, int d, const seg_geom *sg, chain *c, int energy) {
  rtk_score_eval(&w->sw, n, c->z, energy ? c->logp : NULL, c->score);
  for (int i = 0; i < n; i++) {
    const double *z = c->z + (size_t)i * d, *x = w->xprev + (size_t)i * d, *s = c->score + (size_t)i * d;
    double *gr = c->grad + (size_t)i * d, quad = 0;
    if (!energy) { /* no energy, no sum: the loop vectorises */
      for (int j = 0; j < d; j++) gr[j] = seg_grad(s[j], RTK_SEG_RESID(x[j], z[j], sg->e), sg);
      c->g[i] = NAN;
      continue;
    }
    for (int j = 0; j < d; j++) {
      double r = RTK_SEG_RESID(x[j], z[j], sg->e);
      quad += r * r;
      gr[j] = seg_grad(s[j], r, sg);
    }
    c->g[i] = seg_energy(c->logp[i], quad, sg);
  }
}

/* |x' - e z|^2 / (2q): the known quadratic part of g */
static double quad_part(const double *x, const double *z, int d, const seg_geom *sg) {
  double s = 0;
  for (int j = 0; j < d; j++) {
    double r = RTK_SEG_RESID(x[j], z[j], sg->e);
    s += r * r;
  }
  return RTK_SEG_QUAD(s, sg->q);
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

/* e[p] -= <s_p, zp_p - z_p> term by term in the order of j, for the rows p < cnt at offset p d: the rows' sums
 * are independent chains side by side, each in the one-row loop's order (the same bits); s1, e1: a second score
 * summed the same way (NULL: none).  Called with cnt = RTK_MALA_ROWS (a constant, so the rows unroll) or less. */
static inline void quad_rows(int cnt, int d, const double *restrict z, const double *restrict zp,
                             const double *restrict s0, const double *restrict s1, double *restrict e0,
                             double *restrict e1) {
  for (int j = 0; j < d; j++)
    for (int p = 0; p < cnt; p++) {
      const size_t o = (size_t)p * d + j;
      e0[p] -= rtk_quad_term(s0[o], z[o], zp[o]); /* rtk/update.h: shared with the cuda backend */
      if (s1) e1[p] -= rtk_quad_term(s1[o], z[o], zp[o]);
    }
}

/* f(zp) - f(z) for f = -log p_tt from scores only: the integral of
 * <-s(z + a (zp - z)), zp - z> over a in [0, 1] by the chosen rule.
 * Simpson and Gauss evaluate the score at extra points (counted by caller).
 * The particles' sums go RTK_MALA_ROWS rows at a time (quad_rows). */
static void score_energy_diff(const rtk_block_ctx *ctx, rtk_ws *w, int n, double *df) {
  const int d = ctx->mix->d, rule = ctx->cfg->quad, G = RTK_MALA_ROWS;
  chain *cur = &w->cur, *prop = &w->prop, *node = &w->node;
  const int nodes = rtk_quad_count(rule, (int)ctx->cfg->quad_nodes);
  for (int i0 = 0; i0 < n; i0 += G) {
    const size_t o = (size_t)i0 * d;
    double e0[RTK_MALA_ROWS] = {0}, e1[RTK_MALA_ROWS] = {0};
    if (n - i0 >= G)
      quad_rows(G, d, cur->z + o, prop->z + o, cur->score + o, prop->score + o, e0, e1);
    else
      quad_rows(n - i0, d, cur->z + o, prop->z + o, cur->score + o, prop->score + o, e0, e1);
    for (int p = 0; p < G && i0 + p < n; p++) df[i0 + p] = rtk_quad_ends(rule, e0[p], e1[p]);
  }
  for (int q = 0; q < nodes; q++) {
    double a, wt;
    rtk_quad_node(rule, q, w->gl_x, w->gl_w, &a, &wt);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < d; j++) {
        size_t ij = (size_t)i * d + j;
        node->z[ij] = rtk_quad_point(cur->z[ij], prop->z[ij], a);
      }
    rtk_score_eval(&w->sw, n, node->z, NULL, node->score);
    for (int i0 = 0; i0 < n; i0 += G) {
      const size_t o = (size_t)i0 * d;
      double e[RTK_MALA_ROWS] = {0};
      if (n - i0 >= G)
        quad_rows(G, d, cur->z + o, prop->z + o, node->score + o, NULL, e, NULL);
      else
        quad_rows(n - i0, d, cur->z + o, prop->z + o, node->score + o, NULL, e, NULL);
      for (int p = 0; p < G && i0 + p < n; p++) df[i0 + p] += wt * e[p];
    }
  }
}

/* dual averaging (Stan's constants, rtk/update.h), one update with acceptance probability a */
static void dual_average(rtk_ws *w, int i, int m, double a, double target, double mu) {
  rtk_dual_avg s = {w->tau[i], w->hbar[i], w->ltbar[i]};
  rtk_dual_average(&s, m, a, target, mu);
  w->tau[i] = s.tau;
  w->hbar[i] = s.hbar;
  w->ltbar[i] = s.ltbar;
}

/* The proposal of inner step m for particle i, into prop.z:
 *   zp = z + (-tau grad g(z) + sqrt(2 tau) xi),  xi the PROPOSE normals of (k, m + 1);
 * returns whether it passes the projection (|zp - z|^2 <= r2; r2 = 0: no projection). */
RTK_ELEMENTWISE static int propose_row(const rtk_block_ctx *ctx, rtk_ws *w, int64_t gid0, int i, int d, int k, int m, double r2) {
  const double *z = w->cur.z + (size_t)i * d, *gr = w->cur.grad + (size_t)i * d, tau = w->tau[i], sq = sqrt(2 * tau);
  double *zp = w->prop.z + (size_t)i * d, *xi = w->xi;
  rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, (uint64_t)m + 1, RTK_RNG_PROPOSE, d, xi);
  if (r2 == 0) { /* no projection: no distance to sum, so the loop vectorises */
    for (int j = 0; j < d; j++) zp[j] = z[j] + rtk_mala_step(gr[j], tau, sq, xi[j]); /* rtk/update.h */
    return 1;
  }
  double dist = 0;
  for (int j = 0; j < d; j++) {
    double step = rtk_mala_step(gr[j], tau, sq, xi[j]);
    zp[j] = z[j] + step;
    dist += step * step;
  }
  return dist <= r2;
}

/* The scalar rows version (rtk_mala_rows_fn, mala_row.h): the one-row loop of assemble_rows over RTK_MALA_ROWS
 * rows interleaved per coordinate, each row's three sums in the order of j. */
static void rows_scalar(int d, const double *restrict x, const double *restrict z, const double *restrict gr,
                        const double *restrict zp, const double *restrict sp, double e, double q,
                        const double *restrict tau, double *restrict grp, double *restrict sums) {
  double s[RTK_MALA_ROWS][3] = {{0}};
  for (int j = 0; j < d; j++)
    for (int p = 0; p < RTK_MALA_ROWS; p++) {
      const size_t o = (size_t)p * d + j;
      const double r = RTK_SEG_RESID(x[o], zp[o], e), gj = RTK_SEG_GRAD(sp[o], r, e, q);
      s[p][0] += r * r;
      grp[o] = gj;
      rtk_mala_terms(z[o], zp[o], gr[o], gj, tau[p], &s[p][1], &s[p][2]); /* rtk/update.h */
    }
  memcpy(sums, s, sizeof s);
}

/* One pass over the rows i0 .. i0 + cnt - 1 (cnt <= RTK_MALA_ROWS) after the proposals' scores are known, for
 * the rows that passed the projection: the segment gradient at the proposal (row p into w->gp + p d, and prop.g if
 * `energy`; eval_segment's arithmetic) together with the proposal densities' squared norms
 *   fwd = |zp - z + tau grad(z)|^2,  bwd = |z - zp + tau grad(zp)|^2,
 * and qp = |x' - e zp|^2 / (2q) (quad_part of the proposal: the same sum, so the same bits), into
 * fwd[p], bwd[p], qp[p] for row i0 + p.  The three sums of a row run side by side, each in the order of j as
 * before; on AVX2 the elementwise part runs in vector lanes (w->row, mala_row_impl.h), with the same bits and the
 * sums in the same order.  RTK_MALA_ROWS rows that all passed go through one call (w->rows, or rows_scalar):
 * their sums are independent chains that overlap, each still added term by term in the order of j, so every
 * row's bits are its one-row pass's; other groups (the block's last rows, a row that failed) row by row. */
static void assemble_rows(rtk_ws *w, int i0, int cnt, int d, const seg_geom *sg, int energy, double *fwd,
                          double *bwd, double *qp) {
  const size_t o0 = (size_t)i0 * d;
  /* the rows version: the vector one, else the scalar one, unless only a one-row vector version exists */
  rtk_mala_rows_fn *rows = w->rows ? w->rows : w->row ? NULL : rows_scalar;
  double sums[3 * RTK_MALA_ROWS];
  int all = cnt == RTK_MALA_ROWS && rows;
  for (int p = 0; p < cnt; p++) all &= w->pass[i0 + p];
  if (all)
    rows(d, w->xprev + o0, w->cur.z + o0, w->cur.grad + o0, w->prop.z + o0, w->prop.score + o0, sg->e, sg->q,
         w->tau + i0, w->gp, sums);
  for (int p = 0; p < cnt; p++) {
    const int i = i0 + p;
    const size_t o = (size_t)i * d;
    double *sm = sums + 3 * p;
    if (!w->pass[i]) continue;
    if (!all) {
      const double *x = w->xprev + o, *z = w->cur.z + o, *gr = w->cur.grad + o, *zp = w->prop.z + o,
                   *sp = w->prop.score + o, tau = w->tau[i];
      double *grp = w->gp + (size_t)p * d, quad = 0, f = 0, b = 0;
      if (w->row)
        w->row(d, x, z, gr, zp, sp, sg->e, sg->q, tau, grp, sm);
      else {
        for (int j = 0; j < d; j++) {
          const double r = RTK_SEG_RESID(x[j], zp[j], sg->e), gj = seg_grad(sp[j], r, sg);
          quad += r * r;
          grp[j] = gj;
          rtk_mala_terms(z[j], zp[j], gr[j], gj, tau, &f, &b); /* rtk/update.h */
        }
        sm[0] = quad, sm[1] = f, sm[2] = b;
      }
    }
    w->prop.g[i] = energy ? seg_energy(w->prop.logp[i], sm[0], sg) : NAN;
    qp[p] = RTK_SEG_QUAD(sm[0], sg->q);
    fwd[p] = sm[1];
    bwd[p] = sm[2];
  }
}

/* Accepting a proposal: copy what the chain reads later (the gradient from
 * gp, its row in the group's scratch).  prop.logp is not copied: eval_segment's energy already holds it
 * (g), and score-only MALA keeps its energy difference there. */
static void accept_row(rtk_ws *w, int i, int d, const double *gp) {
  chain *dst = &w->cur;
  const chain *src = &w->prop;
  const size_t o = (size_t)i * d;
  memcpy(dst->z + o, src->z + o, sizeof(double) * d);
  memcpy(dst->grad + o, gp, sizeof(double) * d);
  memcpy(dst->score + o, src->score + o, sizeof(double) * d);
  dst->g[i] = src->g[i];
}

/* What one MALA inner step m needs besides the particle. */
typedef struct {
  const rtk_block_ctx *ctx;
  rtk_ws *w;
  const seg_geom *sg;
  rtk_stats *st;
  int64_t gid0;
  int d, k, m, nwarm, next;
  double r2, mu;
  inner_kind kind;
} mala_step;

/* Inner step m for particle i once its proposal's score is known and its row pass (assemble_rows) has given
 * fwd, bwd and qp: the Metropolis test, the warm-up's dual averaging, and the next step's proposal.  Returns
 * whether that proposal passes the projection (0 when there is none). */
static int step_row(const mala_step *s, int i, const double *gp, double fwd, double bwd, double qp) {
  const rtk_block_ctx *ctx = s->ctx;
  rtk_ws *w = s->w;
  const int d = s->d, k = s->k, m = s->m;
  chain *cur = &w->cur, *prop = &w->prop;
  const double *df = prop->logp;
  const double tau = w->tau[i];
  double log_alpha = -INFINITY;
  if (w->pass[i]) {
    /* score-only: quad_part(x', zp) is qp, quad_part(x', z) the kept w->qcur (bitwise what a fresh pass gives) */
    double dg = s->kind == IN_MALA_SCORE ? df[i] + qp - w->qcur[i] : prop->g[i] - cur->g[i];
    log_alpha = rtk_mala_log_alpha(dg, fwd, bwd, tau); /* rtk/update.h: shared with the cuda backend */
  }
  if (m < s->nwarm) {
    dual_average(w, i, m, rtk_mala_prob(log_alpha), ctx->cfg->target_accept, s->mu);
    if (m == s->nwarm - 1) w->tau[i] = exp(w->ltbar[i]);
  }
  /* The test log u < log_alpha (rtk_mala_accept) needs u only for a finite log_alpha <= 0: u lies in (0, 1], so
   * any log_alpha > 0 accepts, and nothing beats -inf (a proposal that failed the projection) or NaN.  The
   * uniform's stream is keyed by (particle, k, m + 1), so the uniforms not drawn change no other number: the
   * decisions are the ones of drawing every u. */
  const int decide = log_alpha <= 0 && log_alpha > -INFINITY;
  if (log_alpha > 0 ||
      (decide && rtk_mala_accept(rtk_rng_uniform(ctx->seed, (uint64_t)(s->gid0 + i), (uint64_t)k, (uint64_t)m + 1,
                                                 RTK_RNG_ACCEPT),
                                 log_alpha))) {
    accept_row(w, i, d, gp);
    w->qcur[i] = qp;
    s->st->accept[k]++;
  }
  return s->next ? w->pass[i] = propose_row(ctx, w, s->gid0, i, d, k, m + 1, s->r2) : 0;
}

/* MALA inner steps.  After each score evaluation one pass per particle does
 * everything elementwise (step_row): the gradient at the proposal, the
 * acceptance, and the next step's proposal (its normals are keyed by
 * (k, m + 2), so drawing them early changes nothing). */
static void mala_steps(const rtk_block_ctx *ctx, rtk_ws *w, int64_t gid0, int n, int k, const seg_geom *sg,
                       rtk_stats *st, inner_kind kind) {
  const int d = ctx->mix->d, nin = ctx->plan->inner[k];
  chain *prop = &w->prop;
  const int energy = kind == IN_MALA;
  mala_step s = {ctx, w, sg, st, gid0, d, k, 0, ctx->plan->warmup[k], 0,
                 ctx->cfg->radius * ctx->cfg->radius, log(10 * ctx->plan->tau[k]), kind};
  int npass = 0;
  if (kind == IN_MALA_SCORE && nin > 0)
    for (int i = 0; i < n; i++) w->qcur[i] = quad_part(w->xprev + (size_t)i * d, w->cur.z + (size_t)i * d, d, sg);
  if (nin > 0)
    for (int i = 0; i < n; i++) npass += w->pass[i] = propose_row(ctx, w, gid0, i, d, k, 0, s.r2);
  /* rtk-mala's step runs over sub-blocks of RTK_MALA_SUB rows: a sub-block's score evaluation, then its rows'
   * passes, so that what a step touches stays in a core's L2 (at d = 128 a 256-row block's six arrays are 1.5 MiB,
   * beside the GEMM's operands).  Every row's numbers are its own and the groups of RTK_MALA_ROWS rows are the
   * same, so the bits do not change (mpi.reproducibility).  rtk-mala-score's quadrature takes the whole block. */
  const int sub = kind == IN_MALA ? RTK_MALA_SUB : n;
  _Static_assert(RTK_MALA_SUB % RTK_MALA_ROWS == 0, "sub-blocks of whole groups");
  for (int m = 0; m < nin; m++) {
    if (RTK_CANCELLED(ctx)) return; /* run_kind reports it */
    st->nfe[k] += (int64_t)npass * (1 + (kind == IN_MALA_SCORE ? quad_extra(ctx->cfg) : 0));
    st->propose[k] += n;
    s.m = m;
    s.next = m + 1 < nin;
    npass = 0;
    for (int s0 = 0; s0 < n; s0 += sub) {
      const int e0 = n - s0 < sub ? n : s0 + sub; /* rows s0 .. e0 - 1 */
      const size_t o = (size_t)s0 * d;
      rtk_score_eval(&w->sw, e0 - s0, prop->z + o, energy ? prop->logp + s0 : NULL, prop->score + o);
      if (kind == IN_MALA_SCORE) score_energy_diff(ctx, w, n, prop->logp); /* df reuses the logp slot */
      for (int i0 = s0; i0 < e0; i0 += RTK_MALA_ROWS) { /* a group's row passes, then its rows in order */
        const int cnt = e0 - i0 < RTK_MALA_ROWS ? e0 - i0 : RTK_MALA_ROWS;
        double fwd[RTK_MALA_ROWS], bwd[RTK_MALA_ROWS], qp[RTK_MALA_ROWS] = {0};
        assemble_rows(w, i0, cnt, d, sg, energy, fwd, bwd, qp);
        for (int p = 0; p < cnt; p++) npass += step_row(&s, i0 + p, w->gp + (size_t)p * d, fwd[p], bwd[p], qp[p]);
      }
    }
    if (ctx->at_inner) ctx->at_inner(ctx->user, k, m + 1, gid0, n, w->cur.z);
  }
}

/* secant curvature update for the ULA/ULD adaptive warm-up */
static void secant_update(rtk_ws *w, int n, int d, int m, int nwarm, double c, double tau0) {
  for (int i = 0; i < n; i++) {
    if (m >= 1 && m <= nwarm) {
      double dz = 0, dg = 0; /* rtk/update.h: shared with the cuda backend */
      for (int j = 0; j < d; j++) {
        size_t ij = (size_t)i * d + j;
        rtk_secant_terms(w->cur.z[ij], w->zold[ij], w->cur.grad[ij], w->gold[ij], &dz, &dg);
      }
      w->lcurv[i] = rtk_secant_curv(w->lcurv[i], dz, dg);
      if (m == nwarm) w->tau[i] = rtk_secant_tau(w->lcurv[i], c, tau0);
    }
  }
  memcpy(w->zold, w->cur.z, sizeof(double) * n * d);
  memcpy(w->gold, w->cur.grad, sizeof(double) * n * d);
}

static void langevin_steps(const rtk_block_ctx *ctx, rtk_ws *w, int64_t gid0, int n, int k, const seg_geom *sg,
                           rtk_stats *st, inner_kind kind) {
  const int d = ctx->mix->d, nin = ctx->plan->inner[k], nwarm = ctx->plan->warmup[k];
  /* relative/adaptive steps measure time in units of 1/sqrt(L_k) (Cheng et al.'s u = 1/L scaling):
   * the friction scales with them, so gamma = 2 is critical damping of the stiffest direction */
  const double gam = ctx->cfg->step_mode == RTK_STEP_ABSOLUTE ? ctx->cfg->gamma
                                                               : ctx->cfg->gamma * sqrt(ctx->cfg->step / ctx->plan->tau[k]);
  chain *cur = &w->cur;
  if (kind == IN_ULD)
    for (int i = 0; i < n; i++)
      rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, 0, RTK_RNG_VELOCITY, d, w->v + (size_t)i * d);
  for (int i = 0; i < n; i++) w->lcurv[i] = 0;
  for (int m = 0; m < nin; m++) {
    if (RTK_CANCELLED(ctx)) return; /* run_kind reports it */
    eval_segment(w, n, d, sg, cur, 0);
    st->nfe[k] += n;
    if (nwarm) secant_update(w, n, d, m, nwarm, ctx->cfg->step, ctx->plan->tau[k]);
    for (int i = 0; i < n; i++) {
      double *z = cur->z + (size_t)i * d, *v = w->v + (size_t)i * d;
      const double *gr = cur->grad + (size_t)i * d, tau = w->tau[i];
      rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, (uint64_t)m + 1, RTK_RNG_PROPOSE, d, w->xi);
      if (kind == IN_ULA) { /* rtk/update.h: shared with the cuda backend */
        const double sq = sqrt(2 * tau);
        for (int j = 0; j < d; j++) z[j] = rtk_ula_update(z[j], gr[j], tau, sq, w->xi[j]);
        continue;
      }
      /* ULD: exact Gaussian integration with the gradient frozen (Cheng et al. 2018) */
      rtk_rng_normals(ctx->seed, (uint64_t)(gid0 + i), (uint64_t)k, (uint64_t)m + 1, RTK_RNG_VELOCITY, d, w->xi2);
      const rtk_uld_coef uc = rtk_uld_coefs(gam, tau);
      for (int j = 0; j < d; j++) rtk_uld_update(&uc, &z[j], &v[j], gr[j], w->xi[j], w->xi2[j]);
    }
    if (ctx->at_inner) ctx->at_inner(ctx->user, k, m + 1, gid0, n, cur->z);
  }
}

static int run_kind(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, rtk_ws *w,
                    inner_kind kind) {
  const rtk_plan *p = ctx->plan;
  const rtk_mixture *mix = ctx->mix;
  const int d = mix->d, mala = kind == IN_MALA || kind == IN_MALA_SCORE;
  const size_t nd = (size_t)n * d;
  int have_score = 0; /* w->cur.score holds s_{times[k]}(X) */
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < p->nseg; k++) {
    if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
    double t0 = rtk_now();
    const double tf = p->times[k], tt = p->times[k + 1], h = tf - tt;
    const seg_geom sg = {exp(-h), -expm1(-2 * h)};
    memcpy(w->xprev, X, sizeof(double) * nd);
    if (ctx->cfg->init == RTK_INIT_DDPM && !have_score) {
      rtk_score_set_time(&w->sw, tf);
      rtk_score_eval(&w->sw, n, X, NULL, w->cur.score);
      st->nfe[k] += n;
      have_score = 1;
    }
    init_segment(ctx, w, gid0, n, k, h, have_score);
    rtk_score_set_time(&w->sw, tt);
    for (int i = 0; i < n; i++) {
      w->tau[i] = p->tau[k];
      w->hbar[i] = 0;
      w->ltbar[i] = 0;
    }
    if (ctx->at_inner) ctx->at_inner(ctx->user, k, 0, gid0, n, w->cur.z);
    if (mala) {
      eval_segment(w, n, d, &sg, &w->cur, kind == IN_MALA);
      st->nfe[k] += n;
      mala_steps(ctx, w, gid0, n, k, &sg, st, kind);
    } else {
      langevin_steps(ctx, w, gid0, n, k, &sg, st, kind);
    }
    if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
    memcpy(X, w->cur.z, sizeof(double) * nd);
    have_score = mala; /* MALA: cur.score = s_tt(X), the next segment's s_tf(x') */
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

/* a block (or a piece of one) in chunks of w->chunk rows (chunk_rows) */
static int run_chunks(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, rtk_ws *w,
                      inner_kind kind) {
  const int d = ctx->mix->d;
  for (int s0 = 0; s0 < n; s0 += w->chunk) {
    const int c = n - s0 < w->chunk ? n - s0 : w->chunk;
    RTK_CHECK(run_kind(ctx, gid0 + s0, c, X + (size_t)s0 * d, st, w, kind));
  }
  return RTK_OK;
}

#define RTK_VARIANT(fn, kind)                                                                          \
  static int plan_##fn(const rtk_sampler_cfg *c, const rtk_mixture *m, rtk_plan *p) {                 \
    return plan_kind(c, m, p, kind);                                                                   \
  }                                                                                                    \
  static int run_##fn(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) { \
    return run_chunks(ctx, gid0, n, X, st, ws, kind);                                                  \
  }
RTK_VARIANT(ula, IN_ULA)
RTK_VARIANT(mala, IN_MALA)
RTK_VARIANT(mala_score, IN_MALA_SCORE)
RTK_VARIANT(uld, IN_ULD)

const rtk_sampler_ops rtk_sampler_rtk_ula = {
    "rtk-ula", "RTK segments solved by the unadjusted Langevin algorithm (1 NFE per step)", ula_opts, 1,
    plan_ula, work_create, work_free, run_ula};
const rtk_sampler_ops rtk_sampler_rtk_mala = {
    "rtk-mala", "RTK segments solved by MALA with exact energy (1 NFE per proposal)", mala_opts, 1,
    plan_mala, work_create, work_free, run_mala};
const rtk_sampler_ops rtk_sampler_rtk_mala_score = {
    "rtk-mala-score", "RTK + MALA whose energy difference is a quadrature of the score (learned-score setting)",
    mala_score_opts, 1, plan_mala_score, work_create, work_free, run_mala_score};
const rtk_sampler_ops rtk_sampler_rtk_uld = {
    "rtk-uld", "RTK segments solved by underdamped Langevin, exact integration of the frozen-gradient step",
    uld_opts, 1, plan_uld, work_create, work_free, run_uld};
