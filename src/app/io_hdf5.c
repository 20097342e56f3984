#include "io_hdf5.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "rtk/error.h"
#include "study.h"

/* The communicator of the open results file: every write below is collective,
 * and its outcome is agreed across this communicator before it returns, so
 * one rank's failed write makes every rank skip the next collective call
 * instead of waiting in it.  MPI_COMM_NULL: serial use (info, tests). */
static MPI_Comm io_comm = MPI_COMM_NULL;
/* running checksum of the datasets written (NULL: none) */
static rtk_h5_sum *io_sum = NULL;

/* ---- I/O-error watchdog ----------------------------------------------------
 * HDF5 1.10 is not collective-safe on its own error paths: when a write fails
 * on one rank inside a collective HDF5 call (a flush, say), that rank leaves
 * the call's remaining collectives and the others wait for it forever.  So
 * the first MPI-IO error a rank sees starts a watchdog: unless every rank has
 * agreed on an error (rtk_h5_agree) within RTK_IO_ERROR_TIMEOUT seconds
 * (default 30), the rank prints the error and exits with code 1, and the MPI
 * launcher then stops the job.  A hang becomes a bounded failure. */
static volatile sig_atomic_t wd_armed = 0, wd_disarmed = 0;
static char wd_msg[512];

static void *watchdog(void *arg) {
  (void)arg;
  const char *env = getenv("RTK_IO_ERROR_TIMEOUT");
  double limit = env ? atof(env) : 30;
  if (!(limit > 0)) limit = 30;
  for (double t = 0; t < limit; t += 0.1) {
    if (wd_disarmed) return NULL;
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
  }
  if (wd_disarmed) return NULL;
  if (write(2, wd_msg, strlen(wd_msg)) < 0) { /* nothing more to do */
  }
  _exit(1);
  return NULL;
}

static void file_error(MPI_File *fh, int *code, ...) {
  (void)fh;
  if (wd_armed) return;
  wd_armed = 1;
  char err[MPI_MAX_ERROR_STRING] = "";
  int len = 0, rank = 0;
  MPI_Error_string(*code, err, &len);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  snprintf(wd_msg, sizeof wd_msg,
           "rtkbench: error: I/O error on rank %d writing the results file (%s); the other ranks could not be told "
           "inside HDF5, so the job is stopped (exit code 1)\n", rank, err);
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_create(&t, &at, watchdog, NULL);
  pthread_attr_destroy(&at);
}

static void install_file_errhandler(void) {
  static int done = 0;
  if (done) return;
  done = 1;
  MPI_Errhandler eh;
  if (MPI_File_create_errhandler(file_error, &eh) == MPI_SUCCESS) MPI_File_set_errhandler(MPI_FILE_NULL, eh);
}

int rtk_h5_agree(int rc) {
  if (io_comm == MPI_COMM_NULL) return rc;
  rc = rtk_collective(io_comm, rc);
  if (rc) wd_disarmed = 1; /* every rank knows: no watchdog needed */
  return rc;
}

void rtk_h5_sum_begin(rtk_h5_sum *sum) {
  memset(sum, 0, sizeof *sum);
  io_sum = sum;
}

void rtk_h5_sum_end(void) { io_sum = NULL; }

/* Paths of the groups created through this module (an anonymous run group
 * has no name until it is linked, but its checksum uses its final path). */
#define NREG 32
static struct {
  hid_t id;
  char path[512];
} reg[NREG];

static void reg_add(hid_t id, const char *path) {
  for (int i = 0; i < NREG; i++)
    if (reg[i].id <= 0 || H5Iis_valid(reg[i].id) <= 0) {
      reg[i].id = id;
      snprintf(reg[i].path, sizeof reg[i].path, "%s", path);
      return;
    }
}

static int reg_find(hid_t id, char *buf, size_t len) {
  if (len < sizeof reg[0].path) return 0;
  for (int i = 0; i < NREG; i++)
    if (reg[i].id == id && H5Iis_valid(id) > 0) {
      snprintf(buf, len, "%s", reg[i].path);
      return 1;
    }
  return 0;
}

/* the full HDF5 path of loc/name */
static void full_path(hid_t loc, const char *name, char *buf, size_t len) {
  char base[512] = "";
  if (!reg_find(loc, base, sizeof base)) {
    ssize_t n = H5Iget_name(loc, base, sizeof base);
    if (n < 0 || (size_t)n >= sizeof base) base[0] = '\0';
  }
  snprintf(buf, len, "%s/%s", strcmp(base, "/") ? base : "", name);
}


/* Dirty metadata stays in memory until an explicit flush (no evictions), so
 * the file on disk changes its structure only at the flushes at run
 * boundaries: a hard kill between two flushes leaves the file as it was at
 * the last one, plus raw data in space no flushed object refers to. */
static void metadata_in_memory(hid_t fapl) {
  H5AC_cache_config_t c;
  memset(&c, 0, sizeof c);
  c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  if (H5Pget_mdc_config(fapl, &c) < 0) return;
  c.evictions_enabled = 0;
  c.incr_mode = H5C_incr__off;
  c.flash_incr_mode = H5C_flash_incr__off;
  c.decr_mode = H5C_decr__off;
  c.set_initial_size = 1;
  c.initial_size = 32 * 1024 * 1024;
  c.max_size = c.initial_size > c.max_size ? c.initial_size : c.max_size;
  c.min_size = c.min_size < c.initial_size ? c.min_size : c.initial_size;
  /* metadata is written by rank 0 alone: a write failure on another rank can
   * then only hit raw data of the run in progress, never the file's structure */
  c.metadata_write_strategy = H5AC_METADATA_WRITE_STRATEGY__PROCESS_0_ONLY;
  H5Pset_mdc_config(fapl, &c);
}

int rtk_h5_create(MPI_Comm comm, const char *path, hid_t *file) {
  install_file_errhandler();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported by us, once */
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (rtk_collective(comm, fapl < 0 ? RTK_ERR(RTK_ERR_MEM, "HDF5: cannot create a property list") : RTK_OK))
    return RTK_ERR_MEM;
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  metadata_in_memory(fapl);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  int rc = f < 0 ? RTK_ERR(RTK_ERR_IO, "cannot create output file '%s'", path) : RTK_OK;
  rc = rtk_collective(comm, rc);
  if (rc) {
    if (f >= 0) H5Fclose(f);
    return rc;
  }
  io_comm = comm;
  *file = f;
  return RTK_OK;
}

int rtk_h5_open_rw(MPI_Comm comm, const char *path, hid_t *file) {
  install_file_errhandler();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (rtk_collective(comm, fapl < 0 ? RTK_ERR(RTK_ERR_MEM, "HDF5: cannot create a property list") : RTK_OK))
    return RTK_ERR_MEM;
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  metadata_in_memory(fapl);
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  int rc = f < 0 ? RTK_ERR(RTK_ERR_INPUT, "cannot open '%s' to resume it (not an HDF5 file, or damaged)", path) : RTK_OK;
  rc = rtk_collective(comm, rc);
  if (rc) {
    if (f >= 0) H5Fclose(f);
    return rc;
  }
  io_comm = comm;
  *file = f;
  return RTK_OK;
}

/* Bounded readers: every object is checked for kind, class, rank, shape and
 * size before a byte is read, so a hostile file cannot overflow a buffer. */
static int is_dataset(hid_t loc, const char *name) {
  if (!name[0] || H5Lexists(loc, name, H5P_DEFAULT) <= 0) return 0;
  H5O_info_t oi;
  if (H5Oget_info_by_name(loc, name, &oi, H5P_DEFAULT) < 0) return 0;
  return oi.type == H5O_TYPE_DATASET;
}

/* the number of elements of a scalar or simple dataspace; -1 for null/invalid */
static hssize_t npoints(hid_t space) {
  if (space < 0) return -1;
  H5S_class_t c = H5Sget_simple_extent_type(space);
  if (c != H5S_SCALAR && c != H5S_SIMPLE) return -1;
  return H5Sget_simple_extent_npoints(space);
}

/* one number: a scalar (or one-element) integer or float object */
static int numeric_one(hid_t type, hid_t space) {
  const H5T_class_t c = H5Tget_class(type);
  return (c == H5T_INTEGER || c == H5T_FLOAT) && H5Tget_size(type) <= 16 && npoints(space) == 1;
}

double rtk_h5_read_scalar(hid_t loc, const char *name) {
  double v = NAN;
  if (!is_dataset(loc, name)) return v;
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
  if (ds < 0) return v;
  hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
  if (t >= 0 && sp >= 0 && numeric_one(t, sp) && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
    v = NAN;
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(ds);
  return v;
}

double rtk_h5_read_num_attr(hid_t obj, const char *name) {
  double v = NAN;
  if (H5Aexists(obj, name) <= 0) return v;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return v;
  hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
  if (t >= 0 && sp >= 0 && numeric_one(t, sp) && H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) v = NAN;
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  H5Aclose(a);
  return v;
}

/* a scalar, fixed-length string of at most max bytes: its bytes, NUL-terminated */
static char *read_fixed_string(hid_t obj, int is_attr, size_t max) {
  hid_t t = is_attr ? H5Aget_type(obj) : H5Dget_type(obj), sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
  char *buf = NULL;
  if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0 && npoints(sp) == 1 &&
      H5Sget_simple_extent_ndims(sp) <= 1) {
    const size_t sz = H5Tget_size(t);
    if (sz > 0 && sz <= max && (buf = calloc(sz + 1, 1))) {
      hid_t mt = H5Tcopy(t); /* same size, read the bytes as they are */
      herr_t rc = mt < 0 ? -1 : is_attr ? H5Aread(obj, mt, buf) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      if (mt >= 0) H5Tclose(mt);
      if (rc < 0) {
        free(buf);
        buf = NULL;
      } else {
        buf[sz] = '\0';
      }
    }
  }
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  return buf;
}

void rtk_h5_read_str_attr(hid_t obj, const char *name, char *buf, size_t len) {
  buf[0] = '\0';
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return;
  char *s = read_fixed_string(a, 1, 1 << 16);
  H5Aclose(a);
  if (s) snprintf(buf, len, "%s", s);
  free(s);
}

char *rtk_h5_read_text(hid_t loc, const char *name) {
  if (!is_dataset(loc, name)) return NULL;
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
  if (ds < 0) return NULL;
  char *s = read_fixed_string(ds, 0, RTK_H5_TEXT_MAX);
  H5Dclose(ds);
  return s;
}

/* a flush that succeeded on every rank is a commit (journal.h) */
int rtk_h5_flush(hid_t file) {
  int rc = H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot flush the output file") : RTK_OK;
  rc = rtk_h5_agree(rc);
  if (!rc) rc = rtk_h5_agree(rtk_journal_commit());
  return rc;
}

/* set when a file could not be closed: HDF5 1.10 then keeps a dangling file
 * ID that crashes its own clean-up in MPI_Finalize (see main.c) */
static int close_failed = 0;

int rtk_h5_unclean(void) { return close_failed; }

void rtk_h5_abandon(hid_t file) {
  (void)file;
  rtk_journal_abandon(); /* kept: --resume restores the last commit */
  io_comm = MPI_COMM_NULL;
  close_failed = 1;
}

int rtk_h5_close(hid_t file, int quiet) {
  const herr_t hr = H5Fclose(file);
  int failed = hr < 0, any = failed;
  if (io_comm != MPI_COMM_NULL) MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, io_comm);
  io_comm = MPI_COMM_NULL;
  if (any) close_failed = 1;
  if (any) rtk_journal_abandon();
  else rtk_journal_finish();
  if (!any) return RTK_OK;
  /* on an error path the first error's message is kept */
  return quiet ? RTK_ERR_IO : RTK_ERR(RTK_ERR_IO, "HDF5: cannot close the output file (disk full or I/O error?)");
}

int rtk_h5_group(hid_t loc, const char *name, hid_t *group) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t g = H5Gcreate2(loc, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  int rc = rtk_h5_agree(g < 0 ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot create group '%s'", name) : RTK_OK);
  if (rc) {
    if (g >= 0) H5Gclose(g);
    return rc;
  }
  char path[512];
  full_path(loc, name, path, sizeof path);
  reg_add(g, path);
  *group = g;
  return RTK_OK;
}

int rtk_h5_group_anon(hid_t file, const char *final_path, hid_t *group) {
  hid_t g = H5Gcreate_anon(file, H5P_DEFAULT, H5P_DEFAULT);
  int rc = rtk_h5_agree(g < 0 ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot create the group of '%s'", final_path) : RTK_OK);
  if (rc) {
    if (g >= 0) H5Gclose(g);
    return rc;
  }
  reg_add(g, final_path);
  *group = g;
  return RTK_OK;
}

int rtk_h5_link(hid_t file, const char *path, hid_t obj) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  herr_t r = H5Olink(obj, file, path, lcpl, H5P_DEFAULT);
  H5Pclose(lcpl);
  return rtk_h5_agree(r < 0 ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot link '%s'", path) : RTK_OK);
}

static int write_attr(hid_t obj, const char *name, hid_t type, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT)
                                     : H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a < 0 ? -1 : H5Awrite(a, type, value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  return rtk_h5_agree(rc < 0 ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot write attribute '%s'", name) : RTK_OK);
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
  if (rc >= 0 && io_sum) {
    char path[1024];
    full_path(loc, name, path, sizeof path);
    const size_t esize = H5Tget_size(ftype);
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    (void)n;
    if (writer) rtk_h5_sum_dataset(io_sum, path, (int)H5Tget_class(ftype), esize, rank, dims, data);
  }
  return rtk_h5_agree(rc < 0 ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot write dataset '%s'", name) : RTK_OK);
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
  if (rc >= 0 && io_sum) {
    char path[1024];
    full_path(loc, name, path, sizeof path);
    /* this rank's rows of every plane: rows p*N + row0 .. p*N + row0 + nloc - 1 */
    int wrank;
    MPI_Comm_rank(io_comm == MPI_COMM_NULL ? MPI_COMM_SELF : io_comm, &wrank);
    if (wrank == 0) rtk_h5_sum_header(io_sum, path, (int)H5T_FLOAT, 8, rank, g);
    for (hsize_t p = 0; p < P && nloc; p++)
      rtk_h5_sum_rows(io_sum, path, p * N + row0, nloc, d * 8, (const unsigned char *)(data + p * nloc * d));
  }
  return rtk_h5_agree(rc < 0 ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot write dataset '%s'", name) : RTK_OK);
}
