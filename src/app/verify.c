/* Checks of an existing results file (serial, read-only): the root header,
 * each run's state and checksum, and the study digest.  Used by
 * `run --resume` (before the file is opened for writing) and `info --verify`. */
#include "verify.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io_hdf5.h"
#include "rtk/error.h"

int rtk_results_header(hid_t f, const char *path, int64_t *nruns) {
  char format[64];
  rtk_h5_read_str_attr(f, "format", format, sizeof format);
  if (strcmp(format, "rtkbench"))
    return RTK_ERR(RTK_ERR_INPUT, "'%s' is not an rtkbench results file (no format=\"rtkbench\" attribute)", path);
  const double fv = rtk_h5_read_num_attr(f, "format_version");
  if (fv != RTK_FORMAT_VERSION) {
    if (fv != fv)
      return RTK_ERR(RTK_ERR_INPUT, "'%s': missing or malformed format_version attribute", path);
    return RTK_ERR(RTK_ERR_INPUT, "'%s' has format_version %.6g; this rtkbench reads format_version %d only", path, fv,
                   RTK_FORMAT_VERSION);
  }
  const double n = rtk_h5_read_num_attr(f, "runs");
  if (!(n >= 0 && n <= RTK_MAX_RUNS && n == floor(n)))
    return RTK_ERR(RTK_ERR_INPUT, "'%s': missing or malformed 'runs' attribute", path);
  *nruns = (int64_t)n;
  if (H5Lexists(f, "runs", H5P_DEFAULT) > 0) {
    H5O_info_t oi;
    if (H5Oget_info_by_name(f, "runs", &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_GROUP)
      return RTK_ERR(RTK_ERR_INPUT, "'%s': /runs is not a group", path);
  }
  return RTK_OK;
}

int rtk_results_run_state(hid_t f, const char *id, int *state, char *why, size_t len) {
  char path[160], status[32];
  *state = RTK_RUN_ABSENT;
  why[0] = '\0';
  snprintf(path, sizeof path, "runs/%s", id);
  if (H5Lexists(f, "runs", H5P_DEFAULT) <= 0 || H5Lexists(f, path, H5P_DEFAULT) <= 0) return RTK_OK;
  H5O_info_t oi;
  if (H5Oget_info_by_name(f, path, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_GROUP) {
    *state = RTK_RUN_BAD;
    snprintf(why, len, "/%s is not a group", path);
    return RTK_OK;
  }
  hid_t g = H5Gopen2(f, path, H5P_DEFAULT);
  if (g < 0) {
    *state = RTK_RUN_BAD;
    snprintf(why, len, "/%s cannot be opened", path);
    return RTK_OK;
  }
  rtk_h5_read_str_attr(g, "status", status, sizeof status);
  if (strcmp(status, "complete")) {
    *state = RTK_RUN_INCOMPLETE;
    snprintf(why, len, "status \"%s\"", status);
    H5Gclose(g);
    return RTK_OK;
  }
  char stored[64];
  rtk_h5_read_str_attr(g, "checksum", stored, sizeof stored);
  if (!stored[0]) {
    *state = RTK_RUN_BAD;
    snprintf(why, len, "marked complete but has no checksum attribute");
    H5Gclose(g);
    return RTK_OK;
  }
  rtk_h5_sum sum;
  char full[170], hex[40];
  snprintf(full, sizeof full, "/%s", path);
  int rc = rtk_h5_sum_group(g, full, &sum);
  H5Gclose(g);
  if (rc == RTK_ERR_MEM) return rc;
  if (rc) {
    *state = RTK_RUN_BAD;
    snprintf(why, len, "%s", rtk_error_message());
    rtk_error_clear();
    return RTK_OK;
  }
  rtk_h5_sum_hex(&sum, hex);
  if (strcmp(hex, stored)) {
    *state = RTK_RUN_BAD;
    snprintf(why, len, "checksum mismatch (stored %s, datasets give %s)", stored, hex);
    return RTK_OK;
  }
  *state = RTK_RUN_COMPLETE;
  return RTK_OK;
}
