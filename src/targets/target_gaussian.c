/* gaussian: one component N(mean*1, variance*I), the sanity target. */
#include <stddef.h>

#include "rtk/error.h"
#include "rtk/target.h"

static const rtk_opt opts[] = {
    {"dim", RTK_OPT_INT, offsetof(rtk_target_cfg, dim), "10", 1, 1 << 20, 0, "dimension d"},
    {"mean", RTK_OPT_REAL, offsetof(rtk_target_cfg, mean), "0.5", -1e6, 1e6, 0, "every coordinate of the mean"},
    {"variance", RTK_OPT_REAL, offsetof(rtk_target_cfg, variance), "0.25", 1e-12, 1e12, 0, "variance of every coordinate"},
    RTK_OPT_END};

static int build(const rtk_target_cfg *c, rtk_mixture **out) {
  rtk_mixture *m;
  RTK_CHECK(rtk_mixture_alloc(1, (int)c->dim, &m));
  m->w[0] = 1.0;
  for (int j = 0; j < m->d; j++) {
    m->mu[j] = c->mean;
    m->var[j] = c->variance;
  }
  *out = m;
  return RTK_OK;
}

const rtk_target_ops rtk_target_gaussian = {"gaussian", "single Gaussian N(mean*1, variance*I)", opts, build, 0};
