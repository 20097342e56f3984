/* Per-element updates shared by the cpu and cuda backends (see rtk/hd.h).
 * Each function is the single definition of one step of an algorithm; the C
 * samplers and the CUDA kernels call it on their own loops, so the two
 * backends cannot drift apart.  Keep them free of memory layout (scalars in,
 * scalars out) and of library calls nvcc's device code lacks. */
#ifndef RTK_UPDATE_H
#define RTK_UPDATE_H
#include <math.h>
#include <stdint.h>

#include "rtk/hd.h"

/* ---- random numbers: the transform of Philox words (rng.c's layout) ---- */
/* 53 random bits to a double in the open interval (0, 1) */
RTK_HD static inline double rtk_u01(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-53; }
/* Box-Muller: two Philox words -> two standard normals, angle pi h with h = 2 u(b) in (0, 2)
 * (the transform of rng.c after H11b's change, COORD 03:02: ln u and sincospi of h; device code uses
 * CUDA's log and sincospi, so normals may differ from the cpu's in the last bits) */
RTK_HD static inline void rtk_box_muller(uint64_t a, uint64_t b, double *z0, double *z1) {
  double rad = sqrt(-2.0 * log(rtk_u01(a)));
  double h = ((double)(b >> 11) + 0.5) * 0x1.0p-52;
  double s, c;
#ifdef __CUDA_ARCH__
  sincospi(h, &s, &c);
#else
  c = cos(3.141592653589793238462643383279502884 * h);
  s = sin(3.141592653589793238462643383279502884 * h);
#endif
  *z0 = rad * c;
  *z1 = rad * s;
}

/* ---- ddpm: x <- a x + b s + sd xi over a step h (SPEC §3.1) ---- */
typedef struct rtk_ddpm_coef {
  double a, b, sd;
} rtk_ddpm_coef;
/* exponential integrator: a = e^h, b = 2(e^h - 1), sd = sqrt(e^{2h} - 1); Euler-Maruyama: 1 + h, 2h, sqrt(2h) */
RTK_HD static inline rtk_ddpm_coef rtk_ddpm_coefs(double h, int euler) {
  rtk_ddpm_coef c;
  c.a = euler ? 1 + h : exp(h);
  c.b = euler ? 2 * h : 2 * expm1(h);
  c.sd = euler ? sqrt(2 * h) : sqrt(expm1(2 * h));
  return c;
}
RTK_HD static inline double rtk_ddpm_update(const rtk_ddpm_coef *c, double x, double s, double xi) {
  return c->a * x + c->b * s + c->sd * xi;
}

/* ---- histograms: the bin of x in [lo, hi] with nb bins plus two tail bins ---- */
RTK_HD static inline int rtk_hist_bin(double x, double lo, double hi, int nb) {
  double u = (x - lo) / (hi - lo);
  if (!(u >= 0)) return 0; /* also NaN: counted in the lower tail, never lost */
  if (u >= 1) return nb + 1;
  int bin = 1 + (int)(u * nb);
  return bin > nb ? nb : bin;
}

/* ---- RTK with MALA: dual averaging of log tau (Stan's constants) ---- */
typedef struct rtk_dual_avg {
  double tau, hbar, ltbar;
} rtk_dual_avg;
/* one update at inner step m with acceptance probability a towards target; mu = log(10 tau_0) */
RTK_HD static inline void rtk_dual_average(rtk_dual_avg *s, int m, double a, double target, double mu) {
  const double gamma = 0.05, t0 = 10, kappa = 0.75, t = m + 1;
  s->hbar = (1 - 1 / (t + t0)) * s->hbar + (target - a) / (t + t0);
  double lt = mu - sqrt(t) / gamma * s->hbar, eta = pow(t, -kappa);
  s->ltbar = eta * lt + (1 - eta) * s->ltbar;
  s->tau = exp(lt);
}

#endif
