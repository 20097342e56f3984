/* rtk_bench_kernel: single-core throughput of the mixture score kernel
 * rtk_mix_eval() (src/core/mixture.c), measured against, in the same run,
 *   - this machine's DGEMM rate for a large square product ("peak"),
 *   - this machine's DGEMM rate for exactly the shapes/transposes the kernel
 *     uses (n x d times (K x d)^T, and n x K times K x d),
 *   - a straightforward triple-loop implementation ("simple"),
 * and checks that the kernel and the simple implementation agree.
 * Machines are noisy, so the ratios (all taken in one run) are the result: the
 * timings of a shape and the peak's are taken in interleaved rounds (one trial
 * of each per round, best of the rounds), so that a guest whose speed changes
 * between seconds gives every ratio's two sides the same chances, and the
 * peak is the best over all its trials (the table follows it).
 *
 * usage: rtk_bench_kernel [--quick] [--seconds S] [--shape K d n]
 *   --quick        2 small shapes, short trials (CTest smoke test, < 5 s)
 *   --seconds S    length of one timing trial (default 0.3 s; best of 3 rounds)
 *   --shape K d n  run only this shape (may be repeated)
 * exit status: 0 ok, 1 kernel and simple implementation disagree (> 1e-8
 * relative) or a setup failure, 2 bad command line. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rtk/blas.h"
#include "rtk/error.h"
#include "rtk/mixture.h"
#include "rtk/rng.h"
#include "rtk/vmath.h"

#ifdef RTK_HAVE_OPENBLAS_THREADS
void openblas_set_num_threads(int);
#endif

#define TOL 1e-8
#define TRIALS 3
#define MAX_SHAPES 64
static const double LOG_2PI = 1.8378770664093454835606594728112;
static const uint64_t SEED = 20240611u;
static const double T_EVAL = 0.3; /* diffusion time at which the kernel is evaluated */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz);
  if (!p) {
    fprintf(stderr, "rtk_bench_kernel: out of memory (%zu x %zu bytes)\n", n, sz);
    exit(1);
  }
  return p;
}

/* Seconds per call of each of nt functions: one untimed warm-up call each, then TRIALS rounds, each timing one
 * trial of every function in turn (a trial repeats f until trial_s seconds have elapsed); each function's best
 * trial wins.  A warm-up call that already takes longer than trial_s counts as a trial. */
typedef void (*bench_fn)(void *ctx);
typedef struct {
  bench_fn f;
  void *ctx;
  double best; /* seconds per call */
} timed;

static double one_trial(bench_fn f, void *ctx, double trial_s) {
  long reps = 0;
  double el;
  const double t0 = now();
  do {
    f(ctx);
    reps++;
    el = now() - t0;
  } while (el < trial_s);
  return el / (double)reps;
}

static void time_rounds(timed *t, int nt, double trial_s) {
  for (int i = 0; i < nt; i++) {
    const double t0 = now();
    t[i].f(t[i].ctx);
    const double first = now() - t0;
    t[i].best = first >= trial_s ? first : INFINITY;
  }
  for (int r = 0; r < TRIALS; r++)
    for (int i = 0; i < nt; i++) {
      const double el = one_trial(t[i].f, t[i].ctx, trial_s);
      if (el < t[i].best) t[i].best = el;
    }
}

/* ---- the simple implementation ------------------------------------------ */
/* Per-time coefficients computed independently of rtk_mixcoef. */
typedef struct {
  int K, d;
  double *m;    /* [K][d] alpha mu */
  double *ilam; /* [K][d] 1 / (alpha^2 var + sigma^2) */
  double *lc;   /* [K] log w_k - 1/2 sum_j log(2 pi lam_kj) */
  double *lw;   /* [K] scratch */
} ref_coef;

static void ref_init(const rtk_mixture *mx, double t, ref_coef *r) {
  const int K = mx->K, d = mx->d;
  const double a = exp(-t), s2 = 1.0 - exp(-2.0 * t);
  r->K = K;
  r->d = d;
  r->m = xcalloc((size_t)K * d, sizeof(double));
  r->ilam = xcalloc((size_t)K * d, sizeof(double));
  r->lc = xcalloc((size_t)K, sizeof(double));
  r->lw = xcalloc((size_t)K, sizeof(double));
  for (int k = 0; k < K; k++) {
    double acc = log(mx->w[k]);
    for (int j = 0; j < d; j++) {
      size_t i = (size_t)k * d + j;
      double lam = a * a * mx->var[i] + s2;
      r->m[i] = a * mx->mu[i];
      r->ilam[i] = 1.0 / lam;
      acc -= 0.5 * (LOG_2PI + log(lam));
    }
    r->lc[k] = acc;
  }
}

static void ref_free(ref_coef *r) {
  free(r->m);
  free(r->ilam);
  free(r->lc);
  free(r->lw);
}

/* logp[b] = log sum_k w_k N(x_b; m_k, lam_k) and score[b] = sum_k r_bk (m_k - x_b) / lam_k,
 * by loops over particles, components and coordinates.  If shifted != NULL it
 * receives the arguments of the n K exponentials (logit - row max). */
static void ref_eval(ref_coef *r, int n, const double *X, double *logp, double *score,
                     double *shifted) {
  const int K = r->K, d = r->d;
  double *lw = r->lw;
  for (int b = 0; b < n; b++) {
    const double *x = X + (size_t)b * d;
    double mx = -INFINITY;
    for (int k = 0; k < K; k++) {
      const double *mk = r->m + (size_t)k * d, *ik = r->ilam + (size_t)k * d;
      double q = 0;
      for (int j = 0; j < d; j++) {
        double diff = x[j] - mk[j];
        q += diff * diff * ik[j];
      }
      lw[k] = r->lc[k] - 0.5 * q;
      if (lw[k] > mx) mx = lw[k];
    }
    double s = 0;
    for (int k = 0; k < K; k++) {
      if (shifted) shifted[(size_t)b * K + k] = lw[k] - mx;
      lw[k] = exp(lw[k] - mx);
      s += lw[k];
    }
    logp[b] = mx + log(s);
    double *sc = score + (size_t)b * d;
    for (int j = 0; j < d; j++) sc[j] = 0;
    for (int k = 0; k < K; k++) {
      const double rk = lw[k] / s;
      const double *mk = r->m + (size_t)k * d, *ik = r->ilam + (size_t)k * d;
      for (int j = 0; j < d; j++) sc[j] += rk * (mk[j] - x[j]) * ik[j];
    }
  }
}

/* ---- benchmark contexts --------------------------------------------------- */
typedef struct {
  int K, d, n;
  const double *X;
  double *logp, *score;
  rtk_mixcoef *coef;
  rtk_mixwork *work;
  ref_coef *ref;
  /* DGEMM operands of the kernel's shapes */
  double *Xb, *Lb, *Sb;
  /* exp timing */
  const double *eargs;
  double *eout;
} shape_ctx;

static void run_kernel(void *p) {
  shape_ctx *c = p;
  rtk_mix_eval(c->coef, c->n, c->X, c->logp, c->score, c->work);
}

static void run_simple(void *p) {
  shape_ctx *c = p;
  ref_eval(c->ref, c->n, c->X, c->logp, c->score, NULL);
}

/* the kernel's logit DGEMMs: L[n][K] = X[n][d] * A[K][d]^T */
static void run_gemm_logit(void *p) {
  shape_ctx *c = p;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->n, c->K, c->d, -0.5, c->Xb, c->d,
              c->coef->A, c->d, 0.0, c->Lb, c->K);
}

/* the kernel's score DGEMMs: S[n][d] = R[n][K] * A[K][d] */
static void run_gemm_score(void *p) {
  shape_ctx *c = p;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->n, c->d, c->K, 1.0, c->Lb, c->K,
              c->coef->A, c->d, 0.0, c->Sb, c->d);
}

/* the kernel's n K exponentials (rtk_vm_exp) on the arguments it actually exponentiates */
static void run_exp(void *p) {
  shape_ctx *c = p;
  rtk_vm_exp((size_t)c->n * c->K, c->eargs, c->eout);
}

/* deterministic LCG in [-1, 1) for DGEMM operands */
static void fill_lcg(double *x, size_t n, uint64_t seed) {
  uint64_t s = seed * 6364136223846793005u + 1442695040888963407u;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005u + 1442695040888963407u;
    x[i] = (double)(s >> 11) * 0x1.0p-52 - 1.0;
  }
}

/* Well-conditioned mixture: w_k ~ 1 + U, mu ~ N(0, 1), var ~ 0.5 + 1.5 U. */
static rtk_mixture *make_mixture(int K, int d) {
  rtk_mixture *m;
  if (rtk_mixture_alloc(K, d, &m)) {
    fprintf(stderr, "rtk_bench_kernel: %s\n", rtk_error_message());
    exit(1);
  }
  double *u = xcalloc((size_t)d > (size_t)K ? (size_t)d : (size_t)K, sizeof(double));
  rtk_rng_uniforms(SEED, 0, 0, 0, RTK_RNG_TARGET, K, u);
  double ws = 0;
  for (int k = 0; k < K; k++) ws += (m->w[k] = 1.0 + u[k]);
  for (int k = 0; k < K; k++) m->w[k] /= ws;
  for (int k = 0; k < K; k++) {
    rtk_rng_normals(SEED, (uint64_t)k, 1, 0, RTK_RNG_TARGET, d, m->mu + (size_t)k * d);
    rtk_rng_uniforms(SEED, (uint64_t)k, 2, 0, RTK_RNG_TARGET, d, u);
    for (int j = 0; j < d; j++) m->var[(size_t)k * d + j] = 0.5 + 1.5 * u[j];
  }
  free(u);
  if (rtk_mixture_validate(m)) {
    fprintf(stderr, "rtk_bench_kernel: %s\n", rtk_error_message());
    exit(1);
  }
  return m;
}

typedef struct {
  int K, d, n;
} shape;

typedef struct {
  int N;
  double *A, *B, *C;
  double best; /* seconds per call, over every trial so far */
} square_ctx;

static void run_square(void *p) {
  square_ctx *s = p;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->N, s->N, s->N, 1.0, s->A, s->N, s->B,
              s->N, 0.0, s->C, s->N);
}

typedef struct {
  int K, d, n;
  double gf_kern, gf_g1, gf_g2, gf_same, gf_simple, same_over, simple_over, exp_pct, other_pct, rel_lp, rel_sc;
  int ok;
} shape_row;

/* one shape: check, then time the kernel, its DGEMMs, its exp, the simple implementation and the peak's square
 * DGEMM in interleaved rounds; the row's ratios to the peak are taken when every shape is done */
static int run_shape(shape sh, square_ctx *sq, double trial_s, shape_row *row) {
  const int K = sh.K, d = sh.d, n = sh.n;
  const size_t nd = (size_t)n * d, nk = (size_t)n * K;
  const double flops = 8.0 * n * K * d;
  rtk_mixture *mx = make_mixture(K, d);
  rtk_mixcoef coef;
  rtk_mixwork work;
  if (rtk_mixcoef_init(mx, &coef) || rtk_mixwork_init(K, d, &work)) {
    fprintf(stderr, "rtk_bench_kernel: %s\n", rtk_error_message());
    exit(1);
  }
  rtk_mixcoef_set_time(mx, T_EVAL, &coef);
  ref_coef ref;
  ref_init(mx, T_EVAL, &ref);

  double *X = xcalloc(nd, sizeof(double));
  rtk_mixture_sample(mx, T_EVAL, SEED, 0, n, X); /* particles distributed as p_t */

  /* ---- correctness ---- */
  double *lp_k = xcalloc((size_t)n, sizeof(double)), *sc_k = xcalloc(nd, sizeof(double));
  double *lp_r = xcalloc((size_t)n, sizeof(double)), *sc_r = xcalloc(nd, sizeof(double));
  double *eargs = xcalloc(nk, sizeof(double)), *eout = xcalloc(nk, sizeof(double));
  rtk_mix_eval(&coef, n, X, lp_k, sc_k, &work);
  ref_eval(&ref, n, X, lp_r, sc_r, eargs);
  double rel_lp = 0, rel_sc = 0;
  int finite = 1;
  for (int b = 0; b < n; b++) {
    double e = fabs(lp_k[b] - lp_r[b]) / fmax(1.0, fabs(lp_r[b]));
    if (!isfinite(lp_k[b]) || !isfinite(lp_r[b])) finite = 0;
    if (e > rel_lp) rel_lp = e;
    double dn = 0, rn = 0;
    for (int j = 0; j < d; j++) {
      size_t i = (size_t)b * d + j;
      if (!isfinite(sc_k[i])) finite = 0;
      dn = fmax(dn, fabs(sc_k[i] - sc_r[i]));
      rn = fmax(rn, fabs(sc_r[i]));
    }
    e = dn / fmax(rn, 1e-300);
    if (e > rel_sc) rel_sc = e;
  }
  const int ok = finite && rel_lp <= TOL && rel_sc <= TOL;

  /* ---- timing ---- */
  shape_ctx c = {.K = K, .d = d, .n = n, .X = X, .logp = lp_k, .score = sc_k, .coef = &coef,
                 .work = &work, .ref = &ref, .eargs = eargs, .eout = eout};
  c.Xb = xcalloc(nd, sizeof(double));
  c.Lb = xcalloc(nk, sizeof(double));
  c.Sb = xcalloc(nd, sizeof(double));
  memcpy(c.Xb, X, nd * sizeof(double));
  memcpy(c.Lb, work.L, nk * sizeof(double)); /* responsibilities, as the kernel has them */

  shape_ctx cs = c; /* the simple implementation writes its own outputs */
  cs.logp = lp_r;
  cs.score = sc_r;
  timed t[] = {{run_kernel, &c, 0},      {run_gemm_logit, &c, 0}, {run_gemm_score, &c, 0},
               {run_exp, &c, 0},         {run_simple, &cs, 0},    {run_square, sq, 0}};
  time_rounds(t, (int)(sizeof t / sizeof t[0]), trial_s);
  const double t_kern = t[0].best, t_g1 = t[1].best, t_g2 = t[2].best, t_exp = t[3].best, t_simple = t[4].best;
  if (t[5].best < sq->best) sq->best = t[5].best;

  const double t_same = 2.0 * t_g1 + 2.0 * t_g2; /* the kernel's 4 DGEMMs, nothing else */
  *row = (shape_row){K, d, n, flops / t_kern * 1e-9, 2.0 * n * K * d / t_g1 * 1e-9, 2.0 * n * K * d / t_g2 * 1e-9,
                     flops / t_same * 1e-9, flops / t_simple * 1e-9, t_same / t_kern, t_simple / t_kern,
                     100.0 * t_exp / t_kern, 100.0 * (t_kern - t_same - t_exp) / t_kern, rel_lp, rel_sc, ok};

  free(c.Xb);
  free(c.Lb);
  free(c.Sb);
  free(eargs);
  free(eout);
  free(lp_k);
  free(sc_k);
  free(lp_r);
  free(sc_r);
  free(X);
  ref_free(&ref);
  rtk_mixwork_free(&work);
  rtk_mixcoef_free(&coef);
  rtk_mixture_free(mx);
  return ok;
}

static void print_row(const shape_row *r, double peak_gfs) {
  printf("%5d %5d %5d | %8.2f %8.2f %8.2f %8.2f %8.3f | %6.3f %6.3f %8.1f | %5.1f %5.1f | %8.1e %8.1e %s\n", r->K,
         r->d, r->n, r->gf_kern, r->gf_g1, r->gf_g2, r->gf_same, r->gf_simple, r->gf_kern / peak_gfs, r->same_over,
         r->simple_over, r->exp_pct, r->other_pct, r->rel_lp, r->rel_sc, r->ok ? "ok" : "FAIL");
}

static void usage(FILE *f) {
  fprintf(f, "usage: rtk_bench_kernel [--quick] [--seconds S] [--shape K d n]...\n");
}

int main(int argc, char **argv) {
  rtk_blas_autofix(argv, 1); /* the kernels rtkbench would run (include/rtk/blas.h) */
  int quick = 0, nuser = 0;
  double trial_s = -1;
  shape user[MAX_SHAPES];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      quick = 1;
    } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
      trial_s = atof(argv[++i]);
      if (!(trial_s > 0)) {
        usage(stderr);
        return 2;
      }
    } else if (!strcmp(argv[i], "--shape") && i + 3 < argc && nuser < MAX_SHAPES) {
      shape s = {atoi(argv[i + 1]), atoi(argv[i + 2]), atoi(argv[i + 3])};
      i += 3;
      if (s.K < 1 || s.d < 1 || s.n < 1) {
        usage(stderr);
        return 2;
      }
      user[nuser++] = s;
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (trial_s < 0) trial_s = quick ? 0.02 : 0.3;

#ifdef RTK_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(1);
#endif
  {
    rtk_blas_info b;
    char line[1024];
    rtk_blas_query(&b);
    rtk_blas_line(&b, line, sizeof line);
    printf("# BLAS: %s%s\n", line,
           b.threads == 1 ? "" : " (set OPENBLAS_NUM_THREADS=1 / BLIS_NUM_THREADS=1 for single-core numbers)");
  }

  shape shapes[MAX_SHAPES];
  int ns = 0;
  if (nuser) {
    memcpy(shapes, user, sizeof(shape) * (size_t)nuser);
    ns = nuser;
  } else if (quick) {
    shapes[ns++] = (shape){25, 10, 256};
    shapes[ns++] = (shape){64, 32, 256};
  } else {
    const int Ks[] = {25, 256, 1024}, ds[] = {10, 128, 1024}, ns_[] = {256, 1024};
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++)
        for (int e = 0; e < 2; e++) shapes[ns++] = (shape){Ks[a], ds[b], ns_[e]};
    /* the shapes of real-data targets (mog-file, analysis/make_target.py):
     * Fashion-MNIST in pixel space (K = 100, d = 784) and a large mixture in
     * a 64-dimensional PCA space (K = 1000, d = 64) */
    shapes[ns++] = (shape){100, 784, 256};
    shapes[ns++] = (shape){1000, 64, 256};
  }

  const int Npeak = quick ? 400 : 2000;
  square_ctx sq = {.N = Npeak, .best = INFINITY};
  const size_t nn = (size_t)Npeak * Npeak;
  sq.A = xcalloc(nn, sizeof(double));
  sq.B = xcalloc(nn, sizeof(double));
  sq.C = xcalloc(nn, sizeof(double));
  fill_lcg(sq.A, nn, 1);
  fill_lcg(sq.B, nn, 2);
  shape_row *rows = xcalloc((size_t)ns, sizeof(shape_row));
  int all_ok = 1;
  for (int i = 0; i < ns; i++) {
    all_ok &= run_shape(shapes[i], &sq, trial_s, &rows[i]);
    if (isatty(2)) fprintf(stderr, "rtk_bench_kernel: shape %d of %d done\r", i + 1, ns);
  }
  if (isatty(2)) fprintf(stderr, "\n");
  const double peak = 2.0 * Npeak * (double)Npeak * Npeak / sq.best * 1e-9;
  printf("# peak: DGEMM %d^3 = %.2f GFLOP/s; trials of %.2f s, best of %d rounds per shape, each round one trial of "
         "every timing and of the peak (the peak: best of all); t = %.2f; kernel flops = 8 n K d\n",
         Npeak, peak, trial_s, TRIALS, T_EVAL);
  printf("#                 |  ---------------- GFLOP/s ----------------- | ------ ratios ------ "
         "| %% kern time | -- max rel diff --\n");
  printf("#   K     d     n |   kernel gemm-log gemm-scr  gemm-4x   simple | k/peak k/same "
         "speedup |   exp other |     logp    score\n");
  for (int i = 0; i < ns; i++) print_row(&rows[i], peak);
  fflush(stdout);
  free(rows);
  free(sq.A);
  free(sq.B);
  free(sq.C);
  if (!all_ok) {
    fprintf(stderr, "rtk_bench_kernel: kernel and simple implementation differ by more than "
                    "%g (relative)\n",
            TOL);
    return 1;
  }
  return 0;
}
