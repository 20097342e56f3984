/* mog-grid: side x side modes on a centred grid in the first two coordinates,
 * weights ∝ exp(-(a^2+b^2)/temperature), common variance (SPEC §2). */
#include <math.h>
#include <stddef.h>

#include "rtk/error.h"
#include "rtk/target.h"

static const rtk_opt opts[] = {
    {"dim", RTK_OPT_INT, offsetof(rtk_target_cfg, dim), "10", 2, 1 << 20, 0, "dimension d (>= 2)"},
    {"side", RTK_OPT_INT, offsetof(rtk_target_cfg, side), "5", 1, 1000, 0, "modes per axis (side^2 components)"},
    {"spacing", RTK_OPT_REAL, offsetof(rtk_target_cfg, spacing), "1", 1e-9, 1e9, 0, "distance between neighbouring modes"},
    {"variance", RTK_OPT_REAL, offsetof(rtk_target_cfg, variance), "0.02", 1e-12, 1e12, 0, "variance of every coordinate of every mode"},
    {"temperature", RTK_OPT_REAL, offsetof(rtk_target_cfg, temperature), "2", 1e-9, 1e12, 0, "weights ∝ exp(-(a^2+b^2)/temperature)"},
    RTK_OPT_END};

static int build(const rtk_target_cfg *c, rtk_mixture **out) {
  const int side = (int)c->side, K = side * side, d = (int)c->dim;
  rtk_mixture *m;
  RTK_CHECK(rtk_mixture_alloc(K, d, &m));
  double wsum = 0;
  for (int i = 0; i < side; i++)
    for (int j = 0; j < side; j++) {
      int k = i * side + j;
      double a = (i - (side - 1) / 2.0) * c->spacing, b = (j - (side - 1) / 2.0) * c->spacing;
      m->w[k] = exp(-(a * a + b * b) / c->temperature);
      wsum += m->w[k];
      m->mu[(size_t)k * d + 0] = a;
      m->mu[(size_t)k * d + 1] = b;
      for (int jj = 0; jj < d; jj++) m->var[(size_t)k * d + jj] = c->variance;
    }
  for (int k = 0; k < K; k++) m->w[k] /= wsum;
  *out = m;
  return RTK_OK;
}

const rtk_target_ops rtk_target_mog_grid = {
    "mog-grid", "side x side grid of modes in coordinates 1-2 (the RTK paper's MoG)", opts, build, 0};
