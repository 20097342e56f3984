#include "target_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io_hdf5.h"
#include "rtk/error.h"
#include "sha256.h"
#include "study.h"

/* mixtures larger than this many entries (K*d, also D and d*D) are refused:
 * 2^28 doubles are 2 GiB per array, on every rank */
#define RTK_TARGET_MAX_ENTRIES (1LL << 28)

void rtk_target_file_free(rtk_target_file *f) {
  if (!f) return;
  rtk_mixture_free(f->mix);
  free(f->dmean);
  free(f->basis);
  free(f);
}

static int hash_file(const char *path, char hex[65]) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return RTK_ERR(RTK_ERR_INPUT, "target file '%s': cannot open: %s", path, strerror(errno));
  rtk_sha256 s;
  rtk_sha256_init(&s);
  static unsigned char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, fp)) > 0) rtk_sha256_update(&s, buf, n);
  int bad = ferror(fp);
  fclose(fp);
  if (bad) return RTK_ERR(RTK_ERR_INPUT, "target file '%s': read error", path);
  rtk_sha256_hex(&s, hex);
  return RTK_OK;
}

/* Dataset `name` under loc: its class must be float (or integer when
 * want_int), its rank `rank`, and each dims[i] > 0 either equal to want[i]
 * or, where want[i] == 0, free (returned in dims).  Then read as double. */
static int read_ds(const char *path, hid_t loc, const char *name, int rank, const int64_t *want, int want_int,
                   int64_t *dims, double **out) {
  *out = NULL;
  htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
  if (ex <= 0) return RTK_ERR(RTK_ERR_INPUT, "target file '%s': dataset /%s is missing", path, name);
  hid_t ds = H5Oopen(loc, name, H5P_DEFAULT);
  if (ds < 0) return RTK_ERR(RTK_ERR_INPUT, "target file '%s': cannot open /%s", path, name);
  if (H5Iget_type(ds) != H5I_DATASET) {
    H5Oclose(ds);
    return RTK_ERR(RTK_ERR_INPUT, "target file '%s': /%s is not a dataset", path, name);
  }
  hid_t ty = H5Dget_type(ds), sp = H5Dget_space(ds);
  H5T_class_t cls = H5Tget_class(ty);
  int r = H5Sget_simple_extent_ndims(sp);
  hsize_t hd[8] = {0};
  int rc = RTK_OK;
  if (!(cls == H5T_FLOAT || (want_int && cls == H5T_INTEGER)))
    rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': /%s must hold %s numbers", path, name,
                 want_int ? "integer or floating-point" : "floating-point");
  else if (r != rank || H5Sget_simple_extent_type(sp) != H5S_SIMPLE)
    rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': /%s has %d dimension%s, expected %d", path, name, r < 0 ? 0 : r,
                 r == 1 ? "" : "s", rank);
  else {
    H5Sget_simple_extent_dims(sp, hd, NULL);
    char got[128] = "", exp[128] = "";
    int ok = 1;
    double total = 1;
    for (int i = 0; i < rank; i++) {
      snprintf(got + strlen(got), sizeof got - strlen(got), "[%llu]", (unsigned long long)hd[i]);
      if (want[i]) snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "[%lld]", (long long)want[i]);
      else snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "[any]");
      if (hd[i] == 0 || (want[i] && (int64_t)hd[i] != want[i])) ok = 0;
      total *= (double)hd[i];
    }
    if (!ok)
      rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': /%s has shape %s, expected %s", path, name, got, exp);
    else if (total > (double)RTK_TARGET_MAX_ENTRIES)
      rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': /%s has %.0f entries (at most %lld)", path, name, total,
                   (long long)RTK_TARGET_MAX_ENTRIES);
    else {
      for (int i = 0; i < rank; i++) dims[i] = (int64_t)hd[i];
      double *buf = malloc(sizeof(double) * (size_t)total);
      if (!buf) rc = RTK_ERR(RTK_ERR_MEM, "target file '%s': out of memory for /%s", path, name);
      else if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': cannot read /%s", path, name);
      } else
        *out = buf;
    }
  }
  H5Sclose(sp);
  H5Tclose(ty);
  H5Dclose(ds);
  return rc;
}

/* the first non-finite entry of a [n0][n1] array (n1 = 0: 1-D), named with its index */
static int check_finite(const char *path, const char *name, const double *v, int64_t n0, int64_t n1) {
  const int64_t n = n0 * (n1 ? n1 : 1);
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) {
      if (n1) return RTK_ERR(RTK_ERR_INPUT, "target file '%s': /%s[%lld][%lld] is %g (must be finite)", path, name,
                             (long long)(i / n1), (long long)(i % n1), v[i]);
      return RTK_ERR(RTK_ERR_INPUT, "target file '%s': /%s[%lld] is %g (must be finite)", path, name, (long long)i, v[i]);
    }
  return RTK_OK;
}

static int read_decode(const char *path, hid_t file, rtk_target_file *f) {
  const int d = f->mix->d;
  int64_t dims[2] = {0, 0}, want[2] = {0, 0};
  double *v = NULL;
  RTK_CHECK(read_ds(path, file, "decode/mean", 1, want, 0, dims, &f->dmean));
  RTK_CHECK(check_finite(path, "decode/mean", f->dmean, dims[0], 0));
  f->D = (int)dims[0];
  int64_t want2[1] = {2};
  RTK_CHECK(read_ds(path, file, "decode/image_shape", 1, want2, 1, dims, &v));
  f->shape[0] = (int64_t)v[0];
  f->shape[1] = (int64_t)v[1];
  int bad = !(v[0] >= 1 && v[1] >= 1 && v[0] == floor(v[0]) && v[1] == floor(v[1]) && v[0] * v[1] == f->D);
  char msg[128];
  snprintf(msg, sizeof msg, "[%g, %g]", v[0], v[1]);
  free(v);
  if (bad)
    return RTK_ERR(RTK_ERR_INPUT, "target file '%s': /decode/image_shape is %s, expected [h, w] with h*w = %d (the length of /decode/mean)",
                   path, msg, f->D);
  if (H5Lexists(file, "decode/basis", H5P_DEFAULT) > 0) {
    int64_t wb[2] = {d, f->D};
    RTK_CHECK(read_ds(path, file, "decode/basis", 2, wb, 0, dims, &f->basis));
    RTK_CHECK(check_finite(path, "decode/basis", f->basis, d, f->D));
    f->has_basis = 1;
  } else if (f->D != d) {
    return RTK_ERR(RTK_ERR_INPUT, "target file '%s': dataset /decode/basis is missing (it may be omitted only when the "
                   "mixture's dim %d equals the decoded size %d)", path, d, f->D);
  }
  if (H5Lexists(file, "decode/value_range", H5P_DEFAULT) > 0) {
    RTK_CHECK(read_ds(path, file, "decode/value_range", 1, want2, 1, dims, &v));
    f->range[0] = v[0];
    f->range[1] = v[1];
    free(v);
    if (!(isfinite(f->range[0]) && isfinite(f->range[1]) && f->range[0] < f->range[1]))
      return RTK_ERR(RTK_ERR_INPUT, "target file '%s': /decode/value_range is [%g, %g], expected [lo, hi] with lo < hi",
                     path, f->range[0], f->range[1]);
    f->has_range = 1;
  }
  f->has_decode = 1;
  return RTK_OK;
}

static int read_contents(const char *path, hid_t file, rtk_target_file *f) {
  int64_t wdims[1] = {0}, mdims[2] = {0, 0}, vdims[2] = {0, 0}, any1[1] = {0}, any2[2] = {0, 0};
  double *w = NULL, *mu = NULL, *var = NULL;
  int rc = read_ds(path, file, "weights", 1, any1, 0, wdims, &w);
  if (!rc) {
    int64_t want[2] = {wdims[0], 0};
    rc = read_ds(path, file, "means", 2, want, 0, mdims, &mu);
    (void)any2;
  }
  if (!rc) {
    int64_t want[2] = {wdims[0], mdims[1]};
    rc = read_ds(path, file, "variances", 2, want, 0, vdims, &var);
  }
  if (!rc && (double)wdims[0] * mdims[1] > (double)RTK_TARGET_MAX_ENTRIES)
    rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': K*d = %lld*%lld is too large", path, (long long)wdims[0],
                 (long long)mdims[1]);
  if (!rc && (wdims[0] > 1000000 || mdims[1] > (1 << 20)))
    rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': K = %lld, d = %lld (at most 1000000 components and 2^20 dimensions)",
                 path, (long long)wdims[0], (long long)mdims[1]);
  const int64_t K = wdims[0], d = mdims[1];
  if (!rc) rc = check_finite(path, "weights", w, K, 0);
  if (!rc) rc = check_finite(path, "means", mu, K, d);
  if (!rc) rc = check_finite(path, "variances", var, K, d);
  for (int64_t k = 0; k < K && !rc; k++)
    if (!(w[k] >= 0)) rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': /weights[%lld] is %g (must be >= 0)", path, (long long)k, w[k]);
  for (int64_t i = 0; i < K * d && !rc; i++)
    if (!(var[i] > 0))
      rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': /variances[%lld][%lld] is %g (must be > 0)", path,
                   (long long)(i / d), (long long)(i % d), var[i]);
  if (!rc) {
    double s = 0, c = 0; /* Kahan: the check must not depend on K's rounding */
    for (int64_t k = 0; k < K; k++) {
      double y = w[k] - c, t = s + y;
      c = (t - s) - y;
      s = t;
    }
    if (fabs(s - 1.0) > 1e-9)
      rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': /weights sum to %.17g, not 1 (tolerance 1e-9)", path, s);
  }
  if (!rc) rc = rtk_mixture_alloc((int)K, (int)d, &f->mix);
  if (!rc) {
    memcpy(f->mix->w, w, sizeof(double) * K);
    memcpy(f->mix->mu, mu, sizeof(double) * K * d);
    memcpy(f->mix->var, var, sizeof(double) * K * d);
  }
  free(w);
  free(mu);
  free(var);
  RTK_CHECK(rc);
  htri_t dec = H5Lexists(file, "decode", H5P_DEFAULT);
  if (dec > 0) RTK_CHECK(read_decode(path, file, f));
  return RTK_OK;
}

int rtk_target_file_read(const char *path, rtk_target_file **out) {
  *out = NULL;
  struct stat sb;
  if (!path[0]) return RTK_ERR(RTK_ERR_INPUT, "file: target kind mog-file needs a file (target.file = PATH)");
  if (stat(path, &sb) != 0) return RTK_ERR(RTK_ERR_INPUT, "target file '%s': %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode)) return RTK_ERR(RTK_ERR_INPUT, "target file '%s': not a regular file", path);
  rtk_target_file *f = calloc(1, sizeof *f);
  if (!f) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  snprintf(f->path, sizeof f->path, "%s", path);
  int rc = hash_file(path, f->sha256);
  hid_t file = -1;
  if (!rc) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) rc = RTK_ERR(RTK_ERR_INPUT, "target file '%s': not an HDF5 file (or damaged)", path);
  }
  if (!rc) rc = read_contents(path, file, f);
  if (file >= 0) H5Fclose(file);
  if (rc) {
    rtk_target_file_free(f);
    return rc;
  }
  *out = f;
  return RTK_OK;
}

/* MPI_Bcast of n doubles in chunks that fit an int count */
static void bcast_f64(double *v, int64_t n, MPI_Comm comm) {
  for (int64_t o = 0; o < n; o += 1 << 26) {
    int64_t m = n - o < (1 << 26) ? n - o : (1 << 26);
    MPI_Bcast(v + o, (int)m, MPI_DOUBLE, 0, comm);
  }
}

static int load_collective(MPI_Comm comm, const char *path, rtk_target_file **out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  rtk_target_file *f = NULL;
  int rc = rank == 0 ? rtk_target_file_read(path, &f) : RTK_OK;
  RTK_CHECK(rtk_collective(comm, rc));
  /* rank 0's verdict was good: everybody gets the contents */
  int64_t hdr[6] = {0};
  if (rank == 0) {
    hdr[0] = f->mix->K;
    hdr[1] = f->mix->d;
    hdr[2] = f->has_decode;
    hdr[3] = f->has_basis;
    hdr[4] = f->has_range;
    hdr[5] = f->D;
  }
  MPI_Bcast(hdr, 6, MPI_INT64_T, 0, comm);
  rc = RTK_OK;
  if (rank != 0) {
    f = calloc(1, sizeof *f);
    if (!f) rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
    if (!rc) rc = rtk_mixture_alloc((int)hdr[0], (int)hdr[1], &f->mix);
    if (!rc) {
      snprintf(f->path, sizeof f->path, "%s", path);
      f->has_decode = (int)hdr[2];
      f->has_basis = (int)hdr[3];
      f->has_range = (int)hdr[4];
      f->D = (int)hdr[5];
      if (f->has_decode) f->dmean = malloc(sizeof(double) * (size_t)f->D);
      if (f->has_basis) f->basis = malloc(sizeof(double) * (size_t)f->D * (size_t)hdr[1]);
      if ((f->has_decode && !f->dmean) || (f->has_basis && !f->basis)) rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
    }
  }
  rc = rtk_collective(comm, rc);
  if (rc) {
    rtk_target_file_free(f);
    return rc;
  }
  MPI_Bcast(f->sha256, sizeof f->sha256, MPI_CHAR, 0, comm);
  const int64_t K = hdr[0], d = hdr[1];
  bcast_f64(f->mix->w, K, comm);
  bcast_f64(f->mix->mu, K * d, comm);
  bcast_f64(f->mix->var, K * d, comm);
  if (f->has_decode) {
    bcast_f64(f->dmean, f->D, comm);
    MPI_Bcast(f->shape, 2, MPI_INT64_T, 0, comm);
    MPI_Bcast(f->range, 2, MPI_DOUBLE, 0, comm);
  }
  if (f->has_basis) bcast_f64(f->basis, d * f->D, comm);
  *out = f;
  return RTK_OK;
}

void rtk_target_store_init(rtk_target_store *s, MPI_Comm comm) {
  memset(s, 0, sizeof *s);
  s->comm = comm;
}

void rtk_target_store_free(rtk_target_store *s) {
  for (int i = 0; i < s->n; i++) rtk_target_file_free(s->files[i]);
  free(s->files);
  memset(s, 0, sizeof *s);
}

int rtk_target_store_get(rtk_target_store *s, const char *path, const rtk_target_file **out) {
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->files[i]->path, path)) {
      *out = s->files[i];
      return RTK_OK;
    }
  rtk_target_file *f = NULL;
  RTK_CHECK(load_collective(s->comm, path, &f));
  rtk_target_file **nf = realloc(s->files, sizeof(*nf) * (size_t)(s->n + 1));
  if (!nf) {
    rtk_target_file_free(f);
    return RTK_ERR(RTK_ERR_MEM, "out of memory");
  }
  s->files = nf;
  s->files[s->n++] = f;
  *out = f;
  return RTK_OK;
}

int rtk_target_store_attach(void *store, rtk_target_cfg *tc) {
  if (!tc->file[0]) return RTK_ERR(RTK_ERR_INPUT, "file: target kind mog-file needs a file (target.file = PATH)");
  const rtk_target_file *f;
  RTK_CHECK(rtk_target_store_get(store, tc->file, &f));
  if (tc->sha256[0] && strcmp(tc->sha256, f->sha256))
    return RTK_ERR(RTK_ERR_INPUT, "sha256: target file '%s' has SHA-256 %s, the configuration expects %s", tc->file,
                   f->sha256, tc->sha256);
  snprintf(tc->sha256, sizeof tc->sha256, "%s", f->sha256);
  if (tc->dim == 0) tc->dim = f->mix->d; /* the resolved configuration records the file's dim */
  tc->data = f->mix;
  tc->source = f;
  return RTK_OK;
}

int rtk_target_file_write(hid_t g, const rtk_target_file *f, int writer) {
  int rc = RTK_OK;
#define W(call) \
  if (!rc) rc = (call)
  W(rtk_h5_attr_str(g, "source_file", f->path));
  W(rtk_h5_attr_str(g, "sha256", f->sha256));
  if (f->has_decode) {
    hid_t dg = -1;
    hsize_t D = (hsize_t)f->D, two = 2, bd[2] = {(hsize_t)f->mix->d, (hsize_t)f->D};
    W(rtk_h5_group(g, "decode", &dg));
    W(rtk_h5_write_f64(dg, "mean", 1, &D, f->dmean, writer));
    if (f->has_basis) W(rtk_h5_write_f64(dg, "basis", 2, bd, f->basis, writer));
    W(rtk_h5_write_i64(dg, "image_shape", 1, &two, f->shape, writer));
    if (f->has_range) W(rtk_h5_write_f64(dg, "value_range", 1, &two, f->range, writer));
    if (dg >= 0) H5Gclose(dg);
  }
#undef W
  return rc;
}
