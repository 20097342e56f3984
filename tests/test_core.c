/* Unit and statistical tests of the numerical core (no MPI).
 * Usage: test_core NAME   (one CTest entry per NAME). Fixed seeds; every
 * statistical tolerance is a k-sigma bound computed from exact moments. */
#include <stdint.h>

#include "rtk/blas.h"
#include "rtk/grid.h"
#include "rtk/metrics.h"
#include "rtk/rng.h"
#include "rtk/timers.h"
#include "rtk/update.h"
#include "testutil.h"

/* log p_t(x) by direct summation (independent of the DGEMM expansion) */
/* lk[k] = log(w_k N(x; m_k, lam_k)) at time t by direct sums; returns max_k lk[k] */
static double direct_logits(const rtk_mixture *m, double t, const double *x, double *lk) {
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  double mx = -INFINITY;
  for (int k = 0; k < m->K; k++) {
    double l = log(m->w[k]);
    for (int j = 0; j < m->d; j++) {
      double lam = a * a * m->var[k * m->d + j] + s2, r = x[j] - a * m->mu[k * m->d + j];
      l += -0.5 * (log(2 * M_PI * lam) + r * r / lam);
    }
    lk[k] = l;
    if (l > mx) mx = l;
  }
  return mx;
}

static double direct_logp(const rtk_mixture *m, double t, const double *x) {
  double *lk = malloc(sizeof(double) * m->K), s = 0;
  const double mx = direct_logits(m, t, x, lk);
  for (int k = 0; k < m->K; k++) s += exp(lk[k] - mx);
  free(lk);
  return mx + log(s);
}

static rtk_mixture *three_targets(int i) {
  static const char *grid[] = {"dim=6", NULL}, *rnd[] = {"dim=5", "K=6", "subspace=3", NULL};
  if (i == 0) return tu_target("gaussian", NULL);
  if (i == 1) return tu_target("mog-grid", grid);
  return tu_target("mog-random", rnd);
}

static void test_score_fd(void) {
  const double times[] = {0, 0.01, 0.3, 2.0};
  for (int ti = 0; ti < 3; ti++) {
    rtk_mixture *m = three_targets(ti);
    const int d = m->d, n = 40;
    rtk_mixcoef c;
    rtk_mixwork w;
    OK(rtk_mixcoef_init(m, &c));
    OK(rtk_mixwork_init(m->K, d, &w));
    double *X = malloc(sizeof(double) * n * d), *S = malloc(sizeof(double) * n * d), lp[40], lp2[2];
    double *Y = malloc(sizeof(double) * 2 * d);
    for (size_t it = 0; it < sizeof times / sizeof times[0]; it++) {
      double t = times[it];
      rtk_mixture_sample(m, t, 11, 0, n, X);
      for (int i = 0; i < n * d; i++) X[i] += 0.05 * sin(i); /* off the component means */
      rtk_mixcoef_set_time(m, t, &c);
      rtk_mix_eval(&c, n, X, lp, S, &w);
      double worst_fd = 0, worst_lp = 0;
      for (int i = 0; i < n; i++) {
        double dl = fabs(lp[i] - direct_logp(m, t, X + i * d)) / (1 + fabs(lp[i]));
        if (dl > worst_lp) worst_lp = dl;
        for (int j = 0; j < d; j++) {
          double h = 1e-5;
          memcpy(Y, X + i * d, sizeof(double) * d);
          memcpy(Y + d, X + i * d, sizeof(double) * d);
          Y[j] += h;
          Y[d + j] -= h;
          rtk_mix_eval(&c, 2, Y, lp2, NULL, &w);
          double fd = (lp2[0] - lp2[1]) / (2 * h), s = S[i * d + j];
          double err = fabs(fd - s) / (1 + fabs(s));
          if (err > worst_fd) worst_fd = err;
        }
      }
      /* central differences: O(h^2 f''') + O(eps f / h) ~ 1e-9 relative for these curvatures */
      CHECK(worst_fd < 1e-5, "target %d t=%g: score vs finite differences, worst rel. error %.3e", ti, t, worst_fd);
      CHECK(worst_lp < 1e-10, "target %d t=%g: log p vs direct sum, worst rel. error %.3e", ti, t, worst_lp);
    }
    free(X);
    free(S);
    free(Y);
    rtk_mixcoef_free(&c);
    rtk_mixwork_free(&w);
    rtk_mixture_free(m);
  }
}

/* score by direct summation: s = sum_k r_k (m_k - x) / lam_k, responsibilities by a shifted softmax */
static void direct_score(const rtk_mixture *m, double t, const double *x, double *s) {
  const double a = rtk_alpha(t), s2 = rtk_sigma2(t);
  double *lk = malloc(sizeof(double) * m->K), z = 0;
  const double mx = direct_logits(m, t, x, lk);
  for (int k = 0; k < m->K; k++) z += exp(lk[k] - mx);
  for (int j = 0; j < m->d; j++) s[j] = 0;
  for (int k = 0; k < m->K; k++) {
    const double r = exp(lk[k] - mx) / z;
    for (int j = 0; j < m->d; j++) {
      double lam = a * a * m->var[k * m->d + j] + s2;
      s[j] += r * (a * m->mu[k * m->d + j] - x[j]) / lam;
    }
  }
  free(lk);
}

/* Far from every mode the logits are large and negative (log p below -2000 here, where exp() without the shift underflows to 0),
 * so the log-sum-exp shift is what keeps log p and the responsibilities finite; on
 * mog-random the variances differ between components, so the normalisers decide the
 * responsibilities there.  Points: far along random directions, and on the segment
 * between two modes pushed out of the subspace, where two components compete
 * (responsibilities away from 0 and 1).  log p and the score against direct
 * summation, and the score against central differences of log p. */
static void test_score_far(void) {
  static const char *rnd[] = {"dim=5", "K=6", "subspace=3", "var_min=0.01", "var_max=0.3", "alpha=0.5", NULL};
  rtk_mixture *m = tu_target("mog-random", rnd);
  const int d = m->d, n = 48;
  rtk_mixcoef c;
  rtk_mixwork w;
  OK(rtk_mixcoef_init(m, &c));
  OK(rtk_mixwork_init(m->K, d, &w));
  double *X = malloc(sizeof(double) * n * d), *S = malloc(sizeof(double) * n * d), lp[48], lp2[2], Y[2 * 8], ds[8];
  const double times[] = {0, 0.01, 0.2};
  for (int it = 0; it < 3; it++) {
    const double t = times[it];
    double U[48 * 5];
    rtk_random_directions(3, n, d, U);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < d; j++) {
        if (i < n / 2) { /* radius 5..60 along a random direction */
          X[i * d + j] = (5 + 55.0 * i / (n / 2)) * U[i * d + j];
        } else { /* between modes k1 and k2, pushed out of the subspace */
          const int k1 = i % m->K, k2 = (i / m->K + 1 + k1) % m->K;
          const double f = (double)(i - n / 2) / (n / 2);
          X[i * d + j] = rtk_alpha(t) * ((1 - f) * m->mu[k1 * d + j] + f * m->mu[k2 * d + j]) + (j >= 3 ? 3.0 * U[i * d + j] : 0);
        }
      }
    rtk_mixcoef_set_time(m, t, &c);
    rtk_mix_eval(&c, n, X, lp, S, &w);
    double worst_lp = 0, worst_s = 0, worst_fd = 0, lowest = 0;
    int finite = 1;
    for (int i = 0; i < n; i++) {
      const double *x = X + i * d;
      const double dl = direct_logp(m, t, x);
      if (dl < lowest) lowest = dl;
      finite &= isfinite(lp[i]);
      const double e = fabs(lp[i] - dl) / (1 + fabs(dl));
      if (!(e <= worst_lp)) worst_lp = e;
      direct_score(m, t, x, ds);
      double sn = 0;
      for (int j = 0; j < d; j++) sn += ds[j] * ds[j];
      sn = sqrt(sn);
      for (int j = 0; j < d; j++) {
        finite &= isfinite(S[i * d + j]);
        const double es = fabs(S[i * d + j] - ds[j]) / (1 + sn);
        if (!(es <= worst_s)) worst_s = es;
        const double h = 1e-6 * (1 + fabs(x[j]));
        memcpy(Y, x, sizeof(double) * d);
        memcpy(Y + d, x, sizeof(double) * d);
        Y[j] += h;
        Y[d + j] -= h;
        rtk_mix_eval(&c, 2, Y, lp2, NULL, &w);
        /* central differences: truncation O(h^2 |f'''|) and rounding 1e-16 |log p| / h, relative to |s| */
        const double fd = (lp2[0] - lp2[1]) / (2 * h), efd = fabs(fd - S[i * d + j]) / (1 + sn + 1e-16 * fabs(dl) / h);
        if (!(efd <= worst_fd)) worst_fd = efd;
      }
    }
    if (getenv("RTK_TEST_VERBOSE"))
      printf("t=%g: lowest log p %.3g, worst rel. errors: log p %.2e, score %.2e, finite differences %.2e\n", t, lowest,
             worst_lp, worst_s, worst_fd);
    CHECK(finite, "t=%g: non-finite log p or score far from the modes", t);
    CHECK(lowest < -2e3, "t=%g: log-densities must reach far below the exp() underflow at -745 (lowest %.3g)", t, lowest);
    CHECK(worst_lp < 1e-12, "t=%g: log p vs direct sum far from the modes, worst rel. error %.3e", t, worst_lp);
    CHECK(worst_s < 1e-9, "t=%g: score vs direct sum far from the modes, worst rel. error %.3e", t, worst_s);
    CHECK(worst_fd < 1e-4, "t=%g: score vs finite differences far from the modes, worst rel. error %.3e", t, worst_fd);
  }
  free(X);
  free(S);
  rtk_mixcoef_free(&c);
  rtk_mixwork_free(&w);
  rtk_mixture_free(m);
}

/* exact samples of p_t against the closed-form moments, 5-sigma bounds from exact 4th moments */
static void test_moments(void) {
  const double times[] = {0, 0.5};
  const int64_t N = 200000;
  for (int ti = 0; ti < 3; ti++) {
    rtk_mixture *m = three_targets(ti);
    const int d = m->d;
    double *X = malloc(sizeof(double) * N * d), *mean = malloc(sizeof(double) * d), *cov = malloc(sizeof(double) * d * d);
    for (int it = 0; it < 2; it++) {
      double t = times[it], a = rtk_alpha(t), s2 = rtk_sigma2(t);
      rtk_mixture_sample(m, t, 5, 0, (int)N, X);
      rtk_mixture_moments(m, t, mean, cov);
      if (ti == 0) { /* gaussian: closed form by hand */
        CHECK(fabs(mean[0] - a * 0.5) < 1e-14, "gaussian mean at t=%g", t);
        CHECK(fabs(cov[0] - (a * a * 0.25 + s2)) < 1e-14, "gaussian variance at t=%g", t);
        CHECK(cov[1] == 0, "gaussian covariance off-diagonal");
      }
      double m4[64];
      for (int j = 0; j < d; j++) { /* central 4th moment of the j-th marginal: sum_k w_k (D^4 + 6 D^2 L + 3 L^2) */
        m4[j] = 0;
        for (int k = 0; k < m->K; k++) {
          double D = a * m->mu[k * d + j] - mean[j], L = a * a * m->var[k * d + j] + s2;
          m4[j] += m->w[k] * (D * D * D * D + 6 * D * D * L + 3 * L * L);
        }
      }
      for (int j = 0; j < d; j++) {
        double sm = 0, sv = 0;
        for (int64_t i = 0; i < N; i++) sm += X[i * d + j];
        sm /= N;
        for (int64_t i = 0; i < N; i++) sv += (X[i * d + j] - mean[j]) * (X[i * d + j] - mean[j]);
        sv /= N;
        double var = cov[j * d + j];
        CHECK(fabs(sm - mean[j]) < 5 * sqrt(var / N), "target %d t=%g coord %d: mean %.5f vs %.5f", ti, t, j, sm, mean[j]);
        CHECK(fabs(sv - var) < 5 * sqrt((m4[j] - var * var) / N), "target %d t=%g coord %d: var %.5f vs %.5f", ti, t, j,
              sv, var);
      }
      /* sliced: projections of exact samples follow the projected mixture's moments */
      double U[3 * 64], mp[3], cp[9], *Y = malloc(sizeof(double) * N * 3);
      rtk_random_directions(4, 3, d, U);
      rtk_mixture *pm;
      OK(rtk_mixture_project(m, 3, U, &pm));
      rtk_mixture_moments(pm, t, mp, cp);
      double pad[RTK_GEMM_ROWS * (64 + 3)];
      rtk_project((int)N, d, X, 3, U, Y, pad);
      double y5[15]; /* a 5-row call (padded tail) gives the rows of the full call bit for bit */
      rtk_project(5, d, X, 3, U, y5, pad);
      CHECK(!memcmp(y5, Y, sizeof y5), "projection of a padded 5-row tail differs from the full call");
      for (int j = 0; j < 3; j++) {
        double sm = 0;
        for (int64_t i = 0; i < N; i++) sm += Y[i * 3 + j] / N;
        CHECK(fabs(sm - mp[j]) < 5 * sqrt(cp[j * 4] / N), "slice %d mean %.5f vs %.5f", j, sm, mp[j]);
      }
      free(Y);
      rtk_mixture_free(pm);
      /* moment errors of exact samples are Monte Carlo sized */
      int64_t *q1 = calloc(d, sizeof(int64_t)), *q2 = calloc((size_t)d * d, sizeof(int64_t));
      rtk_moment_sums((int)N, d, X, 1, q1, q2);
      double me, ce, tr = 0;
      rtk_moment_errors(m, t, N, 1, q1, q2, &me, &ce);
      for (int j = 0; j < d; j++) tr += cov[j * d + j];
      CHECK(me < 5 * sqrt(tr / N), "mean error %.5f vs MC %.5f", me, sqrt(tr / N));
      CHECK(ce < 10 * tr / sqrt((double)N), "cov error %.5f", ce);
      free(q1);
      free(q2);
      double c01 = 0;
      for (int64_t i = 0; i < N; i++) c01 += (X[i * d] - mean[0]) * (X[i * d + 1] - mean[1]);
      c01 /= N;
      double sd = sqrt(sqrt(m4[0] * m4[1]) / N); /* Cauchy-Schwarz bound on sd of the product */
      CHECK(fabs(c01 - cov[1]) < 5 * sd, "target %d t=%g: cov01 %.5f vs %.5f", ti, t, c01, cov[1]);
    }
    free(X);
    free(mean);
    free(cov);
    rtk_mixture_free(m);
  }
}

/* DDPM on a Gaussian target is linear, so the law of its output is Gaussian
 * with mean/variance given by an exact recursion.  Check (1) the sampler's
 * output matches that recursion within k sigma, (2) the recursion's error vs
 * the target shrinks with NFE at first order. */
static void test_ddpm_gaussian(void) {
  const char *tk[] = {"dim=4", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const int64_t N = 20000;
  const int nfes[] = {4, 16, 64, 256};
  double err[4];
  for (int q = 0; q < 4; q++) {
    char nfe[32];
    snprintf(nfe, sizeof nfe, "nfe=%d", nfes[q]);
    const char *kv[] = {nfe, "grid=uniform", "T=5", NULL};
    rtk_sampler_cfg cfg;
    tu_scfg(&rtk_sampler_ddpm, &cfg, kv);
    tu_run r;
    tu_sample(&rtk_sampler_ddpm, &cfg, m, 3, N, 256, &r);
    double M = 0, V = 1;
    for (int k = 0; k < r.plan.nseg; k++) {
      double t = r.plan.times[k], h = t - r.plan.times[k + 1], a = rtk_alpha(t);
      double lam = a * a * 0.25 + rtk_sigma2(t), mt = a * 0.5;
      double A = exp(h) - 2 * expm1(h) / lam, Bc = 2 * expm1(h) * mt / lam;
      M = A * M + Bc;
      V = A * A * V + expm1(2 * h);
    }
    double sm = 0, sv = 0, n = (double)N * m->d;
    for (int64_t i = 0; i < N * m->d; i++) sm += r.X[i];
    sm /= n;
    for (int64_t i = 0; i < N * m->d; i++) sv += (r.X[i] - M) * (r.X[i] - M);
    sv /= n;
    CHECK(fabs(sm - M) < 5 * sqrt(V / n), "nfe %d: sample mean %.5f vs predicted %.5f", nfes[q], sm, M);
    CHECK(fabs(sv - V) < 5 * V * sqrt(2 / n), "nfe %d: sample var %.5f vs predicted %.5f", nfes[q], sv, V);
    CHECK(tu_total_nfe(&r) == (int64_t)nfes[q] * N, "nfe %d: counted %lld", nfes[q], (long long)tu_total_nfe(&r));
    err[q] = fabs(M - 0.5) + fabs(V - 0.25);
    if (q == 0) CHECK(err[q] > 20 * sqrt(V / n), "nfe 4 bias %.4f must be resolvable", err[q]);
    tu_run_free(&r);
  }
  for (int q = 1; q < 4; q++) CHECK(err[q] < err[q - 1], "error must shrink with NFE: %.3e then %.3e", err[q - 1], err[q]);
  /* first order in the step: the recursion's error drops ~4x per 4x NFE once asymptotic */
  double prev = 0;
  for (int S = 256; S <= 16384; S *= 4) {
    const char *kv[] = {"grid=uniform", "T=5", NULL};
    rtk_sampler_cfg cfg;
    tu_scfg(&rtk_sampler_ddpm, &cfg, kv);
    cfg.nfe = S;
    rtk_plan p;
    OK(rtk_sampler_ddpm.plan(&cfg, m, &p));
    double M = 0, V = 1;
    for (int k = 0; k < p.nseg; k++) {
      double t = p.times[k], h = t - p.times[k + 1], a = rtk_alpha(t);
      double lam = a * a * 0.25 + rtk_sigma2(t), A = exp(h) - 2 * expm1(h) / lam;
      M = A * M + 2 * expm1(h) * a * 0.5 / lam;
      V = A * A * V + expm1(2 * h);
    }
    rtk_plan_free(&p);
    double e = fabs(M - 0.5) + fabs(V - 0.25);
    if (prev > 0) CHECK(fabs(prev / e - 4) < 0.4, "first order: error ratio %.3f for 4x NFE at %d", prev / e, S);
    prev = e;
  }
  rtk_mixture_free(m);
}

/* One RTK segment on a Gaussian target: the kernel pi(z|x') is Gaussian with
 * precision P = 1/lam + e^{-2h}/q and mean (m/lam + e^{-h} x'/q)/P.  The
 * standardised residuals (z - mean) sqrt(P) are i.i.d. N(0,1) and independent
 * of x' exactly when the inner sampler samples the kernel exactly. */
typedef struct {
  double mean, var, cov_x, accept, nfe;
  int64_t planned;
} subproblem;

static subproblem run_subproblem_seed(const rtk_sampler_ops *s, const char **extra, int64_t N, uint64_t seed) {
  const char *tk[] = {"dim=4", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const int d = m->d;
  const char *kv[24] = {"grid=list", "times=1.0, 0.5", "T=1", "delta=0.5", "init=gaussian"};
  int nkv = 5;
  for (; extra && *extra; extra++) kv[nkv++] = *extra;
  kv[nkv] = NULL;
  rtk_sampler_cfg cfg;
  tu_scfg(s, &cfg, kv);
  tu_run r;
  tu_sample(s, &cfg, m, seed, N, 128, &r);
  const double h = 0.5, e = exp(-h), q = -expm1(-2 * h), t = 0.5;
  const double lam = rtk_alpha(t) * rtk_alpha(t) * 0.25 + rtk_sigma2(t), mt = rtk_alpha(t) * 0.5, P = 1 / lam + e * e / q;
  double sum = 0, ss = 0, sx = 0;
  for (int64_t i = 0; i < N * d; i++) {
    double mu = (mt / lam + e * r.X0[i] / q) / P, res = (r.X[i] - mu) * sqrt(P);
    sum += res;
    ss += res * res;
    sx += res * r.X0[i];
  }
  double n = (double)N * d;
  subproblem out = {sum / n, ss / n - (sum / n) * (sum / n), sx / n,
                    r.st.propose[0] ? (double)r.st.accept[0] / r.st.propose[0] : NAN,
                    (double)tu_total_nfe(&r) / N, r.plan.nfe};
  tu_run_free(&r);
  rtk_mixture_free(m);
  return out;
}

static subproblem run_subproblem(const rtk_sampler_ops *s, const char **extra, int64_t N) {
  return run_subproblem_seed(s, extra, N, 21);
}

/* |mean| < k/sqrt(n), |var - 1| < k sqrt(2/n), |cov(res, x')| < k/sqrt(n) */
static int exact_law(const subproblem *sp, double n, double k) {
  return fabs(sp->mean) < k / sqrt(n) && fabs(sp->var - 1) < k * sqrt(2 / n) && fabs(sp->cov_x) < k / sqrt(n);
}

/* The exact-law check over R seeds of N/R particles each (the cost of one run
 * of N): every seed within k sigma of its own sample size, and the pooled
 * sample within k sigma of the total, so that a pass does not hinge on one
 * lucky seed and the pooled check keeps the power of N particles.  The
 * residuals of different particles are independent, so the pooled moments are
 * the averages of the per-seed ones (equal sizes). */
/* base seed of the multi-seed checks: fixed (101), or RTK_TEST_SEED to try the
 * checks' robustness on other seeds (every seed must pass) */
static uint64_t seed_base(uint64_t def) {
  const char *e = getenv("RTK_TEST_SEED");
  return e && *e ? strtoull(e, NULL, 10) : def;
}

static subproblem law_over_seeds(const rtk_sampler_ops *s, const char **extra, int64_t N, int R, double k,
                                 const char *what) {
  subproblem pool = {0, 0, 0, 0, 0, 0};
  const double n = (double)(N / R) * 4;
  double m2 = 0;
  for (int r = 0; r < R; r++) {
    const uint64_t seed = seed_base(101) + (uint64_t)r;
    subproblem sp = run_subproblem_seed(s, extra, N / R, seed);
    CHECK(exact_law(&sp, n, k), "%s, seed %llu: residual mean %.5f var %.5f cov %.5f (n = %.0f)", what,
          (unsigned long long)seed, sp.mean, sp.var, sp.cov_x, n);
    pool.mean += sp.mean / R;
    m2 += (sp.var + sp.mean * sp.mean) / R;
    pool.cov_x += sp.cov_x / R;
    pool.accept += sp.accept / R;
    pool.nfe += sp.nfe / R;
    pool.planned = sp.planned;
  }
  pool.var = m2 - pool.mean * pool.mean;
  CHECK(exact_law(&pool, n * R, k), "%s, %d seeds pooled: residual mean %.5f var %.5f cov %.5f", what, R, pool.mean,
        pool.var, pool.cov_x);
  return pool;
}

static void test_mala_subproblem(void) {
  const int64_t N = 20000;
  const double n = (double)N * 4;
  const char *good[] = {"inner_steps=60", "step=1.0", NULL};
  subproblem sp = law_over_seeds(&rtk_sampler_rtk_mala, good, N, 4, 5, "MALA");
  CHECK(sp.accept > 0.3 && sp.accept < 0.99, "acceptance %.3f", sp.accept);
  CHECK(sp.nfe == 61, "MALA NFE %.1f", sp.nfe);
  /* the same statistic must detect an unconverged chain (test power) */
  const char *one[] = {"inner_steps=1", "step=1.0", NULL};
  sp = run_subproblem(&rtk_sampler_rtk_mala, one, N);
  CHECK(!exact_law(&sp, n, 20), "1-step chain not detected: mean %.4f var %.4f", sp.mean, sp.var);
  /* ULA with the same step is visibly biased; MALA corrects it */
  const char *ula[] = {"inner_steps=60", "step=1.0", NULL};
  sp = run_subproblem(&rtk_sampler_rtk_ula, ula, N);
  CHECK(!exact_law(&sp, n, 10), "ULA bias at tau = 1/L not detected: var %.4f", sp.var);
}

static void test_mala_score_subproblem(void) {
  const int64_t N = 20000;
  const char *gl[] = {"inner_steps=60", "step=1.0", "quad=gauss", "quad_nodes=3", NULL};
  subproblem sp = law_over_seeds(&rtk_sampler_rtk_mala_score, gl, N, 4, 5, "score-only MALA (Gauss 3)");
  CHECK(sp.nfe == 1 + 60 * 4, "Gauss-Legendre 3 nodes: 4 NFE per proposal, got %.1f", sp.nfe);
  const char *simp[] = {"inner_steps=60", "step=1.0", "quad=simpson", NULL};
  sp = law_over_seeds(&rtk_sampler_rtk_mala_score, simp, N, 4, 5, "score-only MALA (Simpson)");
  CHECK(sp.nfe == 1 + 60 * 2, "Simpson: 2 NFE per proposal, got %.1f", sp.nfe);
  /* on a mixture the energy is not quadratic: trapezoid acceptance stays close to exact-energy acceptance */
  rtk_mixture *m = tu_target("mog-grid", NULL);
  const char *kv[] = {"nfe=100", NULL}, *kvt[] = {"nfe=100", "quad=trapezoid", NULL};
  rtk_sampler_cfg ce, cs;
  tu_scfg(&rtk_sampler_rtk_mala, &ce, kv);
  tu_scfg(&rtk_sampler_rtk_mala_score, &cs, kvt);
  tu_run re, rs;
  tu_sample(&rtk_sampler_rtk_mala, &ce, m, 2, 4000, 256, &re);
  tu_sample(&rtk_sampler_rtk_mala_score, &cs, m, 2, 4000, 256, &rs);
  for (int k = 0; k < re.plan.nseg; k++) {
    double ae = (double)re.st.accept[k] / re.st.propose[k], as = (double)rs.st.accept[k] / rs.st.propose[k];
    CHECK(fabs(ae - as) < 0.03, "segment %d: trapezoid acceptance %.3f vs exact %.3f", k, as, ae);
  }
  CHECK(tu_total_nfe(&rs) == tu_total_nfe(&re), "trapezoid costs no extra NFE");
  tu_run_free(&re);
  tu_run_free(&rs);
  rtk_mixture_free(m);
}

static void test_langevin_subproblem(void) {
  const int64_t N = 20000;
  const double n = (double)N * 4;
  /* small steps: the discretisation bias O(tau) is far below the Monte Carlo error */
  const char *uld[] = {"inner_steps=600", "step=0.02", "gamma=2", NULL};
  subproblem sp = law_over_seeds(&rtk_sampler_rtk_uld, uld, N, 4, 5, "ULD small step");
  CHECK(sp.nfe == 600, "ULD NFE %.1f", sp.nfe);
  const char *ula[] = {"inner_steps=1000", "step=0.02", NULL}; /* bias ~ tau P / 2 = 1% of the variance */
  sp = law_over_seeds(&rtk_sampler_rtk_ula, ula, N / 2, 2, 5, "ULA small step");
  /* ULD with too few steps has not forgotten its start */
  const char *short_uld[] = {"inner_steps=3", "step=0.02", NULL};
  sp = run_subproblem(&rtk_sampler_rtk_uld, short_uld, N);
  CHECK(!exact_law(&sp, n, 20), "unconverged ULD not detected");
}

/* ULD at a finite step on a Gaussian segment target is a linear Gaussian AR(1)
 * process in (z - mean, v) with the frozen-gradient coefficients of SPEC §3.2:
 *   y' = (1 - P (tau - (1-E)/gamma)/gamma) y + (1-E)/gamma v + noise_z,
 *   v' = -(1-E)/gamma P y + E v + noise_v,
 *   Var noise_z = (2/gamma)(tau - 2(1-E)/gamma + (1-E^2)/(2 gamma)),
 *   Var noise_v = 1 - E^2,  Cov = (1-E)^2/gamma,  E = e^{-gamma tau}.
 * Its stationary variance C_zz (discrete Lyapunov equation, solved here by
 * iteration) is not the target's 1/P at this step (P C_zz = 1.17), so the
 * sample variance of the residual checks every coefficient of the step; with
 * the z and v noises uncorrelated it would be 0.84, with Cov scaled by
 * 1/sqrt(1-E^2) 1.27 (both > 15 sigma away, computed the same way). */
static void test_uld_ar(void) {
  const double gam = 2, tau = 0.3, t = 0.5, h = 0.5;
  const double a = rtk_alpha(t), lam = a * a * 0.25 + rtk_sigma2(t), e = exp(-h), q = -expm1(-2 * h);
  const double P = 1 / lam + e * e / q, E = exp(-gam * tau), o = 1 - E;
  const double vz = (2 / gam) * (tau - 2 * o / gam + (1 - E * E) / (2 * gam)), vv = 1 - E * E, cz = o * o / gam;
  const double A[2][2] = {{1 - P * (tau - o / gam) / gam, o / gam}, {-(o / gam) * P, E}};
  double C[2][2] = {{0, 0}, {0, 0}};
  for (int it = 0; it < 5000; it++) { /* C <- A C A^T + Q */
    double AC[2][2], N2[2][2];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) AC[i][j] = A[i][0] * C[0][j] + A[i][1] * C[1][j];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) N2[i][j] = AC[i][0] * A[j][0] + AC[i][1] * A[j][1];
    N2[0][0] += vz;
    N2[1][1] += vv;
    N2[0][1] += cz;
    N2[1][0] += cz;
    memcpy(C, N2, sizeof C);
  }
  const double want = P * C[0][0]; /* variance of the standardised residual (z - mean) sqrt(P) */
  CHECK(fabs(want - 1) > 0.1, "the finite-step variance must differ from the target's (P C_zz = %.4f)", want);
  const char *kv[] = {"inner_steps=100", "step_mode=absolute", "step=0.3", "gamma=2", NULL};
  const int64_t N = 20000;
  double mean = 0, m2 = 0, cov = 0;
  for (int s = 0; s < 4; s++) {
    const uint64_t seed = seed_base(101) + 100 + (uint64_t)s;
    subproblem sp = run_subproblem_seed(&rtk_sampler_rtk_uld, kv, N / 4, seed);
    const double n = (double)(N / 4) * 4;
    CHECK(fabs(sp.mean) < 5 * sqrt(want / n) && fabs(sp.var - want) < 5 * want * sqrt(2 / n) &&
              fabs(sp.cov_x) < 5 * sqrt(want / n),
          "ULD tau=0.3 seed %llu: residual mean %.5f var %.5f (AR(1) prediction %.5f) cov %.5f", (unsigned long long)seed,
          sp.mean, sp.var, want, sp.cov_x);
    mean += sp.mean / 4;
    m2 += (sp.var + sp.mean * sp.mean) / 4;
    cov += sp.cov_x / 4;
  }
  const double n = (double)N * 4, var = m2 - mean * mean;
  CHECK(fabs(var - want) < 5 * want * sqrt(2 / n), "ULD tau=0.3 pooled: residual var %.5f, AR(1) prediction %.5f", var,
        want);
  CHECK(fabs(mean) < 5 * sqrt(want / n) && fabs(cov) < 5 * sqrt(want / n), "ULD pooled: mean %.5f cov %.5f", mean, cov);
}

/* The start z_0 of every segment, pathwise: the inner chain's state m = 0 (at_inner)
 * against x' (at_boundary) and the same normals, for the three inits:
 *   gaussian e^h x' + sqrt(e^{2h}-1) xi,  mean e^h x',
 *   ddpm     e^h x' + 2(e^h-1) s_tf(x') + sqrt(e^{2h}-1) xi,
 * with xi = normals(seed, id, k, 0, SEGINIT) and s_tf by direct summation.  MALA
 * reuses the score of its last state for the next segment's start, ULA pays it. */
typedef struct {
  int d, S, N;
  double *xb; /* [S+1][N][d] particles at the grid times */
  double *z0; /* [S][N][d] inner-chain starts */
} start_rec;

static void start_bnd(void *u, int k, int64_t gid0, int n, const double *X) {
  start_rec *r = u;
  memcpy(r->xb + ((size_t)k * r->N + (size_t)gid0) * r->d, X, sizeof(double) * n * r->d);
}

static void start_inner(void *u, int k, int m, int64_t gid0, int n, const double *Z) {
  start_rec *r = u;
  if (m == 0) memcpy(r->z0 + ((size_t)k * r->N + (size_t)gid0) * r->d, Z, sizeof(double) * n * r->d);
}

static void test_segment_start(void) {
  static const char *rnd[] = {"dim=3", "K=4", "var_min=0.02", "var_max=0.3", "alpha=0.5", NULL};
  rtk_mixture *m = tu_target("mog-random", rnd);
  const rtk_sampler_ops *ss[] = {&rtk_sampler_rtk_mala, &rtk_sampler_rtk_ula};
  const char *inits[] = {"init=gaussian", "init=mean", "init=ddpm"};
  const int N = 50, d = m->d;
  for (int si = 0; si < 2; si++)
    for (int ii = 0; ii < 3; ii++) {
      const char *kv[] = {"nfe=40", "segments=4", inits[ii], NULL};
      rtk_sampler_cfg cfg;
      tu_scfg(ss[si], &cfg, kv);
      rtk_plan plan;
      OK(ss[si]->plan(&cfg, m, &plan));
      start_rec rec = {d, plan.nseg, N, calloc((size_t)(plan.nseg + 1) * N * d, sizeof(double)),
                       calloc((size_t)plan.nseg * N * d, sizeof(double))};
      rtk_stats st;
      OK(rtk_stats_alloc(plan.nseg, &st));
      double *X = calloc((size_t)N * d, sizeof(double)), xi[8], s[8];
      rtk_block_ctx ctx = {m, &cfg, &plan, 5, start_bnd, &rec, start_inner, NULL};
      OK(rtk_sample_blocks(ss[si], &ctx, N, 16, 0, (N + 15) / 16, X, &st, NULL, NULL));
      double worst = 0;
      for (int k = 0; k < plan.nseg; k++) {
        const double h = plan.times[k] - plan.times[k + 1], eh = exp(h), sd = sqrt(expm1(2 * h));
        for (int i = 0; i < N; i++) {
          const double *x = rec.xb + ((size_t)k * N + i) * d, *z = rec.z0 + ((size_t)k * N + i) * d;
          rtk_rng_normals(5, (uint64_t)i, (uint64_t)k, 0, RTK_RNG_SEGINIT, d, xi);
          direct_score(m, plan.times[k], x, s);
          for (int j = 0; j < d; j++) {
            double want = eh * x[j];
            if (ii != 1) want += sd * xi[j];
            if (ii == 2) want += 2 * expm1(h) * s[j];
            const double err = fabs(z[j] - want) / (1 + fabs(want));
            if (err > worst) worst = err;
          }
        }
      }
      CHECK(worst < 1e-9, "%s %s: segment starts differ from the formula (worst rel. error %.3e)", ss[si]->name,
            inits[ii], worst);
      free(rec.xb);
      free(rec.z0);
      free(X);
      rtk_stats_free(&st);
      rtk_plan_free(&plan);
    }
  rtk_mixture_free(m);
}

/* The plan's formulas (docs/design.md): relative step tau_k = step / L_k with
 * L_k = 1/min_{k,j} lam_kj(t_{k+1}) + e^{-2h}/(1 - e^{-2h}), computed here from the
 * mixture; the budget split b_k = floor(nfe/S) + (k < nfe mod S); the warm-up
 * floor(warmup * inner_k); absolute steps. */
static void test_plan_formulas(void) {
  static const char *rnd[] = {"dim=4", "K=5", "var_min=0.01", "var_max=0.5", NULL};
  rtk_mixture *m = tu_target("mog-random", rnd);
  const char *kv[] = {"nfe=103", "segments=5", "step=0.4", "step_mode=adaptive", "warmup=0.3", NULL};
  rtk_sampler_cfg cfg;
  tu_scfg(&rtk_sampler_rtk_mala, &cfg, kv);
  rtk_plan p;
  OK(rtk_sampler_rtk_mala.plan(&cfg, m, &p));
  int64_t tot = 0;
  for (int k = 0; k < p.nseg; k++) {
    const double tt = p.times[k + 1], h = p.times[k] - tt, a = exp(-tt), s2 = 1 - exp(-2 * tt);
    double mn = INFINITY;
    for (int i = 0; i < m->K * m->d; i++) mn = fmin(mn, a * a * m->var[i] + s2);
    const double L = 1 / mn + exp(-2 * h) / (1 - exp(-2 * h));
    CHECK(fabs(p.tau[k] - 0.4 / L) < 1e-12 * p.tau[k], "segment %d: tau %.6g, step/L_k = %.6g", k, p.tau[k], 0.4 / L);
    const int64_t b = 103 / 5 + (k < 103 % 5), fixed = 1 + (k == 0); /* z_0, and the init=ddpm score once */
    CHECK(p.inner[k] == b - fixed, "segment %d: %d inner steps, budget %lld - %lld", k, p.inner[k], (long long)b,
          (long long)fixed);
    CHECK(p.warmup[k] == (int)floor(0.3 * p.inner[k]), "segment %d: warm-up %d of %d", k, p.warmup[k], p.inner[k]);
    tot += p.nfe_seg[k];
  }
  CHECK(p.nfe == 103 && tot == 103, "the whole budget is planned: %lld", (long long)p.nfe);
  rtk_plan_free(&p);
  const char *ab[] = {"nfe=50", "step_mode=absolute", "step=0.07", NULL};
  tu_scfg(&rtk_sampler_rtk_ula, &cfg, ab);
  OK(rtk_sampler_rtk_ula.plan(&cfg, m, &p));
  for (int k = 0; k < p.nseg; k++) CHECK(p.tau[k] == 0.07 && p.warmup[k] == 0, "absolute step %g", p.tau[k]);
  rtk_plan_free(&p);
  rtk_mixture_free(m);
}

static void test_adaptive_projected(void) {
  const int64_t N = 20000;
  /* adaptive MALA: warm-up reaches the target acceptance, the law stays exact */
  const char *ad[] = {"inner_steps=100", "step=3.0", "step_mode=adaptive", "warmup=0.4", "target_accept=0.57", NULL};
  subproblem sp = law_over_seeds(&rtk_sampler_rtk_mala, ad, N, 4, 5, "adaptive MALA");
  CHECK(sp.nfe == 101, "adaptive warm-up NFE are counted: %.1f", sp.nfe);
  const char *ad2[] = {"inner_steps=400", "step=3.0", "step_mode=adaptive", "warmup=0.9", "target_accept=0.57", NULL};
  subproblem wide = run_subproblem(&rtk_sampler_rtk_mala, ad2, 4000);
  const char *fixed[] = {"inner_steps=400", "step=3.0", NULL};
  subproblem fix = run_subproblem(&rtk_sampler_rtk_mala, fixed, 4000);
  CHECK(fabs(wide.accept - 0.57) < fabs(fix.accept - 0.57) && fabs(wide.accept - 0.57) < 0.1,
        "dual averaging moves acceptance to 0.57: adaptive %.3f, fixed %.3f", wide.accept, fix.accept);
  /* adaptive ULA: secant curvature, still a small-bias sampler */
  const char *aula[] = {"inner_steps=200", "step=0.3", "step_mode=adaptive", NULL};
  sp = run_subproblem(&rtk_sampler_rtk_ula, aula, N);
  CHECK(fabs(sp.var - 1) < 0.2 && fabs(sp.mean) < 0.1, "adaptive ULA var %.4f", sp.var);
  /* projected MALA: exact law, fewer evaluations than planned.  The regime matters: with
   * tau = 1/L the proposal mean is the kernel's mean whatever z is, so a chain started in the
   * tail proposes moves longer than the radius and stays put (radius 3 left the residual
   * variance 3.5% too high, 5-9 sigma on most seeds), and a projection measured on the wrong
   * vector (the noise alone: no longer symmetric, so the law is wrong) moved it by 1 sigma.
   * With tau = 0.2/L the drift stays shorter than the radius along the whole chain, the
   * radius still rejects about a third of the proposals, the law is exact, and that
   * asymmetric projection is 67 sigma off (measured). */
  const char *pr[] = {"inner_steps=400", "step=0.2", "init=ddpm", "radius=1.0", NULL};
  sp = law_over_seeds(&rtk_sampler_rtk_mala, pr, N, 4, 5, "projected MALA");
  CHECK(sp.nfe < 0.8 * sp.planned && sp.nfe > 0.4 * sp.planned,
        "the radius must reject a good share of proposals, which are not evaluated: %.2f NFE of %lld", sp.nfe,
        (long long)sp.planned);
  CHECK(sp.accept > 0.4 && sp.accept < 0.8, "projected MALA acceptance %.3f (radius rejections included)", sp.accept);
}

/* PF-ODE solvers, pathwise: on a Gaussian target the exact flow maps x_T to
 * m_t + sqrt(lam_t/lam_T) (x_T - m_T); errors must fall at order 1 (DDIM)
 * and 2 (DPM-Solver++(2M)) in the step. */
static void test_ode_order(void) {
  const char *tk[] = {"dim=2", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const rtk_sampler_ops *ss[] = {&rtk_sampler_ddim, &rtk_sampler_dpmpp2m};
  const double order[] = {1, 2};
  const double T = 2, delta = 0.05;
  const double lT = rtk_alpha(T) * rtk_alpha(T) * 0.25 + rtk_sigma2(T), ld = rtk_alpha(delta) * rtk_alpha(delta) * 0.25 + rtk_sigma2(delta);
  for (int si = 0; si < 2; si++) {
    double prev[2] = {0, 0};
    for (int S = 256; S <= 2048; S *= 2) { /* asymptotic regime of the uniform-in-t grid */
      char nfe[32];
      snprintf(nfe, sizeof nfe, "nfe=%d", S);
      const char *kv[] = {nfe, "grid=uniform", "T=2", "delta=0.05", NULL};
      rtk_sampler_cfg cfg;
      tu_scfg(ss[si], &cfg, kv);
      tu_run r;
      tu_sample(ss[si], &cfg, m, 5, 200, 64, &r);
      /* the solver is affine in x_T: y = A_S x_T + b_S; compare slope and intercept with the flow's */
      const double *x = r.X0, *y = r.X;
      double A_S = (y[0] - y[2]) / (x[0] - x[2]), b_S = y[0] - A_S * x[0];
      double A = sqrt(ld / lT), b = rtk_alpha(delta) * 0.5 - A * rtk_alpha(T) * 0.5;
      double err[2] = {fabs(A_S - A), fabs(b_S - b)};
      if (getenv("RTK_TEST_VERBOSE")) printf("%s S=%d slope err=%.3e intercept err=%.3e\n", ss[si]->name, S, err[0], err[1]);
      for (int c = 0; c < 2; c++) {
        if (prev[c] > 0) {
          double rate = log2(prev[c] / err[c]);
          CHECK(fabs(rate - order[si]) < 0.3, "%s: observed order %.3f of the %s at %d steps (expected %.0f)",
                ss[si]->name, rate, c ? "intercept" : "slope", S, order[si]);
        }
        prev[c] = err[c];
      }
      tu_run_free(&r);
    }
  }
  rtk_mixture_free(m);
}


/* time.grid = karras: the EDM noise levels (Karras et al. 2022, CIFAR-10 setting
 * sigma in [0.002, 80], rho = 7, n = 18; reference values computed with 40-digit
 * decimal arithmetic), and the grid maps them to OU times t = log(1+sigma^2)/2 */
static void test_karras_grid(void) {
  static const double ref[18] = {8.000000000000000e+01, 5.758598472124816e+01, 4.078557379650796e+01,
                                 2.837458460415684e+01, 1.935245298032522e+01, 1.291008238075732e+01,
                                 8.400935309099822e+00, 5.315194521796379e+00, 3.256821519765538e+00,
                                 1.923339837040050e+00, 1.088170636545279e+00, 5.853481231945423e-01,
                                 2.964422844791573e-01, 1.395164687310165e-01, 5.994731123547157e-02,
                                 2.293451837233337e-02, 7.528019962784071e-03, 2.000000000000000e-03};
  double sig[18], t[20];
  rtk_karras_sigmas(0.002, 80, 7, 18, sig);
  /* pow() of a 7th power: relative error a few ulp x 7 */
  for (int i = 0; i < 18; i++) CHECK(fabs(sig[i] / ref[i] - 1) < 1e-13, "karras sigma[%d] = %.16e vs %.16e", i, sig[i], ref[i]);
  /* the same schedule as a time grid: T = t(80), t_min = t(0.002), 18 levels then the step to delta */
  const double T = rtk_ve_time(80), tmin = rtk_ve_time(0.002);
  OK(rtk_grid_karras(T, tmin, 0, 7, 18, t));
  for (int i = 0; i < 18; i++)
    CHECK(fabs(rtk_ve_sigma(t[i]) / ref[i] - 1) < 1e-12, "karras grid t[%d]=%g: sigma %.16e vs %.16e", i, t[i], rtk_ve_sigma(t[i]), ref[i]);
  CHECK(t[0] == T && t[17] == tmin && t[18] == 0, "karras grid ends %g %g %g", t[0], t[17], t[18]);
  /* via the sampler keys: time.grid = karras with time.rho */
  const char *kv[] = {"nfe=18", "grid=karras", "rho=3", "T=4", "t_min=0.01", NULL};
  rtk_sampler_cfg cfg;
  tu_scfg(&rtk_sampler_ddim, &cfg, kv);
  rtk_plan p;
  OK(rtk_sampler_ddim.plan(&cfg, NULL, &p));
  rtk_karras_sigmas(rtk_ve_sigma(0.01), rtk_ve_sigma(4), 3, 18, sig);
  for (int i = 1; i < 17; i++) CHECK(fabs(p.times[i] - rtk_ve_time(sig[i])) < 1e-14, "rho=3 plan t[%d]", i);
  CHECK(p.nseg == 18 && p.times[18] == 0, "karras plan has 18 steps");
  rtk_plan_free(&p);
  OK(rtk_grid_karras(5, 1e-3, 0, 7, 1, t));
  CHECK(t[0] == 5 && t[1] == 0, "one karras step is T -> end");
  CHECK(rtk_grid_karras(5, 6, 0, 7, 4, t) == RTK_ERR_INPUT, "karras t_min > T rejected");
  CHECK(rtk_grid_karras(5, 1e-3, 0, -1, 4, t) == RTK_ERR_INPUT, "karras rho <= 0 rejected");
}

/* Pathwise order of a deterministic solver on the Gaussian target: the exact
 * flow maps x_T to m_t + sqrt(lam_t/lam_T)(x_T - m_T) and every solver here is
 * affine in x_T, so the slope and intercept errors are deterministic functions
 * of the grid (no Monte Carlo error).  The order is the least-squares slope of
 * log err vs log S over S in steps[]. */
static double measured_order(const rtk_sampler_ops *s, const char *extra, const int *steps, int nS, int nfe_per, int nfe_off,
                             double T, const char *grid, double *last_err) {
  const char *tk[] = {"dim=2", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const double delta = 0.05;
  const double lT = rtk_alpha(T) * rtk_alpha(T) * 0.25 + rtk_sigma2(T), ld = rtk_alpha(delta) * rtk_alpha(delta) * 0.25 + rtk_sigma2(delta);
  const double A = sqrt(ld / lT), b = rtk_alpha(delta) * 0.5 - A * rtk_alpha(T) * 0.5;
  char Tkey[32];
  snprintf(Tkey, sizeof Tkey, "T=%g", T);
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int q = 0; q < nS; q++) {
    char nfe[32];
    snprintf(nfe, sizeof nfe, "nfe=%d", nfe_per * steps[q] + nfe_off);
    char ex[64], *ex2 = NULL;
    snprintf(ex, sizeof ex, "%s", extra ? extra : "");
    if ((ex2 = strchr(ex, ' '))) *ex2++ = 0; /* up to two keys, space-separated */
    const char *kv[] = {nfe, grid, Tkey, "delta=0.05", "t_min=0.1", extra ? ex : NULL, ex2, NULL};
    rtk_sampler_cfg cfg;
    int refined = !strcmp(grid, "refined");
    if (refined) kv[1] = "grid=list";
    tu_scfg(s, &cfg, kv);
    if (refined) { /* uniform, but the first two steps shortened to h^2 (h in units of T - delta) */
      const int S = steps[q];
      const double h = (T - delta) / S, c = h * h / (T - delta);
      cfg.times.n = S + 1;
      cfg.times.v[0] = T;
      cfg.times.v[1] = T - c;
      cfg.times.v[2] = T - 2 * c;
      for (int i = 3; i <= S; i++) cfg.times.v[i] = cfg.times.v[2] - (cfg.times.v[2] - delta) * (i - 2) / (S - 2);
      cfg.times.v[S] = delta;
    }
    tu_run r;
    tu_sample(s, &cfg, m, 5, 200, 64, &r);
    CHECK(r.plan.nseg == steps[q], "%s: %d steps planned, expected %d", s->name, r.plan.nseg, steps[q]);
    const double *x = r.X0, *y = r.X;
    double A_S = (y[0] - y[2]) / (x[0] - x[2]), b_S = y[0] - A_S * x[0];
    double err = fabs(A_S - A) + fabs(b_S - b);
    if (getenv("RTK_TEST_VERBOSE")) printf("%s %s %s T=%g S=%d err=%.3e\n", s->name, extra ? extra : "", grid, T, steps[q], err);
    double lx = log((double)steps[q]), ly = log(err);
    sx += lx;
    sy += ly;
    sxx += lx * lx;
    sxy += lx * ly;
    *last_err = err;
    tu_run_free(&r);
  }
  rtk_mixture_free(m);
  return -(nS * sxy - sx * sy) / (nS * sxx - sx * sx);
}

/* Orders of the practitioners' solvers (T = 2 -> delta = 0.05, uniform in t).
 * Step counts are in the asymptotic regime (h <= 0.008) and keep the smallest
 * error (~4e-12, unipc order 3 at S = 4096) four orders above double rounding
 * (~1e-16 x S).  Tolerance 0.25 on the fitted slope: the local slopes over
 * these ranges drift by < 0.1 (RTK_TEST_VERBOSE prints the errors), while a
 * wrong coefficient drops the order by >= 1 (see the k-diffusion 3M below).
 * 3M starts with one first-order and one second-order step; the first one's
 * O(h^2) local error would bound the global order by 2, so its test grid
 * ("refined") shortens the first two steps to h^2 (start error O(h^4)) and
 * measures the multistep formula itself.  UniPC's warm-up is corrected by
 * UniC, and its corrector raises the order by one: >= order + 1 - 0.25. */
static void test_solver_orders(void) {
  const int s2[] = {256, 512, 1024, 2048}, s3[] = {256, 512, 1024, 2048, 4096};
  double e, o;
  if (getenv("RTK_TEST_EXPLORE")) {
    const char *grids[] = {"grid=uniform", "refined", "grid=geometric"};
    const double Ts[] = {2, 5};
    for (int g = 0; g < 3; g++)
      for (int i = 0; i < 2; i++) {
        o = 0;
        printf("3M %s T=%g: %.3f\n", grids[g], Ts[i], measured_order(&rtk_sampler_dpmpp2m, "order=3", s2, 4, 1, 0, Ts[i], grids[g], &e));
      }
  }
  o = measured_order(&rtk_sampler_heun, NULL, s2, 4, 2, -1, 2, "grid=uniform", &e);
  CHECK(fabs(o - 2) < 0.25, "heun: measured order %.3f, expected 2", o);
  o = measured_order(&rtk_sampler_dpmpp2m, "order=3", s2, 4, 1, 0, 2, "refined", &e);
  CHECK(fabs(o - 3) < 0.25, "dpm-solver++ 3M: measured order %.3f, expected 3", o);
  if (getenv("RTK_TEST_VERBOSE")) printf("dpm-solver++ 3M taylor: %.3f\n", o);
  /* the published 3M code weights D'' by half its Taylor coefficient: second order */
  o = measured_order(&rtk_sampler_dpmpp2m, "order=3 variant=k-diffusion", s2, 4, 1, 0, 2, "grid=uniform", &e);
  CHECK(fabs(o - 2) < 0.25, "dpm-solver++ 3M (k-diffusion weights): measured order %.3f, expected 2", o);
  if (getenv("RTK_TEST_VERBOSE")) printf("dpm-solver++ 3M k-diffusion: %.3f\n", o);
  o = measured_order(&rtk_sampler_dpmpp2m, "order=2", s2, 4, 1, 0, 2, "grid=uniform", &e);
  CHECK(fabs(o - 2) < 0.25, "dpm-solver++ 2M: measured order %.3f, expected 2", o);
  o = measured_order(&rtk_sampler_unipc, "order=2", s3, 5, 1, 0, 2, "grid=uniform", &e);
  CHECK(o > 3 - 0.25, "unipc order=2: measured order %.3f, expected >= 3 (UniP-2 + UniC)", o);
  if (getenv("RTK_TEST_VERBOSE")) printf("unipc order=2: %.3f\n", o);
  o = measured_order(&rtk_sampler_unipc, "order=3", s3, 5, 1, 0, 2, "grid=uniform", &e);
  CHECK(o > 4 - 0.25, "unipc order=3: measured order %.3f, expected >= 4 (UniP-3 + UniC)", o);
  if (getenv("RTK_TEST_VERBOSE")) printf("unipc order=3: %.3f\n", o);
}

/* pc with corrector_steps = 0 is ddpm bitwise (same step, same random numbers);
 * with a corrector it differs and costs (1 + M) NFE per step */
static void test_pc_ddpm(void) {
  rtk_mixture *m = tu_target("mog-grid", NULL);
  const char *grids[] = {"grid=uniform", "grid=geometric", "grid=karras"};
  for (int g = 0; g < 3; g++) {
    const char *kp[] = {"nfe=25", grids[g], "corrector_steps=0", NULL}, *kd[] = {"nfe=25", grids[g], NULL};
    rtk_sampler_cfg cp, cd;
    tu_scfg(&rtk_sampler_pc, &cp, kp);
    tu_scfg(&rtk_sampler_ddpm, &cd, kd);
    tu_run a, b;
    tu_sample(&rtk_sampler_pc, &cp, m, 11, 700, 64, &a);
    tu_sample(&rtk_sampler_ddpm, &cd, m, 11, 700, 100, &b);
    CHECK(!memcmp(a.X, b.X, sizeof(double) * 700 * m->d), "pc (0 corrector steps) vs ddpm differ on %s", grids[g]);
    CHECK(tu_total_nfe(&a) == 25 * 700 && a.plan.nfe == 25, "pc M=0 NFE %lld", (long long)tu_total_nfe(&a));
    tu_run_free(&a);
    tu_run_free(&b);
  }
  const char *k1[] = {"nfe=25", "corrector_steps=1", NULL}, *kd[] = {"nfe=12", NULL};
  rtk_sampler_cfg c1, cd;
  tu_scfg(&rtk_sampler_pc, &c1, k1);
  tu_scfg(&rtk_sampler_ddpm, &cd, kd);
  tu_run a, b;
  tu_sample(&rtk_sampler_pc, &c1, m, 11, 300, 64, &a);
  tu_sample(&rtk_sampler_ddpm, &cd, m, 11, 300, 64, &b);
  CHECK(a.plan.nseg == 12 && a.plan.nfe == 24, "pc M=1, budget 25: %d steps, %lld NFE", a.plan.nseg, (long long)a.plan.nfe);
  CHECK(memcmp(a.X, b.X, sizeof(double) * 300 * m->d), "the corrector changes the samples");
  tu_run_free(&a);
  tu_run_free(&b);
  rtk_mixture_free(m);
}

/* every new sampler and variant: planned NFE = counted NFE (per segment), within
 * the budget; block-size invariance; accurate on a Gaussian target at 200 NFE */
static void test_new_samplers(void) {
  static const struct {
    const rtk_sampler_ops *s;
    const char *k1, *k2;
    int per, off; /* planned NFE = per * S + off */
  } v[] = {{&rtk_sampler_heun, "s_churn=0", NULL, 2, -1},
           {&rtk_sampler_heun, "s_churn=10", "s_tmax=5", 2, -1},
           {&rtk_sampler_dpmpp2m, "order=3", NULL, 1, 0},
           {&rtk_sampler_dpmpp2m, "order=3", "variant=k-diffusion", 1, 0},
           {&rtk_sampler_dpmpp2m, "order=2", "sde=true", 1, 0},
           {&rtk_sampler_dpmpp2m, "order=3", "sde=true", 1, 0},
           {&rtk_sampler_unipc, "order=2", NULL, 1, 0},
           {&rtk_sampler_unipc, "order=3", NULL, 1, 0},
           {&rtk_sampler_pc, "corrector_steps=0", NULL, 1, 0},
           {&rtk_sampler_pc, "corrector_steps=1", NULL, 2, 0},
           {&rtk_sampler_pc, "corrector_steps=3", "snr=0.1", 4, 0}};
  rtk_mixture *mg = tu_target("mog-grid", NULL);
  const char *tk[] = {"dim=4", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *ga = tu_target("gaussian", tk);
  const int64_t N = 20000;
  const double n = (double)N * 4, se = sqrt(0.25 / n) + 0.25 * sqrt(2 / n);
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    for (int budget = 30; budget <= 33; budget += 3) {
      char b[32];
      snprintf(b, sizeof b, "nfe=%d", budget);
      const char *kv[] = {b, "grid=karras", v[i].k1, v[i].k2, NULL};
      rtk_sampler_cfg cfg;
      tu_scfg(v[i].s, &cfg, kv);
      tu_run a, c;
      tu_sample(v[i].s, &cfg, mg, 9, 500, 256, &a);
      tu_sample(v[i].s, &cfg, mg, 9, 500, 37, &c);
      const int S = a.plan.nseg;
      CHECK(a.plan.nfe == (int64_t)v[i].per * S + v[i].off && a.plan.nfe <= budget && a.plan.nfe > budget - v[i].per,
            "%s %s: %d steps, %lld NFE for budget %d", v[i].s->name, v[i].k1, S, (long long)a.plan.nfe, budget);
      int64_t sum = 0;
      for (int k = 0; k < S; k++) {
        CHECK(a.st.nfe[k] == a.plan.nfe_seg[k] * 500, "%s %s: segment %d counted %lld, planned %lld x 500", v[i].s->name,
              v[i].k1, k, (long long)a.st.nfe[k], (long long)a.plan.nfe_seg[k]);
        sum += a.plan.nfe_seg[k];
      }
      CHECK(sum == a.plan.nfe, "%s: nfe_seg sums to %lld, plan says %lld", v[i].s->name, (long long)sum, (long long)a.plan.nfe);
      CHECK(!memcmp(a.X, c.X, sizeof(double) * 500 * mg->d), "%s %s: block size 256 vs 37 differ", v[i].s->name, v[i].k1);
      int finite = 1;
      for (int64_t q = 0; q < 500 * mg->d; q++) finite &= isfinite(a.X[q]);
      CHECK(finite, "%s %s: non-finite samples", v[i].s->name, v[i].k1);
      tu_run_free(&a);
      tu_run_free(&c);
    }
    /* Gaussian target: mean + variance error within 0.02 + 3 s.e. at 200 NFE (geometric grid) */
    const char *kv[] = {"nfe=200", "grid=geometric", v[i].k1, v[i].k2, NULL};
    rtk_sampler_cfg cfg;
    tu_scfg(v[i].s, &cfg, kv);
    tu_run r;
    tu_sample(v[i].s, &cfg, ga, 8, N, 256, &r);
    double sm = 0, sv = 0;
    for (int64_t q = 0; q < N * 4; q++) sm += r.X[q] / n;
    for (int64_t q = 0; q < N * 4; q++) sv += (r.X[q] - sm) * (r.X[q] - sm) / n;
    const double err = fabs(sm - 0.5) + fabs(sv - 0.25);
    if (getenv("RTK_TEST_VERBOSE")) printf("%s %s %s: gaussian error %.4f (s.e. %.4f)\n", v[i].s->name, v[i].k1, v[i].k2 ? v[i].k2 : "", err, se);
    CHECK(err < 0.02 + 3 * se, "%s %s: gaussian error %.4f at 200 NFE", v[i].s->name, v[i].k1, err);
    tu_run_free(&r);
  }
  rtk_mixture_free(mg);
  rtk_mixture_free(ga);
}

/* smc on a Gaussian target N(0.5, 0.25 I):
 * (1) the incremental weight equals its closed form: p_s(x_s) p(x_t|x_s)/p_t(x_t)
 *     is the Gaussian posterior of x_s given x_t (precision P = 1/lam_s + e^{-2h}/q,
 *     mean (m_s/lam_s + e^{-h} x_t/q)/P), divided by the ddpm kernel density;
 * (2) at 6 NFE (5 coarse geometric steps) ddpm is visibly biased, smc with
 *     resampling at every step (ess_threshold = 2) and with a final resampling
 *     only (0) is unbiased for the mean (|error| < 4 s.e.; variance below), the
 *     s.e. from the spread of the independent group means (resampling
 *     correlates particles only within a group);
 * (3) ESS and resampling counts per segment: every group every step for
 *     threshold 2, the last step only for 0; NFE = S + 1;
 * (4) a non-exact score model is refused. */
static void test_smc(void) {
  const double mu = 0.5, v = 0.25;
  /* (1) closed-form weights at random points */
  for (int trial = 0; trial < 50; trial++) {
    const int d = 3;
    double xt[3], xs[3], xi[3], u[3];
    rtk_rng_normals(77, (uint64_t)trial, 0, 0, RTK_RNG_AUX, 3, u);
    const double t = 0.3 + 0.05 * trial, h = 0.02 + 0.01 * trial, s = t - h;
    const double lt = rtk_alpha(t) * rtk_alpha(t) * v + rtk_sigma2(t), ls = rtk_alpha(s) * rtk_alpha(s) * v + rtk_sigma2(s);
    const double mt = rtk_alpha(t) * mu, ms = rtk_alpha(s) * mu;
    double lpt = 0, lps = 0, lpost = 0, lM = 0;
    const double q = -expm1(-2 * h), P = 1 / ls + exp(-2 * h) / q, vk = expm1(2 * h);
    for (int j = 0; j < d; j++) {
      xt[j] = mt + sqrt(lt) * u[j];
      const double sc = -(xt[j] - mt) / lt;
      rtk_rng_normals(78, (uint64_t)trial, (uint64_t)j, 0, RTK_RNG_AUX, 1, &xi[j]);
      const double mean = exp(h) * xt[j] + 2 * expm1(h) * sc;
      xs[j] = mean + sqrt(vk) * xi[j];
      lpt += -0.5 * (log(2 * M_PI * lt) + (xt[j] - mt) * (xt[j] - mt) / lt);
      lps += -0.5 * (log(2 * M_PI * ls) + (xs[j] - ms) * (xs[j] - ms) / ls);
      const double pm = (ms / ls + exp(-h) * xt[j] / q) / P;
      lpost += -0.5 * (log(2 * M_PI / P) + (xs[j] - pm) * (xs[j] - pm) * P);
      lM += -0.5 * (log(2 * M_PI * vk) + xi[j] * xi[j]);
    }
    const double lg = rtk_smc_log_increment(d, h, xt, lpt, xs, lps, xi), ref = lpost - lM;
    CHECK(fabs(lg - ref) < 1e-10 * (1 + fabs(ref)), "smc log weight %.15g vs closed form %.15g (t=%g h=%g)", lg, ref, t, h);
  }
  /* (2), (3) */
  const char *tk[] = {"dim=2", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const int64_t N = 32768, G = 64, ng = N / G;
  const char *thr[] = {"ess_threshold=2", "ess_threshold=0"};
  for (int c = 0; c < 3; c++) {
    const rtk_sampler_ops *s = c < 2 ? &rtk_sampler_smc : &rtk_sampler_ddpm;
    const char *kv[] = {"nfe=6", "grid=geometric", "T=3", "t_min=0.05", c < 2 ? thr[c] : NULL, NULL};
    rtk_sampler_cfg cfg;
    tu_scfg(s, &cfg, kv);
    tu_run r;
    tu_sample(s, &cfg, m, 31, N, 256, &r);
    /* group statistics of mean and second moment, averaged over the 2 coordinates */
    double sm = 0, ssm = 0, sv = 0, ssv = 0;
    for (int64_t g = 0; g < ng; g++) {
      double a = 0, b = 0;
      for (int64_t i = g * G; i < (g + 1) * G; i++)
        for (int j = 0; j < 2; j++) {
          a += r.X[i * 2 + j] / (2.0 * G);
          b += (r.X[i * 2 + j] - mu) * (r.X[i * 2 + j] - mu) / (2.0 * G);
        }
      sm += a / ng;
      ssm += a * a / ng;
      sv += b / ng;
      ssv += b * b / ng;
    }
    const double se_m = sqrt((ssm - sm * sm) / (ng - 1)), se_v = sqrt((ssv - sv * sv) / (ng - 1));
    const double zm = (sm - mu) / se_m, zv = (sv - v) / se_v;
    if (getenv("RTK_TEST_VERBOSE")) printf("%s %s: mean %.5f (z %.2f) var %.5f (z %.2f)\n", s->name, c < 2 ? thr[c] : "", sm, zm, sv, zv);
    if (c < 2) {
      CHECK(fabs(zm) < 4, "smc %s: mean %.5f (z = %.2f)", thr[c], sm, zm);
      /* the variance is a nonlinear functional: group-local resampling leaves an O(1/G)
       * bias (Del Moral 2004); allow 2 v / G on top of 4 s.e.  Without intermediate
       * resampling (threshold 0) the weights of 5 coarse steps degenerate (ESS ~ 1/G):
       * the self-normalised estimate is then unbiased only for the mean. */
      if (c == 0)
        CHECK(fabs(sv - v) < 4 * se_v + 2 * v / G, "smc %s: variance %.5f (z = %.2f)", thr[c], sv, zv);
      CHECK(r.plan.nseg == 5 && tu_total_nfe(&r) == 6 * N, "smc NFE %lld", (long long)tu_total_nfe(&r));
      for (int k = 0; k < r.plan.nseg; k++) {
        CHECK(r.st.groups[k] == ng, "smc: %lld groups at segment %d", (long long)r.st.groups[k], k);
        const int64_t want = (c == 0 || k == r.plan.nseg - 1) ? ng : 0;
        CHECK(r.st.resampled[k] == want, "smc %s: %lld groups resampled at segment %d", thr[c], (long long)r.st.resampled[k], k);
        const double ess = r.st.ess_q[k] / RTK_ESS_UNIT / ng;
        CHECK(ess > 0 && ess <= 1, "smc ESS fraction %g at segment %d", ess, k);
      }
    } else {
      CHECK(fabs(zv) > 10, "ddpm at 6 NFE must be visibly biased (variance z = %.2f), else the smc check proves nothing", zv);
    }
    tu_run_free(&r);
  }
  /* (4) */
  rtk_score_cfg scc;
  memset(&scc, 0, sizeof scc);
  OK(rtk_opt_set_defaults(rtk_score_common_options, &scc));
  OK(rtk_opt_set_defaults(rtk_score_perturbed.options, &scc));
  scc.error = 0.01;
  rtk_score sc;
  OK(rtk_score_create(&rtk_score_perturbed, &scc, m, NULL, &sc));
  const char *kv[] = {"nfe=6", NULL};
  rtk_sampler_cfg cfg;
  tu_scfg(&rtk_sampler_smc, &cfg, kv);
  rtk_plan p;
  OK(rtk_sampler_smc.plan(&cfg, m, &p));
  rtk_block_ctx ctx = {m, &cfg, &p, 1, NULL, NULL, NULL, &sc};
  void *ws = NULL;
  CHECK(rtk_sampler_smc.work_create(&ctx, 64, &ws) == RTK_ERR_INPUT, "smc refuses a perturbed score");
  if (ws) rtk_sampler_smc.work_free(ws);
  rtk_plan_free(&p);
  rtk_score_destroy(&sc);
  rtk_mixture_free(m);
}

/* every sampler on a Gaussian target: error of mean and variance shrinks with NFE */
static void test_gaussian_convergence(void) {
  const char *tk[] = {"dim=4", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const rtk_sampler_ops *ss[] = {&rtk_sampler_ddim, &rtk_sampler_dpmpp2m, &rtk_sampler_pmm, &rtk_sampler_rtk_ula,
                                 &rtk_sampler_rtk_uld, &rtk_sampler_rtk_mala, &rtk_sampler_rtk_mala_score};
  const int64_t N = 20000;
  const double n = (double)N * 4, se = sqrt(0.25 / n) + 0.25 * sqrt(2 / n);
  for (size_t si = 0; si < sizeof ss / sizeof ss[0]; si++) {
    double err[2];
    const char *budgets[] = {"nfe=6", "nfe=200"};
    for (int q = 0; q < 2; q++) {
      const char *kv[] = {budgets[q], rtk_opt_find(ss[si]->options, "init") ? "init=gaussian" : "grid=geometric", NULL};
      rtk_sampler_cfg cfg;
      tu_scfg(ss[si], &cfg, kv);
      tu_run r;
      tu_sample(ss[si], &cfg, m, 8, N, 256, &r);
      double sm = 0, sv = 0;
      for (int64_t i = 0; i < N * 4; i++) sm += r.X[i] / n;
      for (int64_t i = 0; i < N * 4; i++) sv += (r.X[i] - sm) * (r.X[i] - sm) / n;
      err[q] = fabs(sm - 0.5) + fabs(sv - 0.25);
      tu_run_free(&r);
    }
    CHECK(err[1] < err[0] - 3 * se, "%s: error %.4f at 6 NFE, %.4f at 200 NFE (MC s.e. %.4f)", ss[si]->name, err[0], err[1], se);
    /* samplers whose only error is the step (not a fixed-step bias like ULA/ULD's) get close */
    if (ss[si] != &rtk_sampler_rtk_ula && ss[si] != &rtk_sampler_rtk_uld)
      CHECK(err[1] < 0.02, "%s: error %.4f at 200 NFE", ss[si]->name, err[1]);
  }
  rtk_mixture_free(m);
}

/* PMM with K sub-steps matches K-step Euler-Maruyama (LMC) in law at ~2 NFE per step */
static void test_pmm_lmc(void) {
  const char *tk[] = {"dim=4", "mean=0.5", "variance=0.25", NULL};
  rtk_mixture *m = tu_target("gaussian", tk);
  const int64_t N = 20000;
  const double n = (double)N * 4;
  const int S = 100, K = 4; /* h = 0.03: PMM's extra error vs LMC vanishes as h -> 0 */
  char a[32], b[32], kk[32];
  snprintf(a, sizeof a, "nfe=%d", 2 * S);
  snprintf(b, sizeof b, "nfe=%d", S * K);
  snprintf(kk, sizeof kk, "substeps=%d", K);
  const char *kp[] = {a, kk, "grid=uniform", "T=3", NULL}, *kl[] = {b, "variant=euler", "grid=uniform", "T=3", NULL};
  rtk_sampler_cfg cp, cl;
  tu_scfg(&rtk_sampler_pmm, &cp, kp);
  tu_scfg(&rtk_sampler_ddpm, &cl, kl);
  tu_run rp, rl;
  tu_sample(&rtk_sampler_pmm, &cp, m, 12, N, 256, &rp);
  tu_sample(&rtk_sampler_ddpm, &cl, m, 13, N, 256, &rl);
  double mp = 0, ml = 0, vp = 0, vl = 0;
  for (int64_t i = 0; i < N * 4; i++) {
    mp += rp.X[i] / n;
    ml += rl.X[i] / n;
  }
  for (int64_t i = 0; i < N * 4; i++) {
    vp += (rp.X[i] - mp) * (rp.X[i] - mp) / n;
    vl += (rl.X[i] - ml) * (rl.X[i] - ml) / n;
  }
  /* two independent samples: s.e. of a difference of means/variances */
  CHECK(fabs(mp - ml) < 5 * sqrt((vp + vl) / n), "PMM mean %.5f vs LMC %.5f", mp, ml);
  CHECK(fabs(vp - vl) < 5 * sqrt(2 * (vp * vp + vl * vl) / n), "PMM var %.5f vs LMC %.5f", vp, vl);
  /* and both differ from S-step LMC (the comparison has power) */
  char c[32];
  snprintf(c, sizeof c, "nfe=%d", S);
  const char *ks[] = {c, "variant=euler", "grid=uniform", "T=3", NULL};
  rtk_sampler_cfg cs;
  tu_scfg(&rtk_sampler_ddpm, &cs, ks);
  tu_run rs;
  tu_sample(&rtk_sampler_ddpm, &cs, m, 14, N, 256, &rs);
  double vs = 0, ms = 0;
  for (int64_t i = 0; i < N * 4; i++) ms += rs.X[i] / n;
  for (int64_t i = 0; i < N * 4; i++) vs += (rs.X[i] - ms) * (rs.X[i] - ms) / n;
  CHECK(fabs(vs - vl) > 10 * sqrt(2 * (vs * vs + vl * vl) / n), "S-step LMC var %.4f should differ from SK-step %.4f", vs, vl);
  /* NFE per step: 1 + Binomial(K-1, 1/K) per particle, mean 1 + (K-1)/K */
  double per_step = (double)tu_total_nfe(&rp) / N / S, mean = 1 + (K - 1.0) / K;
  double sd = sqrt((K - 1.0) / K * (1 - 1.0 / K) / ((double)N * S));
  CHECK(fabs(per_step - mean) < 5 * sd, "PMM NFE per step %.4f, expected %.4f", per_step, mean);
  tu_run_free(&rp);
  tu_run_free(&rl);
  tu_run_free(&rs);
  rtk_mixture_free(m);
}

/* exact samples: marginal accuracy sits at 1 - noise floor within its error,
 * and the metric resolves samples of the wrong law */
static void test_exact_accuracy(void) {
  rtk_mixture *m = tu_target("mog-grid", NULL);
  const int64_t N = 5000;
  const int seeds = 12;
  double acc[12], floor_ = 0, floor_sd = 0;
  double *X = malloc(sizeof(double) * N * m->d), *probs = malloc(sizeof(double) * m->d * 102);
  for (int s = 0; s < seeds + 1; s++) {
    rtk_hist h;
    OK(rtk_hist_init(m, 0, 100, 4, &h));
    rtk_mixture_sample(m, s < seeds ? 0 : 0.05, 100 + s, 0, (int)N, X); /* last: p_0.05, the wrong law */
    rtk_hist_add(&h, (int)N, X);
    rtk_hist_exact_probs(&h, m, 0, probs);
    int64_t tot = 0;
    for (int b = 0; b < 102; b++) tot += h.count[b];
    CHECK(tot == N, "histogram lost particles: %lld", (long long)tot);
    double psum = 0;
    for (int b = 0; b < 102; b++) psum += probs[b];
    CHECK(fabs(psum - 1) < 1e-12, "bin probabilities sum to %.15f", psum);
    rtk_marginal_result r;
    rtk_marginal_metrics(&h, probs, N, NULL, &r);
    if (s < seeds) {
      acc[s] = r.accuracy;
      floor_ = r.noise_floor;
      floor_sd = r.floor_sd;
    } else {
      CHECK(r.excess > 10 * floor_sd, "p_0.05 vs p_0 must be resolved: excess %.4f, sd %.4f", r.excess, floor_sd);
    }
    rtk_hist_free(&h);
  }
  double mean = 0, var = 0;
  for (int s = 0; s < seeds; s++) mean += acc[s] / seeds;
  for (int s = 0; s < seeds; s++) var += (acc[s] - mean) * (acc[s] - mean) / (seeds - 1);
  double se = sqrt(var / seeds);
  CHECK(fabs(mean - (1 - floor_)) < 4 * se + 1e-4, "exact accuracy %.5f vs 1 - floor %.5f (SE %.5f)", mean, 1 - floor_, se);
  CHECK(sqrt(var) < 2 * floor_sd && sqrt(var) > 0.2 * floor_sd, "spread of exact accuracy %.5f vs predicted %.5f",
        sqrt(var), floor_sd);
  /* the linearised standard error is calibrated away from the floor (samples of p_0.05
   * against p_0: empirical spread over seeds matches) and conservative at the floor */
  for (int biased = 0; biased < 2; biased++) {
    double a[12], se_mean = 0, mu = 0, v = 0;
    for (int s = 0; s < seeds; s++) {
      rtk_hist h;
      OK(rtk_hist_init(m, 0, 100, 4, &h));
      rtk_mixture_sample(m, biased ? 0.05 : 0, 300 + s, 0, (int)N, X);
      rtk_hist_add(&h, (int)N, X);
      rtk_hist_exact_probs(&h, m, 0, probs);
      rtk_marginal_result r;
      rtk_marginal_metrics(&h, probs, N, NULL, &r);
      signed char *sign = malloc((size_t)m->d * 102);
      int64_t s1 = 0, s2 = 0;
      rtk_tv_signs(&h, probs, N, sign);
      rtk_tv_lin_sums(&h, sign, (int)N, X, &s1, &s2);
      se_mean += rtk_tv_lin_se(s1, s2, N, m->d) / seeds;
      a[s] = r.accuracy;
      free(sign);
      rtk_hist_free(&h);
    }
    for (int s = 0; s < seeds; s++) mu += a[s] / seeds;
    for (int s = 0; s < seeds; s++) v += (a[s] - mu) * (a[s] - mu) / (seeds - 1);
    double ratio = sqrt(v) / se_mean; /* chi-square(11): 95% of sd ratios fall in [0.59, 1.41] */
    if (getenv("RTK_TEST_VERBOSE")) printf("biased=%d SE %.5f sd %.5f\n", biased, se_mean, sqrt(v));
    if (biased)
      CHECK(ratio > 0.5 && ratio < 1.6, "linearised SE %.5f vs empirical sd %.5f (ratio %.2f)", se_mean, sqrt(v), ratio);
    else
      CHECK(ratio < 1.6, "linearised SE %.5f must not understate the sd %.5f at the floor", se_mean, sqrt(v));
  }
  /* the exact binomial floor agrees with the large-N formula of the SPEC, 1/2 sum sqrt(2 p(1-p)/(pi N)) */
  double asym = 0;
  rtk_hist h;
  OK(rtk_hist_init(m, 0, 100, 4, &h));
  rtk_hist_exact_probs(&h, m, 0, probs);
  for (int i = 0; i < m->d; i++)
    for (int b = 0; b < 102; b++) {
      double p = probs[i * 102 + b];
      asym += 0.5 * sqrt(2 * p * (1 - p) / (M_PI * 1e7)) / m->d;
    }
  rtk_marginal_result r;
  memset(h.count, 0, sizeof(int64_t) * m->d * 102);
  rtk_marginal_metrics(&h, probs, 10000000, NULL, &r);
  CHECK(fabs(r.noise_floor - asym) < 0.02 * asym, "binomial floor %.6f vs asymptotic %.6f at N=1e7", r.noise_floor, asym);
  rtk_hist_free(&h);
  CHECK(fabs(rtk_binomial_mad(2, 0.5) - 0.5) < 1e-14, "MAD of Bin(2,1/2) = 1/2, got %g", rtk_binomial_mad(2, 0.5));
  free(X);
  free(probs);
  rtk_mixture_free(m);
}

static void test_grid(void) {
  double t[8];
  OK(rtk_grid_build(RTK_GRID_UNIFORM, 5, 1e-3, 0, NULL, 0, 5, t));
  for (int i = 0; i <= 5; i++) CHECK(fabs(t[i] - (5 - i)) < 1e-14, "uniform t[%d]=%g", i, t[i]);
  OK(rtk_grid_build(RTK_GRID_GEOMETRIC, 5, 1e-3, 0, NULL, 0, 5, t));
  CHECK(t[0] == 5 && fabs(t[4] - 1e-3) < 1e-15 && t[5] == 0, "geometric ends %g %g %g", t[0], t[4], t[5]);
  CHECK(fabs(t[1] / t[0] - t[2] / t[1]) < 1e-12, "geometric ratio");
  const double l[] = {5, 2, 1, 0};
  OK(rtk_grid_build(RTK_GRID_LIST, 5, 0, 0, l, 4, 0, t));
  CHECK(t[1] == 2 && t[3] == 0, "list copied");
  const double bad[] = {5, 2, 3, 0};
  CHECK(rtk_grid_build(RTK_GRID_LIST, 5, 0, 0, bad, 4, 0, t) == RTK_ERR_INPUT, "non-decreasing list rejected");
  CHECK(rtk_grid_build(RTK_GRID_GEOMETRIC, 5, 6, 0, NULL, 0, 4, t) == RTK_ERR_INPUT, "t_min > T rejected");
  CHECK(rtk_grid_build(RTK_GRID_UNIFORM, 1, 0, 2, NULL, 0, 4, t) == RTK_ERR_INPUT, "end > T rejected");
}

/* exact NFE accounting of rtk-mala and ddpm (plan == counted, budget respected) */
static void test_nfe_accounting(void) {
  rtk_mixture *m = tu_target("mog-grid", NULL);
  const char *inits[] = {"init=ddpm", "init=gaussian", "init=mean"};
  for (int i = 0; i < 3; i++) {
    for (int budget = 50; budget <= 103; budget += 53) {
      char b[32];
      snprintf(b, sizeof b, "nfe=%d", budget);
      const char *kv[] = {b, inits[i], NULL};
      rtk_sampler_cfg cfg;
      tu_scfg(&rtk_sampler_rtk_mala, &cfg, kv);
      tu_run r;
      tu_sample(&rtk_sampler_rtk_mala, &cfg, m, 1, 300, 64, &r);
      CHECK(r.plan.nfe == budget, "%s budget %d: plan %lld", inits[i], budget, (long long)r.plan.nfe);
      CHECK(tu_total_nfe(&r) == 300 * r.plan.nfe, "%s: counted %lld", inits[i], (long long)tu_total_nfe(&r));
      int64_t props = 0;
      for (int k = 0; k < r.plan.nseg; k++) props += r.st.propose[k];
      CHECK(props == 300LL * (budget - 5 - (i == 0)), "%s: %lld proposals", inits[i], (long long)props);
      tu_run_free(&r);
    }
  }
  const char *kv[] = {"inner_steps=7", "segments=4", NULL};
  rtk_sampler_cfg cfg;
  tu_scfg(&rtk_sampler_rtk_mala, &cfg, kv);
  rtk_plan p;
  OK(rtk_sampler_rtk_mala.plan(&cfg, m, &p));
  CHECK(p.nfe == 4 * (1 + 7) + 1, "explicit inner steps: %lld", (long long)p.nfe);
  rtk_plan_free(&p);
  const char *small[] = {"nfe=4", NULL};
  tu_scfg(&rtk_sampler_rtk_mala, &cfg, small);
  CHECK(rtk_sampler_rtk_mala.plan(&cfg, m, &p) == RTK_ERR_INPUT, "budget below one NFE per segment rejected");
  rtk_mixture_free(m);
}

/* Rows s .. s + n - 1 evaluated in a call of their own have the bits of the same rows of one 300-row call, for
 * call sizes and offsets that cross the BLAS's kernel switches (RTK_GEMM_ROWS tiles, include/rtk/mixture.h;
 * OpenBLAS 0.3.21 on AVX-512 runs its TN small-matrix kernel when K·rows <= 1200 with d >= 32, e.g. K = 64,
 * d = 128 below 19 rows and K = 8, d = 64 below 151, and small kernels when M·N·K <= 10^6; BLIS has "sup" kernels
 * for small m): the mixture's logp, score and argmax, the projection, and the mlp and perturbed score plug-ins. */
static void test_gemm_tiles(void) {
  static const int shapes[][2] = {{64, 128}, {8, 64}, {10, 40}, {25, 10}, {1, 33}, {100, 100}};
  static const int sizes[] = {1, 5, 16, 17, 19, 37, 128, 129, 150, 200};
  static const int offs[] = {0, 1, 63, 100};
  enum { N = 300, NS = 3 };
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    char kb[32], db[32];
    snprintf(kb, sizeof kb, "K=%d", shapes[si][0]);
    snprintf(db, sizeof db, "dim=%d", shapes[si][1]);
    const char *kv[] = {kb, db, NULL};
    rtk_mixture *m = tu_target("mog-random", kv);
    const int d = m->d, K = m->K;
    rtk_mixcoef c;
    rtk_mixwork w;
    OK(rtk_mixcoef_init(m, &c));
    OK(rtk_mixwork_init(K, d, &w));
    rtk_mixcoef_set_time(m, 0.3, &c);
    double *X = malloc(sizeof(double) * N * d), *S0 = malloc(sizeof(double) * N * d), *S = malloc(sizeof(double) * N * d);
    double *U = malloc(sizeof(double) * NS * d), *pad = malloc(sizeof(double) * RTK_GEMM_ROWS * (d + NS));
    double lp0[N], lp[N], Y0[N * NS], Y[N * NS];
    int k0[N], k1[N];
    rtk_mixture_sample(m, 0.3, 5, 0, N, X);
    for (int i = 0; i < N * d; i++) X[i] += 0.05 * sin(i); /* off the component means */
    rtk_random_directions(4, NS, d, U);
    rtk_mix_eval(&c, N, X, lp0, S0, &w);
    rtk_mix_argmax(&c, N, X, k0, &w);
    rtk_project(N, d, X, NS, U, Y0, pad);
    /* the score plug-ins: perturbed (calibrated on few samples) and an mlp of random weights, width 64 */
    rtk_score_cfg pc;
    memset(&pc, 0, sizeof pc);
    OK(rtk_opt_set_defaults(rtk_score_common_options, &pc));
    OK(rtk_opt_set_defaults(rtk_score_perturbed.options, &pc));
    pc.calibration = 64;
    rtk_mlp *net;
    OK(rtk_mlp_alloc(d, 64, 2, 4, &net));
    net->sigma_floor = 0.05;
    for (int q = 0; q < 4; q++) net->freqs[q] = 1 + q;
    for (int l = 0; l <= 2; l++) {
      for (size_t i = 0; i < (size_t)net->rows[l] * net->cols[l]; i++) net->W[l][i] = 0.3 * sin(0.7 * i + l);
      for (int i = 0; i < net->rows[l]; i++) net->b[l][i] = 0.1 * cos(i + l);
    }
    rtk_score_cfg mc;
    memset(&mc, 0, sizeof mc);
    const rtk_score_ops *ops[] = {&rtk_score_perturbed, &rtk_score_mlp};
    rtk_score sc[2];
    rtk_score_ws sw[2];
    double *P0[2];
    for (int o = 0; o < 2; o++) {
      OK(rtk_score_create(ops[o], o ? &mc : &pc, m, o ? net : NULL, &sc[o]));
      OK(rtk_score_ws_init(&sc[o], m, N, &sw[o]));
      rtk_score_set_time(&sw[o], 0.3);
      P0[o] = malloc(sizeof(double) * N * d);
      rtk_score_eval(&sw[o], N, X, NULL, P0[o]);
    }
    int bad = 0;
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
      for (size_t b = 0; b < sizeof offs / sizeof offs[0]; b++) {
        const int n = sizes[a], o0 = offs[b];
        if (o0 + n > N) continue;
        const double *Xs = X + (size_t)o0 * d;
        rtk_mix_eval(&c, n, Xs, lp, S, &w);
        rtk_mix_argmax(&c, n, Xs, k1, &w);
        rtk_project(n, d, Xs, NS, U, Y, pad);
        const int ok_mix = !memcmp(lp, lp0 + o0, sizeof(double) * n) && !memcmp(S, S0 + (size_t)o0 * d, sizeof(double) * n * d),
                  ok_arg = !memcmp(k1, k0 + o0, sizeof(int) * n), ok_proj = !memcmp(Y, Y0 + o0 * NS, sizeof(double) * n * NS);
        CHECK(ok_mix && ok_arg && ok_proj, "K=%d d=%d: rows %d..%d alone differ from one 300-row call (mixture %d, argmax %d, "
              "projection %d)", K, d, o0, o0 + n - 1, ok_mix, ok_arg, ok_proj);
        for (int o = 0; o < 2; o++) {
          rtk_score_eval(&sw[o], n, Xs, NULL, S);
          const int ok = !memcmp(S, P0[o] + (size_t)o0 * d, sizeof(double) * n * d);
          CHECK(ok, "K=%d d=%d: %s score of rows %d..%d alone differs from one 300-row call", K, d, ops[o]->name, o0,
                o0 + n - 1);
          bad += !ok;
        }
        bad += !(ok_mix && ok_arg && ok_proj);
      }
    printf("K=%3d d=%3d: every row alone = the same row of one 300-row call (%s)\n", K, d, bad ? "NO" : "yes");
    for (int o = 0; o < 2; o++) {
      free(P0[o]);
      rtk_score_ws_free(&sw[o]);
      rtk_score_destroy(&sc[o]);
    }
    rtk_mlp_free(net);
    free(X);
    free(S0);
    free(S);
    free(U);
    free(pad);
    rtk_mixwork_free(&w);
    rtk_mixcoef_free(&c);
    rtk_mixture_free(m);
  }
}

/* chains depend on (seed, particle id) only: block size and block placement do not matter */
static void test_block_invariance(void) {
  rtk_mixture *m = tu_target("mog-grid", NULL);
  const rtk_sampler_ops *const *ss = rtk_sampler_all();
  const char *kv[] = {"nfe=30", NULL};
  for (int i = 0; ss[i]; i++) {
    rtk_sampler_cfg cfg;
    tu_scfg(ss[i], &cfg, kv);
    tu_run a, b;
    tu_sample(ss[i], &cfg, m, 9, 1000, 256, &a);
    /* smc's groups (64) may not straddle blocks: any multiple of the group */
    const int64_t B2 = ss[i] == &rtk_sampler_smc ? 128 : 37;
    tu_sample(ss[i], &cfg, m, 9, 1000, B2, &b);
    CHECK(!memcmp(a.X, b.X, sizeof(double) * 1000 * m->d), "%s: block size 256 vs %lld differ", ss[i]->name, (long long)B2);
    tu_run_free(&a);
    tu_run_free(&b);
  }
  rtk_mixture_free(m);
  /* a shape whose BLAS kernels change with the row count (K = 64, d = 128: core.gemm_tiles), blocks of 256, 37 and
   * 16, and the RTK samplers' blocks in chunks of 37 rows (the test hook of sampler_rtk.c's chunk_rows) */
  const char *rk[] = {"K=64", "dim=128", NULL};
  m = tu_target("mog-random", rk);
  const rtk_sampler_ops *big[] = {&rtk_sampler_ddpm, &rtk_sampler_rtk_mala, &rtk_sampler_rtk_ula, &rtk_sampler_rtk_uld,
                                  &rtk_sampler_rtk_mala_score};
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
    rtk_sampler_cfg cfg;
    tu_scfg(big[i], &cfg, kv);
    tu_run a, b;
    tu_sample(big[i], &cfg, m, 9, 160, 256, &a);
    for (int v = 0; v < 3; v++) {
      if (v == 2) setenv("RTK_TEST_CHUNK", "37", 1);
      tu_sample(big[i], &cfg, m, 9, 160, v == 0 ? 37 : v == 1 ? 16 : 256, &b);
      unsetenv("RTK_TEST_CHUNK");
      CHECK(!memcmp(a.X, b.X, sizeof(double) * 160 * m->d), "%s at K = 64, d = 128: block 256 vs %s differ", big[i]->name,
            v == 0 ? "37" : v == 1 ? "16" : "256 in chunks of 37");
      tu_run_free(&b);
    }
    tu_run_free(&a);
  }
  rtk_mixture_free(m);
}

static void test_rng(void) {
  const int n = 100000;
  double *z = malloc(sizeof(double) * n), *z2 = malloc(sizeof(double) * n), s = 0, ss = 0;
  rtk_rng_normals(1, 2, 3, 4, RTK_RNG_STEP, n, z);
  rtk_rng_normals(1, 2, 3, 4, RTK_RNG_STEP, n, z2);
  CHECK(!memcmp(z, z2, sizeof(double) * n), "same counter, same numbers");
  rtk_rng_normals(1, 2, 3, 4, RTK_RNG_PROPOSE, n, z2);
  CHECK(memcmp(z, z2, sizeof(double) * n), "different purpose, different numbers");
  for (int i = 0; i < n; i++) {
    s += z[i];
    ss += z[i] * z[i];
  }
  CHECK(fabs(s / n) < 5 / sqrt(n), "normal mean %g", s / n);
  CHECK(fabs(ss / n - 1) < 5 * sqrt(2.0 / n), "normal variance %g", ss / n);
  double u = 0;
  for (int i = 0; i < n; i++) u += rtk_rng_uniform(7, (uint64_t)i, 0, 0, RTK_RNG_ACCEPT);
  CHECK(fabs(u / n - 0.5) < 5 * sqrt(1.0 / 12 / n), "uniform mean %g", u / n);
  free(z);
  free(z2);
}

/* moment KL: ~0 within its SE for exact samples (mixture with a Gaussian
 * rest), and the closed form for samples with known moment errors */
static void test_moment_kl(void) {
  const int64_t N = 20000;
  const char *rk[] = {"dim=40", "K=4", "subspace=2", "rest_var=1", NULL};
  rtk_mixture *m = tu_target("mog-random", rk);
  const int d = m->d;
  const double t = 0.3;
  CHECK(m->var[2] == 1.0 && m->var[d + 39] == 1.0, "rest_var sets the variances outside the subspace");
  double *X = malloc(sizeof(double) * N * d);
  int64_t *s1 = calloc(d, sizeof(int64_t)), *s2 = calloc((size_t)d * d, sizeof(int64_t));
  for (int full = 0; full < 2; full++) {
    for (int seed = 1; seed <= 3; seed++) {
      rtk_mixture_sample(m, t, (uint64_t)seed, 0, (int)N, X);
      memset(s1, 0, sizeof(int64_t) * d);
      memset(s2, 0, sizeof(int64_t) * d * d);
      rtk_moment_sums((int)N, d, X, full, s1, s2);
      rtk_moment_kl_result r;
      OK(rtk_moment_kl(m, t, N, full, s1, s2, &r));
      CHECK(fabs(r.kl) < 4 * r.se, "exact samples (full=%d seed %d): moment KL %.2e, se %.2e", full, seed, r.kl, r.se);
      CHECK(r.floor > 0.5 * d / (double)N && r.floor < 20.0 * d / N, "floor %.2e out of range", r.floor);
    }
  }
  rtk_mixture_free(m);
  /* Gaussian target: shift the mean by 0.05 sd and scale the variance by 1.1 */
  const char *gk[] = {"dim=20", "mean=0.5", "variance=0.25", NULL};
  m = tu_target("gaussian", gk);
  const int dg = m->d;
  double mean[20], cov[400];
  rtk_mixture_moments(m, t, mean, cov);
  rtk_mixture_sample(m, t, 9, 0, (int)N, X);
  for (int64_t i = 0; i < N; i++)
    for (int j = 0; j < dg; j++) {
      const double sd = sqrt(cov[j * dg + j]);
      X[i * dg + j] = mean[j] + sqrt(1.1) * (X[i * dg + j] - mean[j]) + 0.05 * sd;
    }
  memset(s1, 0, sizeof(int64_t) * dg);
  memset(s2, 0, sizeof(int64_t) * dg);
  rtk_moment_sums((int)N, dg, X, 0, s1, s2);
  rtk_moment_kl_result r;
  OK(rtk_moment_kl(m, t, N, 0, s1, s2, &r));
  const double want = dg * (0.05 * 0.05 / 2 + 0.1 * 0.1 / 4);
  CHECK(fabs(r.kl - want) < 4 * r.se, "biased samples: moment KL %.4f vs %.4f (se %.4f)", r.kl, want, r.se);
  CHECK(r.kl > 10 * r.se, "the bias is resolved (%.4f, se %.4f)", r.kl, r.se);
  rtk_mixture_free(m);
  free(X);
  free(s1);
  free(s2);
}

/* the OpenBLAS core fix: which kernels count as fallbacks on which CPU (include/rtk/blas.h) */
static void test_blas_core(void) {
  static const struct { const char *core, *cpu, *want; } c[] = {
      {"Prescott", "avx512", "SkylakeX"}, {"Nehalem", "avx2", "Haswell"},  {"Core2", "avx512", "SkylakeX"},
      {"Katmai", "avx2", "Haswell"},      {"Sandybridge", "avx2", "Haswell"}, {"prescott", "avx512", "SkylakeX"},
      {"Prescott", "sse2", NULL},        {"Prescott", "other", NULL},    {"Haswell", "avx512", NULL},
      {"SkylakeX", "avx512", NULL},      {"Cooperlake", "avx512", NULL}, {"Zen", "avx2", NULL},
      {"SapphireRapids", "avx512", NULL}, {"", "avx512", NULL}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    const char *got = rtk_blas_better_core(c[i].core, c[i].cpu);
    CHECK((!got && !c[i].want) || (got && c[i].want && !strcmp(got, c[i].want)), "core %s on %s: got %s, want %s",
          c[i].core, c[i].cpu, got ? got : "(none)", c[i].want ? c[i].want : "(none)");
  }
}

/* The cuda backend bins with rtk_hist_bin (rtk/update.h), the host with metrics.c's branch-free bins_of
 * (inside rtk_hist_add and rtk_tv_lin_sums): both must give the same bin for every double, including the
 * bin edges lo + b (hi - lo) / nb and their neighbours, lo, hi, NaN, +-inf, -0 and huge values, so the
 * histograms and the linearised standard error's sums (issue 13: taken on the device) are the host's bits.
 * d = 70 spans two of rtk_hist_add's 64-coordinate tiles. */
/* rtk_mala_accept (rtk/update.h) decides log u < log_alpha without the log where bounds on ln u settle it: its
 * decisions must be the plain test's for every u in (0, 1] and log_alpha, above all next to the boundaries it
 * uses (log u itself, v = u - 1, v - v^2, the margins) and at the special values.  Also counts how often the log
 * is skipped (the point of the bounds): at least a third of uniform u against log_alpha in [-3, 0]. */
static void test_mala_accept(void) {
  uint64_t x = 0x2545F4914F6CDD1DULL;
  long n = 0, bad = 0, skip = 0, nunif = 0;
  for (int it = 0; it < 400000; it++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const double r = (double)(x >> 11) * 0x1p-53; /* [0, 1) */
    double u;
    switch (it % 5) { /* u across (0, 1]: uniform, tiny, near 1/2, near 1, exactly 1 or 1/2 */
      case 0: u = 1 - r; break;
      case 1: u = ldexp(1 - r, -(int)(x % 60)); break;
      case 2: u = 0.5 + (r - 0.5) * 0x1p-20; break;
      case 3: u = 1 - r * 0x1p-30; break;
      default: u = it % 2 ? 1.0 : 0.5; break;
    }
    if (!(u > 0)) u = 0x1p-53;
    const double L = log(u), v = u - 1, w = v - v * v;
    const double cand[] = {L, nextafter(L, 1), nextafter(L, -2), v, nextafter(v, 1), nextafter(v, -2), w,
                           v - 0x1p-40, v + 0x1p-40, w + 0x1p-40, w - 0x1p-40, v - 0x1p-39, w + 0x1p-39,
                           -3 * r, -40 * r, 0.0, -0.0, 0x1p-1074, -0x1p-1074, NAN, -INFINITY, INFINITY,
                           (v + w) / 2, L + 0x1p-50, L - 0x1p-50};
    for (size_t c = 0; c < sizeof cand / sizeof *cand; c++) {
      const double la = cand[c];
      const int plain = la > 0 || log(u) < la, fast = rtk_mala_accept(u, la);
      n++;
      if (plain != fast && bad++ < 5) fprintf(stderr, "u = %a, log_alpha = %a: %d, plain %d\n", u, la, fast, plain);
    }
    if (it % 5 == 0) { /* the bounds' reach: log_alpha uniform in [-3, 0] against uniform u */
      const double la = -3 * (double)((x >> 3) % 1000000) / 1e6;
      const double vv = u - 1;
      nunif++;
      skip += vv < la - 0x1p-40 || (u >= 0.5 && vv - vv * vv > la + 0x1p-40);
    }
  }
  CHECK(bad == 0, "%ld of %ld decisions differ from log u < log_alpha", bad, n);
  CHECK(skip * 3 >= nunif, "the bounds decide only %ld of %ld tests", skip, nunif);
  printf("mala_accept: %ld decisions; the log skipped in %.1f %% of uniform tests\n", n, 100.0 * skip / nunif);
}

/* The fine timers time the rng calls in a sample (src/core/timers.c): the scale-up is exact arithmetic, and the
 * sample's size is the binomial one.  (Timings themselves are not reproducible; this checks what is.) */
static void test_timers_sample(void) {
  /* rtk_timers_scaled: the first calls as timed; the sampled ticks times later calls over sampled calls */
  CHECK(rtk_timers_scaled(700, 0, 50, 50, 64) == 700, "all calls among the first: their ticks");
  CHECK(rtk_timers_scaled(700, 30, 64 + 80, 64 + 10, 64) == 700 + 30 * 8.0, "80 later calls, 10 sampled: x8");
  CHECK(rtk_timers_scaled(700, 0, 64 + 3, 64, 64) == 700, "none sampled yet: the first calls only");
  CHECK(rtk_timers_scaled(0, 5, 64 + 7, 64 + 7, 64) == 5, "every later call sampled: x1");
#ifdef RTK_TIMERS_FINE
  uint64_t calls, timed;
  double xi[16], sec[RTK_NPHASES];
  enum { NCALL = 20000 };
  rtk_timers_start();
  rtk_timers_enter(RTK_PHASE_SAMPLER); /* arms the fine timers */
  for (int c = 0; c < NCALL; c++) rtk_rng_normals(5, (uint64_t)c, 0, 0, RTK_RNG_PROPOSE, 16, xi);
  rtk_timers_rng_counts(&calls, &timed);
  rtk_timers_read(sec);
  /* 64 timed, then each later call with probability 1/8: a 5-sigma band of the binomial count */
  const double mean = 64 + (NCALL - 64) / 8.0, sd = sqrt((NCALL - 64) / 8.0 * 7 / 8.0);
  CHECK(calls == NCALL, "%llu calls counted of %d", (unsigned long long)calls, NCALL);
  CHECK(fabs((double)timed - mean) < 5 * sd, "%llu calls timed, expected %.0f +- %.0f", (unsigned long long)timed, mean,
        5 * sd);
  CHECK(sec[RTK_PHASE_RNG] > 0 && sec[RTK_PHASE_SAMPLER] >= 0, "rng %g s, the rest of sampling %g s", sec[RTK_PHASE_RNG],
        sec[RTK_PHASE_SAMPLER]);
  printf("timers_sample: %llu of %d rng calls timed (%.0f expected)\n", (unsigned long long)timed, NCALL, mean);
  rtk_timers_start();
  rtk_rng_normals(5, 0, 0, 0, RTK_RNG_PROPOSE, 16, xi); /* not armed (no sampler phase): not counted */
  rtk_timers_rng_counts(&calls, &timed);
  CHECK(calls == 0 && timed == 0, "calls outside the sampler phase counted: %llu", (unsigned long long)calls);
#endif
}

static void test_hist_bin(void) {
  enum { D = 70, NB = 7, NP = 600 };
  rtk_hist h = {D, NB, NULL, NULL, NULL};
  double lo[D], hi[D];
  for (int j = 0; j < D; j++) { /* awkward ranges: widths that are not exact in binary */
    lo[j] = -1.3 - 0.1 * j / 3.0;
    hi[j] = 0.7 + j / 7.0;
  }
  h.lo = lo;
  h.hi = hi;
  int64_t count[D * (NB + 2)];
  h.count = count;
  double *X = malloc(sizeof(double) * NP * D);
  signed char sign[D * (NB + 2)];
  for (int i = 0; i < D * (NB + 2); i++) sign[i] = (signed char)((int)(rtk_rng_uniform(17, (uint64_t)i, 0, 0, 0) * 3) - 1);
  for (int p = 0; p < NP; p++)
    for (int j = 0; j < D; j++) {
      const double w = (hi[j] - lo[j]) / NB, e = lo[j] + (p % (NB + 1)) * w;
      double x;
      switch (p % 12) {
        case 0: x = e; break;
        case 1: x = nextafter(e, INFINITY); break;
        case 2: x = nextafter(e, -INFINITY); break;
        case 3: x = p % 24 < 12 ? lo[j] : hi[j]; break;
        case 4: x = p % 24 < 12 ? nextafter(hi[j], -INFINITY) : nextafter(lo[j], -INFINITY); break;
        case 5: x = (p / 12) % 4 == 0 ? NAN : (p / 12) % 4 == 1 ? INFINITY : (p / 12) % 4 == 2 ? -INFINITY : -0.0; break;
        case 6: x = (p % 24 < 12 ? 1 : -1) * 1e300; break;
        case 7: x = lo[j] + (hi[j] - lo[j]) * (p % 13) / 13.0; break;
        default: x = 2.5 * (2 * rtk_rng_uniform(17, (uint64_t)p, (uint64_t)j, 1, 0) - 1); break;
      }
      X[p * D + j] = x;
    }
  int bad = 0;
  int64_t s1 = 0, s2 = 0, r1 = 0, r2 = 0;
  for (int p = 0; p < NP; p++) { /* one particle at a time: the bin each coordinate went to */
    memset(count, 0, sizeof count);
    rtk_hist_add(&h, 1, X + p * D);
    int64_t u = 0;
    for (int j = 0; j < D; j++) {
      const int b = rtk_hist_bin(X[p * D + j], lo[j], hi[j], NB);
      bad += count[j * (NB + 2) + b] != 1;
      u += sign[j * (NB + 2) + b];
    }
    r1 += u;
    r2 += u * u;
  }
  CHECK(bad == 0, "rtk_hist_add and rtk_hist_bin disagree on %d of %d values", bad, NP * D);
  rtk_tv_lin_sums(&h, sign, NP, X, &s1, &s2);
  CHECK(s1 == r1 && s2 == r2, "rtk_tv_lin_sums %lld %lld vs rtk_hist_bin's %lld %lld", (long long)s1, (long long)s2,
        (long long)r1, (long long)r2);
  CHECK(r2 > 0, "the sums are not trivially zero");
  free(X);
}

/* The diagnostics' rounding without libm calls (rtk/update.h: rtk_lround_small, rtk_rint_small, and through them
 * rtk_fixed, rtk_fd_quant) gives exactly llround / nearbyint, the sign of a zero included, for every value tried:
 * halves and their neighbours (ties to even against away from zero), +-0, subnormals, the edges of the range
 * 2^51, the clamps, NaN and +-inf, and 2x10^6 values of random magnitude; and rtk_fixed and rtk_fd_quant equal
 * their libm formulas (the moment and Frechet sums are these integers). A (v + c) - c without copysign fails
 * on -0.3; a trunc + 0.5 fails on 0.49999999999999994. */
static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static double ref_fd_quant(double y) {
  if (!(y == y)) y = RTK_FD_CLAMP;
  y = y > RTK_FD_CLAMP ? RTK_FD_CLAMP : y < -RTK_FD_CLAMP ? -RTK_FD_CLAMP : y;
  return nearbyint(y * RTK_FD_SCALE);
}
static int64_t ref_fixed(double x, double scale) {
  if (!(x == x)) return 0;
  x = x > 1e3 ? 1e3 : x < -1e3 ? -1e3 : x;
  return (int64_t)llround(x * scale);
}
static void test_quantise(void) {
  int bad_l = 0, bad_r = 0, bad_f = 0, bad_q = 0, n = 0;
  const double lim = 0x1.0p51;
  double edge[] = {0.0, 0.49999999999999994, 0.5, 0.5000000000000001, 1.5, 2.5, 3.5, 1e-300, 4.9e-324, 0.3, 0.7,
                   1.0, 1048576.5, 1048575.5, 0x1.0p20, 0x1.0p31 + 0.5, 0x1.0p50 + 0.5, 0x1.0p50 + 1.5, lim - 0.5,
                   lim - 1, 123456789.49999999, 1e9 + 0.5};
  const int ne = (int)(sizeof edge / sizeof edge[0]);
  for (int i = 0; i < 2 * ne + 4000000; i++) {
    double v;
    if (i < 2 * ne) {
      v = i % 2 ? -edge[i / 2] : edge[i / 2];
    } else { /* random magnitude 2^-30 .. 2^51, halves and their neighbours one in four */
      const int k = i - 2 * ne;
      const double u = rtk_rng_uniform(31, (uint64_t)k, 0, 0, 0), e = rtk_rng_uniform(31, (uint64_t)k, 1, 0, 0);
      v = ldexp(u, (int)(e * 81) - 30);
      if (k % 4 == 1) v = floor(v) + 0.5;
      if (k % 4 == 2) v = nextafter(floor(v) + 0.5, k % 8 < 4 ? INFINITY : -INFINITY);
      if (k % 2) v = -v;
      if (!(fabs(v) < lim)) continue;
    }
    n++;
    bad_l += rtk_lround_small(v) != (int64_t)llround(v);
    bad_r += !same_bits(rtk_rint_small(v), nearbyint(v));
    for (int s = 0; s < 3; s++) { /* the values the diagnostics pass: x scale and y RTK_FD_SCALE */
      const double x = v * (s == 0 ? 1 : s == 1 ? 0x1.0p-20 : 1e-6), scale = s == 2 ? 1024.0 * 1e3 : 1048576.0;
      bad_f += rtk_fixed(x, scale) != ref_fixed(x, scale);
      bad_q += !same_bits(rtk_fd_quant(x), ref_fd_quant(x));
    }
  }
  const double special[] = {NAN, -NAN, INFINITY, -INFINITY, 1e300, -1e300, -0.0, 256.0, -256.0, 256.00001, 1e3, -1e3};
  for (int i = 0; i < (int)(sizeof special / sizeof special[0]); i++) {
    bad_f += rtk_fixed(special[i], 1048576.0) != ref_fixed(special[i], 1048576.0);
    bad_f += rtk_fixed(special[i], 1024.0 * 1e3) != ref_fixed(special[i], 1024.0 * 1e3);
    bad_q += !same_bits(rtk_fd_quant(special[i]), ref_fd_quant(special[i]));
  }
  CHECK(n > 3000000, "only %d values tried", n);
  CHECK(bad_l == 0, "rtk_lround_small differs from llround on %d of %d values", bad_l, n);
  CHECK(bad_r == 0, "rtk_rint_small differs from nearbyint on %d of %d values", bad_r, n);
  CHECK(bad_f == 0, "rtk_fixed differs from its llround formula on %d values", bad_f);
  CHECK(bad_q == 0, "rtk_fd_quant differs from its nearbyint formula on %d values", bad_q);
}

int main(int argc, char **argv) {
  struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {{"score_fd", test_score_fd},           {"moments", test_moments},
               {"ddpm_gaussian", test_ddpm_gaussian}, {"mala_subproblem", test_mala_subproblem},
               {"exact_accuracy", test_exact_accuracy}, {"grid", test_grid},
               {"nfe_accounting", test_nfe_accounting}, {"block_invariance", test_block_invariance},
               {"gemm_tiles", test_gemm_tiles},
               {"rng", test_rng}, {"mala_score_subproblem", test_mala_score_subproblem},
               {"langevin_subproblem", test_langevin_subproblem}, {"adaptive_projected", test_adaptive_projected},
               {"ode_order", test_ode_order}, {"gaussian_convergence", test_gaussian_convergence},
               {"pmm_lmc", test_pmm_lmc}, {"moment_kl", test_moment_kl}, {"score_far", test_score_far},
               {"uld_ar", test_uld_ar}, {"segment_start", test_segment_start}, {"plan_formulas", test_plan_formulas},
               {"karras_grid", test_karras_grid}, {"solver_orders", test_solver_orders},
               {"pc_ddpm", test_pc_ddpm}, {"new_samplers", test_new_samplers}, {"smc", test_smc},
               {"blas_core", test_blas_core}, {"hist_bin", test_hist_bin}, {"mala_accept", test_mala_accept}, {"timers_sample", test_timers_sample}, {"quantise", test_quantise}};
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (argc < 2 || !strcmp(argv[1], tests[i].name)) {
      tests[i].fn();
      ran++;
    }
  if (!ran) {
    fprintf(stderr, "unknown test %s\n", argv[1]);
    return 2;
  }
  return tu_report(argc > 1 ? argv[1] : "all");
}
