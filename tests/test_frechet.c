/* The Fréchet distance against closed forms and an independent path:
 *   - C1 = C, m1 = m + delta: FD = |delta|^2;
 *   - one Gaussian (C = v I) against a diagonal C1: FD = sum_j (sqrt a_j - sqrt v)^2;
 *   - d = 2, correlated mixture C against a full C1: tr sqrt(A) of a 2x2 SPD
 *     matrix is sqrt(tr A + 2 sqrt(det A)), with A's trace and determinant
 *     taken from C C1 (same spectrum as C^{1/2} C1 C^{1/2});
 *   - the exact integer sums of quantised particles give the FD of the
 *     plain double-precision sample moments, for any block split;
 *   - exact samples land near the measured floor, shifted samples do not. */
#include <stdint.h>

#include "rtk/metrics.h"
#include "testutil.h"

static void test_closed_forms(void) {
  /* 1. mean shift with C1 = C on a random mixture */
  const char *kv[] = {"K=4", "dim=6", "subspace=6", "seed=3", NULL};
  rtk_mixture *m = tu_target("mog-random", kv);
  const int d = m->d;
  const double t = 0.3;
  rtk_frechet_ref ref;
  OK(rtk_frechet_ref_init(m, t, &ref));
  double mean[6], cov[36], m1[6], fd;
  rtk_mixture_moments(m, t, mean, cov); /* the independent (triple-loop) moments */
  double dd = 0;
  for (int j = 0; j < d; j++) {
    CHECK(fabs(ref.mean[j] - mean[j]) < 1e-14, "mean %d", j);
    m1[j] = mean[j] + 0.01 * (j + 1);
    dd += 1e-4 * (j + 1) * (j + 1);
  }
  OK(rtk_frechet_from_moments(&ref, mean, cov, &fd));
  CHECK(fd < 1e-12, "FD(p, p) = %g", fd);
  OK(rtk_frechet_from_moments(&ref, m1, cov, &fd));
  CHECK(fabs(fd - dd) < 1e-11, "mean shift: FD %.15g, want %.15g", fd, dd);
  rtk_frechet_ref_free(&ref);
  rtk_mixture_free(m);

  /* 2. one Gaussian N(0.5, 0.25 I) at t = 0 against a diagonal C1 */
  const char *kg[] = {"dim=5", "mean=0.5", "variance=0.25", NULL};
  m = tu_target("gaussian", kg);
  OK(rtk_frechet_ref_init(m, 0.0, &ref));
  double C1[25] = {0}, mu[5], want = 0;
  for (int j = 0; j < 5; j++) {
    C1[j * 5 + j] = 0.1 + 0.2 * j;
    mu[j] = 0.5;
    want += (sqrt(0.1 + 0.2 * j) - 0.5) * (sqrt(0.1 + 0.2 * j) - 0.5);
  }
  OK(rtk_frechet_from_moments(&ref, mu, C1, &fd));
  CHECK(fabs(fd - want) < 1e-13, "diagonal: FD %.15g, want %.15g", fd, want);
  rtk_frechet_ref_free(&ref);
  rtk_mixture_free(m);

  /* 3. d = 2, non-commuting covariances */
  const char *k2[] = {"K=3", "dim=2", "subspace=2", "seed=11", "scale=1.5", NULL};
  m = tu_target("mog-random", k2);
  OK(rtk_frechet_ref_init(m, 0.1, &ref));
  double mm[2], C[4];
  rtk_mixture_moments(m, 0.1, mm, C);
  const double A1[4] = {0.7, 0.25, 0.25, 0.4}, mu1[2] = {mm[0] + 0.1, mm[1] - 0.2};
  /* P = C A1: tr and det */
  const double trP = C[0] * A1[0] + C[1] * A1[2] + C[2] * A1[1] + C[3] * A1[3];
  const double detP = (C[0] * C[3] - C[1] * C[2]) * (A1[0] * A1[3] - A1[1] * A1[2]);
  const double w2 = 0.01 + 0.04 + A1[0] + A1[3] + C[0] + C[3] - 2 * sqrt(trP + 2 * sqrt(detP));
  CHECK(fabs(C[1]) > 0.05, "the test's covariance is not diagonal (%g)", C[1]);
  OK(rtk_frechet_from_moments(&ref, mu1, A1, &fd));
  CHECK(fabs(fd - w2) < 1e-12, "2x2: FD %.15g, want %.15g", fd, w2);
  rtk_frechet_ref_free(&ref);
  rtk_mixture_free(m);
}

static void test_sums(void) {
  const char *kv[] = {"K=5", "dim=12", "subspace=3", "seed=5", NULL};
  rtk_mixture *m = tu_target("mog-random", kv);
  const int d = m->d, N = 6000;
  const double t = 0.05;
  rtk_frechet_ref ref;
  OK(rtk_frechet_ref_init(m, t, &ref));
  double *X = malloc(sizeof(double) * N * d), *Y = malloc(sizeof(double) * N * d), *G = malloc(sizeof(double) * d * d);
  rtk_mixture_sample(m, t, 21, 0, N, X);
  /* plain double-precision moments (maximum likelihood, divisor N) */
  double mean[12] = {0}, C1[144] = {0}, fd_plain, fd_a, fd_b;
  for (int b = 0; b < N; b++)
    for (int j = 0; j < d; j++) mean[j] += X[b * d + j] / N;
  for (int b = 0; b < N; b++)
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++) C1[i * d + j] += (X[b * d + i] - mean[i]) * (X[b * d + j] - mean[j]) / N;
  OK(rtk_frechet_from_moments(&ref, mean, C1, &fd_plain));
  int64_t *s1a = calloc(d, sizeof(int64_t)), *s2a = calloc(d * d, sizeof(int64_t)), *s1b = calloc(d, sizeof(int64_t)),
          *s2b = calloc(d * d, sizeof(int64_t));
  rtk_frechet_sums(&ref, N, X, Y, G, s1a, s2a);               /* one block */
  for (int b0 = 0; b0 < N; b0 += 37) {                          /* blocks of 37 */
    const int n = N - b0 < 37 ? N - b0 : 37;
    rtk_frechet_sums(&ref, n, X + (size_t)b0 * d, Y, G, s1b, s2b);
  }
  CHECK(!memcmp(s1a, s1b, sizeof(int64_t) * d) && !memcmp(s2a, s2b, sizeof(int64_t) * d * d),
        "the integer sums do not depend on the block split");
  OK(rtk_frechet_distance(&ref, N, s1a, s2a, &fd_a));
  OK(rtk_frechet_distance(&ref, N, s1b, s2b, &fd_b));
  CHECK(fd_a == fd_b, "FD bitwise equal across block splits");
  /* quantisation at 2^-12 moves each variance by ~2^-24/12: far below the FD's noise */
  CHECK(fabs(fd_a - fd_plain) < 1e-5 * fd_plain + 1e-7, "sums FD %.10g vs plain %.10g", fd_a, fd_plain);
  printf("FD of %d exact samples: %.6g (plain moments %.6g)\n", N, fd_a, fd_plain);

  /* floor: R exact sets of size N; the run's exact set and a shifted one */
  enum { R = 24 };
  double fl[R], mfl = 0, sfl = 0;
  for (int r = 0; r < R; r++) {
    rtk_mixture_sample(m, t, 1000 + r, 0, N, X);
    memset(s1a, 0, sizeof(int64_t) * d);
    memset(s2a, 0, sizeof(int64_t) * d * d);
    rtk_frechet_sums(&ref, N, X, Y, G, s1a, s2a);
    OK(rtk_frechet_distance(&ref, N, s1a, s2a, &fl[r]));
    mfl += fl[r] / R;
  }
  for (int r = 0; r < R; r++) sfl += (fl[r] - mfl) * (fl[r] - mfl) / (R - 1);
  sfl = sqrt(sfl);
  /* second-order expectation for a Gaussian-free check of the level:
   * E FD >= tr C / N (the mean term alone) */
  CHECK(mfl > ref.trC / N, "floor %.4g above the mean term tr C / N = %.4g", mfl, ref.trC / N);
  CHECK(fabs(fd_a - mfl) < 4 * sfl * sqrt(1 + 1.0 / R), "exact FD %.4g vs floor %.4g +- %.4g", fd_a, mfl, sfl);
  /* shift every coordinate by 0.02: |shift|^2 = 0.0048, far above the floor's spread */
  rtk_mixture_sample(m, t, 21, 0, N, X);
  for (int i = 0; i < N * d; i++) X[i] += 0.02;
  memset(s1a, 0, sizeof(int64_t) * d);
  memset(s2a, 0, sizeof(int64_t) * d * d);
  rtk_frechet_sums(&ref, N, X, Y, G, s1a, s2a);
  double fd_s;
  OK(rtk_frechet_distance(&ref, N, s1a, s2a, &fd_s));
  CHECK(fd_s - mfl > 4 * sfl, "shifted samples: FD %.4g vs floor %.4g +- %.4g", fd_s, mfl, sfl);
  double dsh = 0; /* |delta + s|^2 - |delta|^2 = |s|^2 + 2 s.delta, delta = sample mean - m */
  for (int j = 0; j < d; j++) dsh += 0.02 * 0.02 + 2 * 0.02 * (mean[j] - ref.mean[j]);
  CHECK(fabs(fd_s - fd_a - dsh) < 1e-7, "the shift moves only the mean term: %.10g vs %.10g", fd_s - fd_a, dsh);
  printf("floor %.4g +- %.4g (%d sets), shifted %.4g\n", mfl, sfl, R, fd_s);
  free(X);
  free(Y);
  free(G);
  free(s1a);
  free(s2a);
  free(s1b);
  free(s2b);
  rtk_frechet_ref_free(&ref);
  rtk_mixture_free(m);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  if (!strcmp(which, "all") || !strcmp(which, "closed_forms")) test_closed_forms();
  if (!strcmp(which, "all") || !strcmp(which, "sums")) test_sums();
  return tu_report(which);
}
