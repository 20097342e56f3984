/* Score-model registry, model/workspace life cycle, the score-error sums of
 * the measured-error diagnostic, and rtk_mlp allocation. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/score.h"

static const rtk_score_ops *const models[] = {&rtk_score_exact, &rtk_score_perturbed, &rtk_score_mlp, NULL};

const rtk_score_ops *const *rtk_score_all(void) { return models; }

const rtk_opt rtk_score_common_options[] = {
    {"error_samples", RTK_OPT_INT, offsetof(rtk_score_cfg, error_samples), "10000", 2, 1e9, 0,
     "non-exact models: exact samples of p_t per grid time for the measured score error (metrics/score_error)"},
    RTK_OPT_END};

const rtk_score_ops *rtk_score_lookup(const char *name) {
  for (int i = 0; models[i]; i++)
    if (!strcmp(models[i]->name, name)) return models[i];
  return NULL;
}

int rtk_score_create(const rtk_score_ops *ops, const rtk_score_cfg *cfg, const rtk_mixture *mix, const rtk_mlp *net,
                     rtk_score *out) {
  memset(out, 0, sizeof *out);
  void *model = NULL;
  RTK_CHECK(ops->create(cfg, mix, net, &model));
  out->ops = ops;
  out->model = model;
  return RTK_OK;
}

void rtk_score_destroy(rtk_score *s) {
  if (s->ops && s->model) s->ops->destroy(s->model);
  memset(s, 0, sizeof *s);
}

int rtk_score_ws_init(const rtk_score *s, const rtk_mixture *mix, int B, rtk_score_ws *w) {
  memset(w, 0, sizeof *w);
  if (!s) {
    RTK_CHECK(rtk_score_create(&rtk_score_exact, NULL, mix, NULL, &w->own));
    s = &w->own;
  }
  w->s = s;
  RTK_CHECK(s->ops->work_create(s->model, B, &w->ws));
  return RTK_OK;
}

void rtk_score_ws_free(rtk_score_ws *w) {
  if (w->s && w->ws) w->s->ops->work_free(w->ws);
  rtk_score_destroy(&w->own);
  memset(w, 0, sizeof *w);
}

void rtk_score_error_sums(rtk_score_ws *w, rtk_score_ws *ex, int d, int n, const double *X, double *sums, double *S1,
                          double *S2) {
  rtk_score_eval(w, n, X, NULL, S1);
  rtk_score_eval(ex, n, X, NULL, S2);
  for (int i = 0; i < n; i++) {
    double a = 0, b = 0;
    for (int j = 0; j < d; j++) {
      const double s = S2[(size_t)i * d + j], e = S1[(size_t)i * d + j] - s;
      a += e * e;
      b += s * s;
    }
    sums[0] += a;
    sums[1] += b;
    sums[2] += a * a;
    sums[3] += b * b;
    sums[4] += a * b;
  }
}

void rtk_score_error_ratio(const double *sums, int64_t n, double *ratio, double *se) {
  if (n < 2 || !(sums[1] > 0)) {
    *ratio = NAN;
    *se = NAN;
    return;
  }
  const double R = sums[0] / sums[1], mb = sums[1] / n;
  /* delta method: Var R ~ Var(a - R b) / (n mean(b)^2) */
  double v = (sums[2] - 2 * R * sums[4] + R * R * sums[3]) / n; /* mean (a - R b)^2; mean(a - R b) = 0 */
  v = v > 0 ? v * n / (n - 1) : 0;
  *ratio = R;
  *se = sqrt(v / n) / mb;
}

/* ---- rtk_mlp ------------------------------------------------------------- */
int rtk_mlp_alloc(int d, int width, int depth, int nfreq, rtk_mlp **out) {
  if (d < 1 || width < 1 || depth < 1 || nfreq < 0)
    return RTK_ERR(RTK_ERR_INPUT, "MLP needs dim, width, depth >= 1 and n_freq >= 0 (got %d, %d, %d, %d)", d, width,
                   depth, nfreq);
  rtk_mlp *n;
  RTK_MALLOC(n, 1);
  *out = n;
  n->d = d;
  n->width = width;
  n->depth = depth;
  n->nfreq = nfreq;
  RTK_MALLOC(n->freqs, nfreq);
  RTK_MALLOC(n->rows, depth + 1);
  RTK_MALLOC(n->cols, depth + 1);
  RTK_MALLOC(n->W, depth + 1);
  RTK_MALLOC(n->b, depth + 1);
  for (int l = 0; l <= depth; l++) {
    n->rows[l] = l == depth ? d : width;
    n->cols[l] = l == 0 ? d + 2 * nfreq : width;
    RTK_MALLOC(n->W[l], (size_t)n->rows[l] * n->cols[l]);
    RTK_MALLOC(n->b[l], n->rows[l]);
  }
  return RTK_OK;
}

void rtk_mlp_free(rtk_mlp *n) {
  if (!n) return;
  for (int l = 0; n->W && l <= n->depth; l++) free(n->W[l]);
  for (int l = 0; n->b && l <= n->depth; l++) free(n->b[l]);
  free(n->W);
  free(n->b);
  free(n->rows);
  free(n->cols);
  free(n->freqs);
  free(n);
}

int64_t rtk_mlp_nparams(const rtk_mlp *n) {
  int64_t s = n->nfreq;
  for (int l = 0; l <= n->depth; l++) s += (int64_t)n->rows[l] * (n->cols[l] + 1);
  return s;
}

double rtk_mlp_flops(const rtk_mlp *n, int np) {
  double f = 0;
  for (int l = 0; l <= n->depth; l++) f += 2.0 * np * n->rows[l] * (l == 0 ? n->d : n->cols[l]);
  return f;
}
