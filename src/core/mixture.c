#include "rtk/mixture.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/vmath.h"

static const double LOG_2PI = 1.8378770664093454835606594728112;

double rtk_alpha(double t) { return exp(-t); }
double rtk_sigma2(double t) { return -expm1(-2.0 * t); }
double rtk_normal_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

int rtk_mixture_alloc(int K, int d, rtk_mixture **out) {
  if (K < 1 || d < 1) return RTK_ERR(RTK_ERR_INPUT, "mixture needs K >= 1 and dim >= 1 (got K=%d, dim=%d)", K, d);
  rtk_mixture *m;
  RTK_MALLOC(m, 1);
  m->K = K;
  m->d = d;
  m->w = calloc((size_t)K, sizeof(double));
  m->mu = calloc((size_t)K * d, sizeof(double));
  m->var = calloc((size_t)K * d, sizeof(double));
  if (!m->w || !m->mu || !m->var) {
    rtk_mixture_free(m);
    return RTK_ERR(RTK_ERR_MEM, "out of memory for a mixture with K=%d, dim=%d", K, d);
  }
  *out = m;
  return RTK_OK;
}

void rtk_mixture_free(rtk_mixture *m) {
  if (!m) return;
  free(m->w);
  free(m->mu);
  free(m->var);
  free(m);
}

int rtk_mixture_validate(const rtk_mixture *m) {
  double s = 0;
  for (int k = 0; k < m->K; k++) {
    if (!(m->w[k] >= 0) || !isfinite(m->w[k]))
      return RTK_ERR(RTK_ERR_INPUT, "mixture weight %d is %g (must be finite and >= 0)", k, m->w[k]);
    s += m->w[k];
    for (int j = 0; j < m->d; j++) {
      double v = m->var[(size_t)k * m->d + j], mu = m->mu[(size_t)k * m->d + j];
      if (!(v > 0) || !isfinite(v))
        return RTK_ERR(RTK_ERR_INPUT, "mixture variance [%d][%d] is %g (must be > 0)", k, j, v);
      if (!isfinite(mu)) return RTK_ERR(RTK_ERR_INPUT, "mixture mean [%d][%d] is not finite", k, j);
    }
  }
  if (fabs(s - 1.0) > 1e-9) return RTK_ERR(RTK_ERR_INPUT, "mixture weights sum to %.17g, not 1", s);
  return RTK_OK;
}

int rtk_mixcoef_init(const rtk_mixture *m, rtk_mixcoef *c) {
  memset(c, 0, sizeof *c);
  c->K = m->K;
  c->d = m->d;
  c->t = NAN;
  RTK_MALLOC(c->A, (size_t)m->K * m->d);
  RTK_MALLOC(c->MA, (size_t)m->K * m->d);
  RTK_MALLOC(c->c, m->K);
  return RTK_OK;
}

void rtk_mixcoef_free(rtk_mixcoef *c) {
  free(c->A);
  free(c->MA);
  free(c->c);
  memset(c, 0, sizeof *c);
}

/* the coefficients at t; cc: the c[] and min_lam that rtk_mixcoef_set_time gave at this t before (the K
 * normalisers: their K d logs are nearly all of the work), or NULL to compute them.  A, MA: the same operations
 * on both paths (the refill's loop is elementwise, so it vectorises; a division has the same bits at any width). */
static void coef_fill(const rtk_mixture *m, double t, const double *cc, double cmin, rtk_mixcoef *c) {
  const int K = m->K, d = m->d;
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  c->t = t;
  c->alpha = a;
  c->sigma2 = s2;
  if (cc) {
    for (size_t i = 0; i < (size_t)K * d; i++) {
      const double lam = a * a * m->var[i] + s2, mk = a * m->mu[i];
      c->A[i] = 1.0 / lam;
      c->MA[i] = mk / lam;
    }
    memcpy(c->c, cc, sizeof(double) * K);
    c->min_lam = cmin;
    return;
  }
  c->min_lam = DBL_MAX;
  for (int k = 0; k < K; k++) {
    double acc = m->w[k] > 0 ? log(m->w[k]) : -INFINITY;
    for (int j = 0; j < d; j++) {
      size_t i = (size_t)k * d + j;
      double lam = a * a * m->var[i] + s2, mk = a * m->mu[i];
      if (lam < c->min_lam) c->min_lam = lam;
      c->A[i] = 1.0 / lam;
      c->MA[i] = mk / lam;
      acc -= 0.5 * (LOG_2PI + log(lam) + mk * mk / lam);
    }
    c->c[k] = acc;
  }
}

void rtk_mixcoef_set_time(const rtk_mixture *m, double t, rtk_mixcoef *c) {
  if (c->t != t) coef_fill(m, t, NULL, 0, c);
}

void rtk_mixcoef_set_time_c(const rtk_mixture *m, double t, const double *cc, double min_lam, rtk_mixcoef *c) {
  if (c->t != t) coef_fill(m, t, cc, min_lam, c);
}

int rtk_mixwork_init(int K, int d, rtk_mixwork *w) {
  memset(w, 0, sizeof *w);
  w->K = K;
  w->d = d;
  const size_t T = RTK_GEMM_ROWS; /* every call is one tile (mixture.h) */
  RTK_MALLOC(w->X2, T * d);
  RTK_MALLOC(w->L, T * K);
  RTK_MALLOC(w->Xpad, T * d);
  RTK_MALLOC(w->Spad, T * d);
  RTK_MALLOC(w->lpad, T);
  RTK_MALLOC(w->rmax, T);
  return RTK_OK;
}

void rtk_mixwork_free(rtk_mixwork *w) {
  free(w->X2);
  free(w->L);
  free(w->Xpad);
  free(w->Spad);
  free(w->lpad);
  free(w->rmax);
  memset(w, 0, sizeof *w);
}

/* L[T][K] = c_k - 1/2 sum_j x_j^2/lam_kj + sum_j x_j m_kj/lam_kj (log of w_k N(x; m_k, lam_k)) for one tile
 * X[T][d], T = RTK_GEMM_ROWS */
static void logits(const rtk_mixcoef *c, const double *X, rtk_mixwork *w) {
  const int K = c->K, d = c->d, T = RTK_GEMM_ROWS;
  const size_t nd = (size_t)T * d;
  for (size_t i = 0; i < nd; i++) w->X2[i] = X[i] * X[i];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, K, d, -0.5, w->X2, d, c->A, d, 0.0, w->L, K);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, K, d, 1.0, X, d, c->MA, d, 1.0, w->L, K);
  for (int b = 0; b < T; b++) {
    double *Lb = w->L + (size_t)b * K;
    for (int k = 0; k < K; k++) Lb[k] += c->c[k];
  }
}

static void eval_tile(const rtk_mixcoef *c, const double *X, double *logp, double *score, rtk_mixwork *w);

/* tiles of RTK_GEMM_ROWS rows (mixture.h); a short last tile goes through the padded scratch */
void rtk_mix_eval(const rtk_mixcoef *c, int n, const double *X, double *logp, double *score,
                  rtk_mixwork *w) {
  const int d = c->d, T = RTK_GEMM_ROWS;
  for (int s = 0; s < n; s += T) {
    const int r = n - s < T ? n - s : T;
    double *lp = logp ? logp + s : NULL, *sc = score ? score + (size_t)s * d : NULL;
    if (r == T) {
      eval_tile(c, X + (size_t)s * d, lp, sc, w);
      continue;
    }
    eval_tile(c, rtk_tile_in(X, d, s, r, w->Xpad), lp ? w->lpad : NULL, sc ? w->Spad : NULL, w);
    if (lp) memcpy(lp, w->lpad, sizeof(double) * r);
    if (sc) memcpy(sc, w->Spad, sizeof(double) * r * d);
  }
}

_Static_assert(RTK_GEMM_ROWS % 4 == 0, "eval_tile takes a tile's rows four at a time");

static void eval_tile(const rtk_mixcoef *c, const double *X, double *logp, double *score, rtk_mixwork *w) {
  const int K = c->K, d = c->d, n = RTK_GEMM_ROWS;
  logits(c, X, w);
  /* log-sum-exp and softmax: shift each row by its maximum, one vector exp over
   * the whole block (rtk/vmath.h: an element's value does not depend on the
   * block, the row or the instruction set), then normalise row by row.  A row's
   * maximum and sum are chains over k in order; four rows' chains run side by
   * side, so that their latencies overlap: the same operations in the same
   * order for every row, hence the same bits as one row at a time. */
  for (int b = 0; b < n; b += 4) {
    const double *L0 = w->L + (size_t)b * K, *L1 = L0 + K, *L2 = L1 + K, *L3 = L2 + K;
    double m[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    for (int k = 0; k < K; k++) {
      m[0] = L0[k] > m[0] ? L0[k] : m[0];
      m[1] = L1[k] > m[1] ? L1[k] : m[1];
      m[2] = L2[k] > m[2] ? L2[k] : m[2];
      m[3] = L3[k] > m[3] ? L3[k] : m[3];
    }
    for (int q = 0; q < 4; q++) {
      double *Lb = w->L + (size_t)(b + q) * K;
      for (int k = 0; k < K; k++) Lb[k] -= m[q];
      w->rmax[b + q] = m[q];
    }
  }
  rtk_vm_exp((size_t)n * K, w->L, w->L);
  for (int b = 0; b < n; b += 4) {
    const double *L0 = w->L + (size_t)b * K, *L1 = L0 + K, *L2 = L1 + K, *L3 = L2 + K;
    double s[4] = {0, 0, 0, 0};
    for (int k = 0; k < K; k++) {
      s[0] += L0[k];
      s[1] += L1[k];
      s[2] += L2[k];
      s[3] += L3[k];
    }
    for (int q = 0; q < 4; q++) {
      double *Lb = w->L + (size_t)(b + q) * K;
      if (logp) logp[b + q] = w->rmax[b + q] + log(s[q]);
      const double inv = 1.0 / s[q];
      for (int k = 0; k < K; k++) Lb[k] *= inv;
    }
  }
  if (!score) return;
  /* score = R MA - x o (R A) */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, K, 1.0, w->L, K, c->MA, d, 0.0, score,
              d);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, K, 1.0, w->L, K, c->A, d, 0.0, w->X2,
              d);
  const size_t nd = (size_t)n * d;
  for (size_t i = 0; i < nd; i++) score[i] -= X[i] * w->X2[i];
}

void rtk_mix_argmax(const rtk_mixcoef *c, int n, const double *X, int *k_out, rtk_mixwork *w) {
  const int K = c->K, d = c->d, T = RTK_GEMM_ROWS;
  for (int s = 0; s < n; s += T) {
    const int r = n - s < T ? n - s : T;
    logits(c, rtk_tile_in(X, d, s, r, w->Xpad), w);
    for (int b = 0; b < r; b++) {
      const double *Lb = w->L + (size_t)b * K;
      int best = 0;
      for (int k = 1; k < K; k++)
        if (Lb[k] > Lb[best]) best = k;
      k_out[s + b] = best;
    }
  }
}

void rtk_mixture_sample(const rtk_mixture *m, double t, uint64_t seed, uint64_t gid0, int n,
                        double *X) {
  const int K = m->K, d = m->d;
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  for (int b = 0; b < n; b++) {
    uint64_t id = gid0 + (uint64_t)b;
    double u = rtk_rng_uniform(seed, id, 0, 0, RTK_RNG_EXACT);
    int k = 0;
    double cum = m->w[0];
    while (k < K - 1 && u >= cum) cum += m->w[++k];
    double *x = X + (size_t)b * d;
    rtk_rng_normals(seed, id, 0, 1, RTK_RNG_EXACT, d, x);
    for (int j = 0; j < d; j++) {
      size_t i = (size_t)k * d + j;
      x[j] = a * m->mu[i] + sqrt(a * a * m->var[i] + s2) * x[j];
    }
  }
}

void rtk_mixture_marginal_cdfs(const rtk_mixture *m, double t, int i, int n, const double *x, double *p) {
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  for (int b = 0; b < n; b++) p[b] = 0;
  /* component-major: one sqrt per component, each p[b] summed in component order */
  for (int k = 0; k < m->K; k++) {
    const size_t ki = (size_t)k * m->d + i;
    const double w = m->w[k], sd = sqrt(a * a * m->var[ki] + s2);
    for (int b = 0; b < n; b++) p[b] += w * rtk_normal_cdf((x[b] - a * m->mu[ki]) / sd);
  }
}

double rtk_mixture_marginal_cdf(const rtk_mixture *m, double t, int i, double x) {
  double p;
  rtk_mixture_marginal_cdfs(m, t, i, 1, &x, &p);
  return p;
}

void rtk_mixture_marginal_range(const rtk_mixture *m, double t, int i, double nsd, double *lo,
                                double *hi) {
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int k = 0; k < m->K; k++) {
    size_t ki = (size_t)k * m->d + i;
    double mk = a * m->mu[ki], sd = sqrt(a * a * m->var[ki] + s2);
    if (mk - nsd * sd < *lo) *lo = mk - nsd * sd;
    if (mk + nsd * sd > *hi) *hi = mk + nsd * sd;
  }
}

void rtk_mixture_moments(const rtk_mixture *m, double t, double *mean, double *cov) {
  const int K = m->K, d = m->d;
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  for (int j = 0; j < d; j++) {
    mean[j] = 0;
    for (int k = 0; k < K; k++) mean[j] += m->w[k] * a * m->mu[(size_t)k * d + j];
  }
  if (!cov) return;
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double s = 0;
      for (int k = 0; k < K; k++) {
        const double *mk = m->mu + (size_t)k * d;
        s += m->w[k] * (a * mk[i] * a * mk[j] + (i == j ? a * a * m->var[(size_t)k * d + i] + s2 : 0));
      }
      cov[(size_t)i * d + j] = s - mean[i] * mean[j];
    }
}
