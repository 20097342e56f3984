/* Per-element updates shared by the cpu and cuda backends (see rtk/hd.h).
 * Each function is the single definition of one step of an algorithm; the C
 * samplers and the CUDA kernels call it on their own loops, so the two
 * backends cannot drift apart.  Keep them free of memory layout (scalars in,
 * scalars out) and of library calls nvcc's device code lacks. */
#ifndef RTK_UPDATE_H
#define RTK_UPDATE_H
#include <float.h>
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

/* run.rng = philox4x32 (docs/design.md, "rng.h"): the Philox4x32 key and counter words 0-2 of the stream
 * (seed, id, c0, c1, purpose); word 3 is the chunk.  Block c's words (w0, w1, w2, w3) give the 64-bit words
 * w1:w0 and w3:w2, i.e. values 2c and 2c+1 (rtk_box_muller on the pair, or rtk_u01 of each). */
RTK_HD static inline void rtk_p4x32_key_ctr(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                                            uint32_t key[2], uint32_t ctr[3]) {
  key[0] = (uint32_t)id;
  key[1] = (uint32_t)(seed ^ (seed >> 32) ^ (id >> 32));
  ctr[0] = (uint32_t)(c0 & 0x0fffffffu) | (uint32_t)(purpose << 28);
  ctr[1] = (uint32_t)c1;
  ctr[2] = (uint32_t)((c1 >> 32) ^ (c0 >> 28));
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

/* ---- exact integer sums of the final-sample diagnostics (metrics.c; the cuda backend's device diagnostics) ----
 * Both backends turn a coordinate into the same integer, so the sums are equal whichever adds them up. */
/* Host code rounds the diagnostics' values without a libm call per coordinate (baseline x86-64 has no rounding
 * instruction, so llround and nearbyint are calls); both give exactly the libm result for |v| < 2^51, the only
 * range they are used on (test core.quantise); device code keeps llround and nearbyint. */
/* llround(v) (halves away from zero) for |v| < 2^51: the truncation and the fraction v - trunc(v) are exact */
RTK_HD static inline int64_t rtk_lround_small(double v) {
#ifdef __CUDA_ARCH__
  return (int64_t)llround(v);
#else
  const int64_t t = (int64_t)v;
  const double f = v - (double)t;
  return t + (f >= 0.5) - (f <= -0.5);
#endif
}
/* nearbyint(v) in the default rounding mode (to nearest, ties to even) for |v| < 2^51: v + 1.5 2^52 lies where the
 * spacing of doubles is 1, so the add rounds v to an integer and the subtraction is exact; copysign keeps the sign
 * of a zero result (nearbyint(-0.3) = -0). Evaluated in double only where FLT_EVAL_METHOD is 0 (not x87). */
RTK_HD static inline double rtk_rint_small(double v) {
#if defined(__CUDA_ARCH__) || !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
  return nearbyint(v);
#else
  const double c = 0x1.8p52;
  return copysign((v + c) - c, v);
#endif
}
/* fixed point: round(x scale), NaN -> 0, |x| clamped to 1e3 (rtk_moment_sums; |x scale| < 2^51 for the scales used,
 * 2^20 and 1.024e6) */
RTK_HD static inline int64_t rtk_fixed(double x, double scale) {
  if (!(x == x)) return 0;
  if (x > 1e3) x = 1e3;
  if (x < -1e3) x = -1e3;
  return rtk_lround_small(x * scale);
}
/* the Fréchet sums' quantisation of y = x - mean: nearest multiple of 1/RTK_FD_SCALE, |y| <= RTK_FD_CLAMP, NaN at
 * the clamp; an integer-valued double (rtk_frechet_sums) */
#define RTK_FD_SCALE 4096.0
#define RTK_FD_CLAMP 256.0
RTK_HD static inline double rtk_fd_quant(double y) {
  if (!(y == y)) y = RTK_FD_CLAMP; /* NaN: as far off as can be counted */
  y = y > RTK_FD_CLAMP ? RTK_FD_CLAMP : y < -RTK_FD_CLAMP ? -RTK_FD_CLAMP : y;
  return rtk_rint_small(y * RTK_FD_SCALE); /* |y RTK_FD_SCALE| <= 2^20 */
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

/* ---- RTK with MALA (rtk-mala, rtk-mala-score; sampler_rtk.c mala_steps, the cuda k_accept kernels) ---- */
/* proposal increment zp - z = -tau grad g(z) + sqrt(2 tau) xi (sq = sqrt(2 tau)); |zp - z|^2 is the
 * projection radius' test */
RTK_HD static inline double rtk_mala_step(double grad, double tau, double sq, double xi) { return -tau * grad + sq * xi; }
/* one coordinate of the proposal densities: *fwd += (zp - z + tau grad(z))^2, *bwd += (z - zp + tau grad(zp))^2 */
RTK_HD static inline void rtk_mala_terms(double z, double zp, double grad, double gradp, double tau, double *fwd,
                                         double *bwd) {
  double a = zp - z + tau * grad, b = z - zp + tau * gradp;
  *fwd += a * a;
  *bwd += b * b;
}
/* log of the Metropolis-Hastings ratio from the energy difference dg = g(zp) - g(z) and the sums above */
RTK_HD static inline double rtk_mala_log_alpha(double dg, double fwd, double bwd, double tau) {
  return -dg - bwd / (4 * tau) + fwd / (4 * tau);
}
/* acceptance probability min(1, alpha) (dual averaging's statistic) */
RTK_HD static inline double rtk_mala_prob(double log_alpha) { return log_alpha >= 0 ? 1 : exp(log_alpha); }
/* the accept test log u < log_alpha with u ~ U(0, 1) (rtk_rng_uniform, purpose RTK_RNG_ACCEPT): u lies in (0, 1]
 * (rtk_u01; 1 when its 53 bits are all ones: 2^53 - 0.5 rounds to 2^53), so log u <= 0 and any log_alpha > 0
 * accepts without the log (the same decision for every input: log_alpha = 0 still needs it, NaN is false).
 * Below that, bounds on ln u decide most tests without the log, and always as the log would:
 *   v = u - 1 (exact for u >= 1/2 by Sterbenz, within 2^-53 below) bounds ln u <= v, and for u >= 1/2
 *   ln u >= v - v^2 (ln(1 + v) >= v - v^2 for v >= -1/2), computed within 2^-53.
 * A log within k ulps of ln u (glibc and CUDA: k <= 1) is within k 2^-52 |ln u| of it, so the computed log lies
 * below v + k 2^-52 and, for u >= 1/2, above v - v^2 - 2^-53 - k 2^-52; margins of 2^-40 cover that for any
 * k < 2^10, and only a log_alpha within about v^2 of v still needs the log.  NaN and -inf decide as before
 * (core.mala_accept compares the decisions with the plain test, near every boundary). */
RTK_HD static inline int rtk_mala_accept(double u, double log_alpha) {
  if (log_alpha > 0) return 1;
  const double v = u - 1, margin = 0x1p-40;
  if (v < log_alpha - margin) return 1;                   /* log u <= v < log_alpha */
  if (u >= 0.5 && v - v * v > log_alpha + margin) return 0; /* log u >= v - v^2 > log_alpha */
  return log(u) < log_alpha;
}

/* ---- score-only MALA: f(zp) - f(z) = -int_0^1 <s(z + a (zp - z)), zp - z> da by a quadrature rule ---- */
/* one coordinate of <s, zp - z> at a node with score s (the sums go e -= term) */
RTK_HD static inline double rtk_quad_term(double s, double z, double zp) { return s * (zp - z); }
/* the node at fraction a of the way from z to zp */
RTK_HD static inline double rtk_quad_point(double z, double zp, double a) { return z + a * (zp - z); }
/* rule (enum rtk_quad_kind: 0 trapezoid, 1 simpson, 2 gauss): the end points' part from e0 = -<s(z), zp - z>
 * and e1 = -<s(zp), zp - z> */
RTK_HD static inline double rtk_quad_ends(int rule, double e0, double e1) {
  return rule == 0 ? 0.5 * (e0 + e1) : rule == 1 ? (e0 + e1) / 6 : 0;
}
/* interior nodes of the rule (the extra score evaluations per proposal) */
RTK_HD static inline int rtk_quad_count(int rule, int gauss_nodes) { return rule == 1 ? 1 : rule == 2 ? gauss_nodes : 0; }
/* interior node q: fraction *a and weight *w (Gauss: the rtk_gauss_legendre nodes gx and weights gw) */
RTK_HD static inline void rtk_quad_node(int rule, int q, const double *gx, const double *gw, double *a, double *w) {
  *a = rule == 1 ? 0.5 : gx[q];
  *w = rule == 1 ? 4.0 / 6 : gw[q];
}
/* Gauss-Legendre rule with n nodes on [0, 1] (Newton on P_n; host code, the nodes go to the device as values) */
static inline void rtk_gauss_legendre(int n, double *x, double *w) {
  for (int i = 0; i < n; i++) {
    double z = cos(3.14159265358979323846 * (i + 0.75) / (n + 0.5)), dp = 1;
    for (int it = 0; it < 100; it++) {
      double p0 = 1, p1 = z;
      for (int k = 2; k <= n; k++) {
        double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      if (n == 1) p0 = 1, p1 = z;
      dp = n * (z * p1 - p0) / (z * z - 1);
      double dz = p1 / dp;
      z -= dz;
      if (fabs(dz) < 1e-16) break;
    }
    x[i] = 0.5 * (1 - z);
    w[i] = 1.0 / ((1 - z * z) * dp * dp);
  }
}

/* ---- pc: the Langevin corrector x <- x + eps s + sqrt(2 eps) xi at a grid time (sampler_pc.c) ---- */
RTK_HD static inline double rtk_pc_correct(double x, double s, double eps, double sd, double xi) {
  return x + (eps * s + sd * xi);
}

/* ---- heun (EDM, VE variable y = x / alpha_t): the Euler and Heun moves y + c s (sampler_heun.c) ---- */
RTK_HD static inline double rtk_heun_move(double y, double c, double s) { return y + c * s; }

/* ---- RTK ULA/ULD, step_mode = adaptive: the secant curvature warm-up (sampler_rtk.c secant_update) ---- */
/* one coordinate: *dz += (z - z_old)^2, *dg += (grad - grad_old)^2 */
RTK_HD static inline void rtk_secant_terms(double z, double zold, double grad, double gold, double *dz, double *dg) {
  double a = z - zold, b = grad - gold;
  *dz += a * a;
  *dg += b * b;
}
/* the running curvature estimate max(L, |grad - grad_old| / |z - z_old|) */
RTK_HD static inline double rtk_secant_curv(double lcurv, double dz, double dg) {
  return dz > 0 && sqrt(dg / dz) > lcurv ? sqrt(dg / dz) : lcurv;
}
/* the step after warm-up: c / L clipped to [tau0, 10 tau0] (10 tau0 if no curvature was seen) */
RTK_HD static inline double rtk_secant_tau(double lcurv, double c, double tau0) {
  double t = lcurv > 0 ? c / lcurv : 10 * tau0;
  return t < tau0 ? tau0 : t > 10 * tau0 ? 10 * tau0 : t;
}

/* ---- probability-flow ODE solvers (ddim, dpm-solver++; sampler_ode.c) ---- */
/* one step's coefficients, from rtk_ode_step_coefs (sampler_ode.c) */
typedef struct rtk_ode_step {
  double at, st2;       /* alpha_t, sigma_t^2: the data prediction D = (x + sigma_t^2 s) / alpha_t */
  double a, b, as;      /* x-weight, D-weight, alpha_s */
  double c0, c1, c2;    /* multistep weights of D, D_1, D_2 */
  double nsd;           /* sde: noise scale */
  int general, final, sde;
} rtk_ode_step;
RTK_HD static inline double rtk_ode_denoise(const rtk_ode_step *c, double x, double s) { return (x + c->st2 * s) / c->at; }
/* x at the next grid time from x, D_t and the previous data predictions D_1, D_2 (xi: sde noise) */
RTK_HD static inline double rtk_ode_update(const rtk_ode_step *c, double x, double D, double D1, double D2, double xi) {
  if (!c->general) return c->a * x + c->b * (c->c1 * D + c->c2 * D1); /* ddim, 2M */
  if (c->final) return D;
  double v = c->a * x + c->b * D + c->as * (c->c0 * D + c->c1 * D1 + (c->c2 != 0 ? c->c2 * D2 : 0));
  return c->sde ? v + c->nsd * xi : v;
}

/* ---- RTK inner Langevin steps (sampler_rtk.c langevin_steps) ---- */
RTK_HD static inline double rtk_ula_update(double z, double grad, double tau, double sq, double xi) {
  return z + (-tau * grad + sq * xi);
}
/* ULD: exact Gaussian integration of the frozen-gradient step (Cheng et al. 2018) */
typedef struct rtk_uld_coef {
  double gam, tau, E, omE, a1, a2, sv;
} rtk_uld_coef;
RTK_HD static inline rtk_uld_coef rtk_uld_coefs(double gam, double tau) {
  rtk_uld_coef c;
  const double E = exp(-gam * tau), omE = -expm1(-gam * tau);
  const double vz = (2 / gam) * (tau - 2 * omE / gam + (1 - E * E) / (2 * gam)), vv = 1 - E * E, cz = omE * omE / gam;
  c.gam = gam;
  c.tau = tau;
  c.E = E;
  c.omE = omE;
  c.a1 = cz / sqrt(vv);
  const double rem = vz - cz * cz / vv; /* >= 0 up to rounding */
  c.a2 = sqrt(rem > 0 ? rem : 0);
  c.sv = sqrt(vv);
  return c;
}
RTK_HD static inline void rtk_uld_update(const rtk_uld_coef *c, double *z, double *v, double grad, double xi, double xi2) {
  const double gam = c->gam, omE = c->omE;
  double zn = *z + omE / gam * *v - (c->tau - omE / gam) / gam * grad + c->a1 * xi + c->a2 * xi2;
  *v = *v * c->E - omE / gam * grad + c->sv * xi;
  *z = zn;
}

/* ---- RTK segment energy (sampler_rtk.c eval_segment/assemble_row, backend_cuda.cu k_seg_eval/k_accept/
 * k_langevin*): g(z) = -log p_tt(z) + |r|^2 / (2q), r = x' - e z, grad g = -s - e r / q, e = e^{-h},
 * q = 1 - e^{-2h}.  Macros because the cuda backend evaluates them in its storage type (float for
 * fp32) and the cpu in double: one definition, both types, same operation order. */
#define RTK_SEG_RESID(x, z, e) ((x) - (e) * (z))
#define RTK_SEG_GRAD(s, r, e, q) (-(s) - (e) * (r) / (q))
#define RTK_SEG_QUAD(quad, q) ((quad) / (2 * (q))) /* |r|^2 / (2q) from quad = |r|^2 */
#define RTK_SEG_ENERGY(logp, quad, q) (-(logp) + RTK_SEG_QUAD(quad, q))

#endif
