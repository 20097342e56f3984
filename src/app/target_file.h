/* Target files (target.kind = mog-file): rank 0 opens the HDF5 file, checks
 * every dataset (presence, class, shape, finiteness, variance > 0, weights
 * summing to 1) and hashes its bytes; the verdict is agreed collectively and
 * the arrays are broadcast, so a bad file gives one message naming the file
 * and the dataset on every rank, exit 2, and no rank waits.  Layout
 * (docs/format.md, "Target files"):
 *   /weights [K], /means [K][d], /variances [K][d]           (float)
 *   /decode/mean [D], /decode/basis [d][D] (omitted: identity, d == D),
 *   /decode/image_shape [2] (h*w == D), /decode/value_range [2] (optional)
 * Each distinct path is read once per process and kept in a store. */
#ifndef RTK_APP_TARGET_FILE_H
#define RTK_APP_TARGET_FILE_H
#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "rtk/mixture.h"
#include "rtk/options.h"
#include "rtk/target.h"

typedef struct rtk_target_file {
  char path[RTK_STRLEN];
  char sha256[65];
  rtk_mixture *mix;
  int has_decode, has_basis, has_range;
  int D;           /* decoded values per sample (pixels) */
  double *dmean;   /* [D] */
  double *basis;   /* [d][D], NULL: identity */
  int64_t shape[2];
  double range[2];
} rtk_target_file;

typedef struct rtk_target_store {
  MPI_Comm comm;
  int n;
  rtk_target_file **files;
} rtk_target_store;

void rtk_target_store_init(rtk_target_store *s, MPI_Comm comm);
void rtk_target_store_free(rtk_target_store *s);
/* Collective (every rank, same path): the validated file, read once. */
int rtk_target_store_get(rtk_target_store *s, const char *path, const rtk_target_file **out);
/* rtk_target_loader callback: loads tc->file, checks tc->sha256 if set,
 * then fills tc->data, tc->source and tc->sha256 (the file's hash). */
int rtk_target_store_attach(void *store, rtk_target_cfg *tc);
/* Serial read and validation of one file (no MPI): what rank 0 does. */
int rtk_target_file_read(const char *path, rtk_target_file **out);
void rtk_target_file_free(rtk_target_file *f);
/* attributes source_file, sha256 and the /decode group under g */
int rtk_target_file_write(hid_t g, const rtk_target_file *f, int writer);

#endif
