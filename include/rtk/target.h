/* Target plug-ins.  Every target is a diagonal Gaussian mixture p_0 (so every
 * noised marginal p_t is known exactly); a plug-in builds it from its options.
 * To add a target: write src/targets/target_<name>.c defining an rtk_target_ops
 * and add it to the table in target_registry.c. */
#ifndef RTK_TARGET_H
#define RTK_TARGET_H
#include "rtk/mixture.h"
#include "rtk/options.h"

/* Union of all targets' parameters; each plug-in's option table names the
 * fields it reads. */
typedef struct rtk_target_cfg {
  int64_t dim;
  double mean, variance;                     /* gaussian (variance also mog-grid) */
  int64_t side;                              /* mog-grid */
  double spacing, temperature;               /* mog-grid */
  int64_t K, subspace, seed;                 /* mog-random */
  double scale, var_min, var_max, alpha;     /* mog-random */
  double rest_var;                           /* mog-random: >0 = shared variance outside the subspace */
  char file[RTK_STRLEN];                     /* mog-file: HDF5 file of the mixture */
  char sha256[RTK_STRLEN];                   /* mog-file: expected content hash ("" = any; resolved to the file's) */
  /* Not options: a target whose ops->needs_file is set gets its mixture from
   * a file that the application layer has read and validated (rank 0 reads,
   * every rank receives it, src/app/target_file.c) before build() is called;
   * `data` points at it and `source` at the loader's record (decode basis,
   * hash), which the numerics never look into. */
  const rtk_mixture *data;
  const void *source;
} rtk_target_cfg;

typedef struct rtk_target_ops {
  const char *name;
  const char *summary;
  const rtk_opt *options; /* includes dim */
  int (*build)(const rtk_target_cfg *cfg, rtk_mixture **out);
  int needs_file; /* cfg->file must be loaded into cfg->data before build() */
} rtk_target_ops;

const rtk_target_ops *rtk_target_lookup(const char *name);
const rtk_target_ops *const *rtk_target_all(void); /* NULL-terminated */

extern const rtk_target_ops rtk_target_gaussian, rtk_target_mog_grid, rtk_target_mog_random, rtk_target_mog_file;

#endif
