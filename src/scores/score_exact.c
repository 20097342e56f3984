/* exact: the mixture's own score and log-density (rtk_mix_eval). */
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/score.h"

/* Per-time coefficients (rtk_mixcoef: K d logs and 3 K d divisions) are
 * cached per workspace, keyed by t: a sampler runs the same grid for every
 * block (and for every piece of the dynamic schedule), so e.g. ddpm would
 * otherwise recompute them for each block and step.  Up to cache_bytes
 * (RTK_SCORE_CACHE_BYTES, rtk/score.h) of coefficient sets, at most MAX_SLOTS,
 * each allocated when its time first comes; the first cap - 1 distinct times
 * keep their slot, the last slot serves every further time (recomputed as
 * before), so a long grid never thrashes; a set larger than the budget is not
 * cached at all.  A cached set is the very result rtk_mixcoef_set_time
 * computed, so results do not change (score.coef_cache). */
enum { MAX_SLOTS = 1024 };
static size_t cache_bytes = RTK_SCORE_CACHE_BYTES;

void rtk_score_exact_cache(size_t bytes) { cache_bytes = bytes ? bytes : RTK_SCORE_CACHE_BYTES; }

typedef struct {
  rtk_mixcoef *slot; /* [cap]; slot[0 .. nslot-1] allocated */
  int nslot, cap, cur;
  double *ct, *cv;   /* the normalisers c[] (K each, then min_lam) of the first ncv times: a slot refilled for one of
                      * them needs no logs (rtk_mixcoef_set_time_c); at most ccap times, up to the same budget */
  int ncv, ccap, cgot; /* cgot: times the arrays have room for (grown geometrically) */
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
  for (int i = 0; i < w->nslot; i++) rtk_mixcoef_free(&w->slot[i]);
  free(w->slot);
  free(w->ct);
  free(w->cv);
  rtk_mixwork_free(&w->mw);
  free(w);
}

static int work_create(const void *model, int B, void **out) {
  (void)B; /* the kernel's scratch is one GEMM tile, whatever the block (rtk/mixture.h) */
  const rtk_mixture *mix = model;
  exact_ws *w;
  RTK_MALLOC(w, 1);
  *out = w;
  w->mix = mix;
  const double per = 8.0 * (2.0 * mix->K * mix->d + mix->K); /* bytes of one coefficient set */
  const double fit = (double)cache_bytes / per;
  w->cap = fit >= MAX_SLOTS ? MAX_SLOTS : fit >= 1 ? (int)fit : 1; /* 1: no cache, as before */
  const double cfit = (double)cache_bytes / (8.0 * (mix->K + 1));
  w->ccap = cfit >= 4 * MAX_SLOTS ? 4 * MAX_SLOTS : (int)cfit;
  RTK_MALLOC(w->slot, w->cap);
  w->nslot = 1; /* slot 0 always exists (work_free frees what its init allocated) */
  RTK_CHECK(rtk_mixcoef_init(mix, &w->slot[0]));
  RTK_CHECK(rtk_mixwork_init(mix->K, mix->d, &w->mw));
  return RTK_OK;
}

static void set_time(const void *model, double t, void *ws) {
  exact_ws *w = ws;
  if (w->slot[w->cur].t == t) return;
  for (int i = 0; i < w->nslot; i++) /* a grid of up to a few hundred times: a scan is cheap */
    if (w->slot[i].t == t) {
      w->cur = i;
      return;
    }
  if (w->nslot < w->cap) { /* a new slot; if memory runs out, stop growing */
    if (rtk_mixcoef_init(model, &w->slot[w->nslot]) == RTK_OK)
      w->nslot++;
    else {
      rtk_mixcoef_free(&w->slot[w->nslot]);
      rtk_error_clear();
      w->cap = w->nslot;
    }
  }
  w->cur = w->nslot - 1; /* the newest slot, or once full the last one, recomputed for every further time */
  rtk_mixcoef *c = &w->slot[w->cur];
  const int K = w->mix->K;
  for (int i = 0; i < w->ncv; i++)
    if (w->ct[i] == t) {
      rtk_mixcoef_set_time_c(model, t, w->cv + (size_t)i * (K + 1), w->cv[(size_t)i * (K + 1) + K], c);
      return;
    }
  rtk_mixcoef_set_time(model, t, c);
  if (w->ncv < w->ccap) { /* keep its normalisers (room grown as times come; out of memory: stop keeping) */
    if (w->ncv == w->cgot) {
      const int got = w->cgot ? (2 * w->cgot < w->ccap ? 2 * w->cgot : w->ccap) : (w->ccap < 16 ? w->ccap : 16);
      double *ct = realloc(w->ct, sizeof(double) * (size_t)got);
      if (ct) w->ct = ct;
      double *cv = ct ? realloc(w->cv, sizeof(double) * (size_t)got * (K + 1)) : NULL;
      if (cv) w->cv = cv;
      if (!ct || !cv) {
        w->ccap = w->ncv;
        return;
      }
      w->cgot = got;
    }
    w->ct[w->ncv] = t;
    memcpy(w->cv + (size_t)w->ncv * (K + 1), c->c, sizeof(double) * K);
    w->cv[(size_t)w->ncv * (K + 1) + K] = c->min_lam;
    w->ncv++;
  }
}

static void eval(const void *model, void *ws, int n, const double *X, double *logp, double *score) {
  (void)model;
  exact_ws *w = ws;
  rtk_mix_eval(&w->slot[w->cur], n, X, logp, score, &w->mw);
}

static const rtk_opt opts[] = {RTK_OPT_END};

const rtk_score_ops rtk_score_exact = {"exact",    "the target mixture's exact score and log-density (closed form)",
                                       opts,       1,
                                       create,     destroy,
                                       work_create, work_free,
                                       set_time,   eval};
