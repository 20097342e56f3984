/* Score plug-ins: what a sampler calls instead of the mixture kernel.
 *
 * A score model answers "score (and, where the model has one, log-density)
 * of p_t at a block of particles".  The exact mixture is one model; a
 * perturbed exact score with a calibrated error and a trained MLP are
 * others.  Samplers do not know which one they use; the metrics always use
 * the exact target.  Models are block-oriented and free of MPI and I/O: an
 * MLP's weights arrive as a plain in-memory rtk_mlp (read by src/app).
 *
 * Life of a model, per rank:
 *   rtk_score_create(ops, cfg, mix, net, &score)   -- per run (perturbed: calibration)
 *   rtk_score_ws_init(&score, mix, B, &ws)         -- per sampler workspace
 *   rtk_score_set_time(&ws, t)                     -- per time (cached)
 *   rtk_score_eval(&ws, n, X, logp, S)             -- per block, n <= B
 * To add a model: write src/scores/score_<name>.c defining an rtk_score_ops
 * and add it to the table in score_registry.c. */
#ifndef RTK_SCORE_H
#define RTK_SCORE_H
#include <stdint.h>

#include "rtk/mixture.h"
#include "rtk/options.h"
#include "rtk/timers.h"

/* Union of all score models' parameters ([score] section). */
typedef struct rtk_score_cfg {
  double error;        /* perturbed: E|s^ - s|^2 / E|s|^2 under p_t */
  double length;       /* perturbed: correlation length of the error field */
  int64_t seed;        /* perturbed: key of the random features */
  int64_t features;    /* perturbed: number of random features */
  int64_t calibration; /* perturbed: exact samples per calibration time */
  char file[RTK_STRLEN]; /* mlp: weights file (HDF5, docs/format.md) */
  int64_t error_samples; /* exact samples of p_t per grid time for the measured score error */
} rtk_score_cfg;

/* A time-conditioned MLP, s(x, t) = N(x, t) / rho_t with
 * rho_t = sqrt(sigma_t^2 + sigma_floor^2):
 *   input  h_0 = [x (d), sin(f_i tau) (nfreq), cos(f_i tau) (nfreq)],
 *          tau = log(rho_t);
 *   hidden h_l = SiLU(W_l h_{l-1} + b_l), l = 1..depth, width each;
 *   output N = W_{depth+1} h_depth + b_{depth+1} (d).
 * W[l] is [rows[l]][cols[l]] row-major (PyTorch's nn.Linear.weight),
 * l = 0..depth (depth + 1 linear layers). */
typedef struct rtk_mlp {
  int d, width, depth, nfreq;
  double sigma_floor;
  double *freqs;   /* [nfreq] */
  int *rows, *cols; /* [depth + 1] */
  double **W, **b; /* [depth + 1] */
} rtk_mlp;

int rtk_mlp_alloc(int d, int width, int depth, int nfreq, rtk_mlp **out);
void rtk_mlp_free(rtk_mlp *net);
/* number of doubles in all weights, biases and frequencies */
int64_t rtk_mlp_nparams(const rtk_mlp *net);
/* flops of a forward pass for n particles: 2 n sum_l rows_l cols_l (the d time-independent input columns) */
double rtk_mlp_flops(const rtk_mlp *net, int n);

typedef struct rtk_score_ops {
  const char *name;
  const char *summary;
  const rtk_opt *options; /* keys of this model in [score] (model is shared) */
  int has_energy;         /* eval can return log p_t */
  /* per-run model from the exact target (perturbed) or the weights (mlp) */
  int (*create)(const rtk_score_cfg *cfg, const rtk_mixture *mix, const rtk_mlp *net, void **model);
  void (*destroy)(void *model);
  int (*work_create)(const void *model, int B, void **ws);
  void (*work_free)(void *ws);
  void (*set_time)(const void *model, double t, void *ws);
  /* n <= B particles X[n][d]: score[n][d] and (has_energy) logp[n]; either may be NULL.
   * Models without energy set logp to NaN. */
  void (*eval)(const void *model, void *ws, int n, const double *X, double *logp, double *score);
} rtk_score_ops;

/* a model instance */
typedef struct rtk_score {
  const rtk_score_ops *ops;
  void *model;
} rtk_score;

/* a workspace for blocks of up to B particles */
typedef struct rtk_score_ws {
  rtk_score own; /* the exact model, when initialised without one */
  const rtk_score *s;
  void *ws;
} rtk_score_ws;

const rtk_score_ops *rtk_score_lookup(const char *name);
const rtk_score_ops *const *rtk_score_all(void); /* NULL-terminated */
/* [score] keys of every model (model itself is looked up by name) */
extern const rtk_opt rtk_score_common_options[];
#define RTK_SCORE_MODEL_CHOICES "exact|perturbed|mlp"

int rtk_score_create(const rtk_score_ops *ops, const rtk_score_cfg *cfg, const rtk_mixture *mix, const rtk_mlp *net,
                     rtk_score *out);
void rtk_score_destroy(rtk_score *s);
/* s == NULL: the exact score of mix */
int rtk_score_ws_init(const rtk_score *s, const rtk_mixture *mix, int B, rtk_score_ws *w);
/* the exact score's cache of per-time coefficient sets (score_exact.c): at most this many bytes per workspace,
 * allocated as times come (counted in the run's memory estimate); rtk_score_exact_cache sets another budget for
 * the workspaces made after it (0: the default; for the tests) */
#define RTK_SCORE_CACHE_BYTES ((size_t)16 << 20) /* 16 MiB */
void rtk_score_exact_cache(size_t bytes);
void rtk_score_ws_free(rtk_score_ws *w);
static inline void rtk_score_set_time(rtk_score_ws *w, double t) { w->s->ops->set_time(w->s->model, t, w->ws); }
static inline void rtk_score_eval(rtk_score_ws *w, int n, const double *X, double *logp, double *score) {
#ifdef RTK_TIMERS_FINE
  if (rtk_timers_armed) { /* the score phase of the run timers (rtk/timers.h) */
    rtk_timers_armed = 0; /* nothing inside a score evaluation counts as rng */
    const uint64_t t = rtk_ticks();
    w->s->ops->eval(w->s->model, w->ws, n, X, logp, score);
    rtk_timers_fine[0] += rtk_ticks() - t;
    rtk_timers_armed = 1;
    return;
  }
#endif
  w->s->ops->eval(w->s->model, w->ws, n, X, logp, score);
}
static inline int rtk_score_has_energy(const rtk_score *s) { return !s || s->ops->has_energy; }

/* Relative L2 score error on a block of exact samples X[n][d] of p_t (S1, S2: [n][d] scratch):
 * sums[0..4] += sum_i (a_i, b_i, a_i^2, b_i^2, a_i b_i), a = |s^ - s|^2, b = |s|^2,
 * with s^ from w (time already set) and s the exact score (ex, exact model). */
void rtk_score_error_sums(rtk_score_ws *w, rtk_score_ws *ex, int d, int n, const double *X, double *sums, double *S1,
                          double *S2);
/* ratio sum a / sum b and its delta-method standard error from n samples */
void rtk_score_error_ratio(const double *sums, int64_t n, double *ratio, double *se);

extern const rtk_score_ops rtk_score_exact, rtk_score_perturbed, rtk_score_mlp;

/* rtk_exp_block: y[i] = e^{x[i]} with a branch-free polynomial that the
 * compiler vectorises (the same result for an element wherever it sits);
 * relative error below 2.3e-16 on [-708, 709], clamped outside; finite x only. */
void rtk_exp_block(size_t n, const double *x, double *y);
/* SiLU in place: h <- h / (1 + e^{-h}) */
void rtk_silu_block(size_t n, double *h);

/* MLP forward without the model plumbing (bench, tests): out[n][d] = s(x, t)
 * for n particles; work must hold mlp_work_size(net, n) doubles. */
size_t rtk_mlp_work_size(const rtk_mlp *net, int n);
void rtk_mlp_forward(const rtk_mlp *net, double t, int n, const double *X, double *out, double *work);
/* mlp's per-time part (what its set_time computes; device backends upload it): returns rho_t and sets
 * bias0[width] = b_0 + W_0[:, d:] [sin(f tau), cos(f tau)].  An mlp model (rtk_score.model) is its rtk_mlp. */
double rtk_mlp_time_bias(const rtk_mlp *net, double t, double *bias0);

/* perturbed's random features and error scale (device backends upload the features and take c(t) per time):
 * e(x) = sum_m A[m] cos(Om[m] . x + phi[m]) (A already scaled by sqrt(2/M)); s^ = s + c(t) e */
typedef struct rtk_perturbed_features {
  int M, d;
  const double *Om, *phi, *A; /* [M][d], [M], [M][d] */
} rtk_perturbed_features;
void rtk_perturbed_features_of(const void *model, rtk_perturbed_features *f);
double rtk_perturbed_scale(const void *model, double t); /* c(t), as set_time computes it (0: no error) */

#endif
