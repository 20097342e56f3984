#include "io_hdf5.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"

#define H5TRY(expr, what)                                                        \
  do {                                                                           \
    if ((expr) < 0) return RTK_ERR(RTK_ERR_IO, "HDF5: cannot %s", (what));      \
  } while (0)

int rtk_h5_create(MPI_Comm comm, const char *path, hid_t *file) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported by us, once */
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5TRY(fapl, "create a file-access property list");
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) return RTK_ERR(RTK_ERR_INPUT, "cannot create output file '%s'", path);
  *file = f;
  return RTK_OK;
}

int rtk_h5_open_rw(MPI_Comm comm, const char *path, hid_t *file) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5TRY(fapl, "create a file-access property list");
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (f < 0) return RTK_ERR(RTK_ERR_INPUT, "cannot open '%s' to resume it (not an HDF5 file, or damaged)", path);
  *file = f;
  return RTK_OK;
}

double rtk_h5_read_scalar(hid_t loc, const char *name) {
  double v = NAN;
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return v;
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
  if (ds < 0 || H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) v = NAN;
  if (ds >= 0) H5Dclose(ds);
  return v;
}

double rtk_h5_read_num_attr(hid_t obj, const char *name) {
  double v = NAN;
  if (H5Aexists(obj, name) <= 0) return v;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) v = NAN;
  H5Aclose(a);
  return v;
}

void rtk_h5_read_str_attr(hid_t obj, const char *name, char *buf, size_t len) {
  buf[0] = '\0';
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a);
  size_t sz = H5Tget_size(t);
  char *tmp = calloc(sz + 1, 1);
  if (tmp && H5Aread(a, t, tmp) >= 0) snprintf(buf, len, "%s", tmp);
  free(tmp);
  H5Tclose(t);
  H5Aclose(a);
}

char *rtk_h5_read_text(hid_t loc, const char *name) {
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return NULL;
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT), t = H5Dget_type(ds);
  size_t sz = H5Tget_size(t);
  char *buf = calloc(sz + 1, 1);
  if (buf && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    free(buf);
    buf = NULL;
  }
  H5Tclose(t);
  H5Dclose(ds);
  return buf;
}

int rtk_h5_close(hid_t file) {
  H5TRY(H5Fclose(file), "close the output file");
  return RTK_OK;
}

int rtk_h5_group(hid_t loc, const char *name, hid_t *group) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t g = H5Gcreate2(loc, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  if (g < 0) return RTK_ERR(RTK_ERR_IO, "HDF5: cannot create group '%s'", name);
  *group = g;
  return RTK_OK;
}

static int write_attr(hid_t obj, const char *name, hid_t type, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT)
                                     : H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a < 0 ? -1 : H5Awrite(a, type, value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  if (rc < 0) return RTK_ERR(RTK_ERR_IO, "HDF5: cannot write attribute '%s'", name);
  return RTK_OK;
}

int rtk_h5_attr_str_fixed(hid_t obj, const char *name, const char *value, size_t size) {
  char buf[4096];
  if (size > sizeof buf) size = sizeof buf;
  memset(buf, 0, size);
  strncpy(buf, value, size - 1);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, size);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  int rc = write_attr(obj, name, t, buf);
  H5Tclose(t);
  return rc;
}

int rtk_h5_attr_str(hid_t obj, const char *name, const char *value) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(value) + 1);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  int rc = write_attr(obj, name, t, value);
  H5Tclose(t);
  return rc;
}

int rtk_h5_attr_i64(hid_t obj, const char *name, int64_t value) {
  return write_attr(obj, name, H5T_NATIVE_INT64, &value);
}

int rtk_h5_attr_f64(hid_t obj, const char *name, double value) {
  return write_attr(obj, name, H5T_NATIVE_DOUBLE, &value);
}

static int write_small(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                       const void *data, int writer) {
  hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
  hid_t ds = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  hid_t mspace = H5Scopy(space);
  if (!writer) {
    H5Sselect_none(space);
    H5Sselect_none(mspace);
  }
  /* an empty dataset (e.g. per-segment arrays of the exact sampler) has nothing to write */
  herr_t rc = ds < 0 ? -1 : H5Sget_simple_extent_npoints(space) == 0 ? 0 : H5Dwrite(ds, mtype, mspace, space, dxpl, data);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(mspace);
  H5Sclose(space);
  H5Pclose(dxpl);
  if (rc < 0) return RTK_ERR(RTK_ERR_IO, "HDF5: cannot write dataset '%s'", name);
  return RTK_OK;
}

int rtk_h5_write_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *data, int writer) {
  return write_small(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, data, writer);
}

int rtk_h5_write_i64(hid_t loc, const char *name, int rank, const hsize_t *dims, const int64_t *data, int writer) {
  return write_small(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, rank, dims, data, writer);
}

int rtk_h5_write_text(hid_t loc, const char *name, const char *text, int writer) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(text) + 1);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  int rc = write_small(loc, name, t, t, 0, NULL, text, writer);
  H5Tclose(t);
  return rc;
}

int rtk_h5_write_rows(hid_t loc, const char *name, hsize_t planes, hsize_t N, hsize_t d, hsize_t row0,
                      hsize_t nloc, const double *data) {
  const int rank = planes ? 3 : 2;
  hsize_t P = planes ? planes : 1;
  hsize_t gdims[3] = {P, N, d}, mdims[3] = {P, nloc, d};
  hsize_t start[3] = {0, row0, 0}, count[3] = {P, nloc, d};
  const hsize_t *g = planes ? gdims : gdims + 1, *m = planes ? mdims : mdims + 1;
  const hsize_t *st = planes ? start : start + 1, *ct = planes ? count : count + 1;
  hid_t fspace = H5Screate_simple(rank, g, NULL);
  hid_t mspace = H5Screate_simple(rank, m, NULL);
  hid_t ds = H5Dcreate2(loc, name, H5T_IEEE_F64LE, fspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (nloc)
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, st, NULL, ct, NULL);
  else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  /* an empty dataset (output.samples = 0) is created but not written: a
   * collective write of nothing fails in the MPI-IO driver */
  herr_t rc = ds < 0 ? -1 : N * d * P == 0 ? 0 : H5Dwrite(ds, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, data);
  if (ds >= 0) H5Dclose(ds);
  H5Pclose(dxpl);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (rc < 0) return RTK_ERR(RTK_ERR_IO, "HDF5: cannot write dataset '%s'", name);
  return RTK_OK;
}
