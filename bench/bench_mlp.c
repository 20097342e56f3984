/* rtk_bench_mlp: single-core throughput of the MLP score forward pass
 * rtk_mlp_forward() (src/scores/score_mlp.c) for a block of particles,
 * against, in the same run, the machine's DGEMM rate for a large square
 * product ("peak") and for exactly the layer shapes the forward pass uses
 * ("same": the depth + 1 DGEMMs alone, no bias, SiLU or padding).  Flops are
 * the DGEMMs' 2 n sum_l rows_l cols_l (x-columns only for layer 0); the SiLU
 * (n width depth exponentials) is not counted, so it shows as lost rate.
 *
 * usage: rtk_bench_mlp [--quick] [--seconds S] [--shape d width depth n]...
 *   default shapes: d = 10 and d = 784, width 512, depth 4, n = 256 and 1024
 *   --quick: small shapes, short trials (CTest smoke test), and a check of the
 *            forward pass against a per-particle loop implementation
 * exit status: 0 ok, 1 the check failed, 2 bad command line. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtk/blas.h"
#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/score.h"

#ifdef RTK_HAVE_OPENBLAS_THREADS
void openblas_set_num_threads(int);
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef void (*bench_fn)(void *ctx);
/* best of 3 trials of trial_s seconds each, after one warm-up call */
static double time_per_call(bench_fn f, void *ctx, double trial_s) {
  f(ctx);
  double best = INFINITY;
  for (int tr = 0; tr < 3; tr++) {
    int calls = 0;
    double t0 = now(), t;
    do {
      f(ctx);
      calls++;
      t = now() - t0;
    } while (t < trial_s);
    if (t / calls < best) best = t / calls;
  }
  return best;
}

typedef struct {
  int m;
  double *A, *B, *C;
} sq_ctx;
static void sq_call(void *p) {
  sq_ctx *c = p;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, c->m, c->m, 1.0, c->A, c->m, c->B, c->m, 0.0, c->C,
              c->m);
}

typedef struct {
  const rtk_mlp *net;
  int n;
  double *X, *out, *work, *H, *G;
} fw_ctx;
static void fw_call(void *p) {
  fw_ctx *c = p;
  rtk_mlp_forward(c->net, 0.3, c->n, c->X, c->out, c->work);
}
/* the same DGEMMs alone */
static void same_call(void *p) {
  fw_ctx *c = p;
  const rtk_mlp *net = c->net;
  const int d = net->d, W = net->width, n = c->n;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, W, d, 1.0, c->X, d, net->W[0], net->cols[0], 0.0, c->H, W);
  for (int l = 1; l < net->depth; l++)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, W, W, 1.0, c->H, W, net->W[l], W, 0.0, c->G, W);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, W, 1.0, c->G, W, net->W[net->depth], W, 0.0, c->out, d);
}

static void fill(uint64_t id, size_t n, double scale, double *v) {
  for (size_t i = 0; i < n; i += 256) {
    int m = (int)(n - i < 256 ? n - i : 256);
    rtk_rng_normals(4242, id, i, 0, RTK_RNG_AUX, m, v + i);
  }
  for (size_t i = 0; i < n; i++) v[i] *= scale;
}

/* per-particle loops, the definition of the forward pass */
static double check(const rtk_mlp *net, int n, const double *X, const double *out) {
  const int d = net->d, W = net->width, F = net->nfreq;
  const double rho = sqrt(rtk_sigma2(0.3) + net->sigma_floor * net->sigma_floor), tau = log(rho);
  double *h = malloc(sizeof(double) * (W + d + 2 * F)), *g = malloc(sizeof(double) * (W + d)), worst = 0;
  for (int i = 0; i < n; i++) {
    int cin = d + 2 * F;
    for (int j = 0; j < d; j++) h[j] = X[(size_t)i * d + j];
    for (int q = 0; q < F; q++) h[d + q] = sin(net->freqs[q] * tau), h[d + F + q] = cos(net->freqs[q] * tau);
    for (int l = 0; l <= net->depth; l++) {
      for (int r = 0; r < net->rows[l]; r++) {
        double s = net->b[l][r];
        for (int c = 0; c < cin; c++) s += net->W[l][(size_t)r * cin + c] * h[c];
        g[r] = l < net->depth ? s / (1 + exp(-s)) : s / rho;
      }
      cin = net->rows[l];
      memcpy(h, g, sizeof(double) * cin);
    }
    double num = 0, den = 0;
    for (int j = 0; j < d; j++) {
      num += (h[j] - out[(size_t)i * d + j]) * (h[j] - out[(size_t)i * d + j]);
      den += h[j] * h[j];
    }
    if (sqrt(num / (den + 1e-300)) > worst) worst = sqrt(num / (den + 1e-300));
  }
  free(h);
  free(g);
  return worst;
}

int main(int argc, char **argv) {
  rtk_blas_autofix(argv, 1); /* the kernels rtkbench would run (include/rtk/blas.h) */
  int quick = 0, nsh = 0, shapes[32][4];
  double trial = 0.3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      trial = atof(argv[++i]);
    else if (!strcmp(argv[i], "--shape") && i + 4 < argc && nsh < 32) {
      for (int j = 0; j < 4; j++) shapes[nsh][j] = atoi(argv[++i]);
      nsh++;
    } else {
      fprintf(stderr, "usage: rtk_bench_mlp [--quick] [--seconds S] [--shape d width depth n]...\n");
      return 2;
    }
  }
#ifdef RTK_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(1);
#endif
  {
    rtk_blas_info b;
    char line[1024];
    rtk_blas_query(&b);
    rtk_blas_line(&b, line, sizeof line);
    printf("# BLAS: %s\n", line);
  }
  if (!nsh) {
    static const int def[4][4] = {{10, 512, 4, 256}, {10, 512, 4, 1024}, {784, 512, 4, 256}, {784, 512, 4, 1024}};
    static const int q[2][4] = {{10, 64, 2, 50}, {40, 96, 3, 33}};
    nsh = quick ? 2 : 4;
    memcpy(shapes, quick ? (const void *)q : (const void *)def, sizeof(int) * 4 * nsh);
  }
  if (quick) trial = 0.02;
  sq_ctx sq = {quick ? 300 : 2000, NULL, NULL, NULL};
  const size_t mm = (size_t)sq.m * sq.m;
  sq.A = malloc(sizeof(double) * mm);
  sq.B = malloc(sizeof(double) * mm);
  sq.C = malloc(sizeof(double) * mm);
  fill(1, mm, 1, sq.A);
  fill(2, mm, 1, sq.B);
  printf("peak = DGEMM %d^3 on 1 thread, measured again just before each row (the machine may be shared)\n\n", sq.m);
  printf("| d | width | depth | n | peak GFLOP/s | forward GFLOP/s | fwd/peak | fwd/same | same/peak | us/particle |\n");
  printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  int status = 0;
  for (int s = 0; s < nsh; s++) {
    const int d = shapes[s][0], W = shapes[s][1], depth = shapes[s][2], n = shapes[s][3];
    rtk_mlp *net;
    if (rtk_mlp_alloc(d, W, depth, 8, &net)) {
      fprintf(stderr, "%s\n", rtk_error_message());
      return 1;
    }
    net->sigma_floor = 0.045;
    for (int q = 0; q < 8; q++) net->freqs[q] = 0.5 * pow(32.0, q / 7.0);
    for (int l = 0; l <= depth; l++) {
      fill(10 + l, (size_t)net->rows[l] * net->cols[l], 1 / sqrt((double)net->cols[l]), net->W[l]);
      fill(100 + l, (size_t)net->rows[l], 0.1, net->b[l]);
    }
    fw_ctx c = {net, n, malloc(sizeof(double) * n * d), malloc(sizeof(double) * n * d),
                malloc(sizeof(double) * rtk_mlp_work_size(net, n)), malloc(sizeof(double) * n * W),
                malloc(sizeof(double) * n * W)};
    fill(1000, (size_t)n * d, 1, c.X);
    const double flops = rtk_mlp_flops(net, n);
    const double peak = 2.0 * sq.m * (double)sq.m * sq.m / time_per_call(sq_call, &sq, trial) * 1e-9;
    const double tf = time_per_call(fw_call, &c, trial), ts = time_per_call(same_call, &c, trial);
    printf("| %d | %d | %d | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f |\n", d, W, depth, n, peak, flops / tf * 1e-9,
           flops / tf * 1e-9 / peak, ts / tf, flops / ts * 1e-9 / peak, tf / n * 1e6);
    if (quick) {
      fw_call(&c);
      double err = check(net, n, c.X, c.out);
      printf("   forward vs per-particle loops: max relative error %.2g\n", err);
      if (!(err < 1e-12)) status = 1;
    }
    free(c.X);
    free(c.out);
    free(c.work);
    free(c.H);
    free(c.G);
    rtk_mlp_free(net);
  }
  printf("\nflops = 2 n sum_l rows_l cols_l of the DGEMMs; fwd/same = time of the same DGEMMs alone over the forward "
         "pass (bias, SiLU, padding, time embedding are the rest)\n");
  free(sq.A);
  free(sq.B);
  free(sq.C);
  return status;
}
