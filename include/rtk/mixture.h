/* Diagonal Gaussian mixtures under the OU forward process, and the batched
 * score/log-density kernel (SPEC §2).  At time t every component k has mean
 * m_k = alpha_t mu_k and variances lam_kj = alpha_t^2 v_kj + sigma_t^2. */
#ifndef RTK_MIXTURE_H
#define RTK_MIXTURE_H
#include <stdint.h>

typedef struct rtk_mixture {
  int K, d;
  double *w;   /* [K] weights, sum 1 */
  double *mu;  /* [K][d] means at t = 0 */
  double *var; /* [K][d] diagonal variances at t = 0 */
} rtk_mixture;

/* Per-time coefficients of the kernel (recomputed when t changes). */
typedef struct rtk_mixcoef {
  int K, d;
  double t, alpha, sigma2;
  double *A;   /* [K][d] 1/lam_kj                         */
  double *MA;  /* [K][d] m_kj/lam_kj                       */
  double *c;   /* [K] log w_k - 1/2 sum_j (log 2 pi lam_kj + m_kj^2/lam_kj) */
  double min_lam;
} rtk_mixcoef;

/* BLAS calls always see a row count that is a multiple of RTK_ROW_ALIGN: a
 * short block is zero-padded.  OpenBLAS computes rows of a full micro-tile in
 * an order that does not depend on the row's position, but edge rows take a
 * different path (measured: M % 4 != 0 changes the last bits of the score),
 * so padding makes every particle's result independent of the block size. */
#define RTK_ROW_ALIGN 16

/* Scratch space for a block of up to B particles. */
typedef struct rtk_mixwork {
  int B, Bpad, K, d;
  double *X2;   /* [Bpad][d] */
  double *L;    /* [Bpad][K] logits, then responsibilities */
  double *Xpad; /* [Bpad][d] padded copy of a short block */
  double *Spad; /* [Bpad][d] its score */
  double *lpad; /* [Bpad] its log-density */
  double *rmax; /* [Bpad] row maxima of the logits */
} rtk_mixwork;

int rtk_mixture_alloc(int K, int d, rtk_mixture **out);
void rtk_mixture_free(rtk_mixture *m);
int rtk_mixture_validate(const rtk_mixture *m); /* weights >= 0 summing to 1, var > 0 */

double rtk_alpha(double t);  /* e^{-t} */
double rtk_sigma2(double t); /* 1 - e^{-2t} */

int rtk_mixcoef_init(const rtk_mixture *m, rtk_mixcoef *c);
void rtk_mixcoef_set_time(const rtk_mixture *m, double t, rtk_mixcoef *c);
/* the same, with the normalisers c[] (cc, K values) and min_lam known from an earlier rtk_mixcoef_set_time at this
 * t: no logs, the same bits (the exact score's cache, score_exact.c) */
void rtk_mixcoef_set_time_c(const rtk_mixture *m, double t, const double *cc, double min_lam, rtk_mixcoef *c);
void rtk_mixcoef_free(rtk_mixcoef *c);
int rtk_mixwork_init(int B, int K, int d, rtk_mixwork *w);
void rtk_mixwork_free(rtk_mixwork *w);

/* For n <= w->B particles X[n][d] (row-major): logp[n] = log p_t(x) and
 * score[n][d] = grad log p_t(x).  Either output may be NULL.  Four DGEMMs
 * (about 8 n K d flops) plus n K exponentials. */
void rtk_mix_eval(const rtk_mixcoef *c, int n, const double *X, double *logp, double *score,
                  rtk_mixwork *w);
/* index of the most responsible component of each particle at the time of c */
void rtk_mix_argmax(const rtk_mixcoef *c, int n, const double *X, int *k_out, rtk_mixwork *w);

/* Exact samples of p_t for particles with global ids gid0..gid0+n-1. */
void rtk_mixture_sample(const rtk_mixture *m, double t, uint64_t seed, uint64_t gid0, int n,
                        double *X);
/* CDF of the i-th coordinate marginal of p_t, and of a 1-D projection: a 1-D mixture. */
double rtk_mixture_marginal_cdf(const rtk_mixture *m, double t, int i, double x);
/* the same at n points x[b] of coordinate i: p[b] has the bits of rtk_mixture_marginal_cdf(m, t, i, x[b]) */
void rtk_mixture_marginal_cdfs(const rtk_mixture *m, double t, int i, int n, const double *x, double *p);
/* exact mean [d] and covariance [d][d] (cov may be NULL) of p_t */
void rtk_mixture_moments(const rtk_mixture *m, double t, double *mean, double *cov);
/* [lo, hi] = [min_k (m_ki - nsd sd_ki), max_k (m_ki + nsd sd_ki)] at time t */
void rtk_mixture_marginal_range(const rtk_mixture *m, double t, int i, double nsd, double *lo,
                                double *hi);

double rtk_normal_cdf(double z);

#endif
