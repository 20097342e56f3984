/* exact: the mixture's own score and log-density (rtk_mix_eval). */
#include <stdlib.h>

#include "rtk/error.h"
#include "rtk/score.h"

typedef struct {
  rtk_mixcoef coef;
  rtk_mixwork mw;
  const rtk_mixture *mix;
} exact_ws;

static int create(const rtk_score_cfg *cfg, const rtk_mixture *mix, const rtk_mlp *net, void **model) {
  (void)cfg;
  (void)net;
  *model = (void *)mix; /* the model is the mixture itself */
  return RTK_OK;
}

static void destroy(void *model) { (void)model; }

static void work_free(void *p) {
  exact_ws *w = p;
  if (!w) return;
  rtk_mixcoef_free(&w->coef);
  rtk_mixwork_free(&w->mw);
  free(w);
}

static int work_create(const void *model, int B, void **out) {
  const rtk_mixture *mix = model;
  exact_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  w->mix = mix;
  RTK_CHECK(rtk_mixcoef_init(mix, &w->coef));
  RTK_CHECK(rtk_mixwork_init(B, mix->K, mix->d, &w->mw));
  return RTK_OK;
}

static void set_time(const void *model, double t, void *ws) {
  exact_ws *w = ws;
  rtk_mixcoef_set_time(model, t, &w->coef);
}

static void eval(const void *model, void *ws, int n, const double *X, double *logp, double *score) {
  (void)model;
  exact_ws *w = ws;
  rtk_mix_eval(&w->coef, n, X, logp, score, &w->mw);
}

static const rtk_opt opts[] = {RTK_OPT_END};

const rtk_score_ops rtk_score_exact = {"exact",    "the target mixture's exact score and log-density (closed form)",
                                       opts,       1,
                                       create,     destroy,
                                       work_create, work_free,
                                       set_time,   eval};
