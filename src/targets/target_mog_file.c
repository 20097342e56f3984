/* mog-file: a diagonal Gaussian mixture read from an HDF5 file (e.g. one
 * fitted to real data by analysis/make_target.py).  Reading and validating
 * the file is I/O and happens at the edge (src/app/target_file.c: rank 0
 * reads, every rank receives the verdict and the arrays); this plug-in only
 * copies the loaded mixture, so it stays free of HDF5 and MPI. */
#include <stddef.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/target.h"

static const rtk_opt opts[] = {
    {"file", RTK_OPT_STR, offsetof(rtk_target_cfg, file), "", 0, 0, 0, "HDF5 file with /weights [K], /means [K][d], /variances [K][d] (optional /decode); relative to the working directory"},
    {"dim", RTK_OPT_INT, offsetof(rtk_target_cfg, dim), "0", 0, 1 << 20, 0, "dimension d: 0 = the file's; any other value must equal it"},
    {"sha256", RTK_OPT_STR, offsetof(rtk_target_cfg, sha256), "", 0, 0, 0, "expected SHA-256 of the file (empty: any; the resolved configuration records the file's)"},
    RTK_OPT_END};

static int build(const rtk_target_cfg *c, rtk_mixture **out) {
  if (!c->file[0]) return RTK_ERR(RTK_ERR_INPUT, "file: target kind mog-file needs a file (target.file = PATH)");
  if (!c->data) return RTK_ERR(RTK_ERR_RUNTIME, "target file '%s' was not loaded before the target was built", c->file);
  const rtk_mixture *src = c->data;
  if (c->dim != 0 && c->dim != src->d)
    return RTK_ERR(RTK_ERR_INPUT, "dim: target.dim = %lld disagrees with the file '%s' (its /means are [%d][%d])",
                   (long long)c->dim, c->file, src->K, src->d);
  rtk_mixture *m;
  RTK_CHECK(rtk_mixture_alloc(src->K, src->d, &m));
  const size_t Kd = (size_t)src->K * src->d;
  memcpy(m->w, src->w, sizeof(double) * src->K);
  memcpy(m->mu, src->mu, sizeof(double) * Kd);
  memcpy(m->var, src->var, sizeof(double) * Kd);
  *out = m;
  return RTK_OK;
}

const rtk_target_ops rtk_target_mog_file = {
    "mog-file", "diagonal mixture read from an HDF5 file (analysis/make_target.py fits one to real data)", opts, build, 1};
