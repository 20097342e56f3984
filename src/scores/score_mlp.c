/* mlp: a trained time-conditioned network (rtk_mlp in include/rtk/score.h;
 * weights read by src/app/score_file.c, trained by analysis/train_score.py).
 * Forward pass for a block: one cblas_dgemm per layer on tiles of
 * RTK_GEMM_ROWS rows (as in the mixture kernel, so a particle's result does
 * not depend on its block: include/rtk/mixture.h), vectorised SiLU.  The time embedding enters the first
 * layer only through its bias, so per time (set_time) the d + 2 nfreq input
 * columns split into x-columns (the DGEMM) and a time bias
 *   b_0(t) = b_0 + W_0[:, d:] [sin(f tau), cos(f tau)].
 * No energy: rtk-mala is refused with this model. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/score.h"

typedef struct {
  const rtk_mlp *net;
  double t, rho;
  double *bias0; /* [width] */
  double *work;
} mlp_ws;

static const rtk_opt opts[] = {
    {"file", RTK_OPT_STR, offsetof(rtk_score_cfg, file), "", 0, 0, 0,
     "mlp: HDF5 weights file written by analysis/train_score.py (layout in docs/format.md)"},
    RTK_OPT_END};

/* one tile's buffers (Xp, O: T x d; H, G: T x width), then the time bias; n does not matter (tiles) */
size_t rtk_mlp_work_size(const rtk_mlp *net, int n) {
  (void)n;
  const size_t T = RTK_GEMM_ROWS;
  return T * net->d * 2 + 2 * T * net->width + (size_t)net->width;
}

/* rho_t and the first layer's time bias */
double rtk_mlp_time_bias(const rtk_mlp *net, double t, double *bias0) {
  const int d = net->d, F = net->nfreq, c0 = net->cols[0];
  const double rho = sqrt(rtk_sigma2(t) + net->sigma_floor * net->sigma_floor), tau = log(rho);
  for (int r = 0; r < net->width; r++) {
    const double *wr = net->W[0] + (size_t)r * c0 + d;
    double s = net->b[0][r];
    for (int i = 0; i < F; i++) s += wr[i] * sin(net->freqs[i] * tau) + wr[F + i] * cos(net->freqs[i] * tau);
    bias0[r] = s;
  }
  return rho;
}

static void add_bias(int n, int m, double *H, const double *b) {
  for (int i = 0; i < n; i++) {
    double *h = H + (size_t)i * m;
    for (int j = 0; j < m; j++) h[j] += b[j];
  }
}

/* rows s .. s + r - 1 of X into out (same rows), one tile of T = RTK_GEMM_ROWS rows through every layer */
static void forward_tile(const rtk_mlp *net, const double *bias0, double rho, int s, int r, const double *X,
                         double *out, double *work) {
  const int d = net->d, Wd = net->width, L = net->depth, T = RTK_GEMM_ROWS;
  double *Xp = work, *O = Xp + (size_t)T * d, *H = O + (size_t)T * d, *G = H + (size_t)T * Wd;
  const double *Xt = rtk_tile_in(X, d, s, r, Xp);
  /* layer 0: x-columns of W_0 (leading dimension d + 2 nfreq), time bias */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, Wd, d, 1.0, Xt, d, net->W[0], net->cols[0], 0.0, H, Wd);
  add_bias(T, Wd, H, bias0);
  rtk_silu_block((size_t)T * Wd, H);
  for (int l = 1; l < L; l++) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, Wd, Wd, 1.0, H, Wd, net->W[l], Wd, 0.0, G, Wd);
    add_bias(T, Wd, G, net->b[l]);
    rtk_silu_block((size_t)T * Wd, G);
    double *tmp = H;
    H = G;
    G = tmp;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, d, Wd, 1.0, H, Wd, net->W[L], Wd, 0.0, O, d);
  const double *bL = net->b[L];
  for (int i = 0; i < r; i++)
    for (int j = 0; j < d; j++) out[(size_t)(s + i) * d + j] = (O[(size_t)i * d + j] + bL[j]) / rho;
}

static void forward(const rtk_mlp *net, const double *bias0, double rho, int n, const double *X, double *out,
                    double *work) {
  for (int s = 0; s < n; s += RTK_GEMM_ROWS)
    forward_tile(net, bias0, rho, s, n - s < RTK_GEMM_ROWS ? n - s : RTK_GEMM_ROWS, X, out, work);
}

void rtk_mlp_forward(const rtk_mlp *net, double t, int n, const double *X, double *out, double *work) {
  double *bias0 = work + rtk_mlp_work_size(net, n) - net->width;
  const double rho = rtk_mlp_time_bias(net, t, bias0);
  forward(net, bias0, rho, n, X, out, work);
}

static int create(const rtk_score_cfg *cfg, const rtk_mixture *mix, const rtk_mlp *net, void **model) {
  (void)cfg;
  if (!net) return RTK_ERR(RTK_ERR_INPUT, "score model mlp needs weights (score.file)");
  if (net->d != mix->d)
    return RTK_ERR(RTK_ERR_INPUT, "the network's dim (%d) differs from the target's dim (%d)", net->d, mix->d);
  *model = (void *)net;
  return RTK_OK;
}

static void destroy(void *model) { (void)model; }

static void work_free(void *p) {
  mlp_ws *w = p;
  if (!w) return;
  free(w->work);
  free(w);
}

static int work_create(const void *model, int B, void **out) {
  const rtk_mlp *net = model;
  mlp_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  w->net = net;
  w->t = NAN;
  RTK_MALLOC(w->work, rtk_mlp_work_size(net, B));
  w->bias0 = w->work + rtk_mlp_work_size(net, B) - net->width;
  return RTK_OK;
}

static void set_time(const void *model, double t, void *ws) {
  mlp_ws *w = ws;
  if (w->t == t) return;
  w->t = t;
  w->rho = rtk_mlp_time_bias(model, t, w->bias0);
}

static void eval(const void *model, void *ws, int n, const double *X, double *logp, double *score) {
  mlp_ws *w = ws;
  if (logp)
    for (int i = 0; i < n; i++) logp[i] = NAN; /* no energy */
  if (score) forward(model, w->bias0, w->rho, n, X, score, w->work);
}

const rtk_score_ops rtk_score_mlp = {
    "mlp",       "trained time-conditioned MLP (SiLU, sinusoidal time embedding), weights from score.file; no energy",
    opts,        0,
    create,      destroy,
    work_create, work_free,
    set_time,    eval};
