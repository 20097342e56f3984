/* Exact-reference metrics (SPEC §4).  Accumulation is per rank (integer
 * counts); the driver sums the counts across ranks and then every rank
 * computes the same metrics from the same integers. */
#ifndef RTK_METRICS_H
#define RTK_METRICS_H
#include <stdint.h>

#include "rtk/mixture.h"

/* Per-coordinate histograms with two tail bins: bin 0 is (-inf, lo),
 * bins 1..nbins split [lo, hi) evenly, bin nbins+1 is [hi, inf). */
typedef struct rtk_hist {
  int d, nbins;
  double *lo, *hi; /* [d] */
  int64_t *count;  /* [d][nbins+2] */
} rtk_hist;

/* Ranges [min_k(m_ki - nsd sd_ki), max_k(m_ki + nsd sd_ki)] of p_t. */
int rtk_hist_init(const rtk_mixture *m, double t, int nbins, double nsd, rtk_hist *h);
void rtk_hist_free(rtk_hist *h);
void rtk_hist_add(rtk_hist *h, int n, const double *X);
/* exact bin probabilities [d][nbins+2] of p_t's coordinate marginals */
void rtk_hist_exact_probs(const rtk_hist *h, const rtk_mixture *m, double t, double *probs);
/* the same for coordinates i0 <= i < i1 only (rows i0..i1-1 of probs), with the same bits */
void rtk_hist_exact_probs_rows(const rtk_hist *h, const rtk_mixture *m, double t, int i0, int i1, double *probs);

typedef struct rtk_marginal_result {
  double accuracy;    /* 1 - mean_i TV_i */
  double mean_tv;     /* mean_i TV_i */
  double noise_floor; /* E[mean TV] of N exact samples (exact binomial formula) */
  double floor_sd;    /* approximate s.d. of mean TV of exact samples (for tests) */
  double excess;      /* mean_tv - noise_floor */
} rtk_marginal_result;

/* tv[d] (may be NULL) and the summary from counts and exact probabilities. */
void rtk_marginal_metrics(const rtk_hist *h, const double *probs, int64_t N, double *tv,
                          rtk_marginal_result *r);
/* E|X - n p| for X ~ Binomial(n, p) (De Moivre's closed form) */
double rtk_binomial_mad(int64_t n, double p);

/* Standard error of the mean TV (hence of the marginal accuracy) by
 * linearisation: with sign_ib = sign(p^_ib - p_ib) fixed at the observed
 * histogram, mean_i TV_i = (1/N) sum_n g(x_n) - const with
 * g(x) = (1/2d) sum_i sign_{i, bin_i(x)}, so SE = sd(g)/sqrt(N).  u_n =
 * sum_i sign_{i,bin_i(x_n)} is an integer: its sums reduce exactly across
 * ranks.  Exact when every |p^ - p| is large against its noise; conservative
 * (too wide) near the noise floor, where |.| is not linear. */
void rtk_tv_signs(const rtk_hist *h, const double *probs, int64_t N, signed char *sign);
void rtk_tv_lin_sums(const rtk_hist *h, const signed char *sign, int n, const double *X, int64_t *s1, int64_t *s2);
double rtk_tv_lin_se(int64_t s1, int64_t s2, int64_t N, int d);

/* mode-weight TV: 1/2 sum_k |counts_k / N - w_k| */
double rtk_mode_tv(const rtk_mixture *m, const int64_t *counts, int64_t N);

/* Sliced marginals: the projection u.x of p_t on a unit direction u is the
 * 1-D OU-noised mixture with means u.mu_k and variances sum_j u_j^2 v_kj, so
 * the projected mixture (one "coordinate" per direction) reuses every
 * histogram/accuracy function above. */
void rtk_random_directions(uint64_t seed, int ns, int d, double *U); /* [ns][d], unit rows */
int rtk_mixture_project(const rtk_mixture *m, int ns, const double *U, rtk_mixture **out);
/* Y = X U^T, computed in tiles of RTK_GEMM_ROWS rows with the last one
 * zero-padded through the scratch pad [RTK_GEMM_ROWS * (d + ns)], so a row's
 * bits do not depend on n (mixture.h) */
void rtk_project(int n, int d, const double *X, int ns, const double *U, double *Y, double *pad);

/* Moments by exact integer sums (fixed point), so that they reduce across
 * ranks bitwise: first moments at 2^-20, second moments at 2^-10 resolution
 * (rounding errors are far below the Monte Carlo error); values are clamped
 * to |x| <= 1e3.  s1 [d]; s2 [d][d] when full, else [d] (diagonal). */
void rtk_moment_sums(int n, int d, const double *X, int full, int64_t *s1, int64_t *s2);
/* |mean - exact|_2 and |cov - exact|_F (or |var - exact|_2 for the diagonal) */
void rtk_moment_errors(const rtk_mixture *m, double t, int64_t N, int full, const int64_t *s1, const int64_t *s2,
                       double *mean_err, double *cov_err);

/* Coordinate moment KL: the second-order expansion of
 *   sum_i KL( N(mhat_i, vhat_i) || N(m_i, v_i) )
 *     ~ sum_i (mhat_i - m_i)^2 / (2 v_i) + (vhat_i - v_i)^2 / (4 v_i^2)
 * over the coordinate means and variances of N samples against the exact
 * p_t, minus its expected value for exact samples (the noise floor:
 * sum_i 1/(2N) + (mu4_i/v_i^2 - 1)/(4N), mu4 the exact fourth central
 * moment).  So `kl` estimates, without the 1/N bias, the KL that the moment
 * errors alone cause; it is additive over coordinates, which makes it the
 * dimension-aware criterion of dimensional-scaling studies (for a product
 * Gaussian part it is that part's joint KL to second order).  `se` treats
 * each standardised error as normal (Var z^2 = 2q^2 + 4b^2 q, b^2 estimated
 * by max(z^2 - q, 0)) and the 2d terms as independent. */
typedef struct rtk_moment_kl_result {
  double kl;    /* raw - floor */
  double se;    /* its standard error */
  double raw;   /* the plug-in value */
  double floor; /* its expectation for exact samples */
} rtk_moment_kl_result;
int rtk_moment_kl(const rtk_mixture *m, double t, int64_t N, int full, const int64_t *s1, const int64_t *s2,
                  rtk_moment_kl_result *r);

/* Fréchet distance (the FID formula, in the target's coordinates) between
 * the Gaussian fitted to N samples and the exact mean m and covariance C of
 * p_t (no reference sample needed):
 *   FD = |m^ - m|^2 + tr C^ + tr C - 2 tr (C^{1/2} C^ C^{1/2})^{1/2}.
 * The samples enter through exact integer sums of y = x - m quantised per
 * particle to 2^-12 (|y| <= 256): the sum of y and the upper triangle of
 * Y^T Y (DSYRK on integer-valued doubles, exact), so the sums do not depend
 * on blocks, ranks or BLAS threads and reduce across ranks bitwise.  C^{1/2} and the eigenvalues come
 * from LAPACK's dsyevd.  The noise floor, E[FD] of N exact samples, is
 * measured by the driver with independent exact sample sets (diagnostics). */
typedef struct rtk_frechet_ref {
  int d;
  double t;
  double *mean;  /* [d] exact mean of p_t */
  double *sqrtC; /* [d][d] C^{1/2} */
  double trC;
} rtk_frechet_ref;
int rtk_frechet_ref_init(const rtk_mixture *m, double t, rtk_frechet_ref *r);
void rtk_frechet_ref_free(rtk_frechet_ref *r);
/* s1 [d] and s2 [d][d] (upper triangle used) += the sums of one block of n
 * particles; scratch Y [n][d] and G [d][d]. */
void rtk_frechet_sums(const rtk_frechet_ref *r, int n, const double *X, double *Y, double *G, int64_t *s1,
                      int64_t *s2);
int rtk_frechet_distance(const rtk_frechet_ref *r, int64_t N, const int64_t *s1, const int64_t *s2, double *fd);
/* FD between N(m1, C1) and the reference, from the moments themselves */
int rtk_frechet_from_moments(const rtk_frechet_ref *r, const double *m1, const double *C1, double *fd);

#endif
