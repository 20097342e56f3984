#include "rtk/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/update.h"

int rtk_hist_init(const rtk_mixture *m, double t, int nbins, double nsd, rtk_hist *h) {
  memset(h, 0, sizeof *h);
  if (nbins < 1) return RTK_ERR(RTK_ERR_INPUT, "histograms need at least one bin");
  h->d = m->d;
  h->nbins = nbins;
  RTK_MALLOC(h->lo, m->d);
  RTK_MALLOC(h->hi, m->d);
  RTK_MALLOC(h->count, (size_t)m->d * (nbins + 2));
  for (int i = 0; i < m->d; i++) rtk_mixture_marginal_range(m, t, i, nsd, &h->lo[i], &h->hi[i]);
  return RTK_OK;
}

void rtk_hist_free(rtk_hist *h) {
  free(h->lo);
  free(h->hi);
  free(h->count);
  memset(h, 0, sizeof *h);
}

/* Histogram passes work on tiles of RTK_HIST_TILE coordinates: one tile's
 * counter rows (TILE x (nbins+2) int64, 52 KB at 100 bins) stay in cache
 * while every particle's row segment streams past.  The counts (integers)
 * do not depend on the order, so they are the same bits as a plain pass. */
#define RTK_HIST_TILE 64

/* bins of x[0..m) in coordinates i0..i0+m: rtk_hist_bin, written without
 * branches (the same integers: u = (x - lo) / (hi - lo) and the same
 * truncation of u * nb, clamped before the conversion) */
static void bins_of(const rtk_hist *h, int i0, int m, const double *x, int *bin) {
  const int nb = h->nbins;
  const double *lo = h->lo + i0, *hi = h->hi + i0, fnb = nb;
  for (int i = 0; i < m; i++) {
    const double u = (x[i] - lo[i]) / (hi[i] - lo[i]), v = u * fnb;
    const double vc = v > 0 ? (v < fnb ? v : fnb) : 0;
    int b = 1 + (int)vc;
    b = b > nb ? nb : b;
    b = u >= 0 ? b : 0; /* also NaN: the lower tail */
    bin[i] = u >= 1 ? nb + 1 : b;
  }
}

void rtk_hist_add(rtk_hist *h, int n, const double *X) {
  const int d = h->d, nb = h->nbins;
  int bin[RTK_HIST_TILE];
  for (int i0 = 0; i0 < d; i0 += RTK_HIST_TILE) {
    const int m = d - i0 < RTK_HIST_TILE ? d - i0 : RTK_HIST_TILE;
    int64_t *c = h->count + (size_t)i0 * (nb + 2);
    for (int b = 0; b < n; b++) {
      bins_of(h, i0, m, X + (size_t)b * d + i0, bin);
      for (int i = 0; i < m; i++) c[(size_t)i * (nb + 2) + bin[i]]++;
    }
  }
}

void rtk_tv_signs(const rtk_hist *h, const double *probs, int64_t N, signed char *sign) {
  const size_t nh = (size_t)h->d * (h->nbins + 2);
  for (size_t i = 0; i < nh; i++) {
    double diff = (double)h->count[i] / N - probs[i];
    sign[i] = (signed char)(diff > 0 ? 1 : diff < 0 ? -1 : 0);
  }
}

void rtk_tv_lin_sums(const rtk_hist *h, const signed char *sign, int n, const double *X, int64_t *s1, int64_t *s2) {
  const int d = h->d, nb = h->nbins;
  int bin[RTK_HIST_TILE];
  for (int b = 0; b < n; b++) {
    int64_t u = 0;
    for (int i0 = 0; i0 < d; i0 += RTK_HIST_TILE) {
      const int m = d - i0 < RTK_HIST_TILE ? d - i0 : RTK_HIST_TILE;
      const signed char *sg = sign + (size_t)i0 * (nb + 2);
      bins_of(h, i0, m, X + (size_t)b * d + i0, bin);
      for (int i = 0; i < m; i++) u += sg[(size_t)i * (nb + 2) + bin[i]];
    }
    *s1 += u;
    *s2 += u * u;
  }
}

double rtk_tv_lin_se(int64_t s1, int64_t s2, int64_t N, int d) {
  double m = (double)s1 / N, var = (double)s2 / N - m * m;
  return var > 0 ? sqrt(var / N) / (2.0 * d) : 0;
}

void rtk_hist_exact_probs_rows(const rtk_hist *h, const rtk_mixture *m, double t, int i0, int i1, double *probs) {
  const int nb = h->nbins;
  double *edge = malloc(sizeof(double) * ((size_t)nb + 1)); /* NULL: one edge at a time, the same bits */
  for (int i = i0; i < i1; i++) {
    double *p = probs + (size_t)i * (nb + 2), prev = 0, width = (h->hi[i] - h->lo[i]) / nb;
    /* edge b of the in-range bins; same arithmetic as rtk_hist_bin's bin boundaries */
    for (int b = 0; b <= nb; b++) {
      const double e = b == nb ? h->hi[i] : h->lo[i] + b * width;
      if (edge) edge[b] = e;
      else p[b] = rtk_mixture_marginal_cdf(m, t, i, e);
    }
    if (edge) rtk_mixture_marginal_cdfs(m, t, i, nb + 1, edge, p); /* CDFs at the edges */
    for (int b = 0; b <= nb; b++) {
      const double c = p[b];
      p[b] = c - prev;
      prev = c;
    }
    p[nb + 1] = 1 - prev;
  }
  free(edge);
}

void rtk_hist_exact_probs(const rtk_hist *h, const rtk_mixture *m, double t, double *probs) {
  rtk_hist_exact_probs_rows(h, m, t, 0, h->d, probs);
}

double rtk_binomial_mad(int64_t n, double p) {
  if (p <= 0 || p >= 1 || n <= 0) return 0;
  /* E|X - np| = 2 v C(n, v) p^v (1-p)^{n-v+1},  v = floor(np) + 1 */
  double v = floor(n * p) + 1;
  if (v > n) return 0;
  double lg = lgamma((double)n + 1) - lgamma(v + 1) - lgamma((double)n - v + 1);
  return 2 * v * exp(lg + v * log(p) + ((double)n - v + 1) * log1p(-p));
}

void rtk_marginal_metrics(const rtk_hist *h, const double *probs, int64_t N, double *tv,
                          rtk_marginal_result *r) {
  const int nb = h->nbins, d = h->d;
  double sum_tv = 0, sum_floor = 0, sum_sd = 0;
  for (int i = 0; i < d; i++) {
    const int64_t *c = h->count + (size_t)i * (nb + 2);
    const double *p = probs + (size_t)i * (nb + 2);
    double tvi = 0, fl = 0, var = 0;
    for (int b = 0; b < nb + 2; b++) {
      tvi += fabs((double)c[b] / N - p[b]);
      double mad = rtk_binomial_mad(N, p[b]);
      fl += mad / N;
      double v = N * p[b] * (1 - p[b]) - mad * mad; /* Var|X - Np| */
      var += v > 0 ? v : 0;
    }
    tvi *= 0.5;
    if (tv) tv[i] = tvi;
    sum_tv += tvi;
    sum_floor += 0.5 * fl;
    sum_sd += 0.5 * sqrt(var) / N; /* bins treated as independent */
  }
  r->mean_tv = sum_tv / d;
  r->accuracy = 1 - r->mean_tv;
  r->noise_floor = sum_floor / d;
  r->floor_sd = sum_sd / d; /* coordinates may be dependent: mean of s.d.s bounds the s.d. of the mean */
  r->excess = r->mean_tv - r->noise_floor;
}

double rtk_mode_tv(const rtk_mixture *m, const int64_t *counts, int64_t N) {
  double s = 0;
  for (int k = 0; k < m->K; k++) s += fabs((double)counts[k] / N - m->w[k]);
  return 0.5 * s;
}

void rtk_random_directions(uint64_t seed, int ns, int d, double *U) {
  for (int i = 0; i < ns; i++) {
    double *u = U + (size_t)i * d, nrm = 0;
    /* always Philox4x64: the metrics are the same under every run.rng */
    rtk_rng_normals_gen(RTK_RNG_PHILOX4X64, seed, (uint64_t)i, 0, 0, RTK_RNG_AUX, d, u);
    for (int j = 0; j < d; j++) nrm += u[j] * u[j];
    nrm = sqrt(nrm);
    for (int j = 0; j < d; j++) u[j] /= nrm;
  }
}

int rtk_mixture_project(const rtk_mixture *m, int ns, const double *U, rtk_mixture **out) {
  rtk_mixture *p;
  RTK_CHECK(rtk_mixture_alloc(m->K, ns, &p));
  for (int k = 0; k < m->K; k++) {
    p->w[k] = m->w[k];
    for (int i = 0; i < ns; i++) {
      const double *u = U + (size_t)i * m->d, *mu = m->mu + (size_t)k * m->d, *v = m->var + (size_t)k * m->d;
      double a = 0, b = 0;
      for (int j = 0; j < m->d; j++) {
        a += u[j] * mu[j];
        b += u[j] * u[j] * v[j];
      }
      p->mu[(size_t)k * ns + i] = a;
      p->var[(size_t)k * ns + i] = b;
    }
  }
  *out = p;
  return RTK_OK;
}

void rtk_project(int n, int d, const double *X, int ns, const double *U, double *Y, double *pad) {
  /* tiles of RTK_GEMM_ROWS rows, the last one zero-padded: see mixture.h */
  const int T = RTK_GEMM_ROWS;
  for (int s = 0; s < n; s += T) {
    const int r = n - s < T ? n - s : T;
    double *yp = r == T ? Y + (size_t)s * ns : pad + (size_t)T * d;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, ns, d, 1.0, rtk_tile_in(X, d, s, r, pad), d, U, d, 0.0,
                yp, ns);
    if (r < T) memcpy(Y + (size_t)s * ns, yp, sizeof(double) * r * ns);
  }
}

static inline int64_t fixed(double x, double scale) { return rtk_fixed(x, scale); } /* rtk/update.h */

void rtk_moment_sums(int n, int d, const double *X, int full, int64_t *s1, int64_t *s2) {
  const double S1 = 1048576.0, S2 = 1024.0;
  for (int b = 0; b < n; b++) {
    const double *x = X + (size_t)b * d;
    for (int i = 0; i < d; i++) {
      s1[i] += fixed(x[i], S1);
      if (!full) s2[i] += fixed(x[i] * x[i] * 1e-3, S2 * 1e3);
      else
        for (int j = 0; j < d; j++) s2[(size_t)i * d + j] += fixed(x[i] * x[j] * 1e-3, S2 * 1e3);
    }
  }
}

/* exact variance and fourth central moment of coordinate i of p_t (a 1-D
 * mixture of N(a mu_ki, a^2 lam_ki + sigma^2)) about its mean */
static void coord_moments(const rtk_mixture *m, double t, int i, double mean, double *var, double *mu4) {
  const int d = m->d;
  const double a = rtk_alpha(t), s2t = rtk_sigma2(t);
  double v = 0, q = 0;
  for (int k = 0; k < m->K; k++) {
    const double dk = a * m->mu[(size_t)k * d + i] - mean, sk = a * a * m->var[(size_t)k * d + i] + s2t;
    v += m->w[k] * (dk * dk + sk);
    q += m->w[k] * (dk * dk * dk * dk + 6 * dk * dk * sk + 3 * sk * sk);
  }
  *var = v;
  *mu4 = q;
}

void rtk_moment_errors(const rtk_mixture *m, double t, int64_t N, int full, const int64_t *s1, const int64_t *s2,
                       double *mean_err, double *cov_err) {
  const int d = m->d;
  double *mean = malloc(sizeof(double) * d), *cov = full ? malloc(sizeof(double) * d * d) : NULL;
  rtk_mixture_moments(m, t, mean, full ? cov : NULL);
  double em = 0, ec = 0;
  for (int i = 0; i < d; i++) {
    double mi = (double)s1[i] / 1048576.0 / N;
    em += (mi - mean[i]) * (mi - mean[i]);
  }
  if (full) {
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++) {
        double mi = (double)s1[i] / 1048576.0 / N, mj = (double)s1[j] / 1048576.0 / N;
        double c = (double)s2[(size_t)i * d + j] / 1024.0 / N - mi * mj, e = c - cov[(size_t)i * d + j];
        ec += e * e;
      }
  } else {
    for (int i = 0; i < d; i++) {
      double var, mu4;
      coord_moments(m, t, i, mean[i], &var, &mu4);
      double mi = (double)s1[i] / 1048576.0 / N, v = (double)s2[i] / 1024.0 / N - mi * mi, e = v - var;
      ec += e * e;
    }
  }
  *mean_err = sqrt(em);
  *cov_err = sqrt(ec);
  free(mean);
  free(cov);
}

int rtk_moment_kl(const rtk_mixture *m, double t, int64_t N, int full, const int64_t *s1, const int64_t *s2,
                  rtk_moment_kl_result *r) {
  const int d = m->d;
  const double n = (double)N;
  double *mean;
  RTK_MALLOC(mean, d);
  rtk_mixture_moments(m, t, mean, NULL);
  double raw = 0, floor = 0, var = 0;
  for (int i = 0; i < d; i++) {
    double v, mu4;
    coord_moments(m, t, i, mean[i], &v, &mu4);
    const double mh = (double)s1[i] / 1048576.0 / n;
    const double vh = (double)s2[full ? (size_t)i * d + i : (size_t)i] / 1024.0 / n - mh * mh;
    const double z1 = (mh - mean[i]) / sqrt(v), q1 = 1 / n;          /* standardised mean error, its noise variance */
    const double z2 = (vh - v) / v, q2 = (mu4 / (v * v) - 1) / n;   /* relative variance error, its noise variance */
    const double b1 = fmax(z1 * z1 - q1, 0), b2 = fmax(z2 * z2 - q2, 0);
    raw += z1 * z1 / 2 + z2 * z2 / 4;
    floor += q1 / 2 + q2 / 4;
    var += (2 * q1 * q1 + 4 * b1 * q1) / 4 + (2 * q2 * q2 + 4 * b2 * q2) / 16;
  }
  free(mean);
  *r = (rtk_moment_kl_result){raw - floor, sqrt(var), raw, floor};
  return RTK_OK;
}

/* ---- Fréchet distance ------------------------------------------------------ */

/* LAPACK (OpenBLAS ships it): symmetric eigenvalues/vectors, divide and
 * conquer.  Fortran calling convention, with the hidden lengths of the two
 * character arguments. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t ljobz,
                    size_t luplo);

/* eigenvalues w[n] (ascending) of the symmetric A[n][n]; with vectors, the
 * rows of A become the eigenvectors (A is column-major to LAPACK) */
static int sym_eig(int n, double *A, double *w, int vectors) {
  const char jobz = vectors ? 'V' : 'N', uplo = 'U';
  int lwork = -1, liwork = -1, info = 0, iw;
  double wq;
  dsyevd_(&jobz, &uplo, &n, A, &n, w, &wq, &lwork, &iw, &liwork, &info, 1, 1);
  if (info) return RTK_ERR(RTK_ERR_RUNTIME, "LAPACK dsyevd workspace query failed (info %d)", info);
  lwork = (int)wq + 1;
  liwork = iw > 1 ? iw : 1;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  int *iwork = malloc(sizeof(int) * (size_t)liwork);
  if (!work || !iwork) {
    free(work);
    free(iwork);
    return RTK_ERR(RTK_ERR_MEM, "out of memory (eigenvalues of a %d x %d matrix)", n, n);
  }
  dsyevd_(&jobz, &uplo, &n, A, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  free(work);
  free(iwork);
  if (info) return RTK_ERR(RTK_ERR_RUNTIME, "LAPACK dsyevd failed (info %d) on a %d x %d matrix", info, n, n);
  return RTK_OK;
}

int rtk_frechet_ref_init(const rtk_mixture *m, double t, rtk_frechet_ref *r) {
  memset(r, 0, sizeof *r);
  const int K = m->K, d = m->d;
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  r->d = d;
  r->t = t;
  RTK_MALLOC(r->mean, d);
  RTK_MALLOC(r->sqrtC, (size_t)d * d);
  double *Mw = malloc(sizeof(double) * (size_t)K * d), *C = malloc(sizeof(double) * (size_t)d * d),
         *lam = malloc(sizeof(double) * d), *dg = calloc((size_t)d, sizeof(double));
  int rc = Mw && C && lam && dg ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory (Fréchet reference, d = %d)", d);
  if (!rc) {
    /* C = sum_k w_k (a mu_k - m)(a mu_k - m)^T + diag(sum_k w_k (a^2 v_k + s2)) */
    for (int j = 0; j < d; j++) r->mean[j] = 0;
    for (int k = 0; k < K; k++)
      for (int j = 0; j < d; j++) {
        r->mean[j] += m->w[k] * a * m->mu[(size_t)k * d + j];
        dg[j] += m->w[k] * (a * a * m->var[(size_t)k * d + j] + s2);
      }
    for (int k = 0; k < K; k++) {
      const double sw = sqrt(m->w[k]);
      for (int j = 0; j < d; j++) Mw[(size_t)k * d + j] = sw * (a * m->mu[(size_t)k * d + j] - r->mean[j]);
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, K, 1.0, Mw, d, 0.0, C, d);
    r->trC = 0;
    for (int j = 0; j < d; j++) {
      C[(size_t)j * d + j] += dg[j];
      r->trC += C[(size_t)j * d + j];
    }
    /* row-major upper = column-major lower: mirror so LAPACK's 'U' sees it */
    for (int i = 0; i < d; i++)
      for (int j = i + 1; j < d; j++) C[(size_t)j * d + i] = C[(size_t)i * d + j];
    rc = sym_eig(d, C, lam, 1);
  }
  if (!rc) {
    /* C^{1/2} = V^T diag(sqrt lam) V with the eigenvectors as rows of V:
     * scale row k by lam_k^{1/4} and form W^T W */
    for (int k = 0; k < d; k++) {
      const double s = sqrt(sqrt(lam[k] > 0 ? lam[k] : 0));
      for (int j = 0; j < d; j++) C[(size_t)k * d + j] *= s;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, C, d, C, d, 0.0, r->sqrtC, d);
  }
  free(Mw);
  free(C);
  free(lam);
  free(dg);
  if (rc) rtk_frechet_ref_free(r);
  return rc;
}

void rtk_frechet_ref_free(rtk_frechet_ref *r) {
  free(r->mean);
  free(r->sqrtC);
  memset(r, 0, sizeof *r);
}

/* y = x - m is quantised per particle to an integer multiple of 2^-12 with
 * |y| <= 256 (so |q| <= 2^20).  Sums of such integers, and of their products
 * (<= 2^40) over at most 4096 particles (< 2^53), are exact in double
 * precision whatever the order in which DSYRK adds them; so the int64 totals
 * do not depend on the block size, the rank count or the BLAS threads. */
#define FD_SCALE RTK_FD_SCALE
#define FD_CHUNK 4096

void rtk_frechet_sums(const rtk_frechet_ref *r, int n, const double *X, double *Y, double *G, int64_t *s1,
                      int64_t *s2) {
  const int d = r->d;
  for (int b = 0; b < n; b++)
    for (int j = 0; j < d; j++) {
      const double q = rtk_fd_quant(X[(size_t)b * d + j] - r->mean[j]); /* rtk/update.h */
      Y[(size_t)b * d + j] = q;
      s1[j] += (int64_t)q;
    }
  for (int c0 = 0; c0 < n; c0 += FD_CHUNK) {
    const int m = n - c0 < FD_CHUNK ? n - c0 : FD_CHUNK;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, m, 1.0, Y + (size_t)c0 * d, d, 0.0, G, d);
    for (int i = 0; i < d; i++)
      for (int j = i; j < d; j++) s2[(size_t)i * d + j] += (int64_t)G[(size_t)i * d + j];
  }
}

int rtk_frechet_from_moments(const rtk_frechet_ref *r, const double *m1, const double *C1, double *fd) {
  const int d = r->d;
  double *T = malloc(sizeof(double) * (size_t)d * d), *M = malloc(sizeof(double) * (size_t)d * d),
         *mu = malloc(sizeof(double) * d);
  int rc = T && M && mu ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory (Fréchet distance, d = %d)", d);
  if (!rc) {
    double dm = 0, tr1 = 0, trs = 0;
    for (int j = 0; j < d; j++) {
      dm += (m1[j] - r->mean[j]) * (m1[j] - r->mean[j]);
      tr1 += C1[(size_t)j * d + j];
    }
    /* M = C^{1/2} C1 C^{1/2}, symmetrised */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, C1, d, r->sqrtC, d, 0.0, T, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, r->sqrtC, d, T, d, 0.0, M, d);
    for (int i = 0; i < d; i++)
      for (int j = i + 1; j < d; j++) {
        const double v = 0.5 * (M[(size_t)i * d + j] + M[(size_t)j * d + i]);
        M[(size_t)i * d + j] = M[(size_t)j * d + i] = v;
      }
    rc = sym_eig(d, M, mu, 0);
    if (!rc) {
      for (int j = 0; j < d; j++) trs += sqrt(mu[j] > 0 ? mu[j] : 0);
      *fd = dm + tr1 + r->trC - 2 * trs;
      if (*fd < 0) *fd = 0; /* rounding, when C1 == C */
    }
  }
  free(T);
  free(M);
  free(mu);
  return rc;
}

int rtk_frechet_distance(const rtk_frechet_ref *r, int64_t N, const int64_t *s1, const int64_t *s2, double *fd) {
  const int d = r->d;
  const double S = FD_SCALE;
  double *m1 = malloc(sizeof(double) * d), *dl = malloc(sizeof(double) * d),
         *C1 = malloc(sizeof(double) * (size_t)d * d);
  int rc = m1 && dl && C1 ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory (Fréchet distance, d = %d)", d);
  if (!rc && N < 2) rc = RTK_ERR(RTK_ERR_INPUT, "the Fréchet distance needs at least 2 samples");
  if (!rc) {
    for (int j = 0; j < d; j++) {
      dl[j] = (double)s1[j] / S / (double)N;
      m1[j] = r->mean[j] + dl[j];
    }
    /* maximum-likelihood covariance (divisor N), as in FID */
    for (int i = 0; i < d; i++)
      for (int j = i; j < d; j++) {
        const double c = (double)s2[(size_t)i * d + j] / (S * S) / (double)N - dl[i] * dl[j];
        C1[(size_t)i * d + j] = C1[(size_t)j * d + i] = c;
      }
    rc = rtk_frechet_from_moments(r, m1, C1, fd);
  }
  free(m1);
  free(dl);
  free(C1);
  return rc;
}
