/* unipc: UniPC (Zhao et al. 2023) with the bh2 variant, data prediction,
 * order 2 or 3, in the OU parameterisation (docs/design.md, "UniPC").
 *
 * lambda = log(alpha_t / sigma_t) (= -log of the VE noise level), D the data
 * prediction (x + sigma_t^2 s_t(x)) / alpha_t.  One step from t_{k} (history
 * D_k = m_0, D_{k-1} = m_1, ... at lambdas l_0, l_1, ...) to t with
 * h = lambda_t - l_0, order p:
 *   r_i = (l_i - l_0)/h (i = 1..p-1), r_p = 1, D1_i = (m_i - m_0)/r_i
 *   B = e^{-h} - 1 (bh2),  b_i = i! g_i(-h) / B  (g_i = rtk_expint_g)
 *   R_{ij} = r_j^{i-1}  (i, j = 1..p)
 *   UniP (predictor):  x_t = (sigma_t/sigma_0) x - alpha_t (e^{-h} - 1) m_0 - alpha_t B sum_{i<p} rho^P_i D1_i
 *                      rho^P = 1/2 for p = 2, else R[1..p-1, 1..p-1] rho^P = b[1..p-1]
 *   UniC (corrector):  the same with the new value D_t = D(x_t^pred, t) as one more
 *                      difference D1_p = D_t - m_0 and rho^C = R^{-1} b (1/2 for p = 1)
 * Each step: evaluate D at the predicted x_{t_k} (1 NFE), correct x_{t_k} with
 * it (no extra NFE; the stored history keeps the evaluation at the predicted
 * point), then predict x_{t_{k+1}}.  The order is min(order, k + 1) (warm-up),
 * and min(., S - k) on grids of S < 15 steps (diffusers' lower_order_final,
 * with DPMSolverMultistepScheduler's 15-step threshold); the last step has no corrector;
 * a final step to t = 0 returns D.  NFE = S. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/sampler.h"

#define UNI_MAXORD 3

typedef struct {
  rtk_score_ws sw;
  double *S, *Xl;
  double *Dh[UNI_MAXORD + 1]; /* Dh[0]: newest data prediction */
} uni_ws;

static const rtk_opt opts[] = {
    {"order", RTK_OPT_INT, offsetof(rtk_sampler_cfg, order), "2", 2, 3, 0,
     "UniPC order (predictor UniP-p, corrector UniC raises it by one)"},
    RTK_OPT_END};

static void work_free(void *p) {
  uni_ws *w = p;
  if (!w) return;
  rtk_score_ws_free(&w->sw);
  free(w->S);
  free(w->Xl);
  for (int i = 0; i <= UNI_MAXORD; i++) free(w->Dh[i]);
  free(w);
}

static int work_create(const rtk_block_ctx *ctx, int B, void **out) {
  uni_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  const int d = ctx->mix->d;
  RTK_CHECK(rtk_score_ws_init(ctx->score, ctx->mix, B, &w->sw));
  RTK_MALLOC(w->S, (size_t)B * d);
  RTK_MALLOC(w->Xl, (size_t)B * d);
  for (int i = 0; i <= UNI_MAXORD; i++) RTK_MALLOC(w->Dh[i], (size_t)B * d);
  return RTK_OK;
}

static double lambda_of(double t) { return log(rtk_alpha(t) / sqrt(rtk_sigma2(t))); }

/* solve the m x m system A x = b (m <= 3) by Gaussian elimination with partial pivoting */
static void solve_small(int m, double A[UNI_MAXORD][UNI_MAXORD], double *b, double *x) {
  for (int c = 0; c < m; c++) {
    int piv = c;
    for (int r = c + 1; r < m; r++)
      if (fabs(A[r][c]) > fabs(A[piv][c])) piv = r;
    for (int j = 0; j < m; j++) {
      double tmp = A[c][j];
      A[c][j] = A[piv][j];
      A[piv][j] = tmp;
    }
    double tb = b[c];
    b[c] = b[piv];
    b[piv] = tb;
    for (int r = c + 1; r < m; r++) {
      double f = A[r][c] / A[c][c];
      for (int j = c; j < m; j++) A[r][j] -= f * A[c][j];
      b[r] -= f * b[c];
    }
  }
  for (int r = m - 1; r >= 0; r--) {
    double v = b[r];
    for (int j = r + 1; j < m; j++) v -= A[r][j] * x[j];
    x[r] = v / A[r][r];
  }
}

/* Coefficients of one UniP (corr = 0) or UniC (corr = 1) update from time t0 (history
 * lambdas lam[0..p-1], lam[0] the newest) to t:
 *   x_out = ax x_in + sum_i cD[i] Dh[i] (+ ct D_t for the corrector). */
static void uni_coeffs(int p, int corr, double t0, double t, const double *lam, double *ax, double *cD, double *ct) {
  const double lt = lambda_of(t), h = lt - lam[0], hh = -h;
  const double sig_t = sqrt(rtk_sigma2(t)), at = rtk_alpha(t), sig0 = sqrt(rtk_sigma2(t0));
  const double Bh = expm1(hh);
  double rk[UNI_MAXORD], b[UNI_MAXORD], R[UNI_MAXORD][UNI_MAXORD], rho[UNI_MAXORD] = {0, 0, 0};
  for (int i = 1; i < p; i++) rk[i - 1] = (lam[i] - lam[0]) / h;
  rk[p - 1] = 1;
  double fact = 1;
  for (int i = 1; i <= p; i++) {
    fact *= i;
    b[i - 1] = rtk_expint_g(i, hh) * fact / Bh;
    for (int j = 0; j < p; j++) R[i - 1][j] = pow(rk[j], i - 1);
  }
  const int nd = corr ? p : p - 1; /* number of differences weighted by rho */
  if (!corr && p == 2)
    rho[0] = 0.5;
  else if (corr && p == 1)
    rho[0] = 0.5;
  else if (nd > 0)
    solve_small(nd, R, b, rho);
  *ax = sig_t / sig0;
  for (int i = 0; i <= UNI_MAXORD; i++) cD[i] = 0;
  cD[0] = -at * expm1(hh);
  *ct = 0;
  /* - at B sum_i rho_i (m_i - m_0)/r_i for the history differences */
  for (int i = 1; i < p; i++) {
    const double f = -at * Bh * rho[i - 1] / rk[i - 1];
    cD[i] += f;
    cD[0] -= f;
  }
  if (corr) {
    const double f = -at * Bh * rho[p - 1]; /* r_p = 1 */
    *ct = f;
    cD[0] -= f;
  }
}

static int run_block(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws) {
  uni_ws *w = ws;
  const rtk_plan *p = ctx->plan;
  const int d = ctx->mix->d, S = p->nseg, order = (int)ctx->cfg->order;
  const size_t nd = (size_t)n * d;
  double lam[UNI_MAXORD + 1] = {0}, tprev = 0;
  int prev_order = 0;
  if (ctx->at_boundary) ctx->at_boundary(ctx->user, 0, gid0, n, X);
  for (int k = 0; k < S; k++) {
    double t0 = rtk_now();
    const double t = p->times[k], s = p->times[k + 1];
    const double at = rtk_alpha(t), st2 = rtk_sigma2(t);
    rtk_score_set_time(&w->sw, t);
    rtk_score_eval(&w->sw, n, X, NULL, w->S);
    st->nfe[k] += n;
    /* the new data prediction goes to the spare slot Dh[UNI_MAXORD], rotated in below */
    double *Dn = w->Dh[UNI_MAXORD];
    for (size_t i = 0; i < nd; i++) Dn[i] = (X[i] + st2 * w->S[i]) / at;
    if (k > 0) { /* UniC: correct x_{t_k} from x_{t_{k-1}} with the new evaluation */
      double ax, cD[UNI_MAXORD + 1], ct;
      uni_coeffs(prev_order, 1, tprev, t, lam, &ax, cD, &ct);
      for (size_t i = 0; i < nd; i++) {
        double v = ax * w->Xl[i] + ct * Dn[i];
        for (int j = 0; j < prev_order; j++) v += cD[j] * w->Dh[j][i];
        X[i] = v;
      }
    }
    double *spare = w->Dh[UNI_MAXORD];
    for (int j = UNI_MAXORD; j > 0; j--) {
      w->Dh[j] = w->Dh[j - 1];
      lam[j] = lam[j - 1];
    }
    w->Dh[0] = spare;
    lam[0] = lambda_of(t);
    int po = order < k + 1 ? order : k + 1;
    if (S < 15 && S - k < po) po = S - k; /* lower_order_final, on short grids only */
    memcpy(w->Xl, X, sizeof(double) * nd);
    if (!(s > 0)) {
      for (size_t i = 0; i < nd; i++) X[i] = w->Dh[0][i];
    } else {
      double ax, cD[UNI_MAXORD + 1], ct;
      uni_coeffs(po, 0, t, s, lam, &ax, cD, &ct);
      for (size_t i = 0; i < nd; i++) {
        double v = ax * w->Xl[i];
        for (int j = 0; j < po; j++) v += cD[j] * w->Dh[j][i];
        X[i] = v;
      }
    }
    prev_order = po;
    tprev = t;
    st->seconds[k] += rtk_now() - t0;
    if (ctx->at_boundary) ctx->at_boundary(ctx->user, k + 1, gid0, n, X);
  }
  return RTK_OK;
}

const rtk_sampler_ops rtk_sampler_unipc = {
    "unipc", "UniPC bh2 (Zhao et al. 2023), data prediction, order 2|3, corrector without extra NFE (1 NFE/step)",
    opts, 1, rtk_plan_one_nfe_per_step, work_create, work_free, run_block};
