/* Score plug-ins (issue 9): the C MLP forward pass against PyTorch, the
 * perturbed score's calibration, the vectorised exp, block independence.
 * usage: test_score NAME [FILE] */
#include "rtk/score.h"
#include "study.h"
#include "testutil.h"

/* exp of the MLP's SiLU against libm over the whole range it clamps to */
static void test_exp(void) {
  enum { N = 20001 };
  static double x[N], y[N];
  for (int i = 0; i < N; i++) x[i] = -708 + 1417.0 * i / (N - 1);
  x[0] = 0;
  x[1] = -1e-300;
  x[2] = 0.5 * 0.6931471805599453;
  rtk_exp_block(N, x, y);
  double worst = 0;
  for (int i = 0; i < N; i++) {
    double r = fabs(y[i] / exp(x[i]) - 1);
    if (r > worst) worst = r;
  }
  CHECK(worst < 4e-16, "max relative error of rtk_exp_block %.3g", worst);
  double h[4] = {-800, -1, 0, 30};
  rtk_silu_block(4, h);
  CHECK(fabs(h[0]) < 1e-300 && fabs(h[1] + 1 / (1 + exp(1))) < 1e-16 && h[2] == 0 && fabs(h[3] - 30) < 1e-11,
        "silu %g %g %g %g", h[0], h[1], h[2], h[3]);
  printf("rtk_exp_block: max relative error %.3g\n", worst);
}

/* The C forward pass equals PyTorch's float64 forward pass on the same
 * weights (the /fixture written by train_score.py --fixture). */
static void test_mlp_torch(const char *path) {
  rtk_mlp *net;
  OK(rtk_mlp_read(path, -1, &net));
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  CHECK(f >= 0, "cannot open %s", path);
  hid_t ds = H5Dopen2(f, "fixture/t", H5P_DEFAULT), sp = H5Dget_space(ds);
  hsize_t n;
  H5Sget_simple_extent_dims(sp, &n, NULL);
  H5Sclose(sp);
  const int d = net->d;
  double *t = malloc(sizeof(double) * n), *x = malloc(sizeof(double) * n * d), *ref = malloc(sizeof(double) * n * d);
  double *out = malloc(sizeof(double) * n * d), *blk = malloc(sizeof(double) * n * d);
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t);
  H5Dclose(ds);
  ds = H5Dopen2(f, "fixture/x", H5P_DEFAULT);
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
  H5Dclose(ds);
  ds = H5Dopen2(f, "fixture/score", H5P_DEFAULT);
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ref);
  H5Dclose(ds);
  H5Fclose(f);
  double *work = malloc(sizeof(double) * rtk_mlp_work_size(net, (int)n));
  double worst = 0;
  for (hsize_t i = 0; i < n; i++) { /* one particle per call: every fixture row has its own t */
    rtk_mlp_forward(net, t[i], 1, x + i * d, out + i * d, work);
    double num = 0, den = 0;
    for (int j = 0; j < d; j++) {
      num += (out[i * d + j] - ref[i * d + j]) * (out[i * d + j] - ref[i * d + j]);
      den += ref[i * d + j] * ref[i * d + j];
    }
    if (sqrt(num / den) > worst) worst = sqrt(num / den);
  }
  CHECK(worst <= 1e-12, "C vs PyTorch forward: max relative error %.3g > 1e-12", worst);
  printf("C vs PyTorch forward on %d inputs (d = %d, width %d, depth %d): max relative error %.3g\n", (int)n, d,
         net->width, net->depth, worst);
  /* bitwise independence of the block: all rows at one time, as one block and as blocks of 7 and 1 */
  rtk_mixture *mix = tu_target("mog-grid", (const char *[]){"dim=10", NULL});
  if (d == mix->d) {
    rtk_score sc;
    rtk_score_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    OK(rtk_score_create(&rtk_score_mlp, &cfg, mix, net, &sc));
    rtk_score_ws w;
    OK(rtk_score_ws_init(&sc, mix, (int)n, &w));
    rtk_score_set_time(&w, 0.37);
    rtk_score_eval(&w, (int)n, x, NULL, out);
    for (int B = 7; B >= 1; B -= 6)
      for (hsize_t i = 0; i < n; i += B) rtk_score_eval(&w, (int)(n - i < (hsize_t)B ? n - i : (hsize_t)B), x + i * d, NULL, blk + i * d);
    CHECK(!memcmp(out, blk, sizeof(double) * n * d), "MLP score depends on the block composition");
    rtk_mlp_forward(net, 0.37, (int)n, x, blk, work);
    CHECK(!memcmp(out, blk, sizeof(double) * n * d), "plug-in and rtk_mlp_forward differ");
    rtk_score_ws_free(&w);
    rtk_score_destroy(&sc);
  }
  rtk_mixture_free(mix);
  free(work);
  free(t);
  free(x);
  free(ref);
  free(out);
  free(blk);
  rtk_mlp_free(net);
}

/* measured relative error of a perturbed model at time t on N exact samples (ids 0..N-1, seed 99) */
static void measure(rtk_score *sc, rtk_mixture *mix, double t, int N, double *R, double *se) {
  const int B = 250, d = mix->d;
  rtk_score_ws w, ex;
  OK(rtk_score_ws_init(sc, mix, B, &w));
  OK(rtk_score_ws_init(NULL, mix, B, &ex));
  rtk_score_set_time(&w, t);
  rtk_score_set_time(&ex, t);
  double *X = malloc(sizeof(double) * B * d), *S1 = malloc(sizeof(double) * B * d), *S2 = malloc(sizeof(double) * B * d);
  double sums[5] = {0, 0, 0, 0, 0};
  for (int i = 0; i < N; i += B) {
    rtk_mixture_sample(mix, t, 99, (uint64_t)i, B, X);
    rtk_score_error_sums(&w, &ex, d, B, X, sums, S1, S2);
  }
  rtk_score_error_ratio(sums, N, R, se);
  free(X);
  free(S1);
  free(S2);
  rtk_score_ws_free(&w);
  rtk_score_ws_free(&ex);
}

/* The perturbed score's measured relative error matches score.error at three
 * times (between calibration nodes), within the combined standard error of
 * the measurement and of the calibration (the calibration is the same ratio
 * estimator on `calibration` samples, so its relative SE is the
 * measurement's times sqrt(N / calibration)); 3 SE. */
static void test_perturbed(void) {
  const int N = 20000;
  rtk_mixture *mix = tu_target("mog-grid", (const char *[]){"dim=10", NULL});
  /* the second model: another error size, field and the default calibration size */
  const double eps[2] = {0.1, 0.3}, times[3] = {0.0123, 0.29, 1.7}, len[2] = {1, 0.5};
  const int64_t cal[2] = {32768, 0}, feat[2] = {64, 32};
  for (int e = 0; e < 2; e++) {
    rtk_score_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    OK(rtk_opt_set_defaults(rtk_score_perturbed.options, &cfg));
    cfg.error = eps[e];
    if (cal[e]) cfg.calibration = cal[e];
    cfg.length = len[e];
    cfg.features = feat[e];
    cfg.seed = 7 + e;
    const int64_t ncal = cfg.calibration;
    rtk_score sc;
    OK(rtk_score_create(&rtk_score_perturbed, &cfg, mix, NULL, &sc));
    for (int i = 0; i < 3; i++) {
      double R, se;
      measure(&sc, mix, times[i], N, &R, &se);
      const double tot = se * sqrt(1 + (double)N / ncal);
      printf("perturbed error %.3f at t = %.4f: measured %.5f +- %.5f (SE incl. calibration %.5f), %+.2f SE\n", eps[e],
             times[i], R, se, tot, (R - eps[e]) / tot);
      CHECK(fabs(R - eps[e]) < 3 * tot, "eps %g, t %g: measured %.5f, SE %.5f", eps[e], times[i], R, tot);
      CHECK(se < 0.05 * eps[e], "SE %.3g too large to test anything", se);
    }
    rtk_score_destroy(&sc);
  }
  rtk_mixture_free(mix);
}

/* The exact score's per-time coefficient cache (score_exact.c): whatever the order of the times and whether a time
 * has a slot of its own, the shared slot or none, every evaluation equals a fresh rtk_mixcoef at that time, bit for
 * bit.  cache_vs_fresh: n = 3 points of a K x d mixture evaluated at times[0 .. nt-1] under `budget` bytes (0: the
 * default); returns the evaluations that differ. */
static int cache_vs_fresh(int K, int d, size_t budget, int nt, const double *times) {
  enum { n = 3 };
  rtk_score_exact_cache(budget);
  rtk_mixture *m;
  OK(rtk_mixture_alloc(K, d, &m));
  for (int k = 0; k < K; k++) {
    m->w[k] = 1.0 / K;
    for (int j = 0; j < d; j++) {
      m->mu[(size_t)k * d + j] = sin(0.37 * k + 0.011 * j);
      m->var[(size_t)k * d + j] = 0.2 + 0.1 * cos(0.5 * k + 0.003 * j) * cos(0.5 * k + 0.003 * j);
    }
  }
  double *X = malloc(sizeof(double) * n * d), *S1 = malloc(sizeof(double) * n * d),
         *S2 = malloc(sizeof(double) * n * d), l1[n], l2[n];
  for (size_t i = 0; i < (size_t)n * d; i++) X[i] = cos(0.1 * (double)i);
  rtk_score_ws ws;
  rtk_mixcoef ref;
  rtk_mixwork mw;
  OK(rtk_score_ws_init(NULL, m, n, &ws));
  OK(rtk_mixcoef_init(m, &ref));
  OK(rtk_mixwork_init(K, d, &mw));
  int bad = 0;
  for (int c = 0; c < nt; c++) {
    rtk_score_set_time(&ws, times[c]);
    rtk_score_eval(&ws, n, X, l1, S1);
    ref.t = NAN; /* recompute every time */
    rtk_mixcoef_set_time(m, times[c], &ref);
    rtk_mix_eval(&ref, n, X, l2, S2, &mw);
    bad += memcmp(S1, S2, sizeof(double) * n * d) || memcmp(l1, l2, sizeof l1);
  }
  rtk_score_ws_free(&ws);
  rtk_mixcoef_free(&ref);
  rtk_mixwork_free(&mw);
  rtk_mixture_free(m);
  free(X);
  free(S1);
  free(S2);
  rtk_score_exact_cache(0);
  return bad;
}

/* 22 evaluations at 8 times, every path.  Default budget (RTK_SCORE_CACHE_BYTES, 16 MiB): (4, 8) all in slots; the
 * (300, 1000) sets (4.8 MB) take 3 slots, so the later times share the last one, refilled from the kept normalisers
 * without logs (rtk_mixcoef_set_time_c); a (1100, 1000) set (17.6 MB) has no slot of its own, every time is refilled.
 * 64 MiB: every time of (300, 1000) in its slot.  16 bytes: nothing kept, every time computed afresh. */
static void coef_cache_budget(size_t budget) {
  const int shapes[3][2] = {{4, 8}, {300, 1000}, {1100, 1000}};
  const double tv[8] = {2.0, 1.5, 1.0, 0.7, 0.4, 0.2, 0.1, 0.05};
  const int order[22] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 3, 0, 7, 7, 5, 1};
  double times[22];
  for (int c = 0; c < 22; c++) times[c] = tv[order[c]];
  const size_t shown = budget ? budget : RTK_SCORE_CACHE_BYTES;
  for (int sh = 0; sh < 3; sh++) {
    const int K = shapes[sh][0], d = shapes[sh][1], bad = cache_vs_fresh(K, d, budget, 22, times);
    CHECK(!bad, "budget %zu bytes, K %d d %d: %d of 22 cached evaluations differ from a fresh rtk_mixcoef", shown, K,
          d, bad);
    printf("coef cache (%zu bytes): K %d d %d: 22 evaluations bitwise equal to fresh coefficients\n", shown, K, d);
  }
}

/* a long grid under a small budget: K = 4, d = 8 (a set is 544 bytes), 1632 bytes: 3 slots and the normalisers of 40
 * times (their arrays grown 16, 32, 40), so of 45 times the last 5 are computed afresh every time; two passes */
static void coef_cache_long(void) {
  enum { T = 45 };
  double times[2 * T];
  for (int c = 0; c < 2 * T; c++) times[c] = 2.0 - 0.043 * (c % T);
  const int bad = cache_vs_fresh(4, 8, 1632, 2 * T, times);
  CHECK(!bad, "long grid: %d of %d cached evaluations differ from a fresh rtk_mixcoef", bad, 2 * T);
  printf("coef cache (1632 bytes): K 4 d 8, %d times twice: bitwise equal to fresh coefficients\n", T);
}

static void test_coef_cache(void) {
  coef_cache_budget(0);
  coef_cache_budget((size_t)64 << 20);
  coef_cache_budget(16);
  coef_cache_long();
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "";
  if (!strcmp(name, "exp"))
    test_exp();
  else if (!strcmp(name, "mlp_torch") && argc > 2)
    test_mlp_torch(argv[2]);
  else if (!strcmp(name, "perturbed"))
    test_perturbed();
  else if (!strcmp(name, "coef_cache"))
    test_coef_cache();
  else {
    fprintf(stderr, "usage: test_score exp | mlp_torch FILE | perturbed | coef_cache\n");
    return 2;
  }
  return tu_report(name);
}
