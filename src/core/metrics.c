#include "rtk/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"

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

static inline int bin_of(const rtk_hist *h, int i, double x) {
  const int nb = h->nbins;
  double u = (x - h->lo[i]) / (h->hi[i] - h->lo[i]);
  if (!(u >= 0)) return 0; /* also NaN: counted in the lower tail, never lost */
  if (u >= 1) return nb + 1;
  int bin = 1 + (int)(u * nb);
  return bin > nb ? nb : bin;
}

void rtk_hist_add(rtk_hist *h, int n, const double *X) {
  const int d = h->d, nb = h->nbins;
  for (int b = 0; b < n; b++)
    for (int i = 0; i < d; i++) h->count[(size_t)i * (nb + 2) + bin_of(h, i, X[(size_t)b * d + i])]++;
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
  for (int b = 0; b < n; b++) {
    int64_t u = 0;
    for (int i = 0; i < d; i++) u += sign[(size_t)i * (nb + 2) + bin_of(h, i, X[(size_t)b * d + i])];
    *s1 += u;
    *s2 += u * u;
  }
}

double rtk_tv_lin_se(int64_t s1, int64_t s2, int64_t N, int d) {
  double m = (double)s1 / N, var = (double)s2 / N - m * m;
  return var > 0 ? sqrt(var / N) / (2.0 * d) : 0;
}

void rtk_hist_exact_probs(const rtk_hist *h, const rtk_mixture *m, double t, double *probs) {
  const int nb = h->nbins;
  for (int i = 0; i < h->d; i++) {
    double *p = probs + (size_t)i * (nb + 2), prev = 0, width = (h->hi[i] - h->lo[i]) / nb;
    for (int b = 0; b <= nb; b++) {
      /* edge b of the in-range bins; same arithmetic as rtk_hist_add's bin boundaries */
      double edge = b == nb ? h->hi[i] : h->lo[i] + b * width;
      double c = rtk_mixture_marginal_cdf(m, t, i, edge);
      p[b] = c - prev;
      prev = c;
    }
    p[nb + 1] = 1 - prev;
  }
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
