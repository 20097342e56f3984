/* Run checksums: a rank-count-independent hash of a run's datasets.
 *
 * Each dataset contributes a header term (its path, class, element size and
 * shape) and one term per row (a row is the last dimension; a scalar is one
 * row), each term a 64-bit hash in two lanes with different seeds.  Terms are
 * summed modulo 2^64, so the checksum does not depend on which rank wrote
 * which rows or in what order.  Bytes are hashed as stored in memory, i.e.
 * little-endian on every platform rtkbench supports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_hdf5.h"
#include "rtk/error.h"

#define SEED_A 0x243f6a8885a308d3ull
#define SEED_B 0x13198a2e03707344ull

static uint64_t mix64(uint64_t z) {
  z ^= z >> 30;
  z *= 0xbf58476d1ce4e5b9ull;
  z ^= z >> 27;
  z *= 0x94d049bb133111ebull;
  z ^= z >> 31;
  return z;
}

/* two lanes over one byte string, starting from (ha, hb) */
static void hash2(uint64_t *ha, uint64_t *hb, const unsigned char *p, size_t n) {
  uint64_t a = *ha, b = *hb;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    a = mix64(a ^ w) + 0x9e3779b97f4a7c15ull;
    b = mix64(b + w) ^ 0xd6e8feb86659fd93ull;
  }
  uint64_t w = 0;
  if (i < n) memcpy(&w, p + i, n - i);
  w ^= (uint64_t)(n - i) << 56;
  a = mix64(a ^ w ^ n);
  b = mix64(b + w + n);
  *ha = a;
  *hb = b;
}

static void path_seed(const char *path, uint64_t *a, uint64_t *b) {
  *a = SEED_A;
  *b = SEED_B;
  hash2(a, b, (const unsigned char *)path, strlen(path));
}

void rtk_h5_sum_header(rtk_h5_sum *s, const char *path, int cls, size_t esize, int rank, const hsize_t *dims) {
  uint64_t a, b, hdr[8] = {0xfeedull, (uint64_t)cls, (uint64_t)esize, (uint64_t)rank, 0, 0, 0, 0};
  for (int i = 0; i < rank && i < 4; i++) hdr[4 + i] = (uint64_t)dims[i];
  path_seed(path, &a, &b);
  hash2(&a, &b, (const unsigned char *)hdr, sizeof hdr);
  s->a += a;
  s->b += b;
}

void rtk_h5_sum_rows(rtk_h5_sum *s, const char *path, uint64_t row0, uint64_t n, size_t rowbytes,
                     const unsigned char *data) {
  uint64_t pa, pb;
  path_seed(path, &pa, &pb);
  for (uint64_t r = 0; r < n; r++) {
    uint64_t a = pa ^ mix64(row0 + r + 1), b = pb + mix64(~(row0 + r));
    hash2(&a, &b, data + r * rowbytes, rowbytes);
    s->a += a;
    s->b += b;
  }
}

/* rows and row length of a shape: the last dimension is a row */
static void row_shape(int rank, const hsize_t *dims, size_t esize, uint64_t *nrows, size_t *rowbytes) {
  uint64_t n = 1;
  for (int i = 0; i + 1 < rank; i++) n *= dims[i];
  *rowbytes = (rank ? (size_t)dims[rank - 1] : 1) * esize;
  *nrows = *rowbytes ? n : 0;
}

void rtk_h5_sum_dataset(rtk_h5_sum *s, const char *path, int cls, size_t esize, int rank, const hsize_t *dims,
                        const void *data) {
  rtk_h5_sum_header(s, path, cls, esize, rank, dims);
  uint64_t nrows;
  size_t rowbytes;
  row_shape(rank, dims, esize, &nrows, &rowbytes);
  if (nrows) rtk_h5_sum_rows(s, path, 0, nrows, rowbytes, data);
}

void rtk_h5_sum_hex(const rtk_h5_sum *s, char hex[40]) {
  snprintf(hex, 40, "rtk1-%016llx%016llx", (unsigned long long)s->a, (unsigned long long)s->b);
}

void rtk_h5_hash_text(const char *text, size_t n, rtk_h5_sum *s) {
  uint64_t a = SEED_A ^ 0x5bd1e995ull, b = SEED_B;
  hash2(&a, &b, (const unsigned char *)text, n);
  s->a = a;
  s->b = b;
}

/* ---- recomputing a run's checksum from the file ------------------------- */

typedef struct {
  const char *gpath;
  rtk_h5_sum *sum;
  int rc;
  char shared[256]; /* a group with more than one hard link (the study's /target): not the run's own */
} visit_state;

#define MAX_ROWBYTES ((size_t)1 << 26)  /* 64 MiB: one row of any dataset */
#define CHUNK_BYTES ((size_t)1 << 24)   /* 16 MiB read at a time */

static int sum_dataset(hid_t ds, const char *path, rtk_h5_sum *sum) {
  hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds), mt = -1, ms = -1;
  int rc = RTK_OK;
  unsigned char *buf = NULL;
  if (t < 0 || sp < 0) {
    rc = RTK_ERR(RTK_ERR_INPUT, "%s: unreadable type or shape", path);
    goto done;
  }
  const H5T_class_t cls = H5Tget_class(t);
  const size_t esize = H5Tget_size(t);
  const H5S_class_t sc = H5Sget_simple_extent_type(sp);
  const int rank = sc == H5S_SCALAR ? 0 : H5Sget_simple_extent_ndims(sp);
  hsize_t dims[4] = {0, 0, 0, 0};
  if ((sc != H5S_SCALAR && sc != H5S_SIMPLE) || rank < 0 || rank > 3) {
    rc = RTK_ERR(RTK_ERR_INPUT, "%s: unexpected dataspace (rank %d)", path, rank);
    goto done;
  }
  if (rank) H5Sget_simple_extent_dims(sp, dims, NULL);
  if (cls == H5T_FLOAT && esize == 8) mt = H5Tcopy(H5T_NATIVE_DOUBLE);
  else if (cls == H5T_INTEGER && esize == 8) mt = H5Tcopy(H5T_NATIVE_INT64);
  else if (cls == H5T_STRING && H5Tis_variable_str(t) == 0 && esize > 0 && esize <= RTK_H5_TEXT_MAX) mt = H5Tcopy(t);
  else {
    rc = RTK_ERR(RTK_ERR_INPUT, "%s: unexpected datatype (class %d, %zu bytes)", path, (int)cls, esize);
    goto done;
  }
  uint64_t nrows;
  size_t rowbytes;
  row_shape(rank, dims, esize, &nrows, &rowbytes);
  if (rowbytes > MAX_ROWBYTES) {
    rc = RTK_ERR(RTK_ERR_INPUT, "%s: rows of %zu bytes are larger than any rtkbench writes", path, rowbytes);
    goto done;
  }
  rtk_h5_sum_header(sum, path, (int)cls, esize, rank, dims);
  if (!nrows) goto done;
  if (rank <= 1) { /* one row */
    buf = malloc(rowbytes);
    if (!buf) {
      rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
      goto done;
    }
    if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) rc = RTK_ERR(RTK_ERR_INPUT, "%s: cannot read", path);
    else rtk_h5_sum_rows(sum, path, 0, 1, rowbytes, buf);
    goto done;
  }
  /* rank 2 or 3: chunks of rows along the second-to-last dimension */
  const hsize_t planes = rank == 3 ? dims[0] : 1, rows = dims[rank - 2];
  hsize_t per = CHUNK_BYTES / rowbytes;
  if (per < 1) per = 1;
  if (per > rows) per = rows;
  buf = malloc(per * rowbytes);
  if (!buf) {
    rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
    goto done;
  }
  for (hsize_t p = 0; p < planes && !rc; p++)
    for (hsize_t r0 = 0; r0 < rows && !rc; r0 += per) {
      const hsize_t n = rows - r0 < per ? rows - r0 : per;
      hsize_t start[3], count[3], mdim[1] = {n * (rowbytes / esize)};
      if (rank == 3) {
        start[0] = p, start[1] = r0, start[2] = 0;
        count[0] = 1, count[1] = n, count[2] = dims[2];
      } else {
        start[0] = r0, start[1] = 0;
        count[0] = n, count[1] = dims[1];
      }
      if (ms >= 0) H5Sclose(ms);
      ms = H5Screate_simple(1, mdim, NULL);
      if (ms < 0 || H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
          H5Dread(ds, mt, ms, sp, H5P_DEFAULT, buf) < 0)
        rc = RTK_ERR(RTK_ERR_INPUT, "%s: cannot read rows %llu..%llu", path, (unsigned long long)r0,
                     (unsigned long long)(r0 + n - 1));
      else
        rtk_h5_sum_rows(sum, path, p * rows + r0, n, rowbytes, buf);
    }
done:
  free(buf);
  if (ms >= 0) H5Sclose(ms);
  if (mt >= 0) H5Tclose(mt);
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  return rc;
}

static herr_t visit(hid_t g, const char *name, const H5O_info_t *info, void *user) {
  visit_state *v = user;
  if (!strcmp(name, ".")) return 0;
  const size_t ls = strlen(v->shared);
  if (ls && !strncmp(name, v->shared, ls) && name[ls] == '/') return 0; /* below a shared group */
  if (info->rc > 1) { /* shared with another place in the file (written once, outside this run) */
    if (info->type == H5O_TYPE_GROUP) snprintf(v->shared, sizeof v->shared, "%s", name);
    return 0;
  }
  if (info->type != H5O_TYPE_DATASET) return 0;
  char path[1024];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", v->gpath, name) >= sizeof path) {
    v->rc = RTK_ERR(RTK_ERR_INPUT, "%s/%s: name too long", v->gpath, name);
    return 1;
  }
  hid_t ds = H5Dopen2(g, name, H5P_DEFAULT);
  if (ds < 0) {
    v->rc = RTK_ERR(RTK_ERR_INPUT, "%s: cannot open", path);
    return 1;
  }
  v->rc = sum_dataset(ds, path, v->sum);
  H5Dclose(ds);
  return v->rc ? 1 : 0;
}

int rtk_h5_sum_group(hid_t g, const char *gpath, rtk_h5_sum *sum) {
  memset(sum, 0, sizeof *sum);
  visit_state v = {gpath, sum, RTK_OK, ""};
  herr_t r = H5Ovisit(g, H5_INDEX_NAME, H5_ITER_INC, visit, &v);
  if (v.rc) return v.rc;
  if (r < 0) return RTK_ERR(RTK_ERR_INPUT, "%s: cannot list its objects", gpath);
  return RTK_OK;
}
