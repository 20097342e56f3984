/* FORS (first-order rejection sampling): the Bernoulli-factory step alone
 * against exact targets, the sampler on an exact RTK segment, and its NFE
 * accounting.  usage: test_fors <name>
 *
 * coin_1d / coin_10d: proposal q = N(0, I_d), tilt w(x) = sum_j b_j tanh(x_j)
 * (bounded), unbiased estimates W = 2U w(x) (U ~ U(0,1)), so |W| <= B with
 * B = 2 sum |b_j| and the accepted points must follow pi ∝ q e^w exactly:
 * pi is a product of 1-D laws ∝ phi(x) e^{b tanh x}, whose CDFs we tabulate.
 * Checks (fixed seeds, N = 1e5 accepted): Kolmogorov-Smirnov per coordinate
 * at family-wise level 1e-3, chi-square of the number of positive
 * coordinates (10-D), the acceptance rate e^{-B} E_q[e^w] within 4 SE, and
 * power: a biased estimator (mean w/2) must fail the same KS test. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/fors.h"
#include "rtk/rng.h"
#include "testutil.h"

/* ---- 1-D tilted normal: density ∝ phi(x) e^{b tanh x}, CDF on a grid ---- */
#define TAB_N 24001
#define TAB_LO (-12.0)
#define TAB_HI 12.0
typedef struct {
  double cdf[TAB_N], Z; /* Z = E_phi[e^{b tanh X}] */
} tilt_tab;

static void tilt_tab_init(tilt_tab *t, double b) {
  const double hx = (TAB_HI - TAB_LO) / (TAB_N - 1);
  double acc = 0, prev = 0;
  t->cdf[0] = 0;
  for (int i = 0; i < TAB_N; i++) {
    double x = TAB_LO + i * hx, f = exp(-0.5 * x * x + b * tanh(x)) / sqrt(2 * M_PI);
    if (i > 0) acc += 0.5 * (f + prev) * hx; /* trapezoid: error O(hx^2) ~ 1e-7 */
    t->cdf[i] = acc;
    prev = f;
  }
  t->Z = acc;
  for (int i = 0; i < TAB_N; i++) t->cdf[i] /= acc;
}

static double tilt_cdf(const tilt_tab *t, double x) {
  if (x <= TAB_LO) return 0;
  if (x >= TAB_HI) return 1;
  double u = (x - TAB_LO) / (TAB_HI - TAB_LO) * (TAB_N - 1);
  int i = (int)u;
  if (i >= TAB_N - 1) return 1;
  double f = u - i;
  return (1 - f) * t->cdf[i] + f * t->cdf[i + 1];
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* sup |F_n - F| of the sorted sample x[0..n-1] */
static double ks_stat(double *x, int64_t n, const tilt_tab *t) {
  qsort(x, (size_t)n, sizeof(double), cmp_double);
  double D = 0;
  for (int64_t i = 0; i < n; i++) {
    double F = tilt_cdf(t, x[i]), a = (double)(i + 1) / n - F, b = F - (double)i / n;
    if (a > D) D = a;
    if (b > D) D = b;
  }
  return D;
}

/* ---- the coin problem: q = N(0, I), W = scale * 2U * w(x) ---- */
typedef struct {
  int d;
  const double *b;
  double scale; /* 1: unbiased; 0.5: biased (mean w/2), for the power check */
  uint64_t seed;
  double B;          /* for the independent overflow count */
  int64_t overflows; /* |W + shift B| > B seen by the estimator */
  double shift;
} coin;

static void coin_propose(void *user, int m, const int *idx, const int64_t *round, double *Z) {
  coin *c = user;
  for (int q = 0; q < m; q++)
    rtk_rng_normals(c->seed, (uint64_t)idx[q], 0, (uint64_t)round[q], RTK_RNG_PROPOSE, c->d, Z + (size_t)idx[q] * c->d);
}

static int64_t coin_estimate(void *user, int m, const int *idx, const int64_t *round, const int64_t *jdx,
                             const double *Z, double *W) {
  coin *c = user;
  for (int q = 0; q < m; q++) {
    const double *z = Z + (size_t)idx[q] * c->d;
    double w = 0;
    for (int j = 0; j < c->d; j++) w += c->b[j] * tanh(z[j]);
    double U = rtk_rng_uniform(c->seed, (uint64_t)idx[q], (uint64_t)round[q], (uint64_t)jdx[q], RTK_RNG_AUX);
    W[q] = c->scale * 2 * U * w;
    if (fabs(W[q] + c->shift * c->B) > c->B) c->overflows++;
  }
  return 0;
}

/* run N independent particles (one block per 1000) of the coin; X [N][d] */
static rtk_fors_counts coin_run(coin *c, double B, double shift, int grow, int64_t N, double *X) {
  rtk_fors_counts cnt = {0, 0, 0, 0, 0, 0};
  c->B = B;
  c->shift = shift;
  for (int64_t g = 0; g < N; g += 1000) {
    int n = (int)(N - g < 1000 ? N - g : 1000);
    rtk_fors_problem pb = {c->d, c->seed, 0, g, B, shift, grow, 100000, c, coin_propose, coin_estimate};
    /* particle ids in the callbacks are local: offset the seed per block instead */
    c->seed = 1000003 * (uint64_t)(g + 1);
    pb.seed = c->seed;
    OK(rtk_fors_run(&pb, n, X + (size_t)g * c->d, &cnt));
  }
  return cnt;
}

/* acceptance e^{shift B - B} E_q[e^w] = e^{(shift-1)B} prod_j Z_j within 4 SE */
static void check_accept(const rtk_fors_counts *cnt, double B, double shift, double Zq, const char *what) {
  double p = exp((shift - 1) * B) * Zq, r = (double)cnt->accepted / cnt->rounds;
  double se = sqrt(p * (1 - p) / cnt->rounds);
  CHECK(fabs(r - p) < 4 * se, "%s: acceptance %.5f vs e^{-B} E_q e^w = %.5f (SE %.5f, %lld rounds)", what, r, p, se,
        (long long)cnt->rounds);
}

static void test_coin_1d(void) {
  const int64_t N = 100000;
  const double b[1] = {0.75}, B = 1.5; /* |W| <= 2 b = B */
  tilt_tab *t = malloc(sizeof *t);
  tilt_tab_init(t, b[0]);
  double *X = malloc(sizeof(double) * N);
  coin c = {1, b, 1, 0, 0, 0, 0};
  rtk_fors_counts cnt = coin_run(&c, B, 0, 0, N, X);
  CHECK(cnt.accepted == N && cnt.exhausted == 0, "accepted %lld exhausted %lld", (long long)cnt.accepted,
        (long long)cnt.exhausted);
  CHECK(cnt.clipped == 0 && c.overflows == 0, "no estimate can leave [-B, B]: %lld", (long long)cnt.clipped);
  const double crit = 1.95 / sqrt((double)N); /* KS at level 1e-3 */
  double D = ks_stat(X, N, t);
  CHECK(D < crit, "1-D KS D = %.5f >= %.5f", D, crit);
  check_accept(&cnt, B, 0, t->Z, "1-D");
  printf("coin_1d: KS D = %.5f (crit %.5f), acceptance %.4f, estimates/round %.3f\n", D, crit,
         (double)cnt.accepted / cnt.rounds, (double)cnt.estimates / cnt.rounds);
  /* shift: window [-2B, 0] after the shift B (W = 2U w lies in [-2b, 2b], so shift 0.5 with B = 2 fits) */
  coin cs = {1, b, 1, 0, 0, 0, 0};
  cnt = coin_run(&cs, 3.0, 0.5, 0, N, X);
  CHECK(cnt.clipped == 0, "shifted window: %lld overflows", (long long)cnt.clipped);
  D = ks_stat(X, N, t);
  CHECK(D < crit, "1-D shifted KS D = %.5f >= %.5f", D, crit);
  check_accept(&cnt, 3.0, 0.5, t->Z, "1-D shift 0.5");
  /* power: an estimator with mean w/2 samples ∝ q e^{w/2}, which the same test must reject */
  coin cb = {1, b, 0.5, 0, 0, 0, 0};
  coin_run(&cb, B, 0, 0, N, X);
  double Db = ks_stat(X, N, t);
  CHECK(Db > crit, "biased estimator not detected: D = %.5f", Db);
  /* overflows: B below max |W| -- every one counted (engine vs the estimator's own count), clip and grow */
  coin cc = {1, b, 1, 0, 0, 0, 0};
  cnt = coin_run(&cc, 0.8, 0, 0, N / 4, X);
  CHECK(cnt.clipped > 0 && cnt.clipped == cc.overflows, "clip: engine %lld vs estimator %lld overflows",
        (long long)cnt.clipped, (long long)cc.overflows);
  coin cg = {1, b, 1, 0, 0, 0, 0};
  cnt = coin_run(&cg, 0.4, 0, 1, N / 4, X);
  /* grow: B doubles per particle, so the estimator's fixed-B count is an upper bound */
  CHECK(cnt.clipped > 0 && cnt.clipped <= cg.overflows && cnt.accepted == N / 4,
        "grow: engine %lld, estimator %lld, accepted %lld", (long long)cnt.clipped, (long long)cg.overflows,
        (long long)cnt.accepted);
  free(X);
  free(t);
}

static void test_coin_10d(void) {
  enum { D = 10 };
  const int64_t N = 100000;
  double b[D], B = 0, Zq = 1;
  tilt_tab *t = malloc(sizeof(tilt_tab) * D);
  for (int j = 0; j < D; j++) {
    b[j] = 0.3 * (j % 2 ? -1 : 1) * (j + 1) / 10.0;
    B += 2 * fabs(b[j]);
    tilt_tab_init(&t[j], b[j]);
    Zq *= t[j].Z;
  }
  double *X = malloc(sizeof(double) * N * D), *col = malloc(sizeof(double) * N);
  coin c = {D, b, 1, 0, 0, 0, 0};
  rtk_fors_counts cnt = coin_run(&c, B, 0, 0, N, X);
  CHECK(cnt.accepted == N && cnt.clipped == 0, "accepted %lld clipped %lld", (long long)cnt.accepted,
        (long long)cnt.clipped);
  check_accept(&cnt, B, 0, Zq, "10-D");
  /* chi-square of the number of positive coordinates (Poisson-binomial, exact by recursion) */
  double pk[D + 1] = {1}, obs[D + 1] = {0};
  for (int j = 0; j < D; j++) {
    double p = 1 - tilt_cdf(&t[j], 0);
    for (int k = j + 1; k >= 1; k--) pk[k] = pk[k] * (1 - p) + pk[k - 1] * p;
    pk[0] *= 1 - p;
  }
  for (int64_t i = 0; i < N; i++) {
    int k = 0;
    for (int j = 0; j < D; j++) k += X[i * D + j] > 0;
    obs[k]++;
  }
  double chi2 = 0, e_acc = 0, o_acc = 0;
  int dof = -1;
  for (int k = 0; k <= D; k++) { /* pool bins until the expected count reaches 20 */
    e_acc += pk[k] * N;
    o_acc += obs[k];
    if (e_acc >= 20 || k == D) {
      chi2 += (o_acc - e_acc) * (o_acc - e_acc) / e_acc;
      dof++;
      e_acc = o_acc = 0;
    }
  }
  /* level 1e-3: chi2_{dof} quantile by the Wilson-Hilferty approximation (z = 3.09) */
  double crit2 = dof * pow(1 - 2.0 / (9 * dof) + 3.09 * sqrt(2.0 / (9 * dof)), 3);
  CHECK(chi2 < crit2, "10-D chi2 = %.2f >= %.2f (%d dof)", chi2, crit2, dof);
  const double crit = 2.23 / sqrt((double)N); /* KS at 1e-4 per coordinate: 1e-3 family-wise */
  double Dmax = 0;
  for (int j = 0; j < D; j++) {
    for (int64_t i = 0; i < N; i++) col[i] = X[i * D + j];
    double Dj = ks_stat(col, N, &t[j]);
    CHECK(Dj < crit, "10-D coordinate %d: KS D = %.5f >= %.5f", j, Dj, crit);
    Dmax = fmax(Dmax, Dj);
  }
  printf("coin_10d: max KS D = %.5f (crit %.5f), chi2 = %.2f (crit %.2f, %d dof), acceptance %.5f\n", Dmax, crit,
         chi2, crit2, dof, (double)cnt.accepted / cnt.rounds);
  /* power: the biased estimator shifts the tilted coordinates */
  coin cb = {D, b, 0.5, 0, 0, 0, 0};
  coin_run(&cb, B, 0, 0, N, X);
  int detected = 0;
  for (int j = 0; j < D; j++) {
    for (int64_t i = 0; i < N; i++) col[i] = X[i * D + j];
    detected |= ks_stat(col, N, &t[j]) > crit;
  }
  CHECK(detected, "10-D: biased estimator not detected");
  free(X);
  free(col);
  free(t);
}

/* ---- the sampler on one RTK segment of a Gaussian target ----
 * Kernel pi(z|x') is Gaussian with precision P = 1/lam + e^{-2h}/q and mean
 * (m/lam + e^{-h} x'/q)/P; residuals (z - mean) sqrt(P) must be N(0,1) and
 * uncorrelated with x'. */
typedef struct {
  double mean, var, cov, clip, acc, nfe;
  int64_t estimates, clipped, rounds;
} seg_law;

static seg_law segment_law(const char **extra, int64_t N, uint64_t seed, double tt) {
  const char *tk[] = {"dim=4", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const int d = m->d;
  char times[64], delta[64];
  snprintf(times, sizeof times, "times=1.0, %.17g", tt);
  snprintf(delta, sizeof delta, "delta=%.17g", tt);
  const char *kv[24] = {"grid=list", times, "T=1", delta};
  int nkv = 4;
  for (; extra && *extra; extra++) kv[nkv++] = *extra;
  kv[nkv] = NULL;
  rtk_sampler_cfg cfg;
  tu_scfg(&rtk_sampler_fors, &cfg, kv);
  tu_run r;
  tu_sample(&rtk_sampler_fors, &cfg, m, seed, N, 128, &r);
  const double h = 1 - tt, e = exp(-h), q = -expm1(-2 * h), t = tt;
  const double lam = rtk_alpha(t) * rtk_alpha(t) * 0.25 + rtk_sigma2(t), mt = rtk_alpha(t) * 0.5, P = 1 / lam + e * e / q;
  double s = 0, ss = 0, sx = 0;
  for (int64_t i = 0; i < N * d; i++) {
    double res = (r.X[i] - (mt / lam + e * r.X0[i] / q) / P) * sqrt(P);
    s += res;
    ss += res * res;
    sx += res * r.X0[i];
  }
  const double n = (double)N * d;
  seg_law L = {s / n, ss / n - (s / n) * (s / n), sx / n, 0, (double)r.st.accept[0] / r.st.propose[0],
               (double)tu_total_nfe(&r) / N, r.st.estimates[0], r.st.clipped[0], r.st.propose[0]};
  L.clip = r.st.estimates[0] ? (double)r.st.clipped[0] / r.st.estimates[0] : 0;
  CHECK(r.st.accept[0] + r.st.exhausted[0] == N, "accepted + exhausted = N");
  tu_run_free(&r);
  rtk_mixture_free(m);
  return L;
}

static int law_ok(const seg_law *L, double n, double k) {
  return fabs(L->mean) < k / sqrt(n) && fabs(L->var - 1) < k * sqrt(2 / n) && fabs(L->cov) < k / sqrt(n);
}

static void test_segment(void) {
  const int64_t N = 40000;
  const double n = (double)N * 4;
  /* curvature 0.5: the reference is half the true curvature, so w != 0 and W <= 0
   * (log-concave): shift 1 maps [-2B, 0] onto the window; bound 10 with 2 stratified
   * nodes leaves < 1e-3 of the estimates clipped (bound 4 with 1 node: 1.5%) */
  const char *good[] = {"curvature=0.5", "shift=1", "bound=10", "points=2", NULL};
  seg_law L = segment_law(good, N, 7, 0.5);
  printf("segment: residual mean %.5f var %.5f cov %.5f, acceptance %.3f, NFE %.2f, clipped %lld of %lld\n", L.mean,
         L.var, L.cov, L.acc, L.nfe, (long long)L.clipped, (long long)L.estimates);
  CHECK(law_ok(&L, n, 5), "fors on the Gaussian segment: mean %.5f var %.5f cov %.5f", L.mean, L.var, L.cov);
  CHECK(L.estimates > 0 && L.clip < 1e-3, "clip fraction %.2e", L.clip);
  /* the plain linear tilt (curvature 0): proposal variance e^{2h} - 1 = 1.7 against the
   * kernel's 0.51, so lower acceptance; still exact once the (damped, Newton) anchor step has
   * moved m to the kernel's mode.  Without the anchor step (m = e^h x') the proposal
   * overshoots and many estimates overflow -- counted, as the check shows */
  const char *lin[] = {"curvature=0", "shift=1", "bound=10", "points=2", NULL};
  seg_law L0 = segment_law(lin, N, 8, 0.5);
  printf("linear tilt: residual mean %.5f var %.5f cov %.5f, acceptance %.3f, clipped %lld of %lld\n", L0.mean,
         L0.var, L0.cov, L0.acc, (long long)L0.clipped, (long long)L0.estimates);
  CHECK(law_ok(&L0, n, 5), "linear tilt: mean %.5f var %.5f cov %.5f", L0.mean, L0.var, L0.cov);
  CHECK(L0.acc < L.acc, "linear tilt acceptance %.3f not below the quadratic reference's %.3f", L0.acc, L.acc);
  const char *lin0[] = {"curvature=0", "shift=1", "bound=10", "points=2", "anchor_steps=0", "max_rounds=20", NULL};
  L0 = segment_law(lin0, N / 4, 8, 0.5);
  CHECK(L0.clip > 0.01, "linear tilt without anchor step: clip fraction %.3f", L0.clip);
  /* power: a bound far too small clips most estimates, and the bias is detected */
  const char *tiny[] = {"curvature=0.5", "shift=1", "bound=0.02", "bound_mode=absolute", NULL};
  seg_law Lt = segment_law(tiny, N, 7, 0.5);
  CHECK(Lt.clip > 0.3, "tiny bound: clip fraction %.3f", Lt.clip);
  CHECK(!law_ok(&Lt, n, 5), "tiny bound bias not detected: mean %.5f var %.5f", Lt.mean, Lt.var);
}

/* ---- NFE: counted by a wrapper around the exact score ---- */
typedef struct {
  const rtk_mixture *mix;
  int64_t rows;
} count_model;
typedef struct {
  rtk_score_ws inner;
  count_model *cm;
} count_ws;
static int cnt_work_create(const void *model, int B, void **ws) {
  count_ws *w = calloc(1, sizeof *w);
  if (!w) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  w->cm = (count_model *)model;
  *ws = w;
  return rtk_score_ws_init(NULL, w->cm->mix, B, &w->inner);
}
static void cnt_work_free(void *ws) {
  count_ws *w = ws;
  rtk_score_ws_free(&w->inner);
  free(w);
}
static void cnt_set_time(const void *model, double t, void *ws) {
  (void)model;
  rtk_score_set_time(&((count_ws *)ws)->inner, t);
}
static void cnt_eval(const void *model, void *ws, int n, const double *X, double *logp, double *score) {
  (void)model;
  count_ws *w = ws;
  w->cm->rows += n;
  rtk_score_eval(&w->inner, n, X, logp, score);
}
static const rtk_score_ops counting_ops = {"counting", "exact score, evaluations counted", NULL, 1, NULL, NULL,
                                           cnt_work_create, cnt_work_free, cnt_set_time, cnt_eval};

static void test_nfe(void) {
  rtk_mixture *m = tu_target("mog-grid", NULL);
  const char *kv[] = {"segments=6", "points=3", "anchor_steps=2", "max_rounds=5", NULL};
  rtk_sampler_cfg cfg;
  tu_scfg(&rtk_sampler_fors, &cfg, kv);
  count_model cm = {m, 0};
  rtk_score sc = {&counting_ops, &cm};
  const int64_t N = 1500;
  double *X[2];
  int64_t tot[2];
  for (int rep = 0; rep < 2; rep++) {
    rtk_plan plan;
    rtk_stats st;
    OK(rtk_sampler_fors.plan(&cfg, m, &plan));
    OK(rtk_stats_alloc(plan.nseg, &st));
    rtk_stats_zero(&st);
    X[rep] = calloc((size_t)N * m->d, sizeof(double));
    cm.rows = 0;
    rtk_block_ctx ctx = {m, &cfg, &plan, 3, NULL, NULL, NULL, &sc};
    const int64_t B = rep ? 100 : 64; /* block sizes must not matter */
    OK(rtk_sample_blocks(&rtk_sampler_fors, &ctx, N, B, 0, (N + B - 1) / B, X[rep], &st, NULL, NULL));
    int64_t sum = 0, ident = 0, exh = 0;
    for (int k = 0; k < plan.nseg; k++) {
      sum += st.nfe[k];
      ident += N * (1 + 2) + 3 * st.estimates[k];
      exh += st.exhausted[k];
      CHECK(st.accept[k] + st.exhausted[k] == N, "segment %d: accepted %lld + exhausted %lld != N", k,
            (long long)st.accept[k], (long long)st.exhausted[k]);
      CHECK(st.propose[k] >= N && st.propose[k] <= 5 * N, "segment %d: rounds %lld", k, (long long)st.propose[k]);
    }
    CHECK(sum == cm.rows, "counted NFE %lld vs evaluations seen by the score %lld", (long long)sum, (long long)cm.rows);
    CHECK(sum == ident, "NFE %lld vs N (1 + anchor_steps) S + points * estimates = %lld", (long long)sum,
          (long long)ident);
    CHECK(plan.nfe_random && plan.has_accept, "plan flags");
    printf("nfe (block %lld): %.2f per particle, %lld exhausted of %lld particle-segments\n", (long long)B,
           (double)sum / N, (long long)exh, (long long)N * plan.nseg);
    tot[rep] = sum;
    rtk_plan_free(&plan);
    rtk_stats_free(&st);
  }
  CHECK(tot[0] == tot[1] && !memcmp(X[0], X[1], sizeof(double) * N * m->d), "blocks 64 vs 100 differ");
  free(X[0]);
  free(X[1]);
  rtk_mixture_free(m);
}

/* ---- clip: an estimate outside [-B, B] is clipped to the nearer end (overflow = clip) ----
 * With every estimate at +big the coins are all (B + B)/(2B) = 1: every round accepts.  At -big (or NaN,
 * which clips to -B) they are all 0: a round accepts only when J = 0, with probability e^{-2B}.  Every
 * estimate is counted as clipped. */
typedef struct {
  double w; /* the estimate every call returns */
} clip_est;

static void clip_propose(void *user, int m, const int *idx, const int64_t *round, double *Z) {
  (void)user;
  (void)round;
  for (int q = 0; q < m; q++) Z[idx[q]] = 0;
}

static int64_t clip_estimate(void *user, int m, const int *idx, const int64_t *round, const int64_t *jdx,
                             const double *Z, double *W) {
  const clip_est *c = user;
  (void)idx, (void)round, (void)jdx, (void)Z;
  for (int q = 0; q < m; q++) W[q] = c->w;
  return 0;
}

static void test_clip(void) {
  const int n = 20000;
  const double B = 0.4, vals[3] = {1e3, -1e3, NAN};
  double *Z = malloc(sizeof(double) * n);
  for (int v = 0; v < 3; v++) {
    clip_est ce = {vals[v]};
    rtk_fors_problem pb = {1, 77 + (uint64_t)v, 0, 0, B, 0, 0, 100000, &ce, clip_propose, clip_estimate};
    rtk_fors_counts cnt = {0, 0, 0, 0, 0, 0};
    OK(rtk_fors_run(&pb, n, Z, &cnt));
    CHECK(cnt.accepted == n && cnt.exhausted == 0, "w = %g: %lld of %d accepted", vals[v], (long long)cnt.accepted, n);
    CHECK(cnt.clipped == cnt.estimates && cnt.estimates > 0, "w = %g: %lld clipped of %lld estimates", vals[v],
          (long long)cnt.clipped, (long long)cnt.estimates);
    if (v == 0) {
      CHECK(cnt.rounds == n, "w = +%g clips to +B: every first round accepts (%lld rounds for %d)", vals[v],
            (long long)cnt.rounds, n);
    } else { /* rounds until J = 0: acceptance per round e^{-2B} within 4 SE */
      const double p = exp(-2 * B), r = (double)cnt.accepted / cnt.rounds, se = sqrt(p * (1 - p) / cnt.rounds);
      CHECK(fabs(r - p) < 4 * se, "w = %g clips to -B: acceptance %.5f vs e^{-2B} = %.5f (SE %.5f)", vals[v], r, p, se);
    }
  }
  free(Z);
}

int main(int argc, char **argv) {
  struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {{"coin_1d", test_coin_1d}, {"coin_10d", test_coin_10d}, {"segment", test_segment}, {"nfe", test_nfe}, {"clip", test_clip}};
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof *tests; i++)
    if (argc < 2 || !strcmp(argv[1], tests[i].name)) {
      tests[i].fn();
      ran++;
    }
  if (!ran) {
    fprintf(stderr, "unknown test %s\n", argc > 1 ? argv[1] : "");
    return 2;
  }
  return tu_report(argc > 1 ? argv[1] : "fors");
}
