/* perturbed: the exact score plus a smooth deterministic error field whose
 * size is calibrated per time (docs/design.md, "Score models"):
 *
 *   s^_t(x) = s_t(x) + c(t) e(x),
 *   e(x)    = sqrt(2/M) sum_m a_m cos(w_m . x + phi_m)       (M random features)
 *
 * with a_m ~ N(0, I_d), w_m ~ N(0, I_d / (d l^2)), phi_m ~ U(0, 2 pi), drawn
 * from Philox with key (score.seed, m), purpose SCORE.  e is a fixed smooth
 * vector field of correlation length about l per coordinate (the 1/d keeps the
 * phase w.x of order |x|/(sqrt(d) l), so the field is equally smooth in any
 * dimension).  c(t) makes the relative mean-square error exact in expectation,
 *
 *   c(t)^2 = score.error * E_{p_t}|s_t|^2 / E_{p_t}|e|^2,
 *
 * both expectations estimated once per run on score.calibration exact samples
 * of p_t (key (score.seed, 2^62 + i)) at 128 times log-spaced in t + 1e-4 on
 * [0, 30]; between them log c^2 is interpolated linearly in log(t + 1e-4)
 * (beyond 30, p_t is N(0, I) to 1e-26 and c is held).  Two extra DGEMMs per
 * block (n x M x d each), on tiles of RTK_GEMM_ROWS rows like the mixture kernel (include/rtk/mixture.h). */
#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/rng.h"
#include "rtk/score.h"

#define NCAL_T 128
#define T_OFF 1e-4
#define T_MAX 30.0
#define CAL_ID0 (UINT64_C(1) << 62)

typedef struct {
  const rtk_mixture *mix;
  int M, d;
  double err;
  double *Om, *phi, *A; /* [M][d], [M], [M][d] (A scaled by sqrt(2/M)) */
  double u[NCAL_T], logc2[NCAL_T];
} pert_model;

typedef struct {
  void *ex; /* exact workspace */
  double *P, *E, *Xpad; /* one tile: [T][M], [T][d], [T][d], T = RTK_GEMM_ROWS */
  double c;
} pert_ws;

static const rtk_opt opts[] = {
    {"error", RTK_OPT_REAL, offsetof(rtk_score_cfg, error), "0.1", 0, 100, 0,
     "perturbed: relative mean-square error E|s^-s|^2 / E|s|^2 under p_t, at every t"},
    {"length", RTK_OPT_REAL, offsetof(rtk_score_cfg, length), "1", 1e-6, 1e6, 0,
     "perturbed: correlation length of the error field (per coordinate)"},
    {"seed", RTK_OPT_INT, offsetof(rtk_score_cfg, seed), "1", 0, 9.0e18, 0, "perturbed: seed of the random features"},
    {"features", RTK_OPT_INT, offsetof(rtk_score_cfg, features), "64", 1, 100000, 0,
     "perturbed: number of random Fourier features of the error field"},
    {"calibration", RTK_OPT_INT, offsetof(rtk_score_cfg, calibration), "8192", 16, 1e9, 0,
     "perturbed: exact samples per calibration time (128 times per run)"},
    RTK_OPT_END};

static void work_free(void *p) {
  pert_ws *w = p;
  if (!w) return;
  if (w->ex) rtk_score_exact.work_free(w->ex);
  free(w->P);
  free(w->E);
  free(w->Xpad);
  free(w);
}

static int work_create(const void *model, int B, void **out) {
  const pert_model *m = model;
  pert_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  RTK_CHECK(rtk_score_exact.work_create(m->mix, B, &w->ex));
  RTK_MALLOC(w->P, (size_t)RTK_GEMM_ROWS * m->M);
  RTK_MALLOC(w->E, (size_t)RTK_GEMM_ROWS * m->d);
  RTK_MALLOC(w->Xpad, (size_t)RTK_GEMM_ROWS * m->d);
  return RTK_OK;
}

/* E[0 .. r)[d] = e(X rows s .. s + r - 1): one tile of T = RTK_GEMM_ROWS rows (rtk_tile_in) */
static void field_tile(const pert_model *m, pert_ws *w, int s, int r, const double *X) {
  const int M = m->M, d = m->d, T = RTK_GEMM_ROWS;
  const double *Xt = rtk_tile_in(X, d, s, r, w->Xpad);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, M, d, 1.0, Xt, d, m->Om, d, 0.0, w->P, M);
  for (int i = 0; i < T; i++)
    for (int q = 0; q < M; q++) w->P[(size_t)i * M + q] = cos(w->P[(size_t)i * M + q] + m->phi[q]);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, M, 1.0, w->P, M, m->A, d, 0.0, w->E, d);
}

static void destroy(void *p) {
  pert_model *m = p;
  if (!m) return;
  free(m->Om);
  free(m->phi);
  free(m->A);
  free(m);
}

static int calibrate(pert_model *m, uint64_t seed, int64_t ncal) {
  const int B = 256, d = m->d;
  pert_ws *w = NULL;
  double *X = malloc(sizeof(double) * B * d), *S = malloc(sizeof(double) * B * d);
  int rc = (X && S) ? work_create(m, B, (void **)&w) : RTK_ERR(RTK_ERR_MEM, "out of memory");
  const double u0 = log(T_OFF), u1 = log(T_MAX + T_OFF);
  for (int g = 0; g < NCAL_T && !rc; g++) {
    m->u[g] = u0 + (u1 - u0) * g / (NCAL_T - 1);
    const double t = g == 0 ? 0.0 : exp(m->u[g]) - T_OFF;
    rtk_score_exact.set_time(m->mix, t, w->ex);
    double ss = 0, se = 0;
    for (int64_t i0 = 0; i0 < ncal; i0 += B) {
      const int n = (int)(ncal - i0 < B ? ncal - i0 : B);
      rtk_mixture_sample(m->mix, t, seed, CAL_ID0 + (uint64_t)i0, n, X);
      rtk_score_exact.eval(m->mix, w->ex, n, X, NULL, S);
      for (size_t j = 0; j < (size_t)n * d; j++) ss += S[j] * S[j];
      for (int s = 0; s < n; s += RTK_GEMM_ROWS) {
        const int r = n - s < RTK_GEMM_ROWS ? n - s : RTK_GEMM_ROWS;
        field_tile(m, w, s, r, X);
        for (size_t j = 0; j < (size_t)r * d; j++) se += w->E[j] * w->E[j];
      }
    }
    m->logc2[g] = log(m->err * ss / se);
  }
  if (w) work_free(w);
  free(X);
  free(S);
  return rc;
}

static int create(const rtk_score_cfg *cfg, const rtk_mixture *mix, const rtk_mlp *net, void **out) {
  (void)net;
  pert_model *m;
  RTK_MALLOC(m, 1);
  const int M = (int)cfg->features, d = mix->d;
  m->mix = mix;
  m->M = M;
  m->d = d;
  m->err = cfg->error;
  m->Om = malloc(sizeof(double) * M * d);
  m->A = malloc(sizeof(double) * M * d);
  m->phi = malloc(sizeof(double) * M);
  if (!m->Om || !m->A || !m->phi) {
    destroy(m);
    return RTK_ERR(RTK_ERR_MEM, "out of memory for %d random features", M);
  }
  const uint64_t seed = (uint64_t)cfg->seed;
  const double wsd = 1.0 / (cfg->length * sqrt((double)d)), as = sqrt(2.0 / M);
  for (int q = 0; q < M; q++) {
    rtk_rng_normals(seed, (uint64_t)q, 0, 0, RTK_RNG_SCORE, d, m->Om + (size_t)q * d);
    rtk_rng_normals(seed, (uint64_t)q, 0, 1, RTK_RNG_SCORE, d, m->A + (size_t)q * d);
    m->phi[q] = 2 * 3.14159265358979323846 * rtk_rng_uniform(seed, (uint64_t)q, 0, 2, RTK_RNG_SCORE);
    for (int j = 0; j < d; j++) {
      m->Om[(size_t)q * d + j] *= wsd;
      m->A[(size_t)q * d + j] *= as;
    }
  }
  int rc = m->err > 0 ? calibrate(m, seed, cfg->calibration) : RTK_OK;
  if (rc) {
    destroy(m);
    return rtk_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  *out = m;
  return RTK_OK;
}

double rtk_perturbed_scale(const void *model, double t) {
  const pert_model *m = model;
  if (!(m->err > 0)) return 0;
  double u = log(t + T_OFF);
  if (u <= m->u[0]) u = m->u[0];
  if (u >= m->u[NCAL_T - 1]) u = m->u[NCAL_T - 1];
  int g = (int)((u - m->u[0]) / (m->u[1] - m->u[0]));
  if (g > NCAL_T - 2) g = NCAL_T - 2;
  const double a = (u - m->u[g]) / (m->u[g + 1] - m->u[g]);
  return sqrt(exp((1 - a) * m->logc2[g] + a * m->logc2[g + 1]));
}

void rtk_perturbed_features_of(const void *model, rtk_perturbed_features *f) {
  const pert_model *m = model;
  f->M = m->M;
  f->d = m->d;
  f->Om = m->Om;
  f->phi = m->phi;
  f->A = m->A;
}

static void set_time(const void *model, double t, void *ws) {
  const pert_model *m = model;
  pert_ws *w = ws;
  rtk_score_exact.set_time(m->mix, t, w->ex);
  w->c = rtk_perturbed_scale(model, t);
}

static void eval(const void *model, void *ws, int n, const double *X, double *logp, double *score) {
  const pert_model *m = model;
  pert_ws *w = ws;
  if (logp)
    for (int i = 0; i < n; i++) logp[i] = NAN; /* no energy */
  if (!score) return;
  rtk_score_exact.eval(m->mix, w->ex, n, X, NULL, score);
  if (w->c == 0) return;
  const int d = m->d;
  for (int s = 0; s < n; s += RTK_GEMM_ROWS) {
    const int r = n - s < RTK_GEMM_ROWS ? n - s : RTK_GEMM_ROWS;
    field_tile(m, w, s, r, X);
    double *sc = score + (size_t)s * d;
    for (size_t i = 0; i < (size_t)r * d; i++) sc[i] += w->c * w->E[i];
  }
}

const rtk_score_ops rtk_score_perturbed = {
    "perturbed", "exact score + a smooth random-feature error field, scaled so E|s^-s|^2/E|s|^2 = error at every t",
    opts,        0,
    create,      destroy,
    work_create, work_free,
    set_time,    eval};
