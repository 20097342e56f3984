/* Diagonal Gaussian mixtures under the OU forward process, and the batched
 * score/log-density kernel (SPEC §2).  At time t every component k has mean
 * m_k = alpha_t mu_k and variances lam_kj = alpha_t^2 v_kj + sigma_t^2. */
#ifndef RTK_MIXTURE_H
#define RTK_MIXTURE_H
#include <stddef.h>
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

/* Every BLAS call on particle rows (the mixture kernel, the MLP and perturbed scores, the projections) sees
 * exactly RTK_GEMM_ROWS rows: a block runs as tiles of that many rows, the last one zero-padded (rtk_tile_in).
 * A BLAS picks its kernels by the operands' sizes: OpenBLAS 0.3.21 on AVX-512 CPUs runs "small matrix" kernels
 * with another summation order when M·N·K <= 10^6 (and, in the TN case the logits use, M·N <= 1200 with K >= 32),
 * BLIS has its "sup" kernels for small m or n, and edge rows take other paths.  So a row's bits would depend on
 * how many rows share its call: on the block size, the rank count, the dynamic schedule's pieces (measured: K = 64,
 * d = 128 with OpenBLAS, a tail of 16 rows against full blocks).  With one call shape the library always takes the
 * same path, and a row has the same bits at every position of a call (core.gemm_tiles checks both, on shapes that
 * cross those thresholds).  128 rows: within 4 % of 256-row calls on the EPYC, 6 % for ddpm at K = 256, d = 1024 on
 * the lent Intel (docs/design.md, docs/performance.md eleventh round). */
#define RTK_GEMM_ROWS 128

/* rows s .. s + r - 1 of X (row length d, 1 <= r <= RTK_GEMM_ROWS) as a full tile: X + s d itself when r is a
 * whole tile, else copied to pad (RTK_GEMM_ROWS x d) with the other rows zero */
static inline const double *rtk_tile_in(const double *X, int d, int s, int r, double *pad) {
  if (r == RTK_GEMM_ROWS) return X + (size_t)s * d;
  for (size_t i = 0; i < (size_t)r * d; i++) pad[i] = X[(size_t)s * d + i];
  for (size_t i = (size_t)r * d; i < (size_t)RTK_GEMM_ROWS * d; i++) pad[i] = 0;
  return pad;
}

/* Scratch space of the kernel: one tile of RTK_GEMM_ROWS rows, for blocks of any size. */
typedef struct rtk_mixwork {
  int K, d;
  double *X2;   /* [RTK_GEMM_ROWS][d] (one tile: rtk_tile_in) */
  double *L;    /* [RTK_GEMM_ROWS][K] logits, then responsibilities */
  double *Xpad; /* [RTK_GEMM_ROWS][d] a short tile, zero-padded */
  double *Spad; /* [RTK_GEMM_ROWS][d] its score */
  double *lpad; /* [RTK_GEMM_ROWS] its log-density */
  double *rmax; /* [RTK_GEMM_ROWS] row maxima of the logits */
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
int rtk_mixwork_init(int K, int d, rtk_mixwork *w);
void rtk_mixwork_free(rtk_mixwork *w);

/* For any n particles X[n][d] (row-major), in tiles of RTK_GEMM_ROWS rows: logp[n] = log p_t(x) and
 * score[n][d] = grad log p_t(x).  Either output may be NULL.  Four DGEMMs per tile
 * (about 8 n K d flops, the short last tile padded) plus n K exponentials. */
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
