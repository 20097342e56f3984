/* Minimal test harness: CHECK records a failure with file:line and goes on;
 * each test binary returns nonzero if any check failed. */
#ifndef RTK_TESTUTIL_H
#define RTK_TESTUTIL_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/mixture.h"
#include "rtk/sampler.h"
#include "rtk/target.h"

static int tu_failures = 0, tu_checks = 0;
#define CHECK(cond, ...)                                          \
  do {                                                            \
    tu_checks++;                                                  \
    if (!(cond)) {                                                \
      tu_failures++;                                              \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                               \
      fprintf(stderr, "\n");                                      \
    }                                                             \
  } while (0)
#define OK(call)                                                                          \
  do {                                                                                    \
    int rc_ = (call);                                                                     \
    if (rc_) {                                                                            \
      fprintf(stderr, "FAIL %s:%d: %s -> %s\n%s", __FILE__, __LINE__, #call, rtk_error_message(), \
              rtk_error_traceback());                                                     \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

static inline int tu_report(const char *name) {
  printf("%s: %d checks, %d failed\n", name, tu_checks, tu_failures);
  return tu_failures ? 1 : 0;
}

/* a target built from its defaults plus overrides "key=value" */
static inline rtk_mixture *tu_target(const char *kind, const char **kv) {
  const rtk_target_ops *t = rtk_target_lookup(kind);
  rtk_target_cfg c;
  memset(&c, 0, sizeof c);
  OK(rtk_opt_set_defaults(t->options, &c));
  for (; kv && *kv; kv++) {
    char key[64];
    const char *eq = strchr(*kv, '=');
    snprintf(key, sizeof key, "%.*s", (int)(eq - *kv), *kv);
    OK(rtk_opt_parse(rtk_opt_find(t->options, key), eq + 1, &c));
  }
  rtk_mixture *m;
  OK(t->build(&c, &m));
  OK(rtk_mixture_validate(m));
  return m;
}

/* sampler config from defaults plus overrides "key=value" (common or sampler keys) */
static inline void tu_scfg(const rtk_sampler_ops *s, rtk_sampler_cfg *c, const char **kv) {
  memset(c, 0, sizeof *c);
  OK(rtk_opt_set_defaults(rtk_sampler_common_options, c));
  OK(rtk_opt_set_defaults(s->options, c));
  for (; kv && *kv; kv++) {
    char key[64];
    const char *eq = strchr(*kv, '=');
    snprintf(key, sizeof key, "%.*s", (int)(eq - *kv), *kv);
    const rtk_opt *o = rtk_opt_find(rtk_sampler_common_options, key);
    if (!o) o = rtk_opt_find(s->options, key);
    if (!o) {
      fprintf(stderr, "test bug: no key %s\n", key);
      exit(1);
    }
    OK(rtk_opt_parse(o, eq + 1, c));
  }
}

typedef struct {
  double *X;     /* [N][d] final samples */
  double *X0;    /* [N][d] particles at the first grid time (x_T, or x' of segment 0) */
  rtk_plan plan;
  rtk_stats st;
} tu_run;

typedef struct {
  tu_run *run;
  int d;
} tu_bnd;

static void tu_boundary(void *user, int k, int64_t gid0, int n, const double *X) {
  tu_bnd *b = user;
  if (k == 0) memcpy(b->run->X0 + (size_t)gid0 * b->d, X, sizeof(double) * n * b->d);
}

/* run sampler s on N particles (blocks of B) exactly as the driver does, without MPI */
static inline void tu_sample(const rtk_sampler_ops *s, const rtk_sampler_cfg *cfg, const rtk_mixture *m, uint64_t seed,
                             int64_t N, int64_t B, tu_run *r) {
  memset(r, 0, sizeof *r);
  OK(s->plan(cfg, m, &r->plan));
  OK(rtk_stats_alloc(r->plan.nseg, &r->st));
  r->X = calloc((size_t)N * m->d, sizeof(double));
  r->X0 = calloc((size_t)N * m->d, sizeof(double));
  tu_bnd bnd = {r, m->d};
  rtk_block_ctx ctx = {m, cfg, &r->plan, seed, tu_boundary, &bnd, NULL, NULL};
  OK(rtk_sample_blocks(s, &ctx, N, B, 0, (N + B - 1) / B, r->X, &r->st, NULL, NULL));
}

static inline void tu_run_free(tu_run *r) {
  free(r->X);
  free(r->X0);
  rtk_plan_free(&r->plan);
  rtk_stats_free(&r->st);
}

static inline int64_t tu_total_nfe(const tu_run *r) {
  int64_t s = 0;
  for (int k = 0; k < r->plan.nseg; k++) s += r->st.nfe[k];
  return s;
}

#endif
